package e2e

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/hanva/hanva/testenv/armsim"
)

// TestSplitStateAtStartIsRepairedTowardTheMajority seeds two route tables on
// nva-2, one on nva-1 and the public IP on nva-2: the monitor must converge
// everything to nva-2 at start and log it as a repair.
func TestSplitStateAtStartIsRepairedTowardTheMajority(t *testing.T) {
	e := newEnv(t, envOptions{tables: 3, active: "nva-2", pipOn: "nva-2", tableOn: func(i int) string {
		if i == 2 {
			return "nva-1"
		}
		return "nva-2"
	}})
	p := e.startMonitor()
	eventually(t, 60*time.Second, "all resources on nva-2", func() bool { return e.topo.onNVA(t, e.sim, "nva-2") })
	eventually(t, 30*time.Second, "split_state_repair logged", func() bool {
		_, ok := p.firstEvent("split_state_repair", "nva-2", time.Time{})
		return ok
	})
	if n := countWrites(e.sim, e.topo.tables[0]) + countWrites(e.sim, e.topo.tables[1]); n != 0 {
		t.Errorf("tables already on nva-2 were written %d time(s), want none", n)
	}
	if n := countWrites(e.sim, e.topo.tables[2]); n != 1 {
		t.Errorf("the table on nva-1 was written %d time(s), want 1", n)
	}
}

// TestMonitorKilledAfterPIPDetachFinishesOnRestart kills the monitor (SIGKILL)
// after it detached the public IP from nva-1 but before the attach to nva-2
// went through; a restarted monitor must finish the move.
func TestMonitorKilledAfterPIPDetachFinishesOnRestart(t *testing.T) {
	e := newEnv(t, envOptions{tables: 2, lroLatency: 100 * time.Millisecond})
	// Every attach to nva-2's external NIC is refused as a conflict until the
	// fault is cleared, so the monitor is stuck between detach and attach.
	e.sim.InjectFault(armsim.Fault{Method: "PUT", PathContains: "/networkInterfaces/nva2-ext", Status: 409,
		Code: "AnotherOperationInProgress", Message: "Another operation on this or dependent resource is in progress.", Count: 100000})
	p := e.startMonitor()
	e.waitReady(p)
	eventually(t, 30*time.Second, "nva-2 healthy", func() bool { return healthOf(t, e, "nva-2") == "up" })
	e.nvas["nva-1"].crash()
	eventually(t, 60*time.Second, "public IP detached from nva-1 and an attach refused", func() bool {
		return pipHolder(t, e.sim, e.topo.pip) == "" && rejected(e.sim, e.topo.nics["nva-2"]["external"]) > 0
	})
	p.kill()
	t.Logf("monitor killed with the public IP detached; routes on nva-2: %v", tablesOn(t, e, "nva-2"))
	e.sim.ClearFaults()

	p2 := e.startMonitor()
	eventually(t, 60*time.Second, "restarted monitor finishes the move to nva-2", func() bool { return e.topo.onNVA(t, e.sim, "nva-2") })
	if _, ok := p2.firstEvent("split_state_repair", "nva-2", time.Time{}); !ok {
		t.Errorf("restarted monitor did not log the half-done failover as a repair toward nva-2:\n%s", p2.logText())
	}
}

// TestFailoverCompletesThroughAThrottleStorm throttles ARM writes hard; the
// failover must still converge, by waiting out Retry-After, not by hammering.
func TestFailoverCompletesThroughAThrottleStorm(t *testing.T) {
	e := newEnv(t, envOptions{tables: 4, lroLatency: 50 * time.Millisecond})
	p := e.startMonitor()
	e.waitReady(p)
	eventually(t, 30*time.Second, "nva-2 healthy", func() bool { return healthOf(t, e, "nva-2") == "up" })
	e.sim.SetWriteThrottle(1, 1) // one write a second, no burst: 6 writes need about 6 s
	e.nvas["nva-1"].crash()
	eventually(t, 120*time.Second, "every resource on nva-2 despite throttling", func() bool { return e.topo.onNVA(t, e.sim, "nva-2") })
	throttled := 0
	for _, ev := range e.sim.Events(0) {
		if ev.Kind == "write_rejected" && ev.Status == 429 {
			throttled++
		}
	}
	if throttled == 0 {
		t.Fatalf("the throttle never answered 429; the test proves nothing")
	}
	// Honouring Retry-After (1 s) keeps the 429s to about one per resource
	// and second of waiting; a client ignoring it would collect dozens.
	if throttled > 30 {
		t.Errorf("%d writes were throttled: the monitor does not wait for Retry-After", throttled)
	}
	t.Logf("%d writes throttled with 429 on the way", throttled)
}

// TestAllNVAsDownChangesNothing crashes both NVAs: the monitor must not write
// to ARM and must say so in its log and metrics.
func TestAllNVAsDownChangesNothing(t *testing.T) {
	e := newEnv(t, envOptions{tables: 2})
	p := e.startMonitor()
	e.waitReady(p)
	eventually(t, 30*time.Second, "nva-2 healthy", func() bool { return healthOf(t, e, "nva-2") == "up" })
	e.nvas["nva-2"].crash()
	e.nvas["nva-1"].crash()
	eventually(t, 30*time.Second, "all_nvas_down logged", func() bool {
		_, ok := p.firstEvent("all_nvas_down", "", time.Time{})
		return ok
	})
	time.Sleep(time.Second) // a few more probe rounds
	if n := countEvents(e.sim, "write_accepted", time.Time{}); n != 0 {
		t.Errorf("the monitor wrote %d time(s) to ARM with every NVA down", n)
	}
	if m := metrics(t, e); !strings.Contains(m, "hanva_all_nvas_down 1") {
		t.Errorf("hanva_all_nvas_down is not 1:\n%s", grep(m, "all_nvas_down"))
	}
}

// TestBadConfigsExitTwoWithoutCallingAzure runs `run` and `validate` on every
// bad config fixture: each must exit 2, name the field, and make no ARM call.
func TestBadConfigsExitTwoWithoutCallingAzure(t *testing.T) {
	files, err := filepath.Glob("../../monitor/config/testdata/bad/*.yaml")
	must(t, err)
	if len(files) < 10 {
		t.Fatalf("found %d bad config fixtures, want at least 10", len(files))
	}
	sim, err := armsim.Start(armsim.Options{})
	must(t, err)
	defer sim.Close()
	dir := t.TempDir()
	ca := filepath.Join(dir, "ca.pem")
	must(t, os.WriteFile(ca, sim.CAPEM(), 0o600))
	token := filepath.Join(dir, "token")
	must(t, os.WriteFile(token, []byte("t"), 0o600))

	for _, f := range files {
		name := filepath.Base(f)
		data, err := os.ReadFile(f)
		must(t, err)
		want := wantField(data)
		if want == "" {
			t.Errorf("%s: first line lacks '# want: <field>'", name)
			continue
		}
		// Point the config at the emulator, unless the defect is in those
		// very keys, so that any ARM call would show in its request log.
		path := filepath.Join(dir, name)
		must(t, os.WriteFile(path, pointAtSim(data, want, sim.URL(), ca, token), 0o600))
		for _, cmd := range []string{"run", "validate"} {
			code, _, stderr := runCLI(t, cmd, "--config", path)
			if code != 2 {
				t.Errorf("%s: nva-monitor %s exited %d, want 2; stderr:\n%s", name, cmd, code, stderr)
			}
			if !strings.Contains(stderr, want) {
				t.Errorf("%s: nva-monitor %s error does not name %q:\n%s", name, cmd, want, stderr)
			}
		}
	}
	if n := len(sim.Requests()); n != 0 {
		t.Errorf("bad configs caused %d ARM request(s), want none", n)
	}
}

func wantField(data []byte) string {
	first, _, _ := bytes.Cut(data, []byte("\n"))
	s := strings.TrimSpace(string(first))
	if !strings.HasPrefix(s, "# want:") {
		return ""
	}
	return strings.TrimSpace(strings.TrimPrefix(s, "# want:"))
}

// pointAtSim sets armEndpoint, caFile and a static token credential in a
// YAML document, unless the defect under test is in one of those keys or
// the document is not a mapping that can be edited.
func pointAtSim(data []byte, want, url, ca, token string) []byte {
	for _, k := range []string{"armEndpoint", "caFile", "credential", "cloud", "line"} {
		if strings.HasPrefix(want, k) {
			return data
		}
	}
	var doc yaml.Node
	if yaml.Unmarshal(data, &doc) != nil || len(doc.Content) != 1 || doc.Content[0].Kind != yaml.MappingNode {
		return data
	}
	m := doc.Content[0]
	set := func(key string, val *yaml.Node) {
		for i := 0; i+1 < len(m.Content); i += 2 {
			if m.Content[i].Value == key {
				m.Content[i+1] = val
				return
			}
		}
		m.Content = append(m.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: key}, val)
	}
	scalar := func(v string) *yaml.Node { return &yaml.Node{Kind: yaml.ScalarNode, Value: v} }
	set("armEndpoint", scalar(url))
	set("caFile", scalar(ca))
	set("credential", &yaml.Node{Kind: yaml.MappingNode, Content: []*yaml.Node{
		scalar("kind"), scalar("staticTokenFile"), scalar("tokenFile"), scalar(token)}})
	out, err := yaml.Marshal(&doc)
	if err != nil {
		return data
	}
	return out
}

func rejected(sim *armsim.Server, id string) int {
	n := 0
	for _, ev := range sim.Events(0) {
		if ev.Kind == "write_rejected" && strings.EqualFold(ev.ResourceID, id) {
			n++
		}
	}
	return n
}

func tablesOn(t *testing.T, e *env, nva string) int {
	n := 0
	for _, id := range e.topo.tables {
		if nextHops(t, e.sim, id)["default"] == nvaIPs[nva]["internal"] {
			n++
		}
	}
	return n
}
