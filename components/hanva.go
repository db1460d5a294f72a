package components

import (
	"fmt"
	"slices"
	"strings"

	"github.com/pulumi/pulumi-azure-native-sdk/network/v2"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// HaNvaType is the HaNva component's type token; it never changes.
const HaNvaType = "hanva:index:HaNva"

// HaNvaArgs configures the whole topology. Plain values shape the graph and
// are checked before anything is registered; zero values take the defaults
// noted on each field.
type HaNvaArgs struct {
	// ResourceGroupName is where everything goes. Required.
	ResourceGroupName pulumi.StringInput `pulumi:"resourceGroupName"`
	// Location of the resources. Optional: the resource group's.
	Location pulumi.StringInput `pulumi:"location"`

	// Address plan. Optional; defaults: the seed's plan (10.0.0.0/16,
	// dmz-external 10.0.0.64/27, dmz-internal 10.0.0.96/27, web 10.0.1.0/24,
	// mgmt 10.0.0.128/25).
	AddressSpace, DmzExternalPrefix, DmzInternalPrefix, WebPrefix, MgmtPrefix string

	// NvaCount is how many NVAs; default 2.
	NvaCount int `pulumi:"nvaCount"`
	// Zones spreads NVAs and monitors across availability zones; empty: an
	// availability set each.
	Zones []string `pulumi:"zones"`
	// NvaVMSize is the NVA VM size; default the NvaPair's.
	NvaVMSize string `pulumi:"nvaVmSize"`
	// AdminUsername on every VM; default "hanva".
	AdminUsername string `pulumi:"adminUsername"`
	// SSHPublicKey for AdminUsername on every VM. Required.
	SSHPublicKey pulumi.StringInput `pulumi:"sshPublicKey"`
	// ProbePort the NVAs answer health probes on; default 8080.
	ProbePort int `pulumi:"probePort"`
	// ProbeKind is "http" (default) or "tcp"; ProbePath the HTTP path, default "/".
	ProbeKind, ProbePath string
	// ForwardTo is where the sample NVAs forward HTTP (80) arriving on the
	// public IP (the web tier's load balancer); "" forwards nothing.
	ForwardTo string `pulumi:"forwardTo"`
	// NvaCustomData replaces the sample NVA cloud-init. Optional.
	NvaCustomData pulumi.StringInput `pulumi:"nvaCustomData"`
	// NvaReadiness is NvaPairArgs.Readiness: "probe" (a readiness gate on
	// each NVA VM, waiting for ProbeKind on ProbePort on the VM itself) or
	// "none"; default "probe" for the sample NVA, "none" with NvaCustomData.
	NvaReadiness string `pulumi:"nvaReadiness"`

	// RouteTables to create; default one table "web-udr" via the internal
	// NICs with the default route 0.0.0.0/0.
	RouteTables []RouteTableSpec
	// RouteTableSubnets associates tables with subnets: subnet key
	// ("dmz-external", "dmz-internal", "web", "mgmt") -> table name.
	// Default: {"web": "web-udr"} when RouteTables is defaulted.
	RouteTableSubnets map[string]string

	// Steering lists the ways traffic follows the active NVA (SteerRoutes,
	// SteerPublicIP, SteerFloatingIP, SteerLoadBalancer, SteerDNS).
	// Optional; default {"routes", "publicIp"}: the monitor rewrites the
	// route tables' next hops and moves the public IP. Exactly one of
	// "routes", "floatingIp" and "loadBalancer" decides what the route
	// tables point at; "dns" may join any of them; the public IP always
	// follows the active NVA. With "floatingIp" or "loadBalancer" every
	// route table goes via internal and points at a fixed address in
	// dmz-internal (the middle of the subnet: 10.0.0.112 for the floating
	// IP, 10.0.0.113 for the frontend in the seed plan) that never moves
	// when NvaCount or MonitorCount grow.
	Steering []string `pulumi:"steering"`
	// DNSZoneName is the Private DNS zone of SteerDNS; default "hanva.internal".
	DNSZoneName string `pulumi:"dnsZoneName"`
	// DNSRecordName is the A record of SteerDNS in that zone; default "nva".
	DNSRecordName string `pulumi:"dnsRecordName"`
	// DNSTTL is the record's TTL in seconds, 1 or more; default 10.
	DNSTTL int `pulumi:"dnsTtl"`

	// MonitorCount is how many monitor VMs; default 2.
	MonitorCount int `pulumi:"monitorCount"`
	// MonitorVMSize is the monitor VM size; default the Monitor's.
	MonitorVMSize string `pulumi:"monitorVmSize"`
	// Monitor holds the monitor's failover settings.
	Monitor MonitorSettings
	// MonitorBinaryPath is a prebuilt linux/amd64 nva-monitor; "" builds it
	// from this module's source.
	MonitorBinaryPath string `pulumi:"monitorBinaryPath"`
	// StorageAccountName fixes the storage account's name. Optional.
	StorageAccountName string `pulumi:"storageAccountName"`
}

// HaNva is the whole HA NVA topology: the network, the route tables, the
// NVAs with the public IP, and the monitors.
type HaNva struct {
	pulumi.ResourceState

	Network     *Network
	RouteTables *RouteTables
	NVAs        *NvaPair
	Monitor     *Monitor
	// ActiveNVA is the NVA everything points at after the first deploy.
	ActiveNVA string
	// Steering is HaNvaArgs.Steering with the default applied.
	Steering []string
	// FloatingIP is the floating private IP ("" without SteerFloatingIP).
	FloatingIP string
	// LoadBalancer is the NVAs' internal load balancer and
	// LoadBalancerFrontendIP its frontend (nil, "" without SteerLoadBalancer).
	LoadBalancer           *network.LoadBalancer
	LoadBalancerFrontendIP string
	// BackendPoolID is the load balancer's pool the monitor manages.
	BackendPoolID pulumi.StringOutput
	// DNSZone, DNSRecord and DNSName (record.zone) are the Private DNS zone
	// and record (nil, "" without SteerDNS).
	DNSZone   *network.PrivateZone
	DNSRecord *network.PrivateRecordSet
	DNSName   string
}

// NewHaNva stands up the whole topology.
func NewHaNva(ctx *pulumi.Context, name string, args *HaNvaArgs, opts ...pulumi.ResourceOption) (*HaNva, error) {
	if args == nil {
		return nil, fmt.Errorf("components: HaNvaArgs: required")
	}
	a := *args
	if a.ResourceGroupName == nil {
		return nil, fmt.Errorf("components: HaNvaArgs.ResourceGroupName: required")
	}
	if a.SSHPublicKey == nil {
		return nil, fmt.Errorf("components: HaNvaArgs.SSHPublicKey: required (the VMs take SSH keys only)")
	}
	if a.NvaCount == 0 {
		a.NvaCount = 2
	}
	if a.NvaCount < 2 {
		return nil, fmt.Errorf("components: HaNvaArgs.NvaCount: %d NVA; HA needs at least 2", a.NvaCount)
	}
	if a.ProbePort == 0 {
		a.ProbePort = 8080
	}
	if a.ProbeKind == "" {
		a.ProbeKind = "http"
	}
	steer, err := planSteering(a.Steering, a.RouteTables == nil || len(a.RouteTables) > 0)
	if err != nil {
		return nil, err
	}
	if a.RouteTables == nil {
		a.RouteTables = []RouteTableSpec{{Name: "web-udr", Via: RoleInternal, Routes: []RouteSpec{{Name: "default", AddressPrefix: "0.0.0.0/0"}}}}
		if a.RouteTableSubnets == nil {
			a.RouteTableSubnets = map[string]string{"web": "web-udr"}
		}
	}
	prefixes := NetworkArgs{ResourceGroupName: a.ResourceGroupName, AddressSpace: a.AddressSpace,
		DmzExternalPrefix: a.DmzExternalPrefix, DmzInternalPrefix: a.DmzInternalPrefix,
		WebPrefix: a.WebPrefix, MgmtPrefix: a.MgmtPrefix}
	plan, err := prefixes.plan()
	if err != nil {
		return nil, err
	}

	tables := map[string]RouteTableSpec{}
	for _, spec := range a.RouteTables {
		tables[spec.Name] = spec
	}
	for subnet, table := range a.RouteTableSubnets {
		spec, ok := tables[table]
		if !ok {
			return nil, fmt.Errorf("components: HaNvaArgs.RouteTableSubnets[%q]: no route table named %q in RouteTables", subnet, table)
		}
		if subnet != monitorSubnet {
			continue
		}
		if prefix, cut := cutsMonitorsOff(spec); cut {
			return nil, fmt.Errorf("components: HaNvaArgs.RouteTableSubnets[%q]: route table %q sends %s through the NVAs, "+
				"but the monitors sit in subnet %q and must reach Azure Resource Manager and Storage while the active NVA is down; "+
				"a failover would cut them off when they are needed. Associate another table with %q (or none), "+
				"or send that traffic to the Internet or a NAT gateway (docs/deploy.md, \"The monitors' way out\")",
				subnet, table, prefix, monitorSubnet, monitorSubnet)
		}
	}

	// The monitor NICs share dmz-internal with the NVAs' internal NICs: the
	// NVAs count up from FirstHost, the monitors down from the subnet's last
	// usable address, each static, so no creation order lets a NIC take
	// another's planned address, and either count can grow into the space
	// between them.
	monitorCount := a.MonitorCount
	if monitorCount == 0 {
		monitorCount = defaultMonitorCount
	}
	monitorIPs, err := monitorAddresses(plan[SubnetDmzInternal], DefaultNvaFirstHost, a.NvaCount, monitorCount)
	if err != nil {
		return nil, err
	}
	steered, err := a.planSteered(steer, plan[SubnetDmzInternal], monitorCount)
	if err != nil {
		return nil, err
	}

	c := &HaNva{Steering: steered.steering, FloatingIP: steered.floatingIP, LoadBalancerFrontendIP: steered.frontendIP}
	if err := ctx.RegisterComponentResource(HaNvaType, name, c, opts...); err != nil {
		return nil, err
	}
	parent := pulumi.Parent(c)

	// The NVAs' static IPs are known before anything exists, so the route
	// tables (which point at the first NVA) can be made first and the
	// subnets associated with them when the VNet is created.
	const firstHost = DefaultNvaFirstHost
	nextHop := map[string]string{}
	if nextHop[RoleExternal], err = HostIP(plan[SubnetDmzExternal], firstHost); err != nil {
		return nil, fmt.Errorf("components: HaNvaArgs.DmzExternalPrefix: %w", err)
	}
	if nextHop[RoleInternal], err = HostIP(plan[SubnetDmzInternal], firstHost); err != nil {
		return nil, fmt.Errorf("components: HaNvaArgs.DmzInternalPrefix: %w", err)
	}
	// A floating IP or a load balancer's frontend follows the active NVA
	// itself: the route tables point at it and never change.
	switch {
	case steer.floating:
		nextHop[RoleInternal] = steered.floatingIP
	case steer.loadBalancer:
		nextHop[RoleInternal] = steered.frontendIP
	}
	rts, err := NewRouteTables(ctx, name+"-routes", &RouteTablesArgs{
		ResourceGroupName: a.ResourceGroupName, Location: a.Location, Tables: a.RouteTables, NextHop: nextHop,
		FixedNextHops: steer.floating || steer.loadBalancer,
	}, parent)
	if err != nil {
		return nil, err
	}
	assoc := map[string]pulumi.StringInput{}
	for subnet, table := range a.RouteTableSubnets {
		assoc[subnet] = rts.Tables[table].ID().ToStringOutput()
	}
	net, err := NewNetwork(ctx, name+"-network", &NetworkArgs{
		ResourceGroupName: a.ResourceGroupName, Location: a.Location,
		AddressSpace: plan["vnet"], DmzExternalPrefix: plan[SubnetDmzExternal],
		DmzInternalPrefix: plan[SubnetDmzInternal], WebPrefix: plan[SubnetWeb], MgmtPrefix: plan[SubnetMgmt],
		SubnetRouteTables: assoc,
	}, parent)
	if err != nil {
		return nil, err
	}
	nvas, err := NewNvaPair(ctx, name+"-nvas", &NvaPairArgs{
		ResourceGroupName: a.ResourceGroupName, Location: a.Location,
		Count: a.NvaCount, Zones: a.Zones, VMSize: a.NvaVMSize,
		AdminUsername: a.AdminUsername, SSHPublicKey: a.SSHPublicKey,
		ExternalSubnetID: net.DmzExternalSubnetID, InternalSubnetID: net.DmzInternalSubnetID,
		ExternalPrefix: plan[SubnetDmzExternal], InternalPrefix: plan[SubnetDmzInternal],
		FirstHost: firstHost, ProbePort: a.ProbePort, ForwardTo: a.ForwardTo, CustomData: a.NvaCustomData,
		Readiness: a.NvaReadiness, ProbeKind: a.ProbeKind, ProbePath: a.ProbePath,
		FloatingIP: steered.floatingIP,
	}, parent)
	if err != nil {
		return nil, err
	}
	firstInternal := nvas.NVAs[0].IPs[RoleInternal]
	var pools []ManagedResource
	var vnets []pulumi.StringInput
	if steer.loadBalancer {
		lb, err := newNvaLoadBalancer(ctx, name, a.ResourceGroupName, a.Location, net.DmzInternalSubnetID, net.VNetID,
			steered.frontendIP, firstInternal, a.ProbePort, a.ProbeKind, orDefault(a.ProbePath, "/"), parent)
		if err != nil {
			return nil, err
		}
		c.LoadBalancer, c.BackendPoolID = lb.lb, lb.poolID
		pools = []ManagedResource{{ID: lb.poolID, Via: RoleInternal}}
		vnets = []pulumi.StringInput{net.VNetID}
	}
	var records []DNSRecordResource
	if steer.dns {
		dns, err := newNvaDNS(ctx, name, a.ResourceGroupName, net.VNetID, steered.dnsZone, steered.dnsRecord, steered.dnsTTL, firstInternal, parent)
		if err != nil {
			return nil, err
		}
		c.DNSZone, c.DNSRecord, c.DNSName = dns.zone, dns.record, dns.fqdn
		records = []DNSRecordResource{{ID: dns.record.ID().ToStringOutput(), Via: RoleInternal, RecordType: "A"}}
	}
	var floats []FloatingIPResource
	if steer.floating {
		floats = []FloatingIPResource{{IP: steered.floatingIP, Via: RoleInternal, Name: FloatingIPConfigName(steered.floatingIP)}}
	}

	var monitored []MonitoredNVA
	var nsgs []pulumi.StringInput
	for _, n := range nvas.NVAs {
		nics := map[string]pulumi.StringInput{}
		for _, role := range []string{RoleExternal, RoleInternal} {
			nics[role] = n.NICIDs[role]
			// A NIC write re-sends its NSG reference, which needs join on the NSG.
			nsgs = append(nsgs, n.NICs[role].NetworkSecurityGroup.Id().Elem())
		}
		monitored = append(monitored, MonitoredNVA{
			Name:         n.Name,
			ProbeAddress: pulumi.String(fmt.Sprintf("%s:%d", n.IPs[RoleInternal], a.ProbePort)),
			ProbeKind:    a.ProbeKind, ProbePath: a.ProbePath, NICs: nics,
		})
	}
	var managedTables []ManagedResource
	for _, spec := range a.RouteTables {
		if !steer.routes {
			break // they point at a fixed address: nothing for the monitor to rewrite
		}
		managedTables = append(managedTables, ManagedResource{ID: rts.Tables[spec.Name].ID().ToStringOutput(), Via: spec.Via})
	}
	mon, err := NewMonitor(ctx, name+"-monitor", &MonitorArgs{
		ResourceGroupName: a.ResourceGroupName, Location: a.Location,
		Count: a.MonitorCount, Zones: a.Zones, VMSize: a.MonitorVMSize,
		AdminUsername: a.AdminUsername, SSHPublicKey: a.SSHPublicKey,
		SubnetID:                net.DmzInternalSubnetID,
		PrivateIPs:              monitorIPs,
		NVAs:                    monitored,
		RouteTables:             managedTables,
		PublicIPs:               []ManagedResource{{ID: nvas.PublicIPID, Via: RoleExternal}},
		FloatingIPs:             floats,
		BackendPools:            pools,
		DNSRecords:              records,
		SubnetIDs:               []pulumi.StringInput{net.DmzExternalSubnetID, net.DmzInternalSubnetID},
		VirtualNetworkIDs:       vnets,
		NetworkSecurityGroupIDs: nsgs,
		Settings:                a.Monitor,
		BinaryPath:              a.MonitorBinaryPath, StorageAccountName: a.StorageAccountName,
	}, parent)
	if err != nil {
		return nil, err
	}
	c.Network, c.RouteTables, c.NVAs, c.Monitor = net, rts, nvas, mon
	c.ActiveNVA = nvas.NVAs[0].Name
	outs := pulumi.Map{
		"vnetId":          net.VNetID,
		"publicIpAddress": nvas.PublicIPAddress,
		"routeTableIds":   rts.IDs,
		"leaseBlobUrl":    mon.LeaseBlobURL,
		"monitorConfig":   mon.Config,
		"activeNva":       pulumi.String(c.ActiveNVA),
		"steering":        pulumi.ToStringArray(c.Steering),
	}
	if c.FloatingIP != "" {
		outs["floatingIp"] = pulumi.String(c.FloatingIP)
	}
	if c.LoadBalancer != nil {
		outs["loadBalancerId"] = c.LoadBalancer.ID()
		outs["loadBalancerFrontendIp"] = pulumi.String(c.LoadBalancerFrontendIP)
	}
	if c.DNSRecord != nil {
		outs["dnsRecordId"] = c.DNSRecord.ID()
		outs["dnsName"] = pulumi.String(c.DNSName)
	}
	if err := ctx.RegisterResourceOutputs(c, outs); err != nil {
		return nil, err
	}
	return c, nil
}

// monitorSubnet is the subnet of the monitors in HaNva.
const monitorSubnet = SubnetDmzInternal

// cutsMonitorsOff reports the first route of spec that would send the
// monitors' own traffic through the NVAs were spec on their subnet: the
// default route, or the service tags of Azure Resource Manager and Storage
// (or AzureCloud, which holds both), which UDRs accept as address prefixes
// (learn.microsoft.com/azure/virtual-network/virtual-networks-udr-overview#service-tags-for-user-defined-routes).
func cutsMonitorsOff(spec RouteTableSpec) (string, bool) {
	for _, r := range spec.Routes {
		p := strings.ToLower(r.AddressPrefix)
		switch {
		case p == "0.0.0.0/0", p == "azureresourcemanager", p == "storage", strings.HasPrefix(p, "storage."),
			p == "azurecloud", strings.HasPrefix(p, "azurecloud."):
			return fmt.Sprintf("%s (route %q)", r.AddressPrefix, r.Name), true
		}
	}
	return "", false
}

// monitorAddresses plans the monitor NICs' static addresses in prefix:
// monitor i at the (i+1)-th usable address from the top, below the
// broadcast address. The NVAs hold hosts firstHost to firstHost+nvas-1; the
// two ranges must not meet.
func monitorAddresses(prefix string, firstHost, nvas, monitors int) ([]string, error) {
	p, err := parseSubnetPrefix(prefix)
	if err != nil {
		return nil, fmt.Errorf("components: HaNvaArgs.DmzInternalPrefix: %w", err)
	}
	last := int(prefixSize(p)) - 2 // the broadcast address is size-1
	lowest := last - monitors + 1
	if _, top := NvaHosts(firstHost, nvas); lowest <= top {
		return nil, fmt.Errorf("components: HaNvaArgs: %d NVAs (hosts %d-%d of %s) and %d monitors (hosts %d-%d) do not fit in the subnet; "+
			"use a larger DmzInternalPrefix or fewer NVAs or monitors", nvas, firstHost, top, p, monitors, lowest, last)
	}
	var ips []string
	for i := range monitors {
		ip, err := HostIP(prefix, last-i)
		if err != nil {
			return nil, fmt.Errorf("components: HaNvaArgs.DmzInternalPrefix: %w", err)
		}
		ips = append(ips, ip)
	}
	return ips, nil
}

// steered is what HaNvaArgs' steering options plan: the addresses and the
// DNS names, checked.
type steered struct {
	steering   []string
	floatingIP string // "" unless SteerFloatingIP
	frontendIP string // "" unless SteerLoadBalancer
	dnsZone    string
	dnsRecord  string
	dnsTTL     int
}

// planSteered places the floating IP and the load balancer's frontend in
// dmz-internal (steeringHosts), refuses NVA and monitor counts that would
// reach them and route tables that do not go via internal, and checks the
// DNS names.
func (a *HaNvaArgs) planSteered(steer steeringPlan, internal string, monitors int) (steered, error) {
	st := steered{steering: slices.Clone(a.Steering)}
	if len(st.steering) == 0 {
		st.steering = []string{SteerRoutes, SteerPublicIP}
	}
	if !slices.Contains(st.steering, SteerPublicIP) {
		st.steering = append(st.steering, SteerPublicIP)
	}
	prefix, err := parseSubnetPrefix(internal)
	if err != nil {
		return st, fmt.Errorf("components: HaNvaArgs.DmzInternalPrefix: %w", err)
	}
	floatHost, frontHost := steeringHosts(prefix)
	hosts := map[string]int{}
	if steer.floating {
		hosts["floating IP"] = floatHost
	}
	if steer.loadBalancer {
		hosts["load balancer frontend"] = frontHost
	}
	if err := checkSteeringHosts(prefix, DefaultNvaFirstHost, a.NvaCount, monitors, hosts); err != nil {
		return st, err
	}
	if steer.floating {
		st.floatingIP, _ = HostIP(internal, floatHost) // checked above
	}
	if steer.loadBalancer {
		st.frontendIP, _ = HostIP(internal, frontHost)
	}
	if steer.floating || steer.loadBalancer {
		for i, spec := range a.RouteTables {
			if spec.Via != RoleInternal {
				return st, fmt.Errorf("components: HaNvaArgs.RouteTables[%d].Via: %q; with steering %q or %q every route table points at "+
					"the fixed address in %s, so it must go via %q", i, spec.Via, SteerFloatingIP, SteerLoadBalancer, SubnetDmzInternal, RoleInternal)
			}
		}
	}
	st.dnsZone, st.dnsRecord, st.dnsTTL = orDefault(a.DNSZoneName, DefaultDNSZoneName), orDefault(a.DNSRecordName, DefaultDNSRecordName), a.DNSTTL
	if st.dnsTTL == 0 {
		st.dnsTTL = DefaultDNSTTL
	}
	if !steer.dns {
		for _, f := range []struct {
			field string
			set   bool
		}{{"DNSZoneName", a.DNSZoneName != ""}, {"DNSRecordName", a.DNSRecordName != ""}, {"DNSTTL", a.DNSTTL != 0}} {
			if f.set {
				return st, fmt.Errorf("components: HaNvaArgs.%s: only used with steering %q; add it to Steering or leave %s unset", f.field, SteerDNS, f.field)
			}
		}
		return st, nil
	}
	if err := CheckPrivateDNS(st.dnsZone, st.dnsRecord, st.dnsTTL); err != nil {
		return st, err
	}
	return st, nil
}
