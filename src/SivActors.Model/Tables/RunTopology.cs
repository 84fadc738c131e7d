using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using SivActors.Model.Scenarios;

namespace SivActors.Model.Tables;

/// <summary>
/// What a database's tables were built for: the scenario's topology and composition, as canonical JSON. A run may
/// resume tables only when its own description is identical, since handles, ASIDs and compositions derive from it.
/// </summary>
public sealed record TopologyRecorded(string Name, string CanonicalJson)
{
    private static readonly JsonSerializerOptions Canonical = new() { WriteIndented = false };

    public static TopologyRecorded Of(Scenario s) =>
        new(s.Name, JsonSerializer.Serialize(new TopologyDocument(s.Topology, s.Composition) { Mode = s.Mode == "siov" ? null : s.Mode }, Canonical));

    public string Fingerprint => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(CanonicalJson)))[..16];

    public TopologyDocument Document => JsonSerializer.Deserialize<TopologyDocument>(CanonicalJson, Canonical)
        ?? throw new InvalidDataException("stored topology is empty");

    public string Describe()
    {
        var d = Document;
        var functions = $"{d.Topology.DevicesPerHost}x{d.AsScenario().FunctionsText}";
        return $"\"{Name}\" ({(d.Mode is { } mode ? mode + ", " : "")}{d.Topology.Hosts} host(s), {functions} per host, " +
               $"{d.Topology.Containers:N0} containers, composition {d.Composition.Policy}, fingerprint {Fingerprint})";
    }

    public byte[] Encode()
    {
        using var ms = new MemoryStream();
        using var w = new BinaryWriter(ms);
        w.Write(Version);
        w.Write(Name);
        w.Write(CanonicalJson);
        w.Flush();
        return ms.ToArray();
    }

    public static TopologyRecorded Decode(byte[] bytes)
    {
        using var r = new BinaryReader(new MemoryStream(bytes, writable: false));
        var version = bytes.Length == 0 ? (byte)0 : r.ReadByte();
        if (version != Version) throw new InvalidDataException($"stored topology has format version {version}; this build reads version {Version}");
        return new TopologyRecorded(r.ReadString(), r.ReadString());
    }

    public const byte Version = 1;
}

public sealed record TopologyDocument(TopologySection Topology, CompositionSection Composition)
{
    /// <summary>
    /// The mode the tables were built for (SR-IOV's tables differ: one interrupt table per host, VF requester ids);
    /// absent for siov, so tables written before modes existed keep their fingerprint.
    /// </summary>
    [System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)]
    public string? Mode { get; init; }

    /// <summary>The scenario these tables describe, as far as tables go.</summary>
    public Scenario AsScenario() => new() { Topology = Topology, Composition = Composition, Mode = Mode ?? "siov" };
}
