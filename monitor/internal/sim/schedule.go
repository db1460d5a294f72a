package sim

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"time"

	"github.com/hanva/hanva/monitor/internal/lease"
)

// Fault kinds a schedule draws from.
const (
	faultCrash        = "crash"         // SIGKILL, restarted after For
	faultPause        = "pause"         // SIGSTOP for For; the clocks keep counting
	faultFreeze       = "freeze"        // the VM frozen for For; Flag: its monotonic clock stops too
	faultCutStorage   = "cut-storage"   // partition monitor <-> storage, Text: requests | responses | both
	faultCutARM       = "cut-arm"       // partition monitor <-> ARM
	faultCutNVA       = "cut-nva"       // monitor's probes of NVA N time out
	faultSkew         = "clock-jump"    // the monitor's wall clock jumps by Arg (and stays skewed)
	faultStorageDown  = "storage-down"  // storage answers 503 to everyone for For
	faultCorruptState = "corrupt-state" // the shared-state blob's content replaced by garbage
	faultDeleteState  = "delete-state"  // the shared-state blob deleted
	faultARMError     = "arm-error"     // ARM answers Text (409, 429, 500, 503, 403) to Count requests on one resource
	faultForbidden    = "arm-forbidden" // one resource answers 403 to everyone for For
	faultARMDelay     = "arm-delay"     // the monitor's ARM requests arrive Arg late (after it gave up, often) for For
	faultARMDup       = "arm-dup"       // the monitor's ARM requests arrive twice for For
	faultNVADown      = "nva-down"      // NVA N down for For; Flag: silent (probes hang) rather than refused
	faultNVAFlap      = "nva-flap"      // NVA N toggles every Arg for For
	faultManual       = "manual"        // an operator asks for a failover to NVA N
)

// Fault is one entry of a schedule.
type Fault struct {
	At, For time.Duration
	Kind    string
	M, N    int
	Arg     time.Duration
	Count   int
	Flag    bool
	Text    string
	Target  string // resource ID, for ARM faults
}

func (f Fault) String() string {
	s := fmt.Sprintf("%8s  %-14s", f.At, f.Kind)
	switch f.Kind {
	case faultCrash, faultPause:
		s += fmt.Sprintf(" monitor-%d for %s", f.M+1, f.For)
	case faultFreeze:
		s += fmt.Sprintf(" monitor-%d for %s, monotonic clock stops: %v", f.M+1, f.For, f.Flag)
	case faultCutStorage, faultCutARM:
		s += fmt.Sprintf(" monitor-%d %s for %s", f.M+1, f.Text, f.For)
	case faultCutNVA:
		s += fmt.Sprintf(" monitor-%d -> nva-%d for %s", f.M+1, f.N+1, f.For)
	case faultSkew:
		s += fmt.Sprintf(" monitor-%d by %s", f.M+1, f.Arg)
	case faultStorageDown, faultForbidden:
		s += fmt.Sprintf(" %s for %s", short(f.Target), f.For)
	case faultARMError:
		s += fmt.Sprintf(" %s x%d on %s", f.Text, f.Count, short(f.Target))
	case faultARMDelay:
		what := "requests"
		if f.Flag {
			what = "writes"
		}
		s += fmt.Sprintf(" monitor-%d, %s %s late, for %s", f.M+1, what, f.Arg, f.For)
	case faultARMDup:
		s += fmt.Sprintf(" monitor-%d for %s", f.M+1, f.For)
	case faultNVADown:
		s += fmt.Sprintf(" nva-%d for %s, silent: %v", f.N+1, f.For, f.Flag)
	case faultNVAFlap:
		s += fmt.Sprintf(" nva-%d every %s for %s", f.N+1, f.Arg, f.For)
	case faultManual:
		s += fmt.Sprintf(" to nva-%d", f.N+1)
	}
	return s
}

// Schedule is one simulation: its shape and its faults.
type Schedule struct {
	Seed     uint64
	Monitors int
	NVAs     int
	Tables   int
	// NoPublicIP: the deployment steers by route tables alone (no public IP
	// is managed), so a late write can move every managed resource.
	NoPublicIP bool
	Window     time.Duration // faults start within it; everything heals at its end
	Faults     []Fault
}

func (s Schedule) String() string {
	var b strings.Builder
	pip := "a public IP"
	if s.NoPublicIP {
		pip = "no public IP"
	}
	fmt.Fprintf(&b, "seed %d: %d monitors, %d NVAs, %d route tables, %s; faults heal at %s\n", s.Seed, s.Monitors, s.NVAs, s.Tables, pip, s.Window)
	for _, f := range s.Faults {
		b.WriteString("  " + f.String() + "\n")
	}
	return b.String()
}

// Kinds lists every fault kind, for Generate's Only option and the summary.
var Kinds = []string{faultCrash, faultPause, faultFreeze, faultCutStorage, faultCutARM, faultCutNVA, faultSkew,
	faultStorageDown, faultCorruptState, faultDeleteState, faultARMError, faultForbidden, faultARMDelay, faultARMDup,
	faultNVADown, faultNVAFlap, faultManual}

// families are sets of fault kinds that combine into the schedules a
// review found dangerous; a schedule draws from one of them (nil: from
// every kind), so that such combinations are dense enough to be found.
var families = [][]string{
	nil,
	nil,
	// Leaders that stop, late writes, and NVAs that fail meanwhile.
	{faultCrash, faultPause, faultFreeze, faultCutStorage, faultARMDelay, faultARMDup, faultNVADown, faultNVAFlap, faultManual},
	// Clocks and partial views: skew, monitors cut off from NVAs.
	{faultSkew, faultSkew, faultCutNVA, faultCutNVA, faultNVADown, faultCrash},
	// Storage: outages, corrupt and missing state, cut links.
	{faultStorageDown, faultCorruptState, faultDeleteState, faultCutStorage, faultCrash, faultNVADown},
	// ARM: errors, unreadable resources, late and duplicated requests.
	{faultARMError, faultForbidden, faultARMDelay, faultARMDup, faultCutARM, faultCrash, faultNVADown},
	// Leadership changes around failovers (anti-flap across leaders).
	{faultNVADown, faultNVADown, faultNVAFlap, faultCrash, faultPause, faultManual},
	// Late writes of a leader that changes its mind or loses the lease.
	{faultARMDelay, faultARMDelay, faultManual, faultManual, faultManual, faultNVADown, faultCrash, faultPause},
}

// Generate draws a schedule from seed. With only set, faults are drawn from
// those kinds alone.
func Generate(seed uint64, only ...string) Schedule {
	r := rand.New(rand.NewPCG(seed, 0x5eed))
	s := Schedule{Seed: seed, Monitors: 2 + r.IntN(4), NVAs: 2 + r.IntN(2), Tables: 1 + r.IntN(3), Window: 120 * time.Second}
	kinds := Kinds
	if len(only) > 0 {
		kinds = only
	} else if f := families[r.IntN(len(families))]; f != nil {
		kinds = f
	}
	dur := func(lo, hi int) time.Duration { return time.Duration(lo+r.IntN(hi-lo+1)) * 500 * time.Millisecond }
	n := 2 + r.IntN(7)
	ids := []string{pipID}
	for _, sp := range nvaSpecs(s.NVAs) {
		ids = append(ids, sp.extNIC)
	}
	for i := range s.Tables {
		ids = append(ids, routeTableID(i))
	}
	for range n {
		f := Fault{Kind: kinds[r.IntN(len(kinds))], At: dur(10, 200), M: r.IntN(s.Monitors), N: r.IntN(s.NVAs)}
		switch f.Kind {
		case faultCrash, faultPause:
			f.For = dur(4, 80)
		case faultFreeze:
			f.For, f.Flag = dur(10, 80), r.IntN(2) == 0
		case faultCutStorage, faultCutARM:
			f.For, f.Text = dur(4, 80), []string{"requests", "responses", "both"}[r.IntN(3)]
		case faultCutNVA:
			f.For = dur(4, 80)
		case faultSkew:
			f.Arg = time.Duration(r.IntN(121)-60) * time.Second
		case faultStorageDown:
			f.For = dur(4, 60)
		case faultARMError:
			f.Text = []string{"409", "429", "500", "503", "403"}[r.IntN(5)]
			f.Count, f.Target = 1+r.IntN(5), ids[r.IntN(len(ids))]
		case faultForbidden:
			f.For, f.Target = dur(20, 120), ids[r.IntN(len(ids))]
		case faultARMDelay:
			f.For, f.Arg = dur(4, 60), dur(1, 60)
		case faultARMDup:
			f.For = dur(4, 60)
		case faultNVADown:
			f.For, f.Flag = dur(6, 120), r.IntN(2) == 0
		case faultNVAFlap:
			f.For, f.Arg = dur(10, 60), dur(1, 8)
		}
		s.Faults = append(s.Faults, f)
	}
	sort.SliceStable(s.Faults, func(i, j int) bool { return s.Faults[i].At < s.Faults[j].At })
	// A quarter of the schedules (decided by a stream of their own, so the
	// schedules above stay as they were for the seeds already recorded)
	// steer by route tables alone and draw from the faults that make a
	// leader change its mind while its writes are late: manual requests in
	// quick succession and late ARM requests.
	x := rand.New(rand.NewPCG(seed, 0xd1))
	if len(only) == 0 && x.IntN(4) == 0 {
		s.NoPublicIP = true
		s.Faults = nil
		for range 3 + x.IntN(5) {
			f := Fault{At: time.Duration(20+x.IntN(180)) * 500 * time.Millisecond, M: x.IntN(s.Monitors), N: x.IntN(s.NVAs)}
			switch k := x.IntN(10); {
			case k < 5:
				f.Kind = faultManual
			case k < 8:
				f.Kind, f.For, f.Arg, f.Flag = faultARMDelay, time.Duration(4+x.IntN(40))*500*time.Millisecond, time.Duration(10+x.IntN(50))*500*time.Millisecond, true
			case k < 9:
				f.Kind, f.For, f.Flag = faultNVADown, time.Duration(10+x.IntN(100))*500*time.Millisecond, x.IntN(2) == 0
			default:
				f.Kind, f.For = faultCrash, time.Duration(4+x.IntN(60))*500*time.Millisecond
			}
			s.Faults = append(s.Faults, f)
		}
		sort.SliceStable(s.Faults, func(i, j int) bool { return s.Faults[i].At < s.Faults[j].At })
	}
	return s
}

// Result is what one schedule did.
type Result struct {
	Schedule   Schedule
	Violations []string
	Trace      []string
	Counts     map[string]int
	Settled    time.Duration // after the heal; -1 if never
}

// step is a timed change of the world.
type step struct {
	at time.Duration
	do func()
}

// Run runs schedule s. It must be called inside a testing/synctest bubble
// (synctest.Test); store is the storage service (blobsim) the monitors
// share.
func Run(s Schedule, store Store) Result {
	t := defaultTiming
	w, err := newWorld(s.Seed, s.Monitors, s.NVAs, s.Tables, s.NoPublicIP, t, store)
	if err != nil {
		return Result{Schedule: s, Violations: []string{"set up: " + err.Error()}}
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// Monitors start a little apart (as hosts do), so that their probe
	// rounds and timers seldom fall on the same virtual instant: that keeps
	// a replay of the seed close to the run that printed it.
	for i, m := range w.monitors {
		if i > 0 {
			time.Sleep(time.Duration(97+w.rng.IntN(150)) * time.Millisecond)
		}
		m.start(ctx)
	}
	var steps []step
	for _, f := range s.Faults {
		steps = append(steps, w.stepsOf(ctx, f, store)...)
	}
	sort.SliceStable(steps, func(i, j int) bool { return steps[i].at < steps[j].at })
	for _, st := range steps {
		if st.at > s.Window {
			continue
		}
		time.Sleep(time.Until(w.start.Add(st.at)))
		st.do()
	}
	time.Sleep(time.Until(w.start.Add(s.Window)))
	w.heal(ctx, store)

	// L1: one leader within the lease and a few probe intervals; every
	// resource on one healthy NVA within detection, anti-flap, a reconcile
	// and a convergence more.
	healed := time.Now()
	leaderBy := t.lease + 10*t.interval
	// Requests sent before the heal may still be on the wire (a delay is
	// at most 30 s): they land, and the leader converges over them.
	settleBy := leaderBy + t.detection() + t.antiFlap + t.reconcile + 4*t.armLatency + 10*time.Second + 30*time.Second
	settled := time.Duration(-1)
	var last string
	for time.Since(healed) <= settleBy {
		time.Sleep(t.interval)
		last = w.settled()
		if last == "" {
			settled = time.Since(healed)
			break
		}
	}
	w.count("checked L1 (schedules healed)")
	if settled < 0 {
		w.violatef("L1: %s after the faults healed: %s", settleBy, last)
	} else {
		// And settled it stays, or comes back to within a reconcile and a
		// convergence (a late request can still land and be converged
		// over): checked after that long.
		time.Sleep(t.reconcile + 4*t.armLatency + 30*time.Second)
		if why := w.settled(); why != "" {
			w.violatef("L1: settled %s after the heal, then not: %s", settled, why)
		}
	}
	for _, m := range w.monitors {
		m.stop()
	}
	cancel()
	// Requests still on the simulated wire (delayed, duplicated) arrive, and
	// every goroutine of the bubble ends: one that does not is a leak, and
	// synctest reports it as a deadlock.
	time.Sleep(2 * time.Minute)
	w.mu.Lock()
	defer w.mu.Unlock()
	return Result{Schedule: s, Violations: append([]string(nil), w.violations...), Trace: append([]string(nil), w.trace...),
		Counts: w.counts, Settled: settled}
}

// Store is the storage service a simulation runs on, and the two faults
// only storage itself can inject.
type Store interface {
	http.Handler
	// Overwrite replaces a blob's content regardless of its lease.
	Overwrite(name string, data []byte) error
	// Remove deletes a blob regardless of its lease.
	Remove(name string) error
}

// stepsOf turns a fault into its start and end steps.
func (w *World) stepsOf(ctx context.Context, f Fault, store Store) []step {
	at, end := f.At, f.At+f.For
	var m *Monitor
	if f.M < len(w.monitors) {
		m = w.monitors[f.M]
	}
	announce := func() { w.tracef("FAULT %s", f) }
	setLink := func(svc string, fn func(*linkFaults)) {
		w.mu.Lock()
		lf := w.links[m.name+"/"+svc]
		fn(&lf)
		w.links[m.name+"/"+svc] = lf
		w.mu.Unlock()
	}
	w.count("faults: " + f.Kind)
	switch f.Kind {
	case faultCrash:
		return []step{{at, func() { announce(); m.kill() }}, {end, func() { w.tracef("restart %s", m.name); m.start(ctx) }}}
	case faultPause:
		return []step{{at, func() {
			announce()
			if p := m.current(); p != nil {
				p.pause()
			}
		}}, {end, func() {
			w.tracef("resume %s", m.name)
			if p := m.current(); p != nil {
				p.resume()
			}
		}}}
	case faultFreeze:
		return []step{{at, func() {
			announce()
			if p := m.current(); p != nil {
				p.pause()
			}
			if f.Flag {
				m.clk.stop()
			}
		}}, {end, func() {
			w.tracef("thaw %s", m.name)
			m.clk.start()
			if p := m.current(); p != nil {
				p.resume()
			}
		}}}
	case faultCutStorage, faultCutARM:
		svc := svcStorage
		if f.Kind == faultCutARM {
			svc = svcARM
		}
		c := cut{requests: f.Text != "responses", responses: f.Text != "requests"}
		return []step{{at, func() { announce(); setLink(svc, func(l *linkFaults) { l.cut = c }) }},
			{end, func() {
				w.tracef("heal %s cut of %s", svc, m.name)
				setLink(svc, func(l *linkFaults) { l.cut = cut{} })
			}}}
	case faultCutNVA:
		key := m.name + "/" + w.specs[f.N].name
		return []step{{at, func() { announce(); w.mu.Lock(); w.nvaCuts[key] = true; w.mu.Unlock() }},
			{end, func() { w.mu.Lock(); delete(w.nvaCuts, key); w.nvaCutEnd[key] = time.Now(); w.mu.Unlock() }}}
	case faultSkew:
		return []step{{at, func() { announce(); m.clk.jump(f.Arg) }}}
	case faultStorageDown:
		return []step{{at, func() { announce(); w.mu.Lock(); w.storageDown = true; w.mu.Unlock() }},
			{end, func() { w.tracef("storage up"); w.mu.Lock(); w.storageDown = false; w.mu.Unlock() }}}
	case faultCorruptState:
		return []step{{at, func() { announce(); _ = store.Overwrite(leaderBlob, []byte(`{"epoch": "seven", "desired": [`)) }}}
	case faultDeleteState:
		return []step{{at, func() { announce(); _ = store.Remove(leaderBlob) }}}
	case faultARMError:
		return []step{{at, func() {
			announce()
			w.addARMFault(armFault{target: f.Target, status: f.Text, count: f.Count})
		}}}
	case faultForbidden:
		af := &armFault{target: f.Target, status: "403", count: -1}
		return []step{{at, func() { announce(); w.addARMFault(*af) }},
			{end, func() { w.tracef("%s readable again", short(f.Target)); w.removeARMFaults(f.Target) }}}
	case faultARMDelay:
		return []step{{at, func() { announce(); setLink(svcARM, func(l *linkFaults) { l.delay, l.writesOnly = f.Arg, f.Flag }) }},
			{end, func() { setLink(svcARM, func(l *linkFaults) { l.delay, l.writesOnly = 0, false }) }}}
	case faultARMDup:
		return []step{{at, func() { announce(); setLink(svcARM, func(l *linkFaults) { l.dup = true }) }},
			{end, func() { setLink(svcARM, func(l *linkFaults) { l.dup = false }) }}}
	case faultNVADown:
		return []step{{at, func() { announce(); w.setNVA(f.N, false, f.Flag) }},
			{end, func() { w.setNVA(f.N, true, false) }}}
	case faultNVAFlap:
		var out []step
		up := false
		for t := at; t < end; t += max(f.Arg, 500*time.Millisecond) {
			u := up
			out = append(out, step{t, func() { w.setNVA(f.N, u, false) }})
			up = !up
		}
		out[0].do = func() { announce(); w.setNVA(f.N, false, false) }
		return append(out, step{end, func() { w.setNVA(f.N, true, false) }})
	case faultManual:
		return []step{{at, func() { announce(); w.manual(w.specs[f.N].name) }}}
	}
	return nil
}

func (w *World) setNVA(i int, up, silent bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	n := w.nvas[i]
	if n.up && !up {
		n.downSince = time.Now()
	}
	if !n.up && up {
		n.upSince = time.Now()
	}
	if n.up != up {
		state := "up"
		if !up {
			state = "down"
		}
		w.tracefLocked("%s is %s", n.spec.name, state)
	}
	n.up, n.silent = up, silent
}

// manual is an operator's `nva-monitor failover --to`: a request blob.
func (w *World) manual(to string) {
	body, _ := json.Marshal(lease.Request{ID: fmt.Sprintf("sim-%d", time.Now().UnixNano()), To: to, By: "operator",
		At: time.Now().UTC(), TTL: time.Minute})
	req := httptest.NewRequest(http.MethodPut, containerURL+"/"+leaderBlob+".request.json", bytes.NewReader(body))
	req.Header.Set("x-ms-blob-type", "BlockBlob")
	req.Header.Set("x-ms-version", "2025-01-05")
	req.Header.Set("Content-Type", "application/json")
	rec := httptest.NewRecorder()
	w.store.ServeHTTP(rec, req)
	w.tracef("operator asked for a failover to %s (storage answered %d)", to, rec.Code)
}

// heal ends every fault: monitors run again (crashed ones restarted),
// links and storage are whole, ARM faults are gone. NVAs keep their state,
// but at least one is up.
func (w *World) heal(ctx context.Context, store Store) {
	w.tracef("HEAL every fault")
	w.mu.Lock()
	w.links = map[string]linkFaults{}
	for k := range w.nvaCuts {
		w.nvaCutEnd[k] = time.Now()
	}
	w.nvaCuts = map[string]bool{}
	w.storageDown = false
	w.armFaults = nil
	anyUp := false
	for _, n := range w.nvas {
		anyUp = anyUp || n.up
	}
	if !anyUp {
		n := w.nvas[w.rng.IntN(len(w.nvas))]
		n.up, n.silent, n.upSince = true, false, time.Now()
		w.tracefLocked("%s is up (at least one NVA is up after the heal)", n.spec.name)
	}
	w.mu.Unlock()
	for _, m := range w.monitors {
		m.clk.start()
		if p := m.current(); p != nil {
			p.resume()
		} else {
			m.start(ctx)
		}
	}
}
