using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text;

namespace SivActors.Actors.Tests.Cluster;

/// <summary>
/// `siv` in a child process: its output line by line, waits for a line with a deadline, SIGTERM, and a dispose that
/// kills it by PID if it is still running, pass or fail.
/// </summary>
public sealed class ChildProcess : IDisposable
{
    private static readonly string Siv = Path.Combine(AppContext.BaseDirectory, "siv.dll");
    private readonly Process _process;
    private readonly StringBuilder _output = new();
    private readonly List<(Func<string, bool> Match, TaskCompletionSource<string> Done)> _waiters = [];

    private ChildProcess(Process process)
    {
        _process = process;
        _process.OutputDataReceived += (_, e) => Line(e.Data);
        _process.ErrorDataReceived += (_, e) => Line(e.Data is null ? null : "stderr: " + e.Data);
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
    }

    public static ChildProcess Start(string workDir, params string[] args) => Start(workDir, new Dictionary<string, string>(), args);

    /// <summary>`siv ARGS` with only <paramref name="environment"/> of siv's own variables set.</summary>
    public static ChildProcess Start(string workDir, IReadOnlyDictionary<string, string> environment, params string[] args)
    {
        var psi = new ProcessStartInfo("dotnet") { WorkingDirectory = workDir, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        psi.ArgumentList.Add(Siv);
        foreach (var a in args) psi.ArgumentList.Add(a);
        foreach (var v in new[] { "SIV_POSTGRES", "SIV_DB", "SIV_SEEDS", "SIV_HOST", "SIV_PORT", "SIV_BIND", "SIV_ROLES", "SIV_PARTITIONABLE", "SIV_RESTARTABLE" })
            psi.Environment.Remove(v);
        foreach (var (name, value) in environment) psi.Environment[name] = value;
        return new ChildProcess(Process.Start(psi) ?? throw new InvalidOperationException("dotnet did not start"));
    }

    public int Pid => _process.Id;

    public string Output
    {
        get
        {
            lock (_output) return _output.ToString();
        }
    }

    private void Line(string? line)
    {
        if (line is null) return;
        lock (_output)
        {
            _output.AppendLine(line);
            foreach (var w in _waiters.Where(w => w.Match(line)).ToList())
            {
                _waiters.Remove(w);
                w.Done.TrySetResult(line);
            }
        }
    }

    /// <summary>The first line (already printed or still to come) that matches, or a failure naming what was seen.</summary>
    public async Task<string> WaitForLine(Func<string, bool> match, TimeSpan timeout, string what)
    {
        var done = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (_output)
        {
            var seen = _output.ToString().Split('\n').Select(l => l.TrimEnd('\r')).FirstOrDefault(match);
            if (seen is not null) return seen;
            _waiters.Add((match, done));
        }
        var finished = await Task.WhenAny(done.Task, Task.Delay(timeout));
        if (finished != done.Task) throw new TimeoutException($"no {what} within {timeout.TotalSeconds:0} s; output so far:\n{Output}");
        return await done.Task;
    }

    public async Task<int> WaitForExit(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await _process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            throw new TimeoutException($"process {Pid} did not exit within {timeout.TotalSeconds:0} s; output:\n{Output}");
        }
        _process.WaitForExit(); // drains the output readers
        return _process.ExitCode;
    }

    public void Terminate()
    {
        if (!_process.HasExited && Kill(_process.Id, 15) != 0) throw new InvalidOperationException($"kill -TERM {_process.Id} failed");
    }

    public void Dispose()
    {
        try
        {
            if (!_process.HasExited) _process.Kill(entireProcessTree: true);
        }
        catch (InvalidOperationException)
        {
        }
        _process.Dispose();
    }

    [DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static extern int Kill(int pid, int signal);

    /// <summary>A port on 127.0.0.1 that nothing listens on right now.</summary>
    /// <summary>
    /// A port nothing listens on, below Linux's ephemeral range (32768 and up). A port from that range can be taken
    /// as the source port of an outgoing connection (to PostgreSQL, or a survivor's reconnect) between the moment a
    /// node stops and the moment it, or its restarted successor, binds it again; a restarted node then cannot come
    /// back at its address. Never the same port twice in one test process.
    /// </summary>
    public static int FreePort()
    {
        lock (HandedOut)
        {
            for (var attempt = 0; attempt < 1000; attempt++)
            {
                var port = Random.Shared.Next(20000, 32700);
                if (HandedOut.Add(port) && PortIsFree(port)) return port;
            }
        }
        throw new InvalidOperationException("no free port found in 20000..32699");
    }

    private static readonly HashSet<int> HandedOut = [];

    public static bool PortIsFree(int port)
    {
        var l = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, port);
        try
        {
            l.Start();
            return true;
        }
        catch (System.Net.Sockets.SocketException)
        {
            return false;
        }
        finally
        {
            l.Stop();
        }
    }
}
