using System.Buffers;
using System.Collections.Concurrent;
using SivActors.Model.Identity;

namespace SivActors.Model.Workload;

/// <summary>
/// The memory of one container that its devices reach by DMA: a read-only source buffer, a destination buffer and a
/// completion record per outstanding descriptor. The container writes it (DMA writes land through it, so it sees
/// its completions); the DMA-remapping unit reads it directly, as an IOMMU passes a translated read to memory
/// without the guest's vCPU (decision 56). A read follows, through messages, the write it depends on, so it sees it.
/// What a container holds is small, so that a million of them fit (decision 60): its source is a window, picked by
/// its seed, of the node's shared random source (<see cref="ContainerLayout.SharedSource"/>), and a slot's destination
/// is a pooled buffer from the DMA write that fills it until the guest has checked the completion
/// (<see cref="Release"/>); a released destination reads as zeros again.
/// </summary>
public sealed class GuestMemory
{
    private readonly ContainerLayout _layout;
    private readonly int _sourceOffset;
    private readonly byte[] _completions;
    // Per slot, only while a completion's data is there: most containers hold none between their operations.
    private readonly byte[]?[] _destinations;

    public GuestMemory(ContainerLayout layout, Random seeded)
    {
        _layout = layout;
        _sourceOffset = seeded.Next(ContainerLayout.SourceWindows);
        _completions = new byte[CompletionRecordBytes * layout.QueueDepth];
        _destinations = new byte[]?[layout.QueueDepth];
    }

    private const int CompletionRecordBytes = Device.CompletionRecord.Size;

    public ReadOnlySpan<byte> Source(int length) => _layout.SharedSource.Slice(_sourceOffset, length);

    /// <summary>Slot <paramref name="slot"/>'s destination buffer (zeros until something is written there).</summary>
    public ReadOnlySpan<byte> Destination(int slot, int length) =>
        _destinations[slot] is { } d ? d.AsSpan(0, length) : new byte[length];

    public Span<byte> CompletionRecord(int slot) => _completions.AsSpan(slot * CompletionRecordBytes, CompletionRecordBytes);

    public bool IsCompletionRecord(ulong address) =>
        address >= ContainerLayout.CompletionBase && address < ContainerLayout.CompletionBase + (ulong)_completions.Length;

    public static int CompletionSlot(ulong address) => (int)((address - ContainerLayout.CompletionBase) / CompletionRecordBytes);

    /// <summary>A copy of the bytes at a checked DMA address (DMA remapping already proved the range mapped).</summary>
    public byte[] Read(ulong address, int length)
    {
        if (address >= ContainerLayout.CompletionBase) return _completions.AsSpan((int)(address - ContainerLayout.CompletionBase), length).ToArray();
        if (address >= ContainerLayout.DestinationBase)
        {
            var copy = new byte[length];
            // A range may cross from one slot's buffer into the next (the region is one mapping).
            for (var done = 0; done < length;)
            {
                var (slot, offset) = DestinationSlot(address + (ulong)done);
                var chunk = Math.Min(length - done, _layout.BufferBytes - offset);
                if (_destinations[slot] is { } d) d.AsSpan(offset, chunk).CopyTo(copy.AsSpan(done));
                done += chunk;
            }
            return copy;
        }
        return _layout.SharedSource.Slice(_sourceOffset + (int)(address - ContainerLayout.SourceBase), length).ToArray();
    }

    /// <summary>
    /// Lands a DMA write (the container's thread only). The source is read-only: DMA remapping refuses writes to it
    /// (no write permission), so one reaching here is a bug, not a guest's doing.
    /// </summary>
    public void Write(ulong address, ReadOnlySpan<byte> data)
    {
        if (address >= ContainerLayout.CompletionBase)
        {
            data.CopyTo(_completions.AsSpan((int)(address - ContainerLayout.CompletionBase)));
            return;
        }
        if (address < ContainerLayout.DestinationBase)
            throw new InvalidOperationException($"DMA write to the read-only source at 0x{address:X}");
        while (!data.IsEmpty)
        {
            var (slot, offset) = DestinationSlot(address);
            if (_destinations[slot] is not { } buffer)
            {
                buffer = _destinations[slot] = ArrayPool<byte>.Shared.Rent(_layout.BufferBytes);
                Array.Clear(buffer, 0, _layout.BufferBytes); // a rented buffer holds someone else's bytes
            }
            var chunk = Math.Min(data.Length, _layout.BufferBytes - offset);
            data[..chunk].CopyTo(buffer.AsSpan(offset));
            data = data[chunk..];
            address += (ulong)chunk;
        }
    }

    /// <summary>The guest is done with slot <paramref name="slot"/>'s destination: its buffer goes back to the pool.</summary>
    public void Release(int slot)
    {
        if (_destinations[slot] is not { } buffer) return;
        _destinations[slot] = null;
        ArrayPool<byte>.Shared.Return(buffer);
    }

    private (int Slot, int Offset) DestinationSlot(ulong address)
    {
        var from = (int)(address - ContainerLayout.DestinationBase);
        return (from / _layout.BufferBytes, from % _layout.BufferBytes);
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
