using SivActors.Actors.Hosting;
using SivActors.Model.Scenarios;

namespace SivActors.Actors.Tests;

public static class TestScenarios
{
    public static string RepoRoot()
    {
        var dir = AppContext.BaseDirectory;
        while (!File.Exists(Path.Combine(dir, "SivActors.sln"))) dir = Path.GetDirectoryName(dir)!;
        return dir;
    }

    public static string CostModelPath => Path.Combine(RepoRoot(), "config", "cost-model.json");

    /// <summary>A small host: 2 devices x 4 AIs, 8 containers, every rogue kind frequent.</summary>
    public static ResolvedScenario Small(Func<Scenario, Scenario>? edit = null)
    {
        var s = new Scenario
        {
            Name = "small",
            Seed = 7,
            DurationSeconds = 2,
            Topology = new TopologySection { Hosts = 1, DevicesPerHost = 2, AisPerDevice = 4, Containers = 8, WorkQueueSize = 8, WorkQueueThreshold = 6, ImsEntriesPerDevice = 256 },
            Composition = new CompositionSection { AisPerVdev = 1, AsidsPerInterruptTable = 4, InterruptTableSizeExponent = 15, PostedShare = 0.5 },
            Rogue = new RogueSection { Share = 0.5, ForgeEvery = 2 },
            Workload = new WorkloadSection { SlowPathShare = 0.1 },
        };
        s = edit?.Invoke(s) ?? s;
        ScenarioLoader.Validate(s);
        return new ResolvedScenario(s, ScenarioLoader.LoadCostModel(CostModelPath), "test");
    }

    public static EmulatorContext Context(Func<Scenario, Scenario>? edit = null) => new(Small(edit));
}
