using HdrHistogram;
using SivActors.Model.Faults;
using SivActors.Model.Reporting;

namespace SivActors.Model.Tests;

/// <summary>The report's timeline, fairness and latency curves, from their inputs.</summary>
public sealed class ReportFiguresTests
{
    [Fact]
    public void The_timeline_gives_what_each_second_did_and_adds_up_to_the_window()
    {
        // 1000 ops/s and 900 interrupts/s sampled every 0.3 s, with 50 faults between the samples at 2.1 and 2.4 s, over a 3.5 s window.
        var trace = new ThroughputTrace();
        for (var i = 0; i <= 13; i++)
        {
            var t = i * 0.3;
            trace.Add(t, (long)Math.Round(t * 1000), (long)Math.Round(t * 900), t >= 2.35 ? 50 : 0);
        }
        var seconds = trace.PerSecond(3.5);
        Assert.Equal([1, 2, 3, 4], seconds.Select(s => s.Second));
        Assert.Equal([1, 1, 1, 0.5], seconds.Select(s => s.Seconds));
        Assert.Equal([1000, 1000, 1000, 500], seconds.Select(s => s.Operations));
        Assert.Equal([900, 900, 900, 450], seconds.Select(s => s.Interrupts));
        Assert.Equal([0, 0, 50, 0], seconds.Select(s => s.Faults));
        Assert.Equal(3500, seconds.Sum(s => s.Operations));
    }

    [Fact]
    public void A_timeline_stops_at_its_last_sample_and_needs_two()
    {
        var trace = new ThroughputTrace();
        trace.Add(0, 0, 0, 0);
        Assert.Empty(trace.PerSecond(5));
        trace.Add(2, 400, 300, 2);
        var seconds = trace.PerSecond(5);
        Assert.Equal(2, seconds.Count);
        Assert.Equal(400, seconds.Sum(s => s.Operations));
    }

    [Fact]
    public void Totals_at_a_moment_are_interpolated_and_held_after_the_last_sample()
    {
        var trace = new ThroughputTrace();
        Assert.Null(trace.TotalsAt(1));
        trace.Add(0, 0, 0, 0);
        trace.Add(2, 200, 100, 10);
        Assert.Equal(new TraceSample(1.5, 150, 75, 8), trace.TotalsAt(1.5));
        Assert.Equal(new TraceSample(3, 200, 100, 10), trace.TotalsAt(3));
    }

    [Fact]
    public void A_cluster_trace_adds_up_interrupts_and_faults_as_well_as_operations()
    {
        var a = new ThroughputTrace();
        var b = new ThroughputTrace();
        a.Add(0, 0, 0, 0);
        b.Add(0, 0, 0, 0);
        a.Add(1, 100, 90, 3);
        b.Add(1, 200, 180, 4);
        var last = ThroughputTrace.Sum([a, b], 0.5).Samples[^1];
        Assert.Equal(new TraceSample(1, 300, 270, 7), last);
    }

    [Fact]
    public void Jain_s_index_is_one_for_equal_tenants_and_one_over_n_for_a_single_busy_one()
    {
        var equal = FairnessSection.Of([10, 10, 10, 10], 2)!;
        Assert.Equal(1, equal.Jain, 9);
        Assert.Equal(5, equal.MedianTenantOpsPerSecond);
        var one = FairnessSection.Of([40, 0, 0, 0], 2)!;
        Assert.Equal(0.25, one.Jain, 9);
        Assert.Equal(0, one.P1TenantOpsPerSecond);
        Assert.Equal(20, one.OpsPerSecondByPercentile[100]);
    }

    [Fact]
    public void The_slowest_percent_of_tenants_is_read_at_the_first_percentile()
    {
        // 200 tenants: two did 1 operation each, the rest 100, over 10 s.
        var counts = Enumerable.Repeat(100L, 198).Concat([1L, 1L]).ToArray();
        var f = FairnessSection.Of(counts, 10)!;
        Assert.Equal(200, f.Tenants);
        Assert.Equal(0.1, f.P1TenantOpsPerSecond, 9);
        Assert.Equal(0.1, f.MinTenantOpsPerSecond, 9);
        Assert.Equal(10, f.MedianTenantOpsPerSecond, 9);
        Assert.Equal(101, f.OpsPerSecondByPercentile.Count);
        Assert.InRange(f.Jain, 0.98, 0.999);
    }

    [Fact]
    public void No_tenants_or_no_work_has_no_fairness()
    {
        Assert.Null(FairnessSection.Of([], 10));
        Assert.Null(FairnessSection.Of([0, 0], 10));
        Assert.Null(FairnessSection.Of([5], 0));
    }

    [Fact]
    public void A_latency_curve_rises_with_its_percentiles_in_microseconds()
    {
        var h = new LongHistogram(60_000_000_000, 3);
        for (var i = 1; i <= 1000; i++) h.RecordValue(i * 1000); // 1 µs .. 1 ms, in ns
        var curve = LatencyCurve.Of("fast path", "modeled", h, 1000)!;
        Assert.Equal(1000, curve.Count);
        Assert.Equal(LatencyCurve.Percentiles.Length, curve.Points.Count);
        Assert.Equal(500, curve.Points.Single(p => p.Percentile == 50).Microseconds, 0);
        Assert.Equal(1000, curve.Points[^1].Microseconds, 0);
        Assert.True(curve.Points.Zip(curve.Points.Skip(1)).All(p => p.First.Microseconds <= p.Second.Microseconds));
        Assert.Null(LatencyCurve.Of("empty", "wall", new LongHistogram(1000, 3), 1));
    }

    [Fact]
    public void A_noisy_neighbour_report_splits_the_others_from_the_noisy_tenant_in_each_phase()
    {
        // Before: 2.5 s from 2.5 to 5 s, 10,000 ops of which the noisy tenant did 500. During: 5 s to the 10 s end,
        // 18,000 ops of which it did 4,000.
        var totals = new NoisePhaseTotals(10, 2.5, 5, 1_000, 11_000, 29_000, 100, 600, 4_600, 20);
        LongHistogram before = new(1, 1_000_000, 3), during = new(1, 1_000_000, 3);
        for (var us = 1; us <= 100; us++)
        {
            before.RecordValue(us);
            during.RecordValue(us * 3);
        }
        var n = NoisyNeighbourReport.Of(0, 10, totals, before, during)!;
        Assert.Equal(200, n.NoisyOpsPerSecondBefore, 6);
        Assert.Equal(800, n.NoisyOpsPerSecondDuring, 6);
        Assert.Equal((2.5, 3_800), (n.OthersBefore.Seconds, n.OthersBefore.OpsPerSecond));
        Assert.Equal((5, 2_800), (n.OthersDuring.Seconds, n.OthersDuring.OpsPerSecond));
        Assert.Equal(2_800 / 3_800.0, n.OthersThroughputRatio, 9);
        Assert.Equal((50, 99), (n.OthersBefore.FastWallP50Us, n.OthersBefore.FastWallP99Us));
        Assert.Equal(3, n.OthersWallP99Ratio, 2);
        Assert.Equal((100, 100), (n.OthersBefore.FastSamples, n.OthersDuring.FastSamples));
        Assert.Equal(20, n.PeakInFlight);
        Assert.Contains("(20 descriptors in flight at most)", n.Summary());
        Assert.Contains("the other tenants 3,800 -> 2,800 ops/s (0.74x)", n.Summary());
        // A window that ended before the noise (or before its "before" phase) has nothing to compare.
        Assert.Null(NoisyNeighbourReport.Of(0, 10, totals with { NoiseAtSeconds = null }, before, during));
        Assert.Null(NoisyNeighbourReport.Of(0, 10, totals with { BeforeAtSeconds = null }, before, during));
        Assert.Equal(5, NoisePhaseTotals.BeforeStartsAt(10));
    }
}
