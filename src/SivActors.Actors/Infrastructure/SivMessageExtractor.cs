namespace SivActors.Actors.Infrastructure;

/// <summary>
/// Maps a message to its entity and shard. The local entity parents use it today; the same extractor is what a
/// Cluster.Sharding region will use, with shard = emulated host.
/// </summary>
public sealed class SivMessageExtractor
{
    public static readonly SivMessageExtractor Instance = new();

    public EntityAddress? AddressOf(object message) => message is IEntityMessage m ? m.Target : null;

    public string? EntityId(object message) => AddressOf(message)?.EntityId;

    public string? ShardId(object message) => AddressOf(message)?.ShardId;

    public object EntityMessage(object message) => message;
}
