namespace SivActors.Model.Reporting;

/// <summary>One mode's run of a comparison, in the figures `siv compare` sets side by side.</summary>
public sealed record ModeFigures(string Mode, int ContainersServed, int ContainersUnserved, double OpsPerSecond, double InterruptsPerSecond,
    Percentiles ModeledFastNs, Percentiles ModeledSlowNs, Percentiles ModeledRemappedInterruptNs, Percentiles ModeledPostedInterruptNs,
    Percentiles WallFastUs, long ManagedBytesPerContainer, long RogueForged, long RogueContained, long VdcmMessagesOnFastPath, bool InvariantsHold)
{
    /// <summary>The figures of one mode's run, read from its report alone.</summary>
    public static ModeFigures Of(RunReport r) => new(r.Scenario.Mode, r.Scenario.Containers, r.Scenario.Unserved, r.Throughput.OpsPerSecond, r.Throughput.InterruptsPerSecond,
        r.Latency.ModeledNs.Fast, r.Latency.ModeledNs.Slow, r.Latency.ModeledInterruptNs.Remapped, r.Latency.ModeledInterruptNs.Posted,
        r.Latency.WallUs.Fast, r.Memory.ManagedBytesPerContainer, r.Rogue.Forged.Values.Sum(), r.Rogue.FaultedAsExpected.Values.Sum(),
        r.Paths.VdcmMessagesOnFastPath, r.Invariants.Passed)
    {
        InterruptFaults = new SortedDictionary<string, long>(r.Ledger.Interrupts.Faulted, StringComparer.Ordinal),
    };

    /// <summary>
    /// Interrupts blocked, by fault reason: which check contained the forgeries (the ASID check's 0xA1 under SIOV, the
    /// source-id check's 0x26 under SR-IOV, where no interrupt carries an ASID).
    /// </summary>
    public IReadOnlyDictionary<string, long> InterruptFaults { get; init; } = new Dictionary<string, long>();

    /// <summary><see cref="InterruptFaults"/> in one line, reason by reason.</summary>
    public string InterruptFaultsText() => InterruptFaults.Count == 0 ? "none"
        : string.Join(", ", InterruptFaults.Select(kv => string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{kv.Key}: {kv.Value:N0}")));
}

/// <summary>`siv compare`: the same scenario run once per mode, on the same machine, one after another.</summary>
public sealed record CompareReport(string Scenario, string Source, int Seed, double DurationSeconds, IReadOnlyList<ModeFigures> Modes)
{
    /// <summary>Each mode's throughput over the first mode's (the baseline, siov by default).</summary>
    public IReadOnlyList<double> OpsRatioToFirst => Modes.Select(m => Modes[0].OpsPerSecond > 0 ? m.OpsPerSecond / Modes[0].OpsPerSecond : 0).ToList();
}
