package main

import (
	"fmt"
	"io"
	"strconv"
)

// The detection goals of issue 11, measured by the daemon's own tests in
// virtual time (monitor/daemon/detect_test.go prints them as benchmark
// lines when make bench runs them): two monitors that must agree (quorum
// majority), 20 failures at random phases of the probe schedule, and a
// 30-minute soak with lossy probes.

// QuorumDetection is BenchmarkDetectionQuorum.
type QuorumDetection struct {
	Rows []QuorumDetectionRow `json:"rows"`
}

// QuorumDetectionRow is one probe setting and failure kind: median and 95th
// percentile, in milliseconds of virtual time, from the failure to each
// step.
type QuorumDetectionRow struct {
	Probe          string  `json:"probe"`
	IntervalMs     float64 `json:"intervalMs"`
	TimeoutMs      float64 `json:"timeoutMs"`
	FastIntervalMs float64 `json:"fastIntervalMs"`
	Threshold      int     `json:"threshold"`
	Monitors       int     `json:"monitors"`
	Failure        string  `json:"failure"`
	Failures       int     `json:"failures"`
	FirstFailed    Spread  `json:"firstFailedProbe"`
	MarkedDown     Spread  `json:"markedDown"`
	Quorum         Spread  `json:"quorumReached"`
	Decision       Spread  `json:"decision"`
}

// Spread is a median and a 95th percentile, in milliseconds.
type Spread struct {
	P50Ms float64 `json:"p50Ms"`
	P95Ms float64 `json:"p95Ms"`
}

// Soak is BenchmarkLossySoak.
type Soak struct {
	Rows []SoakRow `json:"rows"`
}

// SoakRow is one soak: how long, how lossy, and what came of it.
type SoakRow struct {
	Monitors       int     `json:"monitors"`
	Minutes        float64 `json:"minutes"`
	LossPct        float64 `json:"lossPct"`
	JitterMs       float64 `json:"jitterMs"`
	Probes         int     `json:"probes"`
	Dropped        int     `json:"dropped"`
	DownVerdicts   int     `json:"downVerdicts"`
	FalseFailovers int     `json:"falseFailovers"`
}

// buildDetectionGoals takes a benchmark of the two kinds above into r; it
// reports whether it was one.
func buildDetectionGoals(r *Results, base string, params map[string]string, b Benchmark) bool {
	m := b.Metrics
	spread := func(step string) Spread { return Spread{P50Ms: m[step+"-p50-ms"], P95Ms: m[step+"-p95-ms"]} }
	switch base {
	case "BenchmarkDetectionQuorum":
		if r.QuorumDetection == nil {
			r.QuorumDetection = &QuorumDetection{}
		}
		r.QuorumDetection.Rows = append(r.QuorumDetection.Rows, QuorumDetectionRow{
			Probe: params["probe"], IntervalMs: m["interval-ms"], TimeoutMs: m["timeout-ms"], FastIntervalMs: m["fast-ms"],
			Threshold: int(m["threshold"]), Monitors: int(m["monitors"]), Failure: params["failure"], Failures: b.Runs,
			FirstFailed: spread("first-failed"), MarkedDown: spread("down"), Quorum: spread("quorum"), Decision: spread("decision"),
		})
		return true
	case "BenchmarkLossySoak":
		if r.Soak == nil {
			r.Soak = &Soak{}
		}
		n, _ := strconv.Atoi(params["monitors"])
		r.Soak.Rows = append(r.Soak.Rows, SoakRow{Monitors: n, Minutes: m["minutes"], LossPct: m["loss-pct"], JitterMs: m["jitter-ms"],
			Probes: int(m["probes"]), Dropped: int(m["dropped"]), DownVerdicts: int(m["down-verdicts"]), FalseFailovers: int(m["false-failovers"])})
		return true
	}
	return false
}

// printDetectionGoals writes the two tables.
func printDetectionGoals(w io.Writer, r Results) {
	if d := r.QuorumDetection; d != nil && len(d.Rows) > 0 {
		fmt.Fprintf(w, "\nDetection with a quorum, in virtual time (monitor/daemon/detect_test.go): %d monitors that must agree\n"+
			"(quorum majority), %d failures at random phases of the probe schedule per row; median / 95th percentile\n"+
			"from the failure to the leader's first failed probe, to the NVA marked down, to every monitor seeing it\n"+
			"down (the quorum) and to the failover decision. Goals at the defaults: refused <= 1.0 s, silent <= 2.0 s (median).\n\n",
			d.Rows[0].Monitors, d.Rows[0].Failures)
		t := table{header: []string{"probe settings", "failure", "first failed probe", "marked down", "quorum reached", "decision"}}
		for _, row := range d.Rows {
			settings := fmt.Sprintf("%s (%s, timeout %s, fast %s, down after %d)", row.Probe, ms(row.IntervalMs), ms(row.TimeoutMs),
				ms(row.FastIntervalMs), row.Threshold)
			t.rows = append(t.rows, []string{settings, row.Failure, spreadText(row.FirstFailed), spreadText(row.MarkedDown),
				spreadText(row.Quorum), spreadText(row.Decision)})
		}
		t.write(w)
	}
	if s := r.Soak; s != nil && len(s.Rows) > 0 {
		fmt.Fprintf(w, "\nLossy soak at the probe defaults, in virtual time: every probe lost (no answer) with the given\n"+
			"probability, the others delayed by up to the jitter.\n\n")
		t := table{header: []string{"monitors", "duration", "loss", "jitter", "probes", "lost", "down verdicts", "false failovers"}}
		for _, row := range s.Rows {
			t.rows = append(t.rows, []string{strconv.Itoa(row.Monitors), fmt.Sprintf("%g min", row.Minutes), fmt.Sprintf("%g %%", row.LossPct),
				ms(row.JitterMs), strconv.Itoa(row.Probes), strconv.Itoa(row.Dropped), strconv.Itoa(row.DownVerdicts), strconv.Itoa(row.FalseFailovers)})
		}
		t.write(w)
	}
}

func spreadText(s Spread) string { return ms(s.P50Ms) + " / " + ms(s.P95Ms) }
