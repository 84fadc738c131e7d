using Akka.Hosting;
using Akka.Persistence.Hosting;
using Akka.Persistence.Sql.Hosting;

namespace SivActors.Actors.Persistence;

/// <summary>Akka.Hosting set-up of the table store: the journal and snapshot plugins and the table serializer.</summary>
public static class SivPersistenceHosting
{
    /// <summary>Akka.Persistence's in-memory plugins, for tests that own their ActorSystem and need no durability.</summary>
    public const string InMemoryHocon = """
        akka.persistence.journal.plugin = "akka.persistence.journal.inmem"
        akka.persistence.snapshot-store.plugin = "akka.persistence.snapshot-store.inmem"
        """;

    public static AkkaConfigurationBuilder WithSivPersistence(this AkkaConfigurationBuilder b, TableStore store)
    {
        b.WithCustomSerializer("siv-tables", TableSerializer.BoundTypes, system => new TableSerializer(system));
        if (store.Kind == TableStoreKind.InMemory) return b.AddHocon(InMemoryHocon, HoconAddMode.Prepend);
        b.WithSqlPersistence(store.ConnectionString, store.ProviderName, PersistenceMode.Both, autoInitialize: true);
        // SQLite takes one writer at a time: one journal writer with larger batches beats three that wait on the
        // file lock. PostgreSQL keeps the plugin's parallel writers.
        var parallelism = store.Kind == TableStoreKind.Sqlite ? 1 : 3;
        // Akka's call timeouts (10 s per write, 20 s per snapshot) fail a write that is only slow: under a full load
        // of a million tenants the journal's continuation can wait that long for a thread, and a timed-out write
        // counts as a failed one (refused changes, an owner restart). A store that is really down still fails.
        return b.AddHocon($$"""
            akka.persistence.journal.sql {
              parallelism = {{parallelism}}
              batch-size = 400
              db-round-trip-max-batch-size = 2000
              buffer-size = 50000
              replay-batch-size = 5000
              circuit-breaker.call-timeout = 60s
            }
            akka.persistence.snapshot-store.sql.circuit-breaker.call-timeout = 120s
            """, HoconAddMode.Prepend);
    }
}
