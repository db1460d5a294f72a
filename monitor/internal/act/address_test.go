package act

import (
	"net/netip"
	"testing"
)

func TestCounterpartIsTheSameNameElseThePrimaryOfTheSameVersion(t *testing.T) {
	v4 := func(name, a string, primary bool) ipconfig {
		return ipconfig{name: name, addr: netip.MustParseAddr(a), primary: primary}
	}
	v6 := func(name, a string, primary bool) ipconfig {
		return ipconfig{name: name, addr: netip.MustParseAddr(a), v6: true, primary: primary}
	}
	target := []ipconfig{v4("ipconfig1", "10.0.1.5", true), v4("ipconfig2", "10.0.1.15", false), v6("v6", "fd00::5", true)}
	tests := []struct {
		name string
		from ipconfig
		to   []ipconfig
		want string // address, or "" for none
	}{
		{"the primary IPv4 ipconfig goes to the same-named one", v4("ipconfig1", "10.0.1.4", true), target, "10.0.1.5"},
		{"a secondary IPv4 ipconfig goes to the same-named one", v4("ipconfig2", "10.0.1.14", false), target, "10.0.1.15"},
		{"a primary IPv4 ipconfig of another name goes to the target's primary IPv4", v4("nic-a-ip", "10.0.1.4", true), target, "10.0.1.5"},
		{"the primary IPv6 ipconfig of another name goes to the target's primary IPv6", v6("ipv6config", "fd00::4", true), target, "fd00::5"},
		{"a secondary ipconfig without a same-named twin has none", v4("ipconfig3", "10.0.1.24", false), target, ""},
		{"a same-named ipconfig of the other version is not taken", v6("ipconfig2", "fd00::14", false), target, ""},
		{"an IPv6 primary without an IPv6 ipconfig on the target has none, never an IPv4 one", v6("v6", "fd00::4", true), target[:2], ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, why := counterpart(tt.from, tt.to)
			switch {
			case tt.want == "" && c != nil:
				t.Fatalf("counterpart %s (%s), want none", c.name, c.addr)
			case tt.want == "" && why == "":
				t.Fatal("no counterpart and no reason")
			case tt.want != "" && (c == nil || c.addr.String() != tt.want):
				t.Fatalf("counterpart %+v (%s), want %s", c, why, tt.want)
			}
		})
	}
}

func TestParseHopComparesIPv6AddressesNotText(t *testing.T) {
	a, ok1 := parseHop(" FD00:0DB8:0:1:0:0:0:4 ")
	b, ok2 := parseHop("fd00:db8:0:1::4")
	if !ok1 || !ok2 || a != b {
		t.Fatalf("parseHop: %v %v %v %v", a, ok1, b, ok2)
	}
	if _, ok := parseHop("fe80::1%eth0"); ok {
		t.Error("a zoned address is no next hop")
	}
}

func TestPipTargetTakesTheIPConfigOfThePublicIPsVersion(t *testing.T) {
	ipcs := []ipconfig{
		{name: "ipconfig1", primary: true},
		{name: "ipconfig2"},
		{name: "v6-a", v6: true, primary: true},
		{name: "v6-b", v6: true},
	}
	tests := []struct {
		name, from string
		v6         bool
		want       string
	}{
		{"an IPv4 public IP from ipconfig2 goes to ipconfig2", "ipconfig2", false, "ipconfig2"},
		{"a detached IPv4 public IP goes to the primary", "", false, "ipconfig1"},
		{"an IPv6 public IP from v6-b goes to v6-b", "v6-b", true, "v6-b"},
		{"an IPv6 public IP from an ipconfig the target lacks goes to the primary IPv6", "ipv6config", true, "v6-a"},
		{"an IPv6 public IP never goes to a same-named IPv4 ipconfig", "ipconfig2", true, "v6-a"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := pipTarget(ipcs, tt.from, tt.v6); got == nil || got.name != tt.want {
				t.Fatalf("pipTarget = %+v, want %s", got, tt.want)
			}
		})
	}
	if got := pipTarget(ipcs[:2], "", true); got != nil {
		t.Errorf("an IPv6 public IP on a NIC without IPv6: %+v, want none", got)
	}
}
