using System.Collections.Immutable;
using System.Globalization;
using Akka.Actor;
using Akka.Cluster;
using Akka.Cluster.Sharding;

namespace SivActors.Actors.Infrastructure;

/// <summary>
/// Places shard "hN" (or "hN-k" when a host is spread) on the region of the node at index slot % count among the
/// regions ordered by node address. Every entity kind has its own coordinator, but they all see the same worker
/// regions, so each kind puts host N's shard on the same node: an AI, its interrupt unit and its containers stay
/// together and the fast path stays on one node. When a node goes, its shards are allocated again with the same
/// rule over the survivors.
/// <para>
/// With <paramref name="rebalance"/> (a store every node shares, so a moved table owner recovers its tables on its
/// new node), shards that the rule places elsewhere than where they are move, a few per rebalance tick: a worker
/// that joins mid-run takes its share of hosts. Only regions of members that are Up count, so a node that is
/// leaving hands its shards off through its graceful shutdown instead of drawing new ones. Without a shared store
/// nothing is rebalanced: a table owner started on another node's empty database would lose its tables.
/// </para>
/// </summary>
public sealed class HostAffinityAllocation(ActorSystem system, int shardsPerHost, bool rebalance = false, int maxMovesPerTick = 2) : IShardAllocationStrategy
{
    private static readonly Task<IImmutableSet<string>> NoRebalance = Task.FromResult<IImmutableSet<string>>(ImmutableHashSet<string>.Empty);

    public Task<IActorRef> AllocateShard(IActorRef requester, string shardId, IImmutableDictionary<IActorRef, IImmutableList<string>> currentShardAllocations)
    {
        if (currentShardAllocations.Count == 0) return Task.FromResult(requester);
        return Task.FromResult(Home(shardId, Ordered(currentShardAllocations.Keys)));
    }

    public Task<IImmutableSet<string>> Rebalance(IImmutableDictionary<IActorRef, IImmutableList<string>> currentShardAllocations,
        IImmutableSet<string> rebalanceInProgress)
    {
        if (!rebalance || rebalanceInProgress.Count > 0) return NoRebalance;
        var up = Akka.Cluster.Cluster.Get(system).State.Members.Where(m => m.Status == MemberStatus.Up).Select(m => m.Address.ToString()).ToHashSet();
        var regions = Ordered(currentShardAllocations.Keys.Where(r => up.Contains(NodeOf(r))));
        if (regions.Count < 2) return NoRebalance;
        var moves = ImmutableHashSet.CreateBuilder<string>();
        foreach (var region in regions)
            foreach (var shard in currentShardAllocations[region])
            {
                if (Home(shard, regions).Equals(region)) continue;
                moves.Add(shard);
                if (moves.Count >= maxMovesPerTick) return Task.FromResult<IImmutableSet<string>>(moves.ToImmutable());
            }
        return Task.FromResult<IImmutableSet<string>>(moves.ToImmutable());
    }

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
