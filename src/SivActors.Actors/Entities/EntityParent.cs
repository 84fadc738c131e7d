using Akka.Actor;
using Akka.Event;
using SivActors.Actors.Hosting;

namespace SivActors.Actors.Entities;

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
