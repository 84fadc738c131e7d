

namespace SivActors.Model.Device;

/// <summary>
/// What a guest checks when a descriptor completes: the completion record against what it expects of the operation,
/// and the bytes the device wrote against what it computes itself from its own source.
/// </summary>
public static class CompletionCheck
{
    /// <param name="expectedDiff">For a compare: the offset of the first differing byte the guest computed (the size if none).</param>
    public static bool Verify(DsaOpcode opcode, int size, ulong pattern, uint seed, int expectedDiff, in CompletionRecord record,
        ReadOnlySpan<byte> source, ReadOnlySpan<byte> destination) => opcode switch
    {
        DsaOpcode.MemoryMove => record.BytesCompleted == size && destination.SequenceEqual(source),
        DsaOpcode.Fill => record.BytesCompleted == size && FillMatches(destination, pattern),
        DsaOpcode.Compare => expectedDiff == size
            ? record.Result == 0
            : record.Result == 1 && record.BytesCompleted == expectedDiff,
        DsaOpcode.CrcGeneration => record.CrcValue == DsaEngine.Crc32C(source, seed),
        _ => true,
    };

    private static bool FillMatches(ReadOnlySpan<byte> dst, ulong pattern)
    {
        Span<byte> expected = stackalloc byte[dst.Length];
        DsaEngine.FillPattern(expected, pattern);
        return dst.SequenceEqual(expected);
    }
}
