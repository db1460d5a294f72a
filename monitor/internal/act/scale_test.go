package act

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hanva/hanva/testenv/armsim"
)

// Azure's throttling in armsim, scaled down so hundreds of tables converge
// in a second or two: the engine's limiters get the same numbers as the
// emulator's buckets, as they get Azure's by default.
var (
	smallWrites = Limit{Burst: 40, PerSecond: 150}
	smallReads  = Limit{Burst: 80, PerSecond: 400}
)

func scaledDown() armsim.Throttling {
	return armsim.Throttling{Enabled: true,
		Writes: armsim.Limit{Burst: smallWrites.Burst, PerSecond: smallWrites.PerSecond},
		Reads:  armsim.Limit{Burst: smallReads.Burst, PerSecond: smallReads.PerSecond}}
}

func throttledEvents(srv *armsim.Server, since int) []armsim.Event {
	var out []armsim.Event
	for _, ev := range srv.Events(since) {
		if ev.Kind == armsim.KindThrottled {
			out = append(out, ev)
		}
	}
	return out
}

func TestThreeHundredTablesConvergeWithinTheBudgetWithoutA429Storm(t *testing.T) {
	const tables = 300
	e := newEnv(t, envOpts{
		sim:     armsim.Options{LROLatency: 20 * time.Millisecond, RetryAfter: -1, Throttling: scaledDown()},
		seed:    seedOpts{tables: tables, pipOn: nva1Ext.name},
		options: Options{WriteLimit: smallWrites, ReadLimit: smallReads},
	})
	rep, err := e.eng.Converge(testCtx(t), "nva-2")
	if err != nil {
		t.Fatalf("Converge: %v", err)
	}
	wantOnNVA2(t, e, tables)
	for _, r := range rep.Resources {
		if !r.Changed {
			t.Errorf("%s not changed", r.ID)
		}
	}
	// No storm (without the limiter, 260 of the first 300 writes would be
	// refused): at these rates (a token every 7 ms) the requests' time on
	// the wire, longer under -race than the limiter's reserve, can let the
	// server's bucket run dry before ours; then the requests already on
	// their way meet a 429 too, and everything waits for the Retry-After.
	// A few, never a run of them.
	if ev := throttledEvents(e.srv, 0); len(ev) > 15 || rep.Throttled > 15 {
		t.Errorf("%d throttled events (%d 429s seen by the engine), want at most 15", len(ev), rep.Throttled)
	}
	// Reads: one GET per table, and about one status poll per write once
	// the scout has learned the latency; never anywhere near a poll per
	// PollInterval per operation.
	if max := tables * 3; rep.Reads > max {
		t.Errorf("%d reads for %d tables, want at most %d", rep.Reads, tables, max)
	}
	if rep.Writes < tables+2 {
		t.Errorf("Report.Writes = %d, want at least %d (tables and two NIC writes)", rep.Writes, tables+2)
	}
}

// Sub B's tables must not wait for sub A's Retry-After: ARM throttles per
// subscription.
func TestAThrottledSubscriptionDoesNotDelayAnother(t *testing.T) {
	subA, subB := scaleSub(1), scaleSub(2)
	idIn := func(sub string, i int) string {
		return fmt.Sprintf("/subscriptions/%s/resourceGroups/rg/providers/Microsoft.Network/routeTables/rt-%d", sub, i)
	}
	e := newEnv(t, envOpts{
		sim: armsim.Options{LROLatency: 20 * time.Millisecond, RetryAfter: -1, Throttling: scaledDown()},
		custom: func(t testing.TB, srv *armsim.Server) Topology {
			seedTopology(t, srv, seedOpts{pipOn: nva2Ext.name})
			topo := topology(0)
			for i := range 10 {
				for _, sub := range []string{subA, subB} {
					seed(t, srv, idIn(sub, i), routeTableJSON(nva1Int.ip))
					topo.RouteTables = append(topo.RouteTables, Managed{ID: idIn(sub, i), Via: "internal"})
				}
			}
			return topo
		},
		options: Options{WriteLimit: smallWrites, ReadLimit: smallReads},
	})
	const hold = 3 * time.Second
	e.srv.InjectFault(armsim.Fault{Method: "PUT", PathContains: "/subscriptions/" + subA + "/", Status: 429,
		Code: "SubscriptionRequestsThrottled", RetryAfter: hold, Count: 1})
	if _, err := e.eng.Converge(testCtx(t), "nva-2"); err != nil {
		t.Fatalf("Converge: %v", err)
	}
	var throttledAt time.Time
	var lastB time.Time
	for _, r := range e.srv.Requests() {
		switch {
		case r.Status == 429 && throttledAt.IsZero():
			throttledAt = r.Time
		case r.Method == "PUT" && strings.Contains(r.Path, subB):
			lastB = r.Time
		}
	}
	if throttledAt.IsZero() {
		t.Fatal("sub A was never throttled: the test proves nothing")
	}
	if lastB.Sub(throttledAt) >= hold {
		t.Errorf("sub B's last write came %v after sub A's 429: it waited for A's Retry-After %v", lastB.Sub(throttledAt), hold)
	}
	var aAfter int
	for _, r := range e.srv.Requests() {
		// Writes already on their way when the 429 came may land a moment
		// later; after that, none until Retry-After has passed.
		if since := r.Time.Sub(throttledAt); r.Method == "PUT" && strings.Contains(r.Path, subA) && since > 300*time.Millisecond && since < hold-100*time.Millisecond {
			aAfter++
		}
	}
	if aAfter > 0 {
		t.Errorf("%d writes of sub A sent during its Retry-After", aAfter)
	}
}

// A table observed, then changed by someone else before the failover: the
// write built from the cached read fails its If-Match, the table is read
// again and converged from what it is now.
func TestConvergeFromACachedReadRereadsOn412(t *testing.T) {
	const tables = 3
	e := newEnv(t, envOpts{seed: seedOpts{tables: tables, pipOn: nva1Ext.name}})
	ctx := testCtx(t)
	if _, err := e.eng.Observe(ctx); err != nil {
		t.Fatal(err)
	}
	// Someone adds a route to rt-0 after the Observe.
	changed := strings.Replace(routeTableJSON(nva1Int.ip), `"routes":[`,
		`"routes":[{"name":"added","properties":{"addressPrefix":"10.7.0.0/16","nextHopType":"VirtualAppliance","nextHopIpAddress":"`+nva1Int.ip+`"}},`, 1)
	seed(t, e.srv, rtID(0), changed)
	mark := len(e.srv.Requests())
	rep, err := e.eng.Converge(ctx, "nva-2")
	if err != nil {
		t.Fatalf("Converge: %v", err)
	}
	wantOnNVA2(t, e, tables)
	rt := resourceJSON(t, e.srv, rtID(0))
	if hop := path(t, rt, "properties", "routes", "name=added", "properties", "nextHopIpAddress"); hop != nva2Int.ip {
		t.Errorf("the route added after the Observe points at %v, want %s (kept and moved)", hop, nva2Int.ip)
	}
	got412, getsBeforePut := 0, 0
	put := map[string]bool{}
	for _, r := range e.srv.Requests()[mark:] {
		if !strings.Contains(r.Path, "/routeTables/") || strings.Contains(r.Path, "/operations/") {
			continue
		}
		switch {
		case r.Method == "PUT" && r.Status == 412:
			got412++
			put[r.Path] = true
		case r.Method == "PUT":
			put[r.Path] = true
		case r.Method == "GET" && !put[r.Path]:
			getsBeforePut++
		}
	}
	if got412 != 1 {
		t.Errorf("%d PUTs answered 412, want 1 (rt-0's, from the cached ETag)", got412)
	}
	if getsBeforePut != 0 {
		t.Errorf("%d route table GETs before the first PUT: the observed tables were not used", getsBeforePut)
	}
	for _, r := range rep.Resources {
		if r.Kind == KindRouteTable && !r.Changed {
			t.Errorf("%s not changed", r.ID)
		}
	}
}

// A cached table that needs no write is read again before it is declared
// converged: someone may have moved it back since.
func TestACachedTableThatNeedsNoWriteIsReadAgain(t *testing.T) {
	e := newEnv(t, envOpts{seed: seedOpts{tables: 1, pipOn: nva2Ext.name, hop: func(int) string { return nva2Int.ip }}})
	ctx := testCtx(t)
	if _, err := e.eng.Observe(ctx); err != nil {
		t.Fatal(err)
	}
	seed(t, e.srv, rtID(0), routeTableJSON(nva1Int.ip)) // moved back to nva-1 after the Observe
	if _, err := e.eng.Converge(ctx, "nva-2"); err != nil {
		t.Fatal(err)
	}
	wantOnNVA2(t, e, 1)
}

// perSub runs every item exactly once, at most maxReadsInFlight at once per
// subscription, and the subscriptions side by side: a subscription whose
// items all block does not hold another's back.
func TestPerSubBoundsWorkersPerSubscriptionAndRunsSubscriptionsInParallel(t *testing.T) {
	const perA, perB = 3 * maxReadsInFlight, 5
	subOf := func(i int) string {
		if i < perA {
			return "/subscriptions/A"
		}
		return "/subscriptions/B"
	}
	var (
		mu              sync.Mutex
		runs            = map[int]int{}
		inA, peakA      int
		peaked          bool
		release         = make(chan struct{})
		bDone           = make(chan struct{})
		bLeft           = perB
		aBlockedAtPeakA = make(chan struct{})
	)
	var wg sync.WaitGroup
	perSub(&wg, perA+perB, subOf, func(i int) {
		mu.Lock()
		runs[i]++
		if i >= perA {
			bLeft--
			if bLeft == 0 {
				close(bDone)
			}
			mu.Unlock()
			return
		}
		inA++
		peakA = max(peakA, inA)
		if inA == maxReadsInFlight && !peaked {
			peaked = true
			close(aBlockedAtPeakA)
		}
		mu.Unlock()
		<-release // every worker of A blocks until B is done
		mu.Lock()
		inA--
		mu.Unlock()
	})
	select {
	case <-bDone:
	case <-time.After(30 * time.Second):
		t.Fatal("subscription B's items did not run while A's workers were all blocked")
	}
	select {
	case <-aBlockedAtPeakA:
	case <-time.After(30 * time.Second):
		t.Fatalf("subscription A never had %d items in flight", maxReadsInFlight)
	}
	close(release)
	wg.Wait()
	if peakA != maxReadsInFlight {
		t.Errorf("subscription A had up to %d items in flight, want %d (maxReadsInFlight)", peakA, maxReadsInFlight)
	}
	if len(runs) != perA+perB {
		t.Errorf("%d items ran, want %d", len(runs), perA+perB)
	}
	for i, n := range runs {
		if n != 1 {
			t.Errorf("item %d ran %d times", i, n)
		}
	}
}

// ReadTime and ObserveFloor count the reads of an Observe in the fullest
// subscription (its NVA NICs and managed resources) against Azure's read
// limits: 25 a second per monitor, 10,000 per 5 minutes for all monitors of
// a subscription, of which periodic reads may take half.
func TestObserveBudget(t *testing.T) {
	spread := topology(0)
	for i := range 500 {
		spread.RouteTables = append(spread.RouteTables, Managed{Via: "internal",
			ID: fmt.Sprintf("/subscriptions/%s/resourceGroups/rg-spokes/providers/Microsoft.Network/routeTables/rt-%d", scaleSub(i%10+1), i)})
	}
	for _, c := range []struct {
		name     string
		topo     Topology
		monitors int
		readTime time.Duration // reads / 25 per s
		floor    time.Duration
	}{
		// 500 tables, 4 NICs and a public IP: 505 reads.
		{"500 tables, one monitor: its own bucket", topology(500), 1, 20200 * time.Millisecond, 40400 * time.Millisecond},
		{"500 tables, two monitors: Microsoft.Network's budget", topology(500), 2, 20200 * time.Millisecond, 60600 * time.Millisecond},
		{"500 tables, three monitors", topology(500), 3, 20200 * time.Millisecond, 90900 * time.Millisecond},
		// 10 tables, 4 NICs and a public IP: 15 reads.
		{"10 tables, two monitors", topology(10), 2, 600 * time.Millisecond, 1800 * time.Millisecond},
		// The NVAs' subscription holds 5 reads; each spoke subscription 50.
		{"500 tables over ten subscriptions: the fullest one counts", spread, 2, 2 * time.Second, 6 * time.Second},
	} {
		t.Run(c.name, func(t *testing.T) {
			e, err := New(c.topo, nil, nil, Options{})
			if err != nil {
				t.Fatal(err)
			}
			const slack = time.Millisecond
			if got := e.ReadTime(); got < c.readTime-slack || got > c.readTime+slack {
				t.Errorf("ReadTime() = %v, want %v", got, c.readTime)
			}
			if got := e.ObserveFloor(c.monitors); got < c.floor-slack || got > c.floor+slack {
				t.Errorf("ObserveFloor(%d) = %v, want %v", c.monitors, got, c.floor)
			}
		})
	}
}
