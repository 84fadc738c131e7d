using SivActors.Model.Identity;
using SivActors.Model.Interrupts;

namespace SivActors.Model.Workload;

/// <summary>What a rogue AI forges.</summary>
public enum RogueKind : byte
{
    WrongAsid,
    ForeignHandle,
    OutOfRangeHandle,
    DmaIntoInterruptWindow,
    DmaUnmapped,
    StaleHandleAfterReset,
}

/// <summary>What a rogue AI knows when it forges: its tenant's live entry, a table peer, and stale entries.</summary>
public readonly record struct ForgeryMaterial(
    SourceId Source,
    Asid OwnAsid,
    ushort OwnHandle,
    int TableSize,
    Asid? PeerAsid,
    ushort? PeerHandle,
    bool PeerSameSource,
    (Asid Asid, ushort Handle)? Stale,
    bool WithoutPasid = false);

/// <summary>
/// A forged upstream write and the fault reasons it must end in (never a delivery). A class, not a struct: every
/// upstream message carries an optional forgery, and a reference costs genuine traffic 8 bytes where an inline
/// nullable struct cost 56.
/// </summary>
public sealed record Forgery(RogueKind Kind, UpstreamWrite Write, ulong DmaLength, FaultReason Expected, FaultReason AlsoAccepted = FaultReason.None)
{
    public bool Accepts(FaultReason actual) => actual != FaultReason.None && (actual == Expected || actual == AlsoAccepted);
}

/// <summary>
/// Builds forgeries whose outcome follows from the construction (docs/decisions.md, "rogue traffic"):
/// <list type="bullet">
/// <item>wrong ASID: a table peer's ASID with the tenant's own live handle -> the entry's ASID differs (0xA1);
/// with no peer, the never-allocated ASID 0xFFFFF -> no ASID-table entry (0xA0).</item>
/// <item>another tenant's handle: own ASID with a peer's handle -> 0xA1 when the peer's entry names the same
/// requester id, else source-id verification fails first (0x26); 0x22 if the peer has reset meanwhile.</item>
/// <item>out-of-range handle: handle + subhandle >= table size -> 0x21.</item>
/// <item>DMA into the interrupt window -> 0x87; DMA to an unmapped address -> 0x05.</item>
/// <item>a handle revoked by a vdev reset -> the entry is not present (0x22).</item>
/// </list>
/// An SR-IOV VF sends no PASID (<see cref="ForgeryMaterial.WithoutPasid"/>): it has no ASID to forge, so there is
/// no wrong-ASID forgery, and its other forgeries go without PASID, as its genuine traffic does. A peer's handle then
/// names another VF's requester id, so source-id verification (0x26) blocks it.
/// </summary>
public static class RogueForger
{
    /// <summary>The ASID allocator never hands this out, so it is never in any ASID table.</summary>
    public static readonly Asid NeverBoundAsid = Asid.FromMasked(Asid.MaxValue);

    /// <summary>An IOVA no container maps (below the interrupt window, above every mapped region).</summary>
    public const ulong UnmappedAddress = 0x7_0000_0000;

    public static Forgery? Build(RogueKind kind, in ForgeryMaterial m)
    {
        var own = m.WithoutPasid ? Asid.WithoutPasid : m.OwnAsid;
        switch (kind)
        {
            case RogueKind.WrongAsid when m.WithoutPasid:
                return null;
            case RogueKind.WrongAsid:
                // With a peer the lookup reaches the rogue's own entry; if its own vdev reset freed that entry while the
                // forgery was in flight, the entry check (0x22) blocks it before the ASID check can.
                return m.PeerAsid is { } peer
                    ? new Forgery(kind, Interrupt(m.Source, peer, m.OwnHandle, 0, false), 0, FaultReason.AsidMismatch, FaultReason.IrteNotPresent)
                    : new Forgery(kind, Interrupt(m.Source, NeverBoundAsid, m.OwnHandle, 0, false), 0, FaultReason.AsidTableEntryNotPresent);
            case RogueKind.ForeignHandle:
                return m.PeerHandle is { } ph
                    ? new Forgery(kind, Interrupt(m.Source, own, ph, 0, false), 0,
                        m.PeerSameSource ? FaultReason.AsidMismatch : FaultReason.SourceIdVerificationFailed, FaultReason.IrteNotPresent)
                    : null;
            case RogueKind.OutOfRangeHandle:
            {
                // handle + subhandle lands at or beyond the table's end, whatever the table size (up to 65,536).
                var handle = (ushort)Math.Min(m.TableSize - 1, ushort.MaxValue);
                var sub = (ushort)Math.Max(1, m.TableSize - handle);
                return new Forgery(kind, Interrupt(m.Source, own, handle, sub, true), 0, FaultReason.InterruptIndexOutOfRange);
            }
            case RogueKind.DmaIntoInterruptWindow:
                return new Forgery(kind, UpstreamWrite.Dma(m.Source, own, InterruptWindow.First + 0x1000), 4, FaultReason.DmaOutputInInterruptRange);
            case RogueKind.DmaUnmapped:
                return new Forgery(kind, UpstreamWrite.Dma(m.Source, own, UnmappedAddress), 64, FaultReason.DmaNoWritePermission);
            case RogueKind.StaleHandleAfterReset:
                return m.Stale is { } stale
                    ? new Forgery(kind, Interrupt(m.Source, m.WithoutPasid ? Asid.WithoutPasid : stale.Asid, stale.Handle, 0, false), 0, FaultReason.IrteNotPresent)
                    : null;
            default:
                return null;
        }
    }

    private static UpstreamWrite Interrupt(SourceId source, Asid asid, ushort handle, ushort subHandle, bool shv) =>
        UpstreamWrite.Interrupt(source, asid, RemappableMsi.EncodeAddress(handle, shv), subHandle);
}
