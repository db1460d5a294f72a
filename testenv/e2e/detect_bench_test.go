package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/hanva/hanva/monitor/config"
)

// probeSetting is one set of probe timings the benchmarks run the monitor with.
type probeSetting struct {
	name      string
	interval  time.Duration
	timeout   time.Duration
	threshold int // failures that mark an NVA down
}

var (
	// defaultProbe is what a config that says nothing about probing gets.
	defaultProbe = probeSetting{"default", config.DefaultProbeInterval, config.DefaultProbeTimeout, config.DefaultFailureThreshold}
	// aggressiveProbe is a fast setting an operator might choose on a quiet network.
	aggressiveProbe = probeSetting{"aggressive", 200 * time.Millisecond, 150 * time.Millisecond, 2}
)

// apply sets the probe timings and puts every other timing the e2e
// environment shortens back to the monitor's defaults, so the monitor runs
// as it would in production.
func (s probeSetting) apply(c *config.Config) {
	c.Probe = config.ProbeTiming{
		Interval:         config.Duration(s.interval),
		Timeout:          config.Duration(s.timeout),
		FailureThreshold: s.threshold,
		SuccessThreshold: config.DefaultSuccessThreshold,
	}
	c.PollInterval, c.ReconcileInterval, c.MinFailoverInterval = 0, 0, 0
}

func (s probeSetting) report(b *testing.B) {
	b.ReportMetric(float64(s.interval.Milliseconds()), "interval-ms")
	b.ReportMetric(float64(s.timeout.Milliseconds()), "timeout-ms")
	b.ReportMetric(float64(s.threshold), "threshold")
}

// failureMode is how the active NVA fails, and the probe failure it must cause.
type failureMode struct {
	name    string
	inject  func(*probedNVA)
	failure string // the probe_failed event's failure attribute
}

var failureModes = []failureMode{
	// The probe port closes: the next probe is refused (TCP reset).
	{"refused", (*probedNVA).refuse, "refused"},
	// The NVA accepts the connection and never answers: only the timeout tells.
	{"silent", (*probedNVA).hang, "timeout"},
}

// injectAfterProbe is the phase of the probe cycle at which a failure is
// injected: this long after the NVA answered a probe. Right after a
// successful probe is the worst phase (a whole interval passes before the
// next probe), so the measured detection times are upper bounds, less this.
const injectAfterProbe = 25 * time.Millisecond

// BenchmarkDetection runs the real nva-monitor against armsim and two HTTP
// NVA stand-ins, makes the active one fail (refused or silent) just after
// it answered a probe, and reports, from the monitor's JSON log, the time
// from the injection to the first failed probe logged ("first-failed-ms"),
// to the NVA marked down ("down-ms") and to the failover decision, the
// failover_started line ("decision-ms"); at the default probe settings and
// at aggressive ones (reported as "interval-ms", "timeout-ms",
// "threshold"). Expected: after a refusal, the next probe (up to an
// interval: this phase is the worst) and threshold − 1 confirmations a fast
// interval apart (probe.fastInterval, its default here); after silence, the
// probe's timeout more. The median over random phases, with two monitors
// and a quorum, is measured in virtual time by monitor/daemon's detection
// tests, which make bench runs too.
//
//	go test -run '^$' -bench Detection -benchtime 3x ./testenv/e2e/
func BenchmarkDetection(b *testing.B) {
	for _, s := range []probeSetting{defaultProbe, aggressiveProbe} {
		for _, f := range failureModes {
			b.Run(fmt.Sprintf("probe=%s/failure=%s", s.name, f.name), func(b *testing.B) {
				var firstFailed, down, decision time.Duration
				for range b.N {
					d := detectOnce(b, s, f)
					firstFailed += d.firstFailed
					down += d.down
					decision += d.decision
				}
				n := float64(b.N)
				b.ReportMetric(float64(firstFailed.Milliseconds())/n, "first-failed-ms")
				b.ReportMetric(float64(down.Milliseconds())/n, "down-ms")
				b.ReportMetric(float64(decision.Milliseconds())/n, "decision-ms")
				b.ReportMetric(float64(injectAfterProbe.Milliseconds()), "phase-ms")
				s.report(b)
			})
		}
	}
}

type detection struct {
	firstFailed, down, decision time.Duration // since the injection
}

func detectOnce(b *testing.B, s probeSetting, f failureMode) detection {
	b.Helper()
	nva1, nva2 := newProbedNVA(b), newProbedNVA(b)
	e := newEnv(b, envOptions{tables: 2, probeKind: "http", mutate: func(c *config.Config) {
		s.apply(c)
		c.NVAs[0].Probe.Address = nva1.addr
		c.NVAs[1].Probe.Address = nva2.addr
	}})
	p := e.startMonitor()
	defer p.stop()
	e.waitReady(p)
	eventually(b, 60*time.Second, "both NVAs up", func() bool {
		h := healthByNVA(e)
		return h["nva-1"] == "up" && h["nva-2"] == "up"
	})

	// Inject at a known phase: just after nva-1 answered a probe.
	nva1.drain()
	select {
	case <-nva1.probes:
	case <-time.After(30 * time.Second):
		b.Fatal("nva-1 got no probe for 30 s")
	}
	time.Sleep(injectAfterProbe)
	injected := time.Now()
	f.inject(nva1)

	eventually(b, 60*time.Second, "failover_started logged", func() bool {
		_, ok := p.firstEvent("failover_started", "", injected)
		return ok
	})
	eventually(b, 60*time.Second, "every route table and the public IP on nva-2", func() bool {
		return e.topo.onNVA(b, e.sim, "nva-2")
	})
	pf, ok := p.firstEvent("probe_failed", "nva-1", injected)
	if !ok {
		b.Fatalf("no probe_failed event for nva-1 after the injection:\n%s", p.logText())
	}
	if got := pf.raw["failure"]; got != f.failure {
		b.Fatalf("nva-1's probe failed with %v, want %q: the benchmark is not measuring a %s failure", got, f.failure, f.name)
	}
	var hc logLine
	for _, l := range p.lines() {
		if l.Event == "health_changed" && l.NVA == "nva-1" && l.To == "down" && !l.Time.Before(injected) {
			hc = l
			break
		}
	}
	if hc.Time.IsZero() {
		b.Fatalf("nva-1 was never marked down:\n%s", p.logText())
	}
	fs, _ := p.firstEvent("failover_started", "", injected)
	if fs.From != "nva-1" || fs.To != "nva-2" || fs.Reason != "active_down" {
		b.Fatalf("failover_started = %+v, want nva-1 -> nva-2 for active_down", fs)
	}
	return detection{
		firstFailed: pf.Time.Sub(injected),
		down:        hc.Time.Sub(injected),
		decision:    fs.Time.Sub(injected),
	}
}

// healthByNVA reads every NVA's thresholded health from the daemon's /status.
func healthByNVA(e *env) map[string]string {
	resp, err := http.Get("http://" + e.cfg.Listen + "/status")
	if err != nil {
		return nil
	}
	defer resp.Body.Close()
	var st struct {
		NVAs map[string]struct {
			Health string `json:"health"`
		} `json:"nvas"`
	}
	if json.NewDecoder(resp.Body).Decode(&st) != nil {
		return nil
	}
	out := map[string]string{}
	for name, n := range st.NVAs {
		out[name] = n.Health
	}
	return out
}

// probedNVA is an HTTP NVA stand-in on 127.0.0.1 that says when it has
// answered a probe, so that a failure can be injected at a known phase of
// the monitor's probe cycle.
type probedNVA struct {
	addr    string
	probes  chan struct{} // a value per probe answered; dropped when full
	mu      sync.Mutex
	srv     *http.Server
	hung    bool
	release chan struct{} // closed to let hung requests go
}

func newProbedNVA(t testing.TB) *probedNVA {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	must(t, err)
	n := &probedNVA{addr: ln.Addr().String(), probes: make(chan struct{}, 1), release: make(chan struct{})}
	n.srv = &http.Server{Handler: http.HandlerFunc(n.serve)}
	go func() { _ = n.srv.Serve(ln) }()
	t.Cleanup(n.close)
	return n
}

func (n *probedNVA) serve(w http.ResponseWriter, r *http.Request) {
	n.mu.Lock()
	hung := n.hung
	n.mu.Unlock()
	if hung {
		select {
		case <-n.release:
		case <-r.Context().Done():
		}
		return
	}
	_, _ = io.WriteString(w, "ok\n")
	select {
	case n.probes <- struct{}{}:
	default:
	}
}

// drain forgets probes answered so far.
func (n *probedNVA) drain() {
	for {
		select {
		case <-n.probes:
		default:
			return
		}
	}
}

// refuse closes the port: connection attempts get a reset.
func (n *probedNVA) refuse() {
	_ = n.srv.Close()
}

// hang keeps accepting connections and never answers again.
func (n *probedNVA) hang() {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.hung = true
}

func (n *probedNVA) close() {
	n.mu.Lock()
	if n.hung {
		n.hung = false
		close(n.release)
	}
	n.mu.Unlock()
	_ = n.srv.Close()
}
