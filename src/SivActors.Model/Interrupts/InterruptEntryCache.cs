namespace SivActors.Model.Interrupts;

/// <summary>
/// The interrupt entry cache (IEC): a direct-mapped cache of IRTEs keyed by (table, index), holding each entry's
/// contents as fetched. Direct mapping keeps the hit/miss outcome deterministic for a given access order. Entries are
/// invalidated when software changes an IRTE (an IEC invalidation descriptor, siov-reference §4.10). While
/// invalidations are deferred (a stale-iec fault: the invalidation is late), a hit returns the contents fetched before
/// the change, as hardware would.
/// </summary>
public sealed class InterruptEntryCache
{
    private readonly long[] _tags;
    private readonly InterruptEntry?[] _entries;
    private readonly List<(int TableId, int Index)> _deferred = [];

    public InterruptEntryCache(int capacity)
    {
        if (capacity is < 0 or > 1 << 20)
            throw new SivInputException($"interrupt entry cache capacity {capacity} is out of range (0..1048576)");
        _tags = new long[Math.Max(capacity, 0)];
        _entries = new InterruptEntry?[_tags.Length];
        Array.Fill(_tags, -1);
    }

    public long Hits { get; private set; }
    public long Misses { get; private set; }

    /// <summary>Invalidations are held (not applied) until <see cref="ApplyDeferred"/>.</summary>
    public bool DeferInvalidations { get; set; }

    public int DeferredCount => _deferred.Count;

    /// <summary>Looks an entry up by position only (contents not kept); true on a hit.</summary>
    public bool Access(int tableId, int index) => Access(tableId, index, Placeholder, out _);

    private static readonly InterruptEntry Placeholder = new() { Present = true };

    /// <summary>
    /// Looks the entry up. On a hit, <paramref name="used"/> is the cached contents (stale if an invalidation was
    /// deferred); on a miss the cache fills with <paramref name="current"/> if it is present, and that is what is used.
    /// </summary>
    public bool Access(int tableId, int index, InterruptEntry? current, out InterruptEntry? used)
    {
        if (_tags.Length == 0)
        {
            Misses++;
            used = current;
            return false;
        }
        var (tag, slot) = SlotOf(tableId, index);
        if (_tags[slot] == tag)
        {
            Hits++;
            used = _entries[slot];
            return true;
        }
        // Only present entries are cached: a not-present entry is read from the table every time.
        if (current is { Present: true })
        {
            _tags[slot] = tag;
            _entries[slot] = current;
        }
        Misses++;
        used = current;
        return false;
    }

    public void Invalidate(int tableId, int index)
    {
        if (_tags.Length == 0) return;
        if (DeferInvalidations)
        {
            _deferred.Add((tableId, index));
            return;
        }
        var (tag, slot) = SlotOf(tableId, index);
        if (_tags[slot] != tag) return;
        _tags[slot] = -1;
        _entries[slot] = null;
    }

    /// <summary>Applies every held invalidation (the late invalidation arrives); returns how many there were.</summary>
    public int ApplyDeferred()
    {
        DeferInvalidations = false;
        var n = _deferred.Count;
        foreach (var (table, index) in _deferred) Invalidate(table, index);
        _deferred.Clear();
        return n;
    }

    private (long Tag, int Slot) SlotOf(int tableId, int index)
    {
        var tag = ((long)tableId << 17) | (uint)index;
        // Fibonacci hashing spreads consecutive indices of one table over the cache.
        return (tag, (int)((ulong)(tag * unchecked((long)0x9E3779B97F4A7C15)) % (ulong)_tags.Length));
    }
}
