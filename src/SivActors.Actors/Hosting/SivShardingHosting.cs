using Akka.Actor;
using Akka.Cluster.Hosting.SBR;
using Akka.Cluster.Hosting;
using Akka.Cluster.Sharding;
using Akka.Cluster;
using Akka.Hosting;
using Akka.Persistence.Sql.Config;
using Akka.Persistence.Sql.Hosting;
using Akka.Remote.Hosting;
using SivActors.Actors.Entities;
using SivActors.Actors.Persistence;

namespace SivActors.Actors.Hosting;

/// <summary>How entities are spread: shards per emulated host (1 keeps a host's hot path on one node).</summary>
public sealed record ShardingSettings(int ShardsPerHost = 1);

/// <summary>
/// Cluster.Sharding for every entity kind: one shard region per kind (started with the host-affinity allocation
/// strategy; proxies through Akka.Cluster.Hosting), with the same message extractor as the local entity parents
/// and the same entity props. Sharding state lives in ddata; only
/// the table owners (interrupt units, VDCMs) remember their entities, in an event-sourced store with its own journal
/// and snapshot tables, so a moved shard starts them (and they recover their tables) without waiting for traffic.
/// </summary>
public static class SivShardingHosting
{
    public const string ShardingJournalTable = "sharding_journal";
    public const string ShardingSnapshotTable = "sharding_snapshot";

    public const string WorkerRole = "worker";

    public static AkkaConfigurationBuilder WithSivShardRegions(this AkkaConfigurationBuilder b, EmulatorContext ctx, ShardingSettings settings) =>
        b.WithSivShardRegions(ctx.Directory, () => ctx, ctx.Store, settings, role: null);

    /// <summary>
    /// Shard regions hosting entities on this node. <paramref name="ctx"/> is read when an entity starts: on a
    /// worker it is the scenario deployed to the node by the run's driver. Regions are started with
    /// <see cref="HostAffinityAllocation"/>, so every kind places a host's shard on the same node.
    /// </summary>
    public static AkkaConfigurationBuilder WithSivShardRegions(this AkkaConfigurationBuilder b, EntityDirectory directory, Func<EmulatorContext> ctx,
        TableStore store, ShardingSettings settings, string? role)
    {
        var extractor = new SivMessageExtractor(settings.ShardsPerHost);
        var remember = RememberStore(store);
        if (remember is var (journal, snapshots)) b.WithSqlPersistence(journal, snapshots);
        b.AddHocon("""
            akka.cluster.sharding.state-store-mode = ddata
            akka.cluster.sharding.remember-entities-store = eventsourced
            # A shard that cannot load its remembered entities in time stops and drops what it had stashed. On a
            # loaded machine the store's first read took over Akka's 5 s (a deploy then waited for an entity forever).
            akka.cluster.sharding.updating-state-timeout = 30s
            # Asked often, answered "nothing" unless the driver opened the rebalance gate (decision 33).
            akka.cluster.sharding.rebalance-interval = 1s
            """, HoconAddMode.Prepend);
        return b.WithActors((system, registry) =>
        {
            Func<string, Props> props = id => SivEmulatorHosting.EntityProps(system, ctx(), EntityAddress.Parse(id));
            var sharding = ClusterSharding.Get(system);
            IActorRef Start(string typeName, bool owner)
            {
                var s = ClusterShardingSettings.Create(system);
                if (role is not null) s = s.WithRole(role);
                if (owner && remember is not null)
                    s = s.WithRememberEntities(true).WithJournalPluginId("akka.persistence.journal.sharding").WithSnapshotPluginId("akka.persistence.snapshot-store.sharding");
                else s = s.WithRememberEntities(false);
                return sharding.Start(typeName, props, s, extractor, new HostAffinityAllocation(system, settings.ShardsPerHost), PoisonPill.Instance);
            }
            registry.Register<InterruptUnitParent>(Start("interrupt-unit", owner: true));
            registry.Register<DmaRemappingParent>(Start("dma-remapping", owner: false));
            registry.Register<VdcmParent>(Start("vdcm", owner: true));
            registry.Register<HostingFunctionParent>(Start("hosting-function", owner: false));
            registry.Register<AssignableInterfaceParent>(Start("ai", owner: false));
            registry.Register<ContainerParent>(Start("container", owner: false));
            PointAt(directory, registry);
            directory.LearnThrough(system.ActorOf(EntityLocator.Props(directory), "entity-locator"));
        });
    }

    /// <summary>Proxies to the workers' regions, for a node that hosts no entities (the run's driver).</summary>
    public static AkkaConfigurationBuilder WithSivShardProxies(this AkkaConfigurationBuilder b, EntityDirectory directory, ShardingSettings settings)
    {
        var extractor = new SivMessageExtractor(settings.ShardsPerHost);
        b.WithShardRegionProxy<InterruptUnitParent>("interrupt-unit", WorkerRole, extractor);
        b.WithShardRegionProxy<DmaRemappingParent>("dma-remapping", WorkerRole, extractor);
        b.WithShardRegionProxy<VdcmParent>("vdcm", WorkerRole, extractor);
        b.WithShardRegionProxy<HostingFunctionParent>("hosting-function", WorkerRole, extractor);
        b.WithShardRegionProxy<AssignableInterfaceParent>("ai", WorkerRole, extractor);
        b.WithShardRegionProxy<ContainerParent>("container", WorkerRole, extractor);
        return b.WithActors((_, registry) => PointAt(directory, registry));
    }

    private static void PointAt(EntityDirectory directory, IActorRegistry registry)
    {
        directory.SetParent(EntityKind.InterruptUnit, registry.Get<InterruptUnitParent>());
        directory.SetParent(EntityKind.DmaRemapping, registry.Get<DmaRemappingParent>());
        directory.SetParent(EntityKind.Vdcm, registry.Get<VdcmParent>());
        directory.SetParent(EntityKind.HostingFunction, registry.Get<HostingFunctionParent>());
        directory.SetParent(EntityKind.AssignableInterface, registry.Get<AssignableInterfaceParent>());
        directory.SetParent(EntityKind.Container, registry.Get<ContainerParent>());
    }

    /// <summary>The remember-entities store: the table store's database, in its own journal and snapshot tables.</summary>
    private static (SqlJournalOptions, SqlSnapshotOptions)? RememberStore(TableStore store)
    {
        if (store.Kind == TableStoreKind.InMemory) return null;
        var journal = new SqlJournalOptions(isDefaultPlugin: false, identifier: "sharding")
        {
            ConnectionString = store.ConnectionString,
            ProviderName = store.ProviderName,
            AutoInitialize = true,
            // Only the table names are set; every other setting falls back to the plugin's defaults.
            DatabaseOptions = new JournalDatabaseOptions(DatabaseMapping.Default) { JournalTable = new JournalTableOptions { TableName = ShardingJournalTable } },
        };
        var snapshots = new SqlSnapshotOptions(isDefaultPlugin: false, identifier: "sharding")
        {
            ConnectionString = store.ConnectionString,
            ProviderName = store.ProviderName,
            AutoInitialize = true,
            DatabaseOptions = new SnapshotDatabaseOptions(DatabaseMapping.Default) { SnapshotTable = new SnapshotTableOptions { TableName = ShardingSnapshotTable } },
        };
        return (journal, snapshots);
    }

    /// <summary>
    /// A one-node cluster on loopback (port chosen by the OS) that joins itself: the sharded code path in a single
    /// process, with the split brain resolver configured as a real cluster's is.
    /// </summary>
    public static AkkaConfigurationBuilder WithSingleNodeCluster(this AkkaConfigurationBuilder b) => b
        .WithRemoting(new RemoteOptions { HostName = "127.0.0.1", PublicHostName = "127.0.0.1", Port = 0 })
        .WithClustering(new ClusterOptions { SplitBrainResolver = new KeepMajorityOption() })
        .WithActors((system, _) =>
        {
            var cluster = Akka.Cluster.Cluster.Get(system);
            cluster.Join(cluster.SelfAddress);
        });
}
