using Akka.Actor;
using SivActors.Actors.Entities;
using SivActors.Actors.Wire;
using SivActors.Model.Identity;
using SivActors.Model.Interrupts;
using SivActors.Model.Workload;

namespace SivActors.Actors.InterruptUnit;

/// <summary>Messages of the interrupt managing unit (one per host).</summary>
public static class InterruptUnitProtocol
{
    public abstract record Command(HostId Host) : IEntityMessage, ISivMessage
    {
        public EntityAddress Target => EntityAddress.InterruptUnit(Host);
    }

    /// <summary>
    /// Points the ASID-table entry for <paramref name="Asid"/> at interrupt table <paramref name="TableId"/>;
    /// answered with <see cref="AsidBindingDone"/> once durable.
    /// </summary>
    public sealed record BindAsid(HostId Host, Asid Asid, int TableId, int SizeExponent) : Command(Host);

    /// <summary><paramref name="Error"/> is null when the binding holds (now or already).</summary>
    public sealed record AsidBindingDone(Asid Asid, int TableId, string? Error) : ISivMessage;

    /// <summary>Writes an interrupt entry: at <paramref name="Handle"/>, or at a newly allocated handle when null.</summary>
    public sealed record ProgramEntry(HostId Host, long RequestId, Asid Asid, int? Handle, InterruptEntry Entry) : Command(Host);

    public sealed record EntryProgrammed(long RequestId, int Handle, int TableId, int TableSize) : ISivMessage;

    public sealed record ProgramFailed(long RequestId, string Reason) : ISivMessage;

    /// <summary>Clears the entry (P=0) and invalidates it in the interrupt entry cache.</summary>
    public sealed record FreeEntry(HostId Host, long RequestId, Asid Asid, int Handle) : Command(Host);

    /// <summary><paramref name="Error"/> is set when the free could not be made durable (the entry stays as it was).</summary>
    public sealed record EntryFreed(long RequestId, string? Error) : ISivMessage;

    /// <summary>
    /// An interrupt-flagged upstream write from an AI. <paramref name="Origin"/> is the physical sender (not
    /// forgeable); <paramref name="Forgery"/> is the fault injector's label, read only after the decision, to check it.
    /// In reliable delivery <paramref name="Outbox"/> holds the interrupt's number in its AI's outbox and the outbox's
    /// watermark when sent (decision 38); both travel on to the container. Without it (the default) they read 0, and
    /// the message is 16 bytes smaller.
    /// </summary>
    public sealed record RaiseInterrupt(HostId Host, AiId Origin, UpstreamWrite Write, long ModeledNs, Forgery? Forgery,
        OutboxStamp? Outbox = null) : Command(Host), ISivHotPathMessage
    {
        public long Seq => Outbox?.Seq ?? 0;
        public long Watermark => Outbox?.Watermark ?? 0;
    }

    /// <summary>An interrupt's number in its AI's reliable outbox, and the outbox's watermark when this copy was sent.</summary>
    public sealed record OutboxStamp(long Seq, long Watermark);

    /// <summary>Sent by an AI after its last upstream write; answered to <paramref name="ReplyTo"/> with <see cref="UpstreamFlushed"/>.</summary>
    public sealed record FlushFrom(HostId Host, AiId Ai, IActorRef ReplyTo) : Command(Host);

    public sealed record UpstreamFlushed(AiId Ai, EntityKind Unit) : ISivMessage;

    /// <summary>Reads the unit's tables and fault log, for reports and tests.</summary>
    public sealed record GetState(HostId Host) : Command(Host);

    /// <summary>
    /// Sent by a recovered VDCM for each vdev: frees the ASID's entries whose handles it does not hold (orphans of
    /// a crash between the two owners' writes), and writes back each live entry that differs from what the VDCM
    /// holds (<see cref="Entries"/>: a vector the VDCM made durable before it stopped, ahead of the entry write).
    /// Answered with <see cref="AsidReconciled"/> once what it changed is durable.
    /// </summary>
    public sealed record ReconcileAsid(HostId Host, long RequestId, Asid Asid, int[] Keep) : Command(Host)
    {
        public IReadOnlyDictionary<int, InterruptEntry> Entries { get; init; } = new Dictionary<int, InterruptEntry>();
    }

    /// <summary><paramref name="Error"/> is set when a change could not be made durable (the unit restarts; ask again).</summary>
    public sealed record AsidReconciled(long RequestId, string? Error) : ISivMessage;

    /// <summary>Reads the tables as a snapshot payload (for digests and dumps).</summary>
    public sealed record GetTables(HostId Host) : Command(Host);

    public sealed record Tables(HostId Host, byte[] Snapshot) : ISivMessage;

    public sealed record State(int BoundAsids, int Tables, int Entries, IReadOnlyList<FaultRecord> PendingFaults, long FaultEvents, bool Overflow) : ISivMessage;
}
