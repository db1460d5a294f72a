package act

import (
	"context"
	"strings"
	"testing"

	"github.com/hanva/hanva/testenv/armsim"
)

// The dual-stack topology: subnets with an IPv4 and an IPv6 prefix; each
// NVA's internal NIC has a primary IPv4 ipconfig, a secondary IPv4
// "ipconfig2" and an IPv6 "ipconfig-v6"; nva-1's also has "ipconfig3",
// which nva-2 lacks. The external NICs carry an IPv4 and an IPv6 public IP;
// nva-2's IPv6 ipconfig has another name than nva-1's.
const (
	pip6ID   = netPath + "/publicIPAddresses/pip-6"
	nva1Int6 = "fd00:db8:0:1::4"
	nva2Int6 = "fd00:db8:0:1::5"
)

type dualOpts struct {
	nva2IntWithoutV6 bool // nva-2's internal NIC has no IPv6 ipconfig
}

func dualStack(o dualOpts) func(t testing.TB, srv *armsim.Server) Topology {
	return func(t testing.TB, srv *armsim.Server) Topology {
		seed(t, srv, vnetID, `{"location":"westeurope","properties":{"addressSpace":{"addressPrefixes":["10.0.0.0/16","fd00:db8::/48"]},
			"subnets":[{"name":"internal","properties":{"addressPrefixes":["10.0.1.0/24","fd00:db8:0:1::/64"]}},
			           {"name":"external","properties":{"addressPrefixes":["10.0.2.0/24","fd00:db8:0:2::/64"]}}]}}`)
		seed(t, srv, pipID, `{"location":"westeurope","sku":{"name":"Standard","tier":"Regional"},
			"properties":{"ipAddress":"20.1.2.3","publicIPAllocationMethod":"Static","publicIPAddressVersion":"IPv4"}}`)
		seed(t, srv, pip6ID, `{"location":"westeurope","sku":{"name":"Standard","tier":"Regional"},
			"properties":{"ipAddress":"2001:db8::6","publicIPAllocationMethod":"Static","publicIPAddressVersion":"IPv6"}}`)
		ipc := func(name, subnet, addr, extra string) string {
			v := "IPv4"
			if strings.Contains(addr, ":") {
				v = "IPv6"
			}
			return `{"name":"` + name + `","properties":{"privateIPAddress":"` + addr + `","privateIPAddressVersion":"` + v +
				`","privateIPAllocationMethod":"Static","subnet":{"id":"` + vnetID + `/subnets/` + subnet + `"}` + extra + `}}`
		}
		nic := func(name string, ipcs ...string) {
			seed(t, srv, nicID(name), `{"location":"westeurope","properties":{"enableIPForwarding":true,"ipConfigurations":[`+
				strings.Join(ipcs, ",")+`]}}`)
		}
		primary := `,"primary":true`
		nic("nva1-int", ipc("ipconfig1", "internal", "10.0.1.4", primary), ipc("ipconfig2", "internal", "10.0.1.14", ""),
			ipc("ipconfig-v6", "internal", nva1Int6, ""), ipc("ipconfig3", "internal", "10.0.1.24", ""))
		nva2Int := []string{ipc("ipconfig1", "internal", "10.0.1.5", primary), ipc("ipconfig2", "internal", "10.0.1.15", "")}
		if !o.nva2IntWithoutV6 {
			nva2Int = append(nva2Int, ipc("ipconfig-v6", "internal", nva2Int6, ""))
		}
		nic("nva2-int", nva2Int...)
		nic("nva1-ext", ipc("ipconfig1", "external", "10.0.2.4", primary+`,"publicIPAddress":{"id":"`+pipID+`"}`),
			ipc("ipconfig-v6", "external", "fd00:db8:0:2::4", `,"publicIPAddress":{"id":"`+pip6ID+`"}`))
		nic("nva2-ext", ipc("ipconfig1", "external", "10.0.2.5", primary), ipc("v6", "external", "fd00:db8:0:2::5", ""))

		route := func(name, prefix, hop string) string {
			return `{"name":"` + name + `","properties":{"addressPrefix":"` + prefix + `","nextHopType":"VirtualAppliance","nextHopIpAddress":"` + hop + `"}}`
		}
		seed(t, srv, rtID(0), `{"location":"westeurope","properties":{"routes":[`+strings.Join([]string{
			route("default", "0.0.0.0/0", "10.0.1.4"),
			route("default6", "::/0", "fd00:db8:0:1:0:0:0:4"), // another textual form of nva1Int6
			route("spokes6", "fd00:1::/64", nva1Int6),
			route("secondary", "10.8.0.0/16", "10.0.1.14"),
			route("orphan", "10.7.0.0/16", "10.0.1.24"),
			route("scanner6", "fd00:9::/64", "fd00:db8:0:1::99"),
		}, ",")+`]}}`)
		seed(t, srv, rtID(1), `{"location":"westeurope","properties":{"routes":[`+route("only6", "::/0", nva1Int6)+`]}}`)
		return Topology{
			NVAs: []NVA{
				{Name: "nva-1", NICs: map[string]string{"internal": nicID("nva1-int"), "external": nicID("nva1-ext")}},
				{Name: "nva-2", NICs: map[string]string{"internal": nicID("nva2-int"), "external": nicID("nva2-ext")}},
			},
			RouteTables: []Managed{{ID: rtID(0), Via: "internal"}, {ID: rtID(1), Via: "internal"}},
			PublicIPs:   []Managed{{ID: pipID, Via: "external"}, {ID: pip6ID, Via: "external"}},
		}
	}
}

// hops returns route name -> next hop of a route table in armsim.
func hops(t *testing.T, e *env, id string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, r := range path(t, resourceJSON(t, e.srv, id), "properties", "routes").([]any) {
		m := r.(map[string]any)
		p := m["properties"].(map[string]any)
		hop, _ := p["nextHopIpAddress"].(string)
		out[m["name"].(string)] = hop
	}
	return out
}

// pipOn returns the ipconfig ID a public IP is attached to in armsim.
func pipOn(t *testing.T, e *env, id string) string {
	t.Helper()
	ref, _ := path(t, resourceJSON(t, e.srv, id), "properties").(map[string]any)["ipConfiguration"].(map[string]any)
	if ref == nil {
		return ""
	}
	return ref["id"].(string)
}

func TestConvergeMovesIPv4AndIPv6RoutesAndPublicIPsOfADualStackNVA(t *testing.T) {
	e := newEnv(t, envOpts{custom: dualStack(dualOpts{})})
	rep, err := e.eng.Converge(testCtx(t), "nva-2")
	if err != nil {
		t.Fatalf("converge: %v", err)
	}
	want := map[string]string{
		"default":   "10.0.1.5",
		"default6":  nva2Int6, // matched parsed, written in canonical form
		"spokes6":   nva2Int6,
		"secondary": "10.0.1.15",        // same-named ipconfig
		"orphan":    "10.0.1.24",        // no ipconfig3 on nva-2: left alone
		"scanner6":  "fd00:db8:0:1::99", // not an NVA's
	}
	got := hops(t, e, rtID(0))
	for name, hop := range want {
		if got[name] != hop {
			t.Errorf("route %q next hop %q, want %q", name, got[name], hop)
		}
	}
	if got := hops(t, e, rtID(1))["only6"]; got != nva2Int6 {
		t.Errorf("IPv6-only table: next hop %q, want %q", got, nva2Int6)
	}
	if got, want := pipOn(t, e, pipID), nicID("nva2-ext")+"/ipConfigurations/ipconfig1"; !strings.EqualFold(got, want) {
		t.Errorf("IPv4 public IP on %s, want %s", got, want)
	}
	if got, want := pipOn(t, e, pip6ID), nicID("nva2-ext")+"/ipConfigurations/v6"; !strings.EqualFold(got, want) {
		t.Errorf("IPv6 public IP on %s, want %s (the target's primary IPv6 ipconfig: no ipconfig-v6 there)", got, want)
	}

	un := rep.Resources[0].Unmatched
	if len(un) != 1 || un[0].Route != "orphan" || un[0].NextHop != "10.0.1.24" || un[0].From != "nva-1" ||
		!strings.Contains(un[0].Reason, `no IPv4 ipconfig named "ipconfig3"`) {
		t.Fatalf("report of rt-0: unmatched %+v, want the orphan route with why", un)
	}
	ev := e.logs.events(EventRouteUnmatched)
	if len(ev) != 1 || ev[0]["route"] != "orphan" || ev[0][keyRouteTable] != "rt-0" {
		t.Fatalf("route_unmatched events: %v", ev)
	}

	// A second Converge has nothing to write, and still reports the orphan.
	before := writeRequests(e.srv)
	rep, err = e.eng.Converge(testCtx(t), "nva-2")
	if err != nil {
		t.Fatal(err)
	}
	if n := writeRequests(e.srv) - before; n != 0 {
		t.Errorf("second converge wrote %d times", n)
	}
	if len(rep.Resources[0].Unmatched) != 1 {
		t.Errorf("second converge: unmatched %+v", rep.Resources[0].Unmatched)
	}
}

func TestAnIPv6NextHopWithoutCounterpartIsLeftAloneNotMadeIPv4(t *testing.T) {
	e := newEnv(t, envOpts{custom: dualStack(dualOpts{nva2IntWithoutV6: true})})
	changes, err := e.eng.Plan(testCtx(t), "nva-2")
	if err != nil {
		t.Fatalf("plan: %v", err)
	}
	var unmatched []string
	for _, c := range changes {
		if c.Unmatched {
			unmatched = append(unmatched, c.Description)
		}
	}
	if len(unmatched) != 4 { // default6, spokes6, orphan, only6
		t.Fatalf("plan lists unmatched %q, want 4", unmatched)
	}
	if !strings.Contains(strings.Join(unmatched, "\n"), `nic "nva2-int" of nva "nva-2" has no IPv6 ipconfig`) {
		t.Errorf("plan does not say why:\n%s", strings.Join(unmatched, "\n"))
	}

	rep, err := e.eng.Converge(testCtx(t), "nva-2")
	if err != nil {
		t.Fatalf("converge: %v", err)
	}
	got := hops(t, e, rtID(0))
	if got["default6"] != "fd00:db8:0:1:0:0:0:4" || got["spokes6"] != nva1Int6 || got["default"] != "10.0.1.5" {
		t.Errorf("next hops %v: IPv6 ones must stay, IPv4 move", got)
	}
	if got := hops(t, e, rtID(1))["only6"]; got != nva1Int6 {
		t.Errorf("IPv6-only table: next hop %q, want it left at %q", got, nva1Int6)
	}
	if n := len(rep.Resources[1].Unmatched); n != 1 || rep.Resources[1].Changed {
		t.Errorf("IPv6-only table: changed %v, unmatched %+v", rep.Resources[1].Changed, rep.Resources[1].Unmatched)
	}
}

func TestObserveRecognisesEveryAddressOfADualStackNVA(t *testing.T) {
	e := newEnv(t, envOpts{custom: dualStack(dualOpts{})})
	obs, err := e.eng.Observe(testCtx(t))
	if err != nil {
		t.Fatal(err)
	}
	rt0, rt1 := obs.RouteTables[0], obs.RouteTables[1]
	if rt0.NVARoutes != 5 || len(rt0.PointsAt) != 1 || rt0.PointsAt[0] != "nva-1" {
		t.Errorf("rt-0: %d NVA routes on %v, want 5 on nva-1", rt0.NVARoutes, rt0.PointsAt)
	}
	if rt1.NVARoutes != 1 || len(rt1.PointsAt) != 1 || rt1.PointsAt[0] != "nva-1" {
		t.Errorf("IPv6-only rt-1: %d NVA routes on %v, want 1 on nva-1", rt1.NVARoutes, rt1.PointsAt)
	}
	if len(rt0.Unmatched) != 1 || rt0.Unmatched[0].Route != "orphan" || rt0.Unmatched[0].To != "nva-2" {
		t.Errorf("rt-0 unmatched %+v, want the orphan route, not failable to nva-2", rt0.Unmatched)
	}
	if name, split := obs.Active(); name != "nva-1" || split {
		t.Errorf("Active = %q split %v, want nva-1 and no split", name, split)
	}

	if _, err := e.eng.Converge(context.Background(), "nva-2"); err != nil {
		t.Fatal(err)
	}
	obs, err = e.eng.Observe(testCtx(t))
	if err != nil {
		t.Fatal(err)
	}
	if pa := obs.RouteTables[1].PointsAt; len(pa) != 1 || pa[0] != "nva-2" {
		t.Errorf("IPv6-only rt-1 after failover points at %v, want nva-2", pa)
	}
	if pa := obs.RouteTables[0].PointsAt; len(pa) != 1 || pa[0] != "nva-2" {
		t.Errorf("rt-0 after failover points at %v, want nva-2 (the orphan route, still on nva-1, does not vote)", pa)
	}
	if name, split := obs.Active(); name != "nva-2" || split {
		t.Errorf("Active after failover = %q split %v, want nva-2 and no split", name, split)
	}
}
