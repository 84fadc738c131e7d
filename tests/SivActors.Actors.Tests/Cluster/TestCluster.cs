namespace SivActors.Actors.Tests.Cluster;

/// <summary>
/// `siv node` workers on 127.0.0.1 for one test: distinct free ports, the first is the seed, and dispose stops
/// every process by its PID and removes the working directory, pass or fail.
/// </summary>
public sealed class TestCluster : IDisposable
{
    /// <summary>
    /// Tests that start `siv node` processes run one after another: each starts several busy processes on a 2-core
    /// machine, and a test that times a join or a leave against a run's duration must not share the cores with another.
    /// </summary>
    public const string Collection = "siv node processes";

    public string Dir { get; } = Directory.CreateTempSubdirectory("siv-cluster").FullName;
    public List<ChildProcess> Nodes { get; } = [];
    public int[] Ports { get; private set; } = [];
    public string Seed => $"127.0.0.1:{Ports[0]}";

    /// <summary>Starts <paramref name="count"/> workers (with <paramref name="store"/>'s flags each) and waits until the seed sees them all Up.</summary>
    public async Task StartAsync(int count, Func<int, string[]> store, TimeSpan timeout)
    {
        Ports = Enumerable.Range(0, count).Select(_ => ChildProcess.FreePort()).ToArray();
        for (var i = 0; i < count; i++)
            Nodes.Add(ChildProcess.Start(Dir, ["node", "--port", Ports[i].ToString(), "--seeds", Seed, .. store(i)]));
        await Nodes[0].WaitForLine(l => l.EndsWith($"members: {count}", StringComparison.Ordinal), timeout, $"{count} members");
    }

    /// <summary>Starts one more worker that joins through the seed (it is not waited for).</summary>
    public ChildProcess AddNode(string[] store)
    {
        var port = ChildProcess.FreePort();
        Ports = [.. Ports, port];
        var node = ChildProcess.Start(Dir, ["node", "--port", port.ToString(), "--seeds", Seed, .. store]);
        Nodes.Add(node);
        return node;
    }

    public void Dispose()
    {
        foreach (var p in Nodes) p.Dispose();
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Directory.Delete(Dir, recursive: true);
    }
}

[CollectionDefinition(TestCluster.Collection, DisableParallelization = true)]
public sealed class NodeProcessCollection;

