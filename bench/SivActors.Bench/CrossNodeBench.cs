using System.Diagnostics;
using System.Globalization;
using Akka.Actor;
using Akka.Configuration;
using SivActors.Actors.DmaRemapping;
using SivActors.Actors.Hosting;
using SivActors.Actors.Persistence;
using SivActors.Actors.Run;
using SivActors.Cli;
using SivActors.Model.Device;
using SivActors.Model.Identity;
using SivActors.Model.Interrupts;
using RaiseInterrupt = SivActors.Actors.InterruptUnit.InterruptUnitProtocol.RaiseInterrupt;
using Ai = SivActors.Actors.AssignableInterface.AssignableInterfaceProtocol;
using C = SivActors.Actors.Container.ContainerProtocol;

namespace SivActors.Bench;

public sealed record CrossNodeSettings(int Rounds, double Seconds, int Containers)
{
    public string? Validate() =>
        Rounds < 1 ? "--rounds must be at least 1"
        : Seconds is < 1 or > 600 ? "--seconds must be within 1..600"
        : Containers is < 1 or > 4096 ? "--containers must be within 1..4096"
        : null;
}

/// <summary>
/// The fast-path operation over two `siv node` processes on loopback, with each host split over both nodes
/// (--shards-per-host 2: containers on one, the device side on the other) so that an operation's hops cross the
/// wire at every guest/device boundary; against raw Akka.Remote between two processes with the same binary
/// serializer, the same five cross-node messages per operation (portal write, DMA read, read data, DMA writes,
/// interrupt) and the same concurrency, doing nothing else. Rounds alternate emulator then raw; the ratio is the
/// median of per-round ratios.
/// </summary>
public static class CrossNodeBench
{
    public static async Task<int> RunAsync(CrossNodeSettings s, TextWriter output, CancellationToken ct)
    {
        var dir = Directory.CreateTempSubdirectory("siv-crossnode").FullName;
        SivNodeProcesses? nodes = null;
        try
        {
            nodes = await SivNodeProcesses.StartAsync(dir, "crossnode", 2, shardsPerHost: 2, ct);
            var seed = nodes.Seed;
            var peerPort = SivNodeProcesses.FreePort();
            var peer = nodes.Start(Environment.GetCommandLineArgs()[0].EndsWith(".dll", StringComparison.Ordinal) ? Environment.GetCommandLineArgs()[0]
                : Path.Combine(AppContext.BaseDirectory, "SivActors.Bench.dll"), "crossnode-peer", "--port", peerPort.ToString(CultureInfo.InvariantCulture));
            var peerReady = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            peer.OutputDataReceived += (_, e) => { if (e.Data == "ready") peerReady.TrySetResult(); };
            peer.BeginOutputReadLine();
            peer.BeginErrorReadLine();
            await peerReady.Task.WaitAsync(TimeSpan.FromSeconds(60), ct);

            output.WriteLine($"crossnode: {s.Containers} containers x queue depth 2, memmove 64 B + completion interrupt, containers and devices on 2 node " +
                             $"processes on 127.0.0.1; {s.Rounds} rounds of {s.Seconds:0.#} s per side after a warm-up round; {Environment.ProcessorCount} cores");
            var scenario = FastPathBench.Scenario(new FastPathSettings(1, s.Seconds, s.Containers));
            var (emu, raw, ratios, hopsSeen) = (new List<double>(), new List<double>(), new List<double>(), new List<double>());
            for (var round = 0; round <= s.Rounds; round++)
            {
                var outcome = await ClusterRun.RunAsync(scenario, new RunProgress(),
                    new ClusterRunSettings([seed], "127.0.0.1", 0, "127.0.0.1", MinWorkers: 2, JoinTimeout: TimeSpan.FromSeconds(60)) { ShardsPerHost = 2 },
                    TableStore.InMemory, ct);
                if (outcome.Report is not { } report || !report.Invariants.Passed)
                {
                    Console.Error.WriteLine($"bench: the cluster run failed: {outcome.Failure ?? string.Join("; ", outcome.Report!.Invariants.Violations)}");
                    return 1;
                }
                var remote = report.Nodes!.Sum(n => n.CrossNodeHops);
                var ops = report.Throughput.Operations;
                var hopsPerOp = ops == 0 ? 0 : remote / (double)ops;
                var r = await RawRemote(seedPort: peerPort, s.Containers, TimeSpan.FromSeconds(s.Seconds), ct);
                var e = report.Throughput.OpsPerSecond;
                output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"  round {round}{(round == 0 ? " (warm-up)" : "")}: emulator {e:N0} ops/s ({hopsPerOp:0.00} cross-node hops/op), raw {r:N0} ops/s ({RawHops} hops/op), ratio {e / r:0.000}"));
                // The raw chain mirrors the emulator's cross-node messages; if the emulator's count moved, the comparison is off.
                if (Math.Abs(hopsPerOp - RawHops) > 0.25)
                    output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  warning: the emulator crossed nodes {hopsPerOp:0.00} times per operation, the raw chain {RawHops}"));
                if (round == 0) continue;
                emu.Add(e);
                raw.Add(r);
                ratios.Add(e / r);
                hopsSeen.Add(hopsPerOp);
            }
            // Allocation is not printed: both sides run in node processes, where this process cannot count it.
            var (q1, q3) = FastPathBench.Quartiles(ratios);
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"crossnode ratio={FastPathBench.Median(ratios):0.000} iqr={q1:0.000}..{q3:0.000} emulator={FastPathBench.Median(emu):0} raw={FastPathBench.Median(raw):0} hops={FastPathBench.Median(hopsSeen):0.00}/{RawHops}"));
            return 0;
        }
        finally
        {
            nodes?.Dispose();
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            Directory.Delete(dir, recursive: true);
        }
    }

    private static string RemoteHocon(int port) => $$"""
        akka.actor.provider = remote
        akka.remote.dot-netty.tcp.hostname = 127.0.0.1
        akka.remote.dot-netty.tcp.port = {{port}}
        akka.loglevel = ERROR
        akka.stdout-loglevel = ERROR
        akka.actor.default-dispatcher.throughput = 64
        """ + "\n" + SivEmulatorHosting.WireFormatHocon;

    /// <summary>The emulator's cross-node messages per fast-path operation with the device side on the other node.</summary>
    private const int RawHops = 5;

    /// <summary>The raw side: closed-loop requesters here, the device's stand-in in the peer process.</summary>
    private static async Task<double> RawRemote(int seedPort, int requesters, TimeSpan window, CancellationToken ct)
    {
        using var system = ActorSystem.Create("siv", ConfigurationFactory.ParseString(RemoteHocon(0)));
        try
        {
            var device = await system.ActorSelection($"akka.tcp://siv@127.0.0.1:{seedPort}/user/device").ResolveOne(TimeSpan.FromSeconds(30));
            var counter = new long[1];
            for (var i = 0; i < requesters; i++)
            {
                var id = i;
                system.ActorOf(Props.Create(() => new Requester(device, id, counter)));
            }
            await Task.Delay(TimeSpan.FromSeconds(1), ct); // warm-up inside the window's process
            var before = Interlocked.Read(ref counter[0]);
            var sw = Stopwatch.StartNew();
            await Task.Delay(window, ct);
            return (Interlocked.Read(ref counter[0]) - before) / sw.Elapsed.TotalSeconds;
        }
        finally
        {
            await system.Terminate();
        }
    }

    /// <summary>For `bench crossnode-peer`: the device side of the raw chain, until killed.</summary>
    public static async Task<int> PeerAsync(int port)
    {
        using var system = ActorSystem.Create("siv", ConfigurationFactory.ParseString(RemoteHocon(port)));
        system.ActorOf(Props.Create(() => new Device()), "device");
        Console.WriteLine("ready");
        await system.WhenTerminated;
        return 0;
    }

    private static readonly Descriptor Work = new(1, false, DescriptorFlags.RequestCompletionInterrupt, DsaOpcode.MemoryMove, 0x3000_0000, 0x1000_0000, 0x2000_0000, 64, 7);
    private static readonly HostId Host = new(0);

    /// <summary>
    /// A container's side: two operations in flight; each is the emulator's five cross-node messages in its order:
    /// portal write out, DMA read of the source in, the data out, the destination and completion-record writes in,
    /// the completion interrupt in.
    /// </summary>
    private sealed class Requester : ReceiveActor
    {
        public Requester(IActorRef device, int id, long[] counter)
        {
            var ai = new AiId(new DeviceId(Host, id % 4), id);
            var from = new ContainerId(id);
            var source = new byte[Descriptor.Size];
            Receive<C.MemoryRead>(m =>
            {
                device = Sender; // this container's own device actor
                device.Tell(new Ai.MemoryReadData(m.ReplyTo, m.RequestId, source, null, 0));
            });
            Receive<C.MemoryWrite>(_ => { });
            Receive<C.InterruptDelivered>(m =>
            {
                Interlocked.Increment(ref counter[0]);
                device.Tell(new Ai.PortalWrite(ai, from, Work, PortalKind.Limited, PortalWriteType.Posted, m.Handle, 0));
            });
            for (var slot = 0; slot < 2; slot++) device.Tell(new Ai.PortalWrite(ai, from, Work, PortalKind.Limited, PortalWriteType.Posted, slot, 0));
        }
    }

    /// <summary>
    /// The device side's entry: the first portal write of each container goes to that container's own device actor,
    /// which answers from its own reference, so the container sends to it directly from then on (as the emulator's
    /// direct references do).
    /// </summary>
    private sealed class Device : ReceiveActor
    {
        public Device()
        {
            var perContainer = new Dictionary<int, IActorRef>();
            Receive<Ai.PortalWrite>(m =>
            {
                if (!perContainer.TryGetValue(m.From.Value, out var child))
                    perContainer[m.From.Value] = child = Context.ActorOf(Props.Create(() => new DeviceFunction()));
                child.Forward(m);
            });
        }
    }

    /// <summary>Answers each message of one container with the next one(s) of the operation.</summary>
    private sealed class DeviceFunction : ReceiveActor
    {
        public DeviceFunction()
        {
            var requests = new Dictionary<long, (IActorRef Container, Ai.PortalWrite Write)>();
            var next = 0L;
            Receive<Ai.PortalWrite>(m =>
            {
                var id = next++;
                requests[id] = (Sender, m);
                Sender.Tell(new C.MemoryRead(m.From, Host, id, m.Ai, m.Descriptor.Source, (int)m.Descriptor.TransferSize, 0, 0, 0));
            });
            Receive<Ai.MemoryReadData>(m =>
            {
                if (!requests.Remove(m.RequestId, out var r)) return;
                var d = r.Write.Descriptor;
                var burst = new DmaRemappingProtocol.DmaWrite(Host, r.Write.Ai, default, Asid.Create(1), d.Destination, m.Data,
                    d.CompletionRecordAddress, new CompletionRecord(OperationStatus.Success, 0, d.TransferSize), 0, null);
                r.Container.Tell(new C.MemoryWrite(r.Write.From, Host, burst, 0));
                var raised = new RaiseInterrupt(Host, r.Write.Ai, UpstreamWrite.Interrupt(default, Asid.Create(1), 0, 0), 0, null);
                r.Container.Tell(new C.InterruptDelivered(r.Write.From, Host, 0x41, raised, r.Write.Slot, true, false, 0));
            });
        }
    }
}
