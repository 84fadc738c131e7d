using SivActors.Model.Identity;
using SivActors.Model.Interrupts;

namespace SivActors.Model.Tests;

/// <summary>
/// A late interrupt-entry-cache invalidation (the stale-iec fault): the cache keeps what it fetched until the
/// invalidation arrives, the unit decides with it, and the ASID check is what keeps a stale entry from carrying one
/// tenant's interrupt to another.
/// </summary>
[Trait("Category", "Faults")]
public class StaleEntryCacheTests
{
    private static readonly SourceId Device = SourceId.Create(0x6A, 1, 0);
    private static readonly Asid Tenant = Asid.Create(5);
    private static readonly Asid Newcomer = Asid.Create(6);

    private static InterruptEntry Entry(Asid asid, byte vector) => new()
    {
        Vector = vector, Sid = Device.RequesterId, Svt = SourceValidation.RequesterId, Asid = asid, Target = new ContainerId(asid.Value == 5 ? 4 : 5),
    };

    private sealed class Through(InterruptEntryCache cache) : IEntryFetch
    {
        public bool Stale;

        public InterruptEntry? Fetch(InterruptTable table, int index)
        {
            var current = table.Get(index);
            cache.Access(table.Id, index, current, out var used);
            Stale = !ReferenceEquals(used, current);
            return used;
        }
    }

    /// <summary>Handle 1 was the tenant's; it is freed and given to a newcomer while the invalidation is late.</summary>
    private static (AsidTable Asids, InterruptTable Table, InterruptEntryCache Cache, Through Fetch) Reassigned()
    {
        var asids = new AsidTable();
        var table = asids.GetOrCreateTable(0, 3);
        asids.Bind(Tenant, table);
        asids.Bind(Newcomer, table);
        table.Set(1, Entry(Tenant, 0x41));
        var cache = new InterruptEntryCache(64);
        var fetch = new Through(cache);
        Assert.Equal(InterruptOutcome.Delivered, InterruptRemapper.Process(new RemappingSettings(), asids, Msg(Tenant, 1), fetch: fetch).Outcome);
        cache.DeferInvalidations = true;
        table.Set(1, Entry(Newcomer, 0x50));
        cache.Invalidate(0, 1);
        return (asids, table, cache, fetch);
    }

    private static UpstreamWrite Msg(Asid asid, ushort handle) => UpstreamWrite.Interrupt(Device, asid, RemappableMsi.EncodeAddress(handle), 0);

    [Fact]
    public void A_hit_returns_what_was_fetched_until_the_late_invalidation_arrives()
    {
        var cache = new InterruptEntryCache(64);
        var old = Entry(Tenant, 0x41);
        Assert.False(cache.Access(0, 1, old, out _));
        cache.DeferInvalidations = true;
        cache.Invalidate(0, 1);
        Assert.True(cache.Access(0, 1, Entry(Tenant, 0x42), out var used));
        Assert.Same(old, used);
        Assert.Equal(1, cache.ApplyDeferred());
        Assert.False(cache.Access(0, 1, Entry(Tenant, 0x42), out var fresh));
        Assert.Equal(0x42, fresh!.Vector);
    }

    [Fact]
    public void A_not_present_entry_is_never_cached()
    {
        var cache = new InterruptEntryCache(64);
        Assert.False(cache.Access(0, 1, null, out _));
        Assert.False(cache.Access(0, 1, Entry(Tenant, 0x41) with { Present = false }, out _));
        Assert.False(cache.Access(0, 1, Entry(Tenant, 0x41), out _));
        Assert.True(cache.Access(0, 1, Entry(Tenant, 0x41), out _));
    }

    [Fact]
    public void The_newcomers_interrupt_on_the_stale_entry_is_blocked_by_the_asid_check()
    {
        var (asids, _, _, fetch) = Reassigned();
        var d = InterruptRemapper.Process(new RemappingSettings(), asids, Msg(Newcomer, 1), fetch: fetch);
        Assert.True(fetch.Stale);
        Assert.Equal(FaultReason.AsidMismatch, d.Fault);
    }

    [Fact]
    public void Without_the_asid_check_the_stale_entry_carries_the_newcomers_interrupt_to_the_old_tenant()
    {
        var (asids, _, _, fetch) = Reassigned();
        var d = InterruptRemapper.Process(new RemappingSettings { AsidCheck = false }, asids, Msg(Newcomer, 1), fetch: fetch);
        Assert.True(fetch.Stale);
        Assert.Equal(InterruptOutcome.Delivered, d.Outcome);
        Assert.Equal(new ContainerId(4), d.Entry!.Target); // the old tenant's container: a cross-tenant delivery
    }

    [Fact]
    public void The_old_tenants_interrupt_on_its_revoked_handle_is_a_stale_delivery_to_itself()
    {
        var (asids, _, cache, fetch) = Reassigned();
        var d = InterruptRemapper.Process(new RemappingSettings(), asids, Msg(Tenant, 1), fetch: fetch);
        Assert.True(fetch.Stale);
        Assert.Equal(InterruptOutcome.Delivered, d.Outcome);
        Assert.Equal(new ContainerId(4), d.Entry!.Target);
        // Once the invalidation arrives, the table decides again: the handle is the newcomer's now.
        cache.ApplyDeferred();
        Assert.Equal(FaultReason.AsidMismatch, InterruptRemapper.Process(new RemappingSettings(), asids, Msg(Tenant, 1), fetch: fetch).Fault);
        Assert.False(fetch.Stale);
    }
}
