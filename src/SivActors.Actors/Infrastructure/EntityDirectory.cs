using System.Collections.Concurrent;
using Akka.Actor;
using Akka.Event;

namespace SivActors.Actors.Infrastructure;

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

/// <summary>How an entity parent treats entities that stop on their own (table owners after a journal failure).</summary>
public sealed record EntityRestartPolicy(TimeSpan MinBackoff, TimeSpan MaxBackoff, int MaxConsecutiveRestarts)
{
    public static EntityRestartPolicy Default { get; } = new(TimeSpan.FromMilliseconds(200), TimeSpan.FromSeconds(5), 10);

    public TimeSpan Backoff(int attempt)
    {
        var ms = MinBackoff.TotalMilliseconds * Math.Pow(2, Math.Min(attempt - 1, 20));
        // Up to 20% jitter so owners that failed together do not retry together.
        ms = Math.Min(ms, MaxBackoff.TotalMilliseconds) * (1 + Random.Shared.NextDouble() * 0.2);
        return TimeSpan.FromMilliseconds(ms);
    }
}

/// <summary>
/// Creates and supervises the entities of one kind and forwards messages addressed to them. An entity that stops
/// by itself (a table owner whose journal write or recovery failed) is started again after an exponential
/// back-off, and messages for it wait here meanwhile; after too many consecutive failures it is given up and the
/// run is failed, never silently.
/// </summary>
public sealed class EntityParent : ReceiveActor, IWithTimers
{
    private const int MaxBuffered = 100_000;

    private readonly EntityDirectory _directory;
    private readonly Func<EntityAddress, Props> _props;
    private readonly Action<string>? _onFailure;
    private readonly Action? _onRestart;
    private readonly EntityRestartPolicy _policy;
    private readonly Dictionary<EntityAddress, IActorRef> _children = new();
    private readonly Dictionary<IActorRef, EntityAddress> _addresses = new();
    private readonly Dictionary<EntityAddress, List<(object Message, IActorRef Sender)>> _waiting = new();
    private readonly Dictionary<EntityAddress, int> _failures = new();
    private readonly HashSet<EntityAddress> _givenUp = [];
    private readonly Dictionary<IActorRef, EntityAddress> _stopped = new();

    public ITimerScheduler Timers { get; set; } = null!;

    private readonly Func<EntityAddress, object, bool>? _onOverflow;

    /// <param name="onOverflow">Takes a message that does not fit the restart buffer (true: it was accounted for).</param>
    public EntityParent(EntityDirectory directory, Func<EntityAddress, Props> props, Action<string>? onFailure = null,
        EntityRestartPolicy? policy = null, Action? onRestart = null, Func<EntityAddress, object, bool>? onOverflow = null)
    {
        _onOverflow = onOverflow;
        _directory = directory;
        _props = props;
        _onFailure = onFailure;
        _onRestart = onRestart;
        _policy = policy ?? EntityRestartPolicy.Default;
        Receive<Persistence.TableOwnerRecovered>(m => _failures.Remove(m.Address));
        // Messages already in a stopping entity's mailbox (or sent to its cached reference) become dead letters;
        // those of our own children wait here for the restarted entity instead of being lost.
        Receive<DeadLetter>(d =>
        {
            if (!_addresses.TryGetValue(d.Recipient, out var address) && !_stopped.TryGetValue(d.Recipient, out address)) return;
            if (_givenUp.Contains(address)) return;
            if (!_waiting.TryGetValue(address, out var waiting))
            {
                // Sent to the stopped incarnation's reference after its successor started: it goes to the successor
                // (a list opened here would hold every later message for the address too, with nothing to release it).
                if (_children.TryGetValue(address, out var successor) && !successor.Equals(d.Recipient))
                {
                    successor.Tell(d.Message, d.Sender);
                    return;
                }
                _waiting[address] = waiting = [];
            }
            if (waiting.Count < MaxBuffered) waiting.Add((d.Message, d.Sender));
            else Overflow(address, d.Message, d.Sender);
        });
        Receive<Terminated>(t =>
        {
            if (!_addresses.Remove(t.ActorRef, out var address)) return;
            _stopped[t.ActorRef] = address;
            if (_stopped.Count > 1_000) _stopped.Clear(); // only recent ones can still produce dead letters
            _children.Remove(address);
            _directory.Unregister(address, t.ActorRef);
            var attempt = _failures.GetValueOrDefault(address) + 1;
            _failures[address] = attempt;
            if (attempt > _policy.MaxConsecutiveRestarts)
            {
                _givenUp.Add(address);
                _onFailure?.Invoke($"{address} stopped {attempt - 1} times in a row; given up");
                foreach (var (message, sender) in _waiting.GetValueOrDefault(address) ?? []) Context.System.DeadLetters.Tell(message, sender);
                _waiting.Remove(address);
                return;
            }
            _onRestart?.Invoke();
            _waiting.TryAdd(address, []);
            Timers.StartSingleTimer(address, new RestartEntity(address), _policy.Backoff(attempt));
        });
        Receive<RestartEntity>(m =>
        {
            if (_givenUp.Contains(m.Address)) return;
            var child = GetOrCreate(m.Address);
            if (_waiting.Remove(m.Address, out var waiting))
                foreach (var (message, sender) in waiting) child.Tell(message, sender);
        });
        ReceiveAny(message =>
        {
            if (SivMessageExtractor.Instance.AddressOf(message) is not { } address)
            {
                Unhandled(message);
                return;
            }
            var inner = SivMessageExtractor.Instance.EntityMessage(message);
            if (_waiting.TryGetValue(address, out var waiting))
            {
                if (waiting.Count < MaxBuffered) waiting.Add((inner, Sender));
                else Overflow(address, inner, Sender);
                return;
            }
            if (_givenUp.Contains(address))
            {
                Context.System.DeadLetters.Tell(inner, Sender);
                return;
            }
            GetOrCreate(address).Forward(inner);
        });
    }

    /// <summary>More messages wait for a restarting entity than the buffer holds: counted where they are owed, or dead letters.</summary>
    private void Overflow(EntityAddress address, object message, IActorRef sender)
    {
        if (_onOverflow?.Invoke(address, message) != true) Context.System.DeadLetters.Tell(message, sender);
    }

    protected override void PreStart() => Context.System.EventStream.Subscribe(Self, typeof(DeadLetter));

    protected override void PostStop() => Context.System.EventStream.Unsubscribe(Self);

    /// <summary>
    /// Restart a failed entity, but never silently: the failure is counted and fails the run's invariants. An injected
    /// crash is the fault doing what it was scheduled to do: restarted, neither counted nor logged as a failure.
    /// </summary>
    protected override SupervisorStrategy SupervisorStrategy() => new EntityStrategy(e =>
    {
        if (e is not InjectedCrash) _onFailure?.Invoke($"{e.GetType().Name}: {e.Message}");
        return Directive.Restart;
    });

    private sealed class EntityStrategy(Func<Exception, Directive> decide) : OneForOneStrategy(Akka.Actor.Decider.From(decide))
    {
        protected override void LogFailure(IActorContext context, IActorRef child, Exception cause, Directive directive)
        {
            if (cause is not InjectedCrash) base.LogFailure(context, child, cause, directive);
        }
    }

    private IActorRef GetOrCreate(EntityAddress address)
    {
        if (_children.TryGetValue(address, out var child)) return child;
        child = Context.ActorOf(_props(address), Uri.EscapeDataString(address.EntityId) + Suffix(address));
        Context.Watch(child);
        _children.Add(address, child);
        _addresses[child] = address;
        _directory.Register(address, child);
        return child;
    }

    // A restarted entity gets a fresh name: the old one may not be fully released when the back-off is short.
    private string Suffix(EntityAddress address) => _failures.GetValueOrDefault(address) is var n and > 0 ? $"~{n}" : "";

    public static Props Props(EntityDirectory directory, Func<EntityAddress, Props> props, Action<string>? onFailure = null,
        EntityRestartPolicy? policy = null, Action? onRestart = null, Func<EntityAddress, object, bool>? onOverflow = null) =>
        Akka.Actor.Props.Create(() => new EntityParent(directory, props, onFailure, policy, onRestart, onOverflow));

    private sealed record RestartEntity(EntityAddress Address) : INoSerializationVerificationNeeded;
}


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
/// How a kill-actor or journal-fail fault ends an entity's incarnation: it fails with this exception and its supervisor
/// (the local entity parent, or the shard) restarts it. A restart keeps the mailbox, so every message already sent to
/// the entity reaches the next incarnation in order; a stop would turn them into dead letters, which Akka delivers
/// only on a best-effort basis (one enqueued while the mailbox is being swapped is gone without a trace), and the
/// ledger must be exact (decision 44).
/// </summary>
public sealed class InjectedCrash(EntityAddress address, string reason) : Exception($"{address}: {reason}")
{
    public EntityAddress Address { get; } = address;

    // An injected fault, not a bug: where a supervisor logs it (a shard does), one line is enough.
    public override string? StackTrace => null;

    /// <summary>
    /// Ends the calling entity's incarnation for an injected fault: what is lost until its successor runs is charged
    /// to the fault; the supervisor restarts it at once (a local parent's back-off is for real failures that repeat).
    /// </summary>
    public static Exception For(EmulatorContext ctx, EntityAddress address, int fault, string reason)
    {
        ctx.Faults.Restarting(address.EntityId, ctx.Faults.Stats[fault]);
        return new InjectedCrash(address, reason);
    }
}

/// <summary>
/// Asks an entity (through its parent or shard region) for its reference; it answers <see cref="EntityLocated"/>
/// with itself as the sender. Sent by a learning directory on a miss, to the node's <see cref="EntityLocator"/>.
/// </summary>
public sealed record LocateEntity(EntityAddress Address) : IEntityMessage, ISivMessage
{
    public EntityAddress Target => Address;
}

public sealed record EntityLocated(EntityAddress Address) : ISivMessage;
