using System.Collections.Concurrent;
using Akka.Actor;
using SivActors.Actors.Hosting;
using SivActors.Actors.Wire;

namespace SivActors.Actors.Entities;

/// <summary>
/// Sends messages to entities by id. Every entity registers its own reference here while it runs, so the hot path
/// is one dictionary lookup and one Tell straight to the entity's mailbox. An address that is not cached goes to
/// the kind's parent: the local entity parent, which creates the child, or the shard region, which stays the
/// authority on placement. A node whose directory learns (<see cref="LearnThrough"/>) also asks a missed entity
/// for its reference, so remote entities are reached directly after the first exchange (see
/// <see cref="EntityLocator"/>). The cache is only a shortcut: a stale entry costs a re-route, never a message.
/// </summary>
public sealed class EntityDirectory(bool countHops = false)
{
    // A located entity that has not answered is asked again after this long (it may have moved meanwhile).
    private const long LocateRetryMs = 5_000;

    private readonly ConcurrentDictionary<EntityAddress, IActorRef> _children = new();
    private readonly ConcurrentDictionary<EntityAddress, long> _locating = new();
    private readonly IActorRef?[] _parents = new IActorRef?[Enum.GetValues<EntityKind>().Length];
    private IActorRef? _locator;

    public void SetParent(EntityKind kind, IActorRef parent) => _parents[(int)kind] = parent;

    public IActorRef Parent(EntityKind kind) =>
        _parents[(int)kind] ?? throw new InvalidOperationException($"no entity parent for {kind}");

    /// <summary>From now on, a miss also sends <see cref="LocateEntity"/> with <paramref name="locator"/> as the sender.</summary>
    public void LearnThrough(IActorRef locator) => _locator = locator;

    /// <summary>An entity (or its parent) makes its reference known.</summary>
    public void Register(EntityAddress address, IActorRef entity)
    {
        _children[address] = entity;
        _locating.TryRemove(address, out _);
    }

    /// <summary>Forgets a cached entity (a test reroutes the kind through its parent).</summary>
    public void Unregister(EntityAddress address) => _children.TryRemove(address, out _);

    /// <summary>
    /// Forgets <paramref name="entity"/> if it is still the cached reference: a restarted or moved entity may
    /// already have registered its successor.
    /// </summary>
    public bool Unregister(EntityAddress address, IActorRef entity) =>
        _children.TryRemove(new KeyValuePair<EntityAddress, IActorRef>(address, entity));

    /// <summary>
    /// Drops every cached reference to an entity on <paramref name="node"/>: it left, and its entities live on other
    /// nodes now (reached through their regions until they are located again).
    /// </summary>
    public int ForgetNode(Address node) => Forget(entity => entity.Path.Address.Equals(node));

    /// <summary>Drops every cached reference to an entity on another node (shards moved between nodes that stay).</summary>
    public int ForgetRemote() => Forget(entity => entity.Path.Address.HasGlobalScope);

    private int Forget(Func<IActorRef, bool> which)
    {
        var dropped = 0;
        foreach (var (address, entity) in _children)
            if (which(entity) && Unregister(address, entity)) dropped++;
        return dropped;
    }

    public int Count => _children.Count;

    // Per-thread counts of sends through the directory (the run's hops), kept only where a cluster report needs
    // them, so a single-node run's hot path does not pay for them.
    private readonly SivActors.Model.Reporting.ThreadCells? _sends = countHops ? new(1) : null;

    /// <summary>Messages sent to entities through this directory so far (0 unless it counts hops).</summary>
    public long Sends => _sends?.Sum(0) ?? 0;

    private Func<IEntityMessage, IActorRef?, bool>? _interceptor;

    /// <summary>
    /// Set when a run schedules drop or delay faults (see <see cref="Faults.HopInterceptor"/>): it may take a message
    /// instead of the Tell. Unset, the hot path pays one null check.
    /// </summary>
    public void InterceptWith(Func<IEntityMessage, IActorRef?, bool>? interceptor) => Volatile.Write(ref _interceptor, interceptor);

    public void Tell(IEntityMessage message, IActorRef? sender = null)
    {
        if (_interceptor is { } intercept && intercept(message, sender)) return;
        Deliver(message, sender);
    }

    /// <summary>Sends without interception (a delay line releasing what it held).</summary>
    public void Deliver(IEntityMessage message, IActorRef? sender = null)
    {
        if (_sends is not null) _sends.Mine.Counters[0]++;
        var target = message.Target;
        if (_children.TryGetValue(target, out var child))
        {
            child.Tell(message, sender ?? ActorRefs.NoSender);
            return;
        }
        var parent = Parent(target.Kind);
        parent.Tell(message, sender ?? ActorRefs.NoSender);
        if (_locator is { } locator) Locate(target, parent, locator);
    }

    private void Locate(EntityAddress target, IActorRef parent, IActorRef locator)
    {
        var now = Environment.TickCount64;
        if (_locating.TryGetValue(target, out var asked) && now - asked < LocateRetryMs) return;
        _locating[target] = now;
        // Behind the message just sent on the same path, so the answer never precedes the entity's start.
        parent.Tell(new LocateEntity(target), locator);
    }

    public IEnumerable<EntityAddress> Addresses(EntityKind kind) => _children.Keys.Where(a => a.Kind == kind);
}
