using Akka.Actor;
using SivActors.Actors.Container;
using SivActors.Actors.Entities;
using SivActors.Actors.Hosting;
using SivActors.Actors.InterruptUnit;
using SivActors.Model.Device;
using SivActors.Model.Dma;
using SivActors.Model.Identity;
using static SivActors.Actors.DmaRemapping.DmaRemappingProtocol;

namespace SivActors.Actors.DmaRemapping;

/// <summary>
/// The DMA-remapping unit of one host: checks every DMA against the PASID table with <see cref="DmaRemapper"/> and
/// passes what is allowed to the owning container's memory. A DMA write into the interrupt window is a fault here,
/// never an interrupt.
/// </summary>
public sealed class DmaRemappingActor : EntityActor
{
    private readonly EmulatorContext _ctx;
    private readonly PasidTable _pasids = new();

    public DmaRemappingActor(EmulatorContext ctx, HostId host) : base(ctx, EntityAddress.DmaRemapping(host), host)
    {
        _ctx = ctx;
    }

    protected override bool Configure(object message)
    {
        if (message is not BindPasid m) return false;
        _pasids.Bind(new PasidBinding(m.Pasid, m.Owner, new AddressSpace(m.Regions)));
        // An SR-IOV VF: its context entry points its requests without PASID at the tenant's address space.
        if (m.Requester is { } vf) _pasids.BindRequester(vf, m.Pasid);
        return true;
    }

    protected override bool Handle(object message)
    {
        switch (message)
        {
            case DmaRead m:
                Read(m);
                return true;
            case DmaWrite m:
                Write(m);
                return true;
            case FlushFrom m:
                m.ReplyTo.Tell(new InterruptUnitProtocol.UpstreamFlushed(m.Ai, EntityKind.DmaRemapping));
                return true;
            default:
                return false;
        }
    }

    private void Read(DmaRead m)
    {
        var metrics = _ctx.Metrics;
        var ranges = m.Length2 > 0 ? 2 : 1;
        metrics.DmaIssued(ranges);
        var first = DmaRemapper.Check(_pasids, m.Source, m.Pasid, m.Address, (ulong)m.Length, isWrite: false);
        var second = m.Length2 > 0 ? DmaRemapper.Check(_pasids, m.Source, m.Pasid, m.Address2, (ulong)m.Length2, isWrite: false) : first;
        if (first.IsFault || second.IsFault)
        {
            var fault = first.IsFault ? first.Fault : second.Fault;
            if (first.IsFault)
            {
                Sample(first, m.Source, m.Pasid, m.Address, (ulong)m.Length, isWrite: false);
                metrics.DmaFaulted(first.Fault);
            }
            else
            {
                // The first range was readable; the second faulted.
                Sample(second, m.Source, m.Pasid, m.Address2, (ulong)m.Length2, isWrite: false);
                metrics.DmaApplied();
            }
            if (ranges == 2)
            {
                if (second.IsFault) metrics.DmaFaulted(second.Fault);
                else metrics.DmaApplied();
            }
            _ctx.Directory.Tell(new DmaReadFailed(m.Origin, m.RequestId, fault));
            return;
        }
        var owner = first.Binding!.Owner;
        var modeled = m.ModeledNs + _ctx.Cost.Dma(m.Length + m.Length2);
        if (_ctx.GuestMemory.TryGet(owner, out var memory))
        {
            // The translated read goes to memory and its data back to the device; the guest takes no part (decision 56).
            metrics.DmaApplied(ranges);
            var data2 = m.Length2 > 0 ? memory.Read(m.Address2, m.Length2) : null;
            _ctx.Directory.Tell(new AssignableInterface.AssignableInterfaceProtocol.MemoryReadData(m.Origin, m.RequestId,
                memory.Read(m.Address, m.Length), data2, modeled));
            return;
        }
        _ctx.Directory.Tell(new ContainerProtocol.MemoryRead(owner, _ctx.HostOf(owner), m.RequestId, m.Origin,
            m.Address, m.Length, m.Address2, m.Length2, modeled));
    }

    private void Write(DmaWrite m)
    {
        _ctx.Metrics.DmaIssued(m.Count);
        var owner = default(ContainerId);
        long bytes = 0;
        var data = m.Data is { } d && Allowed(m, m.DataAddress, d.Length, ref owner, ref bytes);
        var record = m.WritesRecord && Allowed(m, m.RecordAddress, CompletionRecord.Size, ref owner, ref bytes);
        if (!data && !record) return;
        // All allowed: the burst goes on as it came; a blocked part is removed from a copy.
        var passed = data == (m.Data is not null) && record == m.WritesRecord ? m
            : m with { Data = data ? m.Data : null, Record = record ? m.Record : default };
        // Applied is counted by the container when the bytes land in its memory.
        _ctx.Directory.Tell(new ContainerProtocol.MemoryWrite(owner, _ctx.HostOf(owner), passed, m.ModeledNs + _ctx.Cost.Dma(bytes)));
    }

    /// <summary>One write of a burst against the PASID table: a fault is counted and sampled, an allowed write names its owner.</summary>
    private bool Allowed(DmaWrite m, ulong address, int length, ref ContainerId owner, ref long bytes)
    {
        var metrics = _ctx.Metrics;
        var decision = DmaRemapper.Check(_pasids, m.Source, m.Pasid, address, (ulong)length, isWrite: true);
        if (decision.IsFault)
        {
            metrics.DmaFaulted(decision.Fault);
            Sample(decision, m.Source, m.Pasid, address, (ulong)length, isWrite: true);
            if (m.Forgery is { } f) metrics.RogueOutcome(f.Kind, f.Accepts(decision.Fault), $"DMA fault {SivActors.Model.Interrupts.FaultReasons.Hex(decision.Fault)}");
            return false;
        }
        if (m.Forgery is { } delivered) metrics.RogueOutcome(delivered.Kind, asExpected: false, "an applied DMA write");
        owner = decision.Binding!.Owner;
        bytes += length;
        return true;
    }

    /// <summary>Keeps the fault for the report's sample, with the PASID-table entry the decision read.</summary>
    private void Sample(DmaDecision d, SourceId source, Asid pasid, ulong address, ulong length, bool isWrite)
    {
        if (_ctx.FaultSamples.Wants(d.Fault))
            _ctx.FaultSamples.Add(new SivActors.Model.Interrupts.DmaFaultReplay(d.Fault, source, pasid, address, length, isWrite, d.Binding));
    }

    public static Props Props(EmulatorContext ctx, HostId host) => Akka.Actor.Props.Create(() => new DmaRemappingActor(ctx, host));
}
