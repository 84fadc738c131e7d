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

    public ContainerLayout(int queueDepth, int maxTransfer)
    {
        QueueDepth = queueDepth;
        BufferBytes = maxTransfer;
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

    public ulong Destination(int slot) => DestinationBase + (ulong)(slot * BufferBytes);
    public ulong Completion(int slot) => CompletionBase + (ulong)(slot * CompletionRecord.Size);
}
