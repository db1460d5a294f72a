package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/hanva/hanva/monitor/config"
	"github.com/hanva/hanva/testenv/armsim"
)

// monitorBin is the nva-monitor binary built once for all tests.
var monitorBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "hanva-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	monitorBin = filepath.Join(dir, "nva-monitor")
	args := []string{"build", "-o", monitorBin}
	env := os.Environ()
	if raceEnabled {
		args = append(args, "-race")
	} else {
		// The binary as shipped (Makefile BUILD_ENV and BUILD_FLAGS): static,
		// without symbol table. Its resident memory is what
		// BenchmarkDaemonResources measures.
		env = append(env, "CGO_ENABLED=0")
		args = append(args, "-trimpath", "-buildvcs=false", "-ldflags=-s -w")
	}
	build := exec.Command("go", append(args, "github.com/hanva/hanva/monitor/cmd/nva-monitor")...)
	build.Env = env
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build nva-monitor:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

const (
	sub = "00000000-0000-0000-0000-000000000000"
	rg  = "rg-hanva"
)

func rid(typ, name string) string {
	return fmt.Sprintf("/subscriptions/%s/resourceGroups/%s/providers/Microsoft.Network/%s/%s", sub, rg, typ, name)
}

// nvaIPs are the private IPs of the sample NVAs' NICs, by NVA and role.
var nvaIPs = map[string]map[string]string{
	"nva-1": {"external": "10.0.0.70", "internal": "10.0.0.100"},
	"nva-2": {"external": "10.0.0.71", "internal": "10.0.0.101"},
}

func nicName(nva, role string) string {
	return strings.ReplaceAll(nva, "-", "") + "-" + map[string]string{"external": "ext", "internal": "int"}[role]
}

// topology is the seeded sample: a VNet, two NVAs with an external and an
// internal NIC each, nTables route tables whose NVA routes go via the
// internal NICs (plus routes the monitor does not own), and one public IP.
type topology struct {
	tables []string // route table IDs
	pip    string
	nics   map[string]map[string]string // nva -> role -> NIC ID
}

// seed writes the topology into the emulator with everything pointing at
// active (or, for a split state, tables[i] at splitTo[i] when given).
func seed(t testing.TB, sim *armsim.Server, nTables int, active string, pipOn string, tableOn func(i int) string) topology {
	t.Helper()
	topo := topology{nics: map[string]map[string]string{}}
	vnet := rid("virtualNetworks", "vnet-hanva")
	must(t, sim.Seed(vnet, jsonBytes(t, map[string]any{
		"location": "westeurope",
		"properties": map[string]any{
			"addressSpace": map[string]any{"addressPrefixes": []string{"10.0.0.0/16"}},
			"subnets": []any{
				map[string]any{"name": "dmz-external", "properties": map[string]any{"addressPrefix": "10.0.0.64/27"}},
				map[string]any{"name": "dmz-internal", "properties": map[string]any{"addressPrefix": "10.0.0.96/27"}},
				map[string]any{"name": "web", "properties": map[string]any{"addressPrefix": "10.0.1.0/24"}},
			},
		},
	})))
	pip := rid("publicIPAddresses", "pip-fw")
	must(t, sim.Seed(pip, jsonBytes(t, map[string]any{
		"location": "westeurope",
		"sku":      map[string]any{"name": "Standard"},
		"properties": map[string]any{
			"publicIPAllocationMethod": "Static", "publicIPAddressVersion": "IPv4", "ipAddress": "20.0.0.1",
		},
	})))
	topo.pip = pip
	for _, nva := range []string{"nva-1", "nva-2"} {
		topo.nics[nva] = map[string]string{}
		for _, role := range []string{"external", "internal"} {
			id := rid("networkInterfaces", nicName(nva, role))
			topo.nics[nva][role] = id
			subnet := vnet + "/subnets/dmz-internal"
			if role == "external" {
				subnet = vnet + "/subnets/dmz-external"
			}
			ipc := map[string]any{
				"privateIPAddress": nvaIPs[nva][role], "privateIPAllocationMethod": "Static",
				"subnet": map[string]any{"id": subnet}, "primary": true,
			}
			if role == "external" && nva == pipOn {
				ipc["publicIPAddress"] = map[string]any{"id": pip}
			}
			ipcs := []any{map[string]any{"name": "ipconfig1", "properties": ipc}}
			if role == "internal" {
				// A second ipconfig the monitor must leave alone.
				ipcs = append(ipcs, map[string]any{"name": "ipconfig2", "properties": map[string]any{
					"privateIPAddress": strings.Replace(nvaIPs[nva][role], ".10", ".11", 1), "privateIPAllocationMethod": "Static",
					"subnet": map[string]any{"id": subnet}, "primary": false,
				}})
			}
			must(t, sim.Seed(id, jsonBytes(t, map[string]any{
				"location": "westeurope",
				"tags":     map[string]any{"owner": "netops"},
				"properties": map[string]any{
					"enableIPForwarding":          true,
					"enableAcceleratedNetworking": true,
					"networkSecurityGroup":        map[string]any{"id": rid("networkSecurityGroups", "nsg-"+nicName(nva, role))},
					"dnsSettings":                 map[string]any{"dnsServers": []string{"10.0.0.4"}},
					"ipConfigurations":            ipcs,
				},
			})))
		}
	}
	for i := range nTables {
		id := rid("routeTables", fmt.Sprintf("rt-%02d", i))
		on := active
		if tableOn != nil {
			on = tableOn(i)
		}
		hop := nvaIPs[on]["internal"]
		must(t, sim.Seed(id, jsonBytes(t, map[string]any{
			"location": "westeurope",
			"tags":     map[string]any{"env": "e2e", "table": fmt.Sprint(i)},
			"properties": map[string]any{
				"disableBgpRoutePropagation": true,
				"routes": []any{
					route("default", "0.0.0.0/0", "VirtualAppliance", hop),
					route("to-web", "10.0.1.0/24", "VirtualAppliance", hop),
					route("bypass", "203.0.113.0/24", "Internet", ""),
					route("other-appliance", "192.168.0.0/16", "VirtualAppliance", "10.0.0.99"),
				},
			},
		})))
		topo.tables = append(topo.tables, id)
	}
	return topo
}

func route(name, prefix, hopType, hop string) map[string]any {
	p := map[string]any{"addressPrefix": prefix, "nextHopType": hopType}
	if hop != "" {
		p["nextHopIpAddress"] = hop
	}
	return map[string]any{"name": name, "properties": p}
}

func jsonBytes(t testing.TB, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	must(t, err)
	return b
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// resource returns a resource's current JSON from the emulator, decoded.
func resource(t testing.TB, sim *armsim.Server, id string) map[string]any {
	t.Helper()
	b, ok := sim.Resource(id)
	if !ok {
		t.Fatalf("resource %s not in the emulator", id)
	}
	var m map[string]any
	must(t, json.Unmarshal(b, &m))
	return m
}

// nextHops returns route name -> next hop IP of a table.
func nextHops(t testing.TB, sim *armsim.Server, id string) map[string]string {
	t.Helper()
	out := map[string]string{}
	props, _ := resource(t, sim, id)["properties"].(map[string]any)
	routes, _ := props["routes"].([]any)
	for _, r := range routes {
		rm := r.(map[string]any)
		p, _ := rm["properties"].(map[string]any)
		hop, _ := p["nextHopIpAddress"].(string)
		out[rm["name"].(string)] = hop
	}
	return out
}

// pipHolder returns the NIC ID holding the public IP ("" if detached).
func pipHolder(t testing.TB, sim *armsim.Server, id string) string {
	t.Helper()
	props, _ := resource(t, sim, id)["properties"].(map[string]any)
	ipc, _ := props["ipConfiguration"].(map[string]any)
	ref, _ := ipc["id"].(string)
	if i := strings.Index(strings.ToLower(ref), "/ipconfigurations/"); i >= 0 {
		return ref[:i]
	}
	return ref
}

// onNVA reports whether every table's NVA routes and the PIP are on nva.
func (topo topology) onNVA(t testing.TB, sim *armsim.Server, nva string) bool {
	t.Helper()
	for _, id := range topo.tables {
		h := nextHops(t, sim, id)
		if h["default"] != nvaIPs[nva]["internal"] || h["to-web"] != nvaIPs[nva]["internal"] {
			return false
		}
	}
	return strings.EqualFold(pipHolder(t, sim, topo.pip), topo.nics[nva]["external"])
}

// standIn is an NVA stand-in answering its probe port on 127.0.0.1.
type standIn struct {
	kind string // tcp or http
	mu   sync.Mutex
	ln   net.Listener
	srv  *http.Server
	hang chan struct{} // closed to release hung requests
	hung bool
	addr string
}

func newStandIn(t testing.TB, kind string) *standIn {
	t.Helper()
	s := &standIn{kind: kind, hang: make(chan struct{})}
	s.start(t, "127.0.0.1:0")
	t.Cleanup(s.stop)
	return s
}

func (s *standIn) start(t testing.TB, addr string) {
	t.Helper()
	ln, err := net.Listen("tcp", addr)
	must(t, err)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ln, s.addr = ln, ln.Addr().String()
	if s.kind == "http" {
		s.srv = &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			s.mu.Lock()
			hung, ch := s.hung, s.hang
			s.mu.Unlock()
			if hung {
				select {
				case <-ch:
				case <-r.Context().Done():
				}
				return
			}
			_, _ = io.WriteString(w, "ok\n")
		})}
		go func() { _ = s.srv.Serve(ln) }()
		return
	}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
}

// crash closes the listener: probes are refused (RST).
func (s *standIn) crash() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.srv != nil {
		_ = s.srv.Close()
		s.srv = nil
	}
	if s.ln != nil {
		_ = s.ln.Close()
		s.ln = nil
	}
}

// hangUp makes the HTTP stand-in accept and never answer: silent failure.
func (s *standIn) hangUp() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.hung = true
}

func (s *standIn) stop() {
	s.mu.Lock()
	if s.hung {
		close(s.hang)
		s.hung = false
	}
	s.mu.Unlock()
	s.crash()
}

// env is one end-to-end environment: the emulator, two NVA stand-ins and
// the config a monitor runs with.
type env struct {
	t       testing.TB
	sim     *armsim.Server
	topo    topology
	nvas    map[string]*standIn
	cfg     *config.Config
	cfgPath string
	dir     string
}

type envOptions struct {
	tables     int
	probeKind  string
	active     string
	pipOn      string
	tableOn    func(i int) string
	lroLatency time.Duration
	mutate     func(*config.Config)
	steer      string // steering modes of modes_test.go, comma-separated; "" for route tables and the public IP only
}

func newEnv(t testing.TB, o envOptions) *env {
	t.Helper()
	if o.tables == 0 {
		o.tables = 2
	}
	if o.probeKind == "" {
		o.probeKind = "tcp"
	}
	if o.active == "" {
		o.active = "nva-1"
	}
	if o.pipOn == "" {
		o.pipOn = o.active
	}
	sim, err := armsim.Start(armsim.Options{LROLatency: o.lroLatency, Token: "e2e-token"})
	must(t, err)
	t.Cleanup(sim.Close)
	e := &env{t: t, sim: sim, dir: t.TempDir(), nvas: map[string]*standIn{}}
	e.topo = seed(t, sim, o.tables, o.active, o.pipOn, o.tableOn)

	caPath := filepath.Join(e.dir, "armsim-ca.pem")
	must(t, os.WriteFile(caPath, sim.CAPEM(), 0o600))
	tokenPath := filepath.Join(e.dir, "token")
	must(t, os.WriteFile(tokenPath, []byte("e2e-token\n"), 0o600))

	cfg := &config.Config{
		Instance:    "e2e-mon",
		ARMEndpoint: sim.URL(),
		CAFile:      caPath,
		Credential:  config.Credential{Kind: "staticTokenFile", TokenFile: tokenPath},
		Probe: config.ProbeTiming{
			Interval: config.Duration(200 * time.Millisecond), Timeout: config.Duration(150 * time.Millisecond),
			FailureThreshold: 3, SuccessThreshold: 2,
		},
		MinFailoverInterval: config.Duration(time.Second),
		PollInterval:        config.Duration(100 * time.Millisecond),
		ReconcileInterval:   config.Duration(2 * time.Second),
		Listen:              freeAddr(t),
		Log:                 config.Log{Format: "json", Level: "info"},
	}
	for _, nva := range []string{"nva-1", "nva-2"} {
		s := newStandIn(t, o.probeKind)
		e.nvas[nva] = s
		p := config.Probe{Address: s.addr, Kind: o.probeKind}
		if o.probeKind == "http" {
			p.Path = "/healthz"
		}
		cfg.NVAs = append(cfg.NVAs, config.NVA{Name: nva, Probe: p, NICs: map[string]string{
			"external": e.topo.nics[nva]["external"], "internal": e.topo.nics[nva]["internal"],
		}})
	}
	for _, id := range e.topo.tables {
		cfg.RouteTables = append(cfg.RouteTables, config.RouteTable{ID: id, Via: "internal"})
	}
	cfg.PublicIPs = []config.PublicIP{{ID: e.topo.pip, Via: "external"}}
	e.cfg = cfg
	if o.steer != "" {
		for _, mode := range strings.Split(o.steer, ",") {
			e.applySteer(mode, o.active)
		}
	}
	if o.mutate != nil {
		o.mutate(cfg)
	}
	e.writeConfig()
	return e
}

func (e *env) writeConfig() {
	e.t.Helper()
	b, err := e.cfg.Marshal()
	must(e.t, err)
	e.cfgPath = filepath.Join(e.dir, "nva-monitor.yaml")
	must(e.t, os.WriteFile(e.cfgPath, b, 0o600))
}

func freeAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	must(t, err)
	defer ln.Close()
	return ln.Addr().String()
}

// proc is a running nva-monitor process.
type proc struct {
	t      testing.TB
	listen string // its HTTP endpoint
	cmd    *exec.Cmd
	mu     sync.Mutex
	logs   bytes.Buffer
	done   chan struct{}
	err    error
}

// startMonitor runs `nva-monitor run` on the env's config.
func (e *env) startMonitor() *proc {
	e.t.Helper()
	return e.start(e.cfgPath, e.cfg.Listen)
}

// start runs `nva-monitor run` on a config file.
func (e *env) start(cfgPath, listen string) *proc {
	e.t.Helper()
	p := &proc{t: e.t, listen: listen, done: make(chan struct{})}
	p.cmd = exec.Command(monitorBin, "run", "--config", cfgPath)
	stderr, err := p.cmd.StderrPipe()
	must(e.t, err)
	must(e.t, p.cmd.Start())
	go func() {
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			p.mu.Lock()
			p.logs.Write(sc.Bytes())
			p.logs.WriteByte('\n')
			p.mu.Unlock()
		}
		p.err = p.cmd.Wait()
		close(p.done)
	}()
	e.t.Cleanup(func() {
		p.stop()
		if strings.Contains(p.logText(), "WARNING: DATA RACE") {
			e.t.Errorf("the monitor process reported a data race")
		}
		if e.t.Failed() || os.Getenv("HANVA_E2E_LOG") != "" {
			e.t.Logf("monitor log:\n%s", p.logText())
			e.dumpEvents()
		}
	})
	return p
}

func (p *proc) stop() {
	select {
	case <-p.done:
		return
	default:
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.done
	}
}

func (p *proc) kill() {
	_ = p.cmd.Process.Kill()
	<-p.done
}

func (p *proc) logText() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.logs.String()
}

// logLine is one JSON log line of the monitor.
type logLine struct {
	Time   time.Time `json:"time"`
	Level  string    `json:"level"`
	Msg    string    `json:"msg"`
	Event  string    `json:"event"`
	NVA    string    `json:"nva"`
	From   string    `json:"from"`
	To     string    `json:"to"`
	Reason string    `json:"reason"`
	raw    map[string]any
}

func (p *proc) lines() []logLine {
	var out []logLine
	for _, l := range strings.Split(p.logText(), "\n") {
		if strings.TrimSpace(l) == "" {
			continue
		}
		var ll logLine
		if json.Unmarshal([]byte(l), &ll) != nil {
			continue
		}
		_ = json.Unmarshal([]byte(l), &ll.raw)
		out = append(out, ll)
	}
	return out
}

// firstEvent returns the first log line with the event (and NVA, if given) after t0.
func (p *proc) firstEvent(event, nva string, after time.Time) (logLine, bool) {
	for _, l := range p.lines() {
		if l.Event == event && (nva == "" || l.NVA == nva) && !l.Time.Before(after) {
			return l, true
		}
	}
	return logLine{}, false
}

// waitReady waits until the monitor's /readyz answers 200.
func (e *env) waitReady(p *proc) {
	e.t.Helper()
	eventually(e.t, 60*time.Second, "monitor ready", func() bool {
		select {
		case <-p.done:
			e.t.Fatalf("monitor exited early: %v\n%s", p.err, p.logText())
		default:
		}
		resp, err := http.Get("http://" + p.listen + "/readyz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == 200
	})
}

// eventually polls cond until it holds or the deadline passes.
func eventually(t testing.TB, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", within, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (e *env) dumpEvents() {
	var b strings.Builder
	for _, ev := range e.sim.Events(0) {
		fmt.Fprintf(&b, "%4d %s %-15s %-6s %s %d %s %s %v\n", ev.Seq, ev.Time.Format("15:04:05.000"), ev.Kind, ev.Method,
			shortID(ev.ResourceID), ev.Status, ev.Code, ev.Client, ev.Changes)
	}
	e.t.Logf("armsim event log:\n%s", b.String())
}

func shortID(id string) string {
	if i := strings.LastIndex(id, "/"); i >= 0 {
		return id[i+1:]
	}
	return id
}

// runCLI runs a one-shot nva-monitor command and returns its exit code and output.
func runCLI(t testing.TB, args ...string) (int, string, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, monitorBin, args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("run nva-monitor %v: %v", args, err)
	}
	return code, out.String(), errb.String()
}
