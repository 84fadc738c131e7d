using System.Text;
using SivActors.Model.Device;
using SivActors.Model.Dma;
using SivActors.Model.Identity;
using SivActors.Model.Interrupts;

namespace SivActors.Model.Tests;

public class DmaRemapperTests
{
    private static readonly Asid Pasid = Asid.Create(9);

    private static PasidTable Table()
    {
        var t = new PasidTable();
        t.Bind(new PasidBinding(Pasid, new ContainerId(1), new AddressSpace(
        [
            new MappedRegion("src", 0x1000, 0x1000, DmaPermissions.Read),
            new MappedRegion("dst", 0x4000, 0x1000, DmaPermissions.ReadWrite),
        ])));
        return t;
    }

    [Theory]
    [InlineData(9, 0x4000ul, 64ul, true, FaultReason.None)]
    [InlineData(9, 0x1000ul, 64ul, false, FaultReason.None)]
    [InlineData(9, 0x1000ul, 64ul, true, FaultReason.DmaNoWritePermission)] // read-only region
    [InlineData(9, 0x9000ul, 64ul, true, FaultReason.DmaNoWritePermission)] // unmapped
    [InlineData(9, 0x9000ul, 64ul, false, FaultReason.DmaNoReadPermission)]
    [InlineData(9, 0x4FF0ul, 64ul, true, FaultReason.DmaNoWritePermission)] // runs off the region
    [InlineData(9, 0xFEE0_0000ul, 4ul, true, FaultReason.DmaOutputInInterruptRange)]
    [InlineData(9, 0xFEDF_FFFEul, 4ul, true, FaultReason.DmaOutputInInterruptRange)] // straddles into the window
    [InlineData(10, 0x4000ul, 64ul, true, FaultReason.PasidTableEntryNotPresent)]
    [InlineData(9, 1ul << 48, 4ul, true, FaultReason.DmaAddressBeyondMgaw)]
    public void Dma_checks_in_order(int pasid, ulong address, ulong length, bool write, FaultReason expected)
    {
        var d = DmaRemapper.Check(Table(), Asid.Create(pasid), address, length, write);
        Assert.Equal(expected, d.Fault);
        if (expected == FaultReason.None) Assert.Equal(new ContainerId(1), d.Binding!.Owner);
    }

    [Fact]
    public void Overlapping_regions_are_rejected() =>
        Assert.Throws<SivInputException>(() => new AddressSpace([new MappedRegion("a", 0, 100, DmaPermissions.Read), new MappedRegion("b", 50, 10, DmaPermissions.Read)]));
}

public class DsaEngineTests
{
    private static Descriptor D(DsaOpcode op, uint size, DescriptorFlags flags = DescriptorFlags.CompletionRecordAddressValid, ulong src = 0x1000) =>
        new(7, false, flags, op, 0x3000, src, 0x2000, size, 3);

    [Fact]
    public void Crc32c_matches_the_castagnoli_check_value() =>
        Assert.Equal(0xE3069283u, DsaEngine.Crc32C(Encoding.ASCII.GetBytes("123456789")));

    [Fact]
    public void Memmove_fill_compare_and_crc_execute()
    {
        var src = Enumerable.Range(0, 100).Select(i => (byte)i).ToArray();
        var dst = new byte[100];
        Assert.Equal(OperationStatus.Success, DsaEngine.Execute(D(DsaOpcode.MemoryMove, 100), src, default, dst).Status);
        Assert.Equal(src, dst);

        var fill = new byte[20];
        DsaEngine.Execute(D(DsaOpcode.Fill, 20, src: 0x0807060504030201), default, default, fill);
        Assert.Equal(new byte[] { 1, 2, 3, 4, 5, 6, 7, 8, 1, 2, 3, 4, 5, 6, 7, 8, 1, 2, 3, 4 }, fill);

        var other = (byte[])src.Clone();
        other[42] ^= 0xFF;
        var same = DsaEngine.Execute(D(DsaOpcode.Compare, 100), src, src, default);
        Assert.Equal(0, same.Result);
        var diff = DsaEngine.Execute(D(DsaOpcode.Compare, 100, DescriptorFlags.CheckResult), src, other, default);
        Assert.Equal((1, 42u, OperationStatus.SuccessFalsePredicate), (diff.Result, diff.BytesCompleted, diff.Status));

        var crc = DsaEngine.Execute(D(DsaOpcode.CrcGeneration, 100), src, default, default);
        Assert.Equal(DsaEngine.Crc32C(src), (uint)crc.CrcValue);
    }

    [Theory]
    [InlineData(DsaOpcode.Batch, 64u, OperationStatus.UnsupportedOpcode)]
    [InlineData(DsaOpcode.MemoryMove, 0u, OperationStatus.InvalidTransferSize)]
    [InlineData(DsaOpcode.MemoryMove, (1u << 21) + 1, OperationStatus.InvalidTransferSize)]
    [InlineData(DsaOpcode.MemoryMove, 64u, OperationStatus.Success)]
    public void Validation_statuses(DsaOpcode op, uint size, OperationStatus expected) =>
        Assert.Equal(expected, DsaEngine.Validate(D(op, size)));

    [Fact]
    public void Misaligned_completion_record_is_0x1b() =>
        Assert.Equal(OperationStatus.CompletionRecordMisaligned, DsaEngine.Validate(D(DsaOpcode.MemoryMove, 64) with { CompletionRecordAddress = 0x3004 }));

    [Fact]
    public void Descriptor_and_completion_record_round_trip_their_byte_layouts()
    {
        var d = new Descriptor(0xABCDE, true, DescriptorFlags.RequestCompletionInterrupt | DescriptorFlags.CompletionRecordAddressValid,
            DsaOpcode.CrcGeneration, 0x3020, 0x1111, 0x2222, 512, 0xBEEF, 0xDEADBEEF);
        var bytes = new byte[64];
        d.WriteTo(bytes);
        Assert.Equal(0x10, bytes[7]); // opcode byte
        Assert.Equal(0x80, bytes[3] & 0x80); // Priv bit 31
        Assert.Equal(d, Descriptor.ReadFrom(bytes));

        var cr = new CompletionRecord(OperationStatus.Success, 1, 512, 0x4000, 0x12345678);
        var crBytes = new byte[32];
        cr.WriteTo(crBytes);
        Assert.Equal(cr, CompletionRecord.ReadFrom(crBytes));
    }
}

public class WorkQueueTests
{
    [Fact]
    public void Shared_wq_limited_portal_retries_at_threshold_unlimited_at_size()
    {
        var wq = new WorkQueue(WorkQueueMode.Shared, size: 4, threshold: 2);
        Assert.Equal(SubmitOutcome.Accepted, wq.Submit(PortalKind.Limited, PortalWriteType.Deferrable));
        Assert.Equal(SubmitOutcome.Accepted, wq.Submit(PortalKind.Limited, PortalWriteType.Deferrable));
        Assert.Equal(SubmitOutcome.Retry, wq.Submit(PortalKind.Limited, PortalWriteType.Deferrable));
        Assert.Equal(SubmitOutcome.Accepted, wq.Submit(PortalKind.Unlimited, PortalWriteType.Deferrable));
        Assert.Equal(SubmitOutcome.Accepted, wq.Submit(PortalKind.Unlimited, PortalWriteType.Deferrable));
        Assert.Equal(SubmitOutcome.Retry, wq.Submit(PortalKind.Unlimited, PortalWriteType.Deferrable));
        Assert.Equal(SubmitOutcome.Ignored, wq.Submit(PortalKind.Unlimited, PortalWriteType.Posted));
    }

    [Fact]
    public void Dedicated_wq_retries_dmwr_and_drops_posted_when_full()
    {
        var wq = new WorkQueue(WorkQueueMode.Dedicated, size: 1, threshold: 1);
        Assert.Equal(SubmitOutcome.Retry, wq.Submit(PortalKind.Limited, PortalWriteType.Deferrable));
        Assert.Equal(SubmitOutcome.Accepted, wq.Submit(PortalKind.Limited, PortalWriteType.Posted));
        Assert.Equal(SubmitOutcome.Dropped, wq.Submit(PortalKind.Limited, PortalWriteType.Posted));
        Assert.Equal(1, wq.SoftwareErrorDwqFull);
        wq.Enabled = false;
        Assert.Equal(SubmitOutcome.Ignored, wq.Submit(PortalKind.Limited, PortalWriteType.Posted));
        Assert.Equal(1, wq.Reset());
    }
}

public class ImsTableTests
{
    private static ImsEntry Entry(uint pasid, bool mask = false) => new(RemappableMsi.EncodeAddress(4), 0, pasid, PasidEnable: true, Ignore: false, Mask: mask);

    [Fact]
    public void Device_side_check_rejects_foreign_pasid_and_revoked_handles_with_0x19()
    {
        var ims = new ImsTable();
        ims.Write(3, Entry(9));
        Assert.Equal(OperationStatus.Success, ims.CheckHandle(3, 9, true));
        Assert.Equal(OperationStatus.InvalidCompletionInterruptHandle, ims.CheckHandle(3, 10, true));
        Assert.Equal(OperationStatus.InvalidCompletionInterruptHandle, ims.CheckHandle(3, 9, false));
        Assert.Equal(OperationStatus.InvalidCompletionInterruptHandle, ims.CheckHandle(4, 9, true));
        ims.Revoke(3);
        Assert.Equal(OperationStatus.InvalidCompletionInterruptHandle, ims.CheckHandle(3, 9, true));
    }

    [Fact]
    public void Masked_completion_sets_pending_and_fires_on_unmask()
    {
        var ims = new ImsTable();
        ims.Write(1, Entry(9, mask: true));
        Assert.Equal(CompletionInterruptAction.Deferred, ims.OnCompletion(1));
        Assert.True(ims.Get(1)!.Value.Pending);
        Assert.True(ims.SetMask(1, false));
        Assert.False(ims.Get(1)!.Value.Pending);
        Assert.Equal(CompletionInterruptAction.Fire, ims.OnCompletion(1));
        ims.Write(2, Entry(9) with { Ignore = true });
        Assert.Equal(CompletionInterruptAction.None, ims.OnCompletion(2));
    }

    [Fact]
    public void Writes_outside_the_interrupt_window_are_ignored() =>
        Assert.False(new ImsTable().Write(1, Entry(9) with { Address = 0x1234_0000 }));
}
