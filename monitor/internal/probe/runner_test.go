package probe

import (
	"bytes"
	"context"
	"errors"
	"runtime"
	"runtime/pprof"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// receive waits for the next round or fails the test.
func receive(t *testing.T, out <-chan Round) Round {
	t.Helper()
	select {
	case r := <-out:
		return r
	case <-time.After(testTimeout):
		t.Fatalf("no round within %s", testTimeout)
		return Round{}
	}
}

// tick sends one tick, failing the test if the runner does not take it:
// a runner that blocks anywhere stops reading its ticks.
func tick(t *testing.T, ticks chan<- time.Time, at time.Time) {
	t.Helper()
	select {
	case ticks <- at:
	case <-time.After(testTimeout):
		t.Fatalf("runner did not take the tick at %v within %s: it is blocked", at, testTimeout)
	}
}

// runInBackground starts r.Run and returns a function that cancels it and
// returns Run's error.
func runInBackground(t *testing.T, r *Runner, out chan<- Round) (stop func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- r.Run(ctx, out) }()
	stopped := false
	stop = func() error {
		if stopped {
			return nil
		}
		stopped = true
		cancel()
		select {
		case err := <-errc:
			return err
		case <-time.After(testTimeout):
			t.Fatalf("Run did not return within %s of cancel", testTimeout)
			return nil
		}
	}
	t.Cleanup(func() { _ = stop() })
	return stop
}

func TestRunnerStartsARoundOnEveryTickWhileEarlierRoundsStillHang(t *testing.T) {
	started := make(chan int, 10)       // the gated probe of round n has started
	release := make([]chan struct{}, 4) // release[n] lets round n's gated probe return
	for i := range release {
		release[i] = make(chan struct{})
	}
	var calls atomic.Int32
	gated := probeFunc(func(ctx context.Context) error {
		n := int(calls.Add(1)) // rounds call it in turn: tick n+1 is sent after call n started
		started <- n
		select {
		case <-release[n]:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	})
	ticks := make(chan time.Time)
	r := &Runner{
		Targets: []Target{{NVA: "nva-1", Prober: healthy}, {NVA: "nva-2", Prober: gated}, {NVA: "nva-3", Prober: healthy}},
		Timeout: time.Hour, // never reached: the test releases every probe
		Ticks:   ticks,
	}
	out := make(chan Round)
	stop := runInBackground(t, r, out)

	base := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	for n := 1; n <= 3; n++ {
		tick(t, ticks, base.Add(time.Duration(n)*time.Second))
		select {
		case got := <-started:
			if got != n {
				t.Fatalf("probe call %d started, want %d", got, n)
			}
		case <-time.After(testTimeout):
			t.Fatalf("round %d did not start while round %d still hangs", n, n-1)
		}
	}
	select {
	case r := <-out:
		t.Fatalf("round %d delivered while all its probes should still hang", r.Seq)
	default:
	}

	for n := 1; n <= 3; n++ {
		close(release[n])
		r := receive(t, out)
		if r.Seq != uint64(n) {
			t.Fatalf("got round %d, want %d", r.Seq, n)
		}
		if want := base.Add(time.Duration(n) * time.Second); !r.Started.Equal(want) {
			t.Errorf("round %d started %v, want the tick %v", n, r.Started, want)
		}
		if got := strings.Join(nvas(r), ","); got != "nva-1,nva-2,nva-3" {
			t.Errorf("round %d results for %s, want nva-1,nva-2,nva-3", n, got)
		}
		for _, res := range r.Results {
			if !res.OK {
				t.Errorf("round %d: %+v, want OK", n, res)
			}
		}
	}
	if err := stop(); !errors.Is(err, context.Canceled) {
		t.Errorf("Run = %v, want context.Canceled", err)
	}
	if d := r.Dropped(); d != 0 {
		t.Errorf("Dropped() = %d, want 0", d)
	}
}

func TestRunnerKeepsTheIntervalWhileATargetHangs(t *testing.T) {
	tests := []struct {
		name              string
		interval, timeout time.Duration
		rounds            int
	}{
		{name: "with the timeout below the interval", interval: 100 * time.Millisecond, timeout: 50 * time.Millisecond, rounds: 5},
		// A round takes the whole timeout (1s); started one after the other,
		// 10 rounds would need 10s.
		{name: "with the timeout above the interval (misconfigured, but rounds still come)", interval: 50 * time.Millisecond, timeout: time.Second, rounds: 10},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := &Runner{
				Targets:  []Target{{NVA: "nva-1", Prober: healthy}, {NVA: "nva-2", Prober: hanging}, {NVA: "nva-3", Prober: healthy}},
				Interval: tt.interval,
				Timeout:  tt.timeout,
			}
			out := make(chan Round, 1)
			start := time.Now()
			stop := runInBackground(t, r, out)

			var last uint64
			for range tt.rounds {
				rd := receive(t, out)
				if rd.Seq <= last {
					t.Fatalf("round %d after round %d", rd.Seq, last)
				}
				last = rd.Seq
				if got := strings.Join(nvas(rd), ","); got != "nva-1,nva-2,nva-3" {
					t.Fatalf("round %d results for %s, want nva-1,nva-2,nva-3", rd.Seq, got)
				}
				ok1, hung, ok3 := rd.Results[0], rd.Results[1], rd.Results[2]
				if !ok1.OK || !ok3.OK {
					t.Errorf("round %d: healthy targets %+v %+v, want OK", rd.Seq, ok1, ok3)
				}
				if hung.OK || hung.Failure != Timeout || hung.Latency < tt.timeout {
					t.Errorf("round %d: hanging target %+v, want a timeout after at least %s", rd.Seq, hung, tt.timeout)
				}
			}
			took := time.Since(start)
			if limit := tt.timeout + time.Duration(tt.rounds)*tt.interval + slack; took > limit {
				t.Errorf("%d rounds took %s, want at most %s", tt.rounds, took, limit)
			}
			if err := stop(); !errors.Is(err, context.Canceled) {
				t.Errorf("Run = %v, want context.Canceled", err)
			}
		})
	}
}

func TestRunnerStartsTheFirstRoundAtOnce(t *testing.T) {
	r := &Runner{Targets: []Target{{NVA: "nva-1", Prober: healthy}}, Interval: time.Hour, Timeout: time.Second}
	out := make(chan Round)
	runInBackground(t, r, out)
	if rd := receive(t, out); rd.Seq != 1 || !rd.Results[0].OK {
		t.Errorf("first round = %+v, want round 1, OK", rd)
	}
}

func TestRunnerNeverBlocksOnAnOutputNobodyReads(t *testing.T) {
	ticks := make(chan time.Time)
	r := &Runner{Targets: []Target{{NVA: "nva-1", Prober: healthy}}, Timeout: time.Second, Ticks: ticks}
	out := make(chan Round) // unbuffered and not read until the end
	runInBackground(t, r, out)

	for n := 1; n <= 5; n++ {
		tick(t, ticks, time.Now())
	}
	deadline := time.Now().Add(testTimeout)
	for r.Dropped() < 4 {
		if time.Now().After(deadline) {
			t.Fatalf("Dropped() = %d after 5 rounds with nobody reading, want 4", r.Dropped())
		}
		time.Sleep(5 * time.Millisecond)
	}
	if rd := receive(t, out); rd.Seq != 5 {
		t.Errorf("the round kept for a late reader is %d, want the newest, 5", rd.Seq)
	}
	select {
	case rd := <-out:
		t.Errorf("round %d delivered after the newest one", rd.Seq)
	case <-time.After(50 * time.Millisecond):
	}
}

func TestRunnerStopsOnCancelWithoutLeakingGoroutines(t *testing.T) {
	addr := listening(t) // its accept loop is part of the baseline
	baseline := runtime.NumGoroutine()

	r := &Runner{
		Targets: []Target{
			{NVA: "nva-1", Prober: TCP{Address: addr}},
			{NVA: "nva-2", Prober: hanging},
			{NVA: "nva-3", Prober: HTTP{Address: closedPort(t)}},
		},
		Interval: 10 * time.Millisecond,
		Timeout:  time.Hour, // rounds are still in flight when Run is cancelled
	}
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- r.Run(ctx, make(chan Round)) }()
	time.Sleep(200 * time.Millisecond) // about 20 rounds in flight
	cancel()
	select {
	case err := <-errc:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("Run = %v, want context.Canceled", err)
		}
	case <-time.After(testTimeout):
		t.Fatalf("Run did not return within %s of cancel", testTimeout)
	}

	deadline := time.Now().Add(testTimeout)
	for runtime.NumGoroutine() > baseline {
		if time.Now().After(deadline) {
			var buf bytes.Buffer
			_ = pprof.Lookup("goroutine").WriteTo(&buf, 1)
			t.Fatalf("%d goroutines %s after Run returned, %d before it started:\n%s",
				runtime.NumGoroutine(), testTimeout, baseline, buf.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestRunnerRefusesAnUnusableConfiguration(t *testing.T) {
	targets := []Target{{NVA: "nva-1", Prober: healthy}}
	tests := []struct {
		name    string
		runner  *Runner
		out     chan Round
		wantErr string
	}{
		{"no targets", &Runner{Interval: time.Second, Timeout: time.Second}, make(chan Round), "no targets"},
		{"a target without a prober", &Runner{Targets: []Target{{NVA: "nva-1"}}, Interval: time.Second, Timeout: time.Second}, make(chan Round), `target 0 ("nva-1") has no prober`},
		{"a zero interval", &Runner{Targets: targets, Timeout: time.Second}, make(chan Round), "interval must be positive, got 0s"},
		{"a zero timeout", &Runner{Targets: targets, Interval: time.Second}, make(chan Round), "timeout must be positive, got 0s"},
		{"a nil output", &Runner{Targets: targets, Interval: time.Second, Timeout: time.Second}, nil, "output channel is nil"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out chan<- Round
			if tt.out != nil {
				out = tt.out
			}
			err := tt.runner.Run(context.Background(), out)
			if err == nil || !strings.HasPrefix(err.Error(), "run probes: ") || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("Run = %v, want an error containing %q", err, tt.wantErr)
			}
		})
	}
}
