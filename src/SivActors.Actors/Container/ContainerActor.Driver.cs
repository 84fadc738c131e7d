using System.Diagnostics;
using Akka.Actor;
using SivActors.Actors.Entities;
using SivActors.Actors.Hosting;
using SivActors.Actors.Vdcm;
using SivActors.Actors.Wire;
using SivActors.Model.Device;
using SivActors.Model.Identity;
using SivActors.Model.Reporting;
using SivActors.Model.Vdcm;
using SivActors.Model.Workload;
using static SivActors.Actors.Container.ContainerProtocol;

namespace SivActors.Actors.Container;

/// <summary>
/// The container's guest driver on the slow path: it programs the vdev's vectors through the VDCM (data dword, then
/// unmask), restores a vdev after a restart, runs the scenario's slow-path operations one at a time, and follows a
/// surprise removal to the recomposed vdev. Every access is trapped and answered by the VDCM.
/// </summary>
public sealed partial class ContainerActor
{
    /// <summary>The vdev's AIs as composed: one slot each, with no vector known yet.</summary>
    private void TakeVdev(Asid asid, AiId[] ais, WorkQueueMode[] modes)
    {
        _asid = asid;
        _ais = ais;
        _modes = modes;
        _handles = new ushort?[_ais.Length];
        _vectors = new byte[_ais.Length];
        _pendingVectors = new byte[_ais.Length];
        _uncertainVectors = new List<byte>?[_ais.Length];
        _writing = new List<byte>?[_ais.Length];
        if (_ctx.Reliable is not null) _everVectors = new ulong[_ais.Length * 4];
    }

    private void Composed(VdevComposed m)
    {
        TakeVdev(m.Asid, m.Ais, m.Modes);
        _replyTo = m.ReplyTo;
        ProgramAllVectors(() =>
        {
            _ready = true;
            _replyTo.Tell(new ContainerReady(_id));
        });
    }

    /// <summary>
    /// This incarnation follows one that ran the vdev (its shard moved, or it restarted): the vdev, its vectors and
    /// completion handles are as the VDCM's tables hold them, so the guest carries on without programming again.
    /// </summary>
    private void Restored(VdcmProtocol.VdevInfo m)
    {
        TakeVdev(m.Asid, m.Ais.ToArray(), m.Modes.ToArray());
        for (var s = 0; s < _ais.Length; s++)
        {
            var entry = s + 1 < m.Msix.Count ? m.Msix[s + 1] : null; // entry 0 is the VDCM's own vector
            if (entry is not { ImsIndex: { } ims, InterruptHandle: not null, Masked: false }) continue;
            _handles[s] = ims;
            _vectors[s] = (byte)entry.Data;
            Pend(s, (byte)entry.Data);
        }
        // A vdev whose vectors were never all programmed is not ready: its composition (VdevComposed) is still coming.
        _ready = _ais.Length > 0 && _handles.All(h => h is not null);
    }

    /// <summary>
    /// The guest driver's MSI-X set-up: per AI, write the data dword (vector) then unmask the entry. A write answered
    /// with an error starts the pair again (unmasking after a failed data write would make live whatever vector the
    /// VDCM holds; an unmask fails when the journal does or when a surprise removal moved the slot meanwhile), after
    /// a back-off that doubles from 20 ms (about 10 s over all attempts, so a store that fails for a while is
    /// outlasted); one that keeps failing leaves the entry masked, without a completion handle, until the next reset.
    /// </summary>
    private void ProgramAllVectors(Action done)
    {
        var remaining = _ais.Length;
        for (var slot = 0; slot < _ais.Length; slot++) ProgramVector(slot, attempt: 1, () =>
        {
            if (--remaining == 0) done();
        });
    }

    private const int VectorWriteAttempts = 10;

    private void ProgramVector(int s, int attempt, Action programmed)
    {
        var entry = s + 1; // entry 0 is the VDCM's own vector
        var vector = (byte)(FirstVector + s);
        Pend(s, vector);
        void Again()
        {
            if (attempt < VectorWriteAttempts)
                Timers.StartSingleTimer(("vector", s), new RetryVector(s, attempt + 1, programmed), TimeSpan.FromMilliseconds(20 << (attempt - 1)));
            else programmed();
        }

        EnqueueSlow(new GuestAccess(AccessKind.Bar0Write, MsixOffset(entry, 8), Value: vector), w =>
        {
            if (w.Error is not null)
            {
                Written(s, vector, w.Error);
                Again();
                return;
            }
            EnqueueSlow(new GuestAccess(AccessKind.Bar0Write, MsixOffset(entry, 12), Value: 0), r =>
            {
                // The vector is in the entry from the first write on; it stays ours until this answer.
                Written(s, vector, r.Error);
                if (r.Error is not null)
                {
                    Again();
                    return;
                }
                _handles[s] = (ushort)r.Value;
                _vectors[s] = vector;
                programmed();
            });
        });
    }

    /// <summary>The vector being written for slot <paramref name="s"/>; in reliable delivery it stays in the slot's history.</summary>
    private void Pend(int s, byte vector)
    {
        _pendingVectors[s] = vector;
        (_writing[s] ??= []).Add(vector);
        if (_everVectors is { } ever) ever[s * 4 + (vector >> 6)] |= 1UL << (vector & 63);
    }

    /// <summary>A write of <paramref name="vector"/> to slot <paramref name="s"/> was answered; one with an error may still have reached the entry.</summary>
    private void Written(int s, byte vector, string? error)
    {
        _writing[s]?.Remove(vector);
        if (error is not null) (_uncertainVectors[s] ??= []).Add(vector);
    }

    private bool WasEverOurs(int s, byte vector) => _everVectors is { } ever && (ever[s * 4 + (vector >> 6)] & (1UL << (vector & 63))) != 0;

    private static int MsixOffset(int entry, int field) => VirtualLayout.MsixTable + entry * VirtualLayout.MsixEntryBytes + field;

    private void EnqueueSlow(GuestAccess access, Action<GuestAccessCompleted>? onDone)
    {
        _slowQueue.Enqueue(new SlowStep(access, onDone));
        SendNextSlow();
    }

    private void SendNextSlow()
    {
        if (_slowInFlight is not null || _slowQueue.Count == 0) return;
        _slowInFlight = _slowQueue.Dequeue();
        _ctx.Directory.Tell(new VdcmProtocol.GuestAccessRequest(_host, _id, ++_nextRequest, _slowInFlight.Access, 0, Stopwatch.GetTimestamp()));
    }

    private void SlowCompleted(GuestAccessCompleted m)
    {
        var step = _slowInFlight;
        _slowInFlight = null;
        if (_running || _stopping) _completedOps++;
        var metrics = _ctx.Metrics;
        if (_ctx.Noisy is not null) NoisyRunSample(metrics, null);
        metrics.Record(RunMetrics.ModeledSlowNs, m.ModeledNs);
        metrics.Record(RunMetrics.WallSlowUs, WallMicros(m.WallStartTicks));
        step?.OnDone?.Invoke(m);
        SendNextSlow();
        Pump();
        CheckDrained();
    }

    private void StartSlow(SlowOperation op)
    {
        switch (op)
        {
            case SlowOperation.ConfigRead:
                EnqueueSlow(new GuestAccess(AccessKind.ConfigRead, 0), null);
                break;
            case SlowOperation.Bar0Read:
                EnqueueSlow(new GuestAccess(AccessKind.Bar0Read, 0x90), null);
                break;
            case SlowOperation.MsixReprogram:
            {
                var s = _rng.Next(_ais.Length);
                if (_handles[s] is null) break;
                var vector = (byte)(FirstVector + _rng.Next(0x80));
                Pend(s, vector);
                EnqueueSlow(new GuestAccess(AccessKind.Bar0Write, MsixOffset(s + 1, 8), Value: vector), r =>
                {
                    Written(s, vector, r.Error);
                    if (r.Error is null)
                    {
                        _vectors[s] = vector;
                        _uncertainVectors[s] = null;
                    }
                    _pendingVectors[s] = _vectors[s];
                });
                break;
            }
            case SlowOperation.AdminCommand:
                EnqueueSlow(new GuestAccess(AccessKind.Bar0Write, VirtualLayout.Cmd, Value: (13u << 20) | 1), null);
                break;
            case SlowOperation.QueueReset:
            case SlowOperation.VdevReset:
                // The driver quiesces its own work before a reset, as a real one drains before FLR.
                _quiesceFor = op;
                break;
        }
    }

    private void RunQuiesced(SlowOperation op)
    {
        _quiesceFor = null;
        _resetting = true;
        if (op == SlowOperation.QueueReset)
        {
            EnqueueSlow(new GuestAccess(AccessKind.Bar0Write, VirtualLayout.Cmd, Value: (10u << 20) | (uint)_rng.Next(_ais.Length)),
                _ => _resetting = false);
            return;
        }
        EnqueueSlow(new GuestAccess(AccessKind.ConfigWrite, VirtualLayout.DeviceControl, Value: VirtualLayout.InitiateFlr), r =>
        {
            _resetting = false;
            for (var s = 0; s < _ais.Length; s++)
            {
                // A reset answered with an error may have left the old interrupt entries live: their vectors stay ours.
                if (r.Error is not null && _vectors[s] != 0) (_uncertainVectors[s] ??= []).Add(_vectors[s]);
                else _uncertainVectors[s] = null;
            }
            Array.Clear(_handles);
            Array.Clear(_vectors);
            Array.Clear(_pendingVectors);
            ProgramAllVectors(() => { });
        });
    }

    /// <summary>
    /// The AI behind slot <paramref name="s"/> was surprise-removed: the driver stops using it and asks the VDCM for the
    /// vdev as recomposed (asked again every second until answered, so a VDCM that restarts meanwhile answers too).
    /// </summary>
    private void DeviceGone(int s, AiId ai)
    {
        if (s >= _ais.Length || _ais[s] != ai) return; // the slot moved already
        _handles[s] = null;
        (_goneAis ??= []).Add(ai);
        if (_refreshing) return;
        _refreshing = true;
        AskForVdev();
        Timers.StartPeriodicTimer(RefreshAgain.Instance, RefreshAgain.Instance, TimeSpan.FromSeconds(1));
    }

    private void AskForVdev() => _ctx.Directory.Tell(new VdcmProtocol.RefreshVdev(_host, _id), Self);

    private void StopAsking()
    {
        _refreshing = false;
        Timers.Cancel(RefreshAgain.Instance);
    }

    /// <summary>The vdev as recomposed: each slot that moved to another AI is programmed again (data, then unmask).</summary>
    private void Refreshed(VdcmProtocol.VdevInfo m)
    {
        // The VDCM has not heard of the removal yet (its notice may wait behind a snapshot): ask again later.
        if (m.Ais.Count != _ais.Length || m.Ais.Any(a => _goneAis!.Contains(a))) return;
        StopAsking();
        for (var s = 0; s < _ais.Length; s++)
        {
            if (m.Ais[s] == _ais[s]) continue;
            Remember(s);
            _ais[s] = m.Ais[s];
            _modes[s] = m.Modes[s];
            _handles[s] = null;
            ProgramVector(s, attempt: 1, Pump);
        }
        Pump();
    }

    /// <summary>Slot <paramref name="s"/> leaves its AI: the vectors it could carry until now stay ours for that AI.</summary>
    private void Remember(int s) =>
        (_formerAis ??= []).Add((_ais[s], s, [_vectors[s], _pendingVectors[s], .. _uncertainVectors[s] ?? [], .. _writing[s] ?? []]));

    /// <summary>The vdev was torn down (no AI was left for it): this container submits nothing more.</summary>
    private void TornDown()
    {
        if (_ais.Length == 0) return;
        StopAsking();
        for (var s = 0; s < _ais.Length; s++) Remember(s);
        _ais = [];
        _ready = false;
        LeaveTurns();
        CheckDrained();
    }
}
