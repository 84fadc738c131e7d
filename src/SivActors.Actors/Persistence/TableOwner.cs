using Akka.Actor;
using Akka.Event;
using Akka.Persistence;
using SivActors.Actors.Infrastructure;
using SivActors.Model.Tables;

namespace SivActors.Actors.Persistence;

/// <summary>
/// Told to the entity parent when a table owner finished recovery, so its restart back-off starts over.
/// </summary>
public sealed record TableOwnerRecovered(EntityAddress Address) : ISivMessage;

/// <summary>
/// Published on the event stream when a table owner's journal or snapshot cannot be decoded: every retry would fail
/// the same way, so a run stops at once and names the table instead of waiting for it.
/// </summary>
public sealed record TableUnrecoverable(string PersistenceId, long LastGoodSequenceNr, string Reason) : INoSerializationVerificationNeeded;

/// <summary>Receives every table change once it is durable: (persistence id, sequence number, encoded event).</summary>
public interface ITableAudit
{
    void Durable(string persistenceId, long sequenceNr, ReadOnlySpan<byte> encodedEvent);
}

/// <summary>
/// What every event-sourced table owner shares: group commit, snapshots every N events (taken only when the state
/// equals the journal), failure answers, the recovery notice to its parent, and its place in the node's
/// directory. Subclasses decide and apply.
/// </summary>
public abstract class TableOwner<TEvent> : ReceivePersistentActor where TEvent : class
{
    protected readonly EmulatorContext Ctx;
    private readonly EntityAddress _address;
    private readonly GroupCommit<TEvent> _commit;
    private long _snapshotAt;
    private bool _snapshotDue;

    protected TableOwner(EmulatorContext ctx, EntityAddress address)
    {
        Ctx = ctx;
        _address = address;
        PersistenceId = PersistenceIdOf(address);
        _commit = new GroupCommit<TEvent>(Math.Max(1, ctx.Store.MaxBatch), (events, confirmed) => PersistAllAsync(events, e =>
        {
            Ctx.Audit?.Durable(PersistenceId, LastSequenceNr, Encode(e));
            confirmed(e);
        }));
        _commit.BatchDurable = BatchDurable;
        // Older snapshots are dropped once a newer one is saved; the journal keeps every event.
        Command<SaveSnapshotSuccess>(s => DeleteSnapshots(new SnapshotSelectionCriteria(s.Metadata.SequenceNr - 1)));
        Command<SaveSnapshotFailure>(f => Context.GetLogger().Warning("{0}: snapshot not saved ({1}); recovery replays more events", PersistenceId, f.Cause.Message));
        Command<DeleteSnapshotsSuccess>(_ => { });
        Command<DeleteSnapshotsFailure>(_ => { });
        // Stashed during recovery like every command, so the answers mean "running, tables recovered".
        Command<EnsureEntity>(m => Sender.Tell(new EntityEnsured(m.Address)));
        Command<LocateEntity>(m => Sender.Tell(new EntityLocated(m.Address)));
    }

    protected override void OnRecoveryFailure(Exception reason, object? message = null)
    {
        var cause = reason.GetBaseException();
        if (cause is not (InvalidDataException or System.Runtime.Serialization.SerializationException))
        {
            base.OnRecoveryFailure(reason, message);
            return;
        }
        // Corrupt data, not a transient fault: one notice (the run reports it in one line), no stack trace.
        Context.System.EventStream.Publish(new TableUnrecoverable(PersistenceId, LastSequenceNr, cause.Message));
    }

    // In the node's directory exactly while it runs (see EntityActor); only if still ours when it stops.
    protected override void PreStart()
    {
        base.PreStart();
        Ctx.Directory.Register(_address, Self);
    }

    protected override void PostStop()
    {
        Ctx.Directory.Unregister(_address, Self);
        base.PostStop();
    }

    public override string PersistenceId { get; }

    /// <summary>Persistence ids are prefixed by entity type, then the host: interrupt-unit-h0, vdcm-h3.</summary>
    public static string PersistenceIdOf(EntityAddress a) => $"{KindPrefix(a.Kind)}-h{a.Host}";

    public static string KindPrefix(EntityKind kind) => kind switch
    {
        EntityKind.InterruptUnit => "interrupt-unit",
        EntityKind.Vdcm => "vdcm",
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "not a table owner"),
    };

    protected abstract byte[] Encode(TEvent e);
    protected abstract object TakeSnapshot();

    /// <summary>
    /// Table commands go through here: while a snapshot waits for the state to equal the journal, new changes are
    /// stashed, so the snapshot never contains a change that is not durable.
    /// </summary>
    protected bool DeferWhileSnapshotDue()
    {
        if (!_snapshotDue) return false;
        Stash.Stash();
        return true;
    }

    /// <summary>Apply first (later decisions build on it), then persist; <paramref name="onDurable"/> answers.</summary>
    protected void Commit(TEvent e, Action? onDurable, Action<string>? onFailed) => _commit.Add(e, onDurable, onFailed);

    /// <summary>Call on RecoveryCompleted: the next snapshot is due <c>SnapshotEvery</c> events after the recovered state.</summary>
    protected void Recovered(long recoveredSequenceNr)
    {
        _snapshotAt = recoveredSequenceNr;
        // Local entity parents reset their restart back-off on this; a shard handles restarts itself.
        if (!Ctx.Sharded) Context.Parent.Tell(new TableOwnerRecovered(_address));
    }

    private void BatchDurable(int events)
    {
        Ctx.Metrics.TableBatchDurable(events);
        if (LastSequenceNr - _snapshotAt < Ctx.Store.SnapshotEvery) return;
        if (_commit.Dirty)
        {
            _snapshotDue = true;
            return;
        }
        SaveSnapshot(TakeSnapshot());
        _snapshotAt = LastSequenceNr;
        if (_snapshotDue)
        {
            _snapshotDue = false;
            Stash.UnstashAll();
        }
    }

    protected override void OnPersistFailure(Exception cause, object @event, long sequenceNr)
    {
        // Akka stops the owner after this; the entity parent restarts it with back-off and it recovers from the
        // journal, so every change that was applied but not written disappears with the old instance.
        Ctx.Metrics.TableWriteFailed(_commit.FailAll($"journal write failed: {cause.GetBaseException().Message}"));
        base.OnPersistFailure(cause, @event, sequenceNr);
    }

    protected override void OnPersistRejected(Exception cause, object @event, long sequenceNr)
    {
        Ctx.Metrics.TableWriteFailed(_commit.FailAll($"journal rejected the write: {cause.GetBaseException().Message}"));
        base.OnPersistRejected(cause, @event, sequenceNr);
        // The rejected changes are already applied in memory; restart from the journal to drop them.
        Context.Stop(Self);
    }
}
