namespace SivActors.Model.Delivery;

/// <summary>
/// The sender's half of reliable delivery (decision 38): every message it sends gets a sequence number and stays here
/// until whoever judged it acknowledges it; one not acknowledged in time is due again, with a timeout that doubles
/// up to <see cref="MaxTimeoutTicks"/>. Sequence numbers only grow, also across the sender's incarnations (the outbox
/// outlives them), so <see cref="Watermark"/> tells a receiver which numbers it can never see again.
/// Not thread-safe: one actor incarnation at a time uses it.
/// </summary>
public sealed class ReliableOutbox<T>(long firstTimeoutTicks, long maxTimeoutTicks)
{
    private readonly Dictionary<long, Entry> _pending = new();
    private long _next = 1, _low = 1;

    private struct Entry(T item, long due, long timeout)
    {
        public readonly T Item = item;
        public long Due = due, Timeout = timeout;
        public int Attempts = 1;
    }

    public long FirstTimeoutTicks { get; } = firstTimeoutTicks > 0 ? firstTimeoutTicks : throw new ArgumentOutOfRangeException(nameof(firstTimeoutTicks));
    public long MaxTimeoutTicks { get; } = Math.Max(maxTimeoutTicks, firstTimeoutTicks);

    public int Count => _pending.Count;

    /// <summary>Every sequence number below this one is acknowledged: a copy of it that still arrives is a duplicate.</summary>
    public long Watermark
    {
        get
        {
            while (_low < _next && !_pending.ContainsKey(_low)) _low++;
            return _low;
        }
    }

    /// <summary>The sequence number the next <see cref="Add"/> returns.</summary>
    public long NextSequence => _next;

    /// <summary>Keeps <paramref name="item"/> until acknowledged; returns its sequence number (from 1).</summary>
    public long Add(T item, long nowTicks)
    {
        var seq = _next++;
        _pending.Add(seq, new Entry(item, nowTicks + FirstTimeoutTicks, FirstTimeoutTicks));
        return seq;
    }

    /// <summary>Forgets every message not yet acknowledged (they are given up); returns how many.</summary>
    public int Clear()
    {
        var n = _pending.Count;
        _pending.Clear();
        _low = _next;
        return n;
    }

    /// <summary>False for a number already acknowledged (a second judge's answer to a duplicate) or never sent.</summary>
    public bool Acknowledge(long seq) => _pending.Remove(seq);

    /// <summary>
    /// Adds to <paramref name="due"/> every message whose timeout has passed, in sequence order, and arms each one's
    /// next timeout (twice the last, at most <see cref="MaxTimeoutTicks"/>).
    /// </summary>
    public void TakeDue(long nowTicks, List<(long Seq, T Item, int Attempt)> due)
    {
        var start = due.Count;
        foreach (var (seq, e) in _pending)
            if (e.Due <= nowTicks) due.Add((seq, e.Item, e.Attempts + 1));
        if (due.Count == start) return;
        due.Sort(start, due.Count - start, BySeq.Instance);
        for (var i = start; i < due.Count; i++)
        {
            ref var e = ref System.Runtime.InteropServices.CollectionsMarshal.GetValueRefOrNullRef(_pending, due[i].Seq);
            e.Timeout = Math.Min(e.Timeout * 2, MaxTimeoutTicks);
            e.Due = nowTicks + e.Timeout;
            e.Attempts++;
        }
    }

    private sealed class BySeq : IComparer<(long Seq, T Item, int Attempt)>
    {
        public static readonly BySeq Instance = new();
        public int Compare((long Seq, T Item, int Attempt) x, (long Seq, T Item, int Attempt) y) => x.Seq.CompareTo(y.Seq);
    }
}
