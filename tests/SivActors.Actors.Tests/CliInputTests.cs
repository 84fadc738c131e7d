using SivActors.Cli;

namespace SivActors.Actors.Tests;

/// <summary>Bad input: one line naming the problem, exit code 2, nothing written.</summary>
public sealed class CliInputTests
{
    private static async Task<(int Code, string Out, string Err, string Dir)> Siv(params string[] args)
    {
        var dir = Directory.CreateTempSubdirectory("siv-cli").FullName;
        var outDir = Path.Combine(dir, "out");
        var all = args.Select(a => a.Replace("{dir}", dir)).Concat(args.Length > 0 && args[0] == "run" ? ["--out", outDir] : []).ToArray();
        var o = new StringWriter();
        var e = new StringWriter();
        var code = await SivCli.InvokeAsync(all, o, e, new RunOptions { Interactive = false });
        return (code, o.ToString(), e.ToString(), dir);
    }

    private static string Write(string dir, string name, string text)
    {
        var path = Path.Combine(dir, name);
        File.WriteAllText(path, text);
        return path;
    }

    private static void AssertBadInput((int Code, string Out, string Err, string Dir) r, string expected)
    {
        Assert.Equal(SivCli.BadInput, r.Code);
        var lines = r.Err.TrimEnd().Split('\n');
        Assert.Single(lines);
        Assert.Contains(expected, lines[0]);
        Assert.DoesNotContain("   at ", r.Err);
        Assert.False(Directory.Exists(Path.Combine(r.Dir, "out")), "a bad run must write nothing");
    }

    [Fact]
    public async Task Missing_scenario_file() => AssertBadInput(await Siv("run", "--scenario", "/nonexistent/scenario.json"), "does not exist");

    [Fact]
    public async Task Negative_container_count() => AssertBadInput(await Siv("run", "--containers", "-5"), "--containers = -5 is out of range");

    [Fact]
    public async Task Zero_duration() => AssertBadInput(await Siv("run", "--duration", "0"), "--duration = 0 is out of range");

    [Fact]
    public async Task Not_a_number() => AssertBadInput(await Siv("run", "--containers", "many"), "many");

    [Fact]
    public async Task Unknown_option() => AssertBadInput(await Siv("run", "--colour", "red"), "--colour");

    [Fact]
    public async Task Unknown_key_in_scenario()
    {
        var dir = Directory.CreateTempSubdirectory("siv-cli").FullName;
        var file = Write(dir, "s.json", """{ "topology": { "hosts": 1, "cores": 4 } }""");
        AssertBadInput(await Siv("validate", file), "unknown key \"cores\" at $.topology");
    }

    [Fact]
    public async Task Validate_accepts_the_default_scenario()
    {
        var r = await Siv("validate", Path.Combine(TestScenarios.RepoRoot(), "config", "scenarios", "default.json"));
        Assert.Equal(0, r.Code);
        Assert.Contains("valid", r.Out);
    }

    private const string ExplainTemplate = """
        {
          "asidTable": [ { "asid": 5, "table": 0 } ],
          "interruptTables": [ { "id": 0, "sizeExponent": 15, "entries": [
            { "handle": HANDLE, "mode": "posted", "vector": 65, "sid": "6a:01.0", "svt": 1, "asid": ASID, "target": 4 } ] } ],
          "message": { "source": "6a:01.0", "asid": 5, "kind": "interrupt", "handle": 3 }
        }
        """;

    [Fact]
    public async Task Explain_asid_above_20_bits()
    {
        var dir = Directory.CreateTempSubdirectory("siv-cli").FullName;
        var file = Write(dir, "e.json", ExplainTemplate.Replace("HANDLE", "3").Replace("ASID", "1048576"));
        AssertBadInput(await Siv("irq", "explain", file), "ASID 1048576 is out of range");
    }

    [Fact]
    public async Task Explain_handle_above_16_bits()
    {
        var dir = Directory.CreateTempSubdirectory("siv-cli").FullName;
        var file = Write(dir, "e.json", ExplainTemplate.Replace("HANDLE", "65536").Replace("ASID", "5"));
        AssertBadInput(await Siv("irq", "explain", file), "interrupt handle 65536 is out of range");
    }

    [Fact]
    public async Task Explain_malformed_json()
    {
        var dir = Directory.CreateTempSubdirectory("siv-cli").FullName;
        var file = Write(dir, "e.json", "{ \"asidTable\": [ { \"asid\": 5, ");
        AssertBadInput(await Siv("irq", "explain", file), "e.json");
    }

    [Theory]
    [InlineData("5", "posted", null)]
    [InlineData("6", "blocked", "0xA1")]
    public async Task Explain_prints_the_trail_and_outcome(string entryAsid, string outcome, string? code)
    {
        var dir = Directory.CreateTempSubdirectory("siv-cli").FullName;
        var doc = ExplainTemplate.Replace("HANDLE", "3").Replace("ASID", entryAsid);
        var r = await Siv("irq", "explain", Write(dir, "e.json", doc));
        Assert.Equal(0, r.Code);
        using var json = System.Text.Json.JsonDocument.Parse(r.Out);
        Assert.Equal(outcome, json.RootElement.GetProperty("outcome").GetString());
        if (code is null) Assert.False(json.RootElement.TryGetProperty("faultCode", out _));
        else Assert.Equal(code, json.RootElement.GetProperty("faultCode").GetString());
        Assert.True(json.RootElement.GetProperty("trail").GetArrayLength() >= 5);
    }

    [Fact]
    public async Task The_documented_example_is_blocked_by_the_asid_check()
    {
        // docs/irq-explain.md shows this file's output; keep the two honest.
        var r = await Siv("irq", "explain", Path.Combine(TestScenarios.RepoRoot(), "config", "examples", "irq-asid-mismatch.json"));
        Assert.Equal(0, r.Code);
        using var json = System.Text.Json.JsonDocument.Parse(r.Out);
        Assert.Equal("blocked", json.RootElement.GetProperty("outcome").GetString());
        Assert.Equal("0xA1", json.RootElement.GetProperty("faultCode").GetString());
        Assert.Contains("message ASID 0x00011 != entry ASID 0x00012", r.Out);
    }
}
