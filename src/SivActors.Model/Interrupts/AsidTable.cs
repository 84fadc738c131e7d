using SivActors.Model.Identity;

namespace SivActors.Model.Interrupts;

/// <summary>
/// The patent's two-level lookup: a register points at the ASID table; the entry for an ASID points at an
/// interrupt table; the interrupt entry is selected by handle. Several ASIDs may point at the same table (the
/// VMM groups tenants); the entry's own ASID is what the equality check compares.
/// </summary>
public sealed class AsidTable
{
    private readonly Dictionary<uint, InterruptTable> _byAsid = new();
    private readonly Dictionary<int, InterruptTable> _tables = new();

    public int BoundAsids => _byAsid.Count;
    public IReadOnlyDictionary<int, InterruptTable> Tables => _tables;
    public IEnumerable<(Asid Asid, InterruptTable Table)> Bindings =>
        _byAsid.Select(kv => (Asid.FromMasked(kv.Key), kv.Value));

    public InterruptTable GetOrCreateTable(int tableId, int sizeExponent)
    {
        if (!_tables.TryGetValue(tableId, out var table))
        {
            table = new InterruptTable(tableId, sizeExponent);
            _tables.Add(tableId, table);
        }
        return table;
    }

    public void Bind(Asid asid, InterruptTable table)
    {
        if (!_tables.ContainsKey(table.Id)) _tables.Add(table.Id, table);
        _byAsid[asid.Value] = table;
    }

    public bool Unbind(Asid asid) => _byAsid.Remove(asid.Value);

    public InterruptTable? Lookup(Asid asid) => _byAsid.GetValueOrDefault(asid.Value);
}
