using System.Diagnostics;
using SivActors.Model.Reporting;

namespace SivActors.Model.Faults;

public static class FaultOutcomes
{
    /// <summary>One report record per scheduled fault, times in seconds from the measured window's start.</summary>
    public static List<FaultOutcome> Of(FaultPlane plane, ThroughputTrace trace, long windowStartTicks)
    {
        double? Seconds(long ticks) => ticks == 0 ? null : Math.Round((ticks - windowStartTicks) / (double)Stopwatch.Frequency, 3);
        var list = new List<FaultOutcome>();
        foreach (var s in plane.Stats)
        {
            var f = s.Fault;
            var end = f.EndSeconds ?? f.AtSeconds;
            var baseline = trace.Baseline(f.AtSeconds);
            var during = f.ForSeconds is { } w ? trace.Rate(f.AtSeconds, f.AtSeconds + w) : null;
            var detected = Seconds(s.DetectedTicks);
            // Throughput cannot have recovered from a fault before anything saw it take effect (a crashed node is
            // seen only when a failure detector gives up on it).
            list.Add(new FaultOutcome(f.KindName, f.TargetText, f.AtSeconds, f.ForSeconds, s.Injected, Seconds(s.FiredTicks), detected,
                s.Injected ? trace.RecoveredAt(f.AtSeconds, Math.Max(end, detected ?? end)) : null, s.Affected, s.Lost, s.Refused)
            {
                OpsAborted = s.Aborted,
                Crossed = s.Crossed,
                ThroughputRatioDuring = baseline is > 0 && during is { } d ? Math.Round(d / baseline.Value, 3) : null,
                Note = s.Note,
            });
        }
        return list;
    }
}
