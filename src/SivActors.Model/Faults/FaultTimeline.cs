using System.Globalization;
using SivActors.Model.Scenarios;

namespace SivActors.Model.Faults;

/// <summary>A validated fault of the timeline, its values parsed and defaulted.</summary>
public sealed record ScheduledFault(int Index, FaultKind Kind, double AtSeconds, double? ForSeconds, FaultTarget? Target, int Random,
    Hop? Hop, double Probability, double DelayMs, int Burst)
{
    public string KindName => FaultNames.Name(Kind);

    public double? EndSeconds => ForSeconds is { } f ? AtSeconds + f : null;

    /// <summary>How the report names the target: the entity, the kind with the count picked, or the hop.</summary>
    public string TargetText => Target is { IsWholeKind: true } t
        ? string.Create(CultureInfo.InvariantCulture, $"{Random} random {t}")
        : Target?.ToString() ?? (Hop is { } h ? FaultNames.Name(h) : "");
}

/// <summary>Checks a scenario's <c>faults</c> list against its topology and duration; every error is one line naming the entry.</summary>
public static class FaultTimeline
{
    public const int DefaultBurst = 16;

    /// <summary>Kinds a scenario can schedule in this build; the rest are described in docs/faults.md as planned.</summary>
    public static readonly IReadOnlySet<FaultKind> Available = new HashSet<FaultKind>
    {
        FaultKind.KillActor, FaultKind.Drop, FaultKind.Delay, FaultKind.JournalFail, FaultKind.JournalStall, FaultKind.RogueStorm,
        FaultKind.StaleIec, FaultKind.SurpriseRemove, FaultKind.CrashNode, FaultKind.Partition, FaultKind.RestartNode,
    };

    /// <summary>Kinds that act on a cluster's nodes: only a cluster run (`siv run --cluster`) can inject them.</summary>
    public static readonly IReadOnlySet<FaultKind> ClusterOnly = new HashSet<FaultKind> { FaultKind.CrashNode, FaultKind.RestartNode, FaultKind.Partition };

    /// <summary>The first fault a single-node run cannot inject, as one line; null when there is none.</summary>
    public static string? NeedsCluster(IReadOnlyList<ScheduledFault> faults) => faults.FirstOrDefault(f => ClusterOnly.Contains(f.Kind)) is { } f
        ? $"faults[{f.Index}]: {f.KindName} acts on a cluster's nodes; run this scenario with `siv run --cluster` (docs/faults.md)"
        : null;

    /// <summary>Hops where a lost message is accounted exactly by the ledger without a timeout (interrupts).</summary>
    public static readonly IReadOnlySet<Hop> DroppableHops = new HashSet<Hop> { Hop.AiToInterruptUnit, Hop.InterruptUnitToContainer };

    private static readonly HashSet<FaultKind> Windowed = [FaultKind.Drop, FaultKind.Delay, FaultKind.JournalFail, FaultKind.JournalStall, FaultKind.RogueStorm, FaultKind.StaleIec,
        FaultKind.Partition];

    private static readonly HashSet<TargetKind> Killable = [TargetKind.Ai, TargetKind.InterruptUnit, TargetKind.DmaUnit, TargetKind.Vdcm, TargetKind.Device];

    public static IReadOnlyList<ScheduledFault> Validate(Scenario s)
    {
        var list = new List<ScheduledFault>();
        for (var i = 0; i < s.Faults.Count; i++) list.Add(Check(s, i, s.Faults[i]));
        // A restart brings back a worker that a crash took down before it; a worker that is running cannot start.
        foreach (var r in list.Where(f => f.Kind == FaultKind.RestartNode))
        {
            var node = r.Target!.Index[0];
            if (CrashBefore(list, r) is null)
                throw new SivInputException(Invariant($"faults[{r.Index}]: restart-node {r.Target} at {r.AtSeconds} s needs a crash-node of {r.Target} before it"));
            if (list.FirstOrDefault(o => o.Kind == FaultKind.RestartNode && o.Index != r.Index && o.Target!.Index[0] == node
                    && CrashBefore(list, o) == CrashBefore(list, r)) is { } twice)
                throw new SivInputException($"faults[{Math.Max(r.Index, twice.Index)}]: {r.Target} is restarted twice after one crash-node");
        }
        return list;
    }

    /// <summary>The latest crash-node of a restart's worker before the restart, or null.</summary>
    public static ScheduledFault? CrashBefore(IReadOnlyList<ScheduledFault> faults, ScheduledFault restart) =>
        faults.Where(c => c.Kind == FaultKind.CrashNode && c.Target!.Index[0] == restart.Target!.Index[0] && c.AtSeconds < restart.AtSeconds)
            .MaxBy(c => c.AtSeconds);

    /// <summary>The restart-node that brings a crash's worker back, or null when it stays down.</summary>
    public static ScheduledFault? RestartAfter(IReadOnlyList<ScheduledFault> faults, ScheduledFault crash) =>
        faults.FirstOrDefault(r => r.Kind == FaultKind.RestartNode && r.Target!.Index[0] == crash.Target!.Index[0] && CrashBefore(faults, r) == crash);

    private static ScheduledFault Check(Scenario s, int i, FaultSpec f)
    {
        var at = $"faults[{i}]";
        if (f.Kind.Length == 0) throw new SivInputException($"{at}.kind is missing (kinds: {string.Join(", ", FaultNames.Kinds.Keys)})");
        if (!FaultNames.Kinds.TryGetValue(f.Kind, out var kind))
            throw new SivInputException($"{at}.kind \"{f.Kind}\" is not a fault kind (kinds: {string.Join(", ", FaultNames.Kinds.Keys)})");
        if (!Available.Contains(kind))
            throw new SivInputException($"{at}.kind \"{f.Kind}\" cannot be scheduled in this build yet (available: {string.Join(", ", Available.Select(FaultNames.Name))}; see docs/faults.md)");
        if (double.IsNaN(f.At) || f.At < 0 || f.At >= s.DurationSeconds)
            throw new SivInputException(Invariant($"{at}.at = {f.At} s is not within the run (0 <= at < durationSeconds = {s.DurationSeconds})"));

        double? length = null;
        if (Windowed.Contains(kind))
        {
            if (f.For is not { } w) throw new SivInputException($"{at}: {f.Kind} needs \"for\" (seconds the fault lasts)");
            if (double.IsNaN(w) || w <= 0) throw new SivInputException(Invariant($"{at}.for = {w} must be above 0 seconds"));
            if (f.At + w > s.DurationSeconds)
                throw new SivInputException(Invariant($"{at}: at + for = {f.At + w} s ends after the run (durationSeconds = {s.DurationSeconds})"));
            length = w;
        }
        else NotFor(at, f.Kind, "for", f.For);

        Hop? hop = null;
        var probability = 0.0;
        var delay = 0.0;
        if (kind is FaultKind.Drop or FaultKind.Delay)
        {
            if (f.Hop is null) throw new SivInputException($"{at}: {f.Kind} needs \"hop\" (hops: {string.Join(", ", FaultNames.Hops.Keys)})");
            if (!FaultNames.Hops.TryGetValue(f.Hop, out var h))
                throw new SivInputException($"{at}.hop \"{f.Hop}\" is not a hop (hops: {string.Join(", ", FaultNames.Hops.Keys)})");
            hop = h;
            if (kind == FaultKind.Drop)
            {
                if (!DroppableHops.Contains(h))
                    throw new SivInputException($"{at}: drop on {f.Hop} cannot be scheduled yet: a lost descriptor or DMA message needs the driver's completion timeout (drop works on {string.Join(", ", DroppableHops.Select(FaultNames.Name))}; delay works on every hop)");
                if (f.Probability is not { } p) throw new SivInputException($"{at}: drop needs \"probability\" (the share of messages lost, 0..1)");
                if (double.IsNaN(p) || p is < 0 or > 1) throw new SivInputException(Invariant($"{at}.probability = {p} is out of range (0..1)"));
                probability = p;
                NotFor(at, f.Kind, "delayMs", f.DelayMs);
            }
            else
            {
                if (f.DelayMs is not { } d) throw new SivInputException($"{at}: delay needs \"delayMs\" (milliseconds added to each message)");
                if (double.IsNaN(d) || d is < 1 or > 10_000) throw new SivInputException(Invariant($"{at}.delayMs = {d} is out of range (1..10000)"));
                delay = d;
                NotFor(at, f.Kind, "probability", f.Probability);
            }
            NotFor(at, f.Kind, "target", f.Target);
        }
        else
        {
            NotFor(at, f.Kind, "hop", f.Hop);
            NotFor(at, f.Kind, "probability", f.Probability);
            NotFor(at, f.Kind, "delayMs", f.DelayMs);
        }

        FaultTarget? target = null;
        var random = 0;
        if (kind is FaultKind.KillActor or FaultKind.JournalFail or FaultKind.JournalStall or FaultKind.RogueStorm or FaultKind.StaleIec or FaultKind.SurpriseRemove
            or FaultKind.CrashNode or FaultKind.Partition or FaultKind.RestartNode)
        {
            if (f.Target is null) throw new SivInputException($"{at}: {f.Kind} needs \"target\" ({TargetHelp(kind)})");
            try
            {
                target = FaultTarget.Parse(f.Target);
            }
            catch (SivInputException e)
            {
                throw new SivInputException($"{at}.{e.Message}");
            }
            var allowed = kind switch
            {
                FaultKind.KillActor => Killable,
                FaultKind.RogueStorm => [TargetKind.Ai],
                FaultKind.StaleIec => [TargetKind.InterruptUnit],
                FaultKind.SurpriseRemove => [TargetKind.Device],
                FaultKind.CrashNode or FaultKind.Partition or FaultKind.RestartNode => [TargetKind.Node],
                _ => new HashSet<TargetKind> { TargetKind.InterruptUnit, TargetKind.Vdcm },
            };
            if (!allowed.Contains(target.Kind))
                throw new SivInputException($"{at}: {f.Kind} cannot target {FaultTarget.Name(target.Kind)} ({TargetHelp(kind)})");
            InTopology(s, at, target);
            if (target.IsWholeKind)
            {
                if (kind != FaultKind.KillActor || f.Random is null)
                    throw new SivInputException($"{at}.target \"{f.Target}\" names a kind, not an entity; {(kind == FaultKind.KillActor ? "add \"random\": n to pick n of them" : TargetHelp(kind))}");
                var count = Count(s, target.Kind);
                if (f.Random is < 1 || f.Random > count)
                    throw new SivInputException($"{at}.random = {f.Random} is out of range (1..{count}, the {FaultTarget.Name(target.Kind)} entities of the topology)");
                random = f.Random.Value;
            }
            else if (f.Random is not null)
                throw new SivInputException($"{at}: \"random\" picks entities of a kind; with the entity {f.Target} named, leave it out (or write \"target\": \"{FaultTarget.Name(target.Kind)}\")");
        }
        else NotFor(at, f.Kind, "random", f.Random);

        var burst = DefaultBurst;
        if (kind == FaultKind.RogueStorm)
        {
            if (f.Burst is { } b and (< 1 or > 1024)) throw new SivInputException($"{at}.burst = {b} is out of range (1..1024)");
            burst = f.Burst ?? DefaultBurst;
        }
        else NotFor(at, f.Kind, "burst", f.Burst);

        return new ScheduledFault(i, kind, f.At, length, target, random, hop, probability, delay, burst);
    }

    private static void NotFor(string at, string kind, string key, object? value)
    {
        if (value is not null) throw new SivInputException($"{at}.{key} does not apply to {kind}");
    }

    private static string TargetHelp(FaultKind kind) => kind switch
    {
        FaultKind.KillActor => "ai:H.D.A, device:H.D, interrupt-unit:H, dma-unit:H or vdcm:H; or a kind with \"random\": n",
        FaultKind.RogueStorm => "the AI that floods, ai:H.D.A",
        FaultKind.StaleIec => "the interrupt unit whose entry cache is invalidated late, interrupt-unit:H",
        FaultKind.SurpriseRemove => "the hosting function that disappears, device:H.D",
        FaultKind.CrashNode => "the worker whose process ends, node:N (N counts the run's workers from 0, ordered by address)",
        FaultKind.Partition => "the worker cut off from every other member, node:N (N counts the run's workers from 0, ordered by address)",
        FaultKind.RestartNode => "the crashed worker that comes back, node:N, as its crash-node named it",
        _ => "the table owner whose journal fails: interrupt-unit:H or vdcm:H",
    };

    private static int Count(Scenario s, TargetKind kind)
    {
        var t = s.Topology;
        return kind switch
        {
            TargetKind.Ai => t.Hosts * t.DevicesPerHost * s.FunctionsPerDevice,
            TargetKind.Device => t.Hosts * t.DevicesPerHost,
            TargetKind.Container => t.Containers,
            _ => t.Hosts,
        };
    }

    private static void InTopology(Scenario s, string at, FaultTarget target)
    {
        // The workers of a cluster run are known when it starts; the driver checks node:N then.
        if (target.IsWholeKind || target.Kind == TargetKind.Node) return;
        var t = s.Topology;
        var limits = target.Kind switch
        {
            TargetKind.Ai => new[] { ("host", t.Hosts), ("device", t.DevicesPerHost), (s.Sriov ? "VF" : "AI", s.FunctionsPerDevice) },
            TargetKind.Device => [("host", t.Hosts), ("device", t.DevicesPerHost)],
            TargetKind.Container => [("container", t.Containers)],
            _ => [("host", t.Hosts)],
        };
        for (var k = 0; k < limits.Length; k++)
            if (target.Index[k] >= limits[k].Item2)
                throw new SivInputException($"{at}.target {target}: the topology has no {limits[k].Item1} {target.Index[k]} (it has {limits[k].Item2}: 0..{limits[k].Item2 - 1})");
    }

    private static string Invariant(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);
}
