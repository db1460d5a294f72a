package act

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"sync"

	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/network/armnetwork/v7"

	"github.com/hanva/hanva/monitor/internal/azure"
)

// nicInfo is what the engine needs to know of an NVA NIC.
type nicInfo struct {
	ref          nicRef
	exists       bool
	privateIP    string   // of the primary ipconfig
	privateIPs   []string // of every ipconfig, in order
	ipForwarding bool
	primary      string // name of the primary ipconfig
	publicIP     string // public IP ID on the primary ipconfig, if any
	ipcs         []ipconfig
	epoch        int64 // its EpochTag, 0 if none
}

// primaryIPConfig returns the ipconfig flagged primary, or the only one.
func primaryIPConfig(nic *armnetwork.Interface) *armnetwork.InterfaceIPConfiguration {
	if nic.Properties == nil {
		return nil
	}
	ipcs := nic.Properties.IPConfigurations
	for _, ipc := range ipcs {
		if ipc != nil && ipc.Properties != nil && ipc.Properties.Primary != nil && *ipc.Properties.Primary {
			return ipc
		}
	}
	if len(ipcs) == 1 {
		return ipcs[0]
	}
	return nil
}

func describeNIC(ref nicRef, nic *armnetwork.Interface) nicInfo {
	info := nicInfo{ref: ref, exists: true, ipcs: readIPConfigs(nic)}
	if nic.Properties != nil && nic.Properties.EnableIPForwarding != nil {
		info.ipForwarding = *nic.Properties.EnableIPForwarding
	}
	if nic.Properties != nil {
		for _, ipc := range nic.Properties.IPConfigurations {
			if ipc != nil && ipc.Properties != nil && deref(ipc.Properties.PrivateIPAddress) != "" {
				info.privateIPs = append(info.privateIPs, deref(ipc.Properties.PrivateIPAddress))
			}
		}
	}
	if ipc := primaryIPConfig(nic); ipc != nil {
		info.primary = deref(ipc.Name)
		if ipc.Properties != nil {
			info.privateIP = deref(ipc.Properties.PrivateIPAddress)
			if ipc.Properties.PublicIPAddress != nil {
				info.publicIP = deref(ipc.Properties.PublicIPAddress.ID)
			}
		}
	}
	return info
}

// readNIC reads one NVA NIC; a missing NIC is not an error (exists false).
func (e *Engine) readNIC(ctx context.Context, ref nicRef) (nicInfo, error) {
	nic, err := e.getNIC(ctx, ref.res)
	if errors.Is(err, azure.ErrNotFound) {
		return nicInfo{ref: ref}, nil
	}
	if err != nil {
		return nicInfo{}, err
	}
	info := describeNIC(ref, &nic)
	info.epoch = e.epochOf(ref.res, nic.Tags)
	return info, nil
}

// nicCache shares the reads of NVA NICs between the goroutines of one
// Converge or Plan: route tables need the private IPs of the NICs of their
// role, and N tables must not mean N reads of each NIC. A failed read is not
// kept, so the next waiter reads again.
type nicCache struct {
	e   *Engine
	ctx context.Context // of the Converge call: one waiter's deadline must not fail the others
	mu  sync.Mutex
	m   map[string]*nicFetch
}

type nicFetch struct {
	done chan struct{}
	info nicInfo
	err  error
}

func (e *Engine) newNICCache(ctx context.Context) *nicCache {
	return &nicCache{e: e, ctx: ctx, m: map[string]*nicFetch{}}
}

// prefetch starts reading refs without waiting.
func (c *nicCache) prefetch(refs []nicRef) {
	for _, r := range refs {
		c.start(r)
	}
}

func (c *nicCache) start(ref nicRef) *nicFetch {
	c.mu.Lock()
	defer c.mu.Unlock()
	f := c.m[ref.res.key()]
	if f != nil {
		select {
		case <-f.done:
			if f.err == nil {
				return f
			}
		default:
			return f
		}
	}
	f = &nicFetch{done: make(chan struct{})}
	c.m[ref.res.key()] = f
	go func() {
		f.info, f.err = c.e.readNIC(c.ctx, ref)
		close(f.done)
	}()
	return f
}

func (c *nicCache) get(ctx context.Context, ref nicRef) (nicInfo, error) {
	f := c.start(ref)
	select {
	case <-f.done:
		return f.info, f.err
	case <-ctx.Done():
		return nicInfo{}, ctx.Err()
	}
}

// roleIPs are the addresses of the NVA NICs of one role.
type roleIPs struct {
	role   string
	target string                  // the target NVA
	to     nicInfo                 // the target's NIC of the role
	owner  map[netip.Addr]hopOwner // every address of every NVA's NIC of the role
}

// roleIPs reads the NICs of role of every NVA. The target's NIC must exist
// and have a private IP; another NVA's missing NIC is skipped (its routes
// cannot be recognised, and nothing can be sent to it anyway).
func (e *Engine) roleIPs(ctx context.Context, nics *nicCache, role, target string) (roleIPs, error) {
	ips := roleIPs{role: role, target: target, owner: map[netip.Addr]hopOwner{}}
	for _, n := range e.x.topo.NVAs {
		ref, _ := e.x.nic(n.Name, role)
		info, err := nics.get(ctx, ref)
		if err != nil {
			return roleIPs{}, err
		}
		if n.Name == target {
			switch {
			case !info.exists:
				return roleIPs{}, permanent(fmt.Errorf("read nic %q of nva %q: not found", ref.res.name, target))
			case info.privateIP == "" && !hasAddress(info.ipcs):
				return roleIPs{}, permanent(fmt.Errorf("read nic %q of nva %q: no private IP on any ipconfig", ref.res.name, target))
			}
			ips.to = info
		}
		for _, c := range info.ipcs {
			if c.addr.IsValid() && !e.x.floatAddrs[c.addr] {
				ips.owner[c.addr] = hopOwner{nva: n.Name, nic: ref.res.name, role: role, ipc: c}
			}
		}
	}
	return ips, nil
}

func hasAddress(ipcs []ipconfig) bool {
	for _, c := range ipcs {
		if c.addr.IsValid() {
			return true
		}
	}
	return false
}

// move says where a next hop must go: to is the target's counterpart
// (invalid when hop is not an NVA address of the role, or already the
// target's, or has no counterpart: then reason says why if it is an NVA
// address).
func (ips roleIPs) move(hop string) (to netip.Addr, o hopOwner, reason string) {
	a, ok := parseHop(hop)
	if !ok {
		return netip.Addr{}, hopOwner{}, ""
	}
	o, ours := ips.owner[a]
	if !ours || o.nva == ips.target {
		return netip.Addr{}, hopOwner{}, ""
	}
	c, why := counterpart(o.ipc, ips.to.ipcs)
	if c == nil || !c.addr.IsValid() {
		if c != nil {
			why = fmt.Sprintf("ipconfig %q without a private IP", c.name)
		}
		return netip.Addr{}, o, fmt.Sprintf("nic %q of nva %q has %s to take over from ipconfig %q of nic %q",
			ips.to.ref.res.name, ips.target, why, o.ipc.name, o.nic)
	}
	return c.addr, o, ""
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}

// sameID compares ARM resource IDs.
func sameID(a, b string) bool {
	return strings.EqualFold(strings.TrimRight(a, "/"), strings.TrimRight(b, "/"))
}
