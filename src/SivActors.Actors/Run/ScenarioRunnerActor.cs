using System.Diagnostics;
using Akka.Actor;
using SivActors.Actors.AssignableInterface;
using SivActors.Actors.Container;
using SivActors.Actors.Entities;
using SivActors.Actors.Hosting;
using SivActors.Actors.InterruptUnit;
using SivActors.Actors.Vdcm;
using SivActors.Model.Identity;
using static SivActors.Actors.Run.RunProtocol;

namespace SivActors.Actors.Run;

/// <summary>
/// Drives one run: create every entity, compose a vdev per container, start the workload, stop it after the
/// duration, wait until every container has drained, flush the upstream paths and harvest pending posted
/// interrupts, so the ledger read afterwards is final. No phase waits on a timer except the run's duration.
/// </summary>
public sealed partial class ScenarioRunnerActor : ReceiveActor, IWithTimers, IWithUnboundedStash
{
    private readonly EmulatorContext _ctx;
    private readonly RunProgress _progress;
    private readonly TimeSpan _phaseTimeout;
    private readonly List<EntityAddress> _containers = [];
    private readonly List<EntityAddress> _ais = [];
    private IActorRef _replyTo = ActorRefs.Nobody;
    private int _pending;
    // Compositions in flight at once: enough to keep the VDCMs and their table writes busy (at 2,048, composing 100,000
    // took 40% longer), few enough that the guests' own vector programming is not queued behind every other vdev's
    // composition (with all of them sent at once, the progress line stayed at 0/N until nearly all were composed).
    public const int DefaultComposeWindow = 16_384;
    private readonly int _composeWindow;
    private int _nextCompose;
    private readonly HashSet<int> _undrained = [];
    private readonly HashSet<(AiId Ai, EntityKind Unit)> _unflushed = [];
    private readonly HashSet<int> _unharvested = [];
    private long _startTicks, _stopTicks, _opsAtStart, _irqAtStart, _opsAtStop, _irqAtStop;
    private bool _interrupted;

    public ITimerScheduler Timers { get; set; } = null!;

    public IStash Stash { get; set; } = null!;

    private readonly Action<bool>? _onWindow;
    // Pause requests not answered yet (they are answered once the load is quiet, or when the run is over).
    private readonly List<PauseLoad> _pauseWaiters = [];
    private Action _whenQuiet = () => { };
    private long _pauseStartTicks, _pausedTicks;
    private IActorRef? _injector;

    /// <param name="onWindow">Told when the measured window starts (true) and ends (false); a cluster run marks it on every node.</param>
    /// <param name="composeWindow">Compositions in flight at once (<see cref="DefaultComposeWindow"/>).</param>
    /// <param name="deployResendAfter">How long a deploy without progress waits before asking again (<see cref="DefaultDeployResendAfter"/>).</param>
    public ScenarioRunnerActor(EmulatorContext ctx, RunProgress progress, TimeSpan? phaseTimeout = null, Action<bool>? onWindow = null,
        int composeWindow = DefaultComposeWindow, TimeSpan? deployResendAfter = null)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(composeWindow);
        _composeWindow = composeWindow;
        _deployResendAfter = deployResendAfter ?? DefaultDeployResendAfter;
        _onWindow = onWindow;
        _ctx = ctx;
        _progress = progress;
        _progress.CompletedOperations = () => ctx.CompletedOperations();
        _progress.Faults = ctx.Faults;
        _phaseTimeout = phaseTimeout ?? TimeSpan.FromSeconds(120);
        Receive<RunScenario>(m =>
        {
            _replyTo = m.ReplyTo;
            Deploy();
        });
    }

    private const string ComposingWithoutProgress = "composing vdevs and programming vectors, with no progress in that time";

    /// <summary>Asks the VDCMs for up to <paramref name="count"/> more vdevs, in container order.</summary>
    private void ComposeMore(int count)
    {
        var aisPerVdev = _ctx.Scenario.Composition.AisPerVdev;
        for (; count > 0 && _nextCompose < _containers.Count; count--)
        {
            var c = _containers[_nextCompose++];
            _ctx.Directory.Tell(new VdcmProtocol.ComposeVdev(new HostId(c.Host), new ContainerId((int)c.Key), aisPerVdev, Self));
        }
    }

    /// <summary>Interrupted before the measured window: nothing was measured, so there is no report to give.</summary>
    private void InterruptedBeforeWindow() => Receive<EndEarly>(_ => Fail($"interrupted while {_progress.Phase.ToString().ToLowerInvariant()}, before the measured window opened"));

    private void Composing()
    {
        Receive<ContainerProtocol.ContainerReady>(_ =>
        {
            ComposeMore(1);
            if (++_progress.ContainersReady % 256 == 0) ArmTimeout(ComposingWithoutProgress);
            if (--_pending > 0) return;
            _progress.Phase = RunPhase.Running;
            _opsAtStart = _ctx.Metrics.OperationsCompleted;
            _ctx.Metrics.Noise = SivActors.Model.Reporting.NoisePhase.WarmUp;
            _irqAtStart = _ctx.Metrics.InterruptsRaised;
            _startTicks = Stopwatch.GetTimestamp();
            _onWindow?.Invoke(true);
            _progress.OperationsAtStart = _ctx.CompletedOperations();
            _progress.RunStartTicks = _startTicks;
            Timers.StartSingleTimer("duration", DurationElapsed.Instance, TimeSpan.FromSeconds(_ctx.Scenario.DurationSeconds));
            StartSampling();
            if (_ctx.Faults.Stats.Count > 0)
            {
                _injector = Context.ActorOf(Faults.FaultInjectorActor.Props(_ctx, _startTicks).OnControlThread(Context.System), "faults");
            }
            StartLoad();
        });
        Receive<PauseLoad>(m => _pauseWaiters.Add(m));
        InterruptedBeforeWindow();
        Failures();
    }

    private void StartLoad()
    {
        Timers.Cancel("timeout");
        foreach (var c in _containers) _ctx.Directory.Tell(new ContainerProtocol.StartWorkload(new ContainerId((int)c.Key), new HostId(c.Host)));
        Become(Running);
        Stash.UnstashAll();
        if (_pauseWaiters.Count > 0) Pause();
    }

    private void Running()
    {
        Sampling();
        Receive<EndEarly>(_ =>
        {
            _interrupted = true;
            Timers.Cancel("duration");
            Self.Tell(DurationElapsed.Instance);
        });
        Receive<DurationElapsed>(_ =>
        {
            _stopTicks = Stopwatch.GetTimestamp();
            _ctx.SampleTrace(Seconds(_stopTicks));
            StopSampling();
            _onWindow?.Invoke(false);
            _opsAtStop = _ctx.Metrics.OperationsCompleted;
            _noisyAtStop = _ctx.Metrics.NoisyOperations;
            _irqAtStop = _ctx.Metrics.InterruptsRaised;
            Quiesce(RunPhase.Draining, () =>
            {
                Timers.CancelAll();
                // Stopped only now: its delay lines may hold messages until the load has drained.
                if (_injector is { } injector) Context.Stop(injector);
                _progress.Phase = RunPhase.Done;
                // A node that asked to leave meanwhile may go now: nothing of this run moves any more.
                AnswerPauseWaiters();
                _replyTo.Tell(new RunFinished(_startTicks, _stopTicks, _opsAtStart, _irqAtStart, _opsAtStop, _irqAtStop, _containers.Count, _ais.Count,
                    _pausedTicks) { Interrupted = _interrupted, TenantOperations = _tenantOperations.Values.ToArray(), Noise = NoiseTotals() });
                Become(() => Receive<PauseLoad>(m => m.ReplyTo.Tell(new LoadPaused(m.Reason))));
            });
        });
        Receive<PauseLoad>(m =>
        {
            _pauseWaiters.Add(m);
            Pause();
        });
        Failures();
    }

    /// <summary>
    /// Stops the load the way the run's end does (drain, flush upstream, harvest), so nothing is in flight while
    /// shards move; the load starts again on <see cref="ResumeLoad"/>. The run's duration keeps counting.
    /// </summary>
    private void Pause()
    {
        _pauseStartTicks = Stopwatch.GetTimestamp();
        Quiesce(RunPhase.Paused, () =>
        {
            AnswerPauseWaiters();
            Become(Paused);
        });
    }

    private void Paused()
    {
        Receive<PauseLoad>(m => m.ReplyTo.Tell(new LoadPaused(m.Reason)));
        Receive<ResumeLoad>(_ =>
        {
            _pausedTicks += Stopwatch.GetTimestamp() - _pauseStartTicks;
            _progress.Phase = RunPhase.Running;
            StartLoad();
        });
        Receive<DurationElapsed>(_ => Stash.Stash());
        Receive<EndEarly>(_ => EndWhenRunningAgain());
        Failures();
    }

    /// <summary>An interruption while the load is paused or pausing: the window ends as soon as the load runs again.</summary>
    private void EndWhenRunningAgain()
    {
        if (_stopTicks != 0) return; // the window has ended already: the run is only draining
        _interrupted = true;
        Timers.Cancel("duration");
        Stash.Prepend([new Envelope(DurationElapsed.Instance, Self)]);
    }

    private void AnswerPauseWaiters()
    {
        foreach (var w in _pauseWaiters) w.ReplyTo.Tell(new LoadPaused(w.Reason));
        _pauseWaiters.Clear();
    }

    /// <summary>Every container drains, then every upstream path is flushed, then posted interrupts are harvested.</summary>
    private void Quiesce(RunPhase phase, Action whenQuiet)
    {
        _whenQuiet = whenQuiet;
        _progress.Phase = phase;
        _progress.ContainersDrained = 0;
        foreach (var c in _containers) _undrained.Add((int)c.Key);
        foreach (var c in _containers)
            _ctx.Directory.Tell(new ContainerProtocol.StopWorkload(new ContainerId((int)c.Key), new HostId(c.Host), Self));
        Become(Draining);
        ArmTimeout("draining outstanding descriptors");
        ArmResend();
    }

    // After the load the runner asks every container and AI once more; requests that were in flight to a node that
    // was lost are asked again every few seconds (each answer counts once), so a run survives a node's loss.
    private void ArmResend() => Timers.StartPeriodicTimer("resend", Resend.Instance, TimeSpan.FromSeconds(2));

    /// <summary>While quiescing: the run's end and further pause requests wait until the load is quiet.</summary>
    private void WhileQuiescing()
    {
        Sampling();
        Receive<DurationElapsed>(_ => Stash.Stash());
        Receive<EndEarly>(_ => EndWhenRunningAgain());
        Receive<PauseLoad>(m => _pauseWaiters.Add(m));
        Failures();
    }

    private void Draining()
    {
        Receive<Resend>(_ =>
        {
            foreach (var id in _undrained)
                _ctx.Directory.Tell(new ContainerProtocol.StopWorkload(new ContainerId(id), _ctx.HostOf(new ContainerId(id)), Self));
        });
        Receive<ContainerProtocol.ContainerDrained>(m =>
        {
            _tenantOperations[m.Container.Value] = m.Completed;
            if (!_undrained.Remove(m.Container.Value)) return;
            _progress.ContainersDrained++;
            if (_undrained.Count > 0) return;
            if (_progress.Phase == RunPhase.Draining) _progress.Phase = RunPhase.Flushing;
            // A marker through the interrupt unit and one through DMA remapping per AI.
            foreach (var ai in _ais)
            {
                _unflushed.Add((ai.AsAiId(), EntityKind.InterruptUnit));
                _unflushed.Add((ai.AsAiId(), EntityKind.DmaRemapping));
                _ctx.Directory.Tell(new AssignableInterfaceProtocol.FlushUpstream(ai.AsAiId(), Self));
            }
            Become(FlushingUpstream);
            ArmTimeout("flushing upstream writes");
        });
        WhileQuiescing();
    }

    private void FlushingUpstream()
    {
        Receive<Resend>(_ =>
        {
            foreach (var ai in _unflushed.Select(u => u.Ai).Distinct())
                _ctx.Directory.Tell(new AssignableInterfaceProtocol.FlushUpstream(ai, Self));
        });
        Receive<InterruptUnitProtocol.UpstreamFlushed>(m =>
        {
            if (!_unflushed.Remove((m.Ai, m.Unit)) || _unflushed.Count > 0) return;
            foreach (var c in _containers)
            {
                _unharvested.Add((int)c.Key);
                _ctx.Directory.Tell(new ContainerProtocol.FlushInterrupts(new ContainerId((int)c.Key), new HostId(c.Host), Self));
            }
            Become(FlushingContainers);
            ArmTimeout("harvesting posted interrupts");
        });
        WhileQuiescing();
    }

    private void FlushingContainers()
    {
        Receive<Resend>(_ =>
        {
            foreach (var id in _unharvested)
                _ctx.Directory.Tell(new ContainerProtocol.FlushInterrupts(new ContainerId(id), _ctx.HostOf(new ContainerId(id)), Self));
        });
        Receive<ContainerProtocol.ContainerFlushed>(m =>
        {
            if (!_unharvested.Remove(m.Container.Value) || _unharvested.Count > 0) return;
            Timers.Cancel("timeout");
            Timers.Cancel("resend");
            _whenQuiet();
        });
        WhileQuiescing();
    }

    private void Failures()
    {
        Receive<ContainerProtocol.ContainerFailed>(m => Fail($"{m.Container}: {m.Reason}"));
        Receive<PhaseTimedOut>(m =>
        {
            // Name a few of the containers still being waited on, so a hang can be traced to an entity.
            var which = _undrained.Count > 0
                ? "; e.g. " + string.Join(", ", _undrained.Order().Take(5).Select(id => new ContainerId(id).ToString()))
                : "";
            var failures = _ctx.Metrics.EntityFailures > 0
                ? $"; {_ctx.Metrics.EntityFailures} entity failure(s), first: {_ctx.Metrics.FirstEntityFailure}"
                : "";
            var pending = _undrained.Count > 0 ? _undrained.Count : _unflushed.Count > 0 ? _unflushed.Count : _unharvested.Count > 0 ? _unharvested.Count : _undeployed.Count > 0 ? _undeployed.Count : _pending;
            Fail($"timed out after {_phaseTimeout.TotalSeconds:0} s while {m.What} ({pending} still pending{which}){failures}");
        });
    }

    private void Fail(string reason)
    {
        Timers.CancelAll();
        StopSampling();
        _progress.Phase = RunPhase.Failed;
        _replyTo.Tell(new RunFailed(reason));
        Become(() => { });
    }

    private void ArmTimeout(string what) => Timers.StartSingleTimer("timeout", new PhaseTimedOut(what), _phaseTimeout);

    private sealed record PhaseTimedOut(string What) : INoSerializationVerificationNeeded;

    private sealed class Resend : INoSerializationVerificationNeeded
    {
        public static readonly Resend Instance = new();
    }

    private sealed class DurationElapsed : INoSerializationVerificationNeeded
    {
        public static readonly DurationElapsed Instance = new();
    }

    public static Props Props(EmulatorContext ctx, RunProgress progress, TimeSpan? phaseTimeout = null, Action<bool>? onWindow = null,
        int composeWindow = DefaultComposeWindow, TimeSpan? deployResendAfter = null) =>
        Akka.Actor.Props.Create(() => new ScenarioRunnerActor(ctx, progress, phaseTimeout, onWindow, composeWindow, deployResendAfter));
}
