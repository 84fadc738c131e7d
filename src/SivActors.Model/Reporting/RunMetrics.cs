using HdrHistogram;
using SivActors.Model.Device;
using SivActors.Model.Interrupts;
using SivActors.Model.Vdcm;
using SivActors.Model.Workload;

namespace SivActors.Model.Reporting;

/// <summary>
/// One node's counters and latency histograms, written from many actor threads at once (Interlocked and
/// concurrent HdrHistograms), read by the metrics collector and the progress display. Each figure is counted
/// where it happens, independently, so the ledger's balance is a real check.
/// </summary>
public sealed class RunMetrics
{
    private const long MaxNs = 60_000_000_000; // 60 s

    private long _descriptorsSubmitted, _descriptorsCompleted, _descriptorsVerified, _verificationFailures;
    private readonly long[] _descriptorsRejected = new long[256];
    private long _interruptsRaised, _remappedDelivered, _posted, _coalesced, _passedThrough, _lost, _misdelivered, _notifications, _harvested;
    private readonly long[] _interruptFaults = new long[256];
    private long _dmaIssued, _dmaApplied;
    private readonly long[] _dmaFaults = new long[256];
    private readonly long[] _fast = new long[Enum.GetValues<OperationType>().Length];
    private readonly long[] _slow = new long[Enum.GetValues<OperationType>().Length];
    private readonly long[] _slowErrors = new long[Enum.GetValues<OperationType>().Length];
    private long _vdcmOnFastPath;
    private readonly long[] _rogueForged = new long[Enum.GetValues<RogueKind>().Length];
    private readonly long[] _rogueAsExpected = new long[Enum.GetValues<RogueKind>().Length];
    private readonly long[] _rogueUnexpected = new long[Enum.GetValues<RogueKind>().Length];
    private long _faultsRecorded, _faultsDroppedOverflow, _faultsDroppedCompressed, _faultsSuppressedFpd, _faultEvents;
    private long _iecHits, _iecMisses, _retries, _outstanding;

    public LongConcurrentHistogram ModeledFastNs { get; } = New();
    public LongConcurrentHistogram ModeledSlowNs { get; } = New();
    public LongConcurrentHistogram WallFastUs { get; } = New();
    public LongConcurrentHistogram WallSlowUs { get; } = New();
    public LongConcurrentHistogram ModeledRemappedInterruptNs { get; } = New();
    public LongConcurrentHistogram ModeledPostedInterruptNs { get; } = New();

    private static LongConcurrentHistogram New() => new(1, MaxNs, 3);

    public long OperationsCompleted => Volatile.Read(ref _descriptorsCompleted) + SlowTotal;
    public long SlowTotal => _slow.Sum();
    public long InterruptsRaised => Volatile.Read(ref _interruptsRaised);

    public void DescriptorSubmitted() => Interlocked.Increment(ref _descriptorsSubmitted);
    public void DescriptorCompleted(bool verified)
    {
        Interlocked.Increment(ref _descriptorsCompleted);
        if (verified) Interlocked.Increment(ref _descriptorsVerified);
        else Interlocked.Increment(ref _verificationFailures);
    }
    public void DescriptorRejected(byte status) => Interlocked.Increment(ref _descriptorsRejected[status]);

    /// <summary>A gauge of occupied descriptor slots, kept apart from the counters so the ledger check is not circular.</summary>
    public void OutstandingChanged(int delta) => Interlocked.Add(ref _outstanding, delta);
    public long Outstanding => Volatile.Read(ref _outstanding);
    public void PortalRetry() => Interlocked.Increment(ref _retries);

    public void InterruptRaised() => Interlocked.Increment(ref _interruptsRaised);
    public void InterruptRemappedDelivered() => Interlocked.Increment(ref _remappedDelivered);
    public void InterruptPosted(PostResult result)
    {
        if (result == PostResult.Coalesced) Interlocked.Increment(ref _coalesced);
        else Interlocked.Increment(ref _posted);
        if (result == PostResult.RecordedAndNotified) Interlocked.Increment(ref _notifications);
    }
    public void InterruptFaulted(FaultReason reason) => Interlocked.Increment(ref _interruptFaults[(byte)reason]);
    public void InterruptPassedThrough() => Interlocked.Increment(ref _passedThrough);
    public void InterruptLost(long count = 1) => Interlocked.Add(ref _lost, count);
    public void InterruptMisdelivered() => Interlocked.Increment(ref _misdelivered);
    public void InterruptsHarvested(int vectors) => Interlocked.Add(ref _harvested, vectors);

    public void DmaIssued(long n = 1) => Interlocked.Add(ref _dmaIssued, n);
    public void DmaApplied(long n = 1) => Interlocked.Add(ref _dmaApplied, n);
    public void DmaFaulted(FaultReason reason) => Interlocked.Increment(ref _dmaFaults[(byte)reason]);

    public void FastPath(OperationType op) => Interlocked.Increment(ref _fast[(int)op]);
    public void SlowPath(OperationType op, bool failed)
    {
        Interlocked.Increment(ref _slow[(int)op]);
        if (failed) Interlocked.Increment(ref _slowErrors[(int)op]);
    }
    public void VdcmMessageOnFastPath() => Interlocked.Increment(ref _vdcmOnFastPath);

    public void RogueForged(RogueKind kind) => Interlocked.Increment(ref _rogueForged[(int)kind]);
    public void RogueOutcome(RogueKind kind, bool asExpected) =>
        Interlocked.Increment(ref (asExpected ? ref _rogueAsExpected[(int)kind] : ref _rogueUnexpected[(int)kind]));

    public void FaultRecording(RecordResult? result, bool suppressedByFpd)
    {
        if (suppressedByFpd) Interlocked.Increment(ref _faultsSuppressedFpd);
        switch (result)
        {
            case RecordResult.Recorded: Interlocked.Increment(ref _faultsRecorded); break;
            case RecordResult.RecordedWithEvent: Interlocked.Increment(ref _faultsRecorded); Interlocked.Increment(ref _faultEvents); break;
            case RecordResult.DroppedOverflow: Interlocked.Increment(ref _faultsDroppedOverflow); break;
            case RecordResult.DroppedCompressed: Interlocked.Increment(ref _faultsDroppedCompressed); break;
        }
    }
    public void InterruptEntryCache(bool hit) => Interlocked.Increment(ref hit ? ref _iecHits : ref _iecMisses);

    /// <summary>A consistent-enough copy of every counter (each read atomically).</summary>
    public MetricsSnapshot Snapshot() => new(
        Volatile.Read(ref _descriptorsSubmitted), Volatile.Read(ref _descriptorsCompleted), Volatile.Read(ref _descriptorsVerified),
        Volatile.Read(ref _verificationFailures), ByCode(_descriptorsRejected), Volatile.Read(ref _retries),
        Volatile.Read(ref _interruptsRaised), Volatile.Read(ref _remappedDelivered), Volatile.Read(ref _posted), Volatile.Read(ref _coalesced),
        Volatile.Read(ref _passedThrough), ByCode(_interruptFaults), Volatile.Read(ref _lost), Volatile.Read(ref _misdelivered),
        Volatile.Read(ref _notifications), Volatile.Read(ref _harvested),
        Volatile.Read(ref _dmaIssued), Volatile.Read(ref _dmaApplied), ByCode(_dmaFaults),
        ByOp(_fast), ByOp(_slow), ByOp(_slowErrors), Volatile.Read(ref _vdcmOnFastPath),
        ByKind(_rogueForged), ByKind(_rogueAsExpected), ByKind(_rogueUnexpected),
        Volatile.Read(ref _faultsRecorded), Volatile.Read(ref _faultsDroppedOverflow), Volatile.Read(ref _faultsDroppedCompressed),
        Volatile.Read(ref _faultsSuppressedFpd), Volatile.Read(ref _faultEvents), Volatile.Read(ref _iecHits), Volatile.Read(ref _iecMisses));

    private static Dictionary<string, long> ByCode(long[] counts) => Enumerable.Range(0, 256)
        .Where(i => Volatile.Read(ref counts[i]) != 0)
        .ToDictionary(i => "0x" + i.ToString("X2", System.Globalization.CultureInfo.InvariantCulture), i => Volatile.Read(ref counts[i]));

    private static Dictionary<string, long> ByOp(long[] counts) => Enum.GetValues<OperationType>()
        .Where(op => Volatile.Read(ref counts[(int)op]) != 0)
        .ToDictionary(op => Camel(op.ToString()), op => Volatile.Read(ref counts[(int)op]));

    private static Dictionary<string, long> ByKind(long[] counts) => Enum.GetValues<RogueKind>()
        .ToDictionary(k => Camel(k.ToString()), k => Volatile.Read(ref counts[(int)k]));

    public static string Camel(string s) => char.ToLowerInvariant(s[0]) + s[1..];
}

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
    long IecHits, long IecMisses);
