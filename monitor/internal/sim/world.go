package sim

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/container"

	"github.com/hanva/hanva/monitor/config"
	"github.com/hanva/hanva/monitor/daemon"
	"github.com/hanva/hanva/monitor/internal/lease"
	"github.com/hanva/hanva/monitor/internal/probe"
	"github.com/hanva/hanva/monitor/internal/report"
	"github.com/hanva/hanva/testenv/armsim"
)

// timing is the cluster's configuration of time.
type timing struct {
	interval, timeout   time.Duration
	failures, successes int
	view, lease         time.Duration
	antiFlap, reconcile time.Duration
	poll, operation     time.Duration
	armLatency          time.Duration
}

var defaultTiming = timing{
	interval: time.Second, timeout: 500 * time.Millisecond, failures: 3, successes: 2,
	view: 2 * time.Second, lease: 15 * time.Second,
	antiFlap: 30 * time.Second, reconcile: 10 * time.Second,
	poll: 500 * time.Millisecond, operation: time.Minute,
	armLatency: time.Second,
}

// detection bounds how long an NVA must have been down (for every monitor
// that can reach it) before every running monitor sees it down.
func (t timing) detection() time.Duration {
	return time.Duration(t.failures+1)*t.interval + t.timeout + t.interval
}

// nvaState is one simulated NVA.
type nvaState struct {
	spec      nvaSpec
	up        bool
	silent    bool      // when down: probes hang (true) or are refused
	downSince time.Time // when it last went down
	upSince   time.Time // when it last came up
}

// World is one simulated deployment: ARM, storage, NVAs and monitors.
type World struct {
	rng    *rand.Rand
	t      timing
	arm    *armsim.Sim
	store  http.Handler
	specs  []nvaSpec
	tables int
	noPIP  bool // the deployment steers by route tables alone
	start  time.Time

	mu          sync.Mutex
	nvas        []*nvaState
	monitors    []*Monitor
	links       map[string]linkFaults // monitor/service
	nvaCuts     map[string]bool       // monitor/nva
	nvaCutEnd   map[string]time.Time  // monitor/nva: when its last cut healed
	storageDown bool
	armFaults   []*armFault
	// What storage holds, as the checks saw it.
	leaseHolder    *process
	leaseExpiry    time.Time
	leaseEnd       map[*process]time.Time // each process's lease deadline as storage granted it
	lastDesired    string
	lastChange     time.Time            // when lastDesired last changed
	lastRecord     string               // the failover record stored with it
	lastDecided    string               // the desired NVA of the last decision or adoption
	lastEpoch      int64                // the shared state's epoch
	lastWriteEpoch map[string]writeMark // resource ID -> last accepted write that pointed it somewhere
	// Checks.
	epochWriter map[int64]string // epoch -> instance whose writes carried it
	initial     map[string]string
	violations  []string
	trace       []string
	counts      map[string]int
}

// Monitor is one monitor host; each start of nva-monitor on it is a
// process.
type Monitor struct {
	w    *World
	name string
	cfg  *config.Config
	clk  clocks

	mu       sync.Mutex
	proc     *process
	leading  bool
	epoch    int64
	restarts int
	resumed  time.Time // when it last ran again after a pause or freeze
}

// process is one run of the daemon on a monitor.
type process struct {
	m      *Monitor
	gen    int
	cancel context.CancelFunc
	done   chan struct{}

	mu   sync.Mutex
	dead bool
	gate chan struct{} // non-nil while paused or frozen; closed to resume
}

func (w *World) now() time.Duration { return time.Since(w.start).Round(time.Millisecond) }

func (w *World) jitter(max time.Duration) time.Duration {
	w.mu.Lock()
	defer w.mu.Unlock()
	return time.Duration(w.rng.Int64N(int64(max) + 1))
}

func (w *World) tracef(format string, args ...any) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.tracefLocked(format, args...)
}

func (w *World) tracefLocked(format string, args ...any) {
	w.trace = append(w.trace, fmt.Sprintf("%9s  ", w.now())+fmt.Sprintf(format, args...))
	if len(w.trace) > 4000 {
		w.trace = w.trace[len(w.trace)-3000:]
	}
}

func (w *World) violatef(format string, args ...any) {
	w.mu.Lock()
	defer w.mu.Unlock()
	msg := fmt.Sprintf("%9s  ", w.now()) + fmt.Sprintf(format, args...)
	w.violations = append(w.violations, msg)
	w.tracefLocked("VIOLATION %s", fmt.Sprintf(format, args...))
}

func (w *World) count(what string) {
	w.mu.Lock()
	w.counts[what]++
	w.mu.Unlock()
}

// newWorld seeds ARM and storage and builds the monitors (not started).
func newWorld(seed uint64, monitors, nvas, tables int, noPIP bool, t timing, store http.Handler) (*World, error) {
	w := &World{
		rng:            rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)),
		t:              t,
		arm:            armsim.New(armsim.Options{LROLatency: t.armLatency, RetryAfter: -1}),
		store:          store,
		specs:          nvaSpecs(nvas),
		tables:         tables,
		noPIP:          noPIP,
		start:          time.Now(),
		links:          map[string]linkFaults{},
		nvaCuts:        map[string]bool{},
		nvaCutEnd:      map[string]time.Time{},
		leaseEnd:       map[*process]time.Time{},
		lastWriteEpoch: map[string]writeMark{},
		epochWriter:    map[int64]string{},
		initial:        map[string]string{},
		counts:         map[string]int{},
	}
	for _, s := range seeds(w.specs, tables, noPIP) {
		if err := w.arm.Seed(s[0], []byte(s[1])); err != nil {
			return nil, fmt.Errorf("seed %s: %w", s[0], err)
		}
	}
	for _, id := range w.managedIDs() {
		body, _ := w.arm.Resource(id)
		w.initial[strings.ToLower(id)] = w.unowned(id, body)
	}
	for _, s := range w.specs {
		w.nvas = append(w.nvas, &nvaState{spec: s, up: true, upSince: w.start.Add(-time.Hour)})
	}
	names := make([]string, monitors)
	for i := range names {
		names[i] = fmt.Sprintf("monitor-%d", i+1)
	}
	for _, n := range names {
		cfg, err := config.Parse([]byte(configYAML(n, names, w.specs, tables, noPIP, t)))
		if err != nil {
			return nil, fmt.Errorf("config of %s: %w", n, err)
		}
		w.monitors = append(w.monitors, &Monitor{w: w, name: n, cfg: cfg})
	}
	return w, nil
}

// managedIDs are the resources whose unowned properties must never change.
func (w *World) managedIDs() []string {
	var ids []string
	if !w.noPIP {
		ids = append(ids, pipID)
	}
	for _, s := range w.specs {
		ids = append(ids, s.intNIC, s.extNIC)
	}
	for i := range w.tables {
		ids = append(ids, routeTableID(i))
	}
	return ids
}

// start runs the monitor's daemon in a new process.
func (m *Monitor) start(parent context.Context) {
	m.mu.Lock()
	if m.proc != nil {
		m.mu.Unlock()
		return // running already (crashes that overlap restart it once)
	}
	m.restarts++
	p := &process{m: m, gen: m.restarts, done: make(chan struct{})}
	m.proc = p
	m.leading = false
	m.mu.Unlock()
	ctx, cancel := context.WithCancel(parent)
	p.cancel = cancel
	log := slog.New(&logHandler{m: m, p: p})
	storeLink := &link{p: p, svc: svcStorage, h: m.w.store}
	cont, err := container.NewClientWithNoCredential(containerURL, &container.ClientOptions{ClientOptions: policy.ClientOptions{
		Transport: storeLink,
		Retry:     policy.RetryOptions{MaxRetries: 2, TryTimeout: 2 * time.Second, RetryDelay: 200 * time.Millisecond, MaxRetryDelay: time.Second},
	}})
	if err != nil {
		panic(err)
	}
	b, err := lease.NewBlob(lease.BlobOptions{Container: cont, Blob: leaderBlob, Instance: m.name,
		Duration: m.cfg.Lease.Duration.D(), Logger: log, Now: m.clk.lease, Wall: m.clk.wall})
	if err != nil {
		panic(err)
	}
	armOpts := &arm.ClientOptions{ClientOptions: policy.ClientOptions{
		Cloud: cloud.Configuration{Services: map[cloud.ServiceName]cloud.ServiceConfiguration{
			cloud.ResourceManager: {Endpoint: "https://" + armHost, Audience: "https://management.core.windows.net/"},
		}},
		Transport: &link{p: p, svc: svcARM, h: m.w.arm},
		Retry:     policy.RetryOptions{MaxRetries: -1},
		Telemetry: policy.TelemetryOptions{ApplicationID: m.name},
	}}
	var targets []probe.Target
	for i := range m.w.specs {
		targets = append(targets, probe.Target{NVA: m.w.specs[i].name, Prober: &stubProbe{p: p, nva: i}})
	}
	go func() {
		defer close(p.done)
		err := daemon.Run(ctx, m.cfg, daemon.Options{
			Logger: log, Listener: newMemListener(), Now: m.clk.wall, Clock: time.Now,
			Leader: b, ARM: armOpts, Credential: fakeToken{}, Targets: targets,
		})
		if err != nil && ctx.Err() == nil {
			m.w.tracef("%s: daemon exited: %v", m.name, err)
		}
	}()
}

// kill stops the process at once, as SIGKILL would: nothing it sends from
// now on arrives (requests already on the wire still may), and it releases
// nothing.
func (m *Monitor) kill() {
	m.mu.Lock()
	p := m.proc
	m.proc = nil
	m.leading = false
	m.mu.Unlock()
	if p == nil {
		return
	}
	p.mu.Lock()
	p.dead = true
	if p.gate != nil {
		close(p.gate)
		p.gate = nil
	}
	p.mu.Unlock()
	p.cancel()
	<-p.done
}

// stop shuts the process down cleanly (the daemon releases its lease).
func (m *Monitor) stop() {
	m.mu.Lock()
	p := m.proc
	m.proc = nil
	m.mu.Unlock()
	if p == nil {
		return
	}
	p.resume()
	p.cancel()
	<-p.done
	m.mu.Lock()
	m.leading = false
	m.mu.Unlock()
}

func (m *Monitor) current() *process {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.proc
}

func (p *process) pause() {
	p.mu.Lock()
	if p.gate == nil && !p.dead {
		p.gate = make(chan struct{})
	}
	p.mu.Unlock()
}

func (p *process) isPaused() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.gate != nil
}

func (p *process) resume() {
	p.m.mu.Lock()
	p.m.resumed = time.Now()
	p.m.mu.Unlock()
	p.mu.Lock()
	if p.gate != nil {
		close(p.gate)
		p.gate = nil
	}
	p.mu.Unlock()
}

// waitRunning returns when the process may send, or an error if it is dead.
func (p *process) waitRunning() error {
	for {
		p.mu.Lock()
		dead, gate := p.dead, p.gate
		p.mu.Unlock()
		if dead {
			return errDead
		}
		if gate == nil {
			return nil
		}
		<-gate
	}
}

// stubProbe probes a simulated NVA.
type stubProbe struct {
	p   *process
	nva int
}

func (s *stubProbe) Probe(ctx context.Context) error {
	if err := s.p.waitRunning(); err != nil {
		return err
	}
	w := s.p.m.w
	w.mu.Lock()
	n := w.nvas[s.nva]
	up, silent := n.up, n.silent
	cutOff := w.nvaCuts[s.p.m.name+"/"+n.spec.name]
	w.mu.Unlock()
	switch {
	case cutOff || (!up && silent):
		<-ctx.Done()
		return ctx.Err()
	case !up:
		return os.NewSyscallError("connect", syscall.ECONNREFUSED)
	}
	time.Sleep(2 * time.Millisecond)
	return nil
}

type fakeToken struct{}

func (fakeToken) GetToken(context.Context, policy.TokenRequestOptions) (azcore.AccessToken, error) {
	return azcore.AccessToken{Token: "sim-token", ExpiresOn: time.Now().Add(time.Hour)}, nil
}

func (w *World) faultsOf(m *Monitor, svc string) linkFaults {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.links[m.name+"/"+svc]
}

func (w *World) storageIsDown() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.storageDown
}

// logHandler keeps a monitor's log in the world's trace (info and above,
// and the lease's events) and follows its leadership.
type logHandler struct {
	m     *Monitor
	p     *process
	attrs []slog.Attr
}

func (h *logHandler) Enabled(context.Context, slog.Level) bool { return true }

func (h *logHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return &logHandler{m: h.m, p: h.p, attrs: append(append([]slog.Attr(nil), h.attrs...), as...)}
}

func (h *logHandler) WithGroup(string) slog.Handler { return h }

func (h *logHandler) Handle(_ context.Context, r slog.Record) error {
	var event string
	var epoch int64
	var b strings.Builder
	each := func(a slog.Attr) bool {
		switch a.Key {
		case report.KeyEvent:
			event = a.Value.String()
		case report.KeyEpoch:
			epoch = a.Value.Int64()
		case "instance":
			return true
		}
		fmt.Fprintf(&b, " %s=%s", a.Key, compact(a.Value.String()))
		return true
	}
	for _, a := range h.attrs {
		each(a)
	}
	r.Attrs(each)
	m := h.m
	m.mu.Lock()
	if m.proc == h.p {
		switch event {
		case report.EventLeaderElected:
			m.leading, m.epoch = true, epoch
		case report.EventLeaderLost, report.EventFenced, report.EventStopping:
			m.leading = false
		}
	}
	m.mu.Unlock()
	if r.Level < slog.LevelInfo && event == "" {
		return nil
	}
	if r.Level < slog.LevelInfo && (event == "probe_failed" || event == "lease_renewed" || event == "arm_retry" ||
		event == "lease_held_by_other" || event == "route_table_converged") {
		return nil
	}
	m.w.tracef("%s#%d %s %s%s", m.name, h.p.gen, r.Level, r.Message, b.String())
	return nil
}

// serve hands a request to its service and runs the checks on what it did.
func (w *World) serve(l *link, req *http.Request, body []byte, rec *httptest.ResponseRecorder) {
	switch l.svc {
	case svcStorage:
		w.store.ServeHTTP(rec, req)
		w.onStorageAnswer(l.p, req, body, rec)
	case svcARM:
		var before []byte
		isWrite := req.Method == http.MethodPut || req.Method == http.MethodPatch || req.Method == http.MethodDelete
		id := armID(req.URL.Path)
		if isWrite {
			before, _ = w.arm.Resource(id)
		}
		if w.armFaultFor(req, rec) {
			if isWrite {
				w.count("arm writes refused (injected faults)")
			}
			return
		}
		w.arm.ServeHTTP(rec, req)
		if isWrite && rec.Code >= 400 {
			w.count("arm writes refused by armsim")
		}
		if isWrite {
			w.onARMWrite(l.p, req, id, before, body, rec.Code)
		}
	}
}

// armID is the resource ID of an ARM request path.
func armID(path string) string { return strings.TrimRight(path, "/") }

// desiredOf reads the desired NVA of a shared-state blob.
func desiredOf(body []byte) (string, bool) {
	var s struct {
		Desired string `json:"desired"`
	}
	if json.Unmarshal(body, &s) != nil {
		return "", false
	}
	return s.Desired, true
}

// compact folds an azcore error (a multi-line dump) to one short line.
func compact(s string) string {
	if !strings.Contains(s, "\n") && len(s) <= 200 {
		return s
	}
	code := ""
	if i := strings.Index(s, "ERROR CODE: "); i >= 0 {
		code = strings.TrimSpace(strings.SplitN(s[i+len("ERROR CODE: "):], "\n", 2)[0])
	}
	first := strings.SplitN(s, "\n", 2)[0]
	if len(first) > 160 {
		first = first[:160] + "..."
	}
	if code != "" {
		return first + " [" + code + "]"
	}
	return first
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
