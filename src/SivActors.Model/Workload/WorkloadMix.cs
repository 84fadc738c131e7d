using SivActors.Model.Device;
using SivActors.Model.Scenarios;

namespace SivActors.Model.Workload;

public enum SlowOperation : byte
{
    ConfigRead,
    Bar0Read,
    MsixReprogram,
    AdminCommand,
    QueueReset,
    VdevReset,
}

/// <summary>Weighted choice of a container's next operation, from the scenario's mix and a seeded generator.</summary>
public sealed class WorkloadMix
{
    public static readonly IReadOnlyCollection<string> FastOperations = ["memmove", "fill", "compare", "crc32c"];
    public static readonly IReadOnlyCollection<string> SlowOperations = ["configRead", "bar0Read", "msixReprogram", "adminCommand", "queueReset", "vdevReset"];

    private readonly DsaOpcode[] _fastOps;
    private readonly double[] _fastCumulative;
    private readonly SlowOperation[] _slowOps;
    private readonly double[] _slowCumulative;
    private readonly int[] _sizes;

    public WorkloadMix(WorkloadSection w)
    {
        SlowPathShare = w.SlowPathShare;
        InterruptShare = w.InterruptShare;
        (_fastOps, _fastCumulative) = Cumulative(w.Fast, FastOpcode);
        (_slowOps, _slowCumulative) = Cumulative(w.Slow, SlowOp);
        _sizes = w.TransferSizes;
    }

    public double SlowPathShare { get; }
    public double InterruptShare { get; }
    public int MaxTransferSize => _sizes.Max();

    public bool NextIsSlow(Random rng) => rng.NextDouble() < SlowPathShare;
    public DsaOpcode NextFast(Random rng) => _fastOps[Pick(_fastCumulative, rng)];
    public SlowOperation NextSlow(Random rng) => _slowOps[Pick(_slowCumulative, rng)];
    public int NextSize(Random rng) => _sizes[rng.Next(_sizes.Length)];
    public bool NextWantsInterrupt(Random rng) => rng.NextDouble() < InterruptShare;

    public static DsaOpcode FastOpcode(string name) => name switch
    {
        "memmove" => DsaOpcode.MemoryMove,
        "fill" => DsaOpcode.Fill,
        "compare" => DsaOpcode.Compare,
        "crc32c" => DsaOpcode.CrcGeneration,
        _ => throw new SivInputException($"unknown fast-path operation \"{name}\""),
    };

    private static SlowOperation SlowOp(string name) => name switch
    {
        "configRead" => SlowOperation.ConfigRead,
        "bar0Read" => SlowOperation.Bar0Read,
        "msixReprogram" => SlowOperation.MsixReprogram,
        "adminCommand" => SlowOperation.AdminCommand,
        "queueReset" => SlowOperation.QueueReset,
        "vdevReset" => SlowOperation.VdevReset,
        _ => throw new SivInputException($"unknown slow-path operation \"{name}\""),
    };

    private static (T[] Ops, double[] Cumulative) Cumulative<T>(Dictionary<string, double> weights, Func<string, T> map)
    {
        var items = weights.Where(kv => kv.Value > 0).OrderBy(kv => kv.Key, StringComparer.Ordinal).ToArray();
        var ops = items.Select(kv => map(kv.Key)).ToArray();
        var cumulative = new double[items.Length];
        var total = items.Sum(kv => kv.Value);
        var running = 0.0;
        for (var i = 0; i < items.Length; i++)
        {
            running += items[i].Value / total;
            cumulative[i] = running;
        }
        return (ops, cumulative);
    }

    private static int Pick(double[] cumulative, Random rng)
    {
        var x = rng.NextDouble();
        for (var i = 0; i < cumulative.Length - 1; i++)
            if (x < cumulative[i]) return i;
        return cumulative.Length - 1;
    }
}
