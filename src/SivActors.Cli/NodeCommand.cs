using System.Net.Sockets;
using System.Net;
using System.Runtime.InteropServices;
using Akka.Actor;
using Akka.Cluster.Hosting.SBR;
using Akka.Cluster.Hosting;
using Akka.Cluster;
using Akka.Event;
using Akka.Hosting;
using Akka.Remote.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using SivActors.Actors.Cluster;
using SivActors.Actors.Entities;
using SivActors.Actors.Hosting;
using SivActors.Actors.Persistence;
using SivActors.Model;

namespace SivActors.Cli;

/// <summary>How a node joins: its own endpoint, the seeds, its roles and its table store.</summary>
public sealed record NodeSettings(string PublicHost, int Port, string BindHost, IReadOnlyList<string> Seeds, IReadOnlyList<string> Roles,
    TableStore Store, TimeSpan JoinTimeout)
{
    /// <summary>Written once the node is Up, removed when it leaves: what a container healthcheck tests.</summary>
    public string? ReadyFile { get; init; }

    /// <summary>Shards per emulated host (1 keeps a host on one node); every node and the driver must agree.</summary>
    public int ShardsPerHost { get; init; } = 1;

    public const string SystemName = "siv";

    /// <summary>
    /// The node applies Akka.Remote's throttler, so a run's partition faults can cut its links (decision 47). Every
    /// member of a cluster must agree: the adapter is part of every address (<c>akka.trttl.tcp://</c>).
    /// </summary>
    public bool Partitionable { get; init; }

    public string SelfAddress => $"{Protocol(Partitionable)}://{SystemName}@{PublicHost}:{Port}";

    public static string Protocol(bool partitionable) => partitionable ? NetworkLinks.Protocol : "akka.tcp";

    /// <summary>"host:port" or a full akka.tcp (or akka.trttl.tcp) address; anything else is bad input, named.</summary>
    public static string SeedAddress(string seed) => SeedAddress(seed, partitionable: false);

    public static string SeedAddress(string seed, bool partitionable)
    {
        var s = seed.Trim();
        var scheme = s.IndexOf("://", StringComparison.Ordinal);
        if (scheme > 0 && s[..scheme] is "akka.tcp" or NetworkLinks.Protocol)
        {
            var at = s.IndexOf('@');
            if (at < 0 || !s[(scheme + 3)..at].Equals(SystemName, StringComparison.Ordinal))
                throw new SivInputException($"seed \"{seed}\" must name actor system \"{SystemName}\" (akka.tcp://{SystemName}@host:port)");
            s = s[(at + 1)..];
        }
        var colon = s.LastIndexOf(':');
        if (colon <= 0 || !int.TryParse(s[(colon + 1)..], out var port) || port is < 1 or > 65535 || Uri.CheckHostName(s[..colon]) == UriHostNameType.Unknown)
            throw new SivInputException($"seed \"{seed}\" is not host:port");
        return $"{Protocol(partitionable)}://{SystemName}@{s[..colon]}:{port}";
    }

    public string? Validate()
    {
        if (Port is < 1 or > 65535) return $"--port {Port} is out of range (1..65535)";
        if (Uri.CheckHostName(PublicHost) == UriHostNameType.Unknown) return $"--host \"{PublicHost}\" is not a host name or address";
        if (!IPAddress.TryParse(BindHost, out _)) return $"--bind \"{BindHost}\" is not an IP address";
        if (Seeds.Count == 0) return "no seeds: give --seeds host:port[,host:port] (this node's own address to start a new cluster)";
        if (JoinTimeout <= TimeSpan.Zero) return "--join-timeout must be positive";
        if (ShardsPerHost < 1) return $"--shards-per-host {ShardsPerHost} must be at least 1";
        return null;
    }
}

/// <summary>
/// `siv node`: a cluster member. Everything is checked before it joins (seed syntax, the port is free, the table
/// store opens); then it joins and waits to be Up, or gives up after the join timeout. SIGTERM or Ctrl-C leaves the
/// cluster gracefully (coordinated shutdown: shards hand off, then the node leaves).
/// </summary>
public static class NodeCommand
{
    public const string Hocon = ControlDispatcher.Hocon + "\n" + MembershipDispatchers.Hocon + "\n" + """
        # Errors only: membership changes and unreachable members are printed by siv node itself, one line each,
        # so a node that cannot join says so in one line instead of a stream of association warnings.
        akka.loglevel = ERROR
        akka.loggers = ["SivActors.Cli.StandardErrorLogger, siv"]
        akka.stdout-loglevel = OFF
        akka.log-dead-letters = off
        akka.log-dead-letters-during-shutdown = off
        akka.actor.default-dispatcher.throughput = 64
        # Split brain resolver: keep-majority, deciding after the membership has been stable for 7 s; a node that
        # cannot reach the cluster when it should join gives up (siv node's --join-timeout) instead of waiting.
        akka.cluster.split-brain-resolver.stable-after = 7s
        akka.cluster.down-removal-margin = 7s
        akka.cluster.shutdown-after-unsuccessful-join-seed-nodes = off
        # A worker restarted at its old address is refused until the crashed incarnation is removed (which its
        # first join attempt sets off); it tries again soon instead of after the default 10 s (restart-node).
        akka.cluster.retry-unsuccessful-join-after = 2s
        akka.coordinated-shutdown.exit-clr = off
        # siv node runs the coordinated shutdown itself after SIGTERM, once its run's driver has paused the load;
        # Akka's own process-exit hook would stop the actor system at the signal, before the node could ask.
        akka.coordinated-shutdown.run-by-clr-shutdown-hook = off
        """;

    public static async Task<int> RunAsync(NodeSettings s, TextWriter output, TextWriter error, CancellationToken ct)
    {
        if (s.Validate() is { } problem) throw new SivInputException(problem);
        var seeds = s.Seeds.Select(seed => NodeSettings.SeedAddress(seed, s.Partitionable)).ToList();
        EnsurePortFree(s.BindHost, s.Port);
        await s.Store.CheckAsync(ct);
        using var writer = StoreLock.Take(s.Store, $"siv node {s.SelfAddress}", driver: false);

        output = TextWriter.Synchronized(output);
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(ct);
        using var term = PosixSignalRegistration.Create(PosixSignal.SIGTERM, c => { c.Cancel = true; stop.Cancel(); });
        using var interrupt = PosixSignalRegistration.Create(PosixSignal.SIGINT, c => { c.Cancel = true; stop.Cancel(); });

        var up = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var host = new HostBuilder()
            .ConfigureLogging(l => l.ClearProviders())
            // The signals are this command's to handle (above), not the generic host's console lifetime: the node
            // asks its run's driver to pause the load before it stops its actor system.
            .ConfigureServices(services => services.AddSingleton<IHostLifetime, SignalsHandledByCaller>())
            .ConfigureServices(services => services.AddAkka(NodeSettings.SystemName, (b, _) => b
                .WithClusterMember(s.BindHost, s.PublicHost, s.Port, seeds, s.Roles, s.Partitionable)
                .WithSivPersistence(s.Store)
                .WithSivWireFormat()
                .WithWorker(s)
                .WithActors((system, _) =>
                {
                    system.ActorOf(Props.Create(() => new MembershipPrinter(output)), "membership");
                    Cluster.Get(system).RegisterOnMemberUp(() => up.TrySetResult());
                })))
            .Build();
        await host.StartAsync(CancellationToken.None);
        var system = host.Services.GetRequiredService<ActorSystem>();
        var joined = await Task.WhenAny(up.Task, Task.Delay(s.JoinTimeout, stop.Token).ContinueWith(_ => { }, TaskScheduler.Default));
        if (joined != up.Task)
        {
            await host.StopAsync(CancellationToken.None);
            if (stop.IsCancellationRequested) return SivCli.Ok;
            error.WriteLine($"siv: {s.SelfAddress} could not join the cluster through {string.Join(", ", seeds)} within {s.JoinTimeout.TotalSeconds:0} s; check --seeds and that a seed is running");
            return SivCli.InvariantFailed;
        }
        output.WriteLine($"siv node {s.SelfAddress} is up (roles: {string.Join(",", s.Roles)}; tables: {s.Store.Display})");
        if (s.ReadyFile is { } ready) await File.WriteAllTextAsync(ready, s.SelfAddress + "\n", CancellationToken.None);
        try
        {
            await Task.Delay(Timeout.Infinite, stop.Token);
        }
        catch (OperationCanceledException)
        {
        }
        output.WriteLine($"siv node {s.SelfAddress} leaving");
        if (s.ReadyFile is { } readyFile) File.Delete(readyFile);
        if (s.Roles.Contains(SivShardingHosting.WorkerRole)) output.WriteLine($"siv node {s.SelfAddress}: {await WaitForDriver(system)}");
        // This node's own view empties as it shuts down; those removals are not news for the operator.
        await system.ActorSelection("/user/membership").Ask<ActorIdentity>(new Identify(null), TimeSpan.FromSeconds(5))
            .ContinueWith(t => t.IsCompletedSuccessfully && t.Result.Subject is { } printer ? printer.GracefulStop(TimeSpan.FromSeconds(5)) : Task.FromResult(true),
                TaskScheduler.Default).Unwrap();
        await host.StopAsync(CancellationToken.None);
        await system.WhenTerminated;
        output.WriteLine($"siv node {s.SelfAddress} left");
        return SivCli.Ok;
    }

    // Long enough for the driver to drain the load (or to end its run); a driver that is gone does not hold a leaver.
    private static readonly TimeSpan LeaveWait = TimeSpan.FromSeconds(60);

    /// <summary>
    /// A worker that a run uses asks the run's driver first: the driver pauses the load, so the shards that move
    /// when this node leaves have nothing in flight, and books this node's final figures (decision 32).
    /// </summary>
    private static async Task<string> WaitForDriver(ActorSystem system)
    {
        try
        {
            var agent = await system.ActorSelection("/user/" + SivActors.Actors.Cluster.ClusterProtocol.AgentName).ResolveOne(TimeSpan.FromSeconds(5));
            var ready = await agent.Ask<SivActors.Actors.Cluster.ClusterProtocol.ReadyToLeave>(new SivActors.Actors.Cluster.ClusterProtocol.PrepareToLeave(), LeaveWait);
            return ready.Why;
        }
        catch (AskTimeoutException)
        {
            return $"the run's driver did not answer within {LeaveWait.TotalSeconds:0} s; leaving without pausing its load";
        }
        catch (Exception e) when (e is ActorNotFoundException or TaskCanceledException)
        {
            return $"could not ask the run's driver ({e.GetType().Name}); leaving without pausing its load";
        }
    }

    /// <summary>A host lifetime that leaves SIGTERM and SIGINT to the command.</summary>
    private sealed class SignalsHandledByCaller : IHostLifetime
    {
        public Task WaitForStartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }

    /// <summary>
    /// What every member shares, worker or driver: this file's settings (log level, split brain resolver timings),
    /// remoting on the given endpoint, and the cluster's seeds, roles and keep-majority resolver.
    /// </summary>
    public static AkkaConfigurationBuilder WithClusterMember(this AkkaConfigurationBuilder b, string bindHost, string publicHost, int port,
        IEnumerable<string> seedAddresses, IEnumerable<string> roles, bool partitionable = false) => b
        .AddHocon(partitionable ? Hocon + "\n" + NetworkLinks.Hocon : Hocon, HoconAddMode.Prepend)
        .WithRemoting(new RemoteOptions { HostName = bindHost, PublicHostName = publicHost, Port = port })
        .WithClustering(new ClusterOptions { SeedNodes = seedAddresses.ToArray(), Roles = roles.ToArray(), SplitBrainResolver = new KeepMajorityOption() });

    /// <summary>
    /// A worker hosts the shard regions of every entity kind and the agent that receives a run's scenario; a node
    /// without the worker role (a run's driver) hosts none.
    /// </summary>
    private static AkkaConfigurationBuilder WithWorker(this AkkaConfigurationBuilder b, NodeSettings s)
    {
        if (!s.Roles.Contains(SivShardingHosting.WorkerRole)) return b;
        var holder = new EmulatorContextHolder(new EntityDirectory(countHops: true), s.Store)
        {
            MayCrashProcess = true,
            OnCrash = NodeKeeper.OnCrash,
        };
        return b
            .WithSivShardRegions(holder.Directory, () => holder.Current, s.Store, new ShardingSettings(s.ShardsPerHost), SivShardingHosting.WorkerRole)
            .WithActors((system, _) => system.ActorOf(NodeAgentActor.Props(holder), SivActors.Actors.Cluster.ClusterProtocol.AgentName));
    }

    private static void EnsurePortFree(string bind, int port)
    {
        var listener = new TcpListener(IPAddress.Parse(bind), port);
        try
        {
            listener.Start();
        }
        catch (SocketException e)
        {
            throw new SivInputException($"port {port} on {bind} is not available ({e.SocketErrorCode}); choose another --port");
        }
        finally
        {
            listener.Stop();
        }
    }

    /// <summary>Prints one line per membership change and the count of members that are Up.</summary>
    private sealed class MembershipPrinter : ReceiveActor
    {
        private readonly HashSet<Address> _up = [];

        public MembershipPrinter(TextWriter output)
        {
            Receive<ClusterEvent.CurrentClusterState>(s =>
            {
                foreach (var m in s.Members.Where(m => m.Status == MemberStatus.Up)) _up.Add(m.Address);
            });
            Receive<ClusterEvent.MemberUp>(m =>
            {
                _up.Add(m.Member.Address);
                output.WriteLine($"member up: {m.Member.Address} (roles: {string.Join(",", m.Member.Roles)}); members: {_up.Count}");
            });
            Receive<ClusterEvent.MemberRemoved>(m =>
            {
                _up.Remove(m.Member.Address);
                output.WriteLine($"member removed: {m.Member.Address}; members: {_up.Count}");
            });
            Receive<ClusterEvent.UnreachableMember>(m => output.WriteLine($"member unreachable: {m.Member.Address}"));
            Receive<ClusterEvent.ReachableMember>(m => output.WriteLine($"member reachable again: {m.Member.Address}"));
            Receive<ClusterEvent.IMemberEvent>(_ => { });
        }

        protected override void PreStart() =>
            Cluster.Get(Context.System).Subscribe(Self, ClusterEvent.SubscriptionInitialStateMode.InitialStateAsSnapshot,
                typeof(ClusterEvent.IMemberEvent), typeof(ClusterEvent.UnreachableMember), typeof(ClusterEvent.ReachableMember));

        protected override void PostStop() => Cluster.Get(Context.System).Unsubscribe(Self);
    }
}
