using SivActors.Model.Identity;

namespace SivActors.Model.Interrupts;

/// <summary>
/// What `siv explain` needs to make a recorded interrupt fault's decision again: the write as it arrived, and the
/// tables as the unit read them (the ASID's interrupt table, its size and readability, and the entry it used,
/// which after a late invalidation is the cached one, not the table's).
/// </summary>
public sealed record FaultReplay(FaultReason Fault, UpstreamWrite Write, int? TableId, int TableSizeExponent, bool TableReadable, int Index, InterruptEntry? Entry)
    : IFaultReplay;

/// <summary>
/// What `siv explain` needs to make a DMA fault's decision again: the access as it arrived, and the PASID-table
/// entry DMA remapping read for it (null: not present).
/// </summary>
public sealed record DmaFaultReplay(FaultReason Fault, SourceId Source, Asid Pasid, ulong Address, ulong Length, bool IsWrite, Dma.PasidBinding? Binding)
    : IFaultReplay;

/// <summary>A recorded fault with what it takes to decide it again.</summary>
public interface IFaultReplay
{
    FaultReason Fault { get; }
}

/// <summary>
/// A bounded sample of a run's recorded faults (interrupt and DMA: VT-d records both in one fault log) for the report:
/// the first of each fault reason, then the first others up to <see cref="Capacity"/>. Only a few are kept so that
/// recording stays off the hot path's budget.
/// </summary>
public sealed class FaultSamples
{
    public const int Capacity = 32;
    private const int AnyReasonShare = Capacity / 2;
    private readonly Lock _lock = new();
    private readonly bool[] _seen = new bool[256];
    private readonly List<IFaultReplay> _samples = [];
    private volatile int _count;

    /// <summary>Cheap check before building a sample: false once nothing of this reason would be kept.</summary>
    public bool Wants(FaultReason reason) => _count < AnyReasonShare || (!_seen[(byte)reason] && _count < Capacity);

    public void Add(IFaultReplay replay)
    {
        lock (_lock)
        {
            var code = (byte)replay.Fault;
            if (_samples.Count >= Capacity || (_seen[code] && _samples.Count >= AnyReasonShare)) return;
            _seen[code] = true;
            _samples.Add(replay);
            _count = _samples.Count;
        }
    }

    public IReadOnlyList<IFaultReplay> Snapshot()
    {
        lock (_lock) return _samples.ToList();
    }
}
