using System.Buffers.Binary;
using System.Runtime.InteropServices;

namespace SivActors.Model.Device;

/// <summary>DSA operation codes (siov-reference §6.3, Table 8-2); the emulator executes the ones named here.</summary>
public enum DsaOpcode : byte
{
    Noop = 0x00,
    Batch = 0x01,
    Drain = 0x02,
    MemoryMove = 0x03,
    Fill = 0x04,
    Compare = 0x05,
    CrcGeneration = 0x10,
}

/// <summary>Descriptor flags (24 bits, siov-reference §6.3).</summary>
[Flags]
public enum DescriptorFlags : uint
{
    None = 0,
    Fence = 1 << 0,
    BlockOnFault = 1 << 1,
    CompletionRecordAddressValid = 1 << 2,
    RequestCompletionRecord = 1 << 3,
    RequestCompletionInterrupt = 1 << 4,
    CheckResult = 1 << 7,
}

/// <summary>
/// A 64-byte DSA work descriptor. Layout: 0 PASID[19:0]/Priv[31]; 4 flags (3 B); 7 opcode; 8 completion record
/// address; 16 source (Fill: pattern); 24 destination (Compare: second source); 32 transfer size;
/// 36 completion interrupt handle; 40 CRC seed (CRC Generation).
/// </summary>
// Auto layout: the runtime orders the fields by size (48 bytes, not 56 with declaration-order padding); every
// portal write carries one. The 64-byte wire and memory form is WriteTo/ReadFrom's, not this struct's.
[StructLayout(LayoutKind.Auto)]
public readonly record struct Descriptor(
    uint Pasid,
    bool Privileged,
    DescriptorFlags Flags,
    DsaOpcode Opcode,
    ulong CompletionRecordAddress,
    ulong Source,
    ulong Destination,
    uint TransferSize,
    ushort CompletionInterruptHandle,
    uint CrcSeed = 0)
{
    public const int Size = 64;

    public bool RequestsInterrupt => (Flags & DescriptorFlags.RequestCompletionInterrupt) != 0;

    /// <summary>Fill writes the 8-byte pattern held in the source-address field.</summary>
    public ulong Pattern => Source;

    public void WriteTo(Span<byte> buffer)
    {
        if (buffer.Length < Size) throw new ArgumentException("a descriptor needs 64 bytes", nameof(buffer));
        buffer[..Size].Clear();
        BinaryPrimitives.WriteUInt32LittleEndian(buffer, (Pasid & 0xFFFFF) | (Privileged ? 1u << 31 : 0));
        var flags = (uint)Flags & 0xFFFFFF;
        buffer[4] = (byte)flags;
        buffer[5] = (byte)(flags >> 8);
        buffer[6] = (byte)(flags >> 16);
        buffer[7] = (byte)Opcode;
        BinaryPrimitives.WriteUInt64LittleEndian(buffer[8..], CompletionRecordAddress);
        BinaryPrimitives.WriteUInt64LittleEndian(buffer[16..], Source);
        BinaryPrimitives.WriteUInt64LittleEndian(buffer[24..], Destination);
        BinaryPrimitives.WriteUInt32LittleEndian(buffer[32..], TransferSize);
        BinaryPrimitives.WriteUInt16LittleEndian(buffer[36..], CompletionInterruptHandle);
        BinaryPrimitives.WriteUInt32LittleEndian(buffer[40..], CrcSeed);
    }

    public static Descriptor ReadFrom(ReadOnlySpan<byte> buffer)
    {
        if (buffer.Length < Size) throw new ArgumentException("a descriptor needs 64 bytes", nameof(buffer));
        var dword0 = BinaryPrimitives.ReadUInt32LittleEndian(buffer);
        return new Descriptor(
            dword0 & 0xFFFFF,
            (dword0 >> 31) != 0,
            (DescriptorFlags)(buffer[4] | (buffer[5] << 8) | (buffer[6] << 16)),
            (DsaOpcode)buffer[7],
            BinaryPrimitives.ReadUInt64LittleEndian(buffer[8..]),
            BinaryPrimitives.ReadUInt64LittleEndian(buffer[16..]),
            BinaryPrimitives.ReadUInt64LittleEndian(buffer[24..]),
            BinaryPrimitives.ReadUInt32LittleEndian(buffer[32..]),
            BinaryPrimitives.ReadUInt16LittleEndian(buffer[36..]),
            BinaryPrimitives.ReadUInt32LittleEndian(buffer[40..]));
    }
}
