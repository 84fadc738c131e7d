using Akka.Actor;
using Akka.Configuration;
using Akka.Dispatch;
using Akka.Dispatch.MessageQueues;

namespace SivActors.Actors.Hosting;

/// <summary>
/// The containers' mailbox: a locked ring of envelopes that starts empty and grows as needed, in place of Akka's
/// default (a <c>ConcurrentQueue</c> whose first segment is 32 slots, about 1 KB per actor before its first message).
/// A container has a few messages queued at a time, and a run has up to a million of them, so that kilobyte was an
/// eighth of a container's cost (decision 60). Double-ended, as the entities' stash needs.
/// </summary>
public sealed class CompactMailbox : MailboxType, IProducesMessageQueue<CompactMessageQueue>
{
    public const string Id = "siv-compact-mailbox";

    public const string Hocon = $$"""{{Id}}.mailbox-type = "SivActors.Actors.Hosting.CompactMailbox, SivActors.Actors" """;

    public CompactMailbox(Settings settings, Config config) : base(settings, config) { }

    public override IMessageQueue Create(IActorRef owner, ActorSystem system) => new CompactMessageQueue();

    /// <summary><paramref name="props"/> on this mailbox where the system configures it (tests' own systems may not).</summary>
    public static Props On(Props props, ActorSystem system) => system.Settings.Config.HasPath(Id) ? props.WithMailbox(Id) : props;
}

/// <summary>An unbounded double-ended queue under a lock; producers are any thread, the consumer and <c>EnqueueFirst</c> the actor's.</summary>
public sealed class CompactMessageQueue : IMessageQueue, IUnboundedDequeBasedMessageQueueSemantics
{
    private readonly Lock _lock = new();
    private Envelope[] _ring = [];
    private int _head, _count;

    public bool HasMessages => Volatile.Read(ref _count) > 0;

    public int Count => Volatile.Read(ref _count);

    public void Enqueue(IActorRef receiver, Envelope envelope)
    {
        lock (_lock)
        {
            if (_count == _ring.Length) Grow();
            _ring[(_head + _count) % _ring.Length] = envelope;
            Volatile.Write(ref _count, _count + 1);
        }
    }

    public void EnqueueFirst(Envelope envelope)
    {
        lock (_lock)
        {
            if (_count == _ring.Length) Grow();
            _head = (_head - 1 + _ring.Length) % _ring.Length;
            _ring[_head] = envelope;
            Volatile.Write(ref _count, _count + 1);
        }
    }

    public bool TryDequeue(out Envelope envelope)
    {
        lock (_lock)
        {
            if (_count == 0)
            {
                envelope = default;
                return false;
            }
            envelope = _ring[_head];
            _ring[_head] = default; // no reference kept to a handled message
            _head = (_head + 1) % _ring.Length;
            Volatile.Write(ref _count, _count - 1);
            return true;
        }
    }

    public void CleanUp(IActorRef owner, IMessageQueue deadletters)
    {
        while (TryDequeue(out var envelope)) deadletters.Enqueue(owner, envelope);
    }

    private void Grow()
    {
        var bigger = new Envelope[Math.Max(4, _ring.Length * 2)];
        for (var i = 0; i < _count; i++) bigger[i] = _ring[(_head + i) % _ring.Length];
        _ring = bigger;
        _head = 0;
    }
}
