using System.Buffers.Binary;
using System.Text;
using Akka.Actor;
using SivActors.Actors.Hosting;
using SivActors.Model.Identity;

namespace SivActors.Actors.Wire;

/// <summary>Appends little-endian fields and LEB128 varints to a growing buffer.</summary>
public sealed class WireWriter(int capacity = 128)
{
    private byte[] _buffer = new byte[capacity];
    private int _length;

    public byte[] ToArray() => _buffer.AsSpan(0, _length).ToArray();

    /// <summary>Starts over; the buffer keeps its size, so a reused writer does not allocate again.</summary>
    public void Reset() => _length = 0;

    /// <summary>The buffer's size, to drop a writer that grew on one large message rather than keep it forever.</summary>
    public int Capacity => _buffer.Length;

    private Span<byte> Take(int n)
    {
        if (_length + n > _buffer.Length) Array.Resize(ref _buffer, Math.Max(_buffer.Length * 2, _length + n));
        var span = _buffer.AsSpan(_length, n);
        _length += n;
        return span;
    }

    public void Byte(byte v) => Take(1)[0] = v;
    public void Bool(bool v) => Byte(v ? (byte)1 : (byte)0);
    public void UInt16(ushort v) => BinaryPrimitives.WriteUInt16LittleEndian(Take(2), v);
    public void UInt32(uint v) => BinaryPrimitives.WriteUInt32LittleEndian(Take(4), v);
    public void UInt64(ulong v) => BinaryPrimitives.WriteUInt64LittleEndian(Take(8), v);

    /// <summary>Unsigned LEB128.</summary>
    public void VarU(ulong v)
    {
        while (v >= 0x80)
        {
            Byte((byte)(v | 0x80));
            v >>= 7;
        }
        Byte((byte)v);
    }

    /// <summary>Signed, zig-zag then LEB128: small magnitudes of either sign stay short.</summary>
    public void Var(long v) => VarU((ulong)((v << 1) ^ (v >> 63)));

    public void Bytes(ReadOnlySpan<byte> v)
    {
        VarU((ulong)v.Length);
        v.CopyTo(Take(v.Length));
    }

    public void Raw(ReadOnlySpan<byte> v) => v.CopyTo(Take(v.Length));

    public void String(string v)
    {
        var n = Encoding.UTF8.GetByteCount(v);
        VarU((ulong)n);
        Encoding.UTF8.GetBytes(v, Take(n));
    }

    public void NullableString(string? v)
    {
        Bool(v is not null);
        if (v is not null) String(v);
    }

    public void Host(HostId h) => Var(h.Value);
    public void Device(DeviceId d)
    {
        Host(d.Host);
        Var(d.Index);
    }
    public void Ai(AiId a)
    {
        Device(a.Device);
        Var(a.Index);
    }
    public void Container(ContainerId c) => Var(c.Value);
    public void Asid(Asid a) => VarU(a.Value);

    public void ActorRef(IActorRef r) => String(Akka.Serialization.Serialization.SerializedActorPath(r));
}
