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

    [Fact]
    public void A_lost_node_s_work_in_flight_is_unaccounted_not_lost_and_the_ledger_says_so()
    {
        // A worker's last report: 10 interrupts raised, 6 delivered, 1 lost to a drop; 5 descriptors submitted, 3
        // completed, 2 in its slots; 4 DMA writes issued, 3 applied.
        var node = new RunMetrics();
        for (var i = 0; i < 10; i++) node.InterruptRaised();
        for (var i = 0; i < 6; i++) node.InterruptRemappedDelivered();
        node.InterruptLost();
        for (var i = 0; i < 5; i++) node.DescriptorSubmitted();
        for (var i = 0; i < 3; i++) node.DescriptorCompleted(verified: true);
        node.OutstandingChanged(2);
        node.DmaIssued(4);
        node.DmaApplied(3);

        var last = new RunMetrics();
        last.Import(node.Export());
        Assert.Equal(3, last.BookInFlightAsUnaccounted());

        var m = last.Snapshot();
        Assert.Equal(1, m.InterruptsLost);
        Assert.Equal(3, m.InterruptsUnaccounted);
        Assert.Equal(2, m.DescriptorsUnaccounted);
        Assert.Equal(1, m.DmaUnaccounted);
        Assert.Equal(0, last.Outstanding);
        var r = RunReportBuilder.Build(new ScenarioSummary("s", "test", 1, 1, 1, 1, 1, 1, "auto"), m, last, new RunTimings(1, 3, 10),
            new MemorySection(0, 0, 0), last.Outstanding, code => $"0x{code:X2}");
        Assert.True(r.Invariants.Passed, string.Join("; ", r.Invariants.Violations));
        Assert.Equal((1L, 3L, true), (r.Ledger.Interrupts.Lost, r.Ledger.Interrupts.Unaccounted, r.Ledger.Interrupts.Balanced));
        Assert.Equal((0L, 2L, true), (r.Ledger.Descriptors.InFlight, r.Ledger.Descriptors.Unaccounted, r.Ledger.Descriptors.Balanced));
        Assert.Equal((1L, true), (r.Ledger.Dma.Unaccounted, r.Ledger.Dma.Balanced));

        // Booked once: a second call finds nothing more in flight.
        Assert.Equal(0, last.BookInFlightAsUnaccounted());
        Assert.Equal(3, last.Snapshot().InterruptsUnaccounted);
    }
}
