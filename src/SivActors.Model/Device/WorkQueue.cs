namespace SivActors.Model.Device;

public enum WorkQueueMode : byte
{
    Dedicated = 0,
    Shared = 1,
}

/// <summary>Limited portals stop accepting at the WQ threshold; unlimited ones at the WQ size.</summary>
public enum PortalKind : byte
{
    Limited = 0,
    Unlimited = 1,
}

/// <summary>How the CPU wrote the 64 bytes: DMWr (ENQCMD/ENQCMDS, non-posted) or MOVDIR64B (posted).</summary>
public enum PortalWriteType : byte
{
    Deferrable = 0,
    Posted = 1,
}

public enum SubmitOutcome : byte
{
    Accepted,
    /// <summary>DMWr answered Retry (ZF=1): the submitter may try again.</summary>
    Retry,
    /// <summary>Posted write to a full dedicated WQ: silently dropped, SWERROR 0x53.</summary>
    Dropped,
    /// <summary>Wrong write type for the WQ mode (Table 9-11): ignored.</summary>
    Ignored,
    /// <summary>The function was surprise-removed: the write ends as an Unsupported Request and the driver sees the device gone.</summary>
    DeviceGone,
}

/// <summary>A DSA work queue: the AI's submission side (siov-reference §3, §6.2).</summary>
public sealed class WorkQueue
{
    public WorkQueue(WorkQueueMode mode, int size, int threshold)
    {
        if (size is < 1 or > 128) throw new SivInputException($"work queue size {size} is out of range (1..128)");
        if (threshold < 1 || threshold > size) throw new SivInputException($"work queue threshold {threshold} must be within 1..size ({size})");
        Mode = mode;
        Size = size;
        Threshold = threshold;
    }

    public WorkQueueMode Mode { get; }
    public int Size { get; }
    public int Threshold { get; }
    public bool Enabled { get; set; } = true;
    public int Occupancy { get; private set; }
    public long SoftwareErrorDwqFull { get; private set; }

    /// <summary>The portal acceptance rules of Table 9-11 and §5.3.</summary>
    public SubmitOutcome Submit(PortalKind portal, PortalWriteType writeType)
    {
        if (!Enabled) return writeType == PortalWriteType.Deferrable ? SubmitOutcome.Retry : SubmitOutcome.Ignored;
        if (Mode == WorkQueueMode.Shared)
        {
            if (writeType != PortalWriteType.Deferrable) return SubmitOutcome.Ignored;
            var limit = portal == PortalKind.Limited ? Threshold : Size;
            if (Occupancy >= limit) return SubmitOutcome.Retry;
        }
        else
        {
            if (writeType == PortalWriteType.Deferrable) return SubmitOutcome.Retry;
            if (Occupancy >= Size)
            {
                SoftwareErrorDwqFull++;
                return SubmitOutcome.Dropped;
            }
        }
        Occupancy++;
        return SubmitOutcome.Accepted;
    }

    public void Complete()
    {
        if (Occupancy > 0) Occupancy--;
    }

    /// <summary>Reset WQ (admin command 10): aborts everything queued.</summary>
    public int Reset()
    {
        var aborted = Occupancy;
        Occupancy = 0;
        return aborted;
    }
}
