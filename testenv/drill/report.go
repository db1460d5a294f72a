package drill

import (
	"fmt"
	"html"
	"html/template"
	"io"
	"math"
	"strings"
	"time"
)

// WriteHTML writes the report as one self-contained HTML page: inline CSS
// and inline SVG, no scripts, no external assets. Each scenario gets a
// timeline chart (time runs left to right from the failure injected: a
// marker per step, a bar per ARM write from accepted to converged, with
// refused attempts as red ticks), its steps, its checks and its verdict.
func WriteHTML(w io.Writer, r *Report) error {
	type scenarioView struct {
		*Result
		Chart    template.HTML
		Total    string
		Elapsed  string
		BarWidth float64 // % of the longest failover, for the summary
	}
	var longest time.Duration
	for _, res := range r.Results {
		longest = max(longest, res.Timeline.Total)
	}
	passed := 0
	var views []scenarioView
	for _, res := range r.Results {
		if res.Pass {
			passed++
		}
		v := scenarioView{Result: res, Chart: template.HTML(chartSVG(res.Timeline)), Total: "-", Elapsed: fmtDur(res.Duration)}
		if res.Timeline.Total > 0 {
			v.Total = fmtDur(res.Timeline.Total)
			v.BarWidth = math.Max(1, 100*float64(res.Timeline.Total)/float64(longest))
		}
		views = append(views, v)
	}
	data := struct {
		R         *Report
		Scenarios []scenarioView
		Passed    int
		Pass      bool
		When      string
		Took      string
	}{r, views, passed, r.Passed(), r.Started.Format("2006-01-02 15:04:05 MST"), fmtDur(r.Duration)}
	return page.Execute(w, data)
}

var page = template.Must(template.New("report").Funcs(template.FuncMap{
	"dur": fmtDur,
}).Parse(`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>hanva failover drill: {{if .Pass}}PASS{{else}}FAIL{{end}}</title>
<style>
body{font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1f2328;background:#f6f8fa;margin:0}
main{max-width:1080px;margin:0 auto;padding:24px}
h1{font-size:26px;margin:0 0 4px}
h2{font-size:19px;margin:0 0 8px}
h3{font-size:15px;margin:16px 0 6px}
section{background:#fff;border:1px solid #d0d7de;border-radius:8px;padding:16px 20px;margin:16px 0}
table{border-collapse:collapse;width:100%}
td,th{text-align:left;padding:4px 8px;border-bottom:1px solid #eaeef2;vertical-align:top}
th{font-weight:600;color:#57606a;font-size:13px}
.muted{color:#57606a}
.badge{display:inline-block;border-radius:4px;padding:1px 8px;font-weight:700;font-size:13px;color:#fff;margin-right:6px}
.pass .badge,.badge.pass{background:#1a7f37}
.fail .badge,.badge.fail{background:#cf222e}
.verdict{font-size:18px;font-weight:600;margin:8px 0}
.verdict.pass{color:#1a7f37}.verdict.fail{color:#cf222e}
.bar{height:12px;background:#2f9e44;border-radius:3px}
.checks{list-style:none;padding:0;margin:0}
.checks li{padding:3px 0}
.checks .ok::before{content:"\2714  ";color:#1a7f37;font-weight:700}
.checks .no::before{content:"\2718  ";color:#cf222e;font-weight:700}
.checks .no{color:#cf222e}
.err{background:#ffebe9;border:1px solid #ff8182;border-radius:6px;padding:8px 12px;white-space:pre-wrap}
.steps td:first-child{font-variant-numeric:tabular-nums;white-space:nowrap;text-align:right;width:80px;color:#57606a}
.chart{overflow-x:auto}
.chart svg{display:block;font:12px system-ui,-apple-system,"Segoe UI",Roboto,sans-serif}
.legend span{display:inline-block;margin-right:14px;font-size:13px;color:#57606a}
.legend i{display:inline-block;width:10px;height:10px;margin-right:4px;vertical-align:middle}
code{font:13px ui-monospace,SFMono-Regular,Menlo,monospace}
</style>
</head>
<body>
<main>
<h1>hanva failover drill</h1>
<p class="muted">{{.When}} &middot; took {{.Took}} &middot; the whole system on one machine: armsim (emulated Azure Resource Manager), Azurite (the leader lease), NVA stand-ins and real <code>nva-monitor</code> processes.</p>
<p class="verdict {{if .Pass}}pass{{else}}fail{{end}}">{{if .Pass}}PASS{{else}}FAIL{{end}}: {{.Passed}} of {{len .Scenarios}} scenario(s) passed</p>

<section>
<h2>Summary</h2>
<table>
<tr><th>result</th><th>scenario</th><th>failure to the last resource converged</th><th></th><th>scenario time</th></tr>
{{range .Scenarios}}<tr class="{{if .Pass}}pass{{else}}fail{{end}}">
<td><span class="badge">{{if .Pass}}PASS{{else}}FAIL{{end}}</span></td>
<td><a href="#{{.Scenario}}">{{.Scenario}}</a>: {{.Title}}</td>
<td style="width:90px">{{.Total}}</td>
<td style="width:220px">{{if .BarWidth}}<div class="bar" style="width:{{printf "%.1f" .BarWidth}}%"></div>{{end}}</td>
<td>{{.Elapsed}}</td>
</tr>
{{end}}</table>
</section>

<section>
<h2>Parameters</h2>
<table>
{{range .R.Params}}<tr><th style="width:260px">{{.Name}}</th><td>{{.Value}}</td></tr>
{{end}}<tr><th>work directory (configs, monitor logs)</th><td><code>{{.R.WorkDir}}</code></td></tr>
</table>
</section>

{{range .Scenarios}}
<section id="{{.Scenario}}" class="{{if .Pass}}pass{{else}}fail{{end}}">
<h2><span class="badge">{{if .Pass}}PASS{{else}}FAIL{{end}}</span>{{.Scenario}}: {{.Title}}</h2>
<p>{{.Description}}</p>
{{if .Err}}<p class="err">{{.Err}}</p>{{end}}
{{if .Timeline.Steps}}
<div class="chart">{{.Chart}}</div>
<p class="legend"><span><i style="background:#e03131;opacity:.35"></i>condition (NVA down, monitor dead or paused, ARM throttled)</span><span><i style="background:#d9480f"></i>drill action</span><span><i style="background:#e8590c;border-radius:5px"></i>probes / health</span><span><i style="background:#7048e8"></i>lease</span><span><i style="background:#1971c2"></i>decision</span><span><i style="background:#2f9e44"></i>route table write</span><span><i style="background:#0c8599"></i>public IP move</span><span><i style="background:#e64980"></i>floating IP move</span><span><i style="background:#f59f00"></i>backend pool write</span><span><i style="background:#5c7cfa"></i>DNS record write</span><span><i style="background:#c92a2a"></i>ARM refused</span></p>
<h3>Timeline</h3>
<table class="steps">
{{range .Timeline.Steps}}<tr><td>+{{dur .At}}</td><td>{{.Label}}</td></tr>
{{end}}{{if .Timeline.Total}}<tr><td><b>{{dur .Timeline.Total}}</b></td><td><b>total: from the failure to the last resource converged</b></td></tr>{{end}}
</table>
{{end}}
<h3>Checks</h3>
<ul class="checks">
{{range .Checks}}<li class="{{if .Pass}}ok{{else}}no{{end}}"><b>{{.Name}}</b>: {{.Detail}}</li>
{{else}}<li class="no">no checks ran</li>
{{end}}</ul>
<p class="muted">Took {{.Elapsed}}. Monitor configs and logs: <code>{{.Dir}}</code></p>
</section>
{{end}}
</main>
</body>
</html>
`))

// Chart geometry.
const (
	chartWidth  = 1000
	labelWidth  = 360
	rightPad    = 70
	rowHeight   = 22
	axisHeight  = 30
	maxLabelLen = 52
)

var stepColor = map[string]string{
	StepAction:    "#d9480f",
	StepProbe:     "#e8590c",
	StepLease:     "#7048e8",
	StepDecision:  "#1971c2",
	StepConverged: "#2f9e44",
	StepRejected:  "#c92a2a",
}

var spanColor = map[string]string{
	SpanNVA:     "#e03131",
	SpanMonitor: "#7048e8",
	SpanARM:     "#f08c00",
}

var barColor = map[string]string{
	"routeTable":  "#2f9e44",
	"publicIp":    "#0c8599",
	"floatingIp":  "#e64980",
	"backendPool": "#f59f00",
	"dnsRecord":   "#5c7cfa",
}

// chartSVG draws a timeline: the time axis on top, then one row per step
// (a marker) or ARM write (a bar), in time order. Converged steps are drawn
// as the ends of their bars.
func chartSVG(tl Timeline) string {
	type row struct {
		at    time.Duration
		label string
		step  *Step
		bar   *Bar
		span  *Span
	}
	var rows []row
	for i := range tl.Steps {
		s := &tl.Steps[i]
		if s.Kind == StepConverged {
			continue
		}
		rows = append(rows, row{at: s.At, label: s.Label, step: s})
	}
	for i := range tl.Bars {
		b := &tl.Bars[i]
		rows = append(rows, row{at: b.Start, label: b.Label, bar: b})
	}
	if len(rows) == 0 {
		return ""
	}
	// Stable by time; bars after steps at the same moment.
	for i := 1; i < len(rows); i++ {
		for j := i; j > 0 && rows[j].at < rows[j-1].at; j-- {
			rows[j], rows[j-1] = rows[j-1], rows[j]
		}
	}
	end := tl.Total
	for _, r := range rows {
		end = max(end, r.at)
		if r.bar != nil && r.bar.Done {
			end = max(end, r.bar.End)
		}
	}
	// The conditions first, as lanes over the whole chart.
	var spanRows []row
	for i := range tl.Spans {
		sp := &tl.Spans[i]
		if !sp.Open {
			end = max(end, sp.End)
		}
		spanRows = append(spanRows, row{at: sp.Start, label: sp.Label, span: sp})
	}
	rows = append(spanRows, rows...)
	tick := niceTick(end)
	span := time.Duration(math.Ceil(float64(end)*1.04/float64(tick))) * tick
	if span <= 0 {
		span = tick
	}
	plot := float64(chartWidth - labelWidth - rightPad)
	x := func(d time.Duration) float64 { return labelWidth + plot*float64(max(d, 0))/float64(span) }
	height := axisHeight + len(rows)*rowHeight + 10

	var b strings.Builder
	fmt.Fprintf(&b, `<svg viewBox="0 0 %d %d" width="%d" height="%d" role="img" aria-label="failover timeline">`, chartWidth, height, chartWidth, height)
	// Row stripes, grid and axis.
	for i := range rows {
		if i%2 == 0 {
			fmt.Fprintf(&b, `<rect x="0" y="%d" width="%d" height="%d" fill="#f6f8fa"/>`, axisHeight+i*rowHeight, chartWidth, rowHeight)
		}
	}
	for t := time.Duration(0); t <= span; t += tick {
		fmt.Fprintf(&b, `<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="#d0d7de" stroke-width="1"/>`, x(t), axisHeight-6, x(t), height-6)
		fmt.Fprintf(&b, `<text x="%.1f" y="%d" text-anchor="middle" fill="#57606a">%s</text>`, x(t), axisHeight-10, esc(tickLabel(t, tick)))
	}
	if tl.Total > 0 {
		fmt.Fprintf(&b, `<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="#1a7f37" stroke-width="1.5" stroke-dasharray="4 3"/>`, x(tl.Total), axisHeight-4, x(tl.Total), height-6)
	}
	for i, r := range rows {
		y := float64(axisHeight + i*rowHeight)
		mid := y + rowHeight/2
		label := r.label
		if len(label) > maxLabelLen {
			label = label[:maxLabelLen-1] + "…"
		}
		fmt.Fprintf(&b, `<text x="8" y="%.1f" dominant-baseline="middle" fill="#1f2328"><title>%s</title>%s</text>`, mid, esc(r.label), esc(label))
		if sp := r.span; sp != nil {
			color := spanColor[sp.Kind]
			stop := min(sp.End, span)
			w := math.Max(2, x(stop)-x(sp.Start))
			fmt.Fprintf(&b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%d" fill="%s" fill-opacity="0.18"/>`, x(sp.Start), y+3, w, rowHeight-6, color)
			fmt.Fprintf(&b, `<rect x="%.1f" y="%.1f" width="3" height="%d" fill="%s"/>`, x(sp.Start), y+3, rowHeight-6, color)
			if !sp.Open {
				fmt.Fprintf(&b, `<rect x="%.1f" y="%.1f" width="3" height="%d" fill="%s"/>`, x(stop)-3, y+3, rowHeight-6, color)
				b.WriteString(note(x(stop)+5, x(sp.Start)-5, mid, fmtDur(sp.End-sp.Start)))
			}
			continue
		}
		if r.step != nil {
			b.WriteString(marker(r.step.Kind, x(r.at), mid))
			b.WriteString(note(x(r.at)+9, x(r.at)-9, mid, "+"+fmtDur(r.at)))
			continue
		}
		bar := r.bar
		color := barColor[bar.Kind]
		if color == "" {
			color = "#868e96"
		}
		for _, rej := range bar.Rejected {
			fmt.Fprintf(&b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#c92a2a" stroke-width="2"><title>refused at +%s</title></line>`, x(rej), y+3, x(rej), y+rowHeight-3, esc(fmtDur(rej)))
		}
		if len(bar.Rejected) > 0 {
			fmt.Fprintf(&b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#c92a2a" stroke-width="1" stroke-dasharray="2 2"/>`, x(bar.Rejected[0]), mid, x(bar.Start), mid)
		}
		stop := bar.End
		if !bar.Done {
			stop = span
		}
		w := math.Max(2, x(stop)-x(bar.Start))
		fmt.Fprintf(&b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%d" rx="3" fill="%s"%s><title>%s: accepted +%s, %s</title></rect>`,
			x(bar.Start), y+5, w, rowHeight-10, color, map[bool]string{true: "", false: ` fill-opacity="0.4"`}[bar.Done],
			esc(bar.Label), esc(fmtDur(bar.Start)), esc(barEnd(bar)))
		text := "not converged"
		if bar.Done {
			text = fmt.Sprintf("+%s (%s)", fmtDur(bar.End), fmtDur(bar.End-bar.Start))
		}
		b.WriteString(note(x(bar.Start)+w+5, x(bar.Start)-5, mid, text))
	}
	if tl.Total > 0 {
		fmt.Fprintf(&b, `<text x="%.1f" y="%d" text-anchor="end" fill="#1a7f37" font-weight="600">total %s</text>`, x(tl.Total)-4, height-2, esc(fmtDur(tl.Total)))
	}
	b.WriteString(`</svg>`)
	return b.String()
}

// note writes a small grey text right of a mark (at right), or left of it
// (ending at left) when it would run off the chart.
func note(right, left, y float64, text string) string {
	if right+float64(len(text))*6.5 > chartWidth {
		return fmt.Sprintf(`<text x="%.1f" y="%.1f" dominant-baseline="middle" text-anchor="end" fill="#57606a">%s</text>`, left, y, esc(text))
	}
	return fmt.Sprintf(`<text x="%.1f" y="%.1f" dominant-baseline="middle" fill="#57606a">%s</text>`, right, y, esc(text))
}

func barEnd(b *Bar) string {
	if !b.Done {
		return "not converged"
	}
	return fmt.Sprintf("converged +%s (%s)", fmtDur(b.End), fmtDur(b.End-b.Start))
}

// marker draws a step's symbol centred at (x, y).
func marker(kind string, x, y float64) string {
	c := stepColor[kind]
	if c == "" {
		c = "#868e96"
	}
	switch kind {
	case StepAction:
		return fmt.Sprintf(`<path d="M%.1f %.1fl7 7l-7 7l-7-7z" fill="%s"/>`, x, y-7, c)
	case StepLease:
		return fmt.Sprintf(`<rect x="%.1f" y="%.1f" width="11" height="11" fill="%s"/>`, x-5.5, y-5.5, c)
	case StepDecision:
		return fmt.Sprintf(`<path d="M%.1f %.1fl7 12h-14z" fill="%s"/>`, x, y-7, c)
	case StepRejected:
		return fmt.Sprintf(`<path d="M%.1f %.1fl10 10m0-10l-10 10" stroke="%s" stroke-width="2.5"/>`, x-5, y-5, c)
	}
	return fmt.Sprintf(`<circle cx="%.1f" cy="%.1f" r="5.5" fill="%s"/>`, x, y, c)
}

// niceTick picks a grid step giving at most about 10 ticks over d.
func niceTick(d time.Duration) time.Duration {
	for _, t := range []time.Duration{
		100 * time.Millisecond, 200 * time.Millisecond, 500 * time.Millisecond,
		time.Second, 2 * time.Second, 5 * time.Second, 10 * time.Second, 20 * time.Second, 30 * time.Second, time.Minute,
	} {
		if d/t <= 10 {
			return t
		}
	}
	return 2 * time.Minute
}

func tickLabel(t, tick time.Duration) string {
	if tick < time.Second {
		return fmt.Sprintf("%.1fs", t.Seconds())
	}
	return fmt.Sprintf("%.0fs", t.Seconds())
}

func esc(s string) string { return html.EscapeString(s) }
