package daemon

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/hanva/hanva/monitor/config"
	"github.com/hanva/hanva/monitor/internal/act"
	"github.com/hanva/hanva/monitor/internal/azure"
	"github.com/hanva/hanva/monitor/internal/decide"
	"github.com/hanva/hanva/monitor/internal/lease"
	"github.com/hanva/hanva/monitor/internal/report"
	"github.com/hanva/hanva/monitor/internal/version"
)

// Leader is the leader election and the shared state the daemon needs:
// lease.Blob when several monitors share the NVAs, lease.None for one.
type Leader interface {
	Run(ctx context.Context) error
	Check() error
	Leadership() <-chan bool
	Resign()
	ReadState(ctx context.Context) (lease.State, error)
	WriteState(ctx context.Context, s lease.State) error
	PublishView(ctx context.Context, v lease.View) error
	Views(ctx context.Context) ([]lease.View, error)
	TakeRequest(ctx context.Context) (*lease.Request, error)
}

// SharedState is what the one-shot commands need of the shared state.
type SharedState interface {
	ReadState(ctx context.Context) (lease.State, error)
	Views(ctx context.Context) ([]lease.View, error)
	PutRequest(ctx context.Context, r lease.Request) (etag string, err error)
	WithdrawRequest(ctx context.Context, etag string) (withdrawn bool, err error)
	TakeRequest(ctx context.Context) (*lease.Request, error)
	Info(ctx context.Context) (lease.Info, error)
}

// storageTimeout bounds one blob operation made from the run loop.
const storageTimeout = 3 * time.Second

// NewLeader builds the leader election the config asks for.
func NewLeader(cfg *config.Config, log *slog.Logger, onRenew func(ok bool)) (Leader, error) {
	if cfg.Lease.Kind != config.LeaseBlob {
		return lease.NewNone(cfg.Instance), nil
	}
	b, err := newBlob(cfg, log, onRenew)
	if err != nil {
		return nil, err
	}
	return b, nil
}

// NewShared opens the shared state of a blob-lease cluster for a one-shot
// command; nil when the config has no blob lease.
func NewShared(cfg *config.Config, log *slog.Logger) (SharedState, error) {
	if cfg.Lease.Kind != config.LeaseBlob {
		return nil, nil
	}
	return newBlob(cfg, log, nil)
}

func newBlob(cfg *config.Config, log *slog.Logger, onRenew func(ok bool)) (*lease.Blob, error) {
	c, name, err := azure.BlobContainer(cfg.Lease, cfg.Instance, version.Version)
	if err != nil {
		return nil, fmt.Errorf("set up the lease blob client: %w", err)
	}
	return lease.NewBlob(lease.BlobOptions{
		Container: c,
		Blob:      name,
		Instance:  cfg.Instance,
		Duration:  cfg.Lease.Duration.D(),
		Logger:    log,
		OnRenew:   onRenew,
	})
}

// becomeLeader runs when this monitor acquires the lease: read the shared
// state first, raise the epoch, record leadership, then converge Azure to
// the desired NVA of the shared state, so that a failover the previous
// leader left half done is finished, not restarted from a guess.
func (d *daemon) becomeLeader(ctx context.Context) {
	sctx, cancel := context.WithTimeout(ctx, storageTimeout)
	st, err := d.leader.ReadState(sctx)
	cancel()
	if err != nil {
		d.log.Error("cannot read the shared state after acquiring the lease; giving leadership up", report.KeyErr, err)
		d.leader.Resign()
		d.m.LeadershipChange("resigned")
		return
	}
	obs, err := d.eng.Observe(ctx)
	if err != nil {
		d.log.Error("cannot read Azure after acquiring the lease; giving leadership up", report.KeyErr, err)
		d.leader.Resign()
		d.m.LeadershipChange("resigned")
		return
	}
	d.setObserved(obs)
	observed, split := obs.Active()
	desired, source := st.Desired, "shared state"
	if _, ok := d.cfg.NVA(desired); !ok {
		desired, source = observed, "azure"
	}
	if desired == "" {
		desired, source = d.state.Active, "probes"
	}
	epoch := max(st.Epoch, obs.MaxEpoch(), d.epoch.Load()) + 1
	next := lease.State{Leader: d.cfg.Instance, Epoch: epoch, Desired: desired, LastFailover: st.LastFailover, UpdatedAt: d.now().UTC()}
	sctx, cancel = context.WithTimeout(ctx, storageTimeout)
	err = d.leader.WriteState(sctx, next)
	cancel()
	if err != nil {
		d.log.Error("cannot record leadership in the shared state; giving leadership up", report.KeyEvent, report.EventStateWriteFailed, report.KeyErr, err)
		d.leader.Resign()
		d.m.LeadershipChange("resigned")
		return
	}
	d.shared = next
	d.epoch.Store(epoch)
	d.leading = true
	d.m.Leader(true)
	d.m.Epoch(epoch)
	d.m.LeadershipChange("acquired")
	d.state.Active = desired
	d.setActive(desired)
	d.setLeading(true, epoch)
	d.log.Info("this monitor leads", report.KeyEvent, report.EventLeaderElected, report.KeyEpoch, epoch,
		report.KeyNVA, desired, "desired_from", source, "azure_points_at", observed, "split", split)
	if desired == "" {
		return
	}
	reason := "takeover"
	if split || (observed != "" && observed != desired) {
		reason = "split_repair"
		d.m.SplitRepair()
		d.log.Warn("resources do not all point at the desired NVA; converging them", report.KeyEvent, report.EventSplitRepair,
			report.KeyNVA, desired, "resources", describeObserved(obs))
	}
	d.startJob(ctx, desired, reason, "", Timeline{Decision: d.now()}, "")
}

// loseLeadership stops every ARM write at once: the running converge is
// cancelled and waited for. The lease itself already refuses writes
// (Check) past its deadline; this stops the goroutines too.
func (d *daemon) loseLeadership(why string) {
	if !d.leading {
		return
	}
	d.stopJob()
	d.leading = false
	d.m.Leader(false)
	d.m.LeadershipChange(why)
	d.setLeading(false, d.epoch.Load())
	d.log.Error("this monitor no longer leads: no ARM writes from here", report.KeyEvent, report.EventLeaderLost,
		report.KeyReason, why, report.KeyEpoch, d.epoch.Load())
}

// fenced handles a resource that carries a higher epoch than ours: another
// leader exists. Step down.
func (d *daemon) fenced(err error) {
	d.log.Error("a resource carries a higher epoch than ours: another monitor leads; stepping down",
		report.KeyEvent, report.EventFenced, report.KeyEpoch, d.epoch.Load(), report.KeyErr, err)
	d.leader.Resign()
	d.loseLeadership("resigned")
}

// recordFailover writes the desired NVA and a raised epoch to the shared
// state before the leader touches Azure, so that whoever leads next finishes
// the job. It returns the new epoch.
func (d *daemon) recordFailover(ctx context.Context, to string, rec *FailoverRecord) (int64, error) {
	epoch := d.epoch.Load() + 1
	next := d.shared
	next.Leader, next.Epoch, next.Desired, next.UpdatedAt = d.cfg.Instance, epoch, to, d.now().UTC()
	if rec != nil {
		b, err := json.Marshal(rec)
		if err != nil {
			return 0, err
		}
		next.LastFailover = b
	}
	sctx, cancel := context.WithTimeout(ctx, storageTimeout)
	defer cancel()
	if err := d.leader.WriteState(sctx, next); err != nil {
		return 0, err
	}
	d.shared = next
	d.epoch.Store(epoch)
	d.m.Epoch(epoch)
	d.setLeading(true, epoch)
	return epoch, nil
}

// recordResult stores the finished failover in the shared state.
func (d *daemon) recordResult(ctx context.Context, rec *FailoverRecord) {
	if !d.leading {
		return
	}
	b, err := json.Marshal(rec)
	if err != nil {
		return
	}
	next := d.shared
	next.LastFailover, next.UpdatedAt = b, d.now().UTC()
	sctx, cancel := context.WithTimeout(ctx, storageTimeout)
	defer cancel()
	if err := d.leader.WriteState(sctx, next); err != nil {
		d.log.Warn("cannot record the failover result in the shared state", report.KeyEvent, report.EventStateWriteFailed, report.KeyErr, err)
		return
	}
	d.shared = next
}

// quorum reports whether a majority of the fresh views, this monitor's
// included, see the active NVA down. A view older than three view intervals
// is stale and does not count either way.
func (d *daemon) quorum(ctx context.Context, active string) (ok bool, down, fresh int, err error) {
	if d.cfg.Quorum != config.QuorumMajority {
		return true, 1, 1, nil
	}
	sctx, cancel := context.WithTimeout(ctx, storageTimeout)
	views, err := d.leader.Views(sctx)
	cancel()
	if err != nil {
		return false, 0, 0, fmt.Errorf("read the other monitors' views: %w", err)
	}
	down, fresh = 1, 1 // our own view: we only ask when we see it down
	maxAge := config.StaleViewIntervals * d.cfg.ViewInterval.D()
	now := d.now()
	for _, v := range views {
		if v.Instance == d.cfg.Instance || now.Sub(v.At) > maxAge || v.At.After(now.Add(maxAge)) {
			continue
		}
		fresh++
		if v.Health[active] == string(decide.Down) {
			down++
		}
	}
	return down*2 > fresh, down, fresh, nil
}

// publishView queues this monitor's view for the publisher goroutine; the
// newest view replaces one not yet sent.
func (d *daemon) publishView() {
	v := lease.View{
		Instance: d.cfg.Instance,
		At:       d.now().UTC(),
		Active:   d.state.Active,
		Health:   make(map[string]string, len(d.state.NVAs)),
		Leader:   d.leading,
		Epoch:    d.epoch.Load(),
	}
	for name, s := range d.state.NVAs {
		v.Health[name] = string(s.Health)
	}
	d.lastView = d.now()
	select {
	case d.viewCh <- v:
	default:
		select {
		case <-d.viewCh:
		default:
		}
		select {
		case d.viewCh <- v:
		default:
		}
	}
}

// publishViews sends queued views to storage until ctx ends.
func (d *daemon) publishViews(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case v := <-d.viewCh:
			sctx, cancel := context.WithTimeout(ctx, storageTimeout)
			err := d.leader.PublishView(sctx, v)
			cancel()
			d.m.ViewPublished(err)
			if err != nil && ctx.Err() == nil {
				d.log.Warn("cannot publish this monitor's view of NVA health", report.KeyErr, err)
			}
		}
	}
}

// pollRequests hands manual failover requests (written by `nva-monitor
// failover`) to the loop while this monitor leads.
func (d *daemon) pollRequests(ctx context.Context) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if !d.leadingFlag.Load() {
			continue
		}
		sctx, cancel := context.WithTimeout(ctx, storageTimeout)
		req, err := d.leader.TakeRequest(sctx)
		cancel()
		if err != nil || req == nil {
			continue
		}
		select {
		case d.requests <- req:
		case <-ctx.Done():
			return
		}
	}
}

// onRequest carries out a manual failover request.
func (d *daemon) onRequest(ctx context.Context, req *lease.Request) {
	log := d.log.With(report.KeyRequest, req.ID, report.KeyTo, req.To, "by", req.By, "force", req.Force)
	reject := func(why string) {
		log.Warn("manual failover refused", report.KeyEvent, report.EventManualRequest, report.KeyReason, why)
		d.recordResult(ctx, &FailoverRecord{To: req.To, Reason: "manual", RequestID: req.ID, Error: why, Timeline: Timeline{Decision: d.now()}})
	}
	if !d.leading {
		return
	}
	if req.Expired() { // its CLI has given up (lease.Request.TTL, judged by storage's clock)
		log = log.With("age", req.Age.String(), "ttl", req.TTL.String()) // reject closes over log
		reject("expired")
		return
	}
	if _, ok := d.cfg.NVA(req.To); !ok {
		reject(fmt.Sprintf("no NVA named %q in the config", req.To))
		return
	}
	if h := d.state.NVAs[req.To].Health; h != decide.Up && !req.Force {
		reject(fmt.Sprintf("%s is %s, not up; pass --force to fail over anyway", req.To, h))
		return
	}
	from := d.state.Active
	log.Warn("manual failover requested", report.KeyEvent, report.EventManualRequest, report.KeyFrom, from)
	if _, err := d.recordFailover(ctx, req.To, &FailoverRecord{From: from, To: req.To, Reason: "manual", RequestID: req.ID, Timeline: Timeline{Decision: d.now()}}); err != nil {
		log.Error("cannot record the manual failover in the shared state; not failing over", report.KeyEvent, report.EventStateWriteFailed, report.KeyErr, err)
		return
	}
	d.state = decide.Manual(d.state, req.To, d.now())
	d.setActive(req.To)
	d.startJob(ctx, req.To, "manual", from, Timeline{Decision: d.now()}, req.ID)
}

// isFenced reports whether err says another leader has a higher epoch.
func isFenced(err error) bool { return errors.Is(err, act.ErrFenced) }
