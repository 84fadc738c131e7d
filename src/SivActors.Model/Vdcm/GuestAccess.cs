using SivActors.Model.Device;

namespace SivActors.Model.Vdcm;

/// <summary>What the guest touched.</summary>
public enum AccessKind : byte
{
    PortalWrite,
    Bar0Read,
    Bar0Write,
    ConfigRead,
    ConfigWrite,
}

public enum DataPath : byte
{
    Fast,
    Slow,
}

/// <summary>Operation types counted separately in the report.</summary>
public enum OperationType : byte
{
    WorkSubmission,
    UnlimitedPortalResubmit,
    ConfigRead,
    ConfigWrite,
    Bar0Read,
    ControlRegisterWrite,
    MsixTableWrite,
    AdminCommand,
    VdevReset,
}

/// <summary>A guest access to its virtual device.</summary>
public readonly record struct GuestAccess(AccessKind Kind, int Offset = 0, PortalKind Portal = PortalKind.Limited, uint Value = 0);

/// <summary>Offsets of the virtual DSA's BAR0 (Linux vidxd layout) and config space that the VDCM emulates.</summary>
public static class VirtualLayout
{
    public const int Bar0Size = 0x2000;
    public const int IntCause = 0x98;
    public const int Cmd = 0xA0;
    public const int CmdStatus = 0xA8;
    public const int SwError = 0xC0;
    public const int MsixPerm = 0x300;
    public const int GrpCfg = 0x400;
    public const int WqCfg = 0x500;
    public const int MsixTable = 0x600;
    public const int MsixTableBytes = 0x90;
    public const int MsixEntryBytes = 16;
    public const int Pba = 0x700;
    public const int Ims = 0x1000;

    public const int ConfigSpaceSize = 0x100;
    /// <summary>PCI Express capability in the emulated config space; Device Control is at +8, FLR is bit 15.</summary>
    public const int PcieCapability = 0x40;
    public const int DeviceControl = PcieCapability + 0x08;
    public const uint InitiateFlr = 1u << 15;

    public static bool IsMsixTable(int offset) => offset >= MsixTable && offset < MsixTable + MsixTableBytes;
}

/// <summary>
/// Fast/slow classification of every guest access (siov-reference §11.6): only 64-byte writes to a mapped portal
/// go straight to the AI; the unlimited portal of a shared WQ traps so the host resubmits; everything in config
/// space and BAR0 is serviced by the VDCM.
/// </summary>
public static class AccessClassifier
{
    public static (DataPath Path, OperationType Operation) Classify(in GuestAccess access, WorkQueueMode wqMode) => access.Kind switch
    {
        AccessKind.PortalWrite when access.Portal == PortalKind.Unlimited && wqMode == WorkQueueMode.Shared
            => (DataPath.Slow, OperationType.UnlimitedPortalResubmit),
        AccessKind.PortalWrite => (DataPath.Fast, OperationType.WorkSubmission),
        AccessKind.ConfigRead => (DataPath.Slow, OperationType.ConfigRead),
        AccessKind.ConfigWrite when access.Offset == VirtualLayout.DeviceControl && (access.Value & VirtualLayout.InitiateFlr) != 0
            => (DataPath.Slow, OperationType.VdevReset),
        AccessKind.ConfigWrite => (DataPath.Slow, OperationType.ConfigWrite),
        AccessKind.Bar0Read => (DataPath.Slow, OperationType.Bar0Read),
        AccessKind.Bar0Write when VirtualLayout.IsMsixTable(access.Offset) => (DataPath.Slow, OperationType.MsixTableWrite),
        AccessKind.Bar0Write when access.Offset == VirtualLayout.Cmd => (DataPath.Slow, OperationType.AdminCommand),
        AccessKind.Bar0Write => (DataPath.Slow, OperationType.ControlRegisterWrite),
        _ => throw new ArgumentOutOfRangeException(nameof(access), access.Kind, "unknown guest access kind"),
    };
}
