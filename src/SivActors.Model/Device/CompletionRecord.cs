using System.Buffers.Binary;
using System.Runtime.InteropServices;

namespace SivActors.Model.Device;

/// <summary>Operation status codes (siov-reference §6.5, Table 5-6), the ones the emulator produces.</summary>
public enum OperationStatus : byte
{
    /// <summary>Hardware never writes 0; software pre-zeroes the record to poll it.</summary>
    NotWritten = 0x00,
    Success = 0x01,
    SuccessFalsePredicate = 0x02,
    UnsupportedOpcode = 0x10,
    InvalidFlags = 0x11,
    InvalidTransferSize = 0x13,
    InvalidCompletionInterruptHandle = 0x19,
    CompletionRecordMisaligned = 0x1B,
    HardwareErrorOnRead = 0x20,
    HardwareErrorOnWrite = 0x21,
}

/// <summary>
/// A 32-byte completion record: 0 status, 1 result, 2 fault info, 4 bytes completed, 8 fault address,
/// 16 CRC value (CRC Generation).
/// </summary>
[StructLayout(LayoutKind.Auto)] // 24 bytes in a DMA write; the 32-byte memory form is WriteTo/ReadFrom's
public readonly record struct CompletionRecord(
    OperationStatus Status,
    byte Result,
    uint BytesCompleted,
    ulong FaultAddress = 0,
    ulong CrcValue = 0)
{
    public const int Size = 32;

    public void WriteTo(Span<byte> buffer)
    {
        buffer[..Size].Clear();
        buffer[0] = (byte)Status;
        buffer[1] = Result;
        BinaryPrimitives.WriteUInt32LittleEndian(buffer[4..], BytesCompleted);
        BinaryPrimitives.WriteUInt64LittleEndian(buffer[8..], FaultAddress);
        BinaryPrimitives.WriteUInt64LittleEndian(buffer[16..], CrcValue);
    }

    public static CompletionRecord ReadFrom(ReadOnlySpan<byte> buffer) => new(
        (OperationStatus)buffer[0],
        buffer[1],
        BinaryPrimitives.ReadUInt32LittleEndian(buffer[4..]),
        BinaryPrimitives.ReadUInt64LittleEndian(buffer[8..]),
        BinaryPrimitives.ReadUInt64LittleEndian(buffer[16..]));
}
