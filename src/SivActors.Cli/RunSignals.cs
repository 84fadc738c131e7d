using System.Runtime.InteropServices;

namespace SivActors.Cli;

/// <summary>
/// Ctrl-C and SIGTERM during `siv run`. The first one ends the measured window early: the run drains, balances and
/// writes a partial report (<c>interrupted: true</c>), and exits 130 (SIGINT) or 143 (SIGTERM). A second one ends the
/// process at once. A cluster driver does the same; its workers keep running and keep their tables.
/// </summary>
internal sealed class RunSignals : IDisposable
{
    private readonly CancellationTokenSource _interrupt = new();
    private readonly TextWriter _error;
    private readonly List<PosixSignalRegistration> _registrations = [];
    private readonly CancellationTokenRegistration _standIn;
    private int _signals;

    public RunSignals(TextWriter error, CancellationToken? standIn)
    {
        _error = error;
        if (standIn is { } token)
        {
            _standIn = token.Register(() => Received(PosixSignal.SIGINT));
            return;
        }
        foreach (var signal in new[] { PosixSignal.SIGINT, PosixSignal.SIGTERM })
            _registrations.Add(PosixSignalRegistration.Create(signal, c => c.Cancel = Received(c.Signal)));
    }

    /// <summary>Cancelled at the first signal.</summary>
    public CancellationToken Token => _interrupt.Token;

    public int ExitCode { get; private set; } = SivCli.InterruptedBySigint;

    /// <summary>True to keep the process (the first signal); false lets the signal end it.</summary>
    private bool Received(PosixSignal signal)
    {
        if (Interlocked.Increment(ref _signals) > 1) return false;
        var name = signal == PosixSignal.SIGTERM ? "SIGTERM" : "SIGINT";
        ExitCode = signal == PosixSignal.SIGTERM ? SivCli.InterruptedBySigterm : SivCli.InterruptedBySigint;
        _error.WriteLine($"siv: {name}: ending the run now; it drains and writes a partial report (send it again to quit at once)");
        _interrupt.Cancel();
        return true;
    }

    public void Dispose()
    {
        foreach (var r in _registrations) r.Dispose();
        _standIn.Dispose();
        _interrupt.Dispose();
    }
}
