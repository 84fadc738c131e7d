using HdrHistogram;

namespace SivActors.Model.Reporting;

/// <summary>One point of a latency distribution: <paramref name="Percentile"/>% of the samples took at most <paramref name="Microseconds"/>.</summary>
public sealed record CurvePoint(double Percentile, double Microseconds);

/// <summary>
/// A latency distribution as its cumulative curve, in microseconds whatever the histogram's unit: what the report's
/// latency charts draw. <paramref name="Clock"/> is <c>modeled</c> (the cost model's time) or <c>wall</c> (the
/// emulator's own time, queueing included).
/// </summary>
public sealed record LatencyCurve(string Name, string Clock, long Count, IReadOnlyList<CurvePoint> Points)
{
    /// <summary>Dense where the tail is, so a log-scale chart shows p99.9 and beyond.</summary>
    public static readonly double[] Percentiles = [0, 1, 5, 10, 20, 30, 40, 50, 60, 70, 80, 90, 95, 97.5, 99, 99.5, 99.9, 99.95, 99.99, 100];

    /// <summary>The curve of <paramref name="h"/>, whose values are <paramref name="unitsPerMicrosecond"/> per µs (1000 for ns); null when it is empty.</summary>
    public static LatencyCurve? Of(string name, string clock, HistogramBase h, double unitsPerMicrosecond)
    {
        if (h.TotalCount == 0) return null;
        var points = Percentiles.Select(p => new CurvePoint(p,
            (p >= 100 ? h.GetMaxValue() : h.GetValueAtPercentile(Math.Max(p, 0.0001))) / unitsPerMicrosecond)).ToArray();
        return new LatencyCurve(name, clock, h.TotalCount, points);
    }
}
