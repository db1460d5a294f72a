package main

import (
	"bytes"
	"strings"
	"testing"

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
