// Command drill rehearses failovers of the whole hanva system on one
// machine, with no Azure subscription: armsim (an emulated Azure Resource
// Manager) seeded with the sample topology, Azurite for the leader lease, a
// stand-in per NVA probe port, and real nva-monitor processes. It runs the
// scenarios, checks each outcome against armsim, prints a timeline and a
// PASS/FAIL line per scenario, and writes a self-contained HTML report.
//
//	go run ./testenv/drill/cmd/drill [flags]     (make drill)
//
// Exit codes: 0 every scenario passed, 1 a scenario failed or the drill
// could not run, 2 bad flags.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/hanva/hanva/testenv/drill"
	"github.com/hanva/hanva/testenv/lab"
	"github.com/hanva/hanva/testenv/stackseed"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

func usage(fs *flag.FlagSet, w io.Writer) func() {
	return func() {
		fmt.Fprintf(w, `drill rehearses hanva failovers locally: armsim (emulated ARM) seeded with
the sample topology, Azurite for the leader lease, an HTTP stand-in per NVA
and real nva-monitor processes built from this module. Needs Go and Azurite
(make azurite); no Azure subscription.

Usage: go run ./testenv/drill/cmd/drill [flags]     (or: make drill DRILL_FLAGS="...")

Scenarios (each from a clean, converged state: all NVAs up, Azure on nva-1):
`)
		for _, n := range drill.Names() {
			fmt.Fprintf(w, "  %-20s %s\n", n, drill.Describe(n))
		}
		fmt.Fprintf(w, "\nFlags:\n")
		fs.PrintDefaults()
		fmt.Fprintf(w, `
Exit codes: 0 every scenario passed, 1 a scenario failed or the drill could
not run, 2 bad flags. The leader scenarios wait out a 15 s lease (Azure's
shortest); the whole drill takes a few minutes.
`)
	}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("drill", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = usage(fs, stderr)
	scenarios := fs.String("scenarios", "", "comma-separated scenarios to run (default: all, in the order listed above)")
	nvas := fs.Int("nvas", drill.DefaultNVAs, "NVAs in the sample topology: 2 or 3")
	monitors := fs.Int("monitors", drill.DefaultMonitors, "nva-monitor processes: 2 or 3")
	latency := fs.Duration("latency", drill.DefaultLatency, "armsim's ARM operation latency: how long each accepted write stays Updating")
	probe := fs.Duration("probe-interval", drill.DefaultProbeInterval, "the monitors' probe interval (down after 3 failed probes, up after 2 good ones)")
	out := fs.String("out", "drill-report.html", "where to write the HTML report")
	quick := fs.Bool("quick", false, "run only the short scenario of make test: one crash failover, 2 monitors, 100ms latency, 200ms probes")
	workDir := fs.String("work-dir", "", "directory for the monitors' configs and logs (default: a new temporary directory, kept)")
	topology := fs.String("topology", "program", "where the topology and monitor config come from: program (what the Pulumi program declares in sample mode, run under mocks with this drill's settings and the scenario's steering as its stack config) or hand (the same topology written by hand, no Pulumi; default steering only, so the crash-* scenarios of other ways of steering are left out)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "drill: unexpected arguments %q; see --help\n", fs.Args())
		return 2
	}
	o := drill.Options{NVAs: *nvas, Monitors: *monitors, Latency: *latency, ProbeInterval: *probe, Quick: *quick,
		Progress: stdout, WorkDir: *workDir}
	handOnly := false
	switch *topology {
	case "program":
		o.Stack, o.StackName = stackseed.Sample, "what the Pulumi program declares in sample mode: components/stack under pulumitest mocks, converted (testenv/stackseed)"
	case "hand":
		o.Stack, o.StackName = lab.SampleStack, "the sample topology, written by hand (lab.SampleStack)"
		// It has only the default steering: by default, run the scenarios
		// that need no other.
		handOnly = true
	default:
		fmt.Fprintf(stderr, "drill: --topology %q: want program or hand\nsee --help\n", *topology)
		return 2
	}
	if *scenarios != "" {
		for _, s := range strings.Split(*scenarios, ",") {
			if s = strings.TrimSpace(s); s != "" {
				o.Scenarios = append(o.Scenarios, s)
			}
		}
	}
	if handOnly {
		var steered []string
		for _, n := range o.Scenarios {
			if drill.Steering(n) != nil {
				steered = append(steered, n)
			}
		}
		if len(steered) > 0 {
			fmt.Fprintf(stderr, "drill: --topology hand: scenario(s) %s deploy another way of steering, which only the program declares; use --topology program\nsee --help\n", strings.Join(steered, ", "))
			return 2
		}
		if len(o.Scenarios) == 0 {
			for _, n := range drill.Names() {
				if drill.Steering(n) == nil {
					o.Scenarios = append(o.Scenarios, n)
				}
			}
		}
	}
	if err := o.Validate(); err != nil {
		fmt.Fprintf(stderr, "drill: %v\nsee --help\n", err)
		return 2
	}
	start := time.Now()
	rep, err := drill.Run(ctx, o)
	if rep != nil && len(rep.Results) > 0 {
		path, werr := writeReport(*out, rep)
		if werr != nil {
			fmt.Fprintf(stderr, "drill: %v\n", werr)
			err = errors.Join(err, werr)
		} else {
			fmt.Fprintf(stdout, "\nreport: %s\n", path)
		}
		fmt.Fprint(stdout, rep.Summary())
	}
	if err != nil {
		fmt.Fprintln(stderr, err) // says "drill: ..." already
		return 1
	}
	fmt.Fprintf(stdout, "drill finished in %s\n", time.Since(start).Round(time.Second))
	if !rep.Passed() {
		return 1
	}
	return 0
}

func writeReport(path string, rep *drill.Report) (string, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", fmt.Errorf("write report: %w", err)
	}
	f, err := os.Create(abs)
	if err != nil {
		return "", fmt.Errorf("write report: %w", err)
	}
	if err := drill.WriteHTML(f, rep); err != nil {
		f.Close()
		return "", fmt.Errorf("write report %s: %w", abs, err)
	}
	if err := f.Close(); err != nil {
		return "", fmt.Errorf("write report %s: %w", abs, err)
	}
	return abs, nil
}
