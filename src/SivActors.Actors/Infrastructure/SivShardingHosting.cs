using Akka.Actor;
using Akka.Cluster;
using Akka.Cluster.Hosting;
using Akka.Cluster.Hosting.SBR;
using Akka.Cluster.Sharding;
using Akka.Hosting;
using Akka.Persistence.Sql.Config;
using Akka.Persistence.Sql.Hosting;
using Akka.Remote.Hosting;
using SivActors.Actors.Persistence;

namespace SivActors.Actors.Infrastructure;

/// <summary>How entities are spread: shards per emulated host (1 keeps a host's hot path on one node).</summary>
public sealed record ShardingSettings(int ShardsPerHost = 1);

/// <summary>
/// Cluster.Sharding for every entity kind through Akka.Cluster.Hosting: one shard region per kind, with the same
/// message extractor as the local entity parents and the same entity props. Sharding state lives in ddata; only
/// the table owners (interrupt units, VDCMs) remember their entities, in an event-sourced store with its own journal
/// and snapshot tables, so a moved shard starts them (and they recover their tables) without waiting for traffic.
/// </summary>
public static class SivShardingHosting
{
    public const string ShardingJournalTable = "sharding_journal";
    public const string ShardingSnapshotTable = "sharding_snapshot";

    public static AkkaConfigurationBuilder WithSivShardRegions(this AkkaConfigurationBuilder b, EmulatorContext ctx, ShardingSettings settings)
    {
        var extractor = new SivMessageExtractor(settings.ShardsPerHost);
        if (RememberStore(ctx.Store) is var (journal, snapshots)) b.WithSqlPersistence(journal, snapshots);
        Func<string, Props> props = id => SivEmulatorHosting.EntityProps(ctx, EntityAddress.Parse(id));
        b.WithShardRegion<InterruptUnitParent>("interrupt-unit", props, extractor, Options(ctx.Store, remember: true));
        b.WithShardRegion<DmaRemappingParent>("dma-remapping", props, extractor, Options(ctx.Store, remember: false));
        b.WithShardRegion<VdcmParent>("vdcm", props, extractor, Options(ctx.Store, remember: true));
        b.WithShardRegion<HostingFunctionParent>("hosting-function", props, extractor, Options(ctx.Store, remember: false));
        b.WithShardRegion<AssignableInterfaceParent>("ai", props, extractor, Options(ctx.Store, remember: false));
        b.WithShardRegion<ContainerParent>("container", props, extractor, Options(ctx.Store, remember: false));
        return b.WithActors((_, registry) =>
        {
            ctx.Directory.SetParent(EntityKind.InterruptUnit, registry.Get<InterruptUnitParent>());
            ctx.Directory.SetParent(EntityKind.DmaRemapping, registry.Get<DmaRemappingParent>());
            ctx.Directory.SetParent(EntityKind.Vdcm, registry.Get<VdcmParent>());
            ctx.Directory.SetParent(EntityKind.HostingFunction, registry.Get<HostingFunctionParent>());
            ctx.Directory.SetParent(EntityKind.AssignableInterface, registry.Get<AssignableInterfaceParent>());
            ctx.Directory.SetParent(EntityKind.Container, registry.Get<ContainerParent>());
        });
    }

    private static ShardOptions Options(TableStore store, bool remember)
    {
        var options = new ShardOptions { StateStoreMode = StateStoreMode.DData };
        if (!remember || RememberStore(store) is not var (journal, snapshots)) return options;
        options.RememberEntities = true;
        options.RememberEntitiesStore = RememberEntitiesStore.Eventsourced;
        options.JournalOptions = journal;
        options.SnapshotOptions = snapshots;
        return options;
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
            var cluster = Cluster.Get(system);
            cluster.Join(cluster.SelfAddress);
        });
}
