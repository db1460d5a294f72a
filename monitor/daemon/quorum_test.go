package daemon_test

import (
	"context"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/hanva/hanva/monitor/config"
	"github.com/hanva/hanva/monitor/daemon"
	"github.com/hanva/hanva/monitor/internal/lease"
	"github.com/hanva/hanva/monitor/internal/report"
)

// countingLeader counts the daemon's reads of the other monitors' views.
type countingLeader struct {
	daemon.Leader
	views atomic.Int64
}

func (c *countingLeader) Views(ctx context.Context) ([]lease.View, error) {
	c.views.Add(1)
	return c.Leader.Views(ctx)
}

func TestWithQuorumMajorityTheLeaderAloneSeeingTheActiveDownHoldsAndASecondViewFailsOver(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		counters := map[string]*countingLeader{}
		w := newWorld(t, spec{monitors: 3, quorum: config.QuorumMajority, wrap: func(name string, b *lease.Blob) daemon.Leader {
			c := &countingLeader{Leader: b}
			counters[name] = c
			return c
		}})
		defer w.close()
		for _, n := range w.names {
			w.start(n)
		}
		leader, _ := w.leaderElected(30 * time.Second)
		time.Sleep(10 * time.Second) // every monitor has published a view of both NVAs up

		// Only the leader sees nva-1 down.
		w.setBlind(leader.name, "nva-1", true)
		w.waitFor(30*time.Second, "the leader holds for lack of quorum", func() bool {
			return len(leader.book.eventsWith(report.EventFailoverHeld, report.KeyReason, "no_quorum")) > 0
		})
		holdStart := time.Now()
		reads := counters[leader.name].views.Load()
		hold := 20 * time.Second
		time.Sleep(hold)
		rounds := int64(hold / w.tm.interval)
		n := counters[leader.name].views.Load() - reads
		t.Logf("the leader read the views %d times in %d probe rounds of holding", n, rounds)
		// A hold starts with one probe interval of rechecks at the fast
		// interval (the others confirm a failure in a few fast rounds),
		// then at most two reads per round.
		quick := int64((w.tm.interval + config.DefaultProbeFastInterval - 1) / config.DefaultProbeFastInterval)
		if n > 2*rounds+2+quick {
			t.Errorf("the leader read the views %d times in %d probe rounds, want at most about two per round after %d quick rechecks", n, rounds, quick)
		} else if n < rounds/2 {
			t.Errorf("the leader read the views %d times in %d probe rounds: it stopped looking at the quorum", n, rounds)
		}
		if es := leader.book.events(report.EventFailoverStarted); len(es) > 0 {
			t.Fatalf("failed over without a quorum: %s", es[0])
		}
		if got := w.azureAt(); got != "nva-1" {
			t.Fatalf("Azure points at %q without a quorum, want nva-1", got)
		}
		held := leader.book.eventsWith(report.EventFailoverHeld, report.KeyReason, "no_quorum")[0]
		if held.int("down_views") != 1 || held.int("fresh_views") != 3 {
			t.Errorf("no_quorum hold: want down_views 1 of fresh_views 3: %s", held)
		}
		for _, n := range w.names {
			if n != leader.name {
				if c := counters[n].views.Load(); c != 0 {
					t.Errorf("follower %s read the views %d times", n, c)
				}
			}
		}

		// A second monitor sees it down.
		var second *monitor
		for _, n := range w.names {
			if n != leader.name {
				second = w.mons[n]
				break
			}
		}
		w.setBlind(second.name, "nva-1", true)
		w.waitFor(30*time.Second, second.name+" sees nva-1 down", func() bool {
			return len(second.book.eventsWith(report.EventHealthChanged, report.KeyTo, "down")) > 0
		})
		sawDown := second.book.eventsWith(report.EventHealthChanged, report.KeyTo, "down")[0].Time
		w.waitFor(30*time.Second, "the leader fails over", func() bool {
			return len(leader.book.eventsWith(report.EventFailoverStarted, report.KeyTo, "nva-2")) > 0
		})
		started := leader.book.eventsWith(report.EventFailoverStarted, report.KeyTo, "nva-2")[0]
		if d := started.Time.Sub(sawDown); d > 2*w.tm.interval {
			t.Errorf("the leader failed over %s after the second monitor saw the NVA down, want within two probe intervals (%s)", d, 2*w.tm.interval)
		}
		t.Logf("held from %s; second view down at %s; failover at %s", holdStart.Format(time.TimeOnly),
			sawDown.Format(time.TimeOnly), started.Time.Format(time.TimeOnly))
		w.waitFor(30*time.Second, "Azure on nva-2", func() bool { return w.azureAt() == "nva-2" })
	})
}
