using SivActors.Model.Identity;
using SivActors.Model.Workload;

namespace SivActors.Model.Tests;

public class GuestMemoryTests
{
    private static readonly ContainerLayout Layout = new(queueDepth: 2, maxTransfer: 128);

    [Fact]
    public void The_source_comes_from_the_seed_and_a_read_is_a_copy()
    {
        var a = new GuestMemory(Layout, new Random(3));
        var b = new GuestMemory(Layout, new Random(3));
        Assert.Equal(a.Source(128).ToArray(), b.Source(128).ToArray());
        var read = a.Read(ContainerLayout.SourceBase + 8, 16);
        Assert.Equal(a.Source(24)[8..].ToArray(), read);
        read[0] ^= 0xFF;
        Assert.NotEqual(read[0], a.Source(9)[8]);
    }

    [Fact]
    public void Destinations_read_as_zeros_until_written_and_writes_land_per_slot()
    {
        var m = new GuestMemory(Layout, new Random(1));
        Assert.Equal(new byte[16], m.Read(Layout.Destination(1), 16));
        Assert.Equal(new byte[16], m.Destination(1, 16).ToArray());
        m.Write(Layout.Destination(1), [1, 2, 3]);
        Assert.Equal(new byte[] { 1, 2, 3 }, m.Destination(1, 3).ToArray());
        Assert.Equal(new byte[3], m.Destination(0, 3).ToArray());
        Assert.Equal(new byte[] { 1, 2, 3, 0 }, m.Read(Layout.Destination(1), 4));
    }

    [Fact]
    public void A_released_destination_reads_as_zeros_and_its_buffer_is_not_shared()
    {
        var m = new GuestMemory(Layout, new Random(1));
        m.Write(Layout.Destination(0), [9, 9, 9]);
        m.Write(Layout.Destination(1), [7]);
        m.Release(0);
        Assert.Equal(new byte[3], m.Destination(0, 3).ToArray());
        Assert.Equal(new byte[3], m.Read(Layout.Destination(0), 3));
        Assert.Equal(new byte[] { 7 }, m.Destination(1, 1).ToArray());
        // A new write after the release starts from zeros, whatever the pool hands out.
        m.Write(Layout.Destination(0) + 2, [5]);
        Assert.Equal(new byte[] { 0, 0, 5, 0 }, m.Destination(0, 4).ToArray());
        m.Release(0);
        m.Release(0); // releasing twice, or a slot never written, is harmless
    }

    [Fact]
    public void A_range_across_two_slots_lands_in_both_and_reads_back_whole()
    {
        var m = new GuestMemory(Layout, new Random(1));
        var data = Enumerable.Range(1, 8).Select(i => (byte)i).ToArray();
        m.Write(Layout.Destination(1) - 4, data);
        Assert.Equal(data, m.Read(Layout.Destination(1) - 4, 8));
        Assert.Equal(new byte[] { 5, 6, 7, 8 }, m.Destination(1, 4).ToArray());
    }

    [Fact]
    public void The_source_is_a_window_of_the_node_s_shared_source_and_cannot_be_written()
    {
        var m = new GuestMemory(Layout, new Random(3));
        var same = new ContainerLayout(queueDepth: 2, maxTransfer: 128, seed: 0);
        Assert.Equal(Layout.SharedSource.ToArray(), same.SharedSource.ToArray());
        Assert.NotEqual(Layout.SharedSource.ToArray(), new ContainerLayout(2, 128, seed: 1).SharedSource.ToArray());
        var source = m.Source(128).ToArray();
        Assert.True(Layout.SharedSource.IndexOf(source) >= 0);
        Assert.Throws<InvalidOperationException>(() => m.Write(ContainerLayout.SourceBase, [1]));
        Assert.Equal(source, m.Source(128).ToArray());
    }

    [Fact]
    public void Completion_records_are_found_by_address()
    {
        var m = new GuestMemory(Layout, new Random(1));
        var record = new byte[32];
        record[0] = 1;
        m.Write(Layout.Completion(1), record);
        Assert.True(m.IsCompletionRecord(Layout.Completion(1)));
        Assert.False(m.IsCompletionRecord(Layout.Destination(1)));
        Assert.Equal(1, GuestMemory.CompletionSlot(Layout.Completion(1)));
        Assert.Equal(1, m.CompletionRecord(1)[0]);
        Assert.Equal(0, m.CompletionRecord(0)[0]);
    }

    [Fact]
    public void The_map_keeps_the_current_incarnations_memory()
    {
        var map = new GuestMemoryMap();
        var first = new GuestMemory(Layout, new Random(1));
        var second = new GuestMemory(Layout, new Random(1));
        map.Register(new ContainerId(4), first);
        map.Register(new ContainerId(4), second); // a successor registers before its predecessor's stop is seen
        map.Unregister(new ContainerId(4), first);
        Assert.True(map.TryGet(new ContainerId(4), out var found));
        Assert.Same(second, found);
        map.Unregister(new ContainerId(4), second);
        Assert.False(map.TryGet(new ContainerId(4), out _));
    }
}
