using SivActors.Actors.Hosting;

namespace SivActors.Actors.Wire;

/// <summary>
/// Every message that may cross nodes: bound to the compact binary <see cref="Wire.WireSerializer"/>, so the default
/// JSON serializer never sees one. Messages an actor only sends to itself are not marked (and are exempt from
/// serialization checks instead).
/// </summary>
public interface ISivMessage;

/// <summary>Marks a message on the fast path (portal writes, DMA, interrupts).</summary>
public interface ISivHotPathMessage : ISivMessage;
