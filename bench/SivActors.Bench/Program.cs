using System.CommandLine;
using SivActors.Bench;

var rounds = new Option<int>("--rounds") { Description = "Measured rounds (after one warm-up round)", DefaultValueFactory = _ => 9 };
var seconds = new Option<double>("--seconds") { Description = "Time per side in a round, taken in 4 alternating slices", DefaultValueFactory = _ => 2 };

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

var messages = new Command("messages", "Bytes each object of one fast-path operation allocates (the per-type half of fastpath's alloc)");
messages.SetAction(_ => MessageSizes.Run(Console.Out));

var tRounds = new Option<int>("--rounds") { Description = "Measured rounds per side (after one warm-up round each)", DefaultValueFactory = _ => 5 };
var tSeconds = new Option<double>("--seconds") { Description = "Measurement window per round", DefaultValueFactory = _ => 3 };
var owners = new Option<int>("--owners") { Description = "Table owners (interrupt units; raw: persistent actors) written concurrently", DefaultValueFactory = _ => 4 };
var window = new Option<int>("--window") { Description = "Table writes in flight per owner", DefaultValueFactory = _ => 256 };
var postgres = new Option<string?>("--postgres") { Description = "PostgreSQL connection string (default: $SIV_POSTGRES, then $SIV_TEST_POSTGRES); its tables are dropped" };
var tables = new Command("tables", "Durable table updates per second on SQLite (and PostgreSQL) against raw Akka.Persistence.Sql; recovery of a 65,536-entry table")
    { tRounds, tSeconds, owners, window, postgres };
tables.SetAction(async (p, ct) =>
{
    var pg = p.GetValue(postgres) ?? Environment.GetEnvironmentVariable("SIV_POSTGRES") ?? Environment.GetEnvironmentVariable("SIV_TEST_POSTGRES");
    var settings = new TablesSettings(p.GetValue(tRounds), p.GetValue(tSeconds), p.GetValue(owners), p.GetValue(window), string.IsNullOrWhiteSpace(pg) ? null : pg);
    if (settings.Validate() is { } problem)
    {
        Console.Error.WriteLine($"bench: {problem}");
        return 2;
    }
    try
    {
        return await TablesBench.RunAsync(settings, Console.Out, ct);
    }
    catch (SivActors.Model.SivInputException e)
    {
        Console.Error.WriteLine($"bench: {e.Message}");
        return 2;
    }
});

var cRounds = new Option<int>("--rounds") { Description = "Measured rounds per side (after one warm-up round each)", DefaultValueFactory = _ => 3 };
var cSeconds = new Option<double>("--seconds") { Description = "Measurement window per round", DefaultValueFactory = _ => 4 };
var cContainers = new Option<int>("--containers") { Description = "Concurrent requesters (containers)", DefaultValueFactory = _ => 64 };
var crossnode = new Command("crossnode", "The fast path across two siv node processes on loopback against raw Akka.Remote with the same serializer and hops")
    { cRounds, cSeconds, cContainers };
crossnode.SetAction(async (p, ct) =>
{
    var settings = new CrossNodeSettings(p.GetValue(cRounds), p.GetValue(cSeconds), p.GetValue(cContainers));
    if (settings.Validate() is { } problem)
    {
        Console.Error.WriteLine($"bench: {problem}");
        return 2;
    }
    return await CrossNodeBench.RunAsync(settings, Console.Out, ct);
});
var kRounds = new Option<int>("--rounds") { Description = "Measured rounds (after one warm-up round)", DefaultValueFactory = _ => 3 };
var kSeconds = new Option<double>("--seconds") { Description = "Measurement window per run", DefaultValueFactory = _ => 10 };
var kContainers = new Option<int>("--containers") { Description = "Containers in the scenario", DefaultValueFactory = _ => 1000 };
var kHosts = new Option<int>("--hosts") { Description = "Emulated hosts in the scenario (shards)", DefaultValueFactory = _ => 3 };
var cluster = new Command("cluster", "Cluster efficiency: one node, a 1-worker and a 3-worker cluster on loopback, the same scenario, alternating")
    { kRounds, kSeconds, kContainers, kHosts };
cluster.SetAction(async (p, ct) =>
{
    var settings = new ClusterBenchSettings(p.GetValue(kRounds), p.GetValue(kSeconds), p.GetValue(kContainers), p.GetValue(kHosts));
    if (settings.Validate() is { } problem)
    {
        Console.Error.WriteLine($"bench: {problem}");
        return 2;
    }
    return await ClusterBench.RunAsync(settings, Console.Out, ct);
});
var dRounds = new Option<int>("--rounds") { Description = "Measured rounds (after one warm-up round)", DefaultValueFactory = _ => 5 };
var dSeconds = new Option<double>("--seconds") { Description = "Measurement window per run", DefaultValueFactory = _ => 10 };
var dContainers = new Option<int>("--containers") { Description = "Containers in the scenario", DefaultValueFactory = _ => 1000 };
var delivery = new Command("delivery", "What reliable delivery costs: the default scenario in hardware and in reliable delivery, alternating")
    { dRounds, dSeconds, dContainers };
delivery.SetAction(async (p, ct) =>
{
    var settings = new DeliveryBenchSettings(p.GetValue(dRounds), p.GetValue(dSeconds), p.GetValue(dContainers));
    if (settings.Validate() is { } problem)
    {
        Console.Error.WriteLine($"bench: {problem}");
        return 2;
    }
    return await DeliveryBench.RunAsync(settings, Console.Out, ct);
});
var sRounds = new Option<int>("--rounds") { Description = "Measured rounds (after one warm-up round)", DefaultValueFactory = _ => 3 };
var sSeconds = new Option<double>("--seconds") { Description = "Measurement window per run", DefaultValueFactory = _ => 10 };
var sSmall = new Option<int>("--small") { Description = "Containers in the small run", DefaultValueFactory = _ => 1000 };
var sLarge = new Option<int>("--large") { Description = "Containers in the large run", DefaultValueFactory = _ => 100_000 };
var sAis = new Option<int?>("--ais-per-device") { Description = "AIs per device (default: the default scenario's 256)" };
var sPolicy = new Option<string?>("--policy") { Description = "Composition policy of both runs: auto, dedicated, shared (default: the default scenario's auto)" };
var scale = new Command("scale", "Per-operation cost as tenants grow: completed ops/s with 1,000 and 100,000 containers on the default topology, alternating")
    { sRounds, sSeconds, sSmall, sLarge, sAis, sPolicy };
scale.SetAction(async (p, ct) =>
{
    var settings = new ScaleBenchSettings(p.GetValue(sRounds), p.GetValue(sSeconds), p.GetValue(sSmall), p.GetValue(sLarge))
        { AisPerDevice = p.GetValue(sAis), Policy = p.GetValue(sPolicy) };
    if (settings.Validate() is { } problem)
    {
        Console.Error.WriteLine($"bench: {problem}");
        return 2;
    }
    return await ScaleBench.RunAsync(settings, Console.Out, ct);
});
var peerPort = new Option<int>("--port") { Required = true };
var peer = new Command("crossnode-peer", "The raw side's peer process (started by crossnode)") { peerPort };
peer.Hidden = true;
peer.SetAction(async p => await CrossNodeBench.PeerAsync(p.GetValue(peerPort)));

var root = new RootCommand("SivActors benchmarks; each prints its result as the last line") { fastpath, messages, tables, crossnode, cluster, delivery, scale, peer };
var parsed = root.Parse(args);
if (parsed.Errors.Count > 0)
{
    Console.Error.WriteLine($"bench: {parsed.Errors[0].Message}");
    return 2;
}
return await parsed.InvokeAsync();
