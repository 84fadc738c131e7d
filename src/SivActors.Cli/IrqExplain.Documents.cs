using System.Globalization;
using System.Text.Json;
using SivActors.Model.Identity;
using SivActors.Model.Interrupts;
using SivActors.Model;

namespace SivActors.Cli;

/// <summary>The JSON documents `siv explain` reads: the message, the tables it is decided against, a posted descriptor.</summary>
public static partial class IrqExplain
{
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
