using Akka.Actor;
using Akka.Dispatch;
using Akka.TestKit.Xunit2;
using SivActors.Actors.Entities;
using SivActors.Actors.Hosting;
using SivActors.Model.Identity;

namespace SivActors.Actors.Tests;

/// <summary>The containers' compact mailbox: a double-ended queue that keeps order under concurrent senders.</summary>
public sealed class CompactMailboxTests : TestKit
{
    public CompactMailboxTests() : base("akka.loglevel = WARNING\n" + SivEmulatorHosting.WireFormatHocon) { }

    private static Envelope E(int i) => new(i, ActorRefs.NoSender);

    private static List<object> Drain(CompactMessageQueue q)
    {
        var all = new List<object>();
        while (q.TryDequeue(out var e)) all.Add(e.Message);
        return all;
    }

    [Fact]
    public void Messages_come_out_in_order_with_stashed_ones_first_across_growth_and_wrap_around()
    {
        var q = new CompactMessageQueue();
        Assert.False(q.HasMessages);
        for (var i = 0; i < 3; i++) q.Enqueue(ActorRefs.Nobody, E(i));
        Assert.True(q.TryDequeue(out var first));
        Assert.Equal(0, first.Message);
        for (var i = 3; i < 20; i++) q.Enqueue(ActorRefs.Nobody, E(i)); // grows while its head is not at 0
        q.EnqueueFirst(E(-1)); // unstash: before everything queued
        q.EnqueueFirst(E(-2));
        Assert.Equal(21, q.Count);
        Assert.Equal(new object[] { -2, -1 }.Concat(Enumerable.Range(1, 19).Cast<object>()), Drain(q));
        Assert.False(q.HasMessages);
        Assert.False(q.TryDequeue(out _));
    }

    [Fact]
    public async Task Concurrent_senders_lose_nothing_and_each_sender_s_order_holds()
    {
        var q = new CompactMessageQueue();
        const int senders = 4, each = 20_000;
        var received = new List<(int Sender, int Seq)>();
        var producers = Enumerable.Range(0, senders).Select(s => Task.Run(() =>
        {
            for (var i = 0; i < each; i++) q.Enqueue(ActorRefs.Nobody, new Envelope((s, i), ActorRefs.NoSender));
        })).ToArray();
        while (received.Count < senders * each)
            if (q.TryDequeue(out var e)) received.Add(((int, int))e.Message);
        await Task.WhenAll(producers);
        Assert.Equal(senders * each, received.Count);
        foreach (var group in received.GroupBy(r => r.Sender))
            Assert.Equal(Enumerable.Range(0, each), group.Select(r => r.Seq));
    }

    [Fact]
    public void Containers_get_the_compact_mailbox_and_other_entities_the_default()
    {
        var ctx = TestScenarios.Context();
        var container = SivEmulatorHosting.EntityProps(Sys, ctx, EntityAddress.Of(new ContainerId(3), new HostId(0)));
        Assert.Equal(CompactMailbox.Id, container.Mailbox);
        Assert.IsType<CompactMailbox>(Sys.Mailboxes.Lookup(container.Mailbox));
        var ai = SivEmulatorHosting.EntityProps(Sys, ctx, EntityAddress.Of(new AiId(new DeviceId(new HostId(0), 0), 0)));
        Assert.NotEqual(CompactMailbox.Id, ai.Mailbox);
    }
}
