using System.Diagnostics;
using Akka.Actor;

namespace SivActors.Actors.Run;

/// <summary>The run's timeline: its running totals sampled while the window is open.</summary>
public sealed partial class ScenarioRunnerActor
{
    // Samples the run's totals for its timeline and the faults' recovery, on a clock of its own (decision 45).
    private static readonly TimeSpan SampleEvery = TimeSpan.FromMilliseconds(100);
    private Faults.FaultClock? _sampler;
    // Operations each container completed, from its latest drained answer (the report's fairness).
    private readonly Dictionary<int, long> _tenantOperations = [];

    /// <summary>
    /// From the window's start: the trace starts with the window, not when the injector first runs (later on a busy
    /// machine), so a fault early in the run still has a rate before it to be compared with.
    /// </summary>
    private void StartSampling()
    {
        _ctx.SampleTrace(0);
        _sampler = new Faults.FaultClock("siv-run-sampler");
        _sampler.Schedule(SampleEvery, Self, TakeSample.Instance);
    }

    /// <summary>Every <see cref="SampleEvery"/> while the window is open (paused or not).</summary>
    private void Sampling() => Receive<TakeSample>(_ =>
    {
        if (_sampler is null) return;
        _ctx.SampleTrace(Seconds(Stopwatch.GetTimestamp()));
        _sampler.Schedule(SampleEvery, Self, TakeSample.Instance);
    });

    private void StopSampling()
    {
        _sampler?.Dispose();
        _sampler = null;
    }

    private double Seconds(long ticks) => (ticks - _startTicks) / (double)Stopwatch.Frequency;

    protected override void PostStop() => StopSampling();

    private sealed class TakeSample : INoSerializationVerificationNeeded
    {
        public static readonly TakeSample Instance = new();
    }
}
