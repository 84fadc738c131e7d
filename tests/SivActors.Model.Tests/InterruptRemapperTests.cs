using SivActors.Model.Identity;
using SivActors.Model.Interrupts;

namespace SivActors.Model.Tests;

public class InterruptRemapperTests
{
    private static readonly SourceId Device = SourceId.Create(0x6A, 1, 0);
    private static readonly Asid Tenant = Asid.Create(5);
    private static readonly Asid Peer = Asid.Create(6);

    private static InterruptEntry Entry(Asid asid, InterruptMode mode = InterruptMode.Remapped) => new()
    {
        Mode = mode,
        Vector = 0x41,
        Sid = Device.RequesterId,
        Svt = SourceValidation.RequesterId,
        Asid = asid,
        Target = new ContainerId(asid == Tenant ? 4 : 5),
        PostedDescriptorAddress = mode == InterruptMode.Posted ? 0x5000_0000ul : 0,
    };

    /// <summary>Tenant and peer share table 0 (size 2^(3+1) = 16): handle 1 is the tenant's, handle 2 the peer's.</summary>
    private static AsidTable Tables(Action<InterruptTable>? edit = null)
    {
        var asids = new AsidTable();
        var table = asids.GetOrCreateTable(0, 3);
        table.Set(1, Entry(Tenant));
        table.Set(2, Entry(Peer));
        table.Set(3, Entry(Tenant, InterruptMode.Posted));
        edit?.Invoke(table);
        asids.Bind(Tenant, table);
        asids.Bind(Peer, table);
        return asids;
    }

    private static UpstreamWrite Msg(Asid asid, ushort handle, uint data = 0, bool shv = false, SourceId? source = null) =>
        UpstreamWrite.Interrupt(source ?? Device, asid, RemappableMsi.EncodeAddress(handle, shv), data);

    public static TheoryData<string, Func<AsidTable>, UpstreamWrite, RemappingSettings, FaultReason> FaultCases => new()
    {
        { "address outside the window", () => Tables(), new UpstreamWrite(Device, Tenant, UpstreamKind.Interrupt, 0xFED0_0030, 0), new RemappingSettings(), FaultReason.InterruptRequestReserved },
        { "upper address bits set", () => Tables(), new UpstreamWrite(Device, Tenant, UpstreamKind.Interrupt, 0x1_FEE0_0030, 0), new RemappingSettings(), FaultReason.InterruptRequestReserved },
        { "data bits 31:16 set", () => Tables(), Msg(Tenant, 1, 0x0001_0000), new RemappingSettings(), FaultReason.InterruptRequestReserved },
        { "compatibility format blocked (EIME)", () => Tables(), new UpstreamWrite(Device, Tenant, UpstreamKind.Interrupt, 0xFEE0_1000, 0x41), new RemappingSettings(), FaultReason.CompatibilityFormatBlocked },
        { "compatibility format blocked (CFIS=0)", () => Tables(), new UpstreamWrite(Device, Tenant, UpstreamKind.Interrupt, 0xFEE0_1000, 0x41), new RemappingSettings { ExtendedInterruptMode = false }, FaultReason.CompatibilityFormatBlocked },
        { "no ASID-table entry", () => Tables(), Msg(Asid.Create(77), 1), new RemappingSettings(), FaultReason.AsidTableEntryNotPresent },
        { "index beyond table", () => Tables(), Msg(Tenant, 16), new RemappingSettings(), FaultReason.InterruptIndexOutOfRange },
        { "handle + subhandle beyond table", () => Tables(), Msg(Tenant, 15, 1, shv: true), new RemappingSettings(), FaultReason.InterruptIndexOutOfRange },
        { "table unreadable", () => Tables(t => t.Readable = false), Msg(Tenant, 1), new RemappingSettings(), FaultReason.IrteReadFailed },
        { "entry never written", () => Tables(), Msg(Tenant, 9), new RemappingSettings(), FaultReason.IrteNotPresent },
        { "entry P=0", () => Tables(t => t.Set(1, Entry(Tenant) with { Present = false })), Msg(Tenant, 1), new RemappingSettings(), FaultReason.IrteNotPresent },
        { "reserved bits in entry", () => Tables(t => t.Set(1, Entry(Tenant) with { ReservedBitsSet = true })), Msg(Tenant, 1), new RemappingSettings(), FaultReason.IrteReserved },
        { "posted entry without CAP.PI", () => Tables(), Msg(Tenant, 3), new RemappingSettings { PostingSupported = false }, FaultReason.IrteReserved },
        { "requester id differs (SVT=01)", () => Tables(), Msg(Tenant, 1, source: SourceId.Create(0x6B, 1, 0)), new RemappingSettings(), FaultReason.SourceIdVerificationFailed },
        { "bus outside range (SVT=10)", () => Tables(t => t.Set(1, Entry(Tenant) with { Svt = SourceValidation.BusRange, Sid = 0x1020 })), Msg(Tenant, 1), new RemappingSettings(), FaultReason.SourceIdVerificationFailed },
        { "SVT=11 reserved", () => Tables(t => t.Set(1, Entry(Tenant) with { Svt = SourceValidation.Reserved })), Msg(Tenant, 1), new RemappingSettings(), FaultReason.SourceIdVerificationFailed },
        { "wrong ASID on own handle (patent check)", () => Tables(), Msg(Peer, 1), new RemappingSettings(), FaultReason.AsidMismatch },
        { "another tenant's handle (patent check)", () => Tables(), Msg(Tenant, 2), new RemappingSettings(), FaultReason.AsidMismatch },
        { "posted descriptor address 0", () => Tables(t => t.Set(3, Entry(Tenant, InterruptMode.Posted) with { PostedDescriptorAddress = 0 })), Msg(Tenant, 3), new RemappingSettings(), FaultReason.PostedDescriptorReadFailed },
        { "posted descriptor misaligned", () => Tables(t => t.Set(3, Entry(Tenant, InterruptMode.Posted) with { PostedDescriptorAddress = 0x5000_0020 })), Msg(Tenant, 3), new RemappingSettings(), FaultReason.PostedDescriptorReserved },
    };

    [Theory]
    [MemberData(nameof(FaultCases))]
    public void Every_fault_path_blocks_with_its_code(string why, Func<AsidTable> tables, UpstreamWrite message, RemappingSettings settings, FaultReason expected)
    {
        var trail = new List<TrailStep>();
        var d = InterruptRemapper.Process(settings, tables(), message, trail);
        Assert.True(d.Outcome == InterruptOutcome.Blocked, why);
        Assert.Equal(expected, d.Fault);
        Assert.False(trail[^1].Passed);
    }

    [Fact]
    public void Matching_message_is_delivered_or_posted_to_the_entry_target()
    {
        var remapped = InterruptRemapper.Process(new RemappingSettings(), Tables(), Msg(Tenant, 1));
        Assert.Equal(InterruptOutcome.Delivered, remapped.Outcome);
        Assert.Equal(new ContainerId(4), remapped.Entry!.Target);
        var posted = InterruptRemapper.Process(new RemappingSettings(), Tables(), Msg(Tenant, 3));
        Assert.Equal(InterruptOutcome.Posted, posted.Outcome);
    }

    [Fact]
    public void Disabling_the_asid_check_lets_a_foreign_handle_through_which_is_what_the_check_prevents()
    {
        var d = InterruptRemapper.Process(new RemappingSettings { AsidCheck = false }, Tables(), Msg(Tenant, 2));
        Assert.Equal(InterruptOutcome.Delivered, d.Outcome);
        Assert.Equal(Peer, d.Entry!.Asid);
    }

    [Fact]
    public void Remapping_disabled_or_compatibility_allowed_passes_through()
    {
        Assert.Equal(InterruptOutcome.PassedThrough, InterruptRemapper.Process(new RemappingSettings { RemappingEnabled = false }, Tables(), Msg(Tenant, 1)).Outcome);
        var compat = new UpstreamWrite(Device, Tenant, UpstreamKind.Interrupt, 0xFEE0_1000, 0x41);
        var allowed = new RemappingSettings { ExtendedInterruptMode = false, CompatibilityFormatAllowed = true };
        Assert.Equal(InterruptOutcome.PassedThrough, InterruptRemapper.Process(allowed, Tables(), compat).Outcome);
    }

    [Theory]
    [InlineData(FaultReason.IrteNotPresent, false)]
    [InlineData(FaultReason.IrteReserved, false)]
    [InlineData(FaultReason.SourceIdVerificationFailed, false)]
    [InlineData(FaultReason.AsidMismatch, false)]
    [InlineData(FaultReason.InterruptIndexOutOfRange, true)]
    public void Fpd_suppresses_recording_of_qualified_faults_only(FaultReason reason, bool recorded)
    {
        var fpd = Entry(Tenant) with { FaultProcessingDisable = true };
        var tables = Tables(t =>
        {
            t.Set(1, reason switch
            {
                FaultReason.IrteNotPresent => fpd with { Present = false },
                FaultReason.IrteReserved => fpd with { ReservedBitsSet = true },
                FaultReason.SourceIdVerificationFailed => fpd with { Sid = 0x0101 },
                _ => fpd,
            });
        });
        var message = reason switch
        {
            FaultReason.AsidMismatch => Msg(Peer, 1),
            FaultReason.InterruptIndexOutOfRange => Msg(Tenant, 20),
            _ => Msg(Tenant, 1),
        };
        var d = InterruptRemapper.Process(new RemappingSettings(), tables, message);
        Assert.Equal(reason, d.Fault);
        Assert.Equal(recorded, d.Recordable);
        Assert.Equal(recorded, !FaultReasons.IsQualified(reason));
    }

    [Fact]
    public void Dma_flagged_writes_are_refused_by_the_interrupt_unit()
    {
        Assert.Throws<ArgumentException>(() => InterruptRemapper.Process(new RemappingSettings(), Tables(), UpstreamWrite.Dma(Device, Tenant, 0xFEE0_0000)));
    }
}
