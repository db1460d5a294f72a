package main

import (
	"reflect"
	"strings"
	"testing"
)

func TestParseBenchLine(t *testing.T) {
	tests := []struct {
		name string
		line string
		want Benchmark
		ok   bool
	}{
		{
			name: "a result line with the GOMAXPROCS suffix gives the name without it and every metric",
			line: "BenchmarkFailover/concurrent/tables=10-2         \t       3\t 435806005 ns/op\t       435.0 pip-ms\t       224.0 routes-ms",
			want: Benchmark{Name: "BenchmarkFailover/concurrent/tables=10", Procs: 2, Runs: 3,
				Metrics: map[string]float64{"ns/op": 435806005, "pip-ms": 435, "routes-ms": 224}},
			ok: true,
		},
		{
			name: "a line without a suffix (GOMAXPROCS 1) keeps a name that ends in a number",
			line: "BenchmarkFailover/sequential/tables=1\t1\t643009673 ns/op\t0.1667 cpu-pct",
			want: Benchmark{Name: "BenchmarkFailover/sequential/tables=1", Runs: 1,
				Metrics: map[string]float64{"ns/op": 643009673, "cpu-pct": 0.1667}},
			ok: true,
		},
		{name: "the name line go test -json prints before a run is not a result", line: "BenchmarkFailover/concurrent/tables=1"},
		{name: "a log line is not a result", line: "    bench_test.go:35: armsim LRO latency 200ms"},
		{name: "a metric without its unit is not a result", line: "BenchmarkX-2\t1\t100 ns/op\t5"},
		{name: "a non-numeric value is not a result", line: "BenchmarkX-2\t1\tfast ns/op"},
		{name: "zero iterations is not a result", line: "BenchmarkX-2\t0\t100 ns/op"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := parseBenchLine(tt.line)
			if ok != tt.ok {
				t.Fatalf("parseBenchLine(%q) ok = %v, want %v", tt.line, ok, tt.ok)
			}
			if ok && !reflect.DeepEqual(got, tt.want) {
				t.Errorf("parseBenchLine(%q) =\n%+v\nwant\n%+v", tt.line, got, tt.want)
			}
		})
	}
}

func TestRead(t *testing.T) {
	const act = "github.com/hanva/hanva/monitor/internal/act"
	tests := []struct {
		name         string
		input        string
		wantNames    []string
		wantPackages []string
		wantFailures []string
		wantCPU      string
	}{
		{
			name: "plain text gives the results, the package from the pkg line and the CPU",
			input: "goos: linux\ngoarch: amd64\npkg: " + act + "\ncpu: AMD EPYC\n" +
				"BenchmarkFailover/concurrent/tables=1-2  \t 1\t 428860049 ns/op\t 428.0 pip-ms\n" +
				"--- BENCH: BenchmarkFailover\n    bench_test.go:35: armsim LRO latency 200ms\nPASS\nok  \t" + act + "\t15.7s\n",
			wantNames:    []string{"BenchmarkFailover/concurrent/tables=1"},
			wantPackages: []string{act},
			wantCPU:      "AMD EPYC",
		},
		{
			name: "JSON events whose output splits a result line are joined per package, even without a final newline",
			input: `{"Action":"output","Package":"p/a","Output":"cpu: AMD EPYC\n"}` + "\n" +
				`{"Action":"output","Package":"p/a","Test":"BenchmarkA","Output":"BenchmarkA-2   \t"}` + "\n" +
				`{"Action":"output","Package":"p/b","Test":"BenchmarkB","Output":"BenchmarkB-2 \t 3\t 7 ns/op\n"}` + "\n" +
				`{"Action":"output","Package":"p/a","Test":"BenchmarkA","Output":"       1\t 5 ns/op\t 2 x-ms\n"}` + "\n" +
				`{"Action":"output","Package":"p/c","Test":"BenchmarkC","Output":"BenchmarkC-2 \t 1\t 9 ns/op"}` + "\n",
			wantNames:    []string{"BenchmarkB", "BenchmarkA", "BenchmarkC"},
			wantPackages: []string{"p/b", "p/a", "p/c"},
			wantCPU:      "AMD EPYC",
		},
		{
			name: "JSON fail events are failures, and the FAIL text they come with is not counted twice",
			input: `{"Action":"output","Package":"p/e2e","Test":"BenchmarkDetection","Output":"--- FAIL: BenchmarkDetection\n"}` + "\n" +
				`{"Action":"fail","Package":"p/e2e","Test":"BenchmarkDetection"}` + "\n" +
				`{"Action":"output","Package":"p/e2e","Output":"FAIL\tp/e2e\t3.1s\n"}` + "\n" +
				`{"Action":"fail","Package":"p/e2e"}` + "\n" +
				`{"Action":"build-fail","ImportPath":"p/x [p/x.test]"}` + "\n",
			wantFailures: []string{"FAIL BenchmarkDetection (p/e2e)", "FAIL p/e2e", "build failed: p/x [p/x.test]"},
		},
		{
			name:         "plain FAIL lines and panics are failures",
			input:        "--- FAIL: BenchmarkDetection/probe=default\n    detect_bench_test.go:1: boom\nFAIL\nFAIL\tp/e2e\t3.1s\npanic: oops\n",
			wantFailures: []string{"--- FAIL: BenchmarkDetection/probe=default", "FAIL", "FAIL\tp/e2e\t3.1s", "panic: oops"},
		},
		{
			name:      "a line that starts with a brace but is not an event is plain text",
			input:     "{not json\nBenchmarkX-2\t1\t3 ns/op\n",
			wantNames: []string{"BenchmarkX"}, wantPackages: []string{""},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var echo strings.Builder
			in, err := Read(strings.NewReader(tt.input), &echo)
			if err != nil {
				t.Fatal(err)
			}
			var names, pkgs []string
			for _, b := range in.Benchmarks {
				names = append(names, b.Name)
				pkgs = append(pkgs, b.Package)
			}
			if !reflect.DeepEqual(names, tt.wantNames) {
				t.Errorf("benchmarks = %q, want %q", names, tt.wantNames)
			}
			if !reflect.DeepEqual(pkgs, tt.wantPackages) {
				t.Errorf("packages = %q, want %q", pkgs, tt.wantPackages)
			}
			if !reflect.DeepEqual(in.Failures, tt.wantFailures) {
				t.Errorf("failures = %q, want %q", in.Failures, tt.wantFailures)
			}
			if in.CPU != tt.wantCPU {
				t.Errorf("CPU = %q, want %q", in.CPU, tt.wantCPU)
			}
			if echo.Len() == 0 {
				t.Errorf("nothing was echoed")
			}
		})
	}
}

func TestReadEchoesEveryOutputLineOnce(t *testing.T) {
	input := `{"Action":"start","Package":"p/a"}` + "\n" +
		`{"Action":"output","Package":"p/a","Output":"BenchmarkA-2 \t"}` + "\n" +
		`{"Action":"output","Package":"p/a","Output":"1\t5 ns/op\n"}` + "\n" +
		"plain line\n"
	var echo strings.Builder
	if _, err := Read(strings.NewReader(input), &echo); err != nil {
		t.Fatal(err)
	}
	want := "BenchmarkA-2 \t1\t5 ns/op\nplain line\n"
	if echo.String() != want {
		t.Errorf("echo = %q, want %q", echo.String(), want)
	}
}
