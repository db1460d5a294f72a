package lab

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/hanva/hanva/monitor/config"
	"github.com/hanva/hanva/testenv/armsim"
)

// startAlone starts an Env with one monitor (lease none, so no Azurite).
func startAlone(t *testing.T, bin string) *Env {
	t.Helper()
	s, err := SampleStack(SampleOptions{Monitors: 1, Settings: Settings{Probe: config.ProbeTiming{Interval: config.Duration(200 * time.Millisecond)}}})
	if err != nil {
		t.Fatal(err)
	}
	e, err := Start(context.Background(), Options{Stack: s, MonitorBin: bin, Dir: t.TempDir(), LROLatency: 50 * time.Millisecond,
		Tweak: func(c *config.Config) { c.PollInterval = config.Duration(100 * time.Millisecond) }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.Close)
	return e
}

func reseed(t *testing.T, e *Env, id string, edit func(props map[string]any)) {
	t.Helper()
	b, ok := e.Sim.Resource(id)
	if !ok {
		t.Fatalf("%s not in armsim", id)
	}
	var body map[string]any
	if err := json.Unmarshal(b, &body); err != nil {
		t.Fatal(err)
	}
	edit(body["properties"].(map[string]any))
	b, _ = json.Marshal(body)
	if err := e.Sim.Seed(id, b); err != nil {
		t.Fatal(err)
	}
}

func TestPlacementSaysWhereEachResourcePoints(t *testing.T) {
	e := startAlone(t, "/nonexistent/nva-monitor") // never started
	table := e.Stack.Config.RouteTables[0].ID
	pip := e.Stack.Config.PublicIPs[0].ID
	p, err := e.Placement()
	if err != nil {
		t.Fatal(err)
	}
	if on, ok := p.On(); !ok || on != "nva-1" {
		t.Fatalf("seeded placement = %+v, want all on nva-1", p)
	}

	reseed(t, e, table, func(props map[string]any) {
		routes := props["routes"].([]any)
		routes[0].(map[string]any)["properties"].(map[string]any)["nextHopIpAddress"] = "10.0.0.101"
	})
	p, _ = e.Placement()
	if p.RouteTables[table] != Split {
		t.Errorf("a table with one route on each NVA = %q, want %q", p.RouteTables[table], Split)
	}
	if _, ok := p.On(); ok {
		t.Errorf("On() agrees although a table is split")
	}

	reseed(t, e, table, func(props map[string]any) {
		for _, r := range props["routes"].([]any) {
			r.(map[string]any)["properties"].(map[string]any)["nextHopIpAddress"] = "10.0.0.101"
		}
	})
	reseed(t, e, e.Stack.Config.NVAs[0].NICs[RoleExternal], func(props map[string]any) {
		ipc := props["ipConfigurations"].([]any)[0].(map[string]any)["properties"].(map[string]any)
		delete(ipc, "publicIPAddress")
	})
	p, _ = e.Placement()
	if p.RouteTables[table] != "nva-2" || p.PublicIPs[pip] != "" {
		t.Errorf("placement = %+v, want the table on nva-2 and the public IP detached", p)
	}
	if _, ok := p.On(); ok {
		t.Errorf("On() agrees although the public IP is detached")
	}
	if e.NVAOfIP("10.0.0.69") != "nva-2" || e.NVAOfNIC(e.Stack.Config.NVAs[1].NICs[RoleInternal]) != "nva-2" {
		t.Errorf("NVAOfIP/NVAOfNIC do not know nva-2's NICs")
	}
}

// TestMonitorProcessFailsOverAndObeysSignals runs one real nva-monitor on
// the sample stack: it fails over when nva-1 crashes, stops answering while
// paused, and can be killed and started again.
func TestMonitorProcessFailsOverAndObeysSignals(t *testing.T) {
	bin, err := BuildMonitor(t.TempDir(), BuildOptions{Race: raceEnabled})
	if err != nil {
		t.Fatal(err)
	}
	e := startAlone(t, bin)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	if err := e.StartMonitors(ctx); err != nil {
		t.Fatal(err)
	}
	m := e.Monitors[0]
	defer func() {
		if t.Failed() {
			t.Logf("monitor log:\n%s", m.LogText())
		}
	}()
	if l, err := e.WaitLeader(ctx); err != nil || l != m {
		t.Fatalf("WaitLeader = %v, %v; a lone monitor always leads", l, err)
	}
	e.StandIns["nva-1"].Crash()
	err = Poll(ctx, func() (bool, error) {
		p, err := e.Placement()
		on, ok := p.On()
		return ok && on == "nva-2", err
	})
	if err != nil {
		t.Fatalf("no failover to nva-2: %v", err)
	}
	if _, ok := First(m.Logs(), "failover_completed", "", time.Time{}); !ok {
		if err := Poll(ctx, func() (bool, error) { _, ok := First(m.Logs(), "failover_completed", "", time.Time{}); return ok, nil }); err != nil {
			t.Errorf("no failover_completed in the log")
		}
	}

	if err := m.Pause(); err != nil {
		t.Fatal(err)
	}
	if !m.Paused() || !m.Running() {
		t.Errorf("after Pause: paused %v running %v", m.Paused(), m.Running())
	}
	if _, err := m.Status(ctx); err == nil {
		t.Errorf("a paused monitor's status was read")
	}
	if err := m.Resume(); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Status(ctx); err != nil {
		t.Errorf("status after Resume: %v", err)
	}

	if err := m.Kill(); err != nil {
		t.Fatal(err)
	}
	if m.Running() || m.Exited() == nil {
		t.Errorf("after Kill: running %v, exit %v", m.Running(), m.Exited())
	}
	if err := m.Start(); err != nil {
		t.Fatal(err)
	}
	if err := e.WaitReady(ctx, m); err != nil {
		t.Fatal(err)
	}
	if n := len(Filter(m.Logs(), "starting", "", time.Time{})); n != 2 {
		t.Errorf("%d starting lines, want 2: the log must span restarts", n)
	}
	st, err := m.Status(ctx)
	if err != nil || st.Active != "nva-2" {
		t.Errorf("restarted monitor: active %v (%v), want nva-2 from Azure", st, err)
	}
	if err := m.Stop(10 * time.Second); err != nil || m.Running() {
		t.Errorf("Stop = %v, running %v", err, m.Running())
	}
}

// The steered resources the hand-written sample lacks, added by hand as
// the Pulumi program declares them (testenv/stackseed's tests hold the
// program to that shape): a floating IP on nva-1's internal NIC, an
// internal load balancer whose IP-based pool holds nva-1's internal
// address, and a Private DNS A record with the same address.
const (
	floatingIP = "10.0.0.112"
	floatName  = "hanva-floating-10-0-0-112"
)

var (
	lbID   = ResourceID("loadBalancers", "hanva-lb")
	poolID = lbID + "/backendAddressPools/nva-pool"
	zoneID = ResourceID("privateDnsZones", "hanva.internal")
	recID  = zoneID + "/A/nva"
)

func steeredStack(t *testing.T) *Stack {
	t.Helper()
	s, err := SampleStack(SampleOptions{Monitors: 1})
	if err != nil {
		t.Fatal(err)
	}
	vnet := ResourceID("virtualNetworks", "hanva-vnet")
	nic := s.Config.NVAs[0].NICs[RoleInternal]
	for i, r := range s.Resources {
		if r.ID != nic {
			continue
		}
		var body map[string]any
		if err := json.Unmarshal(r.Body, &body); err != nil {
			t.Fatal(err)
		}
		props := body["properties"].(map[string]any)
		props["ipConfigurations"] = append(props["ipConfigurations"].([]any), map[string]any{"name": floatName, "properties": map[string]any{
			"privateIPAddress": floatingIP, "privateIPAllocationMethod": "Static", "primary": false,
			"subnet": map[string]any{"id": vnet + "/subnets/dmz-internal"},
		}})
		s.Resources[i].Body, _ = json.Marshal(body)
	}
	add := func(id string, body map[string]any) {
		b, _ := json.Marshal(body)
		s.Resources = append(s.Resources, armsim.SeedResource{ID: id, Body: b})
	}
	add(lbID, map[string]any{"location": Location, "sku": map[string]any{"name": "Standard"}, "properties": map[string]any{
		"frontendIPConfigurations": []any{map[string]any{"name": "nva-frontend", "properties": map[string]any{
			"privateIPAddress": "10.0.0.113", "subnet": map[string]any{"id": vnet + "/subnets/dmz-internal"}}}},
		"backendAddressPools": []any{map[string]any{"name": "nva-pool", "properties": map[string]any{
			"loadBalancerBackendAddresses": []any{member("10.0.0.100")}}}},
	}})
	add(zoneID, map[string]any{"location": "global"})
	add(recID, map[string]any{"properties": map[string]any{"ttl": 10, "aRecords": []any{map[string]any{"ipv4Address": "10.0.0.100"}}}})
	s.Config.FloatingIPs = []config.FloatingIP{{IP: floatingIP, Via: RoleInternal}}
	s.Config.BackendPools = []config.BackendPool{{ID: poolID, Via: RoleInternal}}
	s.Config.DNSRecords = []config.DNSRecord{{ID: recID, Via: RoleInternal}}
	return s
}

func member(ip string) map[string]any {
	return map[string]any{"name": "nva-" + strings.ReplaceAll(ip, ".", "-"), "properties": map[string]any{
		"ipAddress": ip, "virtualNetwork": map[string]any{"id": ResourceID("virtualNetworks", "hanva-vnet")}}}
}

// TestPlacementSaysWhereEachSteeredResourcePoints: floating IPs by the
// NVA NIC that carries them, backend pools and DNS records by the NVA
// addresses they hold; On() agrees only when every kind does.
func TestPlacementSaysWhereEachSteeredResourcePoints(t *testing.T) {
	e, err := Start(context.Background(), Options{Stack: steeredStack(t), MonitorBin: "/nonexistent/nva-monitor", Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.Close)
	internal := func(i int) string { return e.Stack.Config.NVAs[i].NICs[RoleInternal] }
	p, err := e.Placement()
	if err != nil {
		t.Fatal(err)
	}
	if on, ok := p.On(); !ok || on != "nva-1" || p.FloatingIPs[floatingIP] != "nva-1" || p.BackendPools[poolID] != "nva-1" || p.DNSRecords[recID] != "nva-1" {
		t.Fatalf("seeded placement = %+v, want every kind on nva-1", p)
	}
	if nva := e.NVAOfIP(floatingIP); nva != "" {
		t.Errorf("NVAOfIP(the floating IP) = %q; it is no NVA's own address", nva)
	}

	// The floating ipconfig on both NICs (armsim's seed does not check
	// allocation): split; then on nva-2's alone.
	var floating any
	reseed(t, e, internal(0), func(props map[string]any) { floating = props["ipConfigurations"].([]any)[1] })
	reseed(t, e, internal(1), func(props map[string]any) {
		props["ipConfigurations"] = append(props["ipConfigurations"].([]any), floating)
	})
	if p, _ = e.Placement(); p.FloatingIPs[floatingIP] != Split {
		t.Errorf("floating IP on both NVAs' NICs = %q, want %q", p.FloatingIPs[floatingIP], Split)
	}
	reseed(t, e, internal(0), func(props map[string]any) { props["ipConfigurations"] = props["ipConfigurations"].([]any)[:1] })
	if p, _ = e.Placement(); p.FloatingIPs[floatingIP] != "nva-2" {
		t.Errorf("floating IP on nva-2's NIC alone = %q", p.FloatingIPs[floatingIP])
	}
	if _, ok := p.On(); ok {
		t.Errorf("On() agrees with the floating IP on nva-2 and the rest on nva-1: %+v", p)
	}

	pool := func(ips ...string) {
		reseed(t, e, lbID, func(props map[string]any) {
			var ms []any
			for _, ip := range ips {
				ms = append(ms, member(ip))
			}
			props["backendAddressPools"].([]any)[0].(map[string]any)["properties"].(map[string]any)["loadBalancerBackendAddresses"] = ms
		})
	}
	record := func(ips ...string) {
		reseed(t, e, recID, func(props map[string]any) {
			var rs []any
			for _, ip := range ips {
				rs = append(rs, map[string]any{"ipv4Address": ip})
			}
			props["aRecords"] = rs
		})
	}
	for _, tc := range []struct {
		ips  []string
		want string
	}{{[]string{"10.0.0.100", "10.0.0.101"}, Split}, {nil, ""}, {[]string{"10.9.9.9"}, ""}, {[]string{"10.0.0.101"}, "nva-2"}} {
		pool(tc.ips...)
		record(tc.ips...)
		p, err = e.Placement()
		if err != nil {
			t.Fatal(err)
		}
		if p.BackendPools[poolID] != tc.want || p.DNSRecords[recID] != tc.want {
			t.Errorf("members/records %v: pool %q, record %q; want %q", tc.ips, p.BackendPools[poolID], p.DNSRecords[recID], tc.want)
		}
	}
	if _, ok := p.On(); ok {
		t.Errorf("On() agrees with the route table and public IP still on nva-1: %+v", p)
	}
	table := e.Stack.Config.RouteTables[0].ID
	reseed(t, e, table, func(props map[string]any) {
		for _, r := range props["routes"].([]any) {
			r.(map[string]any)["properties"].(map[string]any)["nextHopIpAddress"] = "10.0.0.101"
		}
	})
	reseed(t, e, e.Stack.Config.NVAs[0].NICs[RoleExternal], func(props map[string]any) {
		delete(props["ipConfigurations"].([]any)[0].(map[string]any)["properties"].(map[string]any), "publicIPAddress")
	})
	reseed(t, e, e.Stack.Config.NVAs[1].NICs[RoleExternal], func(props map[string]any) {
		props["ipConfigurations"].([]any)[0].(map[string]any)["properties"].(map[string]any)["publicIPAddress"] = map[string]any{"id": e.Stack.Config.PublicIPs[0].ID}
	})
	if p, _ = e.Placement(); func() bool { on, ok := p.On(); return !ok || on != "nva-2" }() {
		t.Errorf("everything moved to nva-2, placement = %+v", p)
	}
}
