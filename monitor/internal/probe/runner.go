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

	dropped atomic.Uint64
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
	if ticks == nil {
		ticker := time.NewTicker(r.Interval)
		defer ticker.Stop()
		ticks = ticker.C
		first <- time.Now()
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
			round := once(roundCtx, r.Targets, r.Timeout, at)
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
	)
	for {
		var send chan<- Round
		if hasPending {
			send = out
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case at := <-first:
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
				r.dropped.Add(1) // nobody took it in time; the newer round replaces it
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
	if out == nil {
		errs = append(errs, errors.New("output channel is nil"))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("run probes: %w", err)
	}
	return nil
}
