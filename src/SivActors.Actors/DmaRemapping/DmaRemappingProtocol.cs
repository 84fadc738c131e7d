using SivActors.Actors.Entities;
using SivActors.Actors.Wire;
using SivActors.Model.Dma;
using SivActors.Model.Identity;
using SivActors.Model.Interrupts;
using SivActors.Model.Workload;

namespace SivActors.Actors.DmaRemapping;

/// <summary>One DMA write burst element.</summary>
public readonly record struct DmaWriteOp(ulong Address, byte[] Data);

/// <summary>Messages of the DMA-remapping unit (one per host).</summary>
public static class DmaRemappingProtocol
{
    public abstract record Command(HostId Host) : IEntityMessage, ISivMessage
    {
        public EntityAddress Target => EntityAddress.DmaRemapping(Host);
    }

    /// <summary>Writes the PASID-table entry: this PASID selects the container's address space.</summary>
    public sealed record BindPasid(HostId Host, Asid Pasid, ContainerId Owner, MappedRegion[] Regions, SourceId? Requester = null) : Command(Host);

    /// <summary>
    /// A DMA read of one or two ranges (the second for Compare's second source; Length2 = 0 when unused).
    /// The data goes straight back to the AI as <c>MemoryReadData</c>.
    /// </summary>
    public sealed record DmaRead(HostId Host, long RequestId, AiId Origin, SourceId Source, Asid Pasid,
        ulong Address, int Length, ulong Address2, int Length2, long ModeledNs) : Command(Host), ISivHotPathMessage;

    /// <summary>A burst of DMA writes from one AI, in order (data first, completion record last).</summary>
    public sealed record DmaWrite(HostId Host, AiId Origin, SourceId Source, Asid Pasid, DmaWriteOp[] Writes,
        long ModeledNs, long WallStartTicks, Forgery? Forgery) : Command(Host), ISivHotPathMessage;

    /// <summary>Sent by an AI after its last upstream write.</summary>
    public sealed record FlushFrom(HostId Host, AiId Ai, Akka.Actor.IActorRef ReplyTo) : Command(Host);

    /// <summary>Answer to an AI whose DMA read faulted.</summary>
    public sealed record DmaReadFailed(AiId TargetAi, long RequestId, FaultReason Fault) : IEntityMessage, ISivHotPathMessage
    {
        public EntityAddress Target => EntityAddress.Of(TargetAi);
    }
}
