using SivActors.Model.Faults;

namespace SivActors.Actors.Cluster;

/// <summary>
/// Each worker's completed operations (and interrupts and remapping faults) on its own clock, from the figures it reports (every half second and at the
/// end), for a cluster run's throughput trace. A worker cut off by a partition reports late; placed by its own
/// time, its operations stay where they happened instead of piling up at the moment it healed. A worker that joins
/// an open window (a restarted one) is told how long it has been open, so its time is the run's too; each
/// incarnation of a worker is a trace of its own.
/// </summary>
public sealed class NodeTimeline
{
    private const long FirstReportUs = 1_500_000;

    private readonly Dictionary<string, ThroughputTrace> _nodes = [];

    public void Record(ClusterProtocol.NodeMetrics m)
    {
        if (m.WindowUs <= 0) return;
        lock (_nodes)
        {
            var key = RunCoordinatorActor.IncarnationKey(m);
            if (!_nodes.TryGetValue(key, out var trace))
            {
                _nodes[key] = trace = new ThroughputTrace();
                // A worker there from the start began at 0 with nothing done; one that joined later (its first
                // report comes well into the window) is placed from its first report on.
                if (m.WindowUs < FirstReportUs) trace.Add(0, 0);
            }
            trace.Add(m.WindowUs / 1e6, m.WindowOperations, m.WindowInterrupts, SivActors.Model.Reporting.RunMetrics.RemappingFaultsIn(m.Metrics));
        }
    }

    /// <summary>The run's trace: every worker's operations added up, every 100 ms (the injector's own sampling step).</summary>
    public ThroughputTrace Sum()
    {
        lock (_nodes) return ThroughputTrace.Sum(_nodes.Values, 0.1);
    }
}
