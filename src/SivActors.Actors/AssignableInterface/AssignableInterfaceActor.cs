using System.Diagnostics;
using Akka.Actor;
using SivActors.Actors.Container;
using SivActors.Actors.Delivery;
using SivActors.Actors.DmaRemapping;
using SivActors.Actors.Entities;
using SivActors.Actors.Hosting;
using SivActors.Actors.InterruptUnit;
using SivActors.Model.Delivery;
using SivActors.Model.Device;
using SivActors.Model.Identity;
using SivActors.Model.Interrupts;
using SivActors.Model.Workload;
using static SivActors.Actors.AssignableInterface.AssignableInterfaceProtocol;

namespace SivActors.Actors.AssignableInterface;

/// <summary>
/// One AI (a DSA work queue): accepts portal writes, checks the completion interrupt handle against its IMS entries
/// (device-side PASID check, status 0x19), executes descriptors over DMA, writes the completion record and raises
/// the completion interrupt. A rogue AI also forges upstream writes (see <see cref="RogueForger"/>).
/// </summary>
public sealed partial class AssignableInterfaceActor : EntityActor
{
    private readonly EmulatorContext _ctx;
    private readonly AiId _id;
    private readonly HostId _host;
    private readonly SourceId _source;
    private readonly bool _rogue;
    private readonly ImsTable _ims = new();
    private readonly Dictionary<uint, ContainerId> _tenants = new();
    private readonly Dictionary<long, InFlight> _inFlight = new();
    private readonly Dictionary<ushort, ForgeryHint> _hints = new();
    private readonly Queue<(ContainerId Container, int Slot)> _waiters = new();
    private WorkQueue? _wq;
    private uint _dedicatedPasid;
    // An SR-IOV VF: its DMA and interrupts go upstream without PASID, told apart by its own requester id.
    private readonly bool _withoutPasid;
    // Request ids start from the incarnation: a DMA read answered to a killed predecessor never matches a new request.
    private long _nextRequest = Interlocked.Increment(ref s_incarnations) << 32;
    private static long s_incarnations;
    private int _completionsSinceForgery;
    private int _nextRogueKind;
    private (Asid Asid, ushort Handle)? _stale;
    // Reliable delivery (decision 38): interrupts sent and not yet judged; outlives this incarnation.
    private readonly ReliableOutbox<InterruptUnitProtocol.RaiseInterrupt>? _outbox;
    private readonly List<(long Seq, InterruptUnitProtocol.RaiseInterrupt Item, int Attempt)> _due = [];
    private readonly List<IActorRef> _flushWaiters = [];
    private long _flushDeadline;
    private bool _resendArmed;
    // Surprise-removed: the device is gone for the rest of the run (decision 41).
    private bool _removed;

    private readonly record struct InFlight(ContainerId Container, Descriptor Descriptor, uint Pasid, int Slot);

    public AssignableInterfaceActor(EmulatorContext ctx, AiId id) : base(ctx, EntityAddress.Of(id), id.Host)
    {
        _ctx = ctx;
        _id = id;
        _host = id.Host;
        _source = ctx.SourceOf(id);
        _withoutPasid = ctx.Scenario.Sriov;
        _rogue = ctx.IsRogue(id);
        _outbox = ctx.Reliable?.Of(id);

    }

    protected override void PreStart()
    {
        base.PreStart();
        // A successor sends again what its predecessor had sent and nobody acknowledged.
        if (_outbox is { Count: > 0 }) ArmResend();
    }

    /// <summary>The VDCM's writes: WQ assignment, IMS entries, resets.</summary>
    protected override bool Configure(object message)
    {
        switch (message)
        {
            case SurpriseRemoved m:
                {
                    if (_removed) return true;
                    _removed = true;
                    var aborted = AbortInFlight();
                    if (m.Fault >= 0)
                    {
                        _ctx.Faults.Stats[m.Fault].Touched();
                        _ctx.Faults.Stats[m.Fault].AbortedDescriptors(aborted);
                    }
                    // What the function held is gone with it: its IMS entries and WQ configuration.
                    _ims.Clear();
                    _hints.Clear();
                    _wq = null;
                    return true;
                }
            case AssignToVdev m:
                {
                    if (_removed) return true;
                    _wq ??= new WorkQueue(m.Mode, m.Size, m.Threshold);
                    if (m.Mode == WorkQueueMode.Dedicated) _dedicatedPasid = m.Pasid.Value;
                    _tenants[m.Pasid.Value] = m.Container;
                    return true;
                }
            case WriteIms m:
                {
                    var ok = !_removed && _ims.Write(m.Index, m.Entry);
                    if (ok && m.Hint is not null) _hints[m.Index] = m.Hint;
                    // A revoked handle written again (a VDCM that restarted restores the entries a failed reset revoked) is
                    // live once more, so it is no longer material for a stale-handle forgery.
                    if (ok && _stale is { } stale && RemappableMsi.Decode(m.Entry.Address, m.Entry.Data).Handle == stale.Handle) _stale = null;
                    Sender.Tell(new ImsWritten(m.RequestId, ok));
                    return true;
                }
            case SetImsMask m:
                {
                    if (_ims.SetMask(m.Index, m.Mask) && _ims.Get(m.Index) is { } e) RaiseFrom(e, 0);
                    Sender.Tell(new ImsMaskSet(m.RequestId));
                    return true;
                }
            case RevokeIms m:
                {
                    if (_ims.Get(m.Index) is { } old && _rogue)
                        _stale = (Asid.FromMasked(old.Pasid), RemappableMsi.Decode(old.Address, old.Data).Handle);
                    _ims.Revoke(m.Index);
                    _hints.Remove(m.Index);
                    Sender.Tell(new ImsRevoked(m.RequestId));
                    return true;
                }
            case ResetQueue m:
                {
                    var aborted = 0;
                    foreach (var (key, f) in _inFlight.Where(kv => kv.Value.Pasid == m.Pasid.Value).ToList())
                    {
                        _inFlight.Remove(key);
                        aborted++;
                    }
                    if (_wq is { Mode: WorkQueueMode.Dedicated }) _wq.Reset();
                    else for (var i = 0; i < aborted; i++) _wq?.Complete();
                    while (_waiters.Count > 0) WakeWaiter();
                    Sender.Tell(new QueueReset(m.RequestId, aborted));
                    return true;
                }
            default:
                return false;
        }
    }

    protected override bool Handle(object message)
    {
        switch (message)
        {
            case PortalWrite m:
                Submit(m);
                return true;
            case MemoryReadData m:
                {
                    if (_inFlight.Remove(m.RequestId, out var f)) Finish(f, m.Data, m.Data2, m.ModeledNs);
                    return true;
                }
            case DmaRemappingProtocol.DmaReadFailed m:
                {
                    if (_inFlight.Remove(m.RequestId, out var f))
                        CompleteWith(f, new CompletionRecord(OperationStatus.HardwareErrorOnRead, 0, 0), null, 0, raise: false);
                    return true;
                }
            case FlushUpstream m:
                {
                    if (_outbox is not { Count: > 0 })
                    {
                        Flush(m.ReplyTo);
                        return true;
                    }
                    // Reliable delivery: the flush follows the last acknowledgement, so the run ends with nothing unjudged.
                    if (_flushWaiters.Count == 0) _flushDeadline = Stopwatch.GetTimestamp() + ReliableInterrupts.Ticks(ReliableInterrupts.FlushPatience);
                    _flushWaiters.Add(m.ReplyTo);
                    return true;
                }
            case InterruptAcked m:
                {
                    if (_outbox?.Acknowledge(m.Seq) == true) FlushIfJudged();
                    return true;
                }
            case ResendDue:
                ResendDueInterrupts();
                return true;
            case GetState:
                Sender.Tell(new State(_wq?.Mode, _wq?.Occupancy ?? 0, _ims.Entries.ToDictionary(kv => kv.Key, kv => kv.Value), _rogue));
                return true;
            default:
                return false;
        }
    }

    /// <summary>
    /// A kill-actor fault: descriptors waiting for their source reads end with an abort status (the driver sees the
    /// function's error state), and submitters waiting for room are woken, so nothing waits on this incarnation.
    /// </summary>
    protected override void OnInjectedKill(int fault) => _ctx.Faults.Stats[fault].AbortedDescriptors(AbortInFlight());

    /// <summary>Descriptors in flight end without a completion record (§3.15: an abort writes none); waiting submitters are woken.</summary>
    private int AbortInFlight()
    {
        var aborted = _inFlight.Count;
        foreach (var f in _inFlight.Values)
            _ctx.Directory.Tell(new ContainerProtocol.DescriptorAborted(f.Container, _ctx.HostOf(f.Container), f.Slot));
        _inFlight.Clear();
        while (_waiters.Count > 0) WakeWaiter();
        return aborted;
    }

    private void Submit(PortalWrite m)
    {
        var d = m.Descriptor;
        if (_removed)
        {
            Reject(m, SubmitOutcome.DeviceGone);
            return;
        }
        if (_wq is null)
        {
            // An unconfigured WQ is disabled: DMWr gets Retry, posted writes are ignored.
            Reject(m, SubmitOutcome.Retry);
            return;
        }
        var outcome = _wq.Submit(m.Portal, m.WriteType);
        if (outcome != SubmitOutcome.Accepted)
        {
            Reject(m, outcome);
            return;
        }
        // Dedicated WQ: the WQCFG PASID is used and the descriptor's is ignored (siov-reference §6.3).
        var pasid = _wq.Mode == WorkQueueMode.Dedicated ? _dedicatedPasid : d.Pasid;
        var modeled = m.ModeledNs + (long)_ctx.Cost.DescriptorDispatchNs;
        var flight = new InFlight(m.From, d, pasid, m.Slot);
        var status = DsaEngine.Validate(d);
        if (status == OperationStatus.Success && d.RequestsInterrupt && _ctx.Scenario.Remapping.DeviceSideCheck)
            status = _ims.CheckHandle(d.CompletionInterruptHandle, pasid, wqPasidEnable: true);
        if (status != OperationStatus.Success)
        {
            CompleteWith(flight, new CompletionRecord(status, 0, 0), null, modeled, raise: false);
            return;
        }
        var plan = DsaEngine.PlanFor(d.Opcode);
        if (!plan.ReadsSource && !plan.ReadsSecondSource)
        {
            Finish(flight, [], null, modeled);
            return;
        }
        var request = ++_nextRequest;
        _inFlight.Add(request, flight);
        var size = (int)d.TransferSize;
        _ctx.Directory.Tell(new DmaRemappingProtocol.DmaRead(_host, request, _id, _source, Upstream(pasid),
            d.Source, size, plan.ReadsSecondSource ? d.Destination : 0, plan.ReadsSecondSource ? size : 0, modeled));
    }

    private void Reject(PortalWrite m, SubmitOutcome outcome)
    {
        var host = _ctx.HostOf(m.From);
        if (outcome == SubmitOutcome.Retry && _wq is not null) _waiters.Enqueue((m.From, m.Slot));
        _ctx.Directory.Tell(new ContainerProtocol.PortalRejected(m.From, host, m.Slot, outcome));
    }

    private void Finish(InFlight f, byte[] data, byte[]? data2, long modeled)
    {
        var d = f.Descriptor;
        var plan = DsaEngine.PlanFor(d.Opcode);
        // A move writes back exactly what it read: the read buffer, which this AI owns once it arrives, carries the write.
        var destination = !plan.WritesDestination ? null
            : d.Opcode == DsaOpcode.MemoryMove && data.Length == d.TransferSize ? data
            : new byte[d.TransferSize];
        var record = DsaEngine.Execute(d, data, data2 ?? ReadOnlySpan<byte>.Empty, destination);
        CompleteWith(f, record, destination, modeled, raise: d.RequestsInterrupt);
    }

    private void CompleteWith(InFlight f, CompletionRecord record, byte[]? destination, long modeled, bool raise)
    {
        var d = f.Descriptor;
        var pasid = Upstream(f.Pasid);
        _ctx.Directory.Tell(new DmaRemappingProtocol.DmaWrite(_host, _id, _source, pasid, d.Destination, destination,
            d.CompletionRecordAddress, record, modeled, null));
        _wq?.Complete();
        WakeWaiter();
        if (!raise) return;
        // The interrupt follows the completion record write (siov-reference §6.3), so it starts at the write's end.
        var atRecordWritten = modeled + _ctx.Cost.Dma((destination?.Length ?? 0) + CompletionRecord.Size);
        if (_ims.OnCompletion(d.CompletionInterruptHandle) == CompletionInterruptAction.Fire && _ims.Get(d.CompletionInterruptHandle) is { } entry)
        {
            RaiseFrom(entry, atRecordWritten);
            if (_rogue && ++_completionsSinceForgery >= _ctx.Scenario.Rogue.ForgeEvery)
            {
                _completionsSinceForgery = 0;
                Forge(d.CompletionInterruptHandle, entry, atRecordWritten);
            }
            // A rogue storm: this AI floods forged interrupts and DMA after every completion it serves.
            if (_ctx.Faults.Storm(_id.Host.Value, _id.Device.Index, _id.Index) is { Burst: > 0 } storm)
            {
                for (var i = 0; i < storm.Burst; i++) Forge(d.CompletionInterruptHandle, entry, atRecordWritten);
                storm.Stats!.Touched(storm.Burst);
            }
        }
    }

    /// <summary>One submitter that got Retry may try again now that a descriptor has left the WQ.</summary>
    private void WakeWaiter()
    {
        if (_waiters.TryDequeue(out var w))
            _ctx.Directory.Tell(new ContainerProtocol.WorkQueueRoom(w.Container, _ctx.HostOf(w.Container), w.Slot));
    }

    private void RaiseFrom(ImsEntry entry, long modeled)
    {
        _ctx.Metrics.InterruptRaised();
        var write = UpstreamWrite.Interrupt(_source, Upstream(entry.Pasid), entry.Address, entry.Data);
        var raise = new InterruptUnitProtocol.RaiseInterrupt(_host, _id, write, modeled, null);
        if (_outbox is { } outbox)
        {
            // The same message is what a retransmission sends: the write as the AI made it, not as its entry is now.
            var seq = outbox.NextSequence;
            raise = raise with { Outbox = new InterruptUnitProtocol.OutboxStamp(seq, outbox.Watermark) };
            outbox.Add(raise, Stopwatch.GetTimestamp());
            ArmResend();
        }
        _ctx.Directory.Tell(raise);
    }

    private void Forge(ushort imsIndex, ImsEntry own, long modeled)
    {
        var hint = _hints.GetValueOrDefault(imsIndex);
        var material = new ForgeryMaterial(_source, Asid.FromMasked(own.Pasid), RemappableMsi.Decode(own.Address, own.Data).Handle,
            hint?.TableSize ?? 1 << 16, hint?.PeerAsid, hint?.PeerHandle, hint?.PeerSameSource ?? false, _stale, _withoutPasid);
        var kinds = Enum.GetValues<RogueKind>();
        for (var attempt = 0; attempt < kinds.Length; attempt++)
        {
            var kind = kinds[_nextRogueKind++ % kinds.Length];
            if (RogueForger.Build(kind, material) is not { } forgery) continue;
            _ctx.Metrics.RogueForged(kind);
            if (forgery.Write.Kind == UpstreamKind.Interrupt)
            {
                _ctx.Metrics.InterruptRaised();
                _ctx.Directory.Tell(new InterruptUnitProtocol.RaiseInterrupt(_host, _id, forgery.Write, modeled, forgery));
            }
            else
            {
                _ctx.Directory.Tell(new DmaRemappingProtocol.DmaWrite(_host, _id, _source, forgery.Write.Asid, forgery.Write.Address,
                    new byte[forgery.DmaLength], 0, default, modeled, forgery));
            }
            return;
        }
    }

    /// <summary>The PASID a request upstream carries: the tenant's, or none from an SR-IOV VF.</summary>
    private Asid Upstream(uint pasid) => _withoutPasid ? Asid.WithoutPasid : Asid.FromMasked(pasid);

    public static Props Props(EmulatorContext ctx, AiId id) => Akka.Actor.Props.Create(() => new AssignableInterfaceActor(ctx, id));
}
