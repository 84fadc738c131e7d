using Akka.Cluster.Sharding;
using SivActors.Actors.Entities;

namespace SivActors.Actors.Hosting;

/// <summary>
/// Maps a message to its entity and shard: the local entity parents and the Cluster.Sharding regions use the same
/// extractor. By default the shard is the emulated host ("h3"), so a host's hot path (AI -> interrupt unit ->
/// container) stays on one node; with <see cref="ShardsPerHost"/> &gt; 1 a host is split over that many shards
/// (see <see cref="ShardOf"/>), and so over nodes.
/// </summary>
public sealed class SivMessageExtractor(int shardsPerHost = 1) : IMessageExtractor
{
    public static readonly SivMessageExtractor Instance = new();

    public int ShardsPerHost { get; } = shardsPerHost < 1 ? throw new ArgumentOutOfRangeException(nameof(shardsPerHost)) : shardsPerHost;

    public EntityAddress? AddressOf(object message) => message is IEntityMessage m ? m.Target : null;

    public string? EntityId(object message) => AddressOf(message)?.EntityId;

    public string? ShardId(object message) => AddressOf(message) is { } a ? ShardOf(a) : null;

    public string ShardId(string entityId, object? messageHint = null) => ShardOf(EntityAddress.Parse(entityId));

    public object EntityMessage(object message) => message;

    /// <summary>
    /// With one shard per host, "hN". With n &gt; 1, a host's device side (AIs, hosting functions, interrupt unit,
    /// DMA remapping, VDCM) stays in "hN-0" and its containers spread over "hN-1".."hN-(n-1)": guests and devices
    /// on different nodes, so the fast path crosses the network at every guest/device boundary.
    /// </summary>
    public string ShardOf(EntityAddress a)
    {
        if (ShardsPerHost == 1) return a.ShardId;
        var sub = a.Kind == EntityKind.Container ? 1 + (long)((ulong)a.Key % (ulong)(ShardsPerHost - 1)) : 0;
        return a.ShardId + "-" + sub.ToString(System.Globalization.CultureInfo.InvariantCulture);
    }
}
