using System.Security.Cryptography;

namespace SivActors.Model.Tables;

/// <summary>What every table codec shares: the leading format-version byte and the content digest.</summary>
internal static class CodecFormat
{
    /// <summary>A reader positioned after the version byte; refuses an empty payload or a version it does not know.</summary>
    public static BinaryReader Reader(byte[] bytes, string what, byte version)
    {
        if (bytes.Length == 0) throw new InvalidDataException($"empty {what}");
        var r = new BinaryReader(new MemoryStream(bytes, writable: false));
        var found = r.ReadByte();
        if (found != version) throw new InvalidDataException($"{what} has format version {found}; this build reads version {version}");
        return r;
    }

    /// <summary>Lower-case hex SHA-256 of <paramref name="content"/>.</summary>
    public static string Sha256Hex(ReadOnlySpan<byte> content) => Convert.ToHexStringLower(SHA256.HashData(content));
}
