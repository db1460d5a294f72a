package act

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/network/armnetwork/v7"

	"github.com/hanva/hanva/testenv/armsim"
)

// BenchmarkFailover measures a failover from nva-1 to nva-2 against armsim
// with a fixed LRO latency (benchLatency, reported as "lro-latency-ms" on
// every line; Retry-After 10 s as Azure sends): the time from the start to
// all route tables converged ("routes-ms"), to the public IP moved
// ("pip-ms") and to both ("total-ms"), for 1, 10 and 50 route tables,
//
//   - concurrent: Engine.Converge (a goroutine per table, one for the public
//     IP's detach then attach);
//   - sequential: the order of mspnp/ha-nva (detach the public IP, attach
//     it, then one route table after another), with the same armnetwork
//     clients, the same If-Match writes and the same poll loop.
//
// Expected: concurrent routes in about one latency whatever the count and
// the public IP in about two; sequential grows with the count. Both poll
// every benchPoll, so the numbers show the ARM latency, not the poll period
// (the engine's default PollInterval is 500 ms).
//
//	go test -run '^$' -bench Failover -benchtime 3x ./monitor/internal/act/
func BenchmarkFailover(b *testing.B) {
	b.Logf("armsim LRO latency %s per write, status polled every %s, Retry-After 10 s (not waited for)", benchLatency, benchPoll)
	for _, tables := range []int{1, 10, 50} {
		for _, mode := range []struct {
			name string
			run  func(ctx context.Context, e *Engine, start time.Time) (routes, pip time.Duration, err error)
		}{
			{"concurrent", concurrentFailover},
			{"sequential", sequentialFailover},
		} {
			b.Run(fmt.Sprintf("%s/tables=%d", mode.name, tables), func(b *testing.B) {
				e := newEnv(b, envOpts{
					sim:     armsim.Options{LROLatency: benchLatency, RetryAfter: 10},
					seed:    seedOpts{tables: tables, pipOn: nva1Ext.name},
					options: Options{PollInterval: benchPoll, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))},
				})
				var routes, pip, total time.Duration
				b.ResetTimer()
				for i := 0; b.Loop(); i++ {
					if i > 0 {
						b.StopTimer()
						seedTopology(b, e.srv, seedOpts{tables: tables, pipOn: nva1Ext.name})
						waitRefill(b, e.eng)
						b.StartTimer()
					}
					r, p, err := mode.run(context.Background(), e.eng, time.Now())
					if err != nil {
						b.Fatal(err)
					}
					routes += r
					pip += p
					total += max(r, p)
				}
				b.ReportMetric(float64(routes.Milliseconds())/float64(b.N), "routes-ms")
				b.ReportMetric(float64(pip.Milliseconds())/float64(b.N), "pip-ms")
				b.ReportMetric(float64(total.Milliseconds())/float64(b.N), "total-ms")
				b.ReportMetric(float64(benchLatency.Milliseconds()), "lro-latency-ms")
				b.ReportMetric(float64(benchPoll.Milliseconds()), "poll-ms")
			})
		}
	}
}

const (
	// benchLatency is how long armsim keeps every accepted write
	// InProgress: the fixed LRO latency both orders are measured against.
	benchLatency = 200 * time.Millisecond
	// benchPoll is the LRO status poll period of both orders.
	benchPoll = 20 * time.Millisecond
)

func concurrentFailover(ctx context.Context, e *Engine, start time.Time) (routes, pip time.Duration, err error) {
	rep, err := e.Converge(ctx, "nva-2")
	if err != nil {
		return 0, 0, err
	}
	for _, r := range rep.Resources {
		if !r.Changed {
			return 0, 0, fmt.Errorf("%s was not changed: the benchmark is not measuring a failover", r.ID)
		}
		switch r.Kind {
		case KindRouteTable:
			routes = max(routes, r.Duration)
		case KindPublicIP:
			pip = r.Duration
		}
	}
	return routes, pip, nil
}

// sequentialFailover is the mspnp/ha-nva order: public IP first (detach,
// attach), then the route tables one by one.
func sequentialFailover(ctx context.Context, e *Engine, start time.Time) (routes, pip time.Duration, err error) {
	oldExt, _ := e.x.nic("nva-1", "external")
	newExt, _ := e.x.nic("nva-2", "external")
	pipRes := e.x.pips[0].res

	nic, err := e.getNIC(ctx, oldExt.res)
	if err != nil {
		return 0, 0, err
	}
	primaryIPConfig(&nic).Properties.PublicIPAddress = nil
	if _, err := e.putNIC(ctx, oldExt.res, nic); err != nil {
		return 0, 0, err
	}
	nic, err = e.getNIC(ctx, newExt.res)
	if err != nil {
		return 0, 0, err
	}
	id := pipRes.id
	primaryIPConfig(&nic).Properties.PublicIPAddress = &armnetwork.PublicIPAddress{ID: &id}
	if _, err := e.putNIC(ctx, newExt.res, nic); err != nil {
		return 0, 0, err
	}
	pip = time.Since(start)

	ips, err := e.roleIPs(ctx, e.newNICCache(ctx), "internal", "nva-2")
	if err != nil {
		return 0, 0, err
	}
	for _, m := range e.x.tables {
		rt, err := e.getRouteTable(ctx, m.res)
		if err != nil {
			return 0, 0, err
		}
		if ch, _ := routeChanges(&rt, ips); len(ch) == 0 {
			return 0, 0, fmt.Errorf("%s needs no change: the benchmark is not measuring a failover", m.res.name)
		}
		applyRouteChanges(&rt, ips)
		if _, err := e.putRouteTable(ctx, m.res, rt); err != nil {
			return 0, 0, err
		}
	}
	return time.Since(start), pip, nil
}

// waitRefill waits until every subscription's read and write buckets are
// back to 90 % of their burst: a failover comes after a quiet time, and one
// run's reads (its status polls above all) must not slow the next one
// (runs back to back left the 50-table runs waiting for read tokens: 1 s
// instead of a quarter).
func waitRefill(b *testing.B, e *Engine) {
	b.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		full := true
		e.subsMu.Lock()
		for _, s := range e.subs {
			for _, l := range s.limits {
				if l.level() < 0.9*l.burst {
					full = false
				}
			}
		}
		e.subsMu.Unlock()
		if full {
			return
		}
		if time.Now().After(deadline) {
			b.Fatal("the engine's buckets did not refill within a minute")
		}
		time.Sleep(100 * time.Millisecond)
	}
}
