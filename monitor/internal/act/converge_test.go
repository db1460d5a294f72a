package act

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hanva/hanva/monitor/internal/azure"
	"github.com/hanva/hanva/testenv/armsim"
)

const ipconfig1 = "/ipConfigurations/ipconfig1"

// snapshot reads the managed tables and the four NVA NICs.
func snapshot(t *testing.T, e *env, tables int) map[string]map[string]any {
	t.Helper()
	out := map[string]map[string]any{}
	for i := range tables {
		out[rtID(i)] = resourceJSON(t, e.srv, rtID(i))
	}
	for _, n := range []nicSpec{nva1Int, nva1Ext, nva2Int, nva2Ext, jump} {
		out[nicID(n.name)] = resourceJSON(t, e.srv, nicID(n.name))
	}
	return out
}

// pipOwner is the ipconfig the public IP's back-reference names.
func pipOwner(t *testing.T, e *env) string {
	t.Helper()
	s, _ := path(t, resourceJSON(t, e.srv, pipID), "properties", "ipConfiguration", "id").(string)
	return s
}

// wantOnTarget checks every table's NVA routes point at nva-2 and the
// public IP rides on nva2-ext.
func wantOnNVA2(t *testing.T, e *env, tables int) {
	t.Helper()
	for i := range tables {
		rt := resourceJSON(t, e.srv, rtID(i))
		for _, r := range []string{"default", "spokes"} {
			if got := path(t, rt, "properties", "routes", "name="+r, "properties", "nextHopIpAddress"); got != nva2Int.ip {
				t.Errorf("rt-%d route %s next hop %v, want %s", i, r, got, nva2Int.ip)
			}
		}
	}
	if got := pipOwner(t, e); !strings.EqualFold(got, nicID(nva2Ext.name)+ipconfig1) {
		t.Errorf("public IP on %q, want nva2-ext ipconfig1", got)
	}
}

func TestConvergeMovesEverythingAndLeavesTheRestAlone(t *testing.T) {
	const tables = 3
	e := newEnv(t, envOpts{sim: armsim.Options{LROLatency: 30 * time.Millisecond}, seed: seedOpts{tables: tables, pipOn: nva1Ext.name}})
	before := snapshot(t, e, tables)

	rep, err := e.eng.Converge(testCtx(t), "nva-2")
	if err != nil {
		t.Fatalf("Converge: %v", err)
	}
	wantOnNVA2(t, e, tables)
	if len(rep.Resources) != tables+1 || rep.Target != "nva-2" {
		t.Fatalf("report %+v", rep)
	}
	for _, r := range rep.Resources {
		if !r.Changed || r.Attempts != 1 || r.Err != nil || r.Duration <= 0 || r.Duration > rep.Duration {
			t.Errorf("result %+v: want changed in one attempt, within the report's %v", r, rep.Duration)
		}
	}

	// Everything but the owned fields is as it was.
	after := snapshot(t, e, tables)
	for id, b := range before {
		want := withoutVolatile(b).(map[string]any)
		got := withoutVolatile(after[id]).(map[string]any)
		switch {
		case strings.Contains(id, "/routeTables/"):
			for _, r := range []string{"default", "spokes"} {
				path(t, want, "properties", "routes", "name="+r, "properties").(map[string]any)["nextHopIpAddress"] = nva2Int.ip
			}
		case id == nicID(nva1Ext.name):
			delete(path(t, want, "properties", "ipConfigurations", "name=ipconfig1", "properties").(map[string]any), "publicIPAddress")
		case id == nicID(nva2Ext.name):
			path(t, want, "properties", "ipConfigurations", "name=ipconfig1", "properties").(map[string]any)["publicIPAddress"] = map[string]any{"id": pipID}
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s changed beyond the owned fields:\n got %s\nwant %s", id, jsonString(got), jsonString(want))
		}
	}

	// One PUT per table, one per NIC, the detach before the attach, all
	// with the monitor's User-Agent.
	perResource := map[string]int{}
	var detachSeq, attachSeq int
	for _, ev := range writes(e.srv) {
		perResource[ev.ResourceID]++
		if !strings.Contains(ev.Client, "hanva-nva-monitor/test (test-monitor)") {
			t.Errorf("write by %q, want the monitor's User-Agent", ev.Client)
		}
		switch {
		case strings.EqualFold(ev.ResourceID, nicID(nva1Ext.name)):
			detachSeq = ev.Seq
		case strings.EqualFold(ev.ResourceID, nicID(nva2Ext.name)):
			attachSeq = ev.Seq
		}
	}
	if len(perResource) != tables+2 {
		t.Errorf("writes went to %v, want the %d tables and the two external NICs", perResource, tables)
	}
	for id, n := range perResource {
		if n != 1 {
			t.Errorf("%d writes to %s, want 1", n, id)
		}
	}
	if detachSeq == 0 || attachSeq < detachSeq {
		t.Errorf("detach write #%d, attach write #%d: want the detach first", detachSeq, attachSeq)
	}

	if n := len(e.logs.events(EventRouteTableConverged)); n != tables {
		t.Errorf("%d route_table_converged lines, want %d", n, tables)
	}
	for _, ev := range []string{EventPublicIPDetached, EventPublicIPMoved} {
		lines := e.logs.events(ev)
		if len(lines) != 1 || lines[0]["public_ip"] != "pip-1" {
			t.Errorf("%s lines %v, want one for pip-1", ev, lines)
		}
	}
	if lines := e.logs.events(EventPublicIPDetached); len(lines) == 1 && lines[0]["nva"] != "nva-1" {
		t.Errorf("pip_detached names nva %v, want the old nva-1", lines[0]["nva"])
	}
}

func TestConvergeTwiceWritesNothingTheSecondTime(t *testing.T) {
	e := newEnv(t, envOpts{seed: seedOpts{tables: 2, pipOn: nva1Ext.name}})
	ctx := testCtx(t)
	if _, err := e.eng.Converge(ctx, "nva-2"); err != nil {
		t.Fatal(err)
	}
	writesBefore, eventsBefore := writeRequests(e.srv), len(e.srv.Events(0))
	rep, err := e.eng.Converge(ctx, "nva-2")
	if err != nil {
		t.Fatal(err)
	}
	if n := writeRequests(e.srv) - writesBefore; n != 0 {
		t.Errorf("the second Converge sent %d writes, want none", n)
	}
	if evs := e.srv.Events(eventsBefore); len(evs) != 0 {
		t.Errorf("the second Converge logged write events %+v", evs)
	}
	for _, r := range rep.Resources {
		if r.Changed || r.Attempts != 1 || r.Err != nil {
			t.Errorf("second run result %+v, want unchanged in one attempt", r)
		}
	}
}

func TestConvergeHonoursRetryAfterInAThrottlingStorm(t *testing.T) {
	const tables = 4
	const retryAfter = 2 * time.Second
	e := newEnv(t, envOpts{seed: seedOpts{tables: tables, pipOn: nva1Ext.name}})
	// The first writes (the four tables and the public IP's detach go out at
	// once) are throttled.
	e.srv.InjectFault(armsim.Fault{Method: "PUT", Status: 429, Code: "SubscriptionRequestsThrottled",
		RetryAfter: retryAfter, Count: tables + 1})

	rep, err := e.eng.Converge(testCtx(t), "nva-2")
	if err != nil {
		t.Fatalf("Converge: %v", err)
	}
	wantOnNVA2(t, e, tables)

	var first time.Time
	throttledAt := map[string]time.Time{}
	for _, r := range e.srv.Requests() {
		if r.Method != "PUT" {
			continue
		}
		if r.Status == 429 {
			if first.IsZero() {
				first = r.Time
			}
			throttledAt[r.Path] = r.Time
			continue
		}
		if at, ok := throttledAt[r.Path]; ok && r.Time.Sub(at) < retryAfter {
			t.Errorf("PUT %s sent %v after its 429, before Retry-After %v", r.Path, r.Time.Sub(at), retryAfter)
		}
		// Requests already in flight when the first 429 arrived may land a
		// moment later; after that, nothing until Retry-After has passed.
		if since := r.Time.Sub(first); !first.IsZero() && since > 500*time.Millisecond && since < retryAfter {
			t.Errorf("PUT %s sent %v after the first 429: the throttle gate let it through", r.Path, since)
		}
	}
	if len(throttledAt) == 0 {
		t.Fatal("no request was throttled: the test proves nothing")
	}
	retries := e.logs.events(EventRetry)
	if len(retries) < len(throttledAt) {
		t.Errorf("%d arm_retry lines for %d throttled resources", len(retries), len(throttledAt))
	}
	for _, r := range rep.Resources {
		if r.Err != nil || !r.Changed {
			t.Errorf("result %+v", r)
		}
	}
}

func TestThrottlingHoldsEveryWriteOfTheEngine(t *testing.T) {
	e := newEnv(t, envOpts{seed: seedOpts{tables: 1, pipOn: nva2Ext.name}})
	// Another resource of this engine was throttled a moment ago.
	until := time.Now().Add(700 * time.Millisecond)
	e.eng.mustSub(testSub).limits[kindWrite].throttled(until)
	if _, err := e.eng.Converge(testCtx(t), "nva-2"); err != nil {
		t.Fatal(err)
	}
	sawGet := false
	for _, r := range e.srv.Requests() {
		switch {
		case r.Method == "GET" && r.Time.Before(until):
			sawGet = true // reads have their own budget
		case r.Method == "PUT" && r.Time.Before(until):
			t.Errorf("PUT %s sent %v before the write gate opened", r.Path, until.Sub(r.Time))
		}
	}
	if !sawGet {
		t.Error("reads waited for the write gate")
	}
}

func TestRetryDelayWaitsRetryAfterOnThrottling(t *testing.T) {
	e := &Engine{backoff: backoff{Base: time.Millisecond, Max: time.Millisecond}}
	d, ok := e.retryDelay(armError(t, "PUT", 429, "SubscriptionRequestsThrottled", "3"), 1)
	if !ok || d != 3*time.Second {
		t.Fatalf("retryDelay = %v, %v; want 3s, true", d, ok)
	}
}

func TestServerErrorOnOneTableIsRetriedWhileOthersConverge(t *testing.T) {
	const tables = 3
	e := newEnv(t, envOpts{seed: seedOpts{tables: tables, pipOn: nva2Ext.name}})
	// rt-1 fails twice, the second time asking for a 2 s pause.
	e.srv.InjectFault(armsim.Fault{Method: "PUT", PathContains: "/routeTables/rt-1", Status: 500, Count: 1})
	e.srv.InjectFault(armsim.Fault{Method: "PUT", PathContains: "/routeTables/rt-1", Status: 503, RetryAfter: 2 * time.Second, Count: 1})

	rep, err := e.eng.Converge(testCtx(t), "nva-2")
	if err != nil {
		t.Fatalf("Converge: %v", err)
	}
	wantOnNVA2(t, e, tables)
	slow := rep.Resources[1]
	if slow.Attempts != 3 || !slow.Changed || slow.Duration < 2*time.Second {
		t.Errorf("rt-1 result %+v: want 3 attempts and at least the 2 s Retry-After", slow)
	}
	for _, i := range []int{0, 2} {
		r := rep.Resources[i]
		if r.Attempts != 1 || !r.Changed || r.Duration >= slow.Duration {
			t.Errorf("rt-%d result %+v: want done in one attempt, before rt-1 (%v)", i, r, slow.Duration)
		}
	}
	retries := e.logs.events(EventRetry)
	if len(retries) != 2 {
		t.Fatalf("arm_retry lines %v, want 2 for rt-1", retries)
	}
	for _, l := range retries {
		if l["resource"] != "rt-1" || l["attempt"] == nil || l["delay"] == nil || l["err"] == nil {
			t.Errorf("arm_retry line %v", l)
		}
	}
}

func TestETagRaceRereadsAndKeepsTheOtherWritersChange(t *testing.T) {
	e := newEnv(t, envOpts{seed: seedOpts{tables: 1, pipOn: nva2Ext.name}})
	// Between the engine's GET and its PUT, someone adds a route and a tag.
	var raced atomic.Bool
	e.srv.BeforeRequest(func(method, p string) {
		if method == "PUT" && strings.Contains(p, "/routeTables/rt-0") && raced.CompareAndSwap(false, true) {
			body := strings.Replace(routeTableJSON(nva1Int.ip), `"env":"test"`, `"env":"test","changed-by":"other"`, 1)
			body = strings.Replace(body, `"routes":[`, `"routes":[{"name":"added-by-other","properties":{"addressPrefix":"10.6.0.0/16","nextHopType":"None"}},`, 1)
			if err := e.srv.Seed(rtID(0), []byte(body)); err != nil {
				t.Errorf("seed the other writer's change: %v", err)
			}
		}
	})
	rep, err := e.eng.Converge(testCtx(t), "nva-2")
	e.srv.BeforeRequest(nil)
	if err != nil {
		t.Fatalf("Converge: %v", err)
	}
	wantOnNVA2(t, e, 1)
	rt := resourceJSON(t, e.srv, rtID(0))
	if path(t, rt, "properties", "routes", "name=added-by-other") == nil || path(t, rt, "tags", "changed-by") != "other" {
		t.Errorf("the other writer's route or tag was lost: %s", jsonString(rt))
	}
	if r := rep.Resources[0]; r.Attempts != 2 || !r.Changed {
		t.Errorf("rt-0 result %+v, want 2 attempts (412, re-read, write)", r)
	}
	var statuses []int
	for _, ev := range e.srv.Events(0) {
		if strings.Contains(ev.ResourceID, "/routeTables/") && ev.Kind != armsim.KindWriteSucceeded {
			statuses = append(statuses, ev.Status)
		}
	}
	if !reflect.DeepEqual(statuses, []int{412, 200}) {
		t.Errorf("route table write statuses %v, want a 412 then an accepted write", statuses)
	}
}

func TestNICWritesCarryIfMatchAndKeepAConcurrentChange(t *testing.T) {
	e := newEnv(t, envOpts{seed: seedOpts{tables: 0, pipOn: nva1Ext.name}})
	// Between the engine's read of nva1-ext and its detach, someone tags the NIC.
	var raced atomic.Bool
	e.srv.BeforeRequest(func(method, p string) {
		if method == "PUT" && strings.Contains(p, "/networkInterfaces/nva1-ext") && raced.CompareAndSwap(false, true) {
			b, _ := e.srv.Resource(nicID(nva1Ext.name))
			body := strings.Replace(string(b), `"owner":"netops"`, `"owner":"netops","patched":"yes"`, 1)
			if err := e.srv.Seed(nicID(nva1Ext.name), []byte(body)); err != nil {
				t.Errorf("tag the NIC: %v", err)
			}
		}
	})
	rep, err := e.eng.Converge(testCtx(t), "nva-2")
	e.srv.BeforeRequest(nil)
	if err != nil {
		t.Fatalf("Converge: %v", err)
	}
	wantOnNVA2(t, e, 0)
	if got := path(t, resourceJSON(t, e.srv, nicID(nva1Ext.name)), "tags", "patched"); got != "yes" {
		t.Errorf("the concurrent tag was lost (tags %v)", path(t, resourceJSON(t, e.srv, nicID(nva1Ext.name)), "tags"))
	}
	var statuses []int
	for _, ev := range e.srv.Events(0) {
		if strings.HasSuffix(ev.ResourceID, "nva1-ext") && ev.Kind != armsim.KindWriteSucceeded {
			statuses = append(statuses, ev.Status)
		}
	}
	if !reflect.DeepEqual(statuses, []int{412, 200}) {
		t.Errorf("nva1-ext write statuses %v, want 412 then an accepted write", statuses)
	}
	if r := rep.Resources[0]; r.Attempts != 2 {
		t.Errorf("public IP result %+v, want 2 attempts", r)
	}
}

func TestTransientFailuresOnNICsAreRetried(t *testing.T) {
	tests := []struct {
		name      string
		fault     armsim.Fault
		wantPUTs  map[string]int // NIC name -> PUT requests
		wantRetry bool
	}{
		{
			name:     "409 AnotherOperationInProgress on the new NIC",
			fault:    armsim.Fault{Method: "PUT", PathContains: "/networkInterfaces/nva2-ext", Status: 409, Code: azure.CodeAnotherOperationInProgress, Count: 2},
			wantPUTs: map[string]int{"nva1-ext": 1, "nva2-ext": 3}, wantRetry: true,
		},
		{
			name:     "429 RetryableErrorDueToAnotherOperation on the old NIC",
			fault:    armsim.Fault{Method: "PUT", PathContains: "/networkInterfaces/nva1-ext", Status: 429, Code: azure.CodeRetryableErrorDueToAnotherOperation, Count: 1},
			wantPUTs: map[string]int{"nva1-ext": 2, "nva2-ext": 1}, wantRetry: true,
		},
		{
			name:     "a failed status poll is followed by a read, not a second PUT",
			fault:    armsim.Fault{Method: "GET", PathContains: "/operations/", Status: 500, Count: 1},
			wantPUTs: map[string]int{"nva1-ext": 1, "nva2-ext": 1}, wantRetry: true,
		},
		{
			name:     "an attach whose operation ends Canceled (superseded) is read again and redone",
			fault:    armsim.Fault{Method: "PUT", PathContains: "/networkInterfaces/nva2-ext", OperationStatus: "Canceled", Count: 1},
			wantPUTs: map[string]int{"nva1-ext": 1, "nva2-ext": 2}, wantRetry: true,
		},
		{
			name:     "a write applied but answered 500 is not written again",
			fault:    armsim.Fault{Method: "PUT", PathContains: "/networkInterfaces/nva2-ext", Status: 500, AfterCommit: true, Count: 1},
			wantPUTs: map[string]int{"nva1-ext": 1, "nva2-ext": 1}, wantRetry: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, envOpts{seed: seedOpts{tables: 0, pipOn: nva1Ext.name}})
			e.srv.InjectFault(tt.fault)
			rep, err := e.eng.Converge(testCtx(t), "nva-2")
			if err != nil {
				t.Fatalf("Converge: %v", err)
			}
			wantOnNVA2(t, e, 0)
			puts := map[string]int{}
			for _, r := range e.srv.Requests() {
				if r.Method == "PUT" {
					puts[r.Path[strings.LastIndex(r.Path, "/")+1:]]++
				}
			}
			if !reflect.DeepEqual(puts, tt.wantPUTs) {
				t.Errorf("PUTs %v, want %v", puts, tt.wantPUTs)
			}
			if got := len(e.logs.events(EventRetry)) > 0; got != tt.wantRetry {
				t.Errorf("arm_retry logged: %v, want %v", got, tt.wantRetry)
			}
			if r := rep.Resources[0]; r.Err != nil || r.Attempts < 2 {
				t.Errorf("public IP result %+v, want success after a retry", r)
			}
		})
	}
}

func TestARouteTableWriteThatEndsFailedIsRedone(t *testing.T) {
	e := newEnv(t, envOpts{sim: armsim.Options{LROLatency: 20 * time.Millisecond}, seed: seedOpts{tables: 2, pipOn: nva2Ext.name}})
	e.srv.InjectFault(armsim.Fault{Method: "PUT", PathContains: "/routeTables/rt-0", OperationStatus: "Failed", Count: 1})
	rep, err := e.eng.Converge(testCtx(t), "nva-2")
	if err != nil {
		t.Fatalf("Converge: %v", err)
	}
	wantOnNVA2(t, e, 2)
	if r := rep.Resources[0]; r.Attempts != 2 || !r.Changed {
		t.Errorf("rt-0 result %+v, want 2 attempts", r)
	}
	if r := rep.Resources[1]; r.Attempts != 1 {
		t.Errorf("rt-1 result %+v, want 1 attempt", r)
	}
	var failed int
	for _, ev := range e.srv.Events(0) {
		if ev.Kind == armsim.KindWriteFailed {
			failed++
		}
	}
	if failed != 1 {
		t.Errorf("%d write_failed events, want the one injected", failed)
	}
}

func TestConvergeAttachesAPublicIPLeftDetachedByACrash(t *testing.T) {
	// The monitor was killed after the detach from nva-1, before the attach.
	e := newEnv(t, envOpts{seed: seedOpts{tables: 1, hop: func(int) string { return nva2Int.ip }}})
	rep, err := e.eng.Converge(testCtx(t), "nva-2")
	if err != nil {
		t.Fatalf("Converge: %v", err)
	}
	wantOnNVA2(t, e, 1)
	var nicWrites []string
	for _, ev := range writes(e.srv) {
		nicWrites = append(nicWrites, ev.ResourceID)
	}
	if len(nicWrites) != 1 || !strings.EqualFold(nicWrites[0], nicID(nva2Ext.name)) {
		t.Errorf("writes %v, want only the attach to nva2-ext", nicWrites)
	}
	if n := len(e.logs.events(EventPublicIPDetached)); n != 0 {
		t.Errorf("%d pip_detached lines for a detached public IP", n)
	}
	if r := rep.Resources[1]; !r.Changed || r.Err != nil {
		t.Errorf("public IP result %+v", r)
	}
	if r := rep.Resources[0]; r.Changed {
		t.Errorf("the table already on nva-2 was written: %+v", r)
	}
}

func TestPublicIPOnANICThatIsNotAnNVAsIsLeftAlone(t *testing.T) {
	e := newEnv(t, envOpts{seed: seedOpts{tables: 1, pipOn: jump.name}})
	jumpBefore := resourceJSON(t, e.srv, jumpNIC)
	rep, err := e.eng.Converge(testCtx(t), "nva-2")
	if err == nil || !strings.Contains(err.Error(), "not a NIC of any NVA") {
		t.Fatalf("Converge error %v, want one saying the public IP is on a foreign NIC", err)
	}
	if r := rep.Resources[1]; r.Err == nil || r.Attempts != 1 {
		t.Errorf("public IP result %+v, want an error without retries", r)
	}
	if r := rep.Resources[0]; r.Err != nil || !r.Changed {
		t.Errorf("the route table must still converge: %+v", r)
	}
	for _, ev := range writes(e.srv) {
		if strings.Contains(ev.ResourceID, "/networkInterfaces/") {
			t.Errorf("a NIC was written: %s", ev.ResourceID)
		}
	}
	if !reflect.DeepEqual(resourceJSON(t, e.srv, jumpNIC), jumpBefore) {
		t.Error("the jump host's NIC changed")
	}
	if got := pipOwner(t, e); !strings.EqualFold(got, jumpNIC+ipconfig1) {
		t.Errorf("public IP moved to %q", got)
	}
	if lines := e.logs.events(EventConvergeFailed); len(lines) != 1 || lines[0]["public_ip"] != "pip-1" || lines[0]["reason"] != "unsafe" {
		t.Errorf("converge_failed lines %v", lines)
	}
}

func TestAnAttachRefusedAsInUseDetachesAgain(t *testing.T) {
	e := newEnv(t, envOpts{seed: seedOpts{tables: 0, pipOn: nva1Ext.name}})
	// Right before the attach, someone puts the public IP back on nva-1.
	var raced atomic.Bool
	e.srv.BeforeRequest(func(method, p string) {
		if method == "PUT" && strings.Contains(p, "/networkInterfaces/nva2-ext") && raced.CompareAndSwap(false, true) {
			b, _ := e.srv.Resource(nicID(nva1Ext.name))
			body := strings.Replace(string(b), `"name":"ipconfig1","properties":{`, `"name":"ipconfig1","properties":{"publicIPAddress":{"id":"`+pipID+`"},`, 1)
			if err := e.srv.Seed(nicID(nva1Ext.name), []byte(body)); err != nil {
				t.Errorf("re-attach: %v", err)
			}
		}
	})
	rep, err := e.eng.Converge(testCtx(t), "nva-2")
	e.srv.BeforeRequest(nil)
	if !raced.Load() {
		t.Fatal("the race was not staged")
	}
	if err != nil {
		t.Fatalf("Converge: %v", err)
	}
	wantOnNVA2(t, e, 0)
	var codes []string
	for _, ev := range e.srv.Events(0) {
		if ev.Kind != armsim.KindWriteSucceeded {
			codes = append(codes, ev.ResourceID[strings.LastIndex(ev.ResourceID, "/")+1:]+":"+ev.Code)
		}
	}
	want := []string{"nva1-ext:", "nva2-ext:PublicIPAddressInUse", "nva1-ext:", "nva2-ext:"}
	if !reflect.DeepEqual(codes, want) {
		t.Errorf("writes %v, want %v (detach, refused attach, detach again, attach)", codes, want)
	}
	if r := rep.Resources[0]; r.Attempts < 2 {
		t.Errorf("public IP result %+v, want a second round", r)
	}
}

func TestBeforeWriteErrorStopsEveryWrite(t *testing.T) {
	errLease := errors.New("lease lost")
	var calls atomic.Int32
	e := newEnv(t, envOpts{
		seed:    seedOpts{tables: 2, pipOn: nva1Ext.name},
		options: Options{BeforeWrite: func(context.Context) error { calls.Add(1); return errLease }},
	})
	rep, err := e.eng.Converge(testCtx(t), "nva-2")
	if !errors.Is(err, errLease) {
		t.Fatalf("Converge error %v, want the BeforeWrite error", err)
	}
	if n := writeRequests(e.srv); n != 0 {
		t.Errorf("%d writes reached ARM", n)
	}
	for _, r := range rep.Resources {
		if !errors.Is(r.Err, errLease) || r.Attempts != 1 || r.Changed {
			t.Errorf("result %+v, want the lease error, no retry, no change", r)
		}
	}
	for _, l := range e.logs.events(EventConvergeFailed) {
		if l["reason"] != "fenced" {
			t.Errorf("converge_failed line %v, want reason fenced", l)
		}
	}
	if calls.Load() != 3 {
		t.Errorf("BeforeWrite called %d times, want 3 (two tables, one detach)", calls.Load())
	}
}

func TestBeforeWriteIsCalledBeforeEveryPUT(t *testing.T) {
	var mu sync.Mutex
	var e *env
	var lastSeen []int // writes seen by ARM when BeforeWrite ran
	e = newEnv(t, envOpts{
		seed: seedOpts{tables: 2, pipOn: nva1Ext.name},
		options: Options{BeforeWrite: func(context.Context) error {
			mu.Lock()
			lastSeen = append(lastSeen, writeRequests(e.srv))
			mu.Unlock()
			return nil
		}},
	})
	if _, err := e.eng.Converge(testCtx(t), "nva-2"); err != nil {
		t.Fatal(err)
	}
	if n := writeRequests(e.srv); n != 4 || len(lastSeen) != 4 {
		t.Errorf("%d writes and %d BeforeWrite calls, want 4 of each", n, len(lastSeen))
	}
}

func TestConvergeGivesUpAtOperationTimeout(t *testing.T) {
	e := newEnv(t, envOpts{seed: seedOpts{tables: 1, pipOn: nva2Ext.name}, options: Options{OperationTimeout: 400 * time.Millisecond}})
	e.srv.InjectFault(armsim.Fault{Method: "PUT", PathContains: "/routeTables/", Status: 500, Count: -1})
	rep, err := e.eng.Converge(testCtx(t), "nva-2")
	if !errors.Is(err, context.DeadlineExceeded) || !errors.Is(err, azure.ErrServer) {
		t.Fatalf("Converge error %v, want the deadline and the last ARM error", err)
	}
	if r := rep.Resources[0]; r.Attempts < 2 {
		t.Errorf("result %+v, want several attempts", r)
	}
	if lines := e.logs.events(EventConvergeFailed); len(lines) != 1 || lines[0]["route_table"] != "rt-0" || lines[0]["reason"] != "timeout" {
		t.Errorf("converge_failed lines %v", lines)
	}
}

func TestConvergeToAnUnknownNVAIsRefused(t *testing.T) {
	e := newEnv(t, envOpts{seed: seedOpts{tables: 1, pipOn: nva1Ext.name}})
	if _, err := e.eng.Converge(testCtx(t), "nva-3"); err == nil {
		t.Fatal("want an error")
	}
	if n := len(e.srv.Requests()); n != 0 {
		t.Errorf("%d requests for an unknown target", n)
	}
}
