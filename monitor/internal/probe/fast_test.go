package probe

import (
	"context"
	"testing"
	"testing/synctest"
	"time"
)

// okProber always answers at once.
type okProber struct{}

func (okProber) Probe(context.Context) error { return nil }

// TestRunnerProbesAtTheFastIntervalOnlyWhileInDoubt runs a Runner in
// virtual time: rounds come every Interval, every FastInterval as well
// while SetDoubt(true), and at the Interval again after SetDoubt(false).
func TestRunnerProbesAtTheFastIntervalOnlyWhileInDoubt(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := &Runner{Targets: []Target{{NVA: "nva-1", Prober: okProber{}}}, Interval: time.Second, Timeout: 500 * time.Millisecond,
			FastInterval: 150 * time.Millisecond}
		out := make(chan Round, 100)
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error, 1)
		go func() { done <- r.Run(ctx, out) }()
		count := func(d time.Duration) int {
			time.Sleep(d)
			synctest.Wait()
			n := 0
			for {
				select {
				case <-out:
					n++
				default:
					return n
				}
			}
		}
		// The first round at once, then one per second: 1 + 3 in 3.5 s.
		if n := count(3500 * time.Millisecond); n != 4 {
			t.Errorf("steady state: %d rounds in 3.5 s, want 4", n)
		}
		r.SetDoubt(true)
		// By 4.05 s: fast rounds at 3.65, 3.8 and 3.95 s and the regular
		// one at 4 s.
		if n := count(550 * time.Millisecond); n != 4 {
			t.Errorf("in doubt: %d rounds in 0.55 s, want 3 fast and 1 regular", n)
		}
		if got := r.FastRounds(); got != 3 {
			t.Errorf("FastRounds = %d, want 3", got)
		}
		if d := r.Dropped(); d != 0 {
			t.Errorf("Dropped = %d, want 0: the output had room for every round", d)
		}
		r.SetDoubt(false)
		r.SetDoubt(false) // idempotent
		if n := count(2 * time.Second); n != 2 {
			t.Errorf("doubt cleared: %d rounds in 2 s, want 2", n)
		}
		cancel()
		if err := <-done; err != context.Canceled {
			t.Errorf("Run = %v, want context.Canceled", err)
		}
	})
}

// TestRunnerWithoutFastIntervalIgnoresDoubt checks FastInterval 0 turns
// the extra rounds off.
func TestRunnerWithoutFastIntervalIgnoresDoubt(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := &Runner{Targets: []Target{{NVA: "nva-1", Prober: okProber{}}}, Interval: time.Second, Timeout: 500 * time.Millisecond}
		out := make(chan Round, 100)
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		go func() { _ = r.Run(ctx, out) }()
		r.SetDoubt(true)
		time.Sleep(2500 * time.Millisecond)
		synctest.Wait()
		if n := len(out); n != 3 {
			t.Errorf("%d rounds in 2.5 s with doubt and no fast interval, want 3", n)
		}
	})
}
