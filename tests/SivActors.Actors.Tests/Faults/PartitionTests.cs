using Akka.Actor;
using Akka.Configuration;
using SivActors.Actors.Cluster;

namespace SivActors.Actors.Tests.Faults;

/// <summary>
/// The partition primitive on its own: two actor systems in this process over real remoting on 127.0.0.1, with the
/// throttler adapter that a node applies for runs that cut links (decision 47). A cut on one side drops traffic both ways, the processes and the TCP
/// connection stay, and a heal lets the same actor references work again.
/// </summary>
[Trait("Category", "Faults")]
public sealed class PartitionTests() : Akka.TestKit.Xunit2.TestKit(Remote())
{
    private static Config Remote() => ConfigurationFactory.ParseString($$"""
        akka.actor.provider = remote
        akka.remote.dot-netty.tcp { hostname = 127.0.0.1, port = 0 }
        {{NetworkLinks.Hocon}}
        akka.loglevel = ERROR
        """ + "\n" + SivActors.Actors.Hosting.SivEmulatorHosting.WireFormatHocon);

    private sealed class Echo : ReceiveActor
    {
        public Echo() => ReceiveAny(m => Sender.Tell(m));
    }

    private static Address AddressOf(ActorSystem system) => ((ExtendedActorSystem)system).Provider.DefaultAddress;

    [Fact]
    public async Task A_cut_link_drops_messages_both_ways_until_it_is_healed()
    {
        using var b = ActorSystem.Create("b", Remote());
        b.ActorOf(Props.Create(() => new Echo()), "echo");
        var a = AddressOf(Sys);
        Assert.StartsWith(NetworkLinks.Protocol, a.Protocol);
        var echo = await Sys.ActorSelection(new RootActorPath(AddressOf(b)) / "user" / "echo").ResolveOne(TimeSpan.FromSeconds(10));
        echo.Tell("before", TestActor);
        ExpectMsg("before");

        // Cut from a's side only: b's replies (the other direction) must not arrive either.
        await NetworkLinks.Cut(Sys, AddressOf(b));
        echo.Tell("during", TestActor);
        ExpectNoMsg(TimeSpan.FromSeconds(1));

        await NetworkLinks.Heal(Sys, AddressOf(b));
        // What was sent into the cut is gone; the healed link carries new messages on the same references.
        AwaitAssert(() =>
        {
            echo.Tell("after", TestActor);
            ExpectMsg<string>(m => m == "after", TimeSpan.FromMilliseconds(500));
        }, TimeSpan.FromSeconds(15), TimeSpan.FromMilliseconds(100));
        await b.Terminate();
    }

    [Fact]
    public async Task A_node_without_the_throttler_says_so_instead_of_pretending_to_cut()
    {
        using var plain = ActorSystem.Create("plain", ConfigurationFactory.ParseString("""
            akka.actor.provider = remote
            akka.remote.dot-netty.tcp { hostname = 127.0.0.1, port = 0 }
            akka.loglevel = ERROR
            """));
        var e = await Assert.ThrowsAsync<InvalidOperationException>(() => NetworkLinks.Cut(plain, AddressOf(Sys)));
        Assert.Contains("has no throttler", e.Message);
        await plain.Terminate();
    }

    [Fact]
    public void The_cut_and_its_answer_cross_nodes_in_the_wire_format()
    {
        var cut = new ClusterProtocol.CutLinks("run-7", [$"{NetworkLinks.Protocol}://siv@10.0.0.2:4053", $"{NetworkLinks.Protocol}://siv@10.0.0.3:4053"], Heal: true);
        var serializer = (SivActors.Actors.Wire.WireSerializer)Sys.Serialization.FindSerializerFor(cut);
        var back = (ClusterProtocol.CutLinks)serializer.FromBinary(serializer.ToBinary(cut), serializer.Manifest(cut));
        Assert.Equal((cut.RunId, cut.Heal), (back.RunId, back.Heal));
        Assert.Equal(cut.Peers, back.Peers);
        var answer = new ClusterProtocol.LinksCut("run-7", "node-a", Heal: false, "this node's transport has no throttler");
        Assert.Equal(answer, serializer.FromBinary(serializer.ToBinary(answer), serializer.Manifest(answer)));
    }
}
