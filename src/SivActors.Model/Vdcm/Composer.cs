using SivActors.Model.Device;
using SivActors.Model.Identity;

namespace SivActors.Model.Vdcm;

public enum CompositionPolicy : byte
{
    /// <summary>Dedicated WQs when every planned vdev can have its own, otherwise shared WQs for all.</summary>
    Auto,
    /// <summary>Every AI is a dedicated WQ owned by one vdev; composing fails when none is free.</summary>
    Dedicated,
    /// <summary>Every AI is a shared WQ; vdevs are spread round-robin.</summary>
    Shared,
}

/// <summary>
/// Picks AIs for a new vdev, and replacements for AIs of a device that was surprise-removed. A vdev of k AIs takes
/// them from k different devices when there are that many, so that a vdev can span hosting functions. Every choice
/// is a function of the AIs taken so far, so replaying the same claims gives the same state.
/// </summary>
public sealed class Composer
{
    private readonly int _devices;
    private readonly int _aisPerDevice;
    private readonly CompositionPolicy _policy;
    private readonly int[] _users; // per AI (device-major)
    private readonly WorkQueueMode?[] _modes;
    private readonly bool[] _removed; // per device
    // Dedicated: every AI before this ordinal (device-interleaved order) is taken or on a removed device.
    private int _nextDedicated;
    private int _nextShared;
    private int _free; // AIs nobody uses, on devices still present

    /// <param name="plannedAis">AIs all planned vdevs need together; decides what <see cref="CompositionPolicy.Auto"/> means.</param>
    public Composer(int devices, int aisPerDevice, CompositionPolicy policy, long plannedAis = 0)
    {
        if (devices < 1) throw new SivInputException($"a host needs at least one device (got {devices})");
        if (aisPerDevice < 1) throw new SivInputException($"a device needs at least one AI (got {aisPerDevice})");
        _devices = devices;
        _aisPerDevice = aisPerDevice;
        _policy = policy == CompositionPolicy.Auto
            ? plannedAis <= (long)devices * aisPerDevice ? CompositionPolicy.Dedicated : CompositionPolicy.Shared
            : policy;
        _users = new int[devices * aisPerDevice];
        _modes = new WorkQueueMode?[devices * aisPerDevice];
        _removed = new bool[devices];
        _free = _users.Length;
    }

    public int TotalAis => _users.Length;

    /// <summary>The policy in force (Auto resolved).</summary>
    public CompositionPolicy Policy => _policy;

    /// <summary>The shared-WQ round-robin position: part of the state a snapshot must keep once devices were removed.</summary>
    public int SharedCursor
    {
        get => _nextShared;
        set => _nextShared = value;
    }

    public WorkQueueMode? ModeOf(int device, int ai) => _modes[device * _aisPerDevice + ai];

    public bool IsRemoved(int device) => _removed[device];

    /// <summary>Devices that were surprise-removed, in order.</summary>
    public IReadOnlyList<int> RemovedDevices => Enumerable.Range(0, _devices).Where(d => _removed[d]).ToList();

    public bool AnyRemoved { get; private set; }

    /// <summary>Chooses <paramref name="count"/> AIs and takes them; throws when the policy cannot be met.</summary>
    public IReadOnlyList<(int Device, int Ai, WorkQueueMode Mode)> Compose(int count)
    {
        var picks = Plan(count);
        Claim(picks);
        return picks;
    }

    /// <summary>The AIs the next vdev of <paramref name="count"/> AIs would get, without taking them.</summary>
    public IReadOnlyList<(int Device, int Ai, WorkQueueMode Mode)> Plan(int count)
    {
        if (count < 1 || count > _users.Length)
            throw new SivInputException($"a vdev needs 1..{_users.Length} AIs (got {count})");
        if (_removed.All(r => r)) throw new SivInputException("every device of this host was removed; no AI is left to compose from");
        var result = new List<(int, int, WorkQueueMode)>(count);
        if (_policy == CompositionPolicy.Dedicated)
        {
            if (_free < count)
            {
                var gone = _removed.Count(r => r) * _aisPerDevice;
                throw new SivInputException($"composition policy \"dedicated\" ran out of AIs: {_users.Length} AIs" +
                    (gone > 0 ? $" ({gone} of them on surprise-removed devices)" : "") + $" cannot give {count} more dedicated WQs");
            }
            for (int ordinal = _nextDedicated, found = 0; found < count; ordinal++)
            {
                var flat = Interleave(ordinal);
                if (!IsFree(flat)) continue;
                result.Add(Pick(flat, WorkQueueMode.Dedicated));
                found++;
            }
            return result;
        }
        for (int ordinal = _nextShared, found = 0; found < count; ordinal++)
        {
            var flat = Interleave(ordinal % _users.Length);
            if (_removed[flat / _aisPerDevice]) continue;
            result.Add(Pick(flat, WorkQueueMode.Shared));
            found++;
        }
        return result;
    }

    /// <summary>
    /// An AI to take over slot of a vdev whose AI was on a removed device, in the slot's own mode: a free dedicated
    /// WQ (null when none is left: a dedicated WQ is never shared), or the next shared WQ round-robin, on a device
    /// the vdev does not use yet when there is one.
    /// </summary>
    public (int Device, int Ai, WorkQueueMode Mode)? PlanReplacement(WorkQueueMode mode, IReadOnlyCollection<int> devicesInUse)
    {
        if (_removed.All(r => r)) return null;
        if (mode == WorkQueueMode.Dedicated)
        {
            // AdvanceDedicated keeps the cursor on the first free AI, if any is left.
            return _free == 0 ? null : Pick(Interleave(_nextDedicated), mode);
        }
        (int, int, WorkQueueMode)? fallback = null;
        for (var step = 0; step < _users.Length; step++)
        {
            var flat = Interleave((_nextShared + step) % _users.Length);
            var device = flat / _aisPerDevice;
            if (_removed[device]) continue;
            var pick = Pick(flat, mode);
            if (!devicesInUse.Contains(device)) return pick;
            fallback ??= pick;
            if (step >= _devices) break; // one round over the devices is enough to find an unused one
        }
        return fallback;
    }

    /// <summary>Takes AIs chosen by <see cref="Plan"/> (or replayed from the journal, which recorded a plan).</summary>
    public void Claim(IEnumerable<(int Device, int Ai, WorkQueueMode Mode)> picks)
    {
        foreach (var (device, ai, mode) in picks)
        {
            var flat = Flat(device, ai);
            if (_users[flat]++ == 0 && !_removed[device]) _free--;
            _modes[flat] = mode;
            if (mode == WorkQueueMode.Shared) _nextShared++;
            AdvanceDedicated(); // whatever took it, the dedicated cursor stays on the first free AI
        }
    }

    /// <summary>Gives back an AI of a vdev that moved off it or was torn down.</summary>
    public void Release((int Device, int Ai, WorkQueueMode Mode) pick)
    {
        var flat = Flat(pick.Device, pick.Ai);
        if (_users[flat] == 0) throw new InvalidOperationException($"device {pick.Device} AI {pick.Ai} is released but nobody uses it");
        if (--_users[flat] != 0 || _removed[pick.Device]) return;
        _free++;
        _modes[flat] = null;
        var ordinal = pick.Ai * _devices + pick.Device;
        if (ordinal < _nextDedicated) _nextDedicated = ordinal;
    }

    /// <summary>The device is gone (surprise removal): nothing is composed from its AIs again.</summary>
    public void RemoveDevice(int device)
    {
        if (device < 0 || device >= _devices) throw new InvalidOperationException($"device {device} is beyond this host's {_devices} devices");
        if (_removed[device]) return;
        for (var ai = 0; ai < _aisPerDevice; ai++)
            if (_users[Flat(device, ai)] == 0) _free--;
        _removed[device] = true;
        AnyRemoved = true;
        AdvanceDedicated();
    }

    private int Flat(int device, int ai)
    {
        if (device < 0 || device >= _devices || ai < 0 || ai >= _aisPerDevice)
            throw new InvalidOperationException($"composition names device {device} AI {ai}, beyond this host's {_devices}x{_aisPerDevice} AIs");
        return device * _aisPerDevice + ai;
    }

    private void AdvanceDedicated()
    {
        while (_nextDedicated < _users.Length)
        {
            if (IsFree(Interleave(_nextDedicated))) return;
            _nextDedicated++;
        }
    }

    /// <summary>Nobody uses the AI, and its device is still present.</summary>
    private bool IsFree(int flat) => _users[flat] == 0 && !_removed[flat / _aisPerDevice];

    private (int Device, int Ai, WorkQueueMode Mode) Pick(int flat, WorkQueueMode mode) => (flat / _aisPerDevice, flat % _aisPerDevice, mode);

    /// <summary>Order AIs device-interleaved: AI 0 of every device, then AI 1 of every device, ...</summary>
    private int Interleave(int ordinal)
    {
        var device = ordinal % _devices;
        var ai = ordinal / _devices;
        return device * _aisPerDevice + ai;
    }

    public static AiId ToAiId(HostId host, int device, int ai) => new(new DeviceId(host, device), ai);
}
