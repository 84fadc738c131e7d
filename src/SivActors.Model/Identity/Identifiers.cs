using System.Globalization;

namespace SivActors.Model.Identity;

/// <summary>Address space identifier: a 20-bit PCIe PASID (DSA descriptor bytes 0-3, bits 19:0).</summary>
public readonly record struct Asid
{
    public const int Bits = 20;
    public const uint MaxValue = (1u << Bits) - 1;

    public uint Value { get; }

    private Asid(uint value) => Value = value;

    public static Asid Create(long value) =>
        value is < 0 or > MaxValue
            ? throw new SivInputException($"ASID {value} is out of range: a PASID has 20 bits (0..{MaxValue})")
            : new Asid((uint)value);

    /// <summary>
    /// What a request without PASID carries here (an SR-IOV VF's DMA and every MSI): the DMA-remapping unit takes the
    /// PASID from the requester's context entry (RID_PASID, siov-reference §5.1). The ASID allocator starts at 1.
    /// </summary>
    public static Asid WithoutPasid => default;

    /// <summary>For values already known to fit (decoded from a 20-bit field).</summary>
    public static Asid FromMasked(uint value) => new(value & MaxValue);

    public override string ToString() => "0x" + Value.ToString("X5", CultureInfo.InvariantCulture);
}

/// <summary>Interrupt handle: 16 bits (remappable MSI Handle[15:0]; DSA Completion Interrupt Handle).</summary>
public readonly record struct InterruptHandle
{
    public const int MaxValue = ushort.MaxValue;

    public ushort Value { get; }

    private InterruptHandle(ushort value) => Value = value;

    public static InterruptHandle Create(long value) =>
        value is < 0 or > MaxValue
            ? throw new SivInputException($"interrupt handle {value} is out of range: handles have 16 bits (0..{MaxValue})")
            : new InterruptHandle((ushort)value);

    public static InterruptHandle FromRaw(ushort value) => new(value);

    public override string ToString() => Value.ToString(CultureInfo.InvariantCulture);
}

/// <summary>PCIe requester id: bus (8 bits), device (5 bits), function (3 bits).</summary>
public readonly record struct SourceId
{
    public ushort RequesterId { get; }

    private SourceId(ushort rid) => RequesterId = rid;

    public byte Bus => (byte)(RequesterId >> 8);
    public byte Device => (byte)((RequesterId >> 3) & 0x1F);
    public byte Function => (byte)(RequesterId & 0x7);

    public static SourceId Create(int bus, int device, int function)
    {
        if (bus is < 0 or > 255) throw new SivInputException($"source id bus {bus} is out of range (0..255)");
        if (device is < 0 or > 31) throw new SivInputException($"source id device {device} is out of range (0..31)");
        if (function is < 0 or > 7) throw new SivInputException($"source id function {function} is out of range (0..7)");
        return new SourceId((ushort)((bus << 8) | (device << 3) | function));
    }

    public static SourceId FromRequesterId(ushort rid) => new(rid);

    /// <summary>
    /// The most VFs a PF here may have: its VFs' routing ids follow its own (First VF Offset 1, VF Stride 1) on its
    /// bus, and the PFs sit at device 1 function 0 (routing id low byte 0x08), so 247 fit before the next bus.
    /// </summary>
    public const int MaxVfsPerFunction = 247;

    /// <summary>VF <paramref name="vf"/>'s routing id under the PF at this one (SR-IOV capability: offset 1, stride 1).</summary>
    public SourceId Vf(int vf)
    {
        if (vf < 0 || (RequesterId & 0xFF) + 1 + vf > 0xFF)
            throw new SivInputException($"VF {vf} of {this} would leave its bus (at most {0xFF - (RequesterId & 0xFF)} VFs)");
        return new SourceId((ushort)(RequesterId + 1 + vf));
    }

    /// <summary>Parses "bb:dd.f" in hex, the lspci form.</summary>
    public static SourceId Parse(string text)
    {
        var parts = text.Split(':', '.');
        if (parts.Length != 3
            || !int.TryParse(parts[0], NumberStyles.HexNumber, CultureInfo.InvariantCulture, out var b)
            || !int.TryParse(parts[1], NumberStyles.HexNumber, CultureInfo.InvariantCulture, out var d)
            || !int.TryParse(parts[2], NumberStyles.HexNumber, CultureInfo.InvariantCulture, out var f))
            throw new SivInputException($"source id \"{text}\" is not of the form bb:dd.f (hex)");
        return Create(b, d, f);
    }

    public override string ToString() =>
        string.Create(CultureInfo.InvariantCulture, $"{Bus:x2}:{Device:x2}.{Function:x1}");
}

/// <summary>An emulated server.</summary>
public readonly record struct HostId(int Value)
{
    public override string ToString() => "h" + Value.ToString(CultureInfo.InvariantCulture);
}

/// <summary>A hosting function (physical device) on a host.</summary>
public readonly record struct DeviceId(HostId Host, int Index)
{
    public override string ToString() => Host + "/d" + Index.ToString(CultureInfo.InvariantCulture);

    /// <summary>The device's PCIe function: bus 0x6a + host-local index, like DSA instances on separate buses.</summary>
    public SourceId SourceId => SourceId.Create(0x6A + Index % 0x80, 1, 0);
}

/// <summary>An assignable interface (one DSA work queue) of a device.</summary>
public readonly record struct AiId(DeviceId Device, int Index)
{
    public HostId Host => Device.Host;
    public override string ToString() => Device + "/wq" + Index.ToString(CultureInfo.InvariantCulture);
}

/// <summary>An application container (tenant). Numbered across the whole scenario.</summary>
public readonly record struct ContainerId(int Value)
{
    public override string ToString() => "c" + Value.ToString(CultureInfo.InvariantCulture);
}

/// <summary>A virtual device composed by a VDCM; one per container.</summary>
public readonly record struct VdevId(int Value)
{
    public override string ToString() => "v" + Value.ToString(CultureInfo.InvariantCulture);
}
