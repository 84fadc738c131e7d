using System.Diagnostics;
using Akka.Actor;
using SivActors.Actors.Delivery;
using SivActors.Actors.DmaRemapping;
using SivActors.Actors.InterruptUnit;

namespace SivActors.Actors.AssignableInterface;

/// <summary>An AI's upstream flush at a run's end, and reliable delivery's resending of unacknowledged interrupts (decision 38).</summary>
public sealed partial class AssignableInterfaceActor
{
    private void Flush(IActorRef replyTo)
    {
        _ctx.Directory.Tell(new InterruptUnitProtocol.FlushFrom(_host, _id, replyTo));
        _ctx.Directory.Tell(new DmaRemappingProtocol.FlushFrom(_host, _id, replyTo));
    }

    private void FlushIfJudged()
    {
        if (_flushWaiters.Count == 0 || _outbox!.Count > 0) return;
        foreach (var w in _flushWaiters) Flush(w);
        _flushWaiters.Clear();
    }

    private void ArmResend()
    {
        if (_resendArmed) return;
        _resendArmed = true;
        Timers.StartPeriodicTimer(ResendDue.Instance, ResendDue.Instance, ReliableInterrupts.Tick);
    }

    /// <summary>Sends again, in order, every interrupt whose acknowledgement is overdue, with the current watermark.</summary>
    private void ResendDueInterrupts()
    {
        var outbox = _outbox!;
        var now = Stopwatch.GetTimestamp();
        if (_flushWaiters.Count > 0 && now >= _flushDeadline)
        {
            // Every attempt of these was lost for the whole patience: lost, so the run can end and say so.
            _ctx.Metrics.InterruptsUnrecovered(outbox.Clear());
            FlushIfJudged();
        }
        if (outbox.Count == 0)
        {
            Timers.Cancel(ResendDue.Instance);
            _resendArmed = false;
            return;
        }
        _due.Clear();
        outbox.TakeDue(now, _due);
        if (_due.Count == 0) return;
        var watermark = outbox.Watermark;
        foreach (var (seq, raise, _) in _due) _ctx.Directory.Tell(raise with { Outbox = new InterruptUnitProtocol.OutboxStamp(seq, watermark) });
        _ctx.Metrics.InterruptRetransmitted(_due.Count);
    }

    private sealed class ResendDue : INoSerializationVerificationNeeded
    {
        public static readonly ResendDue Instance = new();
    }
}
