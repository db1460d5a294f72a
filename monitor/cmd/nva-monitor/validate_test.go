package main

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hanva/hanva/monitor/config"
	"github.com/hanva/hanva/testenv/armsim"
)

// validateEnv is one monitor (no lease) in front of armsim: two NVAs with
// an internal NIC each, the managed route table rt-web (0.0.0.0/0 to
// nva-1), and the monitor's own NIC mon-1-nic in subnet mon, whose route
// table each test chooses.
type validateEnv struct {
	sim  *armsim.Server
	cfg  *config.Config
	path string
}

var (
	vnet   = rid("virtualNetworks", "vnet-hub")
	monNIC = rid("networkInterfaces", "mon-1-nic")
)

func newValidateEnv(t *testing.T) *validateEnv {
	t.Helper()
	sim, err := armsim.Start(armsim.Options{Token: "test-token", RetryAfter: -1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sim.Close)
	e := &validateEnv{sim: sim}
	e.seed(t, rid("routeTables", "rt-web"), `{"location":"westeurope","properties":{"routes":[
		{"name":"default","properties":{"addressPrefix":"0.0.0.0/0","nextHopType":"VirtualAppliance","nextHopIpAddress":"10.0.1.4"}}]}}`)
	e.monitorSubnet(t, "")
	for i, ip := range []string{"10.0.1.4", "10.0.1.5"} {
		e.seed(t, rid("networkInterfaces", fmt.Sprintf("nva%d-int", i+1)), `{"location":"westeurope","properties":{"enableIPForwarding":true,
			"ipConfigurations":[{"name":"ipconfig1","properties":{"privateIPAddress":"`+ip+`","subnet":{"id":"`+vnet+`/subnets/nva"}}}]}}`)
	}
	e.seed(t, monNIC, `{"location":"westeurope","properties":{
		"ipConfigurations":[{"name":"ipconfig1","properties":{"privateIPAddress":"10.0.2.4","subnet":{"id":"`+vnet+`/subnets/mon"}}}]}}`)

	dir := t.TempDir()
	caFile := filepath.Join(dir, "arm-ca.pem")
	writeFile(t, caFile, sim.CAPEM())
	tokenFile := filepath.Join(dir, "token")
	writeFile(t, tokenFile, []byte("test-token\n"))
	e.cfg = &config.Config{
		Instance:     "mon-1",
		ARMEndpoint:  sim.URL(),
		CAFile:       caFile,
		Credential:   config.Credential{Kind: "staticTokenFile", TokenFile: tokenFile},
		InstanceNIC:  monNIC,
		PollInterval: config.Duration(100 * time.Millisecond),
		RouteTables:  []config.RouteTable{{ID: rid("routeTables", "rt-web"), Via: "internal"}},
	}
	for i := range 2 {
		e.cfg.NVAs = append(e.cfg.NVAs, config.NVA{
			Name:  fmt.Sprintf("nva-%d", i+1),
			Probe: config.Probe{Address: fmt.Sprintf("10.0.1.%d:22", i+4)},
			NICs:  map[string]string{"internal": rid("networkInterfaces", fmt.Sprintf("nva%d-int", i+1))},
		})
	}
	e.path = filepath.Join(dir, "nva-monitor.yaml")
	e.write(t)
	return e
}

func (e *validateEnv) seed(t *testing.T, id, body string) {
	t.Helper()
	if err := e.sim.Seed(id, []byte(body)); err != nil {
		t.Fatal(err)
	}
}

func (e *validateEnv) write(t *testing.T) {
	t.Helper()
	b, err := e.cfg.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, e.path, b)
}

// monitorSubnet associates the route table named table (none if "") with
// the monitor subnet.
func (e *validateEnv) monitorSubnet(t *testing.T, table string) {
	t.Helper()
	rt := ""
	if table != "" {
		rt = `,"routeTable":{"id":"` + rid("routeTables", table) + `"}`
	}
	e.seed(t, vnet, `{"location":"westeurope","properties":{"addressSpace":{"addressPrefixes":["10.0.0.0/16"]},
		"subnets":[{"name":"nva","properties":{"addressPrefix":"10.0.1.0/24"}},
		           {"name":"mon","properties":{"addressPrefix":"10.0.2.0/24"`+rt+`}}]}}`)
}

// monitorRoute gives the monitor subnet its own route table rt-mon with one
// 0.0.0.0/0 route.
func (e *validateEnv) monitorRoute(t *testing.T, hop, ip string) {
	t.Helper()
	ipProp := ""
	if ip != "" {
		ipProp = `,"nextHopIpAddress":"` + ip + `"`
	}
	e.seed(t, rid("routeTables", "rt-mon"), `{"location":"westeurope","properties":{"routes":[
		{"name":"out","properties":{"addressPrefix":"0.0.0.0/0","nextHopType":"`+hop+`"`+ipProp+`}}]}}`)
	e.monitorSubnet(t, "rt-mon")
}

func (e *validateEnv) validate(t *testing.T) (code int, stdout string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var out, errb bytes.Buffer
	code = run(ctx, []string{"validate", "--config", e.path}, &out, &errb)
	if errb.Len() > 0 {
		t.Logf("stderr:\n%s", errb.String())
	}
	return code, out.String()
}

// egressLine is validate's line about the monitor's way out to ARM.
func egressLine(out string) string {
	for _, l := range strings.Split(out, "\n") {
		if rest := l[min(6, len(l)):]; strings.HasPrefix(rest, "monitor NIC ") || strings.HasPrefix(rest, "monitor's way out") {
			return l
		}
	}
	return ""
}

func TestValidateJudgesTheMonitorsWayOut(t *testing.T) {
	tests := []struct {
		name  string
		setup func(t *testing.T, e *validateEnv)
		code  int
		line  []string // in validate's line about the way out, in order of appearance or not
	}{
		{"a default route to the Internet passes", func(*testing.T, *validateEnv) {}, 0,
			[]string{"ok    monitor NIC mon-1-nic: traffic to ARM (127.0.0.1: not routed by the subnet, so judged by the 0.0.0.0/0 route)",
				"leaves through the Internet next hop (the Default route 0.0.0.0/0)", "default-outbound-access"}},
		{"a default route through a managed NVA fails, naming the NVA and the route table",
			func(t *testing.T, e *validateEnv) { e.monitorSubnet(t, "rt-web") }, 1,
			[]string{"FAIL  monitor NIC mon-1-nic:", `the User route "default" (0.0.0.0/0) of route table rt-web (managed by this monitor)`,
				"to 10.0.1.4, the internal NIC nva1-int of NVA nva-1", "when nva-1 fails the monitors lose ARM",
				"0.0.0.0/0 -> Internet", "NAT gateway", "virtual-networks-udr-overview", "default-outbound-access"}},
		{"a route to the standby NVA fails as well", func(t *testing.T, e *validateEnv) { e.monitorRoute(t, "VirtualAppliance", "10.0.1.5") }, 1,
			[]string{"FAIL", `the User route "out" (0.0.0.0/0) of the route table on the monitor's subnet`, "NVA nva-2"}},
		{"next hop None fails", func(t *testing.T, e *validateEnv) { e.monitorRoute(t, "None", "") }, 1,
			[]string{"FAIL  monitor NIC mon-1-nic:", "next hop None: Azure drops it", "0.0.0.0/0 -> Internet"}},
		{"an appliance the monitor does not manage is a warning", func(t *testing.T, e *validateEnv) {
			e.monitorRoute(t, "VirtualAppliance", "10.0.5.4")
		}, 0, []string{"WARN  monitor NIC mon-1-nic:", "to the appliance 10.0.5.4, which is none of the managed NVAs"}},
		{"without instanceNic the check is skipped and says how to enable it", func(t *testing.T, e *validateEnv) {
			e.monitorSubnet(t, "rt-web") // would fail, were it checked
			e.cfg.InstanceNIC = ""
			e.write(t)
		}, 0, []string{"SKIP  monitor's way out to ARM and Storage: instanceNic is not set", "set instanceNic to this monitor VM's NIC resource ID",
			"Microsoft.Network/networkInterfaces/effectiveRouteTable/action"}},
		{"a monitor NIC that does not exist fails", func(t *testing.T, e *validateEnv) {
			e.cfg.InstanceNIC = rid("networkInterfaces", "mon-9-nic")
			e.write(t)
		}, 1, []string{"FAIL  monitor NIC mon-9-nic does not exist", "404 ResourceNotFound", "set instanceNic to this monitor VM's own NIC"}},
		{"a refused effective route read fails and names the action", func(t *testing.T, e *validateEnv) {
			e.sim.InjectFault(armsim.Fault{Method: http.MethodPost, PathContains: "/effectiveRouteTable",
				Status: http.StatusForbidden, Code: "AuthorizationFailed"})
		}, 1, []string{"FAIL  monitor NIC mon-1-nic: cannot read its effective routes", "AuthorizationFailed",
			"grant the monitor's identity Microsoft.Network/networkInterfaces/effectiveRouteTable/action on it"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newValidateEnv(t)
			tt.setup(t, e)
			code, out := e.validate(t)
			if code != tt.code {
				t.Errorf("validate exited %d, want %d:\n%s", code, tt.code, out)
			}
			line := egressLine(out)
			for _, s := range tt.line {
				if !strings.Contains(line, s) {
					t.Errorf("validate's line about the way out lacks %q:\n%s\nwhole output:\n%s", s, line, out)
				}
			}
			if n := len(e.sim.Events(0)); n != 0 {
				t.Errorf("validate made %d write(s) to ARM", n)
			}
		})
	}
}

func TestValidateExpectsTheEffectiveRouteActionOnTheMonitorNIC(t *testing.T) {
	e := newValidateEnv(t)
	code, out := e.validate(t)
	if code != 0 || !strings.Contains(out, "ok    identity may read the effective routes on monitor NIC mon-1-nic") {
		t.Errorf("validate = %d, want it to check the action on the monitor NIC:\n%s", code, out)
	}

	e.sim.SetPermissions(monNIC, []string{"Microsoft.Network/networkInterfaces/read"}, nil)
	code, out = e.validate(t)
	if code != 1 || !strings.Contains(out,
		"FAIL  the identity lacks Microsoft.Network/networkInterfaces/effectiveRouteTable/action on monitor NIC mon-1-nic") {
		t.Errorf("validate = %d, want it to flag the missing action:\n%s", code, out)
	}

	e.cfg.InstanceNIC = ""
	e.write(t)
	_, out = e.validate(t)
	if strings.Contains(out, "monitor NIC mon-1-nic") {
		t.Errorf("without instanceNic validate still checks the monitor NIC:\n%s", out)
	}
	if !strings.Contains(out, "All checks passed (0 warning(s), 1 skipped).") {
		t.Errorf("the summary does not count the skipped check:\n%s", out)
	}
}
