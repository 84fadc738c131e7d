using Akka.Persistence;
using SivActors.Actors.AssignableInterface;
using SivActors.Actors.Entities;
using SivActors.Actors.Hosting;
using SivActors.Actors.HostingFunction;
using SivActors.Actors.Persistence;
using SivActors.Model.Device;
using SivActors.Model.Identity;
using SivActors.Model.Interrupts;
using SivActors.Model.Tables;
using SivActors.Model.Vdcm;
using SivActors.Model.Workload;
using static SivActors.Actors.Vdcm.VdcmProtocol;
using Ai = SivActors.Actors.AssignableInterface.AssignableInterfaceProtocol;
using Hf = SivActors.Actors.HostingFunction.HostingFunctionProtocol;
using Iu = SivActors.Actors.InterruptUnit.InterruptUnitProtocol;

namespace SivActors.Actors.Vdcm;

/// <summary>
/// The VDCM's slow path: every trapped guest access (config space, BAR0 registers, the virtual MSI-X table, admin
/// commands, resets) is decoded, emulated against the vdev's persisted state, and answered once what it changed is
/// durable; a vector write programs the interrupt entry and the backing IMS entry behind it.
/// </summary>
public sealed partial class VdcmActor
{
    private void Access(GuestAccessRequest m)
    {
        // While a snapshot waits for a quiet moment, new guest requests wait too (operations already started
        // finish), so snapshots are taken even under constant slow-path load.
        if (DeferWhileSnapshotDue() || DeferWhileReconciling()) return;
        _open[(m.From, m.RequestId)] = m;
        if (!_state.Vdevs.TryGetValue(m.From, out var v))
        {
            Reply(m, 0, $"{m.From} has no vdev on this VDCM");
            return;
        }
        var slotMode = v.Modes[0];
        var (path, op) = AccessClassifier.Classify(m.Access, slotMode);
        if (path == DataPath.Fast)
        {
            // Counted so the report proves it stays 0: the fast path must never reach the VDCM.
            Ctx.Metrics.VdcmMessageOnFastPath();
            Reply(m, 0, "fast-path access sent to the VDCM");
            return;
        }
        var modeled = m.ModeledNs + (long)Ctx.Cost.VdcmTrapNs;
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

    private void MsixWrite(GuestAccessRequest m, ComposedVdev v, long modeled)
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
                Persisted(m, entry, current with { Address = (current.Address & ~0xFFFF_FFFFul) | m.Access.Value }, modeled, Done(m, 0, modeled));
                return;
            case 4:
                Persisted(m, entry, current with { Address = (current.Address & 0xFFFF_FFFFul) | ((ulong)m.Access.Value << 32) }, modeled, Done(m, 0, modeled));
                return;
            case 8:
                // A live entry: the new vector goes into the interrupt entry once the data write is durable.
                Persisted(m, entry, current with { Data = m.Access.Value }, modeled,
                    !current.Masked && current.InterruptHandle is not null ? () => ProgramVector(m, v, entry, modeled) : Done(m, 0, modeled));
                return;
        }
        var mask = (m.Access.Value & 1) != 0;
        if (entry == 0 || current.AiSlot < 0)
        {
            // Entry 0 is the VDCM's own (errors, admin completions): emulated in software, no IMS behind it.
            Persisted(m, entry, current with { Masked = mask }, modeled, Done(m, 0, modeled));
            return;
        }
        if (mask)
        {
            Persisted(m, entry, current with { Masked = true }, modeled, current.ImsIndex is { } ims
                ? () => Request(new Ai.SetImsMask(v.Device.Ais[current.AiSlot], NextId(), ims, true),
                    _ => Complete(m, OperationType.MsixTableWrite, ims, modeled + (long)Ctx.Cost.VdcmTableProgramNs))
                : Done(m, 0, modeled));
            return;
        }
        ProgramVector(m, v, entry, modeled);
    }

    /// <summary>
    /// Unmask or reprogram a virtual MSI-X entry: get an IMS handle from the device (first time), write the interrupt
    /// entry (posted or remapped, owned by the tenant's ASID), write the IMS entry with that handle and the tenant's
    /// PASID. Answers the guest with the IMS index, its Completion Interrupt Handle.
    /// </summary>
    private void ProgramVector(GuestAccessRequest m, ComposedVdev v, int entry, long modeled)
    {
        var current = v.Device.Msix[entry];
        var ai = v.Device.Ais[current.AiSlot];
        var step = (long)Ctx.Cost.VdcmTableProgramNs;

        void WithImsIndex(ushort ims)
        {
            if (!StillOn(m.From, current.AiSlot, ai))
            {
                Fail(m, OperationType.MsixTableWrite, Moved, modeled + step);
                return;
            }
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
                    if (!StillOn(m.From, current.AiSlot, ai))
                    {
                        // The slot moved meanwhile: the entry just written names the old AI's device, so it goes again.
                        Request(new Iu.FreeEntry(_host, NextId(), v.Device.Asid, programmed.Handle), _ => { });
                        Fail(m, OperationType.MsixTableWrite, Moved, modeled + 3 * step);
                        return;
                    }
                    // Read the entry again: the data (vector) may have changed while this ran.
                    Persisted(m, entry, v.Device.Msix[entry] with { Masked = false, InterruptHandle = programmed.Handle, ImsIndex = ims },
                        modeled + 3 * step, Done(m, ims, modeled + 3 * step));
                });
            });
        }

        if (current.ImsIndex is { } existing)
        {
            WithImsIndex(existing);
            return;
        }
        // SR-IOV: the VF's own MSI-X table, entry for entry (at most 2,048), rather than the device's shared IMS.
        if (!UsesDeviceImsPool)
        {
            WithImsIndex((ushort)entry);
            return;
        }
        Request(new Hf.RequestInterruptHandle(ai.Device, NextId()), reply =>
        {
            if (reply is Hf.InterruptHandleGranted granted) WithImsIndex(granted.Index);
            else Fail(m, OperationType.MsixTableWrite, $"device {ai.Device} has no IMS entry left (CMDSTATUS 0x42)", modeled + step);
        });
    }

    private InterruptEntry BuildEntry(ComposedVdev v, int entry, AiId ai)
    {
        var msix = v.Device.Msix[entry];
        // Emulated mode: the VMM injects every interrupt (an exit-based delivery); nothing is posted to the guest.
        var posted = !Ctx.Scenario.Emulated
                     && EmulatorContext.Mix32((uint)v.Device.Owner.Value * 31u + (uint)entry) / (double)uint.MaxValue < Ctx.Scenario.Composition.PostedShare;
        return new InterruptEntry
        {
            Present = true,
            Mode = posted ? InterruptMode.Posted : InterruptMode.Remapped,
            Vector = msix.Vector,
            Destination = (uint)v.Device.Owner.Value,
            PostedDescriptorAddress = posted ? ContainerLayout.PostedDescriptorAddress : 0,
            Sid = Ctx.SourceOf(ai).RequesterId,
            Svt = SourceValidation.RequesterId,
            Asid = v.Device.Asid,
            Target = v.Device.Owner,
        };
    }

    /// <summary>
    /// For rogue AIs only: a peer tenant in the same interrupt table, for the fault injector. A peer whose live entry
    /// names the same device (requester id) is preferred, so a forged foreign handle reaches the ASID check.
    /// </summary>
    private ForgeryHint? HintFor(ComposedVdev v, AiId ai, int tableSize)
    {
        if (!Ctx.IsRogue(ai)) return null;
        Asid? peerAsid = null;
        (Asid Asid, ushort Handle, bool Same)? best = null;
        foreach (var peer in _state.MembersOf(v.TableId))
        {
            if (peer == v.Device.Owner || !_state.Vdevs.TryGetValue(peer, out var pv)) continue;
            peerAsid ??= pv.Device.Asid;
            foreach (var e in pv.Device.Msix)
            {
                if (e.InterruptHandle is not { } h || e.Masked || e.AiSlot < 0) continue;
                var same = Ctx.SourceOf(pv.Device.Ais[e.AiSlot]) == Ctx.SourceOf(ai);
                if (best is null || (same && !best.Value.Same)) best = (pv.Device.Asid, (ushort)h, same);
            }
            if (best is { Same: true }) break;
        }
        return best is { } b
            ? new ForgeryHint(b.Asid, b.Handle, b.Same, tableSize)
            : new ForgeryHint(peerAsid, null, false, tableSize);
    }

    private void AdminCommand(GuestAccessRequest m, ComposedVdev v, long modeled)
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
                    Complete(m, OperationType.AdminCommand, (uint)((Ai.QueueReset)reply).Aborted, modeled + (long)Ctx.Cost.VdcmTableProgramNs);
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
    private void Reset(GuestAccessRequest m, ComposedVdev v, long modeled)
    {
        var backed = v.Device.Msix.Where(e => e.ImsIndex is not null && e.AiSlot >= 0).ToList();
        var remaining = backed.Count;
        var step = (long)Ctx.Cost.VdcmTableProgramNs;
        if (remaining == 0)
        {
            ResetPersisted(m, modeled);
            return;
        }
        foreach (var e in backed)
        {
            var ai = v.Device.Ais[e.AiSlot];
            var ims = e.ImsIndex!.Value;
            Request(new Iu.FreeEntry(_host, NextId(), v.Device.Asid, e.InterruptHandle!.Value), freed =>
            {
                if (((Iu.EntryFreed)freed).Error is { } error)
                {
                    // The entry stays as it was; the reset fails (once) and the guest may retry it.
                    if (remaining > 0) Fail(m, OperationType.VdevReset, $"interrupt entry not freed: {error}", modeled);
                    remaining = 0;
                    return;
                }
                Request(new Ai.RevokeIms(ai, NextId(), ims), _ =>
                {
                    ReleaseImsIndex(ai.Device, ims);
                    if (--remaining != 0) return;
                    ResetPersisted(m, modeled + 2 * step * backed.Count);
                });
            });
        }
    }

    private const string Moved = "the vdev was recomposed meanwhile (its AI's device was surprise-removed); program the vector again";

    private const string TornDown = "the vdev was torn down (its device was surprise-removed)";

    /// <summary>The vdev still has <paramref name="ai"/> in <paramref name="slot"/>: no surprise removal moved it while a request ran.</summary>
    private bool StillOn(ContainerId container, int slot, AiId ai) =>
        _state.Vdevs.TryGetValue(container, out var now) && now.Device.Ais[slot] == ai;

    /// <summary>Applies a virtual MSI-X change, persists it, and runs <paramref name="then"/> once it is durable.</summary>
    private void Persisted(GuestAccessRequest m, int entry, VirtualMsixEntry value, long modeled, Action then)
    {
        if (!_state.Vdevs.ContainsKey(m.From))
        {
            Fail(m, OperationType.MsixTableWrite, TornDown, modeled);
            return;
        }
        var e = new MsixEntrySet(m.From, entry, value);
        _state.Apply(e);
        Commit(e, then, reason => Fail(m, OperationType.MsixTableWrite, reason, modeled));
    }

    /// <summary>FLR of the emulated state, answered once durable.</summary>
    private void ResetPersisted(GuestAccessRequest m, long modeled)
    {
        if (!_state.Vdevs.ContainsKey(m.From))
        {
            Fail(m, OperationType.VdevReset, TornDown, modeled);
            return;
        }
        var e = new VdevReset(m.From);
        _state.Apply(e);
        Commit(e, () => Complete(m, OperationType.VdevReset, 0, modeled), reason => Fail(m, OperationType.VdevReset, reason, modeled));
    }

    private Action Done(GuestAccessRequest m, uint value, long modeled) => () => Complete(m, OperationType.MsixTableWrite, value, modeled);
}
