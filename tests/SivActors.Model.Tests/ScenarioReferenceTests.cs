using System.Globalization;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using SivActors.Model.Scenarios;

namespace SivActors.Model.Tests;

/// <summary>
/// docs/scenarios.md and the validator are one source of truth: every numeric range the reference table gives is
/// the range the validator enforces, checked just outside each end (the value is refused, and the message names
/// the key and the same range).
/// </summary>
public sealed partial class ScenarioReferenceTests
{
    private static string CostModel => Path.Combine(ScenarioLoaderTests.RepoRoot(), "config", "cost-model.json");

    [GeneratedRegex(@"^\| `(?<key>[a-zA-Z.]+)` \| [^|]* \| (?<lo>[0-9^,\-]+)\.\.(?<hi>[0-9^,\-]+) \|")]
    private static partial Regex RangeRow();

    public static TheoryData<string, string, string> Ranges()
    {
        var data = new TheoryData<string, string, string>();
        foreach (var line in File.ReadLines(Path.Combine(ScenarioLoaderTests.RepoRoot(), "docs", "scenarios.md")))
            if (RangeRow().Match(line) is { Success: true } m)
                data.Add(m.Groups["key"].Value, m.Groups["lo"].Value, m.Groups["hi"].Value);
        return data;
    }

    [Fact]
    public void The_reference_table_gives_ranges_for_the_numeric_keys()
    {
        var keys = Ranges().Select(r => (string)r[0]).ToList();
        Assert.True(keys.Count >= 15, $"only {keys.Count} ranges parsed from docs/scenarios.md");
        Assert.Contains("topology.containers", keys);
    }

    [Theory]
    [MemberData(nameof(Ranges))]
    public void Each_documented_range_is_the_one_the_validator_enforces(string key, string lo, string hi)
    {
        var (min, max) = (Value(lo), Value(hi));
        var range = $"({Plain(min)}..{Plain(max)})";
        // Shares (0..1) are real numbers; the rest are whole numbers.
        var step = key.EndsWith("hare", StringComparison.Ordinal) ? 0.5 : 1;
        foreach (var outside in new[] { min - step, max + step })
        {
            if (outside > int.MaxValue) continue; // beyond what the key's type can hold: a type error, not a range
            var e = Assert.Throws<SivInputException>(() => Load(key, outside));
            Assert.Contains($"{key} = {Plain(outside)} is out of range {range}", e.Message);
        }
    }

    private static void Load(string key, double value)
    {
        var root = new JsonObject();
        var node = root;
        var parts = key.Split('.');
        foreach (var part in parts[..^1]) node = (JsonObject)(node[part] ??= new JsonObject());
        node[parts[^1]] = value == Math.Floor(value) ? JsonValue.Create((long)value) : JsonValue.Create(value);
        var path = Path.Combine(Path.GetTempPath(), $"siv-range-{Guid.NewGuid():N}.json");
        File.WriteAllText(path, root.ToJsonString());
        try
        {
            ScenarioLoader.Load(path, CostModel);
        }
        finally
        {
            File.Delete(path);
        }
    }

    private static double Value(string text)
    {
        text = text.Replace(",", "", StringComparison.Ordinal);
        if (text.Split('^') is [var b, var rest])
        {
            var minus = rest.EndsWith("-1", StringComparison.Ordinal);
            var power = Math.Pow(double.Parse(b, CultureInfo.InvariantCulture), double.Parse(minus ? rest[..^2] : rest, CultureInfo.InvariantCulture));
            return minus ? power - 1 : power;
        }
        return double.Parse(text, CultureInfo.InvariantCulture);
    }

    private static string Plain(double v) => v.ToString(CultureInfo.InvariantCulture);
}
