package probe

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// Runner probes its targets in rounds, one round per Interval.
//
// A round starts on every tick whether or not earlier rounds have finished,
// so a slow or hanging probe never delays the next round. (Keep Timeout at
// most Interval so that rounds finish in order; Runner copes if not.) Run
// never blocks on its output: if a finished round cannot be delivered before
// a newer one finishes, the older one is dropped, and so is a round that
// finishes after a newer one was delivered. Dropped counts both.
type Runner struct {
	Targets  []Target
	Interval time.Duration // between round starts; the first round starts at once
	Timeout  time.Duration // of every probe; must be positive

	// Ticks, if not nil, replaces the Interval ticker (tests): one round
	// starts per value received, with that value as Round.Started, and no
	// round starts at once. A closed Ticks starts no more rounds.
	Ticks <-chan time.Time

	// FastInterval, when positive, is the pace of extra rounds while the
	// state of some NVA is in doubt (SetDoubt): a probe failed but not
	// enough in a row to call the NVA down. The next rounds then confirm or
	// clear the failure within a few FastIntervals instead of a few
	// Intervals, like HAProxy's fastinter
	// (https://docs.haproxy.org/2.8/configuration.html#5.2-fastinter).
	// Rounds at the regular Interval go on meanwhile. A round some probe of
	// which has not answered after SuspectAfter (one FastInterval) also
	// counts as doubt until it ends: a silent NVA is confirmed by probes
	// that time out a few FastIntervals after the first, not Intervals.
	// Zero: no extra rounds.
	FastInterval time.Duration

	dropped atomic.Uint64
	fast    atomic.Uint64 // rounds started by the fast ticker
	doubt   atomic.Bool
	suspect atomic.Int64 // rounds running longer than SuspectAfter
	wakeMu  sync.Mutex
	wakeCh  chan struct{}
}

// SetDoubt turns the extra rounds at FastInterval on (some NVA's state is
// in doubt) or off. Safe to call from any goroutine, before or during Run.
func (r *Runner) SetDoubt(on bool) {
	if r.doubt.Swap(on) == on {
		return
	}
	r.poke()
}

// SuspectAfter is how long a round may run before it counts as doubt:
// one FastInterval.
func (r *Runner) SuspectAfter() time.Duration { return r.FastInterval }

// poke asks Run to look at the doubt again.
func (r *Runner) poke() {
	select {
	case r.wake() <- struct{}{}:
	default: // a wake-up is already pending; Run reads the state then
	}
}

// watch marks a round as suspect while it runs past SuspectAfter; the
// returned function ends the watch when the round has finished.
func (r *Runner) watch() (done func()) {
	if r.FastInterval <= 0 {
		return func() {}
	}
	var mu sync.Mutex
	finished, suspected := false, false
	t := time.AfterFunc(r.SuspectAfter(), func() {
		mu.Lock()
		defer mu.Unlock()
		if finished {
			return
		}
		suspected = true
		r.suspect.Add(1)
		r.poke()
	})
	return func() {
		t.Stop()
		mu.Lock()
		defer mu.Unlock()
		finished = true
		if suspected {
			r.suspect.Add(-1)
			r.poke()
		}
	}
}

// FastRounds returns how many rounds the fast ticker started.
func (r *Runner) FastRounds() uint64 { return r.fast.Load() }

func (r *Runner) wake() chan struct{} {
	r.wakeMu.Lock()
	defer r.wakeMu.Unlock()
	if r.wakeCh == nil {
		r.wakeCh = make(chan struct{}, 1)
	}
	return r.wakeCh
}

// Dropped returns how many finished rounds Run did not deliver.
func (r *Runner) Dropped() uint64 {
	return r.dropped.Load()
}

// Run probes until ctx is done, sends every round it does not drop to out,
// and returns ctx.Err(). Before it returns, every round it started has
// returned (Probers that ignore their context aside; see Prober). It returns
// an error at once if the Runner is not usable.
func (r *Runner) Run(ctx context.Context, out chan<- Round) error {
	if err := r.check(out); err != nil {
		return err
	}
	ticks := r.Ticks
	first := make(chan time.Time, 1)
	var align <-chan time.Time // the first regular tick, on the wall clock's grid
	var regular *time.Ticker
	defer func() {
		if regular != nil {
			regular.Stop()
		}
	}()
	if ticks == nil {
		// The first round at once; the regular ones on the multiples of
		// Interval of the wall clock, so that monitors whose clocks agree
		// (NTP) probe in step and see a failure at the same moment: a
		// quorum then waits for nobody's phase.
		first <- time.Now()
		next := time.Now().Truncate(r.Interval).Add(r.Interval)
		t := time.NewTimer(time.Until(next))
		defer t.Stop()
		align = t.C
	}

	roundCtx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	defer wg.Wait() // runs after cancel (defers run last-in, first-out)
	defer cancel()

	finished := make(chan Round)
	var seq uint64
	start := func(at time.Time) {
		seq++
		n := seq
		wg.Go(func() {
			done := r.watch()
			round := once(roundCtx, r.Targets, r.Timeout, at)
			done()
			round.Seq = n
			select {
			case finished <- round:
			case <-roundCtx.Done():
			}
		})
	}

	var (
		pending    Round // finished, not yet delivered
		hasPending bool
		delivered  uint64 // Seq of the last round sent to out
		fast       *time.Ticker
		fastTicks  <-chan time.Time
	)
	// pace starts or stops the extra rounds to match the doubt. A round
	// that has not answered for SuspectAfter starts one at once: its own
	// timeout is the earliest failure, and the confirming rounds must not
	// wait for it to start.
	pace := func() {
		want := r.FastInterval > 0 && (r.doubt.Load() || r.suspect.Load() > 0)
		switch {
		case want && fast == nil:
			if !r.doubt.Load() {
				r.fast.Add(1)
				start(time.Now())
			}
			fast = time.NewTicker(r.FastInterval)
			fastTicks = fast.C
		case !want && fast != nil:
			fast.Stop()
			fast, fastTicks = nil, nil
		}
	}
	defer func() {
		if fast != nil {
			fast.Stop()
		}
	}()
	pace()
	wake := r.wake()
	for {
		var send chan<- Round
		if hasPending {
			send = out
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-wake:
			pace()
		case at := <-fastTicks:
			r.fast.Add(1)
			start(at)
		case at := <-first:
			start(at)
		case at := <-align:
			align = nil
			regular = time.NewTicker(r.Interval)
			ticks = regular.C
			start(at)
		case at, ok := <-ticks:
			if !ok {
				ticks = nil
				continue
			}
			start(at)
		case round := <-finished:
			if round.Seq <= delivered || (hasPending && round.Seq < pending.Seq) {
				r.dropped.Add(1) // stale: something newer is out or waiting
				continue
			}
			if hasPending {
				select {
				case out <- pending: // room after all: deliver it before taking the newer one
					delivered = pending.Seq
				default:
					r.dropped.Add(1) // nobody took it in time; the newer round replaces it
				}
			}
			pending, hasPending = round, true
		case send <- pending:
			delivered = pending.Seq
			pending, hasPending = Round{}, false
		}
	}
}

func (r *Runner) check(out chan<- Round) error {
	var errs []error
	if len(r.Targets) == 0 {
		errs = append(errs, errors.New("no targets"))
	}
	for i, t := range r.Targets {
		if t.Prober == nil {
			errs = append(errs, fmt.Errorf("target %d (%q) has no prober", i, t.NVA))
		}
	}
	if r.Ticks == nil && r.Interval <= 0 {
		errs = append(errs, fmt.Errorf("interval must be positive, got %s", r.Interval))
	}
	if r.Timeout <= 0 {
		errs = append(errs, fmt.Errorf("timeout must be positive, got %s", r.Timeout))
	}
	if r.FastInterval < 0 {
		errs = append(errs, fmt.Errorf("fast interval must not be negative, got %s", r.FastInterval))
	}
	if out == nil {
		errs = append(errs, errors.New("output channel is nil"))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("run probes: %w", err)
	}
	return nil
}
