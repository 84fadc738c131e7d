using Akka.Actor;
using SivActors.Actors.Wire;

namespace SivActors.Actors.Hosting;

/// <summary>
/// A thread of its own for the actors that keep a run's time: the scenario runner (the window's end, phase
/// timeouts) and the fault injector (each fault's <c>at</c> and <c>for</c>). Akka's default executor queues an
/// actor's next turn on the current pool thread's local queue, and .NET's pool threads serve their local queues
/// before the global one. Under full load the entities' turns never leave the local queues, so a timer's message,
/// queued from the scheduler's thread, waited in the global queue for up to four seconds: a fault due at 1 s fired
/// after a 3.5 s run had ended. Queuing every turn globally instead costs the emulator 2.7x its throughput
/// (measured), so only these few actors move. Akka's scheduler ticks late under the same load, so the injector
/// also keeps its own clock (<see cref="Faults.FaultClock"/>, decision 45).
/// </summary>
public static class ControlDispatcher
{
    public const string Id = "siv-control-dispatcher";

    public const string Hocon = $$"""
        {{Id}} {
          type = ForkJoinDispatcher
          throughput = 100
          dedicated-thread-pool { thread-count = 1 }
        }
        """;

    /// <summary><paramref name="props"/> on the control dispatcher where the system configures it (tests' own systems may not).</summary>
    public static Props OnControlThread(this Props props, ActorSystem system) =>
        system.Dispatchers.HasDispatcher(Id) ? props.WithDispatcher(Id) : props;
}
