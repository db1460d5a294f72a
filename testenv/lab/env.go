package lab

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/bloberror"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/lease"

	"github.com/hanva/hanva/monitor/config"
	"github.com/hanva/hanva/testenv/armsim"
	"github.com/hanva/hanva/testenv/azurite"
)

// Options configures Start.
type Options struct {
	// Stack is the deployment to stand up (SampleStack). Required.
	Stack *Stack
	// MonitorBin is the nva-monitor binary (BuildMonitor). Required.
	MonitorBin string
	// Azurite is a running storage emulator, shared by several Envs (it
	// starts in seconds, not milliseconds). Start empties the lease
	// container; Close leaves Azurite running. Required when the stack's
	// monitors use a blob lease.
	Azurite *azurite.Azurite
	// Dir receives the configs, the CA, the token and the monitors' logs.
	// Required; Close leaves it.
	Dir string
	// LROLatency is armsim's operation latency (how long an accepted PUT
	// stays Updating).
	LROLatency time.Duration
	// RetryAfter is armsim's Retry-After on operations; 0 sends Azure's 10.
	RetryAfter int
	// Tweak, if set, changes each monitor's config after Localize (and is
	// validated again).
	Tweak func(*config.Config)
}

// Env is one local deployment: armsim seeded with the stack's resources, an
// NVA stand-in per NVA, and the stack's monitors as nva-monitor processes
// (prepared, not started) pointed at armsim, Azurite and the stand-ins.
type Env struct {
	Sim      *armsim.Server
	Azurite  *azurite.Azurite
	Stack    *Stack
	NVAs     []string // names, in preference order
	StandIns map[string]*StandIn
	Monitors []*Monitor
	Dir      string

	nicNVA map[string]string // lower-case NIC ID -> NVA
	ipNVA  map[string]string // NIC private IP -> NVA
}

// Start stands the environment up. The caller must Close it.
func Start(ctx context.Context, o Options) (_ *Env, err error) {
	if o.Stack == nil || o.MonitorBin == "" || o.Dir == "" {
		return nil, errors.New("start lab: Stack, MonitorBin and Dir are required")
	}
	token, err := randomToken()
	if err != nil {
		return nil, fmt.Errorf("start lab: %w", err)
	}
	sim, err := armsim.Start(armsim.Options{LROLatency: o.LROLatency, RetryAfter: o.RetryAfter, Token: token})
	if err != nil {
		return nil, fmt.Errorf("start lab: %w", err)
	}
	e := &Env{Sim: sim, Azurite: o.Azurite, Stack: o.Stack, StandIns: map[string]*StandIn{}, Dir: o.Dir,
		nicNVA: map[string]string{}, ipNVA: map[string]string{}}
	defer func() {
		if err != nil {
			e.Close()
		}
	}()
	if err := sim.SeedAll(armsim.SeedFile{Resources: o.Stack.Resources}); err != nil {
		return nil, fmt.Errorf("start lab: seed armsim: %w", err)
	}
	gen := o.Stack.Config
	floating := map[string]bool{}
	for _, f := range gen.FloatingIPs {
		floating[f.IP] = true
	}
	for _, n := range gen.NVAs {
		e.NVAs = append(e.NVAs, n.Name)
		for _, nic := range n.NICs {
			e.nicNVA[strings.ToLower(nic)] = n.Name
			ips, err := e.nicIPs(nic)
			if err != nil {
				return nil, fmt.Errorf("start lab: %w", err)
			}
			for _, ip := range ips {
				if !floating[ip] { // it follows the active NVA: no NVA's own
					e.ipNVA[ip] = n.Name
				}
			}
		}
		s, err := NewStandIn()
		if err != nil {
			return nil, fmt.Errorf("start lab: %w", err)
		}
		e.StandIns[n.Name] = s
	}

	caFile := filepath.Join(o.Dir, "armsim-ca.pem")
	tokenFile := filepath.Join(o.Dir, "armsim-token")
	if err := os.WriteFile(caFile, sim.CAPEM(), 0o600); err != nil {
		return nil, fmt.Errorf("start lab: %w", err)
	}
	if err := os.WriteFile(tokenFile, []byte(token+"\n"), 0o600); err != nil {
		return nil, fmt.Errorf("start lab: %w", err)
	}
	local := Local{ARMEndpoint: sim.URL(), CAFile: caFile, TokenFile: tokenFile, Probes: map[string]string{}}
	for name, s := range e.StandIns {
		local.Probes[name] = s.Addr()
	}
	if gen.Lease.Kind == "blob" {
		if o.Azurite == nil {
			return nil, errors.New("start lab: the monitors use a blob lease: Options.Azurite is required")
		}
		if local.AccountKeyFile, err = o.Azurite.WriteKeyFile(o.Dir); err != nil {
			return nil, fmt.Errorf("start lab: %w", err)
		}
		local.BlobService = o.Azurite.ServiceURL()
		if err := e.emptyLeaseContainer(ctx); err != nil {
			return nil, fmt.Errorf("start lab: %w", err)
		}
	}
	instances := gen.Monitors
	if len(instances) == 0 {
		instances = []string{gen.Instance}
	}
	for _, name := range instances {
		if local.Listen, err = freeAddr(); err != nil {
			return nil, fmt.Errorf("start lab: %w", err)
		}
		cfg, err := Localize(gen, name, local)
		if err != nil {
			return nil, fmt.Errorf("start lab: %w", err)
		}
		if o.Tweak != nil {
			o.Tweak(cfg)
			if err := cfg.Validate(); err != nil {
				return nil, fmt.Errorf("start lab: config of %s after the tweak: %w", name, err)
			}
		}
		m, err := NewMonitor(o.MonitorBin, cfg, filepath.Join(o.Dir, name+".yaml"), filepath.Join(o.Dir, name+".log"))
		if err != nil {
			return nil, fmt.Errorf("start lab: %w", err)
		}
		e.Monitors = append(e.Monitors, m)
	}
	return e, nil
}

// Close stops every monitor, the stand-ins and armsim. Azurite and Dir stay.
func (e *Env) Close() {
	for _, m := range e.Monitors {
		_ = m.Stop(10 * time.Second)
	}
	for _, s := range e.StandIns {
		s.Close()
	}
	e.Sim.Close()
}

// StartMonitors starts every monitor and waits until each is ready.
func (e *Env) StartMonitors(ctx context.Context) error {
	for _, m := range e.Monitors {
		if err := m.Start(); err != nil {
			return err
		}
	}
	for _, m := range e.Monitors {
		if err := e.WaitReady(ctx, m); err != nil {
			return err
		}
	}
	return nil
}

// WaitReady waits until a monitor's /readyz answers 200, failing early when
// it exits.
func (e *Env) WaitReady(ctx context.Context, m *Monitor) error {
	return Poll(ctx, func() (bool, error) {
		if !m.Running() {
			return false, fmt.Errorf("%s exited before it was ready (%v); its log: %s", m.Name, m.Exited(), m.LogPath)
		}
		return m.Ready(ctx), nil
	})
}

// Monitor returns the monitor of an instance name, nil if none.
func (e *Env) Monitor(name string) *Monitor {
	for _, m := range e.Monitors {
		if m.Name == name {
			return m
		}
	}
	return nil
}

// Leaders returns the running, unpaused monitors whose /metrics say
// hanva_is_leader 1.
func (e *Env) Leaders(ctx context.Context) []*Monitor {
	var out []*Monitor
	for _, m := range e.Monitors {
		if !m.Running() || m.Paused() {
			continue
		}
		if ok, err := m.IsLeader(ctx); err == nil && ok {
			out = append(out, m)
		}
	}
	return out
}

// WaitLeader waits until exactly one monitor leads and returns it.
func (e *Env) WaitLeader(ctx context.Context) (*Monitor, error) {
	var leader *Monitor
	err := Poll(ctx, func() (bool, error) {
		ls := e.Leaders(ctx)
		if len(ls) == 1 {
			leader = ls[0]
			return true, nil
		}
		return false, nil
	})
	if err != nil {
		return nil, fmt.Errorf("wait for one leader: %w", err)
	}
	return leader, nil
}

// Placement is where each managed resource points, read from armsim: the
// NVA name, "" when it points at no NVA (a detached public IP, a table
// without NVA routes, a floating IP on no NVA NIC, an empty pool or record
// set), or Split when it points at several NVAs (a table whose routes use
// several, a floating IP on two NICs, a pool or record set with two NVAs'
// addresses).
type Placement struct {
	RouteTables map[string]string // by ID
	PublicIPs   map[string]string // by ID
	// FloatingIPs: the NVA whose NIC of the floating IP's role carries an
	// ipconfig with the address, by address.
	FloatingIPs map[string]string
	// BackendPools: the NVA whose address (of the pool's role) is a member,
	// by pool ID.
	BackendPools map[string]string
	// DNSRecords: the NVA whose address (of the record's role) the record
	// set holds, by record set ID.
	DNSRecords map[string]string
}

// Split marks a resource that points at more than one NVA.
const Split = "(split)"

// On returns the NVA every managed resource points at, if they agree.
func (p Placement) On() (string, bool) {
	nva, first := "", true
	for _, m := range []map[string]string{p.RouteTables, p.PublicIPs, p.FloatingIPs, p.BackendPools, p.DNSRecords} {
		for _, v := range m {
			if first {
				nva, first = v, false
			} else if v != nva {
				return "", false
			}
		}
	}
	return nva, !first && nva != "" && nva != Split
}

// Placement reads every managed resource from armsim: route tables,
// public IPs, floating IPs (the NVA NICs of their role), backend pools and
// DNS record sets.
func (e *Env) Placement() (Placement, error) {
	p := Placement{RouteTables: map[string]string{}, PublicIPs: map[string]string{},
		FloatingIPs: map[string]string{}, BackendPools: map[string]string{}, DNSRecords: map[string]string{}}
	cfg := e.Stack.Config
	for _, rt := range cfg.RouteTables {
		var body struct {
			Properties struct {
				Routes []struct {
					Properties struct {
						NextHopType      string `json:"nextHopType"`
						NextHopIPAddress string `json:"nextHopIpAddress"`
					} `json:"properties"`
				} `json:"routes"`
			} `json:"properties"`
		}
		if err := e.resource(rt.ID, &body); err != nil {
			return p, err
		}
		var ips []string
		for _, r := range body.Properties.Routes {
			if strings.EqualFold(r.Properties.NextHopType, "VirtualAppliance") {
				ips = append(ips, r.Properties.NextHopIPAddress)
			}
		}
		p.RouteTables[rt.ID] = e.pointsAt(ips)
	}
	for _, pip := range cfg.PublicIPs {
		var body struct {
			Properties struct {
				IPConfiguration struct {
					ID string `json:"id"`
				} `json:"ipConfiguration"`
			} `json:"properties"`
		}
		if err := e.resource(pip.ID, &body); err != nil {
			return p, err
		}
		p.PublicIPs[pip.ID] = e.NVAOfNIC(NICOf(body.Properties.IPConfiguration.ID))
	}
	for _, f := range cfg.FloatingIPs {
		seen := map[string]bool{}
		for _, n := range cfg.NVAs {
			nic, ok := n.NICs[f.Via]
			if !ok {
				continue
			}
			ips, err := e.nicIPs(nic)
			if err != nil {
				return p, err
			}
			if slices.Contains(ips, f.IP) {
				seen[n.Name] = true
			}
		}
		p.FloatingIPs[f.IP] = oneOf(seen)
	}
	for _, bp := range cfg.BackendPools {
		var body struct {
			Properties struct {
				Members []struct {
					Properties struct {
						IPAddress string `json:"ipAddress"`
					} `json:"properties"`
				} `json:"loadBalancerBackendAddresses"`
			} `json:"properties"`
		}
		if err := e.resource(bp.ID, &body); err != nil {
			return p, err
		}
		var ips []string
		for _, m := range body.Properties.Members {
			ips = append(ips, m.Properties.IPAddress)
		}
		p.BackendPools[bp.ID] = e.pointsAt(ips)
	}
	for _, d := range cfg.DNSRecords {
		var body struct {
			Properties struct {
				A []struct {
					IP string `json:"ipv4Address"`
				} `json:"aRecords"`
				AAAA []struct {
					IP string `json:"ipv6Address"`
				} `json:"aaaaRecords"`
			} `json:"properties"`
		}
		if err := e.resource(d.ID, &body); err != nil {
			return p, err
		}
		var ips []string
		for _, r := range body.Properties.A {
			ips = append(ips, r.IP)
		}
		for _, r := range body.Properties.AAAA {
			ips = append(ips, r.IP)
		}
		p.DNSRecords[d.ID] = e.pointsAt(ips)
	}
	return p, nil
}

// pointsAt is the NVA a set of addresses belongs to: "" if none is an
// NVA's, Split if they belong to several. Addresses of no NVA (a floating
// IP, someone else's) are ignored.
func (e *Env) pointsAt(ips []string) string {
	seen := map[string]bool{}
	for _, ip := range ips {
		if nva, ok := e.ipNVA[ip]; ok {
			seen[nva] = true
		}
	}
	return oneOf(seen)
}

func oneOf(seen map[string]bool) string {
	switch len(seen) {
	case 0:
		return ""
	case 1:
		for nva := range seen {
			return nva
		}
	}
	return Split
}

// NVAOfIP returns the NVA one of whose NICs has a private IP ("" if none).
func (e *Env) NVAOfIP(ip string) string { return e.ipNVA[ip] }

// FloatingIPOf returns the address of the managed floating IP whose
// ipconfig has that name ("" if none).
func (e *Env) FloatingIPOf(ipconfigName string) string {
	for _, f := range e.Stack.Config.FloatingIPs {
		if strings.EqualFold(f.IPConfigName(), ipconfigName) {
			return f.IP
		}
	}
	return ""
}

// NVAOfNIC returns the NVA a NIC ID belongs to ("" if none).
func (e *Env) NVAOfNIC(nicID string) string { return e.nicNVA[strings.ToLower(nicID)] }

// NICOf returns the NIC ID of an ipConfiguration ID (the ID itself if it
// is not one).
func NICOf(ipConfigID string) string {
	if i := strings.Index(strings.ToLower(ipConfigID), "/ipconfigurations/"); i >= 0 {
		return ipConfigID[:i]
	}
	return ipConfigID
}

func (e *Env) resource(id string, v any) error {
	b, ok := e.Sim.Resource(id)
	if !ok {
		return fmt.Errorf("read %s: not in armsim", id)
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("read %s: %w", id, err)
	}
	return nil
}

func (e *Env) nicIPs(id string) ([]string, error) {
	var body struct {
		Properties struct {
			IPConfigurations []struct {
				Properties struct {
					PrivateIPAddress string `json:"privateIPAddress"`
				} `json:"properties"`
			} `json:"ipConfigurations"`
		} `json:"properties"`
	}
	if err := e.resource(id, &body); err != nil {
		return nil, err
	}
	var out []string
	for _, c := range body.Properties.IPConfigurations {
		if c.Properties.PrivateIPAddress != "" {
			out = append(out, c.Properties.PrivateIPAddress)
		}
	}
	return out, nil
}

// emptyLeaseContainer creates the lease container if needed and deletes
// every blob in it (breaking leases left by killed monitors), so a new
// cluster starts with no leader, no shared state and no views.
func (e *Env) emptyLeaseContainer(ctx context.Context) error {
	name, err := LeaseContainerOf(e.Stack.Config)
	if err != nil {
		return err
	}
	c, err := e.Azurite.ContainerClient(name)
	if err != nil {
		return fmt.Errorf("empty lease container: %w", err)
	}
	pager := c.NewListBlobsFlatPager(nil)
	for pager.More() {
		page, err := pager.NextPage(ctx)
		if err != nil {
			return fmt.Errorf("empty lease container %q: list: %w", name, err)
		}
		for _, item := range page.Segment.BlobItems {
			bc := c.NewBlobClient(*item.Name)
			lc, err := lease.NewBlobClient(bc, nil)
			if err != nil {
				return fmt.Errorf("empty lease container %q: %w", name, err)
			}
			var zero int32
			if _, err := lc.BreakLease(ctx, &lease.BlobBreakOptions{BreakPeriod: &zero}); err != nil && !bloberror.HasCode(err, bloberror.LeaseNotPresentWithLeaseOperation) {
				return fmt.Errorf("empty lease container %q: break lease on %s: %w", name, *item.Name, err)
			}
			if _, err := bc.Delete(ctx, &blob.DeleteOptions{}); err != nil && !bloberror.HasCode(err, bloberror.BlobNotFound) {
				return fmt.Errorf("empty lease container %q: delete %s: %w", name, *item.Name, err)
			}
		}
	}
	return nil
}

// Poll calls cond every 50 ms until it returns true or an error, or ctx ends.
func Poll(ctx context.Context, cond func() (bool, error)) error {
	t := time.NewTicker(50 * time.Millisecond)
	defer t.Stop()
	for {
		ok, err := cond()
		if err != nil {
			return err
		}
		if ok {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
}

func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("pick a free port: %w", err)
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

func randomToken() (string, error) {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("make a token: %w", err)
	}
	return "lab-" + hex.EncodeToString(b), nil
}
