package drill

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestQuickDrillFailsOverAndReportsIt runs the drill's short scenario (the
// one `make test` covers so the drill cannot silently rot): armsim, Azurite,
// two stand-ins and two real nva-monitor processes; the active NVA crashes
// and everything must end on the standby, written by the lease holder only.
func TestQuickDrillFailsOverAndReportsIt(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	dir := t.TempDir()
	rep, err := Run(ctx, Options{Quick: true, Race: raceEnabled, WorkDir: dir, Progress: t.Output()})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Results) != 1 || rep.Results[0].Scenario != "crash" {
		t.Fatalf("quick ran %d scenario(s), want the crash scenario alone", len(rep.Results))
	}
	res := rep.Results[0]
	if !rep.Passed() {
		for _, c := range res.Checks {
			if !c.Pass {
				t.Errorf("check failed: %s: %s", c.Name, c.Detail)
			}
		}
		t.Errorf("the quick drill failed: %s\n%s", res.Err, rep.Summary())
		dumpLogs(t, res.Dir)
	}
	if len(res.Checks) < 5 {
		t.Errorf("%d checks ran, want at least 5 (placement, lease writes, one leader, failure kind, decision)", len(res.Checks))
	}
	tl := res.Timeline
	if tl.Total <= 0 || len(tl.Bars) != 3 {
		t.Errorf("timeline: total %s, %d write bars; want a total and 3 writes (route table, public IP detach and attach)", tl.Total, len(tl.Bars))
	}
	var kinds []string
	for _, s := range tl.Steps {
		kinds = append(kinds, s.Kind)
	}
	for _, k := range []string{StepAction, StepProbe, StepDecision, StepConverged} {
		if !strings.Contains(strings.Join(kinds, " "), k) {
			t.Errorf("timeline has no %s step: %v", k, kinds)
		}
	}
	var b bytes.Buffer
	if err := WriteHTML(&b, rep); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "PASS: 1 of 1 scenario(s) passed") && rep.Passed() {
		t.Errorf("the HTML report does not say PASS")
	}
	// The monitors ran with the race detector when this test does.
	logs, _ := filepath.Glob(filepath.Join(res.Dir, "*.log"))
	if len(logs) != 2 {
		t.Errorf("%d monitor logs in %s, want 2", len(logs), res.Dir)
	}
	for _, l := range logs {
		if b, _ := os.ReadFile(l); bytes.Contains(b, []byte("WARNING: DATA RACE")) {
			t.Errorf("%s reported a data race:\n%s", filepath.Base(l), b)
		}
	}
}

func dumpLogs(t *testing.T, dir string) {
	logs, _ := filepath.Glob(filepath.Join(dir, "*.log"))
	for _, l := range logs {
		b, _ := os.ReadFile(l)
		t.Logf("%s:\n%s", filepath.Base(l), b)
	}
}

// TestEveryWayOfSteeringHasACrashScenario: one scenario per way of
// steering besides the default, each deploying it, after the others.
func TestEveryWayOfSteeringHasACrashScenario(t *testing.T) {
	want := map[string]string{"crash-floating-ip": "floatingIp", "crash-load-balancer": "loadBalancer", "crash-dns": "dns"}
	seenSteered := false
	for _, n := range Names() {
		st := Steering(n)
		if Describe(n) == "" {
			t.Errorf("%s has no title", n)
		}
		if st == nil {
			if seenSteered {
				t.Errorf("%s (default steering) runs after a steered scenario; the default ones come first", n)
			}
			continue
		}
		seenSteered = true
		mode, ok := want[n]
		if !ok || !slices.Contains(st, mode) {
			t.Errorf("%s steers with %v; want one of %v", n, st, want)
		}
		delete(want, n)
	}
	if len(want) != 0 {
		t.Errorf("no scenario for %v", want)
	}
	if Steering("crash") != nil || Steering("nope") != nil {
		t.Errorf("crash or an unknown scenario has a steering")
	}
}
