namespace SivActors.Model.Delivery;

/// <summary>
/// The judge's half of reliable delivery (decision 38), per sender: what was decided for each sequence number still
/// in flight, so a retransmitted copy gets the decision its first copy got instead of a second one made against
/// tables that have changed since. A number below the sender's watermark was acknowledged, so its copy is only a
/// duplicate; numbers at or above it are remembered until the watermark passes them.
/// </summary>
public sealed class JudgmentMemory<T>
{
    private readonly Dictionary<long, T> _judged = new();
    // Numbers in the order they were remembered (about ascending): forgetting pops from the front while it is below
    // the watermark, so each number is forgotten in O(1); one out of order waits for those before it.
    private readonly Queue<long> _order = new();
    private long _watermark;

    public int Remembered => _judged.Count;

    /// <summary>
    /// True if <paramref name="seq"/> was judged before; <paramref name="judgment"/> is then what was decided, or
    /// default when the number is below the watermark (acknowledged, nothing left to do).
    /// </summary>
    public bool TryRecall(long seq, long watermark, out T? judgment)
    {
        if (watermark > _watermark)
        {
            _watermark = watermark;
            while (_order.TryPeek(out var oldest) && oldest < _watermark) _judged.Remove(_order.Dequeue());
        }
        if (seq < _watermark)
        {
            judgment = default;
            return true;
        }
        return _judged.TryGetValue(seq, out judgment);
    }

    public void Remember(long seq, T judgment)
    {
        if (_judged.TryAdd(seq, judgment)) _order.Enqueue(seq);
        else _judged[seq] = judgment;
    }
}

/// <summary>
/// The receiver's half of reliable delivery, per sender: tells the first copy of a sequence number from a duplicate
/// (a retransmission whose original was only late).
/// </summary>
public sealed class DuplicateFilter
{
    private readonly JudgmentMemory<bool> _seen = new();

    public int Remembered => _seen.Remembered;

    /// <summary>True for the first copy of <paramref name="seq"/>; false for a duplicate.</summary>
    public bool FirstCopy(long seq, long watermark)
    {
        if (_seen.TryRecall(seq, watermark, out _)) return false;
        _seen.Remember(seq, true);
        return true;
    }
}
