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
public sealed class LostMessageListener : ReceiveActor
{
    public LostMessageListener(RunMetrics metrics)
    {
        Receive<DeadLetter>(d =>
        {
            // A table owner's dead letters wait at its parent for the restarted owner, and a sharded entity's go
            // again through its region (EntityLocator): delayed, not lost.
            if (!Infrastructure.SivEmulatorHosting.IsRestartedOnFailure(d.Recipient.Path) && !Infrastructure.EntityLocator.WillReroute(d))
                Count(d.Message, metrics);
        });
        Receive<Dropped>(d => Count(d.Message, metrics));
    }

    private static void Count(object message, RunMetrics metrics) => BookIfInterrupt(message, metrics);

    /// <summary>
    /// Books <paramref name="message"/> as lost if it is an interrupt in transit (dead-lettered, dropped by a fault,
    /// or beyond a restarting entity's buffer); false for any other message.
    /// </summary>
    public static bool BookIfInterrupt(object message, RunMetrics metrics)
    {
        if (message is not (InterruptUnitProtocol.RaiseInterrupt or ContainerProtocol.InterruptDelivered)) return false;
        metrics.InterruptLost();
        // A forged interrupt that never reached the interrupt unit was never judged: the rogue ledger owes it as lost.
        if (message is InterruptUnitProtocol.RaiseInterrupt { Forgery: not null }) metrics.RogueLostInTransit();
        return true;
    }

    protected override void PreStart()
    {
        Context.System.EventStream.Subscribe(Self, typeof(DeadLetter));
        Context.System.EventStream.Subscribe(Self, typeof(Dropped));
    }

    public static Props Props(RunMetrics metrics) => Akka.Actor.Props.Create(() => new LostMessageListener(metrics));
}
