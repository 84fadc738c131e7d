using Akka.Actor;
using SivActors.Actors.Entities;
using SivActors.Actors.Persistence;
using SivActors.Actors.Run;
using SivActors.Actors.Tests.Persistence;
using SivActors.Actors.Wire;
using SivActors.Cli;
using SivActors.Model.Identity;
using SivActors.Model.Tables;
using Iu = SivActors.Actors.InterruptUnit.InterruptUnitProtocol;

namespace SivActors.Actors.Tests.Cluster;

/// <summary>
/// A worker is killed with SIGKILL mid-load: its shards move to the survivors, the table owners there recover the
/// same tables from the shared journal, the run completes, and the ledger balances with what the lost node had in
/// flight booked as lost, never misdelivered. Needs a journal every node shares: PostgreSQL.
/// </summary>
[Collection(TestCluster.Collection)]
public sealed class NodeKillTests : IDisposable
{
    private readonly TestCluster _cluster = new();

    public void Dispose() => _cluster.Dispose();

    [Theory]
    [MemberData(nameof(TestStores.Shared), MemberType = typeof(TestStores))]
    public async Task A_worker_killed_mid_load_loses_nothing_silently_and_its_tables_recover_on_the_survivors(string kind)
    {
        await using var db = await TestStores.CreateAsync(kind);
        var timeout = TimeSpan.FromSeconds(90);
        await _cluster.StartAsync(3, _ => ["--postgres", db.Store.ConnectionString], timeout);
        var (ports, seed, nodes) = (_cluster.Ports, _cluster.Seed, _cluster.Nodes);

        var scenario = TestScenarios.Small(s => s with { Topology = s.Topology with { Hosts = 3, Containers = 24 }, DurationSeconds = 6 });
        var victim = nodes[2];
        Dictionary<int, (SortedDictionary<string, string> Live, SortedDictionary<string, string> Journal)> digests = new();
        var settings = new ClusterRunSettings([seed], "127.0.0.1", 0, "127.0.0.1", MinWorkers: 3, JoinTimeout: timeout)
        {
            // Two seconds into the load, SIGKILL: no leave, no hand-off.
            OnWindowStart = () => _ = Task.Delay(TimeSpan.FromSeconds(2)).ContinueWith(_ => victim.Dispose(), TaskScheduler.Default),
            BeforeLeave = async (system, directory) =>
            {
                var topology = TopologyRecorded.Of(scenario.Scenario);
                for (var h = 0; h < 3; h++)
                {
                    var live = await directory.Parent(EntityKind.InterruptUnit).Ask<Iu.Tables>(new Iu.GetTables(new HostId(h)), TimeSpan.FromSeconds(60));
                    var journal = await TableInspector.ReadHostAsync(system, topology, h, fromEvents: true, TimeSpan.FromSeconds(60));
                    digests[h] = (TableCodec.Digests(TableCodec.DecodeSnapshot(live.Snapshot)), TableCodec.Digests(journal.InterruptUnit));
                }
            },
        };
        var outcome = await ClusterRun.RunAsync(scenario, new RunProgress(), settings, db.Store, CancellationToken.None);

        Assert.True(outcome.Failure is null, outcome.Failure + "\n" + nodes[0].Output);
        var r = outcome.Report!;
        Assert.True(r.Invariants.Passed, string.Join("; ", r.Invariants.Violations));
        Assert.Equal(0, r.Ledger.Interrupts.Misdelivered);
        Assert.True(r.Ledger.Interrupts.Balanced && r.Ledger.Descriptors.Balanced && r.Ledger.Dma.Balanced);
        var lost = Assert.Single(r.Nodes!, n => n.Lost);
        Assert.EndsWith($":{ports[2]}", lost.Node);
        Assert.True(lost.Operations > 0, "the victim had done work before it was killed");
        // Every host's interrupt tables, the victim's included, are served again (by a survivor) and equal the journal.
        Assert.Equal(3, digests.Count);
        Assert.All(digests.Values, d => Assert.Equal(d.Journal, d.Live));

        foreach (var n in nodes.Take(2)) n.Terminate();
        foreach (var n in nodes.Take(2)) Assert.Equal(SivCli.Ok, await n.WaitForExit(timeout));
        Assert.All(ports, p => Assert.True(ChildProcess.PortIsFree(p), $"port {p} still in use"));
    }
}
