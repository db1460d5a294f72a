// Package sim runs a whole nva-monitor cluster in one process under
// randomized fault schedules and checks the cluster's safety and liveness
// invariants on every step.
//
// Everything runs inside a testing/synctest bubble: time is virtual (it
// advances only when every goroutine of the bubble is blocked), so a
// schedule of several simulated minutes runs in a fraction of a second.
// The pieces are the real ones wherever possible:
//
//   - the daemon (monitor/daemon.Run), unchanged, one per monitor;
//   - the lease (lease.Blob over azblob) against testenv/blobsim, the
//     in-memory twin of the Azure Blob service that passes the same contract
//     suite as Azurite;
//   - the act engine's armnetwork clients against testenv/armsim, in
//     process;
//   - probes replaced by stubs that read the simulated NVAs' state.
//
// Between each monitor and the services sits a simulated network (link)
// that can partition either direction, delay, duplicate and deliver a
// request long after its sender gave up; each monitor has its own wall
// clock (skew, jumps) and lease clock (frozen with the VM, or not), and can
// be crashed, restarted, paused past its lease or frozen. A schedule is a
// list of such faults drawn from a seed; Run prints it on a violation, and
//
//	go test ./monitor/internal/sim -run TestSimulation -seed=N -v
//
// replays it. Virtual time makes a schedule's timing reproducible; the
// interleaving of goroutines that wake at the same virtual instant is the
// Go scheduler's, so a replay follows the same schedule but not always
// the same interleaving (see docs/cluster.md).
package sim
