using System.Globalization;
using SivActors.Actors.Run;
using SivActors.Cli;
using SivActors.Model.Reporting;
using SivActors.Model.Scenarios;

namespace SivActors.Bench;

public sealed record ScaleBenchSettings(int Rounds, double Seconds, int Small, int Large)
{
    /// <summary>AIs per device instead of the default topology's 256 (more WQs: fewer tenants share each).</summary>
    public int? AisPerDevice { get; init; }

    /// <summary>Composition policy for both runs instead of the scenario's "auto" (which gives 1,000 tenants dedicated WQs and 100,000 shared ones).</summary>
    public string? Policy { get; init; }

    public string? Validate() =>
        Rounds < 1 ? "--rounds must be at least 1"
        : Seconds is < 1 or > 600 ? "--seconds must be within 1..600"
        : Small < 1 || Large <= Small ? "--small must be at least 1 and below --large"
        : Large > 1_000_000 ? "--large must be at most 1000000"
        : null;
}

/// <summary>
/// Whether the cost of an operation stays flat as tenants grow (issue 11): the default scenario's topology (4 devices
/// x 256 AIs) with a small and a large number of containers, run in this process with `siv run`'s code and tables
/// in memory, alternating which goes first, after a warm-up of each. The figure is the median over rounds of the
/// small run's completed ops/s over the large run's in the same round (1 is flat; the issue's bar is 1.3). Both
/// runs' fairness is printed beside it: a large run whose rate holds only because a few tenants run is not flat.
/// </summary>
public static class ScaleBench
{
    public static async Task<int> RunAsync(ScaleBenchSettings s, TextWriter output, CancellationToken ct)
    {
        ResolvedScenario small, large;
        try
        {
            (small, large) = (Scenario(s, s.Small), Scenario(s, s.Large));
        }
        catch (SivActors.Model.SivInputException e)
        {
            Console.Error.WriteLine($"bench: {e.Message}");
            return 2;
        }
        var t = large.Scenario.Topology;
        output.WriteLine($"scale: {t.DevicesPerHost} devices x {t.AisPerDevice} AIs, composition {large.Scenario.Composition.Policy}, {s.Small:N0} against {s.Large:N0} containers, {s.Seconds:0.#} s per run, tables in memory, " +
                         $"alternating, {s.Rounds} rounds after a warm-up; {Environment.ProcessorCount} cores, .NET {Environment.Version}");
        var (ratios, smallOps, largeOps) = (new List<double>(), new List<double>(), new List<double>());
        try
        {
            for (var round = 0; round <= s.Rounds; round++)
            {
                var largeFirst = round % 2 == 1;
                var first = await Run(largeFirst ? large : small, ct);
                var second = await Run(largeFirst ? small : large, ct);
                var (a, b) = largeFirst ? (second, first) : (first, second);
                output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"  round {(round == 0 ? "warm-up" : round.ToString(CultureInfo.InvariantCulture))}: {s.Small:N0} containers {a.Throughput.OpsPerSecond:N0} ops/s " +
                    $"(Jain {a.Fairness?.Jain:0.000}), {s.Large:N0} containers {b.Throughput.OpsPerSecond:N0} ops/s (Jain {b.Fairness?.Jain:0.000}, " +
                    $"{b.Memory.ManagedBytesPerContainer:N0} B per container); ratio {a.Throughput.OpsPerSecond / b.Throughput.OpsPerSecond:0.000}"));
                if (round == 0) continue;
                ratios.Add(a.Throughput.OpsPerSecond / b.Throughput.OpsPerSecond);
                smallOps.Add(a.Throughput.OpsPerSecond);
                largeOps.Add(b.Throughput.OpsPerSecond);
            }
        }
        catch (InvalidOperationException e)
        {
            Console.Error.WriteLine($"bench: {e.Message}");
            return 1;
        }
        var sorted = ratios.Order().ToList();
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"scale ratio={FastPathBench.Median(ratios):0.000} range={sorted[0]:0.000}..{sorted[^1]:0.000} small={FastPathBench.Median(smallOps):0} large={FastPathBench.Median(largeOps):0}"));
        return 0;
    }

    private static async Task<RunReport> Run(ResolvedScenario scenario, CancellationToken ct)
    {
        var outcome = await EmulatorRun.RunAsync(scenario, new RunProgress(), ct);
        return Checked(outcome, $"{scenario.Scenario.Topology.Containers:N0}-container");
    }

    /// <summary>The run's report; a figure from a run that failed or broke an invariant would be meaningless, so those throw.</summary>
    internal static RunReport Checked(RunOutcome outcome, string what) =>
        outcome.Report is not { } report ? throw new InvalidOperationException($"the {what} run failed: {outcome.Failure}")
        : !report.Invariants.Passed ? throw new InvalidOperationException($"the {what} run broke an invariant: {string.Join("; ", report.Invariants.Violations)}")
        : report;

    private static ResolvedScenario Scenario(ScaleBenchSettings s, int containers)
    {
        var loaded = ScenarioLoader.Load(ConfigPaths.DefaultScenario, ConfigPaths.CostModel);
        var scenario = loaded.Scenario with
        {
            Name = $"bench-scale-{containers}",
            DurationSeconds = s.Seconds,
            Topology = loaded.Scenario.Topology with { Containers = containers, AisPerDevice = s.AisPerDevice ?? loaded.Scenario.Topology.AisPerDevice },
            Composition = loaded.Scenario.Composition with { Policy = s.Policy ?? loaded.Scenario.Composition.Policy },
        };
        ScenarioLoader.Validate(scenario);
        return loaded with { Scenario = scenario, Source = "bench scale" };
    }
}
