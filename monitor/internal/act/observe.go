package act

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"sort"
	"strings"
	"sync"

	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/network/armnetwork/v7"
)

// Observed is what ARM says now about the managed resources.
type Observed struct {
	NICs         map[string]NICState // by NIC ID as in the topology
	RouteTables  []RouteTableState   // in topology order
	PublicIPs    []PublicIPState     // in topology order
	FloatingIPs  []FloatingIPState   // in topology order
	BackendPools []BackendPoolState  // in topology order
	DNSRecords   []DNSRecordState    // in topology order

	order []string // NVA names in topology order
}

// RouteTableState is a managed route table as read.
type RouteTableState struct {
	ID, Via string
	// PointsAt lists the NVAs (in topology order) its NVA routes use,
	// leaving out the routes in Unmatched (no failover could move them).
	// NVA routes are VirtualAppliance routes whose next hop is a private IP
	// (IPv4 or IPv6, of any ipconfig) of a NIC of any role of some NVA.
	PointsAt  []string
	NVARoutes int
	// Roles lists the NIC roles its NVA routes use, sorted: one, the table's
	// Via, in a healthy table.
	Roles []string
	// Mixed is true when its NVA routes go over NICs of more than one role.
	Mixed bool
	// Epoch is the value of its EpochTag as read: 0 if none (or not an
	// integer).
	Epoch int64
	// Routes are all its routes as read, in order.
	Routes []Route
	// Unmatched are its NVA routes whose next hop has no counterpart on
	// some other NVA's NIC of that role (one entry per route and NVA): a
	// failover to that NVA leaves them alone, pointing at the old one.
	Unmatched []Unmatched
	// OffRole are its NVA routes whose next hop is on an NVA NIC of another
	// role than Via: a failover does not move them.
	OffRole []Route
	// Err is why it could not be read (then nothing above but ID and Via
	// is known, and it counts neither way in Active).
	Err error
}

// Route is one route of a route table as read.
type Route struct {
	Name, AddressPrefix, NextHopType string
	NextHopIP                        string // VirtualAppliance routes only
}

// PublicIPState is a managed public IP as read.
type PublicIPState struct {
	ID, Via  string
	Address  string
	NIC      string // NIC ID of the ipconfig it is attached to ("" if detached or not on a NIC)
	IPConfig string // that ipconfig's name
	// AttachedTo is the NVA owning that NIC; "" when detached or not on an
	// NVA NIC.
	AttachedTo string
	// Err is why it could not be read (then it counts neither way in
	// Active).
	Err error
}

// NICState is an NVA NIC as read.
type NICState struct {
	ID, NVA, Role string
	PrivateIP     string   // of the primary ipconfig
	PrivateIPs    []string // of every ipconfig, IPv4 and IPv6 (a route may point at any)
	IPForwarding  bool     // ARM accepts routes to a NIC without it, and packets are dropped (docs/azure-behaviour.md#ip-forwarding)
	Exists        bool
	Epoch         int64 // value of its EpochTag as read: 0 if none (or not an integer)
}

// MaxEpoch returns the highest EpochTag seen on the route tables and NICs
// (0 if none carries one). A monitor whose own epoch is lower is not the
// newest leader: it must not write, and can tell so without writing.
func (o *Observed) MaxEpoch() int64 {
	var top int64
	for _, rt := range o.RouteTables {
		top = max(top, rt.Epoch)
	}
	for _, n := range o.NICs {
		top = max(top, n.Epoch)
	}
	for _, p := range o.BackendPools {
		top = max(top, p.Epoch)
	}
	for _, r := range o.DNSRecords {
		top = max(top, r.Epoch)
	}
	return top
}

// Unreadable lists the managed resources that could not be read, with
// why, by ManagedState.ID.
func (o *Observed) Unreadable() map[string]error {
	out := map[string]error{}
	for _, m := range o.Managed() {
		if m.Err != nil {
			out[m.ID] = m.Err
		}
	}
	return out
}

// ManagedState is any managed resource as read, whatever its kind: where it
// sends traffic. Kind-specific detail is in the Observed field of its kind.
type ManagedState struct {
	Kind string // KindRouteTable, KindPublicIP, KindFloatingIP, KindBackendPool or KindDNSRecord
	// ID is the ARM resource ID; for a floating IP, its address.
	ID, Via string
	// PointsAt lists the NVAs it sends traffic to, in topology order: one
	// when converged, none when it points nowhere (a detached public IP, an
	// empty pool), several when split.
	PointsAt []string
	// Epoch is the epoch carried by what a converge of it writes: the route
	// table's or load balancer's tag, the tag of the NIC holding the public
	// or floating IP, the record set's metadata. 0 if none.
	Epoch int64
	// Idle is true for a route table none of whose NVA routes a failover
	// could move (none at all, or all Unmatched): it counts neither way in
	// Active, as a repair could not change it.
	Idle bool
	// Err is why it could not be read (then it counts neither way in
	// Active).
	Err error
}

// Managed lists every managed resource as read: route tables, public IPs,
// floating IPs, backend pools and DNS records, each kind in topology order.
func (o *Observed) Managed() []ManagedState {
	var out []ManagedState
	for _, rt := range o.RouteTables {
		out = append(out, ManagedState{Kind: KindRouteTable, ID: rt.ID, Via: rt.Via, PointsAt: rt.PointsAt,
			Epoch: rt.Epoch, Idle: rt.Err == nil && len(rt.PointsAt) == 0, Err: rt.Err})
	}
	for _, p := range o.PublicIPs {
		m := ManagedState{Kind: KindPublicIP, ID: p.ID, Via: p.Via, Err: p.Err}
		if p.AttachedTo != "" {
			m.PointsAt = []string{p.AttachedTo}
		}
		for id, n := range o.NICs {
			if p.NIC != "" && sameID(id, p.NIC) {
				m.Epoch = n.Epoch
			}
		}
		out = append(out, m)
	}
	for _, f := range o.FloatingIPs {
		m := ManagedState{Kind: KindFloatingIP, ID: f.IP, Via: f.Via, Epoch: f.Epoch, Err: f.Err}
		if f.HeldBy != "" {
			m.PointsAt = []string{f.HeldBy}
		}
		out = append(out, m)
	}
	for _, p := range o.BackendPools {
		out = append(out, ManagedState{Kind: KindBackendPool, ID: p.ID, Via: p.Via, PointsAt: p.PointsAt, Epoch: p.Epoch, Err: p.Err})
	}
	for _, r := range o.DNSRecords {
		out = append(out, ManagedState{Kind: KindDNSRecord, ID: r.ID, Via: r.Via, PointsAt: r.PointsAt, Epoch: r.Epoch, Err: r.Err})
	}
	return out
}

// Active returns the NVA most managed resources point at (ties go to the
// first NVA in topology order; "" when none points anywhere) and whether the
// resources disagree: split is true when they point at different NVAs, or
// when one points nowhere (a detached public or floating IP, an empty
// backend pool or record set) or at several NVAs at once. A table without
// NVA routes has nothing to fail over and counts neither way (a repair
// could not change it), nor does a route whose next hop has no counterpart
// on some NVA (Unmatched).
func (o *Observed) Active() (name string, split bool) {
	votes := map[string]int{}
	for _, m := range o.Managed() {
		if m.Err != nil || m.Idle {
			continue
		}
		if len(m.PointsAt) != 1 {
			split = true
			continue
		}
		votes[m.PointsAt[0]]++
	}
	if len(votes) > 1 {
		split = true
	}
	for _, n := range o.order {
		if votes[n] > votes[name] {
			name = n
		}
	}
	return name, split
}

// Observe reads every NVA NIC, managed route table and public IP, in
// parallel, each with the engine's retries. On error the Observed still
// holds what could be read: a resource that could not be read carries its
// Err and does not vote in Active, so a leader can go on with the others.
func (e *Engine) Observe(ctx context.Context) (*Observed, error) {
	ctx, cancel := context.WithTimeout(ctx, e.opts.OperationTimeout)
	defer cancel()
	x := e.x
	nicRefs := make([]nicRef, len(x.nicIDs))
	for i, id := range x.nicIDs {
		nicRefs[i] = x.nics[idKey(id)]
	}
	nicInfos := make([]nicInfo, len(nicRefs))
	nicErrs := make([]error, len(nicRefs))
	tables := make([]RouteTableState, len(x.tables))
	tableHops := make([][]Route, len(x.tables))
	pips := make([]PublicIPState, len(x.pips))
	var mu sync.Mutex
	var errs []error
	fail := func(err error) {
		mu.Lock()
		errs = append(errs, err)
		mu.Unlock()
	}
	var wg sync.WaitGroup
	for i, ref := range nicRefs {
		wg.Go(func() {
			_, err := e.retry(ctx, ref.res.name, func(ctx context.Context) error {
				var err error
				nicInfos[i], err = e.readNIC(ctx, ref)
				return err
			})
			if err != nil {
				nicErrs[i] = err
				fail(err)
			}
		})
	}
	for i, m := range x.tables {
		tables[i] = RouteTableState{ID: m.res.id, Via: m.via}
	}
	perSub(&wg, len(x.tables), func(i int) string { return x.tables[i].res.sub }, func(i int) {
		m := x.tables[i]
		_, err := e.retry(ctx, m.res.name, func(ctx context.Context) error {
			rt, body, err := e.readRouteTable(ctx, m.res)
			if err != nil {
				return err
			}
			e.tables.put(m.res, body, e.now())
			var hops []Route
			var routes []Route
			for _, r := range rt.Properties.Routes {
				p := r.Properties
				if p == nil {
					continue
				}
				rs := Route{Name: r.Name, AddressPrefix: p.AddressPrefix, NextHopType: p.NextHopType, NextHopIP: p.NextHopIPAddress}
				routes = append(routes, rs)
				if strings.EqualFold(p.NextHopType, string(armnetwork.RouteNextHopTypeVirtualAppliance)) {
					hops = append(hops, rs)
				}
			}
			tableHops[i] = hops
			tables[i].Routes = routes
			tables[i].Epoch = e.epochOf(m.res, rt.Tags)
			return nil
		})
		if err != nil {
			tables[i].Err = err
			fail(err)
		}
	})
	for i, m := range x.pips {
		pips[i] = PublicIPState{ID: m.res.id, Via: m.via}
		wg.Go(func() {
			_, err := e.retry(ctx, m.res.name, func(ctx context.Context) error {
				v, err := e.readPublicIP(ctx, m)
				if err != nil {
					return err
				}
				p := &pips[i]
				p.Address, p.NIC, p.IPConfig = v.address, v.nicID, v.ipconfig
				if v.owner != nil {
					p.AttachedTo = v.owner.nva
				}
				return nil
			})
			if err != nil {
				pips[i].Err = err
				fail(err)
			}
		})
	}
	// Backend pools and DNS records are read now, and told which NVA each
	// address belongs to once the NICs are read.
	var finishPools func(map[netip.Addr]hopOwner) []BackendPoolState
	var finishDNS func(map[netip.Addr]hopOwner) []DNSRecordState
	wg.Go(func() { finishPools = e.observeBackendPools(ctx) })
	wg.Go(func() { finishDNS = e.observeDNSRecords(ctx) })
	wg.Wait()

	obs := &Observed{NICs: map[string]NICState{}, RouteTables: tables, PublicIPs: pips}
	ipOwner := map[netip.Addr]hopOwner{}
	byNIC := map[string]nicInfo{}
	for i, ref := range nicRefs {
		info := nicInfos[i]
		byNIC[ref.res.key()] = info
		obs.NICs[ref.res.id] = NICState{ID: ref.res.id, NVA: ref.nva, Role: ref.role,
			PrivateIP: info.privateIP, PrivateIPs: info.privateIPs, IPForwarding: info.ipForwarding, Exists: info.exists, Epoch: info.epoch}
		for _, c := range info.ipcs {
			if c.addr.IsValid() && !x.floatAddrs[c.addr] {
				ipOwner[c.addr] = hopOwner{nva: ref.nva, nic: ref.res.name, role: ref.role, ipc: c}
			}
		}
	}
	nicRead := map[string]error{}
	for i, ref := range nicRefs {
		nicRead[ref.res.key()] = nicErrs[i]
	}
	obs.FloatingIPs = e.observeFloatingIPs(byNIC, nicRead)
	obs.BackendPools = finishPools(ipOwner)
	obs.DNSRecords = finishDNS(ipOwner)
	for _, f := range obs.FloatingIPs {
		if f.Err != nil {
			errs = append(errs, f.Err)
		}
	}
	for _, p := range obs.BackendPools {
		if p.Err != nil {
			errs = append(errs, p.Err)
		}
	}
	for _, r := range obs.DNSRecords {
		if r.Err != nil {
			errs = append(errs, r.Err)
		}
	}
	for _, n := range x.topo.NVAs {
		obs.order = append(obs.order, n.Name)
	}
	for i := range tables {
		used := map[string]bool{}
		roles := map[string]bool{}
		for _, r := range tableHops[i] {
			a, ok := parseHop(r.NextHopIP)
			o, ours := ipOwner[a]
			if !ok || !ours {
				continue
			}
			tables[i].NVARoutes++
			roles[o.role] = true
			if o.role != tables[i].Via {
				used[o.nva] = true
				tables[i].OffRole = append(tables[i].OffRole, r)
				continue
			}
			failable := true
			for _, n := range x.topo.NVAs {
				ref, _ := x.nic(n.Name, o.role)
				other := byNIC[ref.res.key()]
				if n.Name == o.nva || !other.exists {
					continue
				}
				if c, why := counterpart(o.ipc, other.ipcs); c == nil || !c.addr.IsValid() {
					if c != nil {
						why = fmt.Sprintf("ipconfig %q without a private IP", c.name)
					}
					tables[i].Unmatched = append(tables[i].Unmatched, Unmatched{Route: r.Name, AddressPrefix: r.AddressPrefix,
						NextHop: r.NextHopIP, From: o.nva, To: n.Name,
						Reason: fmt.Sprintf("nic %q of nva %q has %s to take over from ipconfig %q of nic %q", ref.res.name, n.Name, why, o.ipc.name, o.nic)})
					failable = false
				}
			}
			if failable {
				// A route no failover can move does not say which NVA is
				// active: it would keep the table split after every one.
				used[o.nva] = true
			}
		}
		for _, n := range obs.order {
			if used[n] {
				tables[i].PointsAt = append(tables[i].PointsAt, n)
			}
		}
		for r := range roles {
			tables[i].Roles = append(tables[i].Roles, r)
		}
		sort.Strings(tables[i].Roles)
		tables[i].Mixed = len(roles) > 1
	}
	return obs, errors.Join(errs...)
}
