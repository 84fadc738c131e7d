using SivActors.Model.Identity;

namespace SivActors.Model.Interrupts;

/// <summary>Global interrupt-remapping state: GSTS/IRTA/CAP bits that change how requests are processed.</summary>
public sealed record RemappingSettings
{
    /// <summary>GSTS.IRES: interrupt remapping enabled. When off every interrupt passes through unremapped.</summary>
    public bool RemappingEnabled { get; init; } = true;
    /// <summary>IRTA.EIME: extended (x2APIC) interrupt mode; blocks compatibility-format interrupts.</summary>
    public bool ExtendedInterruptMode { get; init; } = true;
    /// <summary>GSTS.CFIS: compatibility-format interrupts allowed (only honoured when EIME=0).</summary>
    public bool CompatibilityFormatAllowed { get; init; }
    /// <summary>CAP.PI: posted interrupts supported. Without it a posted entry is a reserved-field fault (0x24).</summary>
    public bool PostingSupported { get; init; } = true;
    /// <summary>The patent's ASID equality check. Disabling it shows what it protects against.</summary>
    public bool AsidCheck { get; init; } = true;
}

public enum InterruptOutcome : byte
{
    /// <summary>IM=0: remapped and delivered to the target.</summary>
    Delivered,
    /// <summary>IM=1: posted into the target's posted-interrupt descriptor.</summary>
    Posted,
    /// <summary>Blocked with a fault reason; never delivered.</summary>
    Blocked,
    /// <summary>Remapping disabled or compatibility format allowed: not remapped, not for any container.</summary>
    PassedThrough,
}

public readonly record struct InterruptDecision(
    InterruptOutcome Outcome,
    FaultReason Fault,
    bool Recordable,
    int Index,
    InterruptEntry? Entry,
    InterruptTable? Table)
{
    public bool IsFault => Outcome == InterruptOutcome.Blocked;
}

/// <summary>One step of the decision, for `siv irq explain`.</summary>
public sealed record TrailStep(string Step, bool Passed, string Detail);

/// <summary>
/// The interrupt managing unit's decision, in VT-d order (siov-reference §4.7, §11.2) with the patent's lookup and
/// ASID check inserted where the entry becomes known. Pure: no side effects; fault recording is separate.
/// </summary>
/// <summary>How the interrupt unit reads an entry once the table and index are known (its entry cache).</summary>
public interface IEntryFetch
{
    InterruptEntry? Fetch(InterruptTable table, int index);
}

public static class InterruptRemapper
{
    public static InterruptDecision Process(
        RemappingSettings settings, AsidTable asidTable, in UpstreamWrite message, List<TrailStep>? trail = null, IEntryFetch? fetch = null)
    {
        if (message.Kind != UpstreamKind.Interrupt)
            throw new ArgumentException("the interrupt unit only processes interrupt-flagged writes", nameof(message));

        var msi = RemappableMsi.Decode(message.Address, message.Data);
        if (!msi.AddressValid)
            return Fault(trail, "address", FaultReason.InterruptRequestReserved, -1, null, null,
                $"address 0x{message.Address:X} is outside 0xFEE0_0000-0xFEEF_FFFF or has upper bits set");
        trail?.Add(new TrailStep("address", true, $"0x{message.Address:X} is in the interrupt window"));

        if (!settings.RemappingEnabled)
            return PassThrough(trail, "interrupt remapping disabled (GSTS.IRES=0): passed through unremapped");

        if (!msi.Remappable)
        {
            if (settings.ExtendedInterruptMode || !settings.CompatibilityFormatAllowed)
                return Fault(trail, "format", FaultReason.CompatibilityFormatBlocked, -1, null, null,
                    "compatibility format (address bit 4 = 0) is blocked (EIME=1 or CFIS=0)");
            return PassThrough(trail, "compatibility format allowed (EIME=0, CFIS=1): passed through");
        }
        if (msi.DataReservedSet)
            return Fault(trail, "format", FaultReason.InterruptRequestReserved, -1, null, null,
                $"data bits 31:16 are not zero (data 0x{message.Data:X8})");
        trail?.Add(new TrailStep("format", true, $"remappable: handle {msi.Handle}, SHV={(msi.SubHandleValid ? 1 : 0)}, subhandle {msi.SubHandle}"));

        var table = asidTable.Lookup(message.Asid);
        if (table is null)
            return Fault(trail, "asid-table", FaultReason.AsidTableEntryNotPresent, msi.Index, null, null,
                $"no ASID-table entry for ASID {message.Asid}");
        trail?.Add(new TrailStep("asid-table", true, $"ASID {message.Asid} -> interrupt table {table.Id} ({table.Size} entries)"));

        var index = msi.Index;
        if (index >= table.Size)
            return Fault(trail, "index", FaultReason.InterruptIndexOutOfRange, index, null, table,
                $"index {index} >= table size {table.Size}");
        trail?.Add(new TrailStep("index", true, $"index {index} < {table.Size}"));

        if (!table.Readable)
            return Fault(trail, "fetch", FaultReason.IrteReadFailed, index, null, table, $"interrupt table {table.Id} cannot be read");

        // The entry as the unit reads it: through its entry cache when it has one (which may hold stale contents).
        var entry = fetch is null ? table.Get(index) : fetch.Fetch(table, index);
        if (entry is null || !entry.Present)
            return Fault(trail, "present", FaultReason.IrteNotPresent, index, entry, table, $"entry {index} has P=0");
        trail?.Add(new TrailStep("present", true, $"entry {index} present, FPD={(entry.FaultProcessingDisable ? 1 : 0)}"));

        if (entry.ReservedBitsSet || (entry.Mode == InterruptMode.Posted && !settings.PostingSupported))
            return Fault(trail, "reserved", FaultReason.IrteReserved, index, entry, table,
                entry.ReservedBitsSet ? "reserved bits set in the entry" : "posted entry but CAP.PI=0");
        trail?.Add(new TrailStep("reserved", true, "no reserved bits set"));

        if (!entry.VerifySource(message.Source))
            return Fault(trail, "source-id", FaultReason.SourceIdVerificationFailed, index, entry, table,
                $"requester {message.Source} fails SVT={(int)entry.Svt} SQ={entry.Sq} SID={SourceId.FromRequesterId(entry.Sid)}");
        trail?.Add(new TrailStep("source-id", true, $"requester {message.Source} verified (SVT={(int)entry.Svt})"));

        if (settings.AsidCheck)
        {
            if (entry.Asid != message.Asid)
                return Fault(trail, "asid-match", FaultReason.AsidMismatch, index, entry, table,
                    $"message ASID {message.Asid} != entry ASID {entry.Asid}");
            trail?.Add(new TrailStep("asid-match", true, $"message ASID equals entry ASID {entry.Asid}"));
        }

        if (entry.Mode == InterruptMode.Posted)
        {
            if (entry.PostedDescriptorAddress == 0)
                return Fault(trail, "posted-descriptor", FaultReason.PostedDescriptorReadFailed, index, entry, table,
                    "posted-descriptor address is 0");
            if ((entry.PostedDescriptorAddress & 0x3F) != 0)
                return Fault(trail, "posted-descriptor", FaultReason.PostedDescriptorReserved, index, entry, table,
                    $"posted-descriptor address 0x{entry.PostedDescriptorAddress:X} is not 64-byte aligned");
            trail?.Add(new TrailStep("posted-descriptor", true, $"post vector {entry.Vector} to {entry.Target}{(entry.Urgent ? " (urgent)" : "")}"));
            return new InterruptDecision(InterruptOutcome.Posted, FaultReason.None, false, index, entry, table);
        }

        trail?.Add(new TrailStep("deliver", true, $"remapped vector {entry.Vector} to {entry.Target} (destination 0x{entry.Destination:X})"));
        return new InterruptDecision(InterruptOutcome.Delivered, FaultReason.None, false, index, entry, table);
    }

    private static InterruptDecision Fault(
        List<TrailStep>? trail, string step, FaultReason reason, int index, InterruptEntry? entry, InterruptTable? table, string detail)
    {
        // FPD suppresses recording of qualified faults only; the interrupt is blocked either way.
        var suppressed = entry is { FaultProcessingDisable: true } && FaultReasons.IsQualified(reason);
        trail?.Add(new TrailStep(step, false, $"{detail} -> fault {FaultReasons.Hex(reason)}{(suppressed ? " (not recorded: FPD=1)" : "")}"));
        return new InterruptDecision(InterruptOutcome.Blocked, reason, !suppressed, index, entry, table);
    }

    private static InterruptDecision PassThrough(List<TrailStep>? trail, string detail)
    {
        trail?.Add(new TrailStep("pass-through", true, detail));
        return new InterruptDecision(InterruptOutcome.PassedThrough, FaultReason.None, false, -1, null, null);
    }

}
