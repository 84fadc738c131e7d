using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;

namespace SivActors.Bench;

/// <summary>
/// `siv node` worker processes on 127.0.0.1 that a benchmark starts, waits for, and kills (with every child) when
/// disposed; each has its own SQLite file in the benchmark's temporary directory.
/// </summary>
internal sealed class SivNodeProcesses : IDisposable
{
    private readonly List<Process> _processes = [];
    private readonly ConcurrentQueue<string> _lines = new();
    private readonly string _dir;

    private SivNodeProcesses(string dir, string seed)
    {
        _dir = dir;
        Seed = seed;
    }

    /// <summary>host:port of the first node, the cluster's seed.</summary>
    public string Seed { get; }

    /// <summary>Starts <paramref name="count"/> worker nodes forming one cluster and returns once all are up.</summary>
    public static async Task<SivNodeProcesses> StartAsync(string dir, string name, int count, int shardsPerHost, CancellationToken ct)
    {
        var ports = Enumerable.Range(0, count).Select(_ => FreePort()).ToArray();
        var nodes = new SivNodeProcesses(dir, $"127.0.0.1:{ports[0]}");
        try
        {
            var siv = Path.Combine(AppContext.BaseDirectory, "siv.dll");
            for (var i = 0; i < count; i++)
            {
                var p = nodes.Start(siv, "node", "--port", ports[i].ToString(CultureInfo.InvariantCulture), "--seeds", nodes.Seed,
                    "--db", Path.Combine(dir, $"{name}-n{i}.db"), "--shards-per-host", shardsPerHost.ToString(CultureInfo.InvariantCulture));
                p.OutputDataReceived += (_, e) => { if (e.Data is { } l) nodes._lines.Enqueue(l); };
                p.BeginOutputReadLine();
                p.BeginErrorReadLine();
            }
            var deadline = Stopwatch.StartNew();
            // Each node prints "siv node ... is up" once it is a member with status Up.
            while (nodes._lines.Count(l => l.StartsWith("siv node ", StringComparison.Ordinal) && l.Contains(" is up ", StringComparison.Ordinal)) < count)
            {
                if (nodes._processes.FirstOrDefault(p => p.HasExited) is { } dead)
                    throw new InvalidOperationException($"a siv node of {name} exited with {dead.ExitCode} before the cluster formed");
                if (deadline.Elapsed > TimeSpan.FromSeconds(90)) throw new TimeoutException($"the {count} nodes of {name} did not form a cluster in 90 s");
                await Task.Delay(100, ct);
            }
            return nodes;
        }
        catch
        {
            nodes.Dispose();
            throw;
        }
    }

    /// <summary>Starts another process (a raw baseline's peer) that is stopped with the nodes.</summary>
    public Process Start(string dll, params string[] args)
    {
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false, WorkingDirectory = _dir };
        psi.ArgumentList.Add(dll);
        foreach (var a in args) psi.ArgumentList.Add(a);
        foreach (var v in new[] { "SIV_POSTGRES", "SIV_DB", "SIV_SEEDS" }) psi.Environment.Remove(v);
        var p = Process.Start(psi)!;
        _processes.Add(p);
        return p;
    }

    public void Dispose()
    {
        foreach (var p in _processes)
        {
            if (!p.HasExited) p.Kill(entireProcessTree: true);
            p.WaitForExit();
            p.Dispose();
        }
        _processes.Clear();
    }

    public static int FreePort()
    {
        var l = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        l.Start();
        var port = ((System.Net.IPEndPoint)l.LocalEndpoint).Port;
        l.Stop();
        return port;
    }
}
