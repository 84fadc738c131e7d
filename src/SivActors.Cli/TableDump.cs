using SivActors.Actors.Persistence;
using SivActors.Model.Identity;
using SivActors.Model.Tables;
using Spectre.Console;

namespace SivActors.Cli;

/// <summary>The JSON (and table) shape of `siv tables dump`: field names as in the hardware structures.</summary>
public static class TableDump
{
    public sealed record Document(IReadOnlyList<HostDump> Hosts);

    public sealed record HostDump(int Host, OwnerInfo InterruptUnit, IReadOnlyList<AsidBinding> AsidTable,
        IReadOnlyList<InterruptTableDump> InterruptTables, OwnerInfo Vdcm, IReadOnlyList<VdevDump> Vdevs)
    {
        /// <summary>Devices of the host that were surprise-removed (decision 41); absent when none was.</summary>
        [System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)]
        public IReadOnlyList<int>? RemovedDevices { get; init; }
    }

    public sealed record OwnerInfo(string PersistenceId, long SequenceNr, long SnapshotSequenceNr, long EventsReplayed);

    public sealed record AsidBinding(string Asid, int InterruptTable);

    public sealed record InterruptTableDump(int Id, int SizeExponent, int Size, int Used, IReadOnlyList<EntryDump> Entries);

    /// <summary>One interrupt entry: P, IM (posted/remapped), vector, destination (DST or PDA), SID/SVT, ASID, FPD.</summary>
    public sealed record EntryDump(int Handle, bool Present, string Mode, string Vector, string Destination, string Sid, string Svt,
        string Asid, string Target, bool Fpd);

    public sealed record VdevDump(string Container, string Asid, int InterruptTable, IReadOnlyList<string> Ais, IReadOnlyList<MsixDump> Msix);

    public sealed record MsixDump(int Entry, string Vector, bool Masked, int? InterruptHandle, int? ImsIndex);

    public static Document Build(IEnumerable<PersistedHost> hosts, Asid? onlyAsid)
    {
        var list = new List<HostDump>();
        foreach (var h in hosts)
        {
            var bindings = h.InterruptUnit.Asids.Bindings.Where(b => onlyAsid is null || b.Asid == onlyAsid).OrderBy(b => b.Asid.Value)
                .Select(b => new AsidBinding(b.Asid.ToString(), b.Table.Id)).ToList();
            var tables = h.InterruptUnit.Asids.Tables.Values.OrderBy(t => t.Id)
                .Select(t => new InterruptTableDump(t.Id, t.SizeExponent, t.Size, t.Count, t.Entries
                    .Where(kv => onlyAsid is null || kv.Value.Asid == onlyAsid)
                    .OrderBy(kv => kv.Key)
                    .Select(kv => new EntryDump(kv.Key, kv.Value.Present, kv.Value.Mode.ToString().ToLowerInvariant(), $"0x{kv.Value.Vector:X2}",
                        kv.Value.Mode == SivActors.Model.Interrupts.InterruptMode.Posted ? $"PDA 0x{kv.Value.PostedDescriptorAddress:X}" : $"DST {kv.Value.Destination}",
                        $"0x{kv.Value.Sid:X4}", kv.Value.Svt.ToString(), kv.Value.Asid.ToString(), kv.Value.Target.ToString(), kv.Value.FaultProcessingDisable))
                    .ToList()))
                .Where(t => onlyAsid is null || t.Entries.Count > 0 || bindings.Any(b => b.InterruptTable == t.Id))
                .ToList();
            var vdevs = h.Vdcm.Vdevs.OrderBy(kv => kv.Key.Value).Where(kv => onlyAsid is null || kv.Value.Device.Asid == onlyAsid)
                .Select(kv => new VdevDump(kv.Key.ToString(), kv.Value.Device.Asid.ToString(), kv.Value.TableId,
                    kv.Value.Device.Ais.Select((ai, i) => $"{ai} {kv.Value.Modes[i].ToString().ToLowerInvariant()}").ToList(),
                    kv.Value.Device.Msix.Select((e, i) => new MsixDump(i, $"0x{e.Vector:X2}", e.Masked, e.InterruptHandle, e.ImsIndex)).ToList()))
                .ToList();
            list.Add(new HostDump(h.Host, Owner(h.InterruptUnitRead), bindings, tables, Owner(h.VdcmRead), vdevs)
            {
                RemovedDevices = h.Vdcm.Composer.AnyRemoved ? h.Vdcm.RemovedDevices : null,
            });
        }
        return new Document(list);
    }

    private static OwnerInfo Owner(TableRead r) => new(r.PersistenceId, r.HighestSequenceNr, r.SnapshotSequenceNr, r.EventsReplayed);

    public static void Print(IAnsiConsole console, TopologyRecorded topology, Document doc)
    {
        console.MarkupLine($"tables of {Markup.Escape(topology.Describe())}");
        foreach (var h in doc.Hosts)
        {
            console.MarkupLine($"[bold]host {h.Host}[/]: {Markup.Escape(h.InterruptUnit.PersistenceId)} seq {h.InterruptUnit.SequenceNr:N0} " +
                               $"(snapshot at {h.InterruptUnit.SnapshotSequenceNr:N0}), {Markup.Escape(h.Vdcm.PersistenceId)} seq {h.Vdcm.SequenceNr:N0}");
            if (h.RemovedDevices is { } removed)
                console.MarkupLine($"surprise-removed devices: {string.Join(", ", removed.Select(d => $"d{d}"))} (no vdev uses them)");
            var asids = new Table().Title("ASID table").AddColumns("ASID", "interrupt table");
            foreach (var b in h.AsidTable) asids.AddRow(b.Asid, b.InterruptTable.ToString());
            console.Write(asids);
            foreach (var t in h.InterruptTables)
            {
                var table = new Table().Title($"interrupt table {t.Id}: S={t.SizeExponent}, {t.Used:N0}/{t.Size:N0} entries")
                    .AddColumns("handle", "P", "IM", "vector", "destination", "SID", "SVT", "ASID", "target", "FPD");
                foreach (var e in t.Entries)
                    table.AddRow(e.Handle.ToString(), e.Present ? "1" : "0", e.Mode, e.Vector, e.Destination, e.Sid, e.Svt, e.Asid, e.Target, e.Fpd ? "1" : "0");
                console.Write(table);
            }
            var vdevs = new Table().Title("vdev compositions").AddColumns("container", "ASID", "table", "AIs", "MSI-X (entry: vector mask handle/IMS)");
            foreach (var v in h.Vdevs)
                vdevs.AddRow(v.Container, v.Asid, v.InterruptTable.ToString(), Markup.Escape(string.Join(", ", v.Ais)),
                    Markup.Escape(string.Join("; ", v.Msix.Select(m => $"{m.Entry}: {m.Vector} {(m.Masked ? "M" : "-")} {m.InterruptHandle?.ToString() ?? "-"}/{m.ImsIndex?.ToString() ?? "-"}"))));
            console.Write(vdevs);
        }
    }
}
