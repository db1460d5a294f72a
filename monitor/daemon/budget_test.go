package daemon_test

import (
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/hanva/hanva/monitor/internal/report"
)

// With 500 route tables every monitor's periodic read of Azure would take
// most of the reads ARM allows (25 a second per monitor, 10,000 per 5
// minutes for both): each monitor lengthens its reconcile interval (here
// 5 s configured) to what keeps the two monitors' reads within half of
// Microsoft.Network's budget, about 60 s, says so at start, and reads that
// seldom, and the takeover's read of all 500 tables is complete.
func TestReconcileIntervalLengthenedForTheReadBudget(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := newWorld(t, spec{monitors: 2, tables: 500})
		defer w.close()
		w.start("monitor-1")
		w.start("monitor-2")
		w.leaderElected(2 * time.Minute)
		for _, name := range w.names {
			ev := w.mons[name].book.events(report.EventReconcileLengthened)
			if len(ev) != 1 {
				t.Fatalf("%s logged %d %s lines, want 1", name, len(ev), report.EventReconcileLengthened)
			}
			got, err := time.ParseDuration(ev[0].str("reconcile_interval"))
			// 505 reads (500 tables, 4 NICs, a public IP) by 2 monitors,
			// 5 minutes, half of 10,000 reads: 60.6 s.
			if err != nil || got < 60*time.Second || got > 61*time.Second || ev[0].str("configured") != "5s" {
				t.Errorf("%s: %s, want reconcile_interval 1m0.6s from configured 5s", name, ev[0])
			}
			if un := w.mons[name].book.events(report.EventUnreadable); len(un) != 0 {
				t.Errorf("%s could not read %d resources, first: %s", name, len(un), un[0])
			}
		}
		mark := time.Now()
		time.Sleep(5 * time.Minute)
		for _, name := range w.names {
			reads := 0
			for _, r := range w.arm.Requests() {
				if r.Method == "GET" && !r.Time.Before(mark) && strings.EqualFold(r.Path, routeTableID(0)) &&
					strings.HasPrefix(r.Client, name+" ") {
					reads++
				}
			}
			// One read per 60.6 s in 5 minutes: 4 or 5 (at 5 s, 60).
			if reads < 4 || reads > 5 {
				t.Errorf("%s read rt-00 %d times in 5 minutes, want 4 or 5 (once per 60.6 s)", name, reads)
			}
		}
	})
}
