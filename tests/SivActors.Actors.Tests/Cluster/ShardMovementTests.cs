using Akka.Actor;
using SivActors.Actors.Entities;
using SivActors.Actors.Hosting;
using SivActors.Actors.Run;
using SivActors.Actors.Tests.Persistence;
using SivActors.Cli;
using SivActors.Model.Identity;
using SivActors.Model.Reporting;
using C = SivActors.Actors.Container.ContainerProtocol;

namespace SivActors.Actors.Tests.Cluster;

/// <summary>
/// Shards move while the load runs and direct references are in use: a worker leaves gracefully (SIGTERM, its
/// shards hand off to the others), or a worker joins and takes its hosts (rebalance). No node is lost, so the ledger
/// must balance exactly, with nothing lost and nothing misdelivered. Needs a journal every node shares: PostgreSQL.
/// </summary>
[Collection(TestCluster.Collection)]
public sealed class ShardMovementTests : IDisposable
{
    private readonly TestCluster _cluster = new();
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(90);

    public void Dispose() => _cluster.Dispose();

    private static SivActors.Model.Scenarios.ResolvedScenario Scenario() =>
        TestScenarios.Small(s => s with { Topology = s.Topology with { Hosts = 3, Containers = 24 }, DurationSeconds = 8 });

    private static void AssertExact(RunReport r)
    {
        Assert.True(r.Invariants.Passed, string.Join("; ", r.Invariants.Violations));
        Assert.True(r.Ledger.Interrupts.Balanced && r.Ledger.Descriptors.Balanced && r.Ledger.Dma.Balanced);
        var ledger = System.Text.Json.JsonSerializer.Serialize(r.Ledger);
        Assert.True(r.Ledger.Interrupts.Misdelivered == 0, "misdelivered: " + ledger);
        Assert.True(r.Ledger.Interrupts.Lost == 0, "interrupts lost: " + ledger);
        Assert.True(r.Ledger.Dma.Lost == 0, "DMA lost: " + ledger);
        Assert.DoesNotContain(r.Nodes!, n => n.Lost);
    }

    [Theory]
    [MemberData(nameof(TestStores.Shared), MemberType = typeof(TestStores))]
    public async Task A_worker_that_leaves_gracefully_mid_load_hands_its_shards_off_and_nothing_is_lost(string kind)
    {
        await using var db = await TestStores.CreateAsync(kind);
        await _cluster.StartAsync(3, _ => ["--postgres", db.Store.ConnectionString], Timeout);
        var leaver = _cluster.Nodes[2];
        var scenario = Scenario();
        var containers = new List<C.State>();
        var settings = new ClusterRunSettings([_cluster.Seed], "127.0.0.1", 0, "127.0.0.1", MinWorkers: 3, JoinTimeout: Timeout)
        {
            OnWindowStart = () => _ = Task.Delay(TimeSpan.FromSeconds(2)).ContinueWith(_ => leaver.Terminate(), TaskScheduler.Default),
            BeforeLeave = (_, directory) => ReadContainers(scenario, directory, containers),
        };
        var outcome = await ClusterRun.RunAsync(scenario, new RunProgress(), settings, db.Store, CancellationToken.None);

        Assert.True(outcome.Failure is null, outcome.Failure + "\n" + _cluster.Nodes[0].Output);
        Assert.Equal(SivCli.Ok, await leaver.WaitForExit(Timeout));
        Assert.Contains("the run's driver paused the load and recorded this node's figures", leaver.Output);
        var report = outcome.Report!;
        AssertExact(report);
        // The leaver's figures are its final ones, and the load paused while its shards moved.
        Assert.Single(report.Nodes!, n => n.Left && n.Operations > 0);
        Assert.Contains(report.Moves!, m => m.Contains(" left; load paused and resumed after ", StringComparison.Ordinal));
        Assert.True(report.Throughput.PausedSeconds > 0, "no pause recorded");
        Assert.True(report.Throughput.PausedSeconds < report.Throughput.WallSeconds, $"paused {report.Throughput.PausedSeconds:0.0} of {report.Throughput.WallSeconds:0.0} s");
        AssertRestored(containers);
    }

    [Theory]
    [MemberData(nameof(TestStores.Shared), MemberType = typeof(TestStores))]
    public async Task A_worker_that_joins_mid_load_takes_its_hosts_by_a_rebalance_and_nothing_is_lost(string kind)
    {
        await using var db = await TestStores.CreateAsync(kind);
        string[] Store(int _) => ["--postgres", db.Store.ConnectionString];
        await _cluster.StartAsync(2, Store, Timeout);
        // Long enough for a new process to start and be Up on two busy cores, with load left after the move.
        var scenario = TestScenarios.Small(s => s with { Topology = s.Topology with { Hosts = 3, Containers = 24 }, DurationSeconds = 30 });
        var containers = new List<C.State>();
        ChildProcess? joiner = null;
        var settings = new ClusterRunSettings([_cluster.Seed], "127.0.0.1", 0, "127.0.0.1", MinWorkers: 2, JoinTimeout: Timeout)
        {
            // The new process needs about 10 s (Release) to 20 s (Debug) to be Up while two busy workers share the cores.
            OnWindowStart = () => joiner = _cluster.AddNode(Store(2)),
            BeforeLeave = (_, directory) => ReadContainers(scenario, directory, containers),
        };
        var outcome = await ClusterRun.RunAsync(scenario, new RunProgress(), settings, db.Store, CancellationToken.None);

        Assert.True(outcome.Failure is null, outcome.Failure + "\n" + _cluster.Nodes[0].Output);
        var report = outcome.Report!;
        AssertExact(report);
        // Three hosts on two workers, then three: the joiner takes one host (the rule's), so it did work.
        Assert.True(report.Nodes!.Count == 3, "joiner: " + joiner?.Output + "\nseed: " + _cluster.Nodes[0].Output);
        var joined = Assert.Single(report.Nodes!, n => n.Node.EndsWith(":" + _cluster.Ports[2], StringComparison.Ordinal));
        Assert.True(joined.Operations > 0, "the joiner did no work: " + System.Text.Json.JsonSerializer.Serialize(report.Nodes)
            + "; moves: " + string.Join(" | ", report.Moves!));
        Assert.Contains(report.Moves!, m => m.Contains("joined", StringComparison.Ordinal) && !m.Contains("not settled", StringComparison.Ordinal));
        Assert.True(report.Throughput.PausedSeconds > 0, "no pause recorded");
        AssertRestored(containers);
        Assert.NotNull(joiner);
    }

    private static async Task ReadContainers(SivActors.Model.Scenarios.ResolvedScenario scenario, EntityDirectory directory, List<C.State> into)
    {
        for (var c = 0; c < scenario.Scenario.Topology.Containers; c++)
        {
            var id = new ContainerId(c);
            var host = new HostId(c % scenario.Scenario.Topology.Hosts);
            into.Add(await directory.Parent(EntityKind.Container).Ask<C.State>(new C.GetState(id, host), TimeSpan.FromSeconds(30)));
        }
    }

    /// <summary>
    /// Every container, the moved ones included, holds its vdev as the VDCM's tables do: its ASID and a completion
    /// handle per AI (a moved container that started empty would have ASID 0 and no handles).
    /// </summary>
    private static void AssertRestored(List<C.State> containers) =>
        Assert.All(containers.Select((state, c) => (state, c)), x =>
        {
            Assert.Equal(EmulatorContext.AsidOf(new ContainerId(x.c)), x.state.Asid);
            Assert.All(x.state.CompletionHandles, h => Assert.NotNull(h));
        });
}
