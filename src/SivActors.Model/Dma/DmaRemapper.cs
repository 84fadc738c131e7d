using SivActors.Model.Identity;
using SivActors.Model.Interrupts;

namespace SivActors.Model.Dma;

/// <summary>A PASID-table entry: present, FPD, and the address space it selects (the owning container's).</summary>
public sealed record PasidBinding(Asid Pasid, ContainerId Owner, AddressSpace AddressSpace, bool FaultProcessingDisable = false);

/// <summary>PASID table of the DMA-remapping unit (scalable mode; directory and table levels folded into one map).</summary>
public sealed class PasidTable
{
    private readonly Dictionary<uint, PasidBinding> _entries = new();

    public int Count => _entries.Count;
    public IEnumerable<PasidBinding> Entries => _entries.Values;

    public void Bind(PasidBinding binding) => _entries[binding.Pasid.Value] = binding;
    public bool Unbind(Asid pasid) => _entries.Remove(pasid.Value);
    public PasidBinding? Lookup(Asid pasid) => _entries.GetValueOrDefault(pasid.Value);
}

public readonly record struct DmaDecision(FaultReason Fault, PasidBinding? Binding, int Region)
{
    public bool IsFault => Fault != FaultReason.None;
}

/// <summary>
/// DMA remapping by PASID (siov-reference §5, §11.7), in this order: address width (0x04), PASID-table entry
/// (0x59), interrupt window (0x87: a DMA write there is a fault, never an interrupt), then mapping and permission
/// (0x05 write / 0x06 read: VT-d reports a not-present page as a permission fault).
/// </summary>
public static class DmaRemapper
{
    /// <summary>Maximum guest address width: 48 bits (4-level paging).</summary>
    public const int MgawBits = 48;

    public static DmaDecision Check(PasidTable table, Asid pasid, ulong address, ulong length, bool isWrite)
    {
        if (length == 0 || address >= 1ul << MgawBits || length > (1ul << MgawBits) - address)
            return new DmaDecision(FaultReason.DmaAddressBeyondMgaw, null, -1);
        var binding = table.Lookup(pasid);
        if (binding is null)
            return new DmaDecision(FaultReason.PasidTableEntryNotPresent, null, -1);
        if (InterruptWindow.Overlaps(address, length))
            return new DmaDecision(FaultReason.DmaOutputInInterruptRange, binding, -1);
        var region = binding.AddressSpace.Find(address, length);
        if (region < 0)
            return new DmaDecision(isWrite ? FaultReason.DmaNoWritePermission : FaultReason.DmaNoReadPermission, binding, -1);
        var needed = isWrite ? DmaPermissions.Write : DmaPermissions.Read;
        if ((binding.AddressSpace.Regions[region].Permissions & needed) == 0)
            return new DmaDecision(isWrite ? FaultReason.DmaNoWritePermission : FaultReason.DmaNoReadPermission, binding, region);
        return new DmaDecision(FaultReason.None, binding, region);
    }
}
