package act

import (
	"fmt"
	"maps"
	"net/netip"
	"slices"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"
)

// Topology is what the engine manages: the NVAs (in order of preference) and
// the resources that follow the active one.
type Topology struct {
	NVAs        []NVA
	RouteTables []Managed
	PublicIPs   []Managed
	// FloatingIPs are private addresses that live, as a secondary ipconfig,
	// on the active NVA's NIC of their role (floating.go).
	FloatingIPs []FloatingIP
	// BackendPools are IP-based backend pools of load balancers
	// (.../loadBalancers/{lb}/backendAddressPools/{pool}) that hold the
	// active NVA's address of their role and no other NVA's (pool.go).
	BackendPools []Managed
	// DNSRecords are Private DNS A or AAAA record sets
	// (.../privateDnsZones/{zone}/A/{name}) that hold the active NVA's
	// address of their role and no other NVA's (dns.go).
	DNSRecords []Managed
}

// FloatingIP is a private IP address that follows the active NVA: it is a
// secondary ipconfig, named Name, of the active NVA's NIC of role Via.
type FloatingIP struct {
	IP   string // the address, IPv4 or IPv6
	Via  string // NIC role
	Name string // ipconfig name; "" for the default (DefaultFloatingIPConfigName)
}

// NVA is one appliance: its name and its NICs by role ("internal",
// "external", ...) as ARM resource IDs.
type NVA struct {
	Name string
	NICs map[string]string // role -> NIC resource ID
}

// Managed is a route table or public IP that follows the active NVA through
// the NVA's NIC of role Via.
type Managed struct {
	ID  string
	Via string // NIC role
}

// resource is a parsed ARM resource ID.
type resource struct {
	id    string // as configured
	sub   string
	group string
	name  string
	// parent is the name of the parent resource of a child resource (the
	// load balancer of a backend pool, the zone of a record set); "" for a
	// top-level one.
	parent string
	// recordType is A or AAAA for a Private DNS record set.
	recordType string
}

func (r resource) key() string { return idKey(r.id) }

// idKey normalises an ARM resource ID for comparison (ARM IDs are
// case-insensitive).
func idKey(id string) string { return strings.ToLower(strings.TrimRight(id, "/")) }

// parseResource parses id and checks it names a Microsoft.Network resource
// of type typ.
func parseResource(id, typ string) (resource, error) {
	rid, err := arm.ParseResourceID(id)
	if err != nil {
		return resource{}, fmt.Errorf("parse resource ID %q: %w", id, err)
	}
	if !strings.EqualFold(rid.ResourceType.Namespace, "Microsoft.Network") || !strings.EqualFold(rid.ResourceType.Type, typ) {
		return resource{}, fmt.Errorf("parse resource ID %q: type is %s/%s, want Microsoft.Network/%s",
			id, rid.ResourceType.Namespace, rid.ResourceType.Type, typ)
	}
	if rid.SubscriptionID == "" || rid.ResourceGroupName == "" {
		return resource{}, fmt.Errorf("parse resource ID %q: subscription or resource group missing", id)
	}
	r := resource{id: id, sub: rid.SubscriptionID, group: rid.ResourceGroupName, name: rid.Name}
	if strings.Contains(typ, "/") && rid.Parent != nil {
		r.parent = rid.Parent.Name
	}
	return r, nil
}

// nicRef is an NVA NIC: which NVA, which role.
type nicRef struct {
	res  resource
	nva  string
	role string
}

// managed is a validated Managed.
type managed struct {
	res resource
	via string
}

// index is a validated Topology.
type index struct {
	topo   Topology
	nvas   map[string]int    // name -> position in topo.NVAs
	nics   map[string]nicRef // idKey(NIC ID) -> NIC
	nicIDs []string          // every NVA NIC ID, in NVA order then role order
	tables []managed
	pips   []managed
	floats []floating // floating.go
	pools  []managed  // pool.go: res is the pool, res.parent its load balancer
	dns    []managed  // dns.go: res is the record set, res.parent its zone, res.recordType A or AAAA
	// floatAddrs are the managed floating addresses: they are never NVA
	// next hops to rewrite (routes point at them and never change), nor an
	// NVA's own address in a pool or record set.
	floatAddrs map[netip.Addr]bool
}

// nic returns the NIC of role of the named NVA.
func (x *index) nic(nva, role string) (nicRef, bool) {
	i, ok := x.nvas[nva]
	if !ok {
		return nicRef{}, false
	}
	id, ok := x.topo.NVAs[i].NICs[role]
	if !ok {
		return nicRef{}, false
	}
	return x.nics[idKey(id)], true
}

func newIndex(t Topology) (*index, error) {
	x := &index{topo: t, nvas: map[string]int{}, nics: map[string]nicRef{}}
	if len(t.NVAs) == 0 {
		return nil, fmt.Errorf("check topology: no NVA")
	}
	for i, n := range t.NVAs {
		if n.Name == "" {
			return nil, fmt.Errorf("check topology: NVA #%d has no name", i+1)
		}
		if _, dup := x.nvas[n.Name]; dup {
			return nil, fmt.Errorf("check topology: NVA name %q used twice", n.Name)
		}
		x.nvas[n.Name] = i
		for _, role := range sortedRoles(n.NICs) {
			res, err := parseResource(n.NICs[role], "networkInterfaces")
			if err != nil {
				return nil, fmt.Errorf("check topology: nva %q nic %q: %w", n.Name, role, err)
			}
			if prev, dup := x.nics[res.key()]; dup {
				return nil, fmt.Errorf("check topology: nic %s belongs to nva %q (%s) and nva %q (%s)", res.id, prev.nva, prev.role, n.Name, role)
			}
			x.nics[res.key()] = nicRef{res: res, nva: n.Name, role: role}
			x.nicIDs = append(x.nicIDs, res.id)
		}
	}
	var err error
	if x.tables, err = x.managed("route table", t.RouteTables, "routeTables"); err != nil {
		return nil, err
	}
	if x.pips, err = x.managed("public IP", t.PublicIPs, "publicIPAddresses"); err != nil {
		return nil, err
	}
	if err := x.parseFloatingIPs(t.FloatingIPs); err != nil {
		return nil, err
	}
	if err := x.parseBackendPools(t.BackendPools); err != nil {
		return nil, err
	}
	if err := x.parseDNSRecords(t.DNSRecords); err != nil {
		return nil, err
	}
	// A public IP rides on the primary ipconfig of its IP version of the
	// active NVA's NIC of its role (or the ipconfig of the name it is on),
	// which holds one public IP: a role carries at most an IPv4 and an IPv6
	// public IP. Their versions are only known once read, so only a third is
	// refused here; two of one version fail their attach, saying why.
	byRole := map[string][]string{}
	for _, p := range x.pips {
		if others := byRole[p.via]; len(others) == 2 {
			return nil, fmt.Errorf("check topology: public IPs %q, %q and %q all ride on role %q (at most two per NIC role: an IPv4 and an IPv6 one)",
				others[0], others[1], p.res.name, p.via)
		}
		byRole[p.via] = append(byRole[p.via], p.res.name)
	}
	return x, nil
}

func (x *index) managed(kind string, list []Managed, typ string) ([]managed, error) {
	seen := map[string]bool{}
	out := make([]managed, 0, len(list))
	for _, m := range list {
		res, err := parseResource(m.ID, typ)
		if err != nil {
			return nil, fmt.Errorf("check topology: %s: %w", kind, err)
		}
		if seen[res.key()] {
			return nil, fmt.Errorf("check topology: %s %s listed twice", kind, m.ID)
		}
		seen[res.key()] = true
		if m.Via == "" {
			return nil, fmt.Errorf("check topology: %s %s has no via role", kind, m.ID)
		}
		for _, n := range x.topo.NVAs {
			if _, ok := n.NICs[m.Via]; !ok {
				return nil, fmt.Errorf("check topology: %s %s rides on role %q, but nva %q has no nic of that role", kind, m.ID, m.Via, n.Name)
			}
		}
		out = append(out, managed{res: res, via: m.Via})
	}
	return out, nil
}

func sortedRoles(m map[string]string) []string { return slices.Sorted(maps.Keys(m)) }
