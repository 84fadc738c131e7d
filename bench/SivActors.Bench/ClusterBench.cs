using System.Globalization;
using SivActors.Actors.Persistence;
using SivActors.Actors.Run;
using SivActors.Cli;
using SivActors.Model.Reporting;
using SivActors.Model.Scenarios;

namespace SivActors.Bench;

public sealed record ClusterBenchSettings(int Rounds, double Seconds, int Containers, int Hosts)
{
    public string? Validate() =>
        Rounds < 1 ? "--rounds must be at least 1"
        : Seconds is < 1 or > 600 ? "--seconds must be within 1..600"
        : Containers is < 1 or > 100_000 ? "--containers must be within 1..100000"
        : Hosts is < 1 or > 64 ? "--hosts must be within 1..64"
        : null;
}

/// <summary>
/// Cluster efficiency: the default scenario with several hosts run, in one benchmark, on one node (`siv run`'s code
/// in this process), on a 1-worker cluster and on a 3-worker cluster (`siv node` processes on 127.0.0.1, driven
/// from this process as `siv run --cluster` drives them). Every store is SQLite, one file per node. Rounds alternate
/// the three after a warm-up round of each; efficiency is a cluster's ops/s over the single node's in the same
/// round, and the figure is the median of the rounds. Every side is measured warm: the worker processes live for
/// the whole benchmark and the single node runs in this process, so JIT tiering after a fresh start (which costs a
/// fresh `siv run` process a third to a half of a 10 s run's rate here) weighs on none of them.
/// </summary>
public static class ClusterBench
{
    public static async Task<int> RunAsync(ClusterBenchSettings s, TextWriter output, CancellationToken ct)
    {
        var dir = Directory.CreateTempSubdirectory("siv-cluster-bench").FullName;
        SivNodeProcesses? one = null, three = null;
        try
        {
            var scenario = Scenario(s);
            one = await SivNodeProcesses.StartAsync(dir, "one", 1, shardsPerHost: 1, ct);
            three = await SivNodeProcesses.StartAsync(dir, "three", 3, shardsPerHost: 1, ct);
            output.WriteLine($"cluster: default scenario with {s.Hosts} hosts, {s.Containers:N0} containers, {s.Seconds:0.#} s per run; one node, " +
                             $"1 worker + driver, 3 workers + driver on 127.0.0.1 (SQLite per node); {s.Rounds} rounds after a warm-up; " +
                             $"{Environment.ProcessorCount} cores, .NET {Environment.Version}");
            var single = TableStore.Sqlite(Path.Combine(dir, "single.db"));
            var (e1, e3, shares) = (new List<double>(), new List<double>(), new List<string>());
            for (var round = 0; round <= s.Rounds; round++)
            {
                var solo = await EmulatorRun.RunAsync(scenario, new RunProgress(), ct, single);
                var ops = Checked(solo, "single node").Throughput.OpsPerSecond;
                var c1 = Checked(await Cluster(scenario, one, 1, ct), "1-worker cluster");
                var c3 = Checked(await Cluster(scenario, three, 3, ct), "3-worker cluster");
                var share = string.Join("/", c3.Nodes!.Select(n => (100.0 * n.Operations / Math.Max(1, c3.Nodes!.Sum(x => x.Operations))).ToString("0", CultureInfo.InvariantCulture)));
                output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"  round {(round == 0 ? "warm-up" : round.ToString(CultureInfo.InvariantCulture))}: single {ops:N0} ops/s; " +
                    $"1 worker {c1.Throughput.OpsPerSecond:N0} ops/s ({c1.Throughput.OpsPerSecond / ops:0.000}, {100 * c1.CrossNodeHopShare:0.0}% hops cross-node); " +
                    $"3 workers {c3.Throughput.OpsPerSecond:N0} ops/s ({c3.Throughput.OpsPerSecond / ops:0.000}, {100 * c3.CrossNodeHopShare:0.0}% cross-node, shares {share}%)"));
                if (round == 0) continue;
                e1.Add(c1.Throughput.OpsPerSecond / ops);
                e3.Add(c3.Throughput.OpsPerSecond / ops);
                shares.Add(share);
            }
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"cluster efficiency1={FastPathBench.Median(e1):0.000} efficiency3={FastPathBench.Median(e3):0.000} shares3={shares[^1]}"));
            return 0;
        }
        catch (BenchFailed e)
        {
            Console.Error.WriteLine($"bench: {e.Message}");
            return 1;
        }
        finally
        {
            one?.Dispose();
            three?.Dispose();
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            Directory.Delete(dir, recursive: true);
        }
    }

    private static Task<RunOutcome> Cluster(ResolvedScenario scenario, SivNodeProcesses nodes, int workers, CancellationToken ct) =>
        ClusterRun.RunAsync(scenario, new RunProgress(),
            new ClusterRunSettings([nodes.Seed], "127.0.0.1", 0, "127.0.0.1", MinWorkers: workers, JoinTimeout: TimeSpan.FromSeconds(60)),
            TableStore.InMemory, ct);

    /// <summary>A figure from a run that failed or broke an invariant would be meaningless.</summary>
    private static RunReport Checked(RunOutcome outcome, string what) =>
        outcome.Report is not { } report ? throw new BenchFailed($"the {what} run failed: {outcome.Failure}")
        : !report.Invariants.Passed ? throw new BenchFailed($"the {what} run broke an invariant: {string.Join("; ", report.Invariants.Violations)}")
        : report;

    private static ResolvedScenario Scenario(ClusterBenchSettings s)
    {
        var loaded = ScenarioLoader.Load(ConfigPaths.DefaultScenario, ConfigPaths.CostModel);
        var scenario = loaded.Scenario with
        {
            Name = "bench-cluster",
            DurationSeconds = s.Seconds,
            Topology = loaded.Scenario.Topology with { Hosts = s.Hosts, Containers = s.Containers },
        };
        ScenarioLoader.Validate(scenario);
        return loaded with { Scenario = scenario, Source = "bench cluster" };
    }

    private sealed class BenchFailed(string message) : Exception(message);
}
