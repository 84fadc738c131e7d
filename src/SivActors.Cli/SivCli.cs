using System.CommandLine;
using SivActors.Actors.Persistence;
using SivActors.Model.Scenarios;
using SivActors.Model;

namespace SivActors.Cli;

/// <summary>
/// The `siv` command line. Exit codes: 0 success, 1 the run finished but an invariant failed (or the run itself
/// failed), 2 bad input: one line naming the problem, nothing written.
/// </summary>
public static class SivCli
{
    public const int Ok = 0;
    public const int InvariantFailed = 1;
    public const int BadInput = 2;

    /// <summary>Ended by a signal, as shells report it: 128 + the signal's number (SIGINT 130, SIGTERM 143).</summary>
    public const int InterruptedBySigint = 130, InterruptedBySigterm = 143;

    public static async Task<int> InvokeAsync(string[] args, TextWriter output, TextWriter error, RunOptions? hooks = null)
    {
        var root = Build(output, error, hooks ?? new RunOptions());
        var parsed = root.Parse(args);
        if (parsed.Errors.Count > 0)
        {
            error.WriteLine($"siv: {ParseErrors.Describe(parsed)}");
            return BadInput;
        }
        try
        {
            return await parsed.InvokeAsync(new InvocationConfiguration
            {
                Output = output,
                Error = error,
                EnableDefaultExceptionHandler = false,
                // siv node and siv run handle SIGTERM and SIGINT themselves and take longer than System.CommandLine's
                // grace period: a node leaves after its driver paused the load, a run drains and writes its report.
                ProcessTerminationTimeout = parsed.CommandResult.Command.Name is "node" or "run" ? null : TimeSpan.FromSeconds(2),
            });
        }
        catch (SivInputException e)
        {
            error.WriteLine($"siv: {e.Message}");
            return BadInput;
        }
    }

    private static RootCommand Build(TextWriter output, TextWriter error, RunOptions hooks)
    {
        var root = new RootCommand("SivActors: a distributed, actor-based emulator of Scalable I/O Virtualization");

        var scenario = new Option<string?>("--scenario") { Description = "Scenario file (JSON with // comments). Default: config/scenarios/default.json" };
        var duration = new Option<double?>("--duration") { Description = "Override durationSeconds" };
        var containers = new Option<int?>("--containers") { Description = "Override topology.containers" };
        var seed = new Option<int?>("--seed") { Description = "Override seed" };
        var outDir = new Option<string>("--out") { Description = "Directory for report.json", DefaultValueFactory = _ => "out" };
        var db = DbOption();
        var postgres = PostgresOption();
        var fresh = new Option<bool>("--fresh") { Description = "Discard the tables stored in the database before running" };
        var ackLog = new Option<string?>("--ack-log") { Description = "Append one line per durable table change (persistence id, sequence number, SHA-256 of the event) to FILE", Hidden = true };
        var clusterSeeds = new Option<string?>("--cluster") { Description = "Run over a cluster of `siv node` workers: their seed nodes, host:port[,host:port]" };
        var workers = new Option<int>("--workers") { Description = "With --cluster: worker nodes to wait for", DefaultValueFactory = _ => 1 };
        var driverHost = new Option<string>("--host") { Description = "With --cluster: host name or address the workers reach this driver at", DefaultValueFactory = _ => Env("SIV_HOST") ?? "127.0.0.1" };
        var driverPort = new Option<int>("--port") { Description = "With --cluster: this driver's port (0: any free port)", DefaultValueFactory = _ => 0 };
        var runSpread = SpreadOption();
        var sharded = new Option<bool>("--sharded") { Description = "Run the entities in Cluster.Sharding regions of a one-node cluster on 127.0.0.1", Hidden = true };
        var run = new Command("run", "Run a scenario on one node and print the report; tables persist in the database and the next run resumes them")
            { scenario, duration, containers, seed, outDir, db, postgres, fresh, ackLog, sharded, clusterSeeds, workers, driverHost, driverPort, runSpread };
        run.SetAction((p, ct) => RunCommand.ExecuteAsync(
            new RunRequest(p.GetValue(scenario), p.GetValue(duration), p.GetValue(containers), p.GetValue(seed), p.GetValue(outDir)!)
            {
                Store = TableStore.Resolve(p.GetValue(db), p.GetValue(postgres)),
                Fresh = p.GetValue(fresh),
                AckLog = p.GetValue(ackLog),
                Sharding = p.GetValue(sharded) ? new SivActors.Actors.Hosting.ShardingSettings() : null,
                Cluster = p.GetValue(clusterSeeds) is { } cs
                    ? new ClusterRunSettings(cs.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries), p.GetValue(driverHost)!,
                        p.GetValue(driverPort), System.Net.IPAddress.TryParse(p.GetValue(driverHost), out _) ? p.GetValue(driverHost)! : "0.0.0.0",
                        p.GetValue(workers), TimeSpan.FromSeconds(60)) { ShardsPerHost = p.GetValue(runSpread) }
                    : null,
            },
            output, error, hooks, ct));
        root.Add(run);

        var compareScenario = new Option<string?>("--scenario") { Description = "Scenario file. Default: config/scenarios/compare.json" };
        var compareDuration = new Option<double?>("--duration") { Description = "Override durationSeconds (each mode runs this long)" };
        var modes = new Option<string>("--modes") { Description = "Modes to run, comma separated, the first the baseline", DefaultValueFactory = _ => CompareCommand.DefaultModes };
        var compareOut = new Option<string>("--out") { Description = "Directory for compare.json, compare.html and compare.png", DefaultValueFactory = _ => "out" };
        var compare = new Command("compare", "Run one scenario in each mode (siov, sriov, emulated) on this node and set the results side by side")
            { compareScenario, compareDuration, modes, compareOut };
        compare.SetAction((p, ct) => CompareCommand.ExecuteAsync(p.GetValue(compareScenario), p.GetValue(compareDuration), p.GetValue(modes)!, p.GetValue(compareOut)!,
            output, error, ct));
        root.Add(compare);
        root.Add(TablesCommand.Build(output, DbOption, PostgresOption));

        var nodeHost = new Option<string>("--host") { Description = "Host name or address other nodes reach this node at ($SIV_HOST)", DefaultValueFactory = _ => Env("SIV_HOST") ?? "127.0.0.1" };
        var nodePort = new Option<int>("--port") { Description = "Port of this node ($SIV_PORT)", DefaultValueFactory = _ => int.TryParse(Env("SIV_PORT"), out var p) ? p : 4053 };
        var nodeBind = new Option<string?>("--bind") { Description = "Address to listen on ($SIV_BIND; default: the --host address, 0.0.0.0 for a name)" };
        var nodeSeeds = new Option<string?>("--seeds") { Description = "Seed nodes, host:port[,host:port] ($SIV_SEEDS); this node's own address starts a new cluster" };
        var nodeRoles = new Option<string>("--roles") { Description = "Cluster roles, comma separated ($SIV_ROLES)", DefaultValueFactory = _ => Env("SIV_ROLES") ?? "worker" };
        var joinTimeout = new Option<double>("--join-timeout") { Description = "Seconds to wait to be Up before giving up", DefaultValueFactory = _ => 30 };
        var nodeDb = DbOption();
        var nodePostgres = PostgresOption();
        var readyFile = new Option<string?>("--ready-file") { Description = "Write this file once the node is Up and remove it when it leaves (for healthchecks)" };
        var nodeSpread = SpreadOption();
        var partitionable = new Option<bool>("--partitionable")
        {
            Description = "Apply Akka.Remote's throttler so a scenario's partition faults can cut this node's links; every worker of such a run needs it (costs some cross-node throughput; $SIV_PARTITIONABLE=1)",
            DefaultValueFactory = r => EnvFlag(r, "SIV_PARTITIONABLE"),
        };
        var restartable = new Option<bool>(NodeKeeper.Option)
        {
            Description = "Run the node under a keeper process that starts it again when a scenario's restart-node brings it back after a crash-node ($SIV_RESTARTABLE=1)",
            DefaultValueFactory = r => EnvFlag(r, "SIV_RESTARTABLE"),
        };
        var node = new Command("node", "Start a cluster member; SIGTERM or Ctrl-C leaves the cluster gracefully")
            { nodeHost, nodePort, nodeBind, nodeSeeds, nodeRoles, joinTimeout, nodeDb, nodePostgres, readyFile, nodeSpread, partitionable, restartable };
        node.SetAction((p, ct) =>
        {
            // The process the user started keeps the node; the node is its child (decision 55).
            if (p.GetValue(restartable) && NodeKeeper.NotePath is null) return NodeKeeper.RunAsync(output, error, ct);
            var hostName = p.GetValue(nodeHost)!;
            var bind = p.GetValue(nodeBind) ?? Env("SIV_BIND") ?? (System.Net.IPAddress.TryParse(hostName, out _) ? hostName : "0.0.0.0");
            var seeds = (p.GetValue(nodeSeeds) ?? Env("SIV_SEEDS") ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            var settings = new NodeSettings(hostName, p.GetValue(nodePort), bind, seeds,
                p.GetValue(nodeRoles)!.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries),
                TableStore.Resolve(p.GetValue(nodeDb), p.GetValue(nodePostgres)), TimeSpan.FromSeconds(p.GetValue(joinTimeout)))
            {
                ReadyFile = p.GetValue(readyFile),
                ShardsPerHost = p.GetValue(nodeSpread),
                Partitionable = p.GetValue(partitionable),
            };
            return NodeCommand.RunAsync(settings, output, error, ct);
        });
        root.Add(node);

        var file = new Argument<string>("FILE") { Description = "Scenario file" };
        var validate = new Command("validate", "Check a scenario file without running it") { file };
        validate.SetAction(p =>
        {
            var resolved = ScenarioLoader.Load(p.GetValue(file)!, ConfigPaths.CostModel);
            var s = resolved.Scenario;
            var t = s.Topology;
            output.WriteLine($"{p.GetValue(file)}: valid ({s.Name}: {t.Hosts} host(s), {t.DevicesPerHost}x{s.FunctionsText}, " +
                             $"{t.Containers} containers{s.UnservedNote}, {s.DurationSeconds} s{s.ModeNote})");
            return Ok;
        });
        root.Add(validate);

        // `siv explain` takes the same documents (docs/explain.md); `siv irq explain` stays for existing scripts.
        root.Add(new Command("irq", "Interrupt remapping tools")
        {
            ExplainCommand("Print the decision trail for one interrupt message, as JSON",
                "JSON document: ASID table, interrupt tables, remapping settings, one upstream message", output),
        });
        root.Add(ExplainCommand("Print the decision trail for one upstream write (interrupt or DMA), as JSON",
            "JSON document: tables, remapping settings, an optional posted-interrupt descriptor, one upstream write", output));

        var calibrationScenario = new Option<string?>("--scenario") { Description = "Calibration scenario (default: config/scenarios/calibration/interrupt-delivery.json)" };
        var calibrationDuration = new Option<double?>("--duration") { Description = "Override durationSeconds" };
        var calibrate = new Command("calibrate", "Run the calibration scenario and compare the modeled figures with published measurements")
            { calibrationScenario, calibrationDuration };
        calibrate.SetAction((p, ct) => CalibrateCommand.ExecuteAsync(p.GetValue(calibrationScenario), p.GetValue(calibrationDuration), output, error, ct));
        root.Add(calibrate);
        return root;
    }

    private static Command ExplainCommand(string description, string fileDescription, TextWriter output)
    {
        var file = new Argument<string>("FILE") { Description = fileDescription };
        var explain = new Command("explain", description) { file };
        explain.SetAction(p =>
        {
            output.WriteLine(IrqExplain.Explain(ScenarioLoader.ReadFile(p.GetValue(file)!, "explain document"), p.GetValue(file)!));
            return Ok;
        });
        return explain;
    }

    private static Option<int> SpreadOption() => new("--shards-per-host")
    {
        Description = "Spread each emulated host over this many shards (and so nodes); 1 keeps a host's hot path on one node",
        DefaultValueFactory = _ => 1,
    };

    private static string? Env(string name) => Environment.GetEnvironmentVariable(name) is { Length: > 0 } v ? v : null;

    /// <summary>A yes/no switch from the environment: unset, 0, 1, false or true; anything else is a parse error, named.</summary>
    private static bool EnvFlag(System.CommandLine.Parsing.ArgumentResult result, string name)
    {
        switch (Env(name)?.ToLowerInvariant())
        {
            case null or "0" or "false":
                return false;
            case "1" or "true":
                return true;
            case var v:
                result.AddError($"${name} is \"{v}\"; use 1 or true to turn it on, 0 or false (or unset) to leave it off");
                return false;
        }
    }

    private static Option<string?> DbOption() => new("--db")
    {
        Description = $"SQLite database file for the tables (default: ${TableStore.DbEnvironmentVariable} or {TableStore.DefaultSqlitePath})",
    };

    private static Option<string?> PostgresOption() => new("--postgres")
    {
        Description = $"PostgreSQL connection string instead of SQLite (default: ${TableStore.PostgresEnvironmentVariable})",
    };
}

public sealed record RunRequest(string? Scenario, double? Duration, int? Containers, int? Seed, string OutDirectory)
{
    /// <summary>Where the tables persist; null keeps them in memory (tests that need no durability).</summary>
    public TableStore? Store { get; init; }
    public bool Fresh { get; init; }
    public string? AckLog { get; init; }
    public SivActors.Actors.Hosting.ShardingSettings? Sharding { get; init; }
    public ClusterRunSettings? Cluster { get; init; }
}

/// <summary>Knobs for tests and benchmarks that drive the CLI in-process.</summary>
public sealed record RunOptions
{
    public bool? Interactive { get; init; }
    public Action<SivActors.Model.Reporting.RunReport>? OnReport { get; init; }

    /// <summary>Stands in for Ctrl-C in tests that run the CLI in-process: no signal handler is installed then.</summary>
    public CancellationToken? Interrupt { get; init; }
}
