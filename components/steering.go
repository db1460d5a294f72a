package components

import (
	"fmt"
	"maps"
	"net/netip"
	"regexp"
	"slices"
	"strings"

	"github.com/pulumi/pulumi-azure-native-sdk/network/v2"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/hanva/hanva/monitor/config"
)

// Ways of steering traffic to the active NVA (HaNvaArgs.Steering).
const (
	// SteerRoutes: the route tables point at the active NVA's NIC, and the
	// monitor rewrites their next hops on failover (mspnp/ha-nva's way).
	SteerRoutes = "routes"
	// SteerPublicIP: the public IP rides on the active NVA's external NIC.
	// HaNva's NVAs always have one, so it is always on; listing it is
	// allowed.
	SteerPublicIP = "publicIp"
	// SteerFloatingIP: a static floating private IP in dmz-internal lives,
	// as a secondary ipconfig, on the active NVA's internal NIC; the route
	// tables point at it and never change.
	SteerFloatingIP = "floatingIp"
	// SteerLoadBalancer: a Standard internal load balancer with an HA-ports
	// rule whose IP-based backend pool holds only the active NVA's internal
	// address; the route tables point at its frontend and never change.
	SteerLoadBalancer = "loadBalancer"
	// SteerDNS: a Private DNS A record holds the active NVA's internal
	// address, for clients that resolve a name (a proxy, an egress point).
	SteerDNS = "dns"
)

// steerings lists the values of HaNvaArgs.Steering.
var steerings = []string{SteerRoutes, SteerPublicIP, SteerFloatingIP, SteerLoadBalancer, SteerDNS}

// routeSteerings decide what the route tables point at: exactly one when
// there are route tables.
var routeSteerings = []string{SteerRoutes, SteerFloatingIP, SteerLoadBalancer}

// Private DNS defaults (HaNvaArgs.DNSZoneName, DNSRecordName, DNSTTL).
const (
	DefaultDNSZoneName   = "hanva.internal"
	DefaultDNSRecordName = "nva"
	// DefaultDNSTTL is short so that clients re-resolve soon after a
	// failover; a client's own cache may keep the old answer longer.
	DefaultDNSTTL = 10
)

// steeringPlan is HaNvaArgs.Steering validated.
type steeringPlan struct {
	routes, floating, loadBalancer, dns bool
}

// planSteering validates HaNvaArgs.Steering; tables is whether HaNva
// creates route tables. Empty means the default: routes and the public IP.
func planSteering(steering []string, tables bool) (steeringPlan, error) {
	const f = "components: HaNvaArgs.Steering"
	var p steeringPlan
	if len(steering) == 0 {
		steering = []string{SteerRoutes, SteerPublicIP}
	}
	seen := map[string]int{}
	var route []string
	for i, s := range steering {
		if !slices.Contains(steerings, s) {
			return p, fmt.Errorf("%s[%d]: %q is not a way of steering; use %s", f, i, s, strings.Join(quoteAll(steerings), ", "))
		}
		if j, dup := seen[s]; dup {
			return p, fmt.Errorf("%s[%d]: %q is already Steering[%d]; list each once", f, i, s, j)
		}
		seen[s] = i
		if slices.Contains(routeSteerings, s) {
			route = append(route, s)
		}
	}
	if len(route) > 1 {
		return p, fmt.Errorf("%s: %s each decide what the route tables point at; keep one of them "+
			"(%q: the monitor rewrites their next hops; %q or %q: they point at a fixed address that follows the active NVA)",
			f, strings.Join(quoteAll(route), " and "), SteerRoutes, SteerFloatingIP, SteerLoadBalancer)
	}
	if len(route) == 0 && tables {
		return p, fmt.Errorf("%s: nothing steers the route tables, so after a failover they would still send traffic to the failed NVA; "+
			"add %q, %q or %q (or give HaNvaArgs.RouteTables as an empty list)", f, SteerRoutes, SteerFloatingIP, SteerLoadBalancer)
	}
	_, p.routes = seen[SteerRoutes]
	_, p.floating = seen[SteerFloatingIP]
	_, p.loadBalancer = seen[SteerLoadBalancer]
	_, p.dns = seen[SteerDNS]
	return p, nil
}

// CheckSteering checks a list of ways of steering as HaNva does (errors
// name HaNvaArgs.Steering), assuming route tables; nil or empty is the
// default.
func CheckSteering(steering []string) error {
	_, err := planSteering(steering, true)
	return err
}

// CheckPrivateDNS checks the zone name, record name and TTL of SteerDNS as
// HaNva does; errors name the HaNvaArgs field.
func CheckPrivateDNS(zone, record string, ttl int) error {
	switch {
	case len(zone) > 253 || !dnsZoneRE.MatchString(zone):
		return fmt.Errorf("components: HaNvaArgs.DNSZoneName: %q is not a Private DNS zone name; write two or more labels of letters, digits and '-', like %q", zone, DefaultDNSZoneName)
	case !dnsRecordRE.MatchString(record):
		return fmt.Errorf("components: HaNvaArgs.DNSRecordName: %q is not a record name in the zone; write a label of letters, digits and '-', like %q", record, DefaultDNSRecordName)
	case ttl < 1:
		return fmt.Errorf("components: HaNvaArgs.DNSTTL: %d seconds; use 1 or more (default %d: clients re-resolve soon after a failover)", ttl, DefaultDNSTTL)
	}
	return nil
}

func quoteAll(ss []string) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = fmt.Sprintf("%q", s)
	}
	return out
}

// steeringHosts are the host numbers (counted from the subnet's network
// address, as HostIP counts them) of the floating IP and of the load
// balancer's frontend in dmz-internal: the middle of the subnet, between
// the NVAs (counting up from FirstHost) and the monitors (counting down
// from the last usable address). They depend on the prefix alone, so they
// never move when NvaCount or MonitorCount grow; HaNva refuses counts
// whose addresses would reach them. In the seed's 10.0.0.96/27: the
// floating IP 10.0.0.112, the frontend 10.0.0.113.
func steeringHosts(prefix netip.Prefix) (floating, frontend int) {
	half := int(prefixSize(prefix) / 2)
	return half, half + 1
}

// checkSteeringHosts refuses NVA and monitor counts whose addresses would
// take a steering address in use (hosts, by name).
func checkSteeringHosts(prefix netip.Prefix, firstHost, nvas, monitors int, hosts map[string]int) error {
	_, top := NvaHosts(firstHost, nvas)
	lowest := int(prefixSize(prefix)) - 2 - monitors + 1
	for _, what := range slices.Sorted(maps.Keys(hosts)) {
		h := hosts[what]
		ip, err := HostIP(prefix.String(), h)
		if err != nil {
			return fmt.Errorf("components: HaNvaArgs.DmzInternalPrefix: %s %s has no room for the %s (host %d): %w", SubnetDmzInternal, prefix, what, h, err)
		}
		switch {
		case h <= top:
			return fmt.Errorf("components: HaNvaArgs.NvaCount: %d NVAs take hosts %d-%d of %s, which reaches the %s %s (host %d); "+
				"use fewer NVAs or a larger DmzInternalPrefix", nvas, firstHost, top, prefix, what, ip, h)
		case h >= lowest:
			return fmt.Errorf("components: HaNvaArgs.MonitorCount: %d monitors take hosts %d-%d of %s, which reaches the %s %s (host %d); "+
				"use fewer monitors or a larger DmzInternalPrefix", monitors, lowest, lowest+monitors-1, prefix, what, ip, h)
		}
	}
	return nil
}

// FloatingIPConfigName is the name of the ipconfig that carries a floating
// IP, the monitor's default (config.FloatingIP.Name): "hanva-floating-"
// and the address with '.' and ':' as '-'.
func FloatingIPConfigName(ip string) string {
	return "hanva-floating-" + strings.NewReplacer(".", "-", ":", "-").Replace(ip)
}

// floatingNICIgnoreChanges is what the monitor owns on a NIC of a floating
// IP's role: the ipconfig that carries the floating IP, which it adds to
// the active NVA's NIC and removes from the others, and its epoch tag.
//
// The whole ipConfigurations list, not the index of the floating ipconfig
// ("ipConfigurations[1]"): Pulumi resets an ignored path position by
// position, and a path to an index that exists in the live state but not
// in the program (the NIC the monitor moved the floating IP to: live
// [primary, floating], declared [primary]) or the other way round (the NIC
// it moved it from) cannot be reset (PropertyPath.reset in
// sdk/go/common/resource/properties_path.go: "If one array has this index
// but the other doesn't this is a path failure because we can't remove a
// location from an array"); engines from 3.194 then warn and send the
// program's list, which would take the floating IP off the active NVA
// (older engines refuse the update). Ignoring the list keeps whatever the
// NICs hold. The cost: a change to the primary ipconfig of these NICs (its
// address is fixed by the address plan) is ignored too; to make one, lift
// the ignore for one `pulumi up --target`.
func floatingNICIgnoreChanges() []string {
	return []string{"ipConfigurations", epochTagIgnore}
}

// loadBalancerPoolMembersIgnore covers the members of the NVA load
// balancer's only backend pool: the monitor keeps the active NVA's address
// there and no other. Index 0 is safe here: the load balancer always has
// exactly one pool, so the position exists on both sides.
const loadBalancerPoolMembersIgnore = "backendAddressPools[0].loadBalancerBackendAddresses"

// loadBalancerIgnoreChanges is exactly what the monitor owns on the NVA
// load balancer: the pool's members and its epoch tag.
func loadBalancerIgnoreChanges() []string {
	return []string{loadBalancerPoolMembersIgnore, epochTagIgnore}
}

// dnsRecordIgnoreChanges is exactly what the monitor owns on a Private DNS
// A record set: its addresses, and the epoch it fences with, which lives in
// the record set's metadata (record sets carry metadata, not tags).
func dnsRecordIgnoreChanges() []string {
	return []string{"aRecords", `metadata["` + config.EpochTag + `"]`}
}

// The actions the monitor's role gains for each kind of managed resource;
// the same lists as monitor/internal/access (FloatingIPActions,
// SubnetJoinActions, LoadBalancerActions, VirtualNetworkLBJoinActions,
// DNSRecordActions, DNSRecordAAAAActions), which `nva-monitor validate`
// checks; a test holds them equal.

// FloatingIPActions: on each NVA NIC of a floating IP's role.
func FloatingIPActions() []string {
	return []string{"Microsoft.Network/networkInterfaces/read", "Microsoft.Network/networkInterfaces/write"}
}

// SubnetJoinActions: on the subnet a floating IP's ipconfig or a load
// balancer's frontend names.
func SubnetJoinActions() []string {
	return []string{"Microsoft.Network/virtualNetworks/subnets/join/action"}
}

// LoadBalancerActions: on the load balancer of a managed backend pool.
func LoadBalancerActions() []string {
	return []string{"Microsoft.Network/loadBalancers/read", "Microsoft.Network/loadBalancers/write"}
}

// VirtualNetworkLBJoinActions: on the virtual network IP-based pool members
// name.
func VirtualNetworkLBJoinActions() []string {
	return []string{"Microsoft.Network/virtualNetworks/joinLoadBalancer/action"}
}

// DNSRecordActions: on a Private DNS record set of recordType "A" or "AAAA".
func DNSRecordActions(recordType string) []string {
	if recordType == "AAAA" {
		return []string{"Microsoft.Network/privateDnsZones/AAAA/read", "Microsoft.Network/privateDnsZones/AAAA/write"}
	}
	return []string{"Microsoft.Network/privateDnsZones/A/read", "Microsoft.Network/privateDnsZones/A/write"}
}

// monitorRoleActions are the actions of the monitor's custom role:
// MonitorActions, which cover route tables, public IPs and floating IPs
// (NIC read/write and subnet join), and the actions of the other kinds
// args manages. The role is assigned on each managed resource alone.
func monitorRoleActions(args *MonitorArgs) []string {
	actions := MonitorActions()
	add := func(as []string) {
		for _, a := range as {
			if !slices.Contains(actions, a) {
				actions = append(actions, a)
			}
		}
	}
	if len(args.FloatingIPs) > 0 {
		add(FloatingIPActions())
		add(SubnetJoinActions())
	}
	if len(args.BackendPools) > 0 {
		add(LoadBalancerActions())
		add(VirtualNetworkLBJoinActions())
		add(SubnetJoinActions())
	}
	for _, d := range args.DNSRecords {
		add(DNSRecordActions(dnsRecordType(d)))
	}
	return actions
}

func dnsRecordType(d DNSRecordResource) string {
	if d.RecordType == "" {
		return "A"
	}
	return d.RecordType
}

// loadBalancerOfPool returns the load balancer ID of a backend pool ID.
func loadBalancerOfPool(id string) (string, bool) {
	i := strings.LastIndex(strings.ToLower(id), "/backendaddresspools/")
	if i < 0 || !strings.Contains(strings.ToLower(id[:i]), "/providers/microsoft.network/loadbalancers/") ||
		strings.Contains(id[i+len("/backendAddressPools/"):], "/") || id[i+len("/backendAddressPools/"):] == "" {
		return "", false
	}
	return id[:i], true
}

// Names inside the NVA load balancer, referred to by ID from its own rule.
const (
	nvaLBFrontend = "nva-frontend"
	nvaLBPool     = "nva-pool"
	nvaLBProbe    = "nva-probe"
	nvaLBRule     = "ha-ports"
)

// nvaLoadBalancer is the load balancer that steers traffic to the active
// NVA, and its pool's ID.
type nvaLoadBalancer struct {
	lb     *network.LoadBalancer
	poolID pulumi.StringOutput
}

// newNvaLoadBalancer registers the Standard internal load balancer in
// front of the NVAs' internal NICs: a static frontend, an HA-ports rule
// (protocol All, frontend and backend port 0: every flow of every port,
// which is what an NVA as next hop needs,
// https://learn.microsoft.com/azure/load-balancer/load-balancer-ha-ports-overview),
// a health probe on the NVAs' probe port, which stays as a second line
// behind the monitor, and an IP-based backend pool holding only the first
// NVA's internal address (members by ipAddress and virtualNetwork). The
// monitor keeps the active NVA, and no other, in the pool.
//
// An IP-based pool, not NIC membership: the monitor then changes one
// resource (the load balancer) per failover instead of two NICs. Its
// limitations
// (https://learn.microsoft.com/azure/load-balancer/backend-pool-management,
// "Limitations"): Standard SKU only; the members must be in the load
// balancer's virtual network; a pool is either IP- or NIC-based; the
// portal and health reporting show addresses, not VMs. None stops an
// internal HA-ports load balancer in front of NVAs in the same VNet.
func newNvaLoadBalancer(ctx *pulumi.Context, name string, rg, location pulumi.StringInput, subnetID, vnetID pulumi.StringOutput,
	frontendIP, firstMember string, probePort int, probeKind, probePath string, parent pulumi.ResourceOption) (*nvaLoadBalancer, error) {
	lbName := name + "-lb"
	// The rule refers to the frontend, pool and probe of its own load
	// balancer by ID, known before it exists: a fixed Azure name, and the
	// subscription from the subnet's ID.
	lbID := pulumi.All(subnetID, rg.ToStringOutput()).ApplyT(func(v []any) (string, error) {
		sub := monitorSubscription(v[0].(string))
		if sub == "" {
			return "", fmt.Errorf("components: HaNva load balancer: subnet %q is not a resource ID", v[0].(string))
		}
		return fmt.Sprintf("/subscriptions/%s/resourceGroups/%s/providers/Microsoft.Network/loadBalancers/%s", sub, v[1].(string), lbName), nil
	}).(pulumi.StringOutput)
	part := func(kind, n string) pulumi.StringOutput { return pulumi.Sprintf("%s/%s/%s", lbID, kind, n) }
	probe := network.ProbeArgs{
		Name:              pulumi.String(nvaLBProbe),
		Protocol:          pulumi.String("Tcp"),
		Port:              pulumi.Int(probePort),
		IntervalInSeconds: pulumi.Int(5),
		NumberOfProbes:    pulumi.Int(2),
		ProbeThreshold:    pulumi.Int(2),
	}
	if probeKind == NvaProbeHTTP {
		probe.Protocol = pulumi.String("Http")
		probe.RequestPath = pulumi.String(probePath)
	}
	lb, err := network.NewLoadBalancer(ctx, lbName, &network.LoadBalancerArgs{
		ResourceGroupName: rg,
		Location:          optionalString(location),
		LoadBalancerName:  pulumi.String(lbName),
		Sku:               network.LoadBalancerSkuArgs{Name: pulumi.String("Standard"), Tier: pulumi.String("Regional")},
		FrontendIPConfigurations: network.FrontendIPConfigurationArray{network.FrontendIPConfigurationArgs{
			Name:                      pulumi.String(nvaLBFrontend),
			Subnet:                    network.SubnetTypeArgs{Id: subnetID},
			PrivateIPAllocationMethod: pulumi.String("Static"),
			PrivateIPAddress:          pulumi.String(frontendIP),
			PrivateIPAddressVersion:   pulumi.String("IPv4"),
		}},
		BackendAddressPools: network.BackendAddressPoolArray{network.BackendAddressPoolArgs{
			Name: pulumi.String(nvaLBPool),
			LoadBalancerBackendAddresses: network.LoadBalancerBackendAddressArray{network.LoadBalancerBackendAddressArgs{
				Name:           pulumi.String("nva-" + strings.NewReplacer(".", "-", ":", "-").Replace(firstMember)),
				IpAddress:      pulumi.String(firstMember),
				VirtualNetwork: network.SubResourceArgs{Id: vnetID},
			}},
		}},
		Probes: network.ProbeArray{probe},
		LoadBalancingRules: network.LoadBalancingRuleArray{network.LoadBalancingRuleArgs{
			Name:                    pulumi.String(nvaLBRule),
			Protocol:                pulumi.String("All"),
			FrontendPort:            pulumi.Int(0),
			BackendPort:             pulumi.Int(0),
			FrontendIPConfiguration: network.SubResourceArgs{Id: part("frontendIPConfigurations", nvaLBFrontend)},
			BackendAddressPool:      network.SubResourceArgs{Id: part("backendAddressPools", nvaLBPool)},
			Probe:                   network.SubResourceArgs{Id: part("probes", nvaLBProbe)},
			EnableFloatingIP:        pulumi.Bool(false),
			IdleTimeoutInMinutes:    pulumi.Int(4),
		}},
		Tags: managedByTags(),
	}, parent, pulumi.IgnoreChanges(loadBalancerIgnoreChanges()))
	if err != nil {
		return nil, fmt.Errorf("create load balancer %q: %w", lbName, err)
	}
	return &nvaLoadBalancer{lb: lb, poolID: pulumi.Sprintf("%s/backendAddressPools/%s", lb.ID(), nvaLBPool)}, nil
}

var (
	// A Private DNS zone name: two or more labels of letters, digits and
	// hyphens, each 1-63 characters, not starting or ending with '-'.
	dnsZoneRE = regexp.MustCompile(`^([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$`)
	// A record set name relative to its zone: one or more such labels.
	dnsRecordRE = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$`)
)

// nvaDNS is the Private DNS zone, its link to the VNet and the A record
// that follows the active NVA.
type nvaDNS struct {
	zone   *network.PrivateZone
	record *network.PrivateRecordSet
	fqdn   string
}

// newNvaDNS registers a Private DNS zone linked to the VNet (no
// auto-registration) and an A record set holding the first NVA's internal
// address; the monitor keeps the active NVA's address there, fencing with
// the record set's "hanva-epoch" metadata. A short TTL bounds how long a
// resolver caches the old answer after a failover; clients and their own
// caches may hold it longer.
func newNvaDNS(ctx *pulumi.Context, name string, rg pulumi.StringInput, vnetID pulumi.StringOutput,
	zoneName, recordName string, ttl int, firstAddress string, parent pulumi.ResourceOption) (*nvaDNS, error) {
	zone, err := network.NewPrivateZone(ctx, name+"-dns-zone", &network.PrivateZoneArgs{
		ResourceGroupName: rg,
		Location:          pulumi.String("global"),
		PrivateZoneName:   pulumi.String(zoneName),
		Tags:              managedByTags(),
	}, parent)
	if err != nil {
		return nil, fmt.Errorf("create private DNS zone %q: %w", zoneName, err)
	}
	if _, err := network.NewVirtualNetworkLink(ctx, name+"-dns-link", &network.VirtualNetworkLinkArgs{
		ResourceGroupName:      rg,
		Location:               pulumi.String("global"),
		PrivateZoneName:        zone.Name,
		VirtualNetworkLinkName: pulumi.String(name + "-vnet"),
		VirtualNetwork:         network.SubResourceArgs{Id: vnetID},
		RegistrationEnabled:    pulumi.Bool(false),
		Tags:                   managedByTags(),
	}, parent); err != nil {
		return nil, fmt.Errorf("create private DNS zone link %q: %w", name+"-dns-link", err)
	}
	record, err := network.NewPrivateRecordSet(ctx, name+"-dns-record", &network.PrivateRecordSetArgs{
		ResourceGroupName:     rg,
		PrivateZoneName:       zone.Name,
		RecordType:            pulumi.String("A"),
		RelativeRecordSetName: pulumi.String(recordName),
		Ttl:                   pulumi.Float64(float64(ttl)),
		ARecords:              network.ARecordArray{network.ARecordArgs{Ipv4Address: pulumi.String(firstAddress)}},
		// Declared, so the metadata object exists on both sides of a diff
		// and the ignored epoch key is kept (see dnsRecordIgnoreChanges).
		Metadata: managedByTags(),
	}, parent, pulumi.IgnoreChanges(dnsRecordIgnoreChanges()))
	if err != nil {
		return nil, fmt.Errorf("create private DNS record %q: %w", recordName, err)
	}
	return &nvaDNS{zone: zone, record: record, fqdn: recordName + "." + zoneName}, nil
}
