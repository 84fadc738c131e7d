using SivActors.Model.Interrupts;

namespace SivActors.Model.Tests;

public class RemappableMsiTests
{
    [Theory]
    [InlineData(0, false)]
    [InlineData(1, false)]
    [InlineData(0x7FFF, false)]
    [InlineData(0x8000, false)]
    [InlineData(0xFFFF, true)]
    [InlineData(0x1234, true)]
    public void Handle_round_trips_through_address_bits_19_5_and_2(int handle, bool shv)
    {
        var address = RemappableMsi.EncodeAddress((ushort)handle, shv);
        Assert.Equal(0xFEEul, address >> 20);
        var d = RemappableMsi.Decode(address, 7);
        Assert.True(d.AddressValid);
        Assert.True(d.Remappable);
        Assert.Equal(handle, d.Handle);
        Assert.Equal(shv, d.SubHandleValid);
        Assert.Equal(handle + (shv ? 7 : 0), d.Index);
    }

    [Fact]
    public void Bit_2_carries_handle_bit_15_and_bit_3_is_shv()
    {
        Assert.Equal(0xFEE0_0014ul, RemappableMsi.EncodeAddress(0x8000));
        Assert.Equal(0xFEE0_0038ul, RemappableMsi.EncodeAddress(1, subHandleValid: true));
    }

    [Fact]
    public void Compatibility_format_and_reserved_data_are_recognised()
    {
        var (address, data) = RemappableMsi.EncodeCompatibility(3, 0x41);
        var d = RemappableMsi.Decode(address, data);
        Assert.False(d.Remappable);
        Assert.False(d.DataReservedSet);
        Assert.True(RemappableMsi.Decode(RemappableMsi.EncodeAddress(1), 0x10000).DataReservedSet);
        Assert.False(RemappableMsi.Decode(0xFED0_0010, 0).AddressValid);
    }
}

public class FaultRecorderTests
{
    private static FaultRecord Fault(ushort sid, FaultReason r = FaultReason.IrteNotPresent) => new(r, sid, 0, true, 5, false);

    [Fact]
    public void First_fault_raises_an_event_later_ones_do_not()
    {
        var log = new FaultRecorder(4);
        Assert.Equal(RecordResult.RecordedWithEvent, log.Record(Fault(1)));
        Assert.Equal(RecordResult.Recorded, log.Record(Fault(2)));
        Assert.True(log.PrimaryPendingFault);
        Assert.Equal(0, log.FaultRecordIndex);
        Assert.Equal(1, log.FaultEvents);
    }

    [Fact]
    public void Same_source_is_compressed_while_pending()
    {
        var log = new FaultRecorder(4);
        log.Record(Fault(1));
        Assert.Equal(RecordResult.DroppedCompressed, log.Record(Fault(1, FaultReason.AsidMismatch)));
        log.Clear(0);
        Assert.Equal(RecordResult.RecordedWithEvent, log.Record(Fault(1)));
    }

    [Fact]
    public void Full_ring_sets_pfo_and_drops_until_cleared()
    {
        var log = new FaultRecorder(2);
        log.Record(Fault(1));
        log.Record(Fault(2));
        Assert.Equal(RecordResult.DroppedOverflow, log.Record(Fault(3)));
        Assert.True(log.PrimaryFaultOverflow);
        log.Clear(0);
        Assert.Equal(RecordResult.DroppedOverflow, log.Record(Fault(4))); // PFO still set: dropped
        log.ClearOverflow();
        Assert.Equal(RecordResult.Recorded, log.Record(Fault(4)));
        Assert.Equal(2, log.DroppedOverflow);
    }

    [Fact]
    public void Masked_events_set_ip_and_drain_clears_everything()
    {
        var log = new FaultRecorder(2) { EventMasked = true };
        Assert.Equal(RecordResult.Recorded, log.Record(Fault(1)));
        Assert.True(log.EventPending);
        Assert.Single(log.Drain());
        Assert.False(log.PrimaryPendingFault);
        Assert.False(log.EventPending);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(257)]
    public void Record_count_is_bounded(int n) => Assert.Throws<SivInputException>(() => new FaultRecorder(n));
}

public class PostedInterruptDescriptorTests
{
    [Fact]
    public void First_post_notifies_later_posts_are_silent_or_coalesced()
    {
        var pid = new PostedInterruptDescriptor();
        Assert.Equal(PostResult.RecordedAndNotified, pid.Post(0x41, false));
        Assert.Equal(PostResult.Recorded, pid.Post(0x42, false)); // ON already 1
        Assert.Equal(PostResult.Coalesced, pid.Post(0x41, false)); // PIR bit already set
        var harvested = new List<byte>();
        Assert.Equal(2, pid.Harvest(harvested.Add));
        Assert.Equal(new byte[] { 0x41, 0x42 }, harvested);
        Assert.False(pid.OutstandingNotification);
        Assert.Equal(PostResult.RecordedAndNotified, pid.Post(0x41, false));
    }

    [Fact]
    public void Sn_suppresses_non_urgent_notifications_only()
    {
        var pid = new PostedInterruptDescriptor { SuppressNotification = true };
        Assert.Equal(PostResult.Recorded, pid.Post(0x30, urgent: false));
        Assert.False(pid.OutstandingNotification);
        Assert.Equal(PostResult.RecordedAndNotified, pid.Post(0x31, urgent: true));
        Assert.True(pid.IsPending(0x30));
    }

    /// <summary>
    /// Every combination of {PIR bit already set, ON, SN, URG}. VT-d step 2 sets the PIR bit (coalesced when it was
    /// set); step 3 notifies, and sets ON, exactly when ON = 0 and (SN = 0 or URG = 1), whatever the PIR bit was.
    /// </summary>
    [Theory]
    [InlineData(false, false, false, false, PostResult.RecordedAndNotified)]  // ON=0, SN=0: notify
    [InlineData(false, false, false, true, PostResult.RecordedAndNotified)]   // URG changes nothing when SN=0
    [InlineData(false, false, true, false, PostResult.Recorded)]              // SN=1, not urgent: suppressed
    [InlineData(false, false, true, true, PostResult.RecordedAndNotified)]    // URG overrides SN
    [InlineData(false, true, false, false, PostResult.Recorded)]              // ON=1: a notification is outstanding
    [InlineData(false, true, false, true, PostResult.Recorded)]               // ON=1 even when urgent
    [InlineData(false, true, true, false, PostResult.Recorded)]
    [InlineData(false, true, true, true, PostResult.Recorded)]
    [InlineData(true, false, false, false, PostResult.CoalescedAndNotified)]  // pending bit, ON=0, SN=0: notify anyway
    [InlineData(true, false, false, true, PostResult.CoalescedAndNotified)]
    [InlineData(true, false, true, false, PostResult.Coalesced)]              // pending, suppressed: recorded only
    [InlineData(true, false, true, true, PostResult.CoalescedAndNotified)]    // URG overrides SN for a pending bit too
    [InlineData(true, true, false, false, PostResult.Coalesced)]              // ON=1: nothing to send
    [InlineData(true, true, false, true, PostResult.Coalesced)]
    [InlineData(true, true, true, false, PostResult.Coalesced)]
    [InlineData(true, true, true, true, PostResult.Coalesced)]
    public void Posting_sets_pir_then_decides_the_notification_from_on_sn_and_urg_alone(bool pending, bool on, bool sn, bool urgent, PostResult expected)
    {
        var pid = new PostedInterruptDescriptor();
        if (pending) pid.Post(0x51, false);
        pid.OutstandingNotification = on;
        pid.SuppressNotification = sn;
        var result = pid.Post(0x51, urgent);
        Assert.Equal(expected, result);
        Assert.True(pid.IsPending(0x51));
        Assert.Equal(on || result.Notified(), pid.OutstandingNotification); // ON is set exactly by a notification
        Assert.Equal(pending, result.Coalesced());
    }

    [Fact]
    public void A_vector_posted_while_descheduled_is_notified_by_its_next_post_once_sn_clears()
    {
        // KVM sets SN while the vCPU is descheduled: the post is recorded without a notification.
        var pid = new PostedInterruptDescriptor { SuppressNotification = true };
        Assert.Equal(PostResult.Recorded, pid.Post(0x60, false));
        // Rescheduled: SN cleared. The same vector again: its PIR bit is pending, and the notification is sent,
        // rather than the interrupt waiting for an unrelated one.
        pid.SuppressNotification = false;
        Assert.Equal(PostResult.CoalescedAndNotified, pid.Post(0x60, false));
        Assert.True(pid.OutstandingNotification);
        Assert.Equal(1, pid.Harvest());
    }

    [Fact]
    public void All_256_vectors_have_their_own_bit()
    {
        var pid = new PostedInterruptDescriptor();
        for (var v = 0; v < 256; v++) Assert.NotEqual(PostResult.Coalesced, pid.Post((byte)v, false));
        Assert.Equal(256, pid.Harvest());
    }
}

public class InterruptEntryCacheTests
{
    [Fact]
    public void Second_access_hits_until_invalidated()
    {
        var iec = new InterruptEntryCache(64);
        Assert.False(iec.Access(1, 5));
        Assert.True(iec.Access(1, 5));
        iec.Invalidate(1, 5);
        Assert.False(iec.Access(1, 5));
        Assert.Equal(1, iec.Hits);
        Assert.Equal(2, iec.Misses);
    }

    [Fact]
    public void Zero_capacity_always_misses()
    {
        var iec = new InterruptEntryCache(0);
        Assert.False(iec.Access(0, 0));
        Assert.False(iec.Access(0, 0));
    }
}

public sealed class MetricsMergeTests
{
    [Fact]
    public void Two_nodes_figures_merge_into_the_same_report_one_node_would_give()
    {
        var single = new SivActors.Model.Reporting.RunMetrics();
        var a = new SivActors.Model.Reporting.RunMetrics();
        var b = new SivActors.Model.Reporting.RunMetrics();
        for (var i = 0; i < 1000; i++)
        {
            var node = i % 3 == 0 ? a : b;
            foreach (var m in new[] { single, node })
            {
                m.DescriptorSubmitted();
                m.DescriptorCompleted(verified: true);
                m.InterruptRaised();
                m.InterruptFaulted(FaultReason.AsidMismatch);
                m.Record(SivActors.Model.Reporting.RunMetrics.ModeledFastNs, 1000 + i);
            }
        }
        b.EntityFailed("x: boom");
        var merged = new SivActors.Model.Reporting.RunMetrics();
        merged.Import(a.Export());
        merged.Import(b.Export());
        Assert.Equal(single.Snapshot().DescriptorsCompleted, merged.Snapshot().DescriptorsCompleted);
        Assert.Equal(single.Snapshot().InterruptsFaulted, merged.Snapshot().InterruptsFaulted);
        Assert.Equal(single.Histogram(0).TotalCount, merged.Histogram(0).TotalCount);
        Assert.Equal(single.Histogram(0).GetValueAtPercentile(99), merged.Histogram(0).GetValueAtPercentile(99));
        Assert.Equal("x: boom", merged.FirstEntityFailure);
    }
}
