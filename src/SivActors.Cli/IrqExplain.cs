using System.Text.Json.Serialization;
using System.Text.Json;
using SivActors.Model.Identity;
using SivActors.Model.Interrupts;
using SivActors.Model.Scenarios;
using SivActors.Model;

namespace SivActors.Cli;

/// <summary>`siv irq explain`: runs one upstream message through the same remapper the emulator uses. Format: docs/irq-explain.md.</summary>
public static partial class IrqExplain
{
    // The report's settings, except that fields which do not apply to the outcome are left out.
    private static readonly JsonSerializerOptions Output = new(RunCommand.ReportJson)
    {
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };

    public static string Explain(string json, string origin)
    {
        var doc = ScenarioLoader.Parse<ExplainDocument>(json, origin);
        var settings = doc.Remapping?.ToSettings() ?? new RemappingSettings();
        var asids = new AsidTable();
        foreach (var t in doc.InterruptTables ?? [])
        {
            var table = asids.GetOrCreateTable(t.Id, t.SizeExponent);
            table.Readable = t.Readable;
            foreach (var e in t.Entries ?? []) table.Set((int)InterruptHandle.Create(e.Handle).Value, e.ToEntry(t.Id));
        }
        foreach (var binding in doc.AsidTable ?? [])
        {
            if (!asids.Tables.TryGetValue(binding.Table, out var table))
                throw new SivInputException($"{origin}: asidTable entry for ASID {binding.Asid} points at interrupt table {binding.Table}, which is not defined");
            asids.Bind(Asid.Create(binding.Asid), table);
        }
        var m = doc.Message ?? throw new SivInputException($"{origin}: \"message\" is missing");
        var write = m.ToWrite();
        var trail = new List<TrailStep>();
        ExplainResult result;
        if (write.Kind == UpstreamKind.Dma && doc.PasidTable is { } pasids)
        {
            // The DMA path with its PASID table: every check DMA remapping makes, in order.
            var table = new SivActors.Model.Dma.PasidTable();
            foreach (var p in pasids) table.Bind(p.ToBinding());
            var length = m.Length ?? 64;
            if (length is < 1 or > 1 << 30) throw new SivInputException($"message.length {length} is out of range (1..2^30 bytes)");
            var isWrite = m.Access switch
            {
                "write" => true,
                "read" => false,
                _ => throw new SivInputException($"message.access \"{m.Access}\" is not read or write"),
            };
            var d = SivActors.Model.Dma.DmaRemapper.Check(table, write.Asid, write.Address, (ulong)length, isWrite, trail);
            result = new ExplainResult(d.IsFault ? "blocked" : "dma", d.IsFault ? FaultReasons.Hex(d.Fault) : null, d.IsFault ? FaultReasons.Describe(d.Fault) : null,
                d.IsFault ? !(d.Binding?.FaultProcessingDisable ?? false) : null, null, d.IsFault ? null : d.Binding?.Owner.Value, null, trail);
        }
        else if (write.Kind == UpstreamKind.Dma)
        {
            // A DMA-flagged write is never an interrupt, whatever its address.
            var inWindow = InterruptWindow.Contains(write.Address);
            trail.Add(new TrailStep("flag", true, "DMA-flagged write: handled by DMA remapping, never by the interrupt unit"));
            if (inWindow) trail.Add(new TrailStep("interrupt-window", false,
                $"address 0x{write.Address:X} is in 0xFEE0_0000-0xFEEF_FFFF -> fault {FaultReasons.Hex(FaultReason.DmaOutputInInterruptRange)}"));
            result = new ExplainResult(inWindow ? "blocked" : "dma", inWindow ? FaultReasons.Hex(FaultReason.DmaOutputInInterruptRange) : null,
                inWindow ? FaultReasons.Describe(FaultReason.DmaOutputInInterruptRange) : null, inWindow, null, null, null, trail);
        }
        else
        {
            var d = InterruptRemapper.Process(settings, asids, write, trail);
            var outcome = d.Outcome switch
            {
                InterruptOutcome.Delivered => "delivered",
                InterruptOutcome.Posted => "posted",
                InterruptOutcome.Blocked => "blocked",
                _ => "passedThrough",
            };
            result = new ExplainResult(outcome, d.IsFault ? FaultReasons.Hex(d.Fault) : null, d.IsFault ? FaultReasons.Describe(d.Fault) : null,
                d.IsFault ? d.Recordable : null, d.Index >= 0 ? d.Index : null,
                d.IsFault ? null : d.Entry?.Target.Value, d.IsFault ? null : d.Entry?.Vector, trail);
            if (d.Outcome == InterruptOutcome.Posted && doc.PostedDescriptor is { } given && d.Entry is { } entry)
            {
                // The posting steps on the descriptor the entry points at, as the container's descriptor would take them.
                var pid = given.ToDescriptor();
                var post = pid.Post(entry.Vector, entry.Urgent);
                trail.Add(new TrailStep("posting", true, PostingText(entry, given, post, pid)));
                result = result with { Notify = post.Notified(), Coalesced = post.Coalesced(), DescriptorAfter = PostedDescriptorDto.Of(pid) };
            }
        }
        return JsonSerializer.Serialize(result, Output);
    }

    /// <summary>
    /// A recorded fault as a report sample: its `siv explain` document holds the settings, the ASID's binding, the
    /// table with the entry as the unit used it, and the raw write, so explaining it gives the same fault.
    /// </summary>
    public static SivActors.Model.Reporting.FaultLogSample Sample(IFaultReplay replay, RemappingSettings settings) => replay switch
    {
        FaultReplay r => Sample(r, settings),
        DmaFaultReplay d => Sample(d),
        _ => throw new ArgumentOutOfRangeException(nameof(replay), replay.GetType().Name, "not a fault replay"),
    };

    /// <summary>
    /// A DMA fault as a report sample: its `siv explain` document holds the PASID-table entry as DMA remapping read
    /// it (none when it was not present) and the access, so explaining it makes the same checks in the same order.
    /// </summary>
    public static SivActors.Model.Reporting.FaultLogSample Sample(DmaFaultReplay r)
    {
        var doc = new ExplainDocument
        {
            PasidTable = r.Binding is { } b ? [PasidEntryDto.Of(b)] : [],
            Message = new MessageDto
            {
                Source = r.Source.ToString(), Asid = r.Pasid.Value, Kind = "dma", Address = $"0x{r.Address:X}", Length = (long)r.Length,
                Access = r.IsWrite ? "write" : "read",
            },
        };
        return new SivActors.Model.Reporting.FaultLogSample(FaultReasons.Hex(r.Fault), FaultReasons.Describe(r.Fault), r.Source.ToString(), r.Pasid.ToString(),
            null, JsonSerializer.SerializeToNode(doc, DocumentJson)!.AsObject());
    }

    public static SivActors.Model.Reporting.FaultLogSample Sample(FaultReplay r, RemappingSettings settings)
    {
        var w = r.Write;
        // Written with the very records `siv explain` reads, so the sample and the reader cannot drift apart.
        var doc = new ExplainDocument
        {
            Remapping = RemappingDto.Of(settings),
            AsidTable = r.TableId is { } bound ? [new AsidBindingDto { Asid = w.Asid.Value, Table = bound }] : null,
            InterruptTables = r.TableId is { } id
                ? [new TableDto { Id = id, SizeExponent = r.TableSizeExponent, Readable = r.TableReadable, Entries = r.Entry is { } e && r.Index >= 0 ? [EntryDto.Of(r.Index, e)] : [] }]
                : null,
            Message = new MessageDto
            {
                Source = w.Source.ToString(), Asid = w.Asid.Value, Kind = w.Kind == UpstreamKind.Dma ? "dma" : "interrupt",
                Address = $"0x{w.Address:X}", Data = $"0x{w.Data:X}",
            },
        };
        return new SivActors.Model.Reporting.FaultLogSample(FaultReasons.Hex(r.Fault), FaultReasons.Describe(r.Fault), w.Source.ToString(), w.Asid.ToString(),
            r.Index >= 0 ? r.Index : null, JsonSerializer.SerializeToNode(doc, DocumentJson)!.AsObject());
    }

    private static readonly JsonSerializerOptions DocumentJson = new(ScenarioLoader.StrictJson)
    {
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };

    public sealed record ExplainResult(string Outcome, string? FaultCode, string? FaultReason, bool? Recorded, int? Index, int? Target, byte? Vector, List<TrailStep> Trail)
    {
        /// <summary>Posted, with a descriptor given: whether the post sent a notification event.</summary>
        public bool? Notify { get; init; }

        /// <summary>Posted, with a descriptor given: whether the vector's PIR bit was already pending.</summary>
        public bool? Coalesced { get; init; }

        public PostedDescriptorDto? DescriptorAfter { get; init; }
    }

    private static string PostingText(InterruptEntry entry, PostedDescriptorDto before, PostResult post, PostedInterruptDescriptor after)
    {
        var bit = post.Coalesced() ? $"PIR bit 0x{entry.Vector:X2} was already set (coalesced)" : $"PIR bit 0x{entry.Vector:X2} set";
        var state = $"ON={(before.On ? 1 : 0)}, SN={(before.Sn ? 1 : 0)}, URG={(entry.Urgent ? 1 : 0)}";
        var decision = post.Notified()
            ? $"ON set; notification vector 0x{after.NotificationVector:X2} sent to NDST 0x{after.NotificationDestination:X}"
            : before.On ? "no notification: one is outstanding (ON=1)" : "no notification: suppressed (SN=1, not urgent)";
        return $"{bit}; {state} -> {decision}";
    }
}
