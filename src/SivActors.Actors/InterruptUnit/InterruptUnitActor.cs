using Akka.Actor;
using SivActors.Actors.Container;
using SivActors.Actors.Infrastructure;
using SivActors.Model.Identity;
using SivActors.Model.Interrupts;
using SivActors.Model.Tables;
using static SivActors.Actors.InterruptUnit.InterruptUnitProtocol;

namespace SivActors.Actors.InterruptUnit;

/// <summary>
/// The interrupt managing unit of one host: owns the ASID table, the interrupt tables, the interrupt entry cache and
/// the fault log. Decisions come from <see cref="InterruptRemapper"/>; this actor only routes and records.
/// </summary>
public sealed class InterruptUnitActor : ReceiveActor
{
    private readonly EmulatorContext _ctx;
    private readonly HostId _host;
    private readonly RemappingSettings _settings;
    // Every table change goes through Decide -> event -> Apply, the shape persistence needs.
    private readonly InterruptUnitTables _tables = new();
    private readonly InterruptEntryCache _cache;
    private readonly FaultRecorder _faults;
    private bool _serviceScheduled;

    public InterruptUnitActor(EmulatorContext ctx, HostId host)
    {
        _ctx = ctx;
        _host = host;
        _settings = ctx.Scenario.Remapping.ToSettings();
        _cache = new InterruptEntryCache(ctx.Scenario.Remapping.InterruptEntryCacheEntries);
        _faults = new FaultRecorder(ctx.Scenario.Remapping.FaultRecords);

        Receive<RaiseInterrupt>(Raise);
        Receive<BindAsid>(m =>
        {
            if (_tables.DecideBind(m.Asid, m.TableId, m.SizeExponent).Event is { } e) _tables.Apply(e);
        });
        Receive<ProgramEntry>(Program);
        Receive<FreeEntry>(m =>
        {
            if (_tables.DecideFree(m.Asid, m.Handle) is { } freed)
            {
                _tables.Apply(freed);
                _cache.Invalidate(freed.TableId, freed.Handle);
            }
            Sender.Tell(new InterruptUnitProtocol.EntryFreed(m.RequestId));
        });
        Receive<FlushFrom>(m => m.ReplyTo.Tell(new UpstreamFlushed(m.Ai, EntityKind.InterruptUnit)));
        Receive<ServiceFaultLog>(_ =>
        {
            // The host's fault handler: read and clear every record, clear PFO.
            _serviceScheduled = false;
            _faults.Drain();
        });
        Receive<GetState>(_ =>
        {
            var pending = Enumerable.Range(0, _faults.Capacity).Select(i => _faults[i]).OfType<FaultRecord>().ToList();
            Sender.Tell(new State(_tables.Asids.BoundAsids, _tables.Asids.Tables.Count, _tables.Asids.Tables.Values.Sum(t => t.Count), pending,
                _faults.FaultEvents, _faults.PrimaryFaultOverflow));
        });
    }

    private void Program(ProgramEntry m)
    {
        var decision = _tables.DecideProgram(m.Asid, m.Handle, m.Entry);
        if (decision.Event is not EntryWritten written)
        {
            Sender.Tell(new ProgramFailed(m.RequestId, decision.Error ?? "no change"));
            return;
        }
        _tables.Apply(written);
        _cache.Invalidate(written.TableId, written.Handle);
        Sender.Tell(new EntryProgrammed(m.RequestId, written.Handle, written.TableId, _tables.Asids.Tables[written.TableId].Size));
    }

    private void Raise(RaiseInterrupt m)
    {
        var metrics = _ctx.Metrics;
        var decision = InterruptRemapper.Process(_settings, _tables.Asids, m.Write);
        var modeled = m.ModeledNs;
        if (decision.Table is { } t && decision.Index >= 0 && decision.Index < t.Size)
        {
            var hit = _cache.Access(t.Id, decision.Index);
            metrics.InterruptEntryCache(hit);
            modeled += _ctx.Cost.InterruptLookup(hit);
        }
        switch (decision.Outcome)
        {
            case InterruptOutcome.Delivered:
            case InterruptOutcome.Posted:
            {
                var entry = decision.Entry!;
                var posted = decision.Outcome == InterruptOutcome.Posted;
                modeled += (long)(posted ? _ctx.Cost.PostedDeliveryNs : _ctx.Cost.RemappedDeliveryNs + _ctx.Cost.VmExitDeliveryNs);
                if (m.Forgery is { } forged) metrics.RogueOutcome(forged.Kind, asExpected: false, $"a delivery to {entry.Target} (handle {decision.Index})");
                _ctx.Directory.Tell(new ContainerProtocol.InterruptDelivered(
                    entry.Target, _ctx.HostOf(entry.Target), entry.Vector, m.Origin, m.Write.Asid, decision.Index, posted, entry.Urgent, modeled, m.WallStartTicks));
                break;
            }
            case InterruptOutcome.Blocked:
                metrics.InterruptFaulted(decision.Fault);
                if (m.Forgery is { } f) metrics.RogueOutcome(f.Kind, f.Accepts(decision.Fault), $"fault {FaultReasons.Hex(decision.Fault)} (handle {decision.Index})");
                Record(m.Write, decision);
                break;
            default:
                // Remapping is always on in scenarios; a pass-through is not for any container.
                metrics.InterruptPassedThrough();
                if (m.Forgery is { } p) metrics.RogueOutcome(p.Kind, asExpected: false, "a pass-through");
                break;
        }
    }

    private void Record(in UpstreamWrite write, in InterruptDecision decision)
    {
        if (!decision.Recordable)
        {
            _ctx.Metrics.FaultRecording(null, suppressedByFpd: true);
            return;
        }
        var record = new FaultRecord(decision.Fault, write.Source.RequesterId, decision.Index < 0 ? 0 : (ulong)decision.Index << 48,
            PasidPresent: true, write.Asid.Value, IsRead: false);
        var result = _faults.Record(record);
        _ctx.Metrics.FaultRecording(result, suppressedByFpd: false);
        if (result == RecordResult.RecordedWithEvent && !_serviceScheduled)
        {
            // The fault event interrupts the host; its handler runs after what is already queued.
            _serviceScheduled = true;
            Self.Tell(ServiceFaultLog.Instance);
        }
    }

    private sealed class ServiceFaultLog
    {
        public static readonly ServiceFaultLog Instance = new();
    }

    public static Props Props(EmulatorContext ctx, HostId host) => Akka.Actor.Props.Create(() => new InterruptUnitActor(ctx, host));
}
