namespace SivActors.Model.Interrupts;

/// <summary>An MSI address/data pair decoded per VT-d (siov-reference §4.2).</summary>
public readonly record struct DecodedMsi(
    bool AddressValid,
    bool Remappable,
    ushort Handle,
    bool SubHandleValid,
    ushort SubHandle,
    bool DataReservedSet)
{
    /// <summary>Interrupt table index = Handle + (SHV ? data[15:0] : 0); may exceed 16 bits.</summary>
    public int Index => Handle + (SubHandleValid ? SubHandle : 0);
}

/// <summary>Encoding and decoding of remappable-format MSI: handle in address bits 19:5 and 2, SHV bit 3, format bit 4.</summary>
public static class RemappableMsi
{
    private const ulong FormatBit = 1ul << 4;
    private const ulong ShvBit = 1ul << 3;
    private const ulong Handle15Bit = 1ul << 2;

    public static DecodedMsi Decode(ulong address, uint data)
    {
        // Upper 32 address bits must be zero and bits 31:20 must be 0xFEE.
        var addressValid = (address >> 32) == 0 && ((address >> 20) & 0xFFF) == 0xFEE;
        var remappable = (address & FormatBit) != 0;
        var low15 = (ushort)((address >> 5) & 0x7FFF);
        var handle = (ushort)(low15 | ((address & Handle15Bit) != 0 ? 0x8000 : 0));
        var shv = (address & ShvBit) != 0;
        return new DecodedMsi(addressValid, remappable, handle, shv, (ushort)(data & 0xFFFF), remappable && (data >> 16) != 0);
    }

    public static ulong EncodeAddress(ushort handle, bool subHandleValid = false)
    {
        var address = InterruptWindow.First | FormatBit | ((ulong)(handle & 0x7FFF) << 5);
        if ((handle & 0x8000) != 0) address |= Handle15Bit;
        if (subHandleValid) address |= ShvBit;
        return address;
    }

    /// <summary>A compatibility-format (legacy) MSI to an APIC id with a vector.</summary>
    public static (ulong Address, uint Data) EncodeCompatibility(byte apicId, byte vector) =>
        (InterruptWindow.First | ((ulong)apicId << 12), vector);
}
