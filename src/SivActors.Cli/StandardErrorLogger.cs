using Akka.Actor;
using Akka.Dispatch;
using Akka.Event;

namespace SivActors.Cli;

/// <summary>
/// Akka's log events on standard error, one line each: stdout carries only what a command produces (a report, a
/// digest, JSON), so it can be piped.
/// </summary>
public sealed class StandardErrorLogger : ReceiveActor, IRequiresMessageQueue<ILoggerMessageQueueSemantics>
{
    public const string Hocon = """
        akka.loggers = ["SivActors.Cli.StandardErrorLogger, siv"]
        # Before the logger above starts (and after it stops), Akka prints on stdout; not here.
        akka.stdout-loglevel = OFF
        """;

    public StandardErrorLogger()
    {
        Receive<InitializeLogger>(_ => Sender.Tell(new LoggerInitialized()));
        Receive<LogEvent>(e => Console.Error.WriteLine(Line(e)));
    }

    /// <summary>
    /// One line: a cause is named by its type and message, never its stack trace (a worker that crashes makes its
    /// peers' remoting log a disassociation with one, which says nothing a user can act on).
    /// </summary>
    public static string Line(LogEvent e)
    {
        var line = $"[{e.LogLevel().ToString().Replace("Level", "", StringComparison.Ordinal).ToUpperInvariant()}][{e.Timestamp:yyyy-MM-dd HH:mm:ss.fff}Z][{e.LogSource}] {e.Message}";
        return e is Error { Cause: { } cause } && cause.GetBaseException() is var root ? $"{line} ({root.GetType().Name}: {root.Message})" : line;
    }
}
