using System.Diagnostics;
using Akka.Actor;
using SivActors.Model.Reporting;
using static SivActors.Actors.Container.ContainerProtocol;

namespace SivActors.Actors.Container;

/// <summary>
/// The container's turns (decision 70): it starts operations only while it holds one of its host's turns, passes
/// the turn on after a turn's worth, and asks again at the back of the line. A turn is also given up while the slow
/// path keeps the fast path waiting, and when it runs past <see cref="ContainerTurns.TimeLimit"/>.
/// </summary>
public sealed partial class ContainerActor
{
    // Operations this container may still start in its turn; 0 while it holds none.
    private int _turnLeft;
    private bool _inLine;
    private long _inLineSince;
    private int _turnNumber;

    private sealed record TurnExpired(int Turn) : INoSerializationVerificationNeeded;

    /// <summary>True while this container may start operations: turns are off, it holds one, or one was free.</summary>
    private bool HasTurn()
    {
        if (_turnLeft > 0 || _ctx.Turns is not { } turns) return true;
        if (_inLine) return false;
        if (turns.Ask(_host, Self))
        {
            if (_running) _ctx.Metrics.Record(RunMetrics.TurnWaitUs, 0); // a free turn: no wait, and it counts as such
            TakeTurn();
            return true;
        }
        _inLine = true;
        _inLineSince = Stopwatch.GetTimestamp();
        return false;
    }

    private void TakeTurn()
    {
        // A noisy neighbour's turn is as many times longer as its depth is deeper: it still submits that much more.
        _turnLeft = Math.Max(1, _ctx.Turns!.OperationsPerTurn * _activeSlots / _ctx.Scenario.Workload.QueueDepth);
        Timers.StartSingleTimer(nameof(TurnExpired), new TurnExpired(++_turnNumber), _ctx.Turns.TimeLimit);
    }

    private void Granted()
    {
        _inLine = false;
        if (!_running)
        {
            _ctx.Turns?.Leave(_host, Self);
            return;
        }
        _ctx.Metrics.Record(RunMetrics.TurnWaitUs, WallMicros(_inLineSince));
        TakeTurn();
        Pump();
    }

    private void Expired(TurnExpired m)
    {
        if (m.Turn != _turnNumber || _turnLeft == 0) return;
        LeaveTurns();
        Pump(); // asks again, at the back of the line
    }

    /// <summary>One operation of the turn was started; false once the turn is used up and passed on (it is asked for again).</summary>
    private bool Spent()
    {
        if (_ctx.Turns is null || --_turnLeft > 0) return true;
        GiveUpTurn();
        return HasTurn();
    }

    /// <summary>Gives up this container's turn or its place in line; the next in line is told.</summary>
    private void LeaveTurns()
    {
        if (_ctx.Turns is not null && (_turnLeft > 0 || _inLine)) GiveUpTurn();
    }

    // The turn's timer is left to run out: TurnExpired names its turn, so a late one is ignored.
    private void GiveUpTurn()
    {
        _turnLeft = 0;
        _inLine = false;
        _ctx.Turns!.Leave(_host, Self);
    }

    /// <summary>
    /// True while the slow path keeps the fast path waiting: a reset waits for the work in flight and then for the
    /// VDCM, and vectors being reprogrammed take the completion handles away. Meanwhile the turn goes to another.
    /// </summary>
    private bool HeldBySlowPath()
    {
        if (_quiesceFor is { } op)
        {
            LeaveTurns();
            if (_outstanding == 0) RunQuiesced(op);
            return true;
        }
        // A reset discards whatever sits in the WQ without a completion record, so nothing is submitted until it is done.
        if (_resetting || (_slowQueue.Count > 0 && _handles.Any(h => h is null)))
        {
            LeaveTurns();
            return true;
        }
        return false;
    }
}
