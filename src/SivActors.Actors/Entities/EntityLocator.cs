using Akka.Actor;
using Akka.Event;
using SivActors.Actors.Wire;

namespace SivActors.Actors.Entities;

/// <summary>
/// One per node that hosts shard regions. It keeps the node's <see cref="EntityDirectory"/> honest when entities
/// are reached directly rather than through their region:
/// <list type="bullet">
/// <item>Learns: an entity's <see cref="EntityLocated"/> answer (to a miss's <see cref="LocateEntity"/>) puts its
/// reference, local or remote, in the directory; the reference is watched and dropped on <see cref="Terminated"/>
/// (the entity stopped: passivation, a graceful leave handed its shard off, or its node was lost).</item>
/// <item>Re-routes: a message that reached a stopped entity of this node (it was sent to a cached reference before
/// the news of the stop arrived) becomes a dead letter here; it is sent again through the kind's shard region,
/// which knows where the entity lives now, so it is delayed rather than lost.</item>
/// </list>
/// </summary>
public sealed class EntityLocator : ReceiveActor
{
    private readonly Dictionary<IActorRef, EntityAddress> _watched = new();

    public EntityLocator(EntityDirectory directory)
    {
        Receive<EntityLocated>(m =>
        {
            var entity = Sender;
            if (entity.IsNobody() || _watched.ContainsKey(entity)) return;
            directory.Register(m.Address, entity);
            _watched[entity] = m.Address;
            // Watching a reference that already stopped yields Terminated at once, which drops it again.
            Context.Watch(entity);
        });
        Receive<Terminated>(t =>
        {
            if (_watched.Remove(t.ActorRef, out var address)) directory.Unregister(address, t.ActorRef);
        });
        Receive<DeadLetter>(d =>
        {
            if (!WillReroute(d)) return;
            var message = (IEntityMessage)d.Message;
            directory.Unregister(message.Target, d.Recipient);
            directory.Parent(message.Target.Kind).Tell(message, d.Sender);
        });
    }

    /// <summary>
    /// An entity message whose recipient is a sharded entity (/system/sharding/kind/shard/entity), not a region
    /// or the dead-letter box: the region it is sent to again can still deliver it, so it is not lost.
    /// </summary>
    public static bool WillReroute(DeadLetter d) =>
        d.Message is IEntityMessage && d.Recipient.Path.Elements is { Count: 5 } e && e[0] == "system" && e[1] == "sharding";

    protected override void PreStart() => Context.System.EventStream.Subscribe(Self, typeof(DeadLetter));

    protected override void PostStop() => Context.System.EventStream.Unsubscribe(Self);

    public static Props Props(EntityDirectory directory) => Akka.Actor.Props.Create(() => new EntityLocator(directory));
}
