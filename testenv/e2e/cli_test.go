package e2e

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// TestPlanPrintsChangesAndMakesNone checks `plan --to` lists each ARM change
// of a failover and writes nothing.
func TestPlanPrintsChangesAndMakesNone(t *testing.T) {
	e := newEnv(t, envOptions{tables: 2})
	code, out, stderr := runCLI(t, "plan", "--config", e.cfgPath, "--to", "nva-2")
	if code != 0 {
		t.Fatalf("plan exited %d:\n%s%s", code, out, stderr)
	}
	for _, want := range []string{"rt-00", "rt-01", "10.0.0.100 -> 10.0.0.101", "pip-fw", "nva1-ext", "nva2-ext"} {
		if !strings.Contains(out, want) {
			t.Errorf("plan output lacks %q:\n%s", want, out)
		}
	}
	if n := countEvents(e.sim, "write_accepted", time.Time{}); n != 0 {
		t.Errorf("plan made %d ARM write(s), want none", n)
	}
	code, out, _ = runCLI(t, "plan", "--config", e.cfgPath, "--to", "nva-1")
	if code != 0 || !strings.Contains(out, "Nothing to change") {
		t.Errorf("plan to the active NVA = %d %q, want 0 and nothing to change", code, out)
	}
	code, _, stderr = runCLI(t, "plan", "--config", e.cfgPath, "--to", "nva-9")
	if code != 2 || !strings.Contains(stderr, "nva-9") {
		t.Errorf("plan to an unknown NVA = %d %q, want exit 2 naming it", code, stderr)
	}
}

// TestManualFailoverRefusesAnUnhealthyTargetWithoutForce checks `failover`.
func TestManualFailoverRefusesAnUnhealthyTargetWithoutForce(t *testing.T) {
	e := newEnv(t, envOptions{tables: 2, lroLatency: 50 * time.Millisecond})
	e.nvas["nva-2"].crash()
	code, _, stderr := runCLI(t, "failover", "--config", e.cfgPath, "--to", "nva-2")
	if code != 1 || !strings.Contains(stderr, "not healthy") || !strings.Contains(stderr, "--force") {
		t.Errorf("failover to a dead NVA = %d %q, want exit 1 refusing and suggesting --force", code, stderr)
	}
	if n := countEvents(e.sim, "write_accepted", time.Time{}); n != 0 {
		t.Fatalf("a refused failover wrote %d time(s) to ARM", n)
	}
	code, out, stderr := runCLI(t, "failover", "--config", e.cfgPath, "--to", "nva-2", "--force")
	if code != 0 {
		t.Fatalf("failover --force = %d:\n%s%s", code, out, stderr)
	}
	if !e.topo.onNVA(t, e.sim, "nva-2") {
		t.Errorf("after failover --force, resources are not all on nva-2")
	}
	// And back to a healthy NVA without --force.
	code, out, stderr = runCLI(t, "failover", "--config", e.cfgPath, "--to", "nva-1")
	if code != 0 || !e.topo.onNVA(t, e.sim, "nva-1") {
		t.Errorf("failover back to the healthy nva-1 = %d:\n%s%s", code, out, stderr)
	}
}

// TestStatusReportsAzureProbesAndTheDaemon checks `status --json` and the text form.
func TestStatusReportsAzureProbesAndTheDaemon(t *testing.T) {
	e := newEnv(t, envOptions{tables: 2})
	e.nvas["nva-2"].crash()
	code, out, stderr := runCLI(t, "status", "--config", e.cfgPath, "--json")
	if code != 0 {
		t.Fatalf("status --json = %d:\n%s%s", code, out, stderr)
	}
	var st struct {
		Active    string `json:"active"`
		Split     bool   `json:"split"`
		Resources []struct {
			ID       string   `json:"id"`
			PointsAt []string `json:"pointsAt"`
		} `json:"resources"`
		Probes []struct {
			NVA     string `json:"nva"`
			OK      bool   `json:"ok"`
			Failure string `json:"failure"`
		} `json:"probes"`
		DaemonError string `json:"daemonError"`
	}
	must(t, json.Unmarshal([]byte(out), &st))
	if st.Active != "nva-1" || st.Split {
		t.Errorf("status active = %q split = %v, want nva-1 and no split", st.Active, st.Split)
	}
	if len(st.Resources) != 3 {
		t.Errorf("status lists %d resources, want 2 tables and 1 public IP", len(st.Resources))
	}
	probes := map[string]bool{}
	for _, p := range st.Probes {
		probes[p.NVA] = p.OK
	}
	if !probes["nva-1"] || probes["nva-2"] {
		t.Errorf("status probes = %v, want nva-1 ok and nva-2 failing", probes)
	}
	if st.DaemonError == "" {
		t.Errorf("status found a daemon although none runs")
	}

	p := e.startMonitor()
	e.waitReady(p)
	code, out, _ = runCLI(t, "status", "--config", e.cfgPath)
	if code != 0 || !strings.Contains(out, "Active NVA (from Azure): nva-1") || !strings.Contains(out, "Daemon e2e-mon") {
		t.Errorf("status text = %d:\n%s", code, out)
	}
}

// TestValidateChecksAzureAndFailsOnIPForwardingOff runs `validate` on a good
// environment, then turns IP forwarding off on a next-hop NIC.
func TestValidateChecksAzureAndFailsOnIPForwardingOff(t *testing.T) {
	e := newEnv(t, envOptions{tables: 2})
	code, out, stderr := runCLI(t, "validate", "--config", e.cfgPath)
	if code != 0 || !strings.Contains(out, "All checks passed") {
		t.Fatalf("validate on a good environment = %d:\n%s%s", code, out, stderr)
	}
	nic := e.topo.nics["nva-2"]["internal"]
	r := resource(t, e.sim, nic)
	r["properties"].(map[string]any)["enableIPForwarding"] = false
	must(t, e.sim.Seed(nic, jsonBytes(t, r)))
	e.sim.SetPermissions(e.topo.tables[1], []string{"*/read"}, nil)
	code, out, _ = runCLI(t, "validate", "--config", e.cfgPath)
	if code != 1 {
		t.Errorf("validate with IP forwarding off exited %d, want 1:\n%s", code, out)
	}
	if !strings.Contains(out, "FAIL  NIC nva2-int") || !strings.Contains(out, "IP forwarding off") {
		t.Errorf("validate does not flag nva2-int's IP forwarding:\n%s", out)
	}
	if !strings.Contains(out, "Microsoft.Network/routeTables/write on route table rt-01") {
		t.Errorf("validate does not flag the missing write permission on rt-01:\n%s", out)
	}
	if n := countEvents(e.sim, "write_accepted", time.Time{}); n != 0 {
		t.Errorf("validate wrote %d time(s) to ARM", n)
	}

	// A table whose NVA routes all use the external NICs while the config
	// says via internal would never be failed over: validate must say so.
	e.cfg.RouteTables[0].Via = "external"
	e.writeConfig()
	_, out, _ = runCLI(t, "validate", "--config", e.cfgPath)
	if !strings.Contains(out, "FAIL  route table rt-00: its NVA routes point at the NVAs' internal NICs but the config says via external") {
		t.Errorf("validate does not flag the wrong via role:\n%s", out)
	}
}

func TestVersionAndUsage(t *testing.T) {
	code, out, _ := runCLI(t, "version")
	if code != 0 || !strings.HasPrefix(out, "nva-monitor ") {
		t.Errorf("version = %d %q", code, out)
	}
	code, _, stderr := runCLI(t, "frobnicate")
	if code != 2 || !strings.Contains(stderr, "unknown command") {
		t.Errorf("unknown command = %d %q, want 2", code, stderr)
	}
	code, _, stderr = runCLI(t, "run", "--config", "/nonexistent/nva-monitor.yaml")
	if code != 2 || !strings.Contains(stderr, "/nonexistent/nva-monitor.yaml") {
		t.Errorf("missing config file = %d %q, want 2 naming the file", code, stderr)
	}
}

// TestSteeringResourcesInPlanStatusAndValidate runs plan, status and
// validate on a config with a floating IP, a backend pool and a DNS record
// (and the public IP): each command shows each kind, and none writes.
func TestSteeringResourcesInPlanStatusAndValidate(t *testing.T) {
	e := newEnv(t, envOptions{tables: 1, steer: strings.Join([]string{modeFloating, modePool, modeDNS}, ",")})

	code, out, stderr := runCLI(t, "plan", "--config", e.cfgPath, "--to", "nva-2")
	if code != 0 {
		t.Fatalf("plan exited %d:\n%s%s", code, out, stderr)
	}
	for _, want := range []string{
		"floatingIp", "detach floating IP " + floatingIP + " from nic nva1-int/" + floatingIC, "attach floating IP " + floatingIP + " to nic nva2-int",
		"backendPool", "10.0.0.100 (nva-1) -> 10.0.0.101 (nva-2)",
		"dnsRecord", `A record set "nva"`,
		"publicIp", "pip-fw",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("plan output lacks %q:\n%s", want, out)
		}
	}

	code, out, stderr = runCLI(t, "status", "--config", e.cfgPath, "--json")
	if code != 0 {
		t.Fatalf("status --json = %d:\n%s%s", code, out, stderr)
	}
	var st struct {
		Active    string `json:"active"`
		Split     bool   `json:"split"`
		Resources []struct {
			Kind     string   `json:"kind"`
			ID       string   `json:"id"`
			PointsAt []string `json:"pointsAt"`
		} `json:"resources"`
	}
	must(t, json.Unmarshal([]byte(out), &st))
	if st.Active != "nva-1" || st.Split {
		t.Errorf("status active = %q split = %v, want nva-1 and no split", st.Active, st.Split)
	}
	kinds := map[string]string{}
	for _, r := range st.Resources {
		kinds[r.Kind] = strings.Join(r.PointsAt, ",")
	}
	for _, k := range []string{modeFloating, modePool, modeDNS, "publicIp"} {
		if kinds[k] != "nva-1" {
			t.Errorf("status: %s points at %q, want nva-1 (resources %+v)", k, kinds[k], st.Resources)
		}
	}

	code, out, stderr = runCLI(t, "validate", "--config", e.cfgPath)
	if code != 0 || !strings.Contains(out, "All checks passed") {
		t.Fatalf("validate on a good environment = %d:\n%s%s", code, out, stderr)
	}
	for _, want := range []string{
		"floating IP " + floatingIP + " on nva-1 (nva1-int/" + floatingIC + ")",
		"backend pool nvas: nva-1",
		"DNS record nva (A, TTL 10 s): nva-1",
		"identity may read and write on load balancer lb-nva",
		"identity may read and write on DNS record nva",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("validate output lacks %q:\n%s", want, out)
		}
	}
	// A long TTL, a pool holding both NVAs and no write permission on the
	// record set: validate says so, and still writes nothing.
	r := resource(t, e.sim, dnsRecord)
	r["properties"].(map[string]any)["ttl"] = 3600
	must(t, e.sim.Seed(dnsRecord, jsonBytes(t, r)))
	lb := resource(t, e.sim, lbID)
	pool := lb["properties"].(map[string]any)["backendAddressPools"].([]any)[0].(map[string]any)["properties"].(map[string]any)
	pool["loadBalancerBackendAddresses"] = append(pool["loadBalancerBackendAddresses"].([]any), map[string]any{"name": "standby",
		"properties": map[string]any{"ipAddress": nvaIPs["nva-2"]["internal"], "virtualNetwork": map[string]any{"id": rid("virtualNetworks", "vnet-hanva")}}})
	must(t, e.sim.Seed(lbID, jsonBytes(t, lb)))
	e.sim.SetPermissions(dnsRecord, []string{"*/read"}, nil)
	code, out, _ = runCLI(t, "validate", "--config", e.cfgPath)
	if code != 1 {
		t.Errorf("validate without write on the record set exited %d, want 1:\n%s", code, out)
	}
	for _, want := range []string{
		"has a TTL of 3600 s",
		"backend pool nvas holds several NVAs (nva-1, nva-2)",
		"Microsoft.Network/privateDnsZones/A/write on DNS record nva",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("validate output lacks %q:\n%s", want, out)
		}
	}
	if n := countEvents(e.sim, "write_accepted", time.Time{}); n != 0 {
		t.Errorf("plan, status and validate made %d ARM write(s), want none", n)
	}
}
