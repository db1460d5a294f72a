package components

import (
	"fmt"
	"strings"

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

	c := &HaNva{}
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
	rts, err := NewRouteTables(ctx, name+"-routes", &RouteTablesArgs{
		ResourceGroupName: a.ResourceGroupName, Location: a.Location, Tables: a.RouteTables, NextHop: nextHop,
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
	}, parent)
	if err != nil {
		return nil, err
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
		SubnetIDs:               []pulumi.StringInput{net.DmzExternalSubnetID, net.DmzInternalSubnetID},
		NetworkSecurityGroupIDs: nsgs,
		Settings:                a.Monitor,
		BinaryPath:              a.MonitorBinaryPath, StorageAccountName: a.StorageAccountName,
	}, parent)
	if err != nil {
		return nil, err
	}
	c.Network, c.RouteTables, c.NVAs, c.Monitor = net, rts, nvas, mon
	c.ActiveNVA = nvas.NVAs[0].Name
	if err := ctx.RegisterResourceOutputs(c, pulumi.Map{
		"vnetId":          net.VNetID,
		"publicIpAddress": nvas.PublicIPAddress,
		"routeTableIds":   rts.IDs,
		"leaseBlobUrl":    mon.LeaseBlobURL,
		"monitorConfig":   mon.Config,
		"activeNva":       pulumi.String(c.ActiveNVA),
	}); err != nil {
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
