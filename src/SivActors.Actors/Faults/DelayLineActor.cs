using System.Diagnostics;
using Akka.Actor;
using SivActors.Actors.Entities;
using SivActors.Actors.Wire;
using SivActors.Model.Faults;

namespace SivActors.Actors.Faults;

/// <summary>
/// One hop's delay line: holds its messages in arrival order and releases each at its due time, straight to its
/// target (past the interceptor). First in, first out, so the hop keeps its order under a delay.
/// </summary>
public sealed class DelayLineActor : ReceiveActor, IWithTimers
{
    private readonly Queue<FaultProtocol.Delayed> _queue = new();

    public ITimerScheduler Timers { get; set; } = null!;

    public DelayLineActor(EntityDirectory directory, FaultPlane plane, Hop hop)
    {
        Receive<FaultProtocol.Delayed>(d =>
        {
            _queue.Enqueue(d);
            if (_queue.Count == 1) Arm();
        });
        Receive<Tick>(_ =>
        {
            var now = Stopwatch.GetTimestamp();
            while (_queue.TryPeek(out var head) && head.DueTicks <= now)
            {
                _queue.Dequeue();
                if (head.To is { } to) to.Tell(head.Message, head.Sender ?? ActorRefs.NoSender);
                else directory.Deliver((IEntityMessage)head.Message, head.Sender);
                plane.Release(hop);
            }
            Arm();
        });
    }

    private void Arm()
    {
        if (!_queue.TryPeek(out var head)) return;
        var wait = Math.Max(0, head.DueTicks - Stopwatch.GetTimestamp());
        Timers.StartSingleTimer(Tick.Instance, Tick.Instance, TimeSpan.FromTicks(wait * TimeSpan.TicksPerSecond / Stopwatch.Frequency));
    }

    private sealed class Tick : INoSerializationVerificationNeeded
    {
        public static readonly Tick Instance = new();
    }

    public static Props Props(EntityDirectory directory, FaultPlane plane, Hop hop) =>
        Akka.Actor.Props.Create(() => new DelayLineActor(directory, plane, hop));
}
