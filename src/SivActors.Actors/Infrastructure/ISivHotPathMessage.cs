namespace SivActors.Actors.Infrastructure;

/// <summary>Marks a message on the fast path (portal writes, DMA, interrupts): bound to the compact binary serializer.</summary>
public interface ISivHotPathMessage;
