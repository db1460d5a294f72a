package daemon_test

import (
	"strconv"
	"testing"
	"testing/synctest"
	"time"

	"github.com/hanva/hanva/monitor/internal/report"
)

func TestOneOfTwoMonitorsLeadsWithEpochOneAndStampsEveryResource(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := newWorld(t, spec{monitors: 2})
		defer w.close()
		w.start("monitor-1")
		w.start("monitor-2")

		leader, elected := w.leaderElected(30 * time.Second)
		if got := elected.int(report.KeyEpoch); got != 1 {
			t.Errorf("leader_elected epoch = %d, want 1: %s", got, elected)
		}
		if got := elected.str(report.KeyNVA); got != "nva-1" {
			t.Errorf("leader_elected nva = %q, want nva-1 (where Azure points): %s", got, elected)
		}
		want := strconv.FormatInt(elected.int(report.KeyEpoch), 10)
		w.waitFor(30*time.Second, "every route table and NVA NIC stamped with the leader's epoch", func() bool {
			for _, id := range w.managedTaggedIDs() {
				if w.epochTag(id) != want {
					return false
				}
			}
			return true
		})
		time.Sleep(30 * time.Second) // long enough for a second election to show

		leaders := 0
		for _, n := range w.names {
			es := w.mons[n].book.events(report.EventLeaderElected)
			leaders += len(es)
			if n != leader.name && len(es) > 0 {
				t.Errorf("%s also logged leader_elected: %s", n, es[0])
			}
		}
		if leaders != 1 {
			t.Errorf("leader_elected logged %d times, want once", leaders)
		}
		if lost := leader.book.events(report.EventLeaderLost); len(lost) > 0 {
			t.Errorf("the leader lost its term: %s", lost[0])
		}
		st := w.sharedState()
		if st.Epoch != 1 || st.Desired != "nva-1" || st.Leader != leader.name {
			t.Errorf("shared state = epoch %d desired %q leader %q, want epoch 1 desired nva-1 leader %s", st.Epoch, st.Desired, st.Leader, leader.name)
		}
		for _, id := range w.managedTaggedIDs() {
			if got := w.epochTag(id); got != want {
				t.Errorf("%s: hanva-epoch %q, want %q", id, got, want)
			}
		}
		if got := w.azureAt(); got != "nva-1" {
			t.Errorf("Azure points at %q, want nva-1 (unchanged)", got)
		}
	})
}
