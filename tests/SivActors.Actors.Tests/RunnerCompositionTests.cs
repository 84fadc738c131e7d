using Akka.TestKit.Xunit2;
using SivActors.Actors.Container;
using SivActors.Actors.Entities;
using SivActors.Actors.Run;
using SivActors.Actors.Vdcm;

namespace SivActors.Actors.Tests;

/// <summary>
/// The runner composes vdevs through a window: a few in flight, the next asked for as each container is ready, so
/// the progress line moves during a long composition and the guests' vector programming is not queued behind every
/// other composition. Every entity is a probe here, so each message the runner sends is seen.
/// </summary>
public sealed class RunnerCompositionTests : TestKit
{
    public RunnerCompositionTests() : base("akka.loglevel = WARNING") { }

    [Fact]
    public void At_most_the_window_is_in_flight_and_every_container_is_composed_in_order()
    {
        const int containers = 10, window = 3;
        var ctx = TestScenarios.Context(s => s with { Topology = s.Topology with { Containers = containers } });
        var world = CreateTestProbe();
        foreach (var kind in Enum.GetValues<EntityKind>()) ctx.Directory.SetParent(kind, world);
        var progress = new RunProgress();
        var runner = Sys.ActorOf(ScenarioRunnerActor.Props(ctx, progress, composeWindow: window));
        runner.Tell(new RunProtocol.RunScenario(TestActor), TestActor);

        // 1 host (interrupt unit, DMA remapping, VDCM), 2 devices, 8 AIs, the containers.
        for (var i = 0; i < 3 + 2 + 8 + containers; i++)
        {
            var ensure = world.ExpectMsg<EnsureEntity>();
            world.Reply(new EntityEnsured(ensure.Address));
        }

        for (var c = 0; c < window; c++) Assert.Equal(c, world.ExpectMsg<VdcmProtocol.ComposeVdev>().Container.Value);
        world.ExpectNoMsg(TimeSpan.FromMilliseconds(300));
        Assert.Equal(RunPhase.Composing, progress.Phase);

        for (var ready = 0; ready < containers; ready++)
        {
            runner.Tell(new ContainerProtocol.ContainerReady(new Model.Identity.ContainerId(ready)), world.Ref);
            if (ready + window < containers)
            {
                // One ready, one more asked for: the window stays full.
                Assert.Equal(ready + window, world.ExpectMsg<VdcmProtocol.ComposeVdev>().Container.Value);
                AwaitAssert(() => Assert.Equal(ready + 1, progress.ContainersReady));
            }
        }

        // All ready: the window opens and every container starts its workload; nothing more is composed.
        var started = Enumerable.Range(0, containers).Select(_ => world.ExpectMsg<ContainerProtocol.StartWorkload>().Container.Value).Order();
        Assert.Equal(Enumerable.Range(0, containers), started);
        Assert.Equal(RunPhase.Running, progress.Phase);
        Assert.Equal(containers, progress.ContainersReady);
    }

    [Fact]
    public void An_ensure_lost_on_the_way_is_asked_again_after_a_quiet_spell_and_its_answer_counts_once()
    {
        var ctx = TestScenarios.Context(s => s with { Topology = s.Topology with { Containers = 2 } });
        var world = CreateTestProbe();
        foreach (var kind in Enum.GetValues<EntityKind>()) ctx.Directory.SetParent(kind, world);
        var progress = new RunProgress();
        var runner = Sys.ActorOf(ScenarioRunnerActor.Props(ctx, progress, deployResendAfter: TimeSpan.FromSeconds(1)));
        runner.Tell(new RunProtocol.RunScenario(TestActor), TestActor);

        // 1 host (interrupt unit, DMA remapping, VDCM), 2 devices, 8 AIs, 2 containers; the first ensure is lost.
        const int entities = 3 + 2 + 8 + 2;
        var lost = world.ExpectMsg<EnsureEntity>().Address;
        for (var i = 1; i < entities; i++)
        {
            var ensure = world.ExpectMsg<EnsureEntity>();
            world.Reply(new EntityEnsured(ensure.Address));
            world.Reply(new EntityEnsured(ensure.Address)); // a duplicate answer is not counted again
        }
        AwaitAssert(() => Assert.Equal(entities - 1, progress.EntitiesDeployed));
        Assert.Equal(RunPhase.Deploying, progress.Phase);

        // Only the unanswered one is asked again, and with its answer the runner composes.
        Assert.Equal(lost, world.ExpectMsg<EnsureEntity>(TimeSpan.FromSeconds(5)).Address);
        world.Reply(new EntityEnsured(lost));
        world.ExpectMsg<VdcmProtocol.ComposeVdev>();
        Assert.Equal((entities, RunPhase.Composing), (progress.EntitiesDeployed, progress.Phase));
    }
}
