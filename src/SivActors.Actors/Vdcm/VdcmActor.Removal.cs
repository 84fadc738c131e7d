using Akka.Actor;
using SivActors.Model.Faults;
using SivActors.Model.Identity;
using SivActors.Model.Tables;
using static SivActors.Actors.Vdcm.VdcmProtocol;
using Ai = SivActors.Actors.AssignableInterface.AssignableInterfaceProtocol;
using Hf = SivActors.Actors.HostingFunction.HostingFunctionProtocol;
using Iu = SivActors.Actors.InterruptUnit.InterruptUnitProtocol;

namespace SivActors.Actors.Vdcm;

/// <summary>
/// Surprise removal of a hosting function (decision 41): the VDCM records it, moves every slot that used one of the
/// device's AIs to another device (or tears the vdev down when the policy has no AI for it), and only then frees
/// the old interrupt entries, assigns the new AIs and tells the guests that ask. The composer's choices are
/// persisted, so a VDCM that restarts mid-way continues where its journal ends.
/// </summary>
public sealed partial class VdcmActor
{
    // Vdevs whose move is decided (applied) but not yet durable and attached: a guest asking now waits.
    private readonly HashSet<ContainerId> _rescuing = [];
    private readonly Dictionary<ContainerId, IActorRef> _refreshWaiters = new();

    private void RemovalCommands()
    {
        Command<RemoveDevice>(Remove);
        Command<RefreshVdev>(m =>
        {
            if (_rescuing.Contains(m.Container) || _state.IsStranded(m.Container))
            {
                _refreshWaiters[m.Container] = Sender;
                return;
            }
            if (_state.Vdevs.TryGetValue(m.Container, out var v)) Sender.Tell(Info(m.Container, v));
            else Sender.Tell(new VdevGone(m.Container));
        });
        Command<ContinueRescue>(_ => Rescue(null));
    }

    private void Remove(RemoveDevice m)
    {
        var stats = m.Fault >= 0 ? Ctx.Faults.Stats[m.Fault] : null;
        if (_state.Composer.IsRemoved(m.Device))
        {
            stats?.Explain($"device {m.Device} of host {_host} was removed already");
            return;
        }
        if (DeferWhileSnapshotDue() || DeferWhileReconciling()) return;
        stats?.Touched();
        var e = new DeviceRemoved(m.Device);
        _state.Apply(e);
        Commit(e, null, null);
        Rescue(stats);
    }

    /// <summary>Moves or tears down every vdev that still has an AI on a removed device; each step is persisted.</summary>
    private void Rescue(FaultStats? stats)
    {
        int moved = 0, tornDown = 0;
        foreach (var container in _state.Stranded())
        {
            var before = _state.Vdevs[container];
            var oldAis = before.Device.Ais.ToArray();
            var oldMsix = before.Device.Msix.ToArray();
            var asid = before.Device.Asid;
            _rescuing.Add(container);
            while (_state.DecideRescue(container) is { } step)
            {
                _state.Apply(step);
                var gone = step is VdevTornDown;
                var last = gone || !_state.IsStranded(container);
                Commit(step, last ? () => Rescued(container, asid, oldAis, oldMsix) : null, null);
                if (!last) continue;
                if (gone) tornDown++;
                else moved++;
                break;
            }
        }
        if (stats is null || moved + tornDown == 0) return;
        stats.Touched(moved + tornDown);
        stats.Explain($"{moved} vdev(s) recomposed on other devices, {tornDown} torn down" +
                      (tornDown > 0 ? $" (no AI left for them under the {_state.Composer.Policy.ToString().ToLowerInvariant()} policy)" : ""));
    }

    /// <summary>
    /// The move is durable: the old interrupt entries are freed first (from then on their handles can only fault),
    /// IMS entries on devices still present are revoked and released, the new AIs assigned, and a waiting guest answered.
    /// </summary>
    private void Rescued(ContainerId container, Asid asid, AiId[] oldAis, IReadOnlyList<SivActors.Model.Vdcm.VirtualMsixEntry> oldMsix)
    {
        _rescuing.Remove(container);
        _state.Vdevs.TryGetValue(container, out var v);
        foreach (var e in oldMsix)
        {
            if (e.AiSlot < 0 || e.InterruptHandle is not { } handle || e.ImsIndex is not { } ims) continue;
            var oldAi = oldAis[e.AiSlot];
            if (v is not null && v.Device.Ais[e.AiSlot] == oldAi) continue; // this slot did not move
            Request(new Iu.FreeEntry(_host, NextId(), asid, handle), _ => { });
            if (_state.Composer.IsRemoved(oldAi.Device.Index)) continue; // its IMS went with the device
            Ctx.Directory.Tell(new Ai.RevokeIms(oldAi, NextId(), ims), Self);
            ReleaseImsIndex(oldAi.Device, ims);
        }
        if (v is not null) Attach(container, v);
        if (_refreshWaiters.Remove(container, out var waiter))
            waiter.Tell(v is null ? new VdevGone(container) : Info(container, v));
    }

    private sealed class ContinueRescue : INoSerializationVerificationNeeded
    {
        public static readonly ContinueRescue Instance = new();
    }
}
