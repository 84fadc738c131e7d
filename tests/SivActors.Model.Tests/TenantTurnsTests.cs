using SivActors.Model.Workload;

namespace SivActors.Model.Tests;

public sealed class TenantTurnsTests
{
    [Fact]
    public void Turns_are_free_up_to_the_capacity_and_then_the_line_forms()
    {
        var turns = new TenantTurns<string>(2);
        Assert.True(turns.Ask("a"));
        Assert.True(turns.Ask("b"));
        Assert.False(turns.Ask("c"));
        Assert.False(turns.Ask("d"));
        Assert.Equal((2, 2), (turns.Holders, turns.Waiting));
    }

    [Fact]
    public void A_turn_given_up_goes_to_the_first_in_line()
    {
        var turns = OneTurnHeldByAWithBAndCInLine();
        Assert.True(turns.Leave("a", out var next));
        Assert.Equal("b", next);
        Assert.True(turns.Leave("b", out next));
        Assert.Equal("c", next);
        Assert.False(turns.Leave("c", out _)); // nobody waits: the turn is simply free
        Assert.True(turns.Ask("a"));
    }

    [Fact]
    public void Asking_again_while_holding_or_waiting_changes_nothing()
    {
        var turns = new TenantTurns<string>(1);
        Assert.True(turns.Ask("a"));
        Assert.True(turns.Ask("a"));
        Assert.False(turns.Ask("b"));
        Assert.False(turns.Ask("b"));
        Assert.Equal((1, 1), (turns.Holders, turns.Waiting));
    }

    [Fact]
    public void One_who_left_the_line_is_skipped_and_gets_no_turn()
    {
        var turns = OneTurnHeldByAWithBAndCInLine();
        Assert.False(turns.Leave("b", out _)); // waiting, not holding: no turn changes hands
        Assert.True(turns.Leave("a", out var next));
        Assert.Equal("c", next);
        Assert.Equal((1, 0), (turns.Holders, turns.Waiting));
    }

    [Fact]
    public void One_who_left_and_came_back_waits_once_behind_those_already_in_line()
    {
        var turns = OneTurnHeldByAWithBAndCInLine();
        turns.Leave("b", out _);
        turns.Ask("b");
        Assert.True(turns.Leave("a", out var next));
        Assert.Equal("b", next); // its first place was kept: leaving a line briefly costs no place
        Assert.True(turns.Leave("b", out next));
        Assert.Equal("c", next);
        Assert.False(turns.Leave("c", out _)); // b's second entry was skipped, not served twice
    }

    [Fact]
    public void Every_tenant_in_line_gets_a_turn_in_the_order_it_asked()
    {
        var turns = new TenantTurns<int>(3);
        var order = new List<int>();
        for (var t = 0; t < 10; t++)
            if (turns.Ask(t)) order.Add(t);
        var holding = new Queue<int>(order);
        while (holding.TryDequeue(out var h))
            if (turns.Leave(h, out var next))
            {
                order.Add(next);
                holding.Enqueue(next);
            }
        Assert.Equal(Enumerable.Range(0, 10), order);
    }

    private static TenantTurns<string> OneTurnHeldByAWithBAndCInLine()
    {
        var turns = new TenantTurns<string>(1);
        Assert.True(turns.Ask("a"));
        Assert.False(turns.Ask("b"));
        Assert.False(turns.Ask("c"));
        return turns;
    }

    [Fact]
    public void A_capacity_below_one_is_refused() =>
        Assert.Throws<ArgumentOutOfRangeException>(() => new TenantTurns<int>(0));
}
