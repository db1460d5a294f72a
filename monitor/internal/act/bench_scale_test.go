package act

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/hanva/hanva/testenv/armsim"
)

// BenchmarkScale measures a failover of hundreds of route tables against
// armsim with Azure's documented throttling on (Throttling{Enabled: true}:
// per subscription and principal, reads 250 refilled 25/s and writes 200
// refilled 10/s; Microsoft.Network's 1,000 writes and 10,000 reads per 5
// minutes;
// https://learn.microsoft.com/azure/azure-resource-manager/management/request-limits-and-throttling)
// and every write InProgress for scaleLatency (L):
//
//   - tables=200/subs=1 and tables=500/subs=1: all tables in the NVAs'
//     subscription;
//   - tables=500/subs=10: 50 tables in each of ten other subscriptions
//     (route tables may name next hops in another subscription).
//
// Each run is a fresh armsim and engine (fresh buckets on both sides). The
// engine first Observes everything, as a leader does every reconcile
// interval, then waits scaleRefill, which is how long the read bucket takes
// to fill again (250 / 25 per s) and less than the 30 s reconcile interval
// minus an Observe; then Converge to nva-2 is timed with the engine's
// defaults (PollInterval 500 ms, Azure's limits).
//
// Reported: converged-s (the last route table converged), floor-s (L +
// max(0, N_fullest − 200)/10: the first 200 writes of a subscription go at
// once, the rest at 10 a second, the last one then takes L), ratio
// (converged over floor), over-floor-L ((converged − floor) / L),
// throttled-429s (armsim's throttled events during the converge), reads and
// writes (the engine's requests, Report.Reads/Writes), and mspnp-order-s:
// the order of mspnp/ha-nva, one table after another, COMPUTED as N × L,
// not run (it takes one write's latency per table; at 500 tables and 1 s
// that is over 8 minutes). The benchmark fails if any table did not move.
//
// L is 1 s: long enough against the 500 ms poll period and a loaded
// machine's scheduling noise that the ratio shows the write budget, not our
// overhead; short enough that 500 tables take about 31 s. Real route table
// writes take longer (docs/azure-behaviour.md#arm-lro), which only adds L.
//
//	go test -run '^$' -bench Scale -benchtime 1x ./monitor/internal/act/
func BenchmarkScale(b *testing.B) {
	for _, c := range []struct{ tables, subs int }{{200, 1}, {500, 1}, {500, 10}} {
		b.Run(fmt.Sprintf("tables=%d/subs=%d", c.tables, c.subs), func(b *testing.B) {
			var sum scaleRun
			runs := 0
			for b.Loop() {
				r := runScale(b, c.tables, c.subs)
				sum.converged += r.converged
				sum.reads += r.reads
				sum.writes += r.writes
				sum.throttled += r.throttled
				runs++
			}
			n := float64(runs)
			fullest := (c.tables + c.subs - 1) / c.subs
			floor := scaleLatency.Seconds() + float64(max(0, fullest-200))/10
			conv := sum.converged.Seconds() / n
			b.ReportMetric(conv, "converged-s")
			b.ReportMetric(floor, "floor-s")
			b.ReportMetric(conv/floor, "ratio")
			b.ReportMetric((conv-floor)/scaleLatency.Seconds(), "over-floor-L")
			b.ReportMetric(float64(sum.throttled)/n, "throttled-429s")
			b.ReportMetric(float64(sum.reads)/n, "reads")
			b.ReportMetric(float64(sum.writes)/n, "writes")
			b.ReportMetric(float64(c.tables)*scaleLatency.Seconds(), "mspnp-order-s")
			b.ReportMetric(scaleLatency.Seconds(), "lro-latency-s")
			b.ReportMetric(float64(c.subs), "subscriptions")
			b.ReportMetric(float64(c.tables), "route-tables")
		})
	}
}

const (
	scaleLatency = time.Second
	scaleRefill  = 10 * time.Second
)

type scaleRun struct {
	converged                time.Duration
	reads, writes, throttled int
}

// scaleSub is the i-th subscription of the spokes (1-based).
func scaleSub(i int) string { return fmt.Sprintf("00000000-0000-0000-0000-0000000001%02d", i) }

// scaleTopology seeds the NVAs and the public IP in testSub and tables
// route tables, in testSub when subs is 1, else spread evenly over subs
// other subscriptions.
func scaleTopology(tables, subs int) func(t testing.TB, srv *armsim.Server) Topology {
	return func(t testing.TB, srv *armsim.Server) Topology {
		seedTopology(t, srv, seedOpts{pipOn: nva1Ext.name})
		topo := topology(0)
		for i := range tables {
			id := rtID(i)
			if subs > 1 {
				id = fmt.Sprintf("/subscriptions/%s/resourceGroups/rg-spokes/providers/Microsoft.Network/routeTables/rt-%d", scaleSub(i%subs+1), i)
			}
			seed(t, srv, id, routeTableJSON(nva1Int.ip))
			topo.RouteTables = append(topo.RouteTables, Managed{ID: id, Via: "internal"})
		}
		return topo
	}
}

func runScale(b *testing.B, tables, subs int) scaleRun {
	b.Helper()
	e := newEnv(b, envOpts{
		sim: armsim.Options{LROLatency: scaleLatency, RetryAfter: 10, Throttling: armsim.Throttling{Enabled: true}},
		options: Options{PollInterval: DefaultPollInterval, OperationTimeout: DefaultOperationTimeout,
			Logger: slog.New(slog.NewTextHandler(io.Discard, nil))},
		custom: scaleTopology(tables, subs),
	})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	if _, err := e.eng.Observe(ctx); err != nil {
		b.Fatalf("observe: %v", err)
	}
	time.Sleep(scaleRefill)
	mark := len(e.srv.Events(0))
	rep, err := e.eng.Converge(ctx, "nva-2")
	if err != nil {
		b.Fatalf("converge: %v", err)
	}
	var r scaleRun
	moved := 0
	for _, res := range rep.Resources {
		if res.Kind != KindRouteTable {
			continue
		}
		if !res.Changed {
			b.Fatalf("%s did not move: the benchmark is not measuring a failover", res.ID)
		}
		moved++
		r.converged = max(r.converged, res.Duration)
	}
	if moved != tables {
		b.Fatalf("%d route tables moved, want %d", moved, tables)
	}
	for _, ev := range e.srv.Events(mark) {
		if ev.Kind == armsim.KindThrottled {
			r.throttled++
			b.Logf("429 %s %s by bucket %s at +%v", ev.Method, ev.ResourceID, ev.Bucket, ev.Time.Sub(rep.Started).Round(time.Millisecond))
		}
	}
	r.reads, r.writes = rep.Reads, rep.Writes
	return r
}
