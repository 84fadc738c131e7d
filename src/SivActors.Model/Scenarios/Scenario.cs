using SivActors.Model.Cost;
using SivActors.Model.Interrupts;
using SivActors.Model.Vdcm;

namespace SivActors.Model.Scenarios;

/// <summary>A scenario file (JSON with // comments): see docs/scenarios.md.</summary>
public sealed record Scenario
{
    public string Name { get; init; } = "unnamed";
    public int Seed { get; init; } = 1;
    public double DurationSeconds { get; init; } = 20;
    public TopologySection Topology { get; init; } = new();
    public CompositionSection Composition { get; init; } = new();
    public WorkloadSection Workload { get; init; } = new();
    public RogueSection Rogue { get; init; } = new();
    public RemappingSection Remapping { get; init; } = new();
    /// <summary>Overrides of config/cost-model.json, key by key.</summary>
    public Dictionary<string, double>? CostModel { get; init; }
    /// <summary>
    /// What delivery guarantees the run keeps under faults: "hardware" (faithful: a lost message is counted lost) or
    /// "reliable" (every interrupt reaches its judge, each container gets each of its interrupts once); docs/faults.md.
    /// </summary>
    public string Delivery { get; init; } = "hardware";
    /// <summary>
    /// The virtualization design the run emulates: "siov" (AIs passed through, fast path straight to the device),
    /// "sriov" (one VF per container up to the device's VF limit, requester-id based remapping without PASID) or
    /// "emulated" (no pass-through: every guest access, fast path included, trapped and serviced by the VDCM).
    /// </summary>
    public string Mode { get; init; } = "siov";

    [System.Text.Json.Serialization.JsonIgnore]
    public bool Emulated => Mode == "emulated";

    /// <summary>SR-IOV: each container's vdev is one VF of its own, with its own requester id, and no PASID (decision 67).</summary>
    [System.Text.Json.Serialization.JsonIgnore]
    public bool Sriov => Mode == "sriov";

    /// <summary>What a device offers to assign: its AIs (siov, emulated) or its VFs (sriov).</summary>
    [System.Text.Json.Serialization.JsonIgnore]
    public int FunctionsPerDevice => Sriov ? Topology.VfLimit : Topology.AisPerDevice;

    /// <summary>
    /// Whether the container gets a vdev. Containers go to hosts round-robin; under SR-IOV a host serves only as many
    /// as its devices have VFs, in container order, and the rest are reported unserved. Every other mode serves all.
    /// </summary>
    public bool Serves(int container)
    {
        if (!Sriov) return true;
        return (long)(container / Topology.Hosts) < (long)Topology.DevicesPerHost * Topology.VfLimit;
    }

    /// <summary>What a device offers to assign, for the console: "256 AIs" or "64 VFs".</summary>
    [System.Text.Json.Serialization.JsonIgnore]
    public string FunctionsText => $"{FunctionsPerDevice} {(Sriov ? "VFs" : "AIs")}";

    /// <summary>After a container count: " (744 beyond the VF limit, unserved)", or nothing when every one is served.</summary>
    [System.Text.Json.Serialization.JsonIgnore]
    public string UnservedNote => ServedContainers < Topology.Containers
        ? string.Create(System.Globalization.CultureInfo.InvariantCulture, $" ({Topology.Containers - ServedContainers:N0} beyond the VF limit, unserved)")
        : "";

    /// <summary>At the end of a description: ", mode sriov", or nothing for the default siov.</summary>
    [System.Text.Json.Serialization.JsonIgnore]
    public string ModeNote => Mode == "siov" ? "" : $", mode {Mode}";

    /// <summary>Containers that get a vdev (all of them, except beyond the VF limit under SR-IOV).</summary>
    [System.Text.Json.Serialization.JsonIgnore]
    public int ServedContainers => Sriov
        ? (int)Math.Min(Topology.Containers, (long)Topology.Hosts * Topology.DevicesPerHost * Topology.VfLimit)
        : Topology.Containers;
    /// <summary>The fault timeline (docs/faults.md): what breaks, when, and for how long.</summary>
    public List<Faults.FaultSpec> Faults { get; init; } = [];

    [System.Text.Json.Serialization.JsonIgnore]
    public bool ReliableDelivery => Delivery == "reliable";

    /// <summary>
    /// The interrupt unit's settings for this mode. Under SR-IOV no interrupt carries an ASID (a VF has no PASID), so
    /// there is nothing for the patent's ASID check to compare: the requester-id check does the isolating.
    /// </summary>
    public RemappingSettings RemappingSettings() => Sriov ? Remapping.ToSettings() with { AsidCheck = false } : Remapping.ToSettings();
}

public sealed record TopologySection
{
    public int Hosts { get; init; } = 1;
    public int DevicesPerHost { get; init; } = 4;
    public int AisPerDevice { get; init; } = 256;
    /// <summary>
    /// SR-IOV only: the VFs each device (PF) exposes, its TotalVFs (siov-reference §2.4: practical devices expose
    /// tens to ~256); 64 when absent. Nullable so that a topology without it keeps its stored fingerprint.
    /// </summary>
    [System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)]
    public int? VfsPerDevice { get; init; }

    [System.Text.Json.Serialization.JsonIgnore]
    public int VfLimit => VfsPerDevice ?? DefaultVfsPerDevice;

    public const int DefaultVfsPerDevice = 64;
    public int Containers { get; init; } = 1000;
    public int WorkQueueSize { get; init; } = 32;
    public int WorkQueueThreshold { get; init; } = 24;
    public int ImsEntriesPerDevice { get; init; } = 65536;
}

public sealed record CompositionSection
{
    public string Policy { get; init; } = "auto";
    public int AisPerVdev { get; init; } = 1;
    /// <summary>How many tenants' ASIDs point at one interrupt table (1 = a table per ASID).</summary>
    public int AsidsPerInterruptTable { get; init; } = 16;
    /// <summary>IRTA.S of each interrupt table: 2^(S+1) entries.</summary>
    public int InterruptTableSizeExponent { get; init; } = 15;
    /// <summary>Share of vectors programmed as posted (IM=1); the rest are remapped (IM=0).</summary>
    public double PostedShare { get; init; } = 0.75;

    public CompositionPolicy ParsedPolicy => Policy switch
    {
        "auto" => CompositionPolicy.Auto,
        "dedicated" => CompositionPolicy.Dedicated,
        "shared" => CompositionPolicy.Shared,
        _ => throw new SivInputException($"composition.policy \"{Policy}\" is not one of auto, dedicated, shared"),
    };
}

public sealed record WorkloadSection
{
    /// <summary>Descriptors a container keeps outstanding.</summary>
    public int QueueDepth { get; init; } = 2;
    /// <summary>Probability that a container's next operation is a slow-path one.</summary>
    public double SlowPathShare { get; init; } = 0.03;
    /// <summary>Share of descriptors that request a completion interrupt.</summary>
    public double InterruptShare { get; init; } = 1.0;
    public Dictionary<string, double> Fast { get; init; } = new() { ["memmove"] = 4, ["fill"] = 2, ["compare"] = 1, ["crc32c"] = 2 };
    public int[] TransferSizes { get; init; } = [64, 512, 2048];
    public Dictionary<string, double> Slow { get; init; } = new()
    {
        ["configRead"] = 4, ["bar0Read"] = 3, ["msixReprogram"] = 2, ["adminCommand"] = 1, ["queueReset"] = 1, ["vdevReset"] = 1,
    };
    /// <summary>One tenant that submits more than the others from a point of the window on; none when null.</summary>
    public NoisyNeighbourSection? NoisyNeighbour { get; init; }
    /// <summary>How the emulator time-slices its tenants (decision 70).</summary>
    public TurnsSection Turns { get; init; } = new();
}

/// <summary>
/// The emulator's time-slicing of tenants (decision 70): per emulated host, at most <see cref="TenantsPerHost"/>
/// containers submit at a time, each for <see cref="Operations"/> operations, first come first served. A tenant's
/// next turn comes after the others in line had theirs; its wait is reported apart (latency.wallUs.turnWait).
/// 0 tenants per host turns it off: every tenant submits at will, as the .NET pool happens to serve them.
/// </summary>
public sealed record TurnsSection
{
    public int TenantsPerHost { get; init; } = 16;
    public int Operations { get; init; } = 256;

    public bool Enabled => TenantsPerHost > 0;
}

/// <summary>
/// From <see cref="FromSeconds"/> into the measured window (half of it by default), <see cref="Container"/> keeps
/// <see cref="Factor"/> times the queue depth outstanding: it submits that many times more. The report compares the
/// other tenants before and during.
/// </summary>
public sealed record NoisyNeighbourSection
{
    public int Container { get; init; }
    public int Factor { get; init; } = 10;
    public double? FromSeconds { get; init; }

    /// <summary>When the noise starts, in seconds into the window of a run of <paramref name="durationSeconds"/>.</summary>
    public double StartsAt(double durationSeconds) => FromSeconds ?? durationSeconds / 2;
}

public sealed record RogueSection
{
    /// <summary>Share of AIs that also forge traffic (0..1).</summary>
    public double Share { get; init; } = 0.02;
    /// <summary>A rogue AI forges one message after every this many completions it serves.</summary>
    public int ForgeEvery { get; init; } = 8;
}

public sealed record RemappingSection
{
    public bool ExtendedInterruptMode { get; init; } = true;
    public bool AsidCheck { get; init; } = true;
    public bool PostingSupported { get; init; } = true;
    public int FaultRecords { get; init; } = 8;
    public int InterruptEntryCacheEntries { get; init; } = 4096;
    /// <summary>The device-side PASID check on IMS entries (status 0x19, siov-reference §11.5).</summary>
    public bool DeviceSideCheck { get; init; } = true;

    public RemappingSettings ToSettings() => new()
    {
        RemappingEnabled = true,
        ExtendedInterruptMode = ExtendedInterruptMode,
        CompatibilityFormatAllowed = false,
        PostingSupported = PostingSupported,
        AsidCheck = AsidCheck,
    };
}

/// <summary>A loaded, validated scenario with its cost model resolved.</summary>
public sealed record ResolvedScenario(Scenario Scenario, CostModel Cost, string Source);
