using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using SivActors.Model;
using SivActors.Model.Identity;
using SivActors.Model.Interrupts;
using SivActors.Model.Scenarios;

namespace SivActors.Cli;

/// <summary>`siv irq explain`: runs one upstream message through the same remapper the emulator uses. Format: docs/irq-explain.md.</summary>
public static class IrqExplain
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

    /// <summary>A posted-interrupt descriptor's state: in a document (before the post) and in the result (after it).</summary>
    public sealed record PostedDescriptorDto
    {
        /// <summary>Pending vectors: a list of numbers, or a 256-bit hex string (bit n is vector n).</summary>
        public JsonElement? Pir { get; init; }
        public bool On { get; init; }
        public bool Sn { get; init; }
        public long Ndst { get; init; }
        public int Nv { get; init; } = 0xF2;

        public PostedInterruptDescriptor ToDescriptor()
        {
            if (Nv is < 0 or > 255) throw new SivInputException($"postedDescriptor.nv {Nv} is out of range (0..255)");
            if (Ndst is < 0 or > uint.MaxValue) throw new SivInputException($"postedDescriptor.ndst {Ndst} does not fit in 32 bits");
            var pid = new PostedInterruptDescriptor
            {
                OutstandingNotification = On,
                SuppressNotification = Sn,
                NotificationVector = (byte)Nv,
                NotificationDestination = (uint)Ndst,
            };
            foreach (var v in PendingOf(Pir)) pid.SetPending(v);
            return pid;
        }

        public static PostedDescriptorDto Of(PostedInterruptDescriptor pid) => new()
        {
            Pir = JsonSerializer.SerializeToElement(pid.PendingVectors().Select(v => (int)v).ToArray()),
            On = pid.OutstandingNotification,
            Sn = pid.SuppressNotification,
            Ndst = pid.NotificationDestination,
            Nv = pid.NotificationVector,
        };

        private static IEnumerable<byte> PendingOf(JsonElement? pir)
        {
            if (pir is not { } e || e.ValueKind == JsonValueKind.Null) return [];
            if (e.ValueKind == JsonValueKind.Array)
                return e.EnumerateArray().Select(v => v.TryGetInt32(out var n) && n is >= 0 and <= 255
                    ? (byte)n
                    : throw new SivInputException($"postedDescriptor.pir: {v} is not a vector (0..255)")).ToList();
            if (e.ValueKind != JsonValueKind.String) throw new SivInputException("postedDescriptor.pir must be a list of vectors or a 256-bit hex string");
            var text = e.GetString()!;
            var hex = (text.StartsWith("0x", StringComparison.OrdinalIgnoreCase) ? text[2..] : text).Replace("_", "", StringComparison.Ordinal);
            if (hex.Length is 0 or > 64 || !hex.All(Uri.IsHexDigit))
                throw new SivInputException($"postedDescriptor.pir \"{text}\" is not a 256-bit hex string (up to 64 hex digits)");
            var vectors = new List<byte>();
            for (var i = 0; i < hex.Length; i++)
            {
                var nibble = Convert.ToInt32(hex[hex.Length - 1 - i].ToString(), 16);
                for (var b = 0; b < 4; b++)
                    if ((nibble & (1 << b)) != 0) vectors.Add((byte)(i * 4 + b));
            }
            return vectors;
        }
    }

    /// <summary>A PASID-table entry for the DMA path: the owner's mapped regions and their permissions.</summary>
    private sealed record PasidEntryDto
    {
        public long Pasid { get; init; }
        public int Owner { get; init; }
        public bool Fpd { get; init; }
        public List<RegionDto>? Regions { get; init; }

        public static PasidEntryDto Of(SivActors.Model.Dma.PasidBinding b) => new()
        {
            Pasid = b.Pasid.Value, Owner = b.Owner.Value, Fpd = b.FaultProcessingDisable,
            Regions = b.AddressSpace.Regions.Select(RegionDto.Of).ToList(),
        };

        public SivActors.Model.Dma.PasidBinding ToBinding() => new(SivActors.Model.Identity.Asid.Create(Pasid), new ContainerId(Owner),
            new SivActors.Model.Dma.AddressSpace((Regions ?? []).Select(r => r.ToRegion(Pasid))), Fpd);
    }

    private sealed record RegionDto
    {
        public string Name { get; init; } = "region";
        public string Base { get; init; } = "0x0";
        public string Length { get; init; } = "0x1000";
        public string Permissions { get; init; } = "rw";

        public static RegionDto Of(SivActors.Model.Dma.MappedRegion r) => new()
        {
            Name = r.Name, Base = $"0x{r.Base:X}", Length = $"0x{r.Length:X}",
            Permissions = r.Permissions switch
            {
                SivActors.Model.Dma.DmaPermissions.Read => "r",
                SivActors.Model.Dma.DmaPermissions.Write => "w",
                SivActors.Model.Dma.DmaPermissions.ReadWrite => "rw",
                _ => "none",
            },
        };

        public SivActors.Model.Dma.MappedRegion ToRegion(long pasid) => new(Name, ParseHex(Base, $"pasidTable[{pasid}].regions.base"),
            ParseHex(Length, $"pasidTable[{pasid}].regions.length"), Permissions switch
            {
                "r" => SivActors.Model.Dma.DmaPermissions.Read,
                "w" => SivActors.Model.Dma.DmaPermissions.Write,
                "rw" => SivActors.Model.Dma.DmaPermissions.ReadWrite,
                "" or "none" => SivActors.Model.Dma.DmaPermissions.None,
                _ => throw new SivInputException($"pasidTable entry {pasid}, region \"{Name}\": permissions \"{Permissions}\" is not r, w, rw or none"),
            });
    }

    private sealed record ExplainDocument
    {
        /// <summary>For a DMA write: the PASID table DMA remapping uses. Without it, only the interrupt-window check is made.</summary>
        public List<PasidEntryDto>? PasidTable { get; init; }

        /// <summary>The posted-interrupt descriptor a posted entry points at, as it is before this write.</summary>
        public PostedDescriptorDto? PostedDescriptor { get; init; }

        public RemappingDto? Remapping { get; init; }
        public List<AsidBindingDto>? AsidTable { get; init; }
        public List<TableDto>? InterruptTables { get; init; }
        public MessageDto? Message { get; init; }
    }

    private sealed record RemappingDto
    {
        public bool RemappingEnabled { get; init; } = true;
        public bool ExtendedInterruptMode { get; init; } = true;
        public bool CompatibilityFormatAllowed { get; init; }
        public bool PostingSupported { get; init; } = true;
        public bool AsidCheck { get; init; } = true;

        public static RemappingDto Of(RemappingSettings s) => new()
        {
            RemappingEnabled = s.RemappingEnabled,
            ExtendedInterruptMode = s.ExtendedInterruptMode,
            CompatibilityFormatAllowed = s.CompatibilityFormatAllowed,
            PostingSupported = s.PostingSupported,
            AsidCheck = s.AsidCheck,
        };

        public RemappingSettings ToSettings() => new()
        {
            RemappingEnabled = RemappingEnabled,
            ExtendedInterruptMode = ExtendedInterruptMode,
            CompatibilityFormatAllowed = CompatibilityFormatAllowed,
            PostingSupported = PostingSupported,
            AsidCheck = AsidCheck,
        };
    }

    private sealed record AsidBindingDto
    {
        public long Asid { get; init; }
        public int Table { get; init; }
    }

    private sealed record TableDto
    {
        public int Id { get; init; }
        public int SizeExponent { get; init; } = 15;
        public bool Readable { get; init; } = true;
        public List<EntryDto>? Entries { get; init; }
    }

    private sealed record EntryDto
    {
        public long Handle { get; init; }
        public bool Present { get; init; } = true;
        public bool Fpd { get; init; }
        public string Mode { get; init; } = "remapped";
        public int Vector { get; init; }
        public bool Urgent { get; init; }
        public long Destination { get; init; }
        public string? PostedDescriptorAddress { get; init; }
        public string? Sid { get; init; }
        public int Sq { get; init; }
        public int Svt { get; init; } = 1;
        public long Asid { get; init; }
        public int Target { get; init; }
        public bool ReservedBitsSet { get; init; }

        public static EntryDto Of(int handle, InterruptEntry e) => new()
        {
            Handle = handle, Present = e.Present, Fpd = e.FaultProcessingDisable, Mode = e.Mode == InterruptMode.Posted ? "posted" : "remapped",
            Vector = e.Vector, Urgent = e.Urgent, Destination = e.Destination, PostedDescriptorAddress = $"0x{e.PostedDescriptorAddress:X}",
            Sid = SourceId.FromRequesterId(e.Sid).ToString(), Sq = e.Sq, Svt = (int)e.Svt, Asid = e.Asid.Value, Target = e.Target.Value,
            ReservedBitsSet = e.ReservedBitsSet,
        };

        public InterruptEntry ToEntry(int table)
        {
            if (Vector is < 0 or > 255) throw new SivInputException($"interrupt table {table}, handle {Handle}: vector {Vector} is out of range (0..255)");
            if (Sq is < 0 or > 3) throw new SivInputException($"interrupt table {table}, handle {Handle}: sq {Sq} is out of range (0..3)");
            if (Svt is < 0 or > 3) throw new SivInputException($"interrupt table {table}, handle {Handle}: svt {Svt} is out of range (0..3)");
            var mode = Mode switch
            {
                "remapped" => InterruptMode.Remapped,
                "posted" => InterruptMode.Posted,
                _ => throw new SivInputException($"interrupt table {table}, handle {Handle}: mode \"{Mode}\" is not remapped or posted"),
            };
            return new InterruptEntry
            {
                Present = Present,
                FaultProcessingDisable = Fpd,
                Mode = mode,
                Vector = (byte)Vector,
                Urgent = Urgent,
                Destination = (uint)Destination,
                PostedDescriptorAddress = PostedDescriptorAddress is null ? (mode == InterruptMode.Posted ? 0x5000_0000ul : 0) : ParseHex(PostedDescriptorAddress, "postedDescriptorAddress"),
                Sid = Sid is null ? (ushort)0 : SourceId.Parse(Sid).RequesterId,
                Sq = (byte)Sq,
                Svt = (SourceValidation)Svt,
                Asid = SivActors.Model.Identity.Asid.Create(Asid),
                Target = new ContainerId(Target),
                ReservedBitsSet = ReservedBitsSet,
            };
        }
    }

    private sealed record MessageDto
    {
        public string? Source { get; init; }
        public long Asid { get; init; }
        public string Kind { get; init; } = "interrupt";
        public long? Handle { get; init; }
        public long SubHandle { get; init; }
        public bool Shv { get; init; }
        public string? Address { get; init; }
        public string? Data { get; init; }
        /// <summary>DMA only: bytes the access covers (default 64) and whether it reads or writes (default write).</summary>
        public long? Length { get; init; }
        public string Access { get; init; } = "write";

        public UpstreamWrite ToWrite()
        {
            var source = Source is null ? SourceId.FromRequesterId(0) : SourceId.Parse(Source);
            var asid = SivActors.Model.Identity.Asid.Create(Asid);
            var kind = Kind switch
            {
                "interrupt" => UpstreamKind.Interrupt,
                "dma" => UpstreamKind.Dma,
                _ => throw new SivInputException($"message.kind \"{Kind}\" is not interrupt or dma"),
            };
            if (Handle is { } h)
            {
                var handle = InterruptHandle.Create(h);
                if (SubHandle is < 0 or > 0xFFFF) throw new SivInputException($"message.subHandle {SubHandle} is out of range (0..65535)");
                return new UpstreamWrite(source, asid, kind, RemappableMsi.EncodeAddress(handle.Value, Shv), (uint)SubHandle);
            }
            if (Address is null) throw new SivInputException("message needs either \"handle\" or \"address\"");
            var data = Data is null ? 0 : ParseHex(Data, "message.data");
            if (data > uint.MaxValue) throw new SivInputException($"message.data {Data} does not fit in 32 bits");
            return new UpstreamWrite(source, asid, kind, ParseHex(Address, "message.address"), (uint)data);
        }
    }

    private static ulong ParseHex(string text, string what)
    {
        var t = text.StartsWith("0x", StringComparison.OrdinalIgnoreCase) ? text[2..] : text;
        t = t.Replace("_", "", StringComparison.Ordinal);
        return ulong.TryParse(t, NumberStyles.HexNumber, CultureInfo.InvariantCulture, out var v)
            ? v
            : throw new SivInputException($"{what} \"{text}\" is not a hex number");
    }
}
