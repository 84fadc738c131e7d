using Akka.Actor;
using SivActors.Actors.Hosting;
using SivActors.Actors.Wire;

namespace SivActors.Actors.Run;

/// <summary>Messages of the scenario runner.</summary>
public static class RunProtocol
{
    /// <summary>Deploy, run for the scenario's duration, drain, flush; answered with <see cref="RunFinished"/> or <see cref="RunFailed"/>.</summary>
    public sealed record RunScenario(IActorRef ReplyTo) : ISivMessage;

    public sealed record RunFinished(long StartTicks, long StopTicks, long OperationsAtStart, long InterruptsAtStart, long OperationsAtStop, long InterruptsAtStop,
        int Containers, int Ais, long PausedTicks = 0) : ISivMessage
    {
        /// <summary>The window ended early on <see cref="EndEarly"/>.</summary>
        public bool Interrupted { get; init; }

        /// <summary>Operations each container completed over the run, one count per container (for fairness).</summary>
        public IReadOnlyList<long> TenantOperations { get; init; } = [];

        /// <summary>A noisy-neighbour run's running totals (single node; null otherwise).</summary>
        public SivActors.Model.Reporting.NoisePhaseTotals? Noise { get; init; }
    }

    /// <summary>
    /// The user interrupted the run (a signal): in the measured window, end it now and drain as at its end; before
    /// the window opens, give up with <see cref="RunFailed"/>. Local to the node that runs the scenario.
    /// </summary>
    public sealed class EndEarly : INoSerializationVerificationNeeded
    {
        public static readonly EndEarly Instance = new();
    }

    /// <summary>
    /// Stop the load until <see cref="ResumeLoad"/>: every container drains and every path is flushed, then the
    /// runner answers <see cref="LoadPaused"/> (at once if already paused; at the run's end if it is ending).
    /// Sent before shards move, so that nothing is in flight in an entity that stops.
    /// </summary>
    public sealed record PauseLoad(string Reason, IActorRef ReplyTo) : ISivMessage;

    public sealed record LoadPaused(string Reason) : ISivMessage;

    public sealed record ResumeLoad(string Reason) : ISivMessage;

    public sealed record RunFailed(string Reason) : ISivMessage;
}

public enum RunPhase
{
    Starting,
    Deploying,
    Composing,
    Running,
    /// <summary>The load is stopped while shards move (a node leaves or joins); it resumes afterwards.</summary>
    Paused,
    Draining,
    Flushing,
    Done,
    Failed,
}

/// <summary>Shared with the CLI for its progress display; written only by the runner.</summary>
public sealed class RunProgress
{
    private int _phase;
    private int _ready;
    private int _deployed;
    private int _drained;

    public RunPhase Phase
    {
        get => (RunPhase)Volatile.Read(ref _phase);
        set => Volatile.Write(ref _phase, (int)value);
    }

    /// <summary>Entities (devices, AIs, containers) the runner asks for before composing, and how many answered so far.</summary>
    public int EntitiesToDeploy { get; set; }

    public int EntitiesDeployed
    {
        get => Volatile.Read(ref _deployed);
        set => Volatile.Write(ref _deployed, value);
    }

    public int ContainersReady
    {
        get => Volatile.Read(ref _ready);
        set => Volatile.Write(ref _ready, value);
    }

    public int ContainersDrained
    {
        get => Volatile.Read(ref _drained);
        set => Volatile.Write(ref _drained, value);
    }

    public long RunStartTicks { get; set; }

    /// <summary>Operations completed when the run started, to show a live rate.</summary>
    public long OperationsAtStart { get; set; }

    /// <summary>Operations completed so far (a cluster's driver adds up its workers' latest figures).</summary>
    public Func<long>? CompletedOperations { get; set; }

    /// <summary>The node's fault plane, to mark each scheduled fault on the progress line when it fires.</summary>
    public SivActors.Model.Faults.FaultPlane? Faults { get; set; }
}
