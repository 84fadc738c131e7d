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
/// Picks AIs for a new vdev. A vdev of k AIs takes them from k different devices when there are that many, so that
/// a vdev can span hosting functions. Deterministic for a given request order.
/// </summary>
public sealed class Composer
{
    private readonly int _devices;
    private readonly int _aisPerDevice;
    private readonly CompositionPolicy _policy;
    private readonly int[] _users; // per AI (device-major)
    private readonly WorkQueueMode?[] _modes;
    private int _nextDedicated;
    private int _nextShared;

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
    }

    public int TotalAis => _users.Length;

    /// <summary>The policy in force (Auto resolved).</summary>
    public CompositionPolicy Policy => _policy;

    public WorkQueueMode? ModeOf(int device, int ai) => _modes[device * _aisPerDevice + ai];

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
        var result = new List<(int, int, WorkQueueMode)>(count);
        var dedicatedLeft = _users.Length - _nextDedicated;
        var useDedicated = _policy == CompositionPolicy.Dedicated;
        if (_policy == CompositionPolicy.Dedicated && dedicatedLeft < count)
            throw new SivInputException($"composition policy \"dedicated\" ran out of AIs: {_users.Length} AIs cannot give {count} more dedicated WQs");
        for (var i = 0; i < count; i++)
        {
            var flat = useDedicated ? Interleave(_nextDedicated + i) : Interleave((_nextShared + i) % _users.Length);
            result.Add((flat / _aisPerDevice, flat % _aisPerDevice, useDedicated ? WorkQueueMode.Dedicated : WorkQueueMode.Shared));
        }
        return result;
    }

    /// <summary>Takes AIs chosen by <see cref="Plan"/> (or replayed from the journal, which recorded a plan).</summary>
    public void Claim(IEnumerable<(int Device, int Ai, WorkQueueMode Mode)> picks)
    {
        foreach (var (device, ai, mode) in picks)
        {
            if (device < 0 || device >= _devices || ai < 0 || ai >= _aisPerDevice)
                throw new InvalidOperationException($"composition names device {device} AI {ai}, beyond this host's {_devices}x{_aisPerDevice} AIs");
            var flat = device * _aisPerDevice + ai;
            _users[flat]++;
            _modes[flat] = mode;
            if (mode == WorkQueueMode.Dedicated) _nextDedicated++;
            else _nextShared++;
        }
    }

    /// <summary>Order AIs device-interleaved: AI 0 of every device, then AI 1 of every device, ...</summary>
    private int Interleave(int ordinal)
    {
        var device = ordinal % _devices;
        var ai = ordinal / _devices;
        return device * _aisPerDevice + ai;
    }

    public static AiId ToAiId(HostId host, int device, int ai) => new(new DeviceId(host, device), ai);
}
