using SivActors.Model.Interrupts;

namespace SivActors.Model.Device;

/// <summary>One 16-byte IMS entry (siov-reference §6.6): message address/data, PASID, PASID Enable, Ignore, Pending, Mask.</summary>
public readonly record struct ImsEntry(ulong Address, uint Data, uint Pasid, bool PasidEnable, bool Ignore, bool Mask, bool Pending = false);

public enum CompletionInterruptAction : byte
{
    None,
    Fire,
    /// <summary>Masked: Pending set, fires on unmask.</summary>
    Deferred,
}

/// <summary>
/// The IMS entries an AI uses, indexed by the Completion Interrupt Handle. Writes whose address lacks 0xFEE in
/// bits 31:20 (with the upper 32 bits zero) are ignored, as on DSA.
/// </summary>
public sealed class ImsTable
{
    private readonly Dictionary<ushort, ImsEntry> _entries = new();

    public int Count => _entries.Count;
    public IEnumerable<KeyValuePair<ushort, ImsEntry>> Entries => _entries;

    public bool Write(ushort index, ImsEntry entry)
    {
        if ((entry.Address >> 20) != 0xFEE) return false;
        _entries[index] = entry with { Pending = _entries.TryGetValue(index, out var old) && old.Pending };
        return true;
    }

    public bool Revoke(ushort index) => _entries.Remove(index);

    /// <summary>Every entry gone at once (the function was removed).</summary>
    public void Clear() => _entries.Clear();

    public ImsEntry? Get(ushort index) => _entries.TryGetValue(index, out var e) ? e : null;

    /// <summary>
    /// The device-side twin of the patent's check, done before execution: the handle must name a live entry whose
    /// PASID Enable equals the WQ's and whose PASID equals the descriptor's; else status 0x19 and no interrupt.
    /// </summary>
    public OperationStatus CheckHandle(ushort handle, uint descriptorPasid, bool wqPasidEnable)
    {
        if (!_entries.TryGetValue(handle, out var e)) return OperationStatus.InvalidCompletionInterruptHandle;
        if (e.PasidEnable != wqPasidEnable) return OperationStatus.InvalidCompletionInterruptHandle;
        if (e.PasidEnable && e.Pasid != descriptorPasid) return OperationStatus.InvalidCompletionInterruptHandle;
        return OperationStatus.Success;
    }

    /// <summary>Evaluated at completion: Ignore drops, Mask sets Pending, otherwise the interrupt fires.</summary>
    public CompletionInterruptAction OnCompletion(ushort handle)
    {
        if (!_entries.TryGetValue(handle, out var e) || e.Ignore) return CompletionInterruptAction.None;
        if (e.Mask)
        {
            _entries[handle] = e with { Pending = true };
            return CompletionInterruptAction.Deferred;
        }
        return CompletionInterruptAction.Fire;
    }

    /// <summary>Changes Mask; returns true when an unmask finds Pending set, so the deferred interrupt fires now.</summary>
    public bool SetMask(ushort handle, bool mask)
    {
        if (!_entries.TryGetValue(handle, out var e)) return false;
        var fire = !mask && e.Pending;
        _entries[handle] = e with { Mask = mask, Pending = !fire && e.Pending };
        return fire;
    }

    public static bool IsValidMessageAddress(ulong address) => (address >> 20) == 0xFEE && InterruptWindow.Contains(address);
}
