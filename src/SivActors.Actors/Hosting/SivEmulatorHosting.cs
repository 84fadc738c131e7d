using Akka.Actor;
using Akka.Hosting;
using SivActors.Actors.AssignableInterface;
using SivActors.Actors.Container;
using SivActors.Actors.DmaRemapping;
using SivActors.Actors.Entities;
using SivActors.Actors.HostingFunction;
using SivActors.Actors.InterruptUnit;
using SivActors.Actors.Vdcm;
using SivActors.Actors.Wire;
using SivActors.Model.Identity;

namespace SivActors.Actors.Hosting;

/// <summary>Registry keys for the entity parents.</summary>
public sealed class InterruptUnitParent;
public sealed class DmaRemappingParent;
public sealed class VdcmParent;
public sealed class HostingFunctionParent;
public sealed class AssignableInterfaceParent;
public sealed class ContainerParent;

/// <summary>
/// One Akka.Hosting extension per entity kind: each starts the kind's entity parent (the place a later change
/// swaps for a Cluster.Sharding region) and registers it. <see cref="WithSivEmulator"/> adds them all.
/// </summary>
public static class SivEmulatorHosting
{
    public static AkkaConfigurationBuilder WithInterruptUnits(this AkkaConfigurationBuilder b, EmulatorContext ctx) =>
        b.WithEntityParent<InterruptUnitParent>(ctx, EntityKind.InterruptUnit);

    public static AkkaConfigurationBuilder WithDmaRemapping(this AkkaConfigurationBuilder b, EmulatorContext ctx) =>
        b.WithEntityParent<DmaRemappingParent>(ctx, EntityKind.DmaRemapping);

    public static AkkaConfigurationBuilder WithVdcms(this AkkaConfigurationBuilder b, EmulatorContext ctx) =>
        b.WithEntityParent<VdcmParent>(ctx, EntityKind.Vdcm);

    public static AkkaConfigurationBuilder WithHostingFunctions(this AkkaConfigurationBuilder b, EmulatorContext ctx) =>
        b.WithEntityParent<HostingFunctionParent>(ctx, EntityKind.HostingFunction);

    public static AkkaConfigurationBuilder WithAssignableInterfaces(this AkkaConfigurationBuilder b, EmulatorContext ctx) =>
        b.WithEntityParent<AssignableInterfaceParent>(ctx, EntityKind.AssignableInterface);

    public static AkkaConfigurationBuilder WithContainers(this AkkaConfigurationBuilder b, EmulatorContext ctx) =>
        b.WithEntityParent<ContainerParent>(ctx, EntityKind.Container);

    /// <summary>Binds every <see cref="ISivMessage"/> to the binary wire serializer, and configures the containers' mailbox.</summary>
    public static AkkaConfigurationBuilder WithSivWireFormat(this AkkaConfigurationBuilder b) =>
        b.WithCustomSerializer("siv-wire", [typeof(ISivMessage)], system => new Wire.WireSerializer(system))
            .AddHocon(CompactMailbox.Hocon, HoconAddMode.Prepend);

    /// <summary>The same binding (and the containers' mailbox) as HOCON, for TestKit tests that own their ActorSystem.</summary>
    public const string WireFormatHocon = """
        akka.actor.serializers.siv-wire = "SivActors.Actors.Wire.WireSerializer, SivActors.Actors"
        akka.actor.serialization-bindings { "SivActors.Actors.Wire.ISivMessage, SivActors.Actors" = siv-wire }
        akka.actor.serialization-identifiers { "SivActors.Actors.Wire.WireSerializer, SivActors.Actors" = 7302 }
        """ + "\n" + CompactMailbox.Hocon + "\n";

    public static AkkaConfigurationBuilder WithSivEmulator(this AkkaConfigurationBuilder b, EmulatorContext ctx) => b
        .WithSivWireFormat()
        .WithInterruptUnits(ctx).WithDmaRemapping(ctx).WithVdcms(ctx)
        .WithHostingFunctions(ctx).WithAssignableInterfaces(ctx).WithContainers(ctx);

    /// <summary>The same wiring without Akka.Hosting, for TestKit tests that own their ActorSystem.</summary>
    public static void StartEntityParents(ActorSystem system, EmulatorContext ctx)
    {
        foreach (var kind in Enum.GetValues<EntityKind>()) StartParent(system, ctx, kind);
    }

    /// <summary>How each kind's entity is made from its address, on <paramref name="system"/>: containers on the compact mailbox.</summary>
    public static Props EntityProps(ActorSystem system, EmulatorContext ctx, EntityAddress a) =>
        a.Kind == EntityKind.Container ? CompactMailbox.On(EntityProps(ctx, a), system) : EntityProps(ctx, a);

    /// <summary>How each kind's entity is made from its address.</summary>
    public static Props EntityProps(EmulatorContext ctx, EntityAddress a) => a.Kind switch
    {
        EntityKind.InterruptUnit => InterruptUnitActor.Props(ctx, new HostId(a.Host)),
        EntityKind.DmaRemapping => DmaRemappingActor.Props(ctx, new HostId(a.Host)),
        EntityKind.Vdcm => VdcmActor.Props(ctx, new HostId(a.Host)),
        EntityKind.HostingFunction => HostingFunctionActor.Props(ctx, a.AsDeviceId()),
        EntityKind.AssignableInterface => AssignableInterfaceActor.Props(ctx, a.AsAiId()),
        EntityKind.Container => ContainerActor.Props(ctx, new ContainerId((int)a.Key), new HostId(a.Host)),
        _ => throw new ArgumentOutOfRangeException(nameof(a), a.Kind, null),
    };

    private static AkkaConfigurationBuilder WithEntityParent<TKey>(this AkkaConfigurationBuilder b, EmulatorContext ctx, EntityKind kind) =>
        b.WithActors((system, registry) => registry.Register<TKey>(StartParent(system, ctx, kind)));

    private static IActorRef StartParent(ActorSystem system, EmulatorContext ctx, EntityKind kind)
    {
        var owner = kind is EntityKind.InterruptUnit or EntityKind.Vdcm;
        var parent = system.ActorOf(EntityParent.Props(ctx.Directory, a => EntityProps(system, ctx, a), what => ctx.Metrics.EntityFailed($"{kind}: {what}"),
            ctx.Store.Restart, owner ? ctx.Metrics.TableOwnerRestarted : null, ctx.LostWhileRestarting), ParentName(kind));
        ctx.Directory.SetParent(kind, parent);
        return parent;
    }

    /// <summary>
    /// True for a table owner's path: its parent re-routes dead letters to the restarted owner, so they are not
    /// lost (see <see cref="EntityParent"/>).
    /// </summary>
    public static bool IsRestartedOnFailure(ActorPath path) =>
        path.Parent.Name == ParentName(EntityKind.InterruptUnit) || path.Parent.Name == ParentName(EntityKind.Vdcm);

    private static string ParentName(EntityKind kind) => kind switch
    {
        EntityKind.InterruptUnit => "interrupt-units",
        EntityKind.DmaRemapping => "dma-remapping",
        EntityKind.Vdcm => "vdcms",
        EntityKind.HostingFunction => "hosting-functions",
        EntityKind.AssignableInterface => "ais",
        _ => "containers",
    };
}
