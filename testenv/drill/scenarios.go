package drill

import (
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/hanva/hanva/monitor/config"
	"github.com/hanva/hanva/testenv/armsim"
	"github.com/hanva/hanva/testenv/lab"
)

// scenario is one failure the drill rehearses. Each starts from a clean,
// converged state: a fresh armsim seeded with the stack, fresh stand-ins
// (all up), an empty lease container, monitors just started, one leader,
// every NVA up and Azure on the first NVA.
type scenario struct {
	name, title, what string
	// settings changes the deployment's monitor settings for this scenario.
	settings func(*lab.Settings)
	// steering is how the deployment steers traffic to the active NVA
	// (lab.SampleOptions.Steering, the program's stack config key
	// steering); nil is the default, routes and the public IP.
	steering []string
	run      func(r *runner) error
}

var scenarios = []*scenario{
	{
		name:  "crash",
		title: "the active NVA crashes (probes refused)",
		what: "The first NVA's probe port closes, as when the VM or its health service dies: probes get a reset at once. " +
			"The monitors must see it down after 3 failed probes and the leader must move every route table and the public IP to the standby.",
		run: func(r *runner) error { return r.nvaFails("refused") },
	},
	{
		name:  "hang",
		title: "the active NVA hangs (probes time out)",
		what: "The first NVA accepts connections and never answers, as a wedged appliance does: only the probe timeout tells. " +
			"Failover must follow as for a crash, one timeout per probe later.",
		run: func(r *runner) error { return r.nvaFails("timeout") },
	},
	{
		name:  "leader-kill",
		title: "the leading monitor is killed (SIGKILL) as the active NVA crashes",
		what: "The monitor holding the lease dies without releasing it, and the active NVA crashes at the same moment. " +
			"Another monitor must acquire the lease once it expires (within the lease duration) and then fail over; the dead one writes nothing.",
		run: (*runner).leaderKilled,
	},
	{
		name:  "leader-pause",
		title: "the leading monitor is paused (SIGSTOP) past its lease, then resumed",
		what: "The leader freezes (a VM pause, a stuck process) while the active NVA crashes. Another monitor takes over and fails over. " +
			"When the frozen one resumes it must find its lease gone before it writes anything: not a single ARM write from it after the pause.",
		run: (*runner).leaderPaused,
	},
	{
		name:  "throttle",
		title: "ARM throttles writes during a failover",
		what: "armsim allows one write every 2 s (burst 1), answering 429 SubscriptionRequestsThrottled with Retry-After, when the active NVA crashes. " +
			"The leader must wait out Retry-After, retry, and still converge every resource.",
		run: (*runner).throttled,
	},
	{
		name:  "failback",
		title: "failback to the first NVA under failback: preferred",
		what: "The monitors run with failback: preferred (holdoff 5s, minFailoverInterval 5s). The first NVA crashes, traffic moves to the standby; " +
			"then the first NVA returns and, once it has been up for the holdoff, everything moves back to it.",
		settings: func(s *lab.Settings) {
			s.Failback = "preferred"
			s.FailbackHoldoff = config.Duration(failbackHoldoff)
			s.MinFailoverInterval = config.Duration(5 * time.Second)
		},
		run: (*runner).failback,
	},
	{
		name:  "crash-floating-ip",
		title: "the active NVA crashes; a floating private IP steers traffic",
		what: "The sample deployed with steering floatingIp: the route tables point at a floating private IP, a secondary ipconfig on the first NVA's internal NIC, " +
			"and never change. The first NVA's probe port closes; the leader must take the ipconfig off the first NVA's internal NIC, then add it to the standby's " +
			"(two NIC writes: Azure refuses the address on a second NIC while the first holds it), move the public IP, and write no route table.",
		steering: []string{"floatingIp", "publicIp"},
		run:      func(r *runner) error { return r.steeredCrash(steerFloating) },
	},
	{
		name:  "crash-load-balancer",
		title: "the active NVA crashes; a load balancer's backend pool steers traffic",
		what: "The sample deployed with steering loadBalancer: the route tables point at a Standard internal load balancer's frontend (HA-ports rule), whose IP-based " +
			"backend pool holds only the first NVA's internal address. The first NVA's probe port closes; the leader must put the standby's address in the pool " +
			"in place of the first's (one load balancer write), move the public IP, and write no route table.",
		steering: []string{"loadBalancer", "publicIp"},
		run:      func(r *runner) error { return r.steeredCrash(steerLoadBalancer) },
	},
	{
		name:  "crash-dns",
		title: "the active NVA crashes; routes and a Private DNS record steer traffic",
		what: "The sample deployed with steering routes and dns: the route tables point at the first NVA, and a Private DNS A record (nva.hanva.internal) holds its " +
			"internal address for clients that resolve a name. The first NVA's probe port closes; the leader must rewrite the route tables, move the public IP " +
			"and write the record set once with the standby's address.",
		steering: []string{"routes", "publicIp", "dns"},
		run:      func(r *runner) error { return r.steeredCrash(steerDNS) },
	},
}

const failbackHoldoff = 5 * time.Second

// Names lists the scenarios in the order they run.
func Names() []string {
	var out []string
	for _, s := range scenarios {
		out = append(out, s.name)
	}
	return out
}

// Describe returns a scenario's one-line title ("" if unknown).
func Describe(name string) string {
	if s := find(name); s != nil {
		return s.title
	}
	return ""
}

// Steering returns how a scenario's deployment steers traffic (the
// program's stack config key steering), nil for the default (routes and
// the public IP), which the hand-written sample (lab.SampleStack) also has.
func Steering(name string) []string {
	if s := find(name); s != nil {
		return slices.Clone(s.steering)
	}
	return nil
}

func find(name string) *scenario {
	for _, s := range scenarios {
		if s.name == name {
			return s
		}
	}
	return nil
}

// failoverWithin bounds a plain failover: detection, the writes, and
// slack for a loaded machine.
func (r *runner) failoverWithin() time.Duration {
	return 60*time.Second + 10*r.o.ProbeInterval + 10*r.o.Latency
}

func (r *runner) leaseDuration() time.Duration { return leaseDuration(r.env.Stack) }

// nvaFails crashes (refused) or hangs (timeout) the first NVA and expects a
// failover to the second.
func (r *runner) nvaFails(failure string) error {
	active, standby := r.env.NVAs[0], r.env.NVAs[1]
	var err error
	if failure == "refused" {
		err = r.crash(active)
	} else {
		err = r.doNVA(active+" hung: its probe port accepts and never answers", r.env.StandIns[active].Hang)
		r.begin(active, SpanNVA, active+" hung (probes time out)")
	}
	if err != nil {
		return err
	}
	if err := r.waitOn(standby, r.failoverWithin()); err != nil {
		return err
	}
	r.settleDown()
	r.checkDetection(active, failure)
	r.checkDecision(active, standby, "active_down")
	return nil
}

// crash closes an NVA's probe port: probes are refused.
func (r *runner) crash(nva string) error {
	err := r.doNVA(nva+" crashed: its probe port refuses connections", func() error { r.env.StandIns[nva].Crash(); return nil })
	if err == nil {
		r.begin(nva, SpanNVA, nva+" down (probes refused)")
	}
	return err
}

// settleDown waits for failover_completed and watches a little longer, so
// a stray write would show.
func (r *runner) settleDown() {
	_ = r.waitFor("failover_completed in a monitor's log", 30*time.Second, func() bool {
		for _, m := range r.env.Monitors {
			if _, ok := lab.First(m.Logs(), "failover_completed", "", r.origin); ok {
				return true
			}
		}
		return false
	})
	r.watch(r.settle)
}

// checkDetection: the first failed probe of the NVA was of the injected kind.
func (r *runner) checkDetection(nva, failure string) {
	lines := r.linesOf("probe_failed", nva)
	if len(lines) == 0 {
		r.check("the failure is seen as "+failure, false, "no probe_failed for %s in any monitor's log", nva)
		return
	}
	r.check("the failure is seen as "+failure, lines[0].Failure == failure, "first probe_failed of %s: failure=%s", nva, lines[0].Failure)
}

// checkDecision: a monitor decided from -> to for reason.
func (r *runner) checkDecision(from, to, reason string) {
	for _, l := range r.allLines("failover_started") {
		if l.From == from && l.To == to && l.Reason == reason {
			r.check("the leader decides "+from+" -> "+to+" ("+reason+")", true, "failover_started by %s at %s", l.Instance, r.offset(l.Time))
			return
		}
	}
	r.check("the leader decides "+from+" -> "+to+" ("+reason+")", false, "no such failover_started in any log")
}

// allLines returns every monitor's lines of an event since the origin,
// earliest first.
func (r *runner) allLines(event string) []lab.LogLine {
	var out []lab.LogLine
	for _, m := range r.env.Monitors {
		out = append(out, lab.Filter(m.Logs(), event, "", r.origin)...)
	}
	sortLines(out)
	return out
}

// linesOf returns every monitor's lines of an event about an NVA since the
// origin, earliest first.
func (r *runner) linesOf(event, nva string) []lab.LogLine {
	var out []lab.LogLine
	for _, l := range r.allLines(event) {
		if l.NVA == nva {
			out = append(out, l)
		}
	}
	return out
}

// leaderKilled: SIGKILL the leader and crash the active NVA together.
func (r *runner) leaderKilled() error {
	active, standby := r.env.NVAs[0], r.env.NVAs[1]
	leader := r.leader0
	if err := r.do(leader.Name+" (the leader) killed with SIGKILL", leader.Kill); err != nil {
		return err
	}
	killed := r.actions[len(r.actions)-1].at
	r.begin(leader.Name, SpanMonitor, leader.Name+" dead")
	r.ends = append(r.ends, leaseEnd{instance: leader.Name, at: killed, why: "killed"})
	if err := r.crash(active); err != nil {
		return err
	}
	if err := r.waitOn(standby, r.failoverWithin()+2*r.leaseDuration()); err != nil {
		return err
	}
	r.settleDown()
	var next lab.LogLine
	for _, l := range r.allLines("lease_acquired") {
		if l.Instance != leader.Name {
			next = l
			break
		}
	}
	limit := r.leaseDuration() + 5*time.Second
	if next.Instance == "" {
		r.check("another monitor takes the lease within the lease duration", false, "no lease_acquired after the kill")
	} else {
		took := next.Time.Sub(killed)
		r.check("another monitor takes the lease within the lease duration", took <= limit,
			"%s acquired it %s after the kill (lease %s; limit %s with the retry period and a loaded machine's slack)", next.Instance, fmtDur(took), r.leaseDuration(), limit)
	}
	n := len(writesBy(r.env.Sim.Events(0), leader.Name, killed))
	r.check("the killed monitor writes nothing", n == 0, "%d ARM write(s) by %s after the kill", n, leader.Name)
	r.checkDecision(active, standby, "active_down")
	return nil
}

// leaderPaused: SIGSTOP the leader, crash the active NVA, let another
// monitor fail over, resume the paused one after its lease is long gone.
func (r *runner) leaderPaused() error {
	active, standby := r.env.NVAs[0], r.env.NVAs[1]
	leader := r.leader0
	if err := r.do(leader.Name+" (the leader) paused with SIGSTOP", leader.Pause); err != nil {
		return err
	}
	paused := r.actions[len(r.actions)-1].at
	r.begin(leader.Name, SpanMonitor, leader.Name+" paused (SIGSTOP)")
	r.ends = append(r.ends, leaseEnd{instance: leader.Name, at: paused, why: "paused"})
	if err := r.crash(active); err != nil {
		return err
	}
	if err := r.waitOn(standby, r.failoverWithin()+2*r.leaseDuration()); err != nil {
		_ = leader.Resume()
		return err
	}
	// Keep it frozen well past its lease: its deadline has long passed and
	// another monitor has written with a higher epoch.
	if rest := time.Until(paused.Add(r.leaseDuration() + 5*time.Second)); rest > 0 {
		fmt.Fprintf(r.out, "  keeping %s paused %s more (lease %s + 5s)\n", leader.Name, fmtDur(rest), r.leaseDuration())
		r.watch(rest)
	}
	if err := r.do(leader.Name+" resumed with SIGCONT", leader.Resume); err != nil {
		return err
	}
	resumed := r.actions[len(r.actions)-1].at
	r.end(leader.Name)
	err := r.waitFor(leader.Name+" to log that it lost the lease", 30*time.Second, func() bool {
		logs := leader.Logs()
		_, a := lab.First(logs, "leader_lost", "", resumed)
		_, b := lab.First(logs, "lease_lost", "", resumed)
		return a || b
	})
	r.check("the resumed monitor knows it lost the lease", err == nil, "leader_lost / lease_lost in %s's log after SIGCONT: %v", leader.Name, err == nil)
	r.watch(max(3*time.Second, r.settle))
	n := writesBy(r.env.Sim.Events(0), leader.Name, paused)
	detail := fmt.Sprintf("%d ARM write(s) by %s since it was paused", len(n), leader.Name)
	for _, ev := range n {
		detail += fmt.Sprintf("; %s %s %v", ev.Method, short(ev.ResourceID), ev.Changes)
	}
	r.check("the paused monitor writes nothing after the pause", len(n) == 0, "%s", detail)
	var others []string
	for _, l := range r.allLines("failover_started") {
		if l.Instance != leader.Name {
			others = append(others, l.Instance)
		}
	}
	r.check("another monitor failed over while it slept", len(others) > 0, "failover_started by %s", listOr(others, "nobody else"))
	return nil
}

// throttled: armsim throttles writes, then the active NVA crashes.
func (r *runner) throttled() error {
	active, standby := r.env.NVAs[0], r.env.NVAs[1]
	if err := r.do("ARM throttle on: 0.5 writes/s, burst 1 (429 + Retry-After beyond)", func() error {
		r.env.Sim.SetWriteThrottle(0.5, 1)
		return nil
	}); err != nil {
		return err
	}
	r.begin("arm", SpanARM, "ARM throttled: 0.5 writes/s")
	if err := r.crash(active); err != nil {
		return err
	}
	err := r.waitOn(standby, r.failoverWithin()+time.Minute)
	r.env.Sim.SetWriteThrottle(0, 0)
	r.end("arm")
	if err != nil {
		return err
	}
	r.settleDown()
	var throttled int
	for _, ev := range r.env.Sim.Events(0) {
		if ev.Kind == armsim.KindWriteRejected && ev.Status == 429 {
			throttled++
		}
	}
	r.check("ARM throttled the failover", throttled > 0, "%d write(s) answered 429", throttled)
	retries := len(r.allLines("arm_retry"))
	r.check("the leader retried and converged", retries > 0, "%d arm_retry line(s) in the logs", retries)
	r.checkDecision(active, standby, "active_down")
	return nil
}

// failback: fail over, bring the first NVA back, expect a failback after
// the holdoff.
func (r *runner) failback() error {
	active, standby := r.env.NVAs[0], r.env.NVAs[1]
	if err := r.crash(active); err != nil {
		return err
	}
	if err := r.waitOn(standby, r.failoverWithin()); err != nil {
		return err
	}
	if err := r.doNVA(active+" is back: its probe port answers again", r.env.StandIns[active].Restore); err != nil {
		return err
	}
	back := r.actions[len(r.actions)-1].at
	r.end(active)
	r.want = active
	if err := r.waitOn(active, r.failoverWithin()+failbackHoldoff+10*time.Second); err != nil {
		return err
	}
	r.settleDown()
	r.checkDecision(active, standby, "active_down")
	var fb, up *lab.LogLine
	for _, l := range r.allLines("failover_started") {
		if l.Reason == "failback" && l.To == active && l.Time.After(back) {
			fb = &l
			break
		}
	}
	for _, l := range r.allLines("health_changed") {
		if l.NVA == active && l.To == "up" && l.Time.After(back) && (fb == nil || l.Instance == fb.Instance) {
			up = &l
			break
		}
	}
	if fb == nil || up == nil {
		r.check("failback after the holdoff", false, "no failback decision (or no %s up) after %s returned", active, active)
		return errors.New("no failback")
	}
	wait := fb.Time.Sub(up.Time)
	r.check("failback after the holdoff", wait >= failbackHoldoff-100*time.Millisecond,
		"%s decided failback %s after it saw %s up (holdoff %s)", fb.Instance, fmtDur(wait), active, failbackHoldoff)
	return nil
}

// writesBy returns the accepted writes whose User-Agent names instance, at
// or after a time.
func writesBy(events []armsim.Event, instance string, after time.Time) []armsim.Event {
	var out []armsim.Event
	for _, ev := range writes(events, after) {
		if instanceOf(ev.Client) == instance {
			out = append(out, ev)
		}
	}
	return out
}

// Ways of steering a steered scenario checks.
const (
	steerFloating     = "floatingIp"
	steerLoadBalancer = "loadBalancer"
	steerDNS          = "dns"
)

// steeredCrash crashes the first NVA of a deployment steered by mode and
// checks, besides what crash checks, that the mode's resources exist and
// each ends on the standby, that the mode's writes were the ones it needs
// (floating IP: off the active NVA's NIC, then onto the standby's; load
// balancer: one write; DNS: one record set write), and, when the route
// tables point at a fixed address (floating IP, load balancer), that no
// route table was written at all.
func (r *runner) steeredCrash(mode string) error {
	if err := r.nvaFails("refused"); err != nil {
		return err
	}
	active, standby := r.env.NVAs[0], r.env.NVAs[1]
	cfg := r.env.Stack.Config
	p, err := r.env.Placement()
	if err != nil {
		return err
	}
	events := r.env.Sim.Events(0)
	moved := moves(events, r.origin)
	on := func(kind string, m map[string]string, n int) {
		var parts []string
		ok := n > 0
		for k, v := range m {
			parts = append(parts, short(k)+" -> "+orNone(v))
			ok = ok && v == standby
		}
		sort.Strings(parts)
		r.check(fmt.Sprintf("every %s on %s", kind, standby), ok && len(m) == n, "%d managed: %s", n, listOr(parts, "none"))
	}
	tableWrites := func() []armsim.Event {
		var out []armsim.Event
		for _, ev := range writes(events, time.Time{}) {
			if strings.Contains(strings.ToLower(ev.ResourceID), "/routetables/") {
				out = append(out, ev)
			}
		}
		return out
	}
	switch mode {
	case steerFloating:
		on("floating IP", p.FloatingIPs, len(cfg.FloatingIPs))
		var seen []string
		var want []string
		for _, f := range cfg.FloatingIPs {
			name := f.IPConfigName()
			from, to := r.nicOf(active, f.Via), r.nicOf(standby, f.Via)
			want = append(want, short(from)+" removed "+name, short(to)+" added "+name)
			for _, ev := range moved {
				for _, c := range ev.Changes {
					for _, verb := range []string{"removed", "added"} {
						if c == fmt.Sprintf("ipconfig %q %s", name, verb) {
							seen = append(seen, short(ev.ResourceID)+" "+verb+" "+name)
						}
					}
				}
			}
		}
		r.check("the floating IP moved off "+active+"'s NIC, then onto "+standby+"'s", slices.Equal(seen, want),
			"NIC writes: %s (want %s)", listOr(seen, "none"), strings.Join(want, ", "))
	case steerLoadBalancer:
		on("backend pool", p.BackendPools, len(cfg.BackendPools))
		var lbs []string
		for _, ev := range moved {
			if strings.Contains(strings.ToLower(ev.ResourceID), "/loadbalancers/") {
				lbs = append(lbs, fmt.Sprintf("%s %s %v", ev.Method, short(ev.ResourceID), ev.Changes))
			}
		}
		r.check("one load balancer write moved the pool", len(lbs) == len(cfg.BackendPools),
			"%d load balancer write(s) after the failure (want %d): %s", len(lbs), len(cfg.BackendPools), listOr(lbs, "none"))
	case steerDNS:
		on("DNS record", p.DNSRecords, len(cfg.DNSRecords))
		on("route table", p.RouteTables, len(cfg.RouteTables))
		var recs []string
		for _, ev := range moved {
			if strings.Contains(strings.ToLower(ev.ResourceID), "/privatednszones/") {
				recs = append(recs, fmt.Sprintf("%s %s %v", ev.Method, recordName(ev.ResourceID), ev.Changes))
			}
		}
		r.check("one record set write moved the DNS record", len(recs) == len(cfg.DNSRecords),
			"%d record set write(s) after the failure (want %d): %s", len(recs), len(cfg.DNSRecords), listOr(recs, "none"))
	}
	if mode == steerFloating || mode == steerLoadBalancer {
		var tw []string
		for _, ev := range tableWrites() {
			tw = append(tw, fmt.Sprintf("%s %s %v", ev.Method, short(ev.ResourceID), ev.Changes))
		}
		r.check("no route table written (they point at the "+map[string]string{steerFloating: "floating IP", steerLoadBalancer: "load balancer's frontend"}[mode]+")",
			len(tw) == 0 && len(cfg.RouteTables) == 0, "%d route table write(s) since the monitors started: %s; %d route table(s) in the monitors' config",
			len(tw), listOr(tw, "none"), len(cfg.RouteTables))
	}
	return nil
}

// nicOf returns an NVA's NIC ID of a role ("" if none).
func (r *runner) nicOf(nva, role string) string {
	n, _ := r.env.Stack.Config.NVA(nva)
	return n.NICs[role]
}
