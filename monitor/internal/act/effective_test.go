package act

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hanva/hanva/monitor/internal/azure"
	"github.com/hanva/hanva/testenv/armsim"
)

func TestEffectiveRoutesOfAMonitorNICOutsideTheTopology(t *testing.T) {
	e := newEnv(t, envOpts{sim: armsim.Options{LROLatency: 30 * time.Millisecond}, seed: seedOpts{tables: 1}})
	// A monitor subnet associated with rt-0, whose default route goes to nva-1.
	seed(t, e.srv, vnetID, `{"location":"westeurope","properties":{"addressSpace":{"addressPrefixes":["10.0.0.0/16"]},
		"subnets":[{"name":"internal","properties":{"addressPrefix":"10.0.1.0/24"}},
		           {"name":"external","properties":{"addressPrefix":"10.0.2.0/24"}},
		           {"name":"mon","properties":{"addressPrefix":"10.0.3.0/24","routeTable":{"id":"`+rtID(0)+`"}}}]}}`)
	seed(t, e.srv, nicID("mon-1-nic"), `{"location":"westeurope","properties":{"ipConfigurations":[
		{"name":"ipconfig1","properties":{"privateIPAddress":"10.0.3.4","subnet":{"id":"`+vnetID+`/subnets/mon"}}}]}}`)

	routes, err := e.eng.EffectiveRoutes(testCtx(t), nicID("mon-1-nic"))
	if err != nil {
		t.Fatal(err)
	}
	want := EffectiveRoute{Name: "default", Source: "User", State: "Active", Prefixes: []string{"0.0.0.0/0"},
		NextHopType: "VirtualAppliance", NextHopIPs: []string{nva1Int.ip}}
	found := false
	for _, r := range routes {
		found = found || (r.Name == want.Name && r.Source == want.Source && r.State == want.State &&
			slices.Equal(r.Prefixes, want.Prefixes) && r.NextHopType == want.NextHopType && slices.Equal(r.NextHopIPs, want.NextHopIPs))
		if r.Source == "Default" && slices.Equal(r.Prefixes, []string{"0.0.0.0/0"}) && r.State != "Invalid" {
			t.Errorf("the system default route is %s although rt-0 overrides it", r.State)
		}
	}
	if !found {
		t.Errorf("effective routes lack %+v:\n%+v", want, routes)
	}

	// A monitor NIC in a subscription the topology does not name.
	other := strings.Replace(nicID("mon-2-nic"), testSub, "00000000-0000-0000-0000-0000000000bb", 1)
	seed(t, e.srv, other, `{"location":"westeurope","properties":{"ipConfigurations":[
		{"name":"ipconfig1","properties":{"privateIPAddress":"10.0.3.5","subnet":{"id":"`+vnetID+`/subnets/mon"}}}]}}`)
	if routes, err := e.eng.EffectiveRoutes(testCtx(t), other); err != nil || len(routes) == 0 {
		t.Errorf("effective routes of a NIC in another subscription: %d routes, %v", len(routes), err)
	}

	_, err = e.eng.EffectiveRoutes(testCtx(t), nicID("no-such-nic"))
	if !errors.Is(err, azure.ErrNotFound) || !strings.Contains(err.Error(), `get effective routes of nic "no-such-nic"`) {
		t.Errorf("a missing NIC: %v, want ErrNotFound naming it", err)
	}
	if _, err := e.eng.EffectiveRoutes(testCtx(t), rtID(0)); err == nil {
		t.Error("a route table ID was accepted as a NIC")
	}
}
