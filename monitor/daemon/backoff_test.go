package daemon_test

import (
	"context"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/hanva/hanva/monitor/daemon"
	"github.com/hanva/hanva/monitor/internal/lease"
	"github.com/hanva/hanva/monitor/internal/report"
	"github.com/hanva/hanva/testenv/armsim"
)

// writeCountingLeader counts the daemon's writes of the shared state.
type writeCountingLeader struct {
	daemon.Leader
	writes atomic.Int64
}

func (c *writeCountingLeader) WriteState(ctx context.Context, s lease.State) error {
	c.writes.Add(1)
	return c.Leader.WriteState(ctx, s)
}

// permanentFailover runs a failover from nva-1 to nva-2 in which rt-01
// answers every PUT with 403 (the takeover stamp went through first), for
// watch; it returns the leader's failover_failed lines and how many times
// the shared state was written after the failover was recorded.
func permanentFailover(t *testing.T, watch time.Duration) (w *world, failed []entry, writes int64) {
	tm := defaultTiming
	tm.reconcile = 10 * time.Second
	var counter *writeCountingLeader
	w = newWorld(t, spec{monitors: 2, timing: &tm, wrap: func(_ string, b *lease.Blob) daemon.Leader {
		counter = &writeCountingLeader{Leader: b}
		return counter
	}})
	m := w.start("monitor-1")
	w.leaderElected(30 * time.Second)
	w.waitFor(30*time.Second, "the takeover stamp", func() bool { return w.epochTag(routeTableID(1)) == "1" })
	time.Sleep(3 * time.Second)

	w.arm.InjectFault(armsim.Fault{Method: "PUT", PathContains: "/routeTables/rt-01", Status: 403, Code: "AuthorizationFailed", Count: -1})
	w.setDown("nva-1", true)
	w.waitFor(30*time.Second, "failover_started", func() bool {
		return len(m.book.events(report.EventFailoverStarted)) > 0
	})
	before := counter.writes.Load()
	time.Sleep(watch)
	failed = m.book.events(report.EventFailoverFailed)
	var delays []string
	for _, e := range failed {
		delays = append(delays, e.str("retry_in")+" ("+e.str(report.KeyReason)+")")
	}
	t.Logf("failover_failed over %s: %v", watch, delays)
	return w, failed, counter.writes.Load() - before
}

// Defect 9: a permanent error (403 on a route table's PUT) was retried at
// once, over and over, and every failure rewrote the shared state. The
// converge backs off, 2 s, 4 s, ... up to the reconcile interval, and a
// retry records nothing.
func TestAPermanentErrorDuringAFailoverIsRetriedWithGrowingDelays(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		watch := 90 * time.Second
		w, failed, writes := permanentFailover(t, watch)
		defer w.close()

		want := []string{"2s", "4s", "8s", "10s", "10s"}
		if len(failed) < len(want) {
			t.Fatalf("%d failover_failed lines, want the retry_in values to start %v", len(failed), want)
		}
		for i, d := range want {
			if got := failed[i].str("retry_in"); got != d {
				t.Errorf("failure %d: retry_in %s, want %s (the delays start %v)", i+1, got, d, want)
			}
		}
		for _, e := range failed[len(want):] {
			if got := e.str("retry_in"); got != "10s" {
				t.Errorf("retry_in %s after the cap, want 10s (the reconcile interval): %s", got, e)
			}
		}
		// Far fewer attempts than one a second.
		if limit := int(watch/(10*time.Second))*2 + len(want); len(failed) > limit {
			t.Errorf("%d failed attempts in %s, want about one per reconcile interval once capped", len(failed), watch)
		}
		// The timer's retries record nothing: only the first failure, and
		// (see the skipped test below) reconcile's repairs, write the state.
		retries := 0
		for _, e := range failed {
			if e.str(report.KeyReason) == "retry" {
				retries++
			}
		}
		if retries == 0 {
			t.Error("no failover_failed with reason retry: the backoff timer never retried")
		}
		if int(writes) >= len(failed) {
			t.Errorf("the shared state was written %d times for %d failures: rewritten on every retry", writes, len(failed))
		}
		if w.tableAt(routeTableID(0)) != "nva-2" || w.pipAt() != "nva-2" {
			t.Errorf("rt-00 on %q and the public IP on %q, want both on nva-2: the rest of the failover goes on",
				w.tableAt(routeTableID(0)), w.pipAt())
		}
	})
}

// The backoff and the one state write per run of failures hold only for the
// retry timer: a reconcile that finds the resources split starts a
// split_repair converge at once, whatever the backoff says, and that
// reason is not routine, so every such failure rewrites the shared state.
func TestAReconcileDuringTheBackoffWaitsItOutAndRecordsNothing(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w, failed, writes := permanentFailover(t, 90*time.Second)
		defer w.close()
		for i := 1; i < len(failed); i++ {
			wait, _ := time.ParseDuration(failed[i-1].str("retry_in"))
			if gap := failed[i].Time.Sub(failed[i-1].Time); gap < wait {
				t.Errorf("failure %d (%s) came %s after failure %d, which said retry_in %s", i+1,
					failed[i].str(report.KeyReason), gap, i, wait)
			}
		}
		if writes > 1 {
			t.Errorf("the shared state was written %d times after the failover was recorded, want once (its first failure)", writes)
		}
	})
}
