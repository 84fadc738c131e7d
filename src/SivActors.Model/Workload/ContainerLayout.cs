using SivActors.Model.Device;
using SivActors.Model.Dma;

namespace SivActors.Model.Workload;

/// <summary>
/// Every container's I/O address space: a read-only source buffer, one destination buffer and one completion
/// record per outstanding descriptor, and its posted-interrupt descriptor.
/// </summary>
public sealed class ContainerLayout
{
    public const ulong SourceBase = 0x1000_0000;
    public const ulong DestinationBase = 0x2000_0000;
    public const ulong CompletionBase = 0x3000_0000;
    public const ulong PostedDescriptorAddress = 0x5000_0000;

    /// <summary>Distinct source windows in <see cref="SharedSource"/>: containers' sources differ unless two draw the same one.</summary>
    public const int SourceWindows = 64 * 1024;

    /// <param name="seed">The scenario's seed: every node builds the same <see cref="SharedSource"/> from it.</param>
    public ContainerLayout(int queueDepth, int maxTransfer, int seed = 0)
    {
        QueueDepth = queueDepth;
        BufferBytes = maxTransfer;
        _sharedSource = new byte[SourceWindows + maxTransfer];
        new Random(seed).NextBytes(_sharedSource);
        Regions =
        [
            new MappedRegion("source", SourceBase, (ulong)maxTransfer, DmaPermissions.Read),
            new MappedRegion("destination", DestinationBase, (ulong)(maxTransfer * queueDepth), DmaPermissions.ReadWrite),
            new MappedRegion("completion", CompletionBase, (ulong)(CompletionRecord.Size * queueDepth), DmaPermissions.ReadWrite),
        ];
    }

    public int QueueDepth { get; }
    public int BufferBytes { get; }
    public MappedRegion[] Regions { get; }

    /// <summary>
    /// Random bytes every container's source is a window of (at a byte offset its seed picks): one block per node,
    /// read-only, instead of a source buffer per container (decision 60).
    /// </summary>
    public ReadOnlySpan<byte> SharedSource => _sharedSource;

    private readonly byte[] _sharedSource;

    public ulong Destination(int slot) => DestinationBase + (ulong)(slot * BufferBytes);
    public ulong Completion(int slot) => CompletionBase + (ulong)(slot * CompletionRecord.Size);
}
