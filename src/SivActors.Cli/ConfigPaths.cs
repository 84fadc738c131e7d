namespace SivActors.Cli;

/// <summary>Finds config/: under the working directory first (a checkout), else beside the binary (copied at build).</summary>
public static class ConfigPaths
{
    public static string ConfigDirectory
    {
        get
        {
            var local = Path.Combine(Directory.GetCurrentDirectory(), "config");
            if (File.Exists(Path.Combine(local, "cost-model.json"))) return local;
            return Path.Combine(AppContext.BaseDirectory, "config");
        }
    }

    public static string DefaultScenario => Path.Combine(ConfigDirectory, "scenarios", "default.json");

    /// <summary>`siv run --cluster` without --scenario: six hosts, so every worker of a small cluster has some.</summary>
    public static string CompareScenario => Path.Combine(ConfigDirectory, "scenarios", "compare.json");
    public static string ClusterScenario => Path.Combine(ConfigDirectory, "scenarios", "cluster.json");
    public static string CostModel => Path.Combine(ConfigDirectory, "cost-model.json");
}
