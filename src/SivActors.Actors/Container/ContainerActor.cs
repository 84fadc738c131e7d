using System.Diagnostics;
using Akka.Actor;
using SivActors.Actors.AssignableInterface;
using SivActors.Actors.Infrastructure;
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
public sealed class ContainerActor : EntityActor
{
    private const byte FirstVector = 0x40;

    private readonly EmulatorContext _ctx;
    private readonly ContainerId _id;
    private readonly HostId _host;
    private readonly ContainerLayout _layout;
    private readonly Random _rng;
    private readonly PostedInterruptDescriptor _pid = new();
    private readonly byte[] _source;
    private readonly byte[] _completions;
    private byte[]? _destinations;
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
    private bool _running, _stopping, _stopped, _ready, _harvestScheduled, _resetting;
    private SlowOperation? _quiesceFor;
    private SlowStep? _slowInFlight;
    private long _nextRequest;
    private int _outstanding;
    private int _nextAi;

    private readonly record struct Slot(DsaOpcode Opcode, int Size, ulong Pattern, uint Seed, int ExpectedDiff, long WallStartTicks, int AiSlot, AiId Ai);

    /// <summary>One trapped access; <see cref="OnDone"/> runs when the VDCM answers.</summary>
    private sealed record SlowStep(GuestAccess Access, Action<GuestAccessCompleted>? OnDone);

    public ContainerActor(EmulatorContext ctx, ContainerId id, HostId host) : base(ctx, EntityAddress.Of(id, host))
    {
        _ctx = ctx;
        _id = id;
        _host = host;
        _layout = ctx.Layout;
        _rng = new Random(HashSeed(ctx.Scenario.Seed, id.Value));
        _source = new byte[_layout.BufferBytes];
        _rng.NextBytes(_source);
        _completions = new byte[CompletionRecord.Size * _layout.QueueDepth];
        _slots = new Slot?[_layout.QueueDepth];
        _waitingForRoom = new bool[_layout.QueueDepth];

        // A VdevInfo restores this incarnation's vdev, or answers the refresh a surprise removal made it ask for.
        Behave(host, () => Receive<VdcmProtocol.VdevInfo>(m =>
        {
            if (_refreshing) Refreshed(m);
            else Restored(m);
        }), () =>
        {
            Receive<VdevComposed>(Composed);
            Receive<GuestAccessCompleted>(SlowCompleted);
            Receive<MemoryRead>(Read);
            Receive<MemoryWrite>(Write);
            Receive<PortalRejected>(Rejected);
            Receive<DescriptorAborted>(Aborted);
            Receive<InterruptDelivered>(Interrupt);
            Receive<VdcmProtocol.VdevGone>(_ => TornDown());
            Receive<RefreshAgain>(_ =>
            {
                if (_refreshing) AskForVdev();
            });
            Receive<WorkQueueRoom>(m =>
            {
                _waitingForRoom[m.Slot] = false;
                Pump();
            });
            Receive<RetryVector>(m =>
            {
                // After the run's end the driver gives up: nothing is sent once the container said it is drained.
                if (_stopped) m.Programmed();
                else ProgramVector(m.Slot, m.Attempt, m.Programmed);
            });
            Receive<Harvest>(_ =>
            {
                _harvestScheduled = false;
                _ctx.Metrics.InterruptsHarvested(_pid.Harvest());
            });
            Receive<StartWorkload>(_ =>
            {
                _running = true;
                _stopped = false;
                Pump();
            });
            Receive<StopWorkload>(m =>
            {
                _stopping = _stopped = true;
                _running = false;
                _replyTo = m.ReplyTo;
                CheckDrained();
            });
            Receive<FlushInterrupts>(m =>
            {
                _ctx.Metrics.InterruptsHarvested(_pid.Harvest());
                m.ReplyTo.Tell(new ContainerFlushed(_id));
            });
            Receive<GetState>(_ => Sender.Tell(new State(_asid, _outstanding, _handles.ToList(), _vectors.ToList(), _running)));
        });
    }

    private static int HashSeed(int seed, int id) => (int)EmulatorContext.Mix32((uint)seed * 0x9E3779B1u ^ (uint)id);

    private void Composed(VdevComposed m)
    {
        _asid = m.Asid;
        _ais = m.Ais;
        _modes = m.Modes;
        _replyTo = m.ReplyTo;
        _handles = new ushort?[_ais.Length];
        _vectors = new byte[_ais.Length];
        _pendingVectors = new byte[_ais.Length];
        _uncertainVectors = new List<byte>?[_ais.Length];
        _writing = new List<byte>?[_ais.Length];
        if (_ctx.Reliable is not null) _everVectors = new ulong[_ais.Length * 4];
        ProgramAllVectors(() =>
        {
            _ready = true;
            _replyTo.Tell(new ContainerReady(_id));
        });
    }

    /// <summary>
    /// This incarnation follows one that ran the vdev (its shard moved, or it restarted): the vdev, its vectors and
    /// completion handles are as the VDCM's tables hold them, so the guest carries on without programming again.
    /// </summary>
    private void Restored(VdcmProtocol.VdevInfo m)
    {
        _asid = m.Asid;
        _ais = m.Ais.ToArray();
        _modes = m.Modes.ToArray();
        _handles = new ushort?[_ais.Length];
        _vectors = new byte[_ais.Length];
        _pendingVectors = new byte[_ais.Length];
        _uncertainVectors = new List<byte>?[_ais.Length];
        _writing = new List<byte>?[_ais.Length];
        if (_ctx.Reliable is not null) _everVectors = new ulong[_ais.Length * 4];
        for (var s = 0; s < _ais.Length; s++)
        {
            var entry = s + 1 < m.Msix.Count ? m.Msix[s + 1] : null; // entry 0 is the VDCM's own vector
            if (entry is not { ImsIndex: { } ims, InterruptHandle: not null, Masked: false }) continue;
            _handles[s] = ims;
            _vectors[s] = (byte)entry.Data;
            Pend(s, (byte)entry.Data);
        }
        // A vdev whose vectors were never all programmed is not ready: its composition (VdevComposed) is still coming.
        _ready = _ais.Length > 0 && _handles.All(h => h is not null);
    }

    /// <summary>
    /// The guest driver's MSI-X set-up: per AI, write the data dword (vector) then unmask the entry. A write answered
    /// with an error starts the pair again (unmasking after a failed data write would make live whatever vector the
    /// VDCM holds; an unmask fails when the journal does or when a surprise removal moved the slot meanwhile), after
    /// a back-off that doubles from 20 ms (about 10 s over all attempts, so a store that fails for a while is
    /// outlasted); one that keeps failing leaves the entry masked, without a completion handle, until the next reset.
    /// </summary>
    private void ProgramAllVectors(Action done)
    {
        var remaining = _ais.Length;
        for (var slot = 0; slot < _ais.Length; slot++) ProgramVector(slot, attempt: 1, () =>
        {
            if (--remaining == 0) done();
        });
    }

    private const int VectorWriteAttempts = 10;

    private void ProgramVector(int s, int attempt, Action programmed)
    {
        var entry = s + 1; // entry 0 is the VDCM's own vector
        var vector = (byte)(FirstVector + s);
        Pend(s, vector);
        void Again()
        {
            if (attempt < VectorWriteAttempts)
                Timers.StartSingleTimer(("vector", s), new RetryVector(s, attempt + 1, programmed), TimeSpan.FromMilliseconds(20 << (attempt - 1)));
            else programmed();
        }

        EnqueueSlow(new GuestAccess(AccessKind.Bar0Write, MsixOffset(entry, 8), Value: vector), w =>
        {
            if (w.Error is not null)
            {
                Written(s, vector, w.Error);
                Again();
                return;
            }
            EnqueueSlow(new GuestAccess(AccessKind.Bar0Write, MsixOffset(entry, 12), Value: 0), r =>
            {
                // The vector is in the entry from the first write on; it stays ours until this answer.
                Written(s, vector, r.Error);
                if (r.Error is not null)
                {
                    Again();
                    return;
                }
                _handles[s] = (ushort)r.Value;
                _vectors[s] = vector;
                programmed();
            });
        });
    }

    /// <summary>The vector being written for slot <paramref name="s"/>; in reliable delivery it stays in the slot's history.</summary>
    private void Pend(int s, byte vector)
    {
        _pendingVectors[s] = vector;
        (_writing[s] ??= []).Add(vector);
        if (_everVectors is { } ever) ever[s * 4 + (vector >> 6)] |= 1UL << (vector & 63);
    }

    /// <summary>A write of <paramref name="vector"/> to slot <paramref name="s"/> was answered; one with an error may still have reached the entry.</summary>
    private void Written(int s, byte vector, string? error)
    {
        _writing[s]?.Remove(vector);
        if (error is not null) (_uncertainVectors[s] ??= []).Add(vector);
    }

    private bool WasEverOurs(int s, byte vector) => _everVectors is { } ever && (ever[s * 4 + (vector >> 6)] & (1UL << (vector & 63))) != 0;

    private static int MsixOffset(int entry, int field) => VirtualLayout.MsixTable + entry * VirtualLayout.MsixEntryBytes + field;

    private void EnqueueSlow(GuestAccess access, Action<GuestAccessCompleted>? onDone)
    {
        _slowQueue.Enqueue(new SlowStep(access, onDone));
        SendNextSlow();
    }

    private void SendNextSlow()
    {
        if (_slowInFlight is not null || _slowQueue.Count == 0) return;
        _slowInFlight = _slowQueue.Dequeue();
        _ctx.Directory.Tell(new VdcmProtocol.GuestAccessRequest(_host, _id, ++_nextRequest, _slowInFlight.Access, 0, Stopwatch.GetTimestamp()));
    }

    private void SlowCompleted(GuestAccessCompleted m)
    {
        var step = _slowInFlight;
        _slowInFlight = null;
        var metrics = _ctx.Metrics;
        metrics.Record(RunMetrics.ModeledSlowNs, m.ModeledNs);
        metrics.Record(RunMetrics.WallSlowUs, WallMicros(m.WallStartTicks));
        step?.OnDone?.Invoke(m);
        SendNextSlow();
        Pump();
        CheckDrained();
    }

    /// <summary>Keeps the queue full: fast descriptors, with slow-path operations mixed in.</summary>
    private void Pump()
    {
        if (!_running || !_ready || _ais.Length == 0) return;
        while (_quiesceFor is null && _slowQueue.Count == 0 && _slowInFlight is null && _ctx.Mix.NextIsSlow(_rng))
            StartSlow(_ctx.Mix.NextSlow(_rng));
        if (_quiesceFor is { } op)
        {
            if (_outstanding == 0) RunQuiesced(op);
            return;
        }
        // A reset discards whatever sits in the WQ without a completion record, so nothing is submitted until it is done.
        if (_resetting) return;
        if (_slowQueue.Count > 0 && _handles.Any(h => h is null)) return; // vectors are being reprogrammed
        for (var slot = 0; slot < _slots.Length && _running; slot++)
            if (_slots[slot] is null && !_waitingForRoom[slot]) SubmitFast(slot);
    }

    private void StartSlow(SlowOperation op)
    {
        switch (op)
        {
            case SlowOperation.ConfigRead:
                EnqueueSlow(new GuestAccess(AccessKind.ConfigRead, 0), null);
                break;
            case SlowOperation.Bar0Read:
                EnqueueSlow(new GuestAccess(AccessKind.Bar0Read, 0x90), null);
                break;
            case SlowOperation.MsixReprogram:
            {
                var s = _rng.Next(_ais.Length);
                if (_handles[s] is null) break;
                var vector = (byte)(FirstVector + _rng.Next(0x80));
                Pend(s, vector);
                EnqueueSlow(new GuestAccess(AccessKind.Bar0Write, MsixOffset(s + 1, 8), Value: vector), r =>
                {
                    Written(s, vector, r.Error);
                    if (r.Error is null)
                    {
                        _vectors[s] = vector;
                        _uncertainVectors[s] = null;
                    }
                    _pendingVectors[s] = _vectors[s];
                });
                break;
            }
            case SlowOperation.AdminCommand:
                EnqueueSlow(new GuestAccess(AccessKind.Bar0Write, VirtualLayout.Cmd, Value: (13u << 20) | 1), null);
                break;
            case SlowOperation.QueueReset:
            case SlowOperation.VdevReset:
                // The driver quiesces its own work before a reset, as a real one drains before FLR.
                _quiesceFor = op;
                break;
        }
    }

    private void RunQuiesced(SlowOperation op)
    {
        _quiesceFor = null;
        _resetting = true;
        if (op == SlowOperation.QueueReset)
        {
            EnqueueSlow(new GuestAccess(AccessKind.Bar0Write, VirtualLayout.Cmd, Value: (10u << 20) | (uint)_rng.Next(_ais.Length)),
                _ => _resetting = false);
            return;
        }
        EnqueueSlow(new GuestAccess(AccessKind.ConfigWrite, VirtualLayout.DeviceControl, Value: VirtualLayout.InitiateFlr), r =>
        {
            _resetting = false;
            for (var s = 0; s < _ais.Length; s++)
            {
                // A reset answered with an error may have left the old interrupt entries live: their vectors stay ours.
                if (r.Error is not null && _vectors[s] != 0) (_uncertainVectors[s] ??= []).Add(_vectors[s]);
                else _uncertainVectors[s] = null;
            }
            Array.Clear(_handles);
            Array.Clear(_vectors);
            Array.Clear(_pendingVectors);
            ProgramAllVectors(() => { });
        });
    }

    private void SubmitFast(int slot)
    {
        var s = _nextAi++ % _ais.Length;
        var handle = _handles[s];
        if (handle is null) return;
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
            expectedDiff = _source.AsSpan(0, size).CommonPrefixLength(Destinations().AsSpan(slot * _layout.BufferBytes, size));
        _completions.AsSpan(slot * CompletionRecord.Size, CompletionRecord.Size).Clear(); // software pre-zeroes the record
        var descriptor = new Descriptor(_asid.Value, false, flags, opcode, _layout.Completion(slot), source, destination, (uint)size, handle.Value, seed);
        var portal = new GuestAccess(AccessKind.PortalWrite, Portal: PortalKind.Limited);
        var (path, op) = AccessClassifier.Classify(portal, _modes[s]);
        if (path != DataPath.Fast) return;
        var now = Stopwatch.GetTimestamp();
        _slots[slot] = new Slot(opcode, size, pattern, seed, expectedDiff, now, s, _ais[s]);
        _outstanding++;
        _ctx.Metrics.OutstandingChanged(1);
        _ctx.Metrics.FastPath(op);
        _ctx.Metrics.DescriptorSubmitted();
        var writeType = _modes[s] == WorkQueueMode.Dedicated ? PortalWriteType.Posted : PortalWriteType.Deferrable;
        _ctx.Directory.Tell(new AssignableInterfaceProtocol.PortalWrite(_ais[s], _id, descriptor, PortalKind.Limited, writeType, slot,
            (long)_ctx.Cost.PortalWriteNs, now));
    }

    private byte[] Destinations() => _destinations ??= new byte[_layout.BufferBytes * _layout.QueueDepth];

    private void Read(MemoryRead m)
    {
        var first = Slice(m.Address, m.Length).ToArray();
        var second = m.Length2 > 0 ? Slice(m.Address2, m.Length2).ToArray() : null;
        _ctx.Metrics.DmaApplied(second is null ? 1 : 2);
        _ctx.Directory.Tell(new AssignableInterfaceProtocol.MemoryReadData(m.ReplyTo, m.RequestId, first, second, m.ModeledNs));
    }

    private void Write(MemoryWrite m)
    {
        _ctx.Metrics.DmaApplied(m.Writes.Length);
        foreach (var w in m.Writes)
        {
            w.Data.CopyTo(Slice(w.Address, w.Data.Length));
            if (w.Address >= ContainerLayout.CompletionBase && w.Address < ContainerLayout.CompletionBase + (ulong)_completions.Length)
                Completed((int)((w.Address - ContainerLayout.CompletionBase) / CompletionRecord.Size), m.ModeledNs);
        }
    }

    /// <summary>The memory behind a checked DMA address (DMA remapping already proved it is mapped).</summary>
    private Span<byte> Slice(ulong address, int length)
    {
        if (address >= ContainerLayout.CompletionBase) return _completions.AsSpan((int)(address - ContainerLayout.CompletionBase), length);
        if (address >= ContainerLayout.DestinationBase) return Destinations().AsSpan((int)(address - ContainerLayout.DestinationBase), length);
        return _source.AsSpan((int)(address - ContainerLayout.SourceBase), length);
    }

    private void Completed(int slot, long modeledNs)
    {
        if (_slots[slot] is not { } s) return;
        _slots[slot] = null;
        _outstanding--;
        var metrics = _ctx.Metrics;
        metrics.OutstandingChanged(-1);
        var record = CompletionRecord.ReadFrom(_completions.AsSpan(slot * CompletionRecord.Size));
        if (record.Status is OperationStatus.Success or OperationStatus.SuccessFalsePredicate)
        {
            metrics.DescriptorCompleted(Verify(slot, s, record));
            metrics.Record(RunMetrics.ModeledFastNs, modeledNs);
            metrics.Record(RunMetrics.WallFastUs, WallMicros(s.WallStartTicks));
        }
        else
        {
            metrics.DescriptorRejected((byte)record.Status);
        }
        Pump();
        CheckDrained();
    }

    /// <summary>Checks the completion record and the DMA'd bytes against what the container computes itself.</summary>
    private bool Verify(int slot, Slot s, CompletionRecord record)
    {
        var dst = Destinations().AsSpan(slot * _layout.BufferBytes, s.Size);
        var src = _source.AsSpan(0, s.Size);
        return s.Opcode switch
        {
            DsaOpcode.MemoryMove => record.BytesCompleted == s.Size && DsaEngine.Crc32C(dst) == DsaEngine.Crc32C(src),
            DsaOpcode.Fill => record.BytesCompleted == s.Size && FillMatches(dst, s.Pattern),
            DsaOpcode.Compare => s.ExpectedDiff == s.Size
                ? record.Result == 0
                : record.Result == 1 && record.BytesCompleted == s.ExpectedDiff,
            DsaOpcode.CrcGeneration => record.CrcValue == DsaEngine.Crc32C(src, s.Seed),
            _ => true,
        };
    }

    private static bool FillMatches(ReadOnlySpan<byte> dst, ulong pattern)
    {
        Span<byte> expected = stackalloc byte[dst.Length];
        DsaEngine.FillPattern(expected, pattern);
        return dst.SequenceEqual(expected);
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

    /// <summary>
    /// The AI behind slot <paramref name="s"/> was surprise-removed: the driver stops using it and asks the VDCM for the
    /// vdev as recomposed (asked again every second until answered, so a VDCM that restarts meanwhile answers too).
    /// </summary>
    private void DeviceGone(int s, AiId ai)
    {
        if (s >= _ais.Length || _ais[s] != ai) return; // the slot moved already
        _handles[s] = null;
        (_goneAis ??= []).Add(ai);
        if (_refreshing) return;
        _refreshing = true;
        AskForVdev();
        Timers.StartPeriodicTimer(RefreshAgain.Instance, RefreshAgain.Instance, TimeSpan.FromSeconds(1));
    }

    private void AskForVdev() => _ctx.Directory.Tell(new VdcmProtocol.RefreshVdev(_host, _id), Self);

    private void StopAsking()
    {
        _refreshing = false;
        Timers.Cancel(RefreshAgain.Instance);
    }

    /// <summary>The vdev as recomposed: each slot that moved to another AI is programmed again (data, then unmask).</summary>
    private void Refreshed(VdcmProtocol.VdevInfo m)
    {
        // The VDCM has not heard of the removal yet (its notice may wait behind a snapshot): ask again later.
        if (m.Ais.Count != _ais.Length || m.Ais.Any(a => _goneAis!.Contains(a))) return;
        StopAsking();
        for (var s = 0; s < _ais.Length; s++)
        {
            if (m.Ais[s] == _ais[s]) continue;
            Remember(s);
            _ais[s] = m.Ais[s];
            _modes[s] = m.Modes[s];
            _handles[s] = null;
            ProgramVector(s, attempt: 1, Pump);
        }
        Pump();
    }

    /// <summary>Slot <paramref name="s"/> leaves its AI: the vectors it could carry until now stay ours for that AI.</summary>
    private void Remember(int s) =>
        (_formerAis ??= []).Add((_ais[s], s, [_vectors[s], _pendingVectors[s], .. _uncertainVectors[s] ?? [], .. _writing[s] ?? []]));

    /// <summary>The vdev was torn down (no AI was left for it): this container submits nothing more.</summary>
    private void TornDown()
    {
        if (_ais.Length == 0) return;
        StopAsking();
        for (var s = 0; s < _ais.Length; s++) Remember(s);
        _ais = [];
        _ready = false;
        CheckDrained();
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

    private void Interrupt(InterruptDelivered m)
    {
        var metrics = _ctx.Metrics;
        if (m.Seq != 0 && !FirstCopy(m))
        {
            metrics.InterruptDuplicateSuppressed();
            return;
        }
        if (!IsMine(m))
            metrics.InterruptMisdelivered($"{_id} (ASID {_asid}) got vector 0x{m.Vector:X2} with ASID {m.Asid} from {m.Origin} " +
                                          $"(handle {m.Handle}); its AIs {string.Join(", ", _ais)}, vectors {string.Join(", ", _vectors.Select(v => $"0x{v:X2}"))}");
        if (m.Posted)
        {
            var result = _pid.Post(m.Vector, m.Urgent);
            metrics.InterruptPosted(result);
            metrics.Record(RunMetrics.ModeledPostedInterruptNs, m.ModeledNs);
            if (result.Notified() && !_harvestScheduled)
            {
                // The notification interrupts the vCPU; it harvests after what is already queued (so posts coalesce).
                _harvestScheduled = true;
                Self.Tell(Harvest.Instance);
            }
        }
        else
        {
            metrics.InterruptRemappedDelivered();
            metrics.Record(RunMetrics.ModeledRemappedInterruptNs, m.ModeledNs);
        }
    }

    /// <summary>
    /// Reliable delivery (decision 38): acknowledges the interrupt to its AI (every copy, since the acknowledgement of
    /// an earlier one may be what was lost) and tells whether this is its first copy here.
    /// </summary>
    private bool FirstCopy(InterruptDelivered m)
    {
        _ctx.Directory.Tell(new AssignableInterfaceProtocol.InterruptAcked(m.Origin, m.Seq));
        _firstCopies ??= new Dictionary<AiId, Model.Delivery.DuplicateFilter>();
        if (!_firstCopies.TryGetValue(m.Origin, out var filter)) _firstCopies[m.Origin] = filter = new Model.Delivery.DuplicateFilter();
        return filter.FirstCopy(m.Seq, m.Watermark);
    }

    /// <summary>
    /// An interrupt is ours only if one of our AIs raised it, with our ASID, on a vector we programmed. One decided
    /// with a stale entry-cache entry may carry a vector of ours from before a change: ASID and AI still decide.
    /// </summary>
    private bool IsMine(InterruptDelivered m)
    {
        if (m.Asid != _asid) return false;
        for (var i = 0; i < _ais.Length; i++)
            if (_ais[i] == m.Origin && m.Vector != 0
                && (_vectors[i] == m.Vector || _pendingVectors[i] == m.Vector || _uncertainVectors[i]?.Contains(m.Vector) == true
                    || _writing[i]?.Contains(m.Vector) == true
                    || m.Seq != 0 && WasEverOurs(i, m.Vector) || m.Stale))
                return true;
        if (_formerAis is { } former)
            foreach (var (ai, s, vectors) in former)
                if (ai == m.Origin && m.Vector != 0 && (vectors.Contains(m.Vector) || m.Seq != 0 && WasEverOurs(s, m.Vector) || m.Stale))
                    return true;
        return false;
    }

    private void CheckDrained()
    {
        if (_stopping && _outstanding == 0 && _slowInFlight is null && _slowQueue.Count == 0)
        {
            _stopping = false;
            _replyTo.Tell(new ContainerDrained(_id));
        }
    }

    private static long WallMicros(long startTicks) =>
        startTicks == 0 ? 0 : (long)((Stopwatch.GetTimestamp() - startTicks) * 1_000_000.0 / Stopwatch.Frequency);

    private sealed record RetryVector(int Slot, int Attempt, Action Programmed) : INoSerializationVerificationNeeded;

    private sealed class RefreshAgain : INoSerializationVerificationNeeded
    {
        public static readonly RefreshAgain Instance = new();
    }

    private sealed class Harvest : INoSerializationVerificationNeeded
    {
        public static readonly Harvest Instance = new();
    }

    public static Props Props(EmulatorContext ctx, ContainerId id, HostId host) =>
        Akka.Actor.Props.Create(() => new ContainerActor(ctx, id, host));
}

/// <summary>Rejection reasons that are not DSA completion statuses, kept in the same status-indexed ledger.</summary>
public static class RejectCodes
{
    public const byte Retry = 0xF0;
    public const byte Dropped = 0xF1;
    public const byte Ignored = 0xF2;
    /// <summary>The AI stopped with the descriptor in flight (a kill-actor fault): no completion record was written.</summary>
    public const byte Aborted = 0xF3;
    /// <summary>The AI's device was surprise-removed: the portal write ended as an Unsupported Request.</summary>
    public const byte DeviceGone = 0xF4;

    public static string Name(byte code) => code switch
    {
        Retry => "retry",
        Dropped => "dropped",
        Ignored => "ignored",
        Aborted => "aborted",
        DeviceGone => "device-gone",
        _ => "0x" + code.ToString("X2", System.Globalization.CultureInfo.InvariantCulture),
    };
}
