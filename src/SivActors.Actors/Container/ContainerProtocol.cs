using Akka.Actor;
using SivActors.Actors.Entities;
using SivActors.Actors.Wire;
using SivActors.Model.Device;
using SivActors.Model.Identity;
using DmaWrite = SivActors.Actors.DmaRemapping.DmaRemappingProtocol.DmaWrite;
using RaiseInterrupt = SivActors.Actors.InterruptUnit.InterruptUnitProtocol.RaiseInterrupt;

namespace SivActors.Actors.Container;

/// <summary>Messages of an application container (the tenant and its memory).</summary>
public static class ContainerProtocol
{
    public abstract record Command(ContainerId Container, HostId Host) : IEntityMessage, ISivMessage
    {
        public EntityAddress Target => EntityAddress.Of(Container, Host);
    }

    /// <summary>From the VDCM: the vdev is composed; the container's driver now programs its vectors.</summary>
    public sealed record VdevComposed(ContainerId Container, HostId Host, Asid Asid, AiId[] Ais, WorkQueueMode[] Modes, IActorRef ReplyTo)
        : Command(Container, Host);

    public sealed record GuestAccessCompleted(ContainerId Container, HostId Host, long RequestId, uint Value, string? Error, long ModeledNs, long WallStartTicks)
        : Command(Container, Host);

    /// <summary>The portal did not accept the descriptor (DMWr Retry, or a dropped/ignored posted write).</summary>
    public sealed record PortalRejected(ContainerId Container, HostId Host, int Slot, SubmitOutcome Outcome) : Command(Container, Host), ISivHotPathMessage;

    /// <summary>
    /// The WQ that answered Retry has room again (DSA's "WQ occupancy below limit" event), so the submitter retries
    /// then instead of spinning on the portal.
    /// </summary>
    /// <summary>The AI stopped (a kill-actor fault) with this slot's descriptor in flight: it ends with an abort status.</summary>
    public sealed record DescriptorAborted(ContainerId Container, HostId Host, int Slot) : Command(Container, Host), ISivHotPathMessage;

    public sealed record WorkQueueRoom(ContainerId Container, HostId Host, int Slot) : Command(Container, Host), ISivHotPathMessage;

    /// <summary>A DMA read of the container's memory, already checked by DMA remapping; the data goes to the AI.</summary>
    public sealed record MemoryRead(ContainerId Container, HostId Host, long RequestId, AiId ReplyTo, ulong Address, int Length, ulong Address2, int Length2, long ModeledNs)
        : Command(Container, Host), ISivHotPathMessage;

    /// <summary>
    /// DMA writes into the container's memory, already checked by DMA remapping: the AI's burst as it let it through
    /// (a blocked part removed), with the time modeled up to here.
    /// </summary>
    public sealed record MemoryWrite(ContainerId Container, HostId Host, DmaWrite Write, long ModeledNs)
        : Command(Container, Host), ISivHotPathMessage;

    /// <summary>
    /// An interrupt for this container: remapped (delivered) or posted into its posted-interrupt descriptor, with the
    /// AI's write it was decided from (<paramref name="Raised"/>: origin, ASID, and in reliable delivery its number).
    /// A nonzero <see cref="Seq"/> asks for an <see cref="AssignableInterface.AssignableInterfaceProtocol.InterruptAcked"/>.
    /// </summary>
    public sealed record InterruptDelivered(ContainerId Container, HostId Host, byte Vector, RaiseInterrupt Raised, int Handle, bool Posted, bool Urgent,
        long ModeledNs) : Command(Container, Host), ISivHotPathMessage
    {
        /// <summary>Decided with an entry-cache entry whose invalidation was late (a stale-iec fault): its vector may be an old one.</summary>
        public bool Stale { get; init; }

        public AiId Origin => Raised.Origin;
        public Asid Asid => Raised.Write.Asid;
        public long Seq => Raised.Seq;
        public long Watermark => Raised.Watermark;
    }

    public sealed record StartWorkload(ContainerId Container, HostId Host) : Command(Container, Host);

    /// <summary>To a noisy neighbour: from now on keep its whole (multiplied) queue depth outstanding.</summary>
    public sealed record NoiseStarts(ContainerId Container, HostId Host) : Command(Container, Host);

    /// <summary>Stop issuing work; answer <see cref="ContainerDrained"/> once nothing is outstanding.</summary>
    public sealed record StopWorkload(ContainerId Container, HostId Host, IActorRef ReplyTo) : Command(Container, Host);

    /// <summary>Harvest what is still pending in the posted-interrupt descriptor and answer <see cref="ContainerFlushed"/>.</summary>
    public sealed record FlushInterrupts(ContainerId Container, HostId Host, IActorRef ReplyTo) : Command(Container, Host);

    public sealed record GetState(ContainerId Container, HostId Host) : Command(Container, Host);

    public sealed record State(Asid Asid, int OutstandingDescriptors, IReadOnlyList<ushort?> CompletionHandles, IReadOnlyList<byte> Vectors, bool Running) : ISivMessage;

    public sealed record ContainerReady(ContainerId Container) : ISivMessage;

    /// <summary>Nothing is outstanding; <paramref name="Completed"/> operations were completed since the workload first started.</summary>
    public sealed record ContainerDrained(ContainerId Container, long Completed) : ISivMessage;

    public sealed record ContainerFlushed(ContainerId Container) : ISivMessage;

    public sealed record ContainerFailed(ContainerId Container, string Reason) : ISivMessage;

    /// <summary>This container's turn to submit has come (<see cref="ContainerTurns"/>); local only, never on the wire.</summary>
    public sealed class TurnGranted : INoSerializationVerificationNeeded
    {
        public static readonly TurnGranted Instance = new();
        private TurnGranted() { }
    }
}
