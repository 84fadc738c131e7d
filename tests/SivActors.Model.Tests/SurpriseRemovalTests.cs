using SivActors.Model.Device;
using SivActors.Model.Identity;
using SivActors.Model.Tables;
using SivActors.Model.Vdcm;

namespace SivActors.Model.Tests;

/// <summary>
/// A hosting function surprise-removed (decision 41): every vdev with an AI on it moves that slot to another device
/// in the slot's own mode, or is torn down when the policy has no AI for it; the state replays and snapshots alike.
/// </summary>
public sealed class SurpriseRemovalTests
{
    private static readonly HostId Host = new(0);

    private static VdcmCompositions NewState(CompositionPolicy policy, int devices = 3, int aisPerDevice = 4) =>
        new(Host, new Composer(devices, aisPerDevice, policy), asidsPerInterruptTable: 4);

    private sealed class Journal(VdcmCompositions state)
    {
        public List<VdcmEvent> Events { get; } = [];

        public void Commit(VdcmEvent e)
        {
            state.Apply(e);
            Events.Add(e);
        }

        /// <summary>What the VDCM does on a removal: record it, then rescue every stranded vdev step by step.</summary>
        public void Remove(int device)
        {
            Commit(new DeviceRemoved(device));
            foreach (var c in state.Stranded())
                while (state.DecideRescue(c) is { } step) Commit(step);
        }
    }

    private static Journal Composed(VdcmCompositions state, int vdevs, int aisPerVdev)
    {
        var j = new Journal(state);
        for (var c = 0; c < vdevs; c++) j.Commit(state.DecideCompose(new ContainerId(c), Asid.Create(c + 1), aisPerVdev));
        for (var c = 0; c < vdevs; c++)
        {
            var msix = state.Vdevs[new ContainerId(c)].Device.Msix;
            for (var e = 1; e < msix.Count; e++)
                j.Commit(new MsixEntrySet(new ContainerId(c), e, msix[e] with { Data = (uint)(0x40 + e), Masked = false, InterruptHandle = c * 8 + e, ImsIndex = (ushort)(c * 8 + e) }));
        }
        return j;
    }

    [Fact]
    public void Shared_wqs_move_every_stranded_slot_to_a_device_still_present_and_keep_the_vector_unbacked()
    {
        var state = NewState(CompositionPolicy.Shared);
        var j = Composed(state, vdevs: 9, aisPerVdev: 2);
        var onDevice1 = state.Vdevs.Where(kv => kv.Value.Picks.Any(p => p.Device == 1)).Select(kv => kv.Key).ToList();
        Assert.NotEmpty(onDevice1);

        j.Remove(1);

        Assert.Empty(state.Stranded());
        Assert.Equal(9, state.Vdevs.Count);
        foreach (var c in onDevice1)
        {
            var v = state.Vdevs[c];
            Assert.All(v.Picks, p => Assert.NotEqual(1, p.Device));
            Assert.All(v.Device.Ais, a => Assert.NotEqual(1, a.Device.Index));
            Assert.Equal(2, v.Picks.Select(p => p.Device).Distinct().Count()); // still spans two devices
            Assert.All(v.Modes, m => Assert.Equal(WorkQueueMode.Shared, m));
            // The moved slot's entry keeps its vector and mask; its handle and IMS index belonged to the removed AI.
            foreach (var e in v.Device.Msix.Skip(1))
            {
                Assert.Equal((uint)(0x40 + e.AiSlot + 1), e.Data);
                Assert.False(e.Masked);
            }
            Assert.Contains(v.Device.Msix.Skip(1), e => e.InterruptHandle is null && e.ImsIndex is null);
        }
        // Vdevs that never used device 1 are untouched, backing included.
        foreach (var (c, v) in state.Vdevs.Where(kv => !onDevice1.Contains(kv.Key)))
            Assert.All(v.Device.Msix.Skip(1), e => Assert.NotNull(e.InterruptHandle));
    }

    [Fact]
    public void A_new_vdev_is_never_composed_on_a_removed_device()
    {
        foreach (var policy in new[] { CompositionPolicy.Shared, CompositionPolicy.Dedicated })
        {
            var state = NewState(policy);
            var j = Composed(state, vdevs: 2, aisPerVdev: 1);
            j.Remove(0);
            for (var c = 10; c < 14; c++)
            {
                var d = state.DecideCompose(new ContainerId(c), Asid.Create(c + 1), 1);
                Assert.NotEqual(0, d.Ais[0].Device);
                j.Commit(d);
            }
        }
    }

    [Fact]
    public void Dedicated_wqs_take_free_ais_until_none_is_left_then_the_rest_are_torn_down()
    {
        // 3 devices x 4 AIs = 12 dedicated WQs; 10 vdevs leave 2 free. Device 0 serves 4 of them.
        var state = NewState(CompositionPolicy.Dedicated);
        var j = Composed(state, vdevs: 10, aisPerVdev: 1);
        var stranded = state.Vdevs.Where(kv => kv.Value.Picks[0].Device == 0).Select(kv => kv.Key).OrderBy(c => c.Value).ToList();
        Assert.Equal(4, stranded.Count);

        j.Remove(0);

        var recomposed = j.Events.OfType<VdevRecomposed>().ToList();
        var tornDown = j.Events.OfType<VdevTornDown>().Select(t => t.Container).ToList();
        Assert.Equal(2, recomposed.Count);
        Assert.Equal(2, tornDown.Count);
        Assert.Equal(stranded.Take(2), recomposed.Select(r => r.Container)); // container order decides who gets one
        Assert.Equal(stranded.Skip(2), tornDown);
        // Each free AI went to exactly one vdev, dedicated.
        Assert.Equal(2, recomposed.Select(r => (r.Ai.Device, r.Ai.Ai)).Distinct().Count());
        Assert.All(recomposed, r => Assert.Equal(WorkQueueMode.Dedicated, r.Ai.Mode));
        Assert.Equal(8, state.Vdevs.Count);
        Assert.All(tornDown, c => Assert.False(state.Vdevs.ContainsKey(c)));
        Assert.Empty(state.Stranded());
        // No dedicated WQ is left for a new vdev.
        Assert.Throws<SivInputException>(() => state.DecideCompose(new ContainerId(50), Asid.Create(51), 1));
    }

    [Fact]
    public void A_torn_down_vdev_gives_its_other_ais_back_and_the_next_stranded_vdev_takes_one()
    {
        // 2 devices x 2 AIs, dedicated; two vdevs of 2 AIs span both devices; nothing is free.
        var state = NewState(CompositionPolicy.Dedicated, devices: 2, aisPerDevice: 2);
        var j = Composed(state, vdevs: 2, aisPerVdev: 2);
        j.Remove(1);
        // c0 finds no free AI and is torn down; its AI on device 0 is free again and rescues c1's slot.
        Assert.Equal([new ContainerId(0)], j.Events.OfType<VdevTornDown>().Select(t => t.Container));
        var moved = Assert.Single(j.Events.OfType<VdevRecomposed>());
        Assert.Equal(new ContainerId(1), moved.Container);
        var c1 = state.Vdevs[new ContainerId(1)];
        Assert.All(c1.Picks, p => Assert.Equal(0, p.Device));
        Assert.Equal(2, c1.Picks.Distinct().Count());
        Assert.Single(state.Vdevs);
    }

    [Fact]
    public void When_every_device_is_gone_every_vdev_is_torn_down_and_nothing_can_be_composed()
    {
        var state = NewState(CompositionPolicy.Shared, devices: 2, aisPerDevice: 2);
        var j = Composed(state, vdevs: 4, aisPerVdev: 1);
        j.Remove(0);
        j.Remove(1);
        Assert.Empty(state.Vdevs);
        var e = Assert.Throws<SivInputException>(() => state.DecideCompose(new ContainerId(9), Asid.Create(10), 1));
        Assert.Contains("every device", e.Message);
    }

    [Fact]
    public void After_a_removal_replay_and_snapshot_agree_and_continue_the_same_way()
    {
        foreach (var policy in new[] { CompositionPolicy.Shared, CompositionPolicy.Dedicated })
        {
            var original = NewState(policy, devices: 4, aisPerDevice: 4);
            var j = Composed(original, vdevs: 10, aisPerVdev: 1);
            j.Remove(2);

            var replayed = NewState(policy, devices: 4, aisPerDevice: 4);
            foreach (var e in j.Events) replayed.Apply(VdcmCodec.DecodeEvent(VdcmCodec.Encode(e)));
            var restored = NewState(policy, devices: 4, aisPerDevice: 4);
            VdcmCodec.RestoreSnapshot(restored, VdcmCodec.EncodeSnapshot(original));

            var digest = VdcmCodec.Digest(original);
            Assert.Equal(digest, VdcmCodec.Digest(replayed));
            Assert.Equal(digest, VdcmCodec.Digest(restored));
            Assert.Equal([2], restored.RemovedDevices);
            // The next composition is the same whichever way the state was rebuilt (same table, same AI).
            var next = new[] { original, replayed, restored }.Select(s => s.DecideCompose(new ContainerId(40), Asid.Create(41), 1)).ToList();
            Assert.All(next, n => Assert.Equal(next[0].TableId, n.TableId));
            Assert.All(next, n => Assert.Equal(next[0].Ais, n.Ais));
        }
    }
}
