package daemon

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/hanva/hanva/monitor/config"
	"github.com/hanva/hanva/monitor/internal/act"
	"github.com/hanva/hanva/monitor/internal/decide"
	"github.com/hanva/hanva/monitor/internal/report"
)

// convergeJob is one converge of Azure to an NVA, run in the background so
// probing never waits for ARM.
type convergeJob struct {
	jobSpec
	target string
	stamp  bool
	cancel context.CancelFunc
	done   chan convergeResult
}

// jobSpec says why a converge runs, for its record and timeline.
type jobSpec struct {
	reason   string
	from     string
	request  string // manual request ID, if any
	timeline Timeline
}

type convergeResult struct {
	report *act.Report
	err    error
}

// ensure is the one step that compares Azure with the desired NVA and
// starts, keeps or cancels the converge: it keeps a converge already
// running toward the desired NVA, cancels one toward another, and starts
// one when Azure is not known to be on the desired NVA (or not yet stamped
// with this term's epoch). It never converges toward an NVA this monitor
// sees down, and after a failed converge it waits out the backoff.
func (d *daemon) ensure(ctx context.Context, t *term, why string) {
	spec := t.next
	t.next = nil
	if t.end != "" || t.desired == "" {
		return
	}
	targetDown := d.state.NVAs[t.desired].Health == decide.Down
	if t.job != nil {
		if t.job.target == t.desired && spec == nil && !targetDown {
			return
		}
		// A converge toward an NVA that went down since it started is
		// cancelled too: a write it has not sent yet (its read of the
		// resource may be slow) must not point traffic at a dead NVA.
		d.stopJob(t)
	}
	if targetDown {
		d.m.Hold(string(decide.ReasonTargetDown))
		if !t.targetLog {
			t.targetLog = true
			d.log.Warn("the desired NVA is down: converging nothing toward it", report.KeyEvent, report.EventFailoverHeld,
				report.KeyReason, string(decide.ReasonTargetDown), report.KeyNVA, t.desired)
		}
		return
	}
	t.targetLog = false
	backingOff := !t.retryAt.IsZero() && d.now().Before(t.retryAt)
	if spec == nil {
		if !d.needStamp(t) && t.converged {
			return
		}
		if backingOff {
			return // the retry timer calls again
		}
		spec = &jobSpec{reason: why, timeline: Timeline{Decision: d.now()}}
	} else if upkeep(spec.reason) && backingOff {
		// A repair found by a read waits out the backoff of the failures
		// before it, like a retry: only a new decision cuts it short.
		return
	}
	jctx, cancel := context.WithCancel(ctx)
	j := &convergeJob{jobSpec: *spec, target: t.desired, stamp: d.needStamp(t), cancel: cancel, done: make(chan convergeResult, 1)}
	t.job = j
	t.converged = false
	go func() {
		rep, err := d.eng.ConvergeWith(jctx, j.target, act.ConvergeOptions{Stamp: j.stamp})
		j.done <- convergeResult{report: rep, err: err}
	}()
}

// stopJob cancels the running converge, if any, and waits for it.
func (d *daemon) stopJob(t *term) {
	if t.job == nil {
		return
	}
	t.job.cancel()
	<-t.job.done
	t.job = nil
}

// needStamp says whether the next converge must also stamp this term's
// epoch on every resource (only with epochs, i.e. a blob lease).
func (d *daemon) needStamp(t *term) bool {
	return d.cfg.Lease.Kind == config.LeaseBlob && !t.stamped
}

// routine says a converge reason is upkeep, not a failover: one that finds
// Azure as it should be leaves no failover record.
func routine(reason string) bool {
	switch reason {
	case "takeover", "reconcile", "retry", "round":
		return true
	}
	return false
}

// upkeep says a converge was started by a read of Azure or a retry, not by
// a decision: it waits out the backoff, and its failures after the first
// of a run are not recorded again.
func upkeep(reason string) bool { return routine(reason) || reason == "split_repair" }

// finishJob takes the result of a converge: fencing, backoff, record.
func (d *daemon) finishJob(ctx context.Context, t *term, res convergeResult) {
	j := t.job
	t.job = nil
	j.cancel()
	if theirs, fenced := fencedEpoch(res.err); fenced {
		d.refence(ctx, t, theirs, res.err)
		if t.end == "" {
			d.ensure(ctx, t, "takeover") // with the raised epoch, stamping again
		}
		return
	}
	end := d.now()
	tl := j.timeline
	changed := false
	var slowest time.Duration
	if res.report != nil {
		for _, r := range res.report.Resources {
			tl.Resources = append(tl.Resources, ResourceTime{Kind: r.Kind, ID: r.ID, Changed: r.Changed,
				Attempts: r.Attempts, After: r.Duration.String(), Err: errString(r.Err)})
			changed = changed || r.Changed
			if r.Kind != act.KindNIC {
				slowest = max(slowest, r.Duration)
			}
		}
	}
	// Traffic has moved when the route tables and public IPs have; the
	// epoch stamps on NICs that follow are upkeep.
	tl.Completed = end
	if res.report != nil && res.err == nil {
		tl.Completed = res.report.Started.Add(slowest)
	}
	total := tl.Completed.Sub(tl.Decision)
	tl.Total = total.String()
	if !tl.FirstFailedProbe.IsZero() {
		tl.DetectionToDecision = tl.Decision.Sub(tl.FirstFailedProbe).String()
	}
	rec := &FailoverRecord{From: j.from, To: j.target, Reason: j.reason, RequestID: j.request, Timeline: tl}
	if res.err != nil {
		rec.Error = res.err.Error()
	}
	if res.err == nil {
		t.stamped = t.stamped || j.stamp
		t.converged, t.lastGood = true, true
		t.failures, t.retryAt = 0, time.Time{}
		if routine(j.reason) && !changed {
			d.log.Debug("every managed resource points at the desired NVA", report.KeyNVA, j.target, report.KeyReason, j.reason)
			return
		}
	}
	d.m.Failover(j.reason, res.err, total, end)
	if res.report != nil {
		for _, r := range res.report.Resources {
			if r.Changed && r.Err == nil && r.Kind != act.KindNIC {
				d.m.ResourceConverged(r.Kind, res.report.Started.Add(r.Duration).Sub(tl.Decision))
			}
		}
	}
	attrs := []any{report.KeyFrom, j.from, report.KeyTo, j.target, report.KeyReason, j.reason,
		report.KeyDuration, tl.Total, slog.Group("timeline",
			"first_failed_probe", fmtTime(tl.FirstFailedProbe), "decision", fmtTime(tl.Decision),
			"detection_to_decision", tl.DetectionToDecision, "resources", tl.Resources, "completed", fmtTime(tl.Completed))}
	if res.err != nil {
		// Back off: 2 s, 4 s, 8 s ... up to the reconcile interval, so a
		// permanent error (403, a public IP held by a foreign NIC) is not
		// hammered, and the state is written once per run of failures.
		t.failures++
		delay := min(2*time.Second<<min(t.failures-1, 16), max(d.cfg.ReconcileInterval.D(), 2*time.Second))
		t.retryAt = end.Add(delay)
		t.retry = time.NewTimer(delay)
		t.lastGood = false
		lvl := slog.LevelError
		if t.failures > 1 {
			lvl = slog.LevelWarn
		}
		d.log.Log(ctx, lvl, "failover did not converge every resource; retrying", append([]any{report.KeyEvent, report.EventFailoverFailed,
			report.KeyErr, res.err, "retry_in", delay.String(), "failures", t.failures}, attrs...)...)
		if t.failures > 1 && upkeep(j.reason) {
			return
		}
	} else {
		d.log.Info("failover completed", append([]any{report.KeyEvent, report.EventFailoverCompleted}, attrs...)...)
	}
	d.mu.Lock()
	d.status.LastFailover = rec
	d.mu.Unlock()
	d.recordResult(ctx, t, rec)
}

// reconcile takes a read of Azure while leading: drift is converged over,
// and a change made outside hanva is adopted only when it is safe to.
func (d *daemon) reconcile(ctx context.Context, t *term, o observation) {
	if !d.took(o) {
		// Nothing could be read. A leader cut off from ARM for long gives
		// the lease up, so that a monitor that can reach ARM may lead.
		if t.armDownSince.IsZero() {
			t.armDownSince = d.now()
		} else if cut := d.now().Sub(t.armDownSince); cut > 2*d.cfg.Lease.Duration.D() && d.cfg.Lease.Kind == config.LeaseBlob {
			d.log.Error("cannot read Azure at all for a while: giving the lease up so that another monitor may lead",
				report.KeyEvent, report.EventLeaderLost, report.KeyDuration, cut.String(), report.KeyErr, o.err)
			d.stopJob(t)
			d.leader.Resign()
			t.end = "resigned"
		}
		return
	}
	t.armDownSince = time.Time{}
	obs := d.obs
	if top := obs.MaxEpoch(); top > d.epoch.Load() {
		d.refence(ctx, t, top, fmt.Errorf("a managed resource carries epoch %d, ours is %d", top, d.epoch.Load()))
		if t.end == "" {
			d.ensure(ctx, t, "takeover")
		}
		return
	}
	if t.job != nil {
		return // a converge is running: look again next time
	}
	observed, split := obs.Active()
	reason := "reconcile"
	switch {
	case !split && observed == t.desired:
		t.splitSeen = 0
		t.lastGood = true
		return
	case !split && observed != "" && observed != t.desired:
		t.splitSeen = 0
		if why := d.adoptable(obs, observed); t.lastGood && why == "" {
			d.log.Warn("every managed resource now points at another NVA; adopting it", report.KeyEvent, report.EventActiveAdopted,
				report.KeyFrom, t.desired, report.KeyTo, observed)
			if _, err := d.setDesired(ctx, t, observed, nil); err != nil {
				d.log.Warn("cannot record the adopted NVA in the shared state", report.KeyEvent, report.EventStateWriteFailed, report.KeyErr, err)
				return
			}
			t.converged = true // on it already; ensure stamps the new epoch
			d.ensure(ctx, t, "reconcile")
			return
		} else if why != "" {
			d.log.Warn("every managed resource points at another NVA, but it is not adopted; converging back",
				report.KeyEvent, report.EventReconcile, report.KeyNVA, t.desired, "points_at", observed, report.KeyReason, why)
		}
	case split:
		t.splitSeen++
		if t.lastGood && t.splitSeen < 2 {
			return // maybe a change in flight: look again next time
		}
		reason = "split_repair"
		d.m.SplitRepair()
	}
	t.splitSeen = 0
	t.converged = false
	d.log.Warn("managed resources drifted from the desired NVA; converging", report.KeyEvent, report.EventReconcile,
		report.KeyNVA, t.desired, "resources", describeObserved(obs))
	t.next = &jobSpec{reason: reason, timeline: Timeline{Decision: d.now()}}
	d.ensure(ctx, t, reason)
}

// adoptable says why Azure pointing at y is not adopted ("" when it is):
// y must be up, and every resource must carry this leader's epoch or a
// higher one. A lower tag is the mark of a write an older leader made (a
// late PUT that landed after this leader took over and stamped): never
// adopted, converged over at once.
func (d *daemon) adoptable(obs *act.Observed, y string) string {
	if h := d.state.NVAs[y].Health; h != decide.Up {
		return fmt.Sprintf("%s is %s here, not up", y, h)
	}
	ours := d.epoch.Load()
	if ours == 0 || d.cfg.Lease.Kind != config.LeaseBlob {
		return "" // a lone monitor writes no epoch tags
	}
	for _, m := range obs.Managed() {
		if m.Err != nil || m.Idle || len(m.PointsAt) == 0 || m.Epoch >= ours {
			continue
		}
		switch m.Kind {
		case act.KindPublicIP, act.KindFloatingIP:
			return fmt.Sprintf("the nic holding %s %s carries epoch %d, below ours (%d): written by an older leader",
				kindLabel(m.Kind), lastSegment(m.ID), m.Epoch, ours)
		default:
			return fmt.Sprintf("%s %s carries epoch %d, below ours (%d): written by an older leader", kindLabel(m.Kind), lastSegment(m.ID), m.Epoch, ours)
		}
	}
	return ""
}

func lastSegment(id string) string {
	if i := strings.LastIndex(strings.TrimRight(id, "/"), "/"); i >= 0 {
		return id[i+1:]
	}
	return id
}

// kindLabel names a kind of managed resource in messages.
func kindLabel(kind string) string {
	switch kind {
	case act.KindRouteTable:
		return "route table"
	case act.KindPublicIP:
		return "public IP"
	case act.KindFloatingIP:
		return "floating IP"
	case act.KindBackendPool:
		return "backend pool"
	case act.KindDNSRecord:
		return "DNS record"
	}
	return kind
}
