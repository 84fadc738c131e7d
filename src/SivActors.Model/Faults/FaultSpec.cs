using System.Globalization;
using System.Text.Json.Serialization;

namespace SivActors.Model.Faults;

/// <summary>One entry of a scenario's <c>faults</c> list (docs/faults.md); checked by <see cref="FaultTimeline.Validate"/>.</summary>
public sealed record FaultSpec
{
    /// <summary>Seconds after the measured window starts.</summary>
    public double At { get; init; }

    public string Kind { get; init; } = "";

    /// <summary>An entity (<c>ai:0.1.7</c>, <c>interrupt-unit:0</c>, ...) or, for kill-actor with <see cref="Random"/>, a kind (<c>ai</c>).</summary>
    public string? Target { get; init; }

    /// <summary>How long a fault with a window lasts (drop, delay, journal-fail, journal-stall, rogue-storm), in seconds.</summary>
    [JsonPropertyName("for")]
    public double? For { get; init; }

    /// <summary>drop / delay: the hop kind whose messages are affected.</summary>
    public string? Hop { get; init; }

    /// <summary>drop: the share of the hop's messages that are lost (0..1).</summary>
    public double? Probability { get; init; }

    /// <summary>delay: latency added to each of the hop's messages, in milliseconds.</summary>
    public double? DelayMs { get; init; }

    /// <summary>kill-actor: this many entities of the target's kind, picked with the scenario's seed.</summary>
    public int? Random { get; init; }

    /// <summary>rogue-storm: forged messages the AI sends per completion it serves.</summary>
    public int? Burst { get; init; }
}

public enum FaultKind
{
    KillActor,
    CrashNode,
    RestartNode,
    Partition,
    Drop,
    Delay,
    JournalFail,
    JournalStall,
    RogueStorm,
    StaleIec,
    SurpriseRemove,
}

/// <summary>The message paths a drop or delay can affect, named from sender to receiver.</summary>
public enum Hop
{
    /// <summary>A completion (or forged) interrupt, AI to the interrupt managing unit.</summary>
    AiToInterruptUnit,
    /// <summary>A remapped or posted interrupt, interrupt unit to the target container.</summary>
    InterruptUnitToContainer,
    /// <summary>DMA reads and writes, AI to the DMA-remapping unit.</summary>
    AiToDmaUnit,
    /// <summary>Portal writes (work submission), container to AI.</summary>
    ContainerToAi,
}

public static class FaultNames
{
    public static readonly IReadOnlyDictionary<string, FaultKind> Kinds = new Dictionary<string, FaultKind>(StringComparer.Ordinal)
    {
        ["kill-actor"] = FaultKind.KillActor, ["crash-node"] = FaultKind.CrashNode, ["restart-node"] = FaultKind.RestartNode,
        ["partition"] = FaultKind.Partition, ["drop"] = FaultKind.Drop, ["delay"] = FaultKind.Delay,
        ["journal-fail"] = FaultKind.JournalFail, ["journal-stall"] = FaultKind.JournalStall, ["rogue-storm"] = FaultKind.RogueStorm,
        ["stale-iec"] = FaultKind.StaleIec, ["surprise-remove"] = FaultKind.SurpriseRemove,
    };

    public static readonly IReadOnlyDictionary<string, Hop> Hops = new Dictionary<string, Hop>(StringComparer.Ordinal)
    {
        ["ai-to-interrupt-unit"] = Hop.AiToInterruptUnit, ["interrupt-unit-to-container"] = Hop.InterruptUnitToContainer,
        ["ai-to-dma-unit"] = Hop.AiToDmaUnit, ["container-to-ai"] = Hop.ContainerToAi,
    };

    public static string Name(FaultKind kind) => Kinds.First(kv => kv.Value == kind).Key;

    public static string Name(Hop hop) => Hops.First(kv => kv.Value == hop).Key;
}

/// <summary>The kinds of entity a fault can name.</summary>
public enum TargetKind
{
    Ai,
    InterruptUnit,
    DmaUnit,
    Vdcm,
    Device,
    Container,
    /// <summary>A worker node of a cluster run, by its number among the run's workers (ordered by address).</summary>
    Node,
}

/// <summary>
/// A parsed fault target: <c>ai:H.D.A</c>, <c>device:H.D</c>, <c>interrupt-unit:H</c>, <c>dma-unit:H</c>,
/// <c>vdcm:H</c>, <c>container:N</c>; or only the kind (<c>ai</c>) when the fault picks entities at random.
/// Numbers are host, device within the host, AI within the device, container number.
/// </summary>
public sealed record FaultTarget(TargetKind Kind, int[] Index)
{
    public static readonly IReadOnlyDictionary<string, (TargetKind Kind, int Parts)> Forms = new Dictionary<string, (TargetKind, int)>(StringComparer.Ordinal)
    {
        ["ai"] = (TargetKind.Ai, 3), ["device"] = (TargetKind.Device, 2), ["interrupt-unit"] = (TargetKind.InterruptUnit, 1),
        ["dma-unit"] = (TargetKind.DmaUnit, 1), ["vdcm"] = (TargetKind.Vdcm, 1), ["container"] = (TargetKind.Container, 1),
        ["node"] = (TargetKind.Node, 1),
    };

    public bool IsWholeKind => Index.Length == 0;

    public int Host => Kind is TargetKind.Container or TargetKind.Node || IsWholeKind ? -1 : Index[0];

    /// <summary>Parses <paramref name="text"/>; the error is one line without the key's name (the caller adds it).</summary>
    public static FaultTarget Parse(string text)
    {
        var colon = text.IndexOf(':', StringComparison.Ordinal);
        var kindName = colon < 0 ? text : text[..colon];
        if (!Forms.TryGetValue(kindName, out var form))
            throw new SivInputException($"target \"{text}\" names no entity kind (kinds: {string.Join(", ", Forms.Keys)})");
        if (colon < 0) return new FaultTarget(form.Kind, []);
        var parts = text[(colon + 1)..].Split('.');
        var index = new int[parts.Length];
        for (var i = 0; i < parts.Length; i++)
            if (!int.TryParse(parts[i], NumberStyles.None, CultureInfo.InvariantCulture, out index[i]))
                throw new SivInputException($"target \"{text}\": \"{parts[i]}\" is not a number");
        if (parts.Length != form.Parts)
            throw new SivInputException($"target \"{text}\" needs {form.Parts} number(s) after \"{kindName}:\" ({Example(form.Kind)})");
        return new FaultTarget(form.Kind, index);
    }

    private static string Example(TargetKind kind) => kind switch
    {
        TargetKind.Ai => "host.device.ai, e.g. ai:0.1.7",
        TargetKind.Device => "host.device, e.g. device:0.1",
        TargetKind.Container => "the container number, e.g. container:17",
        TargetKind.Node => "the worker's number in the run, e.g. node:2",
        _ => $"the host, e.g. {Name(kind)}:0",
    };

    public static string Name(TargetKind kind) => Forms.First(kv => kv.Value.Kind == kind).Key;

    public override string ToString() => IsWholeKind ? Name(Kind) : $"{Name(Kind)}:{string.Join('.', Index)}";
}
