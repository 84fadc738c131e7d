using System.Buffers.Binary;
using System.Numerics;

namespace SivActors.Model.Device;

/// <summary>Which operands of a descriptor the device must read and write by DMA.</summary>
public readonly record struct OperandPlan(bool ReadsSource, bool ReadsSecondSource, bool WritesDestination);

/// <summary>
/// The device's engine: validates a descriptor and executes it over operand bytes fetched by DMA. Memory move,
/// fill, compare and CRC-32C generation (polynomial 0x11EDC6F41, siov-reference §6.3) are executed; the rest are
/// reported as unsupported (0x10).
/// </summary>
public static class DsaEngine
{
    public const uint MaxTransferSize = 1u << 21;

    public static OperandPlan PlanFor(DsaOpcode opcode) => opcode switch
    {
        DsaOpcode.MemoryMove => new OperandPlan(true, false, true),
        DsaOpcode.Fill => new OperandPlan(false, false, true),
        DsaOpcode.Compare => new OperandPlan(true, true, false),
        DsaOpcode.CrcGeneration => new OperandPlan(true, false, false),
        _ => new OperandPlan(false, false, false),
    };

    /// <summary>Checks done before any DMA; returns Success when the descriptor may execute.</summary>
    public static OperationStatus Validate(in Descriptor d)
    {
        if (d.Opcode is not (DsaOpcode.Noop or DsaOpcode.MemoryMove or DsaOpcode.Fill or DsaOpcode.Compare or DsaOpcode.CrcGeneration))
            return OperationStatus.UnsupportedOpcode;
        if ((d.Flags & DescriptorFlags.CompletionRecordAddressValid) != 0 && (d.CompletionRecordAddress & 0x1F) != 0)
            return OperationStatus.CompletionRecordMisaligned;
        if (d.Opcode != DsaOpcode.Noop && (d.TransferSize == 0 || d.TransferSize > MaxTransferSize))
            return OperationStatus.InvalidTransferSize;
        return OperationStatus.Success;
    }

    /// <summary>
    /// Executes a validated descriptor. <paramref name="source"/> and <paramref name="secondSource"/> hold the bytes
    /// read by DMA (per <see cref="PlanFor"/>); <paramref name="destination"/> receives the bytes to write back.
    /// </summary>
    public static CompletionRecord Execute(in Descriptor d, ReadOnlySpan<byte> source, ReadOnlySpan<byte> secondSource, Span<byte> destination)
    {
        var size = (int)d.TransferSize;
        switch (d.Opcode)
        {
            case DsaOpcode.Noop:
                return new CompletionRecord(OperationStatus.Success, 0, 0);
            case DsaOpcode.MemoryMove:
                source[..size].CopyTo(destination);
                return new CompletionRecord(OperationStatus.Success, 0, d.TransferSize);
            case DsaOpcode.Fill:
                FillPattern(destination[..size], d.Pattern);
                return new CompletionRecord(OperationStatus.Success, 0, d.TransferSize);
            case DsaOpcode.Compare:
            {
                var a = source[..size];
                var b = secondSource[..size];
                var diff = a.CommonPrefixLength(b);
                if (diff == size) return new CompletionRecord(OperationStatus.Success, 0, d.TransferSize);
                var status = (d.Flags & DescriptorFlags.CheckResult) != 0 ? OperationStatus.SuccessFalsePredicate : OperationStatus.Success;
                return new CompletionRecord(status, 1, (uint)diff);
            }
            case DsaOpcode.CrcGeneration:
                return new CompletionRecord(OperationStatus.Success, 0, d.TransferSize, 0, Crc32C(source[..size], d.CrcSeed));
            default:
                return new CompletionRecord(OperationStatus.UnsupportedOpcode, 0, 0);
        }
    }

    public static void FillPattern(Span<byte> destination, ulong pattern)
    {
        Span<byte> p = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(p, pattern);
        for (var i = 0; i < destination.Length; i += 8)
            p[..Math.Min(8, destination.Length - i)].CopyTo(destination[i..]);
    }

    /// <summary>CRC-32C (Castagnoli, iSCSI) with the usual pre/post inversion; seed 0 gives the standard CRC.</summary>
    public static uint Crc32C(ReadOnlySpan<byte> data, uint seed = 0)
    {
        var crc = ~seed;
        var i = 0;
        for (; i + 8 <= data.Length; i += 8)
            crc = BitOperations.Crc32C(crc, BinaryPrimitives.ReadUInt64LittleEndian(data[i..]));
        for (; i < data.Length; i++)
            crc = BitOperations.Crc32C(crc, data[i]);
        return ~crc;
    }
}
