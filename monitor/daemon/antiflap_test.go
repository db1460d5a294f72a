package daemon_test

import (
	"testing"
	"testing/synctest"
	"time"

	"github.com/hanva/hanva/monitor/internal/report"
)

// Defect 7: a new leader did not inherit the anti-flap clock and failed
// over again within the interval of the previous leader's failover. The
// interval is the cluster's, counted from the failover whoever made it.
func TestANewLeaderHoldsOffAFailoverWithinTheIntervalOfThePreviousLeaders(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := newWorld(t, spec{monitors: 2})
		defer w.close()
		interval := w.tm.antiFlap
		a := w.start("monitor-1")
		w.leaderElected(30 * time.Second)
		b := w.start("monitor-2")
		w.waitFor(30*time.Second, "both monitors see both NVAs up", func() bool {
			return len(a.book.eventsWith(report.EventHealthChanged, report.KeyTo, "up")) == 2 &&
				len(b.book.eventsWith(report.EventHealthChanged, report.KeyTo, "up")) == 2
		})

		// A fails over from nva-1, which then comes back.
		w.setDown("nva-1", true)
		w.waitFor(30*time.Second, "A's failover to nva-2", func() bool {
			return len(a.book.eventsWith(report.EventFailoverCompleted, report.KeyTo, "nva-2")) > 0
		})
		failedOver := a.book.eventsWith(report.EventFailoverStarted, report.KeyTo, "nva-2")[0].Time
		w.setDown("nva-1", false)
		w.waitFor(30*time.Second, "B sees nva-1 up again", func() bool {
			ups := b.book.eventsWith(report.EventHealthChanged, report.KeyNVA, "nva-1")
			return len(ups) > 0 && ups[len(ups)-1].str(report.KeyTo) == "up"
		})

		// A stops cleanly and lets the lease go: B leads at once.
		stopped := time.Now()
		w.stop("monitor-1")
		if es := a.book.events("lease_released"); len(es) == 0 {
			t.Errorf("A stopped without releasing the lease")
		}
		w.waitFor(5*time.Second, "B leads within a few seconds of A's release", func() bool {
			return len(b.book.events(report.EventLeaderElected)) > 0
		})
		bElected := b.book.events(report.EventLeaderElected)[0]
		if d := bElected.Time.Sub(stopped); d > 3*time.Second {
			t.Errorf("B led %s after A released the lease, want at once (a retry period)", d)
		}
		if bElected.str(report.KeyNVA) != "nva-2" {
			t.Errorf("B's desired NVA: %s, want nva-2 from the shared state", bElected)
		}

		// The active nva-2 goes down within the interval of A's failover.
		w.setDown("nva-2", true)
		w.waitFor(2*interval, "B's failover back to nva-1", func() bool {
			return len(b.book.eventsWith(report.EventFailoverStarted, report.KeyTo, "nva-1")) > 0
		})
		held := b.book.eventsWith(report.EventFailoverHeld, report.KeyReason, "anti_flap")
		if len(held) == 0 {
			t.Errorf("B logged no failover_held with reason anti_flap")
		}
		started := b.book.eventsWith(report.EventFailoverStarted, report.KeyTo, "nva-1")[0]
		t.Logf("A failed over at %s, B held %d time(s) and failed over at %s", failedOver.Format(time.TimeOnly), len(held), started.Time.Format(time.TimeOnly))
		// Storage's clock has whole-second resolution: the inherited
		// failover time is right to within a second.
		if since := started.Time.Sub(failedOver); since < interval-time.Second || since > interval+3*w.tm.interval {
			t.Errorf("B failed over %s after A's failover, want %s (minFailoverInterval) to about a probe round later", since, interval)
		}
		for _, e := range held {
			if e.Time.Sub(failedOver) >= interval {
				t.Errorf("anti_flap hold after the interval had passed: %s", e)
			}
		}
		w.waitFor(30*time.Second, "Azure on nva-1", func() bool { return w.azureAt() == "nva-1" })
	})
}
