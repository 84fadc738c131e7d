using System.Globalization;
using System.Net;
using System.Text;
using SivActors.Model.Reporting;

namespace SivActors.Report;

/// <summary>
/// report.html: one self-contained page (styles inline, charts embedded as data URIs, no script, nothing fetched)
/// that a person can read, attach to a design review, or open offline. The figures are report.json's.
/// </summary>
public static class HtmlReport
{
    /// <summary>The start of every page this project writes (report.html, compare.html): doctype, meta and inline styles.</summary>
    internal const string PageHead = """
            <!DOCTYPE html>
            <html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
            <style>
            body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;margin:2rem auto;max-width:1000px;padding:0 1rem;color:#222}
            h1{margin-bottom:.2rem}h2{margin-top:2rem;border-bottom:1px solid #ddd;padding-bottom:.2rem}.sub{color:#555;margin-top:0}
            table{border-collapse:collapse;margin:.5rem 0;width:100%}th,td{border:1px solid #ddd;padding:.3rem .5rem;text-align:left;vertical-align:top}
            th{background:#f4f4f4}td.n{text-align:right;font-variant-numeric:tabular-nums}
            .ok{background:#e6f4ea;border:1px solid #34a853;padding:.6rem 1rem}.bad{background:#fce8e6;border:1px solid #d93025;padding:.6rem 1rem}
            figure{margin:1.5rem 0}figure img{max-width:100%;border:1px solid #eee}figcaption{color:#444;font-size:.95rem}
            </style>
            """;

    public static string Render(RunReport r, IReadOnlyList<Chart> charts)
    {
        var s = r.Scenario;
        var html = new StringBuilder();
        html.Append(PageHead);
        html.Append($"<title>siv run {E(s.Name)}</title></head><body>\n");
        html.Append($"<h1>siv run: {E(s.Name)}</h1>\n<p class=\"sub\">{s.Hosts} host(s), {s.Devices} device(s), {s.Ais:N0} AIs, {s.Containers:N0} containers; " +
                    $"{s.DurationSeconds:0.#} s, seed {s.Seed}, mode {E(s.Mode)}, composition {E(s.CompositionPolicy)}, delivery {E(s.Delivery)}; scenario {E(s.Source)}</p>\n");
        if (r.Invariants.Passed)
            html.Append($"<p class=\"ok\"><b>All invariants hold</b>: ledger balanced, misdelivered 0, every rogue message faulted as expected, {(r.Scenario.Mode == "emulated" ? "every access trapped to the VDCM (emulated mode)" : "VDCM never on the fast path")}.</p>\n");
        else
            html.Append("<div class=\"bad\"><b>Invariants violated</b><ul>" + string.Concat(r.Invariants.Violations.Select(v => $"<li>{E(v)}</li>")) + "</ul></div>\n");
        if (r.Interrupted)
            html.Append($"<p class=\"bad\">Interrupted after {r.Throughput.WallSeconds:0.0} s of {s.DurationSeconds:0.#} s: the figures cover the part that ran.</p>\n");

        html.Append("<h2>Figures</h2>\n<table>\n");
        var t = r.Throughput;
        Row(html, "throughput", $"{t.OpsPerSecond:N0} operations/s, {t.InterruptsPerSecond:N0} interrupts/s over {t.WallSeconds:0.0} s (wall)" +
                                (t.PausedSeconds > 0 ? $", {t.PausedSeconds:0.0} s of it paused while shards moved" : ""));
        Row(html, "work done", $"{t.Operations:N0} operations, {t.Interrupts:N0} interrupts");
        if (r.Fairness is { } f)
            Row(html, "fairness", $"Jain's index {f.Jain:0.000} over {f.Tenants:N0} tenants; median tenant {f.MedianTenantOpsPerSecond:N1} operations/s, " +
                                  $"slowest 1% at most {f.P1TenantOpsPerSecond:N1}, slowest {f.MinTenantOpsPerSecond:N1}");
        if (r.NoisyNeighbour is { } noisy)
            Row(html, "noisy neighbour", noisy.Summary());
        if (r.Scenario.Unserved > 0)
            Row(html, "containers", $"{r.Scenario.ServedPhrase()}: mode {r.Scenario.Mode}");
        Row(html, "memory", $"peak working set {r.Memory.PeakWorkingSetBytes / 1048576.0:N0} MiB, {r.Memory.ManagedBytesPerContainer:N0} managed bytes per container");
        Row(html, "VDCM messages on the fast path", r.Paths.VdcmMessagesOnFastPath.ToString("N0", CultureInfo.InvariantCulture));
        Row(html, "interrupt entry cache", $"{r.InterruptEntryCache.Hits:N0} hits, {r.InterruptEntryCache.Misses:N0} misses");
        if (r.Tables is { } tables)
            Row(html, "tables", $"{tables.Store}, {(tables.Resumed ? "resumed" : "new")}; {tables.DurableChanges:N0} durable changes in {tables.Batches:N0} batches" +
                                (tables.WriteFailures > 0 ? $", {tables.WriteFailures:N0} refused" : ""));
        html.Append("</table>\n");

        var l = r.Ledger;
        html.Append("<h2>Conservation ledger</h2>\n<table><tr><th></th><th>figures</th><th>balanced</th></tr>\n");
        html.Append($"<tr><td>descriptors</td><td>submitted {l.Descriptors.Submitted:N0} = completed {l.Descriptors.Completed:N0} + rejected {{{E(Join(l.Descriptors.Rejected))}}} + in flight {l.Descriptors.InFlight:N0}" +
                    $"{Unaccounted(l.Descriptors.Unaccounted)}; verified {l.Descriptors.Verified:N0}</td><td>{Yes(l.Descriptors.Balanced)}</td></tr>\n");
        var i = l.Interrupts;
        html.Append($"<tr><td>interrupts</td><td>raised {i.Raised:N0}{(i.Retransmitted > 0 ? $" + retransmitted {i.Retransmitted:N0}" : "")} = delivered {i.Delivered:N0} " +
                    $"(remapped {i.DeliveredRemapped:N0}, posted {i.DeliveredPosted:N0}) + coalesced {i.Coalesced:N0} + faulted {{{E(Join(i.Faulted))}}} + lost {i.Lost:N0}" +
                    $"{(i.DuplicatesSuppressed + i.DroppedInTransit > 0 ? $" + duplicates {i.DuplicatesSuppressed:N0} + dropped in transit {i.DroppedInTransit:N0}" : "")}" +
                    $"{Unaccounted(i.Unaccounted)}; misdelivered {i.Misdelivered:N0}</td><td>{Yes(i.Balanced)}</td></tr>\n");
        html.Append($"<tr><td>DMA</td><td>issued {l.Dma.Issued:N0} = applied {l.Dma.Applied:N0} + faulted {{{E(Join(l.Dma.Faulted))}}}" +
                    $"{(l.Dma.Lost > 0 ? $" + lost {l.Dma.Lost:N0}" : "")}{Unaccounted(l.Dma.Unaccounted)}</td><td>{Yes(l.Dma.Balanced)}</td></tr>\n</table>\n");

        html.Append("<h2>Latency</h2>\n<table><tr><th></th><th>samples</th><th>p50</th><th>p99</th><th>p99.9</th><th>max</th></tr>\n");
        Latency(html, "modeled fast path", r.Latency.ModeledNs.Fast, 1000);
        Latency(html, "modeled slow path", r.Latency.ModeledNs.Slow, 1000);
        Latency(html, "modeled remapped interrupt", r.Latency.ModeledInterruptNs.Remapped, 1000);
        Latency(html, "modeled posted interrupt", r.Latency.ModeledInterruptNs.Posted, 1000);
        Latency(html, "wall fast path", r.Latency.WallUs.Fast, 1);
        Latency(html, "wall slow path", r.Latency.WallUs.Slow, 1);
        if (r.Latency.WallUs.TurnWait is { Count: > 0 } wait) Latency(html, "wait for a turn (before submitting)", wait, 1);
        html.Append("</table>\n");

        html.Append("<h2>Charts</h2>\n");
        foreach (var c in charts)
            html.Append($"<figure><img src=\"data:image/png;base64,{Convert.ToBase64String(c.Png)}\" alt=\"{E(c.Title)}\" width=\"{RunCharts.Width}\" height=\"{RunCharts.Height}\">" +
                        $"<figcaption><b>{E(c.Title)}.</b> {E(c.Caption)} ({E(c.FileName)})</figcaption></figure>\n");

        if (r.Faults is { Count: > 0 } faults)
        {
            html.Append("<h2>Faults</h2>\n<table><tr><th>fault</th><th>target</th><th>at (s)</th><th>for (s)</th><th>injected</th><th>detected (s)</th><th>recovered (s)</th><th>touched</th><th>lost</th><th>ops during, of before</th><th>note</th></tr>\n");
            foreach (var x in faults)
                html.Append($"<tr><td>{E(x.Kind)}</td><td>{E(x.Target)}</td><td class=\"n\">{S(x.AtS)}</td><td class=\"n\">{S(x.ForS)}</td><td>{Yes(x.Injected)}</td>" +
                            $"<td class=\"n\">{S(x.DetectedAtS)}</td><td class=\"n\">{S(x.RecoveredAtS)}</td><td class=\"n\">{x.Affected:N0}</td><td class=\"n\">{x.Lost:N0}</td>" +
                            $"<td class=\"n\">{(x.ThroughputRatioDuring is { } ratio ? ratio.ToString("P0", CultureInfo.InvariantCulture) : "")}</td><td>{E(x.Note ?? "")}</td></tr>\n");
            html.Append("</table>\n");
        }
        if (r.Nodes is { Count: > 0 } nodes)
        {
            var total = Math.Max(1, nodes.Sum(n => n.Operations));
            html.Append("<h2>Nodes</h2>\n<table><tr><th>node</th><th>operations</th><th>share</th><th>interrupts</th><th>durable changes</th><th>hops from other nodes</th><th>entity failures</th></tr>\n");
            foreach (var n in nodes)
                html.Append($"<tr><td>{E(n.Node)}{(n.Lost ? " (lost mid-run)" : n.Left ? " (left mid-run)" : "")}</td><td class=\"n\">{n.Operations:N0}</td>" +
                            $"<td class=\"n\">{n.Operations / (double)total:P1}</td><td class=\"n\">{n.Interrupts:N0}</td><td class=\"n\">{n.DurableChanges:N0}</td>" +
                            $"<td class=\"n\">{n.CrossNodeHops:N0} of {n.Hops:N0}</td><td class=\"n\">{n.EntityFailures:N0}</td></tr>\n");
            html.Append("</table>\n");
        }
        if (r.Rogue.Forged.Values.Sum() > 0)
        {
            html.Append("<h2>Rogue traffic</h2>\n<table><tr><th>kind</th><th>forged</th><th>faulted as expected</th><th>unexpected</th><th>expected code</th></tr>\n");
            foreach (var (kind, forged) in r.Rogue.Forged)
                html.Append($"<tr><td>{E(kind)}</td><td class=\"n\">{forged:N0}</td><td class=\"n\">{r.Rogue.FaultedAsExpected.GetValueOrDefault(kind):N0}</td>" +
                            $"<td class=\"n\">{r.Rogue.Unexpected.GetValueOrDefault(kind):N0}</td><td>{E(r.Rogue.ExpectedCodes.GetValueOrDefault(kind, ""))}</td></tr>\n");
            html.Append("</table>\n");
        }
        html.Append("<p class=\"sub\">Written by <code>siv run</code>; every figure here is also in report.json beside this file, and each chart is a PNG there too.</p>\n</body></html>\n");
        return html.ToString();
    }

    private static void Row(StringBuilder html, string name, string value) => html.Append($"<tr><th>{E(name)}</th><td>{E(value)}</td></tr>\n");

    private static void Latency(StringBuilder html, string name, Percentiles p, double unitsPerMicrosecond)
    {
        if (p.Count == 0) return;
        string Us(double v) => (v / unitsPerMicrosecond).ToString("N2", CultureInfo.InvariantCulture) + " µs";
        html.Append($"<tr><td>{E(name)}</td><td class=\"n\">{p.Count:N0}</td><td class=\"n\">{Us(p.P50)}</td><td class=\"n\">{Us(p.P99)}</td>" +
                    $"<td class=\"n\">{Us(p.P999)}</td><td class=\"n\">{Us(p.Max)}</td></tr>\n");
    }

    private static string E(string text) => WebUtility.HtmlEncode(text);

    private static string Yes(bool ok) => ok ? "yes" : "<b style=\"color:#d93025\">NO</b>";

    private static string S(double? seconds) => seconds is { } s ? s.ToString("0.0#", CultureInfo.InvariantCulture) : "";

    private static string Unaccounted(long n) => n > 0 ? $" + unaccounted {n:N0}" : "";

    private static string Join(Dictionary<string, long> d) => d.Count == 0 ? "none" : string.Join(", ", d.Select(kv => $"{kv.Key}: {kv.Value:N0}"));
}
