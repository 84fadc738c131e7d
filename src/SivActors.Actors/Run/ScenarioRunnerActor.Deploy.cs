using Akka.Actor;
using SivActors.Actors.Entities;
using SivActors.Model.Identity;
using static SivActors.Actors.Run.RunProtocol;

namespace SivActors.Actors.Run;

/// <summary>
/// Deploying: every entity is ensured once. An ensure can be lost on the way: a shard that cannot load its
/// remembered entities in time stops, and the messages it had stashed go with it (Akka's sharding, at most once).
/// Entities still unanswered after <see cref="DefaultDeployResendAfter"/> without any progress are asked again, when few
/// enough are left that asking does not flood a slow start; each answer counts once.
/// </summary>
public sealed partial class ScenarioRunnerActor
{
    public static readonly TimeSpan DefaultDeployResendAfter = TimeSpan.FromSeconds(10);
    private readonly TimeSpan _deployResendAfter;
    private const int MaxDeployResend = 16_384;
    private readonly HashSet<EntityAddress> _undeployed = [];
    private int _deployedAtLastResend = -1;

    private void Deploy()
    {
        _progress.Phase = RunPhase.Deploying;
        var s = _ctx.Scenario;
        var entities = new List<EntityAddress>();
        for (var h = 0; h < s.Topology.Hosts; h++)
        {
            var host = new HostId(h);
            entities.Add(EntityAddress.InterruptUnit(host));
            entities.Add(EntityAddress.DmaRemapping(host));
            entities.Add(EntityAddress.Vdcm(host));
            for (var d = 0; d < s.Topology.DevicesPerHost; d++)
            {
                var device = new DeviceId(host, d);
                entities.Add(EntityAddress.Of(device));
                for (var a = 0; a < s.FunctionsPerDevice; a++) _ais.Add(EntityAddress.Of(new AiId(device, a)));
            }
        }
        // Under SR-IOV a container beyond its host's VFs gets no vdev: it is not deployed, and the report counts it unserved.
        for (var c = 0; c < s.Topology.Containers; c++)
        {
            if (!s.Serves(c)) continue;
            var id = new ContainerId(c);
            _containers.Add(EntityAddress.Of(id, _ctx.HostOf(id)));
        }
        entities.AddRange(_ais);
        entities.AddRange(_containers);
        _undeployed.UnionWith(entities);
        _progress.EntitiesToDeploy = entities.Count;
        foreach (var e in entities) _ctx.Directory.Tell(new EnsureEntity(e), Self);
        Become(Deploying);
        ArmTimeout(DeployingWithoutProgress);
        Timers.StartPeriodicTimer("redeploy", Resend.Instance, _deployResendAfter);
    }

    // Both phases grow with the containers (a resumed million replays its tables first): the timeout is for a stall.
    private const string DeployingWithoutProgress = "deploying entities, with no progress in that time";

    private void Deploying()
    {
        Receive<EntityEnsured>(m =>
        {
            if (!_undeployed.Remove(m.Address)) return; // asked twice, answered twice
            if (++_progress.EntitiesDeployed % 256 == 0) ArmTimeout(DeployingWithoutProgress);
            if (_undeployed.Count > 0) return;
            Timers.Cancel("redeploy");
            _undeployed.TrimExcess();
            _progress.Phase = RunPhase.Composing;
            _pending = _containers.Count;
            ComposeMore(_composeWindow);
            Become(Composing);
            ArmTimeout(ComposingWithoutProgress);
        });
        Receive<Resend>(_ =>
        {
            // Asked again only after a quiet spell, and only a few: a slow start is waited out, not flooded.
            var deployed = _progress.EntitiesDeployed;
            if (deployed != _deployedAtLastResend || _undeployed.Count > MaxDeployResend)
            {
                _deployedAtLastResend = deployed;
                return;
            }
            foreach (var e in _undeployed) _ctx.Directory.Tell(new EnsureEntity(e), Self);
        });
        Receive<PauseLoad>(m => _pauseWaiters.Add(m));
        InterruptedBeforeWindow();
        Failures();
    }
}
