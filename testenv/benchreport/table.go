package main

import (
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"
)

// Print writes the results as Markdown tables with aligned columns: easy to
// read in a terminal and to paste into the README as they are.
func Print(w io.Writer, r Results) {
	m := r.Machine
	machine := m.GOOS + "/" + m.GOARCH
	if m.CPU != "" {
		machine += ", " + m.CPU
	}
	fmt.Fprintf(w, "hanva benchmarks, %s: %s, %d CPUs (GOMAXPROCS %d), %s\n",
		r.Date.Format("2006-01-02 15:04 MST"), machine, m.CPUs, m.GOMAXPROCS, m.GoVersion)

	if c := r.Convergence; c != nil {
		fmt.Fprintf(w, "\nFailover convergence against armsim: every write stays InProgress %s (the LRO latency), status polled every %s;\n"+
			"time from the decision to every route table converged, to the public IP moved, and to both (%s).\n"+
			"ha-nva order: the order of mspnp/ha-nva, public IP (PIP) detach, attach, then one route table after another.\n\n",
			ms(c.LROLatencyMs), ms(c.PollMs), runsNote(convRuns(c.Rows)))
		t := table{header: []string{"route tables",
			"hanva: routes", "hanva: PIP", "hanva: all",
			"ha-nva order: routes", "ha-nva order: PIP", "ha-nva order: all",
			"ratio: routes", "ratio: all"}}
		for _, row := range c.Rows {
			cells := []string{fmt.Sprint(row.RouteTables)}
			cells = append(cells, timing(row.Hanva)...)
			cells = append(cells, timing(row.MspnpOrder)...)
			cells = append(cells, times(row.RatioRoutes), times(row.RatioAll))
			t.rows = append(t.rows, cells)
		}
		t.write(w)
	}

	if s := r.Steering; s != nil {
		fmt.Fprintf(w, "\nFailover by steering mode against armsim: every write stays InProgress %s, status polled every %s;\n"+
			"time from the decision to the mode's resources converged and the ARM writes that moved traffic (%s).\n"+
			"routes: the route tables rewritten and the public IP moved (as above); floatingIp, backendPool: the tables point at\n"+
			"the floating IP or the load balancer's frontend and are not written; dnsRecord: one record set, no LRO. No public IP\n"+
			"outside routes. vs routes: converged time over the routes mode's for the same table count.\n\n",
			ms(s.LROLatencyMs), ms(s.PollMs), runsNote(steeringRuns(s.Rows)))
		t := table{header: []string{"mode", "route tables", "converged", "writes", "vs routes"}}
		for _, row := range s.Rows {
			t.rows = append(t.rows, []string{row.Mode, fmt.Sprint(row.RouteTables), ms(row.ConvergedMs), count(row.Writes), ratioCell(row.RatioToRoutes)})
		}
		t.write(w)
		fmt.Fprintln(w, "\narmsim gives every write the same latency, so this counts sequential writes; on Azure a NIC write (an ipconfig or\n"+
			"public IP move) has been reported far slower than a route table write (Azure/azure-cli#23446, #25253,\n"+
			"Azure/azure-sdk-for-python#26695; docs/monitor.md#steering-modes).")
	}

	if sc := r.Scale; sc != nil {
		var runs []int
		for _, row := range sc.Rows {
			runs = append(runs, row.Runs)
		}
		fmt.Fprintf(w, "\nFailover at scale against armsim with Azure's documented throttling (per subscription: writes 200 + 10/s,\n"+
			"reads 250 + 25/s; Microsoft.Network 1,000 writes and 10,000 reads per 5 minutes), every write InProgress %s (L),\n"+
			"the engine's defaults (%s). floor: L + max(0, N - 200)/10 s for the fullest subscription's N tables; ratio:\n"+
			"converged / floor; over floor: (converged - floor) / L. 429s: answered by armsim during the converge; reads\n"+
			"(status polls included) and writes: sent by the engine. ha-nva order: one table after another, N x L, computed\n"+
			"(not run).\n\n", secs(sc.LROLatencyS), runsNote(runs))
		t := table{header: []string{"route tables", "subscriptions", "converged", "floor", "ratio", "over floor",
			"429s", "reads", "writes", "ha-nva order (computed)"}}
		for _, row := range sc.Rows {
			t.rows = append(t.rows, []string{fmt.Sprint(row.RouteTables), fmt.Sprint(row.Subscriptions),
				secs(row.ConvergedS), secs(row.FloorS), fmt.Sprintf("%.2f", row.Ratio), fmt.Sprintf("%.2f L", row.OverFloorL),
				count(row.Throttled), count(row.Reads), count(row.Writes), secs(row.MspnpOrderS)})
		}
		t.write(w)
	}

	if d := r.Detection; d != nil {
		var runs []int
		phase := 0.0
		for _, row := range d.Rows {
			runs = append(runs, row.Runs)
			phase = first(phase, row.PhaseMs)
		}
		fmt.Fprintf(w, "\nDetection: the real nva-monitor probes two HTTP stand-ins; the active one fails %s after answering a probe\n"+
			"(the worst phase: a whole interval to the next probe); time from the failure to the first failed probe logged,\n"+
			"to the NVA marked down and to the failover decision (%s). refused: the port closes; silent: connections\n"+
			"are accepted and never answered.\n\n", ms(phase), runsNote(runs))
		t := table{header: []string{"probe settings", "failure", "first failed probe", "marked down", "failover decision"}}
		for _, row := range d.Rows {
			t.rows = append(t.rows, []string{probeSettings(row.Probe, row.IntervalMs, row.TimeoutMs, row.Threshold), row.Failure,
				ms(row.FirstFailedProbeMs), ms(row.MarkedDownMs), ms(row.DecisionMs)})
		}
		t.write(w)
	}

	printDetectionGoals(w, r)

	if res := r.Resources; res != nil {
		var runs []int
		nvas, tables, window := 0, 0, 0.0
		for _, row := range res.Rows {
			runs = append(runs, row.Runs)
			nvas, tables, window = max(nvas, row.NVAs), max(tables, row.RouteTables), max(window, row.WindowS)
		}
		fmt.Fprintf(w, "\nMonitor resources: the real nva-monitor probing %d NVAs over HTTP with up to %d route tables managed,\n"+
			"everything else at its defaults; VmRSS and VmHWM at the end, CPU (utime+stime) over %g s (%s). Goal: under 30 MB.\n\n",
			nvas, tables, window, runsNote(runs))
		t := table{header: []string{"probe settings", "route tables", "resident (VmRSS)", "peak (VmHWM)", "CPU, % of one core"}}
		for _, row := range res.Rows {
			t.rows = append(t.rows, []string{probeSettings(row.Probe, row.IntervalMs, row.TimeoutMs, row.Threshold), strconv.Itoa(row.RouteTables),
				fmt.Sprintf("%.1f MB", row.RSSMB), fmt.Sprintf("%.1f MB", row.PeakRSSMB), fmt.Sprintf("%.2f %%", row.CPUPercent)})
		}
		t.write(w)
	}
}

func steeringRuns(rows []SteeringRow) []int {
	var out []int
	for _, r := range rows {
		out = append(out, r.Runs)
	}
	return out
}

// count formats a mean count of writes: "52", "1.5".
func count(v float64) string {
	if v == math.Trunc(v) {
		return fmt.Sprint(int64(v))
	}
	return fmt.Sprintf("%.1f", v)
}

// ratioCell formats a ratio that may be well below one: "1.00×",
// "0.49×", "0.0055×"; "" when 0 (no routes row to compare with).
func ratioCell(r float64) string {
	switch {
	case r == 0:
		return ""
	case r >= 0.1:
		return fmt.Sprintf("%.2f×", r)
	default:
		return fmt.Sprintf("%.2g×", r)
	}
}

func convRuns(rows []ConvergenceRow) []int {
	var out []int
	for _, r := range rows {
		out = append(out, r.Runs)
	}
	return out
}

// runsNote says what the figures are: one run or a mean.
func runsNote(runs []int) string {
	lo, hi := math.MaxInt, 0
	for _, n := range runs {
		lo, hi = min(lo, n), max(hi, n)
	}
	switch {
	case hi == 0:
		return "no runs"
	case lo == hi && hi == 1:
		return "one run each"
	case lo == hi:
		return fmt.Sprintf("mean of %d runs each", hi)
	default:
		return fmt.Sprintf("mean of %d to %d runs each", lo, hi)
	}
}

func probeSettings(name string, intervalMs, timeoutMs float64, threshold int) string {
	return fmt.Sprintf("%s: every %s, timeout %s, down after %d", name, dur(intervalMs), dur(timeoutMs), threshold)
}

// dur formats milliseconds as a Go duration, as the config writes them: "1s", "150ms".
// secs formats seconds: "31.7 s", "1.12 s", "500 s".
func secs(s float64) string {
	switch {
	case s >= 100:
		return fmt.Sprintf("%.0f s", s)
	case s >= 10:
		return fmt.Sprintf("%.1f s", s)
	}
	return fmt.Sprintf("%.2f s", s)
}

func dur(ms float64) string {
	return time.Duration(math.Round(ms * float64(time.Millisecond))).String()
}

func timing(t *Timing) []string {
	if t == nil {
		return []string{"", "", ""}
	}
	return []string{ms(t.RoutesMs), ms(t.PublicIPMs), ms(t.AllMs)}
}

// ms formats milliseconds: "975 ms", "11,078 ms".
func ms(v float64) string {
	n := int64(math.Round(v))
	s := fmt.Sprint(n)
	if n < 0 {
		s = s[1:]
	}
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if n < 0 {
		return "-" + b.String() + " ms"
	}
	return b.String() + " ms"
}

func times(r float64) string {
	if r == 0 {
		return ""
	}
	return fmt.Sprintf("%.1f×", r)
}

// table is a Markdown table; numbers (cells starting with a digit) are
// right-aligned.
type table struct {
	header []string
	rows   [][]string
}

func (t table) write(w io.Writer) {
	width := make([]int, len(t.header))
	right := make([]bool, len(t.header))
	for i, h := range t.header {
		width[i] = max(3, len([]rune(h)))
		right[i] = true
	}
	for _, row := range t.rows {
		for i, c := range row {
			width[i] = max(width[i], len([]rune(c)))
			if c != "" && (c[0] < '0' || c[0] > '9') {
				right[i] = false
			}
		}
	}
	line := func(cells []string, pad func(i int, c string) string) {
		var b strings.Builder
		b.WriteString("|")
		for i, c := range cells {
			b.WriteString(" " + pad(i, c) + " |")
		}
		fmt.Fprintln(w, b.String())
	}
	fill := func(i int, c string) string {
		gap := strings.Repeat(" ", width[i]-len([]rune(c)))
		if right[i] {
			return gap + c
		}
		return c + gap
	}
	line(t.header, fill)
	rule := make([]string, len(t.header))
	line(rule, func(i int, _ string) string {
		if right[i] {
			return strings.Repeat("-", width[i]-1) + ":"
		}
		return strings.Repeat("-", width[i])
	})
	for _, row := range t.rows {
		line(row, fill)
	}
}
