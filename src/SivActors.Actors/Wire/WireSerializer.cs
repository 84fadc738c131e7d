using Akka.Actor;
using Akka.Serialization;
using SivActors.Actors.AssignableInterface;
using SivActors.Actors.Cluster;
using SivActors.Actors.DmaRemapping;
using SivActors.Actors.Entities;
using SivActors.Model.Device;
using SivActors.Model.Identity;
using SivActors.Model.Interrupts;
using SivActors.Model.Tables;
using SivActors.Model.Vdcm;
using SivActors.Model.Workload;
using C = SivActors.Actors.Container.ContainerProtocol;
using D = SivActors.Actors.DmaRemapping.DmaRemappingProtocol;
using Hf = SivActors.Actors.HostingFunction.HostingFunctionProtocol;
using Iu = SivActors.Actors.InterruptUnit.InterruptUnitProtocol;
using RunMsg = SivActors.Actors.Run.RunProtocol;
using V = SivActors.Actors.Vdcm.VdcmProtocol;

namespace SivActors.Actors.Wire;

/// <summary>
/// The compact binary wire format of every <see cref="ISivMessage"/>: a short stable manifest per message type and
/// fields as varints and fixed-width little-endian values; a 64-byte portal write travels as the descriptor's own
/// 64 bytes. Bound to the marker interface, so no message of ours ever falls back to JSON.
/// </summary>
public sealed partial class WireSerializer : SerializerWithStringManifest
{
    public const int Id = 7302;

    private static readonly Dictionary<Type, (string Manifest, Action<WireWriter, object> Write)> Writers = new();
    private static readonly Dictionary<string, Func<WireReader, object>> Readers = new(StringComparer.Ordinal);

    public WireSerializer(ExtendedActorSystem system) : base(system) => _system = system;

    private readonly ExtendedActorSystem _system;

    public override int Identifier => Id;

    /// <summary>Every message type with a wire form (the tests check this covers every <see cref="ISivMessage"/>).</summary>
    public static IReadOnlyCollection<Type> Types => Writers.Keys;

    public override string Manifest(object o) =>
        Writers.TryGetValue(o.GetType(), out var w) ? w.Manifest : throw new ArgumentException($"{o.GetType().FullName} has no wire format", nameof(o));

    public override byte[] ToBinary(object obj)
    {
        if (!Writers.TryGetValue(obj.GetType(), out var w)) throw new ArgumentException($"{obj.GetType().FullName} has no wire format", nameof(obj));
        // One writer per thread, taken out of its slot while in use (so a nested call gets its own): the only
        // allocation per message is the exact-size array Akka's transport needs.
        var writer = _writer ?? new WireWriter(256);
        _writer = null;
        try
        {
            w.Write(writer, obj);
            return writer.ToArray();
        }
        finally
        {
            writer.Reset();
            if (writer.Capacity <= MaxPooledCapacity) _writer = writer;
        }
    }

    private const int MaxPooledCapacity = 64 * 1024;

    [ThreadStatic] private static WireWriter? _writer;

    private long _deserialized;

    /// <summary>Messages this node received from another node (or, under serialize-messages, every message).</summary>
    public long Deserialized => Interlocked.Read(ref _deserialized);

    public override object FromBinary(byte[] bytes, string manifest)
    {
        Interlocked.Increment(ref _deserialized);
        if (!Readers.TryGetValue(manifest, out var read))
            throw new System.Runtime.Serialization.SerializationException($"unknown wire manifest \"{manifest}\"");
        var reader = new WireReader(bytes, _system);
        try
        {
            var result = read(reader);
            if (!reader.AtEnd) throw new InvalidDataException("trailing bytes");
            return result;
        }
        catch (Exception e) when (e is InvalidDataException or OverflowException)
        {
            throw new System.Runtime.Serialization.SerializationException($"malformed \"{manifest}\" payload: {e.Message}", e);
        }
    }

    private static void Add<T>(string manifest, Action<WireWriter, T> write, Func<WireReader, T> read) where T : notnull
    {
        if (!Readers.TryAdd(manifest, r => read(r))) throw new InvalidOperationException($"duplicate wire manifest {manifest}");
        Writers.Add(typeof(T), (manifest, (w, o) => write(w, (T)o)));
    }

    static WireSerializer()
    {
        // One registration per message type, grouped by what sends it; a manifest never changes once shipped.
        RegisterDeviceTraffic();
        RegisterControl();
    }

    private static void Figures(WireWriter w, ClusterProtocol.NodeMetrics m)
    {
        w.String(m.RunId); w.String(m.Node); w.Var(m.WindowOperations); w.Var(m.WindowInterrupts); w.Var(m.Hops); w.Var(m.RemoteHops);
        w.VarU((ulong)m.Metrics.Counters.Length);
        foreach (var c in m.Metrics.Counters) w.Var(c);
        w.VarU((ulong)m.Metrics.Histograms.Length);
        foreach (var h in m.Metrics.Histograms)
        {
            w.VarU((ulong)h.Length);
            foreach (var (value, count) in h) { w.Var(value); w.Var(count); }
        }
        w.NullableString(m.Metrics.FirstEntityFailure); w.NullableString(m.Metrics.FirstRogueSurprise); w.NullableString(m.Metrics.FirstMisdelivery);
        w.VarU((ulong)m.Faults.Count);
        foreach (var f in m.Faults) { w.Var(f.Fault); w.Var(f.Affected); w.Var(f.Lost); w.Var(f.Refused); w.Var(f.Aborted); w.Var(f.DetectedUs); w.Var(f.Crossed); }
        w.Var(m.WindowUs);
        w.Var(m.Incarnation);
    }

    private static ClusterProtocol.NodeMetrics Figures(WireReader r)
    {
        var run = r.String(); var node = r.String(); var ops = r.Var(); var irq = r.Var(); var hops = r.Var(); var remote = r.Var();
        var counters = new long[r.Length()];
        for (var i = 0; i < counters.Length; i++) counters[i] = r.Var();
        var histograms = new (long, long)[r.Length()][];
        for (var h = 0; h < histograms.Length; h++)
        {
            histograms[h] = new (long, long)[r.Length()];
            for (var i = 0; i < histograms[h].Length; i++) histograms[h][i] = (r.Var(), r.Var());
        }
        var export = new SivActors.Model.Reporting.MetricsExport(counters, histograms, r.NullableString(), r.NullableString(), r.NullableString());
        var faults = new SivActors.Model.Faults.FaultCounts[r.Length()];
        for (var i = 0; i < faults.Length; i++) faults[i] = new SivActors.Model.Faults.FaultCounts((int)r.Var(), r.Var(), r.Var(), r.Var(), r.Var(), r.Var()) { Crossed = r.Var() };
        return new ClusterProtocol.NodeMetrics(run, node, ops, irq, hops, remote, export) { Faults = faults, WindowUs = r.Var(), Incarnation = r.Var() };
    }

    private static void Address(WireWriter w, EntityAddress a)
    {
        w.Byte((byte)a.Kind);
        w.Var(a.Key);
        w.Var(a.Host);
    }

    private static EntityAddress Address(WireReader r) => new((EntityKind)r.Byte(), r.Var(), r.Int());

    private static void Upstream(WireWriter w, UpstreamWrite u)
    {
        w.UInt16(u.Source.RequesterId); w.Asid(u.Asid); w.Byte((byte)u.Kind); w.VarU(u.Address); w.UInt32(u.Data);
    }

    private static UpstreamWrite Upstream(WireReader r) =>
        new(SourceId.FromRequesterId(r.UInt16()), r.Asid(), (UpstreamKind)r.Byte(), r.VarU(), r.UInt32());

    private static void Forgery(WireWriter w, Forgery f)
    {
        w.Byte((byte)f.Kind); Upstream(w, f.Write); w.VarU(f.DmaLength); w.Byte((byte)f.Expected); w.Byte((byte)f.AlsoAccepted);
    }

    private static Forgery Forgery(WireReader r) => new((RogueKind)r.Byte(), Upstream(r), r.VarU(), (FaultReason)r.Byte(), (FaultReason)r.Byte());

    private static void Hint(WireWriter w, ForgeryHint h)
    {
        w.Bool(h.PeerAsid is not null); w.Asid(h.PeerAsid ?? default); w.Bool(h.PeerHandle is not null); w.UInt16(h.PeerHandle ?? 0);
        w.Bool(h.PeerSameSource); w.Var(h.TableSize);
    }

    private static ForgeryHint Hint(WireReader r)
    {
        var hasAsid = r.Bool(); var asid = r.Asid(); var hasHandle = r.Bool(); var handle = r.UInt16();
        return new ForgeryHint(hasAsid ? asid : null, hasHandle ? handle : null, r.Bool(), r.Int());
    }

    private static void Ims(WireWriter w, ImsEntry e)
    {
        w.UInt64(e.Address); w.UInt32(e.Data); w.VarU(e.Pasid);
        w.Byte((byte)((e.PasidEnable ? 1 : 0) | (e.Ignore ? 2 : 0) | (e.Mask ? 4 : 0) | (e.Pending ? 8 : 0)));
    }

    private static ImsEntry Ims(WireReader r)
    {
        var address = r.UInt64(); var data = r.UInt32(); var pasid = checked((uint)r.VarU()); var f = r.Byte();
        return new ImsEntry(address, data, pasid, (f & 1) != 0, (f & 2) != 0, (f & 4) != 0, (f & 8) != 0);
    }

    /// <summary>A DMA write burst, on its own (AI to DMA remapping) or inside the memory write it became.</summary>
    private static void WriteDma(WireWriter w, D.DmaWrite m)
    {
        w.Host(m.Host); w.Ai(m.Origin); w.UInt16(m.Source.RequesterId); w.Asid(m.Pasid);
        w.Bool(m.Data is not null);
        if (m.Data is { } data) { w.VarU(m.DataAddress); w.Bytes(data); }
        w.Bool(m.WritesRecord);
        if (m.WritesRecord)
        {
            Span<byte> record = stackalloc byte[CompletionRecord.Size];
            m.Record.WriteTo(record);
            w.VarU(m.RecordAddress); w.Raw(record);
        }
        w.Var(m.ModeledNs);
        w.Bool(m.Forgery is not null);
        if (m.Forgery is { } f) Forgery(w, f);
    }

    private static D.DmaWrite ReadDma(WireReader r)
    {
        var h = r.Host(); var origin = r.Ai(); var source = SourceId.FromRequesterId(r.UInt16()); var pasid = r.Asid();
        ulong dataAddress = 0, recordAddress = 0;
        byte[]? data = null;
        if (r.Bool()) { dataAddress = r.VarU(); data = r.Bytes(); }
        var record = default(CompletionRecord);
        if (r.Bool()) { recordAddress = r.VarU(); record = CompletionRecord.ReadFrom(r.Raw(CompletionRecord.Size)); }
        return new D.DmaWrite(h, origin, source, pasid, dataAddress, data, recordAddress, record, r.Var(), r.Bool() ? Forgery(r) : null);
    }

    /// <summary>An interrupt as its AI raised it, on its own or inside the delivery it became.</summary>
    private static void WriteRaise(WireWriter w, Iu.RaiseInterrupt m)
    {
        w.Host(m.Host); w.Ai(m.Origin); Upstream(w, m.Write); w.Var(m.ModeledNs); w.Var(m.Seq); w.Var(m.Watermark);
        w.Bool(m.Forgery is not null);
        if (m.Forgery is { } f) Forgery(w, f);
    }

    private static Iu.RaiseInterrupt ReadRaise(WireReader r)
    {
        var h = r.Host(); var origin = r.Ai(); var write = Upstream(r); var modeled = r.Var(); var seq = r.Var(); var watermark = r.Var();
        var outbox = seq == 0 && watermark == 0 ? null : new Iu.OutboxStamp(seq, watermark);
        return new Iu.RaiseInterrupt(h, origin, write, modeled, r.Bool() ? Forgery(r) : null, outbox);
    }

    private static void Entry(WireWriter w, InterruptEntry e)
    {
        // The persisted entry encoding is the one wire form of an interrupt entry.
        using var ms = new MemoryStream(32);
        using (var bw = new BinaryWriter(ms, System.Text.Encoding.UTF8, leaveOpen: true)) TableCodec.WriteEntry(bw, e);
        w.Bytes(ms.GetBuffer().AsSpan(0, (int)ms.Length));
    }

    private static InterruptEntry Entry(WireReader r)
    {
        using var br = new BinaryReader(new MemoryStream(r.Bytes(), writable: false));
        return TableCodec.ReadEntry(br);
    }

    private static void Msix(WireWriter w, VirtualMsixEntry e)
    {
        w.UInt64(e.Address); w.UInt32(e.Data); w.Bool(e.Masked); w.Var(e.AiSlot);
        w.Bool(e.InterruptHandle is not null); w.Var(e.InterruptHandle ?? 0); w.Bool(e.ImsIndex is not null); w.UInt16(e.ImsIndex ?? 0);
    }

    private static VirtualMsixEntry Msix(WireReader r)
    {
        var address = r.UInt64(); var data = r.UInt32(); var masked = r.Bool(); var slot = r.Int();
        var hasHandle = r.Bool(); var handle = r.Int(); var hasIms = r.Bool(); var ims = r.UInt16();
        return new VirtualMsixEntry(address, data, masked) { AiSlot = slot, InterruptHandle = hasHandle ? handle : null, ImsIndex = hasIms ? ims : null };
    }
}
