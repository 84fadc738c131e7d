using SivActors.Actors.Faults;
using SivActors.Model.Faults;
using SivActors.Model.Identity;
using SivActors.Model.Interrupts;
using SivActors.Model.Reporting;
using SivActors.Model.Workload;
using Iu = SivActors.Actors.InterruptUnit.InterruptUnitProtocol;

namespace SivActors.Actors.Tests.Faults;

/// <summary>
/// Where a drop books what it takes, message by message, without a run around it: whether a forged interrupt crosses
/// a dropping hop in a live run depends on which AIs happen to complete work in the window.
/// </summary>
public sealed class HopInterceptorTests
{
    private static readonly UpstreamWrite Write = new(SourceId.Create(0x6A, 1, 0), Asid.Create(0x42), UpstreamKind.Interrupt, RemappableMsi.EncodeAddress(7), 0);
    private static readonly AiId Ai = new(new DeviceId(new HostId(0), 0), 1);
    private static readonly Iu.RaiseInterrupt Genuine = new(new HostId(0), Ai, Write, 0, null);
    private static readonly Iu.RaiseInterrupt Forged = Genuine with { Forgery = new Forgery(RogueKind.WrongAsid, Write, 0, FaultReason.AsidMismatch, FaultReason.IrteNotPresent) };

    private static (HopInterceptor Interceptor, FaultStats Stats, RunMetrics Metrics) Dropping(bool reliable = false)
    {
        var scenario = TestScenarios.Small(s => s with
        {
            Delivery = reliable ? "reliable" : "hardware",
            Faults = [new FaultSpec { At = 0, Kind = "drop", Hop = "ai-to-interrupt-unit", Probability = 1, For = 1 }],
        }).Scenario;
        var plane = new FaultPlane(scenario.Seed, FaultTimeline.Validate(scenario));
        plane.StartHop(plane.Stats[0]);
        var metrics = new RunMetrics { ReliableDelivery = reliable };
        return (new HopInterceptor(plane, metrics), plane.Stats[0], metrics);
    }

    [Fact]
    public void A_dropped_forged_interrupt_is_owed_to_the_rogue_ledger_and_lost_once_in_the_interrupt_ledger()
    {
        var (interceptor, stats, metrics) = Dropping();

        Assert.True(interceptor.Intercept(Forged, null));

        var m = metrics.Snapshot();
        Assert.Equal(1, m.RogueLost);
        Assert.Equal(1, m.InterruptsLost);
        Assert.Equal(1, stats.Lost);
        Assert.Equal(1, stats.Affected);
    }

    [Fact]
    public void A_dropped_genuine_interrupt_is_lost_but_owes_the_rogue_ledger_nothing()
    {
        var (interceptor, stats, metrics) = Dropping();

        Assert.True(interceptor.Intercept(Genuine, null));

        var m = metrics.Snapshot();
        Assert.Equal(0, m.RogueLost);
        Assert.Equal(1, m.InterruptsLost);
        Assert.Equal(1, stats.Lost);
    }

    [Fact]
    public void In_reliable_delivery_a_dropped_forged_interrupt_is_still_lost_to_the_rogue_ledger_but_only_an_attempt_to_the_interrupt_ledger()
    {
        var (interceptor, stats, metrics) = Dropping(reliable: true);

        Assert.True(interceptor.Intercept(Forged, null));

        var m = metrics.Snapshot();
        Assert.Equal(1, m.RogueLost);
        Assert.Equal(0, m.InterruptsLost);
        Assert.Equal(1, m.InterruptsDroppedInTransit);
        Assert.Equal(0, stats.Lost);
        Assert.Equal(1, stats.Affected);
    }

    [Fact]
    public void A_flush_marker_is_never_dropped()
    {
        var (interceptor, stats, _) = Dropping();

        Assert.False(interceptor.Intercept(new Iu.FlushFrom(new HostId(0), Ai, Akka.Actor.ActorRefs.Nobody), null));
        Assert.Equal(0, stats.Affected);
    }
}
