using Akka.Actor;
using Akka.TestKit;
using Akka.TestKit.Xunit2;
using SivActors.Actors.AssignableInterface;
using SivActors.Actors.Container;
using SivActors.Actors.DmaRemapping;
using SivActors.Actors.Entities;
using SivActors.Actors.Hosting;
using SivActors.Actors.Vdcm;
using SivActors.Model.Device;
using SivActors.Model.Identity;
using SivActors.Model.Scenarios;
using SivActors.Model.Vdcm;
using Xunit;

namespace SivActors.Actors.Tests;

/// <summary>
/// Containers take turns (decision 70): with one turn of four operations per host, one container submits four
/// descriptors and only then the other starts; a turn whose work is stuck is given up after its time limit. The
/// VDCM and the AIs are probes, so every portal write is seen and nothing completes unless the test says so.
/// </summary>
public sealed class ContainerTurnsTests : TestKit
{
    private static readonly HostId Host = new(0);
    private readonly EmulatorContext _ctx = TestScenarios.Context(s => s with
    {
        Topology = s.Topology with { Containers = 2 },
        Workload = new WorkloadSection { QueueDepth = 2, SlowPathShare = 0, Turns = new TurnsSection { TenantsPerHost = 1, Operations = 4 } },
    });
    private readonly TestProbe _vdcm, _ais;
    private readonly Dictionary<ContainerId, IActorRef> _containers = [];

    public ContainerTurnsTests() : base("akka.loglevel = WARNING")
    {
        _vdcm = CreateTestProbe();
        _ais = CreateTestProbe();
        _ctx.Directory.SetParent(EntityKind.Vdcm, _vdcm);
        _ctx.Directory.SetParent(EntityKind.AssignableInterface, _ais);
        for (var c = 0; c < 2; c++) Ready(new ContainerId(c));
    }

    /// <summary>A container restored (with nothing), composed onto AI c of device 0, and its vector programmed.</summary>
    private void Ready(ContainerId c)
    {
        var container = Sys.ActorOf(ContainerActor.Props(_ctx, c, Host));
        _containers[c] = container;
        _vdcm.ExpectMsg<VdcmProtocol.RestoreDeviceState>();
        container.Tell(new VdcmProtocol.DeviceStateRestored(EntityAddress.Of(c, Host)));
        container.Tell(new ContainerProtocol.VdevComposed(c, Host, EmulatorContext.AsidOf(c), [new AiId(new DeviceId(Host, 0), c.Value)],
            [WorkQueueMode.Dedicated], TestActor));
        for (var write = 0; write < 2; write++)
        {
            var request = _vdcm.ExpectMsg<VdcmProtocol.GuestAccessRequest>();
            container.Tell(new ContainerProtocol.GuestAccessCompleted(c, Host, request.RequestId, Value: 7, Error: null, 0, 0));
        }
        ExpectMsg<ContainerProtocol.ContainerReady>();
    }

    private void Start()
    {
        foreach (var (c, container) in _containers) container.Tell(new ContainerProtocol.StartWorkload(c, Host));
    }

    private AssignableInterfaceProtocol.PortalWrite NextWrite() => _ais.ExpectMsg<AssignableInterfaceProtocol.PortalWrite>();

    /// <summary>The device's answer to <paramref name="w"/>: a successful completion record, written into the container's memory.</summary>
    private void Complete(AssignableInterfaceProtocol.PortalWrite w)
    {
        var record = new CompletionRecord(OperationStatus.Success, 0, w.Descriptor.TransferSize);
        var burst = new DmaRemappingProtocol.DmaWrite(Host, w.Ai, w.Ai.Device.SourceId, Asid.FromMasked(w.Descriptor.Pasid), 0, null,
            w.Descriptor.CompletionRecordAddress, record, 0, null);
        _containers[w.From].Tell(new ContainerProtocol.MemoryWrite(w.From, Host, burst, 0));
    }

    [Fact]
    public void One_container_submits_its_turns_worth_and_only_then_the_other_starts()
    {
        _ctx.Turns!.TimeLimit = TimeSpan.FromMinutes(1); // this test's turns end by their operations only
        Start();
        var first = new[] { NextWrite(), NextWrite() };
        var holder = first[0].From;
        Assert.All(first, w => Assert.Equal(holder, w.From));
        _ais.ExpectNoMsg(TimeSpan.FromMilliseconds(100)); // the other waits in line; the holder's queue is full
        foreach (var w in first) Complete(w);
        var second = new[] { NextWrite(), NextWrite() };
        Assert.All(second, w => Assert.Equal(holder, w.From));
        // Four started: the turn passes, and the other fills its queue while the holder's last two are in flight.
        var other = new[] { NextWrite(), NextWrite() };
        Assert.All(other, w => Assert.NotEqual(holder, w.From));
        foreach (var w in second) Complete(w);
        _ais.ExpectNoMsg(TimeSpan.FromMilliseconds(100)); // the first is back in line, behind the other's turn
        foreach (var w in other) Complete(w);
        var fourth = new[] { NextWrite(), NextWrite() };
        Assert.All(fourth, w => Assert.NotEqual(holder, w.From));
    }

    [Fact]
    public void A_turn_whose_work_is_stuck_goes_to_the_next_in_line_after_its_time_limit()
    {
        _ctx.Turns!.TimeLimit = TimeSpan.FromMilliseconds(300);
        Start();
        var first = new[] { NextWrite(), NextWrite() };
        var holder = first[0].From;
        // Nothing completes (as if the AI were killed): the turn is given up after its limit, not held forever.
        var next = _ais.ExpectMsg<AssignableInterfaceProtocol.PortalWrite>(TimeSpan.FromSeconds(5));
        Assert.NotEqual(holder, next.From);
        Assert.NotEqual(holder, NextWrite().From);
    }
}
