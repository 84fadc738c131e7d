using System.Globalization;
using SivActors.Actors.Persistence;
using SivActors.Actors.Run;
using SivActors.Cli;
using SivActors.Model.Reporting;
using SivActors.Model.Scenarios;

namespace SivActors.Bench;

public sealed record DeliveryBenchSettings(int Rounds, double Seconds, int Containers)
{
    public string? Validate() =>
        Rounds < 1 ? "--rounds must be at least 1"
        : Seconds is < 1 or > 600 ? "--seconds must be within 1..600"
        : Containers is < 1 or > 100_000 ? "--containers must be within 1..100000"
        : null;
}

/// <summary>
/// What reliable delivery costs (decision 38): the default scenario without faults, run in this process (`siv run`'s
/// code, SQLite, a new store per run) in hardware and in reliable delivery, alternating after a warm-up of each. The
/// figure is the median over rounds of reliable ops/s over hardware ops/s in the same round: hardware delivery is the
/// baseline here, as the raw chain is for `fastpath`.
/// </summary>
public static class DeliveryBench
{
    public static async Task<int> RunAsync(DeliveryBenchSettings s, TextWriter output, CancellationToken ct)
    {
        var dir = Directory.CreateTempSubdirectory("siv-delivery-bench").FullName;
        try
        {
            var hardware = Scenario(s, "hardware");
            var reliable = Scenario(s, "reliable");
            output.WriteLine($"delivery: default scenario, {s.Containers:N0} containers, {s.Seconds:0.#} s per run, no faults; hardware and reliable " +
                             $"alternating, {s.Rounds} rounds after a warm-up; SQLite; {Environment.ProcessorCount} cores, .NET {Environment.Version}");
            var (ratios, hw, rel) = (new List<double>(), new List<double>(), new List<double>());
            var run = 0;
            for (var round = 0; round <= s.Rounds; round++)
            {
                // Which mode goes first alternates too, so a drift of the machine's speed within a round favours neither.
                var reliableFirst = round % 2 == 1;
                var first = await Run(reliableFirst ? reliable : hardware, dir, run++, ct);
                var second = await Run(reliableFirst ? hardware : reliable, dir, run++, ct);
                var (h, r) = reliableFirst ? (second, first) : (first, second);
                var i = r.Ledger.Interrupts;
                output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"  round {(round == 0 ? "warm-up" : round.ToString(CultureInfo.InvariantCulture))}: hardware {h.Throughput.OpsPerSecond:N0} ops/s, " +
                    $"reliable {r.Throughput.OpsPerSecond:N0} ops/s ({r.Throughput.OpsPerSecond / h.Throughput.OpsPerSecond:0.000}); " +
                    $"reliable retransmitted {i.Retransmitted:N0} of {i.Raised:N0}, duplicates {i.DuplicatesSuppressed:N0}"));
                if (round == 0) continue;
                ratios.Add(r.Throughput.OpsPerSecond / h.Throughput.OpsPerSecond);
                hw.Add(h.Throughput.OpsPerSecond);
                rel.Add(r.Throughput.OpsPerSecond);
            }
            var sorted = ratios.Order().ToList();
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"delivery ratio={FastPathBench.Median(ratios):0.000} range={sorted[0]:0.000}..{sorted[^1]:0.000} hardware={FastPathBench.Median(hw):0} reliable={FastPathBench.Median(rel):0}"));
            return 0;
        }
        catch (InvalidOperationException e)
        {
            Console.Error.WriteLine($"bench: {e.Message}");
            return 1;
        }
        finally
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            Directory.Delete(dir, recursive: true);
        }
    }

    private static async Task<RunReport> Run(ResolvedScenario scenario, string dir, int n, CancellationToken ct)
    {
        var outcome = await EmulatorRun.RunAsync(scenario, new RunProgress(), ct, TableStore.Sqlite(Path.Combine(dir, $"run{n}.db")));
        return ScaleBench.Checked(outcome, scenario.Scenario.Delivery);
    }

    private static ResolvedScenario Scenario(DeliveryBenchSettings s, string delivery)
    {
        var loaded = ScenarioLoader.Load(ConfigPaths.DefaultScenario, ConfigPaths.CostModel);
        var scenario = loaded.Scenario with
        {
            Name = "bench-delivery-" + delivery,
            DurationSeconds = s.Seconds,
            Delivery = delivery,
            Topology = loaded.Scenario.Topology with { Containers = s.Containers },
        };
        ScenarioLoader.Validate(scenario);
        return loaded with { Scenario = scenario, Source = "bench delivery" };
    }
}
