using SivActors.Model.Reporting;
using Spectre.Console;

namespace SivActors.Cli;

/// <summary>The console form of the report: a few tables and a verdict.</summary>
public static class ReportPrinter
{
    public static void Print(IAnsiConsole console, RunReport r)
    {
        var l = r.Ledger;
        var summary = new Table().Title("[bold]run[/]").AddColumns("figure", "value");
        summary.AddRow("throughput", $"{r.Throughput.OpsPerSecond:N0} ops/s, {r.Throughput.InterruptsPerSecond:N0} interrupts/s over {r.Throughput.WallSeconds:0.0} s (wall)" +
            (r.Throughput.PausedSeconds > 0 ? $", of which {r.Throughput.PausedSeconds:0.0} s paused while shards moved" : ""));
        if (r.Scenario.Unserved > 0)
            summary.AddRow("containers", $"{r.Scenario.ServedPhrase()}: mode {r.Scenario.Mode}");
        summary.AddRow("memory", $"peak working set {r.Memory.PeakWorkingSetBytes / 1048576.0:N0} MiB, {r.Memory.ManagedBytesPerContainer:N0} managed bytes per container");
        if (r.Fairness is { } fair)
            summary.AddRow("fairness", $"Jain's index {fair.Jain:0.000} over {fair.Tenants:N0} tenants; median tenant {fair.MedianTenantOpsPerSecond:N1} ops/s, slowest 1% at most {fair.P1TenantOpsPerSecond:N1}");
        if (r.NoisyNeighbour is { } noisy)
            summary.AddRow("noisy neighbour", noisy.Summary());
        summary.AddRow("fast path", Join(r.Paths.Fast));
        summary.AddRow("slow path", Join(r.Paths.Slow) + (r.Paths.SlowErrors.Count > 0 ? $" (errors: {Join(r.Paths.SlowErrors)})" : ""));
        summary.AddRow("VDCM messages on the fast path", r.Paths.VdcmMessagesOnFastPath.ToString("N0"));
        summary.AddRow("interrupt entry cache", $"{r.InterruptEntryCache.Hits:N0} hits, {r.InterruptEntryCache.Misses:N0} misses");
        summary.AddRow("fault log", $"{r.FaultLog.Recorded:N0} recorded, {r.FaultLog.DroppedCompressed:N0} compressed, {r.FaultLog.DroppedOverflow:N0} overflowed, {r.FaultLog.SuppressedByFpd:N0} FPD-suppressed, {r.FaultLog.FaultEvents:N0} events");
        console.Write(summary);

        if (r.Interrupted)
            console.MarkupLine($"[yellow]interrupted[/] after {r.Throughput.WallSeconds:0.0} s of {r.Scenario.DurationSeconds} s: the figures cover the part that ran, drained and balanced");
        var ledger = new Table().Title("[bold]conservation ledger[/]").AddColumns("", "figures", "balanced");
        // Unaccounted appears only when a node was lost mid-run (decision 53).
        string Unaccounted(long n) => n > 0 ? $" + unaccounted {n:N0}" : "";
        ledger.AddRow("descriptors", $"submitted {l.Descriptors.Submitted:N0} = completed {l.Descriptors.Completed:N0} + rejected {{{Join(l.Descriptors.Rejected)}}} + in flight {l.Descriptors.InFlight:N0}{Unaccounted(l.Descriptors.Unaccounted)}; verified {l.Descriptors.Verified:N0}", Mark(l.Descriptors.Balanced));
        var i = l.Interrupts;
        // Reliable delivery counts attempts: each retransmission ends once more, as a duplicate or dropped in transit.
        var attempts = r.Scenario.Delivery == "reliable"
            ? ($" + retransmitted {i.Retransmitted:N0}", $" + duplicates {i.DuplicatesSuppressed:N0} + dropped in transit {i.DroppedInTransit:N0}")
            : ("", "");
        ledger.AddRow("interrupts", $"raised {i.Raised:N0}{attempts.Item1} = delivered {i.Delivered:N0} (remapped {i.DeliveredRemapped:N0}, posted {i.DeliveredPosted:N0}) + coalesced {i.Coalesced:N0} + faulted {{{Join(i.Faulted)}}} + lost {i.Lost:N0}{attempts.Item2}{Unaccounted(i.Unaccounted)}; misdelivered {i.Misdelivered:N0}", Mark(i.Balanced));
        ledger.AddRow("DMA", $"issued {l.Dma.Issued:N0} = applied {l.Dma.Applied:N0} + faulted {{{Join(l.Dma.Faulted)}}}" +
                             (l.Dma.Lost > 0 ? $" + lost {l.Dma.Lost:N0}" : "") + Unaccounted(l.Dma.Unaccounted), Mark(l.Dma.Balanced));
        console.Write(ledger);
        if (i.Unaccounted + l.Descriptors.Unaccounted + l.Dma.Unaccounted > 0)
            console.MarkupLine("[yellow]unaccounted[/]: in flight on a node lost mid-run at its last report; each ended after it or was lost with the node, and nobody heard which (an upper bound on its losses, not counted as lost)");

        var latency = new Table().Title("[bold]latency[/] (p50 / p99 / p99.9)").AddColumns("", "fast path", "slow path");
        latency.AddRow("modeled ns", P(r.Latency.ModeledNs.Fast), P(r.Latency.ModeledNs.Slow));
        latency.AddRow("wall us", P(r.Latency.WallUs.Fast), P(r.Latency.WallUs.Slow));
        latency.AddRow("modeled interrupt ns", "remapped " + P(r.Latency.ModeledInterruptNs.Remapped), "posted " + P(r.Latency.ModeledInterruptNs.Posted));
        if (r.Latency.WallUs.TurnWait is { Count: > 0 } wait)
            latency.AddRow("wait for a turn us", P(wait), "(before submitting; decision 70)");
        console.Write(latency);

        var rogue = new Table().Title("[bold]rogue traffic[/]").AddColumns("kind", "forged", "faulted as expected", "unexpected", "expected code");
        foreach (var (kind, forged) in r.Rogue.Forged)
            rogue.AddRow(kind, forged.ToString("N0"), r.Rogue.FaultedAsExpected.GetValueOrDefault(kind).ToString("N0"),
                r.Rogue.Unexpected.GetValueOrDefault(kind).ToString("N0"), Markup.Escape(r.Rogue.ExpectedCodes.GetValueOrDefault(kind, "")));
        console.Write(rogue);

        // One line per fault: a table of ten columns does not fit an 80-column terminal.
        foreach (var f in r.Faults ?? [])
            console.MarkupLine($"fault [bold]{f.Kind}[/] {Markup.Escape(f.Target)} at {S(f.AtS)} s{(f.ForS is { } w ? $" for {S(w)} s" : "")}: " +
                               (f.Injected ? "injected" : "[yellow]not injected[/]") +
                               $", detected {S(f.DetectedAtS)}, recovered {S(f.RecoveredAtS)}; touched {f.Affected:N0}{(f.Crossed > 0 ? $" of {f.Crossed:N0} that crossed" : "")}{Cost(f)}" +
                               (f.ThroughputRatioDuring is { } ratio ? $"; ops during it {ratio:P0} of before" : "") +
                               (f.Note is { } note ? $"; {Markup.Escape(note)}" : ""));
        // Shares of what the nodes counted; each node's count runs to when the stop mark reached it, a little past the window.
        var nodeOperations = r.Nodes?.Sum(n => n.Operations) ?? 0;
        if (r.Nodes is { } nodes)
            foreach (var n in nodes)
                console.MarkupLine($"node {Markup.Escape(n.Node)}{(n.Lost ? " [red](lost mid-run: last report)[/]" : n.Left ? " (left mid-run)" : "")}: {n.Operations:N0} operations" +
                                   $"{(nodeOperations > 0 ? $" ({n.Operations / (double)nodeOperations:P0} of all)" : "")}, {n.Interrupts:N0} interrupts, {n.DurableChanges:N0} durable table changes, " +
                                   $"{n.CrossNodeHops:N0} of {n.Hops:N0} hops from other nodes" +
                                   (n.EntityFailures > 0 ? $", [red]{n.EntityFailures} entity failure(s)[/]" : ""));
        if (r.CrossNodeHopShare is { } share) console.MarkupLine($"hops that crossed nodes: {share:P2}");
        foreach (var move in r.Moves ?? []) console.MarkupLine($"shards moved: {Markup.Escape(move)}");
        if (r.Tables is { } t)
            console.MarkupLine($"tables: {Markup.Escape(t.Store)}, {(t.Resumed ? "resumed" : "new")}; {t.DurableChanges:N0} durable changes in {t.Batches:N0} batches" +
                               $"{(t.WriteFailures > 0 ? $", [yellow]{t.WriteFailures:N0} refused (journal failed{(t.InjectedWriteFailures > 0 ? $", {t.InjectedWriteFailures:N0} of them by an injected fault" : "")})[/]" : "")}{(t.OwnerRestarts > 0 ? $", {t.OwnerRestarts} owner restart(s)" : "")}");
        if (r.Invariants.Passed)
            console.MarkupLine("[green]all invariants hold[/]: ledger balanced, misdelivered 0, every rogue message faulted as expected, " +
                               (r.Scenario.Mode == "emulated" ? "every access trapped to the VDCM (emulated mode)" : "VDCM never on the fast path"));
        else foreach (var v in r.Invariants.Violations) console.MarkupLine($"[red]invariant violated[/]: {Markup.Escape(v)}");
    }

    private static string Cost(FaultOutcome f)
    {
        var parts = new List<string>();
        if (f.Lost > 0) parts.Add($"lost {f.Lost:N0}");
        if (f.Refused > 0) parts.Add($"refused {f.Refused:N0}");
        if (f.OpsAborted > 0) parts.Add($"aborted {f.OpsAborted:N0}");
        return string.Concat(parts.Select(p => ", " + p));
    }

    private static string S(double? seconds) => seconds is { } s ? s.ToString("0.0#") : "never";

    private static string Join(Dictionary<string, long> d) => d.Count == 0 ? "none" : string.Join(", ", d.Select(kv => $"{kv.Key}: {kv.Value:N0}"));

    private static string Mark(bool ok) => ok ? "[green]yes[/]" : "[red]NO[/]";

    private static string P(Percentiles p) => p.Count == 0 ? "-" : $"{p.P50:N0} / {p.P99:N0} / {p.P999:N0}";
}
