using Akka.Actor;
using SivActors.Model.Identity;
using SivActors.Model.Interrupts;
using Ai = SivActors.Actors.AssignableInterface.AssignableInterfaceProtocol;
using Hf = SivActors.Actors.HostingFunction.HostingFunctionProtocol;
using Iu = SivActors.Actors.InterruptUnit.InterruptUnitProtocol;

namespace SivActors.Actors.Vdcm;

public sealed partial class VdcmActor
{
    /// <summary>
    /// After recovery: the devices behind the persisted vdevs are fresh, so hand them their state again, before any
    /// new request can allocate: IMS indices in use, WQ assignments, IMS entries, PASID bindings. All idempotent.
    /// </summary>
    private void RestoreDevices()
    {
        if (_state.Vdevs.Count == 0) return;
        var claims = new Dictionary<DeviceId, List<ushort>>();
        foreach (var (container, v) in _state.Vdevs)
        {
            var d = v.Device;
            Attach(container, v);
            // Live entries as this VDCM holds them: a vector made durable here just before a stop may not have
            // reached the interrupt entry (ProgramVector writes the data first), and the guest was promised it.
            var live = new Dictionary<int, InterruptEntry>();
            for (var i = 0; i < d.Msix.Count; i++)
                if (d.Msix[i] is { InterruptHandle: { } h, ImsIndex: not null, Masked: false, AiSlot: >= 0 } e)
                    live[h] = BuildEntry(v, i, d.Ais[e.AiSlot]);
            Reconcile(new Iu.ReconcileAsid(_host, NextId(), d.Asid,
                d.Msix.Where(e => e.InterruptHandle is not null).Select(e => e.InterruptHandle!.Value).ToArray()) { Entries = live });
            foreach (var e in d.Msix)
            {
                if (BackingIms(v, e) is not { } ims) continue;
                var ai = d.Ais[e.AiSlot];
                if (!claims.TryGetValue(ai.Device, out var list)) claims[ai.Device] = list = [];
                list.Add(ims.Index);
                // The answer (ImsWritten) carries a request id nobody waits for; it is dropped.
                Ctx.Directory.Tell(new Ai.WriteIms(ai, NextId(), ims.Index, ims.Entry, null), Self);
            }
        }
        // Sent before any request of this incarnation, so a new allocation cannot take a restored index.
        if (UsesDeviceImsPool)
            foreach (var (device, indices) in claims) Ctx.Directory.Tell(new Hf.ClaimInterruptHandles(device, indices.ToArray()));
        Ctx.Metrics.VdevsRestored(_state.Vdevs.Count);
    }

    // A recovered VDCM's reconciliations not yet answered, by request id. Until the interrupt unit has answered them
    // all, guest requests and compositions wait: a stray entry that a crash left behind (an entry written, its record
    // refused) must be gone before a guest can be told that a reset or a reprogramming succeeded.
    private readonly Dictionary<long, Iu.ReconcileAsid> _reconciling = new();
    private static readonly TimeSpan ReconcileRetry = TimeSpan.FromSeconds(2);
    private int _reconcileAnswers;
    private long? _probe;

    private void Reconcile(Iu.ReconcileAsid m)
    {
        _reconciling[m.RequestId] = m;
        Ctx.Directory.Tell(m, Self);
        // Idempotent, so asked again while unanswered: an interrupt unit that restarts meanwhile may never answer.
        if (!Timers.IsTimerActive(ReconcileAgain.Instance))
            Timers.StartPeriodicTimer(ReconcileAgain.Instance, ReconcileAgain.Instance, ReconcileRetry);
    }

    /// <summary>
    /// A whole period passed without an answer: the unit is busy (it may be replaying a large journal, with every
    /// tenant's reconciliation queued behind) or lost what it was sent (it restarted). Asking every tenant again
    /// would queue another copy of each on a busy unit, period after period (a million, every 2 s). One tenant is
    /// asked again instead, under a new id; the unit takes them in order, so once this probe is answered, whatever
    /// was asked before it and is still unanswered was lost, and only that is asked again.
    /// </summary>
    private void Probe()
    {
        if (_probe is { } earlier) _reconciling.Remove(earlier);
        _probe = null;
        if (_reconciling.Count == 0)
        {
            AllReconciled();
            return;
        }
        var probe = _reconciling.Values.First() with { RequestId = NextId() };
        _probe = probe.RequestId;
        _reconciling[probe.RequestId] = probe;
        Ctx.Directory.Tell(probe, Self);
    }

    private void Reconciled(Iu.AsidReconciled m)
    {
        if (!_reconciling.Remove(m.RequestId, out var asked)) return;
        _reconcileAnswers++;
        if (m.RequestId == _probe)
        {
            _probe = null;
            foreach (var lost in _reconciling.Values) Ctx.Directory.Tell(lost, Self);
        }
        if (m.Error is not null)
        {
            // Not durable: the interrupt unit restarts from its journal, so the tenant is reconciled again.
            Reconcile(asked with { RequestId = NextId() });
            return;
        }
        if (_reconciling.Count == 0) AllReconciled();
    }

    /// <summary>Every tenant is reconciled: guests and compositions held meanwhile go on.</summary>
    private void AllReconciled()
    {
        Timers.Cancel(ReconcileAgain.Instance);
        Stash.UnstashAll();
    }

    private bool DeferWhileReconciling()
    {
        if (_reconciling.Count == 0) return false;
        Stash.Stash();
        return true;
    }

    private sealed class ReconcileAgain : INoSerializationVerificationNeeded
    {
        public static readonly ReconcileAgain Instance = new();
    }
}
