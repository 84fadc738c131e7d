using SivActors.Model.Device;
using SivActors.Model.Identity;
using SivActors.Model.Tables;
using SivActors.Model.Vdcm;

namespace SivActors.Model.Tests;

public sealed class VdcmTableTests
{
    private static readonly HostId Host = new(2);

    private static VdcmCompositions NewState(CompositionPolicy policy = CompositionPolicy.Shared) =>
        new(Host, new Composer(devices: 3, aisPerDevice: 4, policy), asidsPerInterruptTable: 4);

    /// <summary>Composes, programs MSI-X entries and resets some vdevs, as the VDCM does; returns every event.</summary>
    private static List<VdcmEvent> Drive(VdcmCompositions state, int vdevs)
    {
        var events = new List<VdcmEvent>();
        void Commit(VdcmEvent e)
        {
            state.Apply(e);
            events.Add(e);
        }
        for (var c = 0; c < vdevs; c++) Commit(state.DecideCompose(new ContainerId(c), Asid.Create(c + 1), aiCount: 1 + c % 3));
        for (var c = 0; c < vdevs; c++)
        {
            var msix = state.Vdevs[new ContainerId(c)].Device.Msix;
            for (var e = 1; e < msix.Count; e++)
                Commit(new MsixEntrySet(new ContainerId(c), e, msix[e] with { Data = (uint)(0x40 + e), Masked = false, InterruptHandle = c * 8 + e, ImsIndex = (ushort)(c * 8 + e) }));
        }
        for (var c = 0; c < vdevs; c += 3) Commit(new VdevReset(new ContainerId(c)));
        return events;
    }

    [Fact]
    public void Every_event_round_trips_through_the_codec()
    {
        VdcmEvent[] events =
        [
            new VdevComposed(new ContainerId(99_999), Asid.Create(Asid.MaxValue - 1), 6_249, [new ComposedAi(3, 255, WorkQueueMode.Shared), new ComposedAi(0, 0, WorkQueueMode.Dedicated)]),
            new MsixEntrySet(new ContainerId(7), 8, new VirtualMsixEntry(0xFEE0_0000_1234_5678, 0xDEAD_BEEF, true) { AiSlot = 7, InterruptHandle = 65_535, ImsIndex = 65_535 }),
            new MsixEntrySet(new ContainerId(0), 0, new VirtualMsixEntry(0, 0, false)),
            new VdevReset(new ContainerId(12)),
            new DeviceRemoved(15),
            new VdevRecomposed(new ContainerId(1_000_000), 7, new ComposedAi(15, 1023, WorkQueueMode.Dedicated)),
            new VdevTornDown(new ContainerId(3)),
        ];
        foreach (var e in events)
        {
            var back = VdcmCodec.DecodeEvent(VdcmCodec.Encode(e));
            if (e is VdevComposed c) Assert.Equal(c.Ais, ((VdevComposed)back).Ais);
            else Assert.Equal(e, back);
            Assert.Equal(VdcmCodec.Encode(e), VdcmCodec.Encode(back));
        }
    }

    [Fact]
    public void Replay_and_snapshot_rebuild_identical_compositions_and_the_composer_continues_the_same_way()
    {
        var original = NewState();
        var events = Drive(original, vdevs: 10);

        var replayed = NewState();
        foreach (var e in events) replayed.Apply(VdcmCodec.DecodeEvent(VdcmCodec.Encode(e)));
        var restored = NewState();
        VdcmCodec.RestoreSnapshot(restored, VdcmCodec.EncodeSnapshot(original));

        Assert.Equal(VdcmCodec.Digest(original), VdcmCodec.Digest(replayed));
        Assert.Equal(VdcmCodec.Digest(original), VdcmCodec.Digest(restored));
        var next = original.DecideCompose(new ContainerId(10), Asid.Create(11), 2);
        Assert.Equal(next.Ais, replayed.DecideCompose(new ContainerId(10), Asid.Create(11), 2).Ais);
        Assert.Equal(next.Ais, restored.DecideCompose(new ContainerId(10), Asid.Create(11), 2).Ais);
        Assert.Equal(next.TableId, restored.DecideCompose(new ContainerId(10), Asid.Create(11), 2).TableId);
    }

    [Fact]
    public void Deciding_a_composition_takes_nothing_until_it_is_applied()
    {
        var state = NewState(CompositionPolicy.Dedicated);
        var first = state.DecideCompose(new ContainerId(0), Asid.Create(1), 2);
        Assert.Equal(first.Ais, state.DecideCompose(new ContainerId(0), Asid.Create(1), 2).Ais);
        state.Apply(first);
        Assert.NotEqual(first.Ais, state.DecideCompose(new ContainerId(1), Asid.Create(2), 2).Ais);
        Assert.Throws<SivInputException>(() => state.DecideCompose(new ContainerId(0), Asid.Create(1), 1));
    }

    [Fact]
    public void A_reset_vdev_holds_no_handle_and_the_digest_sees_every_msix_field()
    {
        var state = NewState();
        Drive(state, vdevs: 4);
        Assert.All(state.Vdevs[new ContainerId(0)].Device.Msix, e => Assert.Null(e.InterruptHandle));
        var before = VdcmCodec.Digest(state);
        var c1 = new ContainerId(1);
        state.Apply(new MsixEntrySet(c1, 1, state.Vdevs[c1].Device.Msix[1] with { Masked = true }));
        Assert.NotEqual(before, VdcmCodec.Digest(state));
    }
}
