using System.Collections.Concurrent;
using System.Diagnostics;
using SivActors.Actors.InterruptUnit;
using SivActors.Model.Delivery;
using SivActors.Model.Identity;

namespace SivActors.Actors.Delivery;

/// <summary>
/// Reliable delivery on one node (decision 38): each AI's outbox of interrupts not yet judged. An outbox belongs to
/// the AI, not to one incarnation of its actor, so a killed AI's successor sends again what its predecessor had sent.
/// </summary>
public sealed class ReliableInterrupts
{
    /// <summary>An interrupt not acknowledged within this is sent again; each later timeout doubles, up to <see cref="MaxTimeout"/>.</summary>
    public static readonly TimeSpan FirstTimeout = TimeSpan.FromSeconds(1);
    public static readonly TimeSpan MaxTimeout = TimeSpan.FromSeconds(8);

    /// <summary>How often an AI with unacknowledged interrupts looks for due ones.</summary>
    public static readonly TimeSpan Tick = TimeSpan.FromMilliseconds(250);

    /// <summary>
    /// How long an AI's flush at the end of a run waits for its outbox to empty. What is still unacknowledged then
    /// (every attempt lost) is booked lost, so the run ends with a report instead of a timeout.
    /// </summary>
    public static readonly TimeSpan FlushPatience = TimeSpan.FromSeconds(30);

    private readonly ConcurrentDictionary<AiId, ReliableOutbox<InterruptUnitProtocol.RaiseInterrupt>> _outboxes = new();

    public ReliableOutbox<InterruptUnitProtocol.RaiseInterrupt> Of(AiId ai) => _outboxes.GetOrAdd(ai, static _ =>
        new ReliableOutbox<InterruptUnitProtocol.RaiseInterrupt>(Ticks(FirstTimeout), Ticks(MaxTimeout)));

    public static long Ticks(TimeSpan t) => (long)(t.TotalSeconds * Stopwatch.Frequency);
}
