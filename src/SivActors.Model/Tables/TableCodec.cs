using SivActors.Model.Identity;
using SivActors.Model.Interrupts;

namespace SivActors.Model.Tables;

/// <summary>
/// Compact, versioned binary encoding of the interrupt unit's tables: events, snapshots and content digests.
/// Pure (no Akka): the persistence serializer wraps it. Every payload starts with a format version byte; a reader
/// refuses versions it does not know instead of guessing.
/// </summary>
public static class TableCodec
{
    public const byte Version = 1;

    // Event tags inside a payload; the serializer's manifests map one to one onto these.
    private const byte TagAsidBound = 1, TagEntryWritten = 2, TagEntryFreed = 3;

    public static byte[] Encode(InterruptUnitEvent e)
    {
        using var ms = new MemoryStream(64);
        using var w = new BinaryWriter(ms);
        w.Write(Version);
        switch (e)
        {
            case AsidBound b:
                w.Write(TagAsidBound);
                w.Write7BitEncodedInt((int)b.Asid.Value);
                w.Write7BitEncodedInt(b.TableId);
                w.Write((byte)b.SizeExponent);
                break;
            case EntryWritten x:
                w.Write(TagEntryWritten);
                w.Write7BitEncodedInt(x.TableId);
                w.Write7BitEncodedInt(x.Handle);
                w.Write(x.Allocated);
                WriteEntry(w, x.Entry);
                break;
            case EntryFreed f:
                w.Write(TagEntryFreed);
                w.Write7BitEncodedInt(f.TableId);
                w.Write7BitEncodedInt(f.Handle);
                break;
            default:
                throw new ArgumentException($"unknown interrupt unit event {e.GetType().Name}", nameof(e));
        }
        w.Flush();
        return ms.ToArray();
    }

    public static InterruptUnitEvent DecodeEvent(byte[] bytes)
    {
        using var r = Reader(bytes, "interrupt unit event");
        var tag = r.ReadByte();
        return tag switch
        {
            TagAsidBound => new AsidBound(Asid.FromMasked((uint)r.Read7BitEncodedInt()), r.Read7BitEncodedInt(), r.ReadByte()),
            TagEntryWritten => ReadEntryWritten(r),
            TagEntryFreed => new EntryFreed(r.Read7BitEncodedInt(), r.Read7BitEncodedInt()),
            _ => throw new InvalidDataException($"unknown interrupt unit event tag {tag}"),
        };
    }

    private static EntryWritten ReadEntryWritten(BinaryReader r)
    {
        var table = r.Read7BitEncodedInt();
        var handle = r.Read7BitEncodedInt();
        var allocated = r.ReadBoolean();
        return new EntryWritten(table, handle, ReadEntry(r), allocated);
    }

    /// <summary>The whole state: every interrupt table (entries, cursor) and every ASID binding.</summary>
    public static byte[] EncodeSnapshot(InterruptUnitTables state)
    {
        using var ms = new MemoryStream();
        using var w = new BinaryWriter(ms);
        w.Write(Version);
        var tables = state.Asids.Tables.Values.OrderBy(t => t.Id).ToList();
        w.Write7BitEncodedInt(tables.Count);
        foreach (var t in tables)
        {
            w.Write7BitEncodedInt(t.Id);
            w.Write((byte)t.SizeExponent);
            w.Write7BitEncodedInt(t.Cursor);
            w.Write(t.Readable);
            w.Write7BitEncodedInt(t.Count);
            foreach (var (handle, entry) in t.Entries.OrderBy(kv => kv.Key))
            {
                w.Write7BitEncodedInt(handle);
                WriteEntry(w, entry);
            }
        }
        var bindings = state.Asids.Bindings.OrderBy(b => b.Asid.Value).ToList();
        w.Write7BitEncodedInt(bindings.Count);
        foreach (var (asid, table) in bindings)
        {
            w.Write7BitEncodedInt((int)asid.Value);
            w.Write7BitEncodedInt(table.Id);
        }
        w.Flush();
        return ms.ToArray();
    }

    public static InterruptUnitTables DecodeSnapshot(byte[] bytes)
    {
        using var r = Reader(bytes, "interrupt unit snapshot");
        var state = new InterruptUnitTables();
        var tables = r.Read7BitEncodedInt();
        for (var i = 0; i < tables; i++)
        {
            var table = state.Asids.GetOrCreateTable(r.Read7BitEncodedInt(), r.ReadByte());
            var cursor = r.Read7BitEncodedInt();
            table.Readable = r.ReadBoolean();
            var count = r.Read7BitEncodedInt();
            for (var e = 0; e < count; e++) table.Set(r.Read7BitEncodedInt(), ReadEntry(r));
            table.RestoreCursor(cursor);
        }
        var bindings = r.Read7BitEncodedInt();
        for (var i = 0; i < bindings; i++)
        {
            var asid = Asid.FromMasked((uint)r.Read7BitEncodedInt());
            var id = r.Read7BitEncodedInt();
            if (!state.Asids.Tables.TryGetValue(id, out var table))
                throw new InvalidDataException($"snapshot binds ASID {asid} to interrupt table {id}, which it does not contain");
            state.Asids.Bind(asid, table);
        }
        return state;
    }

    /// <summary>
    /// A stable content digest per table (SHA-256 over the canonical encoding, entries in handle order), plus one
    /// for the ASID table under the key "asid-table". Equal content gives equal digests on any machine and run.
    /// </summary>
    public static SortedDictionary<string, string> Digests(InterruptUnitTables state)
    {
        var result = new SortedDictionary<string, string>(StringComparer.Ordinal);
        foreach (var t in state.Asids.Tables.Values)
        {
            using var ms = new MemoryStream();
            using var w = new BinaryWriter(ms);
            w.Write(t.Id);
            w.Write((byte)t.SizeExponent);
            foreach (var (handle, entry) in t.Entries.OrderBy(kv => kv.Key))
            {
                w.Write(handle);
                WriteEntry(w, entry);
            }
            w.Flush();
            result[$"interrupt-table/{t.Id}"] = Hex(ms.ToArray());
        }
        using (var ms = new MemoryStream())
        using (var w = new BinaryWriter(ms))
        {
            foreach (var (asid, table) in state.Asids.Bindings.OrderBy(b => b.Asid.Value))
            {
                w.Write(asid.Value);
                w.Write(table.Id);
            }
            w.Flush();
            result["asid-table"] = Hex(ms.ToArray());
        }
        return result;
    }

    private static string Hex(byte[] content) => CodecFormat.Sha256Hex(content);

    [Flags]
    private enum EntryFlags : byte
    {
        Present = 1, Fpd = 2, Posted = 4, DestinationModeLogical = 8, RedirectionHint = 16, TriggerModeLevel = 32, Urgent = 64, ReservedBitsSet = 128,
    }

    public static void WriteEntry(BinaryWriter w, InterruptEntry e)
    {
        var flags = (e.Present ? EntryFlags.Present : 0) | (e.FaultProcessingDisable ? EntryFlags.Fpd : 0)
                    | (e.Mode == InterruptMode.Posted ? EntryFlags.Posted : 0) | (e.DestinationModeLogical ? EntryFlags.DestinationModeLogical : 0)
                    | (e.RedirectionHint ? EntryFlags.RedirectionHint : 0) | (e.TriggerModeLevel ? EntryFlags.TriggerModeLevel : 0)
                    | (e.Urgent ? EntryFlags.Urgent : 0) | (e.ReservedBitsSet ? EntryFlags.ReservedBitsSet : 0);
        w.Write((byte)flags);
        w.Write(e.Vector);
        w.Write(e.DeliveryMode);
        w.Write7BitEncodedInt((int)e.Destination);
        w.Write7BitEncodedInt64((long)e.PostedDescriptorAddress);
        w.Write(e.Sid);
        w.Write((byte)(e.Sq | ((byte)e.Svt << 2)));
        w.Write7BitEncodedInt((int)e.Asid.Value);
        w.Write7BitEncodedInt(e.Target.Value);
    }

    public static InterruptEntry ReadEntry(BinaryReader r)
    {
        var flags = (EntryFlags)r.ReadByte();
        var vector = r.ReadByte();
        var deliveryMode = r.ReadByte();
        var destination = (uint)r.Read7BitEncodedInt();
        var pda = (ulong)r.Read7BitEncodedInt64();
        var sid = r.ReadUInt16();
        var sqSvt = r.ReadByte();
        var asid = Asid.FromMasked((uint)r.Read7BitEncodedInt());
        var target = new ContainerId(r.Read7BitEncodedInt());
        return new InterruptEntry
        {
            Present = flags.HasFlag(EntryFlags.Present),
            FaultProcessingDisable = flags.HasFlag(EntryFlags.Fpd),
            Mode = flags.HasFlag(EntryFlags.Posted) ? InterruptMode.Posted : InterruptMode.Remapped,
            DestinationModeLogical = flags.HasFlag(EntryFlags.DestinationModeLogical),
            RedirectionHint = flags.HasFlag(EntryFlags.RedirectionHint),
            TriggerModeLevel = flags.HasFlag(EntryFlags.TriggerModeLevel),
            Urgent = flags.HasFlag(EntryFlags.Urgent),
            ReservedBitsSet = flags.HasFlag(EntryFlags.ReservedBitsSet),
            Vector = vector,
            DeliveryMode = deliveryMode,
            Destination = destination,
            PostedDescriptorAddress = pda,
            Sid = sid,
            Sq = (byte)(sqSvt & 3),
            Svt = (SourceValidation)((sqSvt >> 2) & 3),
            Asid = asid,
            Target = target,
        };
    }

    private static BinaryReader Reader(byte[] bytes, string what) => CodecFormat.Reader(bytes, what, Version);
}
