using System.Diagnostics;
using Akka.Actor;
using SivActors.Actors.AssignableInterface;
using SivActors.Actors.Container;
using SivActors.Actors.DmaRemapping;
using SivActors.Actors.InterruptUnit;
using SivActors.Model.Faults;
using SivActors.Model.Reporting;

namespace SivActors.Actors.Faults;

/// <summary>
/// Applies drop and delay faults where messages leave a sender: in the node's directory, before the Tell. A message
/// is classified by its hop only while some hop is armed. A drop loses the message and counts it where the ledger
/// owes it (an interrupt lost in transit, exactly); markers that flush a hop are never dropped. A delay hands every
/// message of the hop, markers included, to the hop's delay line, and so does every message that follows while the
/// line still holds some: a hop stays in order, so a flush still follows the traffic it flushes.
/// </summary>
public sealed class HopInterceptor(FaultPlane plane, RunMetrics metrics)
{
    private readonly IActorRef?[] _lines = new IActorRef?[Enum.GetValues<Hop>().Length];

    public void SetLine(Hop hop, IActorRef line) => _lines[(int)hop] = line;

    /// <summary>True if the message was taken (dropped or delayed); the directory then does not send it.</summary>
    public bool Intercept(Entities.IEntityMessage message, IActorRef? sender)
    {
        if (!plane.HopsArmed || Classify(message) is not { } c) return false;
        var rule = plane.Rule(c.Hop);
        if (rule is { Fault.Kind: FaultKind.Drop } && c.Droppable && rule.DropsNext())
        {
            var fate = Run.LostMessageListener.BookIfInterrupt(message, metrics);
            rule.Stats.Touched();
            if (fate == Run.InterruptFate.Lost) rule.Stats.LostOne();
            return true;
        }
        var delaying = rule is { Fault.Kind: FaultKind.Delay };
        if (!delaying && !plane.Holding(c.Hop)) return false;
        if (_lines[(int)c.Hop] is not { } line) return false;
        var due = Stopwatch.GetTimestamp() + (delaying ? (long)(rule!.Fault.DelayMs * Stopwatch.Frequency / 1000) : 0);
        plane.Hold(c.Hop);
        if (delaying) rule!.Stats.Touched();
        line.Tell(new FaultProtocol.Delayed(message, null, sender, due));
        return true;
    }

    /// <summary>
    /// Queues <paramref name="answer"/> to <paramref name="to"/> behind what <paramref name="hop"/> holds, if it holds
    /// anything (not delayed itself: it only waits for what was sent before it). False when the hop is clear.
    /// </summary>
    public bool Behind(Hop hop, IActorRef to, object answer, IActorRef sender)
    {
        if (!plane.HopsArmed || !plane.Holding(hop) || _lines[(int)hop] is not { } line) return false;
        plane.Hold(hop);
        line.Tell(new FaultProtocol.Delayed(answer, to, sender, 0));
        return true;
    }

    /// <summary>
    /// Queues <paramref name="message"/> for its entity behind what <paramref name="hop"/> holds, if it holds anything
    /// (not delayed itself). False when the hop is clear: the caller then sends it as usual.
    /// </summary>
    public bool Behind(Hop hop, Entities.IEntityMessage message, IActorRef sender)
    {
        if (!plane.HopsArmed || !plane.Holding(hop) || _lines[(int)hop] is not { } line) return false;
        plane.Hold(hop);
        line.Tell(new FaultProtocol.Delayed(message, null, sender, 0));
        return true;
    }

    private static (Hop Hop, bool Droppable)? Classify(Entities.IEntityMessage m) => m switch
    {
        InterruptUnitProtocol.RaiseInterrupt => (Hop.AiToInterruptUnit, true),
        InterruptUnitProtocol.FlushFrom => (Hop.AiToInterruptUnit, false),
        ContainerProtocol.InterruptDelivered => (Hop.InterruptUnitToContainer, true),
        ContainerProtocol.FlushInterrupts => (Hop.InterruptUnitToContainer, false),
        DmaRemappingProtocol.DmaRead or DmaRemappingProtocol.DmaWrite or DmaRemappingProtocol.FlushFrom => (Hop.AiToDmaUnit, false),
        AssignableInterfaceProtocol.PortalWrite => (Hop.ContainerToAi, false),
        _ => null,
    };
}
