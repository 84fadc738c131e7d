using System.Globalization;
using System.Net;
using System.Text;
using ScottPlot;
using SivActors.Model.Reporting;

namespace SivActors.Report;

/// <summary>`siv compare`'s page and chart: the modes side by side, drawn from compare.json's figures alone.</summary>
public static class CompareFiles
{
    public const string HtmlName = "compare.html", ChartName = "compare.png", ServedChartName = "compare-served.png";

    /// <summary>Writes compare.png, compare-served.png and compare.html into <paramref name="directory"/>; returns the page's path.</summary>
    public static string Write(string directory, CompareReport report)
    {
        Chart[] charts = [Chart(report), ServedChart(report)];
        foreach (var chart in charts) File.WriteAllBytes(Path.Combine(directory, chart.FileName), chart.Png);
        var page = Path.Combine(directory, HtmlName);
        File.WriteAllText(page, Render(report, charts), Encoding.UTF8);
        return page;
    }

    /// <summary>Containers each mode served and left unserved (SR-IOV's VF limit), stacked, beside its operations/s.</summary>
    public static Chart ServedChart(CompareReport report)
    {
        var plot = RunCharts.NewPlot("Containers served by mode", "", "containers");
        var served = new List<Bar>();
        var unserved = new List<Bar>();
        for (var m = 0; m < report.Modes.Count; m++)
        {
            var mode = report.Modes[m];
            // The label sits above the stack's top, so it names both parts when there are two.
            var label = mode.ContainersUnserved > 0
                ? string.Create(CultureInfo.InvariantCulture, $"{mode.ContainersServed:N0} served, {mode.ContainersUnserved:N0} unserved; {mode.OpsPerSecond:N0} ops/s")
                : string.Create(CultureInfo.InvariantCulture, $"{mode.ContainersServed:N0} served; {mode.OpsPerSecond:N0} ops/s");
            served.Add(new Bar { Position = m, Value = mode.ContainersServed, FillColor = Colors.SeaGreen, Size = 0.6,
                Label = mode.ContainersUnserved > 0 ? "" : label });
            if (mode.ContainersUnserved > 0)
                unserved.Add(new Bar { Position = m, ValueBase = mode.ContainersServed, Value = mode.ContainersServed + mode.ContainersUnserved,
                    FillColor = Colors.LightGray, Size = 0.6, Label = label });
        }
        plot.Add.Bars(served);
        if (unserved.Count > 0) plot.Add.Bars(unserved);
        plot.Axes.Bottom.SetTicks(Enumerable.Range(0, report.Modes.Count).Select(i => (double)i).ToArray(), report.Modes.Select(m => m.Mode).ToArray());
        plot.Axes.Margins(bottom: 0, top: 0.15);
        return RunCharts.Png(plot, ServedChartName, "Containers served by mode",
            "How many of the scenario's containers each mode gave a device (green) and how many it could not (grey): under SR-IOV one VF per container, " +
            "up to the devices' VF limit. The label gives the emulator's operations/s over the served ones.");
    }

    /// <summary>Modeled p50 and p99 of the fast path, the slow path and interrupt delivery, per mode (µs, log scale).</summary>
    public static Chart Chart(CompareReport report)
    {
        var plot = RunCharts.NewPlot("Modeled latency by mode", "", "µs (log scale)");
        (string Label, Func<ModeFigures, Percentiles> Of)[] groups =
        [
            ("fast path", m => m.ModeledFastNs), ("slow path", m => m.ModeledSlowNs),
            ("remapped interrupt", m => m.ModeledRemappedInterruptNs), ("posted interrupt", m => m.ModeledPostedInterruptNs),
        ];
        Color[] palette = [Colors.SteelBlue, Colors.DarkOrange, Colors.SeaGreen, Colors.MediumPurple];
        var width = 0.8 / report.Modes.Count;
        for (var m = 0; m < report.Modes.Count; m++)
        {
            var mode = report.Modes[m];
            var bars = new List<Bar>();
            for (var g = 0; g < groups.Length; g++)
            {
                var p = groups[g].Of(mode);
                if (p.Count == 0) continue;
                var us = p.P99 / 1000;
                bars.Add(new Bar
                {
                    Position = g + (m - (report.Modes.Count - 1) / 2.0) * width,
                    Value = Math.Log10(Math.Max(us, 0.01)) + 2, // bars start at 0.01 µs
                    FillColor = palette[m % palette.Length],
                    Size = width * 0.9,
                    Label = us.ToString("N1", CultureInfo.InvariantCulture),
                });
            }
            var series = plot.Add.Bars(bars);
            series.LegendText = $"{mode.Mode} (p99)";
            series.Color = palette[m % palette.Length];
        }
        plot.Axes.Bottom.SetTicks(Enumerable.Range(0, groups.Length).Select(i => (double)i).ToArray(), groups.Select(g => g.Label).ToArray());
        plot.Axes.Left.TickGenerator = new ScottPlot.TickGenerators.NumericAutomatic
        {
            IntegerTicksOnly = true,
            LabelFormatter = y => Math.Pow(10, y - 2).ToString("0.##", CultureInfo.InvariantCulture),
        };
        plot.Axes.Margins(bottom: 0);
        plot.ShowLegend(Alignment.UpperLeft);
        return RunCharts.Png(plot, ChartName, "Modeled latency by mode",
            "The 99th percentile of each path's modeled latency in each mode (the cost model's hardware time, not the emulator's): " +
            "the fast path, the trapped slow path, and interrupt delivery, remapped (exit-based) and posted. A mode with no samples of a kind has no bar.");
    }

    private static string Render(CompareReport r, IEnumerable<Chart> charts)
    {
        var html = new StringBuilder();
        html.Append(HtmlReport.PageHead);
        html.Append($"<title>siv compare {E(r.Scenario)}</title></head><body>\n<h1>siv compare: {E(r.Scenario)}</h1>\n");
        html.Append($"<p>The same scenario ({E(r.Source)}, seed {r.Seed}, {r.DurationSeconds:0.#} s) run once per mode on one node, one after another. " +
                    "Operations/s are the emulator's (its cores); latencies are modeled (the cost model's hardware time, config/cost-model.json).</p>\n");
        html.Append("<table><tr><th>figure</th>" + string.Concat(r.Modes.Select(m => $"<th>{E(m.Mode)}</th>")) + "</tr>\n");
        void Row(string name, Func<ModeFigures, string> value) =>
            html.Append($"<tr><th>{E(name)}</th>" + string.Concat(r.Modes.Select(m => $"<td class=\"n\">{E(value(m))}</td>")) + "</tr>\n");
        foreach (var (name, value) in Rows(r)) Row(name, value);
        html.Append("</table>\n");
        foreach (var chart in charts)
            html.Append($"<figure><img src=\"data:image/png;base64,{Convert.ToBase64String(chart.Png)}\" alt=\"{E(chart.Title)}\" width=\"{RunCharts.Width}\" height=\"{RunCharts.Height}\">" +
                        $"<figcaption><b>{E(chart.Title)}.</b> {E(chart.Caption)} ({E(chart.FileName)})</figcaption></figure>\n");
        html.Append("</body></html>\n");
        return html.ToString();
    }

    /// <summary>The side-by-side table's rows: the console's and the page's.</summary>
    public static IReadOnlyList<(string Name, Func<ModeFigures, string> Value)> Rows(CompareReport r)
    {
        static string Us(Percentiles p) => p.Count == 0 ? "-" : string.Create(CultureInfo.InvariantCulture, $"{p.P50 / 1000:N1} / {p.P99 / 1000:N1}");
        return
        [
            ("containers served / unserved", m => $"{m.ContainersServed:N0} / {m.ContainersUnserved:N0}"),
            ("operations/s", m => m.OpsPerSecond.ToString("N0", CultureInfo.InvariantCulture)),
            ("interrupts/s", m => m.InterruptsPerSecond.ToString("N0", CultureInfo.InvariantCulture)),
            ("modeled fast path p50 / p99 (µs)", m => Us(m.ModeledFastNs)),
            ("modeled slow path p50 / p99 (µs)", m => Us(m.ModeledSlowNs)),
            ("modeled remapped interrupt p50 / p99 (µs)", m => Us(m.ModeledRemappedInterruptNs)),
            ("modeled posted interrupt p50 / p99 (µs)", m => Us(m.ModeledPostedInterruptNs)),
            ("managed bytes per container", m => m.ManagedBytesPerContainer.ToString("N0", CultureInfo.InvariantCulture)),
            ("rogue messages contained / forged", m => $"{m.RogueContained:N0} / {m.RogueForged:N0}"),
            ("interrupts blocked, by fault reason", m => m.InterruptFaultsText()),
            ("VDCM messages on the fast path", m => m.VdcmMessagesOnFastPath.ToString("N0", CultureInfo.InvariantCulture)),
            ("invariants", m => m.InvariantsHold ? "hold" : "violated"),
        ];
    }

    private static string E(string text) => WebUtility.HtmlEncode(text);
}
