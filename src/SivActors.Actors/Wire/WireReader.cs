using System.Buffers.Binary;
using System.Text;
using Akka.Actor;
using SivActors.Actors.Hosting;
using SivActors.Model.Identity;

namespace SivActors.Actors.Wire;

/// <summary>Reads what <see cref="WireWriter"/> wrote; a truncated or malformed payload throws, never guesses.</summary>
public sealed class WireReader(byte[] buffer, ExtendedActorSystem system)
{
    private int _position;

    public bool AtEnd => _position == buffer.Length;

    private ReadOnlySpan<byte> Take(int n)
    {
        if (n < 0 || _position + n > buffer.Length) throw new InvalidDataException($"message payload ends early (needs {n} more bytes at {_position} of {buffer.Length})");
        var span = buffer.AsSpan(_position, n);
        _position += n;
        return span;
    }

    public byte Byte() => Take(1)[0];
    public bool Bool() => Byte() != 0;
    public ushort UInt16() => BinaryPrimitives.ReadUInt16LittleEndian(Take(2));
    public uint UInt32() => BinaryPrimitives.ReadUInt32LittleEndian(Take(4));
    public ulong UInt64() => BinaryPrimitives.ReadUInt64LittleEndian(Take(8));

    public ulong VarU()
    {
        ulong v = 0;
        for (var shift = 0; shift < 64; shift += 7)
        {
            var b = Byte();
            v |= (ulong)(b & 0x7F) << shift;
            if (b < 0x80) return v;
        }
        throw new InvalidDataException("varint longer than 64 bits");
    }

    public long Var()
    {
        var u = VarU();
        return (long)(u >> 1) ^ -(long)(u & 1);
    }

    public int Int() => checked((int)Var());

    public byte[] Bytes() => Take(Length()).ToArray();

    public ReadOnlySpan<byte> Raw(int n) => Take(n);

    public int Length()
    {
        var n = VarU();
        if (n > (ulong)(buffer.Length - _position)) throw new InvalidDataException($"length {n} exceeds the payload");
        return (int)n;
    }

    public string String() => Encoding.UTF8.GetString(Take(Length()));

    public string? NullableString() => Bool() ? String() : null;

    public HostId Host() => new(Int());
    public DeviceId Device() => new(Host(), Int());
    public AiId Ai() => new(Device(), Int());
    public ContainerId Container() => new(Int());
    public Asid Asid() => SivActors.Model.Identity.Asid.FromMasked(checked((uint)VarU()));

    public IActorRef ActorRef() => system.Provider.ResolveActorRef(String());
}
