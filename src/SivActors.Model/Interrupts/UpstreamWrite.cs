using System.Runtime.InteropServices;
using SivActors.Model.Identity;

namespace SivActors.Model.Interrupts;

/// <summary>The patent's explicit flag: what the AI says the write is.</summary>
public enum UpstreamKind : byte
{
    Dma = 0,
    Interrupt = 1,
}

/// <summary>
/// One upstream memory write from an AI, as the IOMMU sees it: requester id, ASID (PASID), the interrupt-or-DMA
/// flag, and the address/data. DMA payload bytes travel beside it in the actor message.
/// </summary>
[StructLayout(LayoutKind.Auto)] // 24 bytes, not 32: every interrupt message carries one
public readonly record struct UpstreamWrite(SourceId Source, Asid Asid, UpstreamKind Kind, ulong Address, uint Data)
{
    public static UpstreamWrite Interrupt(SourceId source, Asid asid, ulong address, uint data) =>
        new(source, asid, UpstreamKind.Interrupt, address, data);

    public static UpstreamWrite Dma(SourceId source, Asid asid, ulong address) =>
        new(source, asid, UpstreamKind.Dma, address, 0);
}

/// <summary>Interrupt address window: DWORD writes to 0xFEE0_0000-0xFEEF_FFFF are interrupt requests (VT-d).</summary>
public static class InterruptWindow
{
    public const ulong First = 0xFEE0_0000;
    public const ulong Last = 0xFEEF_FFFF;

    public static bool Contains(ulong address) => address is >= First and <= Last;

    public static bool Overlaps(ulong address, ulong length) =>
        length > 0 && address <= Last && address + length - 1 >= First;
}
