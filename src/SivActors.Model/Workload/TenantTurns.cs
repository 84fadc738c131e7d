namespace SivActors.Model.Workload;

/// <summary>
/// Turns to submit work, first come first served: at most <see cref="Capacity"/> tenants hold one at a time, and a
/// tenant that asks while all are held waits in line. The emulator time-slices its tenants this way (decision 70):
/// two cores cannot run thousands of tenants' devices at once, and without turns the .NET pool's newest-first local
/// queues serve a hot few while the rest wait hundreds of milliseconds. Not thread-safe; the caller locks.
/// </summary>
public sealed class TenantTurns<T> where T : notnull
{
    private readonly Queue<T> _line = new();
    // Who is in line for real. A tenant that left stays in the queue until reached and is then skipped, unless it
    // asked again meanwhile: then it is served at its first place, and its second entry is skipped.
    private readonly HashSet<T> _waiting = [];
    private readonly HashSet<T> _holders = [];

    public TenantTurns(int capacity)
    {
        if (capacity < 1) throw new ArgumentOutOfRangeException(nameof(capacity), capacity, "at least one turn");
        Capacity = capacity;
    }

    public int Capacity { get; }

    public int Holders => _holders.Count;

    public int Waiting => _waiting.Count;

    /// <summary>True if <paramref name="tenant"/> holds a turn now (it had one, or one was free); false if it waits in line.</summary>
    public bool Ask(T tenant)
    {
        if (_holders.Contains(tenant)) return true;
        if (_waiting.Contains(tenant)) return false;
        if (_holders.Count < Capacity && _waiting.Count == 0)
        {
            _holders.Add(tenant);
            return true;
        }
        _waiting.Add(tenant);
        _line.Enqueue(tenant);
        return false;
    }

    /// <summary>
    /// <paramref name="tenant"/> gives up its turn or its place in line. Returns the tenant its turn went to, whom
    /// the caller tells, or false when it held none or nobody waits.
    /// </summary>
    public bool Leave(T tenant, out T next)
    {
        next = default!;
        if (_waiting.Remove(tenant)) return false;
        if (!_holders.Remove(tenant)) return false;
        while (_line.TryDequeue(out var candidate))
        {
            if (!_waiting.Remove(candidate)) continue; // it left the line meanwhile
            _holders.Add(candidate);
            next = candidate;
            return true;
        }
        return false;
    }
}
