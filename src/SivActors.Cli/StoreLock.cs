using Microsoft.Data.Sqlite;
using Npgsql;
using SivActors.Actors.Persistence;
using SivActors.Model;

namespace SivActors.Cli;

/// <summary>
/// One writer per store.
/// - SQLite: an exclusive lock on <c>DB.lock</c> (an advisory file lock, released by the kernel when the process
///   ends, however it ends), held while a run or a node uses the store. The holder's PID and start time are in
///   <c>DB.lock.owner</c> so a refused second writer can name it. The lock file is left in place: removing it
///   would let a waiting and a new writer lock two different files.
/// - PostgreSQL: a session advisory lock in the store's database, held by one connection for the run (released by
///   the server when that connection ends, however it ends). Only a run's driver takes it; the workers of one
///   cluster share the store by design. The holder names itself in the connection's application name.
/// Read-only commands take no lock.
/// </summary>
public sealed class StoreLock : IDisposable
{
    // "SIVSTORE": the advisory lock key, one per database.
    private const long PostgresKey = 0x5349_5653_544F_5245;

    private readonly IDisposable _lock;

    private StoreLock(IDisposable held) => _lock = held;

    /// <summary>Takes the lock of a store, or refuses with one line naming the holder; nothing for in-memory stores.</summary>
    /// <param name="driver">False for a cluster worker: it shares a PostgreSQL store with its cluster and takes no lock there.</param>
    public static StoreLock? Take(TableStore? store, string command, bool driver = true)
    {
        if (store is { Kind: TableStoreKind.PostgreSql }) return driver ? TakePostgres(store, command) : null;
        if (store is not { Kind: TableStoreKind.Sqlite }) return null;
        var db = Path.GetFullPath(new SqliteConnectionStringBuilder(store.ConnectionString).DataSource);
        var path = db + ".lock";
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        FileStream held;
        try
        {
            held = new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
        }
        catch (IOException)
        {
            string owner;
            try
            {
                owner = File.ReadAllText(path + ".owner").Trim();
            }
            catch (IOException)
            {
                owner = "another process";
            }
            throw new SivInputException($"{store.Display} is in use by {owner}; wait for it to end or choose another --db");
        }
        catch (UnauthorizedAccessException e)
        {
            throw new SivInputException($"{store.Display}: its lock file {path} cannot be created ({e.Message}); make the directory writable or choose another --db");
        }
        File.WriteAllText(path + ".owner", Owner(command) + "\n");
        return new StoreLock(held);
    }

    private static StoreLock TakePostgres(TableStore store, string command)
    {
        var owner = Owner(command);
        // Not pooled: the lock lives exactly as long as this connection.
        var cs = new NpgsqlConnectionStringBuilder(store.ConnectionString) { Pooling = false, ApplicationName = owner.Length > 63 ? owner[..63] : owner };
        if (cs.Timeout > 10) cs.Timeout = 10;
        var connection = new NpgsqlConnection(cs.ConnectionString);
        string holder;
        try
        {
            connection.Open();
            using var take = new NpgsqlCommand("SELECT pg_try_advisory_lock(@key)", connection);
            take.Parameters.AddWithValue("key", PostgresKey);
            if ((bool)take.ExecuteScalar()!) return new StoreLock(connection);
            using var who = new NpgsqlCommand(
                "SELECT a.application_name, a.client_addr::text FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid " +
                "WHERE l.locktype = 'advisory' AND l.granted AND l.classid::bigint = @hi AND l.objid::bigint = @lo " +
                // Advisory locks are per database, but pg_locks shows the whole server's: another store's holder is not ours.
                "AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database()) LIMIT 1", connection);
            who.Parameters.AddWithValue("hi", PostgresKey >> 32);
            who.Parameters.AddWithValue("lo", PostgresKey & 0xFFFF_FFFF);
            using var r = who.ExecuteReader();
            holder = r.Read() && !r.IsDBNull(0) && r.GetString(0).Length > 0 ? r.GetString(0) + (r.IsDBNull(1) ? "" : $" from {r.GetString(1)}") : "another session";
        }
        catch (Exception e) when (e is NpgsqlException or TimeoutException or InvalidOperationException)
        {
            connection.Dispose();
            throw new SivInputException($"{store.Display}: the one-writer lock could not be taken ({e.Message.Split('\n')[0]})");
        }
        connection.Dispose();
        throw new SivInputException($"{store.Display} is in use by {holder}; wait for it to end or choose another --postgres database");
    }

    /// <summary>How a holder names itself to a refused second writer.</summary>
    private static string Owner(string command) => $"{command} (pid {Environment.ProcessId}, started {DateTime.UtcNow:yyyy-MM-dd HH:mm:ss} UTC)";

    public void Dispose() => _lock.Dispose();
}
