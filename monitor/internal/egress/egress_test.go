package egress

import (
	"context"
	"net"
	"net/netip"
	"strings"
	"testing"
)

// system is the Default routes of a subnet in 10.0.0.0/16, as Azure lists them.
func system(overridden ...string) []Route {
	state := func(p string) string {
		for _, o := range overridden {
			if o == p {
				return "Invalid"
			}
		}
		return "Active"
	}
	var out []Route
	for _, r := range []struct{ p, hop string }{
		{"10.0.0.0/16", "VnetLocal"}, {"0.0.0.0/0", "Internet"}, {"10.0.0.0/8", "None"},
		{"172.16.0.0/12", "None"}, {"192.168.0.0/16", "None"}, {"100.64.0.0/10", "None"},
	} {
		out = append(out, Route{Source: "Default", State: state(r.p), Prefixes: []string{r.p}, NextHopType: r.hop})
	}
	return out
}

func user(name, prefix, hop string, ips ...string) Route {
	return Route{Name: name, Source: "User", State: "Active", Prefixes: []string{prefix}, NextHopType: hop, NextHopIPs: ips}
}

func with(base []Route, extra ...Route) []Route { return append(base, extra...) }

var (
	env = Env{
		NVAs: map[netip.Addr]NVA{
			netip.MustParseAddr("10.0.1.4"):   {Name: "nva-1", Role: "internal", NIC: "nva1-int"},
			netip.MustParseAddr("10.0.1.5"):   {Name: "nva-2", Role: "internal", NIC: "nva2-int"},
			netip.MustParseAddr("10.0.1.100"): {Name: "nva-1", Role: "internal", NIC: "nva1-int"}, // a floating secondary IP
		},
		Tables: []Table{{Name: "rt-web", Routes: []Route{
			{Name: "default", Prefixes: []string{"0.0.0.0/0"}, NextHopType: "VirtualAppliance", NextHopIPs: []string{"10.0.1.4"}},
		}}},
	}
	armPublic   = Destination{Name: "ARM", Host: "management.azure.com", Addr: netip.MustParseAddr("20.37.158.0"), Tags: []string{TagARM}}
	armLoopback = Destination{Name: "ARM", Host: "127.0.0.1", Addr: netip.MustParseAddr("127.0.0.1"), Tags: []string{TagARM}}
	storage     = Destination{Name: "Storage", Host: "sthanva.blob.core.windows.net", Addr: netip.MustParseAddr("20.60.1.2"), Tags: []string{TagStorage}}
	storagePE   = Destination{Name: "Storage", Host: "sthanva.blob.core.windows.net", Addr: netip.MustParseAddr("10.0.3.7"), Tags: []string{TagStorage}}
	unresolved  = Destination{Name: "Storage", Host: "sthanva.blob.core.windows.net", Tags: []string{TagStorage}}
)

func TestJudge(t *testing.T) {
	tests := []struct {
		name   string
		routes []Route
		dst    Destination
		level  Level
		route  string // the chosen route's first prefix, "" for none
		says   []string
	}{
		{"the default route to the Internet passes", system(), armPublic, OK, "0.0.0.0/0",
			[]string{"traffic to ARM (management.azure.com, 20.37.158.0)", "Internet next hop", "default-outbound-access"}},
		{"a loopback endpoint is judged by the default route", system(), armLoopback, OK, "0.0.0.0/0",
			[]string{"127.0.0.1: not routed by the subnet, so judged by the 0.0.0.0/0 route"}},
		{"an unresolved host is judged by the default route", system(), unresolved, OK, "0.0.0.0/0",
			[]string{"not resolved, so judged by the 0.0.0.0/0 route"}},
		{"a default route through a managed NVA fails, naming the NVA and its route table",
			with(system("0.0.0.0/0"), user("default", "0.0.0.0/0", "VirtualAppliance", "10.0.1.4")), armPublic, Fail, "0.0.0.0/0",
			[]string{`the User route "default" (0.0.0.0/0) of route table rt-web (managed by this monitor)`,
				"to 10.0.1.4, the internal NIC nva1-int of NVA nva-1", "when nva-1 fails the monitors lose ARM",
				"0.0.0.0/0 -> Internet", "NAT gateway", "virtual-networks-udr-overview"}},
		{"a route to an NVA's floating secondary IP fails too",
			with(system("0.0.0.0/0"), user("default", "0.0.0.0/0", "VirtualAppliance", "10.0.1.100")), storage, Fail, "0.0.0.0/0",
			[]string{"of the route table on the monitor's subnet", "NVA nva-1"}},
		{"a more specific route through an NVA fails although 0.0.0.0/0 goes out",
			with(system(), user("azure", "20.0.0.0/8", "VirtualAppliance", "10.0.1.5")), armPublic, Fail, "20.0.0.0/8",
			[]string{"NVA nva-2"}},
		{"a next hop None fails", with(system("0.0.0.0/0"), user("drop", "0.0.0.0/0", "None")), armPublic, Fail, "0.0.0.0/0",
			[]string{"next hop None: Azure drops it", "0.0.0.0/0 -> Internet"}},
		{"no covering route fails", system("0.0.0.0/0"), armPublic, Fail, "",
			[]string{"no Active effective route covers traffic to ARM"}},
		{"an appliance the monitor does not manage is a warning",
			with(system("0.0.0.0/0"), user("default", "0.0.0.0/0", "VirtualAppliance", "10.9.0.4")), armPublic, Warn, "0.0.0.0/0",
			[]string{"to the appliance 10.9.0.4, which is none of the managed NVAs"}},
		{"a virtual appliance route without an address fails",
			with(system("0.0.0.0/0"), user("default", "0.0.0.0/0", "VirtualAppliance")), armPublic, Fail, "0.0.0.0/0",
			[]string{"no next hop address"}},
		{"a Storage service tag route to the Internet beats 0.0.0.0/0 through an NVA",
			with(system("0.0.0.0/0"), user("default", "0.0.0.0/0", "VirtualAppliance", "10.0.1.4"), user("st", "Storage", "Internet")),
			storage, OK, "Storage", []string{"by its service tag"}},
		{"a regional tag beats the top-level tag",
			with(system(), user("st", "Storage", "Internet"), user("st-we", "Storage.WestEurope", "VirtualAppliance", "10.0.1.4")),
			unresolved, Fail, "Storage.WestEurope", nil},
		{"a service tag of another service does not apply",
			with(system("0.0.0.0/0"), user("default", "0.0.0.0/0", "VirtualAppliance", "10.0.1.4"), user("st", "Storage", "Internet")),
			armPublic, Fail, "0.0.0.0/0", nil},
		{"a private endpoint in the virtual network stays local",
			with(system("0.0.0.0/0"), user("default", "0.0.0.0/0", "VirtualAppliance", "10.0.1.4")), storagePE, OK, "10.0.0.0/16",
			[]string{"goes to VnetLocal"}},
		{"invalid routes are ignored", with(system(), Route{Source: "User", State: "Invalid", Name: "old",
			Prefixes: []string{"0.0.0.0/0"}, NextHopType: "None"}), armPublic, OK, "0.0.0.0/0", nil},
		{"on an equal prefix a User route beats the Default one even if both are listed Active",
			with(system(), user("default", "0.0.0.0/0", "VirtualAppliance", "10.0.1.4")), armPublic, Fail, "0.0.0.0/0", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := Judge(tt.routes, tt.dst, env)
			if v.Level != tt.level {
				t.Errorf("level = %d, want %d: %s", v.Level, tt.level, v.Message)
			}
			got := ""
			if v.Route != nil {
				got = v.Route.Prefixes[0]
			}
			if got != tt.route {
				t.Errorf("route = %q, want %q: %s", got, tt.route, v.Message)
			}
			for _, s := range tt.says {
				if !strings.Contains(v.Message, s) {
					t.Errorf("message lacks %q:\n%s", s, v.Message)
				}
			}
			if (v.NVA != nil) != (tt.level == Fail && strings.Contains(v.Message, " of NVA ")) {
				t.Errorf("NVA = %+v for %s", v.NVA, v.Message)
			}
		})
	}
}

func TestResolveTakesAnAddressAsIs(t *testing.T) {
	for host, want := range map[string]string{"127.0.0.1": "127.0.0.1", "[::1]": "::1", "::ffff:10.0.0.1": "10.0.0.1"} {
		got, err := Resolve(context.Background(), net.DefaultResolver, host)
		if err != nil || got.String() != want {
			t.Errorf("Resolve(%q) = %v, %v; want %s", host, got, err, want)
		}
	}
	if _, err := Resolve(context.Background(), net.DefaultResolver, "no-such-host.invalid"); err == nil {
		t.Error("Resolve of an .invalid name succeeded")
	}
}
