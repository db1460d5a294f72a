package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
)

// Benchmark is one benchmark result line.
type Benchmark struct {
	Package string `json:"package,omitempty"`
	// Name without the GOMAXPROCS suffix, e.g. "BenchmarkFailover/concurrent/tables=10".
	Name string `json:"name"`
	// Procs is the GOMAXPROCS suffix of the line ("-2"); 0 when it had none.
	Procs int `json:"procs,omitempty"`
	// Runs is b.N, the iterations the figures are a mean of.
	Runs int `json:"runs"`
	// Metrics maps each unit ("ns/op", "routes-ms", ...) to its value.
	Metrics map[string]float64 `json:"metrics"`
}

// Input is what was read from `go test -bench` output.
type Input struct {
	Benchmarks []Benchmark
	// From the "goos:", "goarch:" and "cpu:" lines go test prints first.
	GOOS, GOARCH, CPU string
	// Failures says what failed: failed tests, benchmarks or packages,
	// build failures, panics.
	Failures []string
}

// event is the part of a `go test -json` (test2json) event read here.
type event struct {
	Action     string
	Package    string
	ImportPath string // build-output and build-fail events
	Test       string
	Output     string
}

// Read reads go test output, JSON events or plain text (line by line, so
// the two may even be mixed), and echoes every output line to echo (nil:
// no echo) as it arrives.
func Read(r io.Reader, echo io.Writer) (Input, error) {
	rd := &reader{echo: echo, pending: map[string]*strings.Builder{}}
	br := bufio.NewReaderSize(r, 64<<10)
	for {
		line, err := br.ReadString('\n')
		if line != "" {
			rd.line(strings.TrimRight(line, "\r\n"))
		}
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return rd.in, fmt.Errorf("read benchmark output: %w", err)
		}
	}
	// Output a package left without a final newline.
	for pkg, b := range rd.pending {
		if b.Len() > 0 {
			rd.text(pkg, b.String(), true)
		}
	}
	return rd.in, nil
}

type reader struct {
	in      Input
	echo    io.Writer
	pending map[string]*strings.Builder // JSON output per package not yet ended by a newline
	pkg     string                      // plain text: the last "pkg:" line
}

func (rd *reader) line(line string) {
	if strings.HasPrefix(line, "{") {
		var ev event
		if json.Unmarshal([]byte(line), &ev) == nil && ev.Action != "" {
			rd.event(ev)
			return
		}
	}
	rd.text(rd.pkg, line, false)
}

func (rd *reader) event(ev event) {
	pkg := ev.Package
	if pkg == "" {
		pkg = ev.ImportPath
	}
	switch ev.Action {
	case "output", "build-output":
		b := rd.pending[pkg]
		if b == nil {
			b = &strings.Builder{}
			rd.pending[pkg] = b
		}
		b.WriteString(ev.Output)
		s := b.String()
		i := strings.LastIndexByte(s, '\n')
		if i < 0 {
			return
		}
		b.Reset()
		b.WriteString(s[i+1:])
		for _, l := range strings.Split(s[:i], "\n") {
			rd.text(pkg, strings.TrimRight(l, "\r"), true)
		}
	case "fail":
		if ev.Test != "" {
			rd.in.Failures = append(rd.in.Failures, "FAIL "+ev.Test+" ("+pkg+")")
		} else {
			rd.in.Failures = append(rd.in.Failures, "FAIL "+pkg)
		}
	case "build-fail":
		rd.in.Failures = append(rd.in.Failures, "build failed: "+pkg)
	}
}

// text handles one line of go test's text output. fromJSON: the line came
// in JSON events, whose fail events already say what failed.
func (rd *reader) text(pkg, line string, fromJSON bool) {
	if rd.echo != nil {
		fmt.Fprintln(rd.echo, line)
	}
	switch {
	case strings.HasPrefix(line, "goos: "):
		rd.in.GOOS = strings.TrimSpace(strings.TrimPrefix(line, "goos: "))
	case strings.HasPrefix(line, "goarch: "):
		rd.in.GOARCH = strings.TrimSpace(strings.TrimPrefix(line, "goarch: "))
	case strings.HasPrefix(line, "cpu: "):
		rd.in.CPU = strings.TrimSpace(strings.TrimPrefix(line, "cpu: "))
	case strings.HasPrefix(line, "pkg: "):
		if !fromJSON {
			rd.pkg = strings.TrimSpace(strings.TrimPrefix(line, "pkg: "))
		}
	case !fromJSON && isFailure(line):
		rd.in.Failures = append(rd.in.Failures, strings.TrimSpace(line))
	default:
		if b, ok := parseBenchLine(line); ok {
			b.Package = pkg
			rd.in.Benchmarks = append(rd.in.Benchmarks, b)
		}
	}
}

// isFailure reports whether a plain go test line says something failed.
func isFailure(line string) bool {
	return strings.HasPrefix(line, "--- FAIL") || line == "FAIL" || strings.HasPrefix(line, "FAIL\t") ||
		strings.HasPrefix(line, "panic: ")
}

var procsSuffix = regexp.MustCompile(`-(\d+)$`)

// parseBenchLine parses a benchmark result line:
//
//	BenchmarkFailover/concurrent/tables=1-2   	       3	 428860049 ns/op	       428.0 pip-ms
func parseBenchLine(line string) (Benchmark, bool) {
	f := strings.Fields(line)
	if len(f) < 4 || len(f)%2 != 0 || !strings.HasPrefix(f[0], "Benchmark") {
		return Benchmark{}, false
	}
	runs, err := strconv.Atoi(f[1])
	if err != nil || runs <= 0 {
		return Benchmark{}, false
	}
	b := Benchmark{Name: f[0], Runs: runs, Metrics: map[string]float64{}}
	if m := procsSuffix.FindStringSubmatch(b.Name); m != nil {
		b.Procs, _ = strconv.Atoi(m[1])
		b.Name = strings.TrimSuffix(b.Name, m[0])
	}
	for i := 2; i < len(f); i += 2 {
		v, err := strconv.ParseFloat(f[i], 64)
		if err != nil {
			return Benchmark{}, false
		}
		b.Metrics[f[i+1]] = v
	}
	return b, true
}
