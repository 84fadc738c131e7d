using System.Buffers.Binary;
using SivActors.Model.Identity;

namespace SivActors.Model.Vdcm;

/// <summary>A virtual MSI-X table entry and what backs it: an interrupt-table entry and an IMS entry on one AI.</summary>
public sealed record VirtualMsixEntry(ulong Address, uint Data, bool Masked)
{
    /// <summary>Which AI of the vdev raises this vector (its position in the composition); -1 for entry 0 (VDCM-injected).</summary>
    public int AiSlot { get; init; } = -1;
    /// <summary>Interrupt-table handle allocated for the entry, when programmed.</summary>
    public int? InterruptHandle { get; init; }
    /// <summary>IMS index written with that handle (the guest's Completion Interrupt Handle).</summary>
    public ushort? ImsIndex { get; init; }

    /// <summary>The guest vector in MSI data bits 7:0.</summary>
    public byte Vector => (byte)Data;
}

/// <summary>
/// The VDCM's software model of one virtual device: emulated config space, a BAR0 shadow of the control registers
/// and the virtual MSI-X table. Reads have no side effects; only the VDCM mutates it.
/// </summary>
public sealed class VirtualDevice
{
    public const ushort IntelVendorId = 0x8086;
    public const ushort DsaDeviceId = 0x0B25;
    private const int Bar0ShadowBytes = 0x200;

    private readonly byte[] _config = new byte[VirtualLayout.ConfigSpaceSize];
    private readonly byte[] _bar0 = new byte[Bar0ShadowBytes];
    private readonly VirtualMsixEntry[] _msix;
    private readonly AiId[] _ais;

    public VirtualDevice(VdevId id, ContainerId owner, Asid asid, IReadOnlyList<AiId> ais)
    {
        if (ais.Count is < 1 or > VirtualLayout.MsixTableBytes / VirtualLayout.MsixEntryBytes - 1)
            throw new SivInputException($"a vdev needs 1..8 AIs (one virtual MSI-X vector each besides entry 0); got {ais.Count}");
        Id = id;
        Owner = owner;
        Asid = asid;
        _ais = ais.ToArray();
        _msix = new VirtualMsixEntry[ais.Count + 1];
        Reset();
    }

    public VdevId Id { get; }
    public ContainerId Owner { get; }
    public Asid Asid { get; }
    public IReadOnlyList<AiId> Ais => _ais;
    public int Generation { get; private set; }
    public IReadOnlyList<VirtualMsixEntry> Msix => _msix;

    /// <summary>FLR: config space back to power-on values, MSI-X entries masked and unprogrammed.</summary>
    public void Reset()
    {
        Array.Clear(_config);
        BinaryPrimitives.WriteUInt16LittleEndian(_config, IntelVendorId);
        BinaryPrimitives.WriteUInt16LittleEndian(_config.AsSpan(2), DsaDeviceId);
        _config[0x0E] = 0x00; // header type 0
        _config[0x34] = VirtualLayout.PcieCapability; // capabilities pointer
        _config[VirtualLayout.PcieCapability] = 0x10; // PCI Express capability id
        Array.Clear(_bar0);
        BinaryPrimitives.WriteUInt32LittleEndian(_bar0.AsSpan(0x90), 1); // GENSTS: enabled
        for (var i = 0; i < _msix.Length; i++)
            _msix[i] = new VirtualMsixEntry(0, 0, Masked: true) { AiSlot = i - 1 };
        Generation++;
    }

    public uint ReadConfig(int offset) => ReadDword(_config, offset, "config space");

    public void WriteConfig(int offset, uint value)
    {
        if (offset == VirtualLayout.DeviceControl) value &= ~VirtualLayout.InitiateFlr; // FLR bit reads as 0
        if (offset is < 4 || offset == 0x08 || offset == 0x0C) return; // ids, class and header type are read-only
        CheckDword(_config, offset, "config space");
        BinaryPrimitives.WriteUInt32LittleEndian(_config.AsSpan(offset), value);
    }

    public uint ReadBar0(int offset)
    {
        if (VirtualLayout.IsMsixTable(offset))
        {
            var (entry, field) = MsixSlot(offset);
            var e = _msix[entry];
            return field switch { 0 => (uint)e.Address, 4 => (uint)(e.Address >> 32), 8 => e.Data, _ => e.Masked ? 1u : 0u };
        }
        if (offset >= 0 && offset + 4 <= _bar0.Length) return ReadDword(_bar0, offset, "BAR0");
        if (offset is >= 0 and < VirtualLayout.Bar0Size) return 0; // unimplemented registers read as zero
        throw new SivInputException($"BAR0 offset 0x{offset:X} is beyond the 0x{VirtualLayout.Bar0Size:X}-byte BAR");
    }

    public void WriteBar0(int offset, uint value)
    {
        if (offset is < 0 or >= VirtualLayout.Bar0Size)
            throw new SivInputException($"BAR0 offset 0x{offset:X} is beyond the 0x{VirtualLayout.Bar0Size:X}-byte BAR");
        if (offset == VirtualLayout.IntCause && offset + 4 <= _bar0.Length)
        {
            // INTCAUSE is RW1C.
            var old = BinaryPrimitives.ReadUInt32LittleEndian(_bar0.AsSpan(offset));
            BinaryPrimitives.WriteUInt32LittleEndian(_bar0.AsSpan(offset), old & ~value);
            return;
        }
        if (offset + 4 <= _bar0.Length) BinaryPrimitives.WriteUInt32LittleEndian(_bar0.AsSpan(offset), value);
    }

    /// <summary>
    /// Slot <paramref name="slot"/> is served by <paramref name="ai"/> from now on (its AI's device was removed). The
    /// slot's MSI-X entry keeps its vector and mask but loses its backing: the interrupt handle and IMS index belonged
    /// to the old AI, so the entry is programmed again before it can fire.
    /// </summary>
    public void ReplaceAi(int slot, AiId ai)
    {
        if ((uint)slot >= (uint)_ais.Length) throw new InvalidOperationException($"vdev {Id} has no AI slot {slot}");
        _ais[slot] = ai;
        for (var i = 0; i < _msix.Length; i++)
            if (_msix[i].AiSlot == slot) _msix[i] = _msix[i] with { InterruptHandle = null, ImsIndex = null };
    }

    public void SetMsix(int entry, VirtualMsixEntry value)
    {
        if ((uint)entry >= (uint)_msix.Length)
            throw new SivInputException($"virtual MSI-X entry {entry} does not exist (this vdev has {_msix.Length})");
        _msix[entry] = value;
    }

    public static (int Entry, int Field) MsixSlot(int offset) =>
        ((offset - VirtualLayout.MsixTable) / VirtualLayout.MsixEntryBytes, (offset - VirtualLayout.MsixTable) % VirtualLayout.MsixEntryBytes & ~3);

    private static uint ReadDword(byte[] space, int offset, string what)
    {
        CheckDword(space, offset, what);
        return BinaryPrimitives.ReadUInt32LittleEndian(space.AsSpan(offset));
    }

    private static void CheckDword(byte[] space, int offset, string what)
    {
        if (offset < 0 || (offset & 3) != 0 || offset + 4 > space.Length)
            throw new SivInputException($"{what} offset 0x{offset:X} is not an aligned dword inside 0x{space.Length:X} bytes");
    }
}
