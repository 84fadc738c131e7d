using HdrHistogram;

namespace SivActors.Model.Reporting;

/// <summary>
/// Per-thread counters and histograms for one <see cref="RunMetrics"/>. Each thread writes only its own cells with
/// plain stores (no interlocked operation, no shared cache line on the hot path); readers sum every thread's cells.
/// Sums are exact once writers have stopped: actor threads pass full fences in every mailbox hand-off, so their
/// stores are visible by the time a run reports. While writers run, a sum is a close, slightly stale figure.
/// </summary>
public sealed class ThreadCells
{
    private readonly ThreadLocal<Cells> _local;
    private readonly int _counters;
    private readonly (long Lowest, long Highest, int Digits)[] _histograms;

    public ThreadCells(int counters, params (long Lowest, long Highest, int Digits)[] histograms)
    {
        _counters = counters;
        _histograms = histograms;
        _local = new ThreadLocal<Cells>(() => new Cells(_counters, _histograms), trackAllValues: true);
    }

    /// <summary>The calling thread's cells.</summary>
    public Cells Mine => _local.Value!;

    public long Sum(int counter)
    {
        long sum = 0;
        foreach (var cells in _local.Values) sum += Volatile.Read(ref cells.Counters[counter]);
        return sum;
    }

    /// <summary>Every thread's copy of histogram <paramref name="index"/> added up. Call once writers have stopped.</summary>
    public HistogramBase Merged(int index)
    {
        var (lowest, highest, digits) = _histograms[index];
        var merged = new LongHistogram(lowest, highest, digits);
        foreach (var cells in _local.Values)
            if (cells.Histogram(index) is { } h) merged.Add(h);
        return merged;
    }

    public sealed class Cells
    {
        private readonly (long Lowest, long Highest, int Digits)[] _shapes;
        private readonly LongHistogram?[] _histograms;

        internal Cells(int counters, (long, long, int)[] shapes)
        {
            Counters = new long[counters];
            _shapes = shapes;
            _histograms = new LongHistogram?[shapes.Length];
        }

        public long[] Counters { get; }

        internal LongHistogram? Histogram(int index) => _histograms[index];

        /// <summary>Records a value, clamped into the histogram's range (a modeled time can exceed it; a crash cannot).</summary>
        public void Record(int index, long value, long count = 1)
        {
            var (lowest, highest, digits) = _shapes[index];
            var h = _histograms[index] ??= new LongHistogram(lowest, highest, digits);
            if (count == 1) h.RecordValue(Math.Clamp(value, lowest, highest));
            else h.RecordValueWithCount(Math.Clamp(value, lowest, highest), count);
        }
    }
}
