package daemon

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"

	"github.com/hanva/hanva/monitor/config"
	"github.com/hanva/hanva/monitor/internal/act"
	"github.com/hanva/hanva/monitor/internal/azure"
	"github.com/hanva/hanva/monitor/internal/decide"
	"github.com/hanva/hanva/monitor/internal/lease"
	"github.com/hanva/hanva/monitor/internal/probe"
	"github.com/hanva/hanva/monitor/internal/report"
	"github.com/hanva/hanva/monitor/internal/version"
)

// Options are the run loop's dependencies besides the config.
type Options struct {
	// Logger receives the structured log. Required.
	Logger *slog.Logger
	// Listener, if set, is used for the HTTP endpoint instead of listening
	// on cfg.Listen (tests pass a 127.0.0.1:0 listener).
	Listener net.Listener
	// Now is the wall clock: the times views, the shared state and /status
	// show. Default time.Now.
	Now func() time.Time
	// Clock times the decisions (thresholds, anti-flap, failback hold-off,
	// backoff, timelines). Default time.Now, whose readings carry Go's
	// monotonic clock, so a step of the wall clock moves no decision; the
	// simulation gives it true time while it skews Now.
	Clock func() time.Time

	// The fields below replace what Run would build from the config; the
	// in-process simulation (monitor/internal/sim) and daemon tests set
	// them. Production leaves them nil.

	// Leader, if set, is the leader election and shared state instead of the
	// one cfg.Lease describes.
	Leader Leader
	// ARM and Credential, if both set, are the ARM client options and
	// credential instead of those cfg describes.
	ARM        *arm.ClientOptions
	Credential azcore.TokenCredential
	// Targets, if set, are the NVAs' probers instead of those cfg describes
	// (one per NVA, same names).
	Targets []probe.Target
}

// Run is the nva-monitor daemon: it probes the NVAs, reads Azure, campaigns
// for the lease and, while it leads, decides and converges Azure to the
// desired NVA; it reports all along. It returns nil when ctx is cancelled
// (clean shutdown) and an error when it cannot run.
//
// The loop has two roles, one loop each (see doc.go): follow, which cannot
// write to Azure at all, and lead, which owns the desired NVA and the one
// ensure step that converges Azure to it.
func Run(ctx context.Context, cfg *config.Config, o Options) error {
	if o.Logger == nil {
		return errors.New("daemon: a logger is required")
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Clock == nil {
		o.Clock = time.Now
	}
	d := &daemon{
		cfg:    cfg,
		log:    o.Logger,
		now:    o.Clock,
		wall:   o.Now,
		policy: Policy(cfg),
		m:      report.NewMetrics(cfg.Instance, version.Version),
	}
	d.status.Instance = cfg.Instance
	d.status.Version = version.Version
	d.status.NVAs = make(map[string]*NVAStatus, len(cfg.NVAs))
	for _, n := range cfg.NVAs {
		d.status.NVAs[n.Name] = &NVAStatus{Health: "unknown"}
	}
	d.m.InitNVAs(d.policy.NVAs)
	d.state = decide.NewState(d.policy, "")
	d.failingSince = map[string]time.Time{}
	d.lastResult = map[string]bool{}
	d.viewCh = make(chan lease.View, 1)
	d.requests = make(chan *lease.Request)
	d.observed = make(chan observation, 1)

	d.targets = o.Targets
	if d.targets == nil {
		d.targets = Targets(cfg)
	}
	d.leader = o.Leader
	if d.leader == nil {
		var err error
		if d.leader, err = NewLeader(cfg, o.Logger, d.m.LeaseRenewal); err != nil {
			return err
		}
	}
	armOpts, cred := o.ARM, o.Credential
	if armOpts == nil || cred == nil {
		var err error
		if armOpts, cred, err = Azure(cfg, d.m.ARMResponse); err != nil {
			return fmt.Errorf("set up azure clients: %w", err)
		}
	}
	// The write gate is the last check before a write leaves, after
	// authentication: it refuses a write once the lease's deadline has
	// passed and bounds the write's context by the time left, so neither a
	// slow token refresh, dial, TLS, nor a re-send after a claims challenge
	// can carry a write past the deadline.
	gated := *armOpts
	gated.Transport = azure.GateWrites(armOpts.Transport, func(context.Context) (time.Duration, error) { return d.leader.Remaining() })
	armOpts = &gated
	epoch := func() int64 { return 0 } // one monitor: no epoch tags
	if cfg.Lease.Kind == config.LeaseBlob {
		epoch = d.epoch.Load
	}
	// Every ARM write is checked against the lease right before it is sent,
	// and carries the epoch as a fencing token.
	eng, err := act.New(Topology(cfg), cred, armOpts, act.Options{
		PollInterval:     cfg.PollInterval.D(),
		OperationTimeout: cfg.OperationTimeout.D(),
		Logger:           o.Logger,
		BeforeWrite:      func(context.Context) error { return d.leader.Check() },
		Epoch:            epoch,
		Clock:            o.Clock,
	})
	if err != nil {
		return fmt.Errorf("set up azure clients: %w", err)
	}
	d.eng = eng
	d.reconcileEvery = reconcileEvery(cfg, eng)

	ln := o.Listener
	if ln == nil {
		ln, err = net.Listen("tcp", cfg.Listen)
		if err != nil {
			return fmt.Errorf("listen on %s (config listen): %w", cfg.Listen, err)
		}
	}
	srv := report.NewServer(report.ServerOptions{Metrics: d.m, Status: d.statusSnapshot, Ready: d.ready})
	srvDone := make(chan struct{})
	go func() {
		defer close(srvDone)
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			d.log.Error("http endpoint stopped", report.KeyErr, err)
		}
	}()
	defer func() {
		sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
		<-srvDone
	}()

	d.log.Info("nva-monitor starting", report.KeyEvent, report.EventStarting,
		"version", version.Version, "listen", ln.Addr().String(), "nvas", d.policy.NVAs,
		"route_tables", len(cfg.RouteTables), "public_ips", len(cfg.PublicIPs), "floating_ips", len(cfg.FloatingIPs),
		"backend_pools", len(cfg.BackendPools), "dns_records", len(cfg.DNSRecords))
	if d.reconcileEvery > cfg.ReconcileInterval.D() {
		d.log.Warn("reconcile interval lengthened so that reading every managed resource stays within half of Azure's read budgets",
			report.KeyEvent, report.EventReconcileLengthened, "configured", cfg.ReconcileInterval.D().String(),
			"reconcile_interval", d.reconcileEvery.String(), "monitors", monitorCount(cfg))
	}

	err = d.loop(ctx)
	d.log.Info("nva-monitor stopping", report.KeyEvent, report.EventStopping)
	if ctx.Err() != nil {
		return nil
	}
	return err
}

// monitorCount is how many monitors share the subscriptions' read budget:
// those listed, or two with a blob lease (there is no lease to hold alone).
func monitorCount(cfg *config.Config) int {
	switch {
	case len(cfg.Monitors) > 0:
		return len(cfg.Monitors)
	case cfg.Lease.Kind == config.LeaseBlob:
		return 2
	}
	return 1
}

// reconcileEvery is the configured reconcile interval, lengthened to
// Engine.ObserveFloor: every monitor reads every managed resource each
// interval, and with hundreds of route tables that would take most of the
// reads ARM allows (25 a second per monitor, 10,000 per 5 minutes for all
// of them), leaving a failover's status polls waiting.
func reconcileEvery(cfg *config.Config, eng *act.Engine) time.Duration {
	return max(cfg.ReconcileInterval.D(), eng.ObserveFloor(monitorCount(cfg)))
}

// daemon is the run loop's state. Fields without a comment saying otherwise
// belong to the loop goroutine.
type daemon struct {
	cfg *config.Config
	log *slog.Logger
	now func() time.Time // times decisions (Options.Clock)
	// staleRounds: the last probe round was dropped as too old (logged
	// once per run of them).
	staleRounds bool
	wall        func() time.Time // shown in views, state, status (Options.Now)
	policy      decide.Policy
	m           *report.Metrics
	eng         *act.Engine
	targets     []probe.Target
	leader      Leader

	mu     sync.Mutex // guards status
	status Status

	// Health, from the probes. state.Active is the desired NVA as this
	// monitor knows it: the leader's own decision, or, following, what the
	// shared state (or else Azure) says.
	state        decide.State
	failingSince map[string]time.Time // when each NVA's current run of failed probes began
	lastResult   map[string]bool
	lastHold     decide.Reason
	heldNotice   decide.Reason
	rounds       chan probe.Round
	runner       *probe.Runner // set before the loop starts

	// Azure, as last read. observing is true while a read runs; its result
	// arrives on observed; stopObserving cancels it.
	obs            *act.Observed
	reconcileEvery time.Duration // cfg.ReconcileInterval, or longer for the read budget (reconcileEvery)
	observing      bool
	stopObserving  context.CancelFunc
	observed       chan observation
	discovered     bool
	lastReadable   map[string]bool // resources readable at the last read, for resource_unreadable lines

	epoch       atomic.Int64 // the epoch this monitor last led with (read by the engine's goroutines)
	leadingFlag atomic.Bool  // for the request poller
	viewCh      chan lease.View
	requests    chan *lease.Request
	lastView    time.Time
	staleLogged map[string]bool // monitors whose view was last found stale
}

// observation is one read of Azure.
type observation struct {
	obs *act.Observed
	err error
}

func (d *daemon) loop(ctx context.Context) error {
	// Campaign for the lease, publish this monitor's view, take manual
	// requests while leading, probe: all from the start, whatever Azure
	// answers. A monitor that cannot read Azure still probes, publishes its
	// view and campaigns; as leader it leads with what it can read.
	lctx, stopLeader := context.WithCancel(context.WithoutCancel(ctx))
	leaderDone := make(chan struct{})
	go func() {
		defer close(leaderDone)
		_ = d.leader.Run(lctx)
	}()
	bctx, stopBackground := context.WithCancel(ctx)
	var bg sync.WaitGroup
	bg.Go(func() { d.publishViews(bctx) })
	bg.Go(func() { d.pollRequests(bctx) })
	d.rounds = make(chan probe.Round, 1)
	d.runner = &probe.Runner{Targets: d.targets, Interval: d.cfg.Probe.Interval.D(), Timeout: d.cfg.Probe.Timeout.D(),
		FastInterval: d.cfg.Probe.FastInterval.D()}
	bg.Go(func() { _ = d.runner.Run(bctx, d.rounds) })
	defer func() {
		// The roles stopped their writes before returning; storage work
		// stops, then the lease is let go.
		stopBackground()
		bg.Wait()
		d.drainObserve()
		stopLeader()
		<-leaderDone
	}()

	d.startObserve(ctx)
	for {
		term := d.follow(ctx)
		if term == 0 {
			return ctx.Err()
		}
		d.lead(ctx, term)
		if ctx.Err() != nil {
			return ctx.Err()
		}
	}
}

// startObserve reads Azure in the background, unless a read is running;
// the result arrives on d.observed. A read is bounded by the operation
// timeout and by the reconcile interval, so a slow or unreachable ARM never
// holds the loop, but allowed what the read budget needs (Engine.ReadTime).
func (d *daemon) startObserve(ctx context.Context) {
	if d.observing {
		return
	}
	d.observing = true
	timeout := max(min(d.cfg.OperationTimeout.D(), max(d.reconcileEvery, 5*time.Second)), d.eng.ReadTime()+time.Second)
	octx, cancel := context.WithTimeout(ctx, timeout)
	d.stopObserving = cancel
	go func() {
		defer cancel()
		obs, err := d.eng.Observe(octx)
		d.observed <- observation{obs: obs, err: err}
	}()
}

// cancelObserve stops a read still running and drops it, for a read that
// must start now: two reads at once would share the subscription's read
// budget, and with hundreds of route tables neither would finish in time
// (a takeover's read of 500 tables left 367 unread while a follower's
// read of them ran beside it, BenchmarkDaemonResources).
func (d *daemon) cancelObserve() {
	if d.observing {
		d.stopObserving()
		<-d.observed
		d.observing = false
	}
}

// drainObserve waits for a read still running.
func (d *daemon) drainObserve() {
	if d.observing {
		<-d.observed
		d.observing = false
	}
}

// took records a read of Azure: status, metrics, the resource_unreadable
// lines. It reports whether anything at all could be read.
func (d *daemon) took(o observation) bool {
	d.observing = false
	if o.obs == nil {
		d.setNotReady(fmt.Sprintf("cannot read Azure: %v", o.err))
		return false
	}
	unreadable := o.obs.Unreadable()
	total := len(o.obs.Managed())
	d.m.Unreadable(len(unreadable))
	readable := map[string]bool{}
	for _, id := range managedIDs(o.obs) {
		err, bad := unreadable[id]
		readable[id] = !bad
		if bad && (d.lastReadable == nil || d.lastReadable[id]) {
			d.log.Error("cannot read a managed resource: it is left out of decisions and not converged until it can be read",
				report.KeyEvent, report.EventUnreadable, "resource", id, report.KeyErr, err)
		}
	}
	d.lastReadable = readable
	if total > 0 && len(unreadable) == total {
		d.setNotReady(fmt.Sprintf("cannot read Azure: %v", o.err))
		return false
	}
	d.obs = o.obs
	d.setObserved(o.obs)
	if !d.discovered {
		d.discovered = true
		active, split := o.obs.Active()
		d.log.Info("active NVA found in Azure", report.KeyEvent, report.EventActiveDiscovered,
			report.KeyNVA, active, "split", split)
		if d.state.Active == "" {
			d.state.Active = active
			d.setActive(active)
		}
		d.mu.Lock()
		d.status.Discovered = true
		d.mu.Unlock()
	}
	return true
}

func managedIDs(obs *act.Observed) []string {
	var ids []string
	for _, m := range obs.Managed() {
		ids = append(ids, m.ID)
	}
	return ids
}

func (d *daemon) setLeading(leading bool, epoch int64) {
	d.leadingFlag.Store(leading)
	d.m.Leader(leading)
	d.mu.Lock()
	d.status.Leader = leading
	d.status.Epoch = epoch
	d.mu.Unlock()
}

func (d *daemon) setActive(name string) {
	d.m.Active(name, d.policy.NVAs)
	d.mu.Lock()
	d.status.Active = name
	d.mu.Unlock()
}

func (d *daemon) setObserved(obs *act.Observed) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.status.Resources = resourcesOf(obs)
	d.status.ObservedAt = d.wall()
	d.status.NotReady = ""
}

func (d *daemon) setNotReady(why string) {
	d.mu.Lock()
	d.status.NotReady = why
	d.mu.Unlock()
}

func (d *daemon) ready() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	switch {
	case d.status.NotReady != "":
		return errors.New(d.status.NotReady)
	case !d.status.Discovered:
		return errors.New("active NVA not read from Azure yet")
	case d.status.ProbeRounds == 0:
		return errors.New("no probe round finished yet")
	}
	return nil
}

func (d *daemon) statusSnapshot() any {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.status.clone()
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

func fmtTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339Nano)
}
