namespace SivActors.Model.Interrupts;

/// <summary>What one post did: whether its PIR bit was already set (coalesced), and whether it sent a notification.</summary>
public enum PostResult : byte
{
    /// <summary>PIR bit newly set; ON was already 1 or notifications are suppressed.</summary>
    Recorded,
    /// <summary>PIR bit newly set and ON went 0->1 with SN=0 or URG=1: a notification event is sent.</summary>
    RecordedAndNotified,
    /// <summary>PIR bit was already set: this interrupt collapses into the pending one; no notification was due.</summary>
    Coalesced,
    /// <summary>
    /// PIR bit was already set, and ON was 0 with SN=0 or URG=1: the notification is sent all the same (the state
    /// after a post while SN=1, then SN cleared), so the pending vector does not wait for an unrelated one.
    /// </summary>
    CoalescedAndNotified,
}

public static class PostResults
{
    public static bool Coalesced(this PostResult r) => r is PostResult.Coalesced or PostResult.CoalescedAndNotified;

    public static bool Notified(this PostResult r) => r is PostResult.RecordedAndNotified or PostResult.CoalescedAndNotified;
}

/// <summary>
/// Posted-interrupt descriptor (64 bytes): PIR (256 vectors), ON, SN, NV, NDST (siov-reference §4.6, §11.4).
/// Every operation is atomic because one actor owns the descriptor, as the hardware swaps the whole cache line.
/// </summary>
public sealed class PostedInterruptDescriptor
{
    private readonly ulong[] _pir = new ulong[4];

    /// <summary>ON: a notification was sent and software has not harvested since. Settable to describe a state (siv explain, tests).</summary>
    public bool OutstandingNotification { get; set; }
    public bool SuppressNotification { get; set; }
    public byte NotificationVector { get; set; } = 0xF2;
    public uint NotificationDestination { get; set; }

    public bool IsPending(byte vector) => (_pir[vector >> 6] & (1ul << (vector & 63))) != 0;

    /// <summary>Marks a vector pending without posting (to describe a descriptor's state: siv explain, tests).</summary>
    public void SetPending(byte vector) => _pir[vector >> 6] |= 1ul << (vector & 63);

    /// <summary>The pending vectors, lowest first.</summary>
    public IEnumerable<byte> PendingVectors()
    {
        for (var v = 0; v < 256; v++)
            if (IsPending((byte)v)) yield return (byte)v;
    }

    /// <summary>
    /// VT-d's posting steps in their order (siv-reference, posting operation): (2) set the vector's PIR bit, noting
    /// whether it was set already; (3) then decide the notification from ON, SN and URG alone: with ON = 0 and
    /// (SN = 0 or URG = 1), set ON and send the notification event; (4) otherwise only record.
    /// </summary>
    public PostResult Post(byte vector, bool urgent)
    {
        ref var word = ref _pir[vector >> 6];
        var bit = 1ul << (vector & 63);
        var coalesced = (word & bit) != 0;
        word |= bit;
        var notify = !OutstandingNotification && (!SuppressNotification || urgent);
        if (notify) OutstandingNotification = true;
        return (coalesced, notify) switch
        {
            (false, false) => PostResult.Recorded,
            (false, true) => PostResult.RecordedAndNotified,
            (true, false) => PostResult.Coalesced,
            (true, true) => PostResult.CoalescedAndNotified,
        };
    }

    /// <summary>Take-and-clear PIR word by word and clear ON; calls <paramref name="onVector"/> per pending vector.</summary>
    public int Harvest(Action<byte>? onVector = null)
    {
        var count = 0;
        for (var w = 0; w < _pir.Length; w++)
        {
            var bits = _pir[w];
            _pir[w] = 0;
            while (bits != 0)
            {
                var b = System.Numerics.BitOperations.TrailingZeroCount(bits);
                bits &= bits - 1;
                count++;
                onVector?.Invoke((byte)(w * 64 + b));
            }
        }
        OutstandingNotification = false;
        return count;
    }
}
