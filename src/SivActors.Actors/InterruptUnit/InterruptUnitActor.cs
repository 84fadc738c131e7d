using Akka.Actor;
using Akka.Persistence;
using SivActors.Actors.Container;
using SivActors.Actors.Entities;
using SivActors.Actors.Hosting;
using SivActors.Actors.Persistence;
using SivActors.Model.Delivery;
using SivActors.Model.Faults;
using SivActors.Model.Identity;
using SivActors.Model.Interrupts;
using SivActors.Model.Tables;
using static SivActors.Actors.InterruptUnit.InterruptUnitProtocol;

namespace SivActors.Actors.InterruptUnit;

/// <summary>
/// The interrupt managing unit of one host: owns the ASID table, the interrupt tables, the interrupt entry cache and
/// the fault log. Decisions come from <see cref="InterruptRemapper"/>; table changes are decided by
/// <see cref="InterruptUnitTables"/>, applied, and answered once their event is in the journal. Interrupts never
/// wait for the journal.
/// </summary>
public sealed class InterruptUnitActor : TableOwner<InterruptUnitEvent>
{
    private readonly HostId _host;
    private readonly RemappingSettings _settings;
    private InterruptUnitTables _tables = new();
    private readonly InterruptEntryCache _cache;
    private readonly FaultRecorder _faults;
    private bool _serviceScheduled;
    private readonly CacheFetch _fetch;
    // Reliable delivery: per AI, what was decided for interrupts still unacknowledged (null: faulted). Held in memory
    // only, as the unit's entry cache is: a killed unit judges a retransmitted copy afresh.
    private Dictionary<AiId, JudgmentMemory<ContainerProtocol.InterruptDelivered?>>? _judgments;

    public InterruptUnitActor(EmulatorContext ctx, HostId host) : base(ctx, EntityAddress.InterruptUnit(host))
    {
        _host = host;
        _settings = ctx.Scenario.RemappingSettings();
        _cache = new InterruptEntryCache(ctx.Scenario.Remapping.InterruptEntryCacheEntries);
        _faults = new FaultRecorder(ctx.Scenario.Remapping.FaultRecords);
        _fetch = new CacheFetch(this);

        Recover<SnapshotOffer>(o => _tables = ((InterruptUnitSnapshot)o.Snapshot).Decode());
        Recover<InterruptUnitEvent>(e => _tables.Apply(e));
        Recover<RecoveryCompleted>(_ => Recovered(LastSequenceNr));

        Command<RaiseInterrupt>(Raise);
        Command<BindAsid>(Bind);
        Command<ProgramEntry>(Program);
        Command<FreeEntry>(Free);
        Command<ReconcileAsid>(Reconcile);
        Command<FlushFrom>(m => m.ReplyTo.Tell(new UpstreamFlushed(m.Ai, EntityKind.InterruptUnit)));
        Command<ServiceFaultLog>(_ =>
        {
            // The host's fault handler: read and clear every record, clear PFO.
            _serviceScheduled = false;
            _faults.Drain();
        });
        Command<GetState>(_ =>
        {
            var pending = Enumerable.Range(0, _faults.Capacity).Select(i => _faults[i]).OfType<FaultRecord>().ToList();
            Sender.Tell(new State(_tables.Asids.BoundAsids, _tables.Asids.Tables.Count, _tables.EntriesInUse, pending,
                _faults.FaultEvents, _faults.PrimaryFaultOverflow));
        });
        Command<GetTables>(_ => Sender.Tell(new Tables(_host, TableCodec.EncodeSnapshot(_tables))));
    }

    protected override byte[] Encode(InterruptUnitEvent e) => TableCodec.Encode(e);

    protected override bool PersistsNothing(object message) => message is RaiseInterrupt;

    protected override object TakeSnapshot() => InterruptUnitSnapshot.Of(_tables);

    protected override long TableEntries => _tables.EntryCount;

    private void Bind(BindAsid m)
    {
        if (DeferWhileSnapshotDue()) return;
        var decision = _tables.DecideBind(m.Asid, m.TableId, m.SizeExponent);
        var sender = Sender;
        if (decision.Event is not { } e)
        {
            Answer(sender, decision.Error is null ? new AsidBindingDone(m.Asid, m.TableId, null) : new AsidBindingDone(m.Asid, m.TableId, decision.Error));
            return;
        }
        _tables.Apply(e);
        Commit(e, () => Answer(sender, new AsidBindingDone(m.Asid, m.TableId, null)), reason => Answer(sender, new AsidBindingDone(m.Asid, m.TableId, reason)));
    }

    private void Program(ProgramEntry m)
    {
        if (DeferWhileSnapshotDue()) return;
        var decision = _tables.DecideProgram(m.Asid, m.Handle, m.Entry);
        var sender = Sender;
        if (decision.Event is not EntryWritten written)
        {
            Answer(sender, new ProgramFailed(m.RequestId, decision.Error ?? "no change"));
            return;
        }
        _tables.Apply(written);
        InvalidateEntry(written.TableId, written.Handle);
        var size = _tables.Asids.Tables[written.TableId].Size;
        Commit(written, () => Answer(sender, new EntryProgrammed(m.RequestId, written.Handle, written.TableId, size)),
            reason => Answer(sender, new ProgramFailed(m.RequestId, reason)));
    }

    /// <summary>
    /// Answered once every change is durable, so the recovered VDCM serves its guests only after the tenant's entries
    /// are what it holds: a guest told that its FLR succeeded must find no entry of its ASID left behind.
    /// </summary>
    private void Reconcile(ReconcileAsid m)
    {
        if (DeferWhileSnapshotDue()) return;
        var sender = Sender;
        var changes = _tables.DecideReconcile(m.Asid, m.Keep.ToHashSet(), m.Entries);
        if (changes.Count == 0)
        {
            Answer(sender, new AsidReconciled(m.RequestId, null));
            return;
        }
        var waiting = changes.Count;
        string? error = null;
        void Settled(string? failure)
        {
            error ??= failure;
            if (--waiting == 0) Answer(sender, new AsidReconciled(m.RequestId, error));
        }
        foreach (var change in changes)
        {
            _tables.Apply(change);
            switch (change)
            {
                case SivActors.Model.Tables.EntryFreed orphan:
                    InvalidateEntry(orphan.TableId, orphan.Handle);
                    Ctx.Metrics.OrphanEntryFreed();
                    break;
                case EntryWritten written:
                    InvalidateEntry(written.TableId, written.Handle);
                    break;
            }
            Commit(change, () => Settled(null), Settled);
        }
    }

    private void Free(FreeEntry m)
    {
        if (DeferWhileSnapshotDue()) return;
        var sender = Sender;
        if (_tables.DecideFree(m.Asid, m.Handle) is not { } freed)
        {
            Answer(sender, new InterruptUnitProtocol.EntryFreed(m.RequestId, null));
            return;
        }
        // Applied at once: from here on the handle can only fault, even before the free is durable.
        _tables.Apply(freed);
        InvalidateEntry(freed.TableId, freed.Handle);
        Commit(freed, () => Answer(sender, new InterruptUnitProtocol.EntryFreed(m.RequestId, null)),
            reason => Answer(sender, new InterruptUnitProtocol.EntryFreed(m.RequestId, reason)));
    }

    /// <summary>
    /// Answers a table change. While the path to the containers is delayed, the answer queues behind the interrupts
    /// already on it, as VT-d's invalidation wait drains them: no interrupt decided with the old entry reaches a
    /// guest after the guest learns that the entry changed.
    /// </summary>
    private void Answer(IActorRef sender, object answer)
    {
        if (Ctx.Hops?.Behind(SivActors.Model.Faults.Hop.InterruptUnitToContainer, sender, answer, Self) == true) return;
        sender.Tell(answer);
    }

    private void Raise(RaiseInterrupt m)
    {
        var metrics = Ctx.Metrics;
        var memory = m.Seq != 0 ? Judgments(m.Origin) : null;
        if (memory is not null && memory.TryRecall(m.Seq, m.Watermark, out var earlier))
        {
            // A retransmitted copy: its first copy was judged. A delivery is forwarded again (the container keeps one
            // copy and acknowledges); a fault, or a number already acknowledged, ends here as a duplicate.
            if (earlier is not null) Ctx.Directory.Tell(earlier with { Raised = m });
            else
            {
                metrics.InterruptDuplicateSuppressed();
                Judged(m);
            }
            return;
        }
        var stale = SyncStaleIec();
        _fetch.Reset();
        var decision = InterruptRemapper.Process(_settings, _tables.Asids, m.Write, fetch: _fetch);
        var modeled = m.ModeledNs;
        if (_fetch.Fetched)
        {
            metrics.InterruptEntryCache(_fetch.Hit);
            modeled += Ctx.Cost.InterruptLookup(_fetch.Hit);
        }
        // Decided with cached contents that a late invalidation left behind: counted either way (docs/faults.md).
        var usedStale = _fetch.Stale;
        if (usedStale)
        {
            metrics.StaleEntryUsed(delivered: !decision.IsFault);
            stale?.Touched();
        }
        switch (decision.Outcome)
        {
            case InterruptOutcome.Delivered:
            case InterruptOutcome.Posted:
            {
                var entry = decision.Entry!;
                var posted = decision.Outcome == InterruptOutcome.Posted;
                modeled += (long)(posted ? Ctx.Cost.PostedDeliveryNs : Ctx.Cost.RemappedDeliveryNs + Ctx.Cost.VmExitDeliveryNs);
                // The interrupt's own latency, without the descriptor before it: what `siv calibrate` sets against DID.
                if (m.Forgery is null) metrics.Record(posted ? SivActors.Model.Reporting.RunMetrics.ModeledPostedInvocationNs : SivActors.Model.Reporting.RunMetrics.ModeledRemappedInvocationNs, modeled - m.ModeledNs);
                // A forgery on a revoked handle that a stale entry still carries reaches only the forger's own tenant
                // (the ASID check held; under SR-IOV, with no ASID, the source-id check held): use-after-revoke,
                // counted as a stale delivery, contained.
                if (m.Forgery is { } forged)
                    metrics.RogueOutcome(forged.Kind, asExpected: usedStale && (entry.Asid == m.Write.Asid || m.Write.Asid == Asid.WithoutPasid),
                        usedStale ? $"a delivery through a stale entry to {entry.Target} (handle {decision.Index})" : $"a delivery to {entry.Target} (handle {decision.Index})");
                var delivered = new ContainerProtocol.InterruptDelivered(
                    entry.Target, Ctx.HostOf(entry.Target), entry.Vector, m, decision.Index, posted, entry.Urgent, modeled) { Stale = usedStale };
                memory?.Remember(m.Seq, delivered);
                Ctx.Directory.Tell(delivered);
                break;
            }
            case InterruptOutcome.Blocked:
                metrics.InterruptFaulted(decision.Fault);
                if (m.Forgery is { } f) metrics.RogueOutcome(f.Kind, f.Accepts(decision.Fault), $"fault {FaultReasons.Hex(decision.Fault)} (handle {decision.Index})");
                Record(m.Write, decision);
                memory?.Remember(m.Seq, null);
                Judged(m);
                break;
            default:
                // Remapping is always on in scenarios; a pass-through is not for any container.
                metrics.InterruptPassedThrough();
                if (m.Forgery is { } p) metrics.RogueOutcome(p.Kind, asExpected: false, "a pass-through");
                memory?.Remember(m.Seq, null);
                Judged(m);
                break;
        }
    }

    /// <summary>
    /// Follows a stale-iec fault on this unit: while it is in force, entry-cache invalidations are held; when it ends
    /// they are applied (the late invalidation arrives). Returns the fault in force, or null.
    /// </summary>
    private FaultStats? SyncStaleIec()
    {
        var stale = Ctx.Faults.StaleIec(_host.Value);
        if (stale is not null) _cache.DeferInvalidations = true;
        else if (_cache.DeferInvalidations) _cache.ApplyDeferred();
        return stale;
    }

    private void InvalidateEntry(int tableId, int handle)
    {
        SyncStaleIec();
        _cache.Invalidate(tableId, handle);
    }

    /// <summary>Reads an entry through the entry cache and notes whether the cached contents were stale.</summary>
    private sealed class CacheFetch(InterruptUnitActor unit) : IEntryFetch
    {
        public bool Fetched, Hit, Stale;

        public void Reset() => Fetched = Hit = Stale = false;

        public InterruptEntry? Fetch(InterruptTable table, int index)
        {
            var current = table.Get(index);
            Fetched = true;
            Hit = unit._cache.Access(table.Id, index, current, out var used);
            Stale = !ReferenceEquals(used, current);
            return used;
        }
    }

    private JudgmentMemory<ContainerProtocol.InterruptDelivered?> Judgments(AiId ai)
    {
        _judgments ??= new Dictionary<AiId, JudgmentMemory<ContainerProtocol.InterruptDelivered?>>();
        if (!_judgments.TryGetValue(ai, out var memory)) _judgments[ai] = memory = new JudgmentMemory<ContainerProtocol.InterruptDelivered?>();
        return memory;
    }

    /// <summary>Reliable delivery: an interrupt that ends here (faulted) is judged, so its AI stops sending it.</summary>
    private void Judged(RaiseInterrupt m)
    {
        if (m.Seq != 0) Ctx.Directory.Tell(new AssignableInterface.AssignableInterfaceProtocol.InterruptAcked(m.Origin, m.Seq));
    }

    private void Record(in UpstreamWrite write, in InterruptDecision decision)
    {
        if (!decision.Recordable)
        {
            Ctx.Metrics.FaultRecording(null, suppressedByFpd: true);
            return;
        }
        var record = new FaultRecord(decision.Fault, write.Source.RequesterId, decision.Index < 0 ? 0 : (ulong)decision.Index << 48,
            PasidPresent: true, write.Asid.Value, IsRead: false);
        var result = _faults.Record(record);
        Ctx.Metrics.FaultRecording(result, suppressedByFpd: false);
        if (result is RecordResult.Recorded or RecordResult.RecordedWithEvent && Ctx.FaultSamples.Wants(decision.Fault))
        {
            var table = decision.Table ?? _tables.Asids.Lookup(write.Asid);
            Ctx.FaultSamples.Add(new FaultReplay(decision.Fault, write, table?.Id, table?.SizeExponent ?? 0, table?.Readable ?? true, decision.Index, decision.Entry));
        }
        if (result == RecordResult.RecordedWithEvent && !_serviceScheduled)
        {
            // The fault event interrupts the host; its handler runs after what is already queued.
            _serviceScheduled = true;
            Self.Tell(ServiceFaultLog.Instance);
        }
    }

    private sealed class ServiceFaultLog : INoSerializationVerificationNeeded
    {
        public static readonly ServiceFaultLog Instance = new();
    }

    public static Props Props(EmulatorContext ctx, HostId host) => Akka.Actor.Props.Create(() => new InterruptUnitActor(ctx, host));
}
