using System.Text.Json;
using SivActors.Cli;

namespace SivActors.Actors.Tests.Persistence;

/// <summary>`siv run` twice on one database, then `siv tables digest` and `siv tables dump`, all through the CLI.</summary>
public sealed class TablesCliTests
{
    private static async Task<(int Code, string Out, string Err)> Siv(params string[] args)
    {
        var o = new StringWriter();
        var e = new StringWriter();
        var code = await SivCli.InvokeAsync(args, o, e, new RunOptions { Interactive = false });
        return (code, o.ToString(), e.ToString());
    }

    [Fact]
    public async Task Run_resume_digest_and_dump()
    {
        var dir = Directory.CreateTempSubdirectory("siv-tables-cli").FullName;
        try
        {
            var db = Path.Combine(dir, "siv.db");
            string[] run = ["run", "--db", db, "--containers", "40", "--duration", "1", "--out", Path.Combine(dir, "out")];
            var first = await Siv(run);
            Assert.True(first.Code == 0, first.Err + first.Out);
            Assert.Contains(", new;", first.Out);
            var second = await Siv(run);
            Assert.True(second.Code == 0, second.Err + second.Out);
            Assert.Contains(", resumed;", second.Out);

            var digest = await Siv("tables", "digest", "--db", db);
            Assert.Equal(0, digest.Code);
            var lines = digest.Out.Trim().Split('\n');
            Assert.Contains(lines, l => l.StartsWith("interrupt-unit-h0/asid-table ", StringComparison.Ordinal));
            Assert.Contains(lines, l => l.StartsWith("vdcm-h0/compositions ", StringComparison.Ordinal));
            Assert.All(lines, l => Assert.Matches("^[a-z0-9/-]+ [0-9a-f]{64}$", l));
            Assert.Equal(digest.Out, (await Siv("tables", "digest", "--db", db, "--from-events")).Out);

            var dump = await Siv("tables", "dump", "--db", db, "--asid", "0x00001", "--format", "json");
            Assert.Equal(0, dump.Code);
            using var doc = JsonDocument.Parse(dump.Out);
            var host = doc.RootElement.GetProperty("hosts")[0];
            Assert.Equal("0x00001", host.GetProperty("asidTable").EnumerateArray().Single().GetProperty("asid").GetString());
            var vdev = host.GetProperty("vdevs").EnumerateArray().Single();
            Assert.Equal("c0", vdev.GetProperty("container").GetString());
            // Every entry in the dump belongs to the ASID asked for, and the vdev's handles are among them.
            var entries = host.GetProperty("interruptTables").EnumerateArray().SelectMany(t => t.GetProperty("entries").EnumerateArray()).ToList();
            Assert.All(entries, e => Assert.Equal("0x00001", e.GetProperty("asid").GetString()));
            var handles = vdev.GetProperty("msix").EnumerateArray()
                .Where(m => m.GetProperty("interruptHandle").ValueKind == JsonValueKind.Number)
                .Select(m => m.GetProperty("interruptHandle").GetInt32()).ToList();
            Assert.Equal(handles.Order(), entries.Select(e => e.GetProperty("handle").GetInt32()).Order());

            var table = await Siv("tables", "dump", "--db", db, "--host", "0");
            Assert.Equal(0, table.Code);
            Assert.Contains("ASID table", table.Out);
            Assert.Contains("vdev compositions", table.Out);
        }
        finally
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            Directory.Delete(dir, recursive: true);
        }
    }
}
