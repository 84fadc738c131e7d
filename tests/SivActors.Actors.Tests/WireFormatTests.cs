using Akka.Actor;
using SivActors.Actors.Entities;
using SivActors.Actors.Hosting;
using SivActors.Actors.Run;
using SivActors.Actors.Wire;
using SivActors.Cli;
using SivActors.Model.Device;
using SivActors.Model.Identity;
using SivActors.Model.Interrupts;
using SivActors.Model.Workload;
using Dmar = SivActors.Actors.DmaRemapping.DmaRemappingProtocol;
using Iu = SivActors.Actors.InterruptUnit.InterruptUnitProtocol;

namespace SivActors.Actors.Tests;

/// <summary>Every message that can cross nodes has a compact binary form, and a whole run works on it.</summary>
public sealed class WireFormatTests : Akka.TestKit.Xunit2.TestKit
{
    public WireFormatTests() : base("akka.loglevel = WARNING\n" + SivEmulatorHosting.WireFormatHocon)
    {
    }

    private static IEnumerable<Type> MessageTypes() => typeof(ISivMessage).Assembly.GetTypes()
        .Where(t => typeof(ISivMessage).IsAssignableFrom(t) && !t.IsAbstract && !t.IsInterface);

    [Fact]
    public void Every_message_type_is_bound_to_the_wire_serializer_and_has_a_manifest()
    {
        var types = MessageTypes().ToList();
        Assert.True(types.Count >= 70, $"only {types.Count} message types found");
        var missing = types.Where(t => !WireSerializer.Types.Contains(t)).Select(t => t.FullName).ToList();
        Assert.True(missing.Count == 0, "no wire format: " + string.Join(", ", missing));
        Assert.All(types, t => Assert.IsType<WireSerializer>(Sys.Serialization.FindSerializerForType(t)));
    }

    [Fact]
    public void A_hot_path_interrupt_round_trips_compactly()
    {
        var write = new UpstreamWrite(SourceId.Create(0x6A, 1, 0), Asid.Create(0xABCDE), UpstreamKind.Interrupt, RemappableMsi.EncodeAddress(513), 0);
        var forged = new Forgery(RogueKind.WrongAsid, write, 0, FaultReason.AsidMismatch, FaultReason.IrteNotPresent);
        var m = new Iu.RaiseInterrupt(new HostId(3), new AiId(new DeviceId(new HostId(3), 2), 77), write, 1_234, forged);
        var serializer = (WireSerializer)Sys.Serialization.FindSerializerFor(m);
        var bytes = serializer.ToBinary(m);
        Assert.Equal(m, serializer.FromBinary(bytes, serializer.Manifest(m)));
        Assert.True(bytes.Length < 64, $"{bytes.Length} bytes");
        Assert.Throws<System.Runtime.Serialization.SerializationException>(() => serializer.FromBinary(bytes[..^3], serializer.Manifest(m)));
        Assert.Throws<System.Runtime.Serialization.SerializationException>(() => serializer.FromBinary(bytes, "no-such-message"));
    }

    [Fact]
    public void A_dma_write_burst_round_trips_on_its_own_and_inside_the_memory_write_it_became()
    {
        var ai = new AiId(new DeviceId(new HostId(2), 1), 9);
        var record = new CompletionRecord(OperationStatus.SuccessFalsePredicate, 1, 4096, 0x2000_1000, 0xDEAD_BEEF);
        var forged = new Forgery(RogueKind.WrongAsid, UpstreamWrite.Dma(ai.Device.SourceId, Asid.Create(7), 0x2000_0000), 64, FaultReason.AsidMismatch);
        var bursts = new[]
        {
            new Dmar.DmaWrite(new HostId(2), ai, ai.Device.SourceId, Asid.Create(0x42), 0x2000_0000, [1, 2, 3], 0x3000_0040, record, 1_234, null),
            new Dmar.DmaWrite(new HostId(2), ai, ai.Device.SourceId, Asid.Create(0x42), 0, null, 0x3000_0040, record, 5, null),
            new Dmar.DmaWrite(new HostId(2), ai, ai.Device.SourceId, Asid.Create(7), 0x2000_0000, new byte[64], 0, default, 9, forged),
        };
        var serializer = (WireSerializer)Sys.Serialization.FindSerializerFor(bursts[0]);
        foreach (var burst in bursts)
        {
            var delivered = new SivActors.Actors.Container.ContainerProtocol.MemoryWrite(new ContainerId(3), new HostId(2), burst, 77);
            var alone = (Dmar.DmaWrite)serializer.FromBinary(serializer.ToBinary(burst), serializer.Manifest(burst));
            var inside = (SivActors.Actors.Container.ContainerProtocol.MemoryWrite)serializer.FromBinary(serializer.ToBinary(delivered), serializer.Manifest(delivered));
            Assert.Equal((delivered.Container, delivered.Host, delivered.ModeledNs), (inside.Container, inside.Host, inside.ModeledNs));
            foreach (var back in new[] { alone, inside.Write })
            {
                // Data is an array (compared by content); every other field by value.
                Assert.Equal(burst.Data, back.Data);
                Assert.Equal(burst with { Data = null }, back with { Data = null });
                Assert.Equal(burst.Count, back.Count);
            }
        }
    }

    [Fact]
    public void A_recovered_vdcm_s_reconciliation_carries_its_live_entries()
    {
        var entry = new InterruptEntry { Mode = InterruptMode.Posted, Vector = 0xA2, Destination = 9, PostedDescriptorAddress = 0x5000_0040, Asid = Asid.Create(0x180) };
        var m = new Iu.ReconcileAsid(new HostId(2), 77, Asid.Create(0x180), [15, 16]) { Entries = new Dictionary<int, InterruptEntry> { [15] = entry } };
        var serializer = (WireSerializer)Sys.Serialization.FindSerializerFor(m);
        var back = (Iu.ReconcileAsid)serializer.FromBinary(serializer.ToBinary(m), serializer.Manifest(m));
        Assert.Equal((m.Host, m.RequestId, m.Asid), (back.Host, back.RequestId, back.Asid));
        Assert.Equal(m.Keep, back.Keep);
        Assert.Equal(entry, Assert.Single(back.Entries, kv => kv.Key == 15).Value);
        object[] answers = [new Iu.AsidReconciled(77, null), new Iu.AsidReconciled(78, "journal write failed"),
            new SivActors.Actors.Container.ContainerProtocol.NoiseStarts(new ContainerId(5), new HostId(1))];
        Assert.All(answers, a => Assert.Equal(a, serializer.FromBinary(serializer.ToBinary(a), serializer.Manifest(a))));
    }

    [Fact]
    public void A_pasid_binding_carries_an_sr_iov_vfs_requester_id_or_none()
    {
        var regions = new[] { new SivActors.Model.Dma.MappedRegion("dst", 0x2000_0000, 0x1000, SivActors.Model.Dma.DmaPermissions.ReadWrite) };
        var vf = new DeviceId(new HostId(1), 3).SourceId.Vf(246);
        foreach (var requester in new SourceId?[] { null, vf, SourceId.FromRequesterId(0) })
        {
            var m = new SivActors.Actors.DmaRemapping.DmaRemappingProtocol.BindPasid(new HostId(1), Asid.Create(0x42), new ContainerId(7), regions, requester);
            var serializer = (WireSerializer)Sys.Serialization.FindSerializerFor(m);
            var back = (SivActors.Actors.DmaRemapping.DmaRemappingProtocol.BindPasid)serializer.FromBinary(serializer.ToBinary(m), serializer.Manifest(m));
            Assert.Equal((m.Host, m.Pasid, m.Owner, m.Requester), (back.Host, back.Pasid, back.Owner, back.Requester));
            Assert.Equal(regions, back.Regions);
        }
    }

    [Fact]
    public void Reliable_delivery_numbers_and_their_acknowledgement_round_trip()
    {
        var ai = new AiId(new DeviceId(new HostId(1), 3), 200);
        var write = new UpstreamWrite(SourceId.Create(0x6A, 1, 0), Asid.Create(0x42), UpstreamKind.Interrupt, RemappableMsi.EncodeAddress(7), 0);
        var raise = new Iu.RaiseInterrupt(new HostId(1), ai, write, 10, null, new Iu.OutboxStamp(1L << 40, (1L << 40) - 5));
        object[] messages =
        [
            raise,
            new SivActors.Actors.Container.ContainerProtocol.InterruptDelivered(new ContainerId(4), new HostId(0), 0x41, raise with { Outbox = new Iu.OutboxStamp(123_456_789, 123_456_700) },
                7, true, false, 30) { Stale = true },
            new SivActors.Actors.AssignableInterface.AssignableInterfaceProtocol.InterruptAcked(ai, 123_456_789),
        ];
        var serializer = (WireSerializer)Sys.Serialization.FindSerializerFor(messages[0]);
        Assert.All(messages, m => Assert.Equal(m, serializer.FromBinary(serializer.ToBinary(m), serializer.Manifest(m))));
    }

    [Fact]
    public void A_surprise_removal_its_refresh_and_a_device_gone_rejection_round_trip()
    {
        var ai = new AiId(new DeviceId(new HostId(2), 15), 255);
        object[] messages =
        [
            new SivActors.Actors.AssignableInterface.AssignableInterfaceProtocol.SurpriseRemoved(ai, -1),
            new SivActors.Actors.AssignableInterface.AssignableInterfaceProtocol.SurpriseRemoved(ai, 12),
            new SivActors.Actors.Vdcm.VdcmProtocol.RemoveDevice(new HostId(2), 15, 3),
            new SivActors.Actors.Vdcm.VdcmProtocol.RefreshVdev(new HostId(2), new ContainerId(999_999)),
            new SivActors.Actors.Vdcm.VdcmProtocol.VdevGone(new ContainerId(999_999)),
            new SivActors.Actors.Container.ContainerProtocol.PortalRejected(new ContainerId(7), new HostId(2), 1, SivActors.Model.Device.SubmitOutcome.DeviceGone),
            new SivActors.Actors.Container.ContainerProtocol.ContainerDrained(new ContainerId(999_999), 12_345_678_901),
        ];
        var serializer = (WireSerializer)Sys.Serialization.FindSerializerFor(messages[0]);
        Assert.All(messages, m => Assert.Equal(m, serializer.FromBinary(serializer.ToBinary(m), serializer.Manifest(m))));
    }

    [Fact]
    public void The_reused_writer_leaves_nothing_of_an_earlier_message_in_the_next()
    {
        var small = new RunProtocol.RunScenario(TestActor);
        var large = new SivActors.Actors.Cluster.ClusterProtocol.DeployScenario("run", new string('s', 100_000), "{}", "test", TestActor);
        var serializer = (WireSerializer)Sys.Serialization.FindSerializerFor(small);
        var first = serializer.ToBinary(small);
        // A message larger than the pooled buffer keeps, then a small one: same bytes as before, and both read back.
        var big = serializer.ToBinary(large);
        Assert.Equal(first, serializer.ToBinary(small));
        Assert.Equal(large, serializer.FromBinary(big, serializer.Manifest(large)));
        Assert.Equal(first, serializer.ToBinary(small));
    }

    [Fact]
    public void A_restore_request_its_marker_and_a_vdev_with_its_modes_round_trip()
    {
        var host = new HostId(2);
        var ai = new AiId(new DeviceId(host, 1), 5);
        var request = new SivActors.Actors.Vdcm.VdcmProtocol.RestoreDeviceState(host, EntityAddress.Of(ai));
        var marker = new SivActors.Actors.Vdcm.VdcmProtocol.DeviceStateRestored(EntityAddress.Of(new ContainerId(8), host));
        var serializer = (WireSerializer)Sys.Serialization.FindSerializerFor(request);
        Assert.Equal(request, serializer.FromBinary(serializer.ToBinary(request), serializer.Manifest(request)));
        Assert.Equal(marker, serializer.FromBinary(serializer.ToBinary(marker), serializer.Manifest(marker)));

        var msix = new SivActors.Model.Vdcm.VirtualMsixEntry(0xFEE0_0000, 0x41, Masked: false) { AiSlot = 0, InterruptHandle = 9, ImsIndex = 3 };
        var info = new SivActors.Actors.Vdcm.VdcmProtocol.VdevInfo(new ContainerId(8), Asid.Create(0x1234), 1, [ai], [msix],
            [SivActors.Model.Device.WorkQueueMode.Dedicated]);
        var back = (SivActors.Actors.Vdcm.VdcmProtocol.VdevInfo)serializer.FromBinary(serializer.ToBinary(info), serializer.Manifest(info));
        Assert.Equal((info.Container, info.Asid, info.TableId), (back.Container, back.Asid, back.TableId));
        Assert.Equal(info.Ais, back.Ais);
        Assert.Equal(info.Msix, back.Msix);
        Assert.Equal(info.Modes, back.Modes);
    }

    [Fact]
    public void A_node_s_figures_with_its_fault_counts_and_a_scenario_deployment_round_trip()
    {
        var metrics = new SivActors.Model.Reporting.RunMetrics();
        metrics.DescriptorSubmitted();
        metrics.InterruptFaulted(FaultReason.AsidMismatch);
        metrics.Record(SivActors.Model.Reporting.RunMetrics.WallFastUs, 1234);
        metrics.EntityFailed("x: y");
        var figures = new SivActors.Actors.Cluster.ClusterProtocol.NodeMetrics("run", "akka.tcp://siv@127.0.0.1:1", 5, 6, 7, 8, metrics.Export())
        {
            Faults = [new SivActors.Model.Faults.FaultCounts(2, 40, 3, 1, 7, 1_250_000) { Crossed = 812 }, new SivActors.Model.Faults.FaultCounts(0, 1, 0, 0, 0, -1)],
            WindowUs = 12_345_678,
            Incarnation = -1_234_567_890,
        };
        var serializer = (WireSerializer)Sys.Serialization.FindSerializerFor(figures);
        var back = (SivActors.Actors.Cluster.ClusterProtocol.NodeMetrics)serializer.FromBinary(serializer.ToBinary(figures), serializer.Manifest(figures));
        Assert.Equal((figures.RunId, figures.Node, figures.WindowOperations, figures.WindowInterrupts, figures.Hops, figures.RemoteHops),
            (back.RunId, back.Node, back.WindowOperations, back.WindowInterrupts, back.Hops, back.RemoteHops));
        Assert.Equal(figures.Metrics.Counters, back.Metrics.Counters);
        Assert.Equal(figures.Metrics.Histograms.Select(h => h.ToList()), back.Metrics.Histograms.Select(h => h.ToList()));
        Assert.Equal("x: y", back.Metrics.FirstEntityFailure);
        Assert.Equal(figures.Faults, back.Faults);
        Assert.Equal(12_345_678, back.WindowUs);
        Assert.Equal(-1_234_567_890, back.Incarnation);

        var deploy = new SivActors.Actors.Cluster.ClusterProtocol.DeployScenario("run", "{\"name\":\"s\"}", "{}", "test", TestActor);
        var d = (SivActors.Actors.Cluster.ClusterProtocol.DeployScenario)serializer.FromBinary(serializer.ToBinary(deploy), serializer.Manifest(deploy));
        Assert.Equal(deploy, d);

        var crash = new SivActors.Actors.Cluster.ClusterProtocol.CrashNode("run", 3) { RestartAfterMs = 4500 };
        var crashBack = (SivActors.Actors.Cluster.ClusterProtocol.CrashNode)serializer.FromBinary(serializer.ToBinary(crash), serializer.Manifest(crash));
        Assert.Equal((crash.RunId, crash.Fault, 4500), (crashBack.RunId, crashBack.Fault, crashBack.RestartAfterMs));

        var window = new SivActors.Actors.Cluster.ClusterProtocol.MarkWindow("run", true) { OpenForUs = 9_000_000 };
        var windowBack = (SivActors.Actors.Cluster.ClusterProtocol.MarkWindow)serializer.FromBinary(serializer.ToBinary(window), serializer.Manifest(window));
        Assert.Equal((window.RunId, window.Start, 9_000_000L), (windowBack.RunId, windowBack.Start, windowBack.OpenForUs));
    }

    [Fact]
    public void Actor_references_survive_the_round_trip()
    {
        var m = new RunProtocol.RunScenario(TestActor);
        var serializer = (WireSerializer)Sys.Serialization.FindSerializerFor(m);
        var back = (RunProtocol.RunScenario)serializer.FromBinary(serializer.ToBinary(m), serializer.Manifest(m));
        back.ReplyTo.Tell("hello");
        ExpectMsg("hello");
    }

    [Fact]
    public async Task A_run_with_every_rogue_kind_passes_with_every_message_serialized()
    {
        // serialize-messages = on: every message between actors goes through its serializer and the receiver gets
        // the deserialized copy, so any field the wire format loses breaks an invariant.
        var outcome = await EmulatorRun.RunAsync(TestScenarios.Small(s => s with { DurationSeconds = 1.5 }), new RunProgress(),
            extraHocon: "akka.actor.serialize-messages = on");
        Assert.Null(outcome.Failure);
        var r = outcome.Report!;
        Assert.True(r.Invariants.Passed, string.Join("; ", r.Invariants.Violations));
        Assert.True(r.Throughput.Operations > 0);
        Assert.All(Enum.GetValues<RogueKind>(), k => Assert.True(r.Rogue.Forged[RunMetricsName(k)] > 0, $"{k} was never forged"));
    }

    private static string RunMetricsName(RogueKind k) => SivActors.Model.Reporting.RunMetrics.Camel(k.ToString());
}

/// <summary>The same scenario through Cluster.Sharding regions (a one-node cluster on loopback).</summary>
public sealed class ShardedRunTests
{
    [Fact]
    public async Task A_scenario_runs_through_shard_regions_with_every_message_serialized()
    {
        var outcome = await EmulatorRun.RunAsync(TestScenarios.Small(s => s with { DurationSeconds = 1.5 }), new RunProgress(),
            extraHocon: "akka.actor.serialize-messages = on", sharding: new ShardingSettings());
        Assert.Null(outcome.Failure);
        var r = outcome.Report!;
        Assert.True(r.Invariants.Passed, string.Join("; ", r.Invariants.Violations));
        Assert.True(r.Throughput.Operations > 0);
        Assert.Equal(0, r.Ledger.Interrupts.Misdelivered);
    }

    [Theory]
    [MemberData(nameof(Persistence.TestStores.Kinds), MemberType = typeof(Persistence.TestStores))]
    public async Task Sharded_table_owners_persist_and_a_second_sharded_run_resumes(string kind)
    {
        await using var db = await Persistence.TestStores.CreateAsync(kind);
        var scenario = TestScenarios.Small();
        var first = await EmulatorRun.RunAsync(scenario, new RunProgress(), store: db.Store, sharding: new ShardingSettings(ShardsPerHost: 2));
        Assert.Null(first.Failure);
        Assert.True(first.Report!.Invariants.Passed, string.Join("; ", first.Report.Invariants.Violations));
        var second = await EmulatorRun.RunAsync(scenario, new RunProgress(), store: db.Store, sharding: new ShardingSettings());
        Assert.Null(second.Failure);
        Assert.True(second.Report!.Invariants.Passed, string.Join("; ", second.Report.Invariants.Violations));
        Assert.True(second.Report.Tables!.Resumed);
        Persistence.RecoveryTests.AssertTablesAgree(await TablesCommand.ReadAsync(db.Store, null, fromEvents: false, CancellationToken.None));
    }
}
