using Akka.Actor;
using SivActors.Actors.AssignableInterface;
using SivActors.Actors.Container;
using SivActors.Actors.HostingFunction;
using SivActors.Actors.Infrastructure;
using SivActors.Actors.InterruptUnit;
using SivActors.Model.Device;
using SivActors.Model.Identity;
using SivActors.Model.Interrupts;
using SivActors.Model.Vdcm;
using static SivActors.Actors.Vdcm.VdcmProtocol;
using Ai = SivActors.Actors.AssignableInterface.AssignableInterfaceProtocol;
using Dmar = SivActors.Actors.DmaRemapping.DmaRemappingProtocol;
using Hf = SivActors.Actors.HostingFunction.HostingFunctionProtocol;
using Iu = SivActors.Actors.InterruptUnit.InterruptUnitProtocol;

namespace SivActors.Actors.Vdcm;

/// <summary>
/// The VDCM of one host: composes vdevs from AIs and services every trapped guest access in software. Multi-step
/// operations (program a vector: IMS handle, interrupt entry, IMS write) run as continuations keyed by request id,
/// so the VDCM keeps serving other guests meanwhile. It never sees fast-path traffic.
/// </summary>
public sealed class VdcmActor : ReceiveActor
{
    private readonly EmulatorContext _ctx;
    private readonly HostId _host;
    private readonly Composer _composer;
    private readonly Dictionary<ContainerId, Vdev> _vdevs = new();
    private readonly Dictionary<int, List<ContainerId>> _tables = new();
    private readonly Dictionary<long, Action<object>> _pending = new();
    private long _nextRequest;
    private int _composed;

    private sealed record Vdev(VirtualDevice Device, int TableId, WorkQueueMode[] Modes);

    public VdcmActor(EmulatorContext ctx, HostId host)
    {
        _ctx = ctx;
        _host = host;
        var t = ctx.Scenario.Topology;
        var containersHere = (t.Containers - host.Value + t.Hosts - 1) / t.Hosts;
        _composer = new Composer(t.DevicesPerHost, t.AisPerDevice, ctx.Scenario.Composition.ParsedPolicy,
            (long)containersHere * ctx.Scenario.Composition.AisPerVdev);

        Receive<ComposeVdev>(Compose);
        Receive<GuestAccessRequest>(Access);
        Receive<GetVdev>(m =>
        {
            if (_vdevs.TryGetValue(m.Container, out var v))
                Sender.Tell(new VdevInfo(m.Container, v.Device.Asid, v.TableId, v.Device.Ais, v.Device.Msix.ToList()));
            else Sender.Tell(new Status.Failure(new InvalidOperationException($"no vdev for {m.Container}")));
        });
        Receive<Iu.EntryProgrammed>(m => Continue(m.RequestId, m));
        Receive<Iu.ProgramFailed>(m => Continue(m.RequestId, m));
        Receive<Iu.EntryFreed>(m => Continue(m.RequestId, m));
        Receive<Hf.InterruptHandleGranted>(m => Continue(m.RequestId, m));
        Receive<Hf.InterruptHandleRefused>(m => Continue(m.RequestId, m));
        Receive<Ai.ImsWritten>(m => Continue(m.RequestId, m));
        Receive<Ai.ImsMaskSet>(m => Continue(m.RequestId, m));
        Receive<Ai.ImsRevoked>(m => Continue(m.RequestId, m));
        Receive<Ai.QueueReset>(m => Continue(m.RequestId, m));
    }

    private void Compose(ComposeVdev m)
    {
        try
        {
            var picks = _composer.Compose(m.AiCount);
            var asid = EmulatorContext.AsidOf(m.Container);
            var tableId = _composed++ / _ctx.Scenario.Composition.AsidsPerInterruptTable;
            var ais = picks.Select(p => Composer.ToAiId(_host, p.Device, p.Ai)).ToArray();
            var t = _ctx.Scenario.Topology;
            _ctx.Directory.Tell(new Iu.BindAsid(_host, asid, tableId, _ctx.Scenario.Composition.InterruptTableSizeExponent));
            _ctx.Directory.Tell(new Dmar.BindPasid(_host, asid, m.Container, _ctx.Layout.Regions));
            for (var i = 0; i < ais.Length; i++)
                _ctx.Directory.Tell(new Ai.AssignToVdev(ais[i], m.Container, asid, picks[i].Mode, t.WorkQueueSize, t.WorkQueueThreshold));
            var device = new VirtualDevice(new VdevId(m.Container.Value), m.Container, asid, ais);
            _vdevs[m.Container] = new Vdev(device, tableId, picks.Select(p => p.Mode).ToArray());
            if (!_tables.TryGetValue(tableId, out var members)) _tables[tableId] = members = [];
            members.Add(m.Container);
            _ctx.Directory.Tell(new ContainerProtocol.VdevComposed(m.Container, _host, asid, ais, picks.Select(p => p.Mode).ToArray(), m.ReplyTo));
        }
        catch (SivActors.Model.SivInputException e)
        {
            m.ReplyTo.Tell(new ContainerProtocol.ContainerFailed(m.Container, e.Message));
        }
    }

    private void Access(GuestAccessRequest m)
    {
        if (!_vdevs.TryGetValue(m.From, out var v))
        {
            Reply(m, 0, $"{m.From} has no vdev on this VDCM");
            return;
        }
        var slotMode = v.Modes[0];
        var (path, op) = AccessClassifier.Classify(m.Access, slotMode);
        if (path == DataPath.Fast)
        {
            // Counted so the report proves it stays 0: the fast path must never reach the VDCM.
            _ctx.Metrics.VdcmMessageOnFastPath();
            Reply(m, 0, "fast-path access sent to the VDCM");
            return;
        }
        var modeled = m.ModeledNs + (long)_ctx.Cost.VdcmTrapNs;
        var a = m.Access;
        try
        {
            switch (op)
            {
                case OperationType.ConfigRead:
                    Complete(m, op, v.Device.ReadConfig(a.Offset), modeled);
                    break;
                case OperationType.ConfigWrite:
                    v.Device.WriteConfig(a.Offset, a.Value);
                    Complete(m, op, 0, modeled);
                    break;
                case OperationType.Bar0Read:
                    Complete(m, op, v.Device.ReadBar0(a.Offset), modeled);
                    break;
                case OperationType.ControlRegisterWrite:
                    v.Device.WriteBar0(a.Offset, a.Value);
                    Complete(m, op, 0, modeled);
                    break;
                case OperationType.MsixTableWrite:
                    MsixWrite(m, v, modeled);
                    break;
                case OperationType.AdminCommand:
                    AdminCommand(m, v, modeled);
                    break;
                case OperationType.VdevReset:
                    Reset(m, v, modeled);
                    break;
                default:
                    Fail(m, op, "the shared-WQ unlimited portal is not emulated; use the limited portal", modeled);
                    break;
            }
        }
        catch (SivActors.Model.SivInputException e)
        {
            Fail(m, op, e.Message, modeled);
        }
    }

    private void MsixWrite(GuestAccessRequest m, Vdev v, long modeled)
    {
        var (entry, field) = VirtualDevice.MsixSlot(m.Access.Offset);
        if (entry >= v.Device.Msix.Count)
        {
            Fail(m, OperationType.MsixTableWrite, $"virtual MSI-X entry {entry} does not exist", modeled);
            return;
        }
        var current = v.Device.Msix[entry];
        switch (field)
        {
            case 0:
                v.Device.SetMsix(entry, current with { Address = (current.Address & ~0xFFFF_FFFFul) | m.Access.Value });
                Complete(m, OperationType.MsixTableWrite, 0, modeled);
                return;
            case 4:
                v.Device.SetMsix(entry, current with { Address = (current.Address & 0xFFFF_FFFFul) | ((ulong)m.Access.Value << 32) });
                Complete(m, OperationType.MsixTableWrite, 0, modeled);
                return;
            case 8:
                v.Device.SetMsix(entry, current with { Data = m.Access.Value });
                if (!current.Masked && current.InterruptHandle is not null)
                    ProgramVector(m, v, entry, modeled); // live entry: the new vector goes into the interrupt entry
                else Complete(m, OperationType.MsixTableWrite, 0, modeled);
                return;
        }
        var mask = (m.Access.Value & 1) != 0;
        if (entry == 0 || current.AiSlot < 0)
        {
            // Entry 0 is the VDCM's own (errors, admin completions): emulated in software, no IMS behind it.
            v.Device.SetMsix(entry, current with { Masked = mask });
            Complete(m, OperationType.MsixTableWrite, 0, modeled);
            return;
        }
        if (mask)
        {
            v.Device.SetMsix(entry, current with { Masked = true });
            if (current.ImsIndex is { } ims)
                Request(new Ai.SetImsMask(v.Device.Ais[current.AiSlot], NextId(), ims, true),
                    _ => Complete(m, OperationType.MsixTableWrite, ims, modeled + (long)_ctx.Cost.VdcmTableProgramNs));
            else Complete(m, OperationType.MsixTableWrite, 0, modeled);
            return;
        }
        ProgramVector(m, v, entry, modeled);
    }

    /// <summary>
    /// Unmask or reprogram a virtual MSI-X entry: get an IMS handle from the device (first time), write the interrupt
    /// entry (posted or remapped, owned by the tenant's ASID), write the IMS entry with that handle and the tenant's
    /// PASID. Answers the guest with the IMS index, its Completion Interrupt Handle.
    /// </summary>
    private void ProgramVector(GuestAccessRequest m, Vdev v, int entry, long modeled)
    {
        var current = v.Device.Msix[entry];
        var ai = v.Device.Ais[current.AiSlot];
        var step = (long)_ctx.Cost.VdcmTableProgramNs;

        void WithImsIndex(ushort ims)
        {
            var irte = BuildEntry(v, entry, ai);
            Request(new Iu.ProgramEntry(_host, NextId(), v.Device.Asid, current.InterruptHandle, irte), reply =>
            {
                if (reply is Iu.ProgramFailed failed)
                {
                    Fail(m, OperationType.MsixTableWrite, failed.Reason, modeled + step);
                    return;
                }
                var programmed = (Iu.EntryProgrammed)reply;
                var imsEntry = new ImsEntry(RemappableMsi.EncodeAddress((ushort)programmed.Handle), 0, v.Device.Asid.Value,
                    PasidEnable: true, Ignore: false, Mask: false);
                Request(new Ai.WriteIms(ai, NextId(), ims, imsEntry, HintFor(v, ai, programmed.TableSize)), _ =>
                {
                    // Read the entry again: the data (vector) may have changed while this ran.
                    v.Device.SetMsix(entry, v.Device.Msix[entry] with { Masked = false, InterruptHandle = programmed.Handle, ImsIndex = ims });
                    Complete(m, OperationType.MsixTableWrite, ims, modeled + 3 * step);
                });
            });
        }

        if (current.ImsIndex is { } existing)
        {
            WithImsIndex(existing);
            return;
        }
        Request(new Hf.RequestInterruptHandle(ai.Device, NextId()), reply =>
        {
            if (reply is Hf.InterruptHandleGranted granted) WithImsIndex(granted.Index);
            else Fail(m, OperationType.MsixTableWrite, $"device {ai.Device} has no IMS entry left (CMDSTATUS 0x42)", modeled + step);
        });
    }

    private InterruptEntry BuildEntry(Vdev v, int entry, AiId ai)
    {
        var msix = v.Device.Msix[entry];
        var posted = EmulatorContext.Mix32((uint)v.Device.Owner.Value * 31u + (uint)entry) / (double)uint.MaxValue < _ctx.Scenario.Composition.PostedShare;
        return new InterruptEntry
        {
            Present = true,
            Mode = posted ? InterruptMode.Posted : InterruptMode.Remapped,
            Vector = msix.Vector,
            Destination = (uint)v.Device.Owner.Value,
            PostedDescriptorAddress = posted ? ContainerLayout.PostedDescriptorAddress : 0,
            Sid = ai.Device.SourceId.RequesterId,
            Svt = SourceValidation.RequesterId,
            Asid = v.Device.Asid,
            Target = v.Device.Owner,
        };
    }

    /// <summary>
    /// For rogue AIs only: a peer tenant in the same interrupt table, for the fault injector. A peer whose live entry
    /// names the same device (requester id) is preferred, so a forged foreign handle reaches the ASID check.
    /// </summary>
    private ForgeryHint? HintFor(Vdev v, AiId ai, int tableSize)
    {
        if (!_ctx.IsRogue(ai)) return null;
        Asid? peerAsid = null;
        (Asid Asid, ushort Handle, bool Same)? best = null;
        foreach (var peer in _tables[v.TableId])
        {
            if (peer == v.Device.Owner || !_vdevs.TryGetValue(peer, out var pv)) continue;
            peerAsid ??= pv.Device.Asid;
            foreach (var e in pv.Device.Msix)
            {
                if (e.InterruptHandle is not { } h || e.Masked || e.AiSlot < 0) continue;
                var same = pv.Device.Ais[e.AiSlot].Device == ai.Device;
                if (best is null || (same && !best.Value.Same)) best = (pv.Device.Asid, (ushort)h, same);
            }
            if (best is { Same: true }) break;
        }
        return best is { } b
            ? new ForgeryHint(b.Asid, b.Handle, b.Same, tableSize)
            : new ForgeryHint(peerAsid, null, false, tableSize);
    }

    private void AdminCommand(GuestAccessRequest m, Vdev v, long modeled)
    {
        var code = (m.Access.Value >> 20) & 0x1F;
        var operand = (int)(m.Access.Value & 0xFFFF);
        switch (code)
        {
            case 13: // Request Interrupt Handle: answered from the vdev's own state, in software.
            {
                var entry = operand;
                var ims = entry < v.Device.Msix.Count ? v.Device.Msix[entry].ImsIndex : null;
                var status = ims is { } i ? (uint)i << 8 : 0x41u; // 0x41: invalid interrupt-table index
                v.Device.WriteBar0(VirtualLayout.CmdStatus, status);
                Complete(m, OperationType.AdminCommand, status, modeled);
                return;
            }
            case 10: // Reset WQ: on a shared WQ the VDCM aborts only this tenant's PASID.
            {
                if (operand >= v.Device.Ais.Count)
                {
                    v.Device.WriteBar0(VirtualLayout.CmdStatus, 0x02);
                    Complete(m, OperationType.AdminCommand, 0x02, modeled);
                    return;
                }
                Request(new Ai.ResetQueue(v.Device.Ais[operand], NextId(), v.Device.Asid), reply =>
                {
                    v.Device.WriteBar0(VirtualLayout.CmdStatus, 0);
                    Complete(m, OperationType.AdminCommand, (uint)((Ai.QueueReset)reply).Aborted, modeled + (long)_ctx.Cost.VdcmTableProgramNs);
                });
                return;
            }
            default:
                v.Device.WriteBar0(VirtualLayout.CmdStatus, 0x01); // unsupported command
                Complete(m, OperationType.AdminCommand, 0x01, modeled);
                return;
        }
    }

    /// <summary>
    /// FLR: free each interrupt entry first (so from then on the handle can only fault), then revoke the IMS entry
    /// at the device and release its index, then reset the emulated state. Freeing at the IOMMU first closes the
    /// window in which a device that kept the handle could still be delivered to.
    /// </summary>
    private void Reset(GuestAccessRequest m, Vdev v, long modeled)
    {
        var backed = v.Device.Msix.Where(e => e.ImsIndex is not null && e.AiSlot >= 0).ToList();
        var remaining = backed.Count;
        var step = (long)_ctx.Cost.VdcmTableProgramNs;
        if (remaining == 0)
        {
            v.Device.Reset();
            Complete(m, OperationType.VdevReset, 0, modeled);
            return;
        }
        foreach (var e in backed)
        {
            var ai = v.Device.Ais[e.AiSlot];
            var ims = e.ImsIndex!.Value;
            Request(new Iu.FreeEntry(_host, NextId(), v.Device.Asid, e.InterruptHandle!.Value), _ =>
                Request(new Ai.RevokeIms(ai, NextId(), ims), _ =>
                {
                    _ctx.Directory.Tell(new Hf.ReleaseInterruptHandle(ai.Device, ims));
                    if (--remaining > 0) return;
                    v.Device.Reset();
                    Complete(m, OperationType.VdevReset, 0, modeled + 2 * step * backed.Count);
                }));
        }
    }

    private long NextId() => ++_nextRequest;

    private void Request(IEntityMessage message, Action<object> continuation)
    {
        var id = message switch
        {
            Iu.ProgramEntry p => p.RequestId,
            Iu.FreeEntry f => f.RequestId,
            Hf.RequestInterruptHandle r => r.RequestId,
            Ai.WriteIms w => w.RequestId,
            Ai.SetImsMask s => s.RequestId,
            Ai.RevokeIms r => r.RequestId,
            Ai.ResetQueue r => r.RequestId,
            _ => throw new ArgumentException($"{message.GetType().Name} carries no request id", nameof(message)),
        };
        _pending[id] = continuation;
        _ctx.Directory.Tell(message, Self);
    }

    private void Continue(long requestId, object reply)
    {
        if (_pending.Remove(requestId, out var continuation)) continuation(reply);
    }

    private void Complete(GuestAccessRequest m, OperationType op, uint value, long modeled)
    {
        _ctx.Metrics.SlowPath(op, failed: false);
        Reply(m, value, null, modeled);
    }

    private void Fail(GuestAccessRequest m, OperationType op, string error, long modeled)
    {
        _ctx.Metrics.SlowPath(op, failed: true);
        Reply(m, 0, error, modeled);
    }

    private void Reply(GuestAccessRequest m, uint value, string? error, long? modeled = null) =>
        _ctx.Directory.Tell(new ContainerProtocol.GuestAccessCompleted(m.From, _ctx.HostOf(m.From), m.RequestId, value, error,
            modeled ?? m.ModeledNs, m.WallStartTicks));

    public static Props Props(EmulatorContext ctx, HostId host) => Akka.Actor.Props.Create(() => new VdcmActor(ctx, host));
}
