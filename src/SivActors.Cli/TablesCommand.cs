using System.CommandLine;
using System.Text.Json;
using Akka.Actor;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using SivActors.Actors.Persistence;
using SivActors.Model;
using SivActors.Model.Identity;
using SivActors.Model.Tables;
using Spectre.Console;

namespace SivActors.Cli;

/// <summary>`siv tables dump|digest`: read the persisted tables without starting the emulator.</summary>
public static class TablesCommand
{
    private static readonly TimeSpan ReadTimeout = TimeSpan.FromSeconds(120);

    public static Command Build(TextWriter output, Func<Option<string?>> db, Func<Option<string?>> postgres)
    {
        var tables = new Command("tables", "Inspect the persisted remapping tables");

        var dbDump = db();
        var pgDump = postgres();
        var host = new Option<int?>("--host") { Description = "Only this host" };
        var asid = new Option<string?>("--asid") { Description = "Only this ASID (decimal or 0x hex)" };
        var format = new Option<string>("--format") { Description = "table or json", DefaultValueFactory = _ => "table" };
        format.AcceptOnlyFromAmong("table", "json");
        var dump = new Command("dump", "Print the persisted ASID tables, interrupt tables and vdev compositions") { dbDump, pgDump, host, asid, format };
        dump.SetAction(async (p, ct) =>
        {
            var filterAsid = ParseAsid(p.GetValue(asid));
            var hosts = await ReadAsync(TableStore.Resolve(p.GetValue(dbDump), p.GetValue(pgDump)), p.GetValue(host), fromEvents: false, ct);
            var doc = TableDump.Build(hosts.Hosts, filterAsid);
            if (p.GetValue(format) == "json") output.WriteLine(JsonSerializer.Serialize(doc, RunCommand.ReportJson));
            else TableDump.Print(AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(output) }), hosts.Topology, doc);
            return SivCli.Ok;
        });

        var dbDigest = db();
        var pgDigest = postgres();
        var fromEvents = new Option<bool>("--from-events") { Description = "Ignore snapshots and replay every event (checks that snapshots agree with the journal)" };
        var digest = new Command("digest", "Print a stable SHA-256 content digest per persisted table") { dbDigest, pgDigest, fromEvents };
        digest.SetAction(async (p, ct) =>
        {
            var read = await ReadAsync(TableStore.Resolve(p.GetValue(dbDigest), p.GetValue(pgDigest)), null, p.GetValue(fromEvents), ct);
            foreach (var (name, value) in TableInspector.Digests(read.Hosts)) output.WriteLine($"{name} {value}");
            return SivCli.Ok;
        });

        tables.Add(dump);
        tables.Add(digest);
        return tables;
    }

    private static Asid? ParseAsid(string? text)
    {
        if (text is null) return null;
        var ok = text.StartsWith("0x", StringComparison.OrdinalIgnoreCase)
            ? long.TryParse(text[2..], System.Globalization.NumberStyles.HexNumber, null, out var v)
            : long.TryParse(text, out v);
        if (!ok || v < 0 || v > Asid.MaxValue) throw new SivInputException($"--asid {text} is not a 20-bit ASID (0..0x{Asid.MaxValue:X})");
        return Asid.FromMasked((uint)v);
    }

    public sealed record ReadResult(TopologyRecorded Topology, IReadOnlyList<PersistedHost> Hosts);

    /// <summary>Starts a bare actor system on the store (no emulator entities) and replays the tables.</summary>
    public static async Task<ReadResult> ReadAsync(TableStore store, int? onlyHost, bool fromEvents, CancellationToken ct)
    {
        if (store.Kind == TableStoreKind.Sqlite)
        {
            var file = new Microsoft.Data.Sqlite.SqliteConnectionStringBuilder(store.ConnectionString).DataSource;
            if (Directory.Exists(file)) throw new SivInputException($"--db {file} is a directory; name the database file inside it (e.g. {Path.Combine(file, "siv.db")})");
            if (!File.Exists(file)) throw new SivInputException($"{store.Display} does not exist; `siv run` creates it");
        }
        await store.CheckAsync(ct);
        using var app = EmulatorRun.BuildHost(store, quiet: true);
        await app.StartAsync(ct);
        try
        {
            var system = app.Services.GetRequiredService<ActorSystem>();
            var topology = await TableInspector.ReadTopologyAsync(system, ReadTimeout)
                           ?? throw new SivInputException($"{store.Display} holds no tables yet; `siv run` writes them");
            var hostCount = topology.Document.Topology.Hosts;
            if (onlyHost is { } h && (h < 0 || h >= hostCount)) throw new SivInputException($"--host {h} does not exist (the stored topology has hosts 0..{hostCount - 1})");
            var hosts = new List<PersistedHost>();
            for (var i = 0; i < hostCount; i++)
                if (onlyHost is null || onlyHost == i) hosts.Add(await TableInspector.ReadHostAsync(system, topology, i, fromEvents, ReadTimeout));
            return new ReadResult(topology, hosts);
        }
        catch (InvalidDataException e)
        {
            throw new SivInputException($"{store.Display}: {e.Message}");
        }
        finally
        {
            await app.StopAsync(CancellationToken.None);
        }
    }
}
