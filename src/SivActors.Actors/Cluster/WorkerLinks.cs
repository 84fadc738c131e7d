using Akka.Actor;
using SivActors.Actors.Faults;
using SivActors.Model.Faults;

namespace SivActors.Actors.Cluster;

/// <summary>
/// A worker's side of the faults on nodes: a <c>partition</c> on <c>node:N</c> is carried out by worker N itself,
/// which cuts its links to every other member at the fault's <c>at</c> and heals them after its <c>for</c>, on its
/// own clock. A cut on one side is a whole partition (the throttler drops both directions at that node, and refuses
/// new associations), and a node cut off could neither answer a cut nor hear a heal, so nobody else takes part
/// (decision 51). What the cut did goes to the driver with the node's figures, once the links are back.
/// </summary>
public sealed class WorkerLinks : INodeFaults
{
    private readonly ActorSystem _system;
    private readonly int _self;
    private IReadOnlyList<Address> _cut = [];

    /// <param name="workers">The run's workers, ordered by address as the driver orders them for <c>node:N</c>.</param>
    public WorkerLinks(ActorSystem system, IReadOnlyList<Address> workers)
    {
        _system = system;
        _self = workers.ToList().IndexOf(Akka.Cluster.Cluster.Get(system).SelfAddress);
    }

    /// <summary>The run's workers in <c>node:N</c> order, as this node sees its cluster.</summary>
    public static IReadOnlyList<Address> OrderedWorkers(ActorSystem system) =>
        NodeOrder(Akka.Cluster.Cluster.Get(system).State.Members
            .Where(m => m.Status == Akka.Cluster.MemberStatus.Up && m.HasRole(Hosting.SivShardingHosting.WorkerRole))
            .Select(m => m.Address));

    /// <summary>
    /// <c>node:N</c> is the Nth worker by address compared as text: a user can work it out from the hosts and ports
    /// they started, and it does not depend on join order. The driver and every worker order by this one rule.
    /// </summary>
    public static IReadOnlyList<Address> NodeOrder(IEnumerable<Address> workers) => workers.OrderBy(a => a.ToString(), StringComparer.Ordinal).ToList();

    public string? Crash(FaultStats stats) => "a worker does not crash nodes; the run's driver does";

    public string? Restart(FaultStats stats) => "a worker does not restart nodes; the crashed worker's keeper does";

    public string? Partition(FaultStats stats)
    {
        if (stats.Fault.Target!.Index[0] != _self) return null;
        var cluster = Akka.Cluster.Cluster.Get(_system);
        var peers = cluster.State.Members.Select(m => m.Address).Where(a => !a.Equals(cluster.SelfAddress)).ToList();
        _cut = peers;
        Task.WhenAll(peers.Select(p => NetworkLinks.Cut(_system, p))).ContinueWith(t =>
        {
            if (t.IsCompletedSuccessfully) stats.Affects(peers.Count);
            else stats.Explain($"{cluster.SelfAddress} could not cut its links: {t.Exception!.GetBaseException().Message}");
        }, TaskScheduler.Default);
        return null;
    }

    public void Heal(FaultStats stats)
    {
        var peers = Interlocked.Exchange(ref _cut, []);
        foreach (var p in peers)
            NetworkLinks.Heal(_system, p).ContinueWith(t => stats.Explain($"a link to {p} did not heal: {t.Exception!.GetBaseException().Message}"),
                TaskContinuationOptions.OnlyOnFaulted);
    }
}
