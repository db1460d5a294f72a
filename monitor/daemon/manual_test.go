package daemon_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/hanva/hanva/monitor/daemon"
	"github.com/hanva/hanva/monitor/internal/lease"
	"github.com/hanva/hanva/monitor/internal/report"
)

func TestManualRequests(t *testing.T) {
	cases := []struct {
		name string
		// before, if set, runs before any monitor starts; after runs once
		// the leader has stamped Azure. Each returns the request's ID.
		before, after func(w *world, op *lease.Blob) string
		wantReason    string // manual_request's reason when refused; "" when carried out
		wantAzure     string
	}{
		{
			name: "a request to a healthy NVA is carried out",
			after: func(w *world, op *lease.Blob) string {
				return put(w, op, lease.Request{ID: "req-healthy", To: "nva-2", By: "operator", TTL: time.Minute})
			},
			wantAzure: "nva-2",
		},
		{
			name: "a request to a down NVA without force is refused",
			after: func(w *world, op *lease.Blob) string {
				w.setDown("nva-2", true)
				w.waitFor(30*time.Second, "the leader sees nva-2 down", func() bool {
					for _, n := range w.names {
						if len(w.mons[n].book.eventsWith(report.EventHealthChanged, report.KeyTo, "down")) > 0 {
							return true
						}
					}
					return false
				})
				return put(w, op, lease.Request{ID: "req-down", To: "nva-2", By: "operator", TTL: time.Minute})
			},
			wantReason: "nva-2 is down, not up; pass --force to fail over anyway",
			wantAzure:  "nva-1",
		},
		{
			name: "a request older than its TTL when a leader takes it is refused as expired",
			before: func(w *world, op *lease.Blob) string {
				id := put(w, op, lease.Request{ID: "req-old", To: "nva-2", By: "operator", TTL: 5 * time.Second})
				time.Sleep(10 * time.Second) // the CLI gives up; no monitor runs yet
				return id
			},
			wantReason: "expired",
			wantAzure:  "nva-1",
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				w := newWorld(t, spec{monitors: 2})
				defer w.close()
				op := w.blobFor("operator", nil)
				var id string
				if tc.before != nil {
					id = tc.before(w, op)
				}
				w.start("monitor-1")
				w.start("monitor-2")
				leader, _ := w.leaderElected(30 * time.Second)
				w.waitFor(30*time.Second, "the takeover stamp", func() bool { return w.epochTag(routeTableID(0)) == "1" })
				time.Sleep(3 * time.Second) // both NVAs probed
				if tc.after != nil {
					id = tc.after(w, op)
				}

				w.waitFor(30*time.Second, "manual_request for "+id, func() bool {
					return len(leader.book.eventsWith(report.EventManualRequest, report.KeyRequest, id)) > 0
				})
				if tc.wantReason == "" {
					w.waitFor(30*time.Second, "failover_completed for the request", func() bool {
						return len(leader.book.eventsWith(report.EventFailoverCompleted, report.KeyReason, "manual")) > 0
					})
				} else {
					time.Sleep(10 * time.Second) // time for a failover that must not come
				}
				reqs := leader.book.eventsWith(report.EventManualRequest, report.KeyRequest, id)
				if len(reqs) != 1 {
					t.Errorf("manual_request logged %d times for %s, want once", len(reqs), id)
				}
				if got := reqs[0].str(report.KeyReason); got != tc.wantReason {
					t.Errorf("manual_request reason %q, want %q: %s", got, tc.wantReason, reqs[0])
				}
				if got := w.azureAt(); got != tc.wantAzure {
					t.Errorf("Azure points at %q, want %s", got, tc.wantAzure)
				}
				done := leader.book.eventsWith(report.EventFailoverCompleted, report.KeyReason, "manual")
				if tc.wantReason != "" && len(done) > 0 {
					t.Errorf("a refused request was carried out: %s", done[0])
				}
				if tc.wantReason == "" && (len(done) != 1 || done[0].str(report.KeyTo) != "nva-2" || done[0].str(report.KeyFrom) != "nva-1") {
					t.Errorf("want one failover_completed (manual) from nva-1 to nva-2, got %v", done)
				}

				// The shared state records the outcome for the CLI.
				st := w.sharedState()
				var rec daemon.FailoverRecord
				if err := json.Unmarshal(st.LastFailover, &rec); err != nil {
					t.Fatalf("shared state's last failover: %v: %q", err, st.LastFailover)
				}
				if rec.RequestID != id || rec.Reason != "manual" || !strings.Contains(rec.Error, tc.wantReason) || (tc.wantReason == "") != (rec.Error == "") {
					t.Errorf("shared state's last failover = %+v, want request %s, reason manual, error %q", rec, id, tc.wantReason)
				}
				if st.Desired != tc.wantAzure {
					t.Errorf("shared state desired %q, want %s", st.Desired, tc.wantAzure)
				}
				if _, ok := w.store.Blob("hanva", leaderBlob+".request.json"); ok {
					t.Error("the request is still stored: it was not taken")
				}
			})
		})
	}
}

// put stores r as the operator's request and returns its ID.
func put(w *world, op *lease.Blob, r lease.Request) string {
	w.t.Helper()
	r.At = time.Now()
	if _, err := op.PutRequest(context.Background(), r); err != nil {
		w.t.Fatalf("put request: %v", err)
	}
	return r.ID
}

// TestAConvergeTowardAnNVAThatGoesDownIsCancelled: the leader converges
// toward the NVA an operator asked for, but ARM is slow to answer the read
// of one route table; the NVA goes down meanwhile. The converge must not go
// on and point that table at the dead NVA once the read returns (found by
// the simulation, S3, seed 1796541755113838732).
func TestAConvergeTowardAnNVAThatGoesDownIsCancelled(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := newWorld(t, spec{monitors: 2})
		defer w.close()
		op := w.blobFor("operator", nil)
		w.start("monitor-1")
		w.start("monitor-2")
		leader, _ := w.leaderElected(30 * time.Second)
		w.waitFor(30*time.Second, "the takeover stamp", func() bool { return w.epochTag(routeTableID(0)) == "1" })
		time.Sleep(3 * time.Second) // both NVAs probed

		w.setSlowGet(routeTableID(0), 20*time.Second)
		id := put(w, op, lease.Request{ID: "req-slow", To: "nva-2", By: "operator", TTL: time.Minute})
		w.waitFor(30*time.Second, "manual_request for "+id, func() bool {
			return len(leader.book.eventsWith(report.EventManualRequest, report.KeyRequest, id)) > 0
		})
		w.waitFor(30*time.Second, "rt-01 on nva-2", func() bool { return w.tableAt(routeTableID(1)) == "nva-2" })
		if got := w.tableAt(routeTableID(0)); got != "nva-1" {
			t.Fatalf("rt-00 on %q before its read returned", got)
		}
		w.setDown("nva-2", true)
		w.waitFor(30*time.Second, "the leader sees nva-2 down", func() bool {
			return len(leader.book.eventsWith(report.EventHealthChanged, report.KeyNVA, "nva-2")) > 0
		})
		time.Sleep(25 * time.Second) // well past the slow read
		if got := w.tableAt(routeTableID(0)); got == "nva-2" {
			t.Errorf("rt-00 was pointed at nva-2 after the leader saw nva-2 down")
		}
	})
}
