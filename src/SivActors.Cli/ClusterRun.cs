using System.Diagnostics;
using System.Text.Json;
using Akka.Actor;
using Akka.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using SivActors.Actors.Cluster;
using SivActors.Actors.Entities;
using SivActors.Actors.Hosting;
using SivActors.Actors.Persistence;
using SivActors.Actors.Run;
using SivActors.Model.Faults;
using SivActors.Model.Reporting;
using SivActors.Model.Scenarios;
using SivActors.Model;
using static SivActors.Actors.Cluster.ClusterProtocol;

namespace SivActors.Cli;

/// <summary>How the driver of a cluster run joins, and how many workers it waits for.</summary>
public sealed record ClusterRunSettings(IReadOnlyList<string> Seeds, string PublicHost, int Port, string BindHost, int MinWorkers, TimeSpan JoinTimeout)
{
    /// <summary>Called once the run is reported, before the driver leaves (tests inspect the live cluster here).</summary>
    public Func<ActorSystem, EntityDirectory, Task>? BeforeLeave { get; init; }

    /// <summary>Called when the measured window starts (tests inject faults mid-load here).</summary>
    public Action? OnWindowStart { get; init; }

    /// <summary>Must equal the workers' --shards-per-host.</summary>
    public int ShardsPerHost { get; init; } = 1;

    /// <summary>Refuses nonsense with one line (a <see cref="SivInputException"/>) before anything starts or is written.</summary>
    public void Validate()
    {
        if (Seeds.Count == 0) throw new SivInputException("--cluster needs at least one seed, host:port");
        foreach (var seed in Seeds) NodeSettings.SeedAddress(seed);
        if (Port is < 0 or > 65535) throw new SivInputException($"--port {Port} is out of range (0..65535; 0 picks a free port)");
        if (Uri.CheckHostName(PublicHost) == UriHostNameType.Unknown) throw new SivInputException($"--host \"{PublicHost}\" is not a host name or address");
        if (MinWorkers < 1) throw new SivInputException("--workers must be at least 1");
        if (ShardsPerHost < 1) throw new SivInputException($"--shards-per-host {ShardsPerHost} must be at least 1");
    }
}

/// <summary>
/// `siv run --cluster SEEDS`: joins as a load-driving member (role "driver", hosting no entities), deploys the
/// scenario to every worker's agent, runs the same scenario runner through shard-region proxies, then collects and
/// merges every node's counters and histograms into the same report as a single-node run, plus per-node figures.
/// </summary>
public static class ClusterRun
{
    public const string DriverRole = "driver";

    /// <param name="interrupt">A signal: before the window it stops start-up (the outcome says which phase it reached);
    /// during the window it ends the window early, and the run drains and reports what ran, as a single node does.</param>
    public static async Task<RunOutcome> RunAsync(ResolvedScenario scenario, RunProgress progress, ClusterRunSettings s, TableStore store, CancellationToken ct,
        CancellationToken interrupt = default)
    {
        var phase = "checking the store";
        try
        {
            return await RunUnlessInterruptedAsync(scenario, progress, s, store, ct, interrupt, p => phase = p);
        }
        catch (OperationCanceledException) when (interrupt.IsCancellationRequested && !ct.IsCancellationRequested)
        {
            // The workers keep their tables: nothing was deployed to them, or they hold what they had.
            return new RunOutcome(null, $"interrupted while {phase}, before the measured window opened; nothing was measured") { Interrupted = true };
        }
    }

    private static async Task<RunOutcome> RunUnlessInterruptedAsync(ResolvedScenario scenario, RunProgress progress, ClusterRunSettings s, TableStore store,
        CancellationToken callerCt, CancellationToken interrupt, Action<string> reached)
    {
        using var startup = CancellationTokenSource.CreateLinkedTokenSource(callerCt, interrupt);
        var ct = startup.Token;
        s.Validate();
        // A scenario that cuts links needs the throttler on every member, this driver included (decision 47).
        var partitionable = FaultTimeline.Validate(scenario.Scenario).Any(f => f.Kind == FaultKind.Partition);
        var seeds = s.Seeds.Select(seed => NodeSettings.SeedAddress(seed, partitionable)).ToList();
        store = await store.CheckAsync(ct);
        var ctx = new EmulatorContext(scenario, store: store, directory: new EntityDirectory(countHops: true))
            { Sharded = true, InjectorRole = SivActors.Actors.Faults.InjectorRole.Driver };
        var up = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var host = new HostBuilder()
            .ConfigureLogging(l => l.ClearProviders())
            // Signals are the command's (see EmulatorRun): neither the console lifetime nor Akka's hook takes them.
            .ConfigureServices(services => services.AddSingleton<IHostLifetime, EmulatorRun.CommandLifetime>())
            .ConfigureServices(services => services.AddAkka(NodeSettings.SystemName, (b, _) => b
                .AddHocon("akka.coordinated-shutdown.run-by-clr-shutdown-hook = off", Akka.Hosting.HoconAddMode.Prepend)
                .WithClusterMember(s.BindHost, s.PublicHost, s.Port, seeds, [DriverRole], partitionable)
                .WithSivPersistence(store)
                .WithSivWireFormat()
                .WithSivShardProxies(ctx.Directory, new ShardingSettings(s.ShardsPerHost))
                .WithActors((system, _) => Akka.Cluster.Cluster.Get(system).RegisterOnMemberUp(() => up.TrySetResult()))))
            .Build();
        reached("joining the cluster");
        await host.StartAsync(callerCt);
        try
        {
            ct.ThrowIfCancellationRequested();
            var system = host.Services.GetRequiredService<ActorSystem>();
            var cluster = Akka.Cluster.Cluster.Get(system);
            if (await Task.WhenAny(up.Task, Task.Delay(s.JoinTimeout, ct)) != up.Task)
                throw new SivInputException($"could not join the cluster through {string.Join(", ", seeds)} within {s.JoinTimeout.TotalSeconds:0} s; check --cluster" +
                    (partitionable ? " (this scenario cuts links: every `siv node` must run with --partitionable)" : ""));
            reached("waiting for workers");
            var workers = await WaitForWorkers(cluster, s.MinWorkers, s.JoinTimeout, ct);
            DriverNodeFaults.Check(ctx.Faults.Stats.Select(f => f.Fault).ToList(), workers.Count);
            reached("deploying the scenario");
            system.ActorOf(LostMessageListener.Props(ctx.Metrics), "lost-messages");
            var topology = await EmulatorRun.CheckTopologyAsync(system, scenario, store, ct);

            var runId = Guid.NewGuid().ToString("N");
            var unrecoverable = new TaskCompletionSource<TableUnrecoverableOnNode>(TaskCreationOptions.RunContinuationsAsynchronously);
            system.ActorOf(Props.Create(() => new EmulatorRun.UnrecoverableListener<TableUnrecoverableOnNode>(unrecoverable)), "unrecoverable-tables");
            ActorSelection AgentOf(Address w) => system.ActorSelection(AgentPath(w));
            var agents = workers.Select(AgentOf).ToList();
            var latest = new System.Collections.Concurrent.ConcurrentDictionary<string, NodeMetrics>();
            var departed = new System.Collections.Concurrent.ConcurrentDictionary<string, NodeMetrics>();
            var joined = new System.Collections.Concurrent.ConcurrentDictionary<string, Address>();
            var moves = new System.Collections.Concurrent.ConcurrentQueue<string>();
            var timeline = new NodeTimeline();
            var collector = system.ActorOf(RunCoordinatorActor.Props(runId, latest, departed, ctx.Directory, joined, s.ShardsPerHost, moves, timeline), "coordinator");
            // The fault injector runs here; what the faults do is counted on the workers and added up at the end.
            var nodeFaults = new DriverNodeFaults(system, runId, workers, ctx.Faults.Stats);
            ctx.NodeFaults = nodeFaults;
            ctx.CompletedOperations = () => latest.Values.Sum(n => n.WindowOperations);
            var deploy = new DeployScenario(runId, JsonSerializer.Serialize(scenario.Scenario, ScenarioLoader.StrictJson),
                JsonSerializer.Serialize(scenario.Cost, ScenarioLoader.StrictJson), scenario.Source, collector);
            foreach (var answer in await Task.WhenAll(agents.Select(a => a.Ask<ScenarioDeployed>(deploy, TimeSpan.FromSeconds(30), ct))))
                if (answer.Error is { } error) throw new SivInputException($"{answer.Node} refused the scenario: {error}");

            await WaitForRegions(system, ctx.Directory, workers.Count, s.JoinTimeout, ct);

            var managedBefore = GC.GetTotalMemory(forceFullCollection: true);
            long windowOpened = 0;
            var runner = system.ActorOf(ScenarioRunnerActor.Props(ctx, progress, onWindow: start =>
            {
                Interlocked.Exchange(ref windowOpened, start ? Stopwatch.GetTimestamp() : 0);
                foreach (var a in agents.Concat(joined.Values.Select(AgentOf))) a.Tell(new MarkWindow(runId, start));
                if (start) s.OnWindowStart?.Invoke();
            }).OnControlThread(system), "runner");
            collector.Tell(new RunCoordinatorActor.AttachRunner(runner, deploy, workers) { WindowOpenedTicks = () => Interlocked.Read(ref windowOpened) });
            // From here the runner owns the interruption: it fails start-up or ends the window early.
            using var ending = interrupt.Register(() => runner.Tell(RunProtocol.EndEarly.Instance));
            var asked = runner.Ask<object>(replyTo => new RunProtocol.RunScenario(replyTo), TimeSpan.FromSeconds(scenario.Scenario.DurationSeconds + 600), callerCt);
            // A driver the split brain resolver downed (it was on the side it did not keep) has no cluster to run in.
            var removed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            cluster.RegisterOnMemberRemoved(() => removed.TrySetResult());
            var first = await Task.WhenAny(asked, unrecoverable.Task, removed.Task);
            if (first == removed.Task)
                return new RunOutcome(null, $"this driver ({cluster.SelfAddress}) was removed from the cluster mid-run: the split brain resolver kept " +
                    "the other side (two node faults at once can leave half the members unreachable; see docs/faults.md). No report: the workers' figures are on the side it lost");
            if (first == unrecoverable.Task)
            {
                var u = unrecoverable.Task.Result;
                throw new SivInputException($"{u.Node}: table {u.PersistenceId} cannot be recovered after sequence number {u.LastGoodSequenceNr}: {u.Reason}. " +
                    "The run stopped before its window; inspect that worker's store with `siv tables dump`, restore it from a copy, or start the worker over with a fresh store");
            }
            var answerRun = await asked;
            if (answerRun is RunProtocol.RunFailed failed) return new RunOutcome(null, failed.Reason) { Interrupted = interrupt.IsCancellationRequested };
            var finished = (RunProtocol.RunFinished)answerRun;

            // The workers the run started with, and any that joined mid-run (their hosts moved to them).
            var everyWorker = workers.Concat(joined.Values).Distinct().ToList();
            var finals = await Task.WhenAll(everyWorker.Select(w => Final(cluster, w, AgentOf(w), runId, latest, departed, callerCt)));
            // A worker that crashed and came back (restart-node): the crashed incarnation's last report is a lost node
            // of its own, beside the figures of the one that answered (decision 55).
            var crashedIncarnations = latest.Values.Where(m => finals.Any(f => f.Metrics.Node == m.Node && f.Metrics.Incarnation != m.Incarnation))
                .DistinctBy(m => (m.Node, m.Incarnation)).Select(m => (Metrics: m, Lost: true));
            var collected = finals.Concat(crashedIncarnations).ToArray();
            var nodes = collected.Select(c => c.Metrics).ToArray();
            foreach (var (n, lost) in collected)
            {
                timeline.Record(n);
                foreach (var c in n.Faults) ctx.Faults.Stats[c.Fault].Add(c, finished.StartTicks);
                if (!lost)
                {
                    ctx.Metrics.Import(n.Metrics);
                    continue;
                }
                // A node lost mid-run: its last report, with what it had in flight then booked as unaccounted, not
                // lost (decision 53), and named in the record of the crash-node fault that ended it, if one did.
                var last = new RunMetrics();
                last.Import(n.Metrics);
                var unaccounted = last.BookInFlightAsUnaccounted();
                nodeFaults.CrashOf(n.Node)?.Explain($"{unaccounted:N0} interrupt(s) in flight on the worker at its last report are unaccounted: delivered or lost after it, nobody heard which");
                ctx.Metrics.Import(last.Export());
            }
            nodeFaults.Finish();
            var managedAfter = GC.GetTotalMemory(forceFullCollection: true);
            var wall = (finished.StopTicks - finished.StartTicks) / (double)Stopwatch.Frequency;
            // What the workers did within the driver's window, on their own clocks: each closes its window when the
            // driver's stop mark reaches it, under load about a second late, and its own count includes that second.
            var trace = timeline.Sum();
            var (operations, interrupts) = (nodes.Sum(n => n.WindowOperations), nodes.Sum(n => n.WindowInterrupts));
            if (trace.TotalsAt(wall) is { } inWindow)
                (operations, interrupts) = (Math.Min(inWindow.Operations, operations), Math.Min(inWindow.Interrupts, interrupts));
            var timings = new RunTimings(wall, operations, interrupts);
            var memory = new MemorySection(Process.GetCurrentProcess().PeakWorkingSet64, 0, managedAfter - managedBefore);
            // Recovery is read from the workers' own clocks (NodeTimeline), not from the trace of reports as they arrived.
            var report = EmulatorRun.BuildReport(scenario, ctx.Metrics, finished, timings, memory, store, topology, ctx.Faults, trace: trace);
            var hops = nodes.Sum(n => n.Hops) + ctx.Directory.Sends;
            report = report with
            {
                Nodes = collected.Select(c => Figures(c.Metrics) with { Lost = c.Lost, Left = departed.ContainsKey(c.Metrics.Node) })
                    .OrderBy(f => f.Node, StringComparer.Ordinal).ToList(),
                CrossNodeHopShare = hops == 0 ? 0 : nodes.Sum(n => n.RemoteHops) / (double)hops,
                Moves = moves.ToList(),
            };
            if (s.BeforeLeave is { } hook) await hook(system, ctx.Directory);
            return new RunOutcome(report, null) { Interrupted = finished.Interrupted };
        }
        finally
        {
            await host.StopAsync(CancellationToken.None);
        }
    }

    /// <summary>
    /// The final figures of a worker that left mid-run (it handed them over before it went), of a live worker, or the
    /// last report of one that is gone (or does not answer).
    /// </summary>
    private static async Task<(NodeMetrics Metrics, bool Lost)> Final(Akka.Cluster.Cluster cluster, Address worker, ActorSelection agent, string runId,
        System.Collections.Concurrent.ConcurrentDictionary<string, NodeMetrics> latest,
        System.Collections.Concurrent.ConcurrentDictionary<string, NodeMetrics> departed, CancellationToken ct)
    {
        if (departed.TryGetValue(worker.ToString(), out var left)) return (left, false);
        var up = cluster.State.Members.Any(m => m.Address.Equals(worker) && m.Status == Akka.Cluster.MemberStatus.Up)
                 && !cluster.State.Unreachable.Any(m => m.Address.Equals(worker));
        if (up)
        {
            try
            {
                return (await agent.Ask<NodeMetrics>(new CollectMetrics(runId), TimeSpan.FromSeconds(20), ct), false);
            }
            catch (AskTimeoutException)
            {
            }
        }
        var node = worker.ToString();
        return (latest.TryGetValue(node, out var last) ? last
            : new NodeMetrics(runId, node, 0, 0, 0, 0, new RunMetrics().Export()), true);
    }

    private static NodeFigures Figures(NodeMetrics n)
    {
        var m = new RunMetrics();
        m.Import(n.Metrics);
        return new NodeFigures(n.Node, n.WindowOperations, n.WindowInterrupts, m.Tables.DurableChanges, m.EntityFailures, n.Hops, n.RemoteHops);
    }

    /// <summary>
    /// Every kind's coordinator must know every worker's region before the first shard is allocated, or kinds could
    /// place a host's shards on different nodes.
    /// </summary>
    private static async Task WaitForRegions(ActorSystem system, EntityDirectory directory, int workers, TimeSpan timeout, CancellationToken ct)
    {
        var deadline = Stopwatch.StartNew();
        foreach (var kind in Enum.GetValues<EntityKind>())
        {
            while (true)
            {
                var regions = await directory.Parent(kind).Ask<Akka.Cluster.Sharding.CurrentRegions>(Akka.Cluster.Sharding.GetCurrentRegions.Instance, TimeSpan.FromSeconds(10), ct);
                if (regions.Regions.Count >= workers) break;
                if (deadline.Elapsed > timeout) throw new SivInputException($"the {kind} regions of only {regions.Regions.Count} of {workers} workers registered within {timeout.TotalSeconds:0} s");
                await Task.Delay(100, ct);
            }
        }
    }

    private static async Task<List<Address>> WaitForWorkers(Akka.Cluster.Cluster cluster, int min, TimeSpan timeout, CancellationToken ct)
    {
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            var workers = cluster.State.Members
                .Where(m => m.Status == Akka.Cluster.MemberStatus.Up && m.HasRole(SivShardingHosting.WorkerRole))
                .Select(m => m.Address).ToList();
            if (workers.Count >= min) return workers;
            if (deadline.Elapsed > timeout)
                throw new SivInputException($"only {workers.Count} worker node(s) are up after {timeout.TotalSeconds:0} s; the run needs {min} (--workers)");
            await Task.Delay(200, ct);
        }
    }
}
