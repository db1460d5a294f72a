package act

import (
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hanva/hanva/monitor/internal/azure"
	"github.com/hanva/hanva/testenv/armsim"
)

func TestObserveFindsWhereResourcesPoint(t *testing.T) {
	on := func(ips ...string) func(int) string { return func(i int) string { return ips[i%len(ips)] } }
	tests := []struct {
		name       string
		seed       seedOpts
		extra      func(t *testing.T, e *env) // changes after seeding
		wantActive string
		wantSplit  bool
		wantPoints [][]string // per table
		wantPIP    string     // AttachedTo
		wantMixed  []bool
	}{
		{
			name:       "everything on nva-1 is nva-1, not split",
			seed:       seedOpts{tables: 2, pipOn: nva1Ext.name},
			wantActive: "nva-1", wantPoints: [][]string{{"nva-1"}, {"nva-1"}}, wantPIP: "nva-1",
		},
		{
			name:       "three tables on nva-2 and the public IP on nva-1 is nva-2, split",
			seed:       seedOpts{tables: 3, hop: on(nva2Int.ip), pipOn: nva1Ext.name},
			wantActive: "nva-2", wantSplit: true,
			wantPoints: [][]string{{"nva-2"}, {"nva-2"}, {"nva-2"}}, wantPIP: "nva-1",
		},
		{
			name:       "a tie goes to the first NVA in order",
			seed:       seedOpts{tables: 1, hop: on(nva2Int.ip), pipOn: nva1Ext.name},
			wantActive: "nva-1", wantSplit: true, wantPoints: [][]string{{"nva-2"}}, wantPIP: "nva-1",
		},
		{
			name:       "a detached public IP points nowhere: split",
			seed:       seedOpts{tables: 2, hop: on(nva2Int.ip)},
			wantActive: "nva-2", wantSplit: true, wantPoints: [][]string{{"nva-2"}, {"nva-2"}}, wantPIP: "",
		},
		{
			name:       "a public IP on a NIC that is not an NVA's is attached to no NVA",
			seed:       seedOpts{tables: 1, pipOn: jump.name},
			wantActive: "nva-1", wantSplit: true, wantPoints: [][]string{{"nva-1"}}, wantPIP: "",
		},
		{
			name: "a table with routes over both roles of one NVA is mixed but not split",
			seed: seedOpts{tables: 1, pipOn: nva1Ext.name},
			extra: func(t *testing.T, e *env) {
				seed(t, e.srv, rtID(0), `{"location":"westeurope","properties":{"routes":[
					{"name":"a","properties":{"addressPrefix":"0.0.0.0/0","nextHopType":"VirtualAppliance","nextHopIpAddress":"`+nva1Int.ip+`"}},
					{"name":"b","properties":{"addressPrefix":"10.7.0.0/16","nextHopType":"VirtualAppliance","nextHopIpAddress":"`+nva1Ext.ip+`"}}]}}`)
			},
			wantActive: "nva-1", wantPoints: [][]string{{"nva-1"}}, wantPIP: "nva-1", wantMixed: []bool{true},
		},
		{
			name: "a table pointing at both NVAs is split",
			seed: seedOpts{tables: 2, pipOn: nva1Ext.name},
			extra: func(t *testing.T, e *env) {
				seed(t, e.srv, rtID(1), `{"location":"westeurope","properties":{"routes":[
					{"name":"a","properties":{"addressPrefix":"0.0.0.0/0","nextHopType":"VirtualAppliance","nextHopIpAddress":"`+nva2Int.ip+`"}},
					{"name":"b","properties":{"addressPrefix":"10.7.0.0/16","nextHopType":"VirtualAppliance","nextHopIpAddress":"`+nva1Int.ip+`"}}]}}`)
			},
			wantActive: "nva-1", wantSplit: true, wantPoints: [][]string{{"nva-1"}, {"nva-1", "nva-2"}}, wantPIP: "nva-1",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, envOpts{seed: tt.seed})
			if tt.extra != nil {
				tt.extra(t, e)
			}
			obs, err := e.eng.Observe(testCtx(t))
			if err != nil {
				t.Fatal(err)
			}
			for i, rt := range obs.RouteTables {
				if !slices.Equal(rt.PointsAt, tt.wantPoints[i]) {
					t.Errorf("table %d points at %v, want %v", i, rt.PointsAt, tt.wantPoints[i])
				}
				wantMixed := tt.wantMixed != nil && tt.wantMixed[i]
				if rt.Mixed != wantMixed {
					t.Errorf("table %d mixed = %v, want %v", i, rt.Mixed, wantMixed)
				}
				wantRoles := []string{"internal"}
				if wantMixed {
					wantRoles = []string{"external", "internal"}
				}
				if !slices.Equal(rt.Roles, wantRoles) {
					t.Errorf("table %d roles = %v, want %v", i, rt.Roles, wantRoles)
				}
				if rt.NVARoutes != 2 {
					t.Errorf("table %d has %d NVA routes, want 2 (the Internet route and the foreign appliance are not NVA routes)", i, rt.NVARoutes)
				}
			}
			if got := obs.PublicIPs[0].AttachedTo; got != tt.wantPIP {
				t.Errorf("public IP attached to %q, want %q", got, tt.wantPIP)
			}
			if got := obs.PublicIPs[0].Address; got != pipAddr {
				t.Errorf("public IP address %q, want %q", got, pipAddr)
			}
			active, split := obs.Active()
			if active != tt.wantActive || split != tt.wantSplit {
				t.Errorf("Active() = %q, %v; want %q, %v", active, split, tt.wantActive, tt.wantSplit)
			}
		})
	}
}

func TestObserveReportsNICs(t *testing.T) {
	e := newEnv(t, envOpts{seed: seedOpts{tables: 1, pipOn: nva1Ext.name}})
	obs, err := e.eng.Observe(testCtx(t))
	if err != nil {
		t.Fatal(err)
	}
	state := func(n nicSpec, nva, role string) NICState {
		return NICState{ID: nicID(n.name), NVA: nva, Role: role, PrivateIP: n.ip, PrivateIPs: []string{n.ip, n.ip2},
			IPForwarding: true, Exists: true}
	}
	want := map[string]NICState{
		nicID(nva1Int.name): state(nva1Int, "nva-1", "internal"),
		nicID(nva1Ext.name): state(nva1Ext, "nva-1", "external"),
		nicID(nva2Int.name): state(nva2Int, "nva-2", "internal"),
		nicID(nva2Ext.name): state(nva2Ext, "nva-2", "external"),
	}
	if len(obs.NICs) != len(want) {
		t.Fatalf("got %d NICs, want %d", len(obs.NICs), len(want))
	}
	for id, w := range want {
		if got := obs.NICs[id]; !reflect.DeepEqual(got, w) {
			t.Errorf("NIC %s = %+v, want %+v", id, got, w)
		}
	}
	if rs := obs.RouteTables[0].Routes; len(rs) != 4 ||
		rs[3] != (Route{Name: "scanner", AddressPrefix: "10.9.0.0/16", NextHopType: "VirtualAppliance", NextHopIP: "10.0.1.99"}) ||
		rs[2] != (Route{Name: "internet", AddressPrefix: "20.0.0.0/8", NextHopType: "Internet"}) {
		t.Errorf("routes of rt-0 as read = %+v, want all four of routeTableJSON", rs)
	}
	p := obs.PublicIPs[0]
	if p.NIC != nicID(nva1Ext.name) || p.IPConfig != "ipconfig1" {
		t.Errorf("public IP on %s/%s, want nva1-ext/ipconfig1", p.NIC, p.IPConfig)
	}
}

func TestActiveCountsVotes(t *testing.T) {
	order := []string{"a", "b", "c"}
	tables := func(points ...[]string) []RouteTableState {
		var out []RouteTableState
		for _, p := range points {
			out = append(out, RouteTableState{PointsAt: p, NVARoutes: len(p)})
		}
		return out
	}
	tests := []struct {
		name      string
		obs       Observed
		wantName  string
		wantSplit bool
	}{
		{"nothing managed is no NVA and no split", Observed{}, "", false},
		{"one table on b is b", Observed{RouteTables: tables([]string{"b"})}, "b", false},
		{"a tie between c and b goes to b, the first in order", Observed{RouteTables: tables([]string{"c"}, []string{"b"})}, "b", true},
		{"the majority wins over order", Observed{RouteTables: tables([]string{"c"}, []string{"c"}, []string{"a"})}, "c", true},
		{"a table without NVA routes counts neither way", Observed{RouteTables: tables([]string{"a"}, nil)}, "a", false},
		{"a table pointing at two NVAs is split", Observed{RouteTables: tables([]string{"a", "b"})}, "", true},
		{"everything pointing nowhere is no NVA, split", Observed{RouteTables: tables(nil), PublicIPs: []PublicIPState{{}}}, "", true},
		{"public IPs vote too", Observed{RouteTables: tables([]string{"a"}), PublicIPs: []PublicIPState{{AttachedTo: "b"}, {AttachedTo: "b"}}}, "b", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.obs.order = order
			name, split := tt.obs.Active()
			if name != tt.wantName || split != tt.wantSplit {
				t.Errorf("Active() = %q, %v; want %q, %v", name, split, tt.wantName, tt.wantSplit)
			}
		})
	}
}

// Observe reads route tables without the SDK's models (readRouteTable): a
// table it cannot read carries an error classified as the SDK's would be,
// naming the table, and votes neither way; the others are decoded in full
// (every route in order, the epoch tag) and cached as ARM sent them.
func TestObserveRouteTableErrorsAndDecoding(t *testing.T) {
	e := newEnv(t, envOpts{seed: seedOpts{tables: 4, pipOn: nva1Ext.name}})
	e.srv.InjectFault(armsim.Fault{Method: "GET", PathContains: "/routeTables/rt-1", Status: 403, Code: "AuthorizationFailed", Count: -1})
	e.srv.InjectFault(armsim.Fault{Method: "GET", PathContains: "/routeTables/rt-2", Status: 404, Code: "ResourceNotFound", Count: -1})
	obs, err := e.eng.Observe(testCtx(t))
	if err == nil {
		t.Fatal("Observe with two unreadable tables returned no error")
	}
	un := obs.Unreadable()
	for id, want := range map[string]error{rtID(1): azure.ErrForbidden, rtID(2): azure.ErrNotFound} {
		if !errors.Is(un[id], want) || !strings.Contains(un[id].Error(), `get route table "`+id[strings.LastIndex(id, "/")+1:]+`"`) {
			t.Errorf("%s: error %v, want %v naming the table", id, un[id], want)
		}
	}
	if len(un) != 2 {
		t.Errorf("unreadable: %v, want rt-1 and rt-2 only", un)
	}
	want := []Route{
		{Name: "default", AddressPrefix: "0.0.0.0/0", NextHopType: "VirtualAppliance", NextHopIP: nva1Int.ip},
		{Name: "spokes", AddressPrefix: "10.8.0.0/16", NextHopType: "VirtualAppliance", NextHopIP: nva1Int.ip},
		{Name: "internet", AddressPrefix: "20.0.0.0/8", NextHopType: "Internet"},
		{Name: "scanner", AddressPrefix: "10.9.0.0/16", NextHopType: "VirtualAppliance", NextHopIP: "10.0.1.99"},
	}
	for _, i := range []int{0, 3} {
		rt := obs.RouteTables[i]
		if rt.Err != nil || !reflect.DeepEqual(rt.Routes, want) || !slices.Equal(rt.PointsAt, []string{"nva-1"}) || rt.NVARoutes != 2 {
			t.Errorf("rt-%d: %+v, want routes %+v pointing at nva-1 with 2 NVA routes", i, rt, want)
		}
		cached, ok := e.eng.tables.get(e.eng.x.tables[i].res, time.Time{})
		if !ok || cached.Etag == nil || *cached.Etag == "" || len(cached.Properties.Routes) != 4 || deref(cached.Tags["owner"]) != "netops" {
			t.Errorf("rt-%d: cached %+v, want the table as read, with its etag", i, cached)
		}
	}
	if name, split := obs.Active(); name != "nva-1" || split {
		t.Errorf("Active() = %q, %v; want nva-1 and not split (the unreadable tables do not vote)", name, split)
	}
}
