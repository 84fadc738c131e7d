using Akka.Actor;
using SivActors.Model.Identity;
using SivActors.Model.Workload;

namespace SivActors.Actors.Container;

/// <summary>
/// The turns of a node's containers, one line per emulated host (decision 70): a container submits only while it
/// holds a turn, and passes it on after a turn's worth of operations. Containers run on any pool thread, so each
/// line is locked; a handed-on turn is told to its new holder as <see cref="ContainerProtocol.TurnGranted"/>.
/// </summary>
public sealed class ContainerTurns(int tenantsPerHost, int operationsPerTurn)
{
    private readonly System.Collections.Concurrent.ConcurrentDictionary<HostId, TenantTurns<IActorRef>> _lines = new();

    /// <summary>
    /// A turn held this long is given up even if unused: work stuck at a killed AI must not keep it from the others.
    /// A turn of 256 operations takes milliseconds, tens of them on a loaded cluster member.
    /// </summary>
    public TimeSpan TimeLimit { get; set; } = TimeSpan.FromMilliseconds(250);

    /// <summary>Fast-path and slow-path operations a container starts per turn (times a noisy neighbour's factor).</summary>
    public int OperationsPerTurn { get; } = operationsPerTurn;

    private TenantTurns<IActorRef> Line(HostId host) => _lines.GetOrAdd(host, static (_, capacity) => new TenantTurns<IActorRef>(capacity), tenantsPerHost);

    /// <summary>True if <paramref name="container"/> may submit now; otherwise it is told when its turn comes.</summary>
    public bool Ask(HostId host, IActorRef container)
    {
        var line = Line(host);
        lock (line) return line.Ask(container);
    }

    /// <summary><paramref name="container"/> gives up its turn or its place in line; the next in line is told.</summary>
    public void Leave(HostId host, IActorRef container)
    {
        var line = Line(host);
        IActorRef? next;
        lock (line) next = line.Leave(container, out var n) ? n : null;
        next?.Tell(ContainerProtocol.TurnGranted.Instance);
    }
}
