using Akka.Serialization;
using SivActors.Actors.AssignableInterface;
using SivActors.Actors.Cluster;
using SivActors.Actors.DmaRemapping;
using SivActors.Actors.Entities;
using SivActors.Actors.Hosting;
using SivActors.Actors.Persistence;
using SivActors.Model.Device;
using SivActors.Model.Dma;
using SivActors.Model.Identity;
using SivActors.Model.Interrupts;
using SivActors.Model.Vdcm;
using SivActors.Model.Workload;
using Ai = SivActors.Actors.AssignableInterface.AssignableInterfaceProtocol;
using C = SivActors.Actors.Container.ContainerProtocol;
using D = SivActors.Actors.DmaRemapping.DmaRemappingProtocol;
using Hf = SivActors.Actors.HostingFunction.HostingFunctionProtocol;
using RunMsg = SivActors.Actors.Run.RunProtocol;
using V = SivActors.Actors.Vdcm.VdcmProtocol;

namespace SivActors.Actors.Wire;

public sealed partial class WireSerializer
{
    private static void WritePortal(WireWriter w, Ai.PortalWrite m)
    {
        w.Ai(m.Ai); w.Container(m.From);
        Span<byte> d = stackalloc byte[Descriptor.Size];
        m.Descriptor.WriteTo(d);
        w.Raw(d);
        w.Byte((byte)m.Portal); w.Byte((byte)m.WriteType); w.Var(m.Slot); w.Var(m.ModeledNs);
    }

    private static Ai.PortalWrite ReadPortal(WireReader r) =>
        new(r.Ai(), r.Container(), Descriptor.ReadFrom(r.Raw(Descriptor.Size)), (PortalKind)r.Byte(), (PortalWriteType)r.Byte(), r.Int(), r.Var());

    /// <summary>The messages of AIs, containers, DMA remapping and hosting functions: the fast path and device set-up.</summary>
    private static void RegisterDeviceTraffic()
    {
        // Assignable interface.
        Add<Ai.PortalWrite>("ai.portal", WritePortal, ReadPortal);
        // Emulated mode: the same portal write, trapped on its way to the host's VDCM.
        Add<SivActors.Actors.Vdcm.VdcmProtocol.TrappedPortalWrite>("vdcm.portal", (w, m) => { w.Host(m.Host); WritePortal(w, m.Write); },
            r => new SivActors.Actors.Vdcm.VdcmProtocol.TrappedPortalWrite(r.Host(), ReadPortal(r)));
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
        Add<C.MemoryWrite>("c.mw", (w, m) => { w.Container(m.Container); w.Host(m.Host); WriteDma(w, m.Write); w.Var(m.ModeledNs); },
            r => new C.MemoryWrite(r.Container(), r.Host(), ReadDma(r), r.Var()));
        Add<C.InterruptDelivered>("c.irq", (w, m) =>
        {
            w.Container(m.Container); w.Host(m.Host); w.Byte(m.Vector); WriteRaise(w, m.Raised); w.Var(m.Handle);
            w.Byte((byte)((m.Posted ? 1 : 0) | (m.Urgent ? 2 : 0) | (m.Stale ? 4 : 0))); w.Var(m.ModeledNs);
        }, r =>
        {
            var c = r.Container(); var h = r.Host(); var vector = r.Byte(); var raised = ReadRaise(r); var handle = r.Int();
            var flags = r.Byte();
            return new C.InterruptDelivered(c, h, vector, raised, handle, (flags & 1) != 0, (flags & 2) != 0, r.Var()) { Stale = (flags & 4) != 0 };
        });
        Add<C.StartWorkload>("c.start", (w, m) => { w.Container(m.Container); w.Host(m.Host); }, r => new C.StartWorkload(r.Container(), r.Host()));
        Add<C.NoiseStarts>("c.noise", (w, m) => { w.Container(m.Container); w.Host(m.Host); }, r => new C.NoiseStarts(r.Container(), r.Host()));
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
        Add<C.ContainerDrained>("c.drained", (w, m) => { w.Container(m.Container); w.Var(m.Completed); }, r => new C.ContainerDrained(r.Container(), r.Var()));
        Add<C.ContainerFlushed>("c.flushed", (w, m) => w.Container(m.Container), r => new C.ContainerFlushed(r.Container()));
        Add<C.ContainerFailed>("c.failed", (w, m) => { w.Container(m.Container); w.String(m.Reason); }, r => new C.ContainerFailed(r.Container(), r.String()));

        // DMA remapping.
        Add<D.BindPasid>("d.bind", (w, m) =>
        {
            w.Host(m.Host); w.Asid(m.Pasid); w.Container(m.Owner);
            w.VarU((ulong)m.Regions.Length);
            foreach (var g in m.Regions) { w.String(g.Name); w.VarU(g.Base); w.VarU(g.Length); w.Byte((byte)g.Permissions); }
            // The VF's requester id + 1 (0: none, a SIOV binding by PASID alone).
            w.VarU(m.Requester is { } vf ? vf.RequesterId + 1u : 0);
        }, r =>
        {
            var h = r.Host(); var pasid = r.Asid(); var owner = r.Container();
            var regions = new MappedRegion[r.Length()];
            for (var i = 0; i < regions.Length; i++) regions[i] = new MappedRegion(r.String(), r.VarU(), r.VarU(), (DmaPermissions)r.Byte());
            var requester = r.VarU();
            return new D.BindPasid(h, pasid, owner, regions, requester == 0 ? null : SourceId.FromRequesterId((ushort)(requester - 1)));
        });
        Add<D.DmaRead>("d.read", (w, m) =>
        {
            w.Host(m.Host); w.Var(m.RequestId); w.Ai(m.Origin); w.UInt16(m.Source.RequesterId); w.Asid(m.Pasid);
            w.VarU(m.Address); w.Var(m.Length); w.VarU(m.Address2); w.Var(m.Length2); w.Var(m.ModeledNs);
        }, r => new D.DmaRead(r.Host(), r.Var(), r.Ai(), SourceId.FromRequesterId(r.UInt16()), r.Asid(), r.VarU(), r.Int(), r.VarU(), r.Int(), r.Var()));
        Add<D.DmaWrite>("d.write", WriteDma, ReadDma);
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
    }
}
