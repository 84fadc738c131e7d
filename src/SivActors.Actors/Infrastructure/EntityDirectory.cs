using System.Collections.Concurrent;
using Akka.Actor;

namespace SivActors.Actors.Infrastructure;

/// <summary>
/// Sends messages to entities by id. An entity parent per kind creates children on first use; once a child exists
/// its reference is cached here, so the hot path is one dictionary lookup and one Tell. Until then messages go
/// through the parent, which creates the child and forwards.
/// </summary>
public sealed class EntityDirectory
{
    private readonly ConcurrentDictionary<EntityAddress, IActorRef> _children = new();
    private readonly IActorRef?[] _parents = new IActorRef?[Enum.GetValues<EntityKind>().Length];

    public void SetParent(EntityKind kind, IActorRef parent) => _parents[(int)kind] = parent;

    public IActorRef Parent(EntityKind kind) =>
        _parents[(int)kind] ?? throw new InvalidOperationException($"no entity parent for {kind}");

    internal void Register(EntityAddress address, IActorRef child) => _children[address] = child;

    /// <summary>Forgets a cached child (it stopped, or a test reroutes the kind through its parent).</summary>
    public void Unregister(EntityAddress address) => _children.TryRemove(address, out _);

    public int Count => _children.Count;

    public void Tell(IEntityMessage message, IActorRef? sender = null)
    {
        var target = message.Target;
        if (_children.TryGetValue(target, out var child)) child.Tell(message, sender ?? ActorRefs.NoSender);
        else Parent(target.Kind).Tell(message, sender ?? ActorRefs.NoSender);
    }

    public IEnumerable<EntityAddress> Addresses(EntityKind kind) => _children.Keys.Where(a => a.Kind == kind);
}

/// <summary>Creates and supervises the entities of one kind and forwards messages addressed to them.</summary>
public sealed class EntityParent : ReceiveActor
{
    private readonly EntityDirectory _directory;
    private readonly Func<EntityAddress, Props> _props;
    private readonly Action<string>? _onFailure;
    private readonly Dictionary<EntityAddress, IActorRef> _children = new();

    public EntityParent(EntityDirectory directory, Func<EntityAddress, Props> props, Action<string>? onFailure = null)
    {
        _directory = directory;
        _props = props;
        _onFailure = onFailure;
        Receive<EnsureEntity>(m =>
        {
            GetOrCreate(m.Address);
            Sender.Tell(new EntityEnsured(m.Address));
        });
        Receive<Terminated>(t =>
        {
            foreach (var (address, child) in _children.Where(kv => kv.Value.Equals(t.ActorRef)).ToList())
            {
                _children.Remove(address);
                _directory.Unregister(address);
            }
        });
        ReceiveAny(message =>
        {
            if (SivMessageExtractor.Instance.AddressOf(message) is { } address)
                GetOrCreate(address).Forward(SivMessageExtractor.Instance.EntityMessage(message));
            else
                Unhandled(message);
        });
    }

    /// <summary>Restart a failed entity, but never silently: the failure is counted and fails the run's invariants.</summary>
    protected override SupervisorStrategy SupervisorStrategy() => new OneForOneStrategy(Decider.From(e =>
    {
        _onFailure?.Invoke($"{e.GetType().Name}: {e.Message}");
        return Directive.Restart;
    }));

    private IActorRef GetOrCreate(EntityAddress address)
    {
        if (_children.TryGetValue(address, out var child)) return child;
        child = Context.ActorOf(_props(address), Uri.EscapeDataString(address.EntityId));
        Context.Watch(child);
        _children.Add(address, child);
        _directory.Register(address, child);
        return child;
    }

    public static Props Props(EntityDirectory directory, Func<EntityAddress, Props> props, Action<string>? onFailure = null) =>
        Akka.Actor.Props.Create(() => new EntityParent(directory, props, onFailure));
}

/// <summary>Creates the entity if needed and answers <see cref="EntityEnsured"/>; used to deploy before traffic starts.</summary>
public sealed record EnsureEntity(EntityAddress Address);

public sealed record EntityEnsured(EntityAddress Address);
