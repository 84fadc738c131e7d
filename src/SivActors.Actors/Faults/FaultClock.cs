using System.Diagnostics;
using Akka.Actor;

namespace SivActors.Actors.Faults;

/// <summary>
/// Tells messages to an actor at their due time from a thread of its own. Akka's scheduler on .NET 6+ runs its tick
/// loop as continuations on the .NET thread pool, queued globally; under full load the pool's threads serve their
/// local queues first, and the scheduler's ticks came up to 3.8 s late (measured in the fault tests while a thread
/// sleeping in a loop beside it woke on time). A fault timeline must fire when it says, so the injector keeps its
/// time here (decision 45).
/// </summary>
public sealed class FaultClock : IDisposable
{
    private readonly PriorityQueue<(IActorRef To, object Message), long> _due = new();
    private readonly object _lock = new(); // Monitor.Wait needs an object, not a Lock
    private bool _stopped;

    public FaultClock(string name) => new Thread(Run) { IsBackground = true, Name = name }.Start();

    public void Schedule(TimeSpan delay, IActorRef to, object message)
    {
        var at = Stopwatch.GetTimestamp() + (long)(Math.Max(0, delay.TotalSeconds) * Stopwatch.Frequency);
        lock (_lock)
        {
            _due.Enqueue((to, message), at);
            Monitor.PulseAll(_lock);
        }
    }

    private void Run()
    {
        lock (_lock)
        {
            while (!_stopped)
            {
                if (!_due.TryPeek(out var next, out var at))
                {
                    Monitor.Wait(_lock);
                    continue;
                }
                var wait = at - Stopwatch.GetTimestamp();
                if (wait > 0)
                {
                    Monitor.Wait(_lock, TimeSpan.FromSeconds(wait / (double)Stopwatch.Frequency));
                    continue;
                }
                _due.Dequeue();
                next.To.Tell(next.Message, ActorRefs.NoSender);
            }
        }
    }

    public void Dispose()
    {
        lock (_lock)
        {
            _stopped = true;
            Monitor.PulseAll(_lock);
        }
    }
}
