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
	// Now is the wall clock (views, status, timelines); default time.Now.
	Now func() time.Time

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

// Run is the nva-monitor daemon: it finds the active NVA in Azure, probes the
// NVAs, decides, converges Azure to the decision, and reports. It returns nil
// when ctx is cancelled (clean shutdown) and an error when it cannot run.
func Run(ctx context.Context, cfg *config.Config, o Options) error {
	if o.Logger == nil {
		return errors.New("daemon: a logger is required")
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	d := &daemon{
		cfg:    cfg,
		log:    o.Logger,
		now:    o.Now,
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

	d.viewCh = make(chan lease.View, 1)
	d.requests = make(chan *lease.Request)
	d.targets = o.Targets
	if d.targets == nil {
		d.targets = Targets(cfg)
	}
	leader := o.Leader
	if leader == nil {
		var err error
		if leader, err = NewLeader(cfg, o.Logger, d.m.LeaseRenewal); err != nil {
			return err
		}
	}
	d.leader = leader
	epoch := func() int64 { return 0 } // one monitor: no epoch tags
	if cfg.Lease.Kind == config.LeaseBlob {
		epoch = d.epoch.Load
	}
	// Every ARM write is checked against the lease's monotonic deadline
	// right before it is sent, and carries the epoch as a fencing token.
	armOpts, cred := o.ARM, o.Credential
	if armOpts == nil || cred == nil {
		var err error
		if armOpts, cred, err = Azure(cfg, d.m.ARMResponse); err != nil {
			return fmt.Errorf("set up azure clients: %w", err)
		}
	}
	eng, err := act.New(Topology(cfg), cred, armOpts, act.Options{
		PollInterval:     cfg.PollInterval.D(),
		OperationTimeout: cfg.OperationTimeout.D(),
		Logger:           o.Logger,
		BeforeWrite:      func(context.Context) error { return d.leader.Check() },
		Epoch:            epoch,
		Clock:            o.Now,
	})
	if err != nil {
		return fmt.Errorf("set up azure clients: %w", err)
	}
	d.eng = eng

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
		"route_tables", len(cfg.RouteTables), "public_ips", len(cfg.PublicIPs))

	err = d.loop(ctx)
	d.log.Info("nva-monitor stopping", report.KeyEvent, report.EventStopping)
	if ctx.Err() != nil {
		return nil
	}
	return err
}

type daemon struct {
	cfg     *config.Config
	log     *slog.Logger
	now     func() time.Time
	policy  decide.Policy
	m       *report.Metrics
	eng     *act.Engine
	targets []probe.Target

	mu     sync.Mutex
	status Status

	state decide.State
	// failingSince is when the current run of failed probes of each NVA began.
	failingSince map[string]time.Time
	lastHold     decide.Reason
	lastResult   map[string]bool

	leader      Leader
	leading     bool        // loop's view: this monitor leads (set on the loop goroutine only)
	leadingFlag atomic.Bool // the same, for the request poller
	epoch       atomic.Int64
	shared      lease.State // the shared state as this leader last wrote it
	viewCh      chan lease.View
	requests    chan *lease.Request
	lastView    time.Time
	heldNotice  decide.Reason // last follower/quorum hold logged
	// pending is a failover held for lack of quorum, looked at again when
	// recheckTimer fires, before the next probe round.
	pending      *decide.Action
	recheckTimer *time.Timer

	job      *convergeJob
	retryAt  time.Time // when a failed converge is retried
	lastGood bool      // the last converge left every resource on the active NVA
	// splitSeen counts consecutive reconciles that found resources split
	// between NVAs; a split is repaired on the second one so that a manual
	// `nva-monitor failover` still in flight is not fought over.
	splitSeen int
}

// convergeJob is one converge of Azure to an NVA, run in the background so
// probing never waits for ARM.
type convergeJob struct {
	target   string
	reason   string
	from     string
	request  string // manual request ID, if any
	cancel   context.CancelFunc
	done     chan convergeResult
	timeline Timeline
}

type convergeResult struct {
	report *act.Report
	err    error
}

func (d *daemon) loop(ctx context.Context) error {
	// 1. Find the active NVA from Azure; keep trying until ARM answers.
	if err := d.discover(ctx); err != nil {
		return err
	}

	// 2. Campaign for the lease (one monitor: leads at once), publish this
	// monitor's view, take manual requests while leading.
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
	defer func() {
		// Writes stop before the lease is let go.
		d.stopJob()
		stopBackground()
		bg.Wait()
		stopLeader()
		<-leaderDone
	}()

	// 3. Probe, decide, act.
	rounds := make(chan probe.Round, 1)
	runner := &probe.Runner{Targets: d.targets, Interval: d.cfg.Probe.Interval.D(), Timeout: d.cfg.Probe.Timeout.D()}
	pctx, stopProbes := context.WithCancel(ctx)
	probesDone := make(chan struct{})
	go func() {
		defer close(probesDone)
		_ = runner.Run(pctx, rounds)
	}()
	defer func() {
		stopProbes()
		<-probesDone
	}()

	reconcile := time.NewTicker(d.cfg.ReconcileInterval.D())
	defer reconcile.Stop()
	retry := time.NewTicker(time.Second)
	defer retry.Stop()

	for {
		var jobDone chan convergeResult
		if d.job != nil {
			jobDone = d.job.done
		}
		select {
		case <-ctx.Done():
			d.stopJob()
			return ctx.Err()
		case leading := <-d.leader.Leadership():
			if leading {
				// A true while leading means the lease was lost and taken
				// again in between: a new term, read the state again.
				d.loseLeadership("lost")
				d.becomeLeader(ctx)
			} else {
				d.loseLeadership("lost")
			}
		case req := <-d.requests:
			d.onRequest(ctx, req)
		case <-d.recheckC():
			d.recheck(ctx)
		case r := <-rounds:
			d.onRound(ctx, r)
		case res := <-jobDone:
			d.finishJob(ctx, res)
		case <-retry.C:
			if d.leading && d.job == nil && !d.lastGood && !d.retryAt.IsZero() && !d.now().Before(d.retryAt) {
				d.startJob(ctx, d.state.Active, "retry", d.state.Active, Timeline{Decision: d.now()}, "")
			}
		case <-reconcile.C:
			if d.job == nil {
				d.reconcile(ctx)
			}
		}
	}
}

// discover reads Azure until it answers and sets the active NVA. Repairs
// are the leader's: see becomeLeader.
func (d *daemon) discover(ctx context.Context) error {
	backoff := time.Second
	for {
		obs, err := d.eng.Observe(ctx)
		if err == nil {
			active, split := obs.Active()
			d.setObserved(obs)
			d.state = decide.NewState(d.policy, active)
			d.failingSince = map[string]time.Time{}
			d.lastResult = map[string]bool{}
			d.setActive(active)
			d.log.Info("active NVA found in Azure", report.KeyEvent, report.EventActiveDiscovered,
				report.KeyNVA, active, "split", split)
			d.mu.Lock()
			d.status.Discovered = true
			d.mu.Unlock()
			return nil
		}
		d.log.Error("cannot read the managed resources from Azure; retrying", report.KeyErr, err, "retry_in", backoff.String())
		d.setNotReady(fmt.Sprintf("cannot read Azure: %v", err))
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(backoff):
		}
		if backoff < 30*time.Second {
			backoff *= 2
		}
	}
}

func (d *daemon) onRound(ctx context.Context, r probe.Round) {
	obs := make(decide.Observation, len(r.Results))
	for _, res := range r.Results {
		obs[res.NVA] = res.OK
		d.m.ProbeResult(res.NVA, string(res.Failure), res.Latency)
		prevOK, seen := d.lastResult[res.NVA]
		d.lastResult[res.NVA] = res.OK
		if res.OK {
			delete(d.failingSince, res.NVA)
			if seen && !prevOK {
				d.log.Info("probe succeeded again", report.KeyEvent, report.EventProbeRecovered, report.KeyNVA, res.NVA,
					report.KeyDuration, res.Latency.String())
			}
		} else {
			if _, ok := d.failingSince[res.NVA]; !ok {
				d.failingSince[res.NVA] = res.At
			}
			lvl := slog.LevelDebug
			if !seen || prevOK {
				lvl = slog.LevelInfo
			}
			d.log.Log(ctx, lvl, "probe failed", report.KeyEvent, report.EventProbeFailed, report.KeyNVA, res.NVA,
				report.KeyFailure, string(res.Failure), report.KeyErr, errString(res.Err), report.KeyDuration, res.Latency.String())
		}
		d.mu.Lock()
		if st := d.status.NVAs[res.NVA]; st != nil {
			st.LastProbeOK = res.OK
			st.LastFailure = string(res.Failure)
			st.LastProbeAt = res.At
			st.LastLatency = res.Latency.String()
		}
		d.mu.Unlock()
	}

	now := d.now()
	prev := d.state
	wasAllDown := prev.AllDown
	next, dec := decide.Next(d.policy, prev, obs, now)
	d.state = next

	for _, c := range dec.Changes {
		d.m.Health(c.NVA, string(c.To))
		lvl := slog.LevelInfo
		if c.To == decide.Down {
			lvl = slog.LevelWarn
		}
		d.log.Log(ctx, lvl, "NVA health changed", report.KeyEvent, report.EventHealthChanged, report.KeyNVA, c.NVA,
			report.KeyFrom, string(c.From), report.KeyTo, string(c.To))
	}
	d.mu.Lock()
	for name, s := range d.state.NVAs {
		if st := d.status.NVAs[name]; st != nil {
			st.Health = string(s.Health)
			st.ConsecutiveFailures = s.ConsecutiveFailures
			st.ConsecutiveSuccesses = s.ConsecutiveSuccesses
		}
	}
	d.status.AllDown = d.state.AllDown
	d.status.ProbeRounds++
	d.mu.Unlock()

	d.m.AllDown(d.state.AllDown)
	if d.state.AllDown && !wasAllDown {
		d.log.Error("every NVA is down: changing nothing in Azure; traffic through the NVAs is not flowing",
			report.KeyEvent, report.EventAllDown, report.KeyNVA, d.state.Active)
	}
	if dec.Hold != "" {
		d.m.Hold(string(dec.Hold))
		if dec.Hold != d.lastHold && dec.Hold != decide.ReasonAllDown {
			d.log.Warn("active NVA is down but no failover is made", report.KeyEvent, report.EventFailoverHeld,
				report.KeyNVA, d.state.Active, report.KeyReason, string(dec.Hold))
		}
	}
	d.lastHold = dec.Hold

	if dec.Action.Kind == decide.Failover {
		if !d.failover(ctx, dec.Action, now) {
			// Not carried out: keep the active NVA and the anti-flap clock
			// as they were, so the decision comes again next round.
			d.state.Active, d.state.LastFailover = prev.Active, prev.LastFailover
		}
	} else {
		d.heldNotice = ""
	}
	if len(dec.Changes) > 0 || d.now().Sub(d.lastView) >= d.cfg.ViewInterval.D() {
		d.publishView()
	}
}

// failover carries out a failover decision; it reports whether it did.
// Only the leader acts; with quorum majority a failover because the active
// NVA is down also needs most fresh views to agree, and every failover is
// recorded in the shared state before Azure is touched.
func (d *daemon) failover(ctx context.Context, a decide.Action, now time.Time) bool {
	hold := func(reason decide.Reason, msg string, attrs ...any) bool {
		d.m.Hold(string(reason))
		if d.heldNotice != reason {
			d.heldNotice = reason
			d.log.Warn(msg, append([]any{report.KeyEvent, report.EventFailoverHeld, report.KeyReason, string(reason),
				report.KeyFrom, a.From, report.KeyTo, a.To}, attrs...)...)
		}
		return false
	}
	if !d.leading {
		return hold("not_leader", "a failover is due; the leading monitor carries it out")
	}
	if a.Reason == decide.ReasonActiveDown {
		ok, down, fresh, err := d.quorum(ctx, a.From)
		if err != nil {
			return hold("no_quorum", "cannot read the other monitors' views; not failing over", report.KeyErr, err)
		}
		if !ok {
			// The others usually see the failure within a probe interval of
			// us and publish at once: look again soon rather than a whole
			// interval later.
			d.armRecheck(a)
			return hold("no_quorum", "the active NVA is down from here but not from a majority of the monitors; not failing over",
				"down_views", down, "fresh_views", fresh)
		}
	}
	d.heldNotice = ""
	tl := Timeline{Decision: now}
	if a.From != "" {
		if t, ok := d.failingSince[a.From]; ok {
			tl.FirstFailedProbe = t
		}
	}
	epoch, err := d.recordFailover(ctx, a.To, &FailoverRecord{From: a.From, To: a.To, Reason: string(a.Reason), Timeline: tl})
	if err != nil {
		d.log.Error("cannot record the failover in the shared state; not failing over", report.KeyEvent, report.EventStateWriteFailed,
			report.KeyFrom, a.From, report.KeyTo, a.To, report.KeyErr, err)
		return false
	}
	d.log.Warn("failing over", report.KeyEvent, report.EventFailoverStarted,
		report.KeyFrom, a.From, report.KeyTo, a.To, report.KeyReason, string(a.Reason), report.KeyEpoch, epoch,
		"first_failed_probe", fmtTime(tl.FirstFailedProbe))
	d.setActive(a.To)
	d.startJob(ctx, a.To, string(a.Reason), a.From, tl, "")
	return true
}

// startJob converges Azure to target in the background, replacing any
// converge still running toward another NVA.
func (d *daemon) startJob(ctx context.Context, target, reason, from string, tl Timeline, request string) {
	d.stopJob()
	if !d.leading {
		return
	}
	jctx, cancel := context.WithCancel(ctx)
	j := &convergeJob{target: target, reason: reason, from: from, request: request, cancel: cancel, done: make(chan convergeResult, 1), timeline: tl}
	d.job = j
	d.lastGood = false
	go func() {
		rep, err := d.eng.Converge(jctx, target)
		j.done <- convergeResult{report: rep, err: err}
	}()
}

// stopJob cancels the running converge, if any, and waits for it.
func (d *daemon) stopJob() {
	if d.job == nil {
		return
	}
	d.job.cancel()
	<-d.job.done
	d.job = nil
}

func (d *daemon) finishJob(ctx context.Context, res convergeResult) {
	j := d.job
	d.job = nil
	j.cancel()
	end := d.now()
	tl := j.timeline
	tl.Completed = end
	if res.report != nil {
		for _, r := range res.report.Resources {
			tl.Resources = append(tl.Resources, ResourceTime{Kind: r.Kind, ID: r.ID, Changed: r.Changed,
				Attempts: r.Attempts, After: r.Duration.String(), Err: errString(r.Err)})
		}
	}
	total := end.Sub(tl.Decision)
	tl.Total = total.String()
	if !tl.FirstFailedProbe.IsZero() {
		tl.DetectionToDecision = tl.Decision.Sub(tl.FirstFailedProbe).String()
	}
	rec := &FailoverRecord{From: j.from, To: j.target, Reason: j.reason, RequestID: j.request, Timeline: tl}
	if res.err != nil {
		rec.Error = res.err.Error()
	}
	if isFenced(res.err) {
		d.fenced(res.err)
		return
	}
	changed := false
	if res.report != nil {
		for _, r := range res.report.Resources {
			changed = changed || r.Changed
		}
	}
	routine := j.reason == "takeover" || j.reason == "reconcile" || j.reason == "retry"
	if routine && !changed && res.err == nil {
		// Azure already matched: nothing happened worth a failover record.
		d.lastGood = true
		d.retryAt = time.Time{}
		d.log.Debug("every managed resource already points at the active NVA", report.KeyNVA, j.target, report.KeyReason, j.reason)
		return
	}
	d.m.Failover(j.reason, res.err, total, end)
	attrs := []any{report.KeyFrom, j.from, report.KeyTo, j.target, report.KeyReason, j.reason,
		report.KeyDuration, tl.Total, slog.Group("timeline",
			"first_failed_probe", fmtTime(tl.FirstFailedProbe), "decision", fmtTime(tl.Decision),
			"detection_to_decision", tl.DetectionToDecision, "resources", tl.Resources, "completed", fmtTime(tl.Completed))}
	if res.err != nil {
		d.lastGood = false
		d.retryAt = end.Add(2 * time.Second)
		d.log.Error("failover did not converge every resource; retrying", append([]any{report.KeyEvent, report.EventFailoverFailed, report.KeyErr, res.err}, attrs...)...)
	} else {
		d.lastGood = true
		d.retryAt = time.Time{}
		d.log.Info("failover completed", append([]any{report.KeyEvent, report.EventFailoverCompleted}, attrs...)...)
	}
	d.mu.Lock()
	d.status.LastFailover = rec
	d.mu.Unlock()
	d.recordResult(ctx, rec)
}

// reconcile re-reads Azure and repairs drift toward the active NVA. When
// every resource agrees on another NVA (an operator ran `nva-monitor
// failover`), the monitor adopts it: Azure is the source of truth.
func (d *daemon) reconcile(ctx context.Context) {
	obs, err := d.eng.Observe(ctx)
	if err != nil {
		d.log.Warn("reconcile: cannot read Azure", report.KeyErr, err)
		return
	}
	d.setObserved(obs)
	if d.leading && d.cfg.Lease.Kind == config.LeaseBlob && obs.MaxEpoch() > d.epoch.Load() {
		d.fenced(fmt.Errorf("a managed resource carries epoch %d, ours is %d", obs.MaxEpoch(), d.epoch.Load()))
		return
	}
	active, split := obs.Active()
	if !split {
		d.splitSeen = 0
	}
	if !d.leading {
		// Followers track the leader's decision (or, failing that, what
		// Azure says) for their views and status; they never write.
		if d.cfg.Lease.Kind == config.LeaseBlob {
			sctx, cancel := context.WithTimeout(ctx, storageTimeout)
			st, err := d.leader.ReadState(sctx)
			cancel()
			if _, ok := d.cfg.NVA(st.Desired); err == nil && ok {
				active, split = st.Desired, false
			}
		}
		if !split && active != "" && active != d.state.Active {
			d.state.Active = active
			d.setActive(active)
		}
		return
	}
	switch {
	case active == d.state.Active && !split:
		d.lastGood = true
		return
	case !split && active != "" && active != d.state.Active && d.lastGood:
		d.log.Warn("every managed resource now points at another NVA; adopting it", report.KeyEvent, report.EventActiveAdopted,
			report.KeyFrom, d.state.Active, report.KeyTo, active)
		if _, err := d.recordFailover(ctx, active, nil); err != nil {
			d.log.Warn("cannot record the adopted NVA in the shared state", report.KeyEvent, report.EventStateWriteFailed, report.KeyErr, err)
			return
		}
		d.state.Active = active
		d.setActive(active)
		return
	case split && d.lastGood:
		d.splitSeen++
		if d.splitSeen < 2 {
			return // maybe an operator's change in flight: look again next time
		}
	}
	if d.state.Active == "" {
		return
	}
	d.splitSeen = 0
	d.log.Warn("managed resources drifted from the active NVA; converging", report.KeyEvent, report.EventReconcile,
		report.KeyNVA, d.state.Active, "resources", describeObserved(obs))
	d.startJob(ctx, d.state.Active, "reconcile", "", Timeline{Decision: d.now()}, "")
}

func (d *daemon) setLeading(leading bool, epoch int64) {
	d.leadingFlag.Store(leading)
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
	d.status.ObservedAt = d.now()
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

// armRecheck schedules another quorum check of a held failover a quarter of a
// probe interval from now (unless one is scheduled already).
func (d *daemon) armRecheck(a decide.Action) {
	if d.recheckTimer != nil {
		return
	}
	d.pending = &a
	d.recheckTimer = time.NewTimer(max(d.cfg.Probe.Interval.D()/4, 50*time.Millisecond))
}

// recheckC is the recheck timer's channel; nil (never ready) when unarmed.
func (d *daemon) recheckC() <-chan time.Time {
	if d.recheckTimer == nil {
		return nil
	}
	return d.recheckTimer.C
}

// recheck looks at a failover held for lack of quorum again: if nothing
// changed in between (same active NVA, still down, target still up, no
// converge running) and a majority now agrees, it fails over.
func (d *daemon) recheck(ctx context.Context) {
	a := d.pending
	d.pending, d.recheckTimer = nil, nil
	if a == nil || !d.leading || d.job != nil || d.state.Active != a.From {
		return
	}
	if d.state.NVAs[a.From].Health != decide.Down || d.state.NVAs[a.To].Health != decide.Up {
		return
	}
	now := d.now()
	if d.failover(ctx, *a, now) {
		d.state = decide.Manual(d.state, a.To, now)
	}
}
