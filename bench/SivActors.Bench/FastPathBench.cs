using System.Diagnostics;
using System.Globalization;
using Akka.Actor;
using SivActors.Actors.Run;
using SivActors.Cli;
using SivActors.Model.Scenarios;

namespace SivActors.Bench;

public sealed record FastPathSettings(int Rounds, double Seconds, int Containers, string? Only = null)
{
    public string? Validate() =>
        Rounds < 1 ? "--rounds must be at least 1"
        : Seconds is < 0.5 or > 600 ? "--seconds must be within 0.5..600"
        : Containers is < 1 or > 4096 ? "--containers must be within 1..4096"
        : null;
}

/// <summary>
/// The fast-path operation end to end (guest portal write, DMA read, data, DMA write of destination and completion
/// record, completion interrupt through the interrupt unit) through the same code as `siv run`, against a raw
/// Akka.NET chain of plain actors with the same actors, the same hops and the same concurrency but no work.
/// Both stay up for the whole benchmark and take turns in short slices inside every round (the other side is
/// paused, nothing in flight), so a change of the machine's speed, which here comes in phases of tens of seconds,
/// hits both sides of a round alike. The figure is the median of the rounds' ratios with its interquartile range.
/// </summary>
public static class FastPathBench
{
    /// <summary>Portal write, DMA read, memory read, read data, DMA write, memory write, raise, deliver.</summary>
    public const int Hops = 8;

    /// <summary>Turns per side in a round: short enough that both sides see the same machine.</summary>
    private const int SlicesPerRound = 4;

    public static async Task<int> RunAsync(FastPathSettings settings, TextWriter output, CancellationToken ct)
    {
        // Long enough never to end on its own: the benchmark ends it after its last round.
        var scenario = Scenario(settings, durationSeconds: 3600);
        output.WriteLine($"fastpath: {settings.Containers} containers x queue depth 2, memmove 64 B + posted/remapped completion interrupt, " +
                         $"{settings.Rounds} rounds after a warm-up round, each {SlicesPerRound} alternating slices of {settings.Seconds / SlicesPerRound:0.###} s per side; " +
                         $"{Environment.ProcessorCount} cores, .NET {Environment.Version}");
        await using var raw = settings.Only == "emulator" ? null : RawChain.Launch(settings.Containers, EmulatorRun.AkkaConfig);
        await using var emulator = settings.Only == "raw" ? null : await EmulatorSide.StartAsync(scenario, ct);
        var rounds = new List<(Side Emulator, Side Raw)>();
        var slice = TimeSpan.FromSeconds(settings.Seconds / SlicesPerRound);
        for (var round = 0; round <= settings.Rounds; round++)
        {
            var (e, r) = (new Side(), new Side());
            for (var i = 0; i < SlicesPerRound; i++)
            {
                // Which side goes first alternates, so neither always follows the other's pause.
                var rawFirst = (round + i) % 2 == 0;
                if (rawFirst && raw is not null) await Measure(r, raw.Resume, () => raw.Completed, raw.PauseAsync, slice, ct);
                if (emulator is not null) await Measure(e, emulator.Resume, () => emulator.Completed, emulator.PauseAsync, slice, ct);
                if (!rawFirst && raw is not null) await Measure(r, raw.Resume, () => raw.Completed, raw.PauseAsync, slice, ct);
            }
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"  round {(round == 0 ? "warm-up" : round.ToString(CultureInfo.InvariantCulture))}: emulator {e.OpsPerSecond:0} ops/s ({e.BytesPerOp:0} B/op), " +
                $"raw {r.OpsPerSecond:0} ops/s ({r.BytesPerOp:0} B/op), ratio {e.OpsPerSecond / r.OpsPerSecond:0.000}"));
            if (round > 0) rounds.Add((e, r));
        }
        if (emulator is not null && !await emulator.EndAsync(output)) return 1;
        var em = Median(rounds.Select(x => x.Emulator.OpsPerSecond));
        var rm = Median(rounds.Select(x => x.Raw.OpsPerSecond));
        var eb = Median(rounds.Select(x => x.Emulator.BytesPerOp));
        var rb = Median(rounds.Select(x => x.Raw.BytesPerOp));
        if (settings.Only is not null)
        {
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"fastpath-{settings.Only} ops_per_s={(settings.Only == "raw" ? rm : em):0} alloc={(settings.Only == "raw" ? rb : eb):0} hops={Hops}"));
            return 0;
        }
        var ratios = rounds.Select(x => x.Emulator.OpsPerSecond / x.Raw.OpsPerSecond).ToList();
        var (q1, q3) = Quartiles(ratios);
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"fastpath ratio={Median(ratios):0.000} iqr={q1:0.000}..{q3:0.000} alloc={eb:0}/{rb:0} emulator={em:0} raw={rm:0} hops={Hops}"));
        return 0;
    }

    /// <summary>One side's operations, time and allocation over a round's slices.</summary>
    private sealed class Side
    {
        public long Operations, Bytes;
        public double Seconds;

        public double OpsPerSecond => Operations / Seconds;

        public double BytesPerOp => Bytes / (double)Math.Max(1, Operations);
    }

    /// <summary>
    /// One slice: resume, run, count, pause. The pause's drain is outside the count on both sides, and so is what
    /// the other (paused) side allocates meanwhile, which is only its idle timers.
    /// </summary>
    private static async Task Measure(Side side, Action resume, Func<long> completed, Func<CancellationToken, Task> pause, TimeSpan slice,
        CancellationToken ct)
    {
        var (ops, bytes, start) = (completed(), GC.GetTotalAllocatedBytes(), Stopwatch.GetTimestamp());
        resume();
        await Task.Delay(slice, ct);
        side.Operations += completed() - ops;
        side.Bytes += GC.GetTotalAllocatedBytes() - bytes;
        side.Seconds += Stopwatch.GetElapsedTime(start).TotalSeconds;
        await pause(ct);
    }

    /// <summary>The emulator of `siv run`, its load paused and resumed through its runner.</summary>
    private sealed class EmulatorSide : IAsyncDisposable
    {
        private readonly CancellationTokenSource _end = new();
        private readonly RunProgress _progress = new();
        private Task<RunOutcome> _run = null!;
        private IActorRef _runner = ActorRefs.Nobody;
        private SivActors.Model.Reporting.RunMetrics _metrics = null!;

        public long Completed => _metrics.OperationsCompleted;

        public static async Task<EmulatorSide> StartAsync(ResolvedScenario scenario, CancellationToken ct)
        {
            var side = new EmulatorSide();
            side._run = EmulatorRun.RunAsync(scenario, side._progress, ct, interrupt: side._end.Token,
                onRunner: (runner, metrics) => (side._runner, side._metrics) = (runner, metrics));
            // The runner exists before the window opens: composition runs first, the load starts with the window, and
            // the first slice starts from a pause.
            while (side._progress.Phase != RunPhase.Running && !side._run.IsCompleted) await Task.Delay(10, ct);
            if (side._run.IsCompleted) throw new InvalidOperationException($"the emulator run ended before its window: {(await side._run).Failure}");
            await side.PauseAsync(ct);
            return side;
        }

        public void Resume() => _runner.Tell(new RunProtocol.ResumeLoad("bench"));

        public Task PauseAsync(CancellationToken ct) =>
            _runner.Ask<RunProtocol.LoadPaused>(replyTo => new RunProtocol.PauseLoad("bench", replyTo), TimeSpan.FromSeconds(60), ct);

        /// <summary>Ends the run (resumed, then interrupted) and checks that every invariant held over it.</summary>
        public async Task<bool> EndAsync(TextWriter output)
        {
            var outcome = await FinishAsync();
            if (outcome.Report is not { } report)
            {
                Console.Error.WriteLine($"bench: emulator run failed: {outcome.Failure}");
                return false;
            }
            if (!report.Invariants.Passed)
            {
                // A fast figure from a run that broke an invariant would be meaningless.
                Console.Error.WriteLine($"bench: emulator run broke an invariant: {string.Join("; ", report.Invariants.Violations)}");
                return false;
            }
            output.WriteLine("  emulator invariants: all hold");
            return true;
        }

        public async ValueTask DisposeAsync()
        {
            if (!_run.IsCompleted) await FinishAsync();
            _end.Dispose();
        }

        /// <summary>Resumes the load (a paused run ends only once it runs again), then interrupts the run and waits for its report.</summary>
        private async Task<RunOutcome> FinishAsync()
        {
            Resume();
            await _end.CancelAsync();
            return await _run;
        }
    }

    internal static ResolvedScenario Scenario(FastPathSettings settings, double? durationSeconds = null)
    {
        var aisPerDevice = Math.Max(1, (settings.Containers + 3) / 4);
        var s = new Scenario
        {
            Name = "bench-fastpath",
            Seed = 1,
            DurationSeconds = durationSeconds ?? settings.Seconds,
            Topology = new TopologySection { Hosts = 1, DevicesPerHost = 4, AisPerDevice = aisPerDevice, Containers = settings.Containers },
            Composition = new CompositionSection { Policy = "dedicated", AisPerVdev = 1 },
            Workload = new WorkloadSection
            {
                QueueDepth = 2,
                SlowPathShare = 0,
                InterruptShare = 1,
                Fast = new() { ["memmove"] = 1 },
                TransferSizes = [64],
                // Every container at once, as every requester of the raw chain is: the comparison is per hop at the
                // same concurrency, and turns (decision 70) would change the concurrency, not the hops.
                Turns = new TurnsSection { TenantsPerHost = 0 },
            },
            Rogue = new RogueSection { Share = 0 },
        };
        ScenarioLoader.Validate(s);
        return new ResolvedScenario(s, ScenarioLoader.LoadCostModel(ConfigPaths.CostModel), "bench");
    }

    /// <summary>The middle value (mean of the two middle ones for an even count); every benchmark reports medians.</summary>
    internal static double Median(IEnumerable<double> values)
    {
        var sorted = values.Order().ToList();
        var mid = sorted.Count / 2;
        return sorted.Count % 2 == 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
    }

    /// <summary>First and third quartiles (linear interpolation between closest ranks).</summary>
    internal static (double Q1, double Q3) Quartiles(IEnumerable<double> values)
    {
        var sorted = values.Order().ToList();
        double At(double q)
        {
            var pos = q * (sorted.Count - 1);
            var lo = (int)Math.Floor(pos);
            var hi = Math.Min(lo + 1, sorted.Count - 1);
            return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
        }
        return (At(0.25), At(0.75));
    }
}
