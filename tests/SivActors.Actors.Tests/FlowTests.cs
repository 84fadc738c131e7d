using Akka.Actor;
using Akka.TestKit.Xunit2;
using Akka.TestKit;
using SivActors.Actors.AssignableInterface;
using SivActors.Actors.Container;
using SivActors.Actors.Entities;
using SivActors.Actors.Hosting;
using SivActors.Actors.InterruptUnit;
using SivActors.Actors.Persistence;
using SivActors.Actors.Vdcm;
using SivActors.Model.Device;
using SivActors.Model.Identity;
using SivActors.Model.Interrupts;
using SivActors.Model.Vdcm;
using SivActors.Model.Workload;
using Dmar = SivActors.Actors.DmaRemapping.DmaRemappingProtocol;

namespace SivActors.Actors.Tests;

/// <summary>
/// Actor flows with real IOMMU, AI, device and VDCM actors; the container is a TestProbe standing in for the tenant,
/// so every message the tenant would receive is observed.
/// </summary>
public sealed class FlowTests : TestKit
{
    private static readonly HostId Host = new(0);
    private static readonly ContainerId Tenant = new(0);
    private static readonly ContainerId Other = new(1);
    private readonly EmulatorContext _ctx = TestScenarios.Context();
    private readonly TestProbe _containers;

    public FlowTests() : base("akka.loglevel = WARNING\nakka.actor.serialize-messages = on\n" + SivEmulatorHosting.WireFormatHocon + SivPersistenceHosting.InMemoryHocon)
    {
        SivEmulatorHosting.StartEntityParents(Sys, _ctx);
        // No container entity is ever created, so every container-bound message reaches the probe.
        _containers = CreateTestProbe();
        _ctx.Directory.SetParent(EntityKind.Container, _containers);
    }

    private ContainerProtocol.VdevComposed Compose(ContainerId c)
    {
        _ctx.Directory.Tell(new VdcmProtocol.ComposeVdev(Host, c, 1, TestActor));
        return _containers.ExpectMsg<ContainerProtocol.VdevComposed>(m => m.Container == c);
    }

    private ContainerProtocol.GuestAccessCompleted Access(ContainerId c, GuestAccess access)
    {
        _ctx.Directory.Tell(new VdcmProtocol.GuestAccessRequest(Host, c, 1, access, 0, 0));
        return _containers.ExpectMsg<ContainerProtocol.GuestAccessCompleted>(m => m.Container == c);
    }

    /// <summary>The guest driver's set-up of virtual MSI-X entry 1: write the vector, then unmask. Returns the IMS handle.</summary>
    private ushort ProgramVector(ContainerId c, byte vector)
    {
        Assert.Null(Access(c, new GuestAccess(AccessKind.Bar0Write, VirtualLayout.MsixTable + 16 + 8, Value: vector)).Error);
        var done = Access(c, new GuestAccess(AccessKind.Bar0Write, VirtualLayout.MsixTable + 16 + 12, Value: 0));
        Assert.Null(done.Error);
        return (ushort)done.Value;
    }

    private T Ask<T>(IEntityMessage m)
    {
        _ctx.Directory.Tell(m, TestActor);
        return ExpectMsg<T>();
    }

    private Descriptor Memmove(Asid asid, ushort handle) => new(asid.Value, false,
        DescriptorFlags.CompletionRecordAddressValid | DescriptorFlags.RequestCompletionRecord | DescriptorFlags.RequestCompletionInterrupt,
        DsaOpcode.MemoryMove, _ctx.Layout.Completion(0), ContainerLayout.SourceBase, _ctx.Layout.Destination(0), 64, handle);

    [Fact]
    public void Msix_programming_creates_an_interrupt_entry_and_an_ims_update()
    {
        var composed = Compose(Tenant);
        var ims = ProgramVector(Tenant, 0x41);

        var iu = Ask<InterruptUnitProtocol.State>(new InterruptUnitProtocol.GetState(Host));
        Assert.Equal(1, iu.Entries);
        var ai = Ask<AssignableInterfaceProtocol.State>(new AssignableInterfaceProtocol.GetState(composed.Ais[0]));
        var entry = Assert.Contains(ims, ai.Ims);
        Assert.Equal(composed.Asid.Value, entry.Pasid);
        Assert.True(entry.PasidEnable);
        Assert.False(entry.Mask);
        var info = Ask<VdcmProtocol.VdevInfo>(new VdcmProtocol.GetVdev(Host, Tenant));
        Assert.Equal(RemappableMsi.EncodeAddress((ushort)info.Msix[1].InterruptHandle!.Value), entry.Address);
        Assert.Equal(1, _ctx.Metrics.Snapshot().SlowPath["msixTableWrite"] / 2);
    }

    [Fact]
    public void The_fast_path_never_reaches_the_vdcm()
    {
        var composed = Compose(Tenant);
        var ims = ProgramVector(Tenant, 0x41);
        // From here on the VDCM is a probe: any message to it would be a fast-path leak.
        var vdcm = CreateTestProbe();
        _ctx.Directory.SetParent(EntityKind.Vdcm, vdcm);
        _ctx.Directory.Unregister(EntityAddress.Vdcm(Host));

        _ctx.Directory.Tell(new AssignableInterfaceProtocol.PortalWrite(composed.Ais[0], Tenant, Memmove(composed.Asid, ims),
            PortalKind.Limited, PortalWriteType.Posted, 0, 0));
        var read = _containers.ExpectMsg<ContainerProtocol.MemoryRead>();
        Assert.Equal(ContainerLayout.SourceBase, read.Address);
        _ctx.Directory.Tell(new AssignableInterfaceProtocol.MemoryReadData(read.ReplyTo, read.RequestId, new byte[64], null, read.ModeledNs));
        // The completion record (via DMA remapping) and the interrupt (via the interrupt unit) take different paths.
        var both = _containers.ReceiveN(2);
        var write = Assert.Single(both.OfType<ContainerProtocol.MemoryWrite>());
        Assert.Equal(_ctx.Layout.Completion(0), write.Write.RecordAddress);
        Assert.Equal(OperationStatus.Success, write.Write.Record.Status);
        var irq = Assert.Single(both.OfType<ContainerProtocol.InterruptDelivered>());
        Assert.Equal((Tenant, (byte)0x41, composed.Asid), (irq.Container, irq.Vector, irq.Asid));
        vdcm.ExpectNoMsg(TimeSpan.FromMilliseconds(200));
        Assert.Equal(0, _ctx.Metrics.Snapshot().VdcmMessagesOnFastPath);
    }

    [Fact]
    public void A_dma_read_of_memory_on_this_node_goes_straight_back_to_the_ai()
    {
        var composed = Compose(Tenant);
        var ims = ProgramVector(Tenant, 0x41);
        // The tenant's memory is on this node: DMA remapping reads it and the container sees only the writes.
        var memory = new GuestMemory(_ctx.Layout, new Random(7));
        _ctx.GuestMemory.Register(Tenant, memory);

        _ctx.Directory.Tell(new AssignableInterfaceProtocol.PortalWrite(composed.Ais[0], Tenant, Memmove(composed.Asid, ims),
            PortalKind.Limited, PortalWriteType.Posted, 0, 0));
        var both = _containers.ReceiveN(2);
        Assert.Empty(both.OfType<ContainerProtocol.MemoryRead>());
        var write = Assert.Single(both.OfType<ContainerProtocol.MemoryWrite>());
        // The move's destination carries the source bytes as the memory holds them.
        Assert.Equal(_ctx.Layout.Destination(0), write.Write.DataAddress);
        Assert.Equal(memory.Source(64).ToArray(), write.Write.Data);
        Assert.Equal(OperationStatus.Success, write.Write.Record.Status);
        Assert.Single(both.OfType<ContainerProtocol.InterruptDelivered>());
        // The read is applied by DMA remapping itself; the two writes wait for the container (a probe here).
        Assert.Equal((3L, 1L), (_ctx.Metrics.Snapshot().DmaIssued, _ctx.Metrics.Snapshot().DmaApplied));
    }

    [Fact]
    public void Asid_mismatch_is_blocked_and_recorded()
    {
        var tenant = Compose(Tenant);
        ProgramVector(Tenant, 0x41);
        var other = Compose(Other);
        ProgramVector(Other, 0x42);
        var otherHandle = (ushort)Ask<VdcmProtocol.VdevInfo>(new VdcmProtocol.GetVdev(Host, Other)).Msix[1].InterruptHandle!.Value;
        // Both tenants share one interrupt table (asidsPerInterruptTable = 4): the tenant's ASID with the other's handle.
        var forged = UpstreamWrite.Interrupt(tenant.Ais[0].Device.SourceId, tenant.Asid, RemappableMsi.EncodeAddress(otherHandle), 0);
        _ctx.Directory.Tell(new InterruptUnitProtocol.RaiseInterrupt(Host, tenant.Ais[0], forged, 0, null));

        var expected = other.Ais[0].Device == tenant.Ais[0].Device ? FaultReason.AsidMismatch : FaultReason.SourceIdVerificationFailed;
        AwaitAssert(() => Assert.Equal(1, _ctx.Metrics.Snapshot().InterruptsFaulted.GetValueOrDefault(FaultReasons.Hex(expected))));
        var state = Ask<InterruptUnitProtocol.State>(new InterruptUnitProtocol.GetState(Host));
        Assert.True(state.FaultEvents >= 1);
        _containers.ExpectNoMsg(TimeSpan.FromMilliseconds(200));
    }

    [Fact]
    public void Asid_mismatch_on_the_same_device_gets_the_patent_code()
    {
        var composed = Compose(Tenant);
        ProgramVector(Tenant, 0x41);
        var info = Ask<VdcmProtocol.VdevInfo>(new VdcmProtocol.GetVdev(Host, Tenant));
        var handle = (ushort)info.Msix[1].InterruptHandle!.Value;
        Compose(Other); // bound to the same table, so its ASID selects the tenant's entries
        var forged = UpstreamWrite.Interrupt(composed.Ais[0].Device.SourceId, EmulatorContext.AsidOf(Other), RemappableMsi.EncodeAddress(handle), 0);
        _ctx.Directory.Tell(new InterruptUnitProtocol.RaiseInterrupt(Host, composed.Ais[0], forged, 0, null));
        AwaitAssert(() => Assert.Equal(1, _ctx.Metrics.Snapshot().InterruptsFaulted.GetValueOrDefault("0xA1")));
        var state = Ask<InterruptUnitProtocol.State>(new InterruptUnitProtocol.GetState(Host));
        _containers.ExpectNoMsg(TimeSpan.FromMilliseconds(200));
        Assert.Equal(0, _ctx.Metrics.Snapshot().InterruptsRemapped + _ctx.Metrics.Snapshot().InterruptsPosted);
        Assert.True(state.FaultEvents >= 1);
    }

    [Fact]
    public void A_stale_handle_after_reset_is_never_delivered()
    {
        var composed = Compose(Tenant);
        var ims = ProgramVector(Tenant, 0x41);
        var handle = (ushort)Ask<VdcmProtocol.VdevInfo>(new VdcmProtocol.GetVdev(Host, Tenant)).Msix[1].InterruptHandle!.Value;
        var stale = UpstreamWrite.Interrupt(composed.Ais[0].Device.SourceId, composed.Asid, RemappableMsi.EncodeAddress(handle), 0);

        // Before the reset the same message is delivered: the reset is what makes it stale.
        _ctx.Directory.Tell(new InterruptUnitProtocol.RaiseInterrupt(Host, composed.Ais[0], stale, 0, null));
        _containers.ExpectMsg<ContainerProtocol.InterruptDelivered>();

        Assert.Null(Access(Tenant, new GuestAccess(AccessKind.ConfigWrite, VirtualLayout.DeviceControl, Value: VirtualLayout.InitiateFlr)).Error);
        var ai = Ask<AssignableInterfaceProtocol.State>(new AssignableInterfaceProtocol.GetState(composed.Ais[0]));
        Assert.DoesNotContain(ims, ai.Ims.Keys);

        _ctx.Directory.Tell(new InterruptUnitProtocol.RaiseInterrupt(Host, composed.Ais[0], stale, 0, null));
        AwaitAssert(() => Assert.Equal(1, _ctx.Metrics.Snapshot().InterruptsFaulted.GetValueOrDefault("0x22")));
        _containers.ExpectNoMsg(TimeSpan.FromMilliseconds(200));

        // A descriptor naming the revoked handle completes with 0x19 and raises nothing (device-side check).
        _ctx.Directory.Tell(new AssignableInterfaceProtocol.PortalWrite(composed.Ais[0], Tenant, Memmove(composed.Asid, ims),
            PortalKind.Limited, PortalWriteType.Posted, 0, 0));
        var write = _containers.ExpectMsg<ContainerProtocol.MemoryWrite>();
        Assert.Equal(OperationStatus.InvalidCompletionInterruptHandle, write.Write.Record.Status);
        Assert.Null(write.Write.Data); // a rejected descriptor writes its record only
        _containers.ExpectNoMsg(TimeSpan.FromMilliseconds(200));
    }

    [Fact]
    public void A_dma_write_into_the_interrupt_window_is_a_dma_fault_not_an_interrupt()
    {
        var composed = Compose(Tenant);
        ProgramVector(Tenant, 0x41);
        _ctx.Directory.Tell(new Dmar.DmaWrite(Host, composed.Ais[0], composed.Ais[0].Device.SourceId, composed.Asid, 0xFEE0_0070, new byte[4],
            0, default, 0, null));
        AwaitAssert(() => Assert.Equal(1, _ctx.Metrics.Snapshot().DmaFaulted.GetValueOrDefault("0x87")));
        _containers.ExpectNoMsg(TimeSpan.FromMilliseconds(200));
        Assert.Equal(0, _ctx.Metrics.Snapshot().InterruptsRaised);
    }
}
