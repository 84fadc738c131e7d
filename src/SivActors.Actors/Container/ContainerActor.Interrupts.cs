using SivActors.Actors.AssignableInterface;
using SivActors.Model.Identity;
using SivActors.Model.Interrupts;
using SivActors.Model.Reporting;
using static SivActors.Actors.Container.ContainerProtocol;

namespace SivActors.Actors.Container;

/// <summary>A container's interrupts: duplicates suppressed, each judged as its own or misdelivered, then posted or handled.</summary>
public sealed partial class ContainerActor
{
    private void Interrupt(InterruptDelivered m)
    {
        var metrics = _ctx.Metrics;
        if (m.Seq != 0 && !FirstCopy(m))
        {
            metrics.InterruptDuplicateSuppressed();
            return;
        }
        if (!IsMine(m))
            metrics.InterruptMisdelivered($"{_id} (ASID {_asid}) got vector 0x{m.Vector:X2} with ASID {m.Asid} from {m.Origin} " +
                                          $"(handle {m.Handle}); its AIs {string.Join(", ", _ais)}, vectors {string.Join(", ", _vectors.Select(v => $"0x{v:X2}"))}");
        if (m.Posted)
        {
            var result = _pid.Post(m.Vector, m.Urgent);
            metrics.InterruptPosted(result);
            metrics.Record(RunMetrics.ModeledPostedInterruptNs, m.ModeledNs);
            if (result.Notified()) _harvestDue = true;
        }
        else
        {
            metrics.InterruptRemappedDelivered();
            metrics.Record(RunMetrics.ModeledRemappedInterruptNs, m.ModeledNs);
        }
    }

    /// <summary>
    /// Reliable delivery (decision 38): acknowledges the interrupt to its AI (every copy, since the acknowledgement of
    /// an earlier one may be what was lost) and tells whether this is its first copy here.
    /// </summary>
    private bool FirstCopy(InterruptDelivered m)
    {
        _ctx.Directory.Tell(new AssignableInterfaceProtocol.InterruptAcked(m.Origin, m.Seq));
        _firstCopies ??= new Dictionary<AiId, Model.Delivery.DuplicateFilter>();
        if (!_firstCopies.TryGetValue(m.Origin, out var filter)) _firstCopies[m.Origin] = filter = new Model.Delivery.DuplicateFilter();
        return filter.FirstCopy(m.Seq, m.Watermark);
    }

    /// <summary>
    /// An interrupt is ours only if one of our AIs raised it, with our ASID, on a vector we programmed. One decided
    /// with a stale entry-cache entry may carry a vector of ours from before a change: ASID and AI still decide.
    /// </summary>
    private bool IsMine(InterruptDelivered m)
    {
        // Under SR-IOV interrupts carry no ASID: the origin (the VF, whose requester id was verified) must be ours.
        if (m.Asid != _asid && m.Asid != Asid.WithoutPasid) return false;
        for (var i = 0; i < _ais.Length; i++)
            if (_ais[i] == m.Origin && m.Vector != 0
                && (_vectors[i] == m.Vector || _pendingVectors[i] == m.Vector || _uncertainVectors[i]?.Contains(m.Vector) == true
                    || _writing[i]?.Contains(m.Vector) == true
                    || m.Seq != 0 && WasEverOurs(i, m.Vector) || m.Stale))
                return true;
        if (_formerAis is { } former)
            foreach (var (ai, s, vectors) in former)
                if (ai == m.Origin && m.Vector != 0 && (vectors.Contains(m.Vector) || m.Seq != 0 && WasEverOurs(s, m.Vector) || m.Stale))
                    return true;
        return false;
    }
}
