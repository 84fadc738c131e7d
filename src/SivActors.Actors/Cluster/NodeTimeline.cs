using SivActors.Model.Faults;

namespace SivActors.Actors.Cluster;

/// <summary>
/// Each worker's completed operations on its own clock, from the figures it reports (every half second and at the
/// end), for a cluster run's throughput trace. A worker cut off by a partition reports late; placed by its own
/// time, its operations stay where they happened instead of piling up at the moment it healed. A worker that joined
/// mid-run counts from its own window's start, which is later than the others': its share is placed early by that
/// much (a rebalance is the only way to get one, and the report names it).
/// </summary>
public sealed class NodeTimeline
{
    private readonly Dictionary<string, ThroughputTrace> _nodes = [];

    public void Record(ClusterProtocol.NodeMetrics m)
    {
        if (m.WindowUs <= 0) return;
        lock (_nodes)
        {
            if (!_nodes.TryGetValue(m.Node, out var trace))
            {
                _nodes[m.Node] = trace = new ThroughputTrace();
                trace.Add(0, 0);
            }
            trace.Add(m.WindowUs / 1e6, m.WindowOperations);
        }
    }

    /// <summary>The run's trace: every worker's operations added up, every 100 ms (the injector's own sampling step).</summary>
    public ThroughputTrace Sum()
    {
        lock (_nodes) return ThroughputTrace.Sum(_nodes.Values, 0.1);
    }
}
