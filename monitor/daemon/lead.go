package daemon

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/hanva/hanva/monitor/internal/act"
	"github.com/hanva/hanva/monitor/internal/decide"
	"github.com/hanva/hanva/monitor/internal/lease"
	"github.com/hanva/hanva/monitor/internal/report"
)

// lostEpochGap is how far a leader raises the epoch above every tag it saw
// when the shared state holds no epoch and Azure could not be read whole.
const lostEpochGap = 1 << 20

// term is one leadership of this monitor: what only the leader keeps.
type term struct {
	n       uint64 // the lease's term
	shared  lease.State
	desired string // the one place the desired NVA is recorded (and d.state.Active mirrors it)

	job       *convergeJob
	next      *jobSpec  // why the next converge runs, when a decision asks for one
	stamped   bool      // a converge with ConvergeOptions.Stamp succeeded this term
	converged bool      // the last converge left every resource on desired, and nothing read since says otherwise
	lastGood  bool      // the last converge left every readable resource on desired
	failures  int       // failed converges in a row (backoff)
	retryAt   time.Time // when a failed converge is tried again
	retry     *time.Timer
	splitSeen int // consecutive reads that found resources split
	targetLog bool

	pending   *decide.Action // a failover held for lack of quorum
	recheck   *time.Timer
	rechecked bool // the quorum was looked at again this probe round
	// quick counts the rechecks at probe.fastInterval of the current hold:
	// the other monitors confirm a failure in a few fast rounds and
	// publish at once, so the first probe interval of a hold is looked at
	// closely (quickRechecks), then once per round.
	quick int

	armDownSince time.Time // when reads of Azure began to fail entirely
	end          string    // why the term ended, once it has
}

// lead is the leader's loop for one term of the lease: take over, then
// decide, ensure and reconcile until the lease is lost, this monitor
// steps down, or ctx ends. Every write it started has stopped when it
// returns.
func (d *daemon) lead(ctx context.Context, n uint64) {
	t := &term{n: n}
	defer func() {
		d.stopJob(t)
		if t.retry != nil {
			t.retry.Stop()
		}
		if t.recheck != nil {
			t.recheck.Stop()
		}
		d.setLeading(false, d.epoch.Load())
		if t.end == "" {
			t.end = "lost"
		}
		if ctx.Err() == nil {
			d.m.LeadershipChange(t.end)
			d.log.Error("this monitor no longer leads: no ARM writes from here", report.KeyEvent, report.EventLeaderLost,
				report.KeyReason, t.end, report.KeyEpoch, d.epoch.Load())
		}
	}()
	if !d.takeover(ctx, t) {
		return
	}
	reconcile := time.NewTicker(d.reconcileEvery)
	defer reconcile.Stop()
	if d.obs != nil && t.desired != "" {
		// A failover the previous leader left half done, or resources an
		// operator split: repaired toward the desired NVA, and said so.
		if observed, split := d.obs.Active(); split || (observed != "" && observed != t.desired) {
			d.m.SplitRepair()
			d.log.Warn("resources do not all point at the desired NVA; converging them", report.KeyEvent, report.EventSplitRepair,
				report.KeyNVA, t.desired, "resources", describeObserved(d.obs))
			t.next = &jobSpec{reason: "split_repair", timeline: Timeline{Decision: d.now()}}
		}
	}
	d.ensure(ctx, t, "takeover")
	for t.end == "" {
		if d.leader.Term() != t.n {
			return
		}
		var jobDone chan convergeResult
		if t.job != nil {
			jobDone = t.job.done
		}
		select {
		case <-ctx.Done():
			return
		case <-d.leader.Leadership():
			// A hint; Term, read at the top, is the truth: a late "lost"
			// edge cannot end a term that is still held, and a term that
			// changed in between ends this one.
		case r := <-d.rounds:
			d.onRound(ctx, r, t)
		case <-timerC(t.recheck):
			t.recheck = nil
			d.recheckQuorum(ctx, t)
		case res := <-jobDone:
			d.finishJob(ctx, t, res)
		case <-timerC(t.retry):
			t.retry = nil
			d.ensure(ctx, t, "retry")
		case <-reconcile.C:
			d.startObserve(ctx)
		case o := <-d.observed:
			d.reconcile(ctx, t, o)
		case req := <-d.requests:
			d.onRequest(ctx, t, req)
		}
	}
}

func timerC(t *time.Timer) <-chan time.Time {
	if t == nil {
		return nil
	}
	return t.C
}

// takeover starts a term: read the shared state (rebuilt from Azure if it
// cannot be decoded), read Azure (what can be read), raise the epoch above
// everything seen, inherit the desired NVA and the anti-flap clock, and
// record the new epoch in the shared state before anything is written to
// Azure. Storage errors are retried for as long as the lease holds; it
// reports false when the term ended first.
func (d *daemon) takeover(ctx context.Context, t *term) bool {
	d.log.Info("this monitor holds the lease: taking over", report.KeyEvent, report.EventTakeover)
	for attempt := 0; ; attempt++ {
		if attempt > 0 && !d.waitInTerm(ctx, t, time.Second) {
			return false
		}
		sctx, cancel := context.WithTimeout(ctx, storageTimeout)
		st, err := d.leader.ReadState(sctx)
		cancel()
		rebuilt := false
		if errors.Is(err, lease.ErrUndecodable) {
			d.log.Error("the shared state cannot be decoded; rebuilding it from Azure", report.KeyEvent, report.EventStateRebuilt, report.KeyErr, err)
			st, err, rebuilt = lease.State{}, nil, true
		}
		if err != nil {
			d.log.Warn("cannot read the shared state after acquiring the lease; trying again", report.KeyEvent, report.EventStateWriteFailed, report.KeyErr, err)
			continue
		}
		// Azure, bounded and read now (an older read may predate the last
		// leader's writes): a leader that cannot read ARM leads with the
		// shared state and what it can read. The bound allows for the read
		// budget of hundreds of route tables (Engine.ReadTime); the lease
		// is renewed meanwhile, and nothing is written before this ends.
		d.cancelObserve()
		octx, cancel := context.WithTimeout(ctx, max(d.cfg.Lease.Duration.D()/2, d.eng.ReadTime())+time.Second)
		obs, oerr := d.eng.Observe(octx)
		cancel()
		var fresh *act.Observed
		if d.took(observation{obs: obs, err: oerr}) {
			fresh = obs
		}
		var tags int64
		observed, split := "", true
		if fresh != nil {
			tags = fresh.MaxEpoch()
			observed, split = fresh.Active()
		}
		desired, source := st.Desired, "shared state"
		if _, ok := d.cfg.NVA(desired); !ok {
			desired, source = observed, "azure"
		}
		if desired == "" {
			desired, source = d.state.Active, "probes"
		}
		epoch := max(st.Epoch, tags, d.epoch.Load()) + 1
		if epoch > act.MaxEpoch {
			// Only a hand-written state can get here (tags above MaxEpoch are
			// refused): start again from the tags.
			epoch = tags + 1
		}
		if st.Epoch == 0 && (fresh == nil || (oerr != nil && tags > 0)) {
			// No epoch in the state (lost, or a new cluster) and Azure not
			// read whole, with a history (tags) or nothing read at all: a
			// resource this leader cannot read may carry a higher epoch
			// than any it saw. (All tags read 0 means no leader ever
			// stamped: a new cluster.) Every leader records its epoch
			// in the state before it writes a tag, so with the state gone
			// only Azure knows; jump far above what was seen rather than
			// risk sharing an epoch with an older leader (2^53 leaves room
			// for billions of such jumps).
			epoch += lostEpochGap
			d.log.Warn("the shared state has no epoch and Azure could not be read whole: raising the epoch well above every tag seen",
				report.KeyEvent, report.EventStateRebuilt, report.KeyEpoch, epoch, "highest_tag_seen", tags, report.KeyErr, oerr)
		}
		// Anti-flap is the cluster's, not this monitor's: a failover the
		// previous leader made a moment ago still counts.
		d.inheritAntiFlap(st)
		if st.Epoch == 0 && tags > 0 && d.state.NVAs[desired].Health != decide.Down {
			// The state is gone (deleted, or rebuilt from garbage) but Azure
			// carries epochs: there was a history, and when its last
			// failover was is lost with the state. Assume it was now, so a
			// lost state never lets two failovers come closer than
			// minFailoverInterval: unless Azure points at an NVA this
			// monitor sees down, which anti-flap would only keep down.
			d.state.LastFailover = d.now()
		}
		next, err := d.writeState(ctx, lease.State{Epoch: epoch, Desired: desired, LastFailover: st.LastFailover})
		if err != nil {
			if errors.Is(err, lease.ErrNotLeader) {
				return false
			}
			d.log.Warn("cannot record leadership in the shared state; trying again", report.KeyEvent, report.EventStateWriteFailed, report.KeyErr, err)
			continue
		}
		t.shared = next
		d.epoch.Store(epoch)
		t.desired = desired
		d.state.Active = desired
		d.setActive(desired)
		d.setLeading(true, epoch)
		d.m.Epoch(epoch)
		d.m.LeadershipChange("acquired")
		d.log.Info("this monitor leads", report.KeyEvent, report.EventLeaderElected, report.KeyEpoch, epoch,
			report.KeyNVA, desired, "desired_from", source, "azure_points_at", observed, "split", split, "state_rebuilt", rebuilt,
			"anti_flap_until", fmtTime(d.antiFlapUntil()))
		return true
	}
}

// waitInTerm waits d, and reports whether this monitor still leads then.
func (d *daemon) waitInTerm(ctx context.Context, t *term, wait time.Duration) bool {
	timer := time.NewTimer(wait)
	defer timer.Stop()
	for {
		if d.leader.Term() != t.n {
			return false
		}
		select {
		case <-ctx.Done():
			return false
		case <-timer.C:
			return d.leader.Term() == t.n
		case <-d.leader.Leadership():
		case r := <-d.rounds:
			d.onRound(ctx, r, nil) // health goes on; no decisions before the takeover is done
		}
	}
}

func (d *daemon) antiFlapUntil() time.Time {
	if d.state.LastFailover.IsZero() {
		return time.Time{}
	}
	return d.state.LastFailover.Add(d.policy.MinFailoverInterval)
}

// writeState writes s as the shared state, with Leader, UpdatedAt and
// SinceFailover filled in, and returns what it wrote.
func (d *daemon) writeState(ctx context.Context, s lease.State) (lease.State, error) {
	s.Leader, s.UpdatedAt = d.cfg.Instance, d.wall().UTC()
	s.SinceFailover, s.Age = 0, 0
	if !d.state.LastFailover.IsZero() {
		s.SinceFailover = max(lease.MillisOf(d.now().Sub(d.state.LastFailover)), 1)
	}
	sctx, cancel := context.WithTimeout(ctx, storageTimeout)
	defer cancel()
	if err := d.leader.WriteState(sctx, s); err != nil {
		return lease.State{}, err
	}
	return s, nil
}

// setDesired is the one place the desired NVA changes while leading: it is
// recorded in the shared state with a raised epoch (and rec, the failover
// record, if any) before Azure is touched, so that whoever leads next
// finishes the job; then ensure converges Azure to it.
func (d *daemon) setDesired(ctx context.Context, t *term, to string, rec *FailoverRecord) (int64, error) {
	epoch := d.epoch.Load() + 1
	next := t.shared
	next.Epoch, next.Desired = epoch, to
	if rec != nil {
		b, err := json.Marshal(rec)
		if err != nil {
			return 0, err
		}
		next.LastFailover = b
	}
	next, err := d.writeState(ctx, next)
	if err != nil {
		return 0, err
	}
	t.shared = next
	d.epoch.Store(epoch)
	d.m.Epoch(epoch)
	d.setLeading(true, epoch)
	if t.desired != to {
		t.failures, t.retryAt = 0, time.Time{}
		t.lastGood = false
	}
	t.desired = to
	t.stamped = false // every resource gets the new epoch
	d.state.Active = to
	d.setActive(to)
	return epoch, nil
}

// recordResult stores a finished failover in the shared state.
func (d *daemon) recordResult(ctx context.Context, t *term, rec *FailoverRecord) {
	b, err := json.Marshal(rec)
	if err != nil {
		return
	}
	next := t.shared
	next.LastFailover = b
	next, err = d.writeState(ctx, next)
	if err != nil {
		d.log.Warn("cannot record the failover result in the shared state", report.KeyEvent, report.EventStateWriteFailed, report.KeyErr, err)
		return
	}
	t.shared = next
}

// refence handles a resource that carries a higher epoch than ours. The
// shared state, which only the lease holder can write, decides: if it holds
// a higher epoch, another monitor leads and this one steps down; if not,
// the tag comes from a history the state lost (it was rebuilt), and this
// leader records an epoch above it and goes on.
func (d *daemon) refence(ctx context.Context, t *term, theirs int64, cause error) {
	sctx, cancel := context.WithTimeout(ctx, storageTimeout)
	st, err := d.leader.ReadState(sctx)
	cancel()
	if err == nil && st.Epoch <= d.epoch.Load() {
		next := t.shared
		next.Epoch = max(theirs, st.Epoch, d.epoch.Load()) + 1
		if next.Epoch <= act.MaxEpoch {
			if written, werr := d.writeState(ctx, next); werr == nil {
				next = written
				d.log.Warn("a resource carries a higher epoch than the shared state's: raising ours above it",
					report.KeyEvent, report.EventFenced, report.KeyEpoch, next.Epoch, "resource_epoch", theirs, report.KeyErr, cause)
				t.shared = next
				d.epoch.Store(next.Epoch)
				d.m.Epoch(next.Epoch)
				d.setLeading(true, next.Epoch)
				t.stamped = false
				return
			}
		}
	}
	d.log.Error("a resource carries a higher epoch than ours: another monitor leads; stepping down",
		report.KeyEvent, report.EventFenced, report.KeyEpoch, d.epoch.Load(), "state_epoch", st.Epoch, report.KeyErr, cause)
	d.stopJob(t)
	d.leader.Resign()
	t.end = "resigned"
}

// fencedEpoch returns the epoch a fenced error names (0 if none).
func fencedEpoch(err error) (int64, bool) {
	if !errors.Is(err, act.ErrFenced) {
		return 0, false
	}
	var f interface{ Theirs() int64 }
	if errors.As(err, &f) {
		return f.Theirs(), true
	}
	return 0, true
}
