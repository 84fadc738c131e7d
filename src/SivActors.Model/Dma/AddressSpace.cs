namespace SivActors.Model.Dma;

[Flags]
public enum DmaPermissions : byte
{
    None = 0,
    Read = 1,
    Write = 2,
    ReadWrite = Read | Write,
}

/// <summary>A mapped IOVA range of a container's address space.</summary>
public readonly record struct MappedRegion(string Name, ulong Base, ulong Length, DmaPermissions Permissions)
{
    public bool Contains(ulong address, ulong length) =>
        address >= Base && length <= Length && address - Base <= Length - length;
}

/// <summary>
/// A container's I/O address space as its PASID sees it: a few mapped regions with permissions. The second level is
/// identity-mapped, so the translated (output) address equals the input address.
/// </summary>
public sealed class AddressSpace
{
    private readonly MappedRegion[] _regions;

    public AddressSpace(IEnumerable<MappedRegion> regions)
    {
        _regions = regions.OrderBy(r => r.Base).ToArray();
        for (var i = 1; i < _regions.Length; i++)
            if (_regions[i - 1].Base + _regions[i - 1].Length > _regions[i].Base)
                throw new SivInputException($"mapped regions {_regions[i - 1].Name} and {_regions[i].Name} overlap");
    }

    public IReadOnlyList<MappedRegion> Regions => _regions;

    /// <summary>The region wholly containing [address, address+length), or -1.</summary>
    public int Find(ulong address, ulong length)
    {
        for (var i = 0; i < _regions.Length; i++)
            if (_regions[i].Contains(address, length)) return i;
        return -1;
    }
}
