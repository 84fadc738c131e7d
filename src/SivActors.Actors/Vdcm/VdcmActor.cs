using Akka.Actor;
using Akka.Persistence;
using SivActors.Actors.Container;
using SivActors.Actors.Entities;
using SivActors.Actors.Hosting;
using SivActors.Actors.Persistence;
using SivActors.Model.Device;
using SivActors.Model.Identity;
using SivActors.Model.Interrupts;
using SivActors.Model.Tables;
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
        Command<TrappedPortalWrite>(m =>
        {
            // Emulated mode: the trap and the device model's software emulation, then the work goes to the backend AI.
            Ctx.Metrics.VdcmMessageOnFastPath();
            Ctx.Directory.Tell(m.Write with { ModeledNs = m.Write.ModeledNs + (long)Ctx.Cost.VdcmTrapNs });
        });
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
        Command<Iu.AsidReconciled>(Reconciled);
        Command<ReconcileAgain>(_ =>
        {
            // Only when no answer came for a whole period: a large recovery is answered slowly, not lost.
            if (_reconcileAnswers == 0) Probe();
            _reconcileAnswers = 0;
        });
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

    private VdcmCompositions NewState() => VdcmCompositions.For(Ctx.Scenario, _host);

    /// <summary>
    /// Whether vectors take IMS entries from the device's pool (its hosting function hands them out, claims and
    /// releases them). Under SR-IOV they do not: each VF's vectors are its own MSI-X table's entries.
    /// </summary>
    private bool UsesDeviceImsPool => !Ctx.Scenario.Sriov;

    /// <summary>Gives an IMS entry back to its device's pool (nothing to give under SR-IOV).</summary>
    private void ReleaseImsIndex(DeviceId device, ushort ims)
    {
        if (UsesDeviceImsPool) Ctx.Directory.Tell(new Hf.ReleaseInterruptHandle(device, ims));
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
            case EntityKind.HostingFunction when !UsesDeviceImsPool:
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

    // Emulated mode's fast path persists nothing: it skips Akka.Persistence's per-command bookkeeping.
    protected override bool PersistsNothing(object message) => message is TrappedPortalWrite;

    protected override object TakeSnapshot() => VdcmCodec.EncodeSnapshot(_state);

    protected override long TableEntries => _state.EntryCount;

    private void Compose(ComposeVdev m)
    {
        if (_state.Vdevs.TryGetValue(m.Container, out var existing))
        {
            // A resumed run: the vdev survived; its device state was restored at recovery.
            Announce(m, existing);
            return;
        }
        if (DeferWhileSnapshotDue() || DeferWhileReconciling()) return;
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
        var exponent = Ctx.Scenario.Composition.InterruptTableSizeExponent;
        Ctx.Directory.Tell(new Iu.BindAsid(_host, d.Asid, v.TableId, exponent), Self);
        // SR-IOV: interrupts come without PASID, and the host's one table (IRTA's) serves them all.
        if (Ctx.Scenario.Sriov) Ctx.Directory.Tell(new Iu.BindAsid(_host, Asid.WithoutPasid, v.TableId, exponent), Self);
        Ctx.Directory.Tell(PasidBinding(container, v));
        for (var i = 0; i < d.Ais.Count; i++) Ctx.Directory.Tell(Assignment(container, v, i));
    }

    /// <summary>The tenant's PASID-table entry; under SR-IOV also its VF's context entry, whose requests carry no PASID.</summary>
    private Dmar.BindPasid PasidBinding(ContainerId container, ComposedVdev v) =>
        new(_host, v.Device.Asid, container, Ctx.LayoutOf(container).Regions, Ctx.Scenario.Sriov ? Ctx.SourceOf(v.Device.Ais[0]) : null);

    private Ai.AssignToVdev Assignment(ContainerId container, ComposedVdev v, int slot)
    {
        var t = Ctx.Scenario.Topology;
        return new(v.Device.Ais[slot], container, v.Device.Asid, v.Modes[slot], t.WorkQueueSize, t.WorkQueueThreshold);
    }

    private void Announce(ComposeVdev m, ComposedVdev v) =>
        Ctx.Directory.Tell(new ContainerProtocol.VdevComposed(m.Container, _host, v.Device.Asid, v.Device.Ais.ToArray(), v.Modes, m.ReplyTo));

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
