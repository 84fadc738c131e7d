using SivActors.Actors.Entities;
using SivActors.Actors.Wire;
using SivActors.Model.Identity;

namespace SivActors.Actors.HostingFunction;

/// <summary>Messages of a hosting function (physical device): its admin commands.</summary>
public static class HostingFunctionProtocol
{
    public abstract record Command(DeviceId Device) : IEntityMessage, ISivMessage
    {
        public EntityAddress Target => EntityAddress.Of(Device);
    }

    /// <summary>Admin command 13, IMS flavour: allocates an IMS entry and returns its index as the handle.</summary>
    public sealed record RequestInterruptHandle(DeviceId Device, long RequestId) : Command(Device);

    public sealed record InterruptHandleGranted(long RequestId, ushort Index) : ISivMessage;

    /// <summary>CMDSTATUS 0x42: no handle available.</summary>
    public sealed record InterruptHandleRefused(long RequestId, byte Error) : ISivMessage;

    /// <summary>Admin command 14.</summary>
    public sealed record ReleaseInterruptHandle(DeviceId Device, ushort Index) : Command(Device);

    /// <summary>
    /// Marks IMS entries as in use without answering: the VDCM re-establishes, after a restart, the handles its
    /// persisted compositions hold. Idempotent.
    /// </summary>
    public sealed record ClaimInterruptHandles(DeviceId Device, ushort[] Indices) : Command(Device);

    public sealed record GetState(DeviceId Device) : Command(Device);

    public sealed record State(int ImsInUse, int ImsSize) : ISivMessage;
}
