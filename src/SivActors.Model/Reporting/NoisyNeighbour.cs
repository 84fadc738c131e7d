using HdrHistogram;

namespace SivActors.Model.Reporting;

/// <summary>The other tenants over one phase of a noisy-neighbour run: their rate together and their fast-path wall latency.</summary>
public sealed record PhaseFigures(double Seconds, double OpsPerSecond, long FastSamples, double FastWallP50Us, double FastWallP99Us);

/// <summary>
/// What one tenant submitting <see cref="Factor"/> times more did to the others: their throughput and fast-path wall
/// latency before the noise started and while it lasted (to the window's end), beside the noisy tenant's own rate.
/// </summary>
public sealed record NoisyNeighbourReport(int Container, int Factor, double FromSeconds, double NoisyOpsPerSecondBefore,
    double NoisyOpsPerSecondDuring, PhaseFigures OthersBefore, PhaseFigures OthersDuring, int PeakInFlight)
{
    /// <summary>The others' throughput during the noise as a fraction of before (0.8: a fifth less).</summary>
    public double OthersThroughputRatio => OthersBefore.OpsPerSecond > 0 ? OthersDuring.OpsPerSecond / OthersBefore.OpsPerSecond : 0;

    /// <summary>The others' fast-path wall p99 during the noise over before (2: twice as slow).</summary>
    public double OthersWallP99Ratio => OthersBefore.FastWallP99Us > 0 ? OthersDuring.FastWallP99Us / OthersBefore.FastWallP99Us : 0;

    /// <summary>What the noisy tenant did to the others, in one line (the console's and the page's).</summary>
    public string Summary() => string.Create(System.Globalization.CultureInfo.InvariantCulture,
        $"c{Container} at {Factor}x queue depth from {FromSeconds:0.0} s ({PeakInFlight} descriptors in flight at most): its own rate {NoisyOpsPerSecondBefore:N0} -> {NoisyOpsPerSecondDuring:N0} ops/s; " +
        $"the other tenants {OthersBefore.OpsPerSecond:N0} -> {OthersDuring.OpsPerSecond:N0} ops/s ({OthersThroughputRatio:0.00}x), " +
        $"their fast-path wall p50 {OthersBefore.FastWallP50Us:N0} -> {OthersDuring.FastWallP50Us:N0} us, p99 {OthersBefore.FastWallP99Us:N0} -> {OthersDuring.FastWallP99Us:N0} us ({OthersWallP99Ratio:0.00}x)");

    /// <summary>
    /// The figures from running totals taken when the "before" phase started (a quarter into the window, after the
    /// first seconds' warm-up), when the noise started and at the window's end (operations of all tenants, and of the
    /// noisy one), with the others' fast-path wall latency in each phase. Null when the noise never started (a window
    /// that ended early).
    /// </summary>
    public static NoisyNeighbourReport? Of(int container, int factor, NoisePhaseTotals t, HistogramBase othersBefore, HistogramBase othersDuring)
    {
        if (t.BeforeAtSeconds is not { } start || t.NoiseAtSeconds is not { } from || from <= start || t.WindowSeconds <= from) return null;
        double before = from - start, during = t.WindowSeconds - from;
        return new NoisyNeighbourReport(container, factor, from,
            (t.NoisyAtNoise - t.NoisyAtBefore) / before, (t.NoisyAtStop - t.NoisyAtNoise) / during,
            Phase(before, t.OpsAtNoise - t.OpsAtBefore - (t.NoisyAtNoise - t.NoisyAtBefore), othersBefore),
            Phase(during, t.OpsAtStop - t.OpsAtNoise - (t.NoisyAtStop - t.NoisyAtNoise), othersDuring), t.NoisyPeakInFlight);
    }

    private static PhaseFigures Phase(double seconds, long operations, HistogramBase wall) =>
        new(seconds, operations / seconds, wall.TotalCount,
            wall.TotalCount > 0 ? wall.GetValueAtPercentile(50) : 0, wall.TotalCount > 0 ? wall.GetValueAtPercentile(99) : 0);
}

/// <summary>
/// Running totals of completed operations (all tenants, and the noisy one alone) when the "before" phase started,
/// when the noise started (null: not reached) and at the window's end, with their times into the window, and the most
/// descriptors the noisy tenant had in flight at once.
/// </summary>
public sealed record NoisePhaseTotals(double WindowSeconds, double? BeforeAtSeconds, double? NoiseAtSeconds, long OpsAtBefore, long OpsAtNoise, long OpsAtStop,
    long NoisyAtBefore, long NoisyAtNoise, long NoisyAtStop, int NoisyPeakInFlight)
{
    /// <summary>When the "before" phase starts: half-way to the noise, so the window's first seconds (JIT, caches) warm up outside it.</summary>
    public static double BeforeStartsAt(double noiseAtSeconds) => noiseAtSeconds / 2;
}

/// <summary>The phases of a noisy-neighbour run's window: the first quarter warms up, the rest of the first half is "before".</summary>
public enum NoisePhase
{
    WarmUp,
    Before,
    During,
}
