

namespace SivActors.Model.Device;

/// <summary>Rejection reasons that are not DSA completion statuses, kept in the same status-indexed ledger.</summary>
public static class RejectCodes
{
    public const byte Retry = 0xF0;
    public const byte Dropped = 0xF1;
    public const byte Ignored = 0xF2;
    /// <summary>The AI stopped with the descriptor in flight (a kill-actor fault): no completion record was written.</summary>
    public const byte Aborted = 0xF3;
    /// <summary>The AI's device was surprise-removed: the portal write ended as an Unsupported Request.</summary>
    public const byte DeviceGone = 0xF4;

    public static string Name(byte code) => code switch
    {
        Retry => "retry",
        Dropped => "dropped",
        Ignored => "ignored",
        Aborted => "aborted",
        DeviceGone => "device-gone",
        _ => "0x" + code.ToString("X2", System.Globalization.CultureInfo.InvariantCulture),
    };
}
