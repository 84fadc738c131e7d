using System.Collections.Immutable;
using System.Globalization;
using Akka.Actor;
using Akka.Cluster.Sharding;

namespace SivActors.Actors.Infrastructure;

/// <summary>
/// Places shard "hN" (or "hN-k" when a host is spread) on the region of the node at index slot % count among the
/// regions ordered by node address. Every entity kind has its own coordinator, but they all see the same worker
/// regions, so each kind puts host N's shard on the same node: an AI, its interrupt unit and its containers stay
/// together and the fast path stays on one node. When a node goes, its shards are allocated again with the same
/// rule over the survivors.
/// Nothing is rebalanced: a moved entity would start without its device state (decision 31).
/// </summary>
public sealed class HostAffinityAllocation(ActorSystem system, int shardsPerHost) : IShardAllocationStrategy
{
    private static readonly Task<IImmutableSet<string>> NoRebalance = Task.FromResult<IImmutableSet<string>>(ImmutableHashSet<string>.Empty);

    public Task<IActorRef> AllocateShard(IActorRef requester, string shardId, IImmutableDictionary<IActorRef, IImmutableList<string>> currentShardAllocations)
    {
        if (currentShardAllocations.Count == 0) return Task.FromResult(requester);
        return Task.FromResult(Home(shardId, Ordered(currentShardAllocations.Keys)));
    }

    public Task<IImmutableSet<string>> Rebalance(IImmutableDictionary<IActorRef, IImmutableList<string>> currentShardAllocations,
        IImmutableSet<string> rebalanceInProgress) => NoRebalance;

    /// <summary>The rule: the region at the shard's slot modulo the count, among regions ordered by node address.</summary>
    private IActorRef Home(string shardId, List<IActorRef> ordered) => ordered[(int)(Slot(shardId, shardsPerHost) % ordered.Count)];

    private List<IActorRef> Ordered(IEnumerable<IActorRef> regions) => regions.OrderBy(NodeOf, StringComparer.Ordinal).ToList();

    private string NodeOf(IActorRef region) =>
        (region.Path.Address.HasGlobalScope ? region.Path.Address : Akka.Cluster.Cluster.Get(system).SelfAddress).ToString();

    /// <summary>"h3" is slot 3; "h3-1" with 2 shards per host is slot 7.</summary>
    public static long Slot(string shardId, int shardsPerHost)
    {
        var dash = shardId.IndexOf('-');
        var host = long.Parse(dash < 0 ? shardId[1..] : shardId[1..dash], CultureInfo.InvariantCulture);
        var sub = dash < 0 ? 0 : long.Parse(shardId[(dash + 1)..], CultureInfo.InvariantCulture);
        return host * shardsPerHost + sub;
    }
}
