using SivActors.Actors.Entities;
using SivActors.Actors.Persistence;
using SivActors.Model.Cost;
using SivActors.Model.Faults;
using SivActors.Model.Identity;
using SivActors.Model.Reporting;
using SivActors.Model.Scenarios;
using SivActors.Model.Workload;

namespace SivActors.Actors.Hosting;

/// <summary>What every entity on a node shares: the scenario, its cost model, the metrics sink and the directory.</summary>
public sealed class EmulatorContext
{
    public EmulatorContext(ResolvedScenario scenario, RunMetrics? metrics = null, TableStore? store = null, EntityDirectory? directory = null)
    {
        Directory = directory ?? new EntityDirectory();
        Store = store ?? TableStore.InMemory;
        Resolved = scenario;
        Metrics = metrics ?? new RunMetrics();
        Mix = new WorkloadMix(scenario.Scenario.Workload);
        Layout = new ContainerLayout(scenario.Scenario.Workload.QueueDepth, Mix.MaxTransferSize, scenario.Scenario.Seed);
        if (scenario.Scenario.Workload.NoisyNeighbour is { } noisy)
        {
            Noisy = noisy;
            NoisyLayout = new ContainerLayout(scenario.Scenario.Workload.QueueDepth * noisy.Factor, Mix.MaxTransferSize, scenario.Scenario.Seed);
        }
        Faults = new FaultPlane(scenario.Scenario.Seed, FaultTimeline.Validate(scenario.Scenario));
        CompletedOperations = () => Metrics.OperationsCompleted;
        if (scenario.Scenario.ReliableDelivery)
        {
            Reliable = new Delivery.ReliableInterrupts();
            Metrics.ReliableDelivery = true;
        }
        if (scenario.Scenario.Workload.Turns is { Enabled: true } turns)
            Turns = new Container.ContainerTurns(turns.TenantsPerHost, turns.Operations);
    }

    /// <summary>The containers' turns to submit, per host (decision 70); null when every container submits at will.</summary>
    public Container.ContainerTurns? Turns { get; }

    /// <summary>The scenario's noisy neighbour, if it has one.</summary>
    public NoisyNeighbourSection? Noisy { get; }

    /// <summary>The noisy neighbour's address space: room for all it keeps outstanding once the noise starts.</summary>
    private ContainerLayout? NoisyLayout { get; }

    public bool IsNoisy(ContainerId c) => Noisy is { } n && n.Container == c.Value;

    /// <summary>The address space of <paramref name="c"/>: every tenant's is <see cref="Layout"/>, but a noisy neighbour's.</summary>
    public ContainerLayout LayoutOf(ContainerId c) => IsNoisy(c) ? NoisyLayout! : Layout;

    /// <summary>The AIs' outboxes in <c>delivery: reliable</c>; null in hardware delivery (decision 38).</summary>
    public Delivery.ReliableInterrupts? Reliable { get; }

    /// <summary>The faults in force on this node, and what each scheduled fault did (docs/faults.md).</summary>
    public FaultPlane Faults { get; private set; }

    /// <summary>A new run of the same scenario on this node (a cluster worker keeps its context): nothing injected yet.</summary>
    public void ResetFaults() => Faults = new FaultPlane(Scenario.Seed, FaultTimeline.Validate(Scenario));

    /// <summary>What this node's fault injector does; a cluster run splits the timeline between driver and workers.</summary>
    public Faults.InjectorRole InjectorRole { get; init; } = Actors.Faults.InjectorRole.SingleNode;

    /// <summary>Operations completed so far, as the fault injector samples them (a cluster's driver adds up its workers').</summary>
    public Func<long> CompletedOperations { get; set; }

    /// <summary>
    /// Adds the node's running totals to the run's trace at <paramref name="seconds"/> into the window: operations as
    /// <see cref="CompletedOperations"/> counts them, interrupts raised, remapping faults decided.
    /// </summary>
    public void SampleTrace(double seconds) => Faults.Trace.Add(seconds, CompletedOperations(), Metrics.InterruptsRaised, Metrics.RemappingFaults);

    /// <summary>How a cluster run's driver injects the faults that act on nodes; null elsewhere.</summary>
    public Faults.INodeFaults? NodeFaults { get; set; }

    /// <summary>Recorded interrupt faults kept for the report, each with what `siv explain` needs to decide it again.</summary>
    public SivActors.Model.Interrupts.FaultSamples FaultSamples { get; } = new();

    /// <summary>
    /// An interrupt that did not fit the buffer of an entity being restarted: lost, counted in the ledger (a forged
    /// one in the rogue ledger too) and charged to the fault that restarted the entity, if one did. Other messages
    /// are left to dead letters (false).
    /// </summary>
    public bool LostWhileRestarting(EntityAddress address, object message)
    {
        var fate = Run.LostMessageListener.BookIfInterrupt(message, Metrics);
        if (fate == Run.InterruptFate.NotAnInterrupt) return false;
        if (fate == Run.InterruptFate.Lost) Faults.RestartedBy(address.EntityId)?.LostOne();
        return true;
    }

    /// <summary>Drop and delay faults on this node's hops, while a fault injector runs that schedules them.</summary>
    public Faults.HopInterceptor? Hops { get; set; }

    public ResolvedScenario Resolved { get; }
    public Scenario Scenario => Resolved.Scenario;
    public CostModel Cost => Resolved.Cost;
    public RunMetrics Metrics { get; }

    /// <summary>Where table owners persist, and their batch and snapshot settings.</summary>
    public TableStore Store { get; }

    /// <summary>True when entities live in Cluster.Sharding regions rather than local entity parents.</summary>
    public bool Sharded { get; init; }

    /// <summary>Told about every durable table change (the crash test's acknowledgement log); null when unused.</summary>
    public ITableAudit? Audit { get; init; }
    public EntityDirectory Directory { get; }
    public WorkloadMix Mix { get; }
    public ContainerLayout Layout { get; }

    /// <summary>The memory of every container running on this node, which DMA reads reach directly (decision 56).</summary>
    public GuestMemoryMap GuestMemory { get; } = new();

    public HostId HostOf(ContainerId c) => new(c.Value % Scenario.Topology.Hosts);

    /// <summary>ASIDs are 1 + the container number: unique per host, never 0 and never the reserved 0xFFFFF.</summary>
    public static Asid AsidOf(ContainerId c) => Asid.Create(c.Value + 1L);

    /// <summary>
    /// The requester id an AI's traffic carries: its device's (the PF's) for SIOV AIs, which PASIDs tell apart;
    /// its own VF's under SR-IOV, which has no PASID (decision 67).
    /// </summary>
    public SourceId SourceOf(AiId ai) => Scenario.Sriov ? ai.Device.SourceId.Vf(ai.Index) : ai.Device.SourceId;

    /// <summary>Deterministic per AI: whether it forges traffic.</summary>
    public bool IsRogue(AiId ai)
    {
        var share = Scenario.Rogue.Share;
        if (share <= 0) return false;
        // A fixed mix rather than HashCode (randomized per process), so runs repeat.
        var h = Mix32((uint)Scenario.Seed * 0x9E3779B1u ^ (uint)ai.Host.Value * 0x85EBCA77u ^ (uint)ai.Device.Index * 0xC2B2AE3Du ^ (uint)ai.Index * 0x27D4EB2Fu);
        return h / (double)uint.MaxValue < share;
    }

    public static uint Mix32(uint x)
    {
        x ^= x >> 16;
        x *= 0x7FEB352D;
        x ^= x >> 15;
        x *= 0x846CA68B;
        x ^= x >> 16;
        return x;
    }
}
