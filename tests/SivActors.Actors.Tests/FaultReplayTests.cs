using System.Text.Json;
using SivActors.Actors.Run;
using SivActors.Cli;

namespace SivActors.Actors.Tests;

/// <summary>
/// Every recorded fault the report samples, interrupt or DMA, can be decided again by `siv explain` from its own
/// document: the same fault code, for every reason the run's rogue AIs produced.
/// </summary>
public sealed class FaultReplayTests
{
    [Fact]
    public async Task Each_sampled_fault_record_replays_to_the_same_fault_with_siv_explain()
    {
        // Half the AIs forge: wrong ASIDs, foreign and out-of-range handles, stale handles after resets.
        var scenario = TestScenarios.Small(s => s with { DurationSeconds = 1.5, Workload = s.Workload with { SlowPathShare = 0.2 } });
        var outcome = await EmulatorRun.RunAsync(scenario, new RunProgress());
        Assert.Null(outcome.Failure);
        var samples = outcome.Report!.FaultLog.Samples;
        Assert.NotNull(samples);
        Assert.True(samples.Select(s => s.Code).Distinct().Count() >= 3, "the sample holds " + string.Join(", ", samples.Select(s => s.Code).Distinct()));
        Assert.True(samples.Count <= SivActors.Model.Interrupts.FaultSamples.Capacity);
        // The rogue AIs' DMA into the interrupt window and into read-only buffers is sampled beside the interrupts.
        Assert.Contains(samples, s => s.Explain["message"]!["kind"]!.GetValue<string>() == "dma");
        Assert.Contains(samples, s => s.Explain["message"]!["kind"]!.GetValue<string>() == "interrupt");
        foreach (var sample in samples)
        {
            var explained = JsonDocument.Parse(IrqExplain.Explain(sample.Explain.ToJsonString(), "sample")).RootElement;
            Assert.Equal("blocked", explained.GetProperty("outcome").GetString());
            Assert.Equal(sample.Code, explained.GetProperty("faultCode").GetString());
        }
    }
}
