package act

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hanva/hanva/monitor/config"
	"github.com/hanva/hanva/monitor/internal/azure"
	"github.com/hanva/hanva/testenv/armsim"
)

// The test topology: a hub VNet with an internal and an external subnet, two
// NVAs with one NIC in each (each NIC also has an NSG, DNS servers, tags,
// accelerated networking and a second ipconfig), a jump host NIC that is not
// an NVA's, N route tables via the internal role and one public IP via the
// external role.
const (
	testSub = "00000000-0000-0000-0000-0000000000aa"
	netPath = "/subscriptions/" + testSub + "/resourceGroups/rg-hub/providers/Microsoft.Network"
	vnetID  = netPath + "/virtualNetworks/vnet-hub"
	nsgID   = netPath + "/networkSecurityGroups/nsg-nva"
	pipID   = netPath + "/publicIPAddresses/pip-1"
	jumpNIC = netPath + "/networkInterfaces/jump-nic"
	pipAddr = "20.1.2.3"
)

func nicID(name string) string { return netPath + "/networkInterfaces/" + name }
func rtID(i int) string        { return fmt.Sprintf("%s/routeTables/rt-%d", netPath, i) }

// nicSpec is one seeded NIC.
type nicSpec struct {
	name, subnet, ip, ip2 string
}

var (
	nva1Int = nicSpec{"nva1-int", "internal", "10.0.1.4", "10.0.1.14"}
	nva1Ext = nicSpec{"nva1-ext", "external", "10.0.2.4", "10.0.2.14"}
	nva2Int = nicSpec{"nva2-int", "internal", "10.0.1.5", "10.0.1.15"}
	nva2Ext = nicSpec{"nva2-ext", "external", "10.0.2.5", "10.0.2.15"}
	jump    = nicSpec{"jump-nic", "external", "10.0.2.20", ""}
)

// seedOpts shape the seeded state.
type seedOpts struct {
	tables int
	// hop is the NVA route next hop of each table (default nva-1's internal IP).
	hop func(i int) string
	// pipOn is the NIC the public IP is attached to ("" detached).
	pipOn string
}

func topology(tables int) Topology {
	t := Topology{
		NVAs: []NVA{
			{Name: "nva-1", NICs: map[string]string{"internal": nicID(nva1Int.name), "external": nicID(nva1Ext.name)}},
			{Name: "nva-2", NICs: map[string]string{"internal": nicID(nva2Int.name), "external": nicID(nva2Ext.name)}},
		},
		PublicIPs: []Managed{{ID: pipID, Via: "external"}},
	}
	for i := range tables {
		t.RouteTables = append(t.RouteTables, Managed{ID: rtID(i), Via: "internal"})
	}
	return t
}

func seedTopology(t testing.TB, srv *armsim.Server, o seedOpts) {
	t.Helper()
	seed(t, srv, vnetID, `{"location":"westeurope","properties":{"addressSpace":{"addressPrefixes":["10.0.0.0/16"]},
		"subnets":[{"name":"internal","properties":{"addressPrefix":"10.0.1.0/24"}},
		           {"name":"external","properties":{"addressPrefix":"10.0.2.0/24"}}]}}`)
	seed(t, srv, pipID, `{"location":"westeurope","sku":{"name":"Standard","tier":"Regional"},
		"properties":{"ipAddress":"`+pipAddr+`","publicIPAllocationMethod":"Static","publicIPAddressVersion":"IPv4"}}`)
	for _, n := range []nicSpec{nva1Int, nva1Ext, nva2Int, nva2Ext, jump} {
		pip := ""
		if o.pipOn == n.name {
			pip = `,"publicIPAddress":{"id":"` + pipID + `"}`
		}
		subnet := vnetID + "/subnets/" + n.subnet
		second := ""
		if n.ip2 != "" {
			second = `,{"name":"ipconfig2","properties":{"primary":false,"privateIPAddress":"` + n.ip2 + `",
				"privateIPAllocationMethod":"Static","subnet":{"id":"` + subnet + `"}}}`
		}
		seed(t, srv, nicID(n.name), `{"location":"westeurope","tags":{"owner":"netops","nic":"`+n.name+`"},
			"properties":{"resourceGuid":"`+guid(n.name)+`","enableIPForwarding":true,"enableAcceleratedNetworking":true,
			"networkSecurityGroup":{"id":"`+nsgID+`"},
			"dnsSettings":{"dnsServers":["10.0.0.10","10.0.0.11"]},
			"ipConfigurations":[{"name":"ipconfig1","properties":{"primary":true,"privateIPAddress":"`+n.ip+`",
				"privateIPAllocationMethod":"Static","subnet":{"id":"`+subnet+`"}`+pip+`}}`+second+`]}}`)
	}
	for i := range o.tables {
		seed(t, srv, rtID(i), routeTableJSON(o.hopFor(i)))
	}
}

func (o seedOpts) hopFor(i int) string {
	if o.hop == nil {
		return nva1Int.ip
	}
	return o.hop(i)
}

// routeTableJSON has two NVA routes to hop, a route to the Internet and a
// route to an appliance that is not one of our NVAs.
func routeTableJSON(hop string) string {
	return `{"location":"westeurope","tags":{"owner":"netops","env":"test"},
		"properties":{"resourceGuid":"` + guid(hop) + `","disableBgpRoutePropagation":true,"routes":[
		{"name":"default","properties":{"addressPrefix":"0.0.0.0/0","nextHopType":"VirtualAppliance","nextHopIpAddress":"` + hop + `"}},
		{"name":"spokes","properties":{"addressPrefix":"10.8.0.0/16","nextHopType":"VirtualAppliance","nextHopIpAddress":"` + hop + `"}},
		{"name":"internet","properties":{"addressPrefix":"20.0.0.0/8","nextHopType":"Internet"}},
		{"name":"scanner","properties":{"addressPrefix":"10.9.0.0/16","nextHopType":"VirtualAppliance","nextHopIpAddress":"10.0.1.99"}}]}}`
}

// guid is a fixed resourceGuid (armsim gives a resource without one a new
// one on its first write, as Azure gives one at creation).
func guid(seed string) string {
	return fmt.Sprintf("%08x-0000-4000-8000-000000000000", len(seed)*7919+int(seed[len(seed)-1]))
}

func seed(t testing.TB, srv *armsim.Server, id, body string) {
	t.Helper()
	if err := srv.Seed(id, []byte(body)); err != nil {
		t.Fatalf("seed %s: %v", id, err)
	}
}

// env is armsim plus an engine pointed at it through the azure package's
// client options and a static token file, as the daemon builds them.
type env struct {
	srv  *armsim.Server
	eng  *Engine
	logs *logBuffer
}

type envOpts struct {
	sim     armsim.Options
	seed    seedOpts
	options Options
	// custom, when set, seeds instead of seedTopology and gives the topology.
	custom func(t testing.TB, srv *armsim.Server) Topology
}

func newEnv(t testing.TB, o envOpts) *env {
	t.Helper()
	if o.sim.Token == "" {
		o.sim.Token = "test-token"
	}
	srv, err := armsim.Start(o.sim)
	if err != nil {
		t.Fatalf("start armsim: %v", err)
	}
	t.Cleanup(srv.Close)
	topo := topology(o.seed.tables)
	if o.custom != nil {
		topo = o.custom(t, srv)
	} else {
		seedTopology(t, srv, o.seed)
	}

	dir := t.TempDir()
	ca := filepath.Join(dir, "ca.pem")
	tok := filepath.Join(dir, "token")
	if err := os.WriteFile(ca, srv.CAPEM(), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(tok, []byte(o.sim.Token+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	s := azure.Settings{
		ARMEndpoint: srv.URL(), CAFile: ca, Instance: "test-monitor", Version: "test",
		Credential: config.Credential{Kind: azure.KindStaticTokenFile, TokenFile: tok},
	}
	clientOpts, err := azure.ClientOptions(s)
	if err != nil {
		t.Fatal(err)
	}
	cred, err := azure.Credential(s, clientOpts)
	if err != nil {
		t.Fatal(err)
	}
	logs := &logBuffer{}
	if o.options.Logger == nil {
		o.options.Logger = slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	if o.options.PollInterval == 0 {
		o.options.PollInterval = 10 * time.Millisecond
	}
	if o.options.OperationTimeout == 0 {
		o.options.OperationTimeout = 45 * time.Second // generous: a loaded 2-core machine
	}
	eng, err := New(topo, cred, clientOpts, o.options)
	if err != nil {
		t.Fatal(err)
	}
	eng.backoff = backoff{Base: 20 * time.Millisecond, Max: 200 * time.Millisecond}
	return &env{srv: srv, eng: eng, logs: logs}
}

func testCtx(t testing.TB) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// logBuffer collects JSON log lines from several goroutines.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

// events returns the log records whose "event" is name.
func (l *logBuffer) events(name string) []map[string]any {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []map[string]any
	for _, line := range strings.Split(l.buf.String(), "\n") {
		var m map[string]any
		if json.Unmarshal([]byte(line), &m) == nil && m["event"] == name {
			out = append(out, m)
		}
	}
	return out
}

// resourceJSON returns a resource as armsim stores it.
func resourceJSON(t testing.TB, srv *armsim.Server, id string) map[string]any {
	t.Helper()
	b, ok := srv.Resource(id)
	if !ok {
		t.Fatalf("resource %s does not exist", id)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// writes returns the accepted writes armsim logged.
func writes(srv *armsim.Server) []armsim.Event {
	var out []armsim.Event
	for _, ev := range srv.Events(0) {
		if ev.Kind == armsim.KindWriteAccepted {
			out = append(out, ev)
		}
	}
	return out
}

// writeRequests counts the PUTs armsim received (accepted or not).
func writeRequests(srv *armsim.Server) int {
	n := 0
	for _, r := range srv.Requests() {
		if r.Method != "GET" {
			n++
		}
	}
	return n
}

// path walks a decoded JSON document: keys for objects, "name=x" for the
// element of an array whose name is x.
func path(t testing.TB, v any, steps ...string) any {
	t.Helper()
	for _, s := range steps {
		switch cur := v.(type) {
		case map[string]any:
			v = cur[s]
		case []any:
			name, ok := strings.CutPrefix(s, "name=")
			if !ok {
				t.Fatalf("step %q into an array", s)
			}
			v = nil
			for _, el := range cur {
				if m, _ := el.(map[string]any); m != nil && m["name"] == name {
					v = m
				}
			}
		default:
			return nil
		}
	}
	return v
}

// withoutVolatile drops what every write changes (etags, provisioning
// states) so documents read before and after a write can be compared.
func withoutVolatile(v any) any {
	switch cur := v.(type) {
	case map[string]any:
		out := map[string]any{}
		for k, x := range cur {
			if k == "etag" || k == "provisioningState" {
				continue
			}
			out[k] = withoutVolatile(x)
		}
		return out
	case []any:
		out := make([]any, len(cur))
		for i, x := range cur {
			out[i] = withoutVolatile(x)
		}
		return out
	}
	return v
}

func jsonString(v any) string {
	b, _ := json.MarshalIndent(v, "", "  ")
	return string(b)
}
