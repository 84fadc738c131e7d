using Akka.Serialization;
using SivActors.Actors.Persistence;
using SivActors.Model.Device;
using SivActors.Model.Identity;
using SivActors.Model.Interrupts;
using SivActors.Model.Tables;
using SivActors.Model.Vdcm;

namespace SivActors.Actors.Tests.Persistence;

/// <summary>Every persisted event and snapshot type goes through the binary table serializer, never JSON, and back.</summary>
public sealed class TableSerializerTests
{
    private static object[] Samples()
    {
        var tables = new InterruptUnitTables();
        tables.Apply(new AsidBound(Asid.Create(5), 2, 6));
        tables.Apply(new EntryWritten(2, 9, new InterruptEntry { Present = true, Vector = 0x41, Asid = Asid.Create(5), Target = new ContainerId(4) }, true));
        var vdcm = new VdcmCompositions(new HostId(0), new Composer(2, 2, CompositionPolicy.Shared), 4);
        vdcm.Apply(new VdevComposed(new ContainerId(4), Asid.Create(5), 1, [new ComposedAi(1, 1, WorkQueueMode.Shared)]));
        return
        [
            new AsidBound(Asid.Create(5), 2, 6),
            new EntryWritten(2, 9, new InterruptEntry { Present = true, Vector = 0x41, Asid = Asid.Create(5), Target = new ContainerId(4) }, true),
            new EntryFreed(2, 9),
            InterruptUnitSnapshot.Of(tables),
            new VdevComposed(new ContainerId(4), Asid.Create(5), 1, [new ComposedAi(1, 1, WorkQueueMode.Shared)]),
            new MsixEntrySet(new ContainerId(4), 1, new VirtualMsixEntry(0xFEE0_0000, 0x41, false) { AiSlot = 0, InterruptHandle = 9, ImsIndex = 3 }),
            new VdevReset(new ContainerId(4)),
            new DeviceRemoved(1),
            new VdevRecomposed(new ContainerId(4), 0, new ComposedAi(0, 1, WorkQueueMode.Shared)),
            new VdevTornDown(new ContainerId(4)),
            VdcmCodec.EncodeSnapshot(vdcm),
            TopologyRecorded.Of(TestScenarios.Small().Scenario),
        ];
    }

    [Fact]
    public async Task Every_event_and_snapshot_type_round_trips_through_the_bound_serializer()
    {
        await using var node = await PersistentNode.StartAsync(TableStore.InMemory, TestScenarios.Small());
        var serialization = node.System.Serialization;
        var samples = Samples();
        // Every manifest the serializer knows is exercised here.
        Assert.Equal(12, samples.Select(o => ((TableSerializer)serialization.FindSerializerFor(o)).Manifest(o)).Distinct().Count());
        foreach (var o in samples)
        {
            var serializer = serialization.FindSerializerFor(o);
            Assert.IsType<TableSerializer>(serializer);
            var manifest = Serialization.ManifestFor(serializer, o);
            var bytes = serializer.ToBinary(o);
            var back = serialization.Deserialize(bytes, serializer.Identifier, manifest);
            Assert.Equal(o.GetType(), back.GetType());
            Assert.Equal(bytes, serializer.ToBinary(back)); // same bytes: nothing lost or added
        }
    }

    [Fact]
    public async Task A_payload_under_the_wrong_manifest_is_refused()
    {
        await using var node = await PersistentNode.StartAsync(TableStore.InMemory, TestScenarios.Small());
        var serializer = (TableSerializer)node.System.Serialization.FindSerializerFor(new EntryFreed(1, 1));
        var bytes = serializer.ToBinary(new EntryFreed(1, 1));
        Assert.Throws<System.Runtime.Serialization.SerializationException>(() => serializer.FromBinary(bytes, TableSerializer.AsidBoundManifest));
        Assert.Throws<System.Runtime.Serialization.SerializationException>(() => serializer.FromBinary(bytes, "no-such-manifest"));
    }
}
