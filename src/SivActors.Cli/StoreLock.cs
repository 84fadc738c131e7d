using Microsoft.Data.Sqlite;
using SivActors.Actors.Persistence;
using SivActors.Model;

namespace SivActors.Cli;

/// <summary>
/// One writer per SQLite store: an exclusive lock on <c>DB.lock</c> (an advisory file lock, released by the kernel
/// when the process ends, however it ends), held while a run or a node uses the store. The holder's PID and start
/// time are in <c>DB.lock.owner</c> so a refused second writer can name it. Read-only commands take no lock.
/// The lock file is left in place: removing it would let a waiting and a new writer lock two different files.
/// </summary>
public sealed class StoreLock : IDisposable
{
    private readonly FileStream _lock;

    private StoreLock(FileStream held) => _lock = held;

    /// <summary>Takes the lock of a SQLite store, or refuses with one line naming the holder; nothing for other stores.</summary>
    public static StoreLock? Take(TableStore? store, string command)
    {
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
        File.WriteAllText(path + ".owner", $"{command} (pid {Environment.ProcessId}, started {DateTime.UtcNow:yyyy-MM-dd HH:mm:ss} UTC)\n");
        return new StoreLock(held);
    }

    public void Dispose() => _lock.Dispose();
}
