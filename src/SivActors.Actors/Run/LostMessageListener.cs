using Akka.Actor;
using Akka.Event;
using SivActors.Actors.Container;
using SivActors.Actors.InterruptUnit;
using SivActors.Model.Reporting;

namespace SivActors.Actors.Run;

/// <summary>
/// Counts interrupts that died on the way (dead letters: an actor stopped, a node went away) as the ledger's
/// "lost", so they are measured rather than inferred from the balance.
/// </summary>
public enum InterruptFate
{
    NotAnInterrupt,
    Lost,
    /// <summary>
    /// Reliable delivery: one attempt gone (dropped in transit); the AI's outbox sends the interrupt again. A forged
    /// one is not sent again, and is owed to the rogue ledger only.
    /// </summary>
    Attempt,
}

public sealed class LostMessageListener : ReceiveActor
{
    public LostMessageListener(RunMetrics metrics)
    {
        Receive<DeadLetter>(d =>
        {
            // A table owner's dead letters wait at its parent for the restarted owner, and a sharded entity's go
            // again through its region (EntityLocator): delayed, not lost.
            if (!Hosting.SivEmulatorHosting.IsRestartedOnFailure(d.Recipient.Path) && !Entities.EntityLocator.WillReroute(d))
                Count(d.Message, metrics);
        });
        Receive<Dropped>(d => Count(d.Message, metrics));
    }

    private static void Count(object message, RunMetrics metrics) => BookIfInterrupt(message, metrics);

    /// <summary>
    /// Books <paramref name="message"/> if it is an interrupt in transit (dead-lettered, dropped by a fault, or beyond
    /// a restarting entity's buffer): lost in hardware delivery; in reliable delivery an attempt dropped in transit,
    /// which its AI sends again. A forged one is not sent again: it is lost to the rogue ledger in either mode.
    /// </summary>
    public static InterruptFate BookIfInterrupt(object message, RunMetrics metrics)
    {
        if (message is not (InterruptUnitProtocol.RaiseInterrupt or ContainerProtocol.InterruptDelivered)) return InterruptFate.NotAnInterrupt;
        var forged = message is InterruptUnitProtocol.RaiseInterrupt { Forgery: not null };
        // A forged interrupt that never reached the interrupt unit was never judged: the rogue ledger owes it as lost.
        if (forged) metrics.RogueLostInTransit();
        if (!metrics.ReliableDelivery)
        {
            metrics.InterruptLost();
            return InterruptFate.Lost;
        }
        metrics.InterruptDroppedInTransit();
        return InterruptFate.Attempt;
    }

    protected override void PreStart()
    {
        Context.System.EventStream.Subscribe(Self, typeof(DeadLetter));
        Context.System.EventStream.Subscribe(Self, typeof(Dropped));
    }

    public static Props Props(RunMetrics metrics) => Akka.Actor.Props.Create(() => new LostMessageListener(metrics));
}
