using SivActors.Model.Identity;
using SivActors.Model.Interrupts;
using SivActors.Model.Tables;

namespace SivActors.Model.Tests;

public sealed class TableTests
{
    private static InterruptEntry Entry(int i) => new()
    {
        Present = true,
        FaultProcessingDisable = i % 5 == 0,
        Mode = i % 2 == 0 ? InterruptMode.Posted : InterruptMode.Remapped,
        Vector = (byte)(0x40 + i % 0x80),
        DestinationModeLogical = i % 3 == 0,
        RedirectionHint = i % 7 == 0,
        TriggerModeLevel = i % 11 == 0,
        DeliveryMode = (byte)(i % 8),
        Destination = (uint)i * 17,
        Urgent = i % 13 == 0,
        PostedDescriptorAddress = i % 2 == 0 ? 0x5000_0000ul + (ulong)i * 64 : 0,
        Sid = (ushort)(0x6A00 + i % 8),
        Sq = (byte)(i % 4),
        Svt = (SourceValidation)(i % 3),
        ReservedBitsSet = i % 97 == 0,
        Asid = Asid.Create(1 + i % 1000),
        Target = new ContainerId(i),
    };

    /// <summary>Decides and applies, returning every event, as the owning actor does after each write.</summary>
    private static List<InterruptUnitEvent> Program(InterruptUnitTables state, int tenants, int entriesPerTenant)
    {
        var events = new List<InterruptUnitEvent>();
        void Commit(InterruptUnitEvent e)
        {
            state.Apply(e);
            events.Add(e);
        }
        for (var t = 0; t < tenants; t++) Commit(state.DecideBind(Asid.Create(t + 1), t / 4, 15).Event!);
        for (var i = 0; i < entriesPerTenant; i++)
            for (var t = 0; t < tenants; t++)
                Commit(state.DecideProgram(Asid.Create(t + 1), null, Entry(i * tenants + t) with { Asid = Asid.Create(t + 1) }).Event!);
        // Free every third entry of tenant 1, then reprogram one in place.
        foreach (var (handle, _) in state.Asids.Lookup(Asid.Create(1))!.Entries.Where(kv => kv.Key % 3 == 0 && kv.Value.Asid == Asid.Create(1)).ToList())
            Commit(state.DecideFree(Asid.Create(1), handle)!);
        Commit(state.DecideProgram(Asid.Create(2), 1, Entry(5)).Event!);
        return events;
    }

    [Fact]
    public void Deciding_changes_nothing_and_applying_changes_exactly_the_decision()
    {
        var state = new InterruptUnitTables();
        state.Apply(state.DecideBind(Asid.Create(9), 0, 3).Event!);
        var before = TableCodec.Digests(state);
        var decision = state.DecideProgram(Asid.Create(9), null, Entry(1));
        Assert.Equal(before, TableCodec.Digests(state));
        var written = Assert.IsType<EntryWritten>(decision.Event);
        Assert.True(written.Allocated);
        state.Apply(written);
        Assert.Equal(Entry(1), state.Asids.Lookup(Asid.Create(9))!.Get(written.Handle));
    }

    [Theory]
    [InlineData(77, 3, null, "ASID 0x0004D has no interrupt table")]
    [InlineData(9, 3, 16, "handle 16 is beyond table size 16")]
    public void Bad_programming_is_rejected_with_a_reason(int asid, int s, int? handle, string error)
    {
        var state = new InterruptUnitTables();
        state.Apply(state.DecideBind(Asid.Create(9), 0, s).Event!);
        var d = state.DecideProgram(Asid.Create(asid), handle, Entry(1));
        Assert.Null(d.Event);
        Assert.Equal(error, d.Error);
    }

    [Fact]
    public void A_full_table_rejects_and_rebinding_a_table_with_another_size_is_refused()
    {
        var state = new InterruptUnitTables();
        state.Apply(state.DecideBind(Asid.Create(1), 0, 0).Event!);
        state.Apply(state.DecideProgram(Asid.Create(1), null, Entry(1)).Event!);
        state.Apply(state.DecideProgram(Asid.Create(1), null, Entry(2)).Event!);
        Assert.Equal("interrupt table 0 is full (2 entries)", state.DecideProgram(Asid.Create(1), null, Entry(3)).Error);
        Assert.Contains("exists with S=0", state.DecideBind(Asid.Create(2), 0, 5).Error);
    }

    [Fact]
    public void Every_event_round_trips_through_the_codec()
    {
        InterruptUnitEvent[] events =
        [
            new AsidBound(Asid.Create(Asid.MaxValue - 1), 123_456, 15),
            new EntryWritten(7, 65_535, Entry(96) with { Destination = uint.MaxValue, PostedDescriptorAddress = ulong.MaxValue & ~0x3Ful }, true),
            new EntryWritten(0, 0, new InterruptEntry(), false),
            new EntryFreed(3, 42),
        ];
        foreach (var e in events) Assert.Equal(e, TableCodec.DecodeEvent(TableCodec.Encode(e)));
    }

    [Fact]
    public void Replaying_the_events_rebuilds_identical_tables()
    {
        var original = new InterruptUnitTables();
        var events = Program(original, tenants: 16, entriesPerTenant: 250);
        var replayed = new InterruptUnitTables();
        foreach (var e in events) replayed.Apply(TableCodec.DecodeEvent(TableCodec.Encode(e)));
        Assert.Equal(TableCodec.Digests(original), TableCodec.Digests(replayed));
        // The next-fit cursor came back too: the next allocation picks the same handle.
        Assert.Equal(original.DecideProgram(Asid.Create(1), null, Entry(1)).Event, replayed.DecideProgram(Asid.Create(1), null, Entry(1)).Event);
    }

    [Fact]
    public void A_snapshot_restores_every_table_and_its_cursor()
    {
        var original = new InterruptUnitTables();
        Program(original, tenants: 8, entriesPerTenant: 500);
        var restored = TableCodec.DecodeSnapshot(TableCodec.EncodeSnapshot(original));
        Assert.Equal(TableCodec.Digests(original), TableCodec.Digests(restored));
        Assert.Equal(original.Asids.BoundAsids, restored.Asids.BoundAsids);
        for (var t = 1; t <= 8; t++)
            Assert.Equal(original.DecideProgram(Asid.Create(t), null, Entry(t)).Event, restored.DecideProgram(Asid.Create(t), null, Entry(t)).Event);
    }

    [Fact]
    public void Digests_depend_on_content_only()
    {
        var a = new InterruptUnitTables();
        var b = new InterruptUnitTables();
        a.Apply(new AsidBound(Asid.Create(1), 0, 4));
        b.Apply(new AsidBound(Asid.Create(1), 0, 4));
        a.Apply(new EntryWritten(0, 1, Entry(1), false));
        a.Apply(new EntryWritten(0, 2, Entry(2), false));
        b.Apply(new EntryWritten(0, 2, Entry(2), false)); // other order, same content
        b.Apply(new EntryWritten(0, 1, Entry(1), false));
        Assert.Equal(TableCodec.Digests(a), TableCodec.Digests(b));
        b.Apply(new EntryWritten(0, 1, Entry(1) with { Vector = 0x99 }, false));
        Assert.NotEqual(TableCodec.Digests(a)["interrupt-table/0"], TableCodec.Digests(b)["interrupt-table/0"]);
        Assert.Equal(TableCodec.Digests(a)["asid-table"], TableCodec.Digests(b)["asid-table"]);
    }

    [Fact]
    public void An_unknown_format_version_is_refused_not_guessed()
    {
        var bytes = TableCodec.Encode(new EntryFreed(1, 2));
        bytes[0] = 9;
        var e = Assert.Throws<InvalidDataException>(() => TableCodec.DecodeEvent(bytes));
        Assert.Contains("format version 9", e.Message);
    }

    [Fact]
    public void A_tenant_cannot_program_a_handle_another_tenant_holds()
    {
        var state = new InterruptUnitTables();
        state.Apply(state.DecideBind(Asid.Create(1), 0, 4).Event!);
        state.Apply(state.DecideBind(Asid.Create(2), 0, 4).Event!);
        var mine = (EntryWritten)state.DecideProgram(Asid.Create(1), null, Entry(1) with { Asid = Asid.Create(1) }).Event!;
        state.Apply(mine);
        var d = state.DecideProgram(Asid.Create(2), mine.Handle, Entry(2) with { Asid = Asid.Create(2) });
        Assert.Null(d.Event);
        Assert.Equal($"handle {mine.Handle} of interrupt table 0 belongs to ASID 0x00001, not 0x00002", d.Error);
        Assert.NotNull(state.DecideProgram(Asid.Create(1), mine.Handle, Entry(3) with { Asid = Asid.Create(1) }).Event);
    }

    [Fact]
    public void Reconciling_frees_exactly_the_entries_a_tenant_no_longer_holds()
    {
        var state = new InterruptUnitTables();
        Program(state, tenants: 4, entriesPerTenant: 6);
        var tenant = Asid.Create(3);
        var held = state.Asids.Lookup(tenant)!.Entries.Where(kv => kv.Value.Asid == tenant).Select(kv => kv.Key).ToList();
        var keep = held.Take(2).ToHashSet();
        var freed = state.DecideReconcile(tenant, keep).Cast<EntryFreed>().ToList();
        Assert.Equal(held.Skip(2).Order(), freed.Select(f => f.Handle));
        foreach (var f in freed) state.Apply(f);
        Assert.Equal(keep.Order(), state.Asids.Lookup(tenant)!.Entries.Where(kv => kv.Value.Asid == tenant).Select(kv => kv.Key).Order());
        Assert.Equal(6, state.Asids.Lookup(Asid.Create(4))!.Entries.Count(kv => kv.Value.Asid == Asid.Create(4)));
        Assert.Empty(state.DecideReconcile(tenant, keep));
    }

    [Fact]
    public void Reconciling_writes_back_the_vector_the_vdcm_made_durable_and_leaves_matching_and_foreign_entries_alone()
    {
        // The VDCM made the guest's new vector (0x4B -> 0xA2) durable and stopped before it wrote the entry: its
        // record is the one the guest was promised, so the entry is written to it.
        var state = new InterruptUnitTables();
        state.Apply(state.DecideBind(Asid.Create(1), 0, 4).Event!);
        state.Apply(state.DecideBind(Asid.Create(2), 0, 4).Event!);
        var mine = Entry(1) with { Asid = Asid.Create(1), Vector = 0x4B };
        var same = Entry(3) with { Asid = Asid.Create(1) };
        var theirs = Entry(2) with { Asid = Asid.Create(2) };
        var a = (EntryWritten)state.DecideProgram(Asid.Create(1), null, mine).Event!;
        state.Apply(a);
        var b = (EntryWritten)state.DecideProgram(Asid.Create(1), null, same).Event!;
        state.Apply(b);
        var c = (EntryWritten)state.DecideProgram(Asid.Create(2), null, theirs).Event!;
        state.Apply(c);

        var expected = new Dictionary<int, InterruptEntry>
        {
            [a.Handle] = mine with { Vector = 0xA2 },
            [b.Handle] = same,
            // Another tenant's handle is never written for this one, whatever the VDCM believes.
            [c.Handle] = theirs with { Asid = Asid.Create(1), Vector = 0x99 },
        };
        var events = state.DecideReconcile(Asid.Create(1), new HashSet<int> { a.Handle, b.Handle, c.Handle }, expected);
        var written = Assert.IsType<EntryWritten>(Assert.Single(events));
        Assert.Equal((a.Handle, (byte)0xA2, false), (written.Handle, written.Entry.Vector, written.Allocated));
        state.Apply(written);
        Assert.Equal(0xA2, state.Asids.Lookup(Asid.Create(1))!.Get(a.Handle)!.Vector);
        Assert.Equal(theirs, state.Asids.Lookup(Asid.Create(2))!.Get(c.Handle));
        Assert.Empty(state.DecideReconcile(Asid.Create(1), new HashSet<int> { a.Handle, b.Handle }, expected));
    }

    [Fact]
    public void Rebinding_an_asid_to_its_table_changes_nothing()
    {
        var state = new InterruptUnitTables();
        state.Apply(state.DecideBind(Asid.Create(1), 0, 4).Event!);
        var again = state.DecideBind(Asid.Create(1), 0, 4);
        Assert.Null(again.Event);
        Assert.Null(again.Error);
    }
}
