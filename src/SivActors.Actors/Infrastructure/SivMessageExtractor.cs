using Akka.Cluster.Sharding;

namespace SivActors.Actors.Infrastructure;

/// <summary>
/// Maps a message to its entity and shard: the local entity parents and the Cluster.Sharding regions use the same
/// extractor. By default the shard is the emulated host ("h3"), so a host's hot path (AI -> interrupt unit ->
/// container) stays on one node; with <see cref="ShardsPerHost"/> &gt; 1 a host's entities spread over that many
/// shards ("h3-0", "h3-1", ...), and so over nodes.
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

    public string ShardOf(EntityAddress a) => ShardsPerHost == 1
        ? a.ShardId
        : a.ShardId + "-" + ((ulong)a.Key % (ulong)ShardsPerHost).ToString(System.Globalization.CultureInfo.InvariantCulture);
}
