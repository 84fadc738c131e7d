using System.Collections.Immutable;
using System.Globalization;
using Akka.Actor;
using Akka.Cluster.Sharding;
using SivActors.Actors.Wire;

namespace SivActors.Actors.Hosting;

/// <summary>
/// Places shard "hN" (or "hN-k" when a host is spread) on the region of the node at index slot % count among the
/// regions ordered by node address. Every entity kind has its own coordinator, but they all see the same worker
/// regions, so each kind puts host N's shard on the same node: an AI, its interrupt unit and its containers stay
/// together and the fast path stays on one node. When a node goes, its shards are allocated again with the same
/// rule over the survivors.
/// Shards that break the rule (a worker joined) are rebalanced only while <see cref="RebalanceGate"/> is open,
/// which the run's driver does while it holds the load paused (decision 33): nothing is in flight when they move.
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
        IImmutableSet<string> rebalanceInProgress)
    {
        if (!RebalanceGate.Of(system).IsOpen || rebalanceInProgress.Count > 0) return NoRebalance;
        var misplaced = Misplaced(currentShardAllocations.ToDictionary(kv => NodeOf(kv.Key), kv => (IEnumerable<string>)kv.Value), shardsPerHost);
        return Task.FromResult<IImmutableSet<string>>(misplaced.Select(m => m.Shard).ToImmutableHashSet());
    }

    /// <summary>
    /// Shards not on the node the rule names, given each node's shards (keyed by node address; every node with a
    /// region is listed, with its shards or none). The driver uses the same test to know when a rebalance is done.
    /// </summary>
    public static List<(string Shard, string From, string To)> Misplaced(IReadOnlyDictionary<string, IEnumerable<string>> shardsByNode, int shardsPerHost)
    {
        var nodes = shardsByNode.Keys.Order(StringComparer.Ordinal).ToList();
        var misplaced = new List<(string, string, string)>();
        foreach (var (node, shards) in shardsByNode)
            foreach (var shard in shards)
            {
                var home = nodes[(int)(Slot(shard, shardsPerHost) % nodes.Count)];
                if (home != node) misplaced.Add((shard, node, home));
            }
        return misplaced;
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

/// <summary>
/// Whether this node's shard coordinators may rebalance now. Closed unless the run's driver opened it (through the
/// node's agent) while the load is paused; one per actor system.
/// </summary>
public sealed class RebalanceGate
{
    private static readonly System.Runtime.CompilerServices.ConditionalWeakTable<ActorSystem, RebalanceGate> Gates = new();
    private volatile bool _open;

    public static RebalanceGate Of(ActorSystem system) => Gates.GetValue(system, _ => new RebalanceGate());

    public bool IsOpen => _open;

    public void Set(bool open) => _open = open;
}

