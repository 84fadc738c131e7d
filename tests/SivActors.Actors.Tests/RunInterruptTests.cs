using System.Text.Json;
using SivActors.Actors.Tests.Cluster;
using SivActors.Cli;

namespace SivActors.Actors.Tests;

/// <summary>
/// A signal during `siv run`: the first one ends the measured window early, the run drains and balances like a full
/// one, writes its report with <c>interrupted: true</c> and exits 128 + the signal's number.
/// </summary>
public sealed class RunInterruptTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("siv-interrupt").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public async Task Sigterm_mid_run_ends_the_window_and_writes_a_balanced_partial_report()
    {
        var db = Path.Combine(_dir, "siv.db");
        var outDir = Path.Combine(_dir, "out");
        using (var run = ChildProcess.Start(_dir, "run", "--containers", "64", "--duration", "120", "--fresh", "--db", db, "--out", outDir))
        {
            // The progress line of the measured window: the load runs.
            await run.WaitForLine(l => l.Contains("running", StringComparison.Ordinal), TimeSpan.FromSeconds(120), "progress line of the running window");
            run.Terminate();
            Assert.Equal(SivCli.InterruptedBySigterm, await run.WaitForExit(TimeSpan.FromSeconds(120)));
            Assert.Contains("siv: SIGTERM: ending the run now", run.Output);
        }
        using var report = JsonDocument.Parse(await File.ReadAllTextAsync(Path.Combine(outDir, "report.json")));
        var r = report.RootElement;
        Assert.True(r.GetProperty("interrupted").GetBoolean());
        Assert.True(r.GetProperty("throughput").GetProperty("wallSeconds").GetDouble() < 120);
        Assert.True(r.GetProperty("invariants").GetProperty("passed").GetBoolean(), r.GetProperty("invariants").ToString());
        var ledger = r.GetProperty("ledger");
        Assert.Equal(0, ledger.GetProperty("descriptors").GetProperty("inFlight").GetInt64());
        Assert.True(ledger.GetProperty("interrupts").GetProperty("balanced").GetBoolean());
        Assert.True(ledger.GetProperty("descriptors").GetProperty("completed").GetInt64() > 0);
        // The tables it left are whole: the snapshots and the events agree.
        Assert.Equal(await Digest(db, fromEvents: false), await Digest(db, fromEvents: true));
    }

    [Fact]
    public async Task An_interruption_during_start_up_says_so_and_leaves_no_report()
    {
        using var interrupted = new CancellationTokenSource();
        interrupted.Cancel();
        var outDir = Path.Combine(_dir, "out");
        var err = new StringWriter();
        var code = await SivCli.InvokeAsync(["run", "--containers", "8", "--duration", "5", "--fresh", "--db", Path.Combine(_dir, "siv.db"), "--out", outDir],
            new StringWriter(), err, new RunOptions { Interactive = false, Interrupt = interrupted.Token });
        Assert.Equal(SivCli.InterruptedBySigint, code);
        var lines = err.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries).Where(l => l.StartsWith("siv:", StringComparison.Ordinal)).ToList();
        Assert.Contains(lines, l => l.Contains("before the measured window opened", StringComparison.Ordinal));
        Assert.DoesNotContain(lines, l => l.Contains("database", StringComparison.OrdinalIgnoreCase) || l.Contains("reachable", StringComparison.Ordinal));
        Assert.False(File.Exists(Path.Combine(outDir, "report.json")));
    }

    private async Task<string> Digest(string db, bool fromEvents)
    {
        using var p = ChildProcess.Start(_dir, fromEvents ? ["tables", "digest", "--db", db, "--from-events"] : ["tables", "digest", "--db", db]);
        Assert.Equal(0, await p.WaitForExit(TimeSpan.FromSeconds(120)));
        return string.Join('\n', p.Output.Split('\n').Where(l => !l.StartsWith("stderr:", StringComparison.Ordinal)));
    }
}
