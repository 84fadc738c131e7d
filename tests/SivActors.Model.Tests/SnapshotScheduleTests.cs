using SivActors.Model.Identity;
using SivActors.Model.Tables;
using SivActors.Model.Vdcm;

namespace SivActors.Model.Tests;

public sealed class SnapshotScheduleTests
{
    [Theory]
    [InlineData(10_000, 0, 10_000)]
    [InlineData(10_000, 9_999, 10_000)]
    [InlineData(10_000, 250_000, 250_000)]
    [InlineData(25, 26, 26)]
    public void The_next_snapshot_waits_the_minimum_or_as_many_events_as_the_table_holds_entries(int minimum, long entries, long expected) =>
        Assert.Equal(expected, SnapshotSchedule.EventsUntilNext(minimum, entries));

    [Fact]
    public void A_minimum_below_one_event_is_refused() =>
        Assert.Throws<ArgumentOutOfRangeException>(() => SnapshotSchedule.EventsUntilNext(0, 5));

    [Fact]
    public void A_growing_table_pays_linear_snapshot_work_and_replays_no_more_than_its_snapshot_holds()
    {
        // A table that gains one entry per event up to two million, as composing a million vdevs does.
        const long events = 2_000_000;
        const int minimum = 10_000;
        long at = 0, next = minimum, encoded = 0, snapshots = 0, longestReplay = 0;
        for (long seq = 1; seq <= events; seq++)
        {
            longestReplay = Math.Max(longestReplay, seq - at);
            if (seq - at < next) continue;
            encoded += seq; // the snapshot encodes every entry the table holds
            snapshots++;
            at = seq;
            next = SnapshotSchedule.EventsUntilNext(minimum, seq);
        }
        Assert.InRange(encoded, events, 2 * events);
        Assert.InRange(snapshots, 7, 9); // 10k, 20k, 40k, ... 1.28M
        // A crash just before a snapshot is due replays about as many events as the last snapshot holds entries.
        Assert.True(longestReplay <= Math.Max(minimum, at) + 1, $"replay {longestReplay} after a snapshot of {at}");
    }

    [Fact]
    public void The_interrupt_unit_counts_its_bound_asids_and_entries_in_use()
    {
        var tables = new InterruptUnitTables();
        Assert.Equal(0, tables.EntryCount);
        for (var t = 1; t <= 3; t++) tables.Apply(tables.DecideBind(Asid.Create(t), 0, 4).Event!);
        for (var t = 1; t <= 3; t++)
        for (var i = 0; i < 2; i++)
            tables.Apply(tables.DecideProgram(Asid.Create(t), null, new() { Present = true, Asid = Asid.Create(t), Target = new ContainerId(t) }).Event!);
        Assert.Equal(3 + 6, tables.EntryCount);
        tables.Apply(tables.DecideFree(Asid.Create(1), 0)!);
        Assert.Equal(3 + 5, tables.EntryCount);
        Assert.Equal(tables.EntryCount, TableCodec.DecodeSnapshot(TableCodec.EncodeSnapshot(tables)).EntryCount);
    }

    [Fact]
    public void The_vdcm_counts_each_composition_and_its_msix_entries()
    {
        var state = new VdcmCompositions(new HostId(0), new Composer(devices: 2, aisPerDevice: 4, CompositionPolicy.Shared), asidsPerInterruptTable: 4);
        Assert.Equal(0, state.EntryCount);
        state.Apply(state.DecideCompose(new ContainerId(0), Asid.Create(1), aiCount: 1));
        state.Apply(state.DecideCompose(new ContainerId(1), Asid.Create(2), aiCount: 3));
        // Entry 0 of each vdev's MSI-X table is the VDCM's own vector; one more per AI.
        Assert.Equal((1 + 2) + (1 + 4), state.EntryCount);
    }
}
