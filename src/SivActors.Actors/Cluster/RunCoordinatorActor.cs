using System.Collections.Concurrent;
using Akka.Actor;
using Akka.Cluster;
using SivActors.Actors.Infrastructure;
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

    public ITimerScheduler Timers { get; set; } = null!;

    public IStash Stash { get; set; } = null!;

    public RunCoordinatorActor(string runId, ConcurrentDictionary<string, NodeMetrics> latest, ConcurrentDictionary<string, NodeMetrics> departed,
        EntityDirectory directory)
    {
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
            if (!_departed.ContainsKey(m.Node)) _latest[m.Node] = m;
        });
        Receive<NodeLeaving>(m =>
        {
            _departed[m.Final.Node] = m.Final;
            _latest[m.Final.Node] = m.Final;
            Sender.Tell(new LeaveRecorded(_runId));
        });
        Receive<AttachRunner>(m => _runner = m.Runner);
        Receive<ClusterEvent.IMemberEvent>(_ => { });
        Receive<ClusterEvent.CurrentClusterState>(_ => { });
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
            _runner.Tell(new RunProtocol.PauseLoad($"{m.Node} leaves", Self));
            Become(Pausing);
        });
        Figures();
    }

    private void Pausing()
    {
        Receive<RequestLeave>(m => _toGrant.Add(m));
        Receive<RunProtocol.LoadPaused>(_ => Grant());
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
        Figures();
    }

    private void Forget()
    {
        Timers.Cancel("removal");
        foreach (var address in _removed) _directory.ForgetNode(address);
        var workers = _cluster.State.Members
            .Where(m => m.Status == MemberStatus.Up && m.HasRole(SivShardingHosting.WorkerRole) && !_removed.Contains(m.Address))
            .Select(m => m.Address).ToList();
        foreach (var w in workers)
        {
            _unforgotten.Add(w.ToString());
            foreach (var address in _removed)
                Context.ActorSelection(new RootActorPath(w) / "user" / AgentName).Tell(new ForgetNode(_runId, address.ToString()));
        }
        _removed.Clear();
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
        Receive<RequestLeave>(_ => Stash.Stash());
        Figures();
    }

    private void Resume()
    {
        Timers.Cancel("forget");
        _unforgotten.Clear();
        _runner.Tell(new RunProtocol.ResumeLoad("shards moved"));
        Become(Idle);
        Stash.UnstashAll();
    }

    protected override void PreStart() => _cluster.Subscribe(Self, ClusterEvent.SubscriptionInitialStateMode.InitialStateAsEvents, typeof(ClusterEvent.MemberRemoved));

    protected override void PostStop() => _cluster.Unsubscribe(Self);

    /// <summary>The runner to pause; until it is attached there is no load, and a leaver may go at once.</summary>
    public sealed record AttachRunner(IActorRef Runner) : INoSerializationVerificationNeeded;

    private sealed class RemovalTimedOut : INoSerializationVerificationNeeded
    {
        public static readonly RemovalTimedOut Instance = new();
    }

    private sealed class ForgetTimedOut : INoSerializationVerificationNeeded
    {
        public static readonly ForgetTimedOut Instance = new();
    }

    public static Props Props(string runId, ConcurrentDictionary<string, NodeMetrics> latest, ConcurrentDictionary<string, NodeMetrics> departed,
        EntityDirectory directory) =>
        Akka.Actor.Props.Create(() => new RunCoordinatorActor(runId, latest, departed, directory));
}
