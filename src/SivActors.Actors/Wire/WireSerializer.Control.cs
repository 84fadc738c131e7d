using Akka.Serialization;
using SivActors.Actors.AssignableInterface;
using SivActors.Actors.Cluster;
using SivActors.Actors.Entities;
using SivActors.Actors.Persistence;
using SivActors.Model.Device;
using SivActors.Model.Identity;
using SivActors.Model.Interrupts;
using SivActors.Model.Tables;
using SivActors.Model.Vdcm;
using Ai = SivActors.Actors.AssignableInterface.AssignableInterfaceProtocol;
using C = SivActors.Actors.Container.ContainerProtocol;
using D = SivActors.Actors.DmaRemapping.DmaRemappingProtocol;
using Hf = SivActors.Actors.HostingFunction.HostingFunctionProtocol;
using Iu = SivActors.Actors.InterruptUnit.InterruptUnitProtocol;
using RunMsg = SivActors.Actors.Run.RunProtocol;
using V = SivActors.Actors.Vdcm.VdcmProtocol;

namespace SivActors.Actors.Wire;

public sealed partial class WireSerializer
{
    /// <summary>The messages of interrupt units, VDCMs, runs, entity parents and cluster runs.</summary>
    private static void RegisterControl()
    {
        // Interrupt unit.
        Add<Iu.BindAsid>("iu.bind", (w, m) => { w.Host(m.Host); w.Asid(m.Asid); w.Var(m.TableId); w.Var(m.SizeExponent); },
            r => new Iu.BindAsid(r.Host(), r.Asid(), r.Int(), r.Int()));
        Add<Iu.AsidBindingDone>("iu.bind.ok", (w, m) => { w.Asid(m.Asid); w.Var(m.TableId); w.NullableString(m.Error); },
            r => new Iu.AsidBindingDone(r.Asid(), r.Int(), r.NullableString()));
        Add<Iu.ProgramEntry>("iu.prog", (w, m) =>
        {
            w.Host(m.Host); w.Var(m.RequestId); w.Asid(m.Asid); w.Bool(m.Handle is not null); w.Var(m.Handle ?? 0); Entry(w, m.Entry);
        }, r =>
        {
            var h = r.Host(); var id = r.Var(); var asid = r.Asid(); var has = r.Bool(); var handle = r.Int();
            return new Iu.ProgramEntry(h, id, asid, has ? handle : null, Entry(r));
        });
        Add<Iu.EntryProgrammed>("iu.prog.ok", (w, m) => { w.Var(m.RequestId); w.Var(m.Handle); w.Var(m.TableId); w.Var(m.TableSize); },
            r => new Iu.EntryProgrammed(r.Var(), r.Int(), r.Int(), r.Int()));
        Add<Iu.ProgramFailed>("iu.prog.fail", (w, m) => { w.Var(m.RequestId); w.String(m.Reason); }, r => new Iu.ProgramFailed(r.Var(), r.String()));
        Add<Iu.FreeEntry>("iu.free", (w, m) => { w.Host(m.Host); w.Var(m.RequestId); w.Asid(m.Asid); w.Var(m.Handle); },
            r => new Iu.FreeEntry(r.Host(), r.Var(), r.Asid(), r.Int()));
        Add<Iu.EntryFreed>("iu.free.ok", (w, m) => { w.Var(m.RequestId); w.NullableString(m.Error); }, r => new Iu.EntryFreed(r.Var(), r.NullableString()));
        Add<Iu.RaiseInterrupt>("iu.raise", WriteRaise, ReadRaise);
        Add<Iu.FlushFrom>("iu.flush", (w, m) => { w.Host(m.Host); w.Ai(m.Ai); w.ActorRef(m.ReplyTo); }, r => new Iu.FlushFrom(r.Host(), r.Ai(), r.ActorRef()));
        Add<Iu.UpstreamFlushed>("iu.flushed", (w, m) => { w.Ai(m.Ai); w.Byte((byte)m.Unit); }, r => new Iu.UpstreamFlushed(r.Ai(), (EntityKind)r.Byte()));
        Add<Iu.GetState>("iu.get", (w, m) => w.Host(m.Host), r => new Iu.GetState(r.Host()));
        Add<Iu.ReconcileAsid>("iu.reconcile", (w, m) =>
        {
            w.Host(m.Host); w.Var(m.RequestId); w.Asid(m.Asid); w.VarU((ulong)m.Keep.Length);
            foreach (var k in m.Keep) w.Var(k);
            w.VarU((ulong)m.Entries.Count);
            foreach (var (handle, entry) in m.Entries) { w.Var(handle); Entry(w, entry); }
        }, r =>
        {
            var h = r.Host(); var id = r.Var(); var asid = r.Asid();
            var keep = new int[r.Length()];
            for (var i = 0; i < keep.Length; i++) keep[i] = r.Int();
            var entries = new Dictionary<int, InterruptEntry>();
            for (var n = r.Length(); n > 0; n--) entries[r.Int()] = Entry(r);
            return new Iu.ReconcileAsid(h, id, asid, keep) { Entries = entries };
        });
        Add<Iu.AsidReconciled>("iu.reconcile.ok", (w, m) => { w.Var(m.RequestId); w.NullableString(m.Error); }, r => new Iu.AsidReconciled(r.Var(), r.NullableString()));
        Add<Iu.GetTables>("iu.tables.get", (w, m) => w.Host(m.Host), r => new Iu.GetTables(r.Host()));
        Add<Iu.Tables>("iu.tables", (w, m) => { w.Host(m.Host); w.Bytes(m.Snapshot); }, r => new Iu.Tables(r.Host(), r.Bytes()));
        Add<Iu.State>("iu.state", (w, m) =>
        {
            w.Var(m.BoundAsids); w.Var(m.Tables); w.Var(m.Entries); w.VarU((ulong)m.PendingFaults.Count);
            foreach (var f in m.PendingFaults)
            {
                w.Byte((byte)f.Reason); w.UInt16(f.Sid); w.UInt64(f.FaultInfo); w.Bool(f.PasidPresent); w.VarU(f.PasidValue); w.Bool(f.IsRead);
            }
            w.Var(m.FaultEvents); w.Bool(m.Overflow);
        }, r =>
        {
            var bound = r.Int(); var tables = r.Int(); var entries = r.Int();
            var faults = new FaultRecord[r.Length()];
            for (var i = 0; i < faults.Length; i++)
                faults[i] = new FaultRecord((FaultReason)r.Byte(), r.UInt16(), r.UInt64(), r.Bool(), checked((uint)r.VarU()), r.Bool());
            return new Iu.State(bound, tables, entries, faults, r.Var(), r.Bool());
        });

        // Run.
        Add<RunMsg.RunScenario>("run.start", (w, m) => w.ActorRef(m.ReplyTo), r => new RunMsg.RunScenario(r.ActorRef()));
        Add<RunMsg.RunFinished>("run.finished", (w, m) =>
        {
            w.Var(m.StartTicks); w.Var(m.StopTicks); w.Var(m.OperationsAtStart); w.Var(m.InterruptsAtStart); w.Var(m.OperationsAtStop);
            w.Var(m.InterruptsAtStop); w.Var(m.Containers); w.Var(m.Ais); w.Var(m.PausedTicks);
        }, r => new RunMsg.RunFinished(r.Var(), r.Var(), r.Var(), r.Var(), r.Var(), r.Var(), r.Int(), r.Int(), r.Var()));
        Add<RunMsg.PauseLoad>("run.pause", (w, m) => { w.String(m.Reason); w.ActorRef(m.ReplyTo); }, r => new RunMsg.PauseLoad(r.String(), r.ActorRef()));
        Add<RunMsg.LoadPaused>("run.paused", (w, m) => w.String(m.Reason), r => new RunMsg.LoadPaused(r.String()));
        Add<RunMsg.ResumeLoad>("run.resume", (w, m) => w.String(m.Reason), r => new RunMsg.ResumeLoad(r.String()));
        Add<RunMsg.RunFailed>("run.failed", (w, m) => w.String(m.Reason), r => new RunMsg.RunFailed(r.String()));

        // VDCM.
        Add<V.ComposeVdev>("v.compose", (w, m) => { w.Host(m.Host); w.Container(m.Container); w.Var(m.AiCount); w.ActorRef(m.ReplyTo); },
            r => new V.ComposeVdev(r.Host(), r.Container(), r.Int(), r.ActorRef()));
        Add<V.GuestAccessRequest>("v.access", (w, m) =>
        {
            w.Host(m.Host); w.Container(m.From); w.Var(m.RequestId);
            w.Byte((byte)m.Access.Kind); w.Var(m.Access.Offset); w.Byte((byte)m.Access.Portal); w.UInt32(m.Access.Value);
            w.Var(m.ModeledNs); w.Var(m.WallStartTicks);
        }, r => new V.GuestAccessRequest(r.Host(), r.Container(), r.Var(), new GuestAccess((AccessKind)r.Byte(), r.Int(), (PortalKind)r.Byte(), r.UInt32()),
            r.Var(), r.Var()));
        Add<V.GetVdev>("v.get", (w, m) => { w.Host(m.Host); w.Container(m.Container); }, r => new V.GetVdev(r.Host(), r.Container()));
        Add<V.GetCompositions>("v.comps.get", (w, m) => w.Host(m.Host), r => new V.GetCompositions(r.Host()));
        Add<V.Compositions>("v.comps", (w, m) => { w.Host(m.Host); w.Bytes(m.Snapshot); }, r => new V.Compositions(r.Host(), r.Bytes()));
        Add<V.VdevInfo>("v.info", (w, m) =>
        {
            w.Container(m.Container); w.Asid(m.Asid); w.Var(m.TableId);
            w.VarU((ulong)m.Ais.Count);
            foreach (var a in m.Ais) w.Ai(a);
            w.VarU((ulong)m.Msix.Count);
            foreach (var e in m.Msix) Msix(w, e);
            w.VarU((ulong)m.Modes.Count);
            foreach (var mode in m.Modes) w.Byte((byte)mode);
        }, r =>
        {
            var c = r.Container(); var asid = r.Asid(); var table = r.Int();
            var ais = new AiId[r.Length()];
            for (var i = 0; i < ais.Length; i++) ais[i] = r.Ai();
            var msix = new VirtualMsixEntry[r.Length()];
            for (var i = 0; i < msix.Length; i++) msix[i] = Msix(r);
            var modes = new WorkQueueMode[r.Length()];
            for (var i = 0; i < modes.Length; i++) modes[i] = (WorkQueueMode)r.Byte();
            return new V.VdevInfo(c, asid, table, ais, msix, modes);
        });
        Add<V.RestoreDeviceState>("v.restore", (w, m) => { w.Host(m.Host); Address(w, m.Requester); }, r => new V.RestoreDeviceState(r.Host(), Address(r)));
        Add<V.RemoveDevice>("v.dev.remove", (w, m) => { w.Host(m.Host); w.Var(m.Device); w.Var(m.Fault); },
            r => new V.RemoveDevice(r.Host(), r.Int(), r.Int()));
        Add<V.RefreshVdev>("v.refresh", (w, m) => { w.Host(m.Host); w.Container(m.Container); }, r => new V.RefreshVdev(r.Host(), r.Container()));
        Add<V.VdevGone>("v.gone", (w, m) => w.Container(m.Container), r => new V.VdevGone(r.Container()));
        Add<V.DeviceStateRestored>("v.restored", (w, m) => Address(w, m.Requester), r => new V.DeviceStateRestored(Address(r)));

        // Entity parents and table owners.
        Add<EnsureEntity>("e.ensure", (w, m) => Address(w, m.Address), r => new EnsureEntity(Address(r)));
        Add<EntityEnsured>("e.ensured", (w, m) => Address(w, m.Address), r => new EntityEnsured(Address(r)));
        Add<LocateEntity>("e.locate", (w, m) => Address(w, m.Address), r => new LocateEntity(Address(r)));
        Add<Faults.FaultProtocol.InjectedKill>("f.kill", (w, m) => { Address(w, m.Address); w.Var(m.Fault); },
            r => new Faults.FaultProtocol.InjectedKill(Address(r), r.Int()));
        Add<EntityLocated>("e.located", (w, m) => Address(w, m.Address), r => new EntityLocated(Address(r)));
        // Cluster runs.
        Add<ClusterProtocol.DeployScenario>("n.deploy", (w, m) =>
        {
            w.String(m.RunId); w.String(m.ScenarioJson); w.String(m.CostModelJson); w.String(m.Source); w.ActorRef(m.ReportTo);
        }, r => new ClusterProtocol.DeployScenario(r.String(), r.String(), r.String(), r.String(), r.ActorRef()));
        Add<ClusterProtocol.TableUnrecoverableOnNode>("n.unrecoverable", (w, m) => { w.String(m.Node); w.String(m.PersistenceId); w.Var(m.LastGoodSequenceNr); w.String(m.Reason); },
            r => new ClusterProtocol.TableUnrecoverableOnNode(r.String(), r.String(), r.Var(), r.String()));
        Add<ClusterProtocol.ScenarioDeployed>("n.deployed", (w, m) => { w.String(m.RunId); w.String(m.Node); w.NullableString(m.Error); },
            r => new ClusterProtocol.ScenarioDeployed(r.String(), r.String(), r.NullableString()));
        Add<ClusterProtocol.MarkWindow>("n.window", (w, m) => { w.String(m.RunId); w.Bool(m.Start); w.Var(m.OpenForUs); },
            r => new ClusterProtocol.MarkWindow(r.String(), r.Bool()) { OpenForUs = r.Var() });
        Add<ClusterProtocol.CollectMetrics>("n.collect", (w, m) => w.String(m.RunId), r => new ClusterProtocol.CollectMetrics(r.String()));
        Add<ClusterProtocol.NodeMetrics>("n.metrics", Figures, Figures);
        Add<ClusterProtocol.RequestLeave>("n.leave", (w, m) => { w.String(m.RunId); w.String(m.Node); w.ActorRef(m.Agent); },
            r => new ClusterProtocol.RequestLeave(r.String(), r.String(), r.ActorRef()));
        Add<ClusterProtocol.LeaveGranted>("n.leave.ok", (w, m) => w.String(m.RunId), r => new ClusterProtocol.LeaveGranted(r.String()));
        Add<ClusterProtocol.NodeLeaving>("n.leaving", (w, m) => Figures(w, m.Final), r => new ClusterProtocol.NodeLeaving(Figures(r)));
        Add<ClusterProtocol.LeaveRecorded>("n.leave.rec", (w, m) => w.String(m.RunId), r => new ClusterProtocol.LeaveRecorded(r.String()));
        Add<ClusterProtocol.ForgetNode>("n.forget", (w, m) => { w.String(m.RunId); w.String(m.Address); }, r => new ClusterProtocol.ForgetNode(r.String(), r.String()));
        Add<ClusterProtocol.AllowRebalance>("n.rebal", (w, m) => { w.String(m.RunId); w.Bool(m.Open); }, r => new ClusterProtocol.AllowRebalance(r.String(), r.Bool()));
        Add<ClusterProtocol.RebalanceAllowed>("n.rebal.ok", (w, m) => { w.String(m.RunId); w.String(m.Node); w.Bool(m.Open); },
            r => new ClusterProtocol.RebalanceAllowed(r.String(), r.String(), r.Bool()));
        Add<ClusterProtocol.NodeForgotten>("n.forgot", (w, m) => { w.String(m.RunId); w.String(m.Node); }, r => new ClusterProtocol.NodeForgotten(r.String(), r.String()));
        Add<ClusterProtocol.CutLinks>("n.cut", (w, m) =>
        {
            w.String(m.RunId);
            w.Var(m.Peers.Count);
            foreach (var peer in m.Peers) w.String(peer);
            w.Bool(m.Heal);
        }, r =>
        {
            var run = r.String();
            var peers = new string[r.Int()];
            for (var i = 0; i < peers.Length; i++) peers[i] = r.String();
            return new ClusterProtocol.CutLinks(run, peers, r.Bool());
        });
        Add<ClusterProtocol.CrashNode>("n.crash", (w, m) => { w.String(m.RunId); w.Var(m.Fault); w.Var(m.RestartAfterMs); },
            r => new ClusterProtocol.CrashNode(r.String(), (int)r.Var()) { RestartAfterMs = (int)r.Var() });
        Add<ClusterProtocol.LinksCut>("n.cut.ok", (w, m) => { w.String(m.RunId); w.String(m.Node); w.Bool(m.Heal); w.NullableString(m.Error); },
            r => new ClusterProtocol.LinksCut(r.String(), r.String(), r.Bool(), r.NullableString()));
        Add<TableOwnerRecovered>("e.recovered", (w, m) => Address(w, m.Address), r => new TableOwnerRecovered(Address(r)));
        Add<CheckTopology>("t.check", (w, m) => w.Bytes(m.Topology.Encode()), r => new CheckTopology(TopologyRecorded.Decode(r.Bytes())));
        Add<TopologyChecked>("t.checked", (w, m) => { w.Byte((byte)m.Verdict); w.Bytes(m.Stored.Encode()); },
            r => new TopologyChecked((TopologyVerdict)r.Byte(), TopologyRecorded.Decode(r.Bytes())));
        Add<ReadTopology>("t.read", (_, _) => { }, _ => ReadTopology.Instance);
        Add<TopologyRead>("t.read.ok", (w, m) =>
        {
            w.Bool(m.Topology is not null);
            if (m.Topology is { } t) w.Bytes(t.Encode());
        }, r => new TopologyRead(r.Bool() ? TopologyRecorded.Decode(r.Bytes()) : null));
    }
}
