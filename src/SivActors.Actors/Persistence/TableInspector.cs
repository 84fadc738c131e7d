using Akka.Actor;
using SivActors.Actors.Entities;
using SivActors.Actors.Wire;
using SivActors.Model.Identity;
using SivActors.Model.Scenarios;
using SivActors.Model.Tables;
using SivActors.Model.Vdcm;

namespace SivActors.Actors.Persistence;

/// <summary>One host's persisted tables as replayed from the journal.</summary>
public sealed record PersistedHost(int Host, InterruptUnitTables InterruptUnit, TableRead InterruptUnitRead, VdcmCompositions Vdcm, TableRead VdcmRead);

/// <summary>
/// Reads persisted tables without starting any emulated entity: the recorded topology first, then each host's
/// interrupt unit and VDCM through <see cref="TableReader"/>. Used by `siv tables`, the tests and the benchmark.
/// </summary>
public static class TableInspector
{
    public static async Task<TopologyRecorded?> ReadTopologyAsync(ActorSystem system, TimeSpan timeout)
    {
        TopologyRecorded? topology = null;
        await Read(system, TopologyActor.Id, (e, _) => { if (e is TopologyRecorded t) topology = t; }, () => topology!, false, timeout);
        return topology;
    }

    public static async Task<PersistedHost> ReadHostAsync(ActorSystem system, TopologyRecorded topology, int host, bool fromEvents, TimeSpan timeout)
    {
        var iu = new InterruptUnitTables();
        var iuRead = await Read(system, TableOwner<object>.PersistenceIdOf(EntityAddress.InterruptUnit(new HostId(host))), (e, _) =>
        {
            switch (e)
            {
                case InterruptUnitSnapshot s: iu = s.Decode(); break;
                case InterruptUnitEvent ev: iu.Apply(ev); break;
            }
        }, () => iu, fromEvents, timeout);

        var d = topology.Document;
        VdcmCompositions NewVdcm() => VdcmCompositions.For(d.AsScenario(), new HostId(host));
        var vdcm = NewVdcm();
        var vdcmRead = await Read(system, TableOwner<object>.PersistenceIdOf(EntityAddress.Vdcm(new HostId(host))), (e, _) =>
        {
            switch (e)
            {
                case VdcmSnapshot s:
                    vdcm = NewVdcm();
                    VdcmCodec.RestoreSnapshot(vdcm, s);
                    break;
                case VdcmEvent ev: vdcm.Apply(ev); break;
            }
        }, () => vdcm, fromEvents, timeout);
        return new PersistedHost(host, iu, iuRead, vdcm, vdcmRead);
    }

    /// <summary>Stable digests of every persisted table, keyed "interrupt-unit-H/interrupt-table/T", "vdcm-H/compositions", ...</summary>
    public static SortedDictionary<string, string> Digests(IEnumerable<PersistedHost> hosts)
    {
        var result = new SortedDictionary<string, string>(StringComparer.Ordinal);
        foreach (var h in hosts)
        {
            foreach (var (name, digest) in TableCodec.Digests(h.InterruptUnit)) result[$"{h.InterruptUnitRead.PersistenceId}/{name}"] = digest;
            result[$"{h.VdcmRead.PersistenceId}/compositions"] = VdcmCodec.Digest(h.Vdcm);
        }
        return result;
    }

    /// <summary>Every event of <paramref name="persistenceId"/> with its sequence number, snapshots ignored.</summary>
    public static async Task<IReadOnlyList<(long SequenceNr, object Event)>> ReadEventsAsync(ActorSystem system, string persistenceId, TimeSpan timeout)
    {
        var events = new List<(long, object)>();
        await Read(system, persistenceId, (e, seq) => events.Add((seq, e)), () => events, fromEvents: true, timeout);
        return events;
    }

    private static async Task<TableRead> Read(ActorSystem system, string persistenceId, Action<object, long> apply, Func<object> result, bool fromEvents, TimeSpan timeout)
    {
        var done = new TaskCompletionSource<TableRead>(TaskCreationOptions.RunContinuationsAsynchronously);
        system.ActorOf(TableReader.Props(persistenceId, done, apply, result, fromEvents));
        var finished = await Task.WhenAny(done.Task, Task.Delay(timeout));
        if (finished != done.Task) throw new TimeoutException($"reading {persistenceId} took longer than {timeout.TotalSeconds:0} s");
        return await done.Task;
    }
}
