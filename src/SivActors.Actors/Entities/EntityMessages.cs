using SivActors.Actors.Wire;

namespace SivActors.Actors.Entities;

/// <summary>
/// Sent to an entity (through its parent or its shard region) before traffic starts; the entity answers
/// <see cref="EntityEnsured"/> once it runs, which for a table owner means once its tables are recovered.
/// </summary>
public sealed record EnsureEntity(EntityAddress Address) : IEntityMessage, ISivMessage
{
    public EntityAddress Target => Address;
}

public sealed record EntityEnsured(EntityAddress Address) : ISivMessage;

/// <summary>
/// Asks an entity (through its parent or shard region) for its reference; it answers <see cref="EntityLocated"/>
/// with itself as the sender. Sent by a learning directory on a miss, to the node's <see cref="EntityLocator"/>.
/// </summary>
public sealed record LocateEntity(EntityAddress Address) : IEntityMessage, ISivMessage
{
    public EntityAddress Target => Address;
}

public sealed record EntityLocated(EntityAddress Address) : ISivMessage;
