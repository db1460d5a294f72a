package daemon_test

import (
	"encoding/json"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/hanva/hanva/monitor/internal/lease"
	"github.com/hanva/hanva/monitor/internal/report"
)

// Defect 1: a leader adopted a late write of an older leader (a route table
// PUT that landed after the takeover stamp) as a change made outside hanva,
// and so let a deposed leader move traffic. A write that carries a lower
// epoch than the leader's is converged over; one that carries the leader's
// epoch (a portal edit keeps the tags) is adopted.
func TestReconcileAdoptsOnlyChangesCarryingTheLeadersEpoch(t *testing.T) {
	cases := []struct {
		name string
		tag  string // hanva-epoch the outside write leaves; "" keeps the stamp
		// what the leader must do
		adopt       bool
		wantAzure   string
		wantDesired string
		wantEpoch   int64
	}{
		{name: "a late write of an older leader is converged back", tag: "4",
			wantAzure: "nva-1", wantDesired: "nva-1", wantEpoch: 5},
		{name: "a portal edit that keeps the leader's epoch is adopted", tag: "",
			adopt: true, wantAzure: "nva-2", wantDesired: "nva-2", wantEpoch: 6},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				tm := defaultTiming
				tm.reconcile = 2 * time.Second
				w := newWorld(t, spec{monitors: 2, timing: &tm})
				defer w.close()
				// The cluster had an older leader at epoch 4.
				old, _ := json.Marshal(lease.State{Leader: "monitor-2", Epoch: 4, Desired: "nva-1", UpdatedAt: time.Now()})
				w.store.Put("hanva", leaderBlob, old)
				m := w.start("monitor-1")

				_, elected := w.leaderElected(30 * time.Second)
				if got := elected.int(report.KeyEpoch); got != 5 {
					t.Fatalf("leader_elected epoch = %d, want 5 (above the state's 4): %s", got, elected)
				}
				w.waitFor(30*time.Second, "takeover stamp of epoch 5", func() bool {
					for _, id := range w.managedTaggedIDs() {
						if w.epochTag(id) != "5" {
							return false
						}
					}
					return true
				})
				time.Sleep(time.Second) // the takeover converge is done

				w.pointAt("nva-2", tc.tag)
				w.waitFor(30*time.Second, "Azure on "+tc.wantAzure+" and the state's desired "+tc.wantDesired, func() bool {
					time.Sleep(3 * tm.reconcile) // and settled there
					return w.azureAt() == tc.wantAzure && w.sharedState().Desired == tc.wantDesired
				})

				adopted := m.book.events(report.EventActiveAdopted)
				drift := m.book.events(report.EventReconcile)
				if tc.adopt {
					if len(adopted) != 1 || adopted[0].str(report.KeyFrom) != "nva-1" || adopted[0].str(report.KeyTo) != "nva-2" {
						t.Errorf("want one active_changed_externally from nva-1 to nva-2, got %v", adopted)
					}
					if len(drift) > 0 {
						t.Errorf("an adopted change was logged as drift: %s", drift[0])
					}
				} else {
					if len(adopted) > 0 {
						t.Errorf("a write carrying an older epoch was adopted: %s", adopted[0])
					}
					refused := false
					for _, e := range drift {
						if e.str("points_at") == "nva-2" && strings.Contains(e.str(report.KeyReason), "below ours") {
							refused = true
						}
					}
					if !refused {
						t.Errorf("no reconcile_drift saying the change carries an epoch below ours; drift lines: %v", drift)
					}
					for i := range w.tables {
						if got := w.epochTag(routeTableID(i)); got != "5" {
							t.Errorf("%s: hanva-epoch %q after the repair, want the leader's 5", routeTableID(i), got)
						}
					}
				}
				if st := w.sharedState(); st.Desired != tc.wantDesired || st.Epoch != tc.wantEpoch {
					t.Errorf("shared state: desired %q epoch %d, want %q %d", st.Desired, st.Epoch, tc.wantDesired, tc.wantEpoch)
				}
				if tc.adopt {
					w.waitFor(30*time.Second, "every resource stamped with the adoption's epoch 6", func() bool {
						for _, id := range w.managedTaggedIDs() {
							if w.epochTag(id) != "6" {
								return false
							}
						}
						return true
					})
				}
				if es := m.book.events(report.EventFailoverStarted); len(es) > 0 {
					t.Errorf("no NVA went down, yet: %s", es[0])
				}
			})
		})
	}
}
