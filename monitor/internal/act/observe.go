package act

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"sort"
	"sync"
)

// Observed is what ARM says now about the managed resources.
type Observed struct {
	NICs        map[string]NICState // by NIC ID as in the topology
	RouteTables []RouteTableState   // in topology order
	PublicIPs   []PublicIPState     // in topology order

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
	return top
}

// Unreadable lists the managed route tables and public IPs that could not
// be read, with why.
func (o *Observed) Unreadable() map[string]error {
	out := map[string]error{}
	for _, rt := range o.RouteTables {
		if rt.Err != nil {
			out[rt.ID] = rt.Err
		}
	}
	for _, p := range o.PublicIPs {
		if p.Err != nil {
			out[p.ID] = p.Err
		}
	}
	return out
}

// Active returns the NVA most managed resources point at (ties go to the
// first NVA in topology order; "" when none points anywhere) and whether the
// resources disagree: split is true when they point at different NVAs, or
// when one points nowhere (a detached public IP, a table without NVA routes)
// or at several NVAs at once. A table without NVA routes has nothing to
// fail over and counts neither way (a repair could not change it), nor does
// a route whose next hop has no counterpart on some NVA (Unmatched).
func (o *Observed) Active() (name string, split bool) {
	votes := map[string]int{}
	for _, rt := range o.RouteTables {
		if rt.Err != nil || len(rt.PointsAt) == 0 {
			continue
		}
		if len(rt.PointsAt) != 1 {
			split = true
			continue
		}
		votes[rt.PointsAt[0]]++
	}
	for _, p := range o.PublicIPs {
		if p.Err != nil {
			continue
		}
		if p.AttachedTo == "" {
			split = true
			continue
		}
		votes[p.AttachedTo]++
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
				fail(err)
			}
		})
	}
	for i, m := range x.tables {
		tables[i] = RouteTableState{ID: m.res.id, Via: m.via}
		wg.Go(func() {
			_, err := e.retry(ctx, m.res.name, func(ctx context.Context) error {
				rt, err := e.getRouteTable(ctx, m.res)
				if err != nil {
					return err
				}
				var hops []Route
				var routes []Route
				if rt.Properties != nil {
					for _, r := range rt.Properties.Routes {
						if r == nil || r.Properties == nil {
							continue
						}
						rs := Route{Name: deref(r.Name), AddressPrefix: deref(r.Properties.AddressPrefix),
							NextHopIP: deref(r.Properties.NextHopIPAddress)}
						if r.Properties.NextHopType != nil {
							rs.NextHopType = string(*r.Properties.NextHopType)
						}
						routes = append(routes, rs)
						if isApplianceRoute(r) {
							hops = append(hops, rs)
						}
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
	}
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
			if c.addr.IsValid() {
				ipOwner[c.addr] = hopOwner{nva: ref.nva, nic: ref.res.name, role: ref.role, ipc: c}
			}
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
