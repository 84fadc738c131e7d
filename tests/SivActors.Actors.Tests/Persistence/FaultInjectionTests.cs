using Akka.Actor;
using Akka.Persistence.TestKit;
using SivActors.Actors.Entities;
using SivActors.Actors.Hosting;
using SivActors.Actors.Persistence;
using SivActors.Model.Identity;
using SivActors.Model.Interrupts;
using SivActors.Model.Tables;
using Iu = SivActors.Actors.InterruptUnit.InterruptUnitProtocol;
using VdcmMsg = SivActors.Actors.Vdcm.VdcmProtocol;
using ContainerMsg = SivActors.Actors.Container.ContainerProtocol;

namespace SivActors.Actors.Tests.Persistence;

/// <summary>
/// Journal and snapshot-store faults injected with Akka.Persistence.TestKit: the owner answers the guest with an
/// error, restarts with back-off from the journal, and its tables are never half-applied.
/// </summary>
public sealed class FaultInjectionTests : Akka.TestKit.Xunit2.TestKit
{
    private const string Config = """
        akka.loglevel = ERROR
        akka.persistence.journal.plugin = "akka.persistence.journal.test"
        akka.persistence.journal.test.class = "Akka.Persistence.TestKit.TestJournal, Akka.Persistence.TestKit"
        akka.persistence.journal.test.plugin-dispatcher = "akka.actor.default-dispatcher"
        akka.persistence.snapshot-store.plugin = "akka.persistence.snapshot-store.test"
        akka.persistence.snapshot-store.test.class = "Akka.Persistence.TestKit.TestSnapshotStore, Akka.Persistence.TestKit"
        akka.persistence.snapshot-store.test.plugin-dispatcher = "akka.actor.default-dispatcher"
        # The plugins' circuit breakers open after 10 failures and fail fast for 30 s: an owner retrying every
        # 20-200 ms reaches that while the test thread waits, and then cannot recover within the test's patience.
        # What these tests check is the owner's answer and recovery, not the breaker's, so it never opens here.
        akka.persistence.journal.test.circuit-breaker.max-failures = 100000
        akka.persistence.snapshot-store.test.circuit-breaker.max-failures = 100000
        """;

    // How long an answer may take: generous, since the suite's classes run in parallel on two cores and recovery
    // under a debug build can be slow; these tests assert what the owner answers, never how fast.
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(20);
    // AwaitCondition otherwise polls at a tenth of its timeout, long enough for many restarts to pass unseen.
    private static readonly TimeSpan Poll = TimeSpan.FromMilliseconds(10);
    private static readonly HostId Host0 = new(0);
    private static readonly Asid Tenant = Asid.Create(1);
    private readonly EmulatorContext _ctx;
    private readonly ITestJournal _journal;
    private readonly ITestSnapshotStore _snapshots;
    private long _request;

    public FaultInjectionTests() : base(Config)
    {
        var store = Actors.Persistence.TableStore.InMemory with
        {
            SnapshotEvery = 25,
            // Enough consecutive restarts that a test thread starved for a while cannot see the owner given up
            // between injecting a recovery failure and lifting it.
            Restart = new EntityRestartPolicy(TimeSpan.FromMilliseconds(20), TimeSpan.FromMilliseconds(200), 200),
        };
        _ctx = new EmulatorContext(TestScenarios.Small(), store: store);
        SivEmulatorHosting.StartEntityParents(Sys, _ctx);
        var persistence = Akka.Persistence.Persistence.Instance.Apply(Sys);
        _journal = TestJournal.FromRef(persistence.JournalFor(null));
        _snapshots = TestSnapshotStore.FromRef(persistence.SnapshotStoreFor(null));
    }

    private void Send(IEntityMessage m) => _ctx.Directory.Parent(m.Target.Kind).Tell(m, TestActor);

    private static InterruptEntry Entry(int n) => new()
    {
        Present = true, Mode = InterruptMode.Remapped, Vector = (byte)(0x40 + n), Destination = 1, Sid = 0x6A00,
        Svt = SourceValidation.RequesterId, Asid = Tenant, Target = new ContainerId(0),
    };

    private Iu.EntryProgrammed ProgramOk(int n)
    {
        Send(new Iu.ProgramEntry(Host0, ++_request, Tenant, null, Entry(n)));
        return ExpectMsg<Iu.EntryProgrammed>(Patience);
    }

    private SortedDictionary<string, string> Digests()
    {
        Send(new Iu.GetTables(Host0));
        return TableCodec.Digests(TableCodec.DecodeSnapshot(ExpectMsg<Iu.Tables>(Patience).Snapshot));
    }

    private void BindAndProgram(int entries)
    {
        Send(new Iu.BindAsid(Host0, Tenant, 0, 10));
        Assert.Null(ExpectMsg<Iu.AsidBindingDone>(Patience).Error);
        for (var i = 0; i < entries; i++) ProgramOk(i);
    }

    [Fact]
    public async Task A_failed_journal_write_answers_the_guest_with_an_error_and_leaves_the_table_as_it_was()
    {
        BindAndProgram(10);
        var before = Digests();

        await _journal.OnWrite.Fail();
        Send(new Iu.ProgramEntry(Host0, ++_request, Tenant, null, Entry(99)));
        Assert.Contains("journal write failed", ExpectMsg<Iu.ProgramFailed>(Patience).Reason);
        await _journal.OnWrite.Pass();

        // The owner restarts with back-off and recovers from the journal: the refused entry is not there.
        Assert.Equal(before, Digests());
        Assert.Equal(1, _ctx.Metrics.Tables.WriteFailures);
        Assert.Equal(1, _ctx.Metrics.Tables.OwnerRestarts);
        Assert.Equal(0, _ctx.Metrics.EntityFailures);
        // And it takes changes again.
        ProgramOk(100);
        Assert.NotEqual(before, Digests());
    }

    [Fact]
    public async Task A_rejected_write_is_answered_and_dropped_and_the_owner_goes_on()
    {
        BindAndProgram(5);
        var handle = ProgramOk(5).Handle;
        var before = Digests();

        await _journal.OnWrite.Reject();
        Send(new Iu.FreeEntry(Host0, ++_request, Tenant, handle));
        Assert.Contains("rejected", ExpectMsg<Iu.EntryFreed>(Patience).Error);
        await _journal.OnWrite.Pass();

        Assert.Equal(before, Digests()); // the free was applied in memory, then dropped with the restart
        Assert.Equal(1, _ctx.Metrics.Tables.WriteFailures);
        Send(new Iu.FreeEntry(Host0, ++_request, Tenant, handle));
        Assert.Null(ExpectMsg<Iu.EntryFreed>(Patience).Error);
    }

    [Fact]
    public async Task A_reconciliation_is_answered_once_its_frees_are_durable_and_with_the_error_when_they_are_not()
    {
        BindAndProgram(3);
        var kept = ProgramOk(3).Handle;
        // Nothing to change: answered at once.
        Send(new Iu.ReconcileAsid(Host0, ++_request, Tenant, [0, 1, 2, kept]));
        Assert.Equal(new Iu.AsidReconciled(_request, null), ExpectMsg<Iu.AsidReconciled>(Patience));

        await _journal.OnWrite.Fail();
        Send(new Iu.ReconcileAsid(Host0, ++_request, Tenant, [kept]));
        var refused = ExpectMsg<Iu.AsidReconciled>(Patience);
        Assert.Equal(_request, refused.RequestId);
        Assert.Contains("journal write failed", refused.Error);
        await _journal.OnWrite.Pass();

        // Asked again after the unit restarted from its journal: the three orphans go, the kept entry stays.
        Send(new Iu.ReconcileAsid(Host0, ++_request, Tenant, [kept]));
        Assert.Equal(new Iu.AsidReconciled(_request, null), ExpectMsg<Iu.AsidReconciled>(Patience));
        Send(new Iu.GetState(Host0));
        Assert.Equal(1, ExpectMsg<Iu.State>(Patience).Entries);
    }

    [Fact]
    public async Task Messages_sent_while_the_owner_restarts_wait_for_it_and_are_all_answered()
    {
        BindAndProgram(3);
        await _journal.OnWrite.FailWithDelay(TimeSpan.FromMilliseconds(100));
        // A burst: the first batch fails; everything behind it is answered with an error or, once the
        // restarted owner serves it, with success. Nothing goes unanswered.
        for (var i = 0; i < 50; i++) Send(new Iu.ProgramEntry(Host0, ++_request, Tenant, null, Entry(i)));
        var failed = ExpectMsg<Iu.ProgramFailed>(Patience);
        Assert.Contains("journal write failed", failed.Reason);
        await _journal.OnWrite.Pass();
        var answers = ReceiveN(49, Patience);
        var ok = answers.OfType<Iu.EntryProgrammed>().Count();
        Assert.Equal(49, ok + answers.OfType<Iu.ProgramFailed>().Count());
        Send(new Iu.GetState(Host0));
        Assert.Equal(3 + ok, ExpectMsg<Iu.State>(Patience).Entries);
    }

    [Fact]
    public async Task A_recovery_failure_is_retried_with_back_off_until_the_journal_answers()
    {
        BindAndProgram(8);
        var before = Digests();
        await _journal.OnRecovery.Fail();
        // Stop the owner; every recovery attempt now fails and is retried.
        Sys.ActorSelection("/user/interrupt-units/*").Tell(PoisonPill.Instance);
        AwaitCondition(() => _ctx.Metrics.Tables.OwnerRestarts >= 3, Patience, Poll);
        await _journal.OnRecovery.Pass();
        Assert.Equal(before, Digests());
        Assert.Equal(0, _ctx.Metrics.EntityFailures);
    }

    [Fact]
    public async Task Snapshot_save_and_load_failures_cost_replay_time_never_table_content()
    {
        await _snapshots.OnSave.Fail();
        BindAndProgram(60); // > 2 snapshot intervals: every save fails, every guest is answered
        var before = Digests();
        await _snapshots.OnSave.Pass();
        ProgramOk(60); // this batch crosses the interval again and the save succeeds
        var withSnapshot = Digests();
        Assert.NotEqual(before, withSnapshot);

        await _snapshots.OnLoad.Fail();
        Sys.ActorSelection("/user/interrupt-units/*").Tell(PoisonPill.Instance);
        AwaitCondition(() => _ctx.Metrics.Tables.OwnerRestarts >= 2, Patience, Poll);
        await _snapshots.OnLoad.Pass();
        Assert.Equal(withSnapshot, Digests());
    }

    [Fact]
    public async Task A_vdcm_whose_journal_fails_answers_the_guest_with_an_error_and_keeps_its_composition()
    {
        var container = new ContainerId(0);
        Send(new VdcmMsg.ComposeVdev(Host0, container, 1, TestActor));
        // The container entity is created and told; it programs its vectors and reports ready to us.
        ExpectMsg<ContainerMsg.ContainerReady>(Patience);
        Send(new VdcmMsg.GetVdev(Host0, container));
        var vdev = ExpectMsg<VdcmMsg.VdevInfo>(Patience);

        await _journal.OnWrite.Fail();
        // An MSI-X data write on entry 1 (a live entry): trapped, persisted, refused.
        Send(new VdcmMsg.GuestAccessRequest(Host0, container, 999_999, new SivActors.Model.Vdcm.GuestAccess(
            SivActors.Model.Vdcm.AccessKind.Bar0Write, SivActors.Model.Vdcm.VirtualLayout.MsixTable + 16 + 8, Value: 0x77), 0, 0));
        // The guest's answer goes to the container; the count shows the write was refused.
        AwaitAssert(() => Assert.Equal(1, _ctx.Metrics.Tables.WriteFailures), Patience);
        await _journal.OnWrite.Pass();
        // ... and the guest was answered with an error (counted per operation).
        AwaitAssert(() => Assert.Equal(1, _ctx.Metrics.Snapshot().SlowPathErrors.GetValueOrDefault("msixTableWrite")), Patience);

        Send(new VdcmMsg.GetVdev(Host0, container));
        var after = ExpectMsg<VdcmMsg.VdevInfo>(Patience);
        Assert.Equal(vdev.Ais, after.Ais);
        Assert.Equal(vdev.Msix, after.Msix); // the refused vector change is not there
        Assert.Equal(0, _ctx.Metrics.EntityFailures);
    }
}
