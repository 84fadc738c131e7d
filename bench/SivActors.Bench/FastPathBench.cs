using System.Diagnostics;
using System.Globalization;
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
/// Each round runs the raw chain then the emulator, so drift on a noisy machine hits both; the ratio is the median
/// of the rounds' ratios, and emulator/raw are the medians of each side.
/// </summary>
public static class FastPathBench
{
    /// <summary>Portal write, DMA read, memory read, read data, DMA write, memory write, raise, deliver.</summary>
    public const int Hops = 8;

    public static async Task<int> RunAsync(FastPathSettings settings, TextWriter output, CancellationToken ct)
    {
        var scenario = Scenario(settings);
        var emulator = new List<double>();
        var raw = new List<double>();
        var ratios = new List<double>();
        output.WriteLine($"fastpath: {settings.Containers} containers x queue depth 2, memmove 64 B + posted/remapped completion interrupt, " +
                         $"{settings.Rounds} rounds of {settings.Seconds:0.#} s per side after a warm-up round; {Environment.ProcessorCount} cores, .NET {Environment.Version}");
        for (var round = 0; round <= settings.Rounds; round++)
        {
            var warmUp = round == 0;
            var (allocBefore, gcBefore) = (GC.GetTotalAllocatedBytes(), GC.CollectionCount(0));
            var r = settings.Only == "emulator" ? double.NaN
                : await RawChain.RunAsync(settings.Containers, TimeSpan.FromSeconds(settings.Seconds), EmulatorRun.AkkaConfig, ct);
            var (allocMid, gcMid) = (GC.GetTotalAllocatedBytes(), GC.CollectionCount(0));
            var e = settings.Only == "raw" ? double.NaN : await Emulator(scenario, ct);
            if (e is null) return 1;
            var (allocAfter, gcAfter) = (GC.GetTotalAllocatedBytes(), GC.CollectionCount(0));
            // Allocation per operation over the whole round (set-up included), as a hint of where the time goes.
            var rawBytes = (allocMid - allocBefore) / (r * settings.Seconds);
            var emuBytes = (allocAfter - allocMid) / (e.Value * settings.Seconds);
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"  round {(warmUp ? "warm-up" : round.ToString(CultureInfo.InvariantCulture))}: emulator {e:0} ops/s ({emuBytes:0} B/op, {gcAfter - gcMid} gen0 GCs), " +
                $"raw {r:0} ops/s ({rawBytes:0} B/op, {gcMid - gcBefore} gen0 GCs), ratio {e / r:0.000}"));
            if (warmUp) continue;
            emulator.Add(e.Value);
            raw.Add(r);
            ratios.Add(e.Value / r);
        }
        var em = Median(emulator);
        var rm = Median(raw);
        if (settings.Only is not null)
        {
            output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"fastpath-{settings.Only} ops_per_s={(settings.Only == "raw" ? rm : em):0} hops={Hops}"));
            return 0;
        }
        // Each round runs both sides back to back, so a round's ratio compares like with like even when the
        // machine's speed changes between rounds; the median of those ratios is the figure.
        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"fastpath ratio={Median(ratios):0.000} emulator={em:0} raw={rm:0} hops={Hops}"));
        return 0;
    }

    private static async Task<double?> Emulator(ResolvedScenario scenario, CancellationToken ct)
    {
        var outcome = await EmulatorRun.RunAsync(scenario, new RunProgress(), ct);
        if (outcome.Report is not { } report)
        {
            Console.Error.WriteLine($"bench: emulator run failed: {outcome.Failure}");
            return null;
        }
        if (!report.Invariants.Passed)
        {
            // A fast figure from a run that broke an invariant would be meaningless.
            Console.Error.WriteLine($"bench: emulator run broke an invariant: {string.Join("; ", report.Invariants.Violations)}");
            return null;
        }
        return report.Throughput.OpsPerSecond;
    }

    internal static ResolvedScenario Scenario(FastPathSettings settings)
    {
        var aisPerDevice = Math.Max(1, (settings.Containers + 3) / 4);
        var s = new Scenario
        {
            Name = "bench-fastpath",
            Seed = 1,
            DurationSeconds = settings.Seconds,
            Topology = new TopologySection { Hosts = 1, DevicesPerHost = 4, AisPerDevice = aisPerDevice, Containers = settings.Containers },
            Composition = new CompositionSection { Policy = "dedicated", AisPerVdev = 1 },
            Workload = new WorkloadSection
            {
                QueueDepth = 2,
                SlowPathShare = 0,
                InterruptShare = 1,
                Fast = new() { ["memmove"] = 1 },
                TransferSizes = [64],
            },
            Rogue = new RogueSection { Share = 0 },
        };
        ScenarioLoader.Validate(s);
        return new ResolvedScenario(s, ScenarioLoader.LoadCostModel(ConfigPaths.CostModel), "bench");
    }

    /// <summary>The middle value (mean of the two middle ones for an even count); every benchmark reports medians.</summary>
    internal static double Median(List<double> values)
    {
        var sorted = values.Order().ToList();
        var mid = sorted.Count / 2;
        return sorted.Count % 2 == 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
    }
}
