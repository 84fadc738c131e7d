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
    // Crashed workers a restart-node brings back: a new incarnation Up at the address is the restart's effect.
    private readonly ConcurrentDictionary<Address, FaultStats> _returning = new();
    private readonly IReadOnlyList<FaultStats> _faults;

    public DriverNodeFaults(ActorSystem system, string runId, IEnumerable<Address> workers, IReadOnlyList<FaultStats> faults)
    {
        _system = system;
        _runId = runId;
        _faults = faults;
        _workers = WorkerLinks.NodeOrder(workers);
        system.ActorOf(Props.Create(() => new Watcher(_hit, _returning)), "node-fault-watcher");
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
        // Counted when the cluster sees the worker go (the watcher), not when the order is sent: a worker that could
        // not end its process (PID 1 in a container without an init) leaves the fault not injected.
        _hit[worker] = stats;
        // The worker's keeper hears of a restart at the crash: nothing can reach a process that is gone.
        var restartAfterMs = 0;
        if (FaultTimeline.RestartAfter(_faults.Select(f => f.Fault).ToList(), stats.Fault) is { } restart)
        {
            _returning[worker] = _faults[restart.Index];
            restartAfterMs = (int)Math.Round((restart.AtSeconds - stats.Fault.AtSeconds) * 1000);
        }
        Agent(worker).Tell(new ClusterProtocol.CrashNode(_runId, stats.Fault.Index) { RestartAfterMs = restartAfterMs });
        return null;
    }

    /// <summary>The keeper starts the worker again by itself (told at the crash); the watcher sees it come back.</summary>
    public string? Restart(FaultStats stats) => null;

    /// <summary>At the run's end: a restart whose worker never came back says what it needs.</summary>
    public void Finish()
    {
        foreach (var (worker, stats) in _hit)
            if (stats.Fault.Kind == FaultKind.CrashNode && !stats.Injected)
                stats.Explain($"{worker} did not go: its console says why (a worker that is PID 1 in a container without an init cannot end itself)");
        foreach (var (worker, stats) in _returning)
            if (!stats.Injected)
                stats.Explain($"{worker} did not come back; a crashed worker is started again only by its keeper (siv node --restartable)");
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
        public Watcher(ConcurrentDictionary<Address, FaultStats> crashed, ConcurrentDictionary<Address, FaultStats> returning)
        {
            // Up again at a crashed worker's address: a new incarnation (the crashed one cannot come back).
            Receive<ClusterEvent.MemberUp>(m =>
            {
                // Only a crash puts a worker in `returning`, so an Up there is the new incarnation's.
                if (!returning.TryGetValue(m.Member.Address, out var s) || s.Injected) return;
                s.Affects(1);
                s.Detected();
            });
            Receive<ClusterEvent.UnreachableMember>(m => Gone(m.Member.Address));
            Receive<ClusterEvent.MemberRemoved>(m => Gone(m.Member.Address));

            // The cluster saw the worker go: a crash took effect then; a partition's effect is counted by its worker.
            void Gone(Address worker)
            {
                if (!crashed.TryGetValue(worker, out var s)) return;
                if (s.Fault.Kind == FaultKind.CrashNode && !s.Injected) s.Affects(1);
                s.Detected();
            }
        }

        protected override void PreStart() => Cluster.Get(Context.System).Subscribe(Self, ClusterEvent.SubscriptionInitialStateMode.InitialStateAsEvents,
            typeof(ClusterEvent.UnreachableMember), typeof(ClusterEvent.MemberRemoved), typeof(ClusterEvent.MemberUp));

        protected override void PostStop() => Cluster.Get(Context.System).Unsubscribe(Self);
    }
}
