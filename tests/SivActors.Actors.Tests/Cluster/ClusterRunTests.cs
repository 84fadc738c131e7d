using SivActors.Actors.Run;
using SivActors.Cli;
using SivActors.Model.Scenarios;

namespace SivActors.Actors.Tests.Cluster;

/// <summary>A scenario driven over three `siv node` worker processes on 127.0.0.1, reported as one run.</summary>
[Collection(TestCluster.Collection)]
public sealed class ClusterRunTests : IDisposable
{
    private readonly TestCluster _cluster = new();

    public void Dispose() => _cluster.Dispose();

    /// <summary>PostgreSQL shared by every node when available (as in a real cluster), else a SQLite file per node.</summary>
    [Theory]
    [MemberData(nameof(Persistence.TestStores.Kinds), MemberType = typeof(Persistence.TestStores))]
    public async Task Three_workers_run_a_scenario_with_a_balanced_ledger_and_per_node_figures(string kind)
    {
        await using var db = await Persistence.TestStores.CreateAsync(kind);
        var timeout = TimeSpan.FromSeconds(90);
        await _cluster.StartAsync(3, i => kind == "postgres" ? ["--postgres", db.Store.ConnectionString] : ["--db", Path.Combine(_cluster.Dir, $"w{i}.db")], timeout);
        var (ports, seed, nodes) = (_cluster.Ports, _cluster.Seed, _cluster.Nodes);

        var scenario = TestScenarios.Small(s => s with { Topology = s.Topology with { Hosts = 3, Containers = 24 }, DurationSeconds = 2 });
        var outcome = await ClusterRun.RunAsync(scenario, new RunProgress(),
            new ClusterRunSettings([seed], "127.0.0.1", 0, "127.0.0.1", MinWorkers: 3, JoinTimeout: timeout),
            kind == "postgres" ? db.Store : Actors.Persistence.TableStore.Sqlite(Path.Combine(_cluster.Dir, "driver.db")), CancellationToken.None);
        Assert.Null(outcome.Failure);
        var r = outcome.Report!;
        Assert.True(r.Invariants.Passed, string.Join("; ", r.Invariants.Violations));
        Assert.Equal(0, r.Ledger.Interrupts.Misdelivered);
        Assert.Equal(0, r.Ledger.Interrupts.Lost);
        Assert.True(r.Ledger.Descriptors.Balanced);
        Assert.True(r.Throughput.Operations > 0);
        Assert.Equal(3, r.Nodes!.Count);
        // The rate counts what the workers did within the driver's window; each worker's own count runs until the
        // stop mark reached it, so it may hold a little more, never less.
        Assert.InRange(r.Throughput.Operations, 1, r.Nodes.Sum(n => n.Operations));
        Assert.Equal(r.Throughput.Operations, r.Timeline!.Sum(t => t.Operations), (double)r.Timeline!.Count);
        Assert.Contains(r.Nodes, n => n.DurableChanges > 0);
        // Three hosts on three workers: each node runs one host's whole hot path, so almost nothing crosses nodes
        // (only the driver's control messages and the answers to them).
        Assert.All(r.Nodes, n => Assert.True(n.Operations > 0 && n.Interrupts > 0, $"{n.Node} ran no host: {n}"));
        Assert.True(r.CrossNodeHopShare < 0.05, $"{r.CrossNodeHopShare:P2} of hops crossed nodes");

        foreach (var n in nodes) n.Terminate();
        foreach (var n in nodes) Assert.Equal(SivCli.Ok, await n.WaitForExit(timeout));
        Assert.All(ports, p => Assert.True(ChildProcess.PortIsFree(p), $"port {p} still in use"));
    }

    [Fact]
    public async Task An_interrupted_cluster_driver_ends_the_window_drains_and_reports_and_its_workers_keep_running()
    {
        var timeout = TimeSpan.FromSeconds(90);
        await _cluster.StartAsync(2, i => ["--db", Path.Combine(_cluster.Dir, $"w{i}.db")], timeout);
        using var interrupt = new CancellationTokenSource();
        // A long run, ended by the "signal" as soon as its window opens.
        var scenario = TestScenarios.Small(s => s with { DurationSeconds = 120 });
        var outcome = await ClusterRun.RunAsync(scenario, new RunProgress(),
            new ClusterRunSettings([_cluster.Seed], "127.0.0.1", 0, "127.0.0.1", MinWorkers: 2, JoinTimeout: timeout) { OnWindowStart = interrupt.Cancel },
            Actors.Persistence.TableStore.Sqlite(Path.Combine(_cluster.Dir, "driver.db")), CancellationToken.None, interrupt.Token);
        Assert.Null(outcome.Failure);
        Assert.True(outcome.Interrupted);
        var r = outcome.Report!;
        Assert.True(r.Interrupted);
        Assert.True(r.Throughput.WallSeconds < 60, $"the window lasted {r.Throughput.WallSeconds} s");
        Assert.True(r.Invariants.Passed, string.Join("; ", r.Invariants.Violations));
        Assert.True(r.Ledger.Descriptors.Balanced && r.Ledger.Interrupts.Balanced);
        Assert.Equal(0, r.Ledger.Descriptors.InFlight);

        // The workers are still members: a second run on them works.
        var again = await ClusterRun.RunAsync(TestScenarios.Small(s => s with { DurationSeconds = 1 }), new RunProgress(),
            new ClusterRunSettings([_cluster.Seed], "127.0.0.1", 0, "127.0.0.1", MinWorkers: 2, JoinTimeout: timeout),
            Actors.Persistence.TableStore.Sqlite(Path.Combine(_cluster.Dir, "driver.db")), CancellationToken.None);
        Assert.Null(again.Failure);
        Assert.False(again.Interrupted);
    }

    [Fact]
    public async Task A_cluster_driver_interrupted_before_it_joins_says_where_it_was_and_blames_nothing()
    {
        using var interrupt = new CancellationTokenSource();
        interrupt.Cancel();
        var outcome = await ClusterRun.RunAsync(TestScenarios.Small(), new RunProgress(),
            new ClusterRunSettings(["127.0.0.1:" + ChildProcess.FreePort()], "127.0.0.1", 0, "127.0.0.1", MinWorkers: 1, JoinTimeout: TimeSpan.FromSeconds(30)),
            Actors.Persistence.TableStore.InMemory, CancellationToken.None, interrupt.Token);
        Assert.True(outcome.Interrupted);
        Assert.Null(outcome.Report);
        Assert.StartsWith("interrupted while ", outcome.Failure);
        Assert.Contains("before the measured window opened", outcome.Failure);
    }

    [Fact]
    public async Task A_worker_whose_stored_table_is_undecodable_stops_the_run_at_once_naming_the_node_and_the_table()
    {
        var timeout = TimeSpan.FromSeconds(90);
        // A store written by a single-node run of the same scenario, then its interrupt unit's newest event made undecodable.
        var scenario = TestScenarios.Small(s => s with { DurationSeconds = 1 });
        var stores = Enumerable.Range(0, 2).Select(i => Path.Combine(_cluster.Dir, $"w{i}.db")).ToArray();
        var made = await EmulatorRun.RunAsync(scenario, new RunProgress(), store: Actors.Persistence.TableStore.Sqlite(stores[0]));
        Assert.Null(made.Failure);
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        using (var c = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={stores[0]};Pooling=false"))
        {
            c.Open();
            using var u = c.CreateCommand();
            u.CommandText = "DELETE FROM snapshot; UPDATE journal SET message = x'D101020304' WHERE persistence_id = 'interrupt-unit-h0' AND sequence_number = " +
                            "(SELECT max(sequence_number) FROM journal WHERE persistence_id = 'interrupt-unit-h0')";
            Assert.True(u.ExecuteNonQuery() >= 1);
        }
        // Both workers get a copy: whichever of them hosts the interrupt unit reads the bad event.
        File.Copy(stores[0], stores[1]);
        await _cluster.StartAsync(2, i => ["--db", stores[i]], timeout);

        var started = System.Diagnostics.Stopwatch.StartNew();
        var refused = await Assert.ThrowsAsync<SivActors.Model.SivInputException>(() => ClusterRun.RunAsync(scenario, new RunProgress(),
            new ClusterRunSettings([_cluster.Seed], "127.0.0.1", 0, "127.0.0.1", MinWorkers: 2, JoinTimeout: timeout),
            Actors.Persistence.TableStore.Sqlite(Path.Combine(_cluster.Dir, "driver.db")), CancellationToken.None));
        Assert.Contains("table interrupt-unit-h0 cannot be recovered", refused.Message);
        Assert.Contains("format version 209", refused.Message);
        Assert.Contains("akka.tcp://siv@127.0.0.1:", refused.Message); // the node whose store it is
        Assert.DoesNotContain('\n', refused.Message);
        Assert.True(started.Elapsed < TimeSpan.FromSeconds(60), $"took {started.Elapsed.TotalSeconds:0} s");
    }
}
