package main

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"
)

// scaleOutput is BenchmarkScale's output as plain text, rows out of order,
// plus a line without a subscription count (not a row).
const scaleOutput = `goos: linux
goarch: amd64
pkg: github.com/hanva/hanva/monitor/internal/act
cpu: AMD EPYC
BenchmarkScale/tables=500/subs=10-2         	       1	12764077932 ns/op	         1.197 converged-s	         1.000 floor-s	         1.000 lro-latency-s	       500.0 mspnp-order-s	         0.1971 over-floor-L	         1.197 ratio	       518.0 reads	       500.0 route-tables	        10.00 subscriptions	         0 throttled-429s	       502.0 writes
BenchmarkScale/tables=200/subs=1-2         	       1	12539076693 ns/op	         1.561 converged-s	         1.000 floor-s	         1.000 lro-latency-s	       200.0 mspnp-order-s	         0.5611 over-floor-L	         1.561 ratio	       208.0 reads	       200.0 route-tables	         1.000 subscriptions	         0 throttled-429s	       202.0 writes
BenchmarkScale/tables=500/subs=1-2         	       1	52381512848 ns/op	        31.67 converged-s	        31.00 floor-s	         1.000 lro-latency-s	       500.0 mspnp-order-s	         0.6662 over-floor-L	         1.021 ratio	       508.0 reads	       500.0 route-tables	         1.000 subscriptions	         1.000 throttled-429s	       502.0 writes
BenchmarkScale/tables=7-2         	       1	1 ns/op	         1.0 converged-s
PASS
`

func TestScaleRowsTableAndFile(t *testing.T) {
	in, err := Read(strings.NewReader(scaleOutput), nil)
	if err != nil {
		t.Fatal(err)
	}
	r := Build(in, "make bench", time.Date(2026, 12, 6, 10, 30, 0, 0, time.UTC))
	// By subscription count, then table count.
	want := &Scale{LROLatencyS: 1, Rows: []ScaleRow{
		{RouteTables: 200, Subscriptions: 1, Runs: 1, ConvergedS: 1.561, FloorS: 1, Ratio: 1.561, OverFloorL: 0.5611, Reads: 208, Writes: 202, MspnpOrderS: 200},
		{RouteTables: 500, Subscriptions: 1, Runs: 1, ConvergedS: 31.67, FloorS: 31, Ratio: 1.021, OverFloorL: 0.6662, Throttled: 1, Reads: 508, Writes: 502, MspnpOrderS: 500},
		{RouteTables: 500, Subscriptions: 10, Runs: 1, ConvergedS: 1.197, FloorS: 1, Ratio: 1.197, OverFloorL: 0.1971, Reads: 518, Writes: 502, MspnpOrderS: 500},
	}}
	if !reflect.DeepEqual(r.Scale, want) {
		gj, _ := json.Marshal(r.Scale)
		wj, _ := json.Marshal(want)
		t.Errorf("scale =\n%s\nwant\n%s", gj, wj)
	}
	data, _ := json.Marshal(r)
	if !strings.Contains(string(data), `"scale":{"lroLatencyS":1,"rows":[{"routeTables":200,"subscriptions":1,`) {
		t.Errorf("the file lacks the scale rows: %s", data)
	}

	var b strings.Builder
	Print(&b, r)
	table := b.String()
	for _, want := range []string{
		"Failover at scale against armsim with Azure's documented throttling",
		"every write InProgress 1.00 s (L)",
		"| route tables | subscriptions | converged |  floor | ratio | over floor | 429s | reads | writes | ha-nva order (computed) |",
		"|          200 |             1 |    1.56 s | 1.00 s |  1.56 |     0.56 L |    0 |   208 |    202 |                   200 s |",
		"|          500 |             1 |    31.7 s | 31.0 s |  1.02 |     0.67 L |    1 |   508 |    502 |                   500 s |",
		"|          500 |            10 |    1.20 s | 1.00 s |  1.20 |     0.20 L |    0 |   518 |    502 |                   500 s |",
	} {
		if !strings.Contains(table, want) {
			t.Errorf("the printed report lacks %q:\n%s", want, table)
		}
	}
}

func TestNoScaleLinesNoScaleTable(t *testing.T) {
	in, err := Read(strings.NewReader(benchOutput), nil)
	if err != nil {
		t.Fatal(err)
	}
	r := Build(in, "make bench", time.Now())
	if r.Scale != nil {
		t.Errorf("scale = %+v without BenchmarkScale lines, want none", r.Scale)
	}
	var b strings.Builder
	Print(&b, r)
	if strings.Contains(b.String(), "at scale") {
		t.Errorf("the report has a scale table without BenchmarkScale lines:\n%s", b.String())
	}
}

func TestSecs(t *testing.T) {
	for in, want := range map[float64]string{0: "0.00 s", 1.117: "1.12 s", 31.67: "31.7 s", 500: "500 s"} {
		if got := secs(in); got != want {
			t.Errorf("secs(%v) = %q, want %q", in, got, want)
		}
	}
}
