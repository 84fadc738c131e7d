namespace SivActors.Model.Interrupts;

/// <summary>
/// One interrupt remapping table of 2^(S+1) entries (IRTA.S, 0..15). Storage is sparse so that a 65,536-entry
/// table costs only what is programmed. Allocation is next-fit: a freed handle is reused only after the cursor has
/// gone round the whole table, so a stale handle keeps faulting as "not present" for as long as possible.
/// </summary>
public sealed class InterruptTable
{
    private readonly Dictionary<int, InterruptEntry> _entries = new();
    private int _cursor;

    public InterruptTable(int id, int sizeExponent)
    {
        if (sizeExponent is < 0 or > 15)
            throw new SivInputException($"interrupt table size exponent S={sizeExponent} is out of range (0..15; 2^(S+1) entries)");
        Id = id;
        SizeExponent = sizeExponent;
    }

    public int Id { get; }
    public int SizeExponent { get; }
    public int Size => 1 << (SizeExponent + 1);
    public int Count => _entries.Count;

    /// <summary>False models an IRT that cannot be read (IRTA beyond HAW, memory error): fault 0x23.</summary>
    public bool Readable { get; set; } = true;

    public IEnumerable<KeyValuePair<int, InterruptEntry>> Entries => _entries;

    public InterruptEntry? Get(int index) => _entries.GetValueOrDefault(index);

    /// <summary>Where the next-fit search starts; part of the table's durable state so a replay allocates alike.</summary>
    public int Cursor => _cursor;

    /// <summary>Allocates a free index next-fit; null when the table is full.</summary>
    public int? Allocate(InterruptEntry entry)
    {
        if (NextFree() is not { } index) return null;
        SetAllocated(index, entry);
        return index;
    }

    /// <summary>The index <see cref="Allocate"/> would take, without taking it (decide first, apply the event after).</summary>
    public int? NextFree()
    {
        if (_entries.Count >= Size) return null;
        for (var probe = 0; probe < Size; probe++)
        {
            var index = (_cursor + probe) % Size;
            if (!_entries.ContainsKey(index)) return index;
        }
        return null;
    }

    /// <summary>Writes an entry that was allocated next-fit, moving the cursor past it.</summary>
    public void SetAllocated(int index, InterruptEntry entry)
    {
        Set(index, entry);
        _cursor = (index + 1) % Size;
    }

    /// <summary>Restores the cursor from a snapshot.</summary>
    public void RestoreCursor(int cursor)
    {
        if ((uint)cursor >= (uint)Size) throw new SivInputException($"interrupt table cursor {cursor} is beyond the table size {Size}");
        _cursor = cursor;
    }

    public void Set(int index, InterruptEntry entry)
    {
        if ((uint)index >= (uint)Size)
            throw new SivInputException($"interrupt table index {index} is beyond the table size {Size}");
        _entries[index] = entry;
    }

    public bool Free(int index) => _entries.Remove(index);
}
