using SivActors.Model.Dma;
using SivActors.Model.Identity;
using SivActors.Model.Interrupts;
using SivActors.Model.Scenarios;
using SivActors.Model.Tables;
using SivActors.Model.Workload;

namespace SivActors.Model.Tests;

/// <summary>
/// SR-IOV mode (decision 67): one VF per container up to the VF limit, each with its own requester id, DMA and
/// interrupts without PASID, and the host's one interrupt table checked by source id.
/// </summary>
public class SrIovTests
{
    private static readonly SourceId Pf = new DeviceId(new HostId(0), 0).SourceId;
    private static readonly Asid Own = Asid.Create(5), Peer = Asid.Create(6);

    [Fact]
    public void Vfs_follow_their_pf_on_its_bus_and_never_leave_it()
    {
        Assert.Equal("6a:01.0", Pf.ToString().ToLowerInvariant());
        Assert.Equal((ushort)(Pf.RequesterId + 1), Pf.Vf(0).RequesterId);
        Assert.Equal("6a:01.1", Pf.Vf(0).ToString().ToLowerInvariant());
        Assert.Equal("6a:02.0", Pf.Vf(7).ToString().ToLowerInvariant());
        Assert.Equal("6a:1f.7", Pf.Vf(SourceId.MaxVfsPerFunction - 1).ToString().ToLowerInvariant());
        Assert.Throws<SivInputException>(() => Pf.Vf(SourceId.MaxVfsPerFunction));
        Assert.NotEqual(Pf.Vf(0), new DeviceId(new HostId(0), 1).SourceId.Vf(0));
    }

    [Fact]
    public void A_host_serves_as_many_containers_as_its_devices_have_vfs_and_the_rest_are_unserved()
    {
        // Two hosts, round-robin: host 0 gets containers 0, 2, 4, ...; each host has 2 devices x 3 VFs = 6.
        var s = new Scenario { Mode = "sriov", Topology = new TopologySection { Hosts = 2, DevicesPerHost = 2, VfsPerDevice = 3, Containers = 20 } };
        Assert.Equal(3, s.FunctionsPerDevice);
        Assert.Equal(12, s.ServedContainers);
        Assert.Equal(Enumerable.Range(0, 12), Enumerable.Range(0, 20).Where(s.Serves));
        var fewer = s with { Topology = s.Topology with { Containers = 5 } };
        Assert.Equal(5, fewer.ServedContainers);
        var siov = s with { Mode = "siov" };
        Assert.Equal((20, 256), (siov.ServedContainers, siov.FunctionsPerDevice));
        Assert.All(Enumerable.Range(0, 20), c => Assert.True(siov.Serves(c)));
        Assert.Equal(TopologySection.DefaultVfsPerDevice, new Scenario { Mode = "sriov" }.FunctionsPerDevice);
    }

    [Fact]
    public void Dma_without_pasid_takes_the_address_space_its_requesters_context_entry_names()
    {
        var pasids = new PasidTable();
        pasids.Bind(new PasidBinding(Own, new ContainerId(4), new AddressSpace([new MappedRegion("dst", 0x2000_0000, 0x1000, DmaPermissions.ReadWrite)])));
        pasids.Bind(new PasidBinding(Peer, new ContainerId(5), new AddressSpace([new MappedRegion("dst", 0x3000_0000, 0x1000, DmaPermissions.ReadWrite)])));
        pasids.BindRequester(Pf.Vf(0), Own);
        pasids.BindRequester(Pf.Vf(1), Peer);

        var mine = DmaRemapper.Check(pasids, Pf.Vf(0), Asid.WithoutPasid, 0x2000_0000, 64, isWrite: true);
        Assert.False(mine.IsFault);
        Assert.Equal(new ContainerId(4), mine.Binding!.Owner);
        // The peer's buffer is not in this VF's domain: the same address another VF may write is a fault here.
        Assert.Equal(FaultReason.DmaNoWritePermission, DmaRemapper.Check(pasids, Pf.Vf(0), Asid.WithoutPasid, 0x3000_0000, 64, isWrite: true).Fault);
        Assert.Equal(new ContainerId(5), DmaRemapper.Check(pasids, Pf.Vf(1), Asid.WithoutPasid, 0x3000_0000, 64, isWrite: false).Binding!.Owner);
        // A requester nobody assigned has no context entry.
        var trail = new List<TrailStep>();
        Assert.Equal(FaultReason.DmaContextEntryNotPresent, DmaRemapper.Check(pasids, Pf.Vf(2), Asid.WithoutPasid, 0x2000_0000, 64, true, trail).Fault);
        Assert.Contains("no context entry", trail.Single().Detail);
        // A request with a PASID is checked by that PASID, whatever the requester.
        Assert.Equal(new ContainerId(5), DmaRemapper.Check(pasids, Pf.Vf(0), Peer, 0x3000_0000, 64, isWrite: true).Binding!.Owner);
    }

    /// <summary>The host's one interrupt table, as SR-IOV has it: the rogue VF's entry at 1, another VF's at 2, a freed one at 3.</summary>
    private static AsidTable GlobalTable()
    {
        var asids = new AsidTable();
        var table = asids.GetOrCreateTable(0, 15);
        table.Set(1, new InterruptEntry { Asid = Own, Sid = Pf.Vf(0).RequesterId, Target = new ContainerId(4) });
        table.Set(2, new InterruptEntry { Asid = Peer, Sid = Pf.Vf(1).RequesterId, Target = new ContainerId(5) });
        asids.Bind(Own, table);
        asids.Bind(Peer, table);
        asids.Bind(Asid.WithoutPasid, table);
        return asids;
    }

    private static RemappingSettings Settings => new Scenario { Mode = "sriov" }.RemappingSettings();

    [Fact]
    public void Without_an_asid_the_source_id_check_is_what_keeps_a_vfs_interrupt_to_its_own_entry()
    {
        Assert.False(Settings.AsidCheck);
        Assert.True(new Scenario().RemappingSettings().AsidCheck);
        var asids = GlobalTable();
        var genuine = InterruptRemapper.Process(Settings, asids, UpstreamWrite.Interrupt(Pf.Vf(0), Asid.WithoutPasid, RemappableMsi.EncodeAddress(1), 0));
        Assert.Equal(InterruptOutcome.Delivered, genuine.Outcome);
        Assert.Equal(new ContainerId(4), genuine.Entry!.Target);
        var other = InterruptRemapper.Process(Settings, asids, UpstreamWrite.Interrupt(Pf.Vf(0), Asid.WithoutPasid, RemappableMsi.EncodeAddress(2), 0));
        Assert.Equal(FaultReason.SourceIdVerificationFailed, other.Fault);
    }

    [Theory]
    [InlineData(RogueKind.ForeignHandle, FaultReason.SourceIdVerificationFailed)]
    [InlineData(RogueKind.OutOfRangeHandle, FaultReason.InterruptIndexOutOfRange)]
    [InlineData(RogueKind.StaleHandleAfterReset, FaultReason.IrteNotPresent)]
    public void A_rogue_vfs_interrupt_forgeries_go_without_pasid_and_end_in_their_expected_fault(RogueKind kind, FaultReason expected)
    {
        var asids = GlobalTable();
        // The VDCM's hint: the peer's entry names another requester id (every VF has its own).
        var material = new ForgeryMaterial(Pf.Vf(0), Own, 1, 1 << 16, Peer, 2, PeerSameSource: false, (Own, 3), WithoutPasid: true);
        var forgery = RogueForger.Build(kind, material)!;
        Assert.Equal(Asid.WithoutPasid, forgery.Write.Asid);
        Assert.Equal(expected, forgery.Expected);
        var d = InterruptRemapper.Process(Settings, asids, forgery.Write);
        Assert.Equal(InterruptOutcome.Blocked, d.Outcome);
        Assert.Equal(expected, d.Fault);
    }

    [Fact]
    public void A_vf_has_no_asid_to_forge_and_its_dma_forgeries_go_without_pasid_into_its_own_domain()
    {
        var material = new ForgeryMaterial(Pf.Vf(0), Own, 1, 1 << 16, Peer, 2, false, null, WithoutPasid: true);
        Assert.Null(RogueForger.Build(RogueKind.WrongAsid, material));
        var pasids = new PasidTable();
        pasids.Bind(new PasidBinding(Own, new ContainerId(4), new AddressSpace([new MappedRegion("dst", 0x2000_0000, 0x1000, DmaPermissions.ReadWrite)])));
        pasids.BindRequester(Pf.Vf(0), Own);
        foreach (var kind in new[] { RogueKind.DmaIntoInterruptWindow, RogueKind.DmaUnmapped })
        {
            var f = RogueForger.Build(kind, material)!;
            Assert.Equal(Asid.WithoutPasid, f.Write.Asid);
            var d = DmaRemapper.Check(pasids, f.Write.Source, f.Write.Asid, f.Write.Address, f.DmaLength, isWrite: true);
            Assert.Equal(f.Expected, d.Fault);
            Assert.Equal(new ContainerId(4), d.Binding!.Owner);
        }
    }

    [Fact]
    public void Tables_remember_the_mode_they_were_built_for_and_siovs_fingerprint_is_what_it_was()
    {
        var siov = TopologyRecorded.Of(new Scenario());
        // Written before modes and VF limits existed: a database of that time still resumes.
        Assert.DoesNotContain("Mode", siov.CanonicalJson);
        Assert.DoesNotContain("Vfs", siov.CanonicalJson);
        var sriov = TopologyRecorded.Of(new Scenario { Mode = "sriov", Topology = new TopologySection { VfsPerDevice = 16 } });
        Assert.NotEqual(siov.Fingerprint, sriov.Fingerprint);
        Assert.Equal("sriov", sriov.Document.Mode);
        Assert.Equal(16, sriov.Document.AsScenario().FunctionsPerDevice);
        Assert.Contains("sriov, 1 host(s), 4x16 VFs per host", sriov.Describe());
        Assert.Equal("siov", siov.Document.AsScenario().Mode);
    }
}
