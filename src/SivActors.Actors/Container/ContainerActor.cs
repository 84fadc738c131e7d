using System.Diagnostics;
using Akka.Actor;
using SivActors.Actors.AssignableInterface;
using SivActors.Actors.Entities;
using SivActors.Actors.Hosting;
using SivActors.Actors.Vdcm;
using SivActors.Model.Device;
using SivActors.Model.Identity;
using SivActors.Model.Interrupts;
using SivActors.Model.Reporting;
using SivActors.Model.Vdcm;
using SivActors.Model.Workload;
using static SivActors.Actors.Container.ContainerProtocol;

namespace SivActors.Actors.Container;

/// <summary>
/// An application container: its guest driver programs the vdev's vectors through the VDCM (slow path), drives
/// work straight into AI portals (fast path), owns the memory the device DMAs into, verifies every completion
/// record and the data, and owns its posted-interrupt descriptor.
/// </summary>
public sealed partial class ContainerActor : EntityActor
{
    private const byte FirstVector = 0x40;

    private readonly EmulatorContext _ctx;
    private readonly ContainerId _id;
    private readonly HostId _host;
    private readonly ContainerLayout _layout;
    private readonly Random _rng;
    private readonly PostedInterruptDescriptor _pid = new();
    private readonly GuestMemory _memory;
    private readonly Slot?[] _slots;
    private readonly bool[] _waitingForRoom;
    private readonly Queue<SlowStep> _slowQueue = new();

    private Asid _asid;
    private AiId[] _ais = [];
    private WorkQueueMode[] _modes = [];
    private ushort?[] _handles = [];
    private byte[] _vectors = [];
    private byte[] _pendingVectors = [];
    // Vectors of writes that were answered with an error (the VDCM restarted, its journal failed): the write may
    // have reached the interrupt entry before the error, so until a later write of the entry succeeds, either is ours.
    private List<byte>?[] _uncertainVectors = [];
    // Vectors being written to each slot, one per write in flight. Two writes to a slot can overlap (a retried
    // programming after a failed reset, and a guest's reprogram), and each may reach the entry before its answer
    // comes, so each stays ours until then (decision 50).
    private List<byte>?[] _writing = [];
    private IActorRef _replyTo = ActorRefs.Nobody;
    private Dictionary<AiId, Model.Delivery.DuplicateFilter>? _firstCopies;
    // Reliable delivery: every vector each slot has had (256 bits per slot). A retransmitted interrupt was judged once,
    // when it was raised; recovered after a loss, it may arrive after the guest moved the slot to another vector.
    private ulong[]? _everVectors;
    // AIs this vdev had before a surprise removal moved its slots (decision 41), with the vectors the slot could carry
    // then: an interrupt one of them raised before it went is still ours when it arrives after the move.
    private List<(AiId Ai, int Slot, byte[] Vectors)>? _formerAis;
    private HashSet<AiId>? _goneAis;
    private bool _refreshing;
    private bool _running, _stopping, _stopped, _ready, _harvestDue, _resetting;
    // Operations completed while the workload ran or drained (not the composition's vector programming): the report's fairness.
    private long _completedOps;
    private readonly bool _noisy, _emulated;
    // Descriptor slots this container fills: the queue depth, or all of a noisy neighbour's once its noise started.
    private int _activeSlots;
    private SlowOperation? _quiesceFor;
    private SlowStep? _slowInFlight;
    private long _nextRequest;
    private int _outstanding;
    private int _nextAi;

    private readonly record struct Slot(DsaOpcode Opcode, int Size, ulong Pattern, uint Seed, int ExpectedDiff, long WallStartTicks, int AiSlot, AiId Ai);

    /// <summary>One trapped access; <see cref="OnDone"/> runs when the VDCM answers.</summary>
    private sealed record SlowStep(GuestAccess Access, Action<GuestAccessCompleted>? OnDone);

    public ContainerActor(EmulatorContext ctx, ContainerId id, HostId host) : base(ctx, EntityAddress.Of(id, host), host)
    {
        _ctx = ctx;
        _id = id;
        _host = host;
        _layout = ctx.LayoutOf(id);
        _noisy = ctx.IsNoisy(id);
        _emulated = ctx.Scenario.Emulated;
        // A noisy neighbour has room for its multiplied depth from the start, and uses it once the noise starts.
        _activeSlots = ctx.Scenario.Workload.QueueDepth;
        _rng = new Random(HashSeed(ctx.Scenario.Seed, id.Value));
        _memory = new GuestMemory(_layout, _rng);
        _slots = new Slot?[_layout.QueueDepth];
        _waitingForRoom = new bool[_layout.QueueDepth];
    }

    /// <summary>A VdevInfo restores this incarnation's vdev, or answers the refresh a surprise removal made it ask for.</summary>
    protected override bool Configure(object message)
    {
        if (message is not VdcmProtocol.VdevInfo m) return false;
        if (_refreshing) Refreshed(m);
        else Restored(m);
        return true;
    }

    /// <summary>The fast path's messages first: a type switch tests its cases in order.</summary>
    protected override bool Handle(object message)
    {
        switch (message)
        {
            case MemoryWrite m:
                Write(m);
                return true;
            case InterruptDelivered m:
                Interrupt(m);
                return true;
            case WorkQueueRoom m:
                _waitingForRoom[m.Slot] = false;
                Pump();
                return true;
            case PortalRejected m:
                Rejected(m);
                return true;
            case GuestAccessCompleted m:
                SlowCompleted(m);
                return true;
            case MemoryRead m:
                Read(m);
                return true;
            case DescriptorAborted m:
                Aborted(m);
                return true;
            case VdevComposed m:
                Composed(m);
                return true;
            case VdcmProtocol.VdevGone:
                TornDown();
                return true;
            case RefreshAgain:
                if (_refreshing) AskForVdev();
                return true;
            case RetryVector m:
                // After the run's end the driver gives up: nothing is sent once the container said it is drained.
                if (_stopped) m.Programmed();
                else ProgramVector(m.Slot, m.Attempt, m.Programmed);
                return true;
            case TurnGranted:
                Granted();
                return true;
            case TurnExpired m:
                Expired(m);
                return true;
            case NoiseStarts:
                _activeSlots = _slots.Length;
                Pump();
                return true;
            case StartWorkload:
                _running = true;
                _stopped = false;
                Pump();
                return true;
            case StopWorkload m:
                _stopping = _stopped = true;
                _running = false;
                LeaveTurns();
                _replyTo = m.ReplyTo;
                CheckDrained();
                return true;
            case FlushInterrupts m:
                _ctx.Metrics.InterruptsHarvested(_pid.Harvest());
                m.ReplyTo.Tell(new ContainerFlushed(_id));
                return true;
            case GetState:
                Sender.Tell(new State(_asid, _outstanding, _handles.ToList(), _vectors.ToList(), _running));
                return true;
            default:
                return false;
        }
    }

    protected override void PreStart()
    {
        // Before anything can be sent to this incarnation: a DMA read finds its memory from the start.
        _ctx.GuestMemory.Register(_id, _memory);
        base.PreStart();
    }

    protected override void PostStop()
    {
        _ctx.GuestMemory.Unregister(_id, _memory);
        LeaveTurns();
        base.PostStop();
    }

    /// <summary>
    /// A posted interrupt's notification interrupts the vCPU: its handler harvests the descriptor before the vCPU's
    /// next piece of work other than a further posted interrupt, so posts that arrive back to back coalesce, as
    /// they do when several land before the guest takes the notification. No message of its own is needed.
    /// </summary>
    protected override bool AroundReceive(Receive receive, object message)
    {
        if (_harvestDue && message is not InterruptDelivered)
        {
            _harvestDue = false;
            _ctx.Metrics.InterruptsHarvested(_pid.Harvest());
        }
        return base.AroundReceive(receive, message);
    }

    private static int HashSeed(int seed, int id) => (int)EmulatorContext.Mix32((uint)seed * 0x9E3779B1u ^ (uint)id);

    /// <summary>Keeps the queue full: fast descriptors, with slow-path operations mixed in.</summary>
    private void Pump()
    {
        if (!_running || !_ready || _ais.Length == 0 || HeldBySlowPath() || !HasTurn()) return;
        while (_quiesceFor is null && _slowQueue.Count == 0 && _slowInFlight is null && _ctx.Mix.NextIsSlow(_rng))
        {
            StartSlow(_ctx.Mix.NextSlow(_rng));
            if (!Spent()) return;
        }
        if (HeldBySlowPath()) return;
        bool submitted = false, stuck = false;
        for (var slot = 0; slot < _activeSlots && _running; slot++)
        {
            if (_slots[slot] is not null || _waitingForRoom[slot]) continue;
            if (!SubmitFast(slot))
            {
                stuck = true;
                continue;
            }
            submitted = true;
            if (!Spent()) return;
        }
        // No completion handle to submit with (a vector being programmed, a removed AI): the turn goes to another.
        if (stuck && !submitted) LeaveTurns();
    }

    private bool SubmitFast(int slot)
    {
        var s = _nextAi++ % _ais.Length;
        var handle = _handles[s];
        if (handle is null) return false;
        var opcode = _ctx.Mix.NextFast(_rng);
        var size = _ctx.Mix.NextSize(_rng);
        var irq = _ctx.Mix.NextWantsInterrupt(_rng);
        var flags = DescriptorFlags.CompletionRecordAddressValid | DescriptorFlags.RequestCompletionRecord
                    | (irq ? DescriptorFlags.RequestCompletionInterrupt : 0);
        var destination = _layout.Destination(slot);
        ulong source = ContainerLayout.SourceBase;
        ulong pattern = 0;
        uint seed = 0;
        var expectedDiff = 0;
        if (opcode == DsaOpcode.Fill) source = pattern = (ulong)_rng.NextInt64();
        if (opcode == DsaOpcode.CrcGeneration) seed = (uint)_rng.Next();
        if (opcode == DsaOpcode.Compare)
            expectedDiff = _memory.Source(size).CommonPrefixLength(_memory.Destination(slot, size));
        _memory.CompletionRecord(slot).Clear(); // software pre-zeroes the record
        var descriptor = new Descriptor(_asid.Value, false, flags, opcode, _layout.Completion(slot), source, destination, (uint)size, handle.Value, seed);
        var portal = new GuestAccess(AccessKind.PortalWrite, Portal: PortalKind.Limited);
        var (path, op) = AccessClassifier.Classify(portal, _modes[s]);
        if (path != DataPath.Fast) return false;
        var now = Stopwatch.GetTimestamp();
        _slots[slot] = new Slot(opcode, size, pattern, seed, expectedDiff, now, s, _ais[s]);
        _outstanding++;
        _ctx.Metrics.OutstandingChanged(1);
        if (_noisy) _ctx.Metrics.NoisyInFlight(_outstanding);
        _ctx.Metrics.FastPath(op);
        _ctx.Metrics.DescriptorSubmitted();
        var writeType = _modes[s] == WorkQueueMode.Dedicated ? PortalWriteType.Posted : PortalWriteType.Deferrable;
        var write = new AssignableInterfaceProtocol.PortalWrite(_ais[s], _id, descriptor, PortalKind.Limited, writeType, slot, (long)_ctx.Cost.PortalWriteNs);
        // Emulated: the portal page is not mapped through, so the write traps to the VDCM.
        if (_emulated) _ctx.Directory.Tell(new VdcmProtocol.TrappedPortalWrite(_host, write));
        else _ctx.Directory.Tell(write);
        return true;
    }

    /// <summary>A DMA read that DMA remapping could not serve from this node's memory map (this container runs elsewhere).</summary>
    private void Read(MemoryRead m)
    {
        var first = _memory.Read(m.Address, m.Length);
        var second = m.Length2 > 0 ? _memory.Read(m.Address2, m.Length2) : null;
        _ctx.Metrics.DmaApplied(second is null ? 1 : 2);
        _ctx.Directory.Tell(new AssignableInterfaceProtocol.MemoryReadData(m.ReplyTo, m.RequestId, first, second, m.ModeledNs));
    }

    private void Write(MemoryWrite m)
    {
        var w = m.Write;
        _ctx.Metrics.DmaApplied(w.Count);
        if (w.Data is { } data) Land(w.DataAddress, data, m.ModeledNs);
        if (!w.WritesRecord) return;
        Span<byte> record = stackalloc byte[CompletionRecord.Size];
        w.Record.WriteTo(record);
        Land(w.RecordAddress, record, m.ModeledNs);
    }

    /// <summary>One DMA write lands in memory; a write into a slot's completion record completes that slot.</summary>
    private void Land(ulong address, ReadOnlySpan<byte> bytes, long modeledNs)
    {
        _memory.Write(address, bytes);
        if (_memory.IsCompletionRecord(address)) Completed(GuestMemory.CompletionSlot(address), modeledNs);
    }

    private void Completed(int slot, long modeledNs)
    {
        if (_slots[slot] is not { } s) return;
        _slots[slot] = null;
        _outstanding--;
        var metrics = _ctx.Metrics;
        metrics.OutstandingChanged(-1);
        var record = CompletionRecord.ReadFrom(_memory.CompletionRecord(slot));
        if (record.Status is OperationStatus.Success or OperationStatus.SuccessFalsePredicate)
        {
            _completedOps++;
            metrics.DescriptorCompleted(CompletionCheck.Verify(s.Opcode, s.Size, s.Pattern, s.Seed, s.ExpectedDiff, record,
                _memory.Source(s.Size), _memory.Destination(slot, s.Size)));
            metrics.Record(RunMetrics.ModeledFastNs, modeledNs);
            var wall = WallMicros(s.WallStartTicks);
            metrics.Record(RunMetrics.WallFastUs, wall);
            if (_ctx.Noisy is not null) NoisyRunSample(metrics, wall);
        }
        else
        {
            metrics.DescriptorRejected((byte)record.Status);
        }
        _memory.Release(slot); // checked: the guest is done with the destination
        Pump();
        CheckDrained();
    }

    /// <summary>A noisy-neighbour run: the noisy tenant's operations are counted apart, the others' latency by phase.</summary>
    private void NoisyRunSample(RunMetrics metrics, long? wallUs)
    {
        if (_noisy) metrics.NoisyOperation();
        else if (wallUs is { } us && _running && metrics.Noise is var phase and not NoisePhase.WarmUp)
            metrics.Record(phase == NoisePhase.During ? RunMetrics.OthersWallFastDuringNoiseUs : RunMetrics.OthersWallFastBeforeNoiseUs, us);
    }

    private void Rejected(PortalRejected m)
    {
        if (_slots[m.Slot] is not { } submitted) return;
        if (m.Outcome == SubmitOutcome.DeviceGone) DeviceGone(submitted.AiSlot, submitted.Ai);
        // After Retry the slot waits for the WQ's room event rather than spinning on the portal.
        _waitingForRoom[m.Slot] = m.Outcome == SubmitOutcome.Retry;
        EndWithoutCompletion(m.Slot, m.Outcome switch
        {
            SubmitOutcome.Retry => RejectCodes.Retry,
            SubmitOutcome.Dropped => RejectCodes.Dropped,
            SubmitOutcome.DeviceGone => RejectCodes.DeviceGone,
            _ => RejectCodes.Ignored,
        });
    }

    private void Aborted(DescriptorAborted m)
    {
        if (_slots[m.Slot] is not null) EndWithoutCompletion(m.Slot, RejectCodes.Aborted);
    }

    /// <summary>A descriptor that will get no completion record: its slot is free, its end is booked under <paramref name="code"/>.</summary>
    private void EndWithoutCompletion(int slot, byte code)
    {
        _slots[slot] = null;
        _outstanding--;
        _ctx.Metrics.OutstandingChanged(-1);
        _ctx.Metrics.DescriptorRejected(code);
        Pump();
        CheckDrained();
    }

    private void CheckDrained()
    {
        if (_stopping && _outstanding == 0 && _slowInFlight is null && _slowQueue.Count == 0)
        {
            _stopping = false;
            _replyTo.Tell(new ContainerDrained(_id, _completedOps));
        }
    }

    private static long WallMicros(long startTicks) =>
        startTicks == 0 ? 0 : (long)((Stopwatch.GetTimestamp() - startTicks) * 1_000_000.0 / Stopwatch.Frequency);

    private sealed record RetryVector(int Slot, int Attempt, Action Programmed) : INoSerializationVerificationNeeded;

    private sealed class RefreshAgain : INoSerializationVerificationNeeded
    {
        public static readonly RefreshAgain Instance = new();
    }

    public static Props Props(EmulatorContext ctx, ContainerId id, HostId host) =>
        Akka.Actor.Props.Create(() => new ContainerActor(ctx, id, host));
}
