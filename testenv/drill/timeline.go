package drill

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/hanva/hanva/testenv/armsim"
	"github.com/hanva/hanva/testenv/lab"
)

// Timeline is what happened in a scenario, lined up from the drill's own
// actions, the monitors' logs and armsim's write log, counted from the
// first action (the failure injected).
type Timeline struct {
	Origin time.Time
	Steps  []Step
	// Bars are the ARM writes, each from accepted to converged.
	Bars []Bar
	// Spans are the conditions the drill created, while they lasted.
	Spans []Span
	// Total is from the first action to the last resource converged.
	Total time.Duration
}

// Step kinds.
const (
	StepAction    = "action"    // the drill did something (failure injected, process killed, ...)
	StepProbe     = "probe"     // first failed probe, health changes
	StepLease     = "lease"     // leadership changes
	StepDecision  = "decision"  // a monitor decided to fail over (or held)
	StepConverged = "converged" // ARM finished a write: a resource converged
	StepRejected  = "rejected"  // ARM refused a write (429, 409, ...)
)

// Step is one moment of the timeline.
type Step struct {
	At    time.Duration // since Origin
	Kind  string
	Label string
}

// Span kinds.
const (
	SpanNVA     = "nva"     // an NVA down or hung
	SpanMonitor = "monitor" // a monitor dead or paused
	SpanARM     = "arm"     // ARM throttling
)

// Span is a condition the drill created, from Start to End.
type Span struct {
	Label      string
	Kind       string
	Start, End time.Duration
	Open       bool // still so when the scenario ended
}

// Bar is one ARM write, from accepted to its operation's end.
type Bar struct {
	Label string
	// Kind is "routeTable", "publicIp" or "floatingIp" (a NIC write that
	// moves one), "backendPool" (a load balancer write), "dnsRecord", or
	// "nic" for any other NIC write.
	Kind     string
	Start    time.Duration
	End      time.Duration // valid when Done
	Done     bool
	Rejected []time.Duration // refused attempts at this resource before it was accepted
	Client   string          // the monitor that wrote
}

// resolver maps private IPs and NIC IDs to NVA names and floating
// ipconfig names to their addresses (lab.Env does).
type resolver interface {
	NVAOfIP(ip string) string
	NVAOfNIC(nicID string) string
	FloatingIPOf(ipconfigName string) string
}

// buildTimeline lines up actions, log lines and armsim events from origin.
// watched is the NVA whose probes and health matter (the first, active one).
func buildTimeline(env resolver, origin time.Time, actions []action, logs map[string][]lab.LogLine, events []armsim.Event, watched string) Timeline {
	tl := Timeline{Origin: origin}
	add := func(at time.Time, kind, format string, args ...any) {
		tl.Steps = append(tl.Steps, Step{At: at.Sub(origin), Kind: kind, Label: fmt.Sprintf(format, args...)})
	}
	for _, a := range actions {
		add(a.at, StepAction, "%s", a.label)
	}

	// The earliest of a log event across monitors, with who logged it.
	first := func(event, nva string, after time.Time, match func(lab.LogLine) bool) (lab.LogLine, string, bool) {
		var best lab.LogLine
		who, found := "", false
		for inst, lines := range logs {
			for _, l := range lab.Filter(lines, event, nva, after) {
				if match != nil && !match(l) {
					continue
				}
				if !found || l.Time.Before(best.Time) {
					best, who, found = l, inst, true
				}
				break
			}
		}
		return best, who, found
	}
	// Probe and health steps for the watched NVA, for each phase that
	// starts with an action (a failback scenario has a failure and a return).
	var nvaActions []action
	for _, a := range actions {
		if a.nva {
			nvaActions = append(nvaActions, a)
		}
	}
	for i, a := range nvaActions {
		end := time.Time{}
		if i+1 < len(nvaActions) {
			end = nvaActions[i+1].at
		}
		before := func(l lab.LogLine) bool { return end.IsZero() || l.Time.Before(end) }
		if l, who, ok := first("probe_failed", watched, a.at, before); ok {
			add(l.Time, StepProbe, "first failed probe of %s (%s), by %s", watched, l.Failure, who)
		}
		if l, who, ok := first("health_changed", watched, a.at, func(l lab.LogLine) bool { return before(l) && l.To == "down" }); ok {
			add(l.Time, StepProbe, "%s marked down by %s", watched, who)
		}
		if l, who, ok := first("health_changed", watched, a.at, func(l lab.LogLine) bool { return before(l) && l.To == "up" }); ok {
			add(l.Time, StepProbe, "%s marked up again by %s", watched, who)
		}
	}
	// Leadership and decisions, from every monitor.
	held := map[string]bool{}
	for inst, lines := range logs {
		for _, l := range lines {
			if l.Time.Before(origin) {
				continue
			}
			switch l.Event {
			case "lease_acquired":
				add(l.Time, StepLease, "%s acquired the lease", inst)
			case "leader_elected":
				add(l.Time, StepLease, "%s leads (epoch %v, desired NVA %s)", inst, l.Attrs["epoch"], orNone(l.NVA))
			case "lease_lost":
				add(l.Time, StepLease, "%s lost the lease (%s)", inst, l.Reason)
			case "leader_lost":
				add(l.Time, StepLease, "%s stopped leading: no ARM writes from it (%s)", inst, l.Reason)
			case "fenced":
				add(l.Time, StepLease, "%s fenced by a higher epoch", inst)
			case "failover_started":
				add(l.Time, StepDecision, "decision by %s: fail over %s -> %s (%s)", inst, orNone(l.From), l.To, l.Reason)
			case "failover_held":
				// Followers hold (not_leader) on every failover: not news.
				if k := inst + "/" + l.Reason; !held[k] && l.Reason != "not_leader" {
					held[k] = true
					what := l.NVA + " down"
					if l.To != "" {
						what = orNone(l.From) + " -> " + l.To
					}
					add(l.Time, StepDecision, "%s holds the failover (%s): %s", inst, l.Reason, what)
				}
			}
		}
	}

	// ARM writes: one bar per accepted write, closed by its end.
	type pending struct {
		bar    int
		target string
	}
	open := map[string]pending{}             // resource ID (lower) -> the write in flight
	rejected := map[string][]time.Duration{} // refused attempts not yet followed by an accept
	rejectedNoted := map[string]bool{}
	var last time.Time
	for _, ev := range events {
		if ev.Time.Before(origin) {
			continue
		}
		key := strings.ToLower(ev.ResourceID)
		switch ev.Kind {
		case armsim.KindWriteRejected:
			rejected[key] = append(rejected[key], ev.Time.Sub(origin))
			if k := key + "/" + ev.Code; !rejectedNoted[k] {
				rejectedNoted[k] = true
				add(ev.Time, StepRejected, "ARM refused %s %s: %d %s", ev.Method, short(ev.ResourceID), ev.Status, ev.Code)
			}
		case armsim.KindWriteAccepted:
			if stampOnly(ev) {
				continue // the epoch stamp moves no traffic: not a bar
			}
			label, kind, target := describeWrite(env, ev)
			tl.Bars = append(tl.Bars, Bar{Label: label, Kind: kind, Start: ev.Time.Sub(origin), Rejected: rejected[key], Client: instanceOf(ev.Client)})
			delete(rejected, key)
			open[key] = pending{bar: len(tl.Bars) - 1, target: target}
		case armsim.KindWriteSucceeded, armsim.KindWriteFailed:
			p, ok := open[key]
			if !ok {
				continue
			}
			delete(open, key)
			b := &tl.Bars[p.bar]
			b.End, b.Done = ev.Time.Sub(origin), true
			if ev.Kind == armsim.KindWriteFailed {
				add(ev.Time, StepRejected, "ARM operation on %s ended %s", short(ev.ResourceID), orNone(ev.Code))
				continue
			}
			last = ev.Time
			add(ev.Time, StepConverged, "%s", p.target)
		}
	}
	if !last.IsZero() {
		tl.Total = last.Sub(origin)
	}
	sort.SliceStable(tl.Steps, func(i, j int) bool { return tl.Steps[i].At < tl.Steps[j].At })
	return tl
}

// describeWrite names an accepted write for the chart (label, kind) and for
// the step when it converges.
func describeWrite(env resolver, ev armsim.Event) (label, kind, converged string) {
	name := short(ev.ResourceID)
	lower := strings.ToLower(ev.ResourceID)
	switch {
	case strings.Contains(lower, "/routetables/"):
		to := ""
		for _, c := range ev.Changes {
			if strings.Contains(c, "nextHopIpAddress") {
				if i := strings.LastIndex(c, "-> "); i >= 0 {
					to = env.NVAOfIP(strings.TrimSpace(c[i+3:]))
				}
			}
		}
		if to == "" {
			return "route table " + name, "routeTable", "route table " + name + " converged"
		}
		return "route table " + name + " -> " + to, "routeTable", "route table " + name + " converged on " + to
	case strings.Contains(lower, "/networkinterfaces/"):
		nva := env.NVAOfNIC(ev.ResourceID)
		for _, c := range ev.Changes {
			// `ipconfig "hanva-floating-10-0-0-112" added` (or removed).
			if rest, ok := strings.CutPrefix(c, "ipconfig "); ok {
				if q, err := strconv.QuotedPrefix(rest); err == nil {
					ipc, _ := strconv.Unquote(q)
					if ip := env.FloatingIPOf(ipc); ip != "" {
						switch strings.TrimSpace(rest[len(q):]) {
						case "removed":
							return "floating IP " + ip + " off " + nva, "floatingIp", "floating IP " + ip + " removed from " + nva
						case "added":
							return "floating IP " + ip + " onto " + nva, "floatingIp", "floating IP " + ip + " added to " + nva
						}
					}
				}
			}
			if !strings.Contains(c, "publicIPAddress") {
				continue
			}
			i := strings.Index(c, "publicIPAddress ")
			parts := strings.SplitN(c[i+len("publicIPAddress "):], " -> ", 2)
			if len(parts) != 2 {
				continue
			}
			if parts[1] == "(none)" {
				return "public IP " + parts[0] + " off " + nva, "publicIp", "public IP " + parts[0] + " detached from " + nva
			}
			return "public IP " + parts[1] + " onto " + nva, "publicIp", "public IP " + parts[1] + " moved to " + nva
		}
		return "NIC " + name, "nic", "NIC " + name + " converged"
	case strings.Contains(lower, "/loadbalancers/"):
		// armsim says `backend pool "nva-pool" properties changed`: which
		// pool, not its members (the placement check says where it ends).
		pool := ""
		for _, c := range ev.Changes {
			if rest, ok := strings.CutPrefix(c, "backend pool "); ok {
				if q, err := strconv.QuotedPrefix(rest); err == nil {
					pool, _ = strconv.Unquote(q)
				}
			}
		}
		lb := name
		if i := strings.Index(lower, "/backendaddresspools/"); i >= 0 {
			lb, pool = short(ev.ResourceID[:i]), name
		}
		if pool == "" {
			return "load balancer " + lb, "backendPool", "load balancer " + lb + " converged"
		}
		return "backend pool " + pool + " of " + lb, "backendPool", "backend pool " + pool + " of " + lb + " converged"
	case strings.Contains(lower, "/privatednszones/"):
		// `aRecords 10.0.0.100 -> 10.0.0.101` (or aaaaRecords).
		to := ""
		for _, c := range ev.Changes {
			if strings.HasPrefix(c, "aRecords ") || strings.HasPrefix(c, "aaaaRecords ") {
				if i := strings.LastIndex(c, "-> "); i >= 0 {
					to = env.NVAOfIP(strings.TrimSpace(c[i+3:]))
				}
			}
		}
		rec := recordName(ev.ResourceID)
		if to == "" {
			return "DNS record " + rec, "dnsRecord", "DNS record " + rec + " converged"
		}
		return "DNS record " + rec + " -> " + to, "dnsRecord", "DNS record " + rec + " converged on " + to
	}
	return name, "other", name + " converged"
}

// Text renders the timeline for a terminal.
func (tl Timeline) Text() string {
	if tl.Origin.IsZero() {
		return ""
	}
	var b strings.Builder
	b.WriteString("  timeline:\n")
	for _, s := range tl.Steps {
		fmt.Fprintf(&b, "    %9s  %s\n", "+"+fmtDur(s.At), s.Label)
	}
	if tl.Total > 0 {
		fmt.Fprintf(&b, "    total: %s from the failure to the last resource converged\n", fmtDur(tl.Total))
	}
	return b.String()
}

// fmtDur rounds a duration for people: 3 significant digits at most.
func fmtDur(d time.Duration) string {
	switch {
	case d < 0:
		return "-" + fmtDur(-d)
	case d < time.Second:
		return d.Round(time.Millisecond).String()
	case d < 10*time.Second:
		return d.Round(10 * time.Millisecond).String()
	case d < 100*time.Second:
		return d.Round(100 * time.Millisecond).String()
	}
	return d.Round(time.Second).String()
}
