using System.Diagnostics;
using System.Globalization;
using Akka.Actor;
using Akka.Persistence;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using SivActors.Actors.Entities;
using SivActors.Actors.Hosting;
using SivActors.Actors.Persistence;
using SivActors.Cli;
using SivActors.Model.Identity;
using SivActors.Model.Interrupts;
using SivActors.Model.Scenarios;
using SivActors.Model.Tables;
using Iu = SivActors.Actors.InterruptUnit.InterruptUnitProtocol;

namespace SivActors.Bench;

public sealed record TablesSettings(int Rounds, double Seconds, int Owners, int Window, string? Postgres)
{
    public string? Validate() =>
        Rounds < 1 ? "--rounds must be at least 1"
        : Seconds is < 0.5 or > 600 ? "--seconds must be within 0.5..600"
        : Owners is < 1 or > 64 ? "--owners must be within 1..64"
        : Window is < 1 or > 100_000 ? "--window must be within 1..100000"
        : null;
}

/// <summary>
/// Durable table programming: interrupt units answering ProgramEntry only once its EntryWritten event is in the
/// journal, against a raw Akka.Persistence.Sql baseline in the same process and run: plain persistent actors with
/// the same group commit, the same event size and the same number of requests in flight. Then the recovery time
/// of one full 65,536-entry interrupt table, from a snapshot and from events alone.
/// </summary>
public static class TablesBench
{
    private const int RewriteTableExponent = 11; // 4,096 handles rewritten round-robin by each driver

    public static async Task<int> RunAsync(TablesSettings s, TextWriter output, CancellationToken ct)
    {
        output.WriteLine($"tables: {s.Owners} table owners x {s.Window} requests in flight, {s.Rounds} rounds of {s.Seconds:0.#} s per side; " +
                         $"{Environment.ProcessorCount} cores, .NET {Environment.Version}");
        var lines = new List<string>();
        var sqlite = await Throughput("tables-sqlite", s, () => SqliteStore(), output, ct);
        lines.Add(sqlite);
        if (s.Postgres is { } pg) lines.Add(await Throughput("tables-postgres", s, () => PostgresStore(pg), output, ct));
        lines.Add(await Recovery(output, ct));
        foreach (var l in lines) output.WriteLine(l);
        return 0;
    }

    private static async Task<string> Throughput(string name, TablesSettings s, Func<Task<(TableStore Store, Func<Task> Cleanup)>> fresh, TextWriter output, CancellationToken ct)
    {
        var emulator = new List<double>();
        var raw = new List<double>();
        var ratios = new List<double>();
        for (var round = 0; round <= s.Rounds; round++)
        {
            var r = await Side(fresh, s, rawSide: true, ct);
            var e = await Side(fresh, s, rawSide: false, ct);
            var warmUp = round == 0;
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"  {name} round {round}{(warmUp ? " (warm-up)" : "")}: emulator {e:N0} updates/s, raw {r:N0} writes/s, ratio {e / r:0.000}"));
            if (warmUp) continue;
            emulator.Add(e);
            raw.Add(r);
            ratios.Add(e / r);
        }
        return string.Create(CultureInfo.InvariantCulture, $"{name} updates_per_s={FastPathBench.Median(emulator):0} raw_per_s={FastPathBench.Median(raw):0} ratio={FastPathBench.Median(ratios):0.000}");
    }

    /// <summary>One measured window on a fresh database: durable completions per second across all drivers.</summary>
    private static async Task<double> Side(Func<Task<(TableStore Store, Func<Task> Cleanup)>> fresh, TablesSettings s, bool rawSide, CancellationToken ct)
    {
        var (store, cleanup) = await fresh();
        try
        {
            var scenario = Scenario(s.Owners);
            var ctx = new EmulatorContext(scenario, store: store);
            using var host = await Start(store, rawSide ? null : ctx, ct);
            var system = host.Services.GetRequiredService<ActorSystem>();
            var counter = new Counter();
            for (var o = 0; o < s.Owners; o++)
            {
                var target = rawSide
                    ? system.ActorOf(Props.Create(() => new RawTableOwner($"raw-{o}", store.MaxBatch)), $"raw-{o}")
                    : null;
                var host0 = new HostId(o);
                system.ActorOf(Props.Create(() => new Driver(ctx, host0, target, s.Window, counter, 0)));
            }
            // Warm-up inside the window's process: let batches reach their steady size, then count.
            await Task.Delay(TimeSpan.FromSeconds(Math.Min(1, s.Seconds / 2)), ct);
            var before = counter.Completed;
            var sw = Stopwatch.StartNew();
            await Task.Delay(TimeSpan.FromSeconds(s.Seconds), ct);
            var done = counter.Completed - before;
            var rate = done / sw.Elapsed.TotalSeconds;
            if (counter.Failed > 0) throw new InvalidOperationException($"{counter.Failed} table writes failed");
            await host.StopAsync(CancellationToken.None);
            return rate;
        }
        finally
        {
            await cleanup();
        }
    }

    private static async Task<string> Recovery(TextWriter output, CancellationToken ct)
    {
        const int entries = 65_536;
        var results = new Dictionary<bool, double>();
        foreach (var withSnapshot in new[] { true, false })
        {
            var (baseStore, cleanup) = await SqliteStore();
            // Bind + 65,536 entries = 65,537 events: with a snapshot every 65,537 events the last batch takes one.
            var store = baseStore with { SnapshotEvery = withSnapshot ? entries + 1 : int.MaxValue };
            try
            {
                var scenario = Scenario(1);
                var ctx = new EmulatorContext(scenario, store: store);
                using (var host = await Start(store, ctx, ct))
                {
                    var system = host.Services.GetRequiredService<ActorSystem>();
                    var counter = new Counter();
                    system.ActorOf(Props.Create(() => new Driver(ctx, new HostId(0), null, 1024, counter, entries)));
                    await counter.Finished.Task.WaitAsync(TimeSpan.FromMinutes(5), ct);
                    if (withSnapshot) await WaitForSnapshot(system, entries + 1, ct);
                    await host.StopAsync(CancellationToken.None);
                }
                var times = new List<double>();
                for (var i = 0; i < 5; i++)
                {
                    using var host = await Start(store, ctx, ct);
                    var parent = ctx.Directory.Parent(EntityKind.InterruptUnit);
                    var sw = Stopwatch.StartNew();
                    var state = await parent.Ask<Iu.State>(new Iu.GetState(new HostId(0)), TimeSpan.FromMinutes(2), ct);
                    times.Add(sw.Elapsed.TotalMilliseconds);
                    if (state.Entries != entries) throw new InvalidOperationException($"recovered {state.Entries} entries, not {entries}");
                    await host.StopAsync(CancellationToken.None);
                }
                output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"  recovery of {entries:N0} entries {(withSnapshot ? "from a snapshot" : "from events only")}: {string.Join(", ", times.Select(t => t.ToString("0", CultureInfo.InvariantCulture)))} ms"));
                results[withSnapshot] = FastPathBench.Median(times);
            }
            finally
            {
                await cleanup();
            }
        }
        return string.Create(CultureInfo.InvariantCulture, $"recovery-65536 snapshot_ms={results[true]:0} no_snapshot_ms={results[false]:0}");
    }

    private static async Task WaitForSnapshot(ActorSystem system, long atLeast, CancellationToken ct)
    {
        var deadline = Stopwatch.StartNew();
        while (deadline.Elapsed < TimeSpan.FromSeconds(60))
        {
            var done = new TaskCompletionSource<TableRead>(TaskCreationOptions.RunContinuationsAsynchronously);
            system.ActorOf(TableReader.Props("interrupt-unit-h0", done, (_, _) => { }, () => 0, fromEvents: false));
            if ((await done.Task.WaitAsync(TimeSpan.FromSeconds(60), ct)).SnapshotSequenceNr >= atLeast) return;
            await Task.Delay(100, ct);
        }
        throw new TimeoutException("the snapshot was not saved within 60 s");
    }

    private static async Task<IHost> Start(TableStore store, EmulatorContext? ctx, CancellationToken ct)
    {
        await store.CheckAsync(ct);
        var host = EmulatorRun.BuildHost(store, b =>
        {
            if (ctx is not null) b.WithSivEmulator(ctx);
        });
        await host.StartAsync(ct);
        return host;
    }

    private static ResolvedScenario Scenario(int hosts)
    {
        var s = new Scenario { Name = "tables-bench", Topology = new TopologySection { Hosts = hosts, DevicesPerHost = 1, AisPerDevice = 1, Containers = hosts } };
        return new ResolvedScenario(s, ScenarioLoader.LoadCostModel(ConfigPaths.CostModel), "bench");
    }

    private static Task<(TableStore, Func<Task>)> SqliteStore()
    {
        var dir = Directory.CreateTempSubdirectory("siv-bench").FullName;
        Func<Task> cleanup = () =>
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            Directory.Delete(dir, recursive: true);
            return Task.CompletedTask;
        };
        return Task.FromResult((TableStore.Sqlite(Path.Combine(dir, "bench.db")), cleanup));
    }

    private static async Task<(TableStore, Func<Task>)> PostgresStore(string cs)
    {
        var store = TableStore.Postgres(cs);
        await store.WipeAsync();
        return (store, () => store.WipeAsync());
    }

    private sealed class Counter
    {
        private long _completed;
        private long _failed;
        public long Completed => Interlocked.Read(ref _completed);
        public long Failed => Interlocked.Read(ref _failed);
        public TaskCompletionSource Finished { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
        public long Done() => Interlocked.Increment(ref _completed);
        public void Fail() => Interlocked.Increment(ref _failed);
    }

    /// <summary>
    /// A closed-loop requester: keeps <c>window</c> table writes in flight against one owner (an interrupt unit, or
    /// the raw owner) and sends the next as each is acknowledged. With <c>limit</c> &gt; 0 it allocates that many
    /// entries in a 65,536-entry table and stops.
    /// </summary>
    private sealed class Driver : ReceiveActor
    {
        private readonly EmulatorContext _ctx;
        private readonly HostId _host;
        private readonly IActorRef? _raw;
        private readonly Counter _counter;
        private readonly int _limit;
        private readonly Asid _asid;
        private readonly byte[] _payload = new byte[TableCodec.Encode(SampleEvent).Length];
        private long _next;

        private static readonly EntryWritten SampleEvent = new(0, 4095, Entry(Asid.Create(1), 4095), false);

        public Driver(EmulatorContext ctx, HostId host, IActorRef? raw, int window, Counter counter, int limit)
        {
            _ctx = ctx;
            _host = host;
            _raw = raw;
            _counter = counter;
            _limit = limit;
            _asid = Asid.Create(host.Value + 1);
            Random.Shared.NextBytes(_payload);
            Receive<Iu.AsidBindingDone>(_ =>
            {
                for (var i = 0; i < window; i++) Next();
            });
            Receive<Iu.EntryProgrammed>(_ => Completed());
            Receive<Iu.ProgramFailed>(_ =>
            {
                counter.Fail();
                Next();
            });
            Receive<RawWritten>(_ => Completed());
            if (raw is not null) Self.Tell(new Iu.AsidBindingDone(_asid, 0, null));
            else ctx.Directory.Tell(new Iu.BindAsid(host, _asid, 0, limit > 0 ? 15 : RewriteTableExponent), Self);
        }

        private void Completed()
        {
            var n = _counter.Done();
            if (_limit > 0 && n == _limit) _counter.Finished.TrySetResult();
            Next();
        }

        private void Next()
        {
            var i = _next++;
            if (_limit > 0 && i >= _limit) return;
            if (_raw is not null) _raw.Tell(new RawWrite(_payload));
            else
                _ctx.Directory.Tell(new Iu.ProgramEntry(_host, i, _asid, _limit > 0 ? null : (int)(i % (2 << RewriteTableExponent)), Entry(_asid, (int)i)), Self);
        }

        private static InterruptEntry Entry(Asid asid, int i) => new()
        {
            Present = true, Mode = InterruptMode.Remapped, Vector = (byte)(0x40 + i % 0xB0), Destination = (uint)i, Sid = 0x6A00,
            Svt = SourceValidation.RequesterId, Asid = asid, Target = new ContainerId((int)asid.Value - 1),
        };
    }

    private sealed record RawWrite(byte[] Payload);

    private sealed record RawWritten;

    /// <summary>The baseline: a plain persistent actor, the same group commit, byte-array events of the same size.</summary>
    private sealed class RawTableOwner : ReceivePersistentActor
    {
        private static readonly RawWritten Ack = new();
        private readonly GroupCommit<byte[]> _commit;

        public RawTableOwner(string id, int maxBatch)
        {
            PersistenceId = id;
            _commit = new GroupCommit<byte[]>(maxBatch, (events, confirmed) => PersistAllAsync(events, confirmed));
            Command<RawWrite>(m =>
            {
                var sender = Sender;
                _commit.Add(m.Payload, () => sender.Tell(Ack), null);
            });
        }

        public override string PersistenceId { get; }
    }
}
