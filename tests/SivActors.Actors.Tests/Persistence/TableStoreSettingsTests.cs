namespace SivActors.Actors.Tests.Persistence;

/// <summary>What the table store's journal and snapshot plugins run with, on each store.</summary>
public sealed class TableStoreSettingsTests
{
    [Theory]
    [MemberData(nameof(TestStores.Kinds), MemberType = typeof(TestStores))]
    public async Task A_slow_write_under_full_load_is_waited_for_rather_than_failed(string kind)
    {
        await using var db = await TestStores.CreateAsync(kind);
        await using var node = await PersistentNode.StartAsync(db.Store, TestScenarios.Small());
        var config = node.System.Settings.Config;
        // Akka's defaults are 10 s and 20 s (decision 69).
        Assert.Equal(TimeSpan.FromSeconds(60), config.GetTimeSpan("akka.persistence.journal.sql.circuit-breaker.call-timeout"));
        Assert.Equal(TimeSpan.FromSeconds(120), config.GetTimeSpan("akka.persistence.snapshot-store.sql.circuit-breaker.call-timeout"));
        Assert.Equal(kind == "sqlite" ? 1 : 3, config.GetInt("akka.persistence.journal.sql.parallelism"));
    }
}
