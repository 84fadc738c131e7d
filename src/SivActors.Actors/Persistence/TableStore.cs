using Microsoft.Data.Sqlite;
using Npgsql;
using SivActors.Model;

namespace SivActors.Actors.Persistence;

public enum TableStoreKind : byte
{
    /// <summary>Akka.Persistence's in-memory journal: nothing survives the process (tests of pure flows only).</summary>
    InMemory,
    /// <summary>Embedded default: one SQLite file (provider SQLiteMS), WAL mode, one writer.</summary>
    Sqlite,
    /// <summary>PostgreSQL (provider PostgreSQL15), for clusters and power users.</summary>
    PostgreSql,
}

/// <summary>
/// Where the persisted remapping tables live and how they are written. Built from flags and environment by
/// <see cref="Resolve"/>; <see cref="Check"/> opens the database once before any actor starts, so a bad connection
/// string, an unreachable server or a read-only or corrupt file is one clear line instead of a journal crash.
/// </summary>
public sealed record TableStore(TableStoreKind Kind, string ConnectionString, string Display)
{
    public const string DefaultSqlitePath = "data/siv.db";
    public const string DbEnvironmentVariable = "SIV_DB";
    public const string PostgresEnvironmentVariable = "SIV_POSTGRES";
    public const string SnapshotEveryEnvironmentVariable = "SIV_SNAPSHOT_EVERY";

    /// <summary>Events between snapshots of one table owner.</summary>
    public int SnapshotEvery { get; init; } = 10_000;

    /// <summary>Largest number of table changes one owner writes in one atomic batch.</summary>
    public int MaxBatch { get; init; } = 2_000;

    /// <summary>Back-off for a table owner that stopped after a journal or recovery failure.</summary>
    public SivActors.Actors.Entities.EntityRestartPolicy Restart { get; init; } = SivActors.Actors.Entities.EntityRestartPolicy.Default;

    public static TableStore InMemory { get; } = new(TableStoreKind.InMemory, "", "in-memory journal");

    public static TableStore Sqlite(string path)
    {
        var full = Path.GetFullPath(path);
        // Default Timeout: how long a statement waits on a lock; pooling keeps the WAL connection warm.
        var cs = new SqliteConnectionStringBuilder { DataSource = full, Mode = SqliteOpenMode.ReadWriteCreate, Pooling = true, DefaultTimeout = 30 };
        return new TableStore(TableStoreKind.Sqlite, cs.ToString(), $"SQLite {path}");
    }

    public static TableStore Postgres(string connectionString)
    {
        NpgsqlConnectionStringBuilder cs;
        try
        {
            cs = new NpgsqlConnectionStringBuilder(connectionString);
        }
        catch (ArgumentException e)
        {
            throw new SivInputException($"PostgreSQL connection string is not valid: {e.Message}");
        }
        if (string.IsNullOrEmpty(cs.Host)) throw new SivInputException("PostgreSQL connection string names no Host");
        return new TableStore(TableStoreKind.PostgreSql, cs.ConnectionString, $"PostgreSQL {cs.Host}:{cs.Port}/{cs.Database}");
    }

    /// <summary>
    /// Flags first, then environment: <c>--postgres</c> / SIV_POSTGRES choose PostgreSQL; otherwise <c>--db</c> /
    /// SIV_DB / data/siv.db choose a SQLite file.
    /// </summary>
    public static TableStore Resolve(string? dbFlag, string? postgresFlag, Func<string, string?>? env = null)
    {
        env ??= Environment.GetEnvironmentVariable;
        if (dbFlag is not null && postgresFlag is not null) throw new SivInputException("give either --db (SQLite) or --postgres, not both");
        if (dbFlag is not null && string.IsNullOrWhiteSpace(dbFlag)) throw new SivInputException("--db needs a file path (it was empty)");
        if (postgresFlag is not null && string.IsNullOrWhiteSpace(postgresFlag)) throw new SivInputException("--postgres needs a connection string (it was empty)");
        var pg = postgresFlag ?? (dbFlag is null ? env(PostgresEnvironmentVariable) : null);
        var path = dbFlag ?? env(DbEnvironmentVariable);
        var store = !string.IsNullOrWhiteSpace(pg) ? Postgres(pg) : Sqlite(string.IsNullOrWhiteSpace(path) ? DefaultSqlitePath : path);
        if (env(SnapshotEveryEnvironmentVariable) is { Length: > 0 } every)
        {
            if (!int.TryParse(every, out var n) || n < 1) throw new SivInputException($"{SnapshotEveryEnvironmentVariable}={every} is not a positive number of events");
            store = store with { SnapshotEvery = n };
        }
        return store;
    }

    public string ProviderName => Kind switch
    {
        TableStoreKind.Sqlite => LinqToDB.ProviderName.SQLiteMS,
        TableStoreKind.PostgreSql => LinqToDB.ProviderName.PostgreSQL15,
        _ => "",
    };

    /// <summary>Set on the store <see cref="CheckAsync"/> returns: checking again (a full page scan on SQLite) is skipped.</summary>
    public bool Checked { get; init; }

    /// <summary>
    /// Opens the store, creates the SQLite file (WAL) if needed, and checks it can be written. Returns the store
    /// marked as checked, so a caller that checks early (to refuse bad input before writing anything) and the run
    /// it starts do not scan the database twice.
    /// </summary>
    public async Task<TableStore> CheckAsync(CancellationToken ct = default)
    {
        if (Checked) return this;
        switch (Kind)
        {
            case TableStoreKind.Sqlite:
                CheckSqlite();
                break;
            case TableStoreKind.PostgreSql:
                await CheckPostgresAsync(ct);
                break;
        }
        return this with { Checked = true };
    }

    /// <summary>Discards every persisted table (for `--fresh`): the SQLite file, or the plugin's PostgreSQL tables.</summary>
    public async Task WipeAsync(CancellationToken ct = default)
    {
        switch (Kind)
        {
            case TableStoreKind.Sqlite:
                SqliteConnection.ClearAllPools();
                var file = new SqliteConnectionStringBuilder(ConnectionString).DataSource;
                foreach (var f in new[] { file, file + "-wal", file + "-shm" })
                {
                    try
                    {
                        File.Delete(f);
                    }
                    catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                    {
                        throw new SivInputException($"cannot remove {f} for --fresh: {e.Message}");
                    }
                }
                break;
            case TableStoreKind.PostgreSql:
                try
                {
                    await using var c = new NpgsqlConnection(ConnectionString);
                    await c.OpenAsync(ct);
                    await using var cmd = new NpgsqlCommand("DROP TABLE IF EXISTS tags, journal, journal_metadata, snapshot", c);
                    await cmd.ExecuteNonQueryAsync(ct);
                }
                catch (NpgsqlException e)
                {
                    throw new SivInputException($"cannot discard the tables in {Display} for --fresh: {FirstLine(e.Message)}");
                }
                break;
        }
    }

    private void CheckSqlite()
    {
        var cs = new SqliteConnectionStringBuilder(ConnectionString);
        var dir = Path.GetDirectoryName(cs.DataSource);
        try
        {
            if (!string.IsNullOrEmpty(dir)) Directory.CreateDirectory(dir);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new SivInputException($"database directory {dir} cannot be created: {e.Message}");
        }
        if (Directory.Exists(cs.DataSource)) throw new SivInputException($"database {cs.DataSource} is a directory, not a file");
        // Opening for writing changes nothing and catches what SQLite may only report at the first real write
        // (a read-only file or file system); the directory must take the -wal and -shm files too.
        try
        {
            if (File.Exists(cs.DataSource)) new FileStream(cs.DataSource, FileMode.Open, FileAccess.ReadWrite, FileShare.ReadWrite).Dispose();
            var probe = Path.Combine(string.IsNullOrEmpty(dir) ? "." : dir, $".siv-probe-{Environment.ProcessId}");
            File.WriteAllBytes(probe, []);
            File.Delete(probe);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new SivInputException($"database {cs.DataSource} is read-only ({FirstLine(e.Message)}); make it writable or choose another --db");
        }
        try
        {
            using var c = new SqliteConnection(ConnectionString);
            c.Open();
            using var cmd = c.CreateCommand();
            // quick_check reads every page: a damaged file is refused here, before anything writes to it.
            cmd.CommandText = "PRAGMA quick_check;";
            var check = cmd.ExecuteScalar() as string;
            if (check != "ok") throw new SivInputException($"database {cs.DataSource} is corrupt ({check}); restore it or start fresh with another --db");
            // WAL: readers never block the one writer; the mode is stored in the file. A write probe proves the
            // file and its directory (for -wal/-shm) are writable before any table owner relies on it.
            cmd.CommandText = "PRAGMA journal_mode=WAL; CREATE TABLE IF NOT EXISTS siv_store_probe(x INTEGER); DROP TABLE siv_store_probe;";
            cmd.ExecuteNonQuery();
        }
        catch (SqliteException e)
        {
            throw new SivInputException(e.SqliteErrorCode switch
            {
                8 => $"database {cs.DataSource} is read-only; make it writable or choose another --db",
                11 or 26 => $"database {cs.DataSource} is not a SQLite database or is corrupt; restore it or choose another --db",
                14 => $"database {cs.DataSource} cannot be opened (check the path and permissions)",
                _ => $"database {cs.DataSource}: {FirstLine(e.Message)}",
            });
        }
        finally
        {
            SqliteConnection.ClearAllPools();
        }
    }

    private async Task CheckPostgresAsync(CancellationToken ct)
    {
        var cs = new NpgsqlConnectionStringBuilder(ConnectionString);
        if (cs.Timeout > 10) cs.Timeout = 10;
        try
        {
            await using var c = new NpgsqlConnection(cs.ConnectionString);
            await c.OpenAsync(ct);
            await using var cmd = new NpgsqlCommand("SELECT 1", c);
            await cmd.ExecuteScalarAsync(ct);
        }
        catch (Exception e) when (e is NpgsqlException or TimeoutException or System.Net.Sockets.SocketException or InvalidOperationException)
        {
            throw new SivInputException($"PostgreSQL {Display.Replace("PostgreSQL ", "")} is not usable: {FirstLine(e.Message)}");
        }
    }

    private static string FirstLine(string s)
    {
        var i = s.IndexOfAny(['\r', '\n']);
        return i < 0 ? s : s[..i];
    }
}
