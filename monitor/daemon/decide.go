package daemon

import (
	"context"
	"fmt"
	"time"

	"github.com/hanva/hanva/monitor/config"
	"github.com/hanva/hanva/monitor/internal/decide"
	"github.com/hanva/hanva/monitor/internal/lease"
	"github.com/hanva/hanva/monitor/internal/report"
)

// failover carries out a failover decision while leading: with quorum
// majority, a failover because the active NVA is down also needs most fresh
// views to agree; the new desired NVA is recorded in the shared state before
// ensure touches Azure.
func (d *daemon) failover(ctx context.Context, t *term, a decide.Action, now time.Time) {
	if a.Reason == decide.ReasonActiveDown {
		ok, down, fresh, err := d.quorum(ctx, a.From)
		if err != nil {
			d.hold(a, decide.ReasonNoQuorum, "cannot read the other monitors' views; not failing over", report.KeyErr, err)
			return
		}
		if !ok {
			// The others usually see the failure within a probe interval of
			// us and publish at once: look again at the fast interval for
			// the first probe interval of the hold, then once per round.
			if t.recheck == nil && (!t.rechecked || t.quick < d.quickRechecks()) {
				t.pending = &a
				delay := max(d.cfg.Probe.Interval.D()/4, 50*time.Millisecond)
				if t.quick < d.quickRechecks() {
					delay = d.cfg.Probe.FastInterval.D()
					t.quick++
				}
				t.recheck = time.NewTimer(delay)
			}
			d.hold(a, decide.ReasonNoQuorum, "the active NVA is down from here but not from a majority of the monitors; not failing over",
				"down_views", down, "fresh_views", fresh)
			return
		}
		// Reading the views can block (storage slow, this process paused):
		// a decision that waited longer than a probe round may is stale,
		// like a stale round (S5), and is taken again on a fresh round.
		// Otherwise the failover is dated now, when the desired NVA changes,
		// so that the anti-flap interval the cluster inherits counts from
		// the change, not from the round (S6).
		if waited := d.now().Sub(now); waited > d.staleRoundAge() {
			d.hold(a, reasonStaleDecision, "the failover decision waited too long for the other monitors' views; deciding again on a fresh probe round",
				"waited", waited.Round(time.Millisecond).String())
			return
		}
		now = d.now()
	}
	d.heldNotice = ""
	t.quick = 0
	tl := Timeline{Decision: now}
	if a.From != "" {
		if t, ok := d.failingSince[a.From]; ok {
			tl.FirstFailedProbe = t
		}
	}
	prevFailover := d.state.LastFailover
	d.state.LastFailover = now
	epoch, err := d.setDesired(ctx, t, a.To, &FailoverRecord{From: a.From, To: a.To, Reason: string(a.Reason), Timeline: tl})
	if err != nil {
		d.state.LastFailover = prevFailover
		d.hold(a, decide.ReasonStateUnwritable, "cannot record the failover in the shared state; not failing over", report.KeyErr, err)
		d.log.Error("cannot record the failover in the shared state; not failing over", report.KeyEvent, report.EventStateWriteFailed,
			report.KeyFrom, a.From, report.KeyTo, a.To, report.KeyErr, err)
		return
	}
	d.log.Warn("failing over", report.KeyEvent, report.EventFailoverStarted,
		report.KeyFrom, a.From, report.KeyTo, a.To, report.KeyReason, string(a.Reason), report.KeyEpoch, epoch,
		"first_failed_probe", fmtTime(tl.FirstFailedProbe))
	t.next = &jobSpec{reason: string(a.Reason), from: a.From, timeline: tl}
	d.ensure(ctx, t, string(a.Reason))
}

// reasonStaleDecision: a failover decided on a round that was fresh, whose
// quorum check then took longer than a round may be old.
const reasonStaleDecision decide.Reason = "stale_decision"

// quickRechecks is how many quorum rechecks at probe.fastInterval a hold
// starts with: one probe interval's worth.
func (d *daemon) quickRechecks() int {
	fast := d.cfg.Probe.FastInterval.D()
	if fast <= 0 {
		return 0
	}
	return int((d.cfg.Probe.Interval.D() + fast - 1) / fast)
}

// recheckQuorum looks at a failover held for lack of quorum again, once per
// probe round: if nothing changed in between (same desired NVA, still
// down, target still up, no converge running) it tries the failover again.
func (d *daemon) recheckQuorum(ctx context.Context, t *term) {
	a := t.pending
	t.pending = nil
	t.rechecked = true
	if a == nil || t.job != nil || t.desired != a.From {
		return
	}
	if d.state.NVAs[a.From].Health != decide.Down || d.state.NVAs[a.To].Health != decide.Up {
		return
	}
	d.failover(ctx, t, *a, d.now())
}

// quorum reports whether a majority of the fresh views, this monitor's
// included, see the active NVA down. A view is fresh while its age by the
// storage service's clock (View.Age) is within three view intervals: no
// monitor's wall clock is compared with another's. Stale views are counted
// (metric views_stale_total) and logged once until they are fresh again.
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
	if d.staleLogged == nil {
		d.staleLogged = map[string]bool{}
	}
	for _, v := range views {
		if v.Instance == d.cfg.Instance {
			continue
		}
		if v.Age > maxAge {
			d.m.ViewStale(v.Instance)
			if !d.staleLogged[v.Instance] {
				d.staleLogged[v.Instance] = true
				d.log.Warn("a monitor's view is stale: left out of the quorum", report.KeyEvent, report.EventViewStale,
					"monitor", v.Instance, "age", v.Age.String(), "max_age", maxAge.String())
			}
			continue
		}
		d.staleLogged[v.Instance] = false
		fresh++
		if v.Health[active] == string(decide.Down) {
			down++
		}
	}
	return down*2 > fresh, down, fresh, nil
}

// publishView queues this monitor's view for the publisher goroutine; the
// newest view replaces one not yet sent.
func (d *daemon) publishView(leading bool) {
	v := lease.View{
		Instance: d.cfg.Instance,
		At:       d.wall().UTC(),
		Active:   d.state.Active,
		Health:   make(map[string]string, len(d.state.NVAs)),
		Leader:   leading,
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

// onRequest carries out a manual failover request while leading. A request
// taken by a leader that lost the lease before it could act is lost with
// it; the CLI reports that its request was taken but not carried out.
func (d *daemon) onRequest(ctx context.Context, t *term, req *lease.Request) {
	log := d.log.With(report.KeyRequest, req.ID, report.KeyTo, req.To, "by", req.By, "force", req.Force)
	reject := func(why string) {
		log.Warn("manual failover refused", report.KeyEvent, report.EventManualRequest, report.KeyReason, why)
		d.recordResult(ctx, t, &FailoverRecord{To: req.To, Reason: "manual", RequestID: req.ID, Error: why, Timeline: Timeline{Decision: d.now()}})
	}
	if req.Expired() { // its CLI has given up (lease.Request.TTL, judged by storage's clock)
		log = log.With("age", req.Age.String(), "ttl", req.TTL.String())
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
	from := t.desired
	log.Warn("manual failover requested", report.KeyEvent, report.EventManualRequest, report.KeyFrom, from)
	now := d.now()
	prev := d.state
	d.state = decide.Manual(d.state, req.To, now)
	tl := Timeline{Decision: now}
	if _, err := d.setDesired(ctx, t, req.To, &FailoverRecord{From: from, To: req.To, Reason: "manual", RequestID: req.ID, Timeline: tl}); err != nil {
		d.state = prev
		log.Error("cannot record the manual failover in the shared state; not failing over", report.KeyEvent, report.EventStateWriteFailed, report.KeyErr, err)
		return
	}
	t.next = &jobSpec{reason: "manual", from: from, request: req.ID, timeline: tl}
	d.ensure(ctx, t, "manual")
}
