package drill

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

func sampleReport() *Report {
	tl := Timeline{Origin: at(0), Total: 4820 * time.Millisecond,
		Steps: []Step{
			{At: 0, Kind: StepAction, Label: "nva-1 crashed <b>really</b>"},
			{At: 150 * time.Millisecond, Kind: StepProbe, Label: "first failed probe of nva-1 (refused), by monitor-2"},
			{At: 800 * time.Millisecond, Kind: StepDecision, Label: "decision by monitor-1: fail over nva-1 -> nva-2 (active_down)"},
			{At: 811 * time.Millisecond, Kind: StepRejected, Label: "ARM refused PUT nva-1-external: 429"},
			{At: 1810 * time.Millisecond, Kind: StepConverged, Label: "route table web-udr converged on nva-2"},
		},
		Bars: []Bar{
			{Label: "route table web-udr -> nva-2", Kind: "routeTable", Start: 810 * time.Millisecond, End: 1810 * time.Millisecond, Done: true},
			{Label: "public IP hanva-pip off nva-1", Kind: "publicIp", Start: 2811 * time.Millisecond, End: 3811 * time.Millisecond, Done: true,
				Rejected: []time.Duration{811 * time.Millisecond}},
			{Label: "public IP hanva-pip onto nva-2", Kind: "publicIp", Start: 3820 * time.Millisecond},
		},
		Spans: []Span{
			{Label: "monitor-2 paused (SIGSTOP)", Kind: SpanMonitor, Start: 0, End: 20 * time.Second},
			{Label: "nva-1 down (probes refused)", Kind: SpanNVA, Start: 0, End: 30 * time.Second, Open: true},
		}}
	return &Report{Started: at(0), Duration: 95 * time.Second, WorkDir: "/tmp/hanva-drill-1",
		Params: []Param{{"NVAs", "2"}, {"monitors", "3"}},
		Results: []*Result{
			{Scenario: "crash", Title: "the active NVA crashes", Description: "probes refused", Pass: true, Timeline: tl,
				Checks: []Check{{Name: "every route table and the public IP on one healthy NVA (nva-2)", Pass: true, Detail: "web-udr -> nva-2"}}},
			{Scenario: "hang", Title: "the active NVA hangs", Pass: false, Err: "wait 1m for every resource on nva-2: context deadline exceeded",
				Checks: []Check{{Name: "no ARM write from a monitor without the lease", Pass: false, Detail: "1 of 3 write(s) without the lease"}}},
		}}
}

func TestWriteHTMLIsSelfContained(t *testing.T) {
	var b bytes.Buffer
	if err := WriteHTML(&b, sampleReport()); err != nil {
		t.Fatal(err)
	}
	page := b.String()
	for _, banned := range []string{"<script", "src=", "<link", "@import", "url(", "http://", "https://"} {
		if strings.Contains(page, banned) {
			t.Errorf("the report contains %q: it must not load anything", banned)
		}
	}
	for _, want := range []string{
		"<style>", "<svg", "FAIL</span>", "1 of 2 scenario(s) passed",
		`id="crash"`, `href="#crash"`, "the active NVA hangs",
		"nva-1 crashed &lt;b&gt;really&lt;/b&gt;", // labels are escaped, in the chart and the table
		"total 4.82s", "+1.81s (1s)", "not converged", "refused at +811ms",
		"context deadline exceeded", "/tmp/hanva-drill-1", "1 of 3 write(s) without the lease",
	} {
		if !strings.Contains(page, want) {
			t.Errorf("the report lacks %q", want)
		}
	}
	if strings.Contains(page, "<b>really</b>") {
		t.Errorf("a label reached the page unescaped")
	}
}

func TestChartHasARowPerStepAndWrite(t *testing.T) {
	svg := chartSVG(sampleReport().Results[0].Timeline)
	// 2 spans, 4 steps drawn (the converged one is the end of its bar), 3 bars.
	if n := strings.Count(svg, `dominant-baseline="middle" fill="#1f2328"`); n != 9 {
		t.Errorf("%d row labels, want 9", n)
	}
	if !strings.Contains(svg, ">20s</text>") {
		t.Errorf("the closed span does not show its length")
	}
	if !strings.HasPrefix(svg, "<svg") || !strings.HasSuffix(svg, "</svg>") {
		t.Errorf("not one svg element")
	}
	if chartSVG(Timeline{}) != "" {
		t.Errorf("an empty timeline draws a chart")
	}
}

func TestNiceTickKeepsTheAxisReadable(t *testing.T) {
	for d, want := range map[time.Duration]time.Duration{
		900 * time.Millisecond: 100 * time.Millisecond,
		4 * time.Second:        500 * time.Millisecond,
		25 * time.Second:       5 * time.Second,
		5 * time.Minute:        30 * time.Second,
	} {
		if got := niceTick(d); got != want {
			t.Errorf("niceTick(%s) = %s, want %s", d, got, want)
		}
	}
}

func TestSummaryHasALinePerScenario(t *testing.T) {
	s := sampleReport().Summary()
	for _, want := range []string{"PASS  crash", "FAIL  hang", "failure to converged 4.82s", "1 of 2 scenario(s) passed"} {
		if !strings.Contains(s, want) {
			t.Errorf("summary lacks %q:\n%s", want, s)
		}
	}
}
