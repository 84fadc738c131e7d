using SivActors.Model.Identity;
using SivActors.Model.Interrupts;

namespace SivActors.Model.Dma;

/// <summary>A PASID-table entry: present, FPD, and the address space it selects (the owning container's).</summary>
public sealed record PasidBinding(Asid Pasid, ContainerId Owner, AddressSpace AddressSpace, bool FaultProcessingDisable = false);

/// <summary>PASID table of the DMA-remapping unit (scalable mode; directory and table levels folded into one map).</summary>
public sealed class PasidTable
{
    private readonly Dictionary<uint, PasidBinding> _entries = new();
    // Context entries by requester id: the RID_PASID each gives a request without PASID (SR-IOV VFs).
    private readonly Dictionary<ushort, Asid> _contexts = new();

    public int Count => _entries.Count;
    public IEnumerable<PasidBinding> Entries => _entries.Values;

    public void Bind(PasidBinding binding) => _entries[binding.Pasid.Value] = binding;
    public bool Unbind(Asid pasid) => _entries.Remove(pasid.Value);
    public PasidBinding? Lookup(Asid pasid) => _entries.GetValueOrDefault(pasid.Value);

    /// <summary>The requester's context entry: its requests without PASID use <paramref name="ridPasid"/>'s address space.</summary>
    public void BindRequester(SourceId requester, Asid ridPasid) => _contexts[requester.RequesterId] = ridPasid;
    public Asid? RidPasidOf(SourceId requester) => _contexts.TryGetValue(requester.RequesterId, out var a) ? a : null;
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

    /// <summary>
    /// A request from <paramref name="requester"/>: one without PASID (<see cref="Asid.WithoutPasid"/>, an SR-IOV
    /// VF's) takes the PASID its context entry names (RID_PASID), or faults 0x02 when the requester has none; one
    /// with a PASID is checked as <see cref="Check(PasidTable, Asid, ulong, ulong, bool, List{TrailStep}?)"/>.
    /// </summary>
    public static DmaDecision Check(PasidTable table, SourceId requester, Asid pasid, ulong address, ulong length, bool isWrite, List<TrailStep>? trail = null)
    {
        if (pasid != Asid.WithoutPasid) return Check(table, pasid, address, length, isWrite, trail);
        if (table.RidPasidOf(requester) is not { } ridPasid)
        {
            trail?.Add(new TrailStep("context", false, $"request without PASID from {requester}, which has no context entry -> fault {FaultReasons.Hex(FaultReason.DmaContextEntryNotPresent)}"));
            return new DmaDecision(FaultReason.DmaContextEntryNotPresent, null, -1);
        }
        trail?.Add(new TrailStep("context", true, $"request without PASID from {requester}: RID_PASID {ridPasid}"));
        return Check(table, ridPasid, address, length, isWrite, trail);
    }

    /// <param name="trail">When given (siv explain), each check in order, as the interrupt remapper reports its own.</param>
    public static DmaDecision Check(PasidTable table, Asid pasid, ulong address, ulong length, bool isWrite, List<TrailStep>? trail = null)
    {
        var access = isWrite ? "write" : "read";
        var denied = isWrite ? FaultReason.DmaNoWritePermission : FaultReason.DmaNoReadPermission;
        if (length == 0 || address >= 1ul << MgawBits || length > (1ul << MgawBits) - address)
        {
            trail?.Add(new TrailStep("address-width", false, $"{length} byte(s) at 0x{address:X} do not fit the {MgawBits}-bit guest address width -> fault {FaultReasons.Hex(FaultReason.DmaAddressBeyondMgaw)}"));
            return new DmaDecision(FaultReason.DmaAddressBeyondMgaw, null, -1);
        }
        trail?.Add(new TrailStep("address-width", true, $"0x{address:X}+{length} is below 2^{MgawBits}"));
        var binding = table.Lookup(pasid);
        if (binding is null)
        {
            trail?.Add(new TrailStep("pasid-table", false, $"no PASID-table entry for PASID {pasid} -> fault {FaultReasons.Hex(FaultReason.PasidTableEntryNotPresent)}"));
            return new DmaDecision(FaultReason.PasidTableEntryNotPresent, null, -1);
        }
        trail?.Add(new TrailStep("pasid-table", true, $"PASID {pasid} -> address space of {binding.Owner}"));
        if (InterruptWindow.Overlaps(address, length))
        {
            trail?.Add(new TrailStep("interrupt-window", false, $"0x{address:X}+{length} overlaps 0xFEE0_0000-0xFEEF_FFFF -> fault {FaultReasons.Hex(FaultReason.DmaOutputInInterruptRange)}"));
            return new DmaDecision(FaultReason.DmaOutputInInterruptRange, binding, -1);
        }
        trail?.Add(new TrailStep("interrupt-window", true, "outside 0xFEE0_0000-0xFEEF_FFFF"));
        var region = binding.AddressSpace.Find(address, length);
        if (region < 0)
        {
            // VT-d reports a not-present page as a permission fault of the access.
            trail?.Add(new TrailStep("mapping", false, $"0x{address:X}+{length} is in no mapped region -> fault {FaultReasons.Hex(denied)}"));
            return new DmaDecision(denied, binding, -1);
        }
        var r = binding.AddressSpace.Regions[region];
        trail?.Add(new TrailStep("mapping", true, $"in region \"{r.Name}\" 0x{r.Base:X}+0x{r.Length:X}"));
        var needed = isWrite ? DmaPermissions.Write : DmaPermissions.Read;
        if ((r.Permissions & needed) == 0)
        {
            trail?.Add(new TrailStep("permission", false, $"region \"{r.Name}\" is not mapped for {access} ({r.Permissions}) -> fault {FaultReasons.Hex(denied)}"));
            return new DmaDecision(denied, binding, region);
        }
        trail?.Add(new TrailStep("permission", true, $"{access} allowed ({r.Permissions})"));
        return new DmaDecision(FaultReason.None, binding, region);
    }
}
