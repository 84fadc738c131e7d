using Akka.Actor;
using Akka.Serialization;
using SivActors.Model.Tables;

namespace SivActors.Actors.Persistence;

/// <summary>
/// Binary serializer for every persisted table event and snapshot. Manifests are short, stable strings that never
/// change meaning; the payload is the model's versioned codec, so a reader refuses formats it does not know.
/// </summary>
public sealed class TableSerializer(ExtendedActorSystem system) : SerializerWithStringManifest(system)
{
    public const int Id = 7301;

    public const string AsidBoundManifest = "iu-asid-bound";
    public const string EntryWrittenManifest = "iu-entry-written";
    public const string EntryFreedManifest = "iu-entry-freed";
    public const string InterruptUnitSnapshotManifest = "iu-snapshot";
    public const string VdevComposedManifest = "vdcm-vdev-composed";
    public const string MsixEntrySetManifest = "vdcm-msix-set";
    public const string VdevResetManifest = "vdcm-vdev-reset";
    public const string DeviceRemovedManifest = "vdcm-device-removed";
    public const string VdevRecomposedManifest = "vdcm-vdev-recomposed";
    public const string VdevTornDownManifest = "vdcm-vdev-torn-down";
    public const string VdcmSnapshotManifest = "vdcm-snapshot";
    public const string TopologyManifest = "run-topology";

    public override int Identifier => Id;

    /// <summary>The types this serializer is bound to (base types cover their sealed subtypes).</summary>
    public static readonly Type[] BoundTypes = [typeof(InterruptUnitEvent), typeof(InterruptUnitSnapshot), typeof(VdcmEvent), typeof(VdcmSnapshot), typeof(TopologyRecorded)];

    public override string Manifest(object o) => o switch
    {
        AsidBound => AsidBoundManifest,
        EntryWritten => EntryWrittenManifest,
        EntryFreed => EntryFreedManifest,
        InterruptUnitSnapshot => InterruptUnitSnapshotManifest,
        VdevComposed => VdevComposedManifest,
        MsixEntrySet => MsixEntrySetManifest,
        VdevReset => VdevResetManifest,
        DeviceRemoved => DeviceRemovedManifest,
        VdevRecomposed => VdevRecomposedManifest,
        VdevTornDown => VdevTornDownManifest,
        VdcmSnapshot => VdcmSnapshotManifest,
        TopologyRecorded => TopologyManifest,
        _ => throw new ArgumentException($"{o.GetType().Name} is not a table event or snapshot", nameof(o)),
    };

    public override byte[] ToBinary(object obj) => obj switch
    {
        InterruptUnitEvent e => TableCodec.Encode(e),
        InterruptUnitSnapshot s => s.Payload,
        VdcmEvent e => VdcmCodec.Encode(e),
        VdcmSnapshot s => s.Payload,
        TopologyRecorded t => t.Encode(),
        _ => throw new ArgumentException($"{obj.GetType().Name} is not a table event or snapshot", nameof(obj)),
    };

    public override object FromBinary(byte[] bytes, string manifest)
    {
        object result = manifest switch
        {
            AsidBoundManifest or EntryWrittenManifest or EntryFreedManifest => TableCodec.DecodeEvent(bytes),
            InterruptUnitSnapshotManifest => new InterruptUnitSnapshot(bytes),
            VdevComposedManifest or MsixEntrySetManifest or VdevResetManifest or DeviceRemovedManifest or VdevRecomposedManifest
                or VdevTornDownManifest => VdcmCodec.DecodeEvent(bytes),
            VdcmSnapshotManifest => new VdcmSnapshot(bytes),
            TopologyManifest => TopologyRecorded.Decode(bytes),
            _ => throw new System.Runtime.Serialization.SerializationException($"unknown table manifest \"{manifest}\""),
        };
        if (Manifest(result) != manifest)
            throw new System.Runtime.Serialization.SerializationException($"payload decodes to {result.GetType().Name}, not the \"{manifest}\" its manifest names");
        return result;
    }
}
