using SivActors.Model.Device;
using SivActors.Model.Identity;
using SivActors.Model.Vdcm;

namespace SivActors.Model.Tables;

/// <summary>Changes to a VDCM's compositions and their virtual MSI-X state: what gets persisted.</summary>
public abstract record VdcmEvent;

/// <summary>One AI of a composition: device, AI index on it, and the WQ mode it was composed in.</summary>
public readonly record struct ComposedAi(int Device, int Ai, WorkQueueMode Mode);

/// <summary>A vdev was composed for <paramref name="Container"/> from <paramref name="Ais"/>.</summary>
public sealed record VdevComposed(ContainerId Container, Asid Asid, int TableId, IReadOnlyList<ComposedAi> Ais) : VdcmEvent;

/// <summary>A virtual MSI-X entry now holds <paramref name="Value"/> (data, mask, and the handle and IMS index behind it).</summary>
public sealed record MsixEntrySet(ContainerId Container, int Entry, VirtualMsixEntry Value) : VdcmEvent;

/// <summary>The vdev went through FLR: emulated state back to power-on values, every MSI-X entry masked and unbacked.</summary>
public sealed record VdevReset(ContainerId Container) : VdcmEvent;

/// <summary>The hosting function <paramref name="Device"/> of this host was surprise-removed: none of its AIs serves a vdev again.</summary>
public sealed record DeviceRemoved(int Device) : VdcmEvent;

/// <summary>Slot <paramref name="Slot"/> of the vdev moved to <paramref name="Ai"/>, off an AI of a removed device.</summary>
public sealed record VdevRecomposed(ContainerId Container, int Slot, ComposedAi Ai) : VdcmEvent;

/// <summary>The vdev lost an AI that the composition policy cannot replace (no free dedicated WQ left): it is gone.</summary>
public sealed record VdevTornDown(ContainerId Container) : VdcmEvent;

/// <summary>A snapshot of <see cref="VdcmCompositions"/>, encoded when taken (the live state keeps changing).</summary>
public sealed record VdcmSnapshot(byte[] Payload);

/// <summary>One composed vdev: the device model, its interrupt table and what it was composed from.</summary>
public sealed record ComposedVdev(VirtualDevice Device, int TableId, IReadOnlyList<ComposedAi> Picks)
{
    public WorkQueueMode[] Modes { get; } = Picks.Select(p => p.Mode).ToArray();
}

/// <summary>
/// The VDCM's durable state: which AIs each vdev is composed of, which interrupt table its ASID uses, and each
/// virtual MSI-X entry with the interrupt handle and IMS index behind it. Emulated config space and control
/// registers are not part of it: after a restart they read as after FLR, as a device model restored from its
/// saved composition would.
/// </summary>
public sealed class VdcmCompositions(HostId host, Composer composer, int asidsPerInterruptTable)
{
    private readonly Dictionary<ContainerId, ComposedVdev> _vdevs = new();
    private readonly Dictionary<int, List<ContainerId>> _tableMembers = new();
    private int _composed;

    public HostId Host { get; } = host;

    /// <summary>
    /// A host's empty state for <paramref name="s"/>: its devices' AIs (or VFs), the composition policy for the
    /// vdevs it will serve, and how many tenants share an interrupt table (all of them under SR-IOV: IRTA's one table).
    /// </summary>
    public static VdcmCompositions For(Scenarios.Scenario s, HostId host)
    {
        var t = s.Topology;
        var containersHere = (t.Containers - host.Value + t.Hosts - 1) / t.Hosts;
        var composer = s.Sriov
            ? new Composer(t.DevicesPerHost, s.FunctionsPerDevice, CompositionPolicy.Dedicated)
            : new Composer(t.DevicesPerHost, t.AisPerDevice, s.Composition.ParsedPolicy, (long)containersHere * s.Composition.AisPerVdev);
        return new VdcmCompositions(host, composer, s.Sriov ? int.MaxValue : s.Composition.AsidsPerInterruptTable);
    }

    /// <summary>Devices of this host that were surprise-removed, in order.</summary>
    public IReadOnlyList<int> RemovedDevices => composer.RemovedDevices;

    /// <summary>Vdevs composed so far, torn-down ones included: it numbers the interrupt tables.</summary>
    public int ComposedCount
    {
        get => _composed;
        internal set => _composed = value;
    }

    public Composer Composer => composer;
    public IReadOnlyDictionary<ContainerId, ComposedVdev> Vdevs => _vdevs;

    /// <summary>Compositions plus their virtual MSI-X entries: what a snapshot holds (counted when one is taken).</summary>
    public long EntryCount => _vdevs.Values.Sum(v => 1L + v.Device.Msix.Count);
    public IReadOnlyList<ContainerId> MembersOf(int tableId) => _tableMembers.TryGetValue(tableId, out var m) ? m : [];

    /// <summary>Decides a new composition; throws <see cref="SivInputException"/> when the policy cannot be met.</summary>
    public VdevComposed DecideCompose(ContainerId container, Asid asid, int aiCount)
    {
        if (_vdevs.ContainsKey(container)) throw new SivInputException($"{container} already has a vdev on this VDCM");
        var picks = composer.Plan(aiCount).Select(p => new ComposedAi(p.Device, p.Ai, p.Mode)).ToList();
        return new VdevComposed(container, asid, _composed / asidsPerInterruptTable, picks);
    }

    /// <summary>Vdevs with an AI on a removed device, in container order: what a removal still has to move.</summary>
    public IReadOnlyList<ContainerId> Stranded() =>
        !composer.AnyRemoved ? [] : _vdevs.Keys.Where(IsStranded).OrderBy(c => c.Value).ToList();

    /// <summary>The vdev exists and still has an AI on a removed device.</summary>
    public bool IsStranded(ContainerId container) =>
        composer.AnyRemoved && _vdevs.TryGetValue(container, out var v) && v.Picks.Any(p => composer.IsRemoved(p.Device));

    /// <summary>
    /// The next step for a stranded vdev: its first slot on a removed device moves to a replacement AI, or, when the
    /// policy has none for it, the whole vdev is torn down. Null when the vdev is not stranded (or gone).
    /// </summary>
    public VdcmEvent? DecideRescue(ContainerId container)
    {
        if (!_vdevs.TryGetValue(container, out var v)) return null;
        for (var slot = 0; slot < v.Picks.Count; slot++)
        {
            var pick = v.Picks[slot];
            if (!composer.IsRemoved(pick.Device)) continue;
            var inUse = v.Picks.Where(p => !composer.IsRemoved(p.Device)).Select(p => p.Device).ToHashSet();
            return composer.PlanReplacement(pick.Mode, inUse) is { } r
                ? new VdevRecomposed(container, slot, new ComposedAi(r.Device, r.Ai, r.Mode))
                : new VdevTornDown(container);
        }
        return null;
    }

    public void Apply(VdcmEvent e)
    {
        switch (e)
        {
            case VdevComposed c:
            {
                composer.Claim(c.Ais.Select(a => (a.Device, a.Ai, a.Mode)));
                var ais = c.Ais.Select(a => Composer.ToAiId(Host, a.Device, a.Ai)).ToArray();
                _vdevs[c.Container] = new ComposedVdev(new VirtualDevice(new VdevId(c.Container.Value), c.Container, c.Asid, ais), c.TableId, c.Ais);
                if (!_tableMembers.TryGetValue(c.TableId, out var members)) _tableMembers[c.TableId] = members = [];
                members.Add(c.Container);
                _composed++;
                break;
            }
            case MsixEntrySet m:
                Vdev(m.Container).Device.SetMsix(m.Entry, m.Value);
                break;
            case VdevReset r:
                Vdev(r.Container).Device.Reset();
                break;
            case DeviceRemoved d:
                composer.RemoveDevice(d.Device);
                break;
            case VdevRecomposed m:
            {
                var v = Vdev(m.Container);
                if ((uint)m.Slot >= (uint)v.Picks.Count) throw new InvalidOperationException($"event names slot {m.Slot} of {m.Container}, which has {v.Picks.Count}");
                var old = v.Picks[m.Slot];
                composer.Release((old.Device, old.Ai, old.Mode));
                composer.Claim([(m.Ai.Device, m.Ai.Ai, m.Ai.Mode)]);
                v.Device.ReplaceAi(m.Slot, Composer.ToAiId(Host, m.Ai.Device, m.Ai.Ai));
                var picks = v.Picks.ToArray();
                picks[m.Slot] = m.Ai;
                _vdevs[m.Container] = new ComposedVdev(v.Device, v.TableId, picks);
                break;
            }
            case VdevTornDown t:
            {
                var v = Vdev(t.Container);
                foreach (var p in v.Picks) composer.Release((p.Device, p.Ai, p.Mode));
                _vdevs.Remove(t.Container);
                _tableMembers[v.TableId].Remove(t.Container);
                break;
            }
            default:
                throw new ArgumentException($"unknown VDCM event {e.GetType().Name}", nameof(e));
        }
    }

    private ComposedVdev Vdev(ContainerId c) =>
        _vdevs.TryGetValue(c, out var v) ? v : throw new InvalidOperationException($"event names {c}, which has no vdev");
}
