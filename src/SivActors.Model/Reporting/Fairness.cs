namespace SivActors.Model.Reporting;

/// <summary>
/// How evenly the tenants were served: Jain's fairness index over the operations each container completed in the
/// measured window (1 when all did the same, 1/n when one did everything), the rate of the tenant at the 1st
/// percentile (the slowest 1% did no more than this) and the median tenant's rate.
/// </summary>
public sealed record FairnessSection(int Tenants, double Jain, double P1TenantOpsPerSecond, double MedianTenantOpsPerSecond, double MinTenantOpsPerSecond)
{
    /// <summary>The tenants' rates at percentiles 0, 1, ..., 100 (0 is the slowest tenant, 100 the fastest): the distribution's shape.</summary>
    public IReadOnlyList<double> OpsPerSecondByPercentile { get; init; } = [];

    /// <summary>
    /// Fairness over <paramref name="completedPerTenant"/> (one count per container) in a window of
    /// <paramref name="windowSeconds"/>; null when there are no tenants, no window, or nothing was completed.
    /// </summary>
    public static FairnessSection? Of(IReadOnlyCollection<long> completedPerTenant, double windowSeconds)
    {
        if (completedPerTenant.Count == 0 || windowSeconds <= 0) return null;
        double sum = 0, squares = 0;
        foreach (var c in completedPerTenant)
        {
            sum += c;
            squares += (double)c * c;
        }
        if (sum == 0) return null;
        var sorted = completedPerTenant.Order().ToArray();
        return new FairnessSection(sorted.Length, sum * sum / (sorted.Length * squares),
            Percentile(sorted, 1) / windowSeconds, Percentile(sorted, 50) / windowSeconds, sorted[0] / windowSeconds)
        {
            OpsPerSecondByPercentile = Enumerable.Range(0, 101).Select(p => Percentile(sorted, p) / windowSeconds).ToArray(),
        };
    }

    /// <summary>The nearest-rank percentile of sorted values: the smallest value with at least p% of them at or below it.</summary>
    public static double Percentile(IReadOnlyList<long> sorted, double p)
    {
        var rank = (int)Math.Ceiling(p / 100 * sorted.Count);
        return sorted[Math.Clamp(rank - 1, 0, sorted.Count - 1)];
    }
}
