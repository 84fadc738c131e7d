using System.Diagnostics;
using System.Text.Json;
using System.Text.RegularExpressions;
using SivActors.Cli;
using SivActors.Model.Scenarios;

namespace SivActors.Actors.Tests;

/// <summary>
/// Every `siv run` writes report.html and its PNG charts beside report.json, and the page is self-contained: a
/// browser with no network shows every chart. The browser is Debian's Chromium, headless; `.ci/run` installs it
/// and sets <see cref="RequireChromium"/>, so there the browser test cannot be skipped.
/// </summary>
public sealed partial class ReportPageTests
{
    public const string RequireChromium = "SIV_REQUIRE_CHROMIUM";

    private static async Task<string> RunSiv(string name)
    {
        var dir = Directory.CreateTempSubdirectory("siv-report-" + name).FullName;
        var scenario = Path.Combine(dir, "small.json");
        await File.WriteAllTextAsync(scenario, JsonSerializer.Serialize(TestScenarios.Small().Scenario, ScenarioLoader.StrictJson));
        var output = new StringWriter();
        var error = new StringWriter();
        // A store of its own: the default one (./data/siv.db) is locked by any other run of the suite that uses it.
        var code = await SivCli.InvokeAsync(["run", "--scenario", scenario, "--duration", "2", "--out", Path.Combine(dir, "out"),
                "--db", Path.Combine(dir, "siv.db")], output, error,
            new RunOptions { Interactive = false });
        Assert.True(code == SivCli.Ok, $"exit {code}: {error}");
        Assert.Contains("report.html", output.ToString());
        return Path.Combine(dir, "out");
    }

    [Fact]
    public async Task A_run_writes_its_timeline_fairness_charts_and_a_page_that_needs_no_network()
    {
        var outDir = await RunSiv("files");
        using var report = JsonDocument.Parse(await File.ReadAllTextAsync(Path.Combine(outDir, "report.json")));
        var root = report.RootElement;

        // The timeline's seconds add up to the window's operations (each second is rounded on its own).
        var timeline = root.GetProperty("timeline").EnumerateArray().ToList();
        Assert.NotEmpty(timeline);
        var operations = root.GetProperty("throughput").GetProperty("operations").GetInt64();
        var timelineOperations = timeline.Sum(s => s.GetProperty("operations").GetInt64());
        Assert.InRange(timelineOperations, operations * 0.98 - timeline.Count, operations * 1.02 + timeline.Count);
        Assert.True(timeline.Sum(s => s.GetProperty("interrupts").GetInt64()) > 0);
        Assert.Equal(root.GetProperty("throughput").GetProperty("wallSeconds").GetDouble(), timeline.Sum(s => s.GetProperty("seconds").GetDouble()), 1);

        var fairness = root.GetProperty("fairness");
        var jain = fairness.GetProperty("jain").GetDouble();
        Assert.InRange(jain, double.Epsilon, 1.0);
        Assert.Equal(root.GetProperty("scenario").GetProperty("containers").GetInt32(), fairness.GetProperty("tenants").GetInt32());
        Assert.True(fairness.GetProperty("p1TenantOpsPerSecond").GetDouble() <= fairness.GetProperty("medianTenantOpsPerSecond").GetDouble());
        Assert.Contains(root.GetProperty("latencyCurves").EnumerateArray(), c => c.GetProperty("clock").GetString() == "wall");

        byte[] pngMagic = [0x89, (byte)'P', (byte)'N', (byte)'G'];
        var pngs = Directory.GetFiles(outDir, "*.png");
        Assert.True(pngs.Length >= 4, $"only {pngs.Length} charts: {string.Join(", ", pngs.Select(Path.GetFileName))}");
        Assert.All(pngs, p => Assert.Equal(pngMagic, File.ReadAllBytes(p).Take(4)));

        var html = await File.ReadAllTextAsync(Path.Combine(outDir, "report.html"));
        Assert.Equal(pngs.Length, ImageSources().Matches(html).Count);
        Assert.All(ImageSources().Matches(html), m => Assert.StartsWith("data:image/png;base64,", m.Groups[1].Value));
        Assert.DoesNotMatch(ExternalReference(), html);
        Assert.Contains("All invariants hold", html);
    }

    [SkippableFact]
    public async Task Headless_chromium_shows_every_chart_of_the_page()
    {
        var chromium = FindChromium();
        Skip.If(chromium is null && Environment.GetEnvironmentVariable(RequireChromium) != "1",
            "Chromium is not installed (apt-get install chromium; .ci/run installs it and sets SIV_REQUIRE_CHROMIUM=1)");
        Assert.True(chromium is not null, $"{RequireChromium}=1 but no chromium was found on PATH or at /usr/bin/chromium");
        var outDir = await RunSiv("browser");
        var page = Path.Combine(outDir, "report.html");
        var charts = Directory.GetFiles(outDir, "*.png").Length;

        var (images, loaded) = await ImagesIn(chromium, page, outDir);
        Assert.Equal(charts, images);
        Assert.Equal(images, loaded);

        // The check itself can fail: a page with one chart's data cut short shows one chart fewer.
        var html = await File.ReadAllTextAsync(page);
        var broken = Path.Combine(outDir, "broken.html");
        var first = ImageSources().Match(html).Groups[1];
        await File.WriteAllTextAsync(broken, html[..(first.Index + 40)] + html[(first.Index + first.Length)..]);
        var (brokenImages, brokenLoaded) = await ImagesIn(chromium, broken, outDir);
        Assert.Equal(charts, brokenImages);
        Assert.Equal(charts - 1, brokenLoaded);
    }

    /// <summary>
    /// Opens a copy of <paramref name="page"/> with a small script that, once the page has loaded, writes how many
    /// images it has and how many decoded into the body's attributes; Chromium prints the DOM after the load.
    /// </summary>
    private static async Task<(int Images, int Loaded)> ImagesIn(string chromium, string page, string dir)
    {
        var probe = Path.Combine(dir, "probe-" + Path.GetFileName(page));
        var html = await File.ReadAllTextAsync(page);
        const string script = "<script>window.addEventListener('load',()=>{const i=[...document.images];document.body.dataset.images=i.length;" +
                              "document.body.dataset.loaded=i.filter(x=>x.complete&&x.naturalWidth>0).length;});</script>";
        await File.WriteAllTextAsync(probe, html.Replace("</body>", script + "</body>", StringComparison.Ordinal));
        var profile = Directory.CreateTempSubdirectory("siv-chromium").FullName;
        var start = new ProcessStartInfo(chromium)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        // Headless with nothing that reaches out: this machine's network is closed, and a report must not need one.
        foreach (var arg in new[]
                 {
                     "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                     "--disable-component-update", "--disable-sync", "--user-data-dir=" + profile, "--virtual-time-budget=10000", "--dump-dom",
                     new Uri(probe).AbsoluteUri,
                 })
            start.ArgumentList.Add(arg);
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(90));
        await process.WaitForExitAsync(timeout.Token);
        var dom = await stdout;
        var body = BodyCounts().Match(dom);
        Assert.True(body.Success, $"chromium exited {process.ExitCode} without the page's counts; stderr: {(await stderr)[..Math.Min(2000, (await stderr).Length)]}");
        return (int.Parse(body.Groups[1].Value), int.Parse(body.Groups[2].Value));
    }

    private static string? FindChromium()
    {
        foreach (var dir in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':').Append("/usr/bin"))
            foreach (var name in new[] { "chromium", "chromium-browser" })
                if (dir.Length > 0 && File.Exists(Path.Combine(dir, name))) return Path.Combine(dir, name);
        return null;
    }

    [GeneratedRegex("<img[^>]*\\ssrc=\"([^\"]*)\"")]
    private static partial Regex ImageSources();

    [GeneratedRegex("(src|href)=\"(https?:)?//", RegexOptions.IgnoreCase)]
    private static partial Regex ExternalReference();

    [GeneratedRegex("<body[^>]*data-images=\"(\\d+)\"[^>]*data-loaded=\"(\\d+)\"")]
    private static partial Regex BodyCounts();
}
