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
        var seconds = Seconds(Stopwatch.GetTimestamp());
        _ctx.SampleTrace(seconds);
        if (_ctx.Noisy is { } noisy) NoisePhases(noisy, seconds);
        _sampler.Schedule(SampleEvery, Self, TakeSample.Instance);
    });

    // A noisy-neighbour run: when its phases started, and the running totals then and at the window's end.
    private double? _beforeAt, _noiseAt;
    private long _opsAtBefore, _noisyAtBefore, _opsAtNoise, _noisyAtNoise, _noisyAtStop;

    /// <summary>
    /// Half-way to the noise the "before" phase starts (the first seconds warm up); at the noise, the noisy neighbour
    /// fills its whole depth from then on and the others' latency is recorded as "during".
    /// </summary>
    private void NoisePhases(Model.Scenarios.NoisyNeighbourSection noisy, double seconds)
    {
        var from = noisy.StartsAt(_ctx.Scenario.DurationSeconds);
        var metrics = _ctx.Metrics;
        if (_beforeAt is null && seconds >= Model.Reporting.NoisePhaseTotals.BeforeStartsAt(from))
        {
            _beforeAt = seconds;
            _opsAtBefore = metrics.OperationsCompleted;
            _noisyAtBefore = metrics.NoisyOperations;
            metrics.Noise = Model.Reporting.NoisePhase.Before;
        }
        if (_beforeAt is null || _noiseAt is not null || seconds < from) return;
        _noiseAt = seconds;
        _opsAtNoise = metrics.OperationsCompleted;
        _noisyAtNoise = metrics.NoisyOperations;
        metrics.Noise = Model.Reporting.NoisePhase.During;
        var container = new Model.Identity.ContainerId(noisy.Container);
        _ctx.Directory.Tell(new Container.ContainerProtocol.NoiseStarts(container, _ctx.HostOf(container)));
    }

    /// <summary>The totals a noisy-neighbour report is made of, with the window's length as the report counts it.</summary>
    private Model.Reporting.NoisePhaseTotals? NoiseTotals() => _ctx.Noisy is null ? null
        : new(Seconds(_stopTicks), _beforeAt, _noiseAt, _opsAtBefore, _opsAtNoise, _opsAtStop, _noisyAtBefore, _noisyAtNoise, _noisyAtStop,
            _ctx.Metrics.NoisyPeakInFlight);

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
