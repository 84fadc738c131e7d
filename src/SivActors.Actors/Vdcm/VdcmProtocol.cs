using Akka.Actor;
using SivActors.Actors.Entities;
using SivActors.Actors.Wire;
using SivActors.Model.Device;
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

    /// <summary>
    /// Emulated mode only: a guest's portal write, trapped (no AI pass-through). The VDCM services it in software and
    /// hands the descriptor to the AI behind the vdev, as a device model hands work to its backend.
    /// </summary>
    public sealed record TrappedPortalWrite(HostId Host, AssignableInterface.AssignableInterfaceProtocol.PortalWrite Write) : Command(Host), ISivHotPathMessage;

    public sealed record GetVdev(HostId Host, ContainerId Container) : Command(Host);

    /// <summary>Reads the compositions as a snapshot payload (for digests and dumps).</summary>
    public sealed record GetCompositions(HostId Host) : Command(Host);

    public sealed record Compositions(HostId Host, byte[] Snapshot) : ISivMessage;

    public sealed record VdevInfo(ContainerId Container, Asid Asid, int TableId, IReadOnlyList<AiId> Ais, IReadOnlyList<VirtualMsixEntry> Msix,
        IReadOnlyList<WorkQueueMode> Modes) : ISivMessage;

    /// <summary>
    /// Sent by an entity of this host when it starts (the first time, after a restart, or on another node after its
    /// shard moved): the device state it holds is implied by the VDCM's persisted tables, so the VDCM sends it again
    /// (the same AssignToVdev, WriteIms, BindPasid, ClaimInterruptHandles it sends while composing; a
    /// <see cref="VdevInfo"/> to a container) and then <see cref="DeviceStateRestored"/>. The entity holds its
    /// traffic back until that marker arrives.
    /// </summary>
    public sealed record RestoreDeviceState(HostId Host, EntityAddress Requester) : Command(Host);

    /// <summary>
    /// The hosting function <paramref name="Device"/> of this host was surprise-removed (fault <paramref name="Fault"/>):
    /// every vdev with an AI on it is recomposed on other devices, or torn down when the policy has no AI for it.
    /// </summary>
    public sealed record RemoveDevice(HostId Host, int Device, int Fault) : Command(Host);

    /// <summary>
    /// A guest whose AI is gone asks for its vdev as it is now: answered with <see cref="VdevInfo"/> once no AI of
    /// the vdev is on a removed device, or <see cref="VdevGone"/> when it was torn down.
    /// </summary>
    public sealed record RefreshVdev(HostId Host, ContainerId Container) : Command(Host);

    public sealed record VdevGone(ContainerId Container) : ISivMessage;

    /// <summary>The last message of a <see cref="RestoreDeviceState"/> answer.</summary>
    public sealed record DeviceStateRestored(EntityAddress Requester) : ISivMessage;
}
