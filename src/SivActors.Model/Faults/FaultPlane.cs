using System.Collections.Concurrent;
using System.Diagnostics;

namespace SivActors.Model.Faults;

/// <summary>
/// What one injected fault did, counted where it takes effect (from many threads). The report turns it into a
/// <see cref="Reporting.FaultOutcome"/>.
/// </summary>
public sealed class FaultStats(ScheduledFault fault)
{
    private long _affected, _lost, _refused, _aborted, _crossed, _detectedTicks, _firedTicks, _endedTicks;
    private string? _note;

    public ScheduledFault Fault { get; } = fault;

    /// <summary>Messages dropped, delayed or forged, entities stopped, table writes failed or held: what the fault touched.</summary>
    public long Affected => Interlocked.Read(ref _affected);

    /// <summary>Interrupts (and forged messages) the fault made disappear: the ledger's <c>lost</c> owes these.</summary>
    public long Lost => Interlocked.Read(ref _lost);

    /// <summary>Table changes answered with an error because the fault failed their journal write.</summary>
    public long Refused => Interlocked.Read(ref _refused);

    /// <summary>Descriptors that ended with an abort status because of the fault.</summary>
    public long Aborted => Interlocked.Read(ref _aborted);

    /// <summary>
    /// A drop: the hop's messages that met it while it was in force, dropped or not. Lost over this is the share
    /// the drop really took, without estimating the hop's traffic from the run's average.
    /// </summary>
    public long Crossed => Interlocked.Read(ref _crossed);

    /// <summary>Counts one more message meeting the drop; returns its number (1, 2, ...).</summary>
    public long CrossedOne() => Interlocked.Increment(ref _crossed);

    /// <summary>The fault really took effect: it touched at least one message, write or entity.</summary>
    public bool Injected => Affected > 0;

    public long FiredTicks => Interlocked.Read(ref _firedTicks);

    public long EndedTicks => Interlocked.Read(ref _endedTicks);

    /// <summary>When the fault first had an effect that the emulator observed (0 if it never did).</summary>
    public long DetectedTicks => Interlocked.Read(ref _detectedTicks);

    public string? Note => Volatile.Read(ref _note);

    public void Fired(long ticks) => Interlocked.CompareExchange(ref _firedTicks, ticks, 0);

    public void Ended(long ticks) => Interlocked.CompareExchange(ref _endedTicks, ticks, 0);

    public void Touched(long count = 1)
    {
        Interlocked.Add(ref _affected, count);
        Detected();
    }

    /// <summary>Counts what the fault hit without marking it detected (the effect is seen later, elsewhere).</summary>
    public void Affects(long count) => Interlocked.Add(ref _affected, count);

    public void LostOne(long count = 1) => Interlocked.Add(ref _lost, count);

    public void AbortedDescriptors(long count) => Interlocked.Add(ref _aborted, count);

    public void RefusedChanges(long count) => Interlocked.Add(ref _refused, count);

    public void Detected() => Interlocked.CompareExchange(ref _detectedTicks, Stopwatch.GetTimestamp(), 0);

    /// <summary>What this fault did on this node, for a cluster run's driver to add up (<see cref="Add"/>).</summary>
    public FaultCounts Counts(long windowStartTicks)
    {
        var detected = DetectedTicks;
        return new FaultCounts(Fault.Index, Affected, Lost, Refused, Aborted,
            detected == 0 ? -1 : Math.Max(0, Microseconds.Between(windowStartTicks, detected))) { Crossed = Crossed };
    }

    /// <summary>
    /// Adds what the fault did on another node; its detection time (from that node's window start) counts if it is
    /// earlier than any known here. Windows start within milliseconds of each other across a cluster run's nodes.
    /// </summary>
    public void Add(FaultCounts c, long windowStartTicks)
    {
        Interlocked.Add(ref _affected, c.Affected);
        Interlocked.Add(ref _lost, c.Lost);
        Interlocked.Add(ref _refused, c.Refused);
        Interlocked.Add(ref _aborted, c.Aborted);
        Interlocked.Add(ref _crossed, c.Crossed);
        if (c.DetectedUs < 0) return;
        var ticks = windowStartTicks + Microseconds.AsTicks(c.DetectedUs);
        for (var seen = DetectedTicks; seen == 0 || ticks < seen; seen = DetectedTicks)
            if (Interlocked.CompareExchange(ref _detectedTicks, ticks, seen) == seen) return;
    }

    public void Explain(string note) => Interlocked.CompareExchange(ref _note, note, null);
}

/// <summary>A drop or delay in force on one hop.</summary>
public sealed class HopRule(FaultStats stats, uint seed)
{
    public FaultStats Stats { get; } = stats;

    public ScheduledFault Fault => Stats.Fault;

    /// <summary>Whether the next message of the hop is lost: a fixed hash of (seed, fault, message number), so runs repeat.</summary>
    public bool DropsNext()
    {
        var n = (ulong)Stats.CrossedOne();
        var h = Mix64(((ulong)seed << 32 | (uint)Fault.Index) * 0x9E3779B97F4A7C15UL ^ n);
        return (h >> 11) * (1.0 / (1UL << 53)) < Fault.Probability;
    }

    private static ulong Mix64(ulong x)
    {
        x ^= x >> 30;
        x *= 0xBF58476D1CE4E5B9UL;
        x ^= x >> 27;
        x *= 0x94D049BB133111EBUL;
        return x ^ (x >> 31);
    }
}

/// <summary>What a table owner's journal does while a journal fault is in force.</summary>
public enum JournalCondition
{
    Healthy,
    /// <summary>Writes fail: the owner answers with an error, acknowledges nothing and restarts from the journal.</summary>
    Failing,
    /// <summary>Writes hang: the owner holds the batch (and every answer) until the stall ends.</summary>
    Stalled,
}

/// <summary>
/// What one fault did on one node of a cluster run: counts, and when it was first detected there in microseconds
/// from that node's window start (-1: not there).
/// </summary>
public sealed record FaultCounts(int Fault, long Affected, long Lost, long Refused, long Aborted, long DetectedUs)
{
    public long Crossed { get; init; }
}

/// <summary>
/// The faults in force on one node, read by the hot path. Each check is one volatile read while nothing is in
/// force, so a run without faults pays nothing measurable. Written by the node's fault injector only.
/// </summary>
public sealed class FaultPlane
{
    private readonly HopRule?[] _hops = new HopRule?[Enum.GetValues<Hop>().Length];
    private readonly int[] _held = new int[Enum.GetValues<Hop>().Length];
    private readonly ConcurrentDictionary<(TargetKind Kind, int Host), (JournalCondition Condition, FaultStats Stats)> _journals = new();
    private readonly ConcurrentDictionary<(int Host, int Device, int Ai), (int Burst, FaultStats Stats)> _storms = new();
    private readonly ConcurrentDictionary<int, FaultStats> _staleIec = new();
    private int _rulesArmed, _heldTotal, _journalsArmed, _stormsArmed, _staleIecArmed;

    public FaultPlane(int seed, IReadOnlyList<ScheduledFault> faults)
    {
        Seed = (uint)seed;
        Stats = faults.Select(f => new FaultStats(f)).ToArray();
        _journalFaults = Stats.Where(s => s.Fault.Kind is FaultKind.JournalStall or FaultKind.JournalFail).ToArray();
    }

    private readonly FaultStats[] _journalFaults;

    /// <summary>A plane with nothing scheduled (runs without faults, and tests).</summary>
    public static FaultPlane None => new(0, []);

    public uint Seed { get; }

    public IReadOnlyList<FaultStats> Stats { get; }

    /// <summary>Completed operations over the window, sampled by the injector, read for the report once the run is over.</summary>
    public ThroughputTrace Trace { get; } = new();

    /// <summary>True while some hop has a rule or holds delayed messages: only then is a message classified.</summary>
    public bool HopsArmed => Volatile.Read(ref _rulesArmed) != 0 || Volatile.Read(ref _heldTotal) != 0;

    public HopRule? Rule(Hop hop) => Volatile.Read(ref _hops[(int)hop]);

    /// <summary>Delayed messages of <paramref name="hop"/> not yet released: later ones queue behind them to keep the hop in order.</summary>
    public bool Holding(Hop hop) => Volatile.Read(ref _held[(int)hop]) > 0;

    public void Hold(Hop hop)
    {
        Interlocked.Increment(ref _held[(int)hop]);
        Interlocked.Increment(ref _heldTotal);
    }

    public void Release(Hop hop)
    {
        Interlocked.Decrement(ref _held[(int)hop]);
        Interlocked.Decrement(ref _heldTotal);
    }

    public void StartHop(FaultStats stats)
    {
        var hop = stats.Fault.Hop ?? throw new ArgumentException("not a hop fault", nameof(stats));
        if (Interlocked.Exchange(ref _hops[(int)hop], new HopRule(stats, Seed)) is null) Interlocked.Increment(ref _rulesArmed);
    }

    public void EndHop(FaultStats stats)
    {
        var hop = stats.Fault.Hop!.Value;
        var current = Volatile.Read(ref _hops[(int)hop]);
        // Only its own rule: a later fault on the same hop may have replaced it.
        if (current?.Stats == stats && Interlocked.CompareExchange(ref _hops[(int)hop], null, current) == current)
            Interlocked.Decrement(ref _rulesArmed);
    }

    private readonly ConcurrentDictionary<string, FaultStats> _restarting = new(StringComparer.Ordinal);

    /// <summary>An injected fault stopped the entity; until its successor runs, what it costs is charged to that fault.</summary>
    public void Restarting(string entity, FaultStats stats) => _restarting[entity] = stats;

    /// <summary>The entity's successor runs (or it was never stopped by a fault).</summary>
    public void Restarted(string entity)
    {
        if (!_restarting.IsEmpty) _restarting.TryRemove(entity, out _);
    }

    public FaultStats? RestartedBy(string entity) => _restarting.TryGetValue(entity, out var s) ? s : null;

    public void StartJournal(FaultStats stats, JournalCondition condition)
    {
        var t = stats.Fault.Target!;
        _journals[(t.Kind, t.Host)] = (condition, stats);
        Interlocked.Increment(ref _journalsArmed);
    }

    public void EndJournal(FaultStats stats)
    {
        var t = stats.Fault.Target!;
        if (_journals.TryGetValue((t.Kind, t.Host), out var j) && j.Stats == stats && _journals.TryRemove((t.Kind, t.Host), out _))
            Interlocked.Decrement(ref _journalsArmed);
    }

    /// <summary>The journal condition of a table owner (interrupt unit or VDCM of <paramref name="host"/>).</summary>
    public (JournalCondition Condition, FaultStats? Stats) Journal(TargetKind owner, int host)
    {
        if (Volatile.Read(ref _journalsArmed) == 0) return (JournalCondition.Healthy, null);
        return _journals.TryGetValue((owner, host), out var j) ? j : (JournalCondition.Healthy, null);
    }

    /// <summary>
    /// A journal fault of this owner that began after <paramref name="ticks"/> (in force or over): a write in flight
    /// since then was in the store while the fault lasted, so the fault took it too.
    /// </summary>
    public FaultStats? JournalFaultBeganSince(TargetKind owner, int host, long ticks)
    {
        foreach (var s in _journalFaults)
            if (s.Fault.Target is { } t && t.Kind == owner && t.Host == host && s.FiredTicks > ticks) return s;
        return null;
    }

    /// <summary>A stale-iec fault: the target interrupt unit's entry-cache invalidations are late until it ends.</summary>
    public void StartStaleIec(FaultStats stats)
    {
        _staleIec[stats.Fault.Target!.Index[0]] = stats;
        Interlocked.Increment(ref _staleIecArmed);
    }

    public void EndStaleIec(FaultStats stats)
    {
        if (_staleIec.TryRemove(stats.Fault.Target!.Index[0], out _)) Interlocked.Decrement(ref _staleIecArmed);
    }

    /// <summary>The stale-iec fault in force on host <paramref name="host"/>'s interrupt unit, or null.</summary>
    public FaultStats? StaleIec(int host) =>
        Volatile.Read(ref _staleIecArmed) == 0 ? null : _staleIec.GetValueOrDefault(host);

    public void StartStorm(FaultStats stats)
    {
        var i = stats.Fault.Target!.Index;
        _storms[(i[0], i[1], i[2])] = (stats.Fault.Burst, stats);
        Interlocked.Increment(ref _stormsArmed);
    }

    public void EndStorm(FaultStats stats)
    {
        var i = stats.Fault.Target!.Index;
        if (_storms.TryGetValue((i[0], i[1], i[2]), out var s) && s.Stats == stats && _storms.TryRemove((i[0], i[1], i[2]), out _))
            Interlocked.Decrement(ref _stormsArmed);
    }

    /// <summary>Forged messages the AI sends per completion while a rogue storm floods from it (0 when none).</summary>
    public (int Burst, FaultStats? Stats) Storm(int host, int device, int ai)
    {
        if (Volatile.Read(ref _stormsArmed) == 0) return (0, null);
        return _storms.TryGetValue((host, device, ai), out var s) ? s : (0, null);
    }
}
