namespace SivActors.Model.Cost;

/// <summary>
/// Modeled hardware time per hop, in nanoseconds. The defaults and their sources live in config/cost-model.json;
/// every message carries the modeled time accumulated so far, so no global clock is needed.
/// </summary>
public sealed record CostModel
{
    public double PortalWriteNs { get; init; }
    public double DescriptorDispatchNs { get; init; }
    public double DmaTransactionNs { get; init; }
    public double DmaPerByteNs { get; init; }
    public double InterruptEntryCacheHitNs { get; init; }
    public double InterruptEntryCacheMissNs { get; init; }
    public double RemappedDeliveryNs { get; init; }
    public double PostedDeliveryNs { get; init; }
    public double VmExitDeliveryNs { get; init; }
    public double VdcmTrapNs { get; init; }
    public double VdcmTableProgramNs { get; init; }

    public long Dma(long bytes) => (long)Math.Round(DmaTransactionNs + DmaPerByteNs * bytes);

    public long InterruptLookup(bool cacheHit) => (long)Math.Round(cacheHit ? InterruptEntryCacheHitNs : InterruptEntryCacheMissNs);

    public void Validate()
    {
        foreach (var (name, value) in new (string, double)[]
                 {
                     ("portalWriteNs", PortalWriteNs), ("descriptorDispatchNs", DescriptorDispatchNs),
                     ("dmaTransactionNs", DmaTransactionNs), ("dmaPerByteNs", DmaPerByteNs),
                     ("interruptEntryCacheHitNs", InterruptEntryCacheHitNs), ("interruptEntryCacheMissNs", InterruptEntryCacheMissNs),
                     ("remappedDeliveryNs", RemappedDeliveryNs), ("postedDeliveryNs", PostedDeliveryNs),
                     ("vmExitDeliveryNs", VmExitDeliveryNs), ("vdcmTrapNs", VdcmTrapNs), ("vdcmTableProgramNs", VdcmTableProgramNs),
                 })
        {
            if (double.IsNaN(value) || value < 0 || value > 1e9)
                throw new SivInputException($"costModel.{name} = {value} is out of range (0..1e9 ns)");
        }
    }
}
