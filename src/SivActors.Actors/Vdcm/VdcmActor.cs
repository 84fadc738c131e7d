using Akka.Actor;
using Akka.Persistence;
using SivActors.Actors.Persistence;
using SivActors.Model.Tables;
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
/// so the VDCM keeps serving other guests meanwhile. It never sees fast-path traffic. Compositions and virtual
/// MSI-X entries are event-sourced: a guest write that changes them is answered once its event is durable, and a
/// restarted VDCM re-establishes its vdevs' device state (AI assignment, IMS entries, PASID bindings) from them.
/// </summary>
public sealed partial class VdcmActor : TableOwner<VdcmEvent>
{
    private readonly HostId _host;
    private VdcmCompositions _state;
    private readonly Dictionary<long, Action<object>> _pending = new();
    // Guest requests not yet answered, so a VDCM that must restart answers every one of them with an error.
    private readonly Dictionary<(ContainerId, long), GuestAccessRequest> _open = new();
    // Request ids come from one counter for the whole process, so a reply addressed to an earlier incarnation (a
    // restart keeps the actor's reference, so its late replies arrive here) never matches a new request. They used
    // to start from the millisecond clock, and two incarnations restarted within one millisecond under a failing
    // journal then shared ids: a queue reset's reply ran a freed-entry continuation (InvalidCastException).
    private static long s_lastRequest;

    public VdcmActor(EmulatorContext ctx, HostId host) : base(ctx, EntityAddress.Vdcm(host))
    {
        _host = host;
        _state = NewState();

        Recover<SnapshotOffer>(o =>
        {
            _state = NewState();
            VdcmCodec.RestoreSnapshot(_state, (VdcmSnapshot)o.Snapshot);
        });
        Recover<VdcmEvent>(e => _state.Apply(e));
        Recover<RecoveryCompleted>(_ =>
        {
            RestoreDevices();
            Recovered(LastSequenceNr);
            // A removal whose moves were not all persisted before a restart goes on from what the journal holds.
            if (_state.Composer.AnyRemoved) Self.Tell(ContinueRescue.Instance);
        });

        Command<ComposeVdev>(Compose);
        RemovalCommands();
        Command<GuestAccessRequest>(Access);
        Command<GetVdev>(m =>
        {
            if (_state.Vdevs.TryGetValue(m.Container, out var v))
                Sender.Tell(Info(m.Container, v));
            else Sender.Tell(new Status.Failure(new InvalidOperationException($"no vdev for {m.Container}")));
        });
        Command<RestoreDeviceState>(m =>
        {
            foreach (var message in DeviceStateOf(m.Requester)) Sender.Tell(message, Self);
            Sender.Tell(new DeviceStateRestored(m.Requester));
        });
        Command<GetCompositions>(_ => Sender.Tell(new Compositions(_host, VdcmCodec.EncodeSnapshot(_state).Payload)));
        Command<Iu.AsidBindingDone>(_ => { }); // a failed bind fails the vector programming that follows it
        Command<Iu.EntryProgrammed>(m => Continue(m.RequestId, m));
        Command<Iu.ProgramFailed>(m => Continue(m.RequestId, m));
        Command<Iu.EntryFreed>(m => Continue(m.RequestId, m));
        Command<Hf.InterruptHandleGranted>(m => Continue(m.RequestId, m));
        Command<Hf.InterruptHandleRefused>(m => Continue(m.RequestId, m));
        Command<Ai.ImsWritten>(m => Continue(m.RequestId, m));
        Command<Ai.ImsMaskSet>(m => Continue(m.RequestId, m));
        Command<Ai.ImsRevoked>(m => Continue(m.RequestId, m));
        Command<Ai.QueueReset>(m => Continue(m.RequestId, m));
    }

    private VdcmCompositions NewState()
    {
        var t = Ctx.Scenario.Topology;
        var containersHere = (t.Containers - _host.Value + t.Hosts - 1) / t.Hosts;
        var composer = new Composer(t.DevicesPerHost, t.AisPerDevice, Ctx.Scenario.Composition.ParsedPolicy,
            (long)containersHere * Ctx.Scenario.Composition.AisPerVdev);
        return new VdcmCompositions(_host, composer, Ctx.Scenario.Composition.AsidsPerInterruptTable);
    }

    private static VdevInfo Info(ContainerId container, ComposedVdev v) =>
        new(container, v.Device.Asid, v.TableId, v.Device.Ais, v.Device.Msix.ToList(), v.Modes);

    // Which vdevs use each AI, built when an entity first asks for its state and kept while the tables do not change:
    // a host's AIs ask together (at deploy, or when their shard moved), and each answer is then a lookup.
    private Dictionary<AiId, List<(ContainerId Container, ComposedVdev Vdev, int Slot)>>? _byAi;
    private (long Sequence, int Vdevs) _byAiKey = (-1, -1);

    /// <summary>
    /// The device state <paramref name="target"/> must hold for the persisted vdevs: the messages composing and
    /// vector programming sent it. An entity that is not a device of this host's vdevs gets nothing.
    /// </summary>
    private IEnumerable<object> DeviceStateOf(EntityAddress target)
    {
        if (_state.Vdevs.Count == 0) yield break;
        switch (target.Kind)
        {
            case EntityKind.Container:
                var container = new ContainerId((int)target.Key);
                if (_state.Vdevs.TryGetValue(container, out var vdev)) yield return Info(container, vdev);
                break;
            case EntityKind.DmaRemapping:
                foreach (var (c, v) in _state.Vdevs) yield return PasidBinding(c, v);
                break;
            case EntityKind.AssignableInterface:
                var ai = target.AsAiId();
                if (_state.Composer.IsRemoved(ai.Device.Index)) yield return new Ai.SurpriseRemoved(ai, -1);
                foreach (var (c, v, slot) in UsersOf(ai))
                {
                    yield return Assignment(c, v, slot);
                    foreach (var e in v.Device.Msix)
                        if (e.AiSlot == slot && BackingIms(v, e) is { } ims) yield return new Ai.WriteIms(ai, NextId(), ims.Index, ims.Entry, null);
                }
                break;
            case EntityKind.HostingFunction:
                var device = target.AsDeviceId();
                var indices = _state.Vdevs.Values
                    .SelectMany(v => v.Device.Msix.Where(e => e.AiSlot >= 0 && v.Device.Ais[e.AiSlot].Device == device && BackingIms(v, e) is not null)
                        .Select(e => e.ImsIndex!.Value))
                    .ToArray();
                if (indices.Length > 0) yield return new Hf.ClaimInterruptHandles(device, indices);
                break;
        }
    }

    private List<(ContainerId, ComposedVdev, int)> UsersOf(AiId ai)
    {
        if (_byAi is null || _byAiKey != (LastSequenceNr, _state.Vdevs.Count))
        {
            _byAi = new();
            foreach (var (c, v) in _state.Vdevs)
                for (var slot = 0; slot < v.Device.Ais.Count; slot++)
                {
                    if (!_byAi.TryGetValue(v.Device.Ais[slot], out var users)) _byAi[v.Device.Ais[slot]] = users = [];
                    users.Add((c, v, slot));
                }
            _byAiKey = (LastSequenceNr, _state.Vdevs.Count);
        }
        return _byAi.GetValueOrDefault(ai) ?? [];
    }

    /// <summary>The IMS entry behind a programmed virtual MSI-X entry, as the VDCM wrote it to the AI.</summary>
    private static (ushort Index, ImsEntry Entry)? BackingIms(ComposedVdev v, VirtualMsixEntry e) =>
        e.AiSlot < 0 || e.ImsIndex is not { } ims || e.InterruptHandle is not { } handle
            ? null
            : (ims, new ImsEntry(RemappableMsi.EncodeAddress((ushort)handle), 0, v.Device.Asid.Value, PasidEnable: true, Ignore: false, Mask: e.Masked));

    protected override byte[] Encode(VdcmEvent e) => VdcmCodec.Encode(e);

    protected override object TakeSnapshot() => VdcmCodec.EncodeSnapshot(_state);

    /// <summary>
    /// After recovery: the devices behind the persisted vdevs are fresh, so hand them their state again, before any
    /// new request can allocate: IMS indices in use, WQ assignments, IMS entries, PASID bindings. All idempotent.
    /// </summary>
    private void RestoreDevices()
    {
        if (_state.Vdevs.Count == 0) return;
        var claims = new Dictionary<DeviceId, List<ushort>>();
        foreach (var (container, v) in _state.Vdevs)
        {
            var d = v.Device;
            Attach(container, v);
            // Live entries as this VDCM holds them: a vector made durable here just before a stop may not have
            // reached the interrupt entry (ProgramVector writes the data first), and the guest was promised it.
            var live = new Dictionary<int, InterruptEntry>();
            for (var i = 0; i < d.Msix.Count; i++)
                if (d.Msix[i] is { InterruptHandle: { } h, ImsIndex: not null, Masked: false, AiSlot: >= 0 } e)
                    live[h] = BuildEntry(v, i, d.Ais[e.AiSlot]);
            Ctx.Directory.Tell(new Iu.ReconcileAsid(_host, d.Asid,
                d.Msix.Where(e => e.InterruptHandle is not null).Select(e => e.InterruptHandle!.Value).ToArray()) { Entries = live });
            foreach (var e in d.Msix)
            {
                if (BackingIms(v, e) is not { } ims) continue;
                var ai = d.Ais[e.AiSlot];
                if (!claims.TryGetValue(ai.Device, out var list)) claims[ai.Device] = list = [];
                list.Add(ims.Index);
                // The answer (ImsWritten) carries a request id nobody waits for; it is dropped.
                Ctx.Directory.Tell(new Ai.WriteIms(ai, NextId(), ims.Index, ims.Entry, null), Self);
            }
        }
        // Sent before any request of this incarnation, so a new allocation cannot take a restored index.
        foreach (var (device, indices) in claims) Ctx.Directory.Tell(new Hf.ClaimInterruptHandles(device, indices.ToArray()));
        Ctx.Metrics.VdevsRestored(_state.Vdevs.Count);
    }

    private void Compose(ComposeVdev m)
    {
        if (_state.Vdevs.TryGetValue(m.Container, out var existing))
        {
            // A resumed run: the vdev survived; its device state was restored at recovery.
            Announce(m, existing);
            return;
        }
        if (DeferWhileSnapshotDue()) return;
        VdevComposed composed;
        try
        {
            composed = _state.DecideCompose(m.Container, EmulatorContext.AsidOf(m.Container), m.AiCount);
        }
        catch (SivActors.Model.SivInputException e)
        {
            m.ReplyTo.Tell(new ContainerProtocol.ContainerFailed(m.Container, e.Message));
            return;
        }
        _state.Apply(composed);
        var v = _state.Vdevs[m.Container];
        Commit(composed, () =>
        {
            Attach(m.Container, v);
            Announce(m, v);
        }, reason => m.ReplyTo.Tell(new ContainerProtocol.ContainerFailed(m.Container, $"composition not persisted: {reason}")));
    }

    /// <summary>
    /// Points the tenant's ASID at its interrupt table, binds its PASID for DMA and assigns its AIs: for a new vdev,
    /// and again for a recovered one, whose devices start fresh. Every step is idempotent.
    /// </summary>
    private void Attach(ContainerId container, ComposedVdev v)
    {
        var d = v.Device;
        Ctx.Directory.Tell(new Iu.BindAsid(_host, d.Asid, v.TableId, Ctx.Scenario.Composition.InterruptTableSizeExponent), Self);
        Ctx.Directory.Tell(PasidBinding(container, v));
        for (var i = 0; i < d.Ais.Count; i++) Ctx.Directory.Tell(Assignment(container, v, i));
    }

    private Dmar.BindPasid PasidBinding(ContainerId container, ComposedVdev v) => new(_host, v.Device.Asid, container, Ctx.Layout.Regions);

    private Ai.AssignToVdev Assignment(ContainerId container, ComposedVdev v, int slot)
    {
        var t = Ctx.Scenario.Topology;
        return new(v.Device.Ais[slot], container, v.Device.Asid, v.Modes[slot], t.WorkQueueSize, t.WorkQueueThreshold);
    }

    private void Announce(ComposeVdev m, ComposedVdev v) =>
        Ctx.Directory.Tell(new ContainerProtocol.VdevComposed(m.Container, _host, v.Device.Asid, v.Device.Ais.ToArray(), v.Modes, m.ReplyTo));

    private void Access(GuestAccessRequest m)
    {
        // While a snapshot waits for a quiet moment, new guest requests wait too (operations already started
        // finish), so snapshots are taken even under constant slow-path load.
        if (DeferWhileSnapshotDue()) return;
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
        Request(new Hf.RequestInterruptHandle(ai.Device, NextId()), reply =>
        {
            if (reply is Hf.InterruptHandleGranted granted) WithImsIndex(granted.Index);
            else Fail(m, OperationType.MsixTableWrite, $"device {ai.Device} has no IMS entry left (CMDSTATUS 0x42)", modeled + step);
        });
    }

    private InterruptEntry BuildEntry(ComposedVdev v, int entry, AiId ai)
    {
        var msix = v.Device.Msix[entry];
        var posted = EmulatorContext.Mix32((uint)v.Device.Owner.Value * 31u + (uint)entry) / (double)uint.MaxValue < Ctx.Scenario.Composition.PostedShare;
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
                var same = pv.Device.Ais[e.AiSlot].Device == ai.Device;
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
                    Ctx.Directory.Tell(new Hf.ReleaseInterruptHandle(ai.Device, ims));
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

    protected override void OnPersistFailure(Exception cause, object @event, long sequenceNr)
    {
        base.OnPersistFailure(cause, @event, sequenceNr);
        AnswerOpenRequests($"journal write failed: {cause.GetBaseException().Message}");
    }

    protected override void OnPersistRejected(Exception cause, object @event, long sequenceNr)
    {
        base.OnPersistRejected(cause, @event, sequenceNr);
        AnswerOpenRequests($"journal rejected the write: {cause.GetBaseException().Message}");
    }

    protected override void Stopping(string reason) => AnswerOpenRequests(reason);

    /// <summary>This incarnation stops: every guest request still open is answered, none is left waiting.</summary>
    private void AnswerOpenRequests(string reason)
    {
        foreach (var m in _open.Values.ToList()) Reply(m, 0, reason);
        _pending.Clear();
    }

    private static long NextId() => Interlocked.Increment(ref s_lastRequest);

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
        // PCIe ordering: the function's interrupt writes already on their way upstream reach the interrupt unit
        // before the change that its reset or reprogramming leads to (the drain that precedes it completes behind
        // them), so under a delay the change waits behind them rather than faulting them as not present.
        if (message is Iu.FreeEntry or Iu.ProgramEntry && Ctx.Hops?.Behind(SivActors.Model.Faults.Hop.AiToInterruptUnit, message, Self) == true) return;
        Ctx.Directory.Tell(message, Self);
    }

    private void Continue(long requestId, object reply)
    {
        if (_pending.Remove(requestId, out var continuation)) continuation(reply);
    }

    private void Complete(GuestAccessRequest m, OperationType op, uint value, long modeled)
    {
        Ctx.Metrics.SlowPath(op, failed: false);
        Reply(m, value, null, modeled);
    }

    private void Fail(GuestAccessRequest m, OperationType op, string error, long modeled)
    {
        Ctx.Metrics.SlowPath(op, failed: true);
        Reply(m, 0, error, modeled);
    }

    private void Reply(GuestAccessRequest m, uint value, string? error, long? modeled = null)
    {
        // Each guest request is answered exactly once, even when a failure races its normal completion.
        if (!_open.Remove((m.From, m.RequestId))) return;
        Ctx.Directory.Tell(new ContainerProtocol.GuestAccessCompleted(m.From, Ctx.HostOf(m.From), m.RequestId, value, error,
            modeled ?? m.ModeledNs, m.WallStartTicks));
    }

    public static Props Props(EmulatorContext ctx, HostId host) => Akka.Actor.Props.Create(() => new VdcmActor(ctx, host));
}
