using HdrHistogram;
using SivActors.Model.Device;
using SivActors.Model.Interrupts;
using SivActors.Model.Vdcm;
using SivActors.Model.Workload;

namespace SivActors.Model.Reporting;

/// <summary>
/// One node's counters and latency histograms, written from many actor threads at once, read by the metrics
/// collector and the progress display. Each figure is counted where it happens, independently, so the ledger's
/// balance is a real check. Counters and histograms are kept per thread so that cores do not fight over one
/// cache line on every operation (see <see cref="ThreadCells"/>).
/// </summary>
public sealed class RunMetrics
{
    private const long MaxNs = 60_000_000_000; // 60 s
    private static readonly int Ops = Enum.GetValues<OperationType>().Length;
    private static readonly int Kinds = Enum.GetValues<RogueKind>().Length;

    // Counter indices in the striped bank: scalars first, then the per-code and per-kind ranges.
    private const int DescriptorsSubmitted = 0, DescriptorsCompleted = 1, DescriptorsVerified = 2, VerificationFailures = 3,
        InterruptsRaised_ = 4, RemappedDelivered = 5, Posted = 6, Coalesced = 7, PassedThrough = 8, Lost = 9, Misdelivered = 10,
        Notifications = 11, Harvested = 12, DmaIssued_ = 13, DmaApplied_ = 14, VdcmOnFastPath = 15, FaultsRecorded = 16,
        FaultsDroppedOverflow = 17, FaultsDroppedCompressed = 18, FaultsSuppressedFpd = 19, FaultEvents = 20, IecHits = 21,
        IecMisses = 22, Retries = 23, Outstanding_ = 24, EntityFailures_ = 25, TableWrites_ = 26, TableBatches_ = 27,
        TableWriteFailures_ = 28, OwnerRestarts_ = 29, VdevsRestored_ = 30, OrphansFreed_ = 31, DmaLost_ = 32, RogueLost_ = 33, InjectedWriteFailures_ = 34,
        Retransmitted_ = 35, DuplicatesSuppressed_ = 36, DroppedInTransit_ = 37, IecStaleDelivered_ = 38, IecStaleBlocked_ = 39,
        InterruptsUnaccounted_ = 40, DmaUnaccounted_ = 41, RogueUnaccounted_ = 42, DescriptorsUnaccounted_ = 43, NoisyOperations_ = 44, Scalars = 45;
    private const int DescriptorsRejectedBase = Scalars, InterruptFaultsBase = DescriptorsRejectedBase + 256, DmaFaultsBase = InterruptFaultsBase + 256;
    private static readonly int FastBase = DmaFaultsBase + 256, SlowBase = FastBase + Ops, SlowErrorsBase = SlowBase + Ops,
        RogueForgedBase = SlowErrorsBase + Ops, RogueAsExpectedBase = RogueForgedBase + Kinds, RogueUnexpectedBase = RogueAsExpectedBase + Kinds,
        CounterCount = RogueUnexpectedBase + Kinds;

    /// <summary>Histogram indices.</summary>
    public const int ModeledFastNs = 0, ModeledSlowNs = 1, WallFastUs = 2, WallSlowUs = 3, ModeledRemappedInterruptNs = 4, ModeledPostedInterruptNs = 5,
        ModeledRemappedInvocationNs = 6, ModeledPostedInvocationNs = 7, OthersWallFastBeforeNoiseUs = 8, OthersWallFastDuringNoiseUs = 9,
        TurnWaitUs = 10;

    private const int HistogramCount = 11;

    private readonly ThreadCells _cells = new(CounterCount, Enumerable.Repeat((1L, MaxNs, 3), HistogramCount).ToArray());
    private readonly Counter _c;
    private string? _firstEntityFailure, _firstRogueSurprise, _firstMisdelivery;

    public RunMetrics() => _c = new Counter(_cells);

    /// <summary>Records a latency sample (ns or µs, per histogram) for the calling thread.</summary>
    public void Record(int histogram, long value) => _cells.Mine.Record(histogram, value);

    /// <summary>Every thread's samples of one histogram, added up. Call once the run has drained.</summary>
    public HdrHistogram.HistogramBase Histogram(int histogram) => _cells.Merged(histogram);

    /// <summary>
    /// Everything this node counted, as plain numbers: every counter's sum and every histogram as (value, count)
    /// pairs. Another node's collector <see cref="Import"/>s it to build one report for the cluster.
    /// </summary>
    public MetricsExport Export()
    {
        var counters = new long[CounterCount];
        for (var i = 0; i < counters.Length; i++) counters[i] = _c.Sum(i);
        // Taken while the node works (a node's last report before it is lost), the sums are read one after another.
        // Reading each ledger's first counter again last keeps it at least the sum of what followed from it, so an
        // export never shows more delivered than raised or more applied than issued; the difference is in flight.
        foreach (var upstream in UpstreamCounters) counters[upstream] = _c.Sum(upstream);
        var histograms = new (long Value, long Count)[HistogramCount][];
        for (var h = 0; h < histograms.Length; h++)
            histograms[h] = Histogram(h).RecordedValues().Select(v => (v.ValueIteratedTo, v.CountAtValueIteratedTo)).ToArray();
        return new MetricsExport(counters, histograms, Volatile.Read(ref _firstEntityFailure), Volatile.Read(ref _firstRogueSurprise), Volatile.Read(ref _firstMisdelivery));
    }

    /// <summary>Adds another node's figures to this one's (on the calling thread's cells).</summary>
    public void Import(MetricsExport e)
    {
        if (e.Counters.Length != CounterCount) throw new InvalidDataException($"metrics from another build: {e.Counters.Length} counters, expected {CounterCount}");
        for (var i = 0; i < CounterCount; i++) if (e.Counters[i] != 0) _c.Add(i, e.Counters[i]);
        for (var h = 0; h < e.Histograms.Length && h < HistogramCount; h++)
            foreach (var (value, count) in e.Histograms[h]) _cells.Mine.Record(h, value, count);
        if (e.FirstEntityFailure is { } f) Interlocked.CompareExchange(ref _firstEntityFailure, f, null);
        if (e.FirstRogueSurprise is { } r) Interlocked.CompareExchange(ref _firstRogueSurprise, r, null);
        if (e.FirstMisdelivery is { } d) Interlocked.CompareExchange(ref _firstMisdelivery, d, null);
    }

    /// <summary>The counters each ledger starts from: descriptors submitted, interrupts raised, DMA issued, forgeries.</summary>
    private static readonly int[] UpstreamCounters =
        [DescriptorsSubmitted, InterruptsRaised_, DmaIssued_, .. Enumerable.Range(RogueForgedBase, Kinds)];

    /// <summary>Adds go to the calling thread's cells; sums read every thread's.</summary>
    private readonly struct Counter(ThreadCells cells)
    {
        public void Add(int counter, long delta = 1) => cells.Mine.Counters[counter] += delta;
        public long Sum(int counter) => cells.Sum(counter);
    }

    public long OperationsCompleted => _c.Sum(DescriptorsCompleted) + SlowTotal;

    /// <summary>Operations the noisy neighbour completed (a noisy-neighbour run), fast and slow path alike.</summary>
    public long NoisyOperations => _c.Sum(NoisyOperations_);
    public void NoisyOperation() => _c.Add(NoisyOperations_);

    // Written by the noisy tenant alone (one actor), read by the runner at the window's end.
    private volatile int _noisyPeakInFlight;

    /// <summary>The most descriptors the noisy neighbour had in flight at once: its queue depth times the factor once the noise ran.</summary>
    public int NoisyPeakInFlight => _noisyPeakInFlight;
    public void NoisyInFlight(int descriptors)
    {
        if (descriptors > _noisyPeakInFlight) _noisyPeakInFlight = descriptors;
    }

    // Set by the runner as a noisy-neighbour run moves on; read by every other tenant's completion.
    private volatile int _noisePhase;

    /// <summary>
    /// Where a noisy-neighbour run is: <see cref="NoisePhase.WarmUp"/> (nothing recorded by phase), then
    /// <see cref="NoisePhase.Before"/> and <see cref="NoisePhase.During"/> the noise.
    /// </summary>
    public NoisePhase Noise
    {
        get => (NoisePhase)_noisePhase;
        set => _noisePhase = (int)value;
    }
    public long SlowTotal => Range(SlowBase, Ops).Sum();
    public long InterruptsRaised => _c.Sum(InterruptsRaised_);

    /// <summary>Interrupt and DMA faults decided so far (the timeline's faults per second).</summary>
    public long RemappingFaults => Range(InterruptFaultsBase, FaultCodeCounters).Sum();

    /// <summary>The same count in another node's exported figures.</summary>
    public static long RemappingFaultsIn(MetricsExport e) => e.Counters.Skip(InterruptFaultsBase).Take(FaultCodeCounters).Sum();

    // The interrupt-fault codes, then the DMA-fault codes right after them: one range.
    private const int FaultCodeCounters = DmaFaultsBase + 256 - InterruptFaultsBase;

    public void DescriptorSubmitted() => _c.Add(DescriptorsSubmitted);
    public void DescriptorCompleted(bool verified)
    {
        _c.Add(DescriptorsCompleted);
        _c.Add(verified ? DescriptorsVerified : VerificationFailures);
    }
    public void DescriptorRejected(byte status) => _c.Add(DescriptorsRejectedBase + status);

    /// <summary>A gauge of occupied descriptor slots, kept apart from the counters so the ledger check is not circular.</summary>
    public void OutstandingChanged(int delta) => _c.Add(Outstanding_, delta);
    public long Outstanding => _c.Sum(Outstanding_);
    public void PortalRetry() => _c.Add(Retries);

    public void InterruptRaised() => _c.Add(InterruptsRaised_);
    public void InterruptRemappedDelivered() => _c.Add(RemappedDelivered);
    public void InterruptPosted(PostResult result)
    {
        _c.Add(result.Coalesced() ? Coalesced : Posted);
        if (result.Notified()) _c.Add(Notifications);
    }
    public void InterruptFaulted(FaultReason reason) => _c.Add(InterruptFaultsBase + (byte)reason);
    public void InterruptPassedThrough() => _c.Add(PassedThrough);
    public void InterruptLost(long count = 1) => _c.Add(Lost, count);

    /// <summary>
    /// True in <c>delivery: reliable</c> (decision 38): an interrupt lost on the way is one attempt of several, booked
    /// <see cref="InterruptDroppedInTransit"/>; only an interrupt that no attempt brought to a judge is lost.
    /// </summary>
    public bool ReliableDelivery { get; set; }

    /// <summary>Reliable delivery: an attempt lost in transit; its sender sends the interrupt again.</summary>
    public void InterruptDroppedInTransit() => _c.Add(DroppedInTransit_);

    /// <summary>Reliable delivery: an interrupt sent again because no judge acknowledged it in time.</summary>
    public void InterruptRetransmitted(long count = 1) => _c.Add(Retransmitted_, count);

    /// <summary>Reliable delivery: a second copy of an interrupt that its container already had, not delivered again.</summary>
    public void InterruptDuplicateSuppressed() => _c.Add(DuplicatesSuppressed_);

    /// <summary>
    /// Reliable delivery, at the end of the run: <paramref name="count"/> interrupts that no attempt brought to a judge.
    /// Each one's last attempt moves from the attempts dropped in transit to lost, so the ledger still balances.
    /// </summary>
    public void InterruptsUnrecovered(long count)
    {
        if (count <= 0) return;
        _c.Add(Lost, count);
        _c.Add(DroppedInTransit_, -count);
    }
    /// <summary>An interrupt reached a container that did not expect it; the first one is described for the report.</summary>
    public void InterruptMisdelivered(string what)
    {
        _c.Add(Misdelivered);
        Interlocked.CompareExchange(ref _firstMisdelivery, what, null);
    }
    public void InterruptsHarvested(int vectors) => _c.Add(Harvested, vectors);

    /// <summary>A forged message lost in transit (a drop fault): never judged, and owed to the rogue ledger as lost.</summary>
    public void RogueLostInTransit() => _c.Add(RogueLost_);

    public void DmaIssued(long n = 1) => _c.Add(DmaIssued_, n);
    public void DmaApplied(long n = 1) => _c.Add(DmaApplied_, n);
    public void DmaFaulted(FaultReason reason) => _c.Add(DmaFaultsBase + (byte)reason);

    /// <summary>
    /// For the last report of a node lost mid-run: what it had in flight then is unknown, not lost. Some of it may
    /// have ended after that report, which nobody heard, so it is booked as unaccounted, an upper bound on what the
    /// node lost of what it had reported, and never folded into lost (decision 53). Returns the interrupts booked.
    /// </summary>
    public long BookInFlightAsUnaccounted()
    {
        var m = Snapshot();
        var interrupts = m.InterruptsSent - m.InterruptsEnded;
        if (interrupts > 0) _c.Add(InterruptsUnaccounted_, interrupts);
        var dma = m.DmaIssued - m.DmaEnded;
        if (dma > 0) _c.Add(DmaUnaccounted_, dma);
        var rogue = m.RogueForged.Values.Sum() - m.RogueEnded;
        if (rogue > 0) _c.Add(RogueUnaccounted_, rogue);
        // The node's own in-flight count moves to unaccounted: nobody will complete or reject those descriptors.
        var descriptors = m.DescriptorsSubmitted - (m.DescriptorsCompleted + m.DescriptorsRejected.Values.Sum() + m.DescriptorsUnaccounted);
        _c.Add(Outstanding_, -Outstanding);
        if (descriptors > 0) _c.Add(DescriptorsUnaccounted_, descriptors);
        return Math.Max(0, interrupts);
    }

    public void FastPath(OperationType op) => _c.Add(FastBase + (int)op);
    public void SlowPath(OperationType op, bool failed)
    {
        _c.Add(SlowBase + (int)op);
        if (failed) _c.Add(SlowErrorsBase + (int)op);
    }
    public void VdcmMessageOnFastPath() => _c.Add(VdcmOnFastPath);

    public void RogueForged(RogueKind kind) => _c.Add(RogueForgedBase + (int)kind);
    public void RogueOutcome(RogueKind kind, bool asExpected, string? actual = null)
    {
        _c.Add((asExpected ? RogueAsExpectedBase : RogueUnexpectedBase) + (int)kind);
        // Keep the first surprise, so a violation says what happened instead of only that it did.
        if (!asExpected) Interlocked.CompareExchange(ref _firstRogueSurprise, $"{Camel(kind.ToString())} ended as {actual ?? "a delivery"}", null);
    }

    public string? FirstRogueSurprise => Volatile.Read(ref _firstRogueSurprise);

    public void FaultRecording(RecordResult? result, bool suppressedByFpd)
    {
        if (suppressedByFpd) _c.Add(FaultsSuppressedFpd);
        switch (result)
        {
            case RecordResult.Recorded: _c.Add(FaultsRecorded); break;
            case RecordResult.RecordedWithEvent: _c.Add(FaultsRecorded); _c.Add(FaultEvents); break;
            case RecordResult.DroppedOverflow: _c.Add(FaultsDroppedOverflow); break;
            case RecordResult.DroppedCompressed: _c.Add(FaultsDroppedCompressed); break;
        }
    }

    /// <summary>An entity threw and was restarted by its parent: its in-memory state is gone, so the run is not trustworthy.</summary>
    public void EntityFailed(string what)
    {
        _c.Add(EntityFailures_);
        Interlocked.CompareExchange(ref _firstEntityFailure, what, null);
    }

    public long EntityFailures => _c.Sum(EntityFailures_);

    /// <summary>A table owner made <paramref name="events"/> changes durable in one atomic batch.</summary>
    public void TableBatchDurable(int events)
    {
        _c.Add(TableWrites_, events);
        _c.Add(TableBatches_);
    }

    /// <summary>A table change was answered with an error because its journal write failed or was rejected.</summary>
    /// <param name="injected">The failure was a scheduled journal-fail fault: expected, and kept apart from real failures.</param>
    public void TableWriteFailed(long changes = 1, bool injected = false)
    {
        _c.Add(TableWriteFailures_, changes);
        if (injected) _c.Add(InjectedWriteFailures_, changes);
    }

    /// <summary>A table owner stopped (journal or recovery failure) and its parent restarted it from the journal.</summary>
    public void TableOwnerRestarted() => _c.Add(OwnerRestarts_);

    /// <summary>A VDCM recovered vdevs from the journal and re-established their device state.</summary>
    public void VdevsRestored(int count) => _c.Add(VdevsRestored_, count);

    public long RestoredVdevs => _c.Sum(VdevsRestored_);

    /// <summary>An interrupt entry no vdev held (left by a crash between two owners' writes) was freed on recovery.</summary>
    public void OrphanEntryFreed() => _c.Add(OrphansFreed_);

    public long OrphansFreed => _c.Sum(OrphansFreed_);

    public TablesCounters Tables => new(_c.Sum(TableWrites_), _c.Sum(TableBatches_), _c.Sum(TableWriteFailures_), _c.Sum(OwnerRestarts_), _c.Sum(InjectedWriteFailures_));
    public string? FirstEntityFailure => Volatile.Read(ref _firstEntityFailure);

    public void InterruptEntryCache(bool hit) => _c.Add(hit ? IecHits : IecMisses);

    /// <summary>
    /// An interrupt decided with an IEC entry whose invalidation was late (a stale-iec fault): delivered with it
    /// (use-after-revoke or an old vector, within the entry's own tenant) or blocked (the ASID check refused it).
    /// </summary>
    public void StaleEntryUsed(bool delivered) => _c.Add(delivered ? IecStaleDelivered_ : IecStaleBlocked_);

    /// <summary>A consistent-enough copy of every counter (each read atomically).</summary>
    public MetricsSnapshot Snapshot() => new(
        _c.Sum(DescriptorsSubmitted), _c.Sum(DescriptorsCompleted), _c.Sum(DescriptorsVerified),
        _c.Sum(VerificationFailures), ByCode(DescriptorsRejectedBase), _c.Sum(Retries),
        _c.Sum(InterruptsRaised_), _c.Sum(RemappedDelivered), _c.Sum(Posted), _c.Sum(Coalesced),
        _c.Sum(PassedThrough), ByCode(InterruptFaultsBase), _c.Sum(Lost), _c.Sum(Misdelivered),
        _c.Sum(Notifications), _c.Sum(Harvested),
        _c.Sum(DmaIssued_), _c.Sum(DmaApplied_), ByCode(DmaFaultsBase),
        ByOp(FastBase), ByOp(SlowBase), ByOp(SlowErrorsBase), _c.Sum(VdcmOnFastPath),
        ByKind(RogueForgedBase), ByKind(RogueAsExpectedBase), ByKind(RogueUnexpectedBase),
        _c.Sum(FaultsRecorded), _c.Sum(FaultsDroppedOverflow), _c.Sum(FaultsDroppedCompressed),
        _c.Sum(FaultsSuppressedFpd), _c.Sum(FaultEvents), _c.Sum(IecHits), _c.Sum(IecMisses),
        _c.Sum(EntityFailures_), Volatile.Read(ref _firstEntityFailure), Volatile.Read(ref _firstRogueSurprise), _c.Sum(DmaLost_), _c.Sum(RogueLost_))
        {
            FirstMisdelivery = Volatile.Read(ref _firstMisdelivery),
            InterruptsRetransmitted = _c.Sum(Retransmitted_),
            InterruptDuplicatesSuppressed = _c.Sum(DuplicatesSuppressed_),
            InterruptsDroppedInTransit = _c.Sum(DroppedInTransit_),
            IecStaleDelivered = _c.Sum(IecStaleDelivered_),
            IecStaleBlocked = _c.Sum(IecStaleBlocked_),
            InterruptsUnaccounted = _c.Sum(InterruptsUnaccounted_),
            DmaUnaccounted = _c.Sum(DmaUnaccounted_),
            RogueUnaccounted = _c.Sum(RogueUnaccounted_),
            DescriptorsUnaccounted = _c.Sum(DescriptorsUnaccounted_),
        };

    private IEnumerable<long> Range(int start, int count) => Enumerable.Range(start, count).Select(_c.Sum);

    private Dictionary<string, long> ByCode(int start) => Enumerable.Range(0, 256)
        .Select(i => (Code: i, Count: _c.Sum(start + i)))
        .Where(x => x.Count != 0)
        .ToDictionary(x => "0x" + x.Code.ToString("X2", System.Globalization.CultureInfo.InvariantCulture), x => x.Count);

    private Dictionary<string, long> ByOp(int start) => Enum.GetValues<OperationType>()
        .Select(op => (Op: op, Count: _c.Sum(start + (int)op)))
        .Where(x => x.Count != 0)
        .ToDictionary(x => Camel(x.Op.ToString()), x => x.Count);

    private Dictionary<string, long> ByKind(int start) => Enum.GetValues<RogueKind>()
        .ToDictionary(k => Camel(k.ToString()), k => _c.Sum(start + (int)k));

    public static string Camel(string s) => char.ToLowerInvariant(s[0]) + s[1..];
}

/// <summary>One node's counters (by slot) and histograms (value, count), for merging into a cluster report.</summary>
public sealed record MetricsExport(long[] Counters, (long Value, long Count)[][] Histograms, string? FirstEntityFailure, string? FirstRogueSurprise, string? FirstMisdelivery = null);

/// <summary>Durable table changes, batches, changes refused because the journal failed (of them, by an injected fault), and owner restarts.</summary>
public sealed record TablesCounters(long DurableChanges, long Batches, long WriteFailures, long OwnerRestarts, long InjectedWriteFailures = 0);

/// <summary>Plain numbers; summed across nodes and turned into the report.</summary>
public sealed record MetricsSnapshot(
    long DescriptorsSubmitted, long DescriptorsCompleted, long DescriptorsVerified, long VerificationFailures,
    Dictionary<string, long> DescriptorsRejected, long PortalRetries,
    long InterruptsRaised, long InterruptsRemapped, long InterruptsPosted, long InterruptsCoalesced, long InterruptsPassedThrough,
    Dictionary<string, long> InterruptsFaulted, long InterruptsLost, long InterruptsMisdelivered, long Notifications, long Harvested,
    long DmaIssued, long DmaApplied, Dictionary<string, long> DmaFaulted,
    Dictionary<string, long> FastPath, Dictionary<string, long> SlowPath, Dictionary<string, long> SlowPathErrors, long VdcmMessagesOnFastPath,
    Dictionary<string, long> RogueForged, Dictionary<string, long> RogueAsExpected, Dictionary<string, long> RogueUnexpected,
    long FaultsRecorded, long FaultsDroppedOverflow, long FaultsDroppedCompressed, long FaultsSuppressedFpd, long FaultEvents,
    long IecHits, long IecMisses, long EntityFailures = 0, string? FirstEntityFailure = null, string? FirstRogueSurprise = null, long DmaLost = 0, long RogueLost = 0)
{
    public string? FirstMisdelivery { get; init; }

    /// <summary>Reliable delivery: attempts sent again, second copies suppressed, attempts lost on the way (decision 38).</summary>
    public long InterruptsRetransmitted { get; init; }
    public long InterruptDuplicatesSuppressed { get; init; }
    public long InterruptsDroppedInTransit { get; init; }

    /// <summary>Interrupts decided with a stale IEC entry: delivered with it, or blocked by the ASID check.</summary>
    public long IecStaleDelivered { get; init; }
    public long IecStaleBlocked { get; init; }

    /// <summary>
    /// In flight on a node lost mid-run at its last report, so neither ended nor known to be lost (decision 53):
    /// interrupts, DMA writes, forged messages and descriptors.
    /// </summary>
    public long InterruptsUnaccounted { get; init; }
    public long DmaUnaccounted { get; init; }
    public long RogueUnaccounted { get; init; }
    public long DescriptorsUnaccounted { get; init; }

    /// <summary>Interrupt messages sent: each raised once, plus every retransmission.</summary>
    public long InterruptsSent => InterruptsRaised + InterruptsRetransmitted;

    /// <summary>
    /// Interrupt messages that ended: delivered, coalesced, faulted, passed through, lost, a suppressed duplicate or an
    /// attempt dropped in transit. The ledger balances when this equals <see cref="InterruptsSent"/>.
    /// </summary>
    public long InterruptsEnded => InterruptsRemapped + InterruptsPosted + InterruptsCoalesced + InterruptsFaulted.Values.Sum() + InterruptsLost
                                   + InterruptsPassedThrough + InterruptDuplicatesSuppressed + InterruptsDroppedInTransit + InterruptsUnaccounted;

    /// <summary>DMA writes that ended: applied, faulted, lost, or unaccounted. The DMA ledger balances when this equals the writes issued.</summary>
    public long DmaEnded => DmaApplied + DmaFaulted.Values.Sum() + DmaLost + DmaUnaccounted;

    /// <summary>Forged messages that ended: judged (as expected or not), lost, or unaccounted; each one forged must end.</summary>
    public long RogueEnded => RogueAsExpected.Values.Sum() + RogueUnexpected.Values.Sum() + RogueLost + RogueUnaccounted;
}
