package act

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"time"
)

// Floating private IPs (Topology.FloatingIPs): a static private address
// that lives as a secondary ipconfig on the active NVA's NIC of its role.
// Route tables point at it and never change; a failover moves the ipconfig.

// FloatingIPConfigName is the name of the ipconfig that carries a floating
// IP whose FloatingIP.Name is empty: "hanva-floating-" and the address with
// every '.' and ':' as '-' (10.0.2.50 -> hanva-floating-10-0-2-50).
func FloatingIPConfigName(ip string) string {
	return "hanva-floating-" + strings.NewReplacer(".", "-", ":", "-").Replace(ip)
}

// floating is a validated FloatingIP.
type floating struct {
	addr netip.Addr
	ip   string // as configured
	via  string
	name string // ipconfig name
}

// FloatingIPState is a managed floating IP as read from the NVA NICs of its
// role.
type FloatingIPState struct {
	IP, Via string
	Name    string // the ipconfig name it must have
	// NIC and IPConfig are where it is ("" when on no NVA NIC of its role).
	NIC, IPConfig string
	// HeldBy is the NVA owning that NIC; "" when on none.
	HeldBy string
	// Epoch is that NIC's epoch tag (0 if none).
	Epoch int64
	// Err is why it could not be read (a NIC of its role unreadable).
	Err error
}

func (x *index) parseFloatingIPs(list []FloatingIP) error {
	x.floatAddrs = map[netip.Addr]bool{}
	names := map[string]string{} // role + lower-case ipconfig name -> address
	for _, f := range list {
		a, ok := parseHop(f.IP)
		if !ok {
			return fmt.Errorf("check topology: floating IP %q is not an IP address", f.IP)
		}
		if x.floatAddrs[a] {
			return fmt.Errorf("check topology: floating IP %s listed twice", f.IP)
		}
		if f.Via == "" {
			return fmt.Errorf("check topology: floating IP %s has no via role", f.IP)
		}
		for _, n := range x.topo.NVAs {
			if _, ok := n.NICs[f.Via]; !ok {
				return fmt.Errorf("check topology: floating IP %s rides on role %q, but nva %q has no nic of that role", f.IP, f.Via, n.Name)
			}
		}
		name := f.Name
		if name == "" {
			name = FloatingIPConfigName(a.String())
		}
		k := f.Via + "/" + strings.ToLower(name)
		if other, dup := names[k]; dup {
			return fmt.Errorf("check topology: floating IPs %s and %s both use ipconfig name %q on role %q", other, f.IP, name, f.Via)
		}
		names[k] = f.IP
		x.floatAddrs[a] = true
		x.floats = append(x.floats, floating{addr: a, ip: f.IP, via: f.Via, name: name})
	}
	return nil
}

var errNotYet = errors.New("not implemented yet")

func (e *Engine) convergeFloatingIPs(ctx context.Context, target string, start time.Time, stop context.CancelCauseFunc) []ResourceResult {
	var out []ResourceResult
	for _, f := range e.x.floats {
		out = append(out, ResourceResult{Kind: KindFloatingIP, ID: f.ip, Attempts: 1, Err: errNotYet})
	}
	return out
}

func (e *Engine) planFloatingIPs(ctx context.Context, target string, nics *nicCache) ([]Change, error) {
	if len(e.x.floats) > 0 {
		return nil, errNotYet
	}
	return nil, nil
}

// observeFloatingIPs finds each floating IP on the NVA NICs of its role as
// Observe read them (byNIC and nicErr by resource key).
func (e *Engine) observeFloatingIPs(byNIC map[string]nicInfo, nicErr map[string]error) []FloatingIPState {
	var out []FloatingIPState
	for _, f := range e.x.floats {
		out = append(out, FloatingIPState{IP: f.ip, Via: f.via, Name: f.name, Err: errNotYet})
	}
	return out
}
