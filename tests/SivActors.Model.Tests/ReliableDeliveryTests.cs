using SivActors.Model.Delivery;
using SivActors.Model.Interrupts;
using SivActors.Model.Reporting;

namespace SivActors.Model.Tests;

/// <summary>The two halves of reliable delivery (decision 38) and the ledger that counts its attempts.</summary>
[Trait("Category", "Faults")]
public class ReliableDeliveryTests
{
    private static ReliableOutbox<string> Outbox() => new(firstTimeoutTicks: 100, maxTimeoutTicks: 400);

    [Fact]
    public void An_unacknowledged_message_is_due_after_its_timeout_and_then_after_a_doubled_one_up_to_the_cap()
    {
        var box = Outbox();
        var seq = box.Add("irq", nowTicks: 0);
        var due = new List<(long Seq, string Item, int Attempt)>();

        box.TakeDue(99, due);
        Assert.Empty(due);
        box.TakeDue(100, due);
        Assert.Equal([(seq, "irq", 2)], due);

        due.Clear();
        box.TakeDue(299, due); // next timeout 200 after 100
        Assert.Empty(due);
        box.TakeDue(300, due);
        Assert.Equal(3, Assert.Single(due).Attempt);

        due.Clear();
        box.TakeDue(700, due); // 400 (the cap) after 300
        Assert.Equal(4, Assert.Single(due).Attempt);
        due.Clear();
        box.TakeDue(1099, due); // still 400: capped, not 800
        Assert.Empty(due);
        box.TakeDue(1100, due);
        Assert.Single(due);
    }

    [Fact]
    public void An_acknowledged_message_is_never_due_and_a_second_acknowledgement_is_refused()
    {
        var box = Outbox();
        var a = box.Add("a", 0);
        var b = box.Add("b", 0);
        Assert.True(box.Acknowledge(a));
        Assert.False(box.Acknowledge(a));
        Assert.False(box.Acknowledge(99));
        var due = new List<(long Seq, string Item, int Attempt)>();
        box.TakeDue(1000, due);
        Assert.Equal([b], due.Select(d => d.Seq));
        Assert.Equal(1, box.Count);
    }

    [Fact]
    public void Due_messages_come_in_sequence_order()
    {
        var box = Outbox();
        for (var i = 0; i < 50; i++) box.Add($"m{i}", 0);
        for (var i = 1; i <= 50; i += 3) box.Acknowledge(i);
        var due = new List<(long Seq, string Item, int Attempt)>();
        box.TakeDue(100, due);
        Assert.Equal(due.Select(d => d.Seq).Order(), due.Select(d => d.Seq));
        Assert.Equal(50 - 17, due.Count);
    }

    [Fact]
    public void The_watermark_is_the_lowest_unacknowledged_number_and_only_grows()
    {
        var box = Outbox();
        Assert.Equal(1, box.Watermark);
        var a = box.Add("a", 0);
        var b = box.Add("b", 0);
        var c = box.Add("c", 0);
        Assert.Equal(a, box.Watermark);
        box.Acknowledge(b);
        Assert.Equal(a, box.Watermark); // b is acknowledged, but a is not
        box.Acknowledge(a);
        Assert.Equal(c, box.Watermark);
        box.Acknowledge(c);
        Assert.Equal(c + 1, box.Watermark);
        Assert.Equal(c + 1, box.NextSequence);
    }

    [Fact]
    public void Clearing_gives_up_what_is_pending_and_says_how_much()
    {
        var box = Outbox();
        box.Add("a", 0);
        box.Add("b", 0);
        box.Acknowledge(1);
        Assert.Equal(1, box.Clear());
        Assert.Equal(0, box.Count);
        Assert.Equal(box.NextSequence, box.Watermark);
    }

    [Fact]
    public void The_filter_passes_each_number_once()
    {
        var filter = new DuplicateFilter();
        Assert.True(filter.FirstCopy(5, watermark: 1));
        Assert.False(filter.FirstCopy(5, watermark: 1));
        Assert.True(filter.FirstCopy(3, watermark: 1)); // out of order is fine
        Assert.False(filter.FirstCopy(3, watermark: 2));
    }

    [Fact]
    public void A_number_below_the_senders_watermark_is_a_duplicate_without_being_remembered()
    {
        var filter = new DuplicateFilter();
        Assert.False(filter.FirstCopy(4, watermark: 10)); // acknowledged already: a late copy
        Assert.Equal(0, filter.Remembered);
    }

    [Fact]
    public void The_filter_forgets_what_the_watermark_passed()
    {
        var filter = new DuplicateFilter();
        for (var s = 1; s <= 200; s++) Assert.True(filter.FirstCopy(s, watermark: 1));
        Assert.Equal(200, filter.Remembered);
        Assert.True(filter.FirstCopy(201, watermark: 190));
        Assert.Equal(12, filter.Remembered); // 190..201
        Assert.False(filter.FirstCopy(150, watermark: 190));
    }

    [Fact]
    public void The_judge_recalls_what_it_decided_for_a_number_until_the_watermark_passes_it()
    {
        var memory = new JudgmentMemory<string?>();
        Assert.False(memory.TryRecall(7, watermark: 5, out _));
        memory.Remember(7, "delivered to container 3");
        memory.Remember(8, null); // faulted
        Assert.True(memory.TryRecall(7, watermark: 5, out var seven));
        Assert.Equal("delivered to container 3", seven);
        Assert.True(memory.TryRecall(8, watermark: 5, out var eight));
        Assert.Null(eight);
        Assert.True(memory.TryRecall(7, watermark: 9, out var acknowledged)); // below the watermark: acknowledged
        Assert.Null(acknowledged);
        Assert.Equal(0, memory.Remembered);
    }

    [Fact]
    public void In_reliable_delivery_the_ledger_balances_over_attempts()
    {
        var m = new RunMetrics { ReliableDelivery = true };
        for (var i = 0; i < 3; i++) m.InterruptRaised();
        m.InterruptRemappedDelivered();       // interrupt 1
        m.InterruptDroppedInTransit();        // interrupt 2, first attempt
        m.InterruptRetransmitted();
        m.InterruptRemappedDelivered();       // interrupt 2, second attempt
        m.InterruptFaulted(FaultReason.IrteNotPresent); // interrupt 3
        m.InterruptRetransmitted();           // interrupt 1 again: its acknowledgement was late
        m.InterruptDuplicateSuppressed();     // ... and its container already had it
        var s = m.Snapshot();
        Assert.Equal(5, s.InterruptsSent);
        Assert.Equal(s.InterruptsSent, s.InterruptsEnded);
        Assert.Equal(0, s.InterruptsLost);
    }

    [Fact]
    public void An_interrupt_that_no_attempt_brought_to_a_judge_is_lost_and_the_ledger_still_balances()
    {
        var m = new RunMetrics { ReliableDelivery = true };
        m.InterruptRaised();
        m.InterruptDroppedInTransit();
        m.InterruptRetransmitted();
        m.InterruptDroppedInTransit();
        m.InterruptsUnrecovered(1);
        var s = m.Snapshot();
        Assert.Equal(1, s.InterruptsLost);
        Assert.Equal(1, s.InterruptsDroppedInTransit);
        Assert.Equal(s.InterruptsSent, s.InterruptsEnded);
    }
}
