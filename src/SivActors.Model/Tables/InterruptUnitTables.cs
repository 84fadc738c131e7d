using SivActors.Model.Identity;
using SivActors.Model.Interrupts;

namespace SivActors.Model.Tables;

/// <summary>Changes to an interrupt unit's ASID table and interrupt tables: what gets persisted.</summary>
public abstract record InterruptUnitEvent;

/// <summary>The ASID-table entry for <paramref name="Asid"/> now points at interrupt table <paramref name="TableId"/>.</summary>
public sealed record AsidBound(Asid Asid, int TableId, int SizeExponent) : InterruptUnitEvent;

/// <summary>An interrupt entry was written; <paramref name="Allocated"/> when it was taken next-fit (moves the cursor).</summary>
public sealed record EntryWritten(int TableId, int Handle, InterruptEntry Entry, bool Allocated) : InterruptUnitEvent;

/// <summary>An interrupt entry was freed (P=0 from now on).</summary>
public sealed record EntryFreed(int TableId, int Handle) : InterruptUnitEvent;

/// <summary>What a table-changing command decided: the event to persist, or why nothing changes.</summary>
public readonly record struct TableDecision<TEvent>(TEvent? Event, string? Error) where TEvent : class
{
    public static TableDecision<TEvent> Accept(TEvent e) => new(e, null);
    public static TableDecision<TEvent> Reject(string error) => new(null, error);
}

/// <summary>
/// The interrupt unit's durable state: the ASID table and its interrupt tables. Commands are decided without
/// changing anything (<c>Decide*</c> returns the event); only <see cref="Apply"/> changes state, so a write that
/// fails to persist leaves the tables exactly as they were, and recovery replays the same events.
/// </summary>
public sealed class InterruptUnitTables
{
    public AsidTable Asids { get; } = new();

    /// <summary>Interrupt entries in use over every table (counted on each call).</summary>
    public int EntriesInUse => Asids.Tables.Values.Sum(t => t.Count);

    /// <summary>Bound ASIDs plus interrupt entries in use: what a snapshot holds (counted when one is taken).</summary>
    public long EntryCount => (long)Asids.BoundAsids + EntriesInUse;

    public TableDecision<InterruptUnitEvent> DecideBind(Asid asid, int tableId, int sizeExponent)
    {
        if (sizeExponent is < 0 or > 15) return TableDecision<InterruptUnitEvent>.Reject($"size exponent {sizeExponent} is out of range (0..15)");
        if (Asids.Tables.TryGetValue(tableId, out var existing) && existing.SizeExponent != sizeExponent)
            return TableDecision<InterruptUnitEvent>.Reject($"interrupt table {tableId} exists with S={existing.SizeExponent}, not {sizeExponent}");
        // Already bound there (a resumed run binds again): nothing to change, nothing to persist.
        if (Asids.Lookup(asid) is { } bound && bound.Id == tableId) return default;
        return TableDecision<InterruptUnitEvent>.Accept(new AsidBound(asid, tableId, sizeExponent));
    }

    /// <summary>Program an entry for <paramref name="asid"/>: at <paramref name="handle"/>, or next-fit when null.</summary>
    public TableDecision<InterruptUnitEvent> DecideProgram(Asid asid, int? handle, InterruptEntry entry)
    {
        var table = Asids.Lookup(asid);
        if (table is null) return TableDecision<InterruptUnitEvent>.Reject($"ASID {asid} has no interrupt table");
        if (handle is { } h)
        {
            if (h < 0 || h >= table.Size) return TableDecision<InterruptUnitEvent>.Reject($"handle {h} is beyond table size {table.Size}");
            // A tenant rewrites its own entry (or takes back a free one); another tenant's entry is never overwritten.
            return table.Get(h) is { } existing && existing.Asid != asid
                ? TableDecision<InterruptUnitEvent>.Reject($"handle {h} of interrupt table {table.Id} belongs to ASID {existing.Asid}, not {asid}")
                : TableDecision<InterruptUnitEvent>.Accept(new EntryWritten(table.Id, h, entry, Allocated: false));
        }
        return table.NextFree() is { } free
            ? TableDecision<InterruptUnitEvent>.Accept(new EntryWritten(table.Id, free, entry, Allocated: true))
            : TableDecision<InterruptUnitEvent>.Reject($"interrupt table {table.Id} is full ({table.Size} entries)");
    }

    /// <summary>
    /// Free <paramref name="asid"/>'s entry at <paramref name="handle"/>; null when there is nothing of that tenant's
    /// to free (another tenant's entry at that handle is left alone).
    /// </summary>
    public EntryFreed? DecideFree(Asid asid, int handle) =>
        Asids.Lookup(asid) is { } table && table.Get(handle) is { } entry && entry.Asid == asid ? new EntryFreed(table.Id, handle) : null;

    /// <summary>
    /// Brings <paramref name="asid"/>'s entries to what its VDCM holds after a restart of the VDCM. Frees every
    /// entry whose handle is not in <paramref name="keep"/>: entries a crash left behind (durable here, while the
    /// VDCM's record of them was not yet written). Writes every entry of <paramref name="expected"/> that differs
    /// from this table's: a vector whose new data the VDCM had made durable when it stopped, before it could write
    /// the entry (the guest's write is answered only after both, so the VDCM's record is the one to keep). Another
    /// tenant's entry is never touched.
    /// </summary>
    public IReadOnlyList<InterruptUnitEvent> DecideReconcile(Asid asid, IReadOnlySet<int> keep, IReadOnlyDictionary<int, InterruptEntry>? expected = null)
    {
        if (Asids.Lookup(asid) is not { } table) return [];
        var events = new List<InterruptUnitEvent>();
        events.AddRange(table.Entries.Where(kv => kv.Value.Asid == asid && !keep.Contains(kv.Key))
            .Select(kv => new EntryFreed(table.Id, kv.Key)).OrderBy(f => f.Handle));
        foreach (var (handle, entry) in (expected ?? new Dictionary<int, InterruptEntry>()).OrderBy(kv => kv.Key))
        {
            if (handle < 0 || handle >= table.Size || entry.Asid != asid || !keep.Contains(handle)) continue;
            var current = table.Get(handle);
            if (current is not null && (current.Asid != asid || current == entry)) continue;
            events.Add(new EntryWritten(table.Id, handle, entry, Allocated: false));
        }
        return events;
    }

    public void Apply(InterruptUnitEvent e)
    {
        switch (e)
        {
            case AsidBound b:
                Asids.Bind(b.Asid, Asids.GetOrCreateTable(b.TableId, b.SizeExponent));
                break;
            case EntryWritten w:
            {
                var table = Table(w.TableId);
                if (w.Allocated) table.SetAllocated(w.Handle, w.Entry);
                else table.Set(w.Handle, w.Entry);
                break;
            }
            case EntryFreed f:
                Table(f.TableId).Free(f.Handle);
                break;
            default:
                throw new ArgumentException($"unknown interrupt unit event {e.GetType().Name}", nameof(e));
        }
    }

    private InterruptTable Table(int id) =>
        Asids.Tables.TryGetValue(id, out var t) ? t : throw new InvalidOperationException($"event names interrupt table {id}, which does not exist");
}

/// <summary>
/// A snapshot of <see cref="InterruptUnitTables"/>, encoded when it is taken: the tables keep changing while the
/// snapshot store writes, so the snapshot carries bytes, never a reference to the live tables.
/// </summary>
public sealed record InterruptUnitSnapshot(byte[] Payload)
{
    public static InterruptUnitSnapshot Of(InterruptUnitTables tables) => new(TableCodec.EncodeSnapshot(tables));

    public InterruptUnitTables Decode() => TableCodec.DecodeSnapshot(Payload);
}
