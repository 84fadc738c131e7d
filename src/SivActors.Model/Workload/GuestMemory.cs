using System.Collections.Concurrent;
using SivActors.Model.Identity;

namespace SivActors.Model.Workload;

/// <summary>
/// The memory of one container that its devices reach by DMA: a source buffer filled once from the container's
/// seed, a destination buffer and a completion record per outstanding descriptor. The container writes it (DMA
/// writes land through it, so it sees its completions); the DMA-remapping unit reads it directly, as an IOMMU
/// passes a translated read to memory without the guest's vCPU (decision 56). A read follows, through messages,
/// the write it depends on, so it sees it.
/// </summary>
public sealed class GuestMemory
{
    private readonly ContainerLayout _layout;
    private readonly byte[] _source;
    private readonly byte[] _completions;
    // Allocated on the first DMA write: a container that never completes a descriptor costs no destination memory.
    private byte[]? _destinations;

    public GuestMemory(ContainerLayout layout, Random seeded)
    {
        _layout = layout;
        _source = new byte[layout.BufferBytes];
        seeded.NextBytes(_source);
        _completions = new byte[CompletionRecordBytes * layout.QueueDepth];
    }

    private const int CompletionRecordBytes = Device.CompletionRecord.Size;

    public ReadOnlySpan<byte> Source(int length) => _source.AsSpan(0, length);

    /// <summary>Slot <paramref name="slot"/>'s destination buffer (zeros until something is written there).</summary>
    public ReadOnlySpan<byte> Destination(int slot, int length) =>
        _destinations is { } d ? d.AsSpan(slot * _layout.BufferBytes, length) : new byte[length];

    public Span<byte> CompletionRecord(int slot) => _completions.AsSpan(slot * CompletionRecordBytes, CompletionRecordBytes);

    public bool IsCompletionRecord(ulong address) =>
        address >= ContainerLayout.CompletionBase && address < ContainerLayout.CompletionBase + (ulong)_completions.Length;

    public static int CompletionSlot(ulong address) => (int)((address - ContainerLayout.CompletionBase) / CompletionRecordBytes);

    /// <summary>A copy of the bytes at a checked DMA address (DMA remapping already proved the range mapped).</summary>
    public byte[] Read(ulong address, int length)
    {
        if (address >= ContainerLayout.DestinationBase && address < ContainerLayout.CompletionBase && _destinations is null)
            return new byte[length];
        return Writable(address, length).ToArray();
    }

    /// <summary>Lands a DMA write (the container's thread only).</summary>
    public void Write(ulong address, ReadOnlySpan<byte> data) => data.CopyTo(Writable(address, data.Length));

    private Span<byte> Writable(ulong address, int length)
    {
        if (address >= ContainerLayout.CompletionBase) return _completions.AsSpan((int)(address - ContainerLayout.CompletionBase), length);
        if (address >= ContainerLayout.DestinationBase)
            return (_destinations ??= new byte[_layout.BufferBytes * _layout.QueueDepth]).AsSpan((int)(address - ContainerLayout.DestinationBase), length);
        return _source.AsSpan((int)(address - ContainerLayout.SourceBase), length);
    }
}

/// <summary>The memory of the containers running on one node, by container; an entry is the current incarnation's.</summary>
public sealed class GuestMemoryMap
{
    private readonly ConcurrentDictionary<ContainerId, GuestMemory> _memories = new();

    public void Register(ContainerId container, GuestMemory memory) => _memories[container] = memory;

    /// <summary>Forgets <paramref name="memory"/> if it is still the registered one (a successor may have registered its own).</summary>
    public void Unregister(ContainerId container, GuestMemory memory) =>
        _memories.TryRemove(new KeyValuePair<ContainerId, GuestMemory>(container, memory));

    public bool TryGet(ContainerId container, out GuestMemory memory) => _memories.TryGetValue(container, out memory!);
}
