using System.CommandLine;
using SivActors.Bench;

var rounds = new Option<int>("--rounds") { Description = "Measured rounds per side (after one warm-up round each)", DefaultValueFactory = _ => 9 };
var seconds = new Option<double>("--seconds") { Description = "Measurement window per round", DefaultValueFactory = _ => 2 };
var containers = new Option<int>("--containers") { Description = "Concurrent requesters (containers, one dedicated AI each)", DefaultValueFactory = _ => 256 };

var side = new Option<string>("--only") { Description = "Run one side only, for profiling: emulator or raw (no ratio then)" };
side.AcceptOnlyFromAmong("emulator", "raw");
var fastpath = new Command("fastpath", "Emulator fast path vs a raw Akka.NET chain with the same hops, in one process") { rounds, seconds, containers, side };
fastpath.SetAction(async (p, ct) =>
{
    var settings = new FastPathSettings(p.GetValue(rounds), p.GetValue(seconds), p.GetValue(containers), p.GetValue(side));
    if (settings.Validate() is { } problem)
    {
        Console.Error.WriteLine($"bench: {problem}");
        return 2;
    }
    return await FastPathBench.RunAsync(settings, Console.Out, ct);
});

var root = new RootCommand("SivActors benchmarks; each prints its result as the last line") { fastpath };
var parsed = root.Parse(args);
if (parsed.Errors.Count > 0)
{
    Console.Error.WriteLine($"bench: {parsed.Errors[0].Message}");
    return 2;
}
return await parsed.InvokeAsync();
