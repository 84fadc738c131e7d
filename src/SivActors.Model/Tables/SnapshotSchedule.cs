namespace SivActors.Model.Tables;

/// <summary>
/// When an event-sourced table saves its next snapshot. A snapshot encodes the whole table, so one taken every fixed
/// number of events costs time quadratic in the table's size while it grows (a million vdevs written as two million
/// events meant two hundred snapshots of half a million vdevs on average). Waiting as many events as the table held
/// at its last snapshot makes the snapshots' total cost linear (each is at most the size of the events since the
/// previous one), and a recovery still replays no more events than the snapshot it starts from holds entries.
/// </summary>
public static class SnapshotSchedule
{
    /// <summary>Events to write after a snapshot (or a recovery) of a table with <paramref name="entries"/> entries before the next.</summary>
    public static long EventsUntilNext(int minimumEvents, long entries)
    {
        if (minimumEvents < 1) throw new ArgumentOutOfRangeException(nameof(minimumEvents), minimumEvents, "at least one event between snapshots");
        return Math.Max(minimumEvents, entries);
    }
}
