using Akka.Actor;
using SivActors.Actors.Hosting;
using SivActors.Actors.Vdcm;
using SivActors.Model.Identity;

namespace SivActors.Actors.Entities;

/// <summary>
/// What every entity that is not a table owner shares (table owners get the same from
/// <see cref="Persistence.TableOwner{TEvent}"/>): it is in its node's directory exactly while it runs, so senders
/// reach its mailbox directly, and it answers <see cref="EnsureEntity"/> and <see cref="LocateEntity"/>.
/// <para>
/// Its device state (WQ assignment, IMS entries, PASID bindings, claimed handles, a container's vdev) is implied by
/// its VDCM's persisted tables, so an incarnation that starts (for the first time, after a restart, or on another
/// node after its shard moved) asks the VDCM for it before anything else: configuration messages are applied as they
/// arrive, traffic waits in the stash until <see cref="VdcmProtocol.DeviceStateRestored"/>. A moved device then
/// carries on where its predecessor stopped instead of starting empty.
/// </para>
/// </summary>
public abstract class EntityActor : UntypedActor, IWithUnboundedStash, IWithTimers
{
    // The request is sent again while unanswered: the VDCM may itself be moving or restarting. The wait doubles, so
    // a VDCM that is only busy (a resumed million replays its journal before it answers) is not sent another copy
    // of every entity's request every few seconds (a million each time, all answered in turn).
    private const int FirstRestoreRetrySeconds = 3;
    private const int LongestRestoreRetrySeconds = 60;
    private int _restoreRetrySeconds = FirstRestoreRetrySeconds;

    private readonly EmulatorContext _ctx;
    private readonly EntityDirectory _directory;
    private readonly EntityAddress _address;
    private readonly HostId _vdcmHost;
    private bool _restoring = true;

    public IStash Stash { get; set; } = null!;

    public ITimerScheduler Timers { get; set; } = null!;

    /// <param name="vdcmHost">The host whose VDCM holds this entity's device state.</param>
    protected EntityActor(EmulatorContext ctx, EntityAddress address, HostId vdcmHost)
    {
        _ctx = ctx;
        _directory = ctx.Directory;
        _address = address;
        _vdcmHost = vdcmHost;
    }

    /// <summary>
    /// The messages that set device state: handled while restoring too. True when handled. A switch over the message
    /// rather than ReceiveActor's handlers, which cost every instance a delegate per message type (a million
    /// containers, decision 68).
    /// </summary>
    protected abstract bool Configure(object message);

    /// <summary>Traffic: handled once the device state is restored (stashed until then). True when handled.</summary>
    protected abstract bool Handle(object message);

    protected sealed override void OnReceive(object message)
    {
        if (_restoring)
        {
            switch (message)
            {
                case LocateEntity m:
                    Sender.Tell(new EntityLocated(m.Address));
                    return;
                case VdcmProtocol.DeviceStateRestored:
                    Timers.Cancel(RestoreTimer.Instance);
                    _ctx.Faults.Restarted(_address.EntityId);
                    _restoring = false;
                    Stash.UnstashAll();
                    return;
                case RestoreTimer:
                    AskForState();
                    _restoreRetrySeconds = Math.Min(2 * _restoreRetrySeconds, LongestRestoreRetrySeconds);
                    StartRestoreTimer();
                    return;
            }
            if (!Configure(message)) Stash.Stash();
            return;
        }
        // Traffic first: it is nearly every message, and the kinds each part handles are disjoint.
        if (Handle(message) || Configure(message)) return;
        switch (message)
        {
            case EnsureEntity m:
                Sender.Tell(new EntityEnsured(m.Address));
                return;
            case LocateEntity m:
                Sender.Tell(new EntityLocated(m.Address));
                return;
            case VdcmProtocol.DeviceStateRestored or RestoreTimer:
                return; // the answer to a repeated request
            case Faults.FaultProtocol.InjectedKill m:
                // A crash: what this incarnation held only in memory is gone; its mailbox waits for the successor.
                OnInjectedKill(m.Fault);
                _ctx.Faults.Stats[m.Fault].Touched();
                throw InjectedCrash.For(_ctx, _address, m.Fault, "killed (injected kill-actor)");
            default:
                Unhandled(message);
                return;
        }
    }

    /// <summary>Runs just before a kill-actor fault ends this incarnation (an AI aborts what it had in flight).</summary>
    protected virtual void OnInjectedKill(int fault)
    {
    }

    private void AskForState() => _directory.Tell(new VdcmProtocol.RestoreDeviceState(_vdcmHost, _address), Self);

    protected override void PreStart()
    {
        _directory.Register(_address, Self);
        AskForState();
        StartRestoreTimer();
    }

    private void StartRestoreTimer() =>
        Timers.StartSingleTimer(RestoreTimer.Instance, RestoreTimer.Instance, TimeSpan.FromSeconds(_restoreRetrySeconds));

    // Only if still ours: a restarted entity of a local parent may have registered its successor already.
    protected override void PostStop() => _directory.Unregister(_address, Self);

    private sealed class RestoreTimer : INoSerializationVerificationNeeded
    {
        public static readonly RestoreTimer Instance = new();
    }
}
