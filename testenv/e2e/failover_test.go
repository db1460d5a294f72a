package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/hanva/hanva/monitor/config"
	"github.com/hanva/hanva/testenv/armsim"
)

// TestFailoverWhenActiveNVARefuses kills the active NVA's probe port (the
// probe gets a TCP reset) and checks that every managed route table and the
// public IP converge to the standby, and that nothing the monitor does not
// own changed.
func TestFailoverWhenActiveNVARefuses(t *testing.T) {
	e := newEnv(t, envOptions{tables: 3, probeKind: "tcp", lroLatency: 300 * time.Millisecond})
	runFailover(t, e, func() { e.nvas["nva-1"].crash() }, "refused")
}

// TestFailoverWhenActiveNVAHangs makes the active NVA accept the probe's
// connection and never answer (silent failure: only the timeout tells).
func TestFailoverWhenActiveNVAHangs(t *testing.T) {
	e := newEnv(t, envOptions{tables: 3, probeKind: "http", lroLatency: 300 * time.Millisecond})
	runFailover(t, e, func() { e.nvas["nva-1"].hangUp() }, "timeout")
}

func runFailover(t *testing.T, e *env, fail func(), wantFailure string) {
	before := snapshot(t, e)
	p := e.startMonitor()
	e.waitReady(p)
	if n := countEvents(e.sim, "write_accepted", time.Time{}); n != 0 {
		t.Fatalf("steady state: the monitor wrote %d time(s) to ARM before any failure", n)
	}
	// Let a few healthy rounds pass so the standby is known to be up.
	eventually(t, 30*time.Second, "nva-2 healthy", func() bool { return healthOf(t, e, "nva-2") == "up" })

	injected := time.Now()
	fail()
	eventually(t, 90*time.Second, "every route table and the public IP on nva-2", func() bool { return e.topo.onNVA(t, e.sim, "nva-2") })
	eventually(t, 60*time.Second, "every write to finish", func() bool { return writesInFlight(e.sim) == 0 })
	eventually(t, 30*time.Second, "failover_completed logged", func() bool {
		_, ok := p.firstEvent("failover_completed", "", injected)
		return ok
	})

	tl := buildTimeline(t, e, p, injected)
	t.Logf("failover timeline (%s failure of nva-1):\n%s", wantFailure, tl)

	// The probe failure was seen as what it was.
	pf, ok := p.firstEvent("probe_failed", "nva-1", injected)
	if !ok {
		t.Fatalf("no probe_failed event for nva-1 in the log")
	}
	if got := pf.raw["failure"]; got != wantFailure {
		t.Errorf("probe_failed failure = %v, want %q", got, wantFailure)
	}
	fs, _ := p.firstEvent("failover_started", "", injected)
	if fs.From != "nva-1" || fs.To != "nva-2" || fs.Reason != "active_down" {
		t.Errorf("failover_started = %+v, want nva-1 -> nva-2 for active_down", fs)
	}
	// Detection cannot beat the threshold: after the first failed probe,
	// two more, each at least a fast interval (here 100ms, half the 200ms
	// interval) after the one before; less a few milliseconds, as the
	// times are those of the log lines, not of the probes.
	if d := fs.Time.Sub(pf.Time); d < 190*time.Millisecond {
		t.Errorf("decision %s after the first failed probe; the failure threshold of 3 needs at least 2 fast intervals", d)
	}

	// Nothing else changed.
	after := snapshot(t, e)
	for id, b := range before {
		if !reflect.DeepEqual(b, after[id]) {
			bj, _ := json.MarshalIndent(b, "", " ")
			aj, _ := json.MarshalIndent(after[id], "", " ")
			t.Errorf("%s changed beyond the owned fields:\nbefore %s\nafter  %s", shortID(id), bj, aj)
		}
	}
	// One PUT per route table, exactly; the PIP took one detach and one attach.
	for _, id := range e.topo.tables {
		if n := countWrites(e.sim, id); n != 1 {
			t.Errorf("route table %s got %d writes, want exactly 1", shortID(id), n)
		}
	}
	if n := countWrites(e.sim, e.topo.nics["nva-1"]["external"]); n != 1 {
		t.Errorf("nva-1's external NIC got %d writes, want 1 (the detach)", n)
	}
	if n := countWrites(e.sim, e.topo.nics["nva-2"]["external"]); n != 1 {
		t.Errorf("nva-2's external NIC got %d writes, want 1 (the attach)", n)
	}
	for _, nva := range []string{"nva-1", "nva-2"} {
		if n := countWrites(e.sim, e.topo.nics[nva]["internal"]); n != 0 {
			t.Errorf("%s's internal NIC got %d writes, want none", nva, n)
		}
	}
	// Every write came from the monitor, identified by its User-Agent.
	for _, ev := range e.sim.Events(0) {
		if ev.Kind == "write_accepted" && !strings.Contains(ev.Client, "e2e-mon") {
			t.Errorf("write to %s from client %q, want the monitor's User-Agent naming instance e2e-mon", shortID(ev.ResourceID), ev.Client)
		}
		if ev.Kind == "write_accepted" && ev.ClientRequestID == "" {
			t.Errorf("write to %s carries no x-ms-client-request-id", shortID(ev.ResourceID))
		}
	}
	m := metrics(t, e)
	if !strings.Contains(m, `hanva_failovers_total{reason="active_down",result="ok"} 1`) {
		t.Errorf("metrics lack one successful active_down failover:\n%s", grep(m, "hanva_failovers_total"))
	}
	if !strings.Contains(m, `hanva_active_nva{nva="nva-2"} 1`) {
		t.Errorf("metrics do not show nva-2 active:\n%s", grep(m, "hanva_active_nva"))
	}
}

// snapshot returns every seeded resource with the fields the monitor owns
// blanked out: etags, provisioning states, NVA next hops, public IP links.
func snapshot(t *testing.T, e *env) map[string]any {
	ids := append([]string{}, e.topo.tables...)
	ids = append(ids, e.topo.pip)
	for _, roles := range e.topo.nics {
		for _, id := range roles {
			ids = append(ids, id)
		}
	}
	out := map[string]any{}
	for _, id := range ids {
		r := resource(t, e.sim, id)
		strip(r)
		if props, ok := r["properties"].(map[string]any); ok {
			delete(props, "ipConfiguration") // the PIP's back-reference
			if routes, ok := props["routes"].([]any); ok {
				for _, rr := range routes {
					rm := rr.(map[string]any)
					if rm["name"] == "default" || rm["name"] == "to-web" {
						delete(rm["properties"].(map[string]any), "nextHopIpAddress")
					}
				}
			}
			if ipcs, ok := props["ipConfigurations"].([]any); ok {
				for _, c := range ipcs {
					delete(c.(map[string]any)["properties"].(map[string]any), "publicIPAddress")
				}
			}
		}
		out[id] = r
	}
	return out
}

// strip removes etags and provisioning states everywhere.
func strip(v any) {
	switch x := v.(type) {
	case map[string]any:
		delete(x, "etag")
		delete(x, "provisioningState")
		for _, c := range x {
			strip(c)
		}
	case []any:
		for _, c := range x {
			strip(c)
		}
	}
}

// countEvents counts the events of kind at or after after. Writes that
// only stamp the leader's epoch tag (a new leader does that once, on every
// managed route table and NVA NIC) move no traffic and are not counted;
// countStamps counts those.
func countEvents(sim *armsim.Server, kind string, after time.Time) int {
	n := 0
	for _, ev := range sim.Events(0) {
		if ev.Kind == kind && !ev.Time.Before(after) && !stampOnly(ev) {
			n++
		}
	}
	return n
}

// countStamps counts accepted writes at or after after that only set the
// epoch tag.
func countStamps(sim *armsim.Server, after time.Time) int {
	n := 0
	for _, ev := range sim.Events(0) {
		if ev.Kind == "write_accepted" && !ev.Time.Before(after) && stampOnly(ev) {
			n++
		}
	}
	return n
}

// stampOnly reports whether a write changed nothing but the epoch tag
// ("hanva-epoch", act.EpochTag).
func stampOnly(ev armsim.Event) bool { return ev.TagOnly("hanva-epoch") }

// countWrites counts the accepted writes of one resource that changed more
// than its epoch tag.
func countWrites(sim *armsim.Server, id string) int {
	n := 0
	for _, ev := range sim.Events(0) {
		if ev.Kind == "write_accepted" && strings.EqualFold(ev.ResourceID, id) && !stampOnly(ev) {
			n++
		}
	}
	return n
}

// writesInFlight is the number of accepted writes whose operation has not
// yet succeeded.
func writesInFlight(sim *armsim.Server) int {
	n := 0
	for _, ev := range sim.Events(0) {
		switch ev.Kind {
		case "write_accepted":
			n++
		case "write_succeeded":
			n--
		}
	}
	return n
}

// buildTimeline lines up what the test did, what the monitor logged and
// what the emulator recorded.
func buildTimeline(t *testing.T, e *env, p *proc, injected time.Time) string {
	type step struct {
		at   time.Time
		what string
	}
	var steps []step
	steps = append(steps, step{injected, "failure injected on nva-1"})
	if l, ok := p.firstEvent("probe_failed", "nva-1", injected); ok {
		steps = append(steps, step{l.Time, "first failed probe of nva-1 (" + fmt.Sprint(l.raw["failure"]) + ")"})
	}
	if l, ok := p.firstEvent("health_changed", "nva-1", injected); ok {
		steps = append(steps, step{l.Time, "nva-1 marked down"})
	}
	if l, ok := p.firstEvent("failover_started", "", injected); ok {
		steps = append(steps, step{l.Time, "decision: fail over nva-1 -> nva-2"})
	}
	var last time.Time
	for _, ev := range e.sim.Events(0) {
		if ev.Time.Before(injected) {
			continue
		}
		switch ev.Kind {
		case "write_accepted":
			steps = append(steps, step{ev.Time, fmt.Sprintf("ARM accepted %s %s %v", ev.Method, shortID(ev.ResourceID), ev.Changes)})
		case "write_succeeded":
			steps = append(steps, step{ev.Time, fmt.Sprintf("ARM converged %s", shortID(ev.ResourceID))})
			last = ev.Time
		}
	}
	sortSteps := func() {
		for i := 1; i < len(steps); i++ {
			for j := i; j > 0 && steps[j].at.Before(steps[j-1].at); j-- {
				steps[j], steps[j-1] = steps[j-1], steps[j]
			}
		}
	}
	sortSteps()
	var b strings.Builder
	for _, s := range steps {
		fmt.Fprintf(&b, "  +%8s  %s\n", s.at.Sub(injected).Round(time.Millisecond), s.what)
	}
	if !last.IsZero() {
		fmt.Fprintf(&b, "  total: %s from failure to the last resource converged\n", last.Sub(injected).Round(time.Millisecond))
	}
	return b.String()
}

func metrics(t *testing.T, e *env) string {
	t.Helper()
	resp, err := http.Get("http://" + e.cfg.Listen + "/metrics")
	must(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	must(t, err)
	return string(b)
}

func grep(s, substr string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, substr) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// healthOf reads an NVA's thresholded health from the daemon's /status.
func healthOf(t *testing.T, e *env, nva string) string {
	resp, err := http.Get("http://" + e.cfg.Listen + "/status")
	if err != nil {
		return ""
	}
	defer resp.Body.Close()
	var st struct {
		NVAs map[string]struct {
			Health string `json:"health"`
		} `json:"nvas"`
	}
	if json.NewDecoder(resp.Body).Decode(&st) != nil {
		return ""
	}
	return st.NVAs[nva].Health
}

// TestFailbackPreferredReturnsToTheFirstNVA fails nva-1, lets the monitor move
// to nva-2, brings nva-1 back and expects a failback after the holdoff.
func TestFailbackPreferredReturnsToTheFirstNVA(t *testing.T) {
	e := newEnv(t, envOptions{tables: 2, lroLatency: 50 * time.Millisecond, mutate: func(c *config.Config) {
		c.Failback = "preferred"
		c.FailbackHoldoff = config.Duration(1500 * time.Millisecond)
		c.MinFailoverInterval = config.Duration(time.Second)
	}})
	p := e.startMonitor()
	e.waitReady(p)
	eventually(t, 30*time.Second, "nva-2 healthy", func() bool { return healthOf(t, e, "nva-2") == "up" })
	addr := e.nvas["nva-1"].addr
	e.nvas["nva-1"].crash()
	eventually(t, 60*time.Second, "failover to nva-2", func() bool { return e.topo.onNVA(t, e.sim, "nva-2") })
	back := time.Now()
	e.nvas["nva-1"].start(t, addr)
	eventually(t, 60*time.Second, "failback to nva-1", func() bool { return e.topo.onNVA(t, e.sim, "nva-1") })
	l, ok := p.firstEvent("failover_started", "", back)
	if !ok || l.Reason != "failback" || l.To != "nva-1" {
		t.Fatalf("failback not logged as such: %+v", l)
	}
	up, _ := p.firstEvent("health_changed", "nva-1", back)
	if d := l.Time.Sub(up.Time); d < 1400*time.Millisecond {
		t.Errorf("failback %s after nva-1 came up, want at least the 1.5s holdoff", d)
	}
}

// TestDaemonAdoptsAManualFailover runs `nva-monitor failover` while the daemon
// runs: the daemon must adopt the operator's choice, not revert it.
func TestDaemonAdoptsAManualFailover(t *testing.T) {
	e := newEnv(t, envOptions{tables: 2, lroLatency: 50 * time.Millisecond})
	p := e.startMonitor()
	e.waitReady(p)
	code, out, stderr := runCLI(t, "failover", "--config", e.cfgPath, "--to", "nva-2")
	if code != 0 {
		t.Fatalf("failover --to nva-2 = %d:\n%s%s", code, out, stderr)
	}
	eventually(t, 30*time.Second, "daemon adopts nva-2", func() bool {
		_, ok := p.firstEvent("active_changed_externally", "", time.Time{})
		return ok
	})
	writes := countEvents(e.sim, "write_accepted", time.Time{})
	time.Sleep(3 * time.Second) // more than one reconcile interval
	if !e.topo.onNVA(t, e.sim, "nva-2") {
		t.Errorf("the daemon moved resources away from the operator's choice")
	}
	if n := countEvents(e.sim, "write_accepted", time.Time{}); n != writes {
		t.Errorf("the daemon wrote %d time(s) after adopting the manual failover", n-writes)
	}
}
