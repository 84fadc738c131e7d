using SivActors.Model.Device;
using SivActors.Model.Identity;
using SivActors.Model.Interrupts;
using Ai = SivActors.Actors.AssignableInterface.AssignableInterfaceProtocol;
using C = SivActors.Actors.Container.ContainerProtocol;
using D = SivActors.Actors.DmaRemapping.DmaRemappingProtocol;
using Iu = SivActors.Actors.InterruptUnit.InterruptUnitProtocol;

namespace SivActors.Bench;

/// <summary>
/// What each object of one fast-path operation (a 64-byte move with its completion interrupt) allocates, measured on
/// this runtime: the per-type half of `fastpath`'s bytes per operation, without a profiler.
/// </summary>
public static class MessageSizes
{
    public static int Run(TextWriter output)
    {
        var host = new HostId(0);
        var ai = new AiId(new DeviceId(host, 1), 2);
        var container = new ContainerId(3);
        var descriptor = new Descriptor(0x42, false, DescriptorFlags.RequestCompletionInterrupt, DsaOpcode.MemoryMove, 0x3000_0000, 0x1000_0000, 0x2000_0000, 64, 1);
        var data = new byte[64];
        var burst = new D.DmaWrite(host, ai, ai.Device.SourceId, Asid.Create(0x42), descriptor.Destination, data,
            descriptor.CompletionRecordAddress, new CompletionRecord(OperationStatus.Success, 0, 64), 1, null);
        var raise = new Iu.RaiseInterrupt(host, ai, UpstreamWrite.Interrupt(ai.Device.SourceId, Asid.Create(0x42), 0xFEE0_0000, 0), 1, null);
        (string Name, Func<object> New)[] steps =
        [
            ("PortalWrite (container -> AI)", () => new Ai.PortalWrite(ai, container, descriptor, PortalKind.Limited, PortalWriteType.Posted, 1, 1)),
            ("DmaRead (AI -> DMA remapping)", () => new D.DmaRead(host, 1, ai, ai.Device.SourceId, Asid.Create(0x42), descriptor.Source, 64, 0, 0, 1)),
            ("byte[64] (the data read)", () => new byte[64]),
            ("MemoryReadData (DMA remapping -> AI)", () => new Ai.MemoryReadData(ai, 1, data, null, 1)),
            ("DmaWrite (AI -> DMA remapping)", () => burst with { ModeledNs = 2 }),
            ("MemoryWrite (DMA remapping -> container)", () => new C.MemoryWrite(container, host, burst, 1)),
            ("RaiseInterrupt (AI -> interrupt unit)", () => raise with { ModeledNs = 2 }),
            ("InterruptDelivered (interrupt unit -> container)", () => new C.InterruptDelivered(container, host, 0x41, raise, 1, true, false, 1)),
        ];
        long total = 0;
        foreach (var (name, create) in steps)
        {
            var bytes = Allocated(create);
            total += bytes;
            output.WriteLine($"  {name,-50} {bytes,5} B");
        }
        output.WriteLine($"messages total={total} (one 64-byte move with its interrupt; fastpath's alloc adds what the run does besides)");
        return 0;
    }

    private static long Allocated(Func<object> create)
    {
        GC.KeepAlive(create()); // JIT and statics first
        var before = GC.GetAllocatedBytesForCurrentThread();
        var made = create();
        var after = GC.GetAllocatedBytesForCurrentThread();
        GC.KeepAlive(made);
        return after - before;
    }
}
