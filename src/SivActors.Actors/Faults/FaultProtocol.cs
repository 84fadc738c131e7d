using Akka.Actor;
using SivActors.Actors.Entities;
using SivActors.Actors.Wire;
using SivActors.Model.Faults;

namespace SivActors.Actors.Faults;

/// <summary>Messages of the fault injector (docs/faults.md).</summary>
public static class FaultProtocol
{
    /// <summary>
    /// kill-actor: the entity crashes at once and its supervisor restarts it (<see cref="InjectedCrash"/>); its
    /// mailbox waits for the successor, which restores its state (from the journal, or from its VDCM). A table owner
    /// crashes at the first moment no journal write of its own is in flight.
    /// </summary>
    public sealed record InjectedKill(EntityAddress Address, int Fault) : IEntityMessage, ISivMessage
    {
        public EntityAddress Target => Address;
    }

    /// <summary>
    /// A message held on a hop under a delay fault, released at <paramref name="DueTicks"/>: to its entity through
    /// the directory, or to <paramref name="To"/> when it is an answer to a known actor.
    /// </summary>
    internal sealed record Delayed(object Message, IActorRef? To, IActorRef? Sender, long DueTicks) : INoSerializationVerificationNeeded;
}

/// <summary>Which part of a scenario's fault timeline a node's injector fires.</summary>
public enum InjectorRole
{
    /// <summary>`siv run` on one node: every kind but those that act on a cluster's nodes.</summary>
    SingleNode,

    /// <summary>
    /// A cluster run's driver: every fault's clock and record. Faults on named entities (kill-actor,
    /// surprise-remove) go through the sharded directory to wherever the entity lives; faults on nodes go to
    /// <see cref="INodeFaults"/>. Faults read on the hot path are armed here too, where nothing reads them.
    /// </summary>
    Driver,

    /// <summary>
    /// A cluster run's worker: arms the faults the hot path reads (drop, delay, journal faults, rogue storms, stale
    /// entry caches) on its own node, and leaves the rest to the driver. What they did goes to the driver with the
    /// node's figures.
    /// </summary>
    Worker,
}

/// <summary>How a cluster run injects the faults that act on whole nodes: the driver crashes, a worker cuts its own links.</summary>
public interface INodeFaults
{
    /// <summary>Ends worker <c>node:N</c>'s process abruptly; a note for the report when it cannot (null when sent).</summary>
    string? Crash(FaultStats stats);

    /// <summary>
    /// Worker <c>node:N</c> cuts itself off from every other member for the fault's <c>for</c> (the worker's side);
    /// the driver watches for its unreachability (the driver's side). A note when it cannot.
    /// </summary>
    string? Partition(FaultStats stats);

    /// <summary>The partition's end: the worker that cut its links heals them; nothing on the driver.</summary>
    void Heal(FaultStats stats);

    /// <summary>
    /// A crashed worker comes back: its keeper (<c>siv node --restartable</c>) started it again, told at the crash;
    /// the driver counts it when the new incarnation is Up. A note when it cannot.
    /// </summary>
    string? Restart(FaultStats stats);
}
