package act

import (
	"context"
	"errors"
	"reflect"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/hanva/hanva/monitor/internal/azure"
	"github.com/hanva/hanva/testenv/armsim"
)

// The pool topology: the test VNet and NVAs of env_test.go (no route
// table, no public IP) and a Standard internal load balancer lb-nva with a
// frontend in the internal subnet, an HA ports rule, a probe, the pools a
// test gives and an unmanaged pool "web" that must never change.
const lbID = netPath + "/loadBalancers/lb-nva"

func poolID(name string) string { return lbID + "/backendAddressPools/" + name }

// member is an IP-based member "name=ip" in JSON.
func member(spec string) string {
	name, ip, _ := strings.Cut(spec, "=")
	return `{"name":"` + name + `","properties":{"ipAddress":"` + ip + `","virtualNetwork":{"id":"` + vnetID + `"}}}`
}

// poolJSON is an IP-based pool with members "name=ip".
func poolJSON(name string, members ...string) string {
	var ms []string
	for _, m := range members {
		ms = append(ms, member(m))
	}
	return `{"name":"` + name + `","properties":{"loadBalancerBackendAddresses":[` + strings.Join(ms, ",") + `]}}`
}

// lbJSON is lb-nva with tags (a JSON object) and pools.
func lbJSON(tags string, pools ...string) string {
	pools = append(pools, poolJSON("web", "web-1=10.0.1.50"))
	return `{"location":"westeurope","tags":` + tags + `,"sku":{"name":"Standard","tier":"Regional"},"properties":{
		"frontendIPConfigurations":[{"name":"fe","properties":{"privateIPAddress":"10.0.1.100","privateIPAllocationMethod":"Static",
			"subnet":{"id":"` + vnetID + `/subnets/internal"}}}],
		"backendAddressPools":[` + strings.Join(pools, ",") + `],
		"loadBalancingRules":[{"name":"ha-ports","properties":{"protocol":"All","frontendPort":0,"backendPort":0,
			"enableFloatingIP":true,"idleTimeoutInMinutes":4,"loadDistribution":"Default",
			"frontendIPConfiguration":{"id":"` + lbID + `/frontendIPConfigurations/fe"},
			"backendAddressPool":{"id":"` + poolID("nva-pool") + `"},
			"probe":{"id":"` + lbID + `/probes/ssh"}}}],
		"probes":[{"name":"ssh","properties":{"protocol":"Tcp","port":22,"intervalInSeconds":5,"numberOfProbes":2}}]}}`
}

// newPoolEnv seeds lb (lbJSON) and manages the named pools of it via the
// internal role.
func newPoolEnv(t *testing.T, lb string, opts Options, pools ...string) *env {
	t.Helper()
	return newEnv(t, envOpts{options: opts, custom: func(t testing.TB, srv *armsim.Server) Topology {
		seedTopology(t, srv, seedOpts{})
		seed(t, srv, lbID, lb)
		topo := topology(0)
		topo.PublicIPs = nil
		for _, p := range pools {
			topo.BackendPools = append(topo.BackendPools, Managed{ID: poolID(p), Via: "internal"})
		}
		return topo
	}})
}

// members lists a pool's members as ARM holds them, "name=ip".
func members(t *testing.T, srv *armsim.Server, pool string) []string {
	t.Helper()
	var out []string
	list, _ := path(t, resourceJSON(t, srv, lbID), "properties", "backendAddressPools", "name="+pool, "properties", "loadBalancerBackendAddresses").([]any)
	for _, m := range list {
		out = append(out, path(t, m, "name").(string)+"="+path(t, m, "properties", "ipAddress").(string))
	}
	return out
}

// lbWrites are the load balancer writes armsim logged, except operation
// completions.
func lbWrites(srv *armsim.Server) []armsim.Event {
	var out []armsim.Event
	for _, ev := range srv.Events(0) {
		if strings.EqualFold(ev.ResourceID, lbID) && ev.Kind != armsim.KindWriteSucceeded {
			out = append(out, ev)
		}
	}
	return out
}

func TestBackendPoolFailoverMovesOnlyNVAMembers(t *testing.T) {
	tests := []struct {
		name   string
		before []string
		want   []string
	}{
		{name: "nva-1's member is replaced in place, a foreign member stays",
			before: []string{"fw-a=10.0.1.4", "scanner=10.0.1.99"}, want: []string{"fw-a=10.0.1.5", "scanner=10.0.1.99"}},
		{name: "a secondary address goes to the ipconfig of the same name",
			before: []string{"fw-a=10.0.1.14"}, want: []string{"fw-a=10.0.1.15"}},
		{name: "nva-1 is removed when nva-2 is a member already (no duplicate)",
			before: []string{"fw-a=10.0.1.4", "fw-b=10.0.1.5"}, want: []string{"fw-b=10.0.1.5"}},
		{name: "an empty pool gets nva-2's primary address",
			before: nil, want: []string{"nva-2=10.0.1.5"}},
		{name: "a pool without an NVA member gets nva-2's primary address",
			before: []string{"scanner=10.0.1.99"}, want: []string{"scanner=10.0.1.99", "nva-2=10.0.1.5"}},
		{name: "nva-1's address of another role is not the pool's role: left alone",
			before: []string{"ext=10.0.2.4", "nva-2=10.0.9.9"}, want: []string{"ext=10.0.2.4", "nva-2=10.0.9.9", "nva-2-2=10.0.1.5"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newPoolEnv(t, lbJSON(`{"owner":"netops"}`, poolJSON("nva-pool", tt.before...)), Options{Epoch: func() int64 { return 5 }}, "nva-pool")
			before := resourceJSON(t, e.srv, lbID)
			rep, err := e.eng.Converge(testCtx(t), "nva-2")
			if err != nil {
				t.Fatalf("Converge: %v", err)
			}
			if got := members(t, e.srv, "nva-pool"); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("members %v, want %v", got, tt.want)
			}
			// Nothing else of the load balancer changed: the pool's members
			// as computed, and our epoch tag.
			after := resourceJSON(t, e.srv, lbID)
			pool := path(t, before, "properties", "backendAddressPools", "name=nva-pool", "properties").(map[string]any)
			pool["loadBalancerBackendAddresses"] = path(t, after, "properties", "backendAddressPools", "name=nva-pool", "properties", "loadBalancerBackendAddresses")
			before["tags"].(map[string]any)[EpochTag] = "5"
			if got, want := jsonString(withoutVolatile(after)), jsonString(withoutVolatile(before)); got != want {
				t.Errorf("load balancer after the converge:\n%s\nwant:\n%s", got, want)
			}
			if w := lbWrites(e.srv); len(w) != 1 || w[0].Status != 200 || writeRequests(e.srv) != 1 {
				t.Errorf("writes %+v (%d requests), want one accepted write of the load balancer", w, writeRequests(e.srv))
			}
			if len(rep.Resources) != 1 {
				t.Fatalf("report %+v, want one resource", rep.Resources)
			}
			if r := rep.Resources[0]; r.Kind != KindBackendPool || r.ID != poolID("nva-pool") || !r.Changed || r.Attempts != 1 {
				t.Errorf("result %+v, want the pool changed in one attempt", r)
			}
			if ev := e.logs.events(EventBackendPoolConverged); len(ev) != 1 || ev[0]["changed"] != true ||
				ev[0]["backend_pool"] != "nva-pool" || ev[0]["nva"] != "nva-2" || ev[0]["level"] != "INFO" {
				t.Errorf("backend_pool_converged lines %v", ev)
			}

			// Converged: a second Converge reads and writes nothing.
			rep, err = e.eng.Converge(testCtx(t), "nva-2")
			if err != nil {
				t.Fatalf("second Converge: %v", err)
			}
			if n := writeRequests(e.srv); n != 1 {
				t.Errorf("the second Converge wrote: %d write requests in all", n)
			}
			if r := rep.Resources[0]; r.Changed || r.Stamped || r.Err != nil {
				t.Errorf("second result %+v, want unchanged", r)
			}
		})
	}
}

func TestBackendPoolsOfOneLoadBalancerShareOneWrite(t *testing.T) {
	lb := lbJSON(`{}`, poolJSON("nva-pool", "fw-a=10.0.1.4", "scanner=10.0.1.99"), poolJSON("nva-pool-2", "fw-a2=10.0.1.14"))
	e := newPoolEnv(t, lb, Options{}, "nva-pool", "nva-pool-2")
	rep, err := e.eng.Converge(testCtx(t), "nva-2")
	if err != nil {
		t.Fatalf("Converge: %v", err)
	}
	if got := members(t, e.srv, "nva-pool"); !reflect.DeepEqual(got, []string{"fw-a=10.0.1.5", "scanner=10.0.1.99"}) {
		t.Errorf("nva-pool members %v", got)
	}
	if got := members(t, e.srv, "nva-pool-2"); !reflect.DeepEqual(got, []string{"fw-a2=10.0.1.15"}) {
		t.Errorf("nva-pool-2 members %v", got)
	}
	if got := members(t, e.srv, "web"); !reflect.DeepEqual(got, []string{"web-1=10.0.1.50"}) {
		t.Errorf("unmanaged pool web changed: %v", got)
	}
	w := lbWrites(e.srv)
	if len(w) != 1 || writeRequests(e.srv) != 1 {
		t.Fatalf("writes %+v, want both pools in one PUT", w)
	}
	if len(rep.Resources) != 2 || !rep.Resources[0].Changed || !rep.Resources[1].Changed ||
		rep.Resources[0].ID != poolID("nva-pool") || rep.Resources[1].ID != poolID("nva-pool-2") {
		t.Errorf("report %+v, want both pools changed, in topology order", rep.Resources)
	}
	// Without an epoch nothing is tagged.
	if tags := path(t, resourceJSON(t, e.srv, lbID), "tags"); tags != nil && len(tags.(map[string]any)) != 0 {
		t.Errorf("tags %v, want none", tags)
	}
}

func TestBackendPoolFencedByANewerLeader(t *testing.T) {
	e := newPoolEnv(t, lbJSON(`{"`+EpochTag+`":"9"}`, poolJSON("nva-pool", "fw-a=10.0.1.4")), Options{Epoch: func() int64 { return 5 }}, "nva-pool")
	rep, err := e.eng.Converge(testCtx(t), "nva-2")
	if !errors.Is(err, ErrFenced) {
		t.Fatalf("Converge error %v, want ErrFenced", err)
	}
	if n := writeRequests(e.srv); n != 0 {
		t.Errorf("%d write requests, want none", n)
	}
	if got := members(t, e.srv, "nva-pool"); !reflect.DeepEqual(got, []string{"fw-a=10.0.1.4"}) {
		t.Errorf("members %v, want as seeded", got)
	}
	if r := rep.Resources[0]; r.Changed || !errors.Is(r.Err, ErrFenced) {
		t.Errorf("result %+v, want fenced", r)
	}
	ev := e.logs.events(EventConvergeFailed)
	if len(ev) != 1 || ev[0]["reason"] != "fenced" || ev[0]["backend_pool"] != "nva-pool" || ev[0]["resource_epoch"] != float64(9) {
		t.Errorf("converge_failed lines %v", ev)
	}
	// Plan says so, and writes nothing either.
	changes, err := e.eng.Plan(testCtx(t), "nva-2")
	if err != nil {
		t.Fatal(err)
	}
	if len(changes) != 1 || !strings.Contains(changes[0].Description, "fenced") {
		t.Errorf("plan %+v, want the change marked fenced", changes)
	}
}

func TestBackendPoolStampOnlyWhenAsked(t *testing.T) {
	e := newPoolEnv(t, lbJSON(`{"`+EpochTag+`":"3","owner":"netops"}`, poolJSON("nva-pool", "fw-b=10.0.1.5")), Options{Epoch: func() int64 { return 5 }}, "nva-pool")
	if _, err := e.eng.Converge(testCtx(t), "nva-2"); err != nil {
		t.Fatal(err)
	}
	if n := writeRequests(e.srv); n != 0 {
		t.Fatalf("a converged pool was written (%d requests) without Stamp", n)
	}
	rep, err := e.eng.ConvergeWith(testCtx(t), "nva-2", ConvergeOptions{Stamp: true})
	if err != nil {
		t.Fatal(err)
	}
	w := lbWrites(e.srv)
	if len(w) != 1 || !w[0].TagOnly(EpochTag) {
		t.Fatalf("writes %+v, want one tag-only write", w)
	}
	if r := rep.Resources[0]; !r.Stamped || r.Changed {
		t.Errorf("result %+v, want stamped only", r)
	}
	if got := path(t, resourceJSON(t, e.srv, lbID), "tags"); !reflect.DeepEqual(got, map[string]any{EpochTag: "5", "owner": "netops"}) {
		t.Errorf("tags %v", got)
	}
}

func TestBackendPoolETagRaceRereads(t *testing.T) {
	e := newPoolEnv(t, lbJSON(`{"owner":"netops"}`, poolJSON("nva-pool", "fw-a=10.0.1.4")), Options{}, "nva-pool")
	// Between the engine's GET and its PUT, someone tags the load balancer
	// and adds a member to the pool.
	var raced atomic.Bool
	e.srv.BeforeRequest(func(method, p string) {
		if method == "PUT" && strings.Contains(p, "/loadBalancers/lb-nva") && raced.CompareAndSwap(false, true) {
			body := lbJSON(`{"owner":"netops","changed-by":"other"}`, poolJSON("nva-pool", "fw-a=10.0.1.4", "added=10.0.1.77"))
			if err := e.srv.Seed(lbID, []byte(body)); err != nil {
				t.Errorf("seed the other writer's change: %v", err)
			}
		}
	})
	rep, err := e.eng.Converge(testCtx(t), "nva-2")
	e.srv.BeforeRequest(nil)
	if err != nil {
		t.Fatalf("Converge: %v", err)
	}
	if got := members(t, e.srv, "nva-pool"); !reflect.DeepEqual(got, []string{"fw-a=10.0.1.5", "added=10.0.1.77"}) {
		t.Errorf("members %v, want nva-2 and the other writer's member", got)
	}
	if got := path(t, resourceJSON(t, e.srv, lbID), "tags", "changed-by"); got != "other" {
		t.Errorf("the other writer's tag was lost")
	}
	var statuses []int
	for _, ev := range lbWrites(e.srv) {
		statuses = append(statuses, ev.Status)
	}
	if !reflect.DeepEqual(statuses, []int{412, 200}) {
		t.Errorf("load balancer write statuses %v, want 412 then an accepted write", statuses)
	}
	if r := rep.Resources[0]; r.Attempts != 2 || !r.Changed {
		t.Errorf("result %+v, want 2 attempts (412, re-read, write)", r)
	}
}

func TestBackendPoolRefusals(t *testing.T) {
	nicPool := `{"name":"nic-pool","properties":{"loadBalancerBackendAddresses":[{"name":"a","properties":{
		"networkInterfaceIPConfiguration":{"id":"` + nicID(nva1Int.name) + `/ipConfigurations/ipconfig1"}}}]}}`
	lb := lbJSON(`{}`, poolJSON("nva-pool", "fw-a=10.0.1.4"), nicPool)
	e := newPoolEnv(t, lb, Options{}, "nva-pool", "nic-pool", "ghost")
	rep, err := e.eng.Converge(testCtx(t), "nva-2")
	if err == nil {
		t.Fatal("Converge accepted a NIC-based and a missing pool")
	}
	byID := map[string]ResourceResult{}
	for _, r := range rep.Resources {
		byID[r.ID] = r
	}
	if r := byID[poolID("nva-pool")]; r.Err != nil || !r.Changed {
		t.Errorf("the IP-based pool of the same load balancer: %+v, want changed", r)
	}
	if got := members(t, e.srv, "nva-pool"); !reflect.DeepEqual(got, []string{"fw-a=10.0.1.5"}) {
		t.Errorf("nva-pool members %v", got)
	}
	nic := byID[poolID("nic-pool")]
	if nic.Err == nil || !strings.Contains(nic.Err.Error(), poolDocs) || !strings.Contains(nic.Err.Error(), "IP-based") || failureReason(nic.Err) != "unsafe" {
		t.Errorf("NIC-based pool: %v (reason %s)", nic.Err, failureReason(nic.Err))
	}
	ghost := byID[poolID("ghost")]
	if !errors.Is(ghost.Err, azure.ErrNotFound) || failureReason(ghost.Err) != "not_found" {
		t.Errorf("missing pool: %v", ghost.Err)
	}
	if n := writeRequests(e.srv); n != 1 {
		t.Errorf("%d write requests, want the one for nva-pool", n)
	}
	if after := path(t, resourceJSON(t, e.srv, lbID), "properties", "backendAddressPools", "name=nic-pool"); path(t, after, "properties", "loadBalancerBackendAddresses", "name=a", "properties", "networkInterfaceIPConfiguration", "id") == nil {
		t.Errorf("the NIC-based pool was changed: %s", jsonString(after))
	}
	var reasons []string
	for _, ev := range e.logs.events(EventConvergeFailed) {
		reasons = append(reasons, ev["backend_pool"].(string)+":"+ev["reason"].(string))
	}
	slices.Sort(reasons)
	if !reflect.DeepEqual(reasons, []string{"ghost:not_found", "nic-pool:unsafe"}) {
		t.Errorf("converge_failed lines %v", reasons)
	}
}

func TestBackendPoolPlanWritesNothing(t *testing.T) {
	lb := lbJSON(`{}`, poolJSON("nva-pool", "fw-a=10.0.1.4", "old=10.0.1.14", "fw-b=10.0.1.15", "scanner=10.0.1.99"), poolJSON("empty"))
	e := newPoolEnv(t, lb, Options{}, "nva-pool", "empty")
	changes, err := e.eng.Plan(testCtx(t), "nva-2")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, c := range changes {
		if c.Kind != KindBackendPool {
			t.Errorf("change %+v of kind %s", c, c.Kind)
		}
		got = append(got, c.Description)
	}
	want := []string{
		`pool "nva-pool": member 10.0.1.4 (nva-1) -> 10.0.1.5 (nva-2)`,
		`pool "nva-pool": remove member 10.0.1.14 (nva-1)`,
		`pool "empty": add member 10.0.1.5 (nva-2)`,
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("changes:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if n := writeRequests(e.srv); n != 0 {
		t.Errorf("Plan sent %d writes", n)
	}
}

func TestBackendPoolObserve(t *testing.T) {
	lb := lbJSON(`{"`+EpochTag+`":"4"}`, poolJSON("nva-pool", "fw-a=10.0.1.4", "scanner=10.0.1.99", "ext=10.0.2.5"), poolJSON("split", "a=10.0.1.4", "b=10.0.1.15"))
	e := newPoolEnv(t, lb, Options{}, "nva-pool", "split")
	ctx := testCtx(t)
	obs, err := e.eng.Observe(ctx)
	if err != nil {
		t.Fatal(err)
	}
	p := obs.BackendPools[0]
	if !reflect.DeepEqual(p.Members, []string{"10.0.1.4", "10.0.1.99", "10.0.2.5"}) || !reflect.DeepEqual(p.PointsAt, []string{"nva-1"}) ||
		!reflect.DeepEqual(p.Foreign, []string{"10.0.1.99"}) || p.Epoch != 4 || p.Err != nil || p.Via != "internal" {
		t.Errorf("nva-pool state %+v", p)
	}
	if s := obs.BackendPools[1]; !reflect.DeepEqual(s.PointsAt, []string{"nva-1", "nva-2"}) {
		t.Errorf("split state %+v", s)
	}
	if active, split := obs.Active(); active != "nva-1" || !split {
		t.Errorf("Active %q split %v, want nva-1, split", active, split)
	}
	if obs.MaxEpoch() != 4 {
		t.Errorf("MaxEpoch %d", obs.MaxEpoch())
	}
	if _, err := e.eng.Converge(ctx, "nva-2"); err != nil {
		t.Fatal(err)
	}
	obs, err = e.eng.Observe(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if active, split := obs.Active(); active != "nva-2" || split {
		t.Errorf("after the converge: Active %q split %v, want nva-2 alone", active, split)
	}
	if n := writeRequests(e.srv); n != 1 {
		t.Errorf("%d write requests, want one (Observe writes nothing)", n)
	}
}

func TestBackendPoolObserveUnreadable(t *testing.T) {
	e := newPoolEnv(t, lbJSON(`{}`, poolJSON("nva-pool", "fw-a=10.0.1.4")), Options{}, "nva-pool", "ghost")
	e.srv.InjectFault(armsim.Fault{Method: "GET", PathContains: "/loadBalancers/", Status: 403, Count: -1})
	obs, err := e.eng.Observe(context.Background())
	if err == nil {
		t.Fatal("Observe hid an unreadable load balancer")
	}
	if u := obs.Unreadable(); len(u) != 2 || !errors.Is(u[poolID("nva-pool")], azure.ErrForbidden) {
		t.Errorf("Unreadable %v", u)
	}
	if active, _ := obs.Active(); active != "" {
		t.Errorf("Active %q, want none", active)
	}
}

func TestBackendPoolMemberWithoutCounterpartIsLeftAlone(t *testing.T) {
	// nva-1's secondary address 10.0.1.14 (ipconfig2) is a member, and
	// nva-2's internal NIC has no ipconfig2: no address is guessed.
	e := newEnv(t, envOpts{custom: func(t testing.TB, srv *armsim.Server) Topology {
		seedTopology(t, srv, seedOpts{})
		seed(t, srv, nicID(nva2Int.name), `{"location":"westeurope","properties":{"enableIPForwarding":true,
			"ipConfigurations":[{"name":"ipconfig1","properties":{"primary":true,"privateIPAddress":"`+nva2Int.ip+`",
			"privateIPAllocationMethod":"Static","subnet":{"id":"`+vnetID+`/subnets/internal"}}}]}}`)
		seed(t, srv, lbID, lbJSON(`{}`, poolJSON("nva-pool", "fw-a=10.0.1.14", "scanner=10.0.1.99")))
		topo := topology(0)
		topo.PublicIPs = nil
		topo.BackendPools = []Managed{{ID: poolID("nva-pool"), Via: "internal"}}
		return topo
	}})
	rep, err := e.eng.Converge(testCtx(t), "nva-2")
	if err == nil || !strings.Contains(err.Error(), `no IPv4 ipconfig named "ipconfig2"`) || failureReason(rep.Resources[0].Err) != "unsafe" {
		t.Fatalf("Converge error %v, want the missing counterpart, reason unsafe", err)
	}
	if n := writeRequests(e.srv); n != 0 {
		t.Errorf("%d write requests, want none", n)
	}
	if got := members(t, e.srv, "nva-pool"); !reflect.DeepEqual(got, []string{"fw-a=10.0.1.14", "scanner=10.0.1.99"}) {
		t.Errorf("members %v, want as seeded", got)
	}
}
