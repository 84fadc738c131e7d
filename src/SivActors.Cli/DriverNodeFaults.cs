using System.Collections.Concurrent;
using Akka.Actor;
using Akka.Cluster;
using SivActors.Actors.Cluster;
using SivActors.Actors.Faults;
using SivActors.Model;
using SivActors.Model.Faults;

namespace SivActors.Cli;

/// <summary>
/// A cluster run's driver injects the faults that act on whole workers: <c>node:N</c> is the run's Nth worker,
/// ordered by address. A crash is detected when this driver's failure detector marks the worker unreachable.
/// </summary>
public sealed class DriverNodeFaults : INodeFaults
{
    private readonly ActorSystem _system;
    private readonly string _runId;
    private readonly IReadOnlyList<Address> _workers;
    private readonly ConcurrentDictionary<Address, FaultStats> _crashed = new();

    public DriverNodeFaults(ActorSystem system, string runId, IEnumerable<Address> workers)
    {
        _system = system;
        _runId = runId;
        _workers = workers.OrderBy(a => a.ToString(), StringComparer.Ordinal).ToList();
        system.ActorOf(Props.Create(() => new Watcher(_crashed)), "node-fault-watcher");
    }

    /// <summary>Refuses a <c>node:N</c> this run does not have, in one line, before the load starts.</summary>
    public static void Check(IReadOnlyList<ScheduledFault> faults, int workers)
    {
        foreach (var f in faults)
            if (f.Target is { Kind: TargetKind.Node, Index: [var n] } && n >= workers)
                throw new SivInputException($"faults[{f.Index}].target node:{n}: this run has {workers} worker(s), node:0..node:{workers - 1}");
    }

    public string? Crash(FaultStats stats)
    {
        var worker = _workers[stats.Fault.Target!.Index[0]];
        _crashed[worker] = stats;
        stats.Affects(1);
        _system.ActorSelection(ClusterProtocol.AgentPath(worker)).Tell(new ClusterProtocol.CrashNode(_runId, stats.Fault.Index));
        return null;
    }

    /// <summary>The crash-node fault that ended <paramref name="node"/>, if one did.</summary>
    public FaultStats? CrashOf(string node) => _crashed.FirstOrDefault(kv => kv.Key.ToString() == node).Value;

    private sealed class Watcher : ReceiveActor
    {
        public Watcher(ConcurrentDictionary<Address, FaultStats> crashed)
        {
            Receive<ClusterEvent.UnreachableMember>(m =>
            {
                if (crashed.TryGetValue(m.Member.Address, out var s)) s.Detected();
            });
            Receive<ClusterEvent.MemberRemoved>(m =>
            {
                if (crashed.TryGetValue(m.Member.Address, out var s)) s.Detected();
            });
        }

        protected override void PreStart() => Cluster.Get(Context.System).Subscribe(Self, ClusterEvent.SubscriptionInitialStateMode.InitialStateAsEvents,
            typeof(ClusterEvent.UnreachableMember), typeof(ClusterEvent.MemberRemoved));

        protected override void PostStop() => Cluster.Get(Context.System).Unsubscribe(Self);
    }
}
