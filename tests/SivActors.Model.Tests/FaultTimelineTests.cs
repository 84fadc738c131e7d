using SivActors.Model;
using SivActors.Model.Faults;
using SivActors.Model.Scenarios;

namespace SivActors.Model.Tests;

[Trait("Category", "Faults")]
public class FaultTimelineTests
{
    private static string CostModel => Path.Combine(ScenarioLoaderTests.RepoRoot(), "config", "cost-model.json");

    // A 10 s run on 2 hosts x 2 devices x 4 AIs, 16 containers.
    private static ResolvedScenario Load(string faults)
    {
        var path = Path.Combine(Path.GetTempPath(), $"siv-faults-{Guid.NewGuid():N}.json");
        File.WriteAllText(path, $$"""
            { "durationSeconds": 10,
              "topology": { "hosts": 2, "devicesPerHost": 2, "aisPerDevice": 4, "containers": 16, "imsEntriesPerDevice": 256 },
              "faults": [ {{faults}} ] }
            """);
        try
        {
            return ScenarioLoader.Load(path, CostModel);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void Every_available_kind_parses_with_its_values_and_defaults()
    {
        var s = Load("""
            { "at": 1, "kind": "kill-actor", "target": "ai:1.1.3" },
            { "at": 1.5, "kind": "kill-actor", "target": "ai", "random": 3 },
            { "at": 2, "kind": "drop", "hop": "ai-to-interrupt-unit", "probability": 0.01, "for": 2 },
            { "at": 2, "kind": "delay", "hop": "ai-to-dma-unit", "delayMs": 20, "for": 1 },
            { "at": 3, "kind": "journal-fail", "target": "vdcm:0", "for": 1 },
            { "at": 4, "kind": "journal-stall", "target": "interrupt-unit:1", "for": 0.5 },
            { "at": 5, "kind": "rogue-storm", "target": "ai:0.0.0", "for": 2 }
            """);
        var faults = FaultTimeline.Validate(s.Scenario);
        Assert.Equal(7, faults.Count);
        Assert.Equal(new FaultTarget(TargetKind.Ai, [1, 1, 3]).ToString(), faults[0].Target!.ToString());
        Assert.Equal("3 random ai", faults[1].TargetText);
        Assert.Equal(Hop.AiToInterruptUnit, faults[2].Hop);
        Assert.Equal(0.01, faults[2].Probability);
        Assert.Equal(4, faults[2].EndSeconds);
        Assert.Equal(20, faults[3].DelayMs);
        Assert.Equal(JournalTarget(TargetKind.Vdcm, 0), (faults[4].Target!.Kind, faults[4].Target!.Host));
        Assert.Equal(JournalTarget(TargetKind.InterruptUnit, 1), (faults[5].Target!.Kind, faults[5].Target!.Host));
        Assert.Equal(FaultTimeline.DefaultBurst, faults[6].Burst);
        Assert.Null(faults[0].ForSeconds);
    }

    private static (TargetKind, int) JournalTarget(TargetKind kind, int host) => (kind, host);

    [Theory]
    [InlineData("""{ "at": 1, "kind": "explode" }""", "faults[0].kind \"explode\" is not a fault kind (kinds: kill-actor,")]
    [InlineData("""{ "at": 1 }""", "faults[0].kind is missing")]
    [InlineData("""{ "at": 10, "kind": "kill-actor", "target": "vdcm:0" }""", "faults[0].at = 10 s is not within the run (0 <= at < durationSeconds = 10)")]
    [InlineData("""{ "at": -1, "kind": "kill-actor", "target": "vdcm:0" }""", "faults[0].at = -1 s is not within the run")]
    [InlineData("""{ "at": 9, "kind": "drop", "hop": "ai-to-interrupt-unit", "probability": 0.1, "for": 2 }""", "faults[0]: at + for = 11 s ends after the run")]
    [InlineData("""{ "at": 1, "kind": "drop", "hop": "ai-to-interrupt-unit", "probability": 1.5, "for": 2 }""", "faults[0].probability = 1.5 is out of range (0..1)")]
    [InlineData("""{ "at": 1, "kind": "drop", "hop": "ai-to-interrupt-unit", "for": 2 }""", "faults[0]: drop needs \"probability\"")]
    [InlineData("""{ "at": 1, "kind": "drop", "hop": "everywhere", "probability": 0.1, "for": 2 }""", "faults[0].hop \"everywhere\" is not a hop")]
    [InlineData("""{ "at": 1, "kind": "drop", "hop": "ai-to-dma-unit", "probability": 0.1, "for": 2 }""", "drop on ai-to-dma-unit cannot be scheduled yet")]
    [InlineData("""{ "at": 1, "kind": "drop", "probability": 0.1, "hop": "ai-to-interrupt-unit" }""", "faults[0]: drop needs \"for\"")]
    [InlineData("""{ "at": 1, "kind": "delay", "hop": "container-to-ai", "delayMs": 0, "for": 1 }""", "faults[0].delayMs = 0 is out of range (1..10000)")]
    [InlineData("""{ "at": 1, "kind": "kill-actor", "target": "ai:2.0.0" }""", "faults[0].target ai:2.0.0: the topology has no host 2 (it has 2: 0..1)")]
    [InlineData("""{ "at": 1, "kind": "kill-actor", "target": "ai:0.0.4" }""", "the topology has no AI 4 (it has 4: 0..3)")]
    [InlineData("""{ "at": 1, "kind": "kill-actor", "target": "ai:0.1" }""", "faults[0].target \"ai:0.1\" needs 3 number(s) after \"ai:\"")]
    [InlineData("""{ "at": 1, "kind": "kill-actor", "target": "gpu:0" }""", "faults[0].target \"gpu:0\" names no entity kind")]
    [InlineData("""{ "at": 1, "kind": "kill-actor", "target": "ai" }""", "names a kind, not an entity; add \"random\": n")]
    [InlineData("""{ "at": 1, "kind": "kill-actor", "target": "ai", "random": 17 }""", "faults[0].random = 17 is out of range (1..16")]
    [InlineData("""{ "at": 1, "kind": "kill-actor", "target": "vdcm:0", "for": 1 }""", "faults[0].for does not apply to kill-actor")]
    [InlineData("""{ "at": 1, "kind": "kill-actor", "target": "container:3" }""", "kill-actor cannot target container")]
    [InlineData("""{ "at": 1, "kind": "journal-fail", "target": "ai:0.0.0", "for": 1 }""", "journal-fail cannot target ai")]
    [InlineData("""{ "at": 1, "kind": "rogue-storm", "target": "ai:0.0.0", "for": 1, "burst": 0 }""", "faults[0].burst = 0 is out of range (1..1024)")]
    [InlineData("""{ "at": 1, "kind": "partition", "for": 1 }""", "faults[0]: partition needs \"target\"")]
    [InlineData("""{ "at": 1, "kind": "partition", "target": "node:1" }""", "faults[0]: partition needs \"for\"")]
    [InlineData("""{ "at": 1, "kind": "partition", "target": "ai:0.0.0", "for": 1 }""", "faults[0]: partition cannot target ai (the worker cut off from every other member, node:N")]
    [InlineData("""{ "at": 1, "kind": "stale-iec", "target": "vdcm:0", "for": 1 }""", "faults[0]: stale-iec cannot target vdcm")]
    [InlineData("""{ "at": 1, "kind": "stale-iec", "target": "interrupt-unit:0" }""", "faults[0]: stale-iec needs \"for\"")]
    [InlineData("""{ "at": 1, "kind": "stale-iec", "target": "interrupt-unit:7", "for": 1 }""", "faults[0].target")]
    [InlineData("""{ "at": 1, "kind": "kill-actor", "target": "vdcm:0", "colour": "red" }""", "unknown key \"colour\" at $.faults[0]")]
    [InlineData("""{ "at": 1, "kind": "surprise-remove", "target": "ai:0.0.0" }""", "faults[0]: surprise-remove cannot target ai (the hosting function that disappears, device:H.D)")]
    [InlineData("""{ "at": 1, "kind": "surprise-remove" }""", "faults[0]: surprise-remove needs \"target\"")]
    [InlineData("""{ "at": 1, "kind": "surprise-remove", "target": "device:0.9" }""", "faults[0].target device:0.9: the topology has no device 9")]
    [InlineData("""{ "at": 1, "kind": "surprise-remove", "target": "device:0.1", "for": 2 }""", "faults[0].for does not apply to surprise-remove")]
    [InlineData("""{ "at": 1, "kind": "crash-node", "target": "vdcm:0" }""", "faults[0]: crash-node cannot target vdcm (the worker whose process ends, node:N")]
    [InlineData("""{ "at": 1, "kind": "crash-node" }""", "faults[0]: crash-node needs \"target\"")]
    [InlineData("""{ "at": 1, "kind": "crash-node", "target": "node:a" }""", "faults[0].target \"node:a\": \"a\" is not a number")]
    [InlineData("""{ "at": 1, "kind": "crash-node", "target": "node:1", "for": 2 }""", "faults[0].for does not apply to crash-node")]
    [InlineData("""{ "at": 1, "kind": "restart-node", "target": "node:1" }""", "faults[0]: restart-node node:1 at 1 s needs a crash-node of node:1 before it")]
    [InlineData("""{ "at": 3, "kind": "restart-node", "target": "node:1" }, { "at": 2, "kind": "crash-node", "target": "node:0" }""", "faults[0]: restart-node node:1 at 3 s needs a crash-node of node:1 before it")]
    [InlineData("""{ "at": 1, "kind": "restart-node", "target": "node:1" }, { "at": 2, "kind": "crash-node", "target": "node:1" }""", "faults[0]: restart-node node:1 at 1 s needs a crash-node of node:1 before it")]
    [InlineData("""{ "at": 1, "kind": "crash-node", "target": "node:1" }, { "at": 2, "kind": "restart-node", "target": "node:1" }, { "at": 3, "kind": "restart-node", "target": "node:1" }""", "faults[2]: node:1 is restarted twice after one crash-node")]
    [InlineData("""{ "at": 1, "kind": "crash-node", "target": "node:1" }, { "at": 2, "kind": "restart-node", "target": "node:1", "for": 1 }""", "faults[1].for does not apply to restart-node")]
    [InlineData("""{ "at": 1, "kind": "restart-node" }""", "faults[0]: restart-node needs \"target\"")]
    public void A_bad_fault_is_one_line_naming_the_entry(string fault, string expected)
        => AssertOneLine(() => Load(fault), expected);

    [Fact]
    public void A_restart_node_brings_back_the_worker_its_latest_crash_took_down()
    {
        var faults = FaultTimeline.Validate(Load("""
            { "at": 1, "kind": "crash-node", "target": "node:1" }, { "at": 3, "kind": "restart-node", "target": "node:1" },
            { "at": 5, "kind": "crash-node", "target": "node:1" }, { "at": 2, "kind": "crash-node", "target": "node:0" }
            """).Scenario);
        Assert.Equal(faults[1], FaultTimeline.RestartAfter(faults, faults[0]));
        Assert.Equal(faults[0], FaultTimeline.CrashBefore(faults, faults[1]));
        // The second crash of node:1 and the crash of node:0 have no restart: those workers stay down.
        Assert.Null(FaultTimeline.RestartAfter(faults, faults[2]));
        Assert.Null(FaultTimeline.RestartAfter(faults, faults[3]));
        Assert.Equal("faults[0]: crash-node acts on a cluster's nodes; run this scenario with `siv run --cluster` (docs/faults.md)", FaultTimeline.NeedsCluster(faults));
    }

    [Fact]
    public void A_crash_node_fault_names_a_worker_by_number_and_only_a_cluster_run_takes_it()
    {
        var s = Load("""{ "at": 1, "kind": "kill-actor", "target": "vdcm:0" }, { "at": 2, "kind": "crash-node", "target": "node:7" }""");
        var faults = FaultTimeline.Validate(s.Scenario);
        var crash = faults[1];
        Assert.Equal(FaultKind.CrashNode, crash.Kind);
        Assert.Equal(new[] { 7 }, crash.Target!.Index);
        Assert.Equal(-1, crash.Target.Host);
        Assert.Equal("node:7", crash.TargetText);
        Assert.Null(crash.ForSeconds);
        Assert.Equal("faults[1]: crash-node acts on a cluster's nodes; run this scenario with `siv run --cluster` (docs/faults.md)", FaultTimeline.NeedsCluster(faults));
        Assert.Null(FaultTimeline.NeedsCluster([faults[0]]));
    }

    [Fact]
    public void A_node_s_fault_counts_add_up_on_the_driver_with_the_earliest_detection()
    {
        var s = Load("""{ "at": 1, "kind": "drop", "hop": "ai-to-interrupt-unit", "probability": 0.1, "for": 2 }""");
        var driver = new FaultPlane(1, FaultTimeline.Validate(s.Scenario)).Stats[0];
        var start = System.Diagnostics.Stopwatch.GetTimestamp();
        driver.Add(new FaultCounts(0, 10, 4, 0, 0, 1_500_000) { Crossed = 200 }, start);
        driver.Add(new FaultCounts(0, 5, 2, 1, 3, 1_200_000) { Crossed = 90 }, start);
        driver.Add(new FaultCounts(0, 1, 0, 0, 0, -1), start);
        Assert.Equal((16, 6, 1, 3, 290), (driver.Affected, driver.Lost, driver.Refused, driver.Aborted, driver.Crossed));
        Assert.Equal(1.2, (driver.DetectedTicks - start) / (double)System.Diagnostics.Stopwatch.Frequency, 3);
        var back = driver.Counts(start);
        Assert.Equal((0, 16L, 6L, 1L, 3L, 290L), (back.Fault, back.Affected, back.Lost, back.Refused, back.Aborted, back.Crossed));
        Assert.InRange(back.DetectedUs, 1_199_000, 1_201_000);
    }

    [Theory]
    [InlineData("best-effort", "delivery \"best-effort\" is not a delivery mode (modes: hardware, reliable)")]
    [InlineData("Reliable", "delivery \"Reliable\" is not a delivery mode (modes: hardware, reliable)")]
    public void An_unknown_delivery_mode_is_one_line(string mode, string expected)
    {
        var path = Path.Combine(Path.GetTempPath(), $"siv-delivery-{Guid.NewGuid():N}.json");
        File.WriteAllText(path, $$"""{ "delivery": "{{mode}}" }""");
        AssertOneLine(() => ScenarioLoader.Load(path, CostModel), expected);
        File.Delete(path);
    }

    [Theory]
    [InlineData("hardware", false)]
    [InlineData("reliable", true)]
    public void Both_delivery_modes_load(string mode, bool reliable)
    {
        var path = Path.Combine(Path.GetTempPath(), $"siv-delivery-{Guid.NewGuid():N}.json");
        File.WriteAllText(path, $$"""{ "delivery": "{{mode}}" }""");
        var loaded = ScenarioLoader.Load(path, CostModel).Scenario;
        File.Delete(path);
        Assert.Equal(mode, loaded.Delivery);
        Assert.Equal(reliable, loaded.ReliableDelivery);
    }

    private static void AssertOneLine(Action load, string expected)
    {
        var e = Assert.Throws<SivInputException>(load);
        Assert.Contains(expected, e.Message);
        Assert.DoesNotContain('\n', e.Message);
    }

    [Fact]
    public void The_second_fault_is_named_by_its_index() =>
        // The message names the file, then the entry.
        Assert.Matches(@"\.json: faults\[1\]\.", Assert.Throws<SivInputException>(() => Load("""
            { "at": 1, "kind": "kill-actor", "target": "vdcm:0" }, { "at": 1, "kind": "kill-actor", "target": "vdcm:7" }
            """)).Message);

    private static ScheduledFault Drop(double p) =>
        new(0, FaultKind.Drop, 1, 1, null, 0, Hop.AiToInterruptUnit, p, 0, 0);

    [Fact]
    public void A_drop_rule_loses_its_share_of_messages_and_repeats_with_the_seed()
    {
        var a = new HopRule(new FaultStats(Drop(0.1)), 42);
        var b = new HopRule(new FaultStats(Drop(0.1)), 42);
        var dropsA = Enumerable.Range(0, 100_000).Select(_ => a.DropsNext()).ToArray();
        var dropsB = Enumerable.Range(0, 100_000).Select(_ => b.DropsNext()).ToArray();
        Assert.Equal(dropsA, dropsB);
        Assert.InRange(dropsA.Count(d => d), 9_400, 10_600);
        var never = new HopRule(new FaultStats(Drop(0)), 42);
        Assert.DoesNotContain(true, Enumerable.Range(0, 10_000).Select(_ => never.DropsNext()));
        var always = new HopRule(new FaultStats(Drop(1)), 42);
        Assert.DoesNotContain(false, Enumerable.Range(0, 10_000).Select(_ => always.DropsNext()));
    }

    [Fact]
    public void The_plane_arms_a_hop_only_while_its_rule_is_in_force_or_it_holds_delayed_messages()
    {
        var stats = new FaultStats(Drop(0.5));
        var plane = new FaultPlane(1, [stats.Fault]);
        Assert.False(plane.HopsArmed);
        plane.StartHop(plane.Stats[0]);
        Assert.True(plane.HopsArmed);
        Assert.NotNull(plane.Rule(Hop.AiToInterruptUnit));
        Assert.Null(plane.Rule(Hop.AiToDmaUnit));
        Assert.False(plane.Stats[0].Injected); // in force, but nothing touched yet
        plane.Hold(Hop.AiToInterruptUnit);
        plane.EndHop(plane.Stats[0]);
        Assert.Null(plane.Rule(Hop.AiToInterruptUnit));
        Assert.True(plane.HopsArmed);
        plane.Release(Hop.AiToInterruptUnit);
        Assert.False(plane.HopsArmed);
    }

    [Fact]
    public void A_journal_fault_applies_to_its_owner_only_and_ends()
    {
        var s = Load("""{ "at": 3, "kind": "journal-fail", "target": "vdcm:1", "for": 1 }""");
        var plane = new FaultPlane(1, FaultTimeline.Validate(s.Scenario));
        plane.StartJournal(plane.Stats[0], JournalCondition.Failing);
        Assert.Equal(JournalCondition.Failing, plane.Journal(TargetKind.Vdcm, 1).Condition);
        Assert.Equal(JournalCondition.Healthy, plane.Journal(TargetKind.Vdcm, 0).Condition);
        Assert.Equal(JournalCondition.Healthy, plane.Journal(TargetKind.InterruptUnit, 1).Condition);
        plane.EndJournal(plane.Stats[0]);
        Assert.Equal(JournalCondition.Healthy, plane.Journal(TargetKind.Vdcm, 1).Condition);
    }

    [Fact]
    public void Throughput_is_recovered_at_the_first_second_after_the_fault_back_at_80_percent()
    {
        var trace = new ThroughputTrace();
        long ops = 0;
        for (var i = 0; i <= 100; i++)
        {
            var t = i * 0.1;
            // 1000 ops/s, nothing between 3 and 4 s, then 500 ops/s until 6 s, then 1000 again.
            trace.Add(t, ops);
            ops += t switch { >= 3 and < 4 => 0, >= 4 and < 6 => 50, _ => 100 };
        }
        Assert.Equal(1000, trace.Baseline(3)!.Value, 1);
        Assert.Equal(0, trace.Rate(3, 4)!.Value, 1);
        // The 1 s window ending at t holds at least 800 ops once 0.6 s of it run at full rate: t = 6.6 s.
        Assert.Equal(6.6, trace.RecoveredAt(3, 4)!.Value, 3);
        Assert.Null(trace.Baseline(0.2));
        Assert.Null(trace.RecoveredAt(0.2, 1));
    }

    [Fact]
    public void A_fault_seen_late_recovers_no_earlier_than_it_was_seen()
    {
        // A crash whose throughput never dipped (the survivors took the freed cores) but that a failure detector saw
        // only 3 s later: recovery is read from the detection on, not from the rate around the instant it fired.
        var s = Load("""{ "at": 2, "kind": "kill-actor", "target": "vdcm:0" }""");
        var plane = new FaultPlane(1, FaultTimeline.Validate(s.Scenario));
        var start = System.Diagnostics.Stopwatch.GetTimestamp();
        var stats = plane.Stats[0];
        stats.Fired(start + 2 * System.Diagnostics.Stopwatch.Frequency);
        stats.Add(new FaultCounts(0, 1, 0, 0, 0, 5_000_000), start);
        for (var i = 0; i <= 80; i++) plane.Trace.Add(i * 0.1, i * 100);
        var outcome = Assert.Single(FaultOutcomes.Of(plane, plane.Trace, start));
        Assert.Equal(5, outcome.DetectedAtS);
        Assert.True(outcome.RecoveredAtS >= 5, $"recovered at {outcome.RecoveredAtS} s, before it was detected at 5 s");
    }

    [Fact]
    public void Throughput_that_never_comes_back_has_no_recovery()
    {
        var trace = new ThroughputTrace();
        for (var i = 0; i <= 50; i++) trace.Add(i * 0.1, i < 30 ? i * 100 : 3000);
        Assert.Null(trace.RecoveredAt(3, 3));
    }

    [Fact]
    public void A_cluster_trace_puts_each_node_s_operations_at_their_own_times_not_when_its_report_arrived()
    {
        // Two nodes at 1000 ops/s reporting every 0.5 s on their own clocks. One is cut off from 2 to 5 s: its reports
        // arrive late, but each carries the node's own time, so the sum keeps 2000 ops/s throughout.
        var a = new ThroughputTrace();
        var b = new ThroughputTrace();
        a.Add(0, 0);
        b.Add(0, 0);
        for (var i = 1; i <= 16; i++)
        {
            a.Add(i * 0.5, i * 500);
            b.Add(i * 0.5, i * 500);
        }
        var sum = ThroughputTrace.Sum([a, b], 0.1);
        Assert.Equal(0, sum.Samples[0].Seconds);
        Assert.Equal(8, sum.Samples[^1].Seconds, 6);
        Assert.Equal(16_000, sum.Samples[^1].Operations);
        Assert.Equal(2000, sum.Baseline(6)!.Value, 1);
        Assert.Equal(2000, sum.Rate(2, 5)!.Value, 1);

        // A node lost at 3 s holds its last count: the sum falls to the survivor's rate, and stays a trace to the end.
        var lost = new ThroughputTrace();
        lost.Add(0, 0);
        lost.Add(3, 3000);
        var after = ThroughputTrace.Sum([a, lost], 0.1);
        Assert.Equal(2000, after.Rate(1, 3)!.Value, 1);
        Assert.Equal(1000, after.Rate(4, 8)!.Value, 1);
        Assert.Empty(ThroughputTrace.Sum([], 0.1).Samples);
    }
}
