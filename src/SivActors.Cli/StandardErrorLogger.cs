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
        Receive<LogEvent>(e => Console.Error.WriteLine(e.ToString()));
    }
}
