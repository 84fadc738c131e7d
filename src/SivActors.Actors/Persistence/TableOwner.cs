using System.Diagnostics;
using Akka.Actor;
using Akka.Event;
using Akka.Persistence;
using SivActors.Actors.Entities;
using SivActors.Actors.Faults;
using SivActors.Actors.Hosting;
using SivActors.Actors.Wire;
using SivActors.Model.Faults;
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
public abstract class TableOwner<TEvent> : ReceivePersistentActor, IWithTimers where TEvent : class
{
    public ITimerScheduler Timers { get; set; } = null!;

    protected readonly EmulatorContext Ctx;
    private readonly EntityAddress _address;
    private readonly GroupCommit<TEvent> _commit;
    private long _snapshotAt;
    private long _eventsBetweenSnapshots;
    private bool _snapshotDue;

    protected TableOwner(EmulatorContext ctx, EntityAddress address)
    {
        Ctx = ctx;
        _address = address;
        PersistenceId = PersistenceIdOf(address);
        _owner = address.Kind == EntityKind.Vdcm ? TargetKind.Vdcm : TargetKind.InterruptUnit;
        _commit = new GroupCommit<TEvent>(Math.Max(1, ctx.Store.MaxBatch), Write);
        _eventsBetweenSnapshots = ctx.Store.SnapshotEvery;
        Command<FaultProtocol.InjectedKill>(KillWhenNoWriteInFlight);
        Command<InjectedJournalFailure>(m =>
        {
            // As a real write failure (OnPersistFailure): every waiting change is answered with the error, nothing
            // is acknowledged, and the owner restarts from the journal (which recovers a failed write that was
            // durable after all).
            var reason = "journal write failed (injected journal-fail)";
            var refused = _commit.FailAll(reason);
            Ctx.Metrics.TableWriteFailed(refused, injected: true);
            Ctx.Faults.Stats[m.Fault].RefusedChanges(refused);
            Stopping(reason);
            throw InjectedCrash.For(Ctx, _address, m.Fault, reason);
        });
        Command<JournalStallCheck>(_ =>
        {
            if (_stalled is not { } held) return;
            // Still stalled, or not every acknowledgement of a written batch has arrived yet (the rest are held as
            // they come): look again later.
            if ((held.Durable && held.Events.Count < held.Expected) || Ctx.Faults.Journal(_owner, _address.Host).Condition == JournalCondition.Stalled)
            {
                PollStall();
                return;
            }
            _stalled = null;
            if (held.Durable)
                foreach (var e in held.Events) held.Confirmed(e);
            else
                Persist(held.Events, held.Confirmed);
        });
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

    private static readonly TimeSpan StallPoll = TimeSpan.FromMilliseconds(10);
    private readonly TargetKind _owner;
    // A batch the stall holds: not yet written (Durable false), or written with its acknowledgements held.
    private (List<TEvent> Events, Action<TEvent> Confirmed, bool Durable, int Expected)? _stalled;
    private bool _failing;

    /// <summary>Where group commit writes a batch: the journal, unless a journal fault is in force for this owner.</summary>
    private void Write(IReadOnlyList<TEvent> events, Action<TEvent> confirmed)
    {
        var (condition, stats) = Ctx.Faults.Journal(_owner, _address.Host);
        switch (condition)
        {
            case JournalCondition.Failing:
                Fail(stats!, events.Count);
                return;
            case JournalCondition.Stalled:
                // The write hangs: the batch and every answer wait, later changes queue behind it.
                Hold(stats!, [.. events], confirmed, durable: false, events.Count);
                return;
            default:
                Persist(events, confirmed);
                return;
        }
    }

    /// <summary>The injected failure of a write: every waiting change is answered with the error (see the handler).</summary>
    private void Fail(FaultStats stats, int events)
    {
        stats.Touched(events);
        // Failed from a message of its own, not inside group commit's flush: answers may start new changes.
        if (!_failing) Self.Tell(new InjectedJournalFailure(stats.Fault.Index));
        _failing = true;
    }

    /// <summary>A stall holds a batch: not yet written (<paramref name="durable"/> false), or written with its acknowledgements held.</summary>
    private void Hold(FaultStats stats, List<TEvent> events, Action<TEvent> confirmed, bool durable, int expected)
    {
        stats.Touched(expected);
        _stalled = (events, confirmed, durable, expected);
        PollStall();
    }

    private void PollStall() => Timers.StartSingleTimer(JournalStallCheck.Instance, JournalStallCheck.Instance, StallPoll);

    private enum Acknowledgement { Undecided, Confirm, Hold, Fail }

    private void Persist(IReadOnlyList<TEvent> events, Action<TEvent> confirmed)
    {
        var began = Stopwatch.GetTimestamp();
        var fate = Acknowledgement.Undecided;
        PersistAllAsync(events, e =>
        {
            Ctx.Audit?.Durable(PersistenceId, LastSequenceNr, Encode(e));
            if (fate == Acknowledgement.Undecided) fate = Acknowledged(events.Count, began, confirmed);
            if (fate == Acknowledgement.Hold) _stalled!.Value.Events.Add(e);
            else if (fate == Acknowledgement.Confirm) confirmed(e);
        });
    }

    /// <summary>
    /// A journal fault that began while this batch was being written takes it too: a stalled store answers nothing
    /// until the stall ends, and a failing one answers with the error (the change may still be in the journal, as
    /// when a commit's answer is lost; the owner restarts from the journal, and a guest told "error" treats its write
    /// as uncertain). Without this, a fault that began during a slow real write (seconds, on a loaded machine) would
    /// never take effect (decision 48).
    /// </summary>
    private Acknowledgement Acknowledged(int count, long began, Action<TEvent> confirmed)
    {
        var (condition, stats) = Ctx.Faults.Journal(_owner, _address.Host);
        if (condition == JournalCondition.Healthy && Ctx.Faults.JournalFaultBeganSince(_owner, _address.Host, began) is { } over)
        {
            // The write outlasted the whole fault: no answer came while it lasted, as the fault requires.
            if (over.Fault.Kind == FaultKind.JournalStall)
            {
                over.Touched(count);
                return Acknowledgement.Confirm;
            }
            (condition, stats) = (JournalCondition.Failing, over);
        }
        switch (condition)
        {
            case JournalCondition.Failing:
                Fail(stats!, count);
                return Acknowledgement.Fail;
            case JournalCondition.Stalled:
                Hold(stats!, [], confirmed, durable: true, count);
                return Acknowledgement.Hold;
            default:
                return Acknowledgement.Confirm;
        }
    }

    /// <summary>
    /// A kill-actor fault stops the owner at the first moment no batch of its own is in flight or held, so the
    /// journal holds whole batches only (a crash in the middle of a write is what the crash tests cover).
    /// </summary>
    private void KillWhenNoWriteInFlight(FaultProtocol.InjectedKill m)
    {
        if (_commit.Dirty || _failing)
        {
            Timers.StartSingleTimer(m, m, TimeSpan.FromMilliseconds(2));
            return;
        }
        Ctx.Faults.Stats[m.Fault].Touched();
        Stopping($"{PersistenceId} restarted (injected kill-actor)");
        throw InjectedCrash.For(Ctx, _address, m.Fault, "killed (injected kill-actor)");
    }

    /// <summary>This incarnation stops because of an injected fault: answer whatever still waits on it.</summary>
    protected virtual void Stopping(string reason)
    {
    }

    private sealed record InjectedJournalFailure(int Fault) : INoSerializationVerificationNeeded;

    private sealed class JournalStallCheck : INoSerializationVerificationNeeded
    {
        public static readonly JournalStallCheck Instance = new();
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

    /// <summary>Commands that read the tables and persist nothing (the interrupt unit's interrupts).</summary>
    protected virtual bool PersistsNothing(object message) => false;

    /// <summary>
    /// Once recovered, a command that persists nothing skips Akka.Persistence's per-command bookkeeping, which
    /// allocates a callback per message and only matters to commands that persist or stash: interrupts are the
    /// interrupt unit's hot path and never wait for the journal. Writes are asynchronous (PersistAllAsync), so
    /// nothing is held in Akka's internal stash that such a command could overtake.
    /// </summary>
    protected override bool AroundReceive(Receive receive, object message)
    {
        if (!PersistsNothing(message) || !IsRecoveryFinished) return base.AroundReceive(receive, message);
        if (receive(message)) return true;
        Unhandled(message);
        return false;
    }
    protected abstract object TakeSnapshot();

    /// <summary>Entries the tables hold now (what a snapshot encodes); sets how far apart snapshots are.</summary>
    protected abstract long TableEntries { get; }

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

    /// <summary>
    /// Call on RecoveryCompleted: the next snapshot is due <c>SnapshotEvery</c> events after the recovered state, or
    /// as many events as the recovered tables hold entries if that is more (<see cref="SnapshotSchedule"/>).
    /// </summary>
    protected void Recovered(long recoveredSequenceNr)
    {
        _snapshotAt = recoveredSequenceNr;
        _eventsBetweenSnapshots = SnapshotSchedule.EventsUntilNext(Ctx.Store.SnapshotEvery, TableEntries);
        Ctx.Faults.Restarted(_address.EntityId);
        // Local entity parents reset their restart back-off on this; a shard handles restarts itself.
        if (!Ctx.Sharded) Context.Parent.Tell(new TableOwnerRecovered(_address));
    }

    private void BatchDurable(int events)
    {
        Ctx.Metrics.TableBatchDurable(events);
        if (LastSequenceNr - _snapshotAt < _eventsBetweenSnapshots) return;
        if (_commit.Dirty)
        {
            _snapshotDue = true;
            return;
        }
        SaveSnapshot(TakeSnapshot());
        _snapshotAt = LastSequenceNr;
        _eventsBetweenSnapshots = SnapshotSchedule.EventsUntilNext(Ctx.Store.SnapshotEvery, TableEntries);
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
