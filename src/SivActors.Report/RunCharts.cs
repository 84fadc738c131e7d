using ScottPlot;
using SivActors.Model.Reporting;

namespace SivActors.Report;

/// <summary>One chart of a report: its file name, what it shows, and the PNG itself.</summary>
public sealed record Chart(string FileName, string Title, string Caption, byte[] Png);

/// <summary>
/// The report's charts, drawn with ScottPlot from <see cref="RunReport"/> alone: everything a chart shows is also in
/// report.json. Throughput over the run (with the scheduled faults marked), the latency distributions (modeled and
/// wall), interrupts by outcome, per-tenant fairness, and each node's share in a cluster run.
/// </summary>
public static class RunCharts
{
    public const int Width = 900, Height = 480;

    public static IReadOnlyList<Chart> Draw(RunReport report)
    {
        var charts = new List<Chart?>
        {
            Throughput(report),
            Latency(report, "modeled", "latency-modeled.png", "Modeled latency",
                "The cost model's time per operation and per interrupt: what the design under test would take."),
            Latency(report, "wall", "latency-wall.png", "Wall-clock latency",
                "The emulator's own time per operation, queueing included: how long the emulator took, not the design."),
            Interrupts(report),
            Fairness(report),
            Nodes(report),
        };
        return charts.OfType<Chart>().ToList();
    }

    private static Chart? Throughput(RunReport report)
    {
        if (report.Timeline is not { Count: > 0 } timeline) return null;
        // A last sliver of a second (the window rarely ends on a whole second) is too short for a rate worth drawing.
        if (timeline.Count > 1 && timeline[^1].Seconds < 0.5) timeline = timeline.Take(timeline.Count - 1).ToList();
        var plot = NewPlot("Throughput over the run", "seconds into the measured window", "per second");
        var ends = new double[timeline.Count];
        double t = 0;
        for (var i = 0; i < timeline.Count; i++) ends[i] = t += timeline[i].Seconds;
        var ops = timeline.Select(s => s.Operations / s.Seconds).ToArray();
        var irqs = timeline.Select(s => s.Interrupts / s.Seconds).ToArray();
        var faults = timeline.Select(s => s.Faults / s.Seconds).ToArray();
        Line(plot, ends, ops, "operations/s", Colors.SteelBlue);
        Line(plot, ends, irqs, "interrupts/s", Colors.DarkOrange);
        if (faults.Any(f => f > 0)) Line(plot, ends, faults, "remapping faults/s", Colors.FireBrick);
        foreach (var f in report.Faults ?? [])
        {
            if (f.FiredAtS is not { } at) continue;
            if (f.ForS is { } length)
            {
                var span = plot.Add.HorizontalSpan(at, at + length);
                span.FillStyle.Color = Colors.Gray.WithAlpha(0.15);
                span.LineStyle.Width = 0;
            }
            var line = plot.Add.VerticalLine(at);
            line.Color = Colors.DimGray;
            line.LinePattern = LinePattern.Dashed;
            line.Text = f.Kind;
            line.LabelFontSize = 11;
            line.LabelOppositeAxis = true; // above the plot: the seconds' axis stays readable when faults are many
        }
        if (report.NoisyNeighbour is { } noisy)
        {
            var noise = plot.Add.VerticalLine(noisy.FromSeconds);
            noise.Color = Colors.DarkMagenta;
            noise.LinePattern = LinePattern.Dotted;
            noise.Text = $"c{noisy.Container} noisy ({noisy.Factor}x)";
            noise.LabelFontSize = 11;
            noise.LabelOppositeAxis = true;
        }
        // Room between the title and the plot for the faults' names.
        if (report.Faults is { Count: > 0 } || report.NoisyNeighbour is not null) plot.Axes.Top.MinimumSize = 30;
        plot.Axes.SetLimitsY(0, Math.Max(1, ops.Concat(irqs).Max()) * 1.1);
        plot.ShowLegend(Alignment.LowerRight);
        var faultNote = (report.Faults is { Count: > 0 } ? " Dashed lines mark the scheduled faults as they fired; shading, how long they lasted." : "") +
                        (report.NoisyNeighbour is not null ? " The dotted line marks when the noisy neighbour started." : "");
        return Png(plot, "throughput.png", "Throughput over the run",
            $"Operations completed and interrupts raised in each second of the measured window.{faultNote}");
    }

    private static Chart? Latency(RunReport report, string clock, string file, string title, string caption)
    {
        var curves = report.LatencyCurves.Where(c => c.Clock == clock).ToList();
        if (curves.Count == 0) return null;
        var plot = NewPlot(title, "latency (µs, log scale)", "% of samples at or below");
        Color[] palette = [Colors.SteelBlue, Colors.DarkOrange, Colors.SeaGreen, Colors.MediumPurple];
        for (var i = 0; i < curves.Count; i++)
        {
            var c = curves[i];
            Line(plot, c.Points.Select(p => Math.Log10(Math.Max(p.Microseconds, 0.001))).ToArray(), c.Points.Select(p => p.Percentile).ToArray(),
                $"{c.Name} ({c.Count:N0})", palette[i % palette.Length]);
        }
        plot.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericAutomatic
        {
            MinorTickGenerator = new ScottPlot.TickGenerators.LogMinorTickGenerator(),
            IntegerTicksOnly = true,
            LabelFormatter = x => FormatMicros(Math.Pow(10, x)),
        };
        plot.Axes.SetLimitsY(0, 101);
        plot.ShowLegend(Alignment.LowerRight);
        return Png(plot, file, title, caption + " Each curve: the share of samples (y) that took at most a given time (x).");
    }

    private static Chart? Interrupts(RunReport report)
    {
        var l = report.Ledger.Interrupts;
        if (l.Raised == 0) return null;
        (string Label, long Count, Color Color)[] bars =
        [
            ("remapped", l.DeliveredRemapped, Colors.SteelBlue),
            ("posted", l.DeliveredPosted, Colors.SeaGreen),
            ("coalesced", l.Coalesced, Colors.MediumSeaGreen),
            ("faulted", l.Faulted.Values.Sum(), Colors.DarkOrange),
            ("lost", l.Lost, Colors.FireBrick),
            ("misdelivered", l.Misdelivered, Colors.DarkRed),
            ("unaccounted", l.Unaccounted, Colors.Gray),
        ];
        var plot = NewPlot("Interrupts by outcome", "", "interrupts (log scale)");
        for (var i = 0; i < bars.Length; i++)
        {
            var bar = plot.Add.Bar(i, Math.Log10(Math.Max(bars[i].Count, 1)));
            bar.Color = bars[i].Color;
            bar.Bars[0].Label = bars[i].Count.ToString("N0", System.Globalization.CultureInfo.InvariantCulture);
        }
        plot.Axes.Bottom.SetTicks(Enumerable.Range(0, bars.Length).Select(i => (double)i).ToArray(), bars.Select(b => b.Label).ToArray());
        plot.Axes.Left.TickGenerator = new ScottPlot.TickGenerators.NumericAutomatic
        {
            IntegerTicksOnly = true,
            LabelFormatter = y => Math.Pow(10, y).ToString("N0", System.Globalization.CultureInfo.InvariantCulture),
        };
        plot.Axes.Margins(bottom: 0);
        var faulted = l.Faulted.Count == 0 ? "" : " Faulted by code: " + string.Join(", ", l.Faulted.Select(kv => $"{kv.Key} {kv.Value:N0}")) + ".";
        return Png(plot, "interrupts.png", "Interrupts by outcome",
            $"What became of the {l.Raised:N0} interrupts raised: delivered remapped or posted, coalesced into a pending post, faulted by the interrupt unit, lost, or misdelivered (must be 0).{faulted}");
    }

    private static Chart? Fairness(RunReport report)
    {
        if (report.Fairness is not { OpsPerSecondByPercentile.Count: > 0 } f) return null;
        var plot = NewPlot($"Per-tenant throughput (Jain's index {f.Jain:0.000})", "tenants, slowest to fastest (percentile)", "operations/s per tenant");
        var xs = Enumerable.Range(0, f.OpsPerSecondByPercentile.Count).Select(i => (double)i).ToArray();
        Line(plot, xs, f.OpsPerSecondByPercentile.ToArray(), "tenant's operations/s", Colors.SteelBlue);
        var median = plot.Add.HorizontalLine(f.MedianTenantOpsPerSecond);
        median.Color = Colors.SeaGreen;
        median.LinePattern = LinePattern.Dashed;
        median.LegendText = $"median tenant {f.MedianTenantOpsPerSecond:N1}";
        var p1 = plot.Add.HorizontalLine(f.P1TenantOpsPerSecond);
        p1.Color = Colors.FireBrick;
        p1.LinePattern = LinePattern.Dashed;
        p1.LegendText = $"slowest 1% at most {f.P1TenantOpsPerSecond:N1}";
        plot.Axes.SetLimits(0, 100, 0, Math.Max(1, f.OpsPerSecondByPercentile[^1]) * 1.1);
        plot.ShowLegend(Alignment.UpperLeft);
        return Png(plot, "fairness.png", "Per-tenant throughput",
            $"Operations per second of each of the {f.Tenants:N0} containers, sorted from the slowest to the fastest. A flat line is a fair run; " +
            $"Jain's index is {f.Jain:0.000} (1 when every tenant did the same).");
    }

    private static Chart? Nodes(RunReport report)
    {
        if (report.Nodes is not { Count: > 0 } nodes) return null;
        var total = Math.Max(1, nodes.Sum(n => n.Operations));
        var plot = NewPlot("Each node's share of the operations", "", "% of operations");
        for (var i = 0; i < nodes.Count; i++)
        {
            var share = 100.0 * nodes[i].Operations / total;
            var bar = plot.Add.Bar(i, share);
            bar.Color = nodes[i].Lost ? Colors.Gray : Colors.SteelBlue;
            bar.Bars[0].Label = $"{share:0.0}%";
        }
        plot.Axes.Bottom.SetTicks(Enumerable.Range(0, nodes.Count).Select(i => (double)i).ToArray(),
            nodes.Select(n => n.Node + (n.Lost ? " (lost)" : n.Left ? " (left)" : "")).ToArray());
        plot.Axes.Margins(bottom: 0);
        return Png(plot, "nodes.png", "Each node's share",
            "Operations completed on each cluster node over the measured window, as a share of the whole run.");
    }

    internal static Plot NewPlot(string title, string x, string y)
    {
        var plot = new Plot();
        plot.Title(title);
        if (x.Length > 0) plot.XLabel(x);
        plot.YLabel(y);
        return plot;
    }

    private static void Line(Plot plot, double[] xs, double[] ys, string legend, Color color)
    {
        var line = plot.Add.ScatterLine(xs, ys);
        line.LegendText = legend;
        line.Color = color;
        line.LineWidth = 2;
    }

    internal static Chart Png(Plot plot, string file, string title, string caption) =>
        new(file, title, caption, plot.GetImageBytes(Width, Height, ImageFormat.Png));

    private static string FormatMicros(double us) => us switch
    {
        >= 1_000_000 => $"{us / 1_000_000:0.##} s",
        >= 1_000 => $"{us / 1_000:0.##} ms",
        >= 1 => $"{us:0.##} µs",
        _ => $"{us * 1000:0.##} ns",
    };
}
