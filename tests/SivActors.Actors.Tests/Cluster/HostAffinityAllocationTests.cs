using SivActors.Actors.Hosting;

namespace SivActors.Actors.Tests.Cluster;

/// <summary>The placement rule a rebalance restores, and the test the driver uses to know it is restored.</summary>
public sealed class HostAffinityAllocationTests
{
    private const string A = "akka.tcp://siv@127.0.0.1:30001";
    private const string B = "akka.tcp://siv@127.0.0.1:30002";
    private const string C = "akka.tcp://siv@127.0.0.1:30003";

    [Fact]
    public void Three_hosts_on_two_nodes_break_the_rule_once_a_third_node_has_a_region()
    {
        // Two nodes: h0 and h2 on A, h1 on B (slot modulo 2). C joins with no shards.
        var placement = new Dictionary<string, IEnumerable<string>> { [A] = ["h0", "h2"], [B] = ["h1"] };
        Assert.Empty(HostAffinityAllocation.Misplaced(placement, shardsPerHost: 1));

        placement[C] = [];
        var misplaced = HostAffinityAllocation.Misplaced(placement, shardsPerHost: 1).OrderBy(m => m.Shard, StringComparer.Ordinal).ToList();
        Assert.Equal([("h2", A, C)], misplaced);
    }

    [Fact]
    public void Nodes_are_ordered_by_address_not_by_listing_order_and_spread_hosts_count_their_sub_shards()
    {
        var placement = new Dictionary<string, IEnumerable<string>> { [B] = ["h0-1"], [A] = ["h0-0"] };
        // Two shards per host: h0-0 is slot 0 (A), h0-1 is slot 1 (B).
        Assert.Empty(HostAffinityAllocation.Misplaced(placement, shardsPerHost: 2));
        Assert.Equal(1, HostAffinityAllocation.Slot("h0-1", 2));
        Assert.Equal(7, HostAffinityAllocation.Slot("h3-1", 2));
    }

    [Fact]
    public void The_gate_is_closed_until_opened_and_belongs_to_one_actor_system()
    {
        using var one = Akka.Actor.ActorSystem.Create("gate-one", "akka.loglevel = OFF");
        using var two = Akka.Actor.ActorSystem.Create("gate-two", "akka.loglevel = OFF");
        Assert.False(RebalanceGate.Of(one).IsOpen);
        RebalanceGate.Of(one).Set(true);
        Assert.True(RebalanceGate.Of(one).IsOpen);
        Assert.False(RebalanceGate.Of(two).IsOpen);
        RebalanceGate.Of(one).Set(false);
        Assert.False(RebalanceGate.Of(one).IsOpen);
    }
}
