package drill

import (
	"strings"
	"testing"
	"time"

	"github.com/hanva/hanva/testenv/armsim"
	"github.com/hanva/hanva/testenv/lab"
)

// names resolves the sample's IPs and NICs.
type names struct{}

func (names) NVAOfIP(ip string) string {
	return map[string]string{"10.0.0.100": "nva-1", "10.0.0.101": "nva-2"}[ip]
}
func (names) NVAOfNIC(id string) string {
	return map[string]string{
		strings.ToLower(lab.ResourceID("networkInterfaces", "nva-1-external")): "nva-1",
		strings.ToLower(lab.ResourceID("networkInterfaces", "nva-2-external")): "nva-2",
	}[strings.ToLower(id)]
}

func (names) FloatingIPOf(ipc string) string {
	return map[string]string{"hanva-floating-10-0-0-112": "10.0.0.112"}[ipc]
}

func ev(ms int, kind, id string, status int, code string, changes ...string) armsim.Event {
	return armsim.Event{Time: at(ms), Kind: kind, Method: "PUT", ResourceID: id, Status: status, Code: code, Changes: changes,
		Client: "hanva-nva-monitor/dev (monitor-1)"}
}

func TestBuildTimelineLinesUpActionsLogsAndWrites(t *testing.T) {
	rt := lab.ResourceID("routeTables", "web-udr")
	nic1 := lab.ResourceID("networkInterfaces", "nva-1-external")
	nic2 := lab.ResourceID("networkInterfaces", "nva-2-external")
	actions := []action{{at: at(0), label: "nva-1 crashed", nva: true}}
	logs := map[string][]lab.LogLine{
		"monitor-1": {
			line(-5000, "lease_acquired"), // before the origin: not in the timeline
			line(200, "probe_failed", "nva", "nva-1", "failure", "refused"),
			line(600, "health_changed", "nva", "nva-1", "from", "up", "to", "down"),
			line(610, "failover_held", "reason", "not_leader", "from", "nva-1", "to", "nva-2"),
			line(800, "failover_started", "from", "nva-1", "to", "nva-2", "reason", "active_down"),
		},
		"monitor-2": {
			line(150, "probe_failed", "nva", "nva-1", "failure", "refused"),
			line(700, "failover_held", "reason", "no_quorum", "from", "nva-1", "to", "nva-2"),
			line(750, "failover_held", "reason", "no_quorum", "from", "nva-1", "to", "nva-2"),
		},
	}
	events := []armsim.Event{
		ev(810, armsim.KindWriteAccepted, rt, 200, "", `route "default" nextHopIpAddress 10.0.0.100 -> 10.0.0.101`),
		ev(811, armsim.KindWriteRejected, nic1, 429, "SubscriptionRequestsThrottled"),
		ev(1810, armsim.KindWriteSucceeded, rt, 200, ""),
		ev(2811, armsim.KindWriteAccepted, nic1, 200, "", `ipconfig "ipconfig1" publicIPAddress hanva-pip -> (none)`),
		ev(3811, armsim.KindWriteSucceeded, nic1, 200, ""),
		ev(3820, armsim.KindWriteAccepted, nic2, 200, "", `ipconfig "ipconfig1" publicIPAddress (none) -> hanva-pip`),
		ev(4820, armsim.KindWriteSucceeded, nic2, 200, ""),
	}
	tl := buildTimeline(names{}, at(0), actions, logs, events, "nva-1")
	var got []string
	for _, s := range tl.Steps {
		got = append(got, "+"+fmtDur(s.At)+" "+s.Kind+" "+s.Label)
	}
	want := []string{
		"+0s action nva-1 crashed",
		"+150ms probe first failed probe of nva-1 (refused), by monitor-2",
		"+600ms probe nva-1 marked down by monitor-1",
		"+700ms decision monitor-2 holds the failover (no_quorum): nva-1 -> nva-2",
		"+800ms decision decision by monitor-1: fail over nva-1 -> nva-2 (active_down)",
		"+811ms rejected ARM refused PUT nva-1-external: 429 SubscriptionRequestsThrottled",
		"+1.81s converged route table web-udr converged on nva-2",
		"+3.81s converged public IP hanva-pip detached from nva-1",
		"+4.82s converged public IP hanva-pip moved to nva-2",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("steps:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if tl.Total != 4820*time.Millisecond {
		t.Errorf("total = %s, want 4.82s (to the last write converged)", tl.Total)
	}
	if len(tl.Bars) != 3 {
		t.Fatalf("%d bars, want one per accepted write: %+v", len(tl.Bars), tl.Bars)
	}
	detach := tl.Bars[1]
	if detach.Kind != "publicIp" || detach.Label != "public IP hanva-pip off nva-1" || !detach.Done ||
		detach.Start != 2811*time.Millisecond || detach.End != 3811*time.Millisecond ||
		len(detach.Rejected) != 1 || detach.Rejected[0] != 811*time.Millisecond || detach.Client != "monitor-1" {
		t.Errorf("detach bar = %+v", detach)
	}
	if tl.Bars[0].Label != "route table web-udr -> nva-2" || len(tl.Bars[0].Rejected) != 0 {
		t.Errorf("route table bar = %+v", tl.Bars[0])
	}
	text := tl.Text()
	if !strings.Contains(text, "+150ms  first failed probe") || !strings.Contains(text, "total: 4.82s") {
		t.Errorf("text timeline:\n%s", text)
	}
}

func TestBuildTimelineSplitsProbeStepsByNVAAction(t *testing.T) {
	// A failback: nva-1 fails, then returns; each phase shows its own steps.
	actions := []action{
		{at: at(0), label: "monitor-1 paused"},
		{at: at(10), label: "nva-1 crashed", nva: true},
		{at: at(10000), label: "nva-1 back", nva: true},
	}
	logs := map[string][]lab.LogLine{"monitor-1": {
		line(300, "probe_failed", "nva", "nva-1", "failure", "refused"),
		line(700, "health_changed", "nva", "nva-1", "to", "down"),
		line(10500, "health_changed", "nva", "nva-1", "to", "up"),
		line(16000, "failover_started", "from", "nva-2", "to", "nva-1", "reason", "failback"),
	}}
	tl := buildTimeline(names{}, at(0), actions, logs, nil, "nva-1")
	var labels []string
	for _, s := range tl.Steps {
		labels = append(labels, s.Label)
	}
	got := strings.Join(labels, " | ")
	for _, want := range []string{"first failed probe of nva-1 (refused), by monitor-1", "nva-1 marked down by monitor-1",
		"nva-1 marked up again by monitor-1", "decision by monitor-1: fail over nva-2 -> nva-1 (failback)"} {
		if strings.Count(got, want) != 1 {
			t.Errorf("steps %q: want %q once", got, want)
		}
	}
	if tl.Total != 0 {
		t.Errorf("total = %s without any converged write", tl.Total)
	}
}

// TestBuildTimelineNamesTheWritesOfEachWayOfSteering: a floating IP's two
// NIC writes, a load balancer's pool write and a record set write get
// their own bars and labels; epoch stamps (a tag, or a record set's
// metadata) are no bars.
func TestBuildTimelineNamesTheWritesOfEachWayOfSteering(t *testing.T) {
	in1 := lab.ResourceID("networkInterfaces", "nva-1-internal")
	in2 := lab.ResourceID("networkInterfaces", "nva-2-internal")
	lb := lab.ResourceID("loadBalancers", "hanva-lb")
	rec := lab.ResourceID("privateDnsZones", "hanva.internal") + "/A/nva"
	names2 := steeredNames{}
	events := []armsim.Event{
		ev(100, armsim.KindWriteAccepted, lb, 200, "", `tag "hanva-epoch" "1" -> "2"`),
		ev(150, armsim.KindWriteAccepted, rec, 200, "", `metadata "hanva-epoch" "1" -> "2"`),
		ev(1000, armsim.KindWriteAccepted, in1, 200, "", `ipconfig "hanva-floating-10-0-0-112" removed`, `tag "hanva-epoch" "1" -> "2"`),
		ev(1100, armsim.KindWriteAccepted, lb, 200, "", `backend pool "nva-pool" properties changed`),
		ev(1200, armsim.KindWriteAccepted, rec, 200, "", `aRecords 10.0.0.100 -> 10.0.0.101`, `metadata "hanva-epoch" "2" -> "3"`),
		ev(1200, armsim.KindWriteSucceeded, rec, 200, ""),
		ev(2000, armsim.KindWriteSucceeded, in1, 200, ""),
		ev(2001, armsim.KindWriteAccepted, in2, 200, "", `ipconfig "hanva-floating-10-0-0-112" added`),
		ev(2100, armsim.KindWriteSucceeded, lb, 200, ""),
		ev(3001, armsim.KindWriteSucceeded, in2, 200, ""),
	}
	tl := buildTimeline(names2, at(0), []action{{at: at(0), label: "nva-1 crashed", nva: true}}, nil, events, "nva-1")
	var bars []string
	for _, b := range tl.Bars {
		bars = append(bars, b.Kind+": "+b.Label)
	}
	want := []string{
		"floatingIp: floating IP 10.0.0.112 off nva-1",
		"backendPool: backend pool nva-pool of hanva-lb",
		"dnsRecord: DNS record nva.hanva.internal (A) -> nva-2",
		"floatingIp: floating IP 10.0.0.112 onto nva-2",
	}
	if strings.Join(bars, "\n") != strings.Join(want, "\n") {
		t.Errorf("bars:\n%s\nwant:\n%s", strings.Join(bars, "\n"), strings.Join(want, "\n"))
	}
	var steps []string
	for _, s := range tl.Steps {
		if s.Kind == StepConverged {
			steps = append(steps, "+"+fmtDur(s.At)+" "+s.Label)
		}
	}
	wantSteps := []string{
		"+1.2s DNS record nva.hanva.internal (A) converged on nva-2",
		"+2s floating IP 10.0.0.112 removed from nva-1",
		"+2.1s backend pool nva-pool of hanva-lb converged",
		"+3s floating IP 10.0.0.112 added to nva-2",
	}
	if strings.Join(steps, "\n") != strings.Join(wantSteps, "\n") {
		t.Errorf("converged steps:\n%s\nwant:\n%s", strings.Join(steps, "\n"), strings.Join(wantSteps, "\n"))
	}
	if tl.Total != 3001*time.Millisecond {
		t.Errorf("total = %s, want 3.001s", tl.Total)
	}
}

// steeredNames is names with the internal NICs.
type steeredNames struct{ names }

func (steeredNames) NVAOfNIC(id string) string {
	return map[string]string{
		strings.ToLower(lab.ResourceID("networkInterfaces", "nva-1-internal")): "nva-1",
		strings.ToLower(lab.ResourceID("networkInterfaces", "nva-2-internal")): "nva-2",
	}[strings.ToLower(id)]
}

func TestStampOnlyKnowsTagsAndRecordSetMetadata(t *testing.T) {
	for _, tc := range []struct {
		changes []string
		want    bool
	}{
		{[]string{`tag "hanva-epoch" "1" -> "2"`}, true},
		{[]string{`metadata "hanva-epoch" (none) -> "1"`}, true},
		{[]string{`metadata "hanva-epoch" "1" -> "2"`, `tag "hanva-epoch" "1" -> "2"`}, true},
		{[]string{`aRecords 10.0.0.100 -> 10.0.0.101`, `metadata "hanva-epoch" "1" -> "2"`}, false},
		{[]string{`metadata "owner" "a" -> "b"`}, false},
		{nil, false},
	} {
		if got := stampOnly(armsim.Event{Changes: tc.changes}); got != tc.want {
			t.Errorf("stampOnly(%q) = %v, want %v", tc.changes, got, tc.want)
		}
	}
}
