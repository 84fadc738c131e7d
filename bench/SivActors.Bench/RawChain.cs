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

    internal sealed class Shared
    {
        public volatile bool Running = true;
        public long Completed;
        public long InFlight;
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
                Interlocked.Add(ref shared.InFlight, 2);
                ai.Tell(new PortalWrite(Self, 0));
                ai.Tell(new PortalWrite(Self, 1));
            });
            Receive<MemoryRead>(m => m.Ai.Tell(new ReadData(Self, m.Slot)));
            Receive<MemoryWrite>(m =>
            {
                Interlocked.Increment(ref shared.Completed);
                if (shared.Running) ai.Tell(new PortalWrite(Self, m.Slot));
                else Interlocked.Decrement(ref shared.InFlight);
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

    /// <summary>
    /// A raw chain that stays up between slices: <see cref="Running.Resume"/> starts every container's two descriptors,
    /// <see cref="PauseAsync"/> lets what is in flight finish and stops. Completed chains are counted throughout.
    /// </summary>
    public sealed class Running : IAsyncDisposable
    {
        private readonly ActorSystem _system;
        private readonly Shared _shared;
        private readonly List<(IActorRef Container, IActorRef Ai)> _pairs;

        internal Running(ActorSystem system, Shared shared, List<(IActorRef, IActorRef)> pairs)
        {
            _system = system;
            _shared = shared;
            _pairs = pairs;
        }

        public long Completed => Interlocked.Read(ref _shared.Completed);

        public void Resume()
        {
            _shared.Running = true;
            foreach (var (c, ai) in _pairs) c.Tell(new Start(ai));
        }

        /// <summary>Stops submitting; returns once every chain in flight has completed.</summary>
        public async Task PauseAsync(CancellationToken ct)
        {
            _shared.Running = false;
            while (Interlocked.Read(ref _shared.InFlight) > 0) await Task.Delay(1, ct);
        }

        public async ValueTask DisposeAsync()
        {
            _shared.Running = false;
            await _system.Terminate();
            _system.Dispose();
        }
    }

    public static Running Launch(int containers, string akkaConfig)
    {
        var system = ActorSystem.Create("raw", ConfigurationFactory.ParseString(akkaConfig));
        var shared = new Shared();
        shared.Dmar = system.ActorOf(Props.Create(() => new Dmar()), "dmar");
        shared.InterruptUnit = system.ActorOf(Props.Create(() => new InterruptUnit()), "iu");
        var pairs = Enumerable.Range(0, containers)
            .Select(i => (system.ActorOf(Props.Create(() => new Container(shared)), $"c{i}"),
                          system.ActorOf(Props.Create(() => new Ai(shared)), $"ai{i}")))
            .ToList();
        return new Running(system, shared, pairs);
    }
}
