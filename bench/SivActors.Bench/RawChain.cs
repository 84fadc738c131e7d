using System.Diagnostics;
using Akka.Actor;
using Akka.Configuration;

namespace SivActors.Bench;

/// <summary>
/// The baseline: plain actors with the emulator's topology for one host (a container and a dedicated AI per
/// tenant, one DMA remapping actor, one interrupt unit) exchanging the same eight messages per operation with the
/// same queue depth, and doing nothing else. What the emulator adds over this is the cost of emulating.
/// </summary>
public static class RawChain
{
    private sealed record PortalWrite(IActorRef Container, int Slot);
    private sealed record DmaRead(IActorRef Ai, IActorRef Container, int Slot);
    private sealed record MemoryRead(IActorRef Ai, int Slot);
    private sealed record ReadData(IActorRef Container, int Slot);
    private sealed record DmaWrite(IActorRef Container, int Slot);
    private sealed record MemoryWrite(int Slot);
    private sealed record Raise(IActorRef Container);
    private sealed record Interrupt;
    private sealed record Start(IActorRef Ai);

    private sealed class Shared
    {
        public volatile bool Running = true;
        public long Completed;
        public long Interrupts;
        public IActorRef Dmar = ActorRefs.Nobody;
        public IActorRef InterruptUnit = ActorRefs.Nobody;
    }

    private sealed class Container : ReceiveActor
    {
        public Container(Shared shared)
        {
            IActorRef ai = ActorRefs.Nobody;
            Receive<Start>(m =>
            {
                ai = m.Ai;
                ai.Tell(new PortalWrite(Self, 0));
                ai.Tell(new PortalWrite(Self, 1));
            });
            Receive<MemoryRead>(m => m.Ai.Tell(new ReadData(Self, m.Slot)));
            Receive<MemoryWrite>(m =>
            {
                Interlocked.Increment(ref shared.Completed);
                if (shared.Running) ai.Tell(new PortalWrite(Self, m.Slot));
            });
            Receive<Interrupt>(_ => Interlocked.Increment(ref shared.Interrupts));
        }
    }

    private sealed class Ai : ReceiveActor
    {
        public Ai(Shared shared)
        {
            Receive<PortalWrite>(m => shared.Dmar.Tell(new DmaRead(Self, m.Container, m.Slot)));
            Receive<ReadData>(m =>
            {
                shared.Dmar.Tell(new DmaWrite(m.Container, m.Slot));
                shared.InterruptUnit.Tell(new Raise(m.Container));
            });
        }
    }

    private sealed class Dmar : ReceiveActor
    {
        public Dmar()
        {
            Receive<DmaRead>(m => m.Container.Tell(new MemoryRead(m.Ai, m.Slot)));
            Receive<DmaWrite>(m => m.Container.Tell(new MemoryWrite(m.Slot)));
        }
    }

    private sealed class InterruptUnit : ReceiveActor
    {
        private static readonly Interrupt Irq = new();

        public InterruptUnit() => Receive<Raise>(m => m.Container.Tell(Irq));
    }

    /// <summary>Operations (completed chains) per second over the window.</summary>
    public static async Task<double> RunAsync(int containers, TimeSpan window, string akkaConfig, CancellationToken ct)
    {
        using var system = ActorSystem.Create("raw", ConfigurationFactory.ParseString(akkaConfig));
        var shared = new Shared();
        shared.Dmar = system.ActorOf(Props.Create(() => new Dmar()), "dmar");
        shared.InterruptUnit = system.ActorOf(Props.Create(() => new InterruptUnit()), "iu");
        var pairs = Enumerable.Range(0, containers)
            .Select(i => (Container: system.ActorOf(Props.Create(() => new Container(shared)), $"c{i}"),
                          Ai: system.ActorOf(Props.Create(() => new Ai(shared)), $"ai{i}")))
            .ToList();
        var start = Stopwatch.GetTimestamp();
        var before = Interlocked.Read(ref shared.Completed);
        foreach (var (c, ai) in pairs) c.Tell(new Start(ai));
        await Task.Delay(window, ct);
        var after = Interlocked.Read(ref shared.Completed);
        var elapsed = Stopwatch.GetElapsedTime(start).TotalSeconds;
        shared.Running = false;
        await system.Terminate();
        return (after - before) / elapsed;
    }
}
