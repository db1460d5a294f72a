package daemon_test

import (
	"testing"
	"testing/synctest"
	"time"

	"github.com/hanva/hanva/monitor/internal/report"
	"github.com/hanva/hanva/testenv/armsim"
)

// Defect 5: a shared state that cannot be decoded made every new leader
// resign on reading it, and the cluster stayed leaderless for good. The
// leader rebuilds it from Azure and leads.
func TestAnUndecodableSharedStateIsRebuiltAndTheLeaderLeads(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := newWorld(t, spec{monitors: 2})
		defer w.close()
		w.store.Put("hanva", leaderBlob, []byte(`{"epoch": "seven", garbage`))
		w.start("monitor-1")
		w.start("monitor-2")

		m, elected := w.leaderElected(30 * time.Second)
		rebuilt := m.book.events(report.EventStateRebuilt)
		if len(rebuilt) == 0 {
			t.Errorf("the leader logged no shared_state_rebuilt")
		}
		if v, ok := elected.Attrs["state_rebuilt"]; !ok || !v.Bool() {
			t.Errorf("leader_elected does not say state_rebuilt=true: %s", elected)
		}
		if elected.int(report.KeyEpoch) != 1 || elected.str(report.KeyNVA) != "nva-1" || elected.str("desired_from") != "azure" {
			t.Errorf("leader_elected: want epoch 1, nva-1 from azure: %s", elected)
		}
		w.waitFor(30*time.Second, "the takeover stamp", func() bool { return w.epochTag(routeTableID(0)) == "1" })
		st := w.sharedState() // fails the test if it cannot be decoded
		if st.Epoch != 1 || st.Desired != "nva-1" || st.Leader != m.name {
			t.Errorf("rebuilt state: epoch %d desired %q leader %q, want 1 nva-1 %s", st.Epoch, st.Desired, st.Leader, m.name)
		}
		time.Sleep(30 * time.Second)
		for _, n := range w.names {
			if es := w.mons[n].book.events(report.EventLeaderLost); len(es) > 0 {
				t.Errorf("%s: %s", n, es[0])
			}
		}
	})
}

// Defect 5: a managed route table the monitor may not read (403) held the
// whole loop; the monitor must probe, campaign and lead with what it can
// read, say which resource it cannot read, and fail the others over.
func TestARouteTableAnswering403IsLeftOutAndTheRestFailsOver(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := newWorld(t, spec{monitors: 2})
		defer w.close()
		w.arm.InjectFault(armsim.Fault{PathContains: "/routeTables/rt-01", Status: 403, Code: "AuthorizationFailed", Count: -1})
		m := w.start("monitor-1")

		_, elected := w.leaderElected(30 * time.Second)
		if elected.int(report.KeyEpoch) != 1 || elected.str(report.KeyNVA) != "nva-1" {
			t.Errorf("leader_elected: want epoch 1 and nva-1: %s", elected)
		}
		unreadable := m.book.eventsWith(report.EventUnreadable, "resource", routeTableID(1))
		if len(unreadable) == 0 {
			t.Errorf("no resource_unreadable for %s", routeTableID(1))
		}
		for _, e := range m.book.events(report.EventUnreadable) {
			if e.str("resource") != routeTableID(1) {
				t.Errorf("resource_unreadable for a readable resource: %s", e)
			}
		}
		w.waitFor(30*time.Second, "both NVAs probed up", func() bool {
			return len(m.book.eventsWith(report.EventHealthChanged, report.KeyTo, "up")) == 2
		})

		w.setDown("nva-1", true)
		w.waitFor(time.Minute, "rt-00 and the public IP on nva-2", func() bool {
			return w.tableAt(routeTableID(0)) == "nva-2" && w.pipAt() == "nva-2"
		})
		if es := m.book.eventsWith(report.EventFailoverStarted, report.KeyTo, "nva-2"); len(es) != 1 || es[0].str(report.KeyReason) != "active_down" {
			t.Errorf("want one failover_started to nva-2 for active_down, got %v", es)
		}
		if got := w.tableAt(routeTableID(1)); got != "nva-1" {
			t.Errorf("the unreadable %s points at %q; it cannot have been written", routeTableID(1), got)
		}
		if st := w.sharedState(); st.Desired != "nva-2" || st.Epoch != 2 {
			t.Errorf("shared state: desired %q epoch %d, want nva-2 2", st.Desired, st.Epoch)
		}
	})
}
