using Akka.Actor;
using SivActors.Actors.Entities;
using SivActors.Actors.Wire;
using SivActors.Model.Device;
using SivActors.Model.Identity;

namespace SivActors.Actors.AssignableInterface;

/// <summary>
/// A hint from the VDCM to the fault injector of a rogue AI: a peer tenant sharing the interrupt table, and whether
/// the peer's entry names the same requester id (same device) as the rogue AI.
/// </summary>
public sealed record ForgeryHint(Asid? PeerAsid, ushort? PeerHandle, bool PeerSameSource, int TableSize);

/// <summary>Messages of an assignable interface (one DSA work queue).</summary>
public static class AssignableInterfaceProtocol
{
    public abstract record Command(AiId Ai) : IEntityMessage, ISivMessage
    {
        public EntityAddress Target => EntityAddress.Of(Ai);
    }

    /// <summary>
    /// A 64-byte write to one of the AI's portals: the fast path's only entry. The wall clock's start stays with the
    /// submitting container (per slot), so no message after this one carries it.
    /// </summary>
    public sealed record PortalWrite(AiId Ai, ContainerId From, Descriptor Descriptor, PortalKind Portal, PortalWriteType WriteType,
        int Slot, long ModeledNs) : Command(Ai), ISivHotPathMessage;

    /// <summary>Data fetched by a DMA read, straight from the container's memory.</summary>
    public sealed record MemoryReadData(AiId Ai, long RequestId, byte[] Data, byte[]? Data2, long ModeledNs) : Command(Ai), ISivHotPathMessage;

    /// <summary>
    /// Reliable delivery: interrupt <paramref name="Seq"/> of this AI's outbox was judged (delivered by its container, or
    /// faulted by the interrupt unit), so it is not sent again.
    /// </summary>
    public sealed record InterruptAcked(AiId Ai, long Seq) : Command(Ai), ISivHotPathMessage;

    /// <summary>Configures the WQ for a vdev: mode, and the tenant's PASID (WQCFG PASID for a dedicated WQ).</summary>
    public sealed record AssignToVdev(AiId Ai, ContainerId Container, Asid Pasid, WorkQueueMode Mode, int Size, int Threshold) : Command(Ai);

    public sealed record WriteIms(AiId Ai, long RequestId, ushort Index, ImsEntry Entry, ForgeryHint? Hint) : Command(Ai);

    public sealed record ImsWritten(long RequestId, bool Accepted) : ISivMessage;

    public sealed record SetImsMask(AiId Ai, long RequestId, ushort Index, bool Mask) : Command(Ai);

    public sealed record ImsMaskSet(long RequestId) : ISivMessage;

    /// <summary>Revokes an interrupt handle (IMS entry); descriptors naming it complete with 0x19.</summary>
    public sealed record RevokeIms(AiId Ai, long RequestId, ushort Index) : Command(Ai);

    public sealed record ImsRevoked(long RequestId) : ISivMessage;

    /// <summary>Reset WQ (dedicated) or Abort PASID (shared: only the tenant's descriptors).</summary>
    public sealed record ResetQueue(AiId Ai, long RequestId, Asid Pasid) : Command(Ai);

    public sealed record QueueReset(long RequestId, int Aborted) : ISivMessage;

    /// <summary>
    /// The AI's device was surprise-removed (<paramref name="Fault"/>: the fault's index, or -1 when a restarted AI
    /// learns it from the VDCM): descriptors in flight end aborted, the IMS is gone, every later portal write ends
    /// as <see cref="SubmitOutcome.DeviceGone"/>.
    /// </summary>
    public sealed record SurpriseRemoved(AiId Ai, int Fault) : Command(Ai);

    /// <summary>Asks the AI to send a flush marker behind its last upstream write to both IOMMU units.</summary>
    public sealed record FlushUpstream(AiId Ai, IActorRef ReplyTo) : Command(Ai);

    public sealed record GetState(AiId Ai) : Command(Ai);

    public sealed record State(WorkQueueMode? Mode, int Occupancy, IReadOnlyDictionary<ushort, ImsEntry> Ims, bool Rogue) : ISivMessage;
}
