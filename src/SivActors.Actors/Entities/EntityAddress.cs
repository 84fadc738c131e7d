using System.Globalization;
using SivActors.Actors.Wire;
using SivActors.Model.Identity;

namespace SivActors.Actors.Entities;

public enum EntityKind : byte
{
    HostingFunction,
    AssignableInterface,
    InterruptUnit,
    DmaRemapping,
    Vdcm,
    Container,
}

/// <summary>
/// Where an entity lives, by id: its kind and a 64-bit key, plus the host it belongs to. The host id is the shard
/// key, so a host's hot path (AI -> interrupt unit -> container) can stay on one node.
/// </summary>
public readonly record struct EntityAddress(EntityKind Kind, long Key, int Host)
{
    public static EntityAddress Of(AiId id) =>
        new(EntityKind.AssignableInterface, ((long)id.Host.Value << 40) | ((long)id.Device.Index << 20) | (uint)id.Index, id.Host.Value);

    public static EntityAddress Of(DeviceId id) =>
        new(EntityKind.HostingFunction, ((long)id.Host.Value << 20) | (uint)id.Index, id.Host.Value);

    public static EntityAddress InterruptUnit(HostId host) => new(EntityKind.InterruptUnit, host.Value, host.Value);
    public static EntityAddress DmaRemapping(HostId host) => new(EntityKind.DmaRemapping, host.Value, host.Value);
    public static EntityAddress Vdcm(HostId host) => new(EntityKind.Vdcm, host.Value, host.Value);

    /// <summary>Containers carry their host so the address needs no lookup.</summary>
    public static EntityAddress Of(ContainerId id, HostId host) => new(EntityKind.Container, id.Value, host.Value);

    public AiId AsAiId() => new(new DeviceId(new HostId((int)(Key >> 40)), (int)((Key >> 20) & 0xFFFFF)), (int)(Key & 0xFFFFF));
    public DeviceId AsDeviceId() => new(new HostId((int)(Key >> 20)), (int)(Key & 0xFFFFF));

    /// <summary>The entity id string a sharded deployment uses ("ai-h0/d1/wq5").</summary>
    public string EntityId => Kind switch
    {
        EntityKind.AssignableInterface => "ai-" + AsAiId(),
        EntityKind.HostingFunction => "hf-" + AsDeviceId(),
        EntityKind.InterruptUnit => "iu-h" + Host.ToString(CultureInfo.InvariantCulture),
        EntityKind.DmaRemapping => "dmar-h" + Host.ToString(CultureInfo.InvariantCulture),
        EntityKind.Vdcm => "vdcm-h" + Host.ToString(CultureInfo.InvariantCulture),
        EntityKind.Container => "c" + Key.ToString(CultureInfo.InvariantCulture) + "-h" + Host.ToString(CultureInfo.InvariantCulture),
        _ => throw new ArgumentOutOfRangeException(nameof(Kind), Kind, null),
    };

    /// <summary>The inverse of <see cref="EntityId"/> (a shard creates entities from the id alone).</summary>
    public static EntityAddress Parse(string entityId)
    {
        static int Num(string s) => int.Parse(s, NumberStyles.None, CultureInfo.InvariantCulture);
        try
        {
            var dash = entityId.IndexOf('-');
            var prefix = entityId[..dash];
            var rest = entityId[(dash + 1)..];
            switch (prefix)
            {
                case "iu": return InterruptUnit(new HostId(Num(rest[1..])));
                case "dmar": return DmaRemapping(new HostId(Num(rest[1..])));
                case "vdcm": return Vdcm(new HostId(Num(rest[1..])));
                case "hf":
                {
                    var p = rest.Split('/');
                    return Of(new DeviceId(new HostId(Num(p[0][1..])), Num(p[1][1..])));
                }
                case "ai":
                {
                    var p = rest.Split('/');
                    return Of(new AiId(new DeviceId(new HostId(Num(p[0][1..])), Num(p[1][1..])), Num(p[2][2..])));
                }
                default:
                    if (prefix.StartsWith('c')) return Of(new ContainerId(Num(prefix[1..])), new HostId(Num(rest[1..])));
                    break;
            }
        }
        catch (Exception e) when (e is FormatException or OverflowException or ArgumentOutOfRangeException or IndexOutOfRangeException)
        {
            throw new FormatException($"\"{entityId}\" is not an entity id", e);
        }
        throw new FormatException($"\"{entityId}\" is not an entity id");
    }

    public string ShardId => "h" + Host.ToString(CultureInfo.InvariantCulture);

    public override string ToString() => EntityId;
}

/// <summary>Every message addressed to an entity names its target; the message extractor reads it.</summary>
public interface IEntityMessage
{
    EntityAddress Target { get; }
}
