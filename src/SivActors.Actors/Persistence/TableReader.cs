using Akka.Actor;
using Akka.Persistence;

namespace SivActors.Actors.Persistence;

/// <summary>
/// Replays one table owner's journal (from its latest snapshot, or from the first event when
/// <c>fromEvents</c>) into a pure model, answers the result and stops. It never writes, so it can inspect a
/// database another process is using.
/// </summary>
public sealed class TableReader : ReceivePersistentActor
{
    private readonly string _persistenceId;
    private readonly bool _fromEvents;
    private long _events;
    private long _snapshotAt;

    public TableReader(string persistenceId, TaskCompletionSource<TableRead> done, Action<object, long> apply, Func<object> result, bool fromEvents)
    {
        _persistenceId = persistenceId;
        _fromEvents = fromEvents;
        Recover<SnapshotOffer>(o =>
        {
            _snapshotAt = o.Metadata.SequenceNr;
            apply(o.Snapshot, o.Metadata.SequenceNr);
        });
        Recover<RecoveryCompleted>(_ =>
        {
            done.TrySetResult(new TableRead(persistenceId, LastSequenceNr, _events, _snapshotAt, result()));
            Context.Stop(Self);
        });
        RecoverAny(e =>
        {
            _events++;
            apply(e, LastSequenceNr);
        });
        CommandAny(_ => { });
        _done = done;
    }

    private readonly TaskCompletionSource<TableRead> _done;

    protected override void OnRecoveryFailure(Exception reason, object? message = null)
    {
        _done.TrySetException(new InvalidDataException($"{_persistenceId} cannot be replayed: {reason.GetBaseException().Message}", reason));
        base.OnRecoveryFailure(reason, message);
    }

    public override string PersistenceId => _persistenceId;

    public override Recovery Recovery => _fromEvents ? new Recovery(SnapshotSelectionCriteria.None) : base.Recovery;

    public static Props Props(string persistenceId, TaskCompletionSource<TableRead> done, Action<object, long> apply, Func<object> result, bool fromEvents) =>
        Akka.Actor.Props.Create(() => new TableReader(persistenceId, done, apply, result, fromEvents));
}

/// <summary>
/// A replayed owner: its highest sequence number, how many events were replayed after the snapshot, the snapshot's
/// sequence number (0 when none was used) and the model it produced.
/// </summary>
public sealed record TableRead(string PersistenceId, long HighestSequenceNr, long EventsReplayed, long SnapshotSequenceNr, object State);
