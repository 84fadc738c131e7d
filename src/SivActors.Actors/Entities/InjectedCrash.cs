using SivActors.Actors.Hosting;

namespace SivActors.Actors.Entities;

/// <summary>
/// How a kill-actor or journal-fail fault ends an entity's incarnation: it fails with this exception and its supervisor
/// (the local entity parent, or the shard) restarts it. A restart keeps the mailbox, so every message already sent to
/// the entity reaches the next incarnation in order; a stop would turn them into dead letters, which Akka delivers
/// only on a best-effort basis (one enqueued while the mailbox is being swapped is gone without a trace), and the
/// ledger must be exact (decision 44).
/// </summary>
public sealed class InjectedCrash(EntityAddress address, string reason) : Exception($"{address}: {reason}")
{
    public EntityAddress Address { get; } = address;

    // An injected fault, not a bug: where a supervisor logs it (a shard does), one line is enough.
    public override string? StackTrace => null;

    /// <summary>
    /// Ends the calling entity's incarnation for an injected fault: what is lost until its successor runs is charged
    /// to the fault; the supervisor restarts it at once (a local parent's back-off is for real failures that repeat).
    /// </summary>
    public static Exception For(EmulatorContext ctx, EntityAddress address, int fault, string reason)
    {
        ctx.Faults.Restarting(address.EntityId, ctx.Faults.Stats[fault]);
        return new InjectedCrash(address, reason);
    }
}
