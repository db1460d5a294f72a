package stackseed

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/hanva/hanva/components/stack"
	"github.com/hanva/hanva/testenv/armsim"
	"github.com/hanva/hanva/testenv/drill"
	"github.com/hanva/hanva/testenv/lab"
)

// seeded is a converted stack's seeds by lower-case ID, decoded, in
// seeding order.
type seeded struct {
	order  []string
	bodies map[string]map[string]any
}

func seedsOf(t *testing.T, s *lab.Stack) seeded {
	t.Helper()
	out := seeded{bodies: map[string]map[string]any{}}
	for _, r := range s.Resources {
		var b map[string]any
		if err := json.Unmarshal(r.Body, &b); err != nil {
			t.Fatal(err)
		}
		k := strings.ToLower(r.ID)
		out.order = append(out.order, k)
		out.bodies[k] = b
	}
	return out
}

func (s seeded) props(t *testing.T, id string) map[string]any {
	t.Helper()
	b := s.bodies[strings.ToLower(id)]
	if b == nil {
		t.Fatalf("%s is not seeded", id)
	}
	return b["properties"].(map[string]any)
}

func (s seeded) count(part string) int {
	n := 0
	for _, id := range s.order {
		if strings.Contains(id, part) {
			n++
		}
	}
	return n
}

func list(m map[string]any, key string) []map[string]any {
	var out []map[string]any
	for _, v := range m[key].([]any) {
		out = append(out, v.(map[string]any))
	}
	return out
}

func childProps(m map[string]any) map[string]any { return m["properties"].(map[string]any) }

func refOf(m map[string]any, key string) string {
	r, _ := m[key].(map[string]any)
	id, _ := r["id"].(string)
	return id
}

// steeringStack runs the program with a steering list, seeds armsim with
// the result (which must accept it) and checks that Localize keeps every
// managed resource the generated config names.
func steeringStack(t *testing.T, steering ...string) (*lab.Stack, seeded, *armsim.Sim) {
	t.Helper()
	s, err := Sample(lab.SampleOptions{Steering: steering})
	if err != nil {
		t.Fatal(err)
	}
	sim := armsim.New(armsim.Options{})
	if err := sim.SeedAll(armsim.SeedFile{Resources: s.Resources}); err != nil {
		t.Fatalf("armsim refuses the converted resources: %v", err)
	}
	loc, err := lab.Localize(s.Config, s.Config.Monitors[0], lab.Local{ARMEndpoint: "https://127.0.0.1:1", CAFile: "/ca",
		TokenFile: "/t", BlobService: "http://127.0.0.1:2/devstoreaccount1", AccountKeyFile: "/k",
		Probes: probes(s), Listen: "127.0.0.1:3"})
	if err != nil {
		t.Fatalf("the generated config does not localize: %v", err)
	}
	if !reflect.DeepEqual(loc.FloatingIPs, s.Config.FloatingIPs) || !reflect.DeepEqual(loc.BackendPools, s.Config.BackendPools) ||
		!reflect.DeepEqual(loc.DNSRecords, s.Config.DNSRecords) || !reflect.DeepEqual(loc.RouteTables, s.Config.RouteTables) {
		t.Errorf("Localize changed the managed resources:\n%+v %+v %+v\nwant\n%+v %+v %+v",
			loc.FloatingIPs, loc.BackendPools, loc.DNSRecords, s.Config.FloatingIPs, s.Config.BackendPools, s.Config.DNSRecords)
	}
	return s, seedsOf(t, s), sim
}

// internalIP returns an NVA's internal address from its seeded NIC's
// primary ipconfig.
func internalIP(t *testing.T, s *lab.Stack, sd seeded, i int) string {
	t.Helper()
	ipc := list(sd.props(t, s.Config.NVAs[i].NICs[lab.RoleInternal]), "ipConfigurations")[0]
	return childProps(ipc)["privateIPAddress"].(string)
}

// tableHops returns the next hops of every seeded route table.
func tableHops(t *testing.T, sd seeded) []string {
	t.Helper()
	var hops []string
	for _, id := range sd.order {
		if strings.Contains(id, "/routetables/") {
			for _, r := range list(sd.bodies[id]["properties"].(map[string]any), "routes") {
				hops = append(hops, fmt.Sprint(childProps(r)["nextHopIpAddress"]))
			}
		}
	}
	return hops
}

func TestFloatingIPModeSeedsTheFloatingIPConfigOnTheFirstNVA(t *testing.T) {
	s, sd, sim := steeringStack(t, "floatingIp", "publicIp")
	c := s.Config
	if len(c.FloatingIPs) != 1 || len(c.RouteTables) != 0 || len(c.BackendPools) != 0 || len(c.DNSRecords) != 0 || len(c.PublicIPs) != 1 {
		t.Fatalf("config manages floating %v, tables %v, pools %v, records %v, public IPs %v; want one floating IP and the public IP",
			c.FloatingIPs, c.RouteTables, c.BackendPools, c.DNSRecords, c.PublicIPs)
	}
	f := c.FloatingIPs[0]
	hops := tableHops(t, sd)
	if len(hops) == 0 || slices.ContainsFunc(hops, func(h string) bool { return h != f.IP }) {
		t.Errorf("route tables' next hops %v, want all the floating IP %s", hops, f.IP)
	}
	for i, n := range c.NVAs {
		var names []string
		var floating map[string]any
		for _, ipc := range list(sd.props(t, n.NICs[f.Via]), "ipConfigurations") {
			names = append(names, ipc["name"].(string))
			if ipc["name"] == f.IPConfigName() {
				floating = childProps(ipc)
			}
		}
		switch {
		case i == 0 && floating == nil:
			t.Errorf("%s's %s NIC has ipconfigs %v, want %s with the floating IP", n.Name, f.Via, names, f.IPConfigName())
		case i == 0:
			if floating["privateIPAddress"] != f.IP || floating["privateIPAllocationMethod"] != "Static" || floating["primary"] != false {
				t.Errorf("floating ipconfig %+v, want %s static, not primary", floating, f.IP)
			}
			if !strings.HasSuffix(refOf(floating, "subnet"), "/subnets/dmz-internal") {
				t.Errorf("floating ipconfig in subnet %s, want dmz-internal", refOf(floating, "subnet"))
			}
		case floating != nil || len(names) != 1:
			t.Errorf("%s's %s NIC has ipconfigs %v, want its primary alone", n.Name, f.Via, names)
		}
	}
	// armsim serves it: the first NVA's NIC, read back, holds the address.
	b, ok := sim.Resource(c.NVAs[0].NICs[f.Via])
	if !ok || !strings.Contains(string(b), `"`+f.IP+`"`) {
		t.Errorf("armsim's %s does not carry %s: %s", c.NVAs[0].NICs[f.Via], f.IP, b)
	}
}

func TestLoadBalancerModeSeedsTheLoadBalancerWithItsIPBasedPool(t *testing.T) {
	s, sd, sim := steeringStack(t, "loadBalancer", "publicIp")
	c := s.Config
	if len(c.BackendPools) != 1 || len(c.RouteTables) != 0 || len(c.FloatingIPs) != 0 || len(c.DNSRecords) != 0 {
		t.Fatalf("config manages pools %v, tables %v, floating %v, records %v; want one backend pool", c.BackendPools, c.RouteTables, c.FloatingIPs, c.DNSRecords)
	}
	pool := c.BackendPools[0]
	lbID, _, ok := strings.Cut(pool.ID, "/backendAddressPools/")
	if !ok {
		t.Fatalf("pool ID %s", pool.ID)
	}
	if n := sd.count("/loadbalancers/"); n != 1 {
		t.Errorf("%d load balancers seeded, want the NVAs' alone (the web tier's has nothing to fail over)", n)
	}
	lb := sd.bodies[strings.ToLower(lbID)]
	if lb == nil {
		t.Fatalf("the pool's load balancer %s is not seeded (seeds: %v)", lbID, sd.order)
	}
	if sku, _ := lb["sku"].(map[string]any); sku["name"] != "Standard" {
		t.Errorf("load balancer sku %v, want Standard (IP-based pools need it)", lb["sku"])
	}
	props := lb["properties"].(map[string]any)
	fes := list(props, "frontendIPConfigurations")
	if len(fes) != 1 {
		t.Fatalf("%d frontends", len(fes))
	}
	fe := childProps(fes[0])
	frontend := fe["privateIPAddress"].(string)
	if hops := tableHops(t, sd); len(hops) == 0 || slices.ContainsFunc(hops, func(h string) bool { return h != frontend }) {
		t.Errorf("route tables' next hops %v, want all the frontend %s", hops, frontend)
	}
	probes := list(props, "probes")
	rules := list(props, "loadBalancingRules")
	if len(probes) != 1 || len(rules) != 1 {
		t.Fatalf("%d probes, %d rules; want one each", len(probes), len(rules))
	}
	rule := childProps(rules[0])
	if rule["protocol"] != "All" || fmt.Sprint(rule["frontendPort"]) != "0" || fmt.Sprint(rule["backendPort"]) != "0" {
		t.Errorf("rule %+v, want HA ports (protocol All, ports 0)", rule)
	}
	if !strings.EqualFold(refOf(rule, "backendAddressPool"), pool.ID) ||
		!strings.EqualFold(refOf(rule, "frontendIPConfiguration"), lbID+"/frontendIPConfigurations/"+fes[0]["name"].(string)) ||
		!strings.EqualFold(refOf(rule, "probe"), lbID+"/probes/"+probes[0]["name"].(string)) {
		t.Errorf("rule refers to pool %s, frontend %s, probe %s; want this load balancer's, the pool the config names (%s)",
			refOf(rule, "backendAddressPool"), refOf(rule, "frontendIPConfiguration"), refOf(rule, "probe"), pool.ID)
	}
	// armsim serves the pool under the ID the config names, with the first
	// NVA's internal address as its only member, in the VNet.
	b, ok := sim.Resource(pool.ID)
	if !ok {
		t.Fatalf("armsim has no %s", pool.ID)
	}
	var got struct {
		Properties struct {
			Members []struct {
				Properties struct {
					IPAddress      string            `json:"ipAddress"`
					VirtualNetwork map[string]string `json:"virtualNetwork"`
				} `json:"properties"`
			} `json:"loadBalancerBackendAddresses"`
		} `json:"properties"`
	}
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	vnet := ""
	for _, id := range sd.order {
		if strings.Contains(id, "/virtualnetworks/") {
			vnet = id
		}
	}
	m := got.Properties.Members
	if len(m) != 1 || m[0].Properties.IPAddress != internalIP(t, s, sd, 0) || !strings.EqualFold(m[0].Properties.VirtualNetwork["id"], vnet) {
		t.Errorf("pool members %+v, want the first NVA's internal address %s in %s alone", m, internalIP(t, s, sd, 0), vnet)
	}
}

func TestDNSModeSeedsTheZoneAndTheRecordSet(t *testing.T) {
	s, sd, sim := steeringStack(t, "routes", "publicIp", "dns")
	c := s.Config
	if len(c.DNSRecords) != 1 || len(c.RouteTables) == 0 || len(c.FloatingIPs) != 0 || len(c.BackendPools) != 0 {
		t.Fatalf("config manages records %v, tables %v, floating %v, pools %v; want one record and the route tables", c.DNSRecords, c.RouteTables, c.FloatingIPs, c.BackendPools)
	}
	rec := c.DNSRecords[0]
	zone := zoneOf(rec.ID)
	if !strings.Contains(rec.ID, "/A/") || zone == "" {
		t.Fatalf("record set ID %s: want …/privateDnsZones/{zone}/A/{name}", rec.ID)
	}
	zi, ri := slices.Index(sd.order, strings.ToLower(zone)), slices.Index(sd.order, strings.ToLower(rec.ID))
	if zi < 0 || ri < 0 || zi > ri {
		t.Errorf("zone seeded at %d, record set at %d; want both, the zone first", zi, ri)
	}
	if n := sd.count("/virtualnetworklinks/"); n != 0 {
		t.Errorf("%d virtual network links seeded; armsim does not emulate them", n)
	}
	for _, hop := range tableHops(t, sd) {
		if hop != internalIP(t, s, sd, 0) {
			t.Errorf("route next hop %s, want the first NVA's %s (routes steer the tables)", hop, internalIP(t, s, sd, 0))
		}
	}
	b, ok := sim.Resource(rec.ID)
	if !ok {
		t.Fatalf("armsim has no %s", rec.ID)
	}
	var got struct {
		Properties struct {
			FQDN     string            `json:"fqdn"`
			TTL      float64           `json:"ttl"`
			Metadata map[string]string `json:"metadata"`
			A        []struct {
				IP string `json:"ipv4Address"`
			} `json:"aRecords"`
		} `json:"properties"`
	}
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	p := got.Properties
	if len(p.A) != 1 || p.A[0].IP != internalIP(t, s, sd, 0) || p.TTL != 10 || p.FQDN != "nva.hanva.internal." || p.Metadata["managed-by"] != "hanva" {
		t.Errorf("record set %+v, want nva.hanva.internal. -> the first NVA's %s, TTL 10, the program's metadata", p, internalIP(t, s, sd, 0))
	}
}

// TestConvertRefusesAFloatingIPOnNoNVA runs the program in its default
// mode and adds a floating IP to the config it generated: no NIC carries
// it, so there is nothing the drill could fail over.
func TestConvertRefusesAFloatingIPOnNoNVA(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "nva-monitor")
	if err := os.WriteFile(bin, fakeLinuxAMD64(), 0o755); err != nil {
		t.Fatal(err)
	}
	cfg, err := Config(lab.SampleOptions{}, bin)
	if err != nil {
		t.Fatal(err)
	}
	err = withConfig(cfg, func() error {
		_, err := Run(func(ctx *pulumi.Context) (pulumi.StringOutput, error) {
			out, err := stack.Run(ctx)
			if err != nil {
				return pulumi.StringOutput{}, err
			}
			return out.MonitorConfig.ApplyT(func(y string) string {
				return y + "floatingIps:\n  - ip: 10.0.0.112\n    via: internal\n"
			}).(pulumi.StringOutput), nil
		})
		return err
	})
	if err == nil || !strings.Contains(err.Error(), "floating IP 10.0.0.112") || !strings.Contains(err.Error(), "of 0 NVAs") {
		t.Errorf("Convert with a floating IP on no NIC = %v, want it refused by address", err)
	}
}

// TestSteeredDrillScenariosPassOnTheProgramsTopology runs the drill's
// scenario for each way of steering (fast: 2 monitors, 100 ms ARM latency,
// 200 ms probes) on what the program declares in that mode.
func TestSteeredDrillScenariosPassOnTheProgramsTopology(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	scenarios := []string{"crash-floating-ip", "crash-load-balancer", "crash-dns"}
	rep, err := drill.Run(ctx, drill.Options{Scenarios: scenarios, Monitors: 2, Latency: 100 * time.Millisecond,
		ProbeInterval: 200 * time.Millisecond, Stack: Sample, StackName: "the program (stackseed.Sample)", WorkDir: t.TempDir(), Progress: t.Output()})
	if err != nil {
		t.Fatal(err)
	}
	// The checks that say the mode's own resources moved, by scenario.
	mode := map[string]string{
		"crash-floating-ip":   "the floating IP moved off",
		"crash-load-balancer": "one load balancer write moved the pool",
		"crash-dns":           "one record set write moved the DNS record",
	}
	for i, res := range rep.Results {
		if res.Scenario != scenarios[i] {
			t.Fatalf("result %d is %s, want %s", i, res.Scenario, scenarios[i])
		}
		found := false
		for _, c := range res.Checks {
			found = found || strings.HasPrefix(c.Name, mode[res.Scenario])
			if !c.Pass {
				t.Errorf("%s: %s: %s", res.Scenario, c.Name, c.Detail)
			}
		}
		if !found {
			t.Errorf("%s ran no check %q", res.Scenario, mode[res.Scenario])
		}
		if res.Err != "" {
			t.Errorf("%s: %s", res.Scenario, res.Err)
		}
	}
	if len(rep.Results) != len(scenarios) || !rep.Passed() {
		t.Fatalf("the steered scenarios failed on the program's topology:\n%s", rep.Summary())
	}
}
