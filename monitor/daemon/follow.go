package daemon

import (
	"context"
	"log/slog"
	"time"

	"github.com/hanva/hanva/monitor/config"
	"github.com/hanva/hanva/monitor/internal/decide"
	"github.com/hanva/hanva/monitor/internal/lease"
	"github.com/hanva/hanva/monitor/internal/probe"
	"github.com/hanva/hanva/monitor/internal/report"
)

// follow is the follower's loop: it probes, publishes its view, reads
// Azure and the shared state for its status, and cannot write to Azure at
// all (it starts no converge and takes no request). It returns the lease's
// term as soon as this monitor leads, or 0 when ctx ends.
func (d *daemon) follow(ctx context.Context) uint64 {
	reconcile := time.NewTicker(d.reconcileEvery)
	defer reconcile.Stop()
	// Until Azure has been read once, read it again sooner, backing off up
	// to the reconcile interval.
	backoff := time.Second
	var again <-chan time.Time
	for {
		if term := d.leader.Term(); term != 0 {
			return term
		}
		select {
		case <-ctx.Done():
			return 0
		case <-d.leader.Leadership():
			// An edge is a hint; Term, read at the top, is the truth.
		case r := <-d.rounds:
			d.onRound(ctx, r, nil)
		case o := <-d.observed:
			if d.took(o) {
				again = nil
				d.followDesired(ctx)
			} else if !d.discovered {
				d.log.Error("cannot read the managed resources from Azure; retrying", report.KeyErr, o.err, "retry_in", backoff.String())
				again = time.After(backoff)
				backoff = min(backoff*2, d.reconcileEvery)
			}
		case <-again:
			again = nil
			d.startObserve(ctx)
		case <-reconcile.C:
			d.startObserve(ctx)
		}
	}
}

// followDesired tracks the leader's desired NVA (the shared state, or
// failing that what Azure says) for this monitor's view and status.
func (d *daemon) followDesired(ctx context.Context) {
	active, split := "", true
	if d.obs != nil {
		active, split = d.obs.Active()
	}
	if d.cfg.Lease.Kind == config.LeaseBlob {
		sctx, cancel := context.WithTimeout(ctx, storageTimeout)
		st, err := d.leader.ReadState(sctx)
		cancel()
		if _, ok := d.cfg.NVA(st.Desired); err == nil && ok {
			active, split = st.Desired, false
		}
		d.inheritAntiFlap(st)
	}
	if !split && active != "" && active != d.state.Active {
		d.state.Active = active
		d.setActive(active)
	}
}

// onRound folds a probe round into the health state, logs and counts it,
// publishes this monitor's view when it changed (or is due), and, when t is
// not nil (this monitor leads), carries out the decision.
func (d *daemon) onRound(ctx context.Context, r probe.Round, t *term) {
	// A round that waited behind a blocked loop (a takeover reads Azure
	// and storage for up to half a lease) describes the past: its results
	// still count toward the NVAs' health (they happened), but no failover
	// is decided on it: an NVA it saw down may have been answering for
	// seconds, and one it saw up may have failed since (S3, S5). The
	// prober's next round follows within an interval.
	age := d.now().Sub(r.Started)
	stale := !r.Started.IsZero() && age > d.staleRoundAge()
	if stale && !d.staleRounds {
		d.log.Warn("a probe round waited too long to be handled; no failover is decided on it", report.KeyEvent, report.EventRoundStale,
			"age", age.Round(time.Millisecond).String(), "max_age", d.staleRoundAge().String())
	}
	d.staleRounds = stale
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

	if t != nil {
		t.rechecked = false // one quorum recheck per probe round at most
	}
	now := d.now()
	prev := d.state
	next, dec := decide.Next(d.policy, prev, obs, now)
	d.state = next
	d.paceProbes()

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
	if d.state.AllDown && !prev.AllDown {
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
		// The decision is only this monitor's until the leader carries it
		// out: keep the desired NVA and the anti-flap clock as they were.
		d.state.Active, d.state.LastFailover = prev.Active, prev.LastFailover
		switch {
		case stale: // decided again on the next, fresh round if still due
		case t == nil:
			d.hold(dec.Action, decide.ReasonNotLeader, "a failover is due; the leading monitor carries it out")
		default:
			d.failover(ctx, t, dec.Action, now)
		}
	} else {
		d.heldNotice = ""
		if t != nil {
			t.quick = 0 // no failover due: the next hold starts with quick rechecks again
		}
	}
	if t != nil {
		d.ensure(ctx, t, "round")
	}
	if len(dec.Changes) > 0 || d.now().Sub(d.lastView) >= d.cfg.ViewInterval.D() {
		d.publishView(t != nil)
	}
}

// staleRoundAge is how old a probe round may be when the loop gets to it:
// two probe intervals and a probe timeout, the time a round takes plus
// one round of slack.
func (d *daemon) staleRoundAge() time.Duration {
	return 2*d.cfg.Probe.Interval.D() + d.cfg.Probe.Timeout.D()
}

// hold counts and (once per reason in a row) logs a failover not made.
func (d *daemon) hold(a decide.Action, reason decide.Reason, msg string, attrs ...any) {
	d.m.Hold(string(reason))
	if d.heldNotice != reason {
		d.heldNotice = reason
		d.log.Warn(msg, append([]any{report.KeyEvent, report.EventFailoverHeld, report.KeyReason, string(reason),
			report.KeyFrom, a.From, report.KeyTo, a.To}, attrs...)...)
	}
}

// inheritAntiFlap takes the time of the cluster's last failover from the
// shared state: the writer's own measure of how long before its write the
// failover was (SinceFailover) plus the write's age by storage's clock, so
// no two hosts' wall clocks are compared. A follower keeps it too, so that
// it still knows when it leads after the state was lost.
func (d *daemon) inheritAntiFlap(st lease.State) {
	if st.SinceFailover <= 0 {
		return
	}
	at := d.now().Add(-(st.SinceFailover.D() + st.Age))
	if at.After(d.state.LastFailover) {
		d.state.LastFailover = at
	}
}

// paceProbes asks the prober for rounds at probe.fastInterval while some
// NVA's state is in doubt (a probe failed, not yet enough in a row to call
// it down), so that a failure is confirmed, or cleared, in a few fast
// rounds instead of a few intervals; the threshold stays what it is.
func (d *daemon) paceProbes() {
	if d.runner == nil {
		return
	}
	doubt := false
	for _, s := range d.state.NVAs {
		if s.ConsecutiveFailures > 0 && s.Health != decide.Down {
			doubt = true
		}
	}
	d.runner.SetDoubt(doubt)
}
