package lab

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"slices"
	"time"

	"github.com/hanva/hanva/monitor/config"
	"github.com/hanva/hanva/testenv/armsim"
)

// Stack is what the lab stands up: the ARM resources a deployment declares
// (as armsim seeds, in seeding order: the VNet before the NICs that use its
// subnets, the public IP before the NIC that carries it) and the monitor
// config generated for them, as it would reach monitor-1 in Azure (its
// lease, credentials, probe addresses and listen address are the real
// ones; Env.MonitorConfig points them at the local emulators).
type Stack struct {
	Resources []armsim.SeedResource
	Config    config.Config
}

// Settings are the monitor settings a deployment chooses; zero values are
// the monitor's own defaults. They mirror the Monitor component's
// MonitorSettings.
type Settings struct {
	Probe               config.ProbeTiming
	Failback            string
	FailbackHoldoff     config.Duration
	MinFailoverInterval config.Duration
	LeaseDuration       config.Duration
}

// SampleOptions shapes the sample deployment.
type SampleOptions struct {
	NVAs     int // 2 (default) or more
	Monitors int // 2 (default) or more
	Settings Settings
	// Steering is how traffic follows the active NVA, as the Pulumi
	// program's stack config key steering (components.HaNvaArgs.Steering:
	// "routes", "publicIp", "floatingIp", "loadBalancer", "dns"); empty is
	// the default, routes and the public IP. SampleStack writes only the
	// default by hand; testenv/stackseed.Sample declares every mode.
	Steering []string
}

// The sample's fixed names. The Pulumi sample program declares the same
// topology; see SampleStack.
const (
	Subscription  = "00000000-0000-0000-0000-000000000000"
	ResourceGroup = "rg-hanva"
	Location      = "westeurope"
	// ProbePort is where the sample NVA answers HTTP 200 (its cloud-init).
	ProbePort = 8080
	// LeaseContainer and LeaseBlob locate the leader blob in the monitors'
	// storage account.
	LeaseContainer = "hanva"
	LeaseBlob      = "ha/leader"
	// RoleExternal and RoleInternal are the NVA NIC roles.
	RoleExternal = "external"
	RoleInternal = "internal"
	// firstHost is the host number of NVA 1 in each NVA subnet (the first
	// address Azure does not reserve); NVA i gets firstHost+i.
	firstHost = 4
)

// The sample's address plan (the seed's: mspnp/ha-nva).
var samplePrefixes = []struct{ name, prefix string }{
	{"dmz-external", "10.0.0.64/27"},
	{"dmz-internal", "10.0.0.96/27"},
	{"web", "10.0.1.0/24"},
	{"mgmt", "10.0.0.128/25"},
}

// ResourceID returns the sample's ID of a Microsoft.Network resource.
func ResourceID(typ, name string) string {
	return fmt.Sprintf("/subscriptions/%s/resourceGroups/%s/providers/Microsoft.Network/%s/%s", Subscription, ResourceGroup, typ, name)
}

// SampleStack returns the sample deployment: the network resources the
// Pulumi sample program declares (a VNet 10.0.0.0/16 with dmz-external,
// dmz-internal, web and mgmt subnets; NVAs nva-1..N with an external and an
// internal NIC each, IP forwarding on, static IPs host 4+i of their subnet;
// route table web-udr on the web subnet whose default route and route to
// mgmt go through the NVAs' internal NICs; a Standard static public IP on
// nva-1's external NIC) and the config the Monitor component generates for
// them (instances monitor-1..M, a 15 s blob lease on hanva/ha/leader, HTTP
// probes on port 8080 of each NVA's internal IP, managed identities).
//
// It is written by hand from the sample program and needs no Pulumi (the
// drill's --topology hand); testenv/stackseed.Sample runs the program itself
// (components/stack) under pulumitest mocks and converts what it declares,
// and its tests hold the two to the same shape.
func SampleStack(o SampleOptions) (*Stack, error) {
	if o.NVAs == 0 {
		o.NVAs = 2
	}
	if o.Monitors == 0 {
		o.Monitors = 2
	}
	if o.NVAs < 2 {
		return nil, fmt.Errorf("build sample stack: %d NVAs; HA needs at least 2", o.NVAs)
	}
	if o.Monitors < 1 {
		return nil, fmt.Errorf("build sample stack: %d monitors; want at least 1", o.Monitors)
	}
	if !defaultSteering(o.Steering) {
		return nil, fmt.Errorf("build sample stack: steering %v: the hand-written sample has only routes and the public IP; "+
			"the other modes come from the Pulumi program (testenv/stackseed.Sample, the drill's --topology program)", o.Steering)
	}
	s := &Stack{}
	add := func(id string, body map[string]any) error {
		b, err := json.Marshal(body)
		if err != nil {
			return fmt.Errorf("build sample stack: encode %s: %w", id, err)
		}
		s.Resources = append(s.Resources, armsim.SeedResource{ID: id, Body: b})
		return nil
	}

	vnet := ResourceID("virtualNetworks", "hanva-vnet")
	table := ResourceID("routeTables", "web-udr")
	pip := ResourceID("publicIPAddresses", "hanva-pip")
	prefix := map[string]string{}
	var subnets []any
	for _, sn := range samplePrefixes {
		prefix[sn.name] = sn.prefix
		props := map[string]any{"addressPrefix": sn.prefix}
		if sn.name == "web" {
			props["routeTable"] = map[string]any{"id": table}
		}
		subnets = append(subnets, map[string]any{"name": sn.name, "properties": props})
	}
	if err := add(vnet, map[string]any{
		"location": Location,
		"properties": map[string]any{
			"addressSpace": map[string]any{"addressPrefixes": []string{"10.0.0.0/16"}},
			"subnets":      subnets,
		},
	}); err != nil {
		return nil, err
	}
	if err := add(pip, map[string]any{
		"location": Location,
		"sku":      map[string]any{"name": "Standard", "tier": "Regional"},
		"properties": map[string]any{
			"publicIPAllocationMethod": "Static", "publicIPAddressVersion": "IPv4", "ipAddress": "20.0.0.1",
		},
	}); err != nil {
		return nil, err
	}

	subnetOf := map[string]string{RoleExternal: "dmz-external", RoleInternal: "dmz-internal"}
	var firstInternal string
	for i := range o.NVAs {
		nva := config.NVA{Name: fmt.Sprintf("nva-%d", i+1), NICs: map[string]string{}}
		for _, role := range []string{RoleExternal, RoleInternal} {
			sn := subnetOf[role]
			ip, err := hostIP(prefix[sn], firstHost+i)
			if err != nil {
				return nil, fmt.Errorf("build sample stack: %s %s NIC: %w", nva.Name, role, err)
			}
			id := ResourceID("networkInterfaces", nva.Name+"-"+role)
			nva.NICs[role] = id
			ipc := map[string]any{
				"privateIPAddress": ip, "privateIPAllocationMethod": "Static", "privateIPAddressVersion": "IPv4",
				"primary": true, "subnet": map[string]any{"id": vnet + "/subnets/" + sn},
			}
			if role == RoleExternal && i == 0 {
				ipc["publicIPAddress"] = map[string]any{"id": pip}
			}
			if err := add(id, map[string]any{
				"location": Location,
				"properties": map[string]any{
					"enableIPForwarding":   true,
					"networkSecurityGroup": map[string]any{"id": ResourceID("networkSecurityGroups", nva.Name+"-"+role+"-nsg")},
					"ipConfigurations":     []any{map[string]any{"name": "ipconfig1", "properties": ipc}},
				},
			}); err != nil {
				return nil, err
			}
			if role == RoleInternal {
				nva.Probe = config.Probe{Address: fmt.Sprintf("%s:%d", ip, ProbePort), Kind: "http", Path: "/"}
				if i == 0 {
					firstInternal = ip
				}
			}
		}
		s.Config.NVAs = append(s.Config.NVAs, nva)
	}

	route := func(name, prefix string) map[string]any {
		return map[string]any{"name": name, "properties": map[string]any{
			"addressPrefix": prefix, "nextHopType": "VirtualAppliance", "nextHopIpAddress": firstInternal,
		}}
	}
	if err := add(table, map[string]any{
		"location": Location,
		"properties": map[string]any{
			"disableBgpRoutePropagation": true,
			"routes":                     []any{route("default", "0.0.0.0/0"), route("to-mgmt", prefix["mgmt"])},
		},
	}); err != nil {
		return nil, err
	}

	var monitors []string
	for i := range o.Monitors {
		monitors = append(monitors, fmt.Sprintf("monitor-%d", i+1))
	}
	st := o.Settings
	leaseDuration := st.LeaseDuration
	if leaseDuration == 0 {
		leaseDuration = config.Duration(15 * time.Second)
	}
	s.Config.Instance = monitors[0]
	s.Config.Monitors = monitors
	s.Config.Lease = config.Lease{
		Kind:       "blob",
		URL:        "https://hanvasample.blob.core.windows.net/" + LeaseContainer + "/" + LeaseBlob,
		Duration:   leaseDuration,
		Credential: config.LeaseCredential{Kind: "managedIdentity"},
	}
	if o.Monitors == 1 {
		s.Config.Monitors, s.Config.Lease = nil, config.Lease{}
	}
	s.Config.Credential = config.Credential{Kind: "managedIdentity"}
	s.Config.Probe = st.Probe
	s.Config.RouteTables = []config.RouteTable{{ID: table, Via: RoleInternal}}
	s.Config.PublicIPs = []config.PublicIP{{ID: pip, Via: RoleExternal}}
	s.Config.Failback = st.Failback
	s.Config.FailbackHoldoff = st.FailbackHoldoff
	s.Config.MinFailoverInterval = st.MinFailoverInterval
	s.Config.Log = config.Log{Format: "json", Level: "info"}
	return s, nil
}

// hostIP returns the host-th address of an IPv4 prefix, refusing the five
// addresses Azure reserves in every subnet (network, .1 to .3, broadcast).
func hostIP(prefix string, host int) (string, error) {
	p, err := netip.ParsePrefix(prefix)
	if err != nil {
		return "", fmt.Errorf("parse prefix %q: %w", prefix, err)
	}
	p = p.Masked()
	size := 1 << (32 - p.Bits())
	if host < 4 || host >= size-1 {
		return "", fmt.Errorf("host %d of %s is reserved by Azure or outside it (usable: 4..%d)", host, prefix, size-2)
	}
	a := p.Addr().As4()
	n := uint32(a[0])<<24 | uint32(a[1])<<16 | uint32(a[2])<<8 | uint32(a[3])
	n += uint32(host)
	return netip.AddrFrom4([4]byte{byte(n >> 24), byte(n >> 16), byte(n >> 8), byte(n)}).String(), nil
}

// defaultSteering reports whether a steering list is the sample's default:
// empty, or routes with or without the public IP (always there).
func defaultSteering(st []string) bool {
	for _, s := range st {
		if s != "routes" && s != "publicIp" {
			return false
		}
	}
	return len(st) == 0 || slices.Contains(st, "routes")
}
