namespace SivActors.Model.Interrupts;

/// <summary>
/// The interrupt entry cache (IEC): a direct-mapped cache of IRTEs keyed by (table, index). Direct mapping keeps
/// the hit/miss outcome deterministic for a given access order. Entries are invalidated when software changes
/// an IRTE (an IEC invalidation descriptor, siov-reference §4.10).
/// </summary>
public sealed class InterruptEntryCache
{
    private readonly long[] _tags;

    public InterruptEntryCache(int capacity)
    {
        if (capacity is < 0 or > 1 << 20)
            throw new SivInputException($"interrupt entry cache capacity {capacity} is out of range (0..1048576)");
        _tags = new long[Math.Max(capacity, 0)];
        Array.Fill(_tags, -1);
    }

    public long Hits { get; private set; }
    public long Misses { get; private set; }

    /// <summary>Looks the entry up and fills it on a miss; true on a hit.</summary>
    public bool Access(int tableId, int index)
    {
        if (_tags.Length == 0)
        {
            Misses++;
            return false;
        }
        var (tag, slot) = SlotOf(tableId, index);
        if (_tags[slot] == tag)
        {
            Hits++;
            return true;
        }
        _tags[slot] = tag;
        Misses++;
        return false;
    }

    public void Invalidate(int tableId, int index)
    {
        if (_tags.Length == 0) return;
        var (tag, slot) = SlotOf(tableId, index);
        if (_tags[slot] == tag) _tags[slot] = -1;
    }

    private (long Tag, int Slot) SlotOf(int tableId, int index)
    {
        var tag = ((long)tableId << 17) | (uint)index;
        // Fibonacci hashing spreads consecutive indices of one table over the cache.
        return (tag, (int)((ulong)(tag * unchecked((long)0x9E3779B97F4A7C15)) % (ulong)_tags.Length));
    }
}
