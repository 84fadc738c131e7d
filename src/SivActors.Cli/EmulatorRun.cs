using System.Diagnostics;
using Akka.Actor;
using Akka.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using SivActors.Actors.Hosting;
using SivActors.Actors.Persistence;
using SivActors.Actors.Run;
using SivActors.Model.Faults;
using SivActors.Model.Reporting;
using SivActors.Model.Scenarios;
using SivActors.Model.Tables;
using SivActors.Model;

namespace SivActors.Cli;

public sealed record RunOutcome(RunReport? Report, string? Failure)
{
    /// <summary>The user interrupted the run: <see cref="Report"/> is partial, or null if the window never opened.</summary>
    public bool Interrupted { get; init; }
}

/// <summary>
/// Starts a single-node emulator with Akka.Hosting, runs one scenario with the scenario runner and builds the report.
/// The same code serves `siv run`, the end-to-end tests and the benchmark.
/// </summary>
public static class EmulatorRun
{
    public const string AkkaConfig = StandardErrorLogger.Hocon + "\n" + ControlDispatcher.Hocon + "\n" + """
        akka.loglevel = WARNING
        akka.log-dead-letters = off
        akka.log-dead-letters-during-shutdown = off
        akka.actor.default-dispatcher.throughput = 64
        # Signals belong to the commands: `siv run` ends its window early and reports on the first one. Akka's own hook
        # would shut the system down under the run; the host stops it when the command is done.
        akka.coordinated-shutdown.run-by-clr-shutdown-hook = off
        """;

    /// <summary>
    /// Runs <paramref name="scenario"/> with its tables in <paramref name="store"/> (in memory when null). A store
    /// that already holds the same topology's tables resumes them; a different topology is refused with a
    /// <see cref="SivInputException"/> unless <paramref name="fresh"/> discards the stored tables first.
    /// <paramref name="interrupt"/> (a signal) ends the measured window early: the run drains and reports what ran.
    /// Before the window opens it gives up, with no report. <paramref name="onRunner"/> gets the runner and the run's
    /// metrics as soon as the runner exists (the fast-path benchmark pauses and resumes the load through it).
    /// </summary>
    public static async Task<RunOutcome> RunAsync(ResolvedScenario scenario, RunProgress progress, CancellationToken ct = default,
        TableStore? store = null, bool fresh = false, ITableAudit? audit = null, string? extraHocon = null, ShardingSettings? sharding = null,
        CancellationToken interrupt = default, Action<IActorRef, RunMetrics>? onRunner = null)
    {
        try
        {
            return await RunUnlessInterruptedAsync(scenario, progress, ct, store, fresh, audit, extraHocon, sharding, interrupt, onRunner);
        }
        catch (OperationCanceledException) when (interrupt.IsCancellationRequested && !ct.IsCancellationRequested)
        {
            return new RunOutcome(null, "interrupted during start-up, before the measured window opened; nothing was measured") { Interrupted = true };
        }
    }

    private static async Task<RunOutcome> RunUnlessInterruptedAsync(ResolvedScenario scenario, RunProgress progress, CancellationToken ct,
        TableStore? store, bool fresh, ITableAudit? audit, string? extraHocon, ShardingSettings? sharding, CancellationToken interrupt,
        Action<IActorRef, RunMetrics>? onRunner)
    {
        // Start-up stops at the first await after an interruption; the run itself ends through its runner.
        using var startup = CancellationTokenSource.CreateLinkedTokenSource(ct, interrupt);
        if (FaultTimeline.NeedsCluster(FaultTimeline.Validate(scenario.Scenario)) is { } clusterOnly) throw new SivInputException(clusterOnly);
        store ??= TableStore.InMemory;
        if (fresh)
        {
            await store.WipeAsync(startup.Token);
            store = store with { Checked = false };
        }
        store = await store.CheckAsync(startup.Token);
        var ctx = new EmulatorContext(scenario, store: store) { Audit = audit, Sharded = sharding is not null };
        using var host = BuildHost(store, b => b.WithEntities(ctx, sharding), extraHocon);
        // The host is given the caller's token only; an interruption during its start is checked right after.
        await host.StartAsync(ct);
        startup.Token.ThrowIfCancellationRequested();
        try
        {
            var system = host.Services.GetRequiredService<ActorSystem>();
            system.ActorOf(LostMessageListener.Props(ctx.Metrics), "lost-messages");
            var topology = await CheckTopologyAsync(system, scenario, store, startup.Token);
            startup.Token.ThrowIfCancellationRequested();
            var managedBefore = GC.GetTotalMemory(forceFullCollection: true);
            var runner = system.ActorOf(ScenarioRunnerActor.Props(ctx, progress).OnControlThread(system), "runner");
            onRunner?.Invoke(runner, ctx.Metrics);
            var timeout = TimeSpan.FromSeconds(scenario.Scenario.DurationSeconds + 600);
            var unrecoverable = new TaskCompletionSource<TableUnrecoverable>(TaskCreationOptions.RunContinuationsAsynchronously);
            system.ActorOf(Props.Create(() => new UnrecoverableListener<TableUnrecoverable>(unrecoverable)), "unrecoverable-tables");
            var asked = runner.Ask<object>(replyTo => new RunProtocol.RunScenario(replyTo), timeout, ct);
            using var ending = interrupt.Register(() => runner.Tell(RunProtocol.EndEarly.Instance));
            if (await Task.WhenAny(asked, unrecoverable.Task) == unrecoverable.Task)
            {
                var u = unrecoverable.Task.Result;
                throw new SivInputException($"{store.Display}: table {u.PersistenceId} cannot be recovered after sequence number {u.LastGoodSequenceNr}: " +
                    $"{u.Reason}. Nothing was run or written; inspect it with `siv tables dump`, restore the database from a copy, or start over with --fresh");
            }
            var answer = await asked;
            if (answer is RunProtocol.RunFailed failed) return new RunOutcome(null, failed.Reason) { Interrupted = interrupt.IsCancellationRequested };
            var finished = (RunProtocol.RunFinished)answer;
            var managedAfter = GC.GetTotalMemory(forceFullCollection: true);
            var peak = Process.GetCurrentProcess().PeakWorkingSet64;
            var wall = (finished.StopTicks - finished.StartTicks) / (double)Stopwatch.Frequency;
            // Work done between start and stop; what drains afterwards is in the ledger but not in the rate.
            var timings = new RunTimings(wall, finished.OperationsAtStop - finished.OperationsAtStart, finished.InterruptsAtStop - finished.InterruptsAtStart);
            var memory = new MemorySection(peak, Math.Max(0, managedAfter - managedBefore) / Math.Max(1, finished.Containers), managedAfter - managedBefore);
            var report = BuildReport(scenario, ctx.Metrics, finished, timings, memory, store, topology, ctx.Faults, ctx.FaultSamples.Snapshot());
            return new RunOutcome(report, null) { Interrupted = finished.Interrupted };
        }
        finally
        {
            await host.StopAsync(CancellationToken.None);
        }
    }

    /// <summary>A host lifetime that leaves signals to the command: start and stop only when told.</summary>
    internal sealed class CommandLifetime : IHostLifetime
    {
        public Task WaitForStartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }

    /// <summary>Completes the run's wait as soon as any table owner finds its stored tables undecodable.</summary>
    internal sealed class UnrecoverableListener<T> : ReceiveActor
    {
        public UnrecoverableListener(TaskCompletionSource<T> found) => Receive<T>(u => found.TrySetResult(u));

        protected override void PreStart() => Context.System.EventStream.Subscribe(Self, typeof(T));
    }

    /// <summary>
    /// A single-node actor system on <paramref name="store"/> (journal, snapshots, table serializer), with whatever
    /// <paramref name="more"/> adds. A bare HostBuilder: no appsettings files and so no file watchers polling
    /// beside the emulator. Runs, `siv tables`, the benchmarks and the tests all start their systems here.
    /// </summary>
    public static IHost BuildHost(TableStore store, Action<AkkaConfigurationBuilder>? more = null, string? extraHocon = null, bool quiet = false) =>
        new HostBuilder()
            .ConfigureLogging(l => l.ClearProviders())
            // The commands handle Ctrl-C and SIGTERM themselves (a run drains and reports); the default console
            // lifetime would stop the actor system under a run at the first signal.
            .ConfigureServices(services => services.AddSingleton<IHostLifetime, CommandLifetime>())
            .ConfigureServices(services => services.AddAkka("siv", (b, _) =>
            {
                // Later keys win: a quiet system (`siv tables`, whose only output is its result or one error line) logs nothing.
                var hocon = (extraHocon is null ? AkkaConfig : extraHocon + "\n" + AkkaConfig) + (quiet ? "\nakka.loglevel = OFF" : "");
                b.AddHocon(hocon, HoconAddMode.Prepend).WithSivPersistence(store);
                more?.Invoke(b);
            }))
            .Build();

    /// <summary>The report from (possibly merged) metrics: the same for one node and for a cluster.</summary>
    internal static RunReport BuildReport(ResolvedScenario scenario, RunMetrics metrics, RunProtocol.RunFinished finished, RunTimings timings,
        MemorySection memory, TableStore store, TopologyVerdict topology, FaultPlane? faults = null,
        IReadOnlyList<SivActors.Model.Interrupts.IFaultReplay>? samples = null, ThroughputTrace? trace = null)
    {
        var t = scenario.Scenario.Topology;
        var summary = new ScenarioSummary(scenario.Scenario.Name, scenario.Source, scenario.Scenario.Seed, scenario.Scenario.DurationSeconds,
            t.Hosts, t.Hosts * t.DevicesPerHost, finished.Ais, finished.Containers, scenario.Scenario.Composition.Policy)
        { Delivery = scenario.Scenario.Delivery, Mode = scenario.Scenario.Mode, Unserved = t.Containers - scenario.Scenario.ServedContainers };
        var report = RunReportBuilder.Build(summary, metrics.Snapshot(), metrics, timings, memory, metrics.Outstanding,
            SivActors.Model.Device.RejectCodes.Name);
        if (finished.PausedTicks > 0)
            report = report with { Throughput = report.Throughput with { PausedSeconds = finished.PausedTicks / (double)System.Diagnostics.Stopwatch.Frequency } };
        var tables = metrics.Tables;
        var unexpectedRefusals = tables.WriteFailures - tables.InjectedWriteFailures;
        if (unexpectedRefusals > 0)
        {
            // Guests were answered correctly, but the run did not persist what it changed: not a passing run.
            // Refusals a scheduled journal-fail caused are what the scenario asked for, and are reported with it.
            report.Invariants.Violations.Add($"{unexpectedRefusals} table change(s) refused because the journal failed ({store.Display})");
            report = report with { Invariants = report.Invariants with { Passed = false } };
        }
        trace ??= faults?.Trace;
        return report with
        {
            Interrupted = finished.Interrupted,
            Timeline = trace?.PerSecond(timings.WallSeconds),
            Fairness = FairnessSection.Of(finished.TenantOperations, timings.WallSeconds),
            NoisyNeighbour = finished.Noise is { } noise && scenario.Scenario.Workload.NoisyNeighbour is { } noisy
                ? NoisyNeighbourReport.Of(noisy.Container, noisy.Factor, noise, metrics.Histogram(RunMetrics.OthersWallFastBeforeNoiseUs),
                    metrics.Histogram(RunMetrics.OthersWallFastDuringNoiseUs))
                : null,
            Tables = new TablesSection(store.Display, topology == TopologyVerdict.Resumed, tables.DurableChanges, tables.Batches,
                tables.WriteFailures, tables.OwnerRestarts) { InjectedWriteFailures = tables.InjectedWriteFailures },
            Faults = faults is { Stats.Count: > 0 } ? FaultOutcomes.Of(faults, trace ?? faults.Trace, finished.StartTicks) : null,
            FaultLog = samples is { Count: > 0 } && scenario.Scenario.RemappingSettings() is var settings
                ? report.FaultLog with { Samples = samples.Select(s => IrqExplain.Sample(s, settings)).ToList() }
                : report.FaultLog,
        };
    }

    /// <summary>Local entity parents, or (with <paramref name="sharding"/>) shard regions in a one-node cluster.</summary>
    private static AkkaConfigurationBuilder WithEntities(this AkkaConfigurationBuilder b, EmulatorContext ctx, ShardingSettings? sharding) =>
        sharding is null
            ? b.WithSivEmulator(ctx)
            : b.WithSivWireFormat().WithSingleNodeCluster().WithSivShardRegions(ctx, sharding);

    internal static async Task<TopologyVerdict> CheckTopologyAsync(ActorSystem system, ResolvedScenario scenario, TableStore store, CancellationToken ct)
    {
        var mine = TopologyRecorded.Of(scenario.Scenario);
        var keeper = system.ActorOf(Akka.Actor.Props.Create(() => new TopologyActor()), "topology");
        TopologyChecked answer;
        try
        {
            answer = await keeper.Ask<TopologyChecked>(new CheckTopology(mine), TimeSpan.FromSeconds(60), ct);
        }
        catch (Exception e) when (e is AskTimeoutException or TaskCanceledException && !ct.IsCancellationRequested)
        {
            throw new SivInputException($"{store.Display} did not answer within 60 s; is the database reachable and writable?");
        }
        finally
        {
            system.Stop(keeper);
        }
        if (answer.Verdict == TopologyVerdict.Mismatch)
            throw new SivInputException($"{store.Display} holds the tables of {answer.Stored.Describe()}, not of {mine.Describe()}; " +
                                        "run with --fresh to discard them, or choose another --db");
        return answer.Verdict;
    }
}
