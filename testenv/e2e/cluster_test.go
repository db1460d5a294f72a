package e2e

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hanva/hanva/monitor/config"
	"github.com/hanva/hanva/testenv/armsim"
	"github.com/hanva/hanva/testenv/azurite"
)

// leaseDuration is Azure's shortest blob lease, which the cluster tests use.
const leaseDuration = 15 * time.Second

// cluster is several nva-monitor processes on one armsim and one Azurite,
// electing a leader through a blob lease. Every monitor probes its own
// stand-in of each NVA, so an NVA can be made unreachable from some
// monitors only.
type cluster struct {
	*env
	az      *azurite.Azurite
	members []*member
}

type member struct {
	name    string
	cfg     *config.Config
	cfgPath string
	nvas    map[string]*standIn
	p       *proc
}

func newCluster(t *testing.T, n int, o envOptions) *cluster {
	t.Helper()
	e := newEnv(t, o)
	az := azurite.StartT(t)
	if _, err := az.ContainerClient("hanva"); err != nil {
		t.Fatal(err)
	}
	keyFile, err := az.WriteKeyFile(e.dir)
	must(t, err)
	c := &cluster{env: e, az: az}
	var names []string
	for i := range n {
		names = append(names, fmt.Sprintf("mon-%d", i+1))
	}
	for _, name := range names {
		m := &member{name: name, nvas: map[string]*standIn{}}
		cfg := *e.cfg
		cfg.Instance = name
		cfg.Listen = freeAddr(t)
		cfg.Monitors = names
		cfg.ViewInterval = config.Duration(time.Second)
		cfg.Lease = config.Lease{
			Kind:       "blob",
			URL:        az.BlobURL("hanva", "ha/leader"),
			Duration:   config.Duration(leaseDuration),
			Credential: config.LeaseCredential{Kind: "sharedKey", AccountKeyFile: keyFile},
		}
		cfg.NVAs = nil
		for _, n := range e.cfg.NVAs {
			s := newStandIn(t, o.probeKindOr("tcp"))
			m.nvas[n.Name] = s
			n.Probe.Address = s.addr
			cfg.NVAs = append(cfg.NVAs, n)
		}
		m.cfg = &cfg
		b, err := cfg.Marshal()
		must(t, err)
		m.cfgPath = filepath.Join(e.dir, name+".yaml")
		must(t, os.WriteFile(m.cfgPath, b, 0o600))
		c.members = append(c.members, m)
	}
	return c
}

func (o envOptions) probeKindOr(def string) string {
	if o.probeKind != "" {
		return o.probeKind
	}
	return def
}

func (c *cluster) startAll() {
	for _, m := range c.members {
		c.startMember(m)
	}
	for _, m := range c.members {
		c.waitReady(m.p)
	}
}

func (c *cluster) startMember(m *member) {
	m.p = c.start(m.cfgPath, m.cfg.Listen)
}

// crashNVA makes an NVA unreachable from every monitor.
func (c *cluster) crashNVA(nva string) {
	for _, m := range c.members {
		m.nvas[nva].crash()
	}
}

// isLeader reads hanva_is_leader from a member's metrics.
func isLeader(m *member) bool {
	resp, err := http.Get("http://" + m.cfg.Listen + "/metrics")
	if err != nil {
		return false
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return strings.Contains(string(b), "\nhanva_is_leader 1\n")
}

// leaders lists the members that say they lead.
func (c *cluster) leaders() []*member {
	var out []*member
	for _, m := range c.members {
		select {
		case <-m.p.done:
			continue
		default:
		}
		if isLeader(m) {
			out = append(out, m)
		}
	}
	return out
}

// waitLeader waits for exactly one leader among the running members.
func (c *cluster) waitLeader(within time.Duration) *member {
	c.t.Helper()
	var leader *member
	eventually(c.t, within, "exactly one leader", func() bool {
		ls := c.leaders()
		if len(ls) == 1 {
			leader = ls[0]
			return true
		}
		return false
	})
	return leader
}

// writesBy counts accepted ARM writes whose User-Agent names the instance,
// at or after a time.
func writesBy(sim *armsim.Server, instance string, after time.Time) []armsim.Event {
	var out []armsim.Event
	for _, ev := range sim.Events(0) {
		if ev.Kind == "write_accepted" && strings.Contains(ev.Client, "("+instance+")") && !ev.Time.Before(after) {
			out = append(out, ev)
		}
	}
	return out
}

// waitWritesSettled waits until m has written to ARM (its takeover stamps
// its epoch) and then not for a second.
func (c *cluster) waitWritesSettled(m *member) {
	c.t.Helper()
	eventually(c.t, 60*time.Second, m.name+"'s takeover writes done", func() bool {
		ws := writesBy(c.sim, m.name, time.Time{})
		return len(ws) > 0 && time.Since(ws[len(ws)-1].Time) > time.Second
	})
}

func (c *cluster) other(m *member) *member {
	for _, o := range c.members {
		if o != m {
			return o
		}
	}
	return nil
}

// TestClusterElectsExactlyOneLeader runs two and three monitors: exactly one
// leads, and it stays that way.
func TestClusterElectsExactlyOneLeader(t *testing.T) {
	for _, n := range []int{2, 3} {
		t.Run(fmt.Sprintf("%d monitors", n), func(t *testing.T) {
			c := newCluster(t, n, envOptions{tables: 2})
			c.startAll()
			leader := c.waitLeader(60 * time.Second)
			for range 20 {
				if ls := c.leaders(); len(ls) > 1 {
					t.Fatalf("%d monitors lead at once", len(ls))
				}
				time.Sleep(100 * time.Millisecond)
			}
			if ls := c.leaders(); len(ls) != 1 || ls[0] != leader {
				t.Fatalf("leadership moved without a fault")
			}
			if n := countEvents(c.sim, "write_accepted", time.Time{}); n != 0 {
				t.Errorf("%d ARM writes in a steady state", n)
			}
		})
	}
}

// TestClusterLeaderKilledAnotherTakesOverAndFailsOver kills the leader with
// SIGKILL while the active NVA dies: the other monitor must take over within
// the lease duration plus a probe interval, then fail over.
func TestClusterLeaderKilledAnotherTakesOverAndFailsOver(t *testing.T) {
	c := newCluster(t, 2, envOptions{tables: 2, lroLatency: 50 * time.Millisecond})
	c.startAll()
	leader := c.waitLeader(60 * time.Second)
	next := c.other(leader)
	// hanva_is_leader is 1 from the takeover on; its epoch stamp writes
	// follow. Killed in the middle of them, the monitor's requests in
	// flight land after the kill: a steady leader is killed here.
	c.waitWritesSettled(leader)
	killed := time.Now()
	leader.p.kill()
	c.crashNVA("nva-1")
	c.waitLeader(60 * time.Second)
	took := time.Since(killed)
	limit := leaseDuration + c.cfg.Probe.Interval.D()
	t.Logf("%s took over %s after %s was killed (limit: lease %s + probe interval %s)", next.name, took.Round(time.Millisecond), leader.name, leaseDuration, c.cfg.Probe.Interval.D())
	// The poll that sees it adds up to a few hundred ms on a loaded machine.
	if took > limit+2*time.Second {
		t.Errorf("takeover took %s, want within %s", took, limit)
	}
	eventually(t, 60*time.Second, "failover to nva-2 by the new leader", func() bool { return c.topo.onNVA(t, c.sim, "nva-2") })
	if w := writesBy(c.sim, leader.name, killed); len(w) != 0 {
		t.Errorf("the killed monitor wrote after its death?! %v", w)
	}
	if w := writesBy(c.sim, next.name, killed); len(w) == 0 {
		t.Errorf("the new leader made no write, yet Azure moved")
	}
}

// TestClusterPausedLeaderNeverWritesAfterLosingTheLease pauses the leader
// (SIGSTOP) longer than the lease, lets the other monitor take over and fail
// over, then resumes it (SIGCONT): no ARM write may come from it afterwards.
func TestClusterPausedLeaderNeverWritesAfterLosingTheLease(t *testing.T) {
	c := newCluster(t, 2, envOptions{tables: 2, lroLatency: 50 * time.Millisecond})
	c.startAll()
	leader := c.waitLeader(60 * time.Second)
	next := c.other(leader)
	paused := time.Now()
	must(t, leader.p.cmd.Process.Signal(syscall.SIGSTOP))
	c.crashNVA("nva-1")
	eventually(t, 60*time.Second, "the other monitor leads", func() bool { return isLeader(next) })
	eventually(t, 60*time.Second, "failover to nva-2", func() bool { return c.topo.onNVA(t, c.sim, "nva-2") })
	if d := time.Since(paused); d < leaseDuration+5*time.Second {
		time.Sleep(leaseDuration + 5*time.Second - d)
	}
	// Taken before the signal: the resumed process may log within
	// microseconds, before Signal even returns here.
	resumed := time.Now()
	must(t, leader.p.cmd.Process.Signal(syscall.SIGCONT))
	// The resumed monitor still believes nva-1 is active and, as its probes
	// now fail, wants to fail over: it must find its lease gone first.
	eventually(t, 30*time.Second, "the resumed monitor notices it lost the lease", func() bool {
		_, ok := leader.p.firstEvent("leader_lost", "", resumed)
		return ok
	})
	time.Sleep(3 * time.Second)
	if w := writesBy(c.sim, leader.name, paused); len(w) != 0 {
		for _, ev := range w {
			t.Errorf("write from the paused monitor %s after it was paused: %s %s %v", leader.name, ev.Method, shortID(ev.ResourceID), ev.Changes)
		}
	}
	if ls := c.leaders(); len(ls) != 1 || ls[0] != next {
		t.Errorf("after the resume, leaders = %v, want only %s", names(ls), next.name)
	}
	if !c.topo.onNVA(t, c.sim, "nva-2") {
		t.Errorf("resources moved away from nva-2 after the resume")
	}
}

// TestClusterStorageOutageStopsEveryWrite stops Azurite: the leader must step
// down and nothing may write to ARM, even with the active NVA dead; when
// Azurite returns, leadership returns and the failover happens.
func TestClusterStorageOutageStopsEveryWrite(t *testing.T) {
	c := newCluster(t, 2, envOptions{tables: 2, lroLatency: 50 * time.Millisecond})
	c.startAll()
	leader := c.waitLeader(60 * time.Second)
	must(t, c.az.Stop())
	stopped := time.Now()
	eventually(t, leaseDuration+10*time.Second, "no monitor leads", func() bool { return len(c.leaders()) == 0 })
	t.Logf("%s stepped down %s after storage went away", leader.name, time.Since(stopped).Round(time.Millisecond))
	if d := time.Since(stopped); d > leaseDuration {
		t.Errorf("the leader kept leading %s without storage, longer than the lease (%s)", d, leaseDuration)
	}
	c.crashNVA("nva-1")
	time.Sleep(3 * time.Second)
	if n := countEvents(c.sim, "write_accepted", stopped) + countStamps(c.sim, stopped); n != 0 {
		t.Fatalf("%d ARM writes while no monitor could hold the lease", n)
	}
	must(t, c.az.Restart())
	c.waitLeader(60 * time.Second)
	eventually(t, 60*time.Second, "failover to nva-2 once storage is back", func() bool { return c.topo.onNVA(t, c.sim, "nva-2") })
}

// TestClusterQuorumNeedsAMajorityOfViews makes the active NVA unreachable from
// one monitor only (the leader): no failover. Then from a second: failover.
func TestClusterQuorumNeedsAMajorityOfViews(t *testing.T) {
	c := newCluster(t, 3, envOptions{tables: 2, lroLatency: 50 * time.Millisecond})
	c.startAll()
	leader := c.waitLeader(60 * time.Second)
	blocked := time.Now()
	leader.nvas["nva-1"].crash()
	eventually(t, 30*time.Second, "the leader holds for lack of quorum", func() bool {
		_, ok := leader.p.firstEvent("failover_held", "", blocked)
		return ok && strings.Contains(leader.p.logText(), `"reason":"no_quorum"`)
	})
	time.Sleep(3 * time.Second) // many more probe rounds
	if n := countEvents(c.sim, "write_accepted", time.Time{}); n != 0 {
		t.Fatalf("%d ARM writes although only one of three monitors saw nva-1 down", n)
	}
	second := c.other(leader)
	second.nvas["nva-1"].crash()
	eventually(t, 60*time.Second, "failover once a majority sees nva-1 down", func() bool { return c.topo.onNVA(t, c.sim, "nva-2") })
}

// TestClusterNewLeaderFinishesAHalfDoneFailover kills the leader after it
// moved the route tables and detached the public IP but before the attach:
// the next leader reads the desired NVA from the shared state and finishes.
func TestClusterNewLeaderFinishesAHalfDoneFailover(t *testing.T) {
	c := newCluster(t, 2, envOptions{tables: 2, lroLatency: 50 * time.Millisecond})
	c.sim.InjectFault(armsim.Fault{Method: "PUT", PathContains: "/networkInterfaces/nva2-ext", Status: 409,
		Code: "AnotherOperationInProgress", Message: "Another operation on this or dependent resource is in progress.", Count: -1})
	c.startAll()
	leader := c.waitLeader(60 * time.Second)
	next := c.other(leader)
	c.crashNVA("nva-1")
	eventually(t, 60*time.Second, "routes on nva-2, public IP detached, attach refused", func() bool {
		return tablesOn(t, c.env, "nva-2") == 2 && pipHolder(t, c.sim, c.topo.pip) == "" && rejected(c.sim, c.topo.nics["nva-2"]["external"]) > 0
	})
	leader.p.kill()
	killed := time.Now()
	c.sim.ClearFaults()
	eventually(t, 60*time.Second, "the next leader finishes the move", func() bool { return c.topo.onNVA(t, c.sim, "nva-2") })
	l, ok := next.p.firstEvent("leader_elected", "", killed)
	if !ok {
		t.Fatalf("%s did not log leader_elected", next.name)
	}
	if l.NVA != "nva-2" || l.raw["desired_from"] != "shared state" {
		t.Errorf("new leader took %q from %v, want nva-2 from the shared state", l.NVA, l.raw["desired_from"])
	}
}

// TestClusterManualFailoverGoesThroughTheLeader runs `nva-monitor failover`
// while the daemons run: the leader carries it out, the CLI writes nothing
// to ARM itself.
func TestClusterManualFailoverGoesThroughTheLeader(t *testing.T) {
	c := newCluster(t, 2, envOptions{tables: 2, lroLatency: 50 * time.Millisecond})
	c.startAll()
	leader := c.waitLeader(60 * time.Second)
	follower := c.other(leader)
	eventually(t, 30*time.Second, "nva-2 up for the leader", func() bool {
		return strings.Contains(statusOf(leader), `"nva-2": {`+"\n"+`      "health": "up"`)
	})
	code, out, stderr := runCLI(t, "failover", "--config", follower.cfgPath, "--to", "nva-2")
	if code != 0 {
		t.Fatalf("failover through the shared state = %d:\n%s%s", code, out, stderr)
	}
	if !c.topo.onNVA(t, c.sim, "nva-2") {
		t.Fatalf("the CLI reported success but resources are not on nva-2")
	}
	for _, ev := range c.sim.Events(0) {
		if ev.Kind == "write_accepted" && !strings.Contains(ev.Client, "("+leader.name+")") {
			t.Errorf("write to %s by %q, want only the leader %s", shortID(ev.ResourceID), ev.Client, leader.name)
		}
	}
	code, out, _ = runCLI(t, "validate", "--config", follower.cfgPath)
	if code != 0 || !strings.Contains(out, "ok    lease blob") || !strings.Contains(out, "leader "+leader.name) {
		t.Errorf("validate does not check the lease blob:\n%s", out)
	}
	code, out, _ = runCLI(t, "status", "--config", follower.cfgPath)
	t.Logf("nva-monitor status:\n%s", out)
	if code != 0 || !strings.Contains(out, "Leader: "+leader.name) || !strings.Contains(out, "mon-1") || !strings.Contains(out, "mon-2") {
		t.Errorf("status does not show the leader and both views:\n%s", out)
	}
}

func statusOf(m *member) string {
	resp, err := http.Get("http://" + m.cfg.Listen + "/status")
	if err != nil {
		return ""
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

func names(ms []*member) []string {
	var out []string
	for _, m := range ms {
		out = append(out, m.name)
	}
	return out
}

// TestClusterRollingRestartHandsTheLeaseOverWithinAProbeIntervalOrTwo
// restarts the monitors one after the other the way an upgrade does (each
// monitor's install run command stops nva-monitor with SIGTERM, starts the
// new one and waits for /readyz before the next monitor): a stopping leader
// releases the lease as it exits, so another monitor leads again within its
// acquire retry period (1 s) instead of waiting out the 15 s lease; nothing
// fails over and no route or public IP moves.
func TestClusterRollingRestartHandsTheLeaseOverWithinAProbeIntervalOrTwo(t *testing.T) {
	c := newCluster(t, 3, envOptions{tables: 2, lroLatency: 50 * time.Millisecond})
	c.startAll()
	c.waitLeader(60 * time.Second)
	start := time.Now()
	// A restart without a release would leave the cluster leaderless for the
	// rest of the lease (15 s); a release hands over within the retry period
	// plus a poll. The bound is generous for a loaded 2-core machine and
	// still far below the lease.
	const handover = leaseDuration / 3
	for _, m := range c.members {
		wasLeader := isLeader(m)
		stopped := time.Now()
		m.p.stop()
		if wasLeader {
			next := c.waitLeader(60 * time.Second)
			gap := time.Since(stopped)
			t.Logf("%s stopped while leading; %s led %s later", m.name, next.name, gap.Round(time.Millisecond))
			if gap > handover {
				t.Errorf("no leader for %s after %s stopped (SIGTERM), want at most %s: was the lease released?", gap, m.name, handover)
			}
			if !strings.Contains(m.p.logText(), "release") {
				t.Errorf("%s's log does not mention releasing the lease:\n%s", m.name, m.p.logText())
			}
		}
		c.startMember(m)
		c.waitReady(m.p)
	}
	if ls := c.waitLeader(60 * time.Second); ls == nil {
		t.Fatal("no leader after the rolling restart")
	}
	if n := countEvents(c.sim, "write_accepted", start); n != 0 {
		t.Errorf("%d ARM writes that move traffic during a rolling restart, want none", n)
	}
	if !c.topo.onNVA(t, c.sim, "nva-1") {
		t.Error("the rolling restart moved traffic off nva-1")
	}
}
