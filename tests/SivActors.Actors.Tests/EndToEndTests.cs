using System.Text.Json;
using SivActors.Actors.Run;
using SivActors.Cli;
using SivActors.Model.Reporting;
using SivActors.Model.Scenarios;
using SivActors.Model.Workload;

namespace SivActors.Actors.Tests;

/// <summary>Small scenarios through the same code as `siv run`.</summary>
public sealed class EndToEndTests
{
    internal static async Task<RunReport> Run(ResolvedScenario scenario)
    {
        var outcome = await EmulatorRun.RunAsync(scenario, new RunProgress());
        Assert.Null(outcome.Failure);
        return outcome.Report!;
    }

    internal static void AssertInvariants(RunReport r)
    {
        Assert.True(r.Invariants.Passed, string.Join("; ", r.Invariants.Violations));
        Assert.True(r.Ledger.Interrupts.Balanced);
        Assert.True(r.Ledger.Descriptors.Balanced);
        Assert.True(r.Ledger.Dma.Balanced);
        Assert.Equal(0, r.Ledger.Interrupts.Misdelivered);
        Assert.Equal(0, r.Ledger.Interrupts.Lost);
        Assert.Equal(0, r.Paths.VdcmMessagesOnFastPath);
        Assert.Equal(0, r.Ledger.Descriptors.InFlight);
        Assert.Equal(r.Ledger.Descriptors.Completed, r.Ledger.Descriptors.Verified);
        Assert.True(r.Throughput.Operations > 0);
    }

    [Fact]
    public async Task Dedicated_wqs_balance_and_fault_every_rogue_kind_with_its_code()
    {
        var r = await Run(TestScenarios.Small());
        AssertInvariants(r);
        foreach (var kind in Enum.GetValues<RogueKind>())
        {
            var name = RunMetrics.Camel(kind.ToString());
            Assert.True(r.Rogue.Forged[name] > 0, $"no {name} forged");
            Assert.Equal(r.Rogue.Forged[name], r.Rogue.FaultedAsExpected[name]);
        }
        Assert.True(r.Paths.Slow.GetValueOrDefault("vdevReset") > 0);
        Assert.True(r.Ledger.Interrupts.Faulted.GetValueOrDefault("0xA1") > 0, "the patent's ASID check never fired");
        Assert.True(r.Ledger.Interrupts.DeliveredPosted > 0 && r.Ledger.Interrupts.DeliveredRemapped > 0);
    }

    [Fact]
    public async Task In_emulated_mode_every_submission_traps_to_the_vdcm_and_every_interrupt_is_injected_exit_based()
    {
        var r = await Run(TestScenarios.Small(s => s with { Mode = "emulated" }));
        // The VDCM on the fast path is the design here, not a violation; every other invariant holds as in siov.
        Assert.True(r.Invariants.Passed, string.Join("; ", r.Invariants.Violations));
        Assert.Equal("emulated", r.Scenario.Mode);
        Assert.Equal(r.Ledger.Descriptors.Submitted, r.Paths.VdcmMessagesOnFastPath);
        Assert.Equal(0, r.Ledger.Interrupts.DeliveredPosted);
        Assert.True(r.Ledger.Interrupts.DeliveredRemapped > 0);
        // Each descriptor carries the trap's modeled cost on top of the portal write.
        Assert.True(r.Latency.ModeledNs.Fast.P50 >= 3_000 + 250, $"modeled fast p50 {r.Latency.ModeledNs.Fast.P50} ns");
    }

    [Fact]
    public async Task In_sriov_mode_each_served_container_has_a_vf_and_the_source_id_check_contains_every_forgery()
    {
        // 2 devices x 3 VFs for 8 containers: 6 served, 2 unserved.
        var r = await Run(TestScenarios.Small(s => s with { Mode = "sriov", Topology = s.Topology with { VfsPerDevice = 3 } }));
        AssertInvariants(r);
        Assert.Equal(("sriov", 6, 2), (r.Scenario.Mode, r.Scenario.Containers, r.Scenario.Unserved));
        Assert.Equal(6, r.Fairness!.Tenants);
        // No PASID on a VF's traffic: there is no ASID to forge, and another VF's handle fails the source-id check,
        // never the ASID check (which has nothing to compare).
        Assert.Equal(0, r.Rogue.Forged[RunMetrics.Camel(nameof(RogueKind.WrongAsid))]);
        foreach (var kind in Enum.GetValues<RogueKind>().Where(k => k != RogueKind.WrongAsid))
        {
            var name = RunMetrics.Camel(kind.ToString());
            Assert.True(r.Rogue.Forged[name] > 0, $"no {name} forged");
            Assert.Equal(r.Rogue.Forged[name], r.Rogue.FaultedAsExpected[name]);
        }
        Assert.True(r.Ledger.Interrupts.Faulted.GetValueOrDefault("0x26") > 0, "the source-id check never fired");
        Assert.Equal(0, r.Ledger.Interrupts.Faulted.GetValueOrDefault("0xA1"));
        Assert.Equal(0, r.Ledger.Interrupts.Faulted.GetValueOrDefault("0xA0"));
        // DMA without PASID found each tenant's domain through its VF's context entry.
        Assert.Equal(0, r.Ledger.Dma.Faulted.GetValueOrDefault("0x02"));
        Assert.True(r.Ledger.Interrupts.DeliveredPosted > 0 && r.Ledger.Interrupts.DeliveredRemapped > 0);
        Assert.True(r.Paths.Slow.GetValueOrDefault("msixTableWrite") > 0);
    }

    [Fact]
    public async Task Shared_wqs_with_more_tenants_than_ais_balance_too()
    {
        var r = await Run(TestScenarios.Small(s => s with
        {
            Topology = s.Topology with { Containers = 40 },
            Composition = s.Composition with { Policy = "shared", AisPerVdev = 2 },
        }));
        AssertInvariants(r);
        Assert.Equal("shared", r.Scenario.CompositionPolicy);
        Assert.Equal(0, r.Rogue.Unexpected.Values.Sum());
    }

    [Fact]
    public async Task Resets_on_contended_shared_wqs_never_strand_a_descriptor()
    {
        // Reset WQ discards queued descriptors without a completion record, so a guest that kept submitting while its
        // reset was in flight would wait forever and the run would never drain. Many tenants per WQ, resets only.
        var r = await Run(TestScenarios.Small(s => s with
        {
            Topology = s.Topology with { Containers = 64, WorkQueueSize = 4, WorkQueueThreshold = 2 },
            Composition = s.Composition with { Policy = "shared" },
            Workload = s.Workload with { SlowPathShare = 0.3, Slow = new() { ["queueReset"] = 3, ["vdevReset"] = 1 } },
        }));
        AssertInvariants(r);
        Assert.True(r.Paths.Slow.GetValueOrDefault("vdevReset") > 0);
        Assert.True(r.Ledger.Descriptors.Rejected.GetValueOrDefault("retry") > 0, "the WQs were never contended");
    }

    [Fact]
    public async Task Siv_run_writes_the_report_and_exits_zero()
    {
        var dir = Directory.CreateTempSubdirectory("siv-e2e").FullName;
        var scenario = Path.Combine(dir, "small.json");
        await File.WriteAllTextAsync(scenario, JsonSerializer.Serialize(TestScenarios.Small().Scenario, ScenarioLoader.StrictJson));
        var output = new StringWriter();
        var error = new StringWriter();
        // A store of its own: the default one (./data/siv.db) would be locked by any other run of the suite using it.
        var code = await SivCli.InvokeAsync(["run", "--scenario", scenario, "--duration", "1", "--out", Path.Combine(dir, "out"),
            "--db", Path.Combine(dir, "siv.db")], output, error, new RunOptions { Interactive = false });
        Assert.True(code == SivCli.Ok, $"exit {code}: {error}");
        using var report = JsonDocument.Parse(await File.ReadAllTextAsync(Path.Combine(dir, "out", "report.json")));
        var root = report.RootElement;
        Assert.True(root.GetProperty("throughput").GetProperty("opsPerSecond").GetDouble() > 0);
        Assert.Equal(0, root.GetProperty("paths").GetProperty("vdcmMessagesOnFastPath").GetInt64());
        Assert.Equal(0, root.GetProperty("ledger").GetProperty("interrupts").GetProperty("misdelivered").GetInt64());
        Assert.True(root.GetProperty("latency").GetProperty("modeledNs").GetProperty("fast").GetProperty("p99").GetDouble() > 0);
        Assert.Contains("all invariants hold", output.ToString());
    }
}
