using SivActors.Actors.Tests.Persistence;
using SivActors.Cli;

namespace SivActors.Actors.Tests;

/// <summary>Bad input: one line naming the problem, exit code 2, nothing written.</summary>
public sealed class CliInputTests
{
    private static Task<(int Code, string Out, string Err, string Dir)> Siv(params string[] args) =>
        SivIn(Directory.CreateTempSubdirectory("siv-cli").FullName, args);

    private static async Task<(int Code, string Out, string Err, string Dir)> SivIn(string dir, string[] args)
    {
        var outDir = Path.Combine(dir, "out");
        var run = args.Length > 0 && args[0] == "run";
        var storeGiven = args.Contains("--db") || args.Contains("--postgres");
        var all = args.Select(a => a.Replace("{dir}", dir).Replace("{repo}", TestScenarios.RepoRoot()))
            .Concat(run && !args.Contains("--out") ? ["--out", outDir] : [])
            .Concat(run && !storeGiven ? ["--db", Path.Combine(dir, "siv.db")] : [])
            .ToArray();
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

    /// <summary>stderr without the progress lines (`[ 42%] running ...`) that `siv run` writes there too.</summary>
    private static string[] Messages(string err) =>
        err.TrimEnd().Split('\n').Where(l => !System.Text.RegularExpressions.Regex.IsMatch(l, @"^\[\s*\d+%\] ")).ToArray();

    private static void AssertBadInput((int Code, string Out, string Err, string Dir) r, string expected)
    {
        Assert.Equal(SivCli.BadInput, r.Code);
        var lines = Messages(r.Err);
        Assert.Single(lines);
        Assert.Contains(expected, lines[0]);
        Assert.DoesNotContain("   at ", r.Err);
        Assert.False(Directory.Exists(Path.Combine(r.Dir, "out")), "a bad run must write nothing");
        Assert.False(File.Exists(Path.Combine(r.Dir, "siv.db")), "a bad run must not create its database");
    }

    [Fact]
    public async Task A_report_that_cannot_be_written_at_the_end_goes_to_a_fallback_file_and_the_run_exits_1()
    {
        var dir = Directory.CreateTempSubdirectory("siv-cli").FullName;
        var outDir = Path.Combine(dir, "out");
        var e = new StringWriter();
        // Between the run and the write, --out turns into a file: the figures must survive that.
        var hooks = new RunOptions { Interactive = false, OnReport = _ => { Directory.Delete(outDir, true); File.WriteAllText(outDir, "in the way"); } };
        var code = await SivCli.InvokeAsync(["run", "--duration", "1", "--containers", "8", "--out", outDir, "--db", Path.Combine(dir, "siv.db")], new StringWriter(), e, hooks);
        Assert.Equal(SivCli.InvariantFailed, code);
        var line = Assert.Single(Messages(e.ToString()));
        Assert.Contains("report.json could not be written", line);
        var fallback = line[(line.LastIndexOf("written to ", StringComparison.Ordinal) + "written to ".Length)..].Trim();
        try
        {
            using var report = System.Text.Json.JsonDocument.Parse(File.ReadAllText(fallback));
            Assert.True(report.RootElement.GetProperty("invariants").GetProperty("passed").GetBoolean());
        }
        finally
        {
            File.Delete(fallback);
        }
    }

    [Theory]
    [InlineData("is a file, not a directory", "run", "--out", "{dir}/a-file")]
    [InlineData("cannot be created", "run", "--out", "{dir}/a-file/below")]
    [InlineData("--out needs a directory", "run", "--out", "")]
    [InlineData("--db needs a file path", "run", "--db", "")]
    [InlineData("--postgres needs a connection string", "run", "--postgres", "")]
    public async Task An_unusable_output_or_store_is_refused_before_the_database_is_created(string expected, params string[] args)
    {
        var dir = Directory.CreateTempSubdirectory("siv-cli").FullName;
        File.WriteAllText(Path.Combine(dir, "a-file"), "not a directory");
        var o = new StringWriter();
        var e = new StringWriter();
        var all = args.Select(a => a.Replace("{dir}", dir).Replace("{repo}", TestScenarios.RepoRoot()))
            .Concat(args.Contains("--db") || args.Contains("--postgres") ? [] : new[] { "--db", Path.Combine(dir, "siv.db") }).ToArray();
        var code = await SivCli.InvokeAsync(all, o, e, new RunOptions { Interactive = false });
        Assert.Equal(SivCli.BadInput, code);
        var line = Assert.Single(Messages(e.ToString()));
        Assert.Contains(expected, line);
        Assert.False(File.Exists(Path.Combine(dir, "siv.db")), "refused before the database was created");
        Assert.Equal("not a directory", File.ReadAllText(Path.Combine(dir, "a-file")));
    }

    /// <summary>
    /// The bad-input table: each row is what a user typed (and, where it matters, the scenario file they pointed
    /// at), and the words the one line must hold. Every row exits 2, prints one line without a stack trace, and
    /// writes nothing: no database, no report.
    /// </summary>
    [Theory]
    [InlineData("unknown command \"frobnicate\" for siv (commands: run, compare, tables, node, validate, irq, explain, calibrate)", null, "frobnicate")]
    [InlineData("siv needs a command: run, compare, tables, node, validate, irq, explain, calibrate", null)]
    [InlineData("siv tables needs a command: dump, digest", null, "tables")]
    [InlineData("unknown command \"frob\" for siv tables (commands: dump, digest)", null, "tables", "frob")]
    [InlineData("siv irq needs a command: explain", null, "irq")]
    [InlineData("--containers needs a value (a whole number of containers) before --duration", null, "run", "--containers", "--duration", "3")]
    [InlineData("--duration = abc is not a number of seconds", null, "run", "--duration", "abc")]
    [InlineData("--containers = 1.5 is not a whole number of containers", null, "run", "--containers", "1.5")]
    [InlineData("--duration needs a value (a number of seconds)", null, "run", "--duration")]
    [InlineData("--seed = x is not a whole number", null, "run", "--seed", "x")]
    [InlineData("unexpected argument \"extra\" for siv run", null, "run", "extra")]
    [InlineData("unknown option --colour for siv run (options: --scenario,", null, "run", "--colour", "red")]
    [InlineData("--duration = 100000 is out of range", null, "run", "--duration", "100000")]
    [InlineData("--containers = 2000000 is out of range (1..1000000)", null, "run", "--containers", "2000000")]
    [InlineData("siv validate needs FILE (scenario file)", null, "validate")]
    [InlineData("--format = xml is not json or table", null, "tables", "dump", "--format", "xml")]
    [InlineData("is a directory; name the database file inside it", null, "tables", "digest", "--db", "{dir}")]
    [InlineData("does not exist; `siv run` creates it", null, "tables", "digest", "--db", "{dir}/none.db")]
    [InlineData("--port = abc is not a port number", null, "node", "--port", "abc")]
    [InlineData("--join-timeout = soon is not a number of seconds", null, "node", "--join-timeout", "soon")]
    [InlineData("s.json: topology.containers = 0 is out of range (1..1000000)", """{ "topology": { "containers": 0 } }""", "run", "--scenario", "{scenario}")]
    [InlineData("s.json: topology.hosts = 65 is out of range (1..64)", """{ "topology": { "hosts": 65 } }""", "validate", "{scenario}")]
    [InlineData("s.json: seed = -1 is out of range", """{ "seed": -1 }""", "validate", "{scenario}")]
    [InlineData("s.json: key \"hosts\" appears twice at $.topology", """{ "topology": { "hosts": 1, "hosts": 2 } }""", "validate", "{scenario}")]
    [InlineData("s.json: durationSeconds must be a number", """{ "durationSeconds": "ten" }""", "validate", "{scenario}")]
    [InlineData("s.json: remapping.asidCheck must be true or false", """{ "remapping": { "asidCheck": 3 } }""", "validate", "{scenario}")]
    [InlineData("s.json: workload.transferSizes must be a list", """{ "workload": { "transferSizes": 512 } }""", "validate", "{scenario}")]
    [InlineData("s.json: name must be a string", """{ "name": 7 }""", "validate", "{scenario}")]
    [InlineData("s.json: the document is empty", "null", "validate", "{scenario}")]
    [InlineData("s.json: composition.policy \"dedicated\" gives each vdev AIs of its own",
        """{ "topology": { "devicesPerHost": 1, "aisPerDevice": 4, "containers": 8 }, "composition": { "policy": "dedicated" } }""", "validate", "{scenario}")]
    [InlineData("s.json: faults[0].kind \"explode\" is not a fault kind", """{ "faults": [ { "at": 1, "kind": "explode" } ] }""", "validate", "{scenario}")]
    [InlineData("s.json: faults[0].at = 50 s is not within the run", """{ "durationSeconds": 10, "faults": [ { "at": 50, "kind": "kill-actor", "target": "vdcm:0" } ] }""", "validate", "{scenario}")]
    [InlineData("s.json: faults[0]: surprise-remove cannot target ai", """{ "faults": [ { "at": 1, "kind": "surprise-remove", "target": "ai:0.0.0" } ] }""", "validate", "{scenario}")]
    [InlineData("delivery \"best-effort\" is not a delivery mode (modes: hardware, reliable)", """{ "delivery": "best-effort" }""", "run", "--scenario", "{scenario}")]
    [InlineData("scenario file {dir} is a directory", null, "validate", "{dir}")]
    public async Task Bad_input_is_one_line_exit_2_and_writes_nothing(string expected, string? scenario, params string[] args)
    {
        var dir = Directory.CreateTempSubdirectory("siv-cli").FullName;
        var file = scenario is null ? null : Write(dir, "s.json", scenario);
        var r = await SivIn(dir, args.Select(a => a.Replace("{scenario}", file ?? "")).ToArray());
        AssertBadInput(r, expected.Replace("{dir}", dir));
        Assert.Equal("", r.Out);
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

    /// <summary>The shipped `siv explain` examples (docs/explain.md) give the outcomes the docs describe.</summary>
    [Theory]
    [InlineData("explain-posted-sn-set.json", "posted", null, false, false, false)]
    [InlineData("explain-posted-sn-cleared.json", "posted", null, true, true, true)]
    [InlineData("explain-dma-interrupt-window.json", "blocked", "0x87", null, null, null)]
    [InlineData("explain-dma-no-write-permission.json", "blocked", "0x05", null, null, null)]
    public async Task The_shipped_explain_examples_reproduce_their_decisions(string file, string outcome, string? code, bool? notify, bool? coalesced, bool? onAfter)
    {
        var r = await Siv("explain", Path.Combine(TestScenarios.RepoRoot(), "config", "examples", file));
        Assert.Equal(0, r.Code);
        using var json = System.Text.Json.JsonDocument.Parse(r.Out);
        var root = json.RootElement;
        Assert.Equal(outcome, root.GetProperty("outcome").GetString());
        if (code is null) Assert.False(root.TryGetProperty("faultCode", out _));
        else Assert.Equal(code, root.GetProperty("faultCode").GetString());
        if (notify is null)
        {
            Assert.False(root.TryGetProperty("notify", out _));
            return;
        }
        Assert.Equal(notify, root.GetProperty("notify").GetBoolean());
        Assert.Equal(coalesced, root.GetProperty("coalesced").GetBoolean());
        var after = root.GetProperty("descriptorAfter");
        Assert.Equal(onAfter, after.GetProperty("on").GetBoolean());
        Assert.Contains(after.GetProperty("pir").EnumerateArray(), v => v.GetInt32() == 0x41);
    }

    [Theory]
    [InlineData("\"pir\": [300]", "postedDescriptor.pir: 300 is not a vector (0..255)")]
    [InlineData("\"pir\": \"0xZZ\"", "is not a 256-bit hex string")]
    [InlineData("\"pir\": true", "postedDescriptor.pir must be a list of vectors or a 256-bit hex string")]
    [InlineData("\"nv\": 256", "postedDescriptor.nv 256 is out of range (0..255)")]
    public async Task A_bad_posted_descriptor_is_one_line(string field, string expected)
    {
        var dir = Directory.CreateTempSubdirectory("siv-cli").FullName;
        var doc = ExplainTemplate.Replace("HANDLE", "3").Replace("ASID", "5").Replace("\"message\"", $"\"postedDescriptor\": {{ {field} }}, \"message\"");
        AssertBadInput(await Siv("explain", Write(dir, "e.json", doc)), expected);
    }

    [Fact]
    public async Task A_pir_given_as_hex_sets_the_vectors_its_bits_name()
    {
        var dir = Directory.CreateTempSubdirectory("siv-cli").FullName;
        // Bit 0x41 (65) and bit 0: vector 0x41's bit pending, so the post coalesces.
        var doc = ExplainTemplate.Replace("HANDLE", "3").Replace("ASID", "5")
            .Replace("\"message\"", "\"postedDescriptor\": { \"pir\": \"0x2_0000_0000_0000_0001\", \"on\": true }, \"message\"");
        var r = await Siv("explain", Write(dir, "e.json", doc));
        Assert.Equal(0, r.Code);
        using var json = System.Text.Json.JsonDocument.Parse(r.Out);
        Assert.True(json.RootElement.GetProperty("coalesced").GetBoolean());
        Assert.False(json.RootElement.GetProperty("notify").GetBoolean()); // ON=1: one is outstanding
        Assert.Equal([0, 65], json.RootElement.GetProperty("descriptorAfter").GetProperty("pir").EnumerateArray().Select(v => v.GetInt32()));
    }

    [Fact]
    public async Task Siv_calibrate_prints_each_case_modeled_against_published_with_its_source_and_exits_0()
    {
        var r = await Siv("calibrate", "--duration", "1");
        Assert.Equal(SivCli.Ok, r.Code);
        Assert.Contains("interrupt invocation posted", r.Out);
        foreach (var words in new[] { "direct", "exitless", "DID, VEE", "ELI,", "1.3-1.6", "0.8" }) Assert.Contains(words, r.Out);
        // Every case is within 20% or says why not.
        Assert.Matches(@"(within 20%|explained)", r.Out);
        Assert.DoesNotContain("[red]", r.Out);
    }

    [Fact]
    public void A_cluster_run_without_a_scenario_takes_the_six_host_cluster_scenario()
    {
        var settings = new ClusterRunSettings(["127.0.0.1:4053"], "127.0.0.1", 0, "127.0.0.1", 3, TimeSpan.FromSeconds(1));
        var cluster = RunCommand.Resolve(new RunRequest(null, null, null, null, "out") { Cluster = settings });
        Assert.Equal("cluster", cluster.Scenario.Name);
        Assert.Equal(6, cluster.Scenario.Topology.Hosts);
        Assert.Equal("default", RunCommand.Resolve(new RunRequest(null, null, null, null, "out")).Scenario.Name);
    }

    [Fact]
    public async Task A_cluster_run_with_fewer_hosts_than_workers_says_so_before_it_starts()
    {
        var dir = Directory.CreateTempSubdirectory("siv-cli").FullName;
        var scenario = Write(dir, "one-host.json", """{ "durationSeconds": 1, "topology": { "hosts": 1, "containers": 8 } }""");
        using var interrupt = new CancellationTokenSource();
        interrupt.Cancel(); // stops it during start-up, after the notice: no cluster is needed
        var e = new StringWriter();
        var code = await SivCli.InvokeAsync(["run", "--cluster", "127.0.0.1:" + Cluster.ChildProcess.FreePort(), "--workers", "3", "--scenario", scenario,
            "--db", Path.Combine(dir, "d.db"), "--out", Path.Combine(dir, "out")], new StringWriter(), e, new RunOptions { Interactive = false, Interrupt = interrupt.Token });
        Assert.Equal(SivCli.InterruptedBySigint, code);
        Assert.Contains("the scenario has 1 host(s) x 1 shard(s) for 3 workers: 2 worker(s) will run no host", e.ToString());
        Assert.Contains("interrupted while", e.ToString());
    }

    [Fact]
    public async Task A_malformed_postgres_connection_string() =>
        AssertBadInput(await Siv("run", "--postgres", "Host=;Port=not-a-port"), "PostgreSQL connection string is not valid");

    [Fact]
    public async Task An_unreachable_postgres_server()
    {
        var port = Cluster.ChildProcess.FreePort();
        AssertBadInput(await Siv("run", "--postgres", $"Host=127.0.0.1;Port={port};Username=siv;Timeout=3"), $"PostgreSQL 127.0.0.1:{port}/ is not usable");
    }

    [Fact]
    public async Task A_corrupt_database_is_refused_and_left_untouched()
    {
        var dir = Directory.CreateTempSubdirectory("siv-corrupt").FullName;
        var db = Path.Combine(dir, "siv.db");
        var garbage = new byte[8192];
        new Random(5).NextBytes(garbage);
        File.WriteAllBytes(db, garbage);
        var r = await Siv("run", "--db", db);
        AssertBadInput(r, "is not a SQLite database or is corrupt");
        Assert.Equal(garbage, File.ReadAllBytes(db));
        Assert.False(File.Exists(db + "-wal"));
        AssertBadInput(await Siv("tables", "digest", "--db", db), "is not a SQLite database or is corrupt");
    }

    [Fact]
    public async Task A_second_writer_on_a_store_in_use_is_refused_at_once_naming_the_holder_and_readers_still_read()
    {
        var dir = Directory.CreateTempSubdirectory("siv-locked").FullName;
        var db = Path.Combine(dir, "siv.db");
        Assert.Equal(SivCli.Ok, (await Siv("run", "--duration", "1", "--db", db)).Code);
        var expected = (await Siv("tables", "digest", "--db", db)).Out;
        using (StoreLock.Take(SivActors.Actors.Persistence.TableStore.Resolve(db, null), "the test's holder"))
        {
            var started = System.Diagnostics.Stopwatch.StartNew();
            var second = await Siv("run", "--db", db);
            AssertBadInput(second, "is in use by the test's holder (pid " + Environment.ProcessId);
            // Refused before anything runs (the run itself would take its 20 s); the bound is loose for slow machines.
            Assert.True(started.Elapsed < TimeSpan.FromSeconds(10), $"took {started.Elapsed.TotalSeconds:0.0} s");
            // Reading is not writing: the digest works on a store in use, and gives the same answer.
            var digest = await Siv("tables", "digest", "--db", db);
            Assert.Equal(SivCli.Ok, digest.Code);
            Assert.Equal(expected, digest.Out);
        }
        // Released with its holder: the store is usable again.
        Assert.Equal(SivCli.Ok, (await Siv("run", "--duration", "1", "--db", db)).Code);
    }

    [Theory]
    [MemberData(nameof(TestStores.Kinds), MemberType = typeof(TestStores))]
    public async Task One_writer_per_store_the_second_is_refused_naming_the_first_and_the_lock_goes_with_its_holder(string kind)
    {
        // Another store on the same server, held first: its holder must not be named for ours (PostgreSQL lists the
        // whole server's advisory locks).
        await using var other = await TestStores.CreateAsync(kind);
        using var otherHolder = StoreLock.Take(other.Store, "another store's driver");
        await using var db = await TestStores.CreateAsync(kind);
        var first = StoreLock.Take(db.Store, "the first driver");
        Assert.NotNull(first);
        var refused = Assert.Throws<SivActors.Model.SivInputException>(() => StoreLock.Take(db.Store, "the second driver"));
        Assert.Contains("is in use by the first driver (pid " + Environment.ProcessId, refused.Message);
        Assert.DoesNotContain('\n', refused.Message);
        first!.Dispose();
        using var third = StoreLock.Take(db.Store, "the third driver");
        Assert.NotNull(third);
    }

    [Fact]
    public async Task A_store_with_one_undecodable_event_is_refused_at_once_naming_the_table_and_nothing_is_appended()
    {
        var dir = Directory.CreateTempSubdirectory("siv-bad-event").FullName;
        var db = Path.Combine(dir, "siv.db");
        Assert.Equal(SivCli.Ok, (await Siv("run", "--duration", "1", "--db", db)).Code);
        long Rows()
        {
            using var c = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={db};Pooling=false");
            c.Open();
            using var q = c.CreateCommand();
            q.CommandText = "SELECT count(*) FROM journal";
            return (long)q.ExecuteScalar()!;
        }
        using (var c = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={db};Pooling=false"))
        {
            c.Open();
            using var u = c.CreateCommand();
            // The interrupt unit's newest event (after its snapshot, so recovery reads it) gets format version 209.
            u.CommandText = "UPDATE journal SET message = x'D101020304' WHERE persistence_id = 'interrupt-unit-h0' AND sequence_number = " +
                            "(SELECT max(sequence_number) FROM journal WHERE persistence_id = 'interrupt-unit-h0')";
            Assert.Equal(1, u.ExecuteNonQuery());
        }
        var before = Rows();

        var started = System.Diagnostics.Stopwatch.StartNew();
        var run = await Siv("run", "--db", db);
        AssertBadInput(run, "table interrupt-unit-h0 cannot be recovered after sequence number");
        Assert.Contains("--fresh", run.Err);
        Assert.True(started.Elapsed < TimeSpan.FromSeconds(60), $"took {started.Elapsed.TotalSeconds:0} s");
        Assert.Equal(before, Rows());

        var digest = await Siv("tables", "digest", "--db", db);
        Assert.Equal(SivCli.BadInput, digest.Code);
        Assert.Equal("", digest.Out);
        Assert.Contains("interrupt-unit-h0 cannot be replayed", Assert.Single(digest.Err.TrimEnd().Split('\n')));
    }

    [Fact]
    [System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
    public async Task A_read_only_database_is_refused_and_left_untouched()
    {
        var dir = Directory.CreateTempSubdirectory("siv-ro").FullName;
        var db = Path.Combine(dir, "siv.db");
        var first = await Siv("run", "--db", db, "--containers", "20", "--duration", "0.5");
        Assert.Equal(SivCli.Ok, first.Code);
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        var before = File.ReadAllBytes(db);
        using var readOnly = ReadOnlyView.Of(dir);
        var r = await Siv("run", "--db", Path.Combine(readOnly.Path, "siv.db"), "--containers", "20", "--duration", "0.5");
        AssertBadInput(r, "is read-only");
        Assert.Equal(before, File.ReadAllBytes(db));
    }

    [Theory]
    [InlineData("--shards-per-host 0 must be at least 1", "run", "--cluster", "127.0.0.1:1", "--shards-per-host", "0")]
    [InlineData("--port -5 is out of range", "run", "--cluster", "127.0.0.1:1", "--port", "-5")]
    [InlineData("seed \"nonsense\" is not host:port", "run", "--cluster", "nonsense")]
    [InlineData("--workers must be at least 1", "run", "--cluster", "127.0.0.1:1", "--workers", "0")]
    [InlineData("workload.noisyNeighbour runs on one node; run this scenario without --cluster", "run", "--cluster", "127.0.0.1:1", "--scenario", "{repo}/config/scenarios/noisy-neighbour.json")]
    [InlineData("--shards-per-host 0 must be at least 1", "node", "--seeds", "127.0.0.1:1", "--shards-per-host", "0", "--db", "{dir}/n.db")]
    public async Task Cluster_options_refuse_nonsense(string expected, params string[] args) => AssertBadInput(await Siv(args), expected);

    [Fact]
    public async Task Siv_validate_names_an_sriov_scenario_s_vfs_and_the_containers_beyond_them()
    {
        var dir = Directory.CreateTempSubdirectory("siv-validate").FullName;
        var scenario = Write(dir, "s.json", """{ "name": "vf", "mode": "sriov", "topology": { "devicesPerHost": 2, "vfsPerDevice": 8, "containers": 20 } }""");
        var r = await Siv("validate", scenario);
        Assert.Equal(SivCli.Ok, r.Code);
        Assert.Contains("valid (vf: 1 host(s), 2x8 VFs, 20 containers (4 beyond the VF limit, unserved), 20 s, mode sriov)", r.Out);
        Directory.Delete(dir, true);
    }

    [Fact]
    public async Task Siv_compare_runs_each_mode_and_writes_the_comparison_side_by_side()
    {
        var dir = Directory.CreateTempSubdirectory("siv-compare").FullName;
        var scenario = Path.Combine(dir, "small.json");
        File.WriteAllText(scenario, """{ "name": "small", "topology": { "hosts": 1, "devicesPerHost": 2, "aisPerDevice": 4, "containers": 8, "workQueueSize": 8, "workQueueThreshold": 6 } }""");
        var r = await Siv("compare", "--scenario", scenario, "--duration", "1", "--out", Path.Combine(dir, "out"));
        Assert.True(r.Code == SivCli.Ok, r.Err + r.Out);
        foreach (var file in new[] { "compare.json", "compare.html", "compare.png", "compare-served.png" }) Assert.True(File.Exists(Path.Combine(dir, "out", file)), file);
        using var json = System.Text.Json.JsonDocument.Parse(File.ReadAllText(Path.Combine(dir, "out", "compare.json")));
        var modes = json.RootElement.GetProperty("modes").EnumerateArray().ToDictionary(m => m.GetProperty("mode").GetString()!);
        Assert.Equal(["siov", "sriov", "emulated"], modes.Keys);
        Assert.Equal(0, modes["siov"].GetProperty("vdcmMessagesOnFastPath").GetInt64());
        // Two devices of 64 VFs serve all eight containers: SR-IOV's limit is in the model, not in the report.
        Assert.Equal((8, 0), (modes["sriov"].GetProperty("containersServed").GetInt32(), modes["sriov"].GetProperty("containersUnserved").GetInt32()));
        Assert.True(modes["emulated"].GetProperty("vdcmMessagesOnFastPath").GetInt64() > 0);
        Assert.True(modes["emulated"].GetProperty("modeledFastNs").GetProperty("p50").GetDouble() > modes["siov"].GetProperty("modeledFastNs").GetProperty("p50").GetDouble());
        Assert.All(modes.Values, m => Assert.True(m.GetProperty("invariantsHold").GetBoolean()));
        Assert.Contains("modes side by side", r.Out);
        Directory.Delete(dir, true);
    }

    [Theory]
    [InlineData("--modes: mode \"virtio\" is not a mode", "siov,virtio")]
    [InlineData("--modes names siov twice", "siov,emulated,siov")]
    [InlineData("--modes: mode \"fast\" is not a mode", "fast")]
    public async Task Siv_compare_refuses_a_mode_it_cannot_run_before_running_any(string expected, string modes)
    {
        // AssertBadInput also checks that nothing was written: no --out directory.
        AssertBadInput(await Siv("compare", "--modes", modes, "--out", "{dir}/out"), expected);
    }

    [Fact]
    public async Task Tables_of_an_empty_or_missing_database()
    {
        AssertBadInput(await Siv("tables", "digest", "--db", "{dir}/none.db"), "does not exist; `siv run` creates it");
        AssertBadInput(await Siv("tables", "dump", "--db", "{dir}/none.db", "--asid", "0x100000"), "is not a 20-bit ASID");
    }
}

/// <summary>
/// A read-only view of a directory: a read-only bind mount when running as root (root ignores file modes), or
/// immutable files and directory where mounting is not allowed; otherwise the directory's write permission removed.
/// Undone on dispose.
/// </summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
internal sealed class ReadOnlyView : IDisposable
{
    private readonly string _dir;
    private readonly bool _mounted;

    private ReadOnlyView(string dir, string path, bool mounted)
    {
        _dir = dir;
        Path = path;
        _mounted = mounted;
    }

    public string Path { get; }

    public static ReadOnlyView Of(string dir)
    {
        if (Environment.UserName != "root")
        {
            foreach (var f in Directory.GetFiles(dir)) File.SetUnixFileMode(f, UnixFileMode.UserRead);
            File.SetUnixFileMode(dir, UnixFileMode.UserRead | UnixFileMode.UserExecute);
            return new ReadOnlyView(dir, dir, mounted: false);
        }
        var view = Directory.CreateTempSubdirectory("siv-ro-view").FullName;
        try
        {
            Run("mount", "-o", "bind,ro", dir, view);
            return new ReadOnlyView(dir, view, mounted: true);
        }
        catch (Exception e) when (e is InvalidOperationException or System.ComponentModel.Win32Exception)
        {
            // No mount privilege here: an immutable directory and file are read-only for root too.
            Directory.Delete(view);
            foreach (var f in Directory.GetFiles(dir)) Run("chattr", "+i", f);
            Run("chattr", "+i", dir);
            return new ReadOnlyView(dir, dir, mounted: false) { _immutable = true };
        }
    }

    private bool _immutable;

    public void Dispose()
    {
        if (_mounted)
        {
            Run("umount", Path);
            Directory.Delete(Path);
            return;
        }
        if (_immutable)
        {
            Run("chattr", "-i", _dir);
            foreach (var f in Directory.GetFiles(_dir)) Run("chattr", "-i", f);
            return;
        }
        File.SetUnixFileMode(_dir, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
    }

    private static void Run(string file, params string[] args)
    {
        using var p = System.Diagnostics.Process.Start(new System.Diagnostics.ProcessStartInfo(file, args) { RedirectStandardError = true })!;
        var err = p.StandardError.ReadToEnd();
        p.WaitForExit();
        if (p.ExitCode != 0) throw new InvalidOperationException($"{file} {string.Join(' ', args)} failed: {err}");
    }
}
