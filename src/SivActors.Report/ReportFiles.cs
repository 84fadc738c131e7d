using SivActors.Model.Reporting;

namespace SivActors.Report;

/// <summary>Writes a run's charts (one PNG each) and report.html beside its report.json.</summary>
public static class ReportFiles
{
    public const string HtmlName = "report.html";

    /// <summary>Draws and writes every chart and the page; returns the page's path. Each file goes through a temporary name and a rename.</summary>
    public static string Write(string directory, RunReport report)
    {
        var charts = RunCharts.Draw(report);
        foreach (var c in charts) WriteAtomically(Path.Combine(directory, c.FileName), c.Png);
        var page = Path.Combine(directory, HtmlName);
        WriteAtomically(page, System.Text.Encoding.UTF8.GetBytes(HtmlReport.Render(report, charts)));
        return page;
    }

    private static void WriteAtomically(string path, byte[] bytes)
    {
        var temp = path + ".tmp";
        File.WriteAllBytes(temp, bytes);
        File.Move(temp, path, overwrite: true);
    }
}
