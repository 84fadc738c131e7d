using SivActors.Cli;

namespace SivActors.Actors.Tests.Cluster;

/// <summary>`siv node` processes on 127.0.0.1: forming a cluster, leaving it on SIGTERM, refusing bad configuration.</summary>
[Collection(TestCluster.Collection)]
public sealed class NodeProcessTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("siv-nodes").FullName;
    private readonly List<ChildProcess> _processes = [];

    private ChildProcess Node(params string[] args)
    {
        var p = ChildProcess.Start(_dir, ["node", .. args]);
        _processes.Add(p);
        return p;
    }

    public void Dispose()
    {
        foreach (var p in _processes) p.Dispose();
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Directory.Delete(_dir, recursive: true);
    }

    [Fact]
    public async Task Three_nodes_form_a_cluster_and_leave_it_gracefully_on_sigterm()
    {
        var ports = Enumerable.Range(0, 3).Select(_ => ChildProcess.FreePort()).ToArray();
        var seed = $"127.0.0.1:{ports[0]}";
        var nodes = ports.Select((port, i) => Node("--port", port.ToString(), "--seeds", seed, "--db", Path.Combine(_dir, $"n{i}.db"))).ToList();
        var timeout = TimeSpan.FromSeconds(60);
        foreach (var n in nodes) await n.WaitForLine(l => l.Contains(" is up "), timeout, "'is up'");
        await nodes[0].WaitForLine(l => l.EndsWith("members: 3", StringComparison.Ordinal), timeout, "three members");

        // A worker leaves: the others see it removed (not unreachable, not downed).
        nodes[2].Terminate();
        Assert.Equal(SivCli.Ok, await nodes[2].WaitForExit(timeout));
        Assert.Contains(" left", nodes[2].Output);
        await nodes[0].WaitForLine(l => l.StartsWith($"member removed: akka.tcp://siv@127.0.0.1:{ports[2]}", StringComparison.Ordinal), timeout, "the worker's removal");
        Assert.DoesNotContain("unreachable", nodes[0].Output);

        foreach (var n in nodes.Take(2)) n.Terminate();
        foreach (var n in nodes.Take(2)) Assert.Equal(SivCli.Ok, await n.WaitForExit(timeout));
        Assert.All(ports, p => Assert.True(ChildProcess.PortIsFree(p), $"port {p} still in use"));
    }

    private static void AssertOneErrorLine(ChildProcess p, int code, int expected, string text)
    {
        Assert.Equal(expected, code);
        var errors = p.Output.Split('\n').Where(l => l.StartsWith("stderr: ", StringComparison.Ordinal)).ToList();
        Assert.Single(errors);
        Assert.Contains(text, errors[0]);
        Assert.DoesNotContain(" is up ", p.Output);
    }

    [Theory]
    [InlineData("SIV_PARTITIONABLE", "yes")]
    [InlineData("SIV_RESTARTABLE", "maybe")]
    public async Task A_switch_from_the_environment_that_is_neither_on_nor_off_is_refused_in_one_line_naming_it(string name, string value)
    {
        var p = ChildProcess.Start(_dir, new Dictionary<string, string> { [name] = value }, "node", "--port", ChildProcess.FreePort().ToString(), "--db", Path.Combine(_dir, "env.db"));
        _processes.Add(p);
        AssertOneErrorLine(p, await p.WaitForExit(TimeSpan.FromSeconds(60)), SivCli.BadInput,
            $"${name} is \"{value}\"; use 1 or true to turn it on, 0 or false (or unset) to leave it off");
        Assert.False(File.Exists(Path.Combine(_dir, "env.db")), "the refused node created its database");
    }

    [Fact]
    public async Task A_taken_port_a_wrong_seed_and_an_unreachable_database_each_give_one_line_and_a_non_zero_exit()
    {
        using var taken = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        taken.Start();
        var takenPort = ((System.Net.IPEndPoint)taken.LocalEndpoint).Port;
        var timeout = TimeSpan.FromSeconds(60);

        var portTaken = Node("--port", takenPort.ToString(), "--seeds", $"127.0.0.1:{takenPort}", "--db", Path.Combine(_dir, "a.db"));
        AssertOneErrorLine(portTaken, await portTaken.WaitForExit(timeout), SivCli.BadInput, "is not available");

        var nowhere = ChildProcess.FreePort();
        var wrongSeed = Node("--port", ChildProcess.FreePort().ToString(), "--seeds", $"127.0.0.1:{nowhere}", "--join-timeout", "3", "--db", Path.Combine(_dir, "b.db"));
        AssertOneErrorLine(wrongSeed, await wrongSeed.WaitForExit(timeout), SivCli.InvariantFailed, "could not join the cluster");

        var badSeed = Node("--port", ChildProcess.FreePort().ToString(), "--seeds", "not-a-seed", "--db", Path.Combine(_dir, "c.db"));
        AssertOneErrorLine(badSeed, await badSeed.WaitForExit(timeout), SivCli.BadInput, "is not host:port");

        var noDb = Node("--port", ChildProcess.FreePort().ToString(), "--seeds", "127.0.0.1:1",
            "--postgres", $"Host=127.0.0.1;Port={nowhere};Username=siv;Timeout=3");
        AssertOneErrorLine(noDb, await noDb.WaitForExit(timeout), SivCli.BadInput, "is not usable");
    }
}
