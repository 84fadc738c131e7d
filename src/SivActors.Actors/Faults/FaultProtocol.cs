using Akka.Actor;
using SivActors.Actors.Infrastructure;

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
