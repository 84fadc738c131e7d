using Akka.Actor;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Npgsql;
using SivActors.Actors.Entities;
using SivActors.Actors.Hosting;
using SivActors.Actors.Persistence;
using SivActors.Cli;
using SivActors.Model.Scenarios;

namespace SivActors.Actors.Tests.Persistence;

/// <summary>
/// The stores every persistence test runs against: SQLite always, PostgreSQL when SIV_TEST_POSTGRES holds an
/// admin connection string (.ci/run starts a temporary server on loopback and sets it). Each test gets its own
/// file or database and removes it afterwards.
/// </summary>
public static class TestStores
{
    public const string PostgresVariable = "SIV_TEST_POSTGRES";

    public static string? PostgresAdmin => Environment.GetEnvironmentVariable(PostgresVariable) is { Length: > 0 } cs ? cs : null;

    public static IEnumerable<object[]> Kinds()
    {
        yield return ["sqlite"];
        if (PostgresAdmin is not null) yield return ["postgres"];
    }

    /// <summary>Stores several processes share (a cluster's nodes recover each other's tables from it): PostgreSQL, when set.</summary>
    public static IEnumerable<object[]> Shared() => Kinds().Where(k => (string)k[0] == "postgres");

    public static async Task<TestStore> CreateAsync(string kind)
    {
        if (kind == "sqlite")
        {
            var dir = Path.Combine(Path.GetTempPath(), "siv-test-" + Guid.NewGuid().ToString("N"));
            Directory.CreateDirectory(dir);
            return new TestStore(TableStore.Sqlite(Path.Combine(dir, "siv.db")), async () =>
            {
                SqliteConnection.ClearAllPools();
                await Task.Yield();
                Directory.Delete(dir, recursive: true);
            });
        }
        var admin = PostgresAdmin ?? throw new InvalidOperationException($"{PostgresVariable} is not set");
        var name = "siv_" + Guid.NewGuid().ToString("N");
        await Execute(admin, $"CREATE DATABASE {name}");
        var cs = new NpgsqlConnectionStringBuilder(admin) { Database = name };
        return new TestStore(TableStore.Postgres(cs.ConnectionString), async () =>
        {
            NpgsqlConnection.ClearAllPools();
            await Execute(admin, $"DROP DATABASE IF EXISTS {name} WITH (FORCE)");
        });
    }

    private static async Task Execute(string cs, string sql)
    {
        await using var c = new NpgsqlConnection(cs);
        await c.OpenAsync();
        await using var cmd = new NpgsqlCommand(sql, c);
        await cmd.ExecuteNonQueryAsync();
    }
}

public sealed class TestStore(TableStore store, Func<Task> cleanup) : IAsyncDisposable
{
    public TableStore Store { get; } = store;

    public ValueTask DisposeAsync() => new(cleanup());
}

/// <summary>One emulator node on a store, started through the same Akka.Hosting set-up as `siv run`.</summary>
public sealed class PersistentNode : IAsyncDisposable
{
    private readonly IHost _host;

    private PersistentNode(IHost host, EmulatorContext ctx)
    {
        _host = host;
        Ctx = ctx;
        System = host.Services.GetRequiredService<ActorSystem>();
    }

    public EmulatorContext Ctx { get; }
    public ActorSystem System { get; }

    public static async Task<PersistentNode> StartAsync(TableStore store, ResolvedScenario scenario)
    {
        await store.CheckAsync();
        var ctx = new EmulatorContext(scenario, store: store);
        var host = EmulatorRun.BuildHost(store, b => b.WithSivEmulator(ctx));
        await host.StartAsync();
        return new PersistentNode(host, ctx);
    }

    /// <summary>Asks an entity through its parent (which creates it and keeps the asker as sender).</summary>
    public Task<T> Ask<T>(IEntityMessage message) =>
        Ctx.Directory.Parent(message.Target.Kind).Ask<T>(message, TimeSpan.FromSeconds(30));

    public async ValueTask DisposeAsync()
    {
        await _host.StopAsync();
        _host.Dispose();
    }
}
