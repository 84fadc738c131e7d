namespace SivActors.Actors.Persistence;

/// <summary>
/// Group commit for a table owner. Commands are decided (and applied) in arrival order; their events queue here
/// and go to the journal as one atomic batch while no other batch of this owner is in flight, so a burst of table
/// programming costs one write per batch instead of one per entry. Each command is answered only when its batch is
/// durable; if a batch fails, every waiting command is answered with the error and the owner restarts from the
/// journal, so nothing tentative survives.
/// </summary>
public sealed class GroupCommit<TEvent>(int maxBatch, Action<IReadOnlyList<TEvent>, Action<TEvent>> persistAllAsync) where TEvent : class
{
    private readonly record struct Waiting(TEvent Event, Action? OnDurable, Action<string>? OnFailed);

    private List<Waiting> _queued = [];
    private List<Waiting> _inFlight = [];
    private int _confirmed;

    /// <summary>True while events are decided but not yet durable: state differs from the journal.</summary>
    public bool Dirty => _queued.Count > 0 || _inFlight.Count > 0;

    /// <summary>Runs after every durable batch, with the owner's state equal to the journal when nothing is queued.</summary>
    public Action<int>? BatchDurable { get; set; }

    public void Add(TEvent e, Action? onDurable, Action<string>? onFailed)
    {
        _queued.Add(new Waiting(e, onDurable, onFailed));
        if (_inFlight.Count == 0) Flush();
    }

    /// <summary>Answers every waiting command with <paramref name="reason"/>; the owner then restarts.</summary>
    public int FailAll(string reason)
    {
        var failed = 0;
        foreach (var w in _inFlight.Concat(_queued))
        {
            w.OnFailed?.Invoke(reason);
            failed++;
        }
        _inFlight = [];
        _queued = [];
        return failed;
    }

    private void Flush()
    {
        if (_queued.Count == 0) return;
        if (_queued.Count <= maxBatch)
        {
            (_inFlight, _queued) = (_queued, _inFlight);
        }
        else
        {
            _inFlight.AddRange(_queued.Take(maxBatch));
            _queued.RemoveRange(0, maxBatch);
        }
        _confirmed = 0;
        persistAllAsync(_inFlight.Select(w => w.Event).ToList(), _ => Confirmed());
    }

    private void Confirmed()
    {
        // Akka runs the handler once per event, in order, after the whole atomic write succeeded.
        if (++_confirmed < _inFlight.Count) return;
        var done = _inFlight;
        _inFlight = [];
        // A callback may add (and so flush) new events; the queue keeps them in order behind this batch.
        foreach (var w in done) w.OnDurable?.Invoke();
        BatchDurable?.Invoke(done.Count);
        if (_inFlight.Count == 0) Flush();
    }
}
