using SivActors.Model.Device;
using SivActors.Model.Identity;
using SivActors.Model.Interrupts;
using SivActors.Model.Scenarios;
using SivActors.Model.Vdcm;
using SivActors.Model.Workload;

namespace SivActors.Model.Tests;

public class AccessClassifierTests
{
    public static TheoryData<GuestAccess, WorkQueueMode, DataPath, OperationType> Cases => new()
    {
        { new GuestAccess(AccessKind.PortalWrite, Portal: PortalKind.Limited), WorkQueueMode.Shared, DataPath.Fast, OperationType.WorkSubmission },
        { new GuestAccess(AccessKind.PortalWrite, Portal: PortalKind.Limited), WorkQueueMode.Dedicated, DataPath.Fast, OperationType.WorkSubmission },
        { new GuestAccess(AccessKind.PortalWrite, Portal: PortalKind.Unlimited), WorkQueueMode.Dedicated, DataPath.Fast, OperationType.WorkSubmission },
        { new GuestAccess(AccessKind.PortalWrite, Portal: PortalKind.Unlimited), WorkQueueMode.Shared, DataPath.Slow, OperationType.UnlimitedPortalResubmit },
        { new GuestAccess(AccessKind.ConfigRead, 0), WorkQueueMode.Dedicated, DataPath.Slow, OperationType.ConfigRead },
        { new GuestAccess(AccessKind.ConfigWrite, 0x04, Value: 6), WorkQueueMode.Dedicated, DataPath.Slow, OperationType.ConfigWrite },
        { new GuestAccess(AccessKind.ConfigWrite, VirtualLayout.DeviceControl, Value: VirtualLayout.InitiateFlr), WorkQueueMode.Dedicated, DataPath.Slow, OperationType.VdevReset },
        { new GuestAccess(AccessKind.Bar0Read, 0x90), WorkQueueMode.Dedicated, DataPath.Slow, OperationType.Bar0Read },
        { new GuestAccess(AccessKind.Bar0Read, VirtualLayout.MsixTable), WorkQueueMode.Shared, DataPath.Slow, OperationType.Bar0Read },
        { new GuestAccess(AccessKind.Bar0Write, VirtualLayout.MsixTable + 0x1C), WorkQueueMode.Dedicated, DataPath.Slow, OperationType.MsixTableWrite },
        { new GuestAccess(AccessKind.Bar0Write, VirtualLayout.Cmd), WorkQueueMode.Dedicated, DataPath.Slow, OperationType.AdminCommand },
        { new GuestAccess(AccessKind.Bar0Write, VirtualLayout.IntCause), WorkQueueMode.Dedicated, DataPath.Slow, OperationType.ControlRegisterWrite },
        { new GuestAccess(AccessKind.Bar0Write, VirtualLayout.WqCfg), WorkQueueMode.Dedicated, DataPath.Slow, OperationType.ControlRegisterWrite },
        { new GuestAccess(AccessKind.Bar0Write, VirtualLayout.Pba), WorkQueueMode.Dedicated, DataPath.Slow, OperationType.ControlRegisterWrite },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Every_guest_access_is_classified(GuestAccess access, WorkQueueMode mode, DataPath path, OperationType op) =>
        Assert.Equal((path, op), AccessClassifier.Classify(access, mode));
}

public class VirtualDeviceTests
{
    private static VirtualDevice Vdev() => new(new VdevId(1), new ContainerId(1), Asid.Create(2), [new AiId(new DeviceId(new HostId(0), 0), 0)]);

    [Fact]
    public void Config_space_shows_a_dsa_and_ids_are_read_only()
    {
        var v = Vdev();
        Assert.Equal(0x0B258086u, v.ReadConfig(0));
        v.WriteConfig(0, 0);
        Assert.Equal(0x0B258086u, v.ReadConfig(0));
        Assert.Throws<SivInputException>(() => v.ReadConfig(2));
    }

    [Fact]
    public void Intcause_is_write_one_to_clear_and_reset_restores_power_on_state()
    {
        var v = Vdev();
        v.WriteBar0(0x98, 0); // ignored: RW1C writes of 0 change nothing
        v.SetMsix(1, v.Msix[1] with { Data = 0x41, Masked = false, InterruptHandle = 3, ImsIndex = 4 });
        v.Reset();
        Assert.True(v.Msix[1].Masked);
        Assert.Null(v.Msix[1].ImsIndex);
        Assert.Equal(1u, v.ReadBar0(0x90));
    }
}

public class ComposerTests
{
    [Fact]
    public void Dedicated_composition_spreads_a_vdev_over_devices_and_runs_out_cleanly()
    {
        var c = new Composer(devices: 2, aisPerDevice: 2, CompositionPolicy.Dedicated);
        var v = c.Compose(2);
        Assert.NotEqual(v[0].Device, v[1].Device);
        Assert.All(v, p => Assert.Equal(WorkQueueMode.Dedicated, p.Mode));
        c.Compose(2);
        Assert.Throws<SivInputException>(() => c.Compose(1));
    }

    [Fact]
    public void Auto_shares_when_the_plan_needs_more_ais_than_exist()
    {
        Assert.Equal(CompositionPolicy.Dedicated, new Composer(2, 2, CompositionPolicy.Auto, plannedAis: 4).Policy);
        var shared = new Composer(2, 2, CompositionPolicy.Auto, plannedAis: 5);
        Assert.Equal(CompositionPolicy.Shared, shared.Policy);
        for (var i = 0; i < 10; i++) Assert.Equal(WorkQueueMode.Shared, shared.Compose(1)[0].Mode);
    }
}

public class RogueForgerTests
{
    private static readonly SourceId Device = SourceId.Create(0x6A, 1, 0);
    private static readonly Asid Own = Asid.Create(5), Peer = Asid.Create(6);

    [Theory]
    [InlineData(RogueKind.WrongAsid, true, true)]
    [InlineData(RogueKind.WrongAsid, false, true)]
    [InlineData(RogueKind.ForeignHandle, true, true)]
    [InlineData(RogueKind.ForeignHandle, true, false)]
    [InlineData(RogueKind.OutOfRangeHandle, true, true)]
    [InlineData(RogueKind.StaleHandleAfterReset, true, true)]
    public void Interrupt_forgeries_end_in_their_expected_fault(RogueKind kind, bool withPeer, bool peerSameSource)
    {
        // A table shared by the rogue's tenant (handle 1) and a peer (handle 2); handle 3 was freed by a reset.
        var asids = new AsidTable();
        var table = asids.GetOrCreateTable(0, 15);
        table.Set(1, new InterruptEntry { Asid = Own, Sid = Device.RequesterId });
        table.Set(2, new InterruptEntry { Asid = Peer, Sid = peerSameSource ? Device.RequesterId : SourceId.Create(0x6B, 1, 0).RequesterId });
        asids.Bind(Own, table);
        asids.Bind(Peer, table);
        var material = new ForgeryMaterial(Device, Own, 1, table.Size, withPeer ? Peer : null, withPeer ? (ushort)2 : null, peerSameSource, (Own, 3));
        var forgery = RogueForger.Build(kind, material)!;
        var d = InterruptRemapper.Process(new RemappingSettings(), asids, forgery.Write);
        Assert.Equal(InterruptOutcome.Blocked, d.Outcome);
        Assert.Equal(forgery.Expected, d.Fault);
    }

    [Fact]
    public void A_wrong_asid_forgery_whose_own_entry_was_freed_meanwhile_is_blocked_as_not_present_and_accepted()
    {
        // The rogue's own vdev reset frees its entry while the forgery is in flight: 0x22 fires before the ASID check.
        var asids = new AsidTable();
        var table = asids.GetOrCreateTable(0, 15);
        table.Set(2, new InterruptEntry { Asid = Peer, Sid = Device.RequesterId });
        asids.Bind(Own, table);
        asids.Bind(Peer, table);
        var forgery = RogueForger.Build(RogueKind.WrongAsid, new ForgeryMaterial(Device, Own, 1, table.Size, Peer, 2, true, null))!;
        var d = InterruptRemapper.Process(new RemappingSettings(), asids, forgery.Write);
        Assert.Equal(FaultReason.IrteNotPresent, d.Fault);
        Assert.True(forgery.Accepts(d.Fault));
        Assert.False(forgery.Accepts(FaultReason.SourceIdVerificationFailed));
    }

    [Theory]
    [InlineData(RogueKind.DmaIntoInterruptWindow, FaultReason.DmaOutputInInterruptRange)]
    [InlineData(RogueKind.DmaUnmapped, FaultReason.DmaNoWritePermission)]
    public void Dma_forgeries_end_in_their_expected_fault(RogueKind kind, FaultReason expected)
    {
        var pasids = new SivActors.Model.Dma.PasidTable();
        pasids.Bind(new SivActors.Model.Dma.PasidBinding(Own, new ContainerId(1), new SivActors.Model.Dma.AddressSpace(
            [new SivActors.Model.Dma.MappedRegion("dst", 0x2000_0000, 0x1000, SivActors.Model.Dma.DmaPermissions.ReadWrite)])));
        var f = RogueForger.Build(kind, new ForgeryMaterial(Device, Own, 1, 65536, null, null, false, null))!;
        Assert.Equal(UpstreamKind.Dma, f.Write.Kind);
        Assert.Equal(expected, f.Expected);
        Assert.Equal(expected, SivActors.Model.Dma.DmaRemapper.Check(pasids, f.Write.Asid, f.Write.Address, f.DmaLength, true).Fault);
    }

    [Fact]
    public void Kinds_without_material_are_skipped()
    {
        var m = new ForgeryMaterial(Device, Own, 1, 65536, null, null, false, null);
        Assert.Null(RogueForger.Build(RogueKind.ForeignHandle, m));
        Assert.Null(RogueForger.Build(RogueKind.StaleHandleAfterReset, m));
    }
}

public class ScenarioLoaderTests
{
    private static string CostModel => Path.Combine(RepoRoot(), "config", "cost-model.json");

    public static string RepoRoot()
    {
        var dir = AppContext.BaseDirectory;
        while (!File.Exists(Path.Combine(dir, "SivActors.sln"))) dir = Path.GetDirectoryName(dir)!;
        return dir;
    }

    private static string Write(string json)
    {
        var path = Path.Combine(Path.GetTempPath(), $"siv-scenario-{Guid.NewGuid():N}.json");
        File.WriteAllText(path, json);
        return path;
    }

    [Fact]
    public void Default_scenario_loads_with_every_cost_cited()
    {
        var s = ScenarioLoader.Load(Path.Combine(RepoRoot(), "config", "scenarios", "default.json"), CostModel);
        Assert.Equal(1000, s.Scenario.Topology.Containers);
        Assert.Equal(4 * 256, s.Scenario.Topology.DevicesPerHost * s.Scenario.Topology.AisPerDevice);
        Assert.True(s.Cost.VmExitDeliveryNs > s.Cost.PostedDeliveryNs);
        var text = File.ReadAllText(CostModel);
        foreach (var p in typeof(SivActors.Model.Cost.CostModel).GetProperties())
            Assert.Contains($"\"{char.ToLowerInvariant(p.Name[0])}{p.Name[1..]}\": {{ \"value\":", text);
        Assert.DoesNotContain("\"source\": \"\"", text);
    }

    [Fact]
    public void Every_shipped_scenario_loads_and_validates()
    {
        var files = Directory.GetFiles(Path.Combine(RepoRoot(), "config", "scenarios"), "*.json", SearchOption.AllDirectories);
        Assert.Contains(files, f => Path.GetFileName(f) == "scale-100k.json");
        foreach (var file in files)
        {
            var s = ScenarioLoader.Load(file, CostModel);
            Assert.EndsWith(Path.GetFileNameWithoutExtension(file), s.Scenario.Name); // calibration's are prefixed
        }
        var scale = ScenarioLoader.Load(Path.Combine(RepoRoot(), "config", "scenarios", "scale-100k.json"), CostModel).Scenario;
        Assert.Equal(100_000, scale.Topology.Containers);
    }

    [Theory]
    [InlineData("""{ "topology": { "containerz": 5 } }""", "unknown key \"containerz\" at $.topology")]
    [InlineData("""{ "topology": { "containers": -5 } }""", "topology.containers = -5 is out of range")]
    [InlineData("""{ "durationSeconds": 0 }""", "durationSeconds = 0 is out of range")]
    [InlineData("""{ "workload": { "fast": { "memcpy": 1 } } }""", "workload.fast.memcpy is not a known operation")]
    [InlineData("""{ "composition": { "policy": "random" } }""", "composition.policy \"random\"")]
    [InlineData("""{ "costModel": { "warpDriveNs": 1 } }""", "costModel.warpDriveNs is not a known cost")]
    [InlineData("""{ "costModel": { "portalWriteNs": -1 } }""", "costModel.portalWriteNs = -1 is out of range")]
    [InlineData("""{ "seed": "x" }""", "line 1")]
    [InlineData("""{ "topology": { "containers": 10 """, "line")]
    [InlineData("""{ "topology": { "hosts": 1, "hosts": 2 } }""", "key \"hosts\" appears twice at $.topology")]
    [InlineData("""{ "name": "a", "name": "b" }""", "key \"name\" appears twice at $")]
    [InlineData("""{ "topology": { "hosts": 1, "devicesPerHost": 1, "aisPerDevice": 4, "containers": 5 }, "composition": { "policy": "dedicated" } }""",
        "5 containers per host x 1 AIs per vdev exceed the 4 AIs of a host")]
    [InlineData("""{ "topology": { "containers": 10 }, "workload": { "noisyNeighbour": { "container": 10 } } }""", "workload.noisyNeighbour.container = 10 is out of range (0..9)")]
    [InlineData("""{ "workload": { "queueDepth": 8, "noisyNeighbour": { "factor": 40 } } }""", "factor = 40 x workload.queueDepth = 8 exceeds 256 descriptors outstanding")]
    [InlineData("""{ "durationSeconds": 10, "workload": { "noisyNeighbour": { "fromSeconds": 10 } } }""", "workload.noisyNeighbour.fromSeconds = 10 is out of range")]
    [InlineData("""{ "workload": { "noisyNeighbour": { "loudness": 3 } } }""", "loudness")]
    [InlineData("""{ "workload": { "turns": { "tenantsPerHost": -1 } } }""", "workload.turns.tenantsPerHost = -1 is out of range")]
    [InlineData("""{ "workload": { "turns": { "operations": 0 } } }""", "workload.turns.operations = 0 is out of range")]
    [InlineData("""{ "workload": { "turns": { "slices": 3 } } }""", "slices")]
    [InlineData("""{ "mode": "virtio" }""", "mode \"virtio\" is not a mode (modes: siov, sriov, emulated)")]
    [InlineData("""{ "mode": "sriov", "composition": { "aisPerVdev": 2 } }""", "under mode \"sriov\" each container gets one VF of its own")]
    [InlineData("""{ "mode": "sriov", "composition": { "policy": "shared" } }""", "a VF is assigned to one container")]
    [InlineData("""{ "mode": "sriov", "topology": { "vfsPerDevice": 0 } }""", "topology.vfsPerDevice = 0 is out of range (1..247)")]
    [InlineData("""{ "mode": "sriov", "topology": { "vfsPerDevice": 248 } }""", "topology.vfsPerDevice = 248 is out of range (1..247)")]
    [InlineData("""{ "mode": "sriov", "topology": { "devicesPerHost": 1, "vfsPerDevice": 4, "containers": 10 }, "workload": { "noisyNeighbour": { "container": 6 } } }""",
        "workload.noisyNeighbour.container = 6 is beyond the VF limit under mode \"sriov\"")]
    [InlineData("""{ "mode": "sriov", "topology": { "devicesPerHost": 4, "vfsPerDevice": 200 }, "composition": { "interruptTableSizeExponent": 8 } }""",
        "gives 512 entries, fewer than the 800 that a host's VFs need")]
    public void Bad_scenarios_give_one_line_naming_the_problem(string json, string expected)
    {
        var e = Assert.Throws<SivInputException>(() => ScenarioLoader.Load(Write(json), CostModel));
        Assert.Contains(expected, e.Message);
        Assert.DoesNotContain('\n', e.Message);
    }

    [Fact]
    public void Turns_are_on_by_default_and_zero_tenants_per_host_turns_them_off()
    {
        var turns = ScenarioLoader.Load(Write("{}"), CostModel).Scenario.Workload.Turns;
        Assert.Equal((16, 256, true), (turns.TenantsPerHost, turns.Operations, turns.Enabled));
        var off = ScenarioLoader.Load(Write("""{ "workload": { "turns": { "tenantsPerHost": 0 } } }"""), CostModel).Scenario.Workload.Turns;
        Assert.False(off.Enabled);
    }

    [Fact]
    public void A_noisy_neighbour_starts_half_way_through_the_window_unless_told()
    {
        var s = ScenarioLoader.Load(Write("""{ "durationSeconds": 12, "workload": { "noisyNeighbour": { "container": 3 } } }"""), CostModel).Scenario;
        var noisy = s.Workload.NoisyNeighbour!;
        Assert.Equal((3, 10), (noisy.Container, noisy.Factor));
        Assert.Equal(6, noisy.StartsAt(s.DurationSeconds));
        Assert.Equal(4, (noisy with { FromSeconds = 4 }).StartsAt(s.DurationSeconds));
        Assert.Null(ScenarioLoader.Load(Write("{}"), CostModel).Scenario.Workload.NoisyNeighbour);
    }

    [Fact]
    public void Dedicated_composition_that_fits_exactly_is_accepted() =>
        ScenarioLoader.Load(Write("""{ "topology": { "hosts": 2, "devicesPerHost": 1, "aisPerDevice": 4, "containers": 8 }, "composition": { "policy": "dedicated" } }"""), CostModel);

    [Fact]
    public void Missing_file_is_named() =>
        Assert.Contains("does not exist", Assert.Throws<SivInputException>(() => ScenarioLoader.Load("/nonexistent/x.json", CostModel)).Message);

    [Theory]
    [InlineData(-1)]
    [InlineData(1 << 20)]
    public void Asid_range_is_20_bits(long v) => Assert.Throws<SivInputException>(() => Asid.Create(v));

    [Theory]
    [InlineData(-1)]
    [InlineData(65536)]
    public void Handle_range_is_16_bits(long v) => Assert.Throws<SivInputException>(() => InterruptHandle.Create(v));
}
