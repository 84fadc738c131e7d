using HdrHistogram;
using SivActors.Model.Interrupts;
using SivActors.Model.Workload;

namespace SivActors.Model.Reporting;

public sealed record RunReport(
    ScenarioSummary Scenario,
    ThroughputSection Throughput,
    LedgerSection Ledger,
    PathsSection Paths,
    LatencySection Latency,
    MemorySection Memory,
    RogueSection Rogue,
    FaultLogSection FaultLog,
    CacheSection InterruptEntryCache,
    InvariantsSection Invariants)
{
    /// <summary>Where the remapping tables persist and what this run wrote; null for runs without persistence.</summary>
    public TablesSection? Tables { get; init; }

    /// <summary>
    /// True when a signal (Ctrl-C, SIGTERM) ended the measured window early: the figures cover the part that ran,
    /// drained and balanced like a full run's (decision 40).
    /// </summary>
    public bool Interrupted { get; init; }

    /// <summary>Per-node figures of a cluster run (null on one node).</summary>
    public List<NodeFigures>? Nodes { get; init; }

    /// <summary>Share of entity messages (hops) that arrived from another node, over the whole run (null on one node).</summary>
    public double? CrossNodeHopShare { get; init; }

    /// <summary>Shard moves during the run (a worker left or joined), in order, one line each (null on one node).</summary>
    public IReadOnlyList<string>? Moves { get; init; }

    /// <summary>The scenario's fault timeline, one record per fault, in order (null when it schedules none).</summary>
    public IReadOnlyList<FaultOutcome>? Faults { get; init; }

    /// <summary>The measured window second by second: operations completed, interrupts raised, remapping faults decided.</summary>
    public IReadOnlyList<SivActors.Model.Faults.TimelineSecond>? Timeline { get; init; }

    /// <summary>How evenly the containers were served over the window (null when no container completed anything).</summary>
    public FairnessSection? Fairness { get; init; }

    /// <summary>A noisy-neighbour run: the other tenants before and during the noise (null otherwise).</summary>
    public NoisyNeighbourReport? NoisyNeighbour { get; init; }

    /// <summary>The latency distributions the percentiles above come from, as cumulative curves in µs (the report's charts).</summary>
    public IReadOnlyList<LatencyCurve> LatencyCurves { get; init; } = [];
}

/// <summary>
/// What one cluster node did: operations and interrupts in the measured window, durable table changes, entity
/// failures, messages it sent to entities and messages that reached it from another node.
/// </summary>
public sealed record NodeFigures(string Node, long Operations, long Interrupts, long DurableChanges, long EntityFailures, long Hops, long CrossNodeHops)
{
    /// <summary>The node was lost mid-run: its figures are its last report, what it had in flight is booked as lost.</summary>
    public bool Lost { get; init; }

    /// <summary>The node left gracefully mid-run: the load paused while its shards moved, and these are its final figures.</summary>
    public bool Left { get; init; }
}

/// <summary>
/// The persisted tables: the store, whether this run resumed tables an earlier run left, and the durable writes.
/// <paramref name="WriteFailures"/> are guest requests answered with an error because the journal failed.
/// </summary>
public sealed record TablesSection(string Store, bool Resumed, long DurableChanges, long Batches, long WriteFailures, long OwnerRestarts)
{
    /// <summary>Of <see cref="WriteFailures"/>, those a scheduled journal-fail fault caused.</summary>
    public long InjectedWriteFailures { get; init; }
}

public sealed record ScenarioSummary(string Name, string Source, int Seed, double DurationSeconds, int Hosts, int Devices, int Ais, int Containers, string CompositionPolicy)
{
    /// <summary>The delivery mode the run kept under its faults (docs/faults.md).</summary>
    public string Delivery { get; init; } = "hardware";

    /// <summary>The design emulated: siov, sriov, or emulated (every access trapped; the VDCM is on the fast path by design).</summary>
    public string Mode { get; init; } = "siov";

    /// <summary>
    /// Containers of the scenario that got no vdev: under SR-IOV, those beyond their host's VFs (the device's VF
    /// limit). <see cref="Containers"/> counts the served ones.
    /// </summary>
    public int Unserved { get; init; }

    /// <summary>The served and unserved containers in one phrase, for the console and the page.</summary>
    public string ServedPhrase() => Unserved == 0 ? $"{Containers:N0}"
        : string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{Containers:N0} served, {Unserved:N0} unserved (beyond the VF limit)");
}

public sealed record ThroughputSection(double OpsPerSecond, double InterruptsPerSecond, double WallSeconds, long Operations, long Interrupts)
{
    /// <summary>Of <see cref="WallSeconds"/>, how long the load was paused while shards moved (a node left); counted in the rates.</summary>
    public double PausedSeconds { get; init; }
}

public sealed record LedgerSection(DescriptorLedger Descriptors, InterruptLedger Interrupts, DmaLedger Dma);

public sealed record DescriptorLedger(long Submitted, long Completed, Dictionary<string, long> Rejected, long InFlight, long Verified, long VerificationFailures, bool Balanced)
{
    /// <summary>In flight on a node lost mid-run at its last report: their end is unknown (decision 53).</summary>
    public long Unaccounted { get; init; }
}

public sealed record InterruptLedger(long Raised, long Delivered, long DeliveredRemapped, long DeliveredPosted, long Coalesced,
    Dictionary<string, long> Faulted, long Lost, long Misdelivered, long PassedThrough, long Notifications, long Harvested, bool Balanced)
{
    /// <summary>
    /// Reliable delivery (decision 38): interrupts sent again, second copies a container suppressed, and attempts lost
    /// on the way and recovered. The ledger is then raised + retransmitted = delivered + coalesced + faulted + lost +
    /// duplicatesSuppressed + droppedInTransit; all three are 0 in hardware delivery.
    /// </summary>
    public long Retransmitted { get; init; }
    public long DuplicatesSuppressed { get; init; }
    public long DroppedInTransit { get; init; }

    /// <summary>
    /// In flight on a node lost mid-run at its last report: some may have been delivered after it, some lost, and
    /// nobody can know which; an upper bound on what the lost node lost, never folded into <see cref="Lost"/>
    /// (decision 53). Raised = delivered + coalesced + faulted + lost + unaccounted.
    /// </summary>
    public long Unaccounted { get; init; }
}

/// <summary><paramref name="Lost"/>: DMA in flight on a node that was lost mid-run.</summary>
public sealed record DmaLedger(long Issued, long Applied, Dictionary<string, long> Faulted, bool Balanced, long Lost = 0)
{
    /// <summary>In flight on a node lost mid-run at its last report (decision 53).</summary>
    public long Unaccounted { get; init; }
}

public sealed record PathsSection(Dictionary<string, long> Fast, Dictionary<string, long> Slow, Dictionary<string, long> SlowErrors, long VdcmMessagesOnFastPath);

public sealed record Percentiles(long Count, double P50, double P99, double P999, double Max);

public sealed record PathLatency(Percentiles Fast, Percentiles Slow)
{
    /// <summary>
    /// Wall only: how long a container that wanted to submit waited in its host's line for a turn (decision 70).
    /// The fast and slow figures start at submission, so this is the part of a tenant's time they leave out.
    /// </summary>
    public Percentiles? TurnWait { get; init; }
}

public sealed record InterruptLatency(Percentiles Remapped, Percentiles Posted)
{
    /// <summary>
    /// The interrupt's own part: from the write leaving the AI to the guest (entry lookup, delivery, and for
    /// remapped delivery the VM exit that injects it), without the descriptor before it.
    /// </summary>
    public Percentiles? RemappedInvocation { get; init; }

    public Percentiles? PostedInvocation { get; init; }
}

public sealed record LatencySection(PathLatency ModeledNs, PathLatency WallUs, InterruptLatency ModeledInterruptNs);

public sealed record MemorySection(long PeakWorkingSetBytes, long ManagedBytesPerContainer, long ManagedBytesTotal);

public sealed record RogueSection(Dictionary<string, long> Forged, Dictionary<string, long> FaultedAsExpected, Dictionary<string, long> Unexpected,
    Dictionary<string, string> ExpectedCodes)
{
    /// <summary>Forged messages dropped in transit by a fault: never judged and never delivered.</summary>
    public long Lost { get; init; }

    /// <summary>Forged messages in flight on a node lost mid-run at its last report (decision 53).</summary>
    public long Unaccounted { get; init; }
}

public sealed record FaultLogSection(long Recorded, long DroppedOverflow, long DroppedCompressed, long SuppressedByFpd, long FaultEvents)
{
    /// <summary>A sample of the recorded faults (the first of each reason, then others), each replayable with `siv explain`.</summary>
    public IReadOnlyList<FaultLogSample>? Samples { get; init; }
}

/// <summary>One recorded fault: its code and, in <paramref name="Explain"/>, a `siv explain` document that decides it again.</summary>
public sealed record FaultLogSample(string Code, string Reason, string Source, string Asid, int? Handle, System.Text.Json.Nodes.JsonObject Explain);

public sealed record CacheSection(long Hits, long Misses)
{
    /// <summary>
    /// Interrupts decided with an entry whose invalidation was late (stale-iec, docs/faults.md): delivered with the
    /// stale contents to the entry's own tenant, or blocked because the message's ASID was not the stale entry's.
    /// </summary>
    public long StaleDelivered { get; init; }
    public long StaleBlocked { get; init; }
}

public sealed record InvariantsSection(bool Passed, List<string> Violations);

/// <summary>What the run measured besides the counters.</summary>
public sealed record RunTimings(double WallSeconds, long Operations, long Interrupts);

public static class RunReportBuilder
{
    public static RunReport Build(ScenarioSummary scenario, MetricsSnapshot m, RunMetrics histograms, RunTimings timings,
        MemorySection memory, long descriptorsInFlight, Func<byte, string> rejectName)
    {
        var rejected = m.DescriptorsRejected.ToDictionary(kv => rejectName(Convert.ToByte(kv.Key[2..], 16)), kv => kv.Value);
        var descriptorsBalanced = m.DescriptorsSubmitted == m.DescriptorsCompleted + rejected.Values.Sum() + descriptorsInFlight + m.DescriptorsUnaccounted;
        var faulted = m.InterruptsFaulted;
        var delivered = m.InterruptsRemapped + m.InterruptsPosted;
        var interruptsBalanced = m.InterruptsSent == m.InterruptsEnded;
        var dmaBalanced = m.DmaIssued == m.DmaEnded;

        // Each histogram merged from every thread's cells once: the percentiles and the curves both read it.
        var merged = new Dictionary<int, HistogramBase>();
        HistogramBase H(int histogram) => merged.TryGetValue(histogram, out var h) ? h : merged[histogram] = histograms.Histogram(histogram);

        var violations = new List<string>();
        if (!descriptorsBalanced) violations.Add($"descriptor ledger does not balance: submitted {m.DescriptorsSubmitted} != completed + rejected + in flight");
        if (!interruptsBalanced)
            violations.Add(m.InterruptsRetransmitted + m.InterruptsDroppedInTransit + m.InterruptDuplicatesSuppressed == 0
                ? $"interrupt ledger does not balance: raised {m.InterruptsRaised} != delivered + coalesced + faulted + lost ({m.InterruptsEnded})"
                : $"interrupt ledger does not balance: raised {m.InterruptsRaised} + retransmitted {m.InterruptsRetransmitted} != delivered + coalesced + faulted + lost + duplicates + dropped in transit ({m.InterruptsEnded})");
        if (!dmaBalanced) violations.Add($"DMA ledger does not balance: issued {m.DmaIssued} != applied {m.DmaApplied} + faulted {m.DmaFaulted.Values.Sum()} + lost {m.DmaLost} + unaccounted {m.DmaUnaccounted}");
        if (m.InterruptsMisdelivered != 0) violations.Add($"{m.InterruptsMisdelivered} interrupt(s) misdelivered; first: {m.FirstMisdelivery}");
        if (m.VdcmMessagesOnFastPath != 0 && scenario.Mode != "emulated") violations.Add($"the VDCM received {m.VdcmMessagesOnFastPath} fast-path message(s)");
        if (m.EntityFailures != 0) violations.Add($"{m.EntityFailures} entity failure(s) (state lost on restart); first: {m.FirstEntityFailure}");
        if (m.VerificationFailures != 0) violations.Add($"{m.VerificationFailures} completion(s) failed data verification");
        var unexpected = m.RogueUnexpected.Values.Sum();
        if (unexpected != 0) violations.Add($"{unexpected} rogue message(s) not faulted with their expected code; first: {m.FirstRogueSurprise}");
        if (m.RogueEnded != m.RogueForged.Values.Sum())
            violations.Add($"{m.RogueForged.Values.Sum() - m.RogueEnded} rogue message(s) never reached a decision");

        return new RunReport(
            scenario,
            new ThroughputSection(timings.Operations / timings.WallSeconds, timings.Interrupts / timings.WallSeconds, timings.WallSeconds, timings.Operations, timings.Interrupts),
            new LedgerSection(
                new DescriptorLedger(m.DescriptorsSubmitted, m.DescriptorsCompleted, rejected, descriptorsInFlight, m.DescriptorsVerified, m.VerificationFailures, descriptorsBalanced)
                    { Unaccounted = m.DescriptorsUnaccounted },
                new InterruptLedger(m.InterruptsRaised, delivered, m.InterruptsRemapped, m.InterruptsPosted, m.InterruptsCoalesced, faulted,
                    m.InterruptsLost, m.InterruptsMisdelivered, m.InterruptsPassedThrough, m.Notifications, m.Harvested, interruptsBalanced)
                {
                    Retransmitted = m.InterruptsRetransmitted,
                    DuplicatesSuppressed = m.InterruptDuplicatesSuppressed,
                    DroppedInTransit = m.InterruptsDroppedInTransit,
                    Unaccounted = m.InterruptsUnaccounted,
                },
                new DmaLedger(m.DmaIssued, m.DmaApplied, m.DmaFaulted, dmaBalanced, m.DmaLost) { Unaccounted = m.DmaUnaccounted }),
            new PathsSection(m.FastPath, m.SlowPath, m.SlowPathErrors, m.VdcmMessagesOnFastPath),
            new LatencySection(
                new PathLatency(Of(H(RunMetrics.ModeledFastNs)), Of(H(RunMetrics.ModeledSlowNs))),
                new PathLatency(Of(H(RunMetrics.WallFastUs)), Of(H(RunMetrics.WallSlowUs))) { TurnWait = Of(H(RunMetrics.TurnWaitUs)) },
                new InterruptLatency(Of(H(RunMetrics.ModeledRemappedInterruptNs)), Of(H(RunMetrics.ModeledPostedInterruptNs)))
                {
                    RemappedInvocation = Of(H(RunMetrics.ModeledRemappedInvocationNs)),
                    PostedInvocation = Of(H(RunMetrics.ModeledPostedInvocationNs)),
                }),
            memory,
            new RogueSection(m.RogueForged, m.RogueAsExpected, m.RogueUnexpected, ExpectedCodes()) { Lost = m.RogueLost, Unaccounted = m.RogueUnaccounted },
            new FaultLogSection(m.FaultsRecorded, m.FaultsDroppedOverflow, m.FaultsDroppedCompressed, m.FaultsSuppressedFpd, m.FaultEvents),
            new CacheSection(m.IecHits, m.IecMisses) { StaleDelivered = m.IecStaleDelivered, StaleBlocked = m.IecStaleBlocked },
            new InvariantsSection(violations.Count == 0, violations))
        {
            LatencyCurves = new[]
            {
                LatencyCurve.Of("fast path", "modeled", H(RunMetrics.ModeledFastNs), 1000),
                LatencyCurve.Of("slow path", "modeled", H(RunMetrics.ModeledSlowNs), 1000),
                LatencyCurve.Of("remapped interrupt", "modeled", H(RunMetrics.ModeledRemappedInterruptNs), 1000),
                LatencyCurve.Of("posted interrupt", "modeled", H(RunMetrics.ModeledPostedInterruptNs), 1000),
                LatencyCurve.Of("fast path", "wall", H(RunMetrics.WallFastUs), 1),
                LatencyCurve.Of("slow path", "wall", H(RunMetrics.WallSlowUs), 1),
            }.OfType<LatencyCurve>().ToArray(),
        };
    }

    public static Percentiles Of(HistogramBase h)
    {
        if (h.TotalCount == 0) return new Percentiles(0, 0, 0, 0, 0);
        return new Percentiles(h.TotalCount, h.GetValueAtPercentile(50), h.GetValueAtPercentile(99), h.GetValueAtPercentile(99.9), h.GetMaxValue());
    }

    /// <summary>The code(s) each rogue kind must end in, as <see cref="RogueForger"/> builds them.</summary>
    public static Dictionary<string, string> ExpectedCodes() => new()
    {
        [RunMetrics.Camel(nameof(RogueKind.WrongAsid))] = $"{FaultReasons.Hex(FaultReason.AsidMismatch)} (a table peer's ASID), or {FaultReasons.Hex(FaultReason.AsidTableEntryNotPresent)} when the table has no peer; {FaultReasons.Hex(FaultReason.IrteNotPresent)} if its own vdev reset meanwhile",
        [RunMetrics.Camel(nameof(RogueKind.ForeignHandle))] = $"{FaultReasons.Hex(FaultReason.AsidMismatch)} (peer on the same device) or {FaultReasons.Hex(FaultReason.SourceIdVerificationFailed)} (another device); {FaultReasons.Hex(FaultReason.IrteNotPresent)} if the peer reset meanwhile",
        [RunMetrics.Camel(nameof(RogueKind.OutOfRangeHandle))] = FaultReasons.Hex(FaultReason.InterruptIndexOutOfRange),
        [RunMetrics.Camel(nameof(RogueKind.DmaIntoInterruptWindow))] = FaultReasons.Hex(FaultReason.DmaOutputInInterruptRange),
        [RunMetrics.Camel(nameof(RogueKind.DmaUnmapped))] = FaultReasons.Hex(FaultReason.DmaNoWritePermission),
        [RunMetrics.Camel(nameof(RogueKind.StaleHandleAfterReset))] = FaultReasons.Hex(FaultReason.IrteNotPresent),
    };
}

/// <summary>
/// One injected fault: when it was scheduled and fired, whether it took effect, when its effect was first seen,
/// when throughput was back to 80% of its level before it, and what it cost. <paramref name="Affected"/> counts what
/// the fault touched (messages dropped or delayed, entities stopped, writes failed or held, messages forged);
/// <paramref name="Lost"/> the interrupts it made disappear (part of the ledger's lost); <paramref name="Refused"/>
/// table changes answered with an error because their journal write failed.
/// </summary>
public sealed record FaultOutcome(string Kind, string Target, double AtS, double? ForS, bool Injected, double? FiredAtS, double? DetectedAtS,
    double? RecoveredAtS, long Affected, long Lost, long Refused)
{
    /// <summary>Descriptors that ended with an abort status because of the fault (an AI stopped with them in flight).</summary>
    public long OpsAborted { get; init; }

    /// <summary>A drop: the hop's messages that met it while it was in force (<see cref="Affected"/> of them were dropped).</summary>
    public long Crossed { get; init; }

    /// <summary>Operations per second while the fault was in force, over the rate before it (windowed faults).</summary>
    public double? ThroughputRatioDuring { get; init; }

    public string? Note { get; init; }
}
