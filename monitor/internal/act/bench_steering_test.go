package act

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"testing"
	"time"

	"github.com/hanva/hanva/testenv/armsim"
)

// BenchmarkSteering measures a failover from nva-1 to nva-2 with each way
// of steering traffic (docs/monitor.md#steering-modes), for 1, 10 and 50
// route tables behind the NVAs, against armsim with the same LRO latency
// (benchLatency) and status poll (benchPoll) as BenchmarkFailover:
//
//   - mode=routes: today's route rewriting, the N route tables and the
//     public IP managed (BenchmarkFailover's concurrent case);
//   - mode=floatingIp: the N tables point at a floating IP on the internal
//     role and are not managed; the floating ipconfig moves from nva-1's
//     NIC to nva-2's (two NIC writes, one after the other);
//   - mode=backendPool: the N tables point at an internal load balancer's
//     frontend and are not managed; nva-1's member of the IP-based pool is
//     replaced by nva-2's address (one write of the load balancer);
//   - mode=dnsRecord: an A record set holds nva-1's internal address and is
//     rewritten to nva-2's (one synchronous PUT, no LRO). DNS steers what
//     clients resolve, not routes: the N tables are seeded, unmanaged, for
//     the same topology.
//
// Outside mode=routes no public IP is managed, so each row shows the mode
// itself. Each line reports "converged-ms" (Converge's start, the decision,
// to the last of the mode's resources converged: the largest
// ResourceResult.Duration of its kinds), "writes" (armsim's write_accepted
// events of the failover that changed more than the epoch tag),
// "lro-latency-ms" and "poll-ms"; every iteration must change every one of
// the mode's resources (checked in Converge's report and in what armsim
// holds afterwards) and is reseeded with the timer stopped.
//
// armsim gives every write the same latency, so the bench counts
// sequential writes: routes and a backend pool about one L, a floating IP
// (remove, then add) and a public IP (detach, then attach) about two. On
// Azure a NIC write (an ipconfig or public IP move) has been reported to
// take far longer than a route table update: "more than 100 seconds" of
// disconnection moving an ipconfig (Azure/azure-cli#23446), "more than one
// minute" from an SDK (Azure/azure-sdk-for-python#26695), against a route
// update's single write (docs/monitor.md#steering-modes lists the sources).
//
//	go test -run '^$' -bench Steering -benchtime 3x ./monitor/internal/act/
func BenchmarkSteering(b *testing.B) {
	b.Logf("armsim LRO latency %s per write, status polled every %s, Retry-After 10 s (not waited for)", benchLatency, benchPoll)
	for _, mode := range steeringModes {
		for _, tables := range []int{1, 10, 50} {
			b.Run(fmt.Sprintf("mode=%s/tables=%d", mode.name, tables), func(b *testing.B) {
				e := newEnv(b, envOpts{
					sim:     armsim.Options{LROLatency: benchLatency, RetryAfter: 10},
					options: Options{PollInterval: benchPoll, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))},
					custom: func(t testing.TB, srv *armsim.Server) Topology {
						return mode.seed(t, srv, tables)
					},
				})
				var converged time.Duration
				writes := 0
				b.ResetTimer()
				for i := 0; b.Loop(); i++ {
					if i > 0 {
						b.StopTimer()
						mode.seed(b, e.srv, tables)
						waitRefill(b, e.eng)
						b.StartTimer()
					}
					mark := len(e.srv.Events(0))
					d, err := steeringFailover(context.Background(), e.eng, mode.kinds)
					if err != nil {
						b.Fatal(err)
					}
					b.StopTimer()
					mode.check(b, e.srv)
					writes += movingWrites(e.srv, mark)
					b.StartTimer()
					converged += d
				}
				b.ReportMetric(float64(converged)/float64(time.Millisecond)/float64(b.N), "converged-ms")
				b.ReportMetric(float64(writes)/float64(b.N), "writes")
				b.ReportMetric(float64(benchLatency.Milliseconds()), "lro-latency-ms")
				b.ReportMetric(float64(benchPoll.Milliseconds()), "poll-ms")
			})
		}
	}
}

// steeringMode is one row of BenchmarkSteering: how to seed armsim (and
// reseed it between iterations) for a number of route tables, which kinds
// of ResourceResult are the mode's, and how to tell from what armsim holds
// that traffic now goes to nva-2.
type steeringMode struct {
	name  string
	kinds []string
	seed  func(t testing.TB, srv *armsim.Server, tables int) Topology
	check func(t testing.TB, srv *armsim.Server)
}

// The addresses the unmanaged route tables point at.
const (
	benchFloating = floatInt     // the floating IP on the internal role
	benchFrontend = "10.0.1.100" // lb-nva's frontend (lbJSON)
	benchPool     = "nva-pool"
)

var steeringModes = []steeringMode{
	{
		name:  "routes",
		kinds: []string{KindRouteTable, KindPublicIP},
		seed: func(t testing.TB, srv *armsim.Server, tables int) Topology {
			seedTopology(t, srv, seedOpts{tables: tables, pipOn: nva1Ext.name})
			return topology(tables)
		},
		check: func(t testing.TB, srv *armsim.Server) {
			t.Helper()
			for i := 0; ; i++ {
				if _, ok := srv.Resource(rtID(i)); !ok {
					break
				}
				rt := resourceJSON(t, srv, rtID(i))
				if hop := path(t, rt, "properties", "routes", "name=default", "properties", "nextHopIpAddress"); hop != nva2Int.ip {
					t.Fatalf("rt-%d default route next hop %v after the failover, want %s", i, hop, nva2Int.ip)
				}
			}
			if got := path(t, resourceJSON(t, srv, nicID(nva2Ext.name)), "properties", "ipConfigurations", "name=ipconfig1", "properties", "publicIPAddress", "id"); got != pipID {
				t.Fatalf("nva2-ext public IP %v after the failover, want %s", got, pipID)
			}
		},
	},
	{
		name:  "floatingIp",
		kinds: []string{KindFloatingIP},
		seed: func(t testing.TB, srv *armsim.Server, tables int) Topology {
			seedTopology(t, srv, seedOpts{tables: tables, hop: func(int) string { return benchFloating }})
			addIPConfig(t, srv, nva1Int.name, secondary("vip-int", "internal", benchFloating, ""))
			topo := topology(0)
			topo.PublicIPs = nil
			topo.FloatingIPs = []FloatingIP{{IP: benchFloating, Via: "internal", Name: "vip-int"}}
			return topo
		},
		check: func(t testing.TB, srv *armsim.Server) {
			t.Helper()
			if got := ipconfigNames(t, srv, nva2Int.name); !slices.Contains(got, "vip-int") {
				t.Fatalf("nva2-int ipconfigs %v after the failover, want vip-int", got)
			}
			if got := ipconfigNames(t, srv, nva1Int.name); slices.Contains(got, "vip-int") {
				t.Fatalf("nva1-int ipconfigs %v after the failover, want vip-int gone", got)
			}
		},
	},
	{
		name:  "backendPool",
		kinds: []string{KindBackendPool},
		seed: func(t testing.TB, srv *armsim.Server, tables int) Topology {
			seedTopology(t, srv, seedOpts{tables: tables, hop: func(int) string { return benchFrontend }})
			seed(t, srv, lbID, lbJSON(`{"owner":"netops"}`, poolJSON(benchPool, "fw-a="+nva1Int.ip)))
			topo := topology(0)
			topo.PublicIPs = nil
			topo.BackendPools = []Managed{{ID: poolID(benchPool), Via: "internal"}}
			return topo
		},
		check: func(t testing.TB, srv *armsim.Server) {
			t.Helper()
			addr := path(t, resourceJSON(t, srv, lbID), "properties", "backendAddressPools", "name="+benchPool,
				"properties", "loadBalancerBackendAddresses", "name=fw-a", "properties", "ipAddress")
			if addr != nva2Int.ip {
				t.Fatalf("pool member fw-a %v after the failover, want %s", addr, nva2Int.ip)
			}
		},
	},
	{
		name:  "dnsRecord",
		kinds: []string{KindDNSRecord},
		seed: func(t testing.TB, srv *armsim.Server, tables int) Topology {
			seedTopology(t, srv, seedOpts{tables: tables})
			seed(t, srv, zoneID, `{"location":"global","properties":{}}`)
			seed(t, srv, proxyID, recordSetJSON("A", 10, map[string]string{"owner": "netops"}, nva1Int.ip))
			topo := topology(0)
			topo.PublicIPs = nil
			topo.DNSRecords = []Managed{{ID: proxyID, Via: "internal"}}
			return topo
		},
		check: func(t testing.TB, srv *armsim.Server) {
			t.Helper()
			if got := recordsOf(t, srv, proxyID); !slices.Equal(got, []string{nva2Int.ip}) {
				t.Fatalf("record set %v after the failover, want [%s]", got, nva2Int.ip)
			}
		},
	},
}

// steeringFailover runs Engine.Converge to nva-2 and returns the time from
// its start to the last resource of kinds converged. Every resource of
// kinds must have changed, and there must be one.
func steeringFailover(ctx context.Context, e *Engine, kinds []string) (time.Duration, error) {
	rep, err := e.Converge(ctx, "nva-2")
	if err != nil {
		return 0, err
	}
	var d time.Duration
	n := 0
	for _, r := range rep.Resources {
		if !slices.Contains(kinds, r.Kind) {
			continue
		}
		if r.Err != nil {
			return 0, fmt.Errorf("%s %s: %w", r.Kind, r.ID, r.Err)
		}
		if !r.Changed {
			return 0, fmt.Errorf("%s %s was not changed: the benchmark is not measuring a failover", r.Kind, r.ID)
		}
		d = max(d, r.Duration)
		n++
	}
	if n == 0 {
		return 0, fmt.Errorf("no %v in the report %+v: the benchmark is not measuring a failover", kinds, rep.Resources)
	}
	return d, nil
}

// movingWrites counts the writes armsim accepted after event mark that
// changed more than the epoch tag, as the e2e tests and the drill count
// them.
func movingWrites(srv *armsim.Server, mark int) int {
	n := 0
	for _, ev := range srv.Events(mark) {
		if ev.Kind == armsim.KindWriteAccepted && !ev.TagOnly(EpochTag) {
			n++
		}
	}
	return n
}
