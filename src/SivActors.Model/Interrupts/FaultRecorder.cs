namespace SivActors.Model.Interrupts;

/// <summary>One FRCD (fault recording register), 128 bits in hardware (siov-reference §4.9).</summary>
public readonly record struct FaultRecord(
    FaultReason Reason,
    ushort Sid,
    /// <summary>IR faults: interrupt index (FI[63:48]). DMA faults: faulting page address.</summary>
    ulong FaultInfo,
    bool PasidPresent,
    uint PasidValue,
    /// <summary>T: 1 for a DMA read, 0 for a write or an interrupt.</summary>
    bool IsRead);

public enum RecordResult : byte
{
    Recorded,
    /// <summary>Recorded and PPF went 0->1: a fault event (MSI via FEADDR/FEDATA) is raised unless FECTL.IM.</summary>
    RecordedWithEvent,
    DroppedOverflow,
    DroppedCompressed,
}

/// <summary>
/// The primary fault log: a circular array of NFR+1 records with FSTS.PPF/PFO/FRI and QEMU-style compression
/// (a fault whose SID already has a pending record is dropped). Software clears F by writing 1 (RW1C).
/// </summary>
public sealed class FaultRecorder
{
    private readonly FaultRecord?[] _records;
    private int _next;

    public FaultRecorder(int recordCount)
    {
        if (recordCount is < 1 or > 256)
            throw new SivInputException($"fault record count {recordCount} is out of range (1..256; CAP.NFR is 8 bits)");
        _records = new FaultRecord?[recordCount];
    }

    public int Capacity => _records.Length;
    /// <summary>FSTS.PFO: primary fault overflow; new faults are dropped while set.</summary>
    public bool PrimaryFaultOverflow { get; private set; }
    /// <summary>FSTS.PPF: OR of all F bits.</summary>
    public bool PrimaryPendingFault => _records.Any(r => r is not null);
    /// <summary>FSTS.FRI: index of the first pending record, set when PPF goes 0->1.</summary>
    public int FaultRecordIndex { get; private set; }
    /// <summary>FECTL.IM: fault events masked; when set an event only sets FECTL.IP.</summary>
    public bool EventMasked { get; set; }
    /// <summary>FECTL.IP.</summary>
    public bool EventPending { get; private set; }

    public long Recorded { get; private set; }
    public long DroppedOverflow { get; private set; }
    public long DroppedCompressed { get; private set; }
    public long FaultEvents { get; private set; }

    public FaultRecord? this[int index] => _records[index];

    public RecordResult Record(in FaultRecord record)
    {
        if (PrimaryFaultOverflow)
        {
            DroppedOverflow++;
            return RecordResult.DroppedOverflow;
        }
        foreach (var pending in _records)
        {
            if (pending is { } p && p.Sid == record.Sid)
            {
                DroppedCompressed++;
                return RecordResult.DroppedCompressed;
            }
        }
        if (_records[_next] is not null)
        {
            PrimaryFaultOverflow = true;
            DroppedOverflow++;
            return RecordResult.DroppedOverflow;
        }
        var hadPending = PrimaryPendingFault;
        _records[_next] = record;
        var slot = _next;
        _next = (_next + 1) % _records.Length;
        Recorded++;
        if (hadPending) return RecordResult.Recorded;
        FaultRecordIndex = slot;
        if (EventMasked)
        {
            EventPending = true;
            return RecordResult.Recorded;
        }
        FaultEvents++;
        return RecordResult.RecordedWithEvent;
    }

    /// <summary>Software writes 1 to F of one record.</summary>
    public void Clear(int index) => _records[index] = null;

    /// <summary>Software writes 1 to FSTS.PFO.</summary>
    public void ClearOverflow() => PrimaryFaultOverflow = false;

    /// <summary>What a host fault handler does on a fault event: read every pending record, clear it, clear PFO.</summary>
    public IReadOnlyList<FaultRecord> Drain()
    {
        var drained = new List<FaultRecord>();
        for (var i = 0; i < _records.Length; i++)
        {
            if (_records[i] is { } r) drained.Add(r);
            _records[i] = null;
        }
        PrimaryFaultOverflow = false;
        EventPending = false;
        return drained;
    }
}
