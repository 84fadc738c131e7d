using System.Collections.Concurrent;
using Akka.Actor;
using Akka.Cluster;
using SivActors.Actors.Entities;
using SivActors.Actors.Hosting;
using SivActors.Actors.Run;
using static SivActors.Actors.Cluster.ClusterProtocol;

namespace SivActors.Actors.Cluster;

/// <summary>
/// The driver's side of a cluster run, between the runner and the workers' agents. It keeps each worker's latest
/// figures, and it lets no shard move under load (decision 31): a worker that asks to leave is answered once the
/// runner has paused the load (nothing in flight, every interrupt harvested); it sends its final figures and
/// leaves; when it has been removed, every other node forgets the references it cached to that node's entities, and
/// only then does the load resume, so no message is sent to an entity that has stopped. The moved entities start
/// on the survivors and take their device state from their VDCM.
/// </summary>
public sealed class RunCoordinatorActor : ReceiveActor, IWithTimers, IWithUnboundedStash
{
    private static readonly TimeSpan RemovalTimeout = TimeSpan.FromSeconds(60);
    private static readonly TimeSpan ForgetTimeout = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan RebalanceTimeout = TimeSpan.FromSeconds(60);
    private static readonly TimeSpan PlacementPoll = TimeSpan.FromMilliseconds(250);

    private readonly string _runId;
    private readonly ConcurrentDictionary<string, NodeMetrics> _latest;
    private readonly ConcurrentDictionary<string, NodeMetrics> _departed;
    private readonly EntityDirectory _directory;
    private readonly Akka.Cluster.Cluster _cluster = Akka.Cluster.Cluster.Get(Context.System);
    private readonly List<RequestLeave> _toGrant = [];
    private readonly HashSet<string> _awaitingRemoval = [];
    private readonly List<Address> _removed = [];
    private readonly HashSet<string> _unforgotten = [];
    private IActorRef _runner = ActorRefs.Nobody;
    private DeployScenario? _deploy;
    // By incarnation: a crashed worker that its keeper restarted joins again at the same address (decision 55).
    private readonly HashSet<UniqueAddress> _known = [];
    private Func<long> _windowOpenedTicks = () => 0;
    private readonly ConcurrentDictionary<string, Address> _joined;
    private readonly int _shardsPerHost;
    private Address? _joiner;
    private bool _checking;
    private readonly HashSet<string> _ungated = [];
    private readonly ConcurrentQueue<string> _moves;
    private readonly NodeTimeline _timeline;
    private readonly System.Diagnostics.Stopwatch _since = new();
    private string _lastPlacement = "";
    private string _move = "";

    public ITimerScheduler Timers { get; set; } = null!;

    public IStash Stash { get; set; } = null!;

    public RunCoordinatorActor(string runId, ConcurrentDictionary<string, NodeMetrics> latest, ConcurrentDictionary<string, NodeMetrics> departed,
        EntityDirectory directory, ConcurrentDictionary<string, Address> joined, int shardsPerHost, ConcurrentQueue<string> moves, NodeTimeline timeline)
    {
        _timeline = timeline;
        _moves = moves;
        _joined = joined;
        _shardsPerHost = shardsPerHost;
        _runId = runId;
        _latest = latest;
        _departed = departed;
        _directory = directory;
        Become(Idle);
    }

    private void Figures()
    {
        Receive<NodeMetrics>(m =>
        {
            // A worker restarted after a crash reports under its address as a new incarnation: the last report of
            // the one that crashed stays, under its own key, for the ledger (its work in flight is unaccounted).
            if (_latest.TryGetValue(m.Node, out var previous) && previous.Incarnation != m.Incarnation)
                _latest[IncarnationKey(previous)] = previous;
            if (!_departed.ContainsKey(m.Node)) _latest[m.Node] = m;
            _timeline.Record(m);
        });
        Receive<NodeLeaving>(m =>
        {
            _departed[m.Final.Node] = m.Final;
            _latest[m.Final.Node] = m.Final;
            _timeline.Record(m.Final);
            Sender.Tell(new LeaveRecorded(_runId));
        });
        Receive<AttachRunner>(m =>
        {
            _runner = m.Runner;
            _deploy = m.Deploy;
            _windowOpenedTicks = m.WindowOpenedTicks;
            foreach (var w in _cluster.State.Members.Where(x => m.Workers.Contains(x.Address))) _known.Add(w.UniqueAddress);
            // A worker that came up after the run chose its workers joins like one that comes up later.
            foreach (var member in _cluster.State.Members.Where(x => x.Status == MemberStatus.Up && !_known.Contains(x.UniqueAddress)))
                Self.Tell(new ClusterEvent.MemberUp(member));
        });
        Receive<ClusterEvent.IMemberEvent>(_ => { });
        Receive<ClusterEvent.CurrentClusterState>(_ => { });
        // Handed to whoever drives the run (ClusterRun listens on the driver's event stream).
        Receive<TableUnrecoverableOnNode>(m => Context.System.EventStream.Publish(m));
    }

    private void Idle()
    {
        Receive<RequestLeave>(m =>
        {
            _toGrant.Add(m);
            if (_runner.IsNobody())
            {
                Grant();
                return;
            }
            _since.Restart();
            _move = $"{m.Node} left";
            _runner.Tell(new RunProtocol.PauseLoad($"{m.Node} leaves", Self));
            Become(Pausing);
        });
        Receive<ClusterEvent.MemberUp>(m =>
        {
            var a = m.Member.Address;
            if (_runner.IsNobody() || _deploy is null || !m.Member.HasRole(SivShardingHosting.WorkerRole) || !_known.Add(m.Member.UniqueAddress)) return;
            // A worker joined mid-run: it gets the scenario first, then the load pauses and its hosts move to it.
            _joiner = a;
            _since.Restart();
            _move = $"{a} joined";
            _lastPlacement = "the scenario was not deployed to it";
            Agent(a).Tell(_deploy);
            Timers.StartSingleTimer("join", JoinTimedOut.Instance, RebalanceTimeout);
            Become(DeployingJoiner);
        });
        Figures();
    }

    private ActorSelection Agent(Address worker) => Context.ActorSelection(AgentPath(worker));

    private IEnumerable<Address> UpWorkers() => _cluster.State.Members
        .Where(m => m.Status == MemberStatus.Up && m.HasRole(SivShardingHosting.WorkerRole)).Select(m => m.Address);

    private void WhileMoving()
    {
        Receive<ClusterEvent.MemberUp>(_ => Stash.Stash());
        Receive<RequestLeave>(_ => Stash.Stash());
        Figures();
    }

    private void DeployingJoiner()
    {
        Receive<ScenarioDeployed>(m =>
        {
            if (m.Error is not null)
            {
                // It cannot run this scenario: nothing moves to it (the gate stays closed), the load goes on.
                _moves.Enqueue($"{_move}; it refused the scenario ({m.Error}), so nothing moved to it");
                _move = "";
                Timers.Cancel("join");
                Become(Idle);
                Stash.UnstashAll();
                return;
            }
            _joined[m.Node] = _joiner!;
            // The window is open: the joiner's figures and faults keep the run's clock from now on.
            if (_windowOpenedTicks() is var opened and not 0)
                Agent(_joiner!).Tell(new MarkWindow(_runId, true) { OpenForUs = SivActors.Model.Faults.Microseconds.Between(opened, System.Diagnostics.Stopwatch.GetTimestamp()) });
            _lastPlacement = "the load did not pause";
            _runner.Tell(new RunProtocol.PauseLoad($"{m.Node} joined", Self));
            Become(PausingForJoin);
        });
        Receive<JoinTimedOut>(_ => EndRebalance());
        WhileMoving();
    }

    private void PausingForJoin()
    {
        Receive<RunProtocol.LoadPaused>(_ =>
        {
            _lastPlacement = "the shard placement was not read";
            Gate(true);
        });
        Receive<JoinTimedOut>(_ => EndRebalance());
        WhileMoving();
    }

    private void Gate(bool open)
    {
        _ungated.Clear();
        foreach (var w in UpWorkers())
        {
            _ungated.Add(w.ToString());
            Agent(w).Tell(new AllowRebalance(_runId, open));
        }
        Become(open ? Rebalancing : ClosingGate);
        if (open) Timers.StartPeriodicTimer("placement", CheckPlacement.Instance, PlacementPoll);
        else if (_ungated.Count == 0) ForgetAllRemote();
    }

    private void Rebalancing()
    {
        Receive<RebalanceAllowed>(m => _ungated.Remove(m.Node));
        Receive<CheckPlacement>(_ =>
        {
            if (_ungated.Count > 0) _lastPlacement = $"the rebalance gate was not acknowledged by {string.Join(", ", _ungated)}";
            if (_checking || _ungated.Count > 0) return;
            _checking = true;
            Task.WhenAll(Enum.GetValues<EntityKind>().Select(k => _directory.Parent(k)
                    .Ask<Akka.Cluster.Sharding.ClusterShardingStats>(new Akka.Cluster.Sharding.GetClusterShardingStats(TimeSpan.FromSeconds(3)), TimeSpan.FromSeconds(5))))
                .PipeTo(Self, failure: e => new Status.Failure(e));
        });
        Receive<Akka.Cluster.Sharding.ClusterShardingStats[]>(stats =>
        {
            _checking = false;
            // Settled when every worker's region answered for every kind (a region that did not answer in time is
            // left out of the stats, and its shards with it) and no shard is off the rule's node.
            var workers = UpWorkers().Select(w => w.ToString()).ToList();
            var missing = new SortedSet<string>(StringComparer.Ordinal);
            var misplaced = 0;
            foreach (var kind in stats)
            {
                var byNode = kind.Regions.ToDictionary(r => r.Key.ToString(), r => (IEnumerable<string>)r.Value.Stats.Keys);
                missing.UnionWith(workers.Where(w => !byNode.ContainsKey(w)));
                misplaced += HostAffinityAllocation.Misplaced(byNode, _shardsPerHost).Count;
            }
            _lastPlacement = $"{misplaced} shard(s) off their node" + (missing.Count > 0 ? $", no answer from {string.Join(", ", missing)}" : "");
            if (missing.Count == 0 && misplaced == 0) EndRebalance(settled: true);
        });
        Receive<Status.Failure>(f =>
        {
            _checking = false;
            _lastPlacement = $"the shard placement could not be read: {f.Cause.GetBaseException().Message}";
        });
        Receive<JoinTimedOut>(_ => EndRebalance());
        WhileMoving();
    }

    /// <summary>Every shard is where the rule puts it (or the wait timed out): close the gate, forget, resume.</summary>
    private void EndRebalance(bool settled = false)
    {
        if (!settled) _move += $"; not settled within {RebalanceTimeout.TotalSeconds:0} s ({_lastPlacement})";
        Timers.Cancel("placement");
        Timers.Cancel("join");
        _checking = false;
        if (_joiner is { } j && !_joined.ContainsKey(j.ToString()))
        {
            // Never deployed: the load was not paused either.
            _moves.Enqueue($"{_move}; it did not take the scenario within {RebalanceTimeout.TotalSeconds:0} s, so nothing moved to it");
            _move = "";
            Become(Idle);
            Stash.UnstashAll();
            return;
        }
        Gate(false);
    }

    private void ClosingGate()
    {
        Receive<RebalanceAllowed>(m =>
        {
            if (_ungated.Remove(m.Node) && _ungated.Count == 0) ForgetAllRemote();
        });
        Receive<CheckPlacement>(_ => { });
        Receive<Akka.Cluster.Sharding.ClusterShardingStats[]>(_ => { });
        Receive<Status.Failure>(_ => { });
        WhileMoving();
    }

    private void Pausing()
    {
        Receive<RequestLeave>(m => _toGrant.Add(m));
        Receive<RunProtocol.LoadPaused>(_ => Grant());
        Receive<ClusterEvent.MemberUp>(_ => Stash.Stash());
        Figures();
    }

    private void Grant()
    {
        foreach (var m in _toGrant)
        {
            _awaitingRemoval.Add(m.Node);
            m.Agent.Tell(new LeaveGranted(_runId));
        }
        _toGrant.Clear();
        Timers.StartSingleTimer("removal", RemovalTimedOut.Instance, RemovalTimeout);
        Become(AwaitingRemoval);
    }

    private void AwaitingRemoval()
    {
        // The load is paused already: another leaver may go at once.
        Receive<RequestLeave>(m =>
        {
            _awaitingRemoval.Add(m.Node);
            m.Agent.Tell(new LeaveGranted(_runId));
        });
        Receive<ClusterEvent.MemberRemoved>(m =>
        {
            if (!_awaitingRemoval.Remove(m.Member.Address.ToString())) return;
            _removed.Add(m.Member.Address);
            if (_awaitingRemoval.Count == 0) Forget();
        });
        Receive<RemovalTimedOut>(_ =>
        {
            // A leaver that never went: it is still a member, or was lost (and is booked so at the end).
            _awaitingRemoval.Clear();
            Forget();
        });
        Receive<ClusterEvent.MemberUp>(_ => Stash.Stash());
        Figures();
    }

    /// <summary>The leavers are gone: every node drops the references it cached to their entities, then the load resumes.</summary>
    private void Forget()
    {
        Timers.Cancel("removal");
        foreach (var address in _removed) _directory.ForgetNode(address);
        var gone = _removed.Select(a => a.ToString()).ToList();
        _removed.Clear();
        ForgetThenResume(gone);
    }

    /// <summary>Shards moved between nodes that stay: every node drops its remote references, then the load resumes.</summary>
    private void ForgetAllRemote() => ForgetThenResume([""]);

    /// <summary>Each up worker forgets each of <paramref name="nodes"/> ("" = every other node); resumes once all have answered.</summary>
    private void ForgetThenResume(IReadOnlyList<string> nodes)
    {
        foreach (var w in UpWorkers().Where(w => !nodes.Contains(w.ToString())))
        {
            _unforgotten.Add(w.ToString());
            foreach (var node in nodes) Agent(w).Tell(new ForgetNode(_runId, node));
        }
        Timers.StartSingleTimer("forget", ForgetTimedOut.Instance, ForgetTimeout);
        Become(Forgetting);
        if (_unforgotten.Count == 0) Resume();
    }

    private void Forgetting()
    {
        Receive<NodeForgotten>(m =>
        {
            if (_unforgotten.Remove(m.Node) && _unforgotten.Count == 0) Resume();
        });
        Receive<ForgetTimedOut>(_ => Resume());
        Receive<RebalanceAllowed>(_ => { });
        WhileMoving();
    }

    private void Resume()
    {
        Timers.Cancel("forget");
        _unforgotten.Clear();
        _joiner = null;
        if (_move.Length > 0) _moves.Enqueue($"{_move}; load paused and resumed after {_since.Elapsed.TotalSeconds:0.0} s");
        _move = "";
        _runner.Tell(new RunProtocol.ResumeLoad("shards moved"));
        Become(Idle);
        Stash.UnstashAll();
    }

    protected override void PreStart() => _cluster.Subscribe(Self, ClusterEvent.SubscriptionInitialStateMode.InitialStateAsEvents,
        typeof(ClusterEvent.MemberRemoved), typeof(ClusterEvent.MemberUp));

    protected override void PostStop() => _cluster.Unsubscribe(Self);

    /// <summary>
    /// The runner to pause, the deployment a worker that joins mid-run gets, and the workers the run started with;
    /// until it is attached there is no load, and a leaver may go at once.
    /// </summary>
    public sealed record AttachRunner(IActorRef Runner, DeployScenario Deploy, IReadOnlyList<Address> Workers) : INoSerializationVerificationNeeded
    {
        /// <summary>When the measured window opened (0 until it does), for workers that join while it is open.</summary>
        public Func<long> WindowOpenedTicks { get; init; } = () => 0;
    }

    /// <summary>Where the last report of a worker's earlier incarnation (one that crashed) is kept in the figures.</summary>
    public static string IncarnationKey(NodeMetrics m) => $"{m.Node}#{m.Incarnation}";

    private sealed class JoinTimedOut : INoSerializationVerificationNeeded
    {
        public static readonly JoinTimedOut Instance = new();
    }

    private sealed class CheckPlacement : INoSerializationVerificationNeeded
    {
        public static readonly CheckPlacement Instance = new();
    }

    private sealed class RemovalTimedOut : INoSerializationVerificationNeeded
    {
        public static readonly RemovalTimedOut Instance = new();
    }

    private sealed class ForgetTimedOut : INoSerializationVerificationNeeded
    {
        public static readonly ForgetTimedOut Instance = new();
    }

    public static Props Props(string runId, ConcurrentDictionary<string, NodeMetrics> latest, ConcurrentDictionary<string, NodeMetrics> departed,
        EntityDirectory directory, ConcurrentDictionary<string, Address> joined, int shardsPerHost, ConcurrentQueue<string> moves, NodeTimeline timeline) =>
        Akka.Actor.Props.Create(() => new RunCoordinatorActor(runId, latest, departed, directory, joined, shardsPerHost, moves, timeline));
}
