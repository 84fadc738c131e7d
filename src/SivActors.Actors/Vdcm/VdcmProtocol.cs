using Akka.Actor;
using SivActors.Actors.Infrastructure;
using SivActors.Model.Identity;
using SivActors.Model.Vdcm;

namespace SivActors.Actors.Vdcm;

/// <summary>Messages of the VDCM (one per host).</summary>
public static class VdcmProtocol
{
    public abstract record Command(HostId Host) : IEntityMessage, ISivMessage
    {
        public EntityAddress Target => EntityAddress.Vdcm(Host);
    }

    /// <summary>The VMM asks for a vdev for a container; the VDCM answers the container with <c>VdevComposed</c>.</summary>
    public sealed record ComposeVdev(HostId Host, ContainerId Container, int AiCount, IActorRef ReplyTo) : Command(Host);

    /// <summary>A trapped guest access (the slow path). Answered with <c>GuestAccessCompleted</c> to the container.</summary>
    public sealed record GuestAccessRequest(HostId Host, ContainerId From, long RequestId, GuestAccess Access, long ModeledNs, long WallStartTicks)
        : Command(Host);

    public sealed record GetVdev(HostId Host, ContainerId Container) : Command(Host);

    /// <summary>Reads the compositions as a snapshot payload (for digests and dumps).</summary>
    public sealed record GetCompositions(HostId Host) : Command(Host);

    public sealed record Compositions(HostId Host, byte[] Snapshot) : ISivMessage;

    public sealed record VdevInfo(ContainerId Container, Asid Asid, int TableId, IReadOnlyList<AiId> Ais, IReadOnlyList<VirtualMsixEntry> Msix) : ISivMessage;
}
