using Akka.Actor;
using Akka.Remote;
using Akka.Remote.Transport;

namespace SivActors.Actors.Cluster;

/// <summary>
/// Cuts and heals this node's links to other nodes with Akka.Remote's throttler transport adapter (<c>trttl</c>): a
/// blackholed link drops every message both ways at the transport, as a network partition does, while the TCP
/// connection and both processes stay up. It works the same on 127.0.0.1 and between docker compose containers,
/// and needs no privileges (no iptables, no netem). Every node of a cluster must apply the adapter, which puts
/// <see cref="Protocol"/> in every address; it costs cross-node throughput, so nodes apply it only for runs that
/// cut links (decision 47).
/// </summary>
public static class NetworkLinks
{
    public const string Protocol = "akka.trttl.tcp";

    public const string Hocon = "akka.remote.dot-netty.tcp.applied-adapters = [trttl]";

    /// <summary>Drops everything between this node and <paramref name="peer"/>, both ways, until <see cref="Heal"/>.</summary>
    public static Task Cut(ActorSystem system, Address peer) => Set(system, peer, Blackhole.Instance);

    public static Task Heal(ActorSystem system, Address peer) => Set(system, peer, Unthrottled.Instance);

    private static async Task Set(ActorSystem system, Address peer, ThrottleMode mode)
    {
        if (((ExtendedActorSystem)system).Provider is not IRemoteActorRefProvider remote)
            throw new InvalidOperationException("this actor system has no remoting");
        if (!remote.Transport.DefaultAddress.Protocol.Contains(".trttl.", StringComparison.Ordinal))
            throw new InvalidOperationException($"this node's transport has no throttler ({remote.Transport.DefaultAddress.Protocol}); it needs {Hocon}");
        if (!await remote.Transport.ManagementCommand(new SetThrottle(peer, ThrottleTransportAdapter.Direction.Both, mode)))
            throw new InvalidOperationException($"the throttler did not take the command for {peer}");
    }
}
