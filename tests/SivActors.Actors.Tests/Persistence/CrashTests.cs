using System.Diagnostics;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using SivActors.Actors.Persistence;
using SivActors.Cli;
using SivActors.Model.Tables;

namespace SivActors.Actors.Tests.Persistence;

/// <summary>
/// `siv run` in a child process is killed with SIGKILL while it programs tables. Every change it acknowledged
/// (logged by --ack-log just before the acknowledgement) must be in the journal, byte for byte; the journal must
/// hold each sequence number once; snapshots must agree with the events; and a restarted run resumes the tables,
/// frees what the crash orphaned, and finishes with every invariant holding.
/// </summary>
public sealed class CrashTests
{
    private static readonly string Siv = Path.Combine(AppContext.BaseDirectory, "siv.dll");

    [Theory]
    [MemberData(nameof(TestStores.Kinds), MemberType = typeof(TestStores))]
    public async Task Sigkill_mid_run_loses_no_acknowledged_change_and_applies_none_twice(string kind)
    {
        await using var db = await TestStores.CreateAsync(kind);
        var work = Path.Combine(Path.GetTempPath(), "siv-crash-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(work);
        try
        {
            var ackLog = Path.Combine(work, "acks.log");
            var storeArgs = StoreArgs(db.Store);
            // Small snapshot interval so the kill also lands between snapshots and their later events.
            using (var victim = Start(work, [.. storeArgs, "--containers", "200", "--duration", "120", "--ack-log", ackLog], snapshotEvery: 500))
            {
                var victimOut = Drain(victim);
                try
                {
                    // Wait (bounded) until the run has acknowledged plenty of table changes, then kill it.
                    var deadline = Stopwatch.StartNew();
                    while (CountLines(ackLog) < 3_000)
                    {
                        if (victim.HasExited) Assert.Fail($"siv run exited early ({victim.ExitCode}): {victimOut}");
                        Assert.True(deadline.Elapsed < TimeSpan.FromSeconds(90), "the run did not acknowledge 3,000 table changes in 90 s");
                        await Task.Delay(50);
                    }
                }
                finally
                {
                    victim.Kill(entireProcessTree: true); // SIGKILL
                    await victim.WaitForExitAsync();
                }
            }

            var acks = File.ReadAllLines(ackLog).Where(l => l.Length > 0).Select(l => l.Split(' ')).ToList();
            Assert.True(acks.Count >= 3_000);
            await using (var reader = await ReaderSystem.StartAsync(db.Store))
            {
                var journal = new Dictionary<string, Dictionary<long, string>>();
                foreach (var pid in acks.Select(a => a[0]).Distinct())
                {
                    var events = await TableInspector.ReadEventsAsync(reader.System, pid, TimeSpan.FromSeconds(60));
                    // Each sequence number once, no gaps: nothing was written twice or skipped.
                    Assert.Equal(Enumerable.Range(1, events.Count).Select(i => (long)i), events.Select(e => e.SequenceNr));
                    journal[pid] = events.ToDictionary(e => e.SequenceNr, e => Hash(e.Event));
                }
                foreach (var a in acks)
                {
                    Assert.True(journal[a[0]].TryGetValue(long.Parse(a[1]), out var stored), $"acknowledged {a[0]} #{a[1]} is not in the journal");
                    Assert.Equal(a[2], stored);
                }
                var topology = await TableInspector.ReadTopologyAsync(reader.System, TimeSpan.FromSeconds(30));
                var fromSnapshots = await TableInspector.ReadHostAsync(reader.System, topology!, 0, fromEvents: false, TimeSpan.FromSeconds(60));
                var fromEvents = await TableInspector.ReadHostAsync(reader.System, topology!, 0, fromEvents: true, TimeSpan.FromSeconds(60));
                Assert.Equal(TableInspector.Digests([fromEvents]), TableInspector.Digests([fromSnapshots]));
            }

            // Restart on the same database: it resumes, reconciles, and completes with every invariant holding.
            using (var again = Start(work, [.. storeArgs, "--containers", "200", "--duration", "2"], snapshotEvery: 500))
            {
                var output = Drain(again);
                if (!again.WaitForExit(TimeSpan.FromSeconds(180)))
                {
                    again.Kill(entireProcessTree: true);
                    Assert.Fail($"the resumed run did not finish in 180 s: {output}");
                }
                again.WaitForExit(); // flushes the asynchronous readers
                Assert.True(again.ExitCode == 0, $"resumed run exit {again.ExitCode}: {output}");
                Assert.Contains("resumed", output.ToString());
                Assert.Contains("all invariants hold", output.ToString());
            }
            RecoveryTests.AssertTablesAgree(await TablesCommand.ReadAsync(db.Store, null, fromEvents: false, CancellationToken.None));
        }
        finally
        {
            Directory.Delete(work, recursive: true);
        }
    }

    private static string[] StoreArgs(TableStore store) => store.Kind == TableStoreKind.Sqlite
        ? ["--db", new Microsoft.Data.Sqlite.SqliteConnectionStringBuilder(store.ConnectionString).DataSource]
        : ["--postgres", store.ConnectionString];

    private static Process Start(string workDir, string[] args, int snapshotEvery)
    {
        var psi = new ProcessStartInfo("dotnet")
        {
            WorkingDirectory = workDir,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        psi.ArgumentList.Add(Siv);
        psi.ArgumentList.Add("run");
        foreach (var a in args) psi.ArgumentList.Add(a);
        psi.ArgumentList.Add("--out");
        psi.ArgumentList.Add(Path.Combine(workDir, "out"));
        psi.Environment[TableStore.SnapshotEveryEnvironmentVariable] = snapshotEvery.ToString(System.Globalization.CultureInfo.InvariantCulture);
        psi.Environment.Remove(TableStore.PostgresEnvironmentVariable);
        psi.Environment.Remove(TableStore.DbEnvironmentVariable);
        return Process.Start(psi) ?? throw new InvalidOperationException("dotnet did not start");
    }

    /// <summary>Collects both output streams as they come, so a full pipe never blocks the child.</summary>
    private static StringBuilder Drain(Process p)
    {
        var sb = new StringBuilder();
        p.OutputDataReceived += (_, e) => { lock (sb) sb.AppendLine(e.Data); };
        p.ErrorDataReceived += (_, e) => { lock (sb) sb.AppendLine(e.Data); };
        p.BeginOutputReadLine();
        p.BeginErrorReadLine();
        return sb;
    }

    private static int CountLines(string path)
    {
        if (!File.Exists(path)) return 0;
        using var s = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        var count = 0;
        int b;
        while ((b = s.ReadByte()) >= 0) if (b == '\n') count++;
        return count;
    }

    private static string Hash(object e) => Convert.ToHexStringLower(SHA256.HashData(e switch
    {
        InterruptUnitEvent i => TableCodec.Encode(i),
        VdcmEvent v => VdcmCodec.Encode(v),
        _ => Encoding.UTF8.GetBytes(e.GetType().Name),
    }));
}

/// <summary>A bare actor system on a store, for reading journals the way `siv tables` does.</summary>
public sealed class ReaderSystem : IAsyncDisposable
{
    private readonly IHost _host;

    private ReaderSystem(IHost host)
    {
        _host = host;
        System = host.Services.GetRequiredService<Akka.Actor.ActorSystem>();
    }

    public Akka.Actor.ActorSystem System { get; }

    public static async Task<ReaderSystem> StartAsync(TableStore store)
    {
        var host = EmulatorRun.BuildHost(store);
        await host.StartAsync();
        return new ReaderSystem(host);
    }

    public async ValueTask DisposeAsync()
    {
        await _host.StopAsync();
        _host.Dispose();
    }
}
