namespace SivActors.Model.Faults;

/// <summary>One sample of a run's running totals, at <paramref name="Seconds"/> into its measured window.</summary>
public readonly record struct TraceSample(double Seconds, long Operations, long Interrupts, long Faults);

/// <summary>
/// What a run did second by second: its running totals of completed operations, raised interrupts and remapping
/// faults (interrupt and DMA faults decided), sampled over the measured window. It tells when throughput came back
/// after a fault (the first moment after the fault ends at which the rate over the last second is at least
/// <see cref="RecoveredShare"/> of the rate over the two seconds before it), and it is the report's timeline.
/// Samples are added from the control thread and read from others: every access takes the lock.
/// </summary>
public sealed class ThroughputTrace
{
    public const double RecoveredShare = 0.8;
    private const double BaselineSeconds = 2, WindowSeconds = 1, MinBaselineSeconds = 0.5;

    private readonly List<TraceSample> _samples = [];

    public IReadOnlyList<TraceSample> Samples
    {
        get
        {
            lock (_samples) return _samples.ToArray();
        }
    }

    /// <summary>Samples must come in time order; one that does not is ignored.</summary>
    public void Add(double seconds, long operations, long interrupts = 0, long faults = 0)
    {
        lock (_samples)
        {
            if (_samples.Count > 0 && seconds <= _samples[^1].Seconds) return;
            _samples.Add(new TraceSample(seconds, operations, interrupts, faults));
        }
    }

    /// <summary>Operations per second between two moments (interpolated between samples), or null outside the trace.</summary>
    public double? Rate(double from, double to)
    {
        lock (_samples)
        {
            if (to - from <= 0 || _samples.Count < 2 || from < _samples[0].Seconds || to > _samples[^1].Seconds) return null;
            return (At(to).Operations - At(from).Operations) / (to - from);
        }
    }

    /// <summary>The rate before a fault that starts at <paramref name="at"/>, or null if the window had not run long enough.</summary>
    public double? Baseline(double at)
    {
        double from;
        lock (_samples)
        {
            if (_samples.Count == 0) return null;
            from = Math.Max(_samples[0].Seconds, at - BaselineSeconds);
        }
        return at - from < MinBaselineSeconds ? null : Rate(from, at);
    }

    /// <summary>
    /// Seconds (from the window's start) at which throughput was back after a fault from <paramref name="at"/> to
    /// <paramref name="end"/>; null if it never came back within the trace, or there was no baseline.
    /// </summary>
    public double? RecoveredAt(double at, double end)
    {
        if (Baseline(at) is not { } baseline) return null;
        var samples = Samples;
        foreach (var s in samples)
        {
            // The whole window after the fault: an instant fault must not "recover" on the rate from before it.
            if (s.Seconds - WindowSeconds < end || s.Seconds - WindowSeconds < samples[0].Seconds) continue;
            if (Rate(s.Seconds - WindowSeconds, s.Seconds) is { } rate && rate >= RecoveredShare * baseline) return s.Seconds;
        }
        return null;
    }

    /// <summary>The running totals at <paramref name="seconds"/> into the window, interpolated between samples (null with no sample).</summary>
    public TraceSample? TotalsAt(double seconds)
    {
        lock (_samples)
        {
            if (_samples.Count == 0) return null;
            var (ops, irqs, faults) = At(seconds);
            return new TraceSample(seconds, (long)Math.Round(ops), (long)Math.Round(irqs), (long)Math.Round(faults));
        }
    }

    /// <summary>
    /// The run second by second up to <paramref name="end"/> (the window's length): what was done in each second,
    /// interpolated between samples; the last second is shorter when the window is not a whole number of seconds.
    /// Empty when fewer than two samples were taken.
    /// </summary>
    public IReadOnlyList<TimelineSecond> PerSecond(double end)
    {
        lock (_samples)
        {
            var seconds = new List<TimelineSecond>();
            if (_samples.Count < 2) return seconds;
            end = Math.Min(end, _samples[^1].Seconds);
            var from = _samples[0].Seconds;
            var previous = At(from);
            for (var second = 1; from < end - 1e-6; second++)
            {
                var to = Math.Min(from + 1, end);
                var now = At(to);
                seconds.Add(new TimelineSecond(second, Math.Round(to - from, 3), (long)Math.Round(now.Operations - previous.Operations),
                    (long)Math.Round(now.Interrupts - previous.Interrupts), (long)Math.Round(now.Faults - previous.Faults)));
                (from, previous) = (to, now);
            }
            return seconds;
        }
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
        var traces = nodes.Select(n => n.Samples).Where(s => s.Count > 0).ToList();
        var sum = new ThroughputTrace();
        if (traces.Count == 0) return sum;
        var first = traces.Min(s => s[0].Seconds);
        var last = traces.Max(s => s[^1].Seconds);
        for (var i = 0; ; i++)
        {
            var t = Math.Min(first + i * step, last);
            var at = traces.Select(s => At(s, t)).ToList();
            sum.Add(t, (long)Math.Round(at.Sum(a => a.Operations)), (long)Math.Round(at.Sum(a => a.Interrupts)), (long)Math.Round(at.Sum(a => a.Faults)));
            if (t >= last) return sum;
        }
    }

    private (double Operations, double Interrupts, double Faults) At(double seconds) => At(_samples, seconds);

    /// <summary>The running totals at a moment: interpolated between samples, the first before them, the last after.</summary>
    private static (double Operations, double Interrupts, double Faults) At(IReadOnlyList<TraceSample> samples, double seconds)
    {
        var i = 0;
        while (i < samples.Count && samples[i].Seconds < seconds) i++;
        if (i == samples.Count) return Totals(samples[^1]);
        if (i == 0) return Totals(samples[0]);
        var (a, b) = (samples[i - 1], samples[i]);
        var f = (seconds - a.Seconds) / (b.Seconds - a.Seconds);
        return (a.Operations + (b.Operations - a.Operations) * f, a.Interrupts + (b.Interrupts - a.Interrupts) * f, a.Faults + (b.Faults - a.Faults) * f);
    }

    private static (double, double, double) Totals(TraceSample s) => (s.Operations, s.Interrupts, s.Faults);
}

/// <summary>
/// One second of a run's timeline: the <paramref name="Second"/>-th of the measured window (from 1), how long it
/// was (1 but for a last, partial one), and the operations completed, interrupts raised and remapping faults
/// decided in it.
/// </summary>
public sealed record TimelineSecond(int Second, double Seconds, long Operations, long Interrupts, long Faults);
