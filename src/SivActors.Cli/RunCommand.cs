using System.Diagnostics;
using System.Text.Json;
using SivActors.Actors.Persistence;
using SivActors.Actors.Run;
using SivActors.Model;
using SivActors.Model.Faults;
using SivActors.Model.Reporting;
using SivActors.Model.Scenarios;
using Spectre.Console;

namespace SivActors.Cli;

public static class RunCommand
{
    public static readonly JsonSerializerOptions ReportJson = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        WriteIndented = true,
        // Plain text for people reading it: no \u0027-style escapes (this output is never embedded in HTML).
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    public static async Task<int> ExecuteAsync(RunRequest request, TextWriter output, TextWriter error, RunOptions hooks, CancellationToken ct)
    {
        var scenario = Resolve(request);
        request.Cluster?.Validate();
        // A fault on a cluster's nodes cannot run on one node: refused before anything is opened or written.
        if (request.Cluster is null && FaultTimeline.NeedsCluster(FaultTimeline.Validate(scenario.Scenario)) is { } clusterOnly)
            throw new SivInputException(clusterOnly);
        // The noise starts from the driver's clock, which a cluster's workers do not share (decision 63).
        if (request.Cluster is not null && scenario.Scenario.Workload.NoisyNeighbour is not null)
            throw new SivInputException("workload.noisyNeighbour runs on one node; run this scenario without --cluster (docs/scenarios.md)");
        // The output directory first (checked, not created): a run refused for its --out must not have created a
        // database, and one refused for its database must not have created the output directory.
        CheckOutDirectory(request.OutDirectory);
        // A database that cannot be used is bad input like any other: refused before anything is written.
        // (--fresh discards it first, so a damaged file can be replaced.)
        if (request.Store is { } toCheck && !request.Fresh) request = request with { Store = await toCheck.CheckAsync(ct) };
        // One writer per store: a second run on it is refused here, before it writes anything. A cluster driver
        // takes PostgreSQL's lock too (its workers share the store by design); SQLite is a single node's.
        using var writer = request.Cluster is null || request.Store is { Kind: TableStoreKind.PostgreSql } ? StoreLock.Take(request.Store, "siv run") : null;
        var outExisted = Directory.Exists(request.OutDirectory);
        var outDir = CreateOutDirectory(request.OutDirectory);
        var console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(output) });
        // Progress is not the command's product: it goes to stderr, so stdout (the report) can be piped.
        var progressConsole = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(error) });
        var interactive = hooks.Interactive ?? (ReferenceEquals(error, Console.Error) && !Console.IsErrorRedirected);
        var progress = new RunProgress();
        var t = scenario.Scenario.Topology;
        var s = scenario.Scenario;
        console.MarkupLine($"[bold]siv run[/] {Markup.Escape(s.Name)}: {t.Hosts} host(s), {t.Hosts * t.DevicesPerHost} devices x {s.FunctionsText}, " +
                           $"{t.Containers:N0} containers{s.UnservedNote}, {s.DurationSeconds} s, seed {s.Seed}{Markup.Escape(s.ModeNote)}");
        if (request.Store is { } store) console.MarkupLine($"tables: [bold]{Markup.Escape(store.Display)}[/]{(request.Fresh ? " (fresh)" : "")}");
        // A cluster spreads hosts (times their shards), not containers: say so before a run that leaves workers idle.
        if (request.Cluster is { } c && t.Hosts * c.ShardsPerHost < c.MinWorkers)
            error.WriteLine($"siv: the scenario has {t.Hosts} host(s) x {c.ShardsPerHost} shard(s) for {c.MinWorkers} workers: " +
                            $"{c.MinWorkers - t.Hosts * c.ShardsPerHost} worker(s) will run no host (raise topology.hosts or --shards-per-host to use them all)");
        using var audit = request.AckLog is { } ackPath ? new FileTableAudit(ackPath) : null;
        using var signals = new RunSignals(error, hooks.Interrupt);
        var run = request.Cluster is { } cluster
            ? ClusterRun.RunAsync(scenario, progress, cluster, request.Store ?? TableStore.InMemory, ct, signals.Token)
            : EmulatorRun.RunAsync(scenario, progress, ct, request.Store, request.Fresh, audit, sharding: request.Sharding, interrupt: signals.Token);
        RunOutcome outcome;
        try
        {
            await ShowProgress(progressConsole, interactive, run, progress, scenario);
            outcome = await run;
        }
        catch (SivInputException)
        {
            // Refused before anything ran (a table that cannot be recovered): leave no trace of this run either.
            if (!outExisted && Directory.Exists(outDir) && !Directory.EnumerateFileSystemEntries(outDir).Any()) Directory.Delete(outDir);
            throw;
        }
        if (outcome.Report is null)
        {
            error.WriteLine(outcome.Interrupted ? $"siv: run {outcome.Failure}" : $"siv: run failed: {outcome.Failure}");
            return outcome.Interrupted ? signals.ExitCode : SivCli.InvariantFailed;
        }
        var report = outcome.Report;
        hooks.OnReport?.Invoke(report);
        ReportPrinter.Print(console, report);
        var json = JsonSerializer.Serialize(report, ReportJson);
        var path = Path.Combine(outDir, "report.json");
        if (await TryWriteReport(path, json) is { } problem)
        {
            // The run's figures are not lost because the directory went away or filled up mid-run.
            var fallback = Path.Combine(Path.GetTempPath(), $"siv-report-{DateTime.UtcNow:yyyyMMdd-HHmmss}-{Environment.ProcessId}.json");
            var saved = await TryWriteReport(fallback, json) is null;
            error.WriteLine($"siv: report.json could not be written to {outDir} ({problem}); " +
                            (saved ? $"it was written to {fallback}" : "here it is on stdout"));
            if (!saved) output.WriteLine(json);
            return SivCli.InvariantFailed;
        }
        console.MarkupLine($"report written to [bold]{Markup.Escape(path)}[/]");
        try
        {
            var page = SivActors.Report.ReportFiles.Write(outDir, report);
            console.MarkupLine($"charts and a readable report written to [bold]{Markup.Escape(page)}[/]");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or DllNotFoundException or TypeInitializationException)
        {
            // The figures are safe in report.json; only the drawing failed.
            error.WriteLine($"siv: report.html and its charts could not be written to {outDir} ({e.Message}); the figures are in {path}");
        }
        if (outcome.Interrupted) return signals.ExitCode;
        return report.Invariants.Passed ? SivCli.Ok : SivCli.InvariantFailed;
    }

    /// <summary>Writes the report through a temporary file and a rename; returns why it failed, or null.</summary>
    private static async Task<string?> TryWriteReport(string path, string json)
    {
        var temp = path + ".tmp";
        try
        {
            await File.WriteAllTextAsync(temp, json, CancellationToken.None);
            File.Move(temp, path, overwrite: true);
            return null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            try { File.Delete(temp); } catch (Exception d) when (d is IOException or UnauthorizedAccessException) { }
            return e.Message;
        }
    }

    public static ResolvedScenario Resolve(RunRequest r)
    {
        var loaded = ScenarioLoader.Load(r.Scenario ?? (r.Cluster is null ? ConfigPaths.DefaultScenario : ConfigPaths.ClusterScenario), ConfigPaths.CostModel);
        var s = loaded.Scenario;
        if (r.Duration is { } d) s = s with { DurationSeconds = d };
        if (r.Containers is { } c) s = s with { Topology = s.Topology with { Containers = c } };
        if (r.Seed is { } seed) s = s with { Seed = seed };
        try
        {
            ScenarioLoader.Validate(s);
        }
        catch (SivInputException e) when (r.Duration is not null || r.Containers is not null || r.Seed is not null)
        {
            throw new SivInputException(e.Message.Replace("durationSeconds", "--duration").Replace("topology.containers", "--containers").Replace("seed =", "--seed ="));
        }
        return loaded with { Scenario = s };
    }

    /// <summary>
    /// Refuses an --out that cannot take the report, before anything is written: empty, a file, below a file, or in
    /// a directory that refuses writes (probed by creating and removing a file in the directory, or in its nearest
    /// existing ancestor when it does not exist yet).
    /// </summary>
    internal static void CheckOutDirectory(string dir)
    {
        if (string.IsNullOrWhiteSpace(dir)) throw new SivInputException("--out needs a directory (it was empty)");
        string full;
        try
        {
            full = Path.GetFullPath(dir);
        }
        catch (Exception e) when (e is ArgumentException or NotSupportedException or PathTooLongException)
        {
            throw new SivInputException($"--out {dir} is not a usable path: {e.Message}");
        }
        if (File.Exists(full)) throw new SivInputException($"--out {dir} is a file, not a directory");
        var existing = full;
        while (!Directory.Exists(existing))
        {
            if (File.Exists(existing)) throw new SivInputException($"--out {dir} cannot be created: {existing} is a file");
            existing = Path.GetDirectoryName(existing) ?? throw new SivInputException($"--out {dir} cannot be created: no existing parent directory");
        }
        var probe = Path.Combine(existing, $".siv-write-probe-{Environment.ProcessId}");
        try
        {
            File.WriteAllBytes(probe, []);
            File.Delete(probe);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new SivInputException(existing == full ? $"--out {dir} is not writable: {e.Message}" : $"--out {dir} cannot be created in {existing}: {e.Message}");
        }
    }

    internal static string CreateOutDirectory(string dir)
    {
        try
        {
            Directory.CreateDirectory(dir);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new SivInputException($"--out {dir} cannot be created: {e.Message}");
        }
        return dir;
    }

    private static async Task ShowProgress(IAnsiConsole console, bool interactive, Task run, RunProgress progress, ResolvedScenario scenario)
    {
        var containers = scenario.Scenario.ServedContainers;
        var duration = scenario.Scenario.DurationSeconds;
        string Describe() => progress.Phase switch
        {
            RunPhase.Deploying when progress.EntitiesToDeploy > 0 => $"deploying entities {progress.EntitiesDeployed:N0}/{progress.EntitiesToDeploy:N0}",
            RunPhase.Composing => $"composing vdevs {progress.ContainersReady:N0}/{containers:N0}",
            RunPhase.Running => $"running {Elapsed():0.0}/{duration:0} s, {Rate():N0} ops/s{(LastFault() is { } f ? $", fault {f}" : "")}",
            RunPhase.Draining => $"draining {progress.ContainersDrained:N0}/{containers:N0}",
            RunPhase.Paused => $"paused while shards move ({progress.ContainersDrained:N0}/{containers:N0} drained)",
            RunPhase.Flushing => "flushing upstream writes",
            _ => progress.Phase.ToString().ToLowerInvariant(),
        };
        // The scheduled faults that fired so far, and the latest of them, so the progress line marks each one.
        int FaultsFired() => progress.Faults?.Stats.Count(f => f.FiredTicks != 0) ?? 0;
        string? LastFault() => progress.Faults?.Stats.Where(f => f.FiredTicks != 0).MaxBy(f => f.FiredTicks) is { } f
            ? $"{f.Fault.KindName} {f.Fault.TargetText} at {f.Fault.AtSeconds:0.#} s"
            : null;
        // Never below 0: a cluster's driver can hear a worker's first figure of the window after its start mark.
        double Rate() => progress.CompletedOperations is { } ops && Elapsed() > 0 ? Math.Max(0, ops() - progress.OperationsAtStart) / Elapsed() : 0;
        double Elapsed() => progress.RunStartTicks == 0 ? 0 : (Stopwatch.GetTimestamp() - progress.RunStartTicks) / (double)Stopwatch.Frequency;
        double Percent() => progress.Phase switch
        {
            RunPhase.Starting => 0,
            RunPhase.Deploying => progress.EntitiesToDeploy == 0 ? 0 : 5.0 * progress.EntitiesDeployed / progress.EntitiesToDeploy,
            RunPhase.Composing => 5 + 15.0 * progress.ContainersReady / containers,
            RunPhase.Running or RunPhase.Paused => 20 + 75 * Math.Min(1, Elapsed() / duration),
            RunPhase.Draining => 95 + 4.0 * progress.ContainersDrained / containers,
            _ => 99,
        };

        if (interactive)
        {
            await console.Progress().AutoClear(true).Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn())
                .StartAsync(async p =>
                {
                    var task = p.AddTask("starting", maxValue: 100);
                    while (!run.IsCompleted)
                    {
                        task.Description = Describe();
                        task.Value = Percent();
                        await Task.WhenAny(run, Task.Delay(200));
                    }
                    task.Value = 100;
                });
            return;
        }
        var last = "";
        var lastFired = 0;
        var lastPrint = Stopwatch.StartNew();
        while (!run.IsCompleted)
        {
            await Task.WhenAny(run, Task.Delay(250));
            var phase = progress.Phase.ToString();
            var fired = FaultsFired();
            if (phase != last || fired != lastFired || lastPrint.Elapsed > TimeSpan.FromSeconds(5))
            {
                console.WriteLine($"[{Percent(),3:0}%] {Describe()}");
                last = phase;
                lastFired = fired;
                lastPrint.Restart();
            }
        }
    }
}
