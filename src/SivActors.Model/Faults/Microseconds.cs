using System.Diagnostics;

namespace SivActors.Model.Faults;

/// <summary>
/// Between <see cref="Stopwatch"/> ticks, which are each process's own, and the microseconds that a cluster run's
/// messages carry from one node's window to another's.
/// </summary>
public static class Microseconds
{
    /// <summary>Microseconds from <paramref name="fromTicks"/> to <paramref name="toTicks"/> (negative if earlier).</summary>
    public static long Between(long fromTicks, long toTicks) => (long)((toTicks - fromTicks) * 1e6 / Stopwatch.Frequency);

    /// <summary>Stopwatch ticks that make <paramref name="us"/> microseconds.</summary>
    public static long AsTicks(long us) => (long)(us * (Stopwatch.Frequency / 1e6));
}
