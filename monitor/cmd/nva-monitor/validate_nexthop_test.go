package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/hanva/hanva/monitor/config"
	"github.com/hanva/hanva/monitor/internal/act"
)

func TestValidateWarnsAboutNextHopsNoFailoverCanMove(t *testing.T) {
	table := act.RouteTableState{ID: rid("routeTables", "rt-web"), Via: "internal", NVARoutes: 3, PointsAt: []string{"nva-1"},
		Roles: []string{"external", "internal"},
		Unmatched: []act.Unmatched{{Route: "default6", AddressPrefix: "::/0", NextHop: "fd00::4", From: "nva-1", To: "nva-2",
			Reason: `nic "nva2-int" of nva "nva-2" has no IPv6 ipconfig to take over from ipconfig "ipconfig-v6" of nic "nva1-int"`}},
		OffRole: []act.Route{{Name: "dmz", AddressPrefix: "10.5.0.0/16", NextHopType: "VirtualAppliance", NextHopIP: "10.0.2.4"}},
	}
	for _, tc := range []struct {
		name string
		rt   act.RouteTableState
		want []string
	}{
		{"a next hop without counterpart on another NVA is warned about", table, []string{
			`WARN  route table rt-web: a failover to nva-2 cannot move route "default6" (::/0): its next hop fd00::4 is on nva-1, nic "nva2-int" of nva "nva-2" has no IPv6 ipconfig`,
		}},
		{"a next hop on a NIC of another role than via is warned about", table, []string{
			`WARN  route table rt-web: route "dmz" (10.5.0.0/16) has next hop 10.0.2.4 on an NVA NIC of another role than via internal: a failover does not move it`,
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			c := &checker{w: &out}
			checkObserved(c, &config.Config{}, &act.Observed{RouteTables: []act.RouteTableState{tc.rt}})
			for _, w := range tc.want {
				if !strings.Contains(out.String(), w) {
					t.Errorf("output lacks\n%s\ngot:\n%s", w, out.String())
				}
			}
			if c.warnings < 2 {
				t.Errorf("%d warnings, want one per route at least", c.warnings)
			}
		})
	}
}

func TestValidateIsQuietAboutMatchedNextHops(t *testing.T) {
	var out bytes.Buffer
	c := &checker{w: &out}
	checkObserved(c, &config.Config{}, &act.Observed{RouteTables: []act.RouteTableState{{ID: rid("routeTables", "rt-web"), Via: "internal",
		NVARoutes: 2, PointsAt: []string{"nva-1"}, Roles: []string{"internal"}}}})
	if o := out.String(); strings.Contains(o, "cannot move") || strings.Contains(o, "another role") {
		t.Errorf("next-hop warnings for a table whose routes all match:\n%s", o)
	}
}

func TestPlanAndValidateShowAnIPv6RouteWithoutCounterpart(t *testing.T) {
	e := newValidateEnv(t)
	e.seed(t, vnet, `{"location":"westeurope","properties":{"addressSpace":{"addressPrefixes":["10.0.0.0/16","fd00:db8::/48"]},
		"subnets":[{"name":"nva","properties":{"addressPrefixes":["10.0.1.0/24","fd00:db8:0:1::/64"]}},
		           {"name":"mon","properties":{"addressPrefix":"10.0.2.0/24"}}]}}`)
	e.seed(t, rid("networkInterfaces", "nva1-int"), `{"location":"westeurope","properties":{"enableIPForwarding":true,
		"ipConfigurations":[{"name":"ipconfig1","properties":{"primary":true,"privateIPAddress":"10.0.1.4","subnet":{"id":"`+vnet+`/subnets/nva"}}},
		{"name":"ipconfig-v6","properties":{"privateIPAddress":"fd00:db8:0:1::4","privateIPAddressVersion":"IPv6","subnet":{"id":"`+vnet+`/subnets/nva"}}}]}}`)
	e.seed(t, rid("routeTables", "rt-web"), `{"location":"westeurope","properties":{"routes":[
		{"name":"default","properties":{"addressPrefix":"0.0.0.0/0","nextHopType":"VirtualAppliance","nextHopIpAddress":"10.0.1.4"}},
		{"name":"default6","properties":{"addressPrefix":"::/0","nextHopType":"VirtualAppliance","nextHopIpAddress":"fd00:db8:0:1::4"}}]}}`)

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var out, errb bytes.Buffer
	if code := run(ctx, []string{"plan", "--config", e.path, "--to", "nva-2"}, &out, &errb); code != 0 {
		t.Fatalf("plan exit %d: %s%s", code, out.String(), errb.String())
	}
	for _, want := range []string{
		"would make 1 change(s)",
		`route "default" (0.0.0.0/0) next hop 10.0.1.4 -> 10.0.1.5`,
		"UNMATCHED: 1 route(s) would be left alone",
		`route "default6" (::/0) next hop fd00:db8:0:1::4 of nva "nva-1" left alone: nic "nva2-int" of nva "nva-2" has no IPv6 ipconfig`,
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("plan output lacks %q:\n%s", want, out.String())
		}
	}

	_, vout := e.validate(t)
	if !strings.Contains(vout, `WARN  route table rt-web: a failover to nva-2 cannot move route "default6" (::/0)`) {
		t.Errorf("validate does not warn about default6:\n%s", vout)
	}
}
