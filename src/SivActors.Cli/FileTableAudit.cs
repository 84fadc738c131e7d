using System.Security.Cryptography;
using SivActors.Actors.Persistence;

namespace SivActors.Cli;

/// <summary>
/// `--ack-log FILE`: one line per durable table change, "persistence-id sequence-nr sha256-of-event", flushed
/// before the change is acknowledged to anyone, so after a crash every logged change must be in the journal.
/// </summary>
public sealed class FileTableAudit : ITableAudit, IDisposable
{
    private readonly StreamWriter _writer;
    private readonly Lock _gate = new();

    public FileTableAudit(string path)
    {
        try
        {
            _writer = new StreamWriter(new FileStream(path, FileMode.Append, FileAccess.Write, FileShare.Read));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new SivActors.Model.SivInputException($"--ack-log {path} cannot be opened: {e.Message}");
        }
    }

    public void Durable(string persistenceId, long sequenceNr, ReadOnlySpan<byte> encodedEvent)
    {
        var line = $"{persistenceId} {sequenceNr} {Convert.ToHexStringLower(SHA256.HashData(encodedEvent))}";
        lock (_gate)
        {
            _writer.WriteLine(line);
            _writer.Flush(); // to the OS: survives SIGKILL of this process
        }
    }

    public void Dispose()
    {
        lock (_gate) _writer.Dispose();
    }
}
