using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;

namespace SivActors.Cli;

/// <summary>
/// <c>siv node --restartable</c>: the process a user starts stays up as the node's keeper and runs the node itself as
/// a child. A scheduled crash-node still ends the node's process abruptly (SIGKILL, as a machine losing power), and
/// when the scenario has a restart-node for it, the node leaves the keeper a note before it dies; the keeper starts
/// it again with the same arguments when the restart is due, as an operator or a machine's watchdog would. Without a
/// note the keeper exits with the node's code. SIGTERM and Ctrl-C go to the node, which leaves gracefully. The keeper
/// also keeps a docker compose service up across a scheduled crash (decision 55).
/// </summary>
public static class NodeKeeper
{
    /// <summary>Set by the keeper in its node's environment: the file the node writes its restart note to.</summary>
    public const string NoteVariable = "SIV_NODE_KEEPER_NOTE";

    public const string Option = "--restartable";

    /// <summary>The keeper's note file when this process is a node its keeper started; null otherwise.</summary>
    public static string? NotePath => Environment.GetEnvironmentVariable(NoteVariable) is { Length: > 0 } p ? p : null;

    /// <summary>What a node about to crash tells its keeper (or its console, when it has none).</summary>
    public static void OnCrash(string line, int restartAfterMs)
    {
        Console.Error.WriteLine(line);
        if (restartAfterMs <= 0) return;
        if (NotePath is { } note)
            File.WriteAllText(note, restartAfterMs.ToString(CultureInfo.InvariantCulture));
        else
            Console.Error.WriteLine($"siv node: the scenario restarts this worker after {restartAfterMs / 1000.0:0.0} s, but only a keeper can ({Option}); it stays down");
    }

    public static async Task<int> RunAsync(TextWriter output, TextWriter error, CancellationToken ct)
    {
        var note = Path.Combine(Path.GetTempPath(), $"siv-keeper-{Environment.ProcessId}.note");
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(ct);
        Process? node = null;
        void Forward(PosixSignalContext c)
        {
            c.Cancel = true;
            stop.Cancel();
            if (node is { HasExited: false } n) _ = Kill(n.Id, SigTerm);
        }
        using var term = PosixSignalRegistration.Create(PosixSignal.SIGTERM, Forward);
        using var interrupt = PosixSignalRegistration.Create(PosixSignal.SIGINT, Forward);
        try
        {
            while (true)
            {
                File.Delete(note);
                var start = NodeStartInfo();
                start.Environment[NoteVariable] = note;
                using (node = Process.Start(start) ?? throw new InvalidOperationException($"{start.FileName} did not start"))
                {
                    await node.WaitForExitAsync(CancellationToken.None);
                    var code = node.ExitCode;
                    if (stop.IsCancellationRequested || !File.Exists(note)
                        || !int.TryParse(await File.ReadAllTextAsync(note, CancellationToken.None), CultureInfo.InvariantCulture, out var afterMs))
                        return code;
                    output.WriteLine($"siv node keeper: the node ended by a scheduled crash (exit {code}); starting it again in {afterMs / 1000.0:0.0} s (restart-node)");
                    try
                    {
                        await Task.Delay(afterMs, stop.Token);
                    }
                    catch (OperationCanceledException)
                    {
                        return code;
                    }
                }
            }
        }
        finally
        {
            File.Delete(note);
        }
    }

    /// <summary>This same program with this process's arguments, less the keeper's own option.</summary>
    private static ProcessStartInfo NodeStartInfo()
    {
        var args = Environment.GetCommandLineArgs();
        var process = Environment.ProcessPath ?? throw new InvalidOperationException("this process's path is unknown");
        var start = new ProcessStartInfo(process) { UseShellExecute = false };
        // `dotnet siv.dll ...`: the first argument is the program; an apphost (`siv ...`) is the program itself.
        if (Path.GetFileNameWithoutExtension(process) == "dotnet") start.ArgumentList.Add(args[0]);
        foreach (var a in args.Skip(1).Where(a => a != Option)) start.ArgumentList.Add(a);
        return start;
    }

    private const int SigTerm = 15;

    [DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static extern int Kill(int pid, int signal);
}
