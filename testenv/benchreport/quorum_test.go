package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// goalsOutput is what the daemon's detection tests print under go test
// -json -v: result lines inside output events, among the test's own lines.
const goalsOutput = `{"Action":"run","Package":"github.com/hanva/hanva/monitor/daemon","Test":"TestDetectionAtTheDefaultsDecidesWithinASecondOfARefusedFailure"}
{"Action":"output","Package":"github.com/hanva/hanva/monitor/daemon","Test":"TestDetectionAtTheDefaultsDecidesWithinASecondOfARefusedFailure","Output":"BenchmarkDetectionQuorum/probe=default/failure=refused\t20\t523 first-failed-p50-ms\t933 first-failed-p95-ms\t723 down-p50-ms\t1133 down-p95-ms\t723 quorum-p50-ms\t1133 quorum-p95-ms\t723 decision-p50-ms\t1212 decision-p95-ms\t1000 interval-ms\t1000 timeout-ms\t100 fast-ms\t3 threshold\t2 monitors\n"}
{"Action":"output","Package":"github.com/hanva/hanva/monitor/daemon","Test":"TestDetectionAtTheDefaultsDecidesWithinASecondOfARefusedFailure","Output":"    detect_test.go:139: default/refused: decision after median 722.706479ms, p95 1.211973861s\n"}
{"Action":"output","Package":"github.com/hanva/hanva/monitor/daemon","Test":"TestLossySoakMakesNoFalseFailover/monitors=2","Output":"BenchmarkLossySoak/monitors=2\t1\t30 minutes\t2 loss-pct\t300 jitter-ms\t68465 probes\t1323 dropped\t0 down-verdicts\t0 false-failovers\n"}
{"Action":"pass","Package":"github.com/hanva/hanva/monitor/daemon"}
`

func TestDetectionGoalsTablesAndFile(t *testing.T) {
	out := filepath.Join(t.TempDir(), "results.json")
	var stdout, stderr strings.Builder
	now := func() time.Time { return time.Date(2026, 12, 6, 10, 0, 0, 0, time.UTC) }
	if code := run([]string{"-o", out, "-q"}, strings.NewReader(goalsOutput), &stdout, &stderr, now); code != 0 {
		t.Fatalf("exit code %d, stderr:\n%s", code, stderr.String())
	}
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	var r Results
	if err := json.Unmarshal(data, &r); err != nil {
		t.Fatal(err)
	}
	if r.QuorumDetection == nil || len(r.QuorumDetection.Rows) != 1 {
		t.Fatalf("quorumDetection = %+v, want one row", r.QuorumDetection)
	}
	row := r.QuorumDetection.Rows[0]
	want := QuorumDetectionRow{Probe: "default", IntervalMs: 1000, TimeoutMs: 1000, FastIntervalMs: 100, Threshold: 3, Monitors: 2,
		Failure: "refused", Failures: 20, FirstFailed: Spread{523, 933}, MarkedDown: Spread{723, 1133}, Quorum: Spread{723, 1133},
		Decision: Spread{723, 1212}}
	if row != want {
		t.Errorf("row = %+v\nwant %+v", row, want)
	}
	if r.Soak == nil || len(r.Soak.Rows) != 1 || r.Soak.Rows[0] != (SoakRow{Monitors: 2, Minutes: 30, LossPct: 2, JitterMs: 300,
		Probes: 68465, Dropped: 1323, DownVerdicts: 0, FalseFailovers: 0}) {
		t.Errorf("soak = %+v", r.Soak)
	}
	for _, line := range []string{
		"default (1,000 ms, timeout 1,000 ms, fast 100 ms, down after 3)",
		"723 ms / 1,212 ms",
		"false failovers",
	} {
		if !strings.Contains(stdout.String(), line) {
			t.Errorf("tables lack %q:\n%s", line, stdout.String())
		}
	}
}
