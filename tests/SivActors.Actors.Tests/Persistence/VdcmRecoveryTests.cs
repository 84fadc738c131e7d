using Akka.Actor;
using Akka.TestKit;
using Akka.TestKit.Xunit2;
using SivActors.Actors.Container;
using SivActors.Actors.Entities;
using SivActors.Actors.Hosting;
using SivActors.Actors.Persistence;
using SivActors.Actors.Vdcm;
using SivActors.Model.Identity;
using SivActors.Model.Vdcm;
using Iu = SivActors.Actors.InterruptUnit.InterruptUnitProtocol;

namespace SivActors.Actors.Tests.Persistence;

/// <summary>
/// A recovered VDCM and the interrupt unit: the unit is a probe here, so the test decides when it answers. Found under
/// a journal fault: a VDCM that crashed after the unit wrote an entry for a guest, but before its own record of it,
/// left a stray entry that only its recovery's reconciliation removes; a guest whose FLR was answered before that
/// reconciliation reached the unit (busy with interrupts) could be sent interrupts through the stray entry.
/// </summary>
public sealed class VdcmRecoveryTests : TestKit
{
    private static readonly HostId Host = new(0);
    private static readonly ContainerId Tenant = new(0);
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(20);
    private readonly EmulatorContext _ctx = TestScenarios.Context();
    private readonly TestProbe _containers;
    private readonly TestProbe _unit;
    private long _request;
    private bool _answerReconciliations;

    public VdcmRecoveryTests() : base("akka.loglevel = WARNING\nakka.actor.serialize-messages = on\n" + SivEmulatorHosting.WireFormatHocon + SivPersistenceHosting.InMemoryHocon)
    {
        SivEmulatorHosting.StartEntityParents(Sys, _ctx);
        _containers = CreateTestProbe();
        _ctx.Directory.SetParent(EntityKind.Container, _containers);
        // The interrupt unit answers table writes at once; reconciliations wait for the test.
        _unit = CreateTestProbe();
        var handles = 0;
        _unit.SetAutoPilot(new DelegateAutoPilot((sender, message) =>
        {
            switch (message)
            {
                case Iu.ProgramEntry p:
                    sender.Tell(new Iu.EntryProgrammed(p.RequestId, p.Handle ?? handles++, 0, 1 << 16));
                    break;
                case Iu.FreeEntry f:
                    sender.Tell(new Iu.EntryFreed(f.RequestId, null));
                    break;
                case Iu.ReconcileAsid r when Volatile.Read(ref _answerReconciliations):
                    sender.Tell(new Iu.AsidReconciled(r.RequestId, null));
                    break;
            }
            return AutoPilot.KeepRunning;
        }));
        _ctx.Directory.SetParent(EntityKind.InterruptUnit, _unit);
    }

    private ContainerProtocol.GuestAccessCompleted Access(GuestAccess access)
    {
        Send(access);
        return _containers.ExpectMsg<ContainerProtocol.GuestAccessCompleted>(Patience);
    }

    private void Send(GuestAccess access, ContainerId? tenant = null) =>
        _ctx.Directory.Tell(new VdcmProtocol.GuestAccessRequest(Host, tenant ?? Tenant, ++_request, access, 0, 0));

    private static readonly GuestAccess Flr = new(AccessKind.ConfigWrite, VirtualLayout.DeviceControl, Value: VirtualLayout.InitiateFlr);

    /// <summary>Composes the tenant's vdev and programs its entry 1 (data, then unmask), as the guest driver does.</summary>
    private void ComposeAndProgram(ContainerId? tenant = null)
    {
        var t = tenant ?? Tenant;
        _ctx.Directory.Tell(new VdcmProtocol.ComposeVdev(Host, t, 1, TestActor));
        _containers.FishForMessage<ContainerProtocol.VdevComposed>(_ => true, Patience);
        Send(new GuestAccess(AccessKind.Bar0Write, VirtualLayout.MsixTable + 16 + 8, Value: 0x51), t);
        Assert.Null(_containers.ExpectMsg<ContainerProtocol.GuestAccessCompleted>(Patience).Error);
        Send(new GuestAccess(AccessKind.Bar0Write, VirtualLayout.MsixTable + 16 + 12, Value: 0), t);
        Assert.Null(_containers.ExpectMsg<ContainerProtocol.GuestAccessCompleted>(Patience).Error);
    }

    /// <summary>Stops the VDCM; its entity parent starts it again and it recovers from the journal.</summary>
    private Iu.ReconcileAsid RestartVdcm()
    {
        Sys.ActorSelection("/user/vdcms/*").Tell(PoisonPill.Instance);
        return _unit.FishForMessage<Iu.ReconcileAsid>(m => m.Asid == EmulatorContext.AsidOf(Tenant), Patience);
    }

    [Fact]
    public void A_recovered_vdcm_answers_no_guest_before_the_interrupt_unit_has_reconciled_the_tenant()
    {
        ComposeAndProgram();
        var reconcile = RestartVdcm();
        var vdcm = _unit.LastSender;
        Assert.Single(reconcile.Keep);

        // The guest resets its vdev meanwhile: the VDCM holds the request, it neither serves nor refuses it.
        Send(Flr);
        _containers.ExpectNoMsg(TimeSpan.FromMilliseconds(500));

        // A reconciliation that the unit could not make durable is asked again, under a new id; still nothing is served.
        vdcm.Tell(new Iu.AsidReconciled(reconcile.RequestId, "journal write failed"), _unit);
        // (The VDCM also asks again under the old id every 2 s without an answer; a loaded machine may get there first.)
        var again = _unit.FishForMessage<Iu.ReconcileAsid>(m => m.Asid == reconcile.Asid && m.RequestId != reconcile.RequestId, Patience);
        Assert.Equal(reconcile.Keep, again.Keep);
        _containers.ExpectNoMsg(TimeSpan.FromMilliseconds(300));

        // Once the unit has reconciled, the FLR runs: its free reaches the unit after the reconciliation. (A period
        // without an answer, on a loaded machine, adds a probe: it is answered as the unit would.)
        vdcm.Tell(new Iu.AsidReconciled(again.RequestId, null), _unit);
        var freed = (Iu.FreeEntry)_unit.FishForMessage(m =>
        {
            if (m is Iu.ReconcileAsid r) vdcm.Tell(new Iu.AsidReconciled(r.RequestId, null), _unit);
            return m is Iu.FreeEntry;
        }, Patience);
        Assert.Equal(reconcile.Keep[0], freed.Handle);
        var reset = _containers.ExpectMsg<ContainerProtocol.GuestAccessCompleted>(Patience);
        Assert.Null(reset.Error);
        Assert.Equal(_request, reset.RequestId);
    }

    [Fact]
    public void A_silent_interrupt_unit_is_probed_with_one_tenant_and_only_what_was_lost_is_asked_again()
    {
        var tenants = new[] { new ContainerId(0), new ContainerId(1), new ContainerId(2) };
        foreach (var t in tenants) ComposeAndProgram(t);
        Sys.ActorSelection("/user/vdcms/*").Tell(PoisonPill.Instance);
        var asked = new List<Iu.ReconcileAsid>();
        for (var i = 0; i < tenants.Length; i++) asked.Add(_unit.FishForMessage<Iu.ReconcileAsid>(_ => true, Patience));
        var vdcm = _unit.LastSender;
        Assert.Equal(tenants.Select(t => EmulatorContext.AsidOf(t).Value).Order(), asked.Select(a => a.Asid.Value).Order());

        // Unanswered for a whole period (2 s): one tenant is asked again under a new id, never the three again. Each
        // further silent period sends one more probe; none of them repeats what was asked (timing-free: a slow machine
        // only sees fewer probes).
        var originals = asked.Select(a => a.RequestId).ToHashSet();
        var probes = new List<Iu.ReconcileAsid> { _unit.FishForMessage<Iu.ReconcileAsid>(_ => true, Patience) };
        probes.AddRange(_unit.ReceiveWhile<object>(TimeSpan.FromSeconds(2.5), m => m).OfType<Iu.ReconcileAsid>());
        Assert.All(probes, p => Assert.DoesNotContain(p.RequestId, originals));
        Assert.Equal(probes.Count, probes.Select(p => p.RequestId).Distinct().Count());

        // The latest probe answered before the others: the unit takes its mail in order, so they were lost; all three
        // are asked again under their own ids (a probe sent meanwhile is answered as the unit would).
        vdcm.Tell(new Iu.AsidReconciled(probes[^1].RequestId, null), _unit);
        var again = new List<Iu.ReconcileAsid>();
        while (again.Count < tenants.Length)
        {
            var m = _unit.FishForMessage<Iu.ReconcileAsid>(_ => true, Patience);
            if (originals.Contains(m.RequestId)) again.Add(m);
            else vdcm.Tell(new Iu.AsidReconciled(m.RequestId, null), _unit);
        }
        Assert.Equal(originals.Order(), again.Select(a => a.RequestId).Order());

        // Held until then, a guest's reset runs once the last of them is answered.
        Send(Flr, tenants[1]);
        _containers.ExpectNoMsg(TimeSpan.FromMilliseconds(300));
        // A probe still unanswered holds guests too: from here the unit answers every reconciliation, also those
        // that reached it before.
        Volatile.Write(ref _answerReconciliations, true);
        foreach (var m in _unit.ReceiveWhile<object>(TimeSpan.FromMilliseconds(100), m => m).OfType<Iu.ReconcileAsid>())
            vdcm.Tell(new Iu.AsidReconciled(m.RequestId, null), _unit);
        foreach (var a in again) vdcm.Tell(new Iu.AsidReconciled(a.RequestId, null), _unit);
        var reset = (ContainerProtocol.GuestAccessCompleted)_containers.FishForMessage(m => m is ContainerProtocol.GuestAccessCompleted, Patience);
        Assert.Null(reset.Error);
    }

    [Fact]
    public void A_vdcm_with_nothing_to_recover_serves_guests_at_once()
    {
        // A fresh run: no vdev in the journal, no reconciliation, nothing held.
        ComposeAndProgram();
        Assert.Null(Access(Flr).Error);
    }
}
