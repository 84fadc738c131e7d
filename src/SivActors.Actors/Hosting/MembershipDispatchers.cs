namespace SivActors.Actors.Hosting;

/// <summary>
/// Threads of their own for what keeps a cluster member a member: Akka's internal dispatcher (cluster heartbeats and
/// gossip, the split brain resolver, sharding's regions and coordinator) and the remoting dispatchers (the endpoints
/// that read and write other nodes' messages). Akka runs both on the .NET pool by default, where a turn queued from
/// another thread (a heartbeat read off the socket) waits in the global queue behind the entities' local queues, the
/// same starvation as <see cref="ControlDispatcher"/>'s. Under full load in the docker compose cluster, heartbeats
/// answered seconds late made nodes mark each other unreachable, and the split brain resolver once downed the run's
/// driver (decision 71). The hot path does not run here: entities are told directly (<c>EntityDirectory</c>), and
/// under 1% of hops cross nodes. Remoting's endpoints get two threads: with one, where every hop crosses nodes
/// (`bench crossnode`) the emulator's side ran 10-15% slower (docs/benchmarks.md).
/// </summary>
public static class MembershipDispatchers
{
    public const string Hocon = """
        akka.actor.internal-dispatcher {
          executor = fork-join-executor
          fork-join-executor { parallelism-min = 2, parallelism-factor = 1.0, parallelism-max = 2 }
        }
        akka.remote.default-remote-dispatcher {
          executor = fork-join-executor
          fork-join-executor { parallelism-min = 2, parallelism-factor = 1.0, parallelism-max = 2 }
        }
        akka.remote.backoff-remote-dispatcher {
          executor = fork-join-executor
          fork-join-executor { parallelism-min = 1, parallelism-factor = 1.0, parallelism-max = 1 }
        }
        """;
}
