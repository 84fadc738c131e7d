using System.Text.Json;
using Akka.Actor;
using Akka.Cluster;
using Akka.Event;
using SivActors.Actors.Entities;
using SivActors.Actors.Hosting;
using SivActors.Actors.Persistence;
using SivActors.Actors.Run;
using SivActors.Actors.Wire;
using SivActors.Model.Cost;
using SivActors.Model.Faults;
using SivActors.Model.Scenarios;
using static SivActors.Actors.Cluster.ClusterProtocol;

namespace SivActors.Actors.Cluster;

/// <summary>The scenario a worker's entities are created for; set by the run's driver before any entity starts.</summary>
public sealed class EmulatorContextHolder(EntityDirectory directory, TableStore store)
{
    private volatile EmulatorContext? _current;

    public EntityDirectory Directory { get; } = directory;
    public TableStore Store { get; } = store;

    public EmulatorContext Current => _current ?? throw new InvalidOperationException("no scenario deployed to this node yet");

    public EmulatorContext? TryCurrent => _current;

    public void Deploy(EmulatorContext ctx) => _current = ctx;

    /// <summary>
    /// True when this node is a process of its own (`siv node`), so a crash-node fault may end it; a worker that
    /// shares its process (a test's) refuses, since ending the process would end more than the node.
    /// </summary>
    public bool MayCrashProcess { get; init; }

    /// <summary>
    /// Told one line before a crash-node fault ends the process (the node's console), and how long after it a
    /// restart-node brings the worker back (0: it stays down), for the node's keeper.
    /// </summary>
    public Action<string, int>? OnCrash { get; init; }
}

/// <summary>
/// A worker's agent: receives the run's scenario and builds this node's context (metrics, directory, store),
/// marks the measured window, and hands its figures to the driver at the end.
/// </summary>
public sealed class NodeAgentActor : ReceiveActor, IWithTimers
{
    public ITimerScheduler Timers { get; set; } = null!;

    private long _opsAtStart, _irqAtStart, _opsAtStop, _irqAtStop;
    private bool _stopped;
    private long _sendsAtDeploy, _receivedAtDeploy;
    private IActorRef _reportTo = ActorRefs.Nobody;
    private string _runId = "";
    private bool _runOver = true;
    private IActorRef _leaveAsker = ActorRefs.Nobody;

    private sealed class ReportNow : INoSerializationVerificationNeeded
    {
        public static readonly ReportNow Instance = new();
    }

    public NodeAgentActor(EmulatorContextHolder holder)
    {
        var node = Akka.Cluster.Cluster.Get(Context.System).SelfAddress.ToString();
        var incarnation = Akka.Cluster.Cluster.Get(Context.System).SelfUniqueAddress.Uid;
        Receive<DeployScenario>(m =>
        {
            try
            {
                var scenario = JsonSerializer.Deserialize<Scenario>(m.ScenarioJson, ScenarioLoader.StrictJson)!;
                var cost = JsonSerializer.Deserialize<CostModel>(m.CostModelJson, ScenarioLoader.StrictJson)!;
                ScenarioLoader.Validate(scenario);
                // The same scenario again (a second run) keeps the context its entities already use.
                if (holder.TryCurrent is not { } current || JsonSerializer.Serialize(current.Scenario, ScenarioLoader.StrictJson) != m.ScenarioJson)
                {
                    var ctx = new EmulatorContext(new ResolvedScenario(scenario, cost, m.Source), store: holder.Store, directory: holder.Directory)
                        { Sharded = true, InjectorRole = Faults.InjectorRole.Worker };
                    holder.Deploy(ctx);
                    Context.ActorOf(LostMessageListener.Props(ctx.Metrics));
                }
                else current.ResetFaults();
                (_opsAtStart, _irqAtStart, _stopped, _windowStart) = (0, 0, false, 0);
                _sendsAtDeploy = holder.Directory.Sends;
                _receivedAtDeploy = Received();
                _reportTo = m.ReportTo;
                _runId = m.RunId;
                _runOver = false;
                Timers.StartPeriodicTimer("report", ReportNow.Instance, TimeSpan.FromMilliseconds(500));
                Sender.Tell(new ScenarioDeployed(m.RunId, node, null));
            }
            catch (Exception e) when (e is JsonException or SivActors.Model.SivInputException)
            {
                Sender.Tell(new ScenarioDeployed(m.RunId, node, e.Message));
            }
        });
        // A table this node cannot recover ends the run: its driver hears of it at once.
        Receive<Persistence.TableUnrecoverable>(u =>
        {
            if (!_runOver) _reportTo.Tell(new TableUnrecoverableOnNode(node, u.PersistenceId, u.LastGoodSequenceNr, u.Reason));
        });
        Receive<MarkWindow>(m =>
        {
            // Not deployed here (a worker that came up late): there is no window to mark.
            if (holder.TryCurrent is not { } ctx) return;
            var metrics = ctx.Metrics;
            if (m.Start)
            {
                _opsAtStart = metrics.OperationsCompleted;
                _irqAtStart = metrics.InterruptsRaised;
                // A worker that joins an open window (a restarted one) keeps the run's clock: its window opened
                // when the others' did.
                _windowStart = System.Diagnostics.Stopwatch.GetTimestamp() - Microseconds.AsTicks(m.OpenForUs);
                // This node's part of the fault timeline: what its hot path reads (decision 49).
                if (ctx.Faults.Stats.Count > 0 && _injector is null)
                {
                    // node:N counts the workers Up now, the driver's list when it deployed (decision 51).
                    ctx.NodeFaults = new WorkerLinks(Context.System, WorkerLinks.OrderedWorkers(Context.System));
                    _injector = Context.ActorOf(Faults.FaultInjectorActor.Props(ctx, _windowStart).OnControlThread(Context.System));
                }
                return;
            }
            _opsAtStop = metrics.OperationsCompleted;
            _stopTicks = System.Diagnostics.Stopwatch.GetTimestamp();
            _irqAtStop = metrics.InterruptsRaised;
            _stopped = true;
            StopInjector();
        });
        Receive<CrashNode>(m =>
        {
            if (m.RunId != _runId) return;
            if (!holder.MayCrashProcess)
            {
                Context.GetLogger().Error("crash-node: this worker shares its process with others, so it does not end it");
                return;
            }
            // The kernel ignores SIGKILL sent to a PID namespace's init by itself: a container needs an init.
            if (Environment.ProcessId == 1)
            {
                Context.GetLogger().Error("crash-node: this worker is PID 1 (a container without an init), which SIGKILL cannot end; run it with an init (docker-compose.yml has `init: true`)");
                return;
            }
            holder.OnCrash?.Invoke($"siv node {node}: crashing now (scheduled crash-node fault, faults[{m.Fault}] of run {m.RunId})", m.RestartAfterMs);
            // SIGKILL of itself: no leave, no hand-off, no flush, as a machine that loses power.
            System.Diagnostics.Process.GetCurrentProcess().Kill();
        });
        Receive<ReportNow>(_ => _reportTo.Tell(Figures(_runId)));
        Receive<CollectMetrics>(m =>
        {
            StopInjector();
            Timers.Cancel("report");
            _runOver = true;
            // A worker that came up after the scenario went out (a restarted one, late) has done nothing for it.
            Sender.Tell(holder.TryCurrent is null || m.RunId != _runId
                ? new NodeMetrics(m.RunId, node, 0, 0, 0, 0, new SivActors.Model.Reporting.RunMetrics().Export()) { Incarnation = incarnation }
                : Figures(m.RunId));
        });
        // Leaving mid-run: the driver pauses the load, this node hands its final figures over, then it may go.
        Receive<PrepareToLeave>(_ =>
        {
            var driverGone = !Akka.Cluster.Cluster.Get(Context.System).State.Members.Any(m => m.Address.Equals(_reportTo.Path.Address));
            if (_runOver || _reportTo.IsNobody() || driverGone)
            {
                Sender.Tell(new ReadyToLeave("no run is using this node"));
                return;
            }
            _leaveAsker = Sender;
            _reportTo.Tell(new RequestLeave(_runId, node, Self));
        });
        Receive<LeaveGranted>(_ =>
        {
            Timers.Cancel("report");
            _runOver = true;
            Sender.Tell(new NodeLeaving(Figures(_runId)));
        });
        Receive<LeaveRecorded>(_ => _leaveAsker.Tell(new ReadyToLeave("the run's driver paused the load and recorded this node's figures")));
        Receive<ForgetNode>(m =>
        {
            if (m.Address.Length == 0) holder.Directory.ForgetRemote();
            else holder.Directory.ForgetNode(Address.Parse(m.Address));
            Sender.Tell(new NodeForgotten(m.RunId, node));
        });
        // A partition fault: this node's side of the cut (or of the heal), applied at its transport.
        Receive<CutLinks>(m =>
        {
            var system = Context.System;
            Task.WhenAll(m.Peers.Select(p => m.Heal ? NetworkLinks.Heal(system, Address.Parse(p)) : NetworkLinks.Cut(system, Address.Parse(p))))
                .ContinueWith(t => new LinksCut(m.RunId, node, m.Heal, t.IsFaulted ? t.Exception!.GetBaseException().Message : null), TaskScheduler.Default)
                .PipeTo(Sender);
        });
        Receive<AllowRebalance>(m =>
        {
            RebalanceGate.Of(Context.System).Set(m.Open);
            Sender.Tell(new RebalanceAllowed(m.RunId, node, m.Open));
        });

        // Messages that reached this node from another one: what the wire serializer has decoded.
        long Received() => (Context.System.Serialization.FindSerializerForType(typeof(ISivMessage)) as Wire.WireSerializer)?.Deserialized ?? 0;

        NodeMetrics Figures(string runId)
        {
            var metrics = holder.Current.Metrics;
            var ops = (_stopped ? _opsAtStop : metrics.OperationsCompleted) - _opsAtStart;
            var irq = (_stopped ? _irqAtStop : metrics.InterruptsRaised) - _irqAtStart;
            var faults = holder.Current.Faults.Stats.Where(s => s.Affected + s.Lost + s.Refused + s.Aborted + s.Crossed > 0 || s.DetectedTicks != 0)
                .Select(s => s.Counts(_windowStart)).ToList();
            var windowUs = _windowStart == 0 ? 0 : Microseconds.Between(_windowStart, _stopped ? _stopTicks : System.Diagnostics.Stopwatch.GetTimestamp());
            return new NodeMetrics(runId, node, ops, irq, holder.Directory.Sends - _sendsAtDeploy, Received() - _receivedAtDeploy, metrics.Export())
                { Faults = faults, WindowUs = windowUs, Incarnation = incarnation };
        }

        void StopInjector()
        {
            if (_injector is not { } injector) return;
            // Stopping ends whatever is still in force on this node.
            Context.Stop(injector);
            _injector = null;
        }
    }

    private IActorRef? _injector;
    private long _windowStart, _stopTicks;

    protected override void PreStart() => Context.System.EventStream.Subscribe(Self, typeof(Persistence.TableUnrecoverable));

    public static Props Props(EmulatorContextHolder holder) => Akka.Actor.Props.Create(() => new NodeAgentActor(holder));
}
