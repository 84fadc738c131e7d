using Akka.Actor;
using Akka.Persistence;
using SivActors.Actors.Hosting;
using SivActors.Actors.Wire;
using SivActors.Model.Tables;

namespace SivActors.Actors.Persistence;

/// <summary>
/// Records which topology a database's tables belong to (persistence id "siv-topology"). A run asks it first:
/// an empty database records the run's topology, the same topology resumes, a different one is refused.
/// </summary>
public sealed class TopologyActor : ReceivePersistentActor
{
    public const string Id = "siv-topology";
    private TopologyRecorded? _recorded;
    private IActorRef _asker = ActorRefs.Nobody;

    public TopologyActor()
    {
        Recover<TopologyRecorded>(t => _recorded = t);
        Command<CheckTopology>(m =>
        {
            if (_recorded is null)
            {
                _asker = Sender;
                Persist(m.Topology, t =>
                {
                    _recorded = t;
                    _asker.Tell(new TopologyChecked(TopologyVerdict.Fresh, t));
                });
                return;
            }
            var verdict = _recorded.CanonicalJson == m.Topology.CanonicalJson ? TopologyVerdict.Resumed : TopologyVerdict.Mismatch;
            Sender.Tell(new TopologyChecked(verdict, _recorded));
        });
        Command<ReadTopology>(_ => Sender.Tell(new TopologyRead(_recorded)));
    }

    public override string PersistenceId => Id;

    protected override void OnRecoveryFailure(Exception reason, object? message = null)
    {
        _asker.Tell(new Status.Failure(reason));
        base.OnRecoveryFailure(reason, message);
    }

    protected override void OnPersistFailure(Exception cause, object @event, long sequenceNr)
    {
        _asker.Tell(new Status.Failure(cause));
        base.OnPersistFailure(cause, @event, sequenceNr);
    }
}

public sealed record CheckTopology(TopologyRecorded Topology) : ISivMessage;

public enum TopologyVerdict : byte { Fresh, Resumed, Mismatch }

/// <summary><paramref name="Stored"/> is what the database holds (the run's own topology when fresh).</summary>
public sealed record TopologyChecked(TopologyVerdict Verdict, TopologyRecorded Stored) : ISivMessage;

public sealed record ReadTopology : ISivMessage
{
    public static readonly ReadTopology Instance = new();
}

public sealed record TopologyRead(TopologyRecorded? Topology) : ISivMessage;
