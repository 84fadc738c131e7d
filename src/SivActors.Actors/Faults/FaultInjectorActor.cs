using System.Diagnostics;
using Akka.Actor;
using SivActors.Actors.Entities;
using SivActors.Actors.Hosting;
using SivActors.Model.Faults;
using SivActors.Model.Identity;

namespace SivActors.Actors.Faults;

/// <summary>
/// Fires a scenario's fault timeline on one node: each fault at its <c>at</c>, windowed ones ended after their
/// <c>for</c>, all of it counted from the measured window's start. It installs the rules the hot path reads (the
/// <see cref="FaultPlane"/>), sends kills to entities, and samples completed operations so the report can say when
/// throughput came back. Started by the runner when the window opens and stopped when it closes; whatever is still
/// in force then is ended.
/// </summary>
public sealed class FaultInjectorActor : ReceiveActor
{
    private readonly EmulatorContext _ctx;
    private readonly long _windowStart;
    private readonly FaultPlane _plane;
    private readonly FaultClock _clock = new("siv-fault-clock");

    public FaultInjectorActor(EmulatorContext ctx, long windowStartTicks)
    {
        _ctx = ctx;
        _windowStart = windowStartTicks;
        _plane = ctx.Faults;
        Receive<Fire>(m => Start(_plane.Stats[m.Fault]));
        Receive<End>(m => Stop(_plane.Stats[m.Fault]));
    }

    protected override void PreStart()
    {
        if (_plane.Stats.Any(s => s.Fault.Kind is FaultKind.Drop or FaultKind.Delay))
        {
            var interceptor = new HopInterceptor(_plane, _ctx.Metrics);
            foreach (var hop in Enum.GetValues<Hop>())
                interceptor.SetLine(hop, Context.ActorOf(DelayLineActor.Props(_ctx.Directory, _plane, hop), "delay-" + FaultNames.Name(hop)));
            _ctx.Hops = interceptor;
            _ctx.Directory.InterceptWith(interceptor.Intercept);
        }
        var now = Seconds(Stopwatch.GetTimestamp());
        foreach (var s in _plane.Stats)
        {
            // A worker that joined an open window (a restarted one) arms only what starts after it came.
            if (s.Fault.AtSeconds < now - 0.1) continue;
            _clock.Schedule(Delay(s.Fault.AtSeconds - now), Self, new Fire(s.Fault.Index));
        }
    }

    protected override void PostStop()
    {
        _clock.Dispose();
        foreach (var s in _plane.Stats)
            if (s.FiredTicks != 0 && s.EndedTicks == 0) Stop(s);
        // The delay lines stop with this actor; nothing is held once the load has drained.
        _ctx.Directory.InterceptWith(null);
        _ctx.Hops = null;
    }

    private void Start(FaultStats s)
    {
        var f = s.Fault;
        s.Fired(Stopwatch.GetTimestamp());
        var role = _ctx.InjectorRole;
        // A worker leaves faults on named entities and crashes to the driver, which fires each of them once; a
        // partition is cut by the worker it names (WorkerLinks), the driver only watches it.
        if ((role == InjectorRole.Worker && f.Kind is FaultKind.KillActor or FaultKind.SurpriseRemove or FaultKind.CrashNode or FaultKind.RestartNode)
            || (FaultTimeline.ClusterOnly.Contains(f.Kind) && role == InjectorRole.SingleNode))
            return;
        switch (f.Kind)
        {
            case FaultKind.CrashNode:
                if (_ctx.NodeFaults?.Crash(s) is { } why) s.Explain(why);
                s.Ended(Stopwatch.GetTimestamp());
                return;
            case FaultKind.Partition:
                if (_ctx.NodeFaults?.Partition(s) is { } cannot) s.Explain(cannot);
                break;
            case FaultKind.RestartNode:
                if (_ctx.NodeFaults?.Restart(s) is { } notBack) s.Explain(notBack);
                s.Ended(Stopwatch.GetTimestamp());
                return;
            case FaultKind.Drop:
            case FaultKind.Delay:
                _plane.StartHop(s);
                break;
            case FaultKind.JournalFail:
                _plane.StartJournal(s, JournalCondition.Failing);
                break;
            case FaultKind.JournalStall:
                _plane.StartJournal(s, JournalCondition.Stalled);
                break;
            case FaultKind.RogueStorm:
                _plane.StartStorm(s);
                break;
            case FaultKind.StaleIec:
                _plane.StartStaleIec(s);
                break;
            case FaultKind.KillActor:
                foreach (var target in Targets(f)) _ctx.Directory.Tell(new FaultProtocol.InjectedKill(target, f.Index));
                s.Ended(Stopwatch.GetTimestamp());
                return;
            case FaultKind.SurpriseRemove:
            {
                // The function's AIs go dark first (what they had in flight is aborted), then the host's hot-plug
                // notification reaches the VDCM, which moves or tears down the vdevs that used them.
                var device = new DeviceId(new HostId(f.Target!.Index[0]), f.Target.Index[1]);
                for (var a = 0; a < _ctx.Scenario.FunctionsPerDevice; a++)
                    _ctx.Directory.Tell(new SivActors.Actors.AssignableInterface.AssignableInterfaceProtocol.SurpriseRemoved(new AiId(device, a), f.Index));
                _ctx.Directory.Tell(new SivActors.Actors.Vdcm.VdcmProtocol.RemoveDevice(device.Host, device.Index, f.Index));
                s.Ended(Stopwatch.GetTimestamp());
                return;
            }
            default:
                s.Explain($"{f.KindName} is not injected on this node");
                return;
        }
        if (f.ForSeconds is { } length) _clock.Schedule(Delay(length), Self, new End(f.Index));
    }

    private void Stop(FaultStats s)
    {
        switch (s.Fault.Kind)
        {
            case FaultKind.Drop:
            case FaultKind.Delay:
                _plane.EndHop(s);
                break;
            case FaultKind.JournalFail:
            case FaultKind.JournalStall:
                _plane.EndJournal(s);
                break;
            case FaultKind.RogueStorm:
                _plane.EndStorm(s);
                break;
            case FaultKind.StaleIec:
                _plane.EndStaleIec(s);
                break;
            case FaultKind.Partition:
                _ctx.NodeFaults?.Heal(s);
                break;
        }
        s.Ended(Stopwatch.GetTimestamp());
    }

    /// <summary>The entities a kill-actor fault stops: the one named, or <c>random</c> of a kind picked with the seed.</summary>
    private IEnumerable<EntityAddress> Targets(ScheduledFault f)
    {
        var t = f.Target!;
        if (!t.IsWholeKind) return [Address(t.Kind, t.Index)];
        var all = All(t.Kind).ToList();
        var rng = new Random(_ctx.Scenario.Seed * 7919 + f.Index);
        return all.OrderBy(_ => rng.Next()).Take(f.Random).ToList();
    }

    private IEnumerable<EntityAddress> All(TargetKind kind)
    {
        var topology = _ctx.Scenario.Topology;
        for (var h = 0; h < topology.Hosts; h++)
        {
            if (kind is TargetKind.InterruptUnit or TargetKind.DmaUnit or TargetKind.Vdcm)
            {
                yield return Address(kind, [h]);
                continue;
            }
            for (var d = 0; d < topology.DevicesPerHost; d++)
            {
                if (kind == TargetKind.Device) yield return Address(kind, [h, d]);
                else for (var a = 0; a < topology.AisPerDevice; a++) yield return Address(kind, [h, d, a]);
            }
        }
    }

    private static EntityAddress Address(TargetKind kind, int[] i) => kind switch
    {
        TargetKind.Ai => EntityAddress.Of(new AiId(new DeviceId(new HostId(i[0]), i[1]), i[2])),
        TargetKind.Device => EntityAddress.Of(new DeviceId(new HostId(i[0]), i[1])),
        TargetKind.InterruptUnit => EntityAddress.InterruptUnit(new HostId(i[0])),
        TargetKind.DmaUnit => EntityAddress.DmaRemapping(new HostId(i[0])),
        TargetKind.Vdcm => EntityAddress.Vdcm(new HostId(i[0])),
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "kill-actor cannot target it"),
    };

    private double Seconds(long ticks) => (ticks - _windowStart) / (double)Stopwatch.Frequency;

    private static TimeSpan Delay(double seconds) => TimeSpan.FromSeconds(Math.Max(0, seconds));

    private sealed record Fire(int Fault) : INoSerializationVerificationNeeded;

    private sealed record End(int Fault) : INoSerializationVerificationNeeded;

    public static Props Props(EmulatorContext ctx, long windowStartTicks) => Akka.Actor.Props.Create(() => new FaultInjectorActor(ctx, windowStartTicks));
}
