using Akka.Actor;
using Akka.Serialization;
using SivActors.Actors.AssignableInterface;
using SivActors.Actors.Cluster;
using SivActors.Actors.DmaRemapping;
using SivActors.Actors.Persistence;
using SivActors.Model.Device;
using SivActors.Model.Dma;
using SivActors.Model.Identity;
using SivActors.Model.Interrupts;
using SivActors.Model.Tables;
using SivActors.Model.Vdcm;
using SivActors.Model.Workload;
using Ai = SivActors.Actors.AssignableInterface.AssignableInterfaceProtocol;
using C = SivActors.Actors.Container.ContainerProtocol;
using D = SivActors.Actors.DmaRemapping.DmaRemappingProtocol;
using Hf = SivActors.Actors.HostingFunction.HostingFunctionProtocol;
using Iu = SivActors.Actors.InterruptUnit.InterruptUnitProtocol;
using RunMsg = SivActors.Actors.Run.RunProtocol;
using V = SivActors.Actors.Vdcm.VdcmProtocol;

namespace SivActors.Actors.Infrastructure.Wire;

/// <summary>
/// The compact binary wire format of every <see cref="ISivMessage"/>: a short stable manifest per message type and
/// fields as varints and fixed-width little-endian values; a 64-byte portal write travels as the descriptor's own
/// 64 bytes. Bound to the marker interface, so no message of ours ever falls back to JSON.
/// </summary>
public sealed class WireSerializer : SerializerWithStringManifest
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
        // Assignable interface.
        Add<Ai.PortalWrite>("ai.portal", (w, m) =>
        {
            w.Ai(m.Ai); w.Container(m.From);
            Span<byte> d = stackalloc byte[Descriptor.Size];
            m.Descriptor.WriteTo(d);
            w.Raw(d);
            w.Byte((byte)m.Portal); w.Byte((byte)m.WriteType); w.Var(m.Slot); w.Var(m.ModeledNs); w.Var(m.WallStartTicks);
        }, r => new Ai.PortalWrite(r.Ai(), r.Container(), Descriptor.ReadFrom(r.Raw(Descriptor.Size)), (PortalKind)r.Byte(), (PortalWriteType)r.Byte(),
            r.Int(), r.Var(), r.Var()));
        Add<Ai.MemoryReadData>("ai.mrd", (w, m) =>
        {
            w.Ai(m.Ai); w.Var(m.RequestId); w.Bytes(m.Data); w.Bool(m.Data2 is not null);
            if (m.Data2 is not null) w.Bytes(m.Data2);
            w.Var(m.ModeledNs);
        }, r => new Ai.MemoryReadData(r.Ai(), r.Var(), r.Bytes(), r.Bool() ? r.Bytes() : null, r.Var()));
        Add<Ai.AssignToVdev>("ai.assign", (w, m) =>
        {
            w.Ai(m.Ai); w.Container(m.Container); w.Asid(m.Pasid); w.Byte((byte)m.Mode); w.Var(m.Size); w.Var(m.Threshold);
        }, r => new Ai.AssignToVdev(r.Ai(), r.Container(), r.Asid(), (WorkQueueMode)r.Byte(), r.Int(), r.Int()));
        Add<Ai.WriteIms>("ai.ims.w", (w, m) =>
        {
            w.Ai(m.Ai); w.Var(m.RequestId); w.UInt16(m.Index); Ims(w, m.Entry); w.Bool(m.Hint is not null);
            if (m.Hint is { } h) Hint(w, h);
        }, r => new Ai.WriteIms(r.Ai(), r.Var(), r.UInt16(), Ims(r), r.Bool() ? Hint(r) : null));
        Add<Ai.InterruptAcked>("ai.ack", (w, m) => { w.Ai(m.Ai); w.Var(m.Seq); }, r => new Ai.InterruptAcked(r.Ai(), r.Var()));
        Add<Ai.ImsWritten>("ai.ims.w.ok", (w, m) => { w.Var(m.RequestId); w.Bool(m.Accepted); }, r => new Ai.ImsWritten(r.Var(), r.Bool()));
        Add<Ai.SetImsMask>("ai.ims.m", (w, m) => { w.Ai(m.Ai); w.Var(m.RequestId); w.UInt16(m.Index); w.Bool(m.Mask); },
            r => new Ai.SetImsMask(r.Ai(), r.Var(), r.UInt16(), r.Bool()));
        Add<Ai.ImsMaskSet>("ai.ims.m.ok", (w, m) => w.Var(m.RequestId), r => new Ai.ImsMaskSet(r.Var()));
        Add<Ai.RevokeIms>("ai.ims.r", (w, m) => { w.Ai(m.Ai); w.Var(m.RequestId); w.UInt16(m.Index); }, r => new Ai.RevokeIms(r.Ai(), r.Var(), r.UInt16()));
        Add<Ai.ImsRevoked>("ai.ims.r.ok", (w, m) => w.Var(m.RequestId), r => new Ai.ImsRevoked(r.Var()));
        Add<Ai.ResetQueue>("ai.reset", (w, m) => { w.Ai(m.Ai); w.Var(m.RequestId); w.Asid(m.Pasid); }, r => new Ai.ResetQueue(r.Ai(), r.Var(), r.Asid()));
        Add<Ai.QueueReset>("ai.reset.ok", (w, m) => { w.Var(m.RequestId); w.Var(m.Aborted); }, r => new Ai.QueueReset(r.Var(), r.Int()));
        Add<Ai.SurpriseRemoved>("ai.removed", (w, m) => { w.Ai(m.Ai); w.Var(m.Fault); }, r => new Ai.SurpriseRemoved(r.Ai(), r.Int()));
        Add<Ai.FlushUpstream>("ai.flush", (w, m) => { w.Ai(m.Ai); w.ActorRef(m.ReplyTo); }, r => new Ai.FlushUpstream(r.Ai(), r.ActorRef()));
        Add<Ai.GetState>("ai.get", (w, m) => w.Ai(m.Ai), r => new Ai.GetState(r.Ai()));
        Add<Ai.State>("ai.state", (w, m) =>
        {
            w.Bool(m.Mode is not null); w.Byte((byte)(m.Mode ?? 0)); w.Var(m.Occupancy);
            w.VarU((ulong)m.Ims.Count);
            foreach (var (index, e) in m.Ims.OrderBy(kv => kv.Key)) { w.UInt16(index); Ims(w, e); }
            w.Bool(m.Rogue);
        }, r =>
        {
            var hasMode = r.Bool();
            var mode = (WorkQueueMode)r.Byte();
            var occupancy = r.Int();
            var n = r.Length();
            var ims = new Dictionary<ushort, ImsEntry>(n);
            for (var i = 0; i < n; i++) ims[r.UInt16()] = Ims(r);
            return new Ai.State(hasMode ? mode : null, occupancy, ims, r.Bool());
        });

        // Container.
        Add<C.VdevComposed>("c.composed", (w, m) =>
        {
            w.Container(m.Container); w.Host(m.Host); w.Asid(m.Asid);
            w.VarU((ulong)m.Ais.Length);
            foreach (var a in m.Ais) w.Ai(a);
            w.VarU((ulong)m.Modes.Length);
            foreach (var mode in m.Modes) w.Byte((byte)mode);
            w.ActorRef(m.ReplyTo);
        }, r =>
        {
            var c = r.Container(); var h = r.Host(); var asid = r.Asid();
            var ais = new AiId[r.Length()];
            for (var i = 0; i < ais.Length; i++) ais[i] = r.Ai();
            var modes = new WorkQueueMode[r.Length()];
            for (var i = 0; i < modes.Length; i++) modes[i] = (WorkQueueMode)r.Byte();
            return new C.VdevComposed(c, h, asid, ais, modes, r.ActorRef());
        });
        Add<C.GuestAccessCompleted>("c.access.ok", (w, m) =>
        {
            w.Container(m.Container); w.Host(m.Host); w.Var(m.RequestId); w.UInt32(m.Value); w.NullableString(m.Error); w.Var(m.ModeledNs); w.Var(m.WallStartTicks);
        }, r => new C.GuestAccessCompleted(r.Container(), r.Host(), r.Var(), r.UInt32(), r.NullableString(), r.Var(), r.Var()));
        Add<C.PortalRejected>("c.rejected", (w, m) => { w.Container(m.Container); w.Host(m.Host); w.Var(m.Slot); w.Byte((byte)m.Outcome); },
            r => new C.PortalRejected(r.Container(), r.Host(), r.Int(), (SubmitOutcome)r.Byte()));
        Add<C.DescriptorAborted>("c.aborted", (w, m) => { w.Container(m.Container); w.Host(m.Host); w.Var(m.Slot); },
            r => new C.DescriptorAborted(r.Container(), r.Host(), r.Int()));
        Add<C.WorkQueueRoom>("c.room", (w, m) => { w.Container(m.Container); w.Host(m.Host); w.Var(m.Slot); },
            r => new C.WorkQueueRoom(r.Container(), r.Host(), r.Int()));
        Add<C.MemoryRead>("c.mr", (w, m) =>
        {
            w.Container(m.Container); w.Host(m.Host); w.Var(m.RequestId); w.Ai(m.ReplyTo);
            w.VarU(m.Address); w.Var(m.Length); w.VarU(m.Address2); w.Var(m.Length2); w.Var(m.ModeledNs);
        }, r => new C.MemoryRead(r.Container(), r.Host(), r.Var(), r.Ai(), r.VarU(), r.Int(), r.VarU(), r.Int(), r.Var()));
        Add<C.MemoryWrite>("c.mw", (w, m) => { w.Container(m.Container); w.Host(m.Host); Writes(w, m.Writes); w.Var(m.ModeledNs); w.Var(m.WallStartTicks); },
            r => new C.MemoryWrite(r.Container(), r.Host(), Writes(r), r.Var(), r.Var()));
        Add<C.InterruptDelivered>("c.irq", (w, m) =>
        {
            w.Container(m.Container); w.Host(m.Host); w.Byte(m.Vector); w.Ai(m.Origin); w.Asid(m.Asid); w.Var(m.Handle);
            w.Byte((byte)((m.Posted ? 1 : 0) | (m.Urgent ? 2 : 0) | (m.Stale ? 4 : 0))); w.Var(m.ModeledNs); w.Var(m.WallStartTicks); w.Var(m.Seq); w.Var(m.Watermark);
        }, r =>
        {
            var c = r.Container(); var h = r.Host(); var vector = r.Byte(); var origin = r.Ai(); var asid = r.Asid(); var handle = r.Int();
            var flags = r.Byte();
            return new C.InterruptDelivered(c, h, vector, origin, asid, handle, (flags & 1) != 0, (flags & 2) != 0, r.Var(), r.Var(), r.Var(), r.Var())
                { Stale = (flags & 4) != 0 };
        });
        Add<C.StartWorkload>("c.start", (w, m) => { w.Container(m.Container); w.Host(m.Host); }, r => new C.StartWorkload(r.Container(), r.Host()));
        Add<C.StopWorkload>("c.stop", (w, m) => { w.Container(m.Container); w.Host(m.Host); w.ActorRef(m.ReplyTo); },
            r => new C.StopWorkload(r.Container(), r.Host(), r.ActorRef()));
        Add<C.FlushInterrupts>("c.flush", (w, m) => { w.Container(m.Container); w.Host(m.Host); w.ActorRef(m.ReplyTo); },
            r => new C.FlushInterrupts(r.Container(), r.Host(), r.ActorRef()));
        Add<C.GetState>("c.get", (w, m) => { w.Container(m.Container); w.Host(m.Host); }, r => new C.GetState(r.Container(), r.Host()));
        Add<C.State>("c.state", (w, m) =>
        {
            w.Asid(m.Asid); w.Var(m.OutstandingDescriptors);
            w.VarU((ulong)m.CompletionHandles.Count);
            foreach (var h in m.CompletionHandles) { w.Bool(h is not null); w.UInt16(h ?? 0); }
            w.Bytes(m.Vectors.ToArray()); w.Bool(m.Running);
        }, r =>
        {
            var asid = r.Asid(); var outstanding = r.Int();
            var handles = new ushort?[r.Length()];
            for (var i = 0; i < handles.Length; i++) { var has = r.Bool(); var h = r.UInt16(); handles[i] = has ? h : null; }
            return new C.State(asid, outstanding, handles, r.Bytes(), r.Bool());
        });
        Add<C.ContainerReady>("c.ready", (w, m) => w.Container(m.Container), r => new C.ContainerReady(r.Container()));
        Add<C.ContainerDrained>("c.drained", (w, m) => w.Container(m.Container), r => new C.ContainerDrained(r.Container()));
        Add<C.ContainerFlushed>("c.flushed", (w, m) => w.Container(m.Container), r => new C.ContainerFlushed(r.Container()));
        Add<C.ContainerFailed>("c.failed", (w, m) => { w.Container(m.Container); w.String(m.Reason); }, r => new C.ContainerFailed(r.Container(), r.String()));

        // DMA remapping.
        Add<D.BindPasid>("d.bind", (w, m) =>
        {
            w.Host(m.Host); w.Asid(m.Pasid); w.Container(m.Owner);
            w.VarU((ulong)m.Regions.Length);
            foreach (var g in m.Regions) { w.String(g.Name); w.VarU(g.Base); w.VarU(g.Length); w.Byte((byte)g.Permissions); }
        }, r =>
        {
            var h = r.Host(); var pasid = r.Asid(); var owner = r.Container();
            var regions = new MappedRegion[r.Length()];
            for (var i = 0; i < regions.Length; i++) regions[i] = new MappedRegion(r.String(), r.VarU(), r.VarU(), (DmaPermissions)r.Byte());
            return new D.BindPasid(h, pasid, owner, regions);
        });
        Add<D.DmaRead>("d.read", (w, m) =>
        {
            w.Host(m.Host); w.Var(m.RequestId); w.Ai(m.Origin); w.UInt16(m.Source.RequesterId); w.Asid(m.Pasid);
            w.VarU(m.Address); w.Var(m.Length); w.VarU(m.Address2); w.Var(m.Length2); w.Var(m.ModeledNs);
        }, r => new D.DmaRead(r.Host(), r.Var(), r.Ai(), SourceId.FromRequesterId(r.UInt16()), r.Asid(), r.VarU(), r.Int(), r.VarU(), r.Int(), r.Var()));
        Add<D.DmaWrite>("d.write", (w, m) =>
        {
            w.Host(m.Host); w.Ai(m.Origin); w.UInt16(m.Source.RequesterId); w.Asid(m.Pasid); Writes(w, m.Writes); w.Var(m.ModeledNs); w.Var(m.WallStartTicks);
            w.Bool(m.Forgery is not null);
            if (m.Forgery is { } f) Forgery(w, f);
        }, r => new D.DmaWrite(r.Host(), r.Ai(), SourceId.FromRequesterId(r.UInt16()), r.Asid(), Writes(r), r.Var(), r.Var(), r.Bool() ? Forgery(r) : null));
        Add<D.FlushFrom>("d.flush", (w, m) => { w.Host(m.Host); w.Ai(m.Ai); w.ActorRef(m.ReplyTo); }, r => new D.FlushFrom(r.Host(), r.Ai(), r.ActorRef()));
        Add<D.DmaReadFailed>("d.read.fail", (w, m) => { w.Ai(m.TargetAi); w.Var(m.RequestId); w.Byte((byte)m.Fault); },
            r => new D.DmaReadFailed(r.Ai(), r.Var(), (FaultReason)r.Byte()));

        // Hosting function.
        Add<Hf.RequestInterruptHandle>("h.req", (w, m) => { w.Device(m.Device); w.Var(m.RequestId); }, r => new Hf.RequestInterruptHandle(r.Device(), r.Var()));
        Add<Hf.InterruptHandleGranted>("h.granted", (w, m) => { w.Var(m.RequestId); w.UInt16(m.Index); }, r => new Hf.InterruptHandleGranted(r.Var(), r.UInt16()));
        Add<Hf.InterruptHandleRefused>("h.refused", (w, m) => { w.Var(m.RequestId); w.Byte(m.Error); }, r => new Hf.InterruptHandleRefused(r.Var(), r.Byte()));
        Add<Hf.ReleaseInterruptHandle>("h.release", (w, m) => { w.Device(m.Device); w.UInt16(m.Index); }, r => new Hf.ReleaseInterruptHandle(r.Device(), r.UInt16()));
        Add<Hf.ClaimInterruptHandles>("h.claim", (w, m) =>
        {
            w.Device(m.Device); w.VarU((ulong)m.Indices.Length);
            foreach (var i in m.Indices) w.UInt16(i);
        }, r =>
        {
            var d = r.Device();
            var indices = new ushort[r.Length()];
            for (var i = 0; i < indices.Length; i++) indices[i] = r.UInt16();
            return new Hf.ClaimInterruptHandles(d, indices);
        });
        Add<Hf.GetState>("h.get", (w, m) => w.Device(m.Device), r => new Hf.GetState(r.Device()));
        Add<Hf.State>("h.state", (w, m) => { w.Var(m.ImsInUse); w.Var(m.ImsSize); }, r => new Hf.State(r.Int(), r.Int()));

        // Interrupt unit.
        Add<Iu.BindAsid>("iu.bind", (w, m) => { w.Host(m.Host); w.Asid(m.Asid); w.Var(m.TableId); w.Var(m.SizeExponent); },
            r => new Iu.BindAsid(r.Host(), r.Asid(), r.Int(), r.Int()));
        Add<Iu.AsidBindingDone>("iu.bind.ok", (w, m) => { w.Asid(m.Asid); w.Var(m.TableId); w.NullableString(m.Error); },
            r => new Iu.AsidBindingDone(r.Asid(), r.Int(), r.NullableString()));
        Add<Iu.ProgramEntry>("iu.prog", (w, m) =>
        {
            w.Host(m.Host); w.Var(m.RequestId); w.Asid(m.Asid); w.Bool(m.Handle is not null); w.Var(m.Handle ?? 0); Entry(w, m.Entry);
        }, r =>
        {
            var h = r.Host(); var id = r.Var(); var asid = r.Asid(); var has = r.Bool(); var handle = r.Int();
            return new Iu.ProgramEntry(h, id, asid, has ? handle : null, Entry(r));
        });
        Add<Iu.EntryProgrammed>("iu.prog.ok", (w, m) => { w.Var(m.RequestId); w.Var(m.Handle); w.Var(m.TableId); w.Var(m.TableSize); },
            r => new Iu.EntryProgrammed(r.Var(), r.Int(), r.Int(), r.Int()));
        Add<Iu.ProgramFailed>("iu.prog.fail", (w, m) => { w.Var(m.RequestId); w.String(m.Reason); }, r => new Iu.ProgramFailed(r.Var(), r.String()));
        Add<Iu.FreeEntry>("iu.free", (w, m) => { w.Host(m.Host); w.Var(m.RequestId); w.Asid(m.Asid); w.Var(m.Handle); },
            r => new Iu.FreeEntry(r.Host(), r.Var(), r.Asid(), r.Int()));
        Add<Iu.EntryFreed>("iu.free.ok", (w, m) => { w.Var(m.RequestId); w.NullableString(m.Error); }, r => new Iu.EntryFreed(r.Var(), r.NullableString()));
        Add<Iu.RaiseInterrupt>("iu.raise", (w, m) =>
        {
            w.Host(m.Host); w.Ai(m.Origin); Upstream(w, m.Write); w.Var(m.ModeledNs); w.Var(m.WallStartTicks); w.Var(m.Seq); w.Var(m.Watermark);
            w.Bool(m.Forgery is not null);
            if (m.Forgery is { } f) Forgery(w, f);
        }, r =>
        {
            var h = r.Host(); var origin = r.Ai(); var write = Upstream(r); var modeled = r.Var(); var wall = r.Var(); var seq = r.Var(); var watermark = r.Var();
            return new Iu.RaiseInterrupt(h, origin, write, modeled, wall, r.Bool() ? Forgery(r) : null, seq, watermark);
        });
        Add<Iu.FlushFrom>("iu.flush", (w, m) => { w.Host(m.Host); w.Ai(m.Ai); w.ActorRef(m.ReplyTo); }, r => new Iu.FlushFrom(r.Host(), r.Ai(), r.ActorRef()));
        Add<Iu.UpstreamFlushed>("iu.flushed", (w, m) => { w.Ai(m.Ai); w.Byte((byte)m.Unit); }, r => new Iu.UpstreamFlushed(r.Ai(), (EntityKind)r.Byte()));
        Add<Iu.GetState>("iu.get", (w, m) => w.Host(m.Host), r => new Iu.GetState(r.Host()));
        Add<Iu.ReconcileAsid>("iu.reconcile", (w, m) =>
        {
            w.Host(m.Host); w.Asid(m.Asid); w.VarU((ulong)m.Keep.Length);
            foreach (var k in m.Keep) w.Var(k);
            w.VarU((ulong)m.Entries.Count);
            foreach (var (handle, entry) in m.Entries) { w.Var(handle); Entry(w, entry); }
        }, r =>
        {
            var h = r.Host(); var asid = r.Asid();
            var keep = new int[r.Length()];
            for (var i = 0; i < keep.Length; i++) keep[i] = r.Int();
            var entries = new Dictionary<int, InterruptEntry>();
            for (var n = r.Length(); n > 0; n--) entries[r.Int()] = Entry(r);
            return new Iu.ReconcileAsid(h, asid, keep) { Entries = entries };
        });
        Add<Iu.GetTables>("iu.tables.get", (w, m) => w.Host(m.Host), r => new Iu.GetTables(r.Host()));
        Add<Iu.Tables>("iu.tables", (w, m) => { w.Host(m.Host); w.Bytes(m.Snapshot); }, r => new Iu.Tables(r.Host(), r.Bytes()));
        Add<Iu.State>("iu.state", (w, m) =>
        {
            w.Var(m.BoundAsids); w.Var(m.Tables); w.Var(m.Entries); w.VarU((ulong)m.PendingFaults.Count);
            foreach (var f in m.PendingFaults)
            {
                w.Byte((byte)f.Reason); w.UInt16(f.Sid); w.UInt64(f.FaultInfo); w.Bool(f.PasidPresent); w.VarU(f.PasidValue); w.Bool(f.IsRead);
            }
            w.Var(m.FaultEvents); w.Bool(m.Overflow);
        }, r =>
        {
            var bound = r.Int(); var tables = r.Int(); var entries = r.Int();
            var faults = new FaultRecord[r.Length()];
            for (var i = 0; i < faults.Length; i++)
                faults[i] = new FaultRecord((FaultReason)r.Byte(), r.UInt16(), r.UInt64(), r.Bool(), checked((uint)r.VarU()), r.Bool());
            return new Iu.State(bound, tables, entries, faults, r.Var(), r.Bool());
        });

        // Run.
        Add<RunMsg.RunScenario>("run.start", (w, m) => w.ActorRef(m.ReplyTo), r => new RunMsg.RunScenario(r.ActorRef()));
        Add<RunMsg.RunFinished>("run.finished", (w, m) =>
        {
            w.Var(m.StartTicks); w.Var(m.StopTicks); w.Var(m.OperationsAtStart); w.Var(m.InterruptsAtStart); w.Var(m.OperationsAtStop);
            w.Var(m.InterruptsAtStop); w.Var(m.Containers); w.Var(m.Ais); w.Var(m.PausedTicks);
        }, r => new RunMsg.RunFinished(r.Var(), r.Var(), r.Var(), r.Var(), r.Var(), r.Var(), r.Int(), r.Int(), r.Var()));
        Add<RunMsg.PauseLoad>("run.pause", (w, m) => { w.String(m.Reason); w.ActorRef(m.ReplyTo); }, r => new RunMsg.PauseLoad(r.String(), r.ActorRef()));
        Add<RunMsg.LoadPaused>("run.paused", (w, m) => w.String(m.Reason), r => new RunMsg.LoadPaused(r.String()));
        Add<RunMsg.ResumeLoad>("run.resume", (w, m) => w.String(m.Reason), r => new RunMsg.ResumeLoad(r.String()));
        Add<RunMsg.RunFailed>("run.failed", (w, m) => w.String(m.Reason), r => new RunMsg.RunFailed(r.String()));

        // VDCM.
        Add<V.ComposeVdev>("v.compose", (w, m) => { w.Host(m.Host); w.Container(m.Container); w.Var(m.AiCount); w.ActorRef(m.ReplyTo); },
            r => new V.ComposeVdev(r.Host(), r.Container(), r.Int(), r.ActorRef()));
        Add<V.GuestAccessRequest>("v.access", (w, m) =>
        {
            w.Host(m.Host); w.Container(m.From); w.Var(m.RequestId);
            w.Byte((byte)m.Access.Kind); w.Var(m.Access.Offset); w.Byte((byte)m.Access.Portal); w.UInt32(m.Access.Value);
            w.Var(m.ModeledNs); w.Var(m.WallStartTicks);
        }, r => new V.GuestAccessRequest(r.Host(), r.Container(), r.Var(), new GuestAccess((AccessKind)r.Byte(), r.Int(), (PortalKind)r.Byte(), r.UInt32()),
            r.Var(), r.Var()));
        Add<V.GetVdev>("v.get", (w, m) => { w.Host(m.Host); w.Container(m.Container); }, r => new V.GetVdev(r.Host(), r.Container()));
        Add<V.GetCompositions>("v.comps.get", (w, m) => w.Host(m.Host), r => new V.GetCompositions(r.Host()));
        Add<V.Compositions>("v.comps", (w, m) => { w.Host(m.Host); w.Bytes(m.Snapshot); }, r => new V.Compositions(r.Host(), r.Bytes()));
        Add<V.VdevInfo>("v.info", (w, m) =>
        {
            w.Container(m.Container); w.Asid(m.Asid); w.Var(m.TableId);
            w.VarU((ulong)m.Ais.Count);
            foreach (var a in m.Ais) w.Ai(a);
            w.VarU((ulong)m.Msix.Count);
            foreach (var e in m.Msix) Msix(w, e);
            w.VarU((ulong)m.Modes.Count);
            foreach (var mode in m.Modes) w.Byte((byte)mode);
        }, r =>
        {
            var c = r.Container(); var asid = r.Asid(); var table = r.Int();
            var ais = new AiId[r.Length()];
            for (var i = 0; i < ais.Length; i++) ais[i] = r.Ai();
            var msix = new VirtualMsixEntry[r.Length()];
            for (var i = 0; i < msix.Length; i++) msix[i] = Msix(r);
            var modes = new WorkQueueMode[r.Length()];
            for (var i = 0; i < modes.Length; i++) modes[i] = (WorkQueueMode)r.Byte();
            return new V.VdevInfo(c, asid, table, ais, msix, modes);
        });
        Add<V.RestoreDeviceState>("v.restore", (w, m) => { w.Host(m.Host); Address(w, m.Requester); }, r => new V.RestoreDeviceState(r.Host(), Address(r)));
        Add<V.RemoveDevice>("v.dev.remove", (w, m) => { w.Host(m.Host); w.Var(m.Device); w.Var(m.Fault); },
            r => new V.RemoveDevice(r.Host(), r.Int(), r.Int()));
        Add<V.RefreshVdev>("v.refresh", (w, m) => { w.Host(m.Host); w.Container(m.Container); }, r => new V.RefreshVdev(r.Host(), r.Container()));
        Add<V.VdevGone>("v.gone", (w, m) => w.Container(m.Container), r => new V.VdevGone(r.Container()));
        Add<V.DeviceStateRestored>("v.restored", (w, m) => Address(w, m.Requester), r => new V.DeviceStateRestored(Address(r)));

        // Entity parents and table owners.
        Add<EnsureEntity>("e.ensure", (w, m) => Address(w, m.Address), r => new EnsureEntity(Address(r)));
        Add<EntityEnsured>("e.ensured", (w, m) => Address(w, m.Address), r => new EntityEnsured(Address(r)));
        Add<LocateEntity>("e.locate", (w, m) => Address(w, m.Address), r => new LocateEntity(Address(r)));
        Add<Faults.FaultProtocol.InjectedKill>("f.kill", (w, m) => { Address(w, m.Address); w.Var(m.Fault); },
            r => new Faults.FaultProtocol.InjectedKill(Address(r), r.Int()));
        Add<EntityLocated>("e.located", (w, m) => Address(w, m.Address), r => new EntityLocated(Address(r)));
        // Cluster runs.
        Add<ClusterProtocol.DeployScenario>("n.deploy", (w, m) =>
        {
            w.String(m.RunId); w.String(m.ScenarioJson); w.String(m.CostModelJson); w.String(m.Source); w.ActorRef(m.ReportTo);
        }, r => new ClusterProtocol.DeployScenario(r.String(), r.String(), r.String(), r.String(), r.ActorRef()));
        Add<ClusterProtocol.TableUnrecoverableOnNode>("n.unrecoverable", (w, m) => { w.String(m.Node); w.String(m.PersistenceId); w.Var(m.LastGoodSequenceNr); w.String(m.Reason); },
            r => new ClusterProtocol.TableUnrecoverableOnNode(r.String(), r.String(), r.Var(), r.String()));
        Add<ClusterProtocol.ScenarioDeployed>("n.deployed", (w, m) => { w.String(m.RunId); w.String(m.Node); w.NullableString(m.Error); },
            r => new ClusterProtocol.ScenarioDeployed(r.String(), r.String(), r.NullableString()));
        Add<ClusterProtocol.MarkWindow>("n.window", (w, m) => { w.String(m.RunId); w.Bool(m.Start); w.Var(m.OpenForUs); },
            r => new ClusterProtocol.MarkWindow(r.String(), r.Bool()) { OpenForUs = r.Var() });
        Add<ClusterProtocol.CollectMetrics>("n.collect", (w, m) => w.String(m.RunId), r => new ClusterProtocol.CollectMetrics(r.String()));
        Add<ClusterProtocol.NodeMetrics>("n.metrics", Figures, Figures);
        Add<ClusterProtocol.RequestLeave>("n.leave", (w, m) => { w.String(m.RunId); w.String(m.Node); w.ActorRef(m.Agent); },
            r => new ClusterProtocol.RequestLeave(r.String(), r.String(), r.ActorRef()));
        Add<ClusterProtocol.LeaveGranted>("n.leave.ok", (w, m) => w.String(m.RunId), r => new ClusterProtocol.LeaveGranted(r.String()));
        Add<ClusterProtocol.NodeLeaving>("n.leaving", (w, m) => Figures(w, m.Final), r => new ClusterProtocol.NodeLeaving(Figures(r)));
        Add<ClusterProtocol.LeaveRecorded>("n.leave.rec", (w, m) => w.String(m.RunId), r => new ClusterProtocol.LeaveRecorded(r.String()));
        Add<ClusterProtocol.ForgetNode>("n.forget", (w, m) => { w.String(m.RunId); w.String(m.Address); }, r => new ClusterProtocol.ForgetNode(r.String(), r.String()));
        Add<ClusterProtocol.AllowRebalance>("n.rebal", (w, m) => { w.String(m.RunId); w.Bool(m.Open); }, r => new ClusterProtocol.AllowRebalance(r.String(), r.Bool()));
        Add<ClusterProtocol.RebalanceAllowed>("n.rebal.ok", (w, m) => { w.String(m.RunId); w.String(m.Node); w.Bool(m.Open); },
            r => new ClusterProtocol.RebalanceAllowed(r.String(), r.String(), r.Bool()));
        Add<ClusterProtocol.NodeForgotten>("n.forgot", (w, m) => { w.String(m.RunId); w.String(m.Node); }, r => new ClusterProtocol.NodeForgotten(r.String(), r.String()));
        Add<ClusterProtocol.CutLinks>("n.cut", (w, m) =>
        {
            w.String(m.RunId);
            w.Var(m.Peers.Count);
            foreach (var peer in m.Peers) w.String(peer);
            w.Bool(m.Heal);
        }, r =>
        {
            var run = r.String();
            var peers = new string[r.Int()];
            for (var i = 0; i < peers.Length; i++) peers[i] = r.String();
            return new ClusterProtocol.CutLinks(run, peers, r.Bool());
        });
        Add<ClusterProtocol.CrashNode>("n.crash", (w, m) => { w.String(m.RunId); w.Var(m.Fault); w.Var(m.RestartAfterMs); },
            r => new ClusterProtocol.CrashNode(r.String(), (int)r.Var()) { RestartAfterMs = (int)r.Var() });
        Add<ClusterProtocol.LinksCut>("n.cut.ok", (w, m) => { w.String(m.RunId); w.String(m.Node); w.Bool(m.Heal); w.NullableString(m.Error); },
            r => new ClusterProtocol.LinksCut(r.String(), r.String(), r.Bool(), r.NullableString()));
        Add<TableOwnerRecovered>("e.recovered", (w, m) => Address(w, m.Address), r => new TableOwnerRecovered(Address(r)));
        Add<CheckTopology>("t.check", (w, m) => w.Bytes(m.Topology.Encode()), r => new CheckTopology(TopologyRecorded.Decode(r.Bytes())));
        Add<TopologyChecked>("t.checked", (w, m) => { w.Byte((byte)m.Verdict); w.Bytes(m.Stored.Encode()); },
            r => new TopologyChecked((TopologyVerdict)r.Byte(), TopologyRecorded.Decode(r.Bytes())));
        Add<ReadTopology>("t.read", (_, _) => { }, _ => ReadTopology.Instance);
        Add<TopologyRead>("t.read.ok", (w, m) =>
        {
            w.Bool(m.Topology is not null);
            if (m.Topology is { } t) w.Bytes(t.Encode());
        }, r => new TopologyRead(r.Bool() ? TopologyRecorded.Decode(r.Bytes()) : null));
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
        foreach (var f in m.Faults) { w.Var(f.Fault); w.Var(f.Affected); w.Var(f.Lost); w.Var(f.Refused); w.Var(f.Aborted); w.Var(f.DetectedUs); }
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
        for (var i = 0; i < faults.Length; i++) faults[i] = new SivActors.Model.Faults.FaultCounts((int)r.Var(), r.Var(), r.Var(), r.Var(), r.Var(), r.Var());
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

    private static void Writes(WireWriter w, DmaWriteOp[] writes)
    {
        w.VarU((ulong)writes.Length);
        foreach (var op in writes) { w.VarU(op.Address); w.Bytes(op.Data); }
    }

    private static DmaWriteOp[] Writes(WireReader r)
    {
        var writes = new DmaWriteOp[r.Length()];
        for (var i = 0; i < writes.Length; i++) writes[i] = new DmaWriteOp(r.VarU(), r.Bytes());
        return writes;
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
