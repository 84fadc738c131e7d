using SivActors.Actors.Hosting;
using SivActors.Actors.Wire;
using SivActors.Model.Reporting;

namespace SivActors.Actors.Cluster;

/// <summary>Messages between a run's driver and each worker's node agent (/user/siv-agent).</summary>
public static class ClusterProtocol
{
    public const string AgentName = "siv-agent";

    /// <summary>Where a worker's agent lives.</summary>
    public static Akka.Actor.ActorPath AgentPath(Akka.Actor.Address worker) => new Akka.Actor.RootActorPath(worker) / "user" / AgentName;

    /// <summary>
    /// The scenario (and its cost model) as their JSON documents: the workers build the same context. Each agent then
    /// sends its <see cref="NodeMetrics"/> to <paramref name="ReportTo"/> twice a second, so a node lost mid-run
    /// still has figures.
    /// </summary>
    public sealed record DeployScenario(string RunId, string ScenarioJson, string CostModelJson, string Source, Akka.Actor.IActorRef ReportTo) : ISivMessage;

    public sealed record ScenarioDeployed(string RunId, string Node, string? Error) : ISivMessage;

    /// <summary>
    /// A worker's table owner found its stored tables undecodable (a corrupt event, an unknown format): the run
    /// cannot go on, and the driver says so in one line instead of waiting for a deploy timeout.
    /// </summary>
    public sealed record TableUnrecoverableOnNode(string Node, string PersistenceId, long LastGoodSequenceNr, string Reason) : ISivMessage;

    /// <summary>Marks the start (true) or end (false) of the measured window on every node.</summary>
    public sealed record MarkWindow(string RunId, bool Start) : ISivMessage
    {
        /// <summary>
        /// For a worker that joins an open window (a restarted one): how long the window has been open, in
        /// microseconds, so its figures and its faults keep the run's clock.
        /// </summary>
        public long OpenForUs { get; init; }
    }

    public sealed record CollectMetrics(string RunId) : ISivMessage;

    /// <summary>
    /// One node's figures: operations and interrupts inside the measured window, messages it sent to entities (hops)
    /// and messages that reached it from another node, and all its counters and histograms.
    /// </summary>
    public sealed record NodeMetrics(string RunId, string Node, long WindowOperations, long WindowInterrupts, long Hops, long RemoteHops, MetricsExport Metrics)
        : ISivMessage
    {
        /// <summary>What each scheduled fault did on this node so far (faults that did nothing here are left out).</summary>
        public IReadOnlyList<SivActors.Model.Faults.FaultCounts> Faults { get; init; } = [];

        /// <summary>
        /// When these figures were taken, in microseconds of this node's own measured window (0 before it opens): the
        /// driver places <see cref="WindowOperations"/> on the run's timeline by it, not by when the report arrived.
        /// </summary>
        public long WindowUs { get; init; }

        /// <summary>The reporting node's incarnation (its cluster UID): a restarted worker reports under the same address.</summary>
        public long Incarnation { get; init; }
    }

    /// <summary>
    /// A crash-node fault: the worker's process ends at once, without leaving the cluster or answering (SIGKILL of
    /// itself), as a machine that loses power does. Its shards move to the survivors once the split brain resolver
    /// downs it.
    /// </summary>
    public sealed record CrashNode(string RunId, int Fault) : ISivMessage
    {
        /// <summary>A restart-node brings the worker back this long after the crash (0: it stays down); its keeper acts on it.</summary>
        public int RestartAfterMs { get; init; }
    }

    /// <summary>
    /// A worker that was told to stop (SIGTERM) asks the run's driver before it leaves: its shards will move, so the
    /// driver pauses the load first and answers <see cref="LeaveGranted"/>.
    /// </summary>
    public sealed record RequestLeave(string RunId, string Node, Akka.Actor.IActorRef Agent) : ISivMessage;

    public sealed record LeaveGranted(string RunId) : ISivMessage;

    /// <summary>The leaver's final figures, sent once the load is paused; the driver books them as a node that left, not one lost.</summary>
    public sealed record NodeLeaving(NodeMetrics Final) : ISivMessage;

    public sealed record LeaveRecorded(string RunId) : ISivMessage;

    /// <summary>
    /// After shards moved: every node drops the references it cached to the entities of the node that left
    /// (<paramref name="Address"/>), or, when it is empty, to every entity on another node (a rebalance).
    /// </summary>
    public sealed record ForgetNode(string RunId, string Address) : ISivMessage;

    /// <summary>Opens or closes the node's <see cref="Hosting.RebalanceGate"/>; answered with <see cref="RebalanceAllowed"/>.</summary>
    public sealed record AllowRebalance(string RunId, bool Open) : ISivMessage;

    public sealed record RebalanceAllowed(string RunId, string Node, bool Open) : ISivMessage;

    public sealed record NodeForgotten(string RunId, string Node) : ISivMessage;

    /// <summary>
    /// A partition fault: the node cuts (or, with <paramref name="Heal"/>, restores) its links to
    /// <paramref name="Peers"/> (node addresses) with <see cref="NetworkLinks"/>; answered with <see cref="LinksCut"/>.
    /// </summary>
    public sealed record CutLinks(string RunId, IReadOnlyList<string> Peers, bool Heal) : ISivMessage;

    /// <summary>The node applied <see cref="CutLinks"/>, or could not (<paramref name="Error"/>).</summary>
    public sealed record LinksCut(string RunId, string Node, bool Heal, string? Error) : ISivMessage;

    /// <summary>From the worker's own process to its agent (never on the wire): may this node leave now?</summary>
    public sealed record PrepareToLeave : Akka.Actor.INoSerializationVerificationNeeded;

    /// <summary>The agent's answer: the driver recorded this node's figures, or there is no run to wait for.</summary>
    public sealed record ReadyToLeave(string Why) : Akka.Actor.INoSerializationVerificationNeeded;
}
