using HdrHistogram;
using SivActors.Model.Interrupts;
using SivActors.Model.Reporting;

namespace SivActors.Model.Tests;

public sealed class MetricsTests
{
    [Fact]
    public async Task Counts_from_many_threads_add_up_exactly()
    {
        var metrics = new RunMetrics();
        const int threads = 8, perThread = 50_000;
        var workers = Enumerable.Range(0, threads).Select(t => Task.Factory.StartNew(() =>
        {
            for (var i = 0; i < perThread; i++)
            {
                metrics.DescriptorSubmitted();
                metrics.InterruptFaulted(FaultReason.AsidMismatch);
                metrics.Record(RunMetrics.ModeledFastNs, 100 + t);
            }
        }, TaskCreationOptions.LongRunning)).ToArray();
        await Task.WhenAll(workers);

        var snapshot = metrics.Snapshot();
        Assert.Equal(threads * perThread, snapshot.DescriptorsSubmitted);
        Assert.Equal(threads * perThread, snapshot.InterruptsFaulted["0xA1"]);
        var h = metrics.Histogram(RunMetrics.ModeledFastNs);
        Assert.Equal(threads * perThread, h.TotalCount);
        Assert.Equal(100, h.GetValueAtPercentile(0));
        Assert.Equal(100 + threads - 1, h.GetMaxValue());
    }

    [Fact]
    public void A_value_beyond_the_histogram_range_is_clamped_not_thrown()
    {
        var metrics = new RunMetrics();
        metrics.Record(RunMetrics.WallSlowUs, long.MaxValue);
        metrics.Record(RunMetrics.WallSlowUs, 0);
        Assert.Equal(2, metrics.Histogram(RunMetrics.WallSlowUs).TotalCount);
    }

    [Fact]
    public void The_outstanding_gauge_goes_both_ways()
    {
        var metrics = new RunMetrics();
        metrics.OutstandingChanged(3);
        metrics.OutstandingChanged(-2);
        Assert.Equal(1, metrics.Outstanding);
    }
}
