using Akka.Actor;
using SivActors.Actors.Entities;
using SivActors.Actors.Hosting;
using SivActors.Model.Identity;
using static SivActors.Actors.HostingFunction.HostingFunctionProtocol;

namespace SivActors.Actors.HostingFunction;

/// <summary>
/// A physical device's control side: it hands out IMS entries as interrupt handles (admin commands 13/14). IMS is
/// not bound by MSI-X's 2,048-vector limit; its size is the scenario's imsEntriesPerDevice (GENCAP IMS size).
/// Allocation is next-fit so a released handle is not reissued at once.
/// </summary>
public sealed class HostingFunctionActor : EntityActor
{
    private readonly bool[] _inUse;
    private int _cursor;
    private int _count;

    public HostingFunctionActor(EmulatorContext ctx, DeviceId id) : base(ctx, EntityAddress.Of(id), id.Host)
    {
        _inUse = new bool[ctx.Scenario.Topology.ImsEntriesPerDevice];
    }

    /// <summary>Claims and releases change which entries are in use; an allocation waits until the claims are restored.</summary>
    protected override bool Configure(object message)
    {
        switch (message)
        {
            case ReleaseInterruptHandle m:
                if (m.Index < _inUse.Length && _inUse[m.Index])
                {
                    _inUse[m.Index] = false;
                    _count--;
                }
                return true;
            case ClaimInterruptHandles m:
                foreach (var i in m.Indices)
                {
                    if (i >= _inUse.Length || _inUse[i]) continue;
                    _inUse[i] = true;
                    _count++;
                }
                return true;
            default:
                return false;
        }
    }

    protected override bool Handle(object message)
    {
        switch (message)
        {
            case RequestInterruptHandle m:
                if (Allocate() is { } index) Sender.Tell(new InterruptHandleGranted(m.RequestId, index));
                else Sender.Tell(new InterruptHandleRefused(m.RequestId, 0x42));
                return true;
            case GetState:
                Sender.Tell(new State(_count, _inUse.Length));
                return true;
            default:
                return false;
        }
    }

    private ushort? Allocate()
    {
        if (_count >= _inUse.Length) return null;
        for (var probe = 0; probe < _inUse.Length; probe++)
        {
            var i = (_cursor + probe) % _inUse.Length;
            if (_inUse[i]) continue;
            _inUse[i] = true;
            _count++;
            _cursor = (i + 1) % _inUse.Length;
            return (ushort)i;
        }
        return null;
    }

    public static Props Props(EmulatorContext ctx, DeviceId id) => Akka.Actor.Props.Create(() => new HostingFunctionActor(ctx, id));
}
