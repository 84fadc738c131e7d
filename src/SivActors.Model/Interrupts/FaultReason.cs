namespace SivActors.Model.Interrupts;

/// <summary>
/// Fault reasons recorded in FRCD.FR (8 bits). VT-d values are from the VT-d spec as transcribed by QEMU and
/// VirtualBox (siov-reference §4.8, §5.2). 0xA0 and 0xA1 are this emulator's codes for the patent's ASID-table
/// steps, which have no VT-d equivalent; they sit in a range VT-d leaves unused (see docs/decisions.md).
/// </summary>
public enum FaultReason : byte
{
    None = 0x00,

    // DMA remapping (legacy-format reasons that scalable mode reuses for second-level permission faults)
    /// <summary>Context entry P=0: no domain for the requester (a request without PASID from a function nobody assigned).</summary>
    DmaContextEntryNotPresent = 0x02,
    DmaAddressBeyondMgaw = 0x04,
    DmaNoWritePermission = 0x05,
    DmaNoReadPermission = 0x06,

    // Interrupt remapping, VT-d §4.8
    InterruptRequestReserved = 0x20,
    InterruptIndexOutOfRange = 0x21,
    IrteNotPresent = 0x22,
    IrteReadFailed = 0x23,
    IrteReserved = 0x24,
    CompatibilityFormatBlocked = 0x25,
    SourceIdVerificationFailed = 0x26,
    PostedDescriptorReadFailed = 0x27,
    PostedDescriptorReserved = 0x28,

    // Scalable-mode DMA remapping
    PasidTableEntryNotPresent = 0x59,
    DmaOutputInInterruptRange = 0x87,

    // The patent's lookup (emulator-defined)
    AsidTableEntryNotPresent = 0xA0,
    AsidMismatch = 0xA1,
}

public static class FaultReasons
{
    /// <summary>
    /// Qualified faults are the ones FPD (fault processing disable) may suppress: they are attributable to one
    /// present entry. VT-d: 0x22, 0x24, 0x26. The patent's ASID mismatch is entry-specific like 0x26, so it is
    /// qualified too.
    /// </summary>
    public static bool IsQualified(FaultReason reason) => reason is FaultReason.IrteNotPresent
        or FaultReason.IrteReserved or FaultReason.SourceIdVerificationFailed or FaultReason.AsidMismatch;

    public static string Describe(FaultReason reason) => reason switch
    {
        FaultReason.None => "no fault",
        FaultReason.DmaContextEntryNotPresent => "context entry not present (P=0): no domain for the requester of a request without PASID",
        FaultReason.DmaAddressBeyondMgaw => "DMA address above the maximum guest address width",
        FaultReason.DmaNoWritePermission => "DMA write to an address that is not mapped writable for this PASID",
        FaultReason.DmaNoReadPermission => "DMA read from an address that is not mapped readable for this PASID",
        FaultReason.InterruptRequestReserved => "reserved field set in the interrupt request (address/data)",
        FaultReason.InterruptIndexOutOfRange => "interrupt index beyond the interrupt table size",
        FaultReason.IrteNotPresent => "interrupt table entry not present (P=0)",
        FaultReason.IrteReadFailed => "interrupt table could not be read",
        FaultReason.IrteReserved => "reserved field set in a present entry, or unsupported mode",
        FaultReason.CompatibilityFormatBlocked => "compatibility-format interrupt blocked",
        FaultReason.SourceIdVerificationFailed => "source-id verification failed (SID/SQ/SVT)",
        FaultReason.PostedDescriptorReadFailed => "posted-interrupt descriptor could not be read",
        FaultReason.PostedDescriptorReserved => "reserved field set in the posted-interrupt descriptor",
        FaultReason.PasidTableEntryNotPresent => "PASID-table entry not present",
        FaultReason.DmaOutputInInterruptRange => "DMA write into the interrupt address range 0xFEE0_0000-0xFEEF_FFFF",
        FaultReason.AsidTableEntryNotPresent => "no ASID-table entry for the message's ASID",
        FaultReason.AsidMismatch => "message ASID differs from the entry's ASID (patent check)",
        _ => "unknown fault reason",
    };

    public static string Hex(FaultReason reason) => "0x" + ((byte)reason).ToString("X2", System.Globalization.CultureInfo.InvariantCulture);
}
