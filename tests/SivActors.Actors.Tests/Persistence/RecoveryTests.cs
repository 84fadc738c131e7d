using SivActors.Actors.Hosting;
using SivActors.Actors.Persistence;
using SivActors.Actors.Run;
using SivActors.Actors.Wire;
using SivActors.Cli;
using SivActors.Model.Identity;
using SivActors.Model.Interrupts;
using SivActors.Model.Tables;
using Iu = SivActors.Actors.InterruptUnit.InterruptUnitProtocol;

namespace SivActors.Actors.Tests.Persistence;

/// <summary>Tables written by one actor system are exactly what the next one on the same database recovers.</summary>
public sealed class RecoveryTests
{
    private static readonly HostId Host0 = new(0);

    private static InterruptEntry Entry(Asid asid, int n) => new()
    {
        Present = true,
        Mode = n % 3 == 0 ? InterruptMode.Posted : InterruptMode.Remapped,
        Vector = (byte)(0x40 + n % 0xB0),
        Destination = (uint)n,
        PostedDescriptorAddress = n % 3 == 0 ? 0x5000_0000ul : 0,
        Sid = (ushort)(0x6A00 + n % 8),
        Svt = SourceValidation.RequesterId,
        Asid = asid,
        Target = new ContainerId((int)asid.Value - 1),
    };

    /// <summary>Binds <paramref name="asids"/> ASIDs (4 per table) and programs entries round-robin over them; frees every tenth.</summary>
    private static async Task Program(PersistentNode node, int asids, int entries, int firstAsid = 1)
    {
        var binds = Enumerable.Range(firstAsid, asids).Select(a =>
            node.Ask<Iu.AsidBindingDone>(new Iu.BindAsid(Host0, Asid.Create(a), (a - 1) / 4, 12)));
        Assert.All(await Task.WhenAll(binds), b => Assert.Null(b.Error));
        var programs = Enumerable.Range(0, entries).Select(i =>
        {
            var asid = Asid.Create(firstAsid + i % asids);
            return node.Ask<object>(new Iu.ProgramEntry(Host0, i, asid, null, Entry(asid, i)));
        });
        var programmed = (await Task.WhenAll(programs)).Select(r => Assert.IsType<Iu.EntryProgrammed>(r)).ToList();
        var frees = programmed.Where((_, i) => i % 10 == 0).Select(p =>
            node.Ask<Iu.EntryFreed>(new Iu.FreeEntry(Host0, p.RequestId, Asid.Create(firstAsid + (int)p.RequestId % asids), p.Handle)));
        Assert.All(await Task.WhenAll(frees), f => Assert.Null(f.Error));
    }

    private static async Task<SortedDictionary<string, string>> LiveDigests(PersistentNode node)
    {
        var tables = await node.Ask<Iu.Tables>(new Iu.GetTables(Host0));
        return TableCodec.Digests(TableCodec.DecodeSnapshot(tables.Snapshot));
    }

    [Theory]
    [MemberData(nameof(TestStores.Kinds), MemberType = typeof(TestStores))]
    public async Task Thousands_of_entries_recover_with_identical_digests_from_events_and_from_snapshots(string kind)
    {
        await using var db = await TestStores.CreateAsync(kind);
        var store = db.Store with { SnapshotEvery = 1_000 };
        var scenario = TestScenarios.Small();
        SortedDictionary<string, string> written;
        await using (var node = await PersistentNode.StartAsync(store, scenario))
        {
            await Program(node, asids: 40, entries: 3_000);
            written = await LiveDigests(node);
            // Snapshots are saved asynchronously; stopping the node may abandon one in flight. Wait until one is in
            // the store, so the third phase below really recovers from a snapshot plus later events.
            var topology = TopologyRecorded.Of(scenario.Scenario);
            var deadline = System.Diagnostics.Stopwatch.StartNew();
            while ((await TableInspector.ReadHostAsync(node.System, topology, 0, fromEvents: false, TimeSpan.FromSeconds(30))).InterruptUnitRead.SnapshotSequenceNr == 0)
            {
                Assert.True(deadline.Elapsed < TimeSpan.FromSeconds(30), "no snapshot was saved within 30 s");
                await Task.Delay(100);
            }
        }
        Assert.Equal(11, written.Count); // 10 interrupt tables + the ASID table

        await using (var node = await PersistentNode.StartAsync(store, scenario))
        {
            Assert.Equal(written, await LiveDigests(node));
            // Later events on top of the snapshots, then another restart.
            await Program(node, asids: 8, entries: 500, firstAsid: 41);
            written = await LiveDigests(node);
        }

        await using (var node = await PersistentNode.StartAsync(store, scenario))
        {
            Assert.Equal(written, await LiveDigests(node));
            var topology = TopologyRecorded.Of(scenario.Scenario);
            var fromSnapshot = await TableInspector.ReadHostAsync(node.System, topology, 0, fromEvents: false, TimeSpan.FromSeconds(30));
            var fromEvents = await TableInspector.ReadHostAsync(node.System, topology, 0, fromEvents: true, TimeSpan.FromSeconds(30));
            Assert.True(fromSnapshot.InterruptUnitRead.SnapshotSequenceNr > 0, "a snapshot was used");
            Assert.True(fromSnapshot.InterruptUnitRead.EventsReplayed > 0, "events after the snapshot were replayed");
            Assert.Equal(0, fromEvents.InterruptUnitRead.SnapshotSequenceNr);
            Assert.Equal(fromEvents.InterruptUnitRead.HighestSequenceNr, fromEvents.InterruptUnitRead.EventsReplayed);
            Assert.Equal(written, TableCodec.Digests(fromSnapshot.InterruptUnit));
            Assert.Equal(written, TableCodec.Digests(fromEvents.InterruptUnit));
        }
    }

    [Theory]
    [MemberData(nameof(TestStores.Kinds), MemberType = typeof(TestStores))]
    public async Task A_second_run_resumes_the_tables_and_a_different_topology_is_refused(string kind)
    {
        await using var db = await TestStores.CreateAsync(kind);
        var store = db.Store with { SnapshotEvery = 200 };
        var scenario = TestScenarios.Small();

        var first = await EmulatorRun.RunAsync(scenario, new RunProgress(), store: store);
        Assert.Null(first.Failure);
        Assert.True(first.Report!.Invariants.Passed, string.Join("; ", first.Report.Invariants.Violations));
        Assert.False(first.Report.Tables!.Resumed);
        Assert.True(first.Report.Tables.DurableChanges > 0);
        var afterFirst = await ReadAll(store);
        AssertTablesAgree(afterFirst);

        var second = await EmulatorRun.RunAsync(scenario, new RunProgress(), store: store);
        Assert.Null(second.Failure);
        Assert.True(second.Report!.Invariants.Passed, string.Join("; ", second.Report.Invariants.Violations));
        Assert.True(second.Report.Tables!.Resumed);
        var afterSecond = await ReadAll(store);
        AssertTablesAgree(afterSecond);
        // Resumed, not rebuilt: every vdev kept its composition (same AIs, ASID and interrupt table).
        Assert.Equal(Compositions(afterFirst), Compositions(afterSecond));

        var other = TestScenarios.Small(s => s with { Topology = s.Topology with { Containers = 6 } });
        var refused = await Assert.ThrowsAsync<SivActors.Model.SivInputException>(() => EmulatorRun.RunAsync(other, new RunProgress(), store: store));
        Assert.Contains("--fresh", refused.Message);
        Assert.Equal(TableInspector.Digests(afterSecond.Hosts), TableInspector.Digests((await ReadAll(store)).Hosts));

        var fresh = await EmulatorRun.RunAsync(other, new RunProgress(), store: store, fresh: true);
        Assert.Null(fresh.Failure);
        Assert.False(fresh.Report!.Tables!.Resumed);
    }

    private static Task<TablesCommand.ReadResult> ReadAll(TableStore store) => TablesCommand.ReadAsync(store, null, fromEvents: false, CancellationToken.None);

    private static List<string> Compositions(TablesCommand.ReadResult r) => r.Hosts
        .SelectMany(h => h.Vdcm.Vdevs.Select(kv => $"{kv.Key} {kv.Value.Device.Asid} t{kv.Value.TableId} {string.Join(",", kv.Value.Device.Ais)}"))
        .Order().ToList();

    /// <summary>
    /// Every interrupt handle a VDCM's MSI-X entries hold exists in its host's interrupt table with that tenant's
    /// ASID, and the interrupt tables hold no entry that no vdev owns.
    /// </summary>
    internal static void AssertTablesAgree(TablesCommand.ReadResult r)
    {
        foreach (var h in r.Hosts)
        {
            var held = h.Vdcm.Vdevs.Values
                .SelectMany(v => v.Device.Msix.Select((e, i) => (e, i)).Where(x => x.e.InterruptHandle is not null)
                    .Select(x => (Key: $"table {v.TableId} handle {x.e.InterruptHandle} {v.Device.Asid}", Slot: $"table {v.TableId} handle {x.e.InterruptHandle}",
                        Who: $"{v.Device.Owner} entry {x.i}")))
                .ToList();
            var shared = held.GroupBy(x => x.Slot).Where(g => g.Count() > 1).Select(g => $"{g.Key}: {string.Join(", ", g.Select(x => x.Who))}").ToList();
            Assert.True(shared.Count == 0, "handles held twice: " + string.Join("; ", shared));
            var present = h.InterruptUnit.Asids.Tables.Values
                .SelectMany(t => t.Entries.Select(kv => $"table {t.Id} handle {kv.Key} {kv.Value.Asid}"))
                .Order(StringComparer.Ordinal).ToList();
            Assert.Equal(held.Select(x => x.Key).Order(StringComparer.Ordinal).ToList(), present);
            Assert.NotEmpty(held);
        }
    }
}
