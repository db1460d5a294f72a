package probe

import (
	"context"
	"fmt"
	"time"
)

// Prober checks one NVA once. The context carries the probe timeout; a
// Prober must return soon after ctx is done, or its goroutine outlives the
// round (Once and Runner do not wait for it).
type Prober interface {
	Probe(ctx context.Context) error
}

// Target is one NVA and how to probe it.
type Target struct {
	NVA    string
	Prober Prober
}

// Result is the outcome of one probe of one NVA.
type Result struct {
	NVA     string
	OK      bool
	Failure Failure // NoFailure when OK
	Err     error   // nil when OK
	Latency time.Duration
	At      time.Time // when the result was taken: the round's start plus Latency
}

// Round is one probe of every target.
type Round struct {
	Seq     uint64 // 1, 2, 3... per Runner; 0 from Once
	Started time.Time
	Results []Result // in Target order
}

// Once probes every target concurrently, each under a context that ends
// after timeout (timeout <= 0: only ctx bounds the round), and returns when
// every probe has returned or the timeout has passed. A probe that has not
// returned by then is reported as a Timeout failure (or Other, if ctx itself
// was cancelled) and left to finish in the background.
func Once(ctx context.Context, targets []Target, timeout time.Duration) Round {
	return once(ctx, targets, timeout, time.Now())
}

// once is Once with the round's start time given (the Runner passes the tick).
func once(ctx context.Context, targets []Target, timeout time.Duration, started time.Time) Round {
	begin := time.Now() // monotonic reference for latencies
	if timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	round := Round{Started: started, Results: make([]Result, len(targets))}

	type finished struct {
		i   int
		err error
		at  time.Duration // since begin
	}
	done := make(chan finished, len(targets)) // buffered: late probes never block
	for i, t := range targets {
		go func() {
			err := t.Prober.Probe(ctx)
			done <- finished{i: i, err: err, at: time.Since(begin)}
		}()
	}

	record := func(f finished) {
		round.Results[f.i] = Result{
			NVA:     targets[f.i].NVA,
			OK:      f.err == nil,
			Failure: Classify(f.err),
			Err:     f.err,
			Latency: f.at,
			At:      started.Add(f.at),
		}
	}
	got := make([]bool, len(targets))
	for range targets {
		select {
		case f := <-done:
			record(f)
			got[f.i] = true
		case <-ctx.Done():
			// Take what arrived in the meantime, then give up on the rest.
			for drained := false; !drained; {
				select {
				case f := <-done:
					record(f)
					got[f.i] = true
				default:
					drained = true
				}
			}
			elapsed := time.Since(begin)
			for i, ok := range got {
				if !ok {
					record(finished{i: i, at: elapsed, err: fmt.Errorf("probe %s: no result after %s: %w",
						targets[i].NVA, elapsed.Round(time.Millisecond), context.Cause(ctx))})
				}
			}
			return round
		}
	}
	return round
}
