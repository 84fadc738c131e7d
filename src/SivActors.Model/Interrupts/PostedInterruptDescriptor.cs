namespace SivActors.Model.Interrupts;

public enum PostResult : byte
{
    /// <summary>PIR bit newly set; ON was already 1 or notifications are suppressed.</summary>
    Recorded,
    /// <summary>PIR bit newly set and ON went 0->1 with SN=0 or URG=1: a notification event is sent.</summary>
    RecordedAndNotified,
    /// <summary>PIR bit was already set: this interrupt collapses into the pending one.</summary>
    Coalesced,
}

/// <summary>
/// Posted-interrupt descriptor (64 bytes): PIR (256 vectors), ON, SN, NV, NDST (siov-reference §4.6, §11.4).
/// Every operation is atomic because one actor owns the descriptor, as the hardware swaps the whole cache line.
/// </summary>
public sealed class PostedInterruptDescriptor
{
    private readonly ulong[] _pir = new ulong[4];

    public bool OutstandingNotification { get; private set; }
    public bool SuppressNotification { get; set; }
    public byte NotificationVector { get; set; } = 0xF2;
    public uint NotificationDestination { get; set; }

    public bool IsPending(byte vector) => (_pir[vector >> 6] & (1ul << (vector & 63))) != 0;

    public PostResult Post(byte vector, bool urgent)
    {
        ref var word = ref _pir[vector >> 6];
        var bit = 1ul << (vector & 63);
        if ((word & bit) != 0) return PostResult.Coalesced;
        word |= bit;
        if (!OutstandingNotification && (!SuppressNotification || urgent))
        {
            OutstandingNotification = true;
            return PostResult.RecordedAndNotified;
        }
        return PostResult.Recorded;
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
