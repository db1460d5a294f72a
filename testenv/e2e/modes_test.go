package e2e

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"reflect"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hanva/hanva/monitor/config"
	"github.com/hanva/hanva/testenv/armsim"
)

// The ways of steering traffic to the active NVA besides rewriting route
// next hops (docs/monitor.md#steering-modes), each end to end: a real
// nva-monitor process, armsim, NVA stand-ins. In every mode the public IP
// moves too; what the mode adds is checked on its own.
const (
	modeFloating  = "floatingIp"  // a secondary ipconfig moves between the NVAs' internal NICs
	modePool      = "backendPool" // an IP-based backend pool holds the active NVA's internal address
	modeDNS       = "dnsRecord"   // a Private DNS A record holds the active NVA's internal address
	modeDualStack = "dualStack"   // route tables with IPv4 and IPv6 next hops
)

// Addresses of the steering resources, clear of the NVAs' ipconfigs
// (.100/.101 and .110/.111 in dmz-internal).
const (
	floatingIP = "10.0.0.120"
	lbFrontend = "10.0.0.115"
	dnsZone    = "hanva.internal"
)

// nvaIPv6 are the NVAs' internal IPv6 addresses in the dual-stack mode.
var nvaIPv6 = map[string]string{"nva-1": "fd00:0:0:1::100", "nva-2": "fd00:0:0:1::101"}

var (
	lbID       = rid("loadBalancers", "lb-nva")
	poolID     = lbID + "/backendAddressPools/nvas"
	dnsZoneID  = rid("privateDnsZones", dnsZone)
	dnsRecord  = dnsZoneID + "/A/nva"
	floatingIC = "hanva-floating-10-0-0-120"
)

// steerEnv is an env whose config manages the mode's resources (and the
// public IP); route tables are managed only in the dual-stack mode: in the
// others they point at the floating IP, the load balancer or nothing the
// monitor owns, and must never change.
func steerEnv(t *testing.T, mode, probeKind string, o envOptions) *env {
	t.Helper()
	o.probeKind = probeKind
	o.steer = mode
	if o.lroLatency == 0 {
		o.lroLatency = 200 * time.Millisecond
	}
	return newEnv(t, o)
}

// applySteer seeds the mode's resources, pointing at active, and puts them
// in the config (newEnv calls it when envOptions.steer is set).
func (e *env) applySteer(mode, active string) {
	t := e.t
	t.Helper()
	vnet := rid("virtualNetworks", "vnet-hanva")
	cfg := e.cfg
	if mode != modeDualStack {
		cfg.RouteTables = nil
	}
	switch mode {
	case modeFloating:
		addIPConfig(t, e, active, map[string]any{"name": floatingIC, "properties": map[string]any{
			"privateIPAddress": floatingIP, "privateIPAllocationMethod": "Static", "primary": false,
			"subnet": map[string]any{"id": vnet + "/subnets/dmz-internal"},
		}})
		for _, id := range e.topo.tables {
			repoint(t, e, id, floatingIP)
		}
		cfg.FloatingIPs = []config.FloatingIP{{IP: floatingIP, Via: "internal"}}
	case modePool:
		must(t, e.sim.Seed(lbID, jsonBytes(t, map[string]any{
			"location": "westeurope",
			"sku":      map[string]any{"name": "Standard", "tier": "Regional"},
			"tags":     map[string]any{"owner": "netops"},
			"properties": map[string]any{
				"frontendIPConfigurations": []any{map[string]any{"name": "fe", "properties": map[string]any{
					"privateIPAddress": lbFrontend, "privateIPAllocationMethod": "Static",
					"subnet": map[string]any{"id": vnet + "/subnets/dmz-internal"},
				}}},
				"backendAddressPools": []any{map[string]any{"name": "nvas", "properties": map[string]any{
					"loadBalancerBackendAddresses": []any{
						map[string]any{"name": "active", "properties": map[string]any{
							"ipAddress": nvaIPs[active]["internal"], "virtualNetwork": map[string]any{"id": vnet}}},
						map[string]any{"name": "canary", "properties": map[string]any{
							"ipAddress": "10.0.0.125", "virtualNetwork": map[string]any{"id": vnet}}},
					},
				}}},
				"probes": []any{map[string]any{"name": "nva", "properties": map[string]any{"protocol": "Tcp", "port": 8080, "intervalInSeconds": 5}}},
				"loadBalancingRules": []any{map[string]any{"name": "ha-ports", "properties": map[string]any{
					"protocol": "All", "frontendPort": 0, "backendPort": 0,
				}}},
			},
		})))
		for _, id := range e.topo.tables {
			repoint(t, e, id, lbFrontend)
		}
		cfg.BackendPools = []config.BackendPool{{ID: poolID, Via: "internal"}}
	case modeDNS:
		must(t, e.sim.Seed(dnsZoneID, jsonBytes(t, map[string]any{"location": "global"})))
		must(t, e.sim.Seed(dnsRecord, jsonBytes(t, map[string]any{"properties": map[string]any{
			"ttl": 10, "metadata": map[string]any{"owner": "netops"},
			"aRecords": []any{map[string]any{"ipv4Address": nvaIPs[active]["internal"]}, map[string]any{"ipv4Address": "10.0.1.53"}},
		}})))
		cfg.DNSRecords = []config.DNSRecord{{ID: dnsRecord, Via: "internal"}}
	case modeDualStack:
		must(t, e.sim.Seed(vnet, jsonBytes(t, map[string]any{
			"location": "westeurope",
			"properties": map[string]any{
				"addressSpace": map[string]any{"addressPrefixes": []string{"10.0.0.0/16", "fd00::/48"}},
				"subnets": []any{
					map[string]any{"name": "dmz-external", "properties": map[string]any{"addressPrefix": "10.0.0.64/27"}},
					map[string]any{"name": "dmz-internal", "properties": map[string]any{"addressPrefixes": []string{"10.0.0.96/27", "fd00:0:0:1::/64"}}},
					map[string]any{"name": "web", "properties": map[string]any{"addressPrefix": "10.0.1.0/24"}},
				},
			},
		})))
		for _, nva := range []string{"nva-1", "nva-2"} {
			addIPConfig(t, e, nva, map[string]any{"name": "ipv6config", "properties": map[string]any{
				"privateIPAddress": nvaIPv6[nva], "privateIPAddressVersion": "IPv6", "privateIPAllocationMethod": "Static",
				"primary": false, "subnet": map[string]any{"id": vnet + "/subnets/dmz-internal"},
			}})
		}
		for _, id := range e.topo.tables {
			r := resource(t, e.sim, id)
			props := r["properties"].(map[string]any)
			props["routes"] = append(props["routes"].([]any),
				route("default6", "::/0", "VirtualAppliance", nvaIPv6[active]),
				route("web6", "fd00:0:0:2::/64", "VirtualAppliance", nvaIPv6[active]))
			must(t, e.sim.Seed(id, jsonBytes(t, r)))
		}
	default:
		t.Fatalf("unknown mode %q", mode)
	}
}

// addIPConfig appends an ipconfig to an NVA's internal NIC.
func addIPConfig(t testing.TB, e *env, nva string, ipc map[string]any) {
	t.Helper()
	id := e.topo.nics[nva]["internal"]
	r := resource(t, e.sim, id)
	props := r["properties"].(map[string]any)
	props["ipConfigurations"] = append(props["ipConfigurations"].([]any), ipc)
	must(t, e.sim.Seed(id, jsonBytes(t, r)))
}

// repoint sends a table's NVA routes to hop (a floating IP, a load
// balancer's frontend): the monitor does not own them in that mode.
func repoint(t testing.TB, e *env, id, hop string) {
	t.Helper()
	r := resource(t, e.sim, id)
	for _, rr := range r["properties"].(map[string]any)["routes"].([]any) {
		p := rr.(map[string]any)["properties"].(map[string]any)
		if name := rr.(map[string]any)["name"]; name == "default" || name == "to-web" {
			p["nextHopIpAddress"] = hop
		}
	}
	must(t, e.sim.Seed(id, jsonBytes(t, r)))
}

// floatingHolder returns the NVA whose internal NIC holds the floating IP
// ("" for none, "several" when more than one does).
func floatingHolder(t testing.TB, e *env) string {
	t.Helper()
	var on []string
	for _, nva := range []string{"nva-1", "nva-2"} {
		for _, c := range ipConfigs(t, e, nva) {
			if c.addr == floatingIP {
				on = append(on, nva)
			}
		}
	}
	switch len(on) {
	case 0:
		return ""
	case 1:
		return on[0]
	}
	return "several"
}

type ipConfigView struct{ name, addr string }

func ipConfigs(t testing.TB, e *env, nva string) []ipConfigView {
	t.Helper()
	var out []ipConfigView
	props, _ := resource(t, e.sim, e.topo.nics[nva]["internal"])["properties"].(map[string]any)
	ipcs, _ := props["ipConfigurations"].([]any)
	for _, c := range ipcs {
		cm := c.(map[string]any)
		p, _ := cm["properties"].(map[string]any)
		a, _ := p["privateIPAddress"].(string)
		n, _ := cm["name"].(string)
		out = append(out, ipConfigView{name: n, addr: a})
	}
	return out
}

// poolMembers returns the pool's member addresses.
func poolMembers(t testing.TB, e *env) []string {
	t.Helper()
	var out []string
	props, _ := resource(t, e.sim, lbID)["properties"].(map[string]any)
	pools, _ := props["backendAddressPools"].([]any)
	for _, p := range pools {
		pm := p.(map[string]any)
		if pm["name"] != "nvas" {
			continue
		}
		pp, _ := pm["properties"].(map[string]any)
		members, _ := pp["loadBalancerBackendAddresses"].([]any)
		for _, m := range members {
			mp, _ := m.(map[string]any)["properties"].(map[string]any)
			a, _ := mp["ipAddress"].(string)
			out = append(out, a)
		}
	}
	slices.Sort(out)
	return out
}

// dnsAddresses returns the A record set's addresses.
func dnsAddresses(t testing.TB, e *env) []string {
	t.Helper()
	var out []string
	props, _ := resource(t, e.sim, dnsRecord)["properties"].(map[string]any)
	recs, _ := props["aRecords"].([]any)
	for _, r := range recs {
		a, _ := r.(map[string]any)["ipv4Address"].(string)
		out = append(out, a)
	}
	slices.Sort(out)
	return out
}

// sameAddr compares two textual addresses parsed (IPv6 has several forms).
func sameAddr(a, b string) bool {
	x, err1 := netip.ParseAddr(a)
	y, err2 := netip.ParseAddr(b)
	return err1 == nil && err2 == nil && x == y
}

// steeredTo reports whether the mode's resources and the public IP send
// traffic to nva and nowhere else.
func steeredTo(t testing.TB, e *env, mode, nva string) bool {
	t.Helper()
	if !strings.EqualFold(pipHolder(t, e.sim, e.topo.pip), e.topo.nics[nva]["external"]) {
		return false
	}
	switch mode {
	case modeFloating:
		return floatingHolder(t, e) == nva
	case modePool:
		return slices.Equal(poolMembers(t, e), sorted(nvaIPs[nva]["internal"], "10.0.0.125"))
	case modeDNS:
		return slices.Equal(dnsAddresses(t, e), sorted(nvaIPs[nva]["internal"], "10.0.1.53"))
	case modeDualStack:
		for _, id := range e.topo.tables {
			h := nextHops(t, e.sim, id)
			if h["default"] != nvaIPs[nva]["internal"] || h["to-web"] != nvaIPs[nva]["internal"] ||
				!sameAddr(h["default6"], nvaIPv6[nva]) || !sameAddr(h["web6"], nvaIPv6[nva]) {
				return false
			}
		}
		return true
	}
	t.Fatalf("unknown mode %q", mode)
	return false
}

func sorted(s ...string) []string { slices.Sort(s); return s }

// modeSnapshot is every resource of the mode with what the monitor owns
// blanked out, for a before/after comparison.
func modeSnapshot(t *testing.T, e *env, mode string) map[string]any {
	t.Helper()
	out := snapshot(t, e)
	for _, roles := range e.topo.nics {
		r := out[roles["internal"]].(map[string]any)
		props := r["properties"].(map[string]any)
		var keep []any
		for _, c := range props["ipConfigurations"].([]any) {
			if c.(map[string]any)["name"] != floatingIC {
				keep = append(keep, c)
			}
		}
		props["ipConfigurations"] = keep
		if tags, ok := r["tags"].(map[string]any); ok {
			delete(tags, "hanva-epoch")
		}
	}
	for _, id := range e.topo.tables {
		r := out[id].(map[string]any)
		for _, rr := range r["properties"].(map[string]any)["routes"].([]any) {
			if n := rr.(map[string]any)["name"]; n == "default6" || n == "web6" {
				delete(rr.(map[string]any)["properties"].(map[string]any), "nextHopIpAddress")
			}
		}
	}
	switch mode {
	case modePool:
		r := resource(t, e.sim, lbID)
		strip(r)
		delete(r["tags"].(map[string]any), "hanva-epoch")
		for _, p := range r["properties"].(map[string]any)["backendAddressPools"].([]any) {
			pp := p.(map[string]any)["properties"].(map[string]any)
			for _, m := range pp["loadBalancerBackendAddresses"].([]any) {
				delete(m.(map[string]any)["properties"].(map[string]any), "ipAddress")
			}
		}
		out[lbID] = r
	case modeDNS:
		r := resource(t, e.sim, dnsRecord)
		strip(r)
		props := r["properties"].(map[string]any)
		delete(props, "aRecords")
		if md, ok := props["metadata"].(map[string]any); ok {
			delete(md, "hanva-epoch")
		}
		out[dnsRecord] = r
	}
	return out
}

// TestSteeringModesFailOver runs, for every steering mode, a refused and a
// silent failure of the active NVA: the mode's resources and the public IP
// move to the standby with the writes the mode needs and nothing else
// changes; the route tables the mode does not manage are never written.
func TestSteeringModesFailOver(t *testing.T) {
	for _, mode := range []string{modeFloating, modePool, modeDNS, modeDualStack} {
		for _, f := range []struct{ name, probe, failure string }{{"refused", "tcp", "refused"}, {"silent", "http", "timeout"}} {
			t.Run(mode+"/"+f.name, func(t *testing.T) {
				e := steerEnv(t, mode, f.probe, envOptions{})
				if !steeredTo(t, e, mode, "nva-1") {
					t.Fatalf("seeded %s topology does not point at nva-1", mode)
				}
				before := modeSnapshot(t, e, mode)
				p := e.startMonitor()
				e.waitReady(p)
				eventually(t, 30*time.Second, "nva-2 healthy", func() bool { return healthOf(t, e, "nva-2") == "up" })
				if n := countEvents(e.sim, "write_accepted", time.Time{}); n != 0 {
					e.dumpEvents()
					t.Fatalf("steady state: %d write(s) before any failure", n)
				}
				injected := time.Now()
				if f.name == "refused" {
					e.nvas["nva-1"].crash()
				} else {
					e.nvas["nva-1"].hangUp()
				}
				eventually(t, 90*time.Second, mode+" on nva-2", func() bool { return steeredTo(t, e, mode, "nva-2") })
				eventually(t, 60*time.Second, "every write to finish", func() bool { return writesInFlight(e.sim) == 0 })
				eventually(t, 30*time.Second, "failover_completed logged", func() bool {
					_, ok := p.firstEvent("failover_completed", "", injected)
					return ok
				})
				pf, ok := p.firstEvent("probe_failed", "nva-1", injected)
				if !ok || pf.raw["failure"] != f.failure {
					t.Errorf("probe_failed for nva-1 = %v (found %v), want failure %q", pf.raw, ok, f.failure)
				}
				after := modeSnapshot(t, e, mode)
				for id, b := range before {
					if !reflect.DeepEqual(b, after[id]) {
						bj, _ := json.MarshalIndent(b, "", " ")
						aj, _ := json.MarshalIndent(after[id], "", " ")
						t.Errorf("%s changed beyond what the monitor owns:\nbefore %s\nafter  %s", shortID(id), bj, aj)
					}
				}
				checkModeWrites(t, e, mode)
				// The failover's timeline names the mode's resource.
				fc, _ := p.firstEvent("failover_completed", "", injected)
				if tl, _ := json.Marshal(fc.raw["timeline"]); !strings.Contains(string(tl), kindOf(mode)) {
					t.Errorf("failover_completed timeline lacks a %s resource: %s", kindOf(mode), tl)
				}
				n := 1
				if mode == modeDualStack {
					n = len(e.topo.tables)
				}
				if m := metrics(t, e); !strings.Contains(m, fmt.Sprintf(`hanva_resource_converge_seconds_count{kind=%q} %d`, kindOf(mode), n)) {
					t.Errorf("metrics lack one converge of a %s:\n%s", kindOf(mode), grep(m, "hanva_resource_converge_seconds_count"))
				}
			})
		}
	}
}

// kindOf is the act kind a mode adds.
func kindOf(mode string) string {
	if mode == modeDualStack {
		return "routeTable"
	}
	return mode
}

// checkModeWrites checks each mode made the writes it needs and no more.
func checkModeWrites(t *testing.T, e *env, mode string) {
	t.Helper()
	want := map[string]int{ // resource -> writes that changed more than the epoch tag
		e.topo.nics["nva-1"]["external"]: 1, // public IP detached
		e.topo.nics["nva-2"]["external"]: 1, // and attached
		e.topo.nics["nva-1"]["internal"]: 0,
		e.topo.nics["nva-2"]["internal"]: 0,
	}
	for _, id := range e.topo.tables {
		want[id] = 0
	}
	switch mode {
	case modeFloating:
		want[e.topo.nics["nva-1"]["internal"]] = 1 // ipconfig removed
		want[e.topo.nics["nva-2"]["internal"]] = 1 // and added
	case modePool:
		want[lbID] = 1
	case modeDNS:
		want[dnsRecord] = 1
	case modeDualStack:
		for _, id := range e.topo.tables {
			want[id] = 1 // IPv4 and IPv6 next hops in one PUT
		}
	}
	for id, n := range want {
		if got := countWrites(e.sim, id); got != n {
			t.Errorf("%s got %d write(s), want %d", shortID(id), got, n)
		}
	}
}

// TestSteeringModesRestartMidFailover kills the monitor while the mode's
// write is refused (409 on the standby's NIC, the load balancer, the record
// set, one route table), then clears the fault and starts a new monitor: it
// must finish the failover from what Azure holds.
func TestSteeringModesRestartMidFailover(t *testing.T) {
	for _, mode := range []string{modeFloating, modePool, modeDNS, modeDualStack} {
		t.Run(mode, func(t *testing.T) {
			e := steerEnv(t, mode, "tcp", envOptions{lroLatency: 100 * time.Millisecond})
			var blocked, path string
			switch mode {
			case modeFloating:
				blocked, path = e.topo.nics["nva-2"]["internal"], "/networkInterfaces/nva2-int"
			case modePool:
				blocked, path = lbID, "/loadBalancers/lb-nva"
			case modeDNS:
				blocked, path = dnsRecord, "/privateDnsZones/"+dnsZone+"/A/nva"
			case modeDualStack:
				blocked, path = e.topo.tables[0], "/routeTables/rt-00"
			}
			e.sim.InjectFault(armsim.Fault{Method: "PUT", PathContains: path, Status: 409,
				Code: "AnotherOperationInProgress", Message: "Another operation on this or dependent resource is in progress.", Count: -1})
			p := e.startMonitor()
			e.waitReady(p)
			eventually(t, 30*time.Second, "nva-2 healthy", func() bool { return healthOf(t, e, "nva-2") == "up" })
			e.nvas["nva-1"].crash()
			eventually(t, 60*time.Second, "the blocked write refused", func() bool { return rejected(e.sim, blocked) > 0 })
			if mode == modeFloating {
				eventually(t, 60*time.Second, "floating IP removed from nva-1", func() bool { return floatingHolder(t, e) == "" })
			}
			p.kill()
			if steeredTo(t, e, mode, "nva-2") {
				t.Fatalf("%s already on nva-2 although its write was refused", mode)
			}
			e.sim.ClearFaults()
			p2 := e.startMonitor()
			eventually(t, 60*time.Second, "the restarted monitor finishes the failover", func() bool { return steeredTo(t, e, mode, "nva-2") })
			// Depending on what moved before the kill, Azure reads as split
			// toward nva-2 (a repair) or as still on nva-1 (a failover).
			_, repaired := p2.firstEvent("split_state_repair", "nva-2", time.Time{})
			fs, failedOver := p2.firstEvent("failover_started", "", time.Time{})
			if !repaired && !(failedOver && fs.To == "nva-2") {
				t.Errorf("restarted monitor logged neither a repair nor a failover toward nva-2:\n%s", p2.logText())
			}
		})
	}
}

// TestClusterPausedLeaderNeverWritesOnAnySteeringResource is
// TestClusterPausedLeaderNeverWritesAfterLosingTheLease with a floating IP,
// a backend pool and a DNS record, then with dual-stack route tables: a
// leader paused past its lease (a stale writer) resumes after the other
// monitor failed over, and none of its writes may reach any of them.
func TestClusterPausedLeaderNeverWritesOnAnySteeringResource(t *testing.T) {
	for _, modes := range [][]string{{modeFloating, modePool, modeDNS}, {modeDualStack}} {
		t.Run(strings.Join(modes, "+"), func(t *testing.T) { pausedLeaderOn(t, modes) })
	}
}

func pausedLeaderOn(t *testing.T, modes []string) {
	c := newCluster(t, 2, envOptions{tables: 1, lroLatency: 50 * time.Millisecond, steer: strings.Join(modes, ",")})
	onAll := func(nva string) bool {
		for _, m := range modes {
			if !steeredTo(t, c.env, m, nva) {
				return false
			}
		}
		return true
	}
	if !onAll("nva-1") {
		t.Fatalf("seeded resources do not all point at nva-1")
	}
	c.startAll()
	leader := c.waitLeader(60 * time.Second)
	next := c.other(leader)
	paused := time.Now()
	must(t, leader.p.cmd.Process.Signal(syscall.SIGSTOP))
	c.crashNVA("nva-1")
	eventually(t, 60*time.Second, "the other monitor leads", func() bool { return isLeader(next) })
	eventually(t, 60*time.Second, "failover of every kind to nva-2", func() bool { return onAll("nva-2") })
	if d := time.Since(paused); d < leaseDuration+5*time.Second {
		time.Sleep(leaseDuration + 5*time.Second - d)
	}
	resumed := time.Now()
	must(t, leader.p.cmd.Process.Signal(syscall.SIGCONT))
	eventually(t, 30*time.Second, "the resumed monitor notices it lost the lease", func() bool {
		_, ok := leader.p.firstEvent("leader_lost", "", resumed)
		return ok
	})
	time.Sleep(3 * time.Second)
	for _, ev := range writesBy(c.sim, leader.name, paused) {
		t.Errorf("write from the paused monitor %s after it was paused: %s %s %v", leader.name, ev.Method, shortID(ev.ResourceID), ev.Changes)
	}
	if !onAll("nva-2") {
		t.Errorf("resources moved away from nva-2 after the resume")
	}
	// The new leader's epoch is on each kind's resource, so a write the
	// old one had built before would fail its If-Match and be fenced.
	for _, m := range modes {
		switch m {
		case modePool:
			if tags, _ := resource(t, c.sim, lbID)["tags"].(map[string]any); tags["hanva-epoch"] == nil {
				t.Errorf("load balancer carries no epoch tag after the failover: %v", tags)
			}
		case modeDNS:
			if md, _ := resource(t, c.sim, dnsRecord)["properties"].(map[string]any)["metadata"].(map[string]any); md["hanva-epoch"] == nil {
				t.Errorf("DNS record set carries no epoch metadata after the failover: %v", md)
			}
		case modeDualStack:
			if tags, _ := resource(t, c.sim, c.topo.tables[0])["tags"].(map[string]any); tags["hanva-epoch"] == nil {
				t.Errorf("route table carries no epoch tag after the failover: %v", tags)
			}
		case modeFloating:
			if tags, _ := resource(t, c.sim, c.topo.nics["nva-2"]["internal"])["tags"].(map[string]any); tags["hanva-epoch"] == nil {
				t.Errorf("nva-2's internal NIC carries no epoch tag after the floating IP moved onto it: %v", tags)
			}
		}
	}
}
