namespace SivActors.Model.Faults;

/// <summary>
/// Completed operations sampled over the measured window, to tell when throughput came back after a fault: the
/// first moment after the fault ends at which the rate over the last second is at least
/// <see cref="RecoveredShare"/> of the rate over the two seconds before the fault.
/// </summary>
public sealed class ThroughputTrace
{
    public const double RecoveredShare = 0.8;
    private const double BaselineSeconds = 2, WindowSeconds = 1, MinBaselineSeconds = 0.5;

    private readonly List<(double Seconds, long Operations)> _samples = [];

    public IReadOnlyList<(double Seconds, long Operations)> Samples => _samples;

    /// <summary>Samples must come in time order.</summary>
    public void Add(double seconds, long operations)
    {
        if (_samples.Count > 0 && seconds <= _samples[^1].Seconds) return;
        _samples.Add((seconds, operations));
    }

    /// <summary>Operations per second between two moments (interpolated between samples), or null outside the trace.</summary>
    public double? Rate(double from, double to)
    {
        if (to - from <= 0 || _samples.Count < 2 || from < _samples[0].Seconds || to > _samples[^1].Seconds) return null;
        return (At(to) - At(from)) / (to - from);
    }

    /// <summary>The rate before a fault that starts at <paramref name="at"/>, or null if the window had not run long enough.</summary>
    public double? Baseline(double at)
    {
        if (_samples.Count == 0) return null;
        var from = Math.Max(_samples[0].Seconds, at - BaselineSeconds);
        return at - from < MinBaselineSeconds ? null : Rate(from, at);
    }

    /// <summary>
    /// Seconds (from the window's start) at which throughput was back after a fault from <paramref name="at"/> to
    /// <paramref name="end"/>; null if it never came back within the trace, or there was no baseline.
    /// </summary>
    public double? RecoveredAt(double at, double end)
    {
        if (Baseline(at) is not { } baseline) return null;
        foreach (var (t, _) in _samples)
        {
            // The whole window after the fault: an instant fault must not "recover" on the rate from before it.
            if (t - WindowSeconds < end || t - WindowSeconds < _samples[0].Seconds) continue;
            if (Rate(t - WindowSeconds, t) is { } rate && rate >= RecoveredShare * baseline) return t;
        }
        return null;
    }

    /// <summary>
    /// The sum of several nodes' traces, each on its own node's clock from its window's start, sampled every
    /// <paramref name="step"/> seconds up to the last sample of any. A cluster run's driver builds its trace so:
    /// counting a worker's operations when its report arrives would put a cut-off worker's whole partition into the
    /// moment it healed. A trace holds its last count after its last sample (a node lost mid-run did no more).
    /// </summary>
    public static ThroughputTrace Sum(IEnumerable<ThroughputTrace> nodes, double step)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(step);
        var traces = nodes.Where(n => n._samples.Count > 0).ToList();
        var sum = new ThroughputTrace();
        if (traces.Count == 0) return sum;
        var first = traces.Min(n => n._samples[0].Seconds);
        var last = traces.Max(n => n._samples[^1].Seconds);
        for (var i = 0; ; i++)
        {
            var t = Math.Min(first + i * step, last);
            sum.Add(t, (long)Math.Round(traces.Sum(n => n.At(t))));
            if (t >= last) return sum;
        }
    }

    private double At(double seconds)
    {
        var i = _samples.FindIndex(s => s.Seconds >= seconds);
        if (i < 0) return _samples[^1].Operations;
        if (i == 0) return _samples[0].Operations;
        var (t0, o0) = _samples[i - 1];
        var (t1, o1) = _samples[i];
        return o0 + (o1 - o0) * (seconds - t0) / (t1 - t0);
    }
}
