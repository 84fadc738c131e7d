using SivActors.Actors.Entities;
using SivActors.Actors.Wire;
using SivActors.Model.Device;
using SivActors.Model.Dma;
using SivActors.Model.Identity;
using SivActors.Model.Interrupts;
using SivActors.Model.Workload;

namespace SivActors.Actors.DmaRemapping;

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

    /// <summary>
    /// An AI's upstream DMA writes for one descriptor, in order: the data (when <paramref name="Data"/> is set) at
    /// <paramref name="DataAddress"/>, then the completion record at <paramref name="RecordAddress"/> (when its status
    /// is set: hardware never writes status 0). A forged write is data only. The record travels as its fields, and
    /// DMA remapping passes this same message on to the container (<c>MemoryWrite</c>): one burst, no arrays.
    /// </summary>
    public sealed record DmaWrite(HostId Host, AiId Origin, SourceId Source, Asid Pasid, ulong DataAddress, byte[]? Data,
        ulong RecordAddress, CompletionRecord Record, long ModeledNs, Forgery? Forgery) : Command(Host), ISivHotPathMessage
    {
        public bool WritesRecord => Record.Status != OperationStatus.NotWritten;

        /// <summary>How many writes the burst holds (0 to 2).</summary>
        public int Count => (Data is null ? 0 : 1) + (WritesRecord ? 1 : 0);
    }

    /// <summary>Sent by an AI after its last upstream write.</summary>
    public sealed record FlushFrom(HostId Host, AiId Ai, Akka.Actor.IActorRef ReplyTo) : Command(Host);

    /// <summary>Answer to an AI whose DMA read faulted.</summary>
    public sealed record DmaReadFailed(AiId TargetAi, long RequestId, FaultReason Fault) : IEntityMessage, ISivHotPathMessage
    {
        public EntityAddress Target => EntityAddress.Of(TargetAi);
    }
}
