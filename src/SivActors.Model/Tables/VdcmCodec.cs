using SivActors.Model.Device;
using SivActors.Model.Identity;
using SivActors.Model.Vdcm;

namespace SivActors.Model.Tables;

/// <summary>
/// Compact, versioned binary encoding of a VDCM's compositions: events, snapshots and a content digest. Every
/// payload starts with a format version byte; a reader refuses versions it does not know.
/// </summary>
public static class VdcmCodec
{
    public const byte Version = 1;
    private const byte TagComposed = 1, TagMsixSet = 2, TagReset = 3, TagDeviceRemoved = 4, TagRecomposed = 5, TagTornDown = 6;

    public static byte[] Encode(VdcmEvent e)
    {
        using var ms = new MemoryStream(48);
        using var w = new BinaryWriter(ms);
        w.Write(Version);
        switch (e)
        {
            case VdevComposed c:
                w.Write(TagComposed);
                WriteComposed(w, c);
                break;
            case MsixEntrySet m:
                w.Write(TagMsixSet);
                w.Write7BitEncodedInt(m.Container.Value);
                w.Write7BitEncodedInt(m.Entry);
                WriteMsix(w, m.Value);
                break;
            case VdevReset r:
                w.Write(TagReset);
                w.Write7BitEncodedInt(r.Container.Value);
                break;
            case DeviceRemoved d:
                w.Write(TagDeviceRemoved);
                w.Write7BitEncodedInt(d.Device);
                break;
            case VdevRecomposed m:
                w.Write(TagRecomposed);
                w.Write7BitEncodedInt(m.Container.Value);
                w.Write7BitEncodedInt(m.Slot);
                WriteAi(w, m.Ai);
                break;
            case VdevTornDown t:
                w.Write(TagTornDown);
                w.Write7BitEncodedInt(t.Container.Value);
                break;
            default:
                throw new ArgumentException($"unknown VDCM event {e.GetType().Name}", nameof(e));
        }
        w.Flush();
        return ms.ToArray();
    }

    public static VdcmEvent DecodeEvent(byte[] bytes)
    {
        using var r = Reader(bytes, "VDCM event");
        var tag = r.ReadByte();
        return tag switch
        {
            TagComposed => ReadComposed(r),
            TagMsixSet => new MsixEntrySet(new ContainerId(r.Read7BitEncodedInt()), r.Read7BitEncodedInt(), ReadMsix(r)),
            TagReset => new VdevReset(new ContainerId(r.Read7BitEncodedInt())),
            TagDeviceRemoved => new DeviceRemoved(r.Read7BitEncodedInt()),
            TagRecomposed => new VdevRecomposed(new ContainerId(r.Read7BitEncodedInt()), r.Read7BitEncodedInt(), ReadAi(r)),
            TagTornDown => new VdevTornDown(new ContainerId(r.Read7BitEncodedInt())),
            _ => throw new InvalidDataException($"unknown VDCM event tag {tag}"),
        };
    }

    /// <summary>Every composition with its MSI-X entries, in container order.</summary>
    public static VdcmSnapshot EncodeSnapshot(VdcmCompositions state)
    {
        using var ms = new MemoryStream();
        using var w = new BinaryWriter(ms);
        w.Write(Version);
        WriteCanonical(w, state);
        w.Flush();
        return new VdcmSnapshot(ms.ToArray());
    }

    /// <summary>Loads a snapshot into an empty state (built for the same host and scenario).</summary>
    public static void RestoreSnapshot(VdcmCompositions empty, VdcmSnapshot snapshot)
    {
        if (empty.Vdevs.Count > 0) throw new InvalidOperationException("a VDCM snapshot loads only into an empty state");
        using var r = Reader(snapshot.Payload, "VDCM snapshot");
        var count = r.Read7BitEncodedInt();
        for (var i = 0; i < count; i++)
        {
            var composed = ReadComposed(r);
            empty.Apply(composed);
            var entries = r.Read7BitEncodedInt();
            for (var e = 0; e < entries; e++) empty.Apply(new MsixEntrySet(composed.Container, e, ReadMsix(r)));
        }
        if (r.BaseStream.Position == r.BaseStream.Length) return;
        // The removal trailer (present once a device was removed): the removed devices, and the counters that the
        // vdevs alone no longer imply (torn-down vdevs still number the tables; moved slots advanced the round-robin).
        var removed = r.Read7BitEncodedInt();
        for (var i = 0; i < removed; i++) empty.Apply(new DeviceRemoved(r.Read7BitEncodedInt()));
        empty.ComposedCount = r.Read7BitEncodedInt();
        empty.Composer.SharedCursor = r.Read7BitEncodedInt();
    }

    /// <summary>SHA-256 over the canonical encoding of every composition and MSI-X entry.</summary>
    public static string Digest(VdcmCompositions state)
    {
        using var ms = new MemoryStream();
        using var w = new BinaryWriter(ms);
        WriteCanonical(w, state);
        w.Flush();
        return CodecFormat.Sha256Hex(ms.GetBuffer().AsSpan(0, (int)ms.Length));
    }

    private static void WriteCanonical(BinaryWriter w, VdcmCompositions state)
    {
        var vdevs = state.Vdevs.OrderBy(kv => kv.Key.Value).ToList();
        w.Write7BitEncodedInt(vdevs.Count);
        foreach (var (container, v) in vdevs)
        {
            WriteComposed(w, new VdevComposed(container, v.Device.Asid, v.TableId, v.Picks));
            w.Write7BitEncodedInt(v.Device.Msix.Count);
            foreach (var e in v.Device.Msix) WriteMsix(w, e);
        }
        // Only stores that saw a removal carry the trailer, so every other digest is what it was before removals existed.
        var removed = state.RemovedDevices;
        if (removed.Count == 0) return;
        w.Write7BitEncodedInt(removed.Count);
        foreach (var d in removed) w.Write7BitEncodedInt(d);
        w.Write7BitEncodedInt(state.ComposedCount);
        w.Write7BitEncodedInt(state.Composer.SharedCursor);
    }

    private static void WriteComposed(BinaryWriter w, VdevComposed c)
    {
        w.Write7BitEncodedInt(c.Container.Value);
        w.Write7BitEncodedInt((int)c.Asid.Value);
        w.Write7BitEncodedInt(c.TableId);
        w.Write7BitEncodedInt(c.Ais.Count);
        foreach (var a in c.Ais) WriteAi(w, a);
    }

    private static void WriteAi(BinaryWriter w, ComposedAi a)
    {
        w.Write7BitEncodedInt(a.Device);
        w.Write7BitEncodedInt(a.Ai);
        w.Write((byte)a.Mode);
    }

    private static ComposedAi ReadAi(BinaryReader r) => new(r.Read7BitEncodedInt(), r.Read7BitEncodedInt(), (WorkQueueMode)r.ReadByte());

    private static VdevComposed ReadComposed(BinaryReader r)
    {
        var container = new ContainerId(r.Read7BitEncodedInt());
        var asid = Asid.FromMasked((uint)r.Read7BitEncodedInt());
        var table = r.Read7BitEncodedInt();
        var n = r.Read7BitEncodedInt();
        var ais = new ComposedAi[n];
        for (var i = 0; i < n; i++) ais[i] = ReadAi(r);
        return new VdevComposed(container, asid, table, ais);
    }

    private static void WriteMsix(BinaryWriter w, VirtualMsixEntry e)
    {
        w.Write(e.Address);
        w.Write(e.Data);
        w.Write((byte)((e.Masked ? 1 : 0) | (e.InterruptHandle is null ? 0 : 2) | (e.ImsIndex is null ? 0 : 4)));
        w.Write7BitEncodedInt(e.AiSlot + 1);
        if (e.InterruptHandle is { } h) w.Write7BitEncodedInt(h);
        if (e.ImsIndex is { } ims) w.Write(ims);
    }

    private static VirtualMsixEntry ReadMsix(BinaryReader r)
    {
        var address = r.ReadUInt64();
        var data = r.ReadUInt32();
        var flags = r.ReadByte();
        var slot = r.Read7BitEncodedInt() - 1;
        int? handle = (flags & 2) != 0 ? r.Read7BitEncodedInt() : null;
        ushort? ims = (flags & 4) != 0 ? r.ReadUInt16() : null;
        return new VirtualMsixEntry(address, data, (flags & 1) != 0) { AiSlot = slot, InterruptHandle = handle, ImsIndex = ims };
    }

    private static BinaryReader Reader(byte[] bytes, string what) => CodecFormat.Reader(bytes, what, Version);
}
