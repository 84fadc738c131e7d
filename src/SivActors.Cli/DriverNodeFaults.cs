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
    // Workers a node fault acts on (crashed or cut off): their unreachability is the fault's detection.
    private readonly ConcurrentDictionary<Address, FaultStats> _hit = new();

    public DriverNodeFaults(ActorSystem system, string runId, IEnumerable<Address> workers)
    {
        _system = system;
        _runId = runId;
        _workers = workers.OrderBy(a => a.ToString(), StringComparer.Ordinal).ToList();
        system.ActorOf(Props.Create(() => new Watcher(_hit)), "node-fault-watcher");
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
        _hit[worker] = stats;
        stats.Affects(1);
        Agent(worker).Tell(new ClusterProtocol.CrashNode(_runId, stats.Fault.Index));
        return null;
    }

    /// <summary>The worker named cuts its own links (WorkerLinks); the driver only detects it by its unreachability.</summary>
    public string? Partition(FaultStats stats)
    {
        _hit[_workers[stats.Fault.Target!.Index[0]]] = stats;
        return null;
    }

    public void Heal(FaultStats stats)
    {
    }

    private ActorSelection Agent(Address worker) => _system.ActorSelection(ClusterProtocol.AgentPath(worker));

    /// <summary>The crash-node fault that ended <paramref name="node"/>, if one did.</summary>
    public FaultStats? CrashOf(string node) => _hit.FirstOrDefault(kv => kv.Key.ToString() == node && kv.Value.Fault.Kind == FaultKind.CrashNode).Value;

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
