using Akka.Actor;

namespace SivActors.Actors.Infrastructure;

/// <summary>
/// What every entity that is not a table owner shares (table owners get the same from
/// <see cref="Persistence.TableOwner{TEvent}"/>): it is in its node's directory exactly while it runs, so senders
/// reach its mailbox directly, and it answers <see cref="EnsureEntity"/> and <see cref="LocateEntity"/>.
/// </summary>
public abstract class EntityActor : ReceiveActor
{
    private readonly EntityDirectory _directory;
    private readonly EntityAddress _address;

    protected EntityActor(EntityDirectory directory, EntityAddress address)
    {
        _directory = directory;
        _address = address;
        Receive<EnsureEntity>(m => Sender.Tell(new EntityEnsured(m.Address)));
        Receive<LocateEntity>(m => Sender.Tell(new EntityLocated(m.Address)));
    }

    protected override void PreStart() => _directory.Register(_address, Self);

    // Only if still ours: a restarted entity of a local parent may have registered its successor already.
    protected override void PostStop() => _directory.Unregister(_address, Self);
}
