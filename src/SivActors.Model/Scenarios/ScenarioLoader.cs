using System.Text.Json;
using System.Text.Json.Serialization;
using SivActors.Model.Cost;
using SivActors.Model.Workload;

namespace SivActors.Model.Scenarios;

/// <summary>Reads scenario and cost-model files strictly: unknown keys, wrong types and out-of-range values are errors.</summary>
public static class ScenarioLoader
{
    public static readonly JsonSerializerOptions StrictJson = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        ReadCommentHandling = JsonCommentHandling.Skip,
        AllowTrailingCommas = true,
        UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
        NumberHandling = JsonNumberHandling.Strict,
        // A key written twice is a mistake like an unknown key, not "the last one wins".
        AllowDuplicateProperties = false,
    };

    public const int MaxContainers = 1_000_000;

    public static ResolvedScenario Load(string path, string costModelPath)
    {
        var scenario = Parse<Scenario>(ReadFile(path, "scenario"), path);
        var cost = LoadCostModel(costModelPath, scenario.CostModel);
        try
        {
            Validate(scenario);
        }
        catch (SivInputException e)
        {
            // A range error names the file it came from; the key path inside is already in the message.
            throw new SivInputException($"{path}: {e.Message}");
        }
        return new ResolvedScenario(scenario, cost, path);
    }

    public static CostModel LoadCostModel(string path, IReadOnlyDictionary<string, double>? overrides = null)
    {
        var file = Parse<CostModelFile>(ReadFile(path, "cost model"), path);
        var values = new Dictionary<string, double>(StringComparer.Ordinal);
        foreach (var (key, entry) in file.Costs) values[key] = entry.Value;
        if (overrides is not null)
        {
            foreach (var (key, value) in overrides)
            {
                if (!values.ContainsKey(key))
                    throw new SivInputException($"costModel.{key} is not a known cost (known: {string.Join(", ", values.Keys)})");
                values[key] = value;
            }
        }
        CostModel model;
        try
        {
            model = JsonSerializer.Deserialize<CostModel>(JsonSerializer.Serialize(values), StrictJson)!;
        }
        catch (JsonException e)
        {
            throw new SivInputException($"{path}: {OneLine(e)}");
        }
        var missing = typeof(CostModel).GetProperties().Select(p => JsonNamingPolicy.CamelCase.ConvertName(p.Name)).Where(n => !values.ContainsKey(n)).ToList();
        if (missing.Count > 0) throw new SivInputException($"{path}: missing cost(s) {string.Join(", ", missing)}");
        model.Validate();
        return model;
    }

    public static T Parse<T>(string json, string origin)
    {
        try
        {
            return JsonSerializer.Deserialize<T>(json, StrictJson)
                   ?? throw new SivInputException($"{origin}: the document is empty (null)");
        }
        catch (JsonException e)
        {
            throw new SivInputException($"{origin}: {OneLine(e)}");
        }
    }

    /// <summary>Turns System.Text.Json's message into one line that names the key.</summary>
    public static string OneLine(JsonException e)
    {
        var message = e.Message;
        const string unmapped = "could not be mapped to any .NET member";
        if (message.Contains(unmapped, StringComparison.Ordinal))
        {
            var start = message.IndexOf('\'', StringComparison.Ordinal);
            var end = start >= 0 ? message.IndexOf('\'', start + 1) : -1;
            var key = start >= 0 && end > start ? message[(start + 1)..end] : "?";
            var at = e.Path is { Length: > 0 } p && p.LastIndexOf('.') is var dot and > 0 ? p[..dot] : "$";
            return $"unknown key \"{key}\" at {at}";
        }
        if (message.StartsWith("Duplicate property '", StringComparison.Ordinal))
        {
            var end = message.IndexOf('\'', "Duplicate property '".Length);
            var key = end > 0 ? message["Duplicate property '".Length..end] : "?";
            var at = e.Path is { Length: > 0 } p && p.LastIndexOf('.') is var dot and > 0 ? p[..dot] : "$";
            return $"key \"{key}\" appears twice at {at}{(e.LineNumber is { } line ? $" (line {line + 1})" : "")}";
        }
        const string converted = "could not be converted to ";
        if (message.Contains(converted, StringComparison.Ordinal) && e.Path is { Length: > 2 } typed)
        {
            // Name the key and what it takes, not the .NET type it maps to.
            var cleaned = message[(message.IndexOf(converted, StringComparison.Ordinal) + converted.Length)..].TrimEnd('.', ' ');
            var wanted = cleaned switch
            {
                var t when t.Contains("List", StringComparison.Ordinal) || t.Contains("[]", StringComparison.Ordinal) => "a list",
                var t when t.StartsWith("System.Double", StringComparison.Ordinal) || t.StartsWith("System.Nullable`1[System.Double]", StringComparison.Ordinal) => "a number",
                var t when t.Contains("Int32", StringComparison.Ordinal) || t.Contains("Int64", StringComparison.Ordinal) => "a whole number",
                var t when t.Contains("Boolean", StringComparison.Ordinal) => "true or false",
                var t when t.StartsWith("System.String", StringComparison.Ordinal) => "a string",
                _ => "an object with the keys docs/scenarios.md lists",
            };
            return $"{typed[2..]} must be {wanted} (line {e.LineNumber + 1})";
        }
        var cut = message.IndexOf(". Path:", StringComparison.Ordinal);
        var head = (cut > 0 ? message[..cut] : message).Replace('\n', ' ').Replace('\r', ' ');
        return e.Path is { Length: > 0 } path ? $"{head} (at {path}, line {e.LineNumber + 1})" : $"{head} (line {e.LineNumber + 1})";
    }

    public static string ReadFile(string path, string what)
    {
        if (Directory.Exists(path)) throw new SivInputException($"{what} file {path} is a directory");
        if (!File.Exists(path)) throw new SivInputException($"{what} file {path} does not exist");
        try
        {
            return File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new SivInputException($"{what} file {path} cannot be read: {e.Message}");
        }
    }

    /// <summary>The most descriptors a noisy neighbour keeps outstanding (its slots and guest memory grow with it).</summary>
    public const int MaxNoisyDepth = 256;

    public static void Validate(Scenario s)
    {
        Range("seed", s.Seed, 0, int.MaxValue);
        if (!(s.DurationSeconds > 0 && s.DurationSeconds <= 86_400))
            throw new SivInputException($"durationSeconds = {s.DurationSeconds} is out of range (0 < seconds <= 86400)");
        var t = s.Topology;
        Range("topology.hosts", t.Hosts, 1, 64);
        Range("topology.devicesPerHost", t.DevicesPerHost, 1, 128);
        Range("topology.aisPerDevice", t.AisPerDevice, 1, 4096);
        // VF routing ids are the PF's plus 1..VfsPerDevice (offset 1, stride 1), and stay on the PF's bus.
        Range("topology.vfsPerDevice", t.VfLimit, 1, Identity.SourceId.MaxVfsPerFunction);
        Range("topology.containers", t.Containers, 1, MaxContainers);
        Range("topology.workQueueSize", t.WorkQueueSize, 1, 128);
        Range("topology.workQueueThreshold", t.WorkQueueThreshold, 1, t.WorkQueueSize);
        Range("topology.imsEntriesPerDevice", t.ImsEntriesPerDevice, 1, 65536);
        var c = s.Composition;
        _ = c.ParsedPolicy;
        Range("composition.aisPerVdev", c.AisPerVdev, 1, 8);
        Range("composition.asidsPerInterruptTable", c.AsidsPerInterruptTable, 1, 4096);
        Range("composition.interruptTableSizeExponent", c.InterruptTableSizeExponent, 0, 15);
        Share("composition.postedShare", c.PostedShare);
        var w = s.Workload;
        Range("workload.queueDepth", w.QueueDepth, 1, 64);
        Share("workload.slowPathShare", w.SlowPathShare);
        Share("workload.interruptShare", w.InterruptShare);
        Weights("workload.fast", w.Fast, WorkloadMix.FastOperations);
        Weights("workload.slow", w.Slow, WorkloadMix.SlowOperations);
        if (w.TransferSizes.Length == 0) throw new SivInputException("workload.transferSizes must list at least one size");
        foreach (var size in w.TransferSizes) Range("workload.transferSizes[]", size, 8, 1 << 20);
        Range("workload.turns.tenantsPerHost", w.Turns.TenantsPerHost, 0, MaxContainers);
        Range("workload.turns.operations", w.Turns.Operations, 1, 1_000_000);
        if (w.NoisyNeighbour is { } noisy)
        {
            Range("workload.noisyNeighbour.container", noisy.Container, 0, t.Containers - 1);
            Range("workload.noisyNeighbour.factor", noisy.Factor, 2, 64);
            if ((long)noisy.Factor * w.QueueDepth > MaxNoisyDepth)
                throw new SivInputException($"workload.noisyNeighbour.factor = {noisy.Factor} x workload.queueDepth = {w.QueueDepth} exceeds {MaxNoisyDepth} descriptors outstanding");
            var from = noisy.StartsAt(s.DurationSeconds);
            if (!(from > 0 && from < s.DurationSeconds))
                throw new SivInputException($"workload.noisyNeighbour.fromSeconds = {from} is out of range (0 < seconds < durationSeconds = {s.DurationSeconds})");
        }
        Share("rogue.share", s.Rogue.Share);
        Range("rogue.forgeEvery", s.Rogue.ForgeEvery, 1, 1_000_000);
        Range("remapping.faultRecords", s.Remapping.FaultRecords, 1, 256);
        Range("remapping.interruptEntryCacheEntries", s.Remapping.InterruptEntryCacheEntries, 0, 1 << 20);

        if (s.Mode is not ("siov" or "sriov" or "emulated"))
            throw new SivInputException($"mode \"{s.Mode}\" is not a mode (modes: siov, sriov, emulated)");
        if (s.Delivery is not ("hardware" or "reliable"))
            throw new SivInputException($"delivery \"{s.Delivery}\" is not a delivery mode (modes: hardware, reliable)");
        if (s.Sriov) ValidateSriov(s);
        else ValidateAis(s);
        Faults.FaultTimeline.Validate(s);
    }

    /// <summary>SIOV and emulated: vdevs composed from AIs, IMS entries on each device, tables shared by ASIDs.</summary>
    private static void ValidateAis(Scenario s)
    {
        var t = s.Topology;
        var c = s.Composition;
        var hosts = t.Hosts;
        var aisPerHost = t.DevicesPerHost * t.AisPerDevice;
        if (c.AisPerVdev > aisPerHost)
            throw new SivInputException($"composition.aisPerVdev = {c.AisPerVdev} exceeds the {aisPerHost} AIs of a host");
        var containersPerHost = (t.Containers + hosts - 1) / hosts;
        if (c.ParsedPolicy == Vdcm.CompositionPolicy.Dedicated && (long)containersPerHost * c.AisPerVdev > aisPerHost)
            throw new SivInputException(
                $"composition.policy \"dedicated\" gives each vdev AIs of its own, but {containersPerHost} containers per host x {c.AisPerVdev} AIs per vdev " +
                $"exceed the {aisPerHost} AIs of a host (use \"shared\" or \"auto\", or more devices or AIs)");
        var vectorsPerDevice = (long)containersPerHost * c.AisPerVdev / t.DevicesPerHost + 1;
        if (vectorsPerDevice > t.ImsEntriesPerDevice)
            throw new SivInputException(
                $"topology.imsEntriesPerDevice = {t.ImsEntriesPerDevice} is too small: {containersPerHost} containers per host need about {vectorsPerDevice} IMS entries per device");
        var tableEntries = (long)c.AsidsPerInterruptTable * c.AisPerVdev;
        if (tableEntries > 1L << (c.InterruptTableSizeExponent + 1))
            throw new SivInputException(
                $"composition.interruptTableSizeExponent = {c.InterruptTableSizeExponent} gives {1 << (c.InterruptTableSizeExponent + 1)} entries, fewer than the {tableEntries} that {c.AsidsPerInterruptTable} tenants need");
        AsidSpace(t);
    }

    private static void AsidSpace(TopologySection t)
    {
        if ((long)t.Containers * t.Hosts > Identity.Asid.MaxValue)
            throw new SivInputException("too many containers for the 20-bit ASID space");
    }

    /// <summary>
    /// SR-IOV: one VF per container, assigned whole (a VF is one function: no composition of several, no sharing),
    /// every host's VFs in one interrupt remapping table, and at most 2,048 MSI-X vectors per VF (siov-reference §2.4).
    /// Containers beyond the VFs are not an error: they are the comparison's point, reported unserved.
    /// </summary>
    private static void ValidateSriov(Scenario s)
    {
        var t = s.Topology;
        var c = s.Composition;
        if (c.AisPerVdev != 1)
            throw new SivInputException($"composition.aisPerVdev = {c.AisPerVdev}: under mode \"sriov\" each container gets one VF of its own (set it to 1)");
        if (c.ParsedPolicy == Vdcm.CompositionPolicy.Shared)
            throw new SivInputException("composition.policy \"shared\" cannot hold under mode \"sriov\": a VF is assigned to one container");
        // A VF's MSI-X table holds its vectors: one per AI slot plus the vdev's own (VirtualDevice).
        if (c.AisPerVdev + 1 > MsixVectorsPerFunction)
            throw new SivInputException($"a VF has at most {MsixVectorsPerFunction} MSI-X vectors");
        if (s.Workload.NoisyNeighbour is { } noisy && !s.Serves(noisy.Container))
            throw new SivInputException($"workload.noisyNeighbour.container = {noisy.Container} is beyond the VF limit under mode \"sriov\": it would be unserved");
        var servedPerHost = Math.Min((t.Containers + t.Hosts - 1) / t.Hosts, (long)t.DevicesPerHost * t.VfLimit);
        var entries = 1L << (c.InterruptTableSizeExponent + 1);
        if (servedPerHost * c.AisPerVdev > entries)
            throw new SivInputException(
                $"composition.interruptTableSizeExponent = {c.InterruptTableSizeExponent} gives {entries} entries, fewer than the {servedPerHost * c.AisPerVdev} " +
                "that a host's VFs need in its one interrupt remapping table under mode \"sriov\"");
        AsidSpace(t);
    }

    /// <summary>MSI-X allows 2,048 vectors per function (siov-reference §2.4, DSA §9.2.28).</summary>
    public const int MsixVectorsPerFunction = 2048;

    private static void Range(string key, long value, long min, long max)
    {
        if (value < min || value > max) throw new SivInputException($"{key} = {value} is out of range ({min}..{max})");
    }

    private static void Share(string key, double value)
    {
        if (double.IsNaN(value) || value is < 0 or > 1) throw new SivInputException($"{key} = {value} is out of range (0..1)");
    }

    private static void Weights(string key, Dictionary<string, double> weights, IReadOnlyCollection<string> known)
    {
        foreach (var (op, weight) in weights)
        {
            if (!known.Contains(op)) throw new SivInputException($"{key}.{op} is not a known operation (known: {string.Join(", ", known)})");
            if (double.IsNaN(weight) || weight < 0) throw new SivInputException($"{key}.{op} = {weight} must be a weight >= 0");
        }
        if (weights.Values.Sum() <= 0) throw new SivInputException($"{key} needs at least one operation with a weight above 0");
    }

    private sealed record CostModelFile
    {
        [JsonPropertyName("$comment")] public string? Comment { get; init; }
        public Dictionary<string, CostEntry> Costs { get; init; } = new();
        /// <summary>Which costs each mode's hops pay (documentation for the reader; the actors apply them).</summary>
        public Dictionary<string, string> Modes { get; init; } = new();
    }

    private sealed record CostEntry
    {
        public double Value { get; init; }
        public string Source { get; init; } = "";
    }
}
