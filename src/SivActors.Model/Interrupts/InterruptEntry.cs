using SivActors.Model.Identity;

namespace SivActors.Model.Interrupts;

/// <summary>IRTE.IM: remapped (IM=0) or posted (IM=1).</summary>
public enum InterruptMode : byte
{
    Remapped = 0,
    Posted = 1,
}

/// <summary>IRTE.SVT: source validation type.</summary>
public enum SourceValidation : byte
{
    None = 0,
    RequesterId = 1,
    BusRange = 2,
    Reserved = 3,
}

/// <summary>
/// An interrupt table entry: the VT-d IRTE fields (siov-reference §4.4-4.5) plus what the patent adds (the
/// owning ASID) and what the emulator needs to route (the target container). For posted entries the
/// posted-descriptor address (PDA) names the target container's descriptor.
/// </summary>
public sealed record InterruptEntry
{
    public bool Present { get; init; } = true;
    public bool FaultProcessingDisable { get; init; }
    public InterruptMode Mode { get; init; }
    public byte Vector { get; init; }

    // Remapped-format fields (IM=0)
    public bool DestinationModeLogical { get; init; }
    public bool RedirectionHint { get; init; }
    public bool TriggerModeLevel { get; init; }
    /// <summary>DLM, bits 7:5 (0 = fixed).</summary>
    public byte DeliveryMode { get; init; }
    public uint Destination { get; init; }

    // Posted-format fields (IM=1)
    public bool Urgent { get; init; }
    /// <summary>Posted-interrupt descriptor address; must be 64-byte aligned and non-zero.</summary>
    public ulong PostedDescriptorAddress { get; init; }

    // Source validation
    public ushort Sid { get; init; }
    /// <summary>SQ, bits 81:80.</summary>
    public byte Sq { get; init; }
    public SourceValidation Svt { get; init; } = SourceValidation.RequesterId;

    /// <summary>Set when software wrote a reserved bit (e.g. IRTE bits 14:12); yields fault 0x24.</summary>
    public bool ReservedBitsSet { get; init; }

    // The patent: the ASID the entry belongs to.
    public Asid Asid { get; init; }

    /// <summary>Where the interrupt goes (the emulator's stand-in for DST/NDST).</summary>
    public ContainerId Target { get; init; }

    /// <summary>
    /// Checks the requester id against SID/SQ/SVT (siov-reference §4.4). SVT=11 is reserved and always fails.
    /// </summary>
    public bool VerifySource(SourceId requester)
    {
        var rid = requester.RequesterId;
        return Svt switch
        {
            SourceValidation.None => true,
            SourceValidation.RequesterId => (rid & SqMask(Sq)) == (Sid & SqMask(Sq)),
            SourceValidation.BusRange => requester.Bus >= (Sid >> 8) && requester.Bus <= (Sid & 0xFF),
            _ => false,
        };
    }

    private static int SqMask(byte sq) => sq switch
    {
        0 => 0xFFFF,
        1 => 0xFFFB,
        2 => 0xFFF9,
        _ => 0xFFF8,
    };
}
