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

// steeringOutput is BenchmarkSteering's output as `go test -json` events
// (modes out of order, a mode benchreport does not know, a routes row
// missing for 10 tables), after a BenchmarkFailover line in plain text.
const steeringOutput = `goos: linux
goarch: amd64
pkg: github.com/hanva/hanva/monitor/internal/act
cpu: AMD EPYC
BenchmarkFailover/concurrent/tables=1-2  	3	 428860049 ns/op	 200.0 lro-latency-ms	 428.0 pip-ms	 20.00 poll-ms	 218.0 routes-ms	 428.0 total-ms
{"Action":"output","Package":"github.com/hanva/hanva/monitor/internal/act","Test":"BenchmarkSteering/mode=dnsRecord/tables=1","Output":"BenchmarkSteering/mode=dnsRecord/tables=1-2      \t       3\t   2794825 ns/op\t         2.771 converged-ms\t       200.0 lro-latency-ms\t        20.00 poll-ms\t         1.000 writes\n"}
{"Action":"output","Package":"github.com/hanva/hanva/monitor/internal/act","Test":"BenchmarkSteering/mode=routes/tables=50","Output":"BenchmarkSteering/mode=routes/tables=50-2 \t 3\t 456100000 ns/op\t 456.1 converged-ms\t 200.0 lro-latency-ms\t 20.00 poll-ms\t 52.00 writes\n"}
{"Action":"output","Package":"github.com/hanva/hanva/monitor/internal/act","Test":"BenchmarkSteering/mode=routes/tables=1","Output":"BenchmarkSteering/mode=routes/tables=1-2 \t 3\t 424000000 ns/op\t 424.0 converged-ms\t 200.0 lro-latency-ms\t 20.00 poll-ms\t 3.000 writes\n"}
{"Action":"output","Package":"github.com/hanva/hanva/monitor/internal/act","Test":"BenchmarkSteering/mode=backendPool/tables=50","Output":"BenchmarkSteering/mode=backendPool/tables=50-2 \t 3\t 212000000 ns/op\t 212.0 converged-ms\t 200.0 lro-latency-ms\t 20.00 poll-ms\t 1.000 writes\n"}
{"Action":"output","Package":"github.com/hanva/hanva/monitor/internal/act","Test":"BenchmarkSteering/mode=floatingIp/tables=10","Output":"BenchmarkSteering/mode=floatingIp/tables=10-2 \t 3\t 420000000 ns/op\t 420.0 converged-ms\t 200.0 lro-latency-ms\t 20.00 poll-ms\t 2.000 writes\n"}
{"Action":"output","Package":"github.com/hanva/hanva/monitor/internal/act","Test":"BenchmarkSteering/mode=anycast/tables=1","Output":"BenchmarkSteering/mode=anycast/tables=1-2 \t 1\t 100000000 ns/op\t 100.0 converged-ms\t 200.0 lro-latency-ms\t 20.00 poll-ms\t 1.500 writes\n"}
{"Action":"output","Package":"github.com/hanva/hanva/monitor/internal/act","Test":"BenchmarkSteering/tables=1","Output":"BenchmarkSteering/tables=1-2 \t 1\t 100000000 ns/op\t 100.0 converged-ms\n"}
{"Action":"pass","Package":"github.com/hanva/hanva/monitor/internal/act"}
`

func TestSteeringRowsTableAndFile(t *testing.T) {
	out := filepath.Join(t.TempDir(), "results.json")
	var stdout, stderr strings.Builder
	now := func() time.Time { return time.Date(2026, 12, 6, 9, 30, 0, 0, time.UTC) }
	if code := run([]string{"-o", out, "-q"}, strings.NewReader(steeringOutput), &stdout, &stderr, now); code != 0 {
		t.Fatalf("exit code %d, stderr:\n%s", code, stderr.String())
	}

	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	var got Results
	if err := json.Unmarshal(data, &got); err != nil {
		t.Fatalf("the file is not the results as JSON: %v\n%s", err, data)
	}
	// Sorted routes, floatingIp, backendPool, dnsRecord, then unknown
	// modes; by table count within a mode. The ratio is to the routes row
	// of the same table count, none without one; a line without a mode is
	// not a row.
	routes1, routes50 := 424.0, 456.1 // variables: the ratios divide at run time, as Build does
	want := &Steering{LROLatencyMs: 200, PollMs: 20, Rows: []SteeringRow{
		{Mode: "routes", RouteTables: 1, Runs: 3, ConvergedMs: 424, Writes: 3, RatioToRoutes: 1},
		{Mode: "routes", RouteTables: 50, Runs: 3, ConvergedMs: 456.1, Writes: 52, RatioToRoutes: 1},
		{Mode: "floatingIp", RouteTables: 10, Runs: 3, ConvergedMs: 420, Writes: 2},
		{Mode: "backendPool", RouteTables: 50, Runs: 3, ConvergedMs: 212, Writes: 1, RatioToRoutes: 212 / routes50},
		{Mode: "dnsRecord", RouteTables: 1, Runs: 3, ConvergedMs: 2.771, Writes: 1, RatioToRoutes: 2.771 / routes1},
		{Mode: "anycast", RouteTables: 1, Runs: 1, ConvergedMs: 100, Writes: 1.5, RatioToRoutes: 100 / routes1},
	}}
	if !reflect.DeepEqual(got.Steering, want) {
		gj, _ := json.Marshal(got.Steering)
		wj, _ := json.Marshal(want)
		t.Errorf("steering =\n%s\nwant\n%s", gj, wj)
	}
	// The failover convergence table is built as before, beside it.
	if c := got.Convergence; c == nil || len(c.Rows) != 1 || c.Rows[0].Hanva == nil || c.Rows[0].Hanva.AllMs != 428 {
		t.Errorf("convergence = %+v, want the one BenchmarkFailover row", c)
	}
	if len(got.Benchmarks) != 8 {
		t.Errorf("the file keeps %d benchmark lines, want all 8", len(got.Benchmarks))
	}

	table := stdout.String()
	for _, want := range []string{
		"Failover by steering mode against armsim: every write stays InProgress 200 ms, status polled every 20 ms;",
		"(mean of 1 to 3 runs each)",
		"| mode        | route tables | converged | writes | vs routes |",
		"| ----------- | -----------: | --------: | -----: | --------: |",
		"| routes      |            1 |    424 ms |      3 |     1.00× |",
		"| routes      |           50 |    456 ms |     52 |     1.00× |",
		"| floatingIp  |           10 |    420 ms |      2 |           |",
		"| backendPool |           50 |    212 ms |      1 |     0.46× |",
		"| dnsRecord   |            1 |      3 ms |      1 |   0.0065× |",
		"| anycast     |            1 |    100 ms |    1.5 |     0.24× |",
		"armsim gives every write the same latency, so this counts sequential writes",
		"Azure/azure-cli#23446",
		"Failover convergence against armsim",
	} {
		if !strings.Contains(table, want) {
			t.Errorf("the printed report lacks %q:\n%s", want, table)
		}
	}
	if i, j := strings.Index(table, "Failover convergence"), strings.Index(table, "Failover by steering mode"); i < 0 || j < i {
		t.Errorf("the steering table should follow the convergence table:\n%s", table)
	}
}

func TestNoSteeringLinesNoSteeringTable(t *testing.T) {
	in, err := Read(strings.NewReader(benchOutput), nil)
	if err != nil {
		t.Fatal(err)
	}
	r := Build(in, "make bench", time.Now())
	if r.Steering != nil {
		t.Errorf("steering = %+v without BenchmarkSteering lines, want none", r.Steering)
	}
	var b strings.Builder
	Print(&b, r)
	if strings.Contains(b.String(), "steering") {
		t.Errorf("the report mentions steering without BenchmarkSteering lines:\n%s", b.String())
	}
	data, _ := json.Marshal(r)
	if strings.Contains(string(data), `"steering"`) {
		t.Errorf("the file has a steering key without BenchmarkSteering lines: %s", data)
	}
}

func TestRatioCellAndCount(t *testing.T) {
	for in, want := range map[float64]string{0: "", 1: "1.00×", 0.991: "0.99×", 0.4649: "0.46×", 0.1: "0.10×", 0.0065: "0.0065×", 24.12: "24.12×"} {
		if got := ratioCell(in); got != want {
			t.Errorf("ratioCell(%v) = %q, want %q", in, got, want)
		}
	}
	for in, want := range map[float64]string{0: "0", 1: "1", 52: "52", 1.5: "1.5", 2.667: "2.7"} {
		if got := count(in); got != want {
			t.Errorf("count(%v) = %q, want %q", in, got, want)
		}
	}
}
