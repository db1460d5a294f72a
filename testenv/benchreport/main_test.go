package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// benchOutput is what `make bench` pipes in, shortened: the act package in
// plain text and the e2e package as JSON events.
const benchOutput = `goos: linux
goarch: amd64
pkg: github.com/hanva/hanva/monitor/internal/act
cpu: AMD EPYC
BenchmarkFailover/concurrent/tables=50-2 	3	 459712585 ns/op	 200.0 lro-latency-ms	 459.0 pip-ms	 20.00 poll-ms	 267.0 routes-ms	 459.0 total-ms
BenchmarkFailover/sequential/tables=50-2 	3	11078641536 ns/op	 200.0 lro-latency-ms	 433.0 pip-ms	 20.00 poll-ms	 11078 routes-ms	 11078 total-ms
BenchmarkFailover/concurrent/tables=1-2  	3	 428860049 ns/op	 200.0 lro-latency-ms	 428.0 pip-ms	 20.00 poll-ms	 218.0 routes-ms	 428.0 total-ms
BenchmarkFailover/sequential/tables=1-2  	3	 643009673 ns/op	 200.0 lro-latency-ms	 428.0 pip-ms	 20.00 poll-ms	 643.0 routes-ms	 643.0 total-ms
PASS
{"Action":"output","Package":"github.com/hanva/hanva/testenv/e2e","Test":"BenchmarkDetection/probe=default/failure=silent","Output":"BenchmarkDetection/probe=default/failure=silent-2 \t 3\t 6062966594 ns/op\t 3974 decision-ms\t 3974 down-ms\t 1974 first-failed-ms\t 1000 interval-ms\t 25.00 phase-ms\t 3.000 threshold\t 1000 timeout-ms\n"}
{"Action":"output","Package":"github.com/hanva/hanva/testenv/e2e","Test":"BenchmarkDaemonResources/probe=aggressive","Output":"BenchmarkDaemonResources/probe=aggressive-2 \t 1\t 32269572086 ns/op\t 0.7000 cpu-pct\t 200.0 interval-ms\t 2.000 nvas\t 22.33 peak-rss-MB\t 10.00 route-tables\t 22.30 rss-MB\t 2.000 threshold\t 150.0 timeout-ms\t 30.00 window-s\n"}
{"Action":"pass","Package":"github.com/hanva/hanva/testenv/e2e"}
`

func TestRunPrintsTheTablesAndWritesTheFigures(t *testing.T) {
	out := filepath.Join(t.TempDir(), "results.json")
	var stdout, stderr strings.Builder
	now := func() time.Time { return time.Date(2026, 11, 22, 3, 4, 0, 0, time.UTC) }
	code := run([]string{"-o", out, "-q"}, strings.NewReader(benchOutput), &stdout, &stderr, now)
	if code != 0 {
		t.Fatalf("exit code %d, stderr:\n%s", code, stderr.String())
	}
	if stderr.Len() != 0 {
		t.Errorf("-q still echoed:\n%s", stderr.String())
	}
	table := stdout.String()
	for _, want := range []string{
		"2026-11-22 03:04 UTC: linux/amd64, AMD EPYC",
		"InProgress 200 ms (the LRO latency), status polled every 20 ms",
		"mean of 3 runs each",
		"|            1 |        218 ms |     428 ms |     428 ms |               643 ms |            428 ms |            643 ms |          2.9× |       1.5× |",
		"|           50 |        267 ms |     459 ms |     459 ms |            11,078 ms |            433 ms |         11,078 ms |         41.5× |      24.1× |",
		"| default: every 1s, timeout 1s, down after 3 | silent  |           1,974 ms |    3,974 ms |          3,974 ms |",
		"fails 25 ms after answering a probe",
		"probing 2 NVAs over HTTP with up to 10 route tables managed",
		"over 30 s (one run each)",
		"| aggressive: every 200ms, timeout 150ms, down after 2 |           10 |          22.3 MB |      22.3 MB |             0.70 % |",
		"The same figures, with the parameters and the machine: " + out,
	} {
		if !strings.Contains(table, want) {
			t.Errorf("the printed report lacks %q:\n%s", want, table)
		}
	}

	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	var got Results
	if err := json.Unmarshal(data, &got); err != nil {
		t.Fatalf("the file is not the results as JSON: %v\n%s", err, data)
	}
	if got.Command != "make bench" || !got.Date.Equal(now()) || got.Machine.GOOS != "linux" || got.Machine.CPU != "AMD EPYC" ||
		got.Machine.GOMAXPROCS != 2 || got.Machine.GoVersion == "" || got.Machine.CPUs == 0 {
		t.Errorf("file header = %+v %v %+v", got.Command, got.Date, got.Machine)
	}
	wantConv := &Convergence{LROLatencyMs: 200, PollMs: 20, Rows: []ConvergenceRow{
		{RouteTables: 1, Runs: 3, Hanva: &Timing{218, 428, 428}, MspnpOrder: &Timing{643, 428, 643}, RatioAll: 643.0 / 428, RatioRoutes: 643.0 / 218},
		{RouteTables: 50, Runs: 3, Hanva: &Timing{267, 459, 459}, MspnpOrder: &Timing{11078, 433, 11078}, RatioAll: 11078.0 / 459, RatioRoutes: 11078.0 / 267},
	}}
	if !reflect.DeepEqual(got.Convergence, wantConv) {
		gj, _ := json.Marshal(got.Convergence)
		wj, _ := json.Marshal(wantConv)
		t.Errorf("convergence =\n%s\nwant\n%s", gj, wj)
	}
	wantDet := &Detection{Rows: []DetectionRow{{Probe: "default", IntervalMs: 1000, TimeoutMs: 1000, Threshold: 3, Failure: "silent",
		PhaseMs: 25, Runs: 3, FirstFailedProbeMs: 1974, MarkedDownMs: 3974, DecisionMs: 3974}}}
	if !reflect.DeepEqual(got.Detection, wantDet) {
		t.Errorf("detection = %+v, want %+v", got.Detection, wantDet)
	}
	wantRes := &Resources{Rows: []ResourceRow{{Probe: "aggressive", IntervalMs: 200, TimeoutMs: 150, Threshold: 2, NVAs: 2, RouteTables: 10,
		WindowS: 30, Runs: 1, RSSMB: 22.30, PeakRSSMB: 22.33, CPUPercent: 0.7}}}
	if !reflect.DeepEqual(got.Resources, wantRes) {
		t.Errorf("resources = %+v, want %+v", got.Resources, wantRes)
	}
	if len(got.Benchmarks) != 6 {
		t.Errorf("the file keeps %d benchmark lines, want all 6", len(got.Benchmarks))
	}
}

func TestRunExitCodes(t *testing.T) {
	tests := []struct {
		name      string
		args      []string
		input     string
		wantCode  int
		wantFile  bool
		wantError string
	}{
		{name: "a clean run writes the file", input: benchOutput, wantCode: 0, wantFile: true},
		{
			name:     "a failed benchmark prints what passed, writes no file and exits 1",
			input:    benchOutput + `{"Action":"fail","Package":"github.com/hanva/hanva/testenv/e2e","Test":"BenchmarkDetection"}` + "\n",
			wantCode: 1, wantError: "1 failure(s) in the benchmark run",
		},
		{name: "input without a benchmark exits 1", input: "PASS\nok  \tp\t0.1s\n", wantCode: 1, wantError: "no benchmark result"},
		{name: "an unknown flag is a usage error", args: []string{"-x"}, input: benchOutput, wantCode: 2},
		{name: "an argument is a usage error", args: []string{"bench.txt"}, input: benchOutput, wantCode: 2, wantError: "comes on stdin"},
		{name: "-help is not an error", args: []string{"-help"}, wantCode: 0, wantError: "usage: go test -json -bench"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "results.json")
			var stdout, stderr strings.Builder
			code := run(append([]string{"-o", out}, tt.args...), strings.NewReader(tt.input), &stdout, &stderr, time.Now)
			if code != tt.wantCode {
				t.Errorf("exit code %d, want %d; stderr:\n%s", code, tt.wantCode, stderr.String())
			}
			if _, err := os.Stat(out); (err == nil) != tt.wantFile {
				t.Errorf("file written = %v, want %v", err == nil, tt.wantFile)
			}
			if !strings.Contains(stderr.String(), tt.wantError) {
				t.Errorf("stderr lacks %q:\n%s", tt.wantError, stderr.String())
			}
		})
	}
}

func TestMilliseconds(t *testing.T) {
	for in, want := range map[float64]string{0: "0 ms", 975: "975 ms", 974.6: "975 ms", 1000: "1,000 ms", 11078: "11,078 ms",
		1234567: "1,234,567 ms", -2500: "-2,500 ms"} {
		if got := ms(in); got != want {
			t.Errorf("ms(%v) = %q, want %q", in, got, want)
		}
	}
}
