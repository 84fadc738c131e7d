using SivActors.Actors.Run;
using SivActors.Actors.Tests.Cluster;
using SivActors.Actors.Tests.Persistence;
using SivActors.Cli;
using SivActors.Model.Faults;

namespace SivActors.Actors.Tests.Faults;

/// <summary>
/// A scenario's fault timeline in a cluster run: three `siv node` processes and the driver, on 127.0.0.1 with a
/// journal they share (PostgreSQL). The driver fires every fault; faults on named entities reach their entity
/// through sharding, faults the hot path reads are armed on every worker, and what each did comes back with the
/// workers' figures.
/// </summary>
[Trait("Category", "Faults")]
[Collection(TestCluster.Collection)]
public sealed class ClusterFaultTests : IDisposable
{
    private readonly TestCluster _cluster = new();

    public void Dispose() => _cluster.Dispose();

    [Theory]
    [MemberData(nameof(TestStores.Shared), MemberType = typeof(TestStores))]
    public async Task A_scheduled_crash_ends_a_worker_s_process_and_the_run_books_its_in_flight_work_to_the_fault(string kind)
    {
        await using var db = await TestStores.CreateAsync(kind);
        var timeout = TimeSpan.FromSeconds(90);
        await _cluster.StartAsync(3, _ => ["--postgres", db.Store.ConnectionString], timeout);
        var scenario = TestScenarios.Small(s => s with
        {
            Topology = s.Topology with { Hosts = 3, Containers = 24 },
            DurationSeconds = 6,
            Faults =
            [
                new FaultSpec { At = 1, Kind = "kill-actor", Target = "vdcm:1" },
                new FaultSpec { At = 2, Kind = "crash-node", Target = "node:2" },
                // After the crash, so the lost worker's last report holds nothing of it and the ledger is exact.
                new FaultSpec { At = 3.5, Kind = "drop", Hop = "ai-to-interrupt-unit", Probability = 0.05, For = 1 },
            ],
        });
        var settings = new ClusterRunSettings([_cluster.Seed], "127.0.0.1", 0, "127.0.0.1", MinWorkers: 3, JoinTimeout: timeout);

        var outcome = await ClusterRun.RunAsync(scenario, new RunProgress(), settings, db.Store, CancellationToken.None);

        Assert.True(outcome.Failure is null, outcome.Failure + "\n" + _cluster.Nodes[0].Output);
        var r = outcome.Report!;
        Assert.True(r.Invariants.Passed, string.Join("; ", r.Invariants.Violations));
        Assert.Equal(0, r.Ledger.Interrupts.Misdelivered);
        Assert.True(r.Ledger.Interrupts.Balanced && r.Ledger.Descriptors.Balanced && r.Ledger.Dma.Balanced);
        var faults = r.Faults!.ToDictionary(f => f.Kind);
        Assert.Equal(3, faults.Count);
        Assert.All(faults.Values, f => Assert.True(f.Injected && f.DetectedAtS >= f.AtS - 0.05, $"{f.Kind}: {f}"));

        // node:2 is the third worker by address; its process ended by SIGKILL, and the report says it was lost.
        var ordered = _cluster.Ports.Select((p, i) => (Address: $"akka.tcp://siv@127.0.0.1:{p}", Index: i)).OrderBy(x => x.Address, StringComparer.Ordinal).ToList();
        var victim = _cluster.Nodes[ordered[2].Index];
        Assert.Equal(137, await victim.WaitForExit(timeout));
        Assert.Contains("crashing now (scheduled crash-node fault", victim.Output);
        var lost = Assert.Single(r.Nodes!, n => n.Lost);
        Assert.Equal(ordered[2].Address, lost.Node);
        // The drop was armed on the survivors, which counted what it took; every interrupt lost is owed to a fault.
        Assert.True(faults["drop"].Lost > 0, $"{faults["drop"]}");
        Assert.Equal(faults.Values.Sum(f => f.Lost), r.Ledger.Interrupts.Lost);

        foreach (var n in _cluster.Nodes.Where(n => n != victim)) n.Terminate();
        foreach (var n in _cluster.Nodes.Where(n => n != victim)) Assert.Equal(SivCli.Ok, await n.WaitForExit(timeout));
    }

    [Theory]
    [MemberData(nameof(TestStores.Shared), MemberType = typeof(TestStores))]
    public async Task A_partition_shorter_than_the_split_brain_resolver_s_wait_cuts_a_worker_off_and_heals_with_nothing_misdelivered(string kind)
    {
        await using var db = await TestStores.CreateAsync(kind);
        var timeout = TimeSpan.FromSeconds(90);
        await _cluster.StartAsync(3, _ => ["--postgres", db.Store.ConnectionString, "--partitionable"], timeout);
        // Six seconds: long enough for failure detectors to mark the worker unreachable (about 5 s), and healed
        // before the split brain resolver's stable-after (7 s) has passed since, so nobody is downed.
        var scenario = TestScenarios.Small(s => s with
        {
            Topology = s.Topology with { Hosts = 3, Containers = 24 },
            DurationSeconds = 10,
            Faults = [new FaultSpec { At = 1, Kind = "partition", Target = "node:1", For = 6 }],
        });
        var settings = new ClusterRunSettings([_cluster.Seed], "127.0.0.1", 0, "127.0.0.1", MinWorkers: 3, JoinTimeout: timeout);

        var outcome = await ClusterRun.RunAsync(scenario, new RunProgress(), settings, db.Store, CancellationToken.None);

        Assert.True(outcome.Failure is null, outcome.Failure + "\n" + _cluster.Nodes[0].Output);
        var r = outcome.Report!;
        Assert.True(r.Invariants.Passed, string.Join("; ", r.Invariants.Violations));
        Assert.Equal(0, r.Ledger.Interrupts.Misdelivered);
        Assert.True(r.Ledger.Interrupts.Balanced && r.Ledger.Descriptors.Balanced && r.Ledger.Dma.Balanced);
        var f = Assert.Single(r.Faults!);
        // Seen by the cluster: the driver's failure detector marked the worker unreachable while it was cut off.
        Assert.True(f.Injected && f.DetectedAtS >= f.AtS && f.DetectedAtS <= f.AtS + f.ForS + 1, $"{f}");
        // Every link of the worker but its own was cut: two workers and the driver.
        Assert.Equal(3, f.Affected);
        // Healed in time: no worker was lost or downed, and each answered for its final figures.
        Assert.Equal(3, r.Nodes!.Count);
        Assert.All(r.Nodes!, n => Assert.False(n.Lost, $"{n.Node} was lost"));
        // One shard per host keeps each host's hot path on its node: nothing of it crossed the cut.
        Assert.Equal(0, r.Ledger.Interrupts.Lost);
        var cutOff = _cluster.Ports.Select((p, i) => (Address: $"akka.trttl.tcp://siv@127.0.0.1:{p}", Index: i)).OrderBy(x => x.Address, StringComparer.Ordinal).ToList()[1];
        Assert.Contains("member reachable again", _cluster.Nodes[cutOff.Index].Output);

        foreach (var n in _cluster.Nodes) n.Terminate();
        foreach (var n in _cluster.Nodes) Assert.Equal(SivCli.Ok, await n.WaitForExit(timeout));
    }
}
