using System.Text.Json;
using SivActors.Actors.Run;
using SivActors.Model;
using SivActors.Model.Reporting;
using SivActors.Model.Scenarios;
using SivActors.Report;
using Spectre.Console;

namespace SivActors.Cli;

/// <summary>
/// `siv compare`: the same scenario once per mode, one after another on this node (tables in memory: each run starts
/// fresh), then one table, compare.json, compare.html and compare.png side by side.
/// </summary>
public static class CompareCommand
{
    public const string DefaultModes = "siov,sriov,emulated";

    /// <summary>How long the unmeasured warm-up runs (at most the scenario's duration).</summary>
    public const double WarmUpSeconds = 3;

    public static async Task<int> ExecuteAsync(string? scenarioPath, double? duration, string modesText, string outDirectory, TextWriter output, TextWriter error,
        CancellationToken ct)
    {
        var baseline = RunCommand.Resolve(new RunRequest(scenarioPath ?? ConfigPaths.CompareScenario, duration, null, null, outDirectory));
        var modes = ParseModes(modesText, baseline.Scenario);
        RunCommand.CheckOutDirectory(outDirectory);
        var outDir = RunCommand.CreateOutDirectory(outDirectory);
        var console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(output) });
        var s = baseline.Scenario;
        console.MarkupLine($"[bold]siv compare[/] {Markup.Escape(s.Name)}: {string.Join(", ", modes)}; {s.Topology.Containers:N0} containers, {s.DurationSeconds} s each, seed {s.Seed}");
        // The first run in a process pays the JIT's and the heap's warm-up: 20-35% of its rate in 5 s runs, so the mode
        // run first lost to whichever came second (decision 67). A short run of the first mode, not measured, pays it.
        var warmUp = Math.Min(WarmUpSeconds, s.DurationSeconds);
        error.WriteLine($"siv compare: warming up with {modes[0]} for {warmUp:0.#} s (not measured) ...");
        if ((await EmulatorRun.RunAsync(baseline with { Scenario = s with { Mode = modes[0], DurationSeconds = warmUp } }, new RunProgress(), ct)).Report is null)
            error.WriteLine("siv compare: the warm-up run failed; the measured runs follow anyway");
        var figures = new List<ModeFigures>();
        for (var i = 0; i < modes.Count; i++)
        {
            var mode = modes[i];
            // Progress goes to stderr, as `siv run`'s does: stdout carries the result.
            error.WriteLine($"siv compare: mode {mode} ({i + 1} of {modes.Count}), {s.DurationSeconds} s after composing {s.Topology.Containers:N0} vdevs ...");
            var outcome = await EmulatorRun.RunAsync(baseline with { Scenario = s with { Mode = mode } }, new RunProgress(), ct);
            if (outcome.Report is not { } report)
            {
                error.WriteLine($"siv: the {mode} run failed: {outcome.Failure}");
                return SivCli.InvariantFailed;
            }
            var f = ModeFigures.Of(report);
            figures.Add(f);
            error.WriteLine($"siv compare: {mode}: {f.OpsPerSecond:N0} ops/s, invariants {(f.InvariantsHold ? "hold" : "violated: " + string.Join("; ", report.Invariants.Violations))}");
        }
        var compare = new CompareReport(s.Name, baseline.Source, s.Seed, s.DurationSeconds, figures);
        Print(console, compare);
        var json = Path.Combine(outDir, "compare.json");
        await File.WriteAllTextAsync(json, JsonSerializer.Serialize(compare, RunCommand.ReportJson), CancellationToken.None);
        console.MarkupLine($"comparison written to [bold]{Markup.Escape(json)}[/]");
        try
        {
            console.MarkupLine($"chart and a readable page written to [bold]{Markup.Escape(CompareFiles.Write(outDir, compare))}[/]");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or DllNotFoundException or TypeInitializationException)
        {
            error.WriteLine($"siv: compare.html and its chart could not be written to {outDir} ({e.Message}); the figures are in {json}");
        }
        return figures.All(f => f.InvariantsHold) ? SivCli.Ok : SivCli.InvariantFailed;
    }

    /// <summary>Modes as given (comma separated, each once), each checked against the scenario before anything runs.</summary>
    public static IReadOnlyList<string> ParseModes(string text, Scenario scenario)
    {
        var modes = text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (modes.Length == 0) throw new SivInputException("--modes needs at least one mode (modes: siov, sriov, emulated)");
        if (modes.GroupBy(m => m).FirstOrDefault(g => g.Count() > 1) is { } twice) throw new SivInputException($"--modes names {twice.Key} twice");
        foreach (var mode in modes)
        {
            try
            {
                ScenarioLoader.Validate(scenario with { Mode = mode });
            }
            catch (SivInputException e)
            {
                throw new SivInputException($"--modes: {e.Message}");
            }
        }
        return modes;
    }

    private static void Print(IAnsiConsole console, CompareReport r)
    {
        var table = new Table().Title("[bold]modes side by side[/]").AddColumn("figure");
        foreach (var m in r.Modes) table.AddColumn(new TableColumn(Markup.Escape(m.Mode)).RightAligned());
        foreach (var (name, value) in CompareFiles.Rows(r))
            table.AddRow([Markup.Escape(name), .. r.Modes.Select(m => Markup.Escape(value(m)))]);
        console.Write(table);
    }
}
