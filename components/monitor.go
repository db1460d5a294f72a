package components

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"maps"
	"net/netip"
	"regexp"
	"slices"
	"strings"

	"github.com/pulumi/pulumi-azure-native-sdk/authorization/v2"
	"github.com/pulumi/pulumi-azure-native-sdk/compute/v2"
	"github.com/pulumi/pulumi-azure-native-sdk/network/v2"
	"github.com/pulumi/pulumi-azure-native-sdk/storage/v2"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/hanva/hanva/monitor/config"
)

// MonitorType is the Monitor's type token; it never changes (a rename ships
// with an alias).
const MonitorType = "hanva:index:Monitor"

// MonitoredNVA is one appliance the monitors probe and fail over between.
type MonitoredNVA struct {
	// Name names the NVA in the monitor's config, logs and metrics. Required:
	// 1-63 letters, digits and hyphens, unique.
	Name string `pulumi:"name"`
	// ProbeAddress is "IP:port" that the monitors probe. Required.
	ProbeAddress pulumi.StringInput `pulumi:"probeAddress"`
	// ProbeKind is tcp (connect) or http (GET, 2xx). Optional; default http,
	// unlike the monitor's own config (tcp): the monitor cannot assume an
	// NVA serves HTTP, but an NVA deployed with these components does (the
	// sample answers 200 on its probe port), and an HTTP check also sees an
	// appliance whose kernel accepts connections while its health page fails.
	ProbeKind string `pulumi:"probeKind"`
	// ProbePath is the HTTP path. Optional, http only; default "/".
	ProbePath string `pulumi:"probePath"`
	// NICs maps a NIC role (RoleInternal, RoleExternal, …) to the NIC's
	// resource ID. Required, at least one.
	NICs map[string]pulumi.StringInput `pulumi:"nics"`
}

// ManagedResource is a route table or public IP that follows the active NVA.
type ManagedResource struct {
	// ID is the resource ID. Required.
	ID pulumi.StringInput `pulumi:"id"`
	// Via is the NIC role the resource points at (a route table's next hops,
	// the NIC a public IP rides on); every NVA needs a NIC of this role.
	// Required.
	Via string `pulumi:"via"`
}

// FloatingIPResource is a floating private IP that follows the active NVA
// as a secondary IP configuration of its NIC of role Via.
type FloatingIPResource struct {
	// IP is the static private address, in the subnet of the NVAs' NICs of
	// role Via. Required.
	IP string `pulumi:"ip"`
	// Via is the NIC role that carries it; every NVA needs a NIC of this
	// role. Required.
	Via string `pulumi:"via"`
	// Name of the ipconfig that carries it. Optional; default the monitor's
	// (FloatingIPConfigName).
	Name string `pulumi:"name"`
}

// DNSRecordResource is a Private DNS record set that holds the active NVA's
// address of role Via.
type DNSRecordResource struct {
	// ID is the record set's resource ID (…/privateDnsZones/{zone}/A/{name}).
	// Required.
	ID pulumi.StringInput `pulumi:"id"`
	// Via is the NIC role whose address the record holds. Required.
	Via string `pulumi:"via"`
	// RecordType is "A" (default) or "AAAA": it picks the actions the role
	// grants on the record set.
	RecordType string `pulumi:"recordType"`
}

// MonitorSettings tune the monitor; zero values are the monitor's own
// defaults (see monitor/config).
type MonitorSettings struct {
	// Probe is the probe schedule and thresholds. Optional.
	Probe config.ProbeTiming `pulumi:"probe"`
	// Failback is "never" (default) or "preferred". Optional.
	Failback string `pulumi:"failback"`
	// FailbackHoldoff: how long the first NVA must be up before failback. Optional; default 60s.
	FailbackHoldoff config.Duration `pulumi:"failbackHoldoff"`
	// MinFailoverInterval: no failover within this long of the last one. Optional; default 30s.
	MinFailoverInterval config.Duration `pulumi:"minFailoverInterval"`
	// LeaseDuration of the leader lease, 15s to 60s. Optional; default 15s.
	LeaseDuration config.Duration `pulumi:"leaseDuration"`
}

// MonitorArgs configure a Monitor.
type MonitorArgs struct {
	// ResourceGroupName is where the monitor VMs, the storage account and the
	// role definition go. Required.
	ResourceGroupName pulumi.StringInput `pulumi:"resourceGroupName"`
	// Location of the created resources. Optional; default the resource group's.
	Location pulumi.StringInput `pulumi:"location"`
	// Count of monitor VMs. Optional; default 2. An odd count lets a quorum
	// of views outvote one monitor whose probes are blocked.
	Count int `pulumi:"count"`
	// Zones, e.g. {"1", "2", "3"}: monitor i goes to Zones[i % len(Zones)].
	// Optional; empty puts the monitors in an availability set of their own
	// (2 fault and 2 update domains).
	Zones []string `pulumi:"zones"`
	// VMSize of the monitor VMs. Optional; default "Standard_B1s".
	VMSize string `pulumi:"vmSize"`
	// AdminUsername of the monitor VMs (SSH key only). Optional; default "hanva".
	AdminUsername string `pulumi:"adminUsername"`
	// SSHPublicKey (OpenSSH format) of AdminUsername. Required.
	SSHPublicKey pulumi.StringInput `pulumi:"sshPublicKey"`
	// SubnetID is where the monitor VMs' NICs go (the sample: dmz-internal,
	// next to the probed NICs). Required.
	SubnetID pulumi.StringInput `pulumi:"subnetId"`
	// PrivateIPs are static addresses for the monitor NICs, one per monitor,
	// in SubnetID. Optional; empty: Azure allocates them dynamically. Give
	// them whenever the program creates other NICs with static addresses in
	// the same subnet: Azure hands out the lowest free address to a dynamic
	// NIC, so a monitor NIC created first could take an address an NVA NIC
	// is planned to hold, and that NIC then fails on every retry
	// (learn.microsoft.com/azure/virtual-network/ip-services/private-ip-addresses:
	// "Dynamic: Azure assigns the next available unassigned or unreserved IP
	// address in the subnet's address range"). HaNva counts them down from
	// the top of the subnet while the NVAs count up from its bottom.
	PrivateIPs []string `pulumi:"privateIps"`
	// NVAs to probe, at least two; the order is the preference order.
	// Required.
	NVAs []MonitoredNVA `pulumi:"nvas"`
	// RouteTables whose NVA routes follow the active NVA. At least one route
	// table or public IP is required.
	RouteTables []ManagedResource `pulumi:"routeTables"`
	// PublicIPs that ride on the active NVA. At least one route table or
	// public IP is required.
	PublicIPs []ManagedResource `pulumi:"publicIps"`
	// FloatingIPs that ride, as a secondary ipconfig, on the active NVA's
	// NIC of their role. Optional.
	FloatingIPs []FloatingIPResource `pulumi:"floatingIps"`
	// BackendPools are IP-based backend pools of Standard load balancers
	// that hold the active NVA's address of their role (ID:
	// …/loadBalancers/{lb}/backendAddressPools/{pool}). The role is
	// assigned on each pool's load balancer. Optional.
	BackendPools []ManagedResource `pulumi:"backendPools"`
	// DNSRecords are Private DNS A or AAAA record sets that hold the active
	// NVA's address of their role; the role is assigned on each record set.
	// Optional.
	DNSRecords []DNSRecordResource `pulumi:"dnsRecords"`
	// SubnetIDs are the subnets of the NVA NICs: moving a public IP or a
	// floating IP rewrites the NICs, and Azure checks join/action on each
	// NIC's subnet (and writing a load balancer on its frontend's subnet).
	// Required (non-empty) when PublicIPs, FloatingIPs or BackendPools is
	// set; each subnet once.
	SubnetIDs []pulumi.StringInput `pulumi:"subnetIds"`
	// VirtualNetworkIDs are the virtual networks the members of the
	// BackendPools name (an IP-based member is ipAddress + virtualNetwork):
	// Azure checks joinLoadBalancer/action on them. Required (non-empty)
	// when BackendPools is set; each once.
	VirtualNetworkIDs []pulumi.StringInput `pulumi:"virtualNetworkIds"`
	// NetworkSecurityGroupIDs are the NSGs attached to the NVA NICs: a NIC
	// write is also checked for join/action on its NSG. Optional; list them
	// when the NICs of a public IP's role have NSGs (NvaPair gives every NIC
	// one). Each NSG once.
	NetworkSecurityGroupIDs []pulumi.StringInput `pulumi:"networkSecurityGroupIds"`
	// Settings tune failover; zero values are the monitor's defaults.
	Settings MonitorSettings `pulumi:"settings"`
	// BinaryPath is a prebuilt linux/amd64 nva-monitor to upload. Optional;
	// default: build it from this module's source (BuildMonitorBinary).
	BinaryPath string `pulumi:"binaryPath"`
	// StorageAccountName of the lease and binary storage account. Optional;
	// default "hanva" + 19 hex digits derived from the subscription, resource
	// group, project, stack and component name (3-24 lower-case letters and
	// digits, globally unique in Azure).
	StorageAccountName string `pulumi:"storageAccountName"`
}

// Monitor is the nva-monitor cluster: Count small VMs with system-assigned
// identities, a custom role granting them exactly MonitorActions on each
// managed resource, and a storage account holding the leader lease and the
// monitor binary.
type Monitor struct {
	pulumi.ResourceState

	// VMs are the monitor VMs, in order; VM i is named "<name>-<i+1>", which
	// is also its instance name in the monitor config.
	VMs []*compute.VirtualMachine
	// PrivateIPs of the monitor VMs, in the order of VMs.
	PrivateIPs pulumi.StringArrayOutput
	// StorageAccount holds Container.
	StorageAccount *storage.StorageAccount
	// Container "hanva" holds the leader lease blob (ha/leader, its views and
	// requests) and the binary (nva-monitor/<sha256>).
	Container *storage.BlobContainer
	// LeaseBlobURL is the leader blob: <blob endpoint>hanva/ha/leader.
	LeaseBlobURL pulumi.StringOutput
	// Config is monitor 1's YAML config; the others differ only in instance.
	Config pulumi.StringOutput
	// RoleDefinition is the custom role with exactly MonitorActions.
	RoleDefinition *authorization.RoleDefinition
	// BinarySHA256 is the SHA-256 (hex) of the nva-monitor binary the VMs
	// install; it names the blob and is pinned in their install scripts.
	BinarySHA256 string
	// Installs are the managed run commands that install nva-monitor, its
	// config and unit on each VM, in the order of VMs; Installs[i+1]
	// depends on Installs[i], so an upgrade restarts one monitor at a time.
	Installs []*compute.VirtualMachineRunCommandByVirtualMachine
}

// MonitorActions returns exactly the actions of the monitor's custom role.
// The role is assigned on each managed resource alone, so each action only
// ever applies where failover needs it:
//
//   - routeTables read/write: on the route tables, to repoint next hops;
//   - networkInterfaces read/write: on the NVA NICs, to move a public IP;
//   - publicIPAddresses read: on the public IPs, which the monitor reads to
//     see where they sit, and join/action: to attach one to a NIC;
//   - virtualNetworks/subnets/join/action and networkSecurityGroups/join/action:
//     on the NVA NICs' subnets and NSGs, which Azure checks on every NIC write
//     that references them (LinkedAuthorizationFailed otherwise);
//   - Microsoft.Authorization/permissions/read: on each resource, so
//     `nva-monitor validate` can list its own permissions there; Microsoft's
//     REST reference for Permissions - List For Resource names this action
//     as the one the caller needs
//     (learn.microsoft.com/rest/api/authorization/permissions). It reveals
//     nothing but the caller's own permissions.
//
// No subnet or virtual network read is needed: the monitor reads subnets
// only as IDs inside the NICs. Nothing is granted on a resource group or the
// subscription.
func MonitorActions() []string {
	return []string{
		"Microsoft.Network/routeTables/read",
		"Microsoft.Network/routeTables/write",
		"Microsoft.Network/networkInterfaces/read",
		"Microsoft.Network/networkInterfaces/write",
		"Microsoft.Network/publicIPAddresses/read",
		"Microsoft.Network/publicIPAddresses/join/action",
		"Microsoft.Network/virtualNetworks/subnets/join/action",
		"Microsoft.Network/networkSecurityGroups/join/action",
		"Microsoft.Authorization/permissions/read",
	}
}

// storageBlobDataContributor is the built-in role "Storage Blob Data
// Contributor" (read, write and delete blobs and containers), ID
// ba92f5b4-2d11-453d-a403-e96b0029c9fe in Microsoft's built-in roles
// reference (learn.microsoft.com/azure/role-based-access-control/built-in-roles/storage).
// The monitors need write for the lease, the shared state and their views.
const storageBlobDataContributor = "ba92f5b4-2d11-453d-a403-e96b0029c9fe"

// Names inside the storage account.
const (
	monitorContainer  = "hanva"
	monitorLeaseBlob  = "ha/leader"
	monitorBlobPrefix = "nva-monitor/"
)

// Monitor defaults.
const (
	defaultMonitorCount  = 2
	defaultMonitorVMSize = "Standard_B1s"
	defaultMonitorAdmin  = "hanva"
)

var (
	// monitorNamePrefixRE keeps "<name>-<n>" a valid VM, Linux host and
	// monitor instance name.
	monitorNamePrefixRE = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9-]{0,56}[A-Za-z0-9])?$`)
	monitorNVANameRE    = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$`)
	monitorRoleRE       = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)
	monitorZoneRE       = regexp.MustCompile(`^[1-9][0-9]?$`)
	monitorAccountRE    = regexp.MustCompile(`^[a-z0-9]{3,24}$`)
)

// monitorPlan is MonitorArgs validated, with defaults applied.
type monitorPlan struct {
	name      string
	instances []string // VM, host and monitor instance names
	zones     []string
	vmSize    string
	admin     string
	nvas      []MonitoredNVA
	roles     [][]string // per NVA, its NIC roles sorted
	settings  MonitorSettings
	account   string
	// privateIPs are the monitor NICs' static addresses; nil: dynamic.
	privateIPs []string
}

// monitorArgError names the field of MonitorArgs that is wrong.
func monitorArgError(field, format string, a ...any) error {
	return fmt.Errorf("components: MonitorArgs.%s: "+format, append([]any{field}, a...)...)
}

// monitorPtr passes an optional string input where Azure wants a pointer.
func monitorPtr(in pulumi.StringInput) pulumi.StringPtrInput {
	if in == nil {
		return nil
	}
	return in.ToStringOutput()
}

// plan validates the plain parts of args, before anything is registered.
// Errors name the field.
func (args *MonitorArgs) plan(name string) (*monitorPlan, error) {
	if args == nil {
		return nil, fmt.Errorf("components: NewMonitor %q: args are required", name)
	}
	if !monitorNamePrefixRE.MatchString(name) {
		return nil, fmt.Errorf("components: NewMonitor: name %q cannot name the monitor VMs (%q-1, …); "+
			"use 1-58 letters, digits and hyphens, starting and ending with a letter or digit", name, name)
	}
	switch {
	case args.ResourceGroupName == nil:
		return nil, monitorArgError("ResourceGroupName", "required")
	case args.SSHPublicKey == nil:
		return nil, monitorArgError("SSHPublicKey", "required: the monitor VMs allow SSH keys only")
	case args.SubnetID == nil:
		return nil, monitorArgError("SubnetID", "required: the subnet of the monitor VMs")
	}
	p := &monitorPlan{name: name, vmSize: args.VMSize, admin: args.AdminUsername, settings: args.Settings}

	count := args.Count
	switch {
	case count < 0:
		return nil, monitorArgError("Count", "%d monitors; use 1 or more (default %d)", count, defaultMonitorCount)
	case count == 0:
		count = defaultMonitorCount
	}
	for i := range count {
		p.instances = append(p.instances, fmt.Sprintf("%s-%d", name, i+1))
	}
	seenZones := map[string]bool{}
	for i, z := range args.Zones {
		if !monitorZoneRE.MatchString(z) {
			return nil, monitorArgError(fmt.Sprintf("Zones[%d]", i), "%q is not an availability zone; write zones as \"1\", \"2\", \"3\"", z)
		}
		if seenZones[z] {
			return nil, monitorArgError(fmt.Sprintf("Zones[%d]", i), "zone %q is listed twice", z)
		}
		seenZones[z] = true
		p.zones = append(p.zones, z)
	}
	if n := len(args.PrivateIPs); n > 0 && n != len(p.instances) {
		return nil, monitorArgError("PrivateIPs", "%d addresses for %d monitors; give one per monitor, or none for dynamic addresses", n, len(p.instances))
	}
	seenIPs := map[netip.Addr]int{}
	for i, ip := range args.PrivateIPs {
		a, err := netip.ParseAddr(ip)
		if err != nil || !a.Is4() {
			return nil, monitorArgError(fmt.Sprintf("PrivateIPs[%d]", i), "%q is not an IPv4 address", ip)
		}
		if j, dup := seenIPs[a]; dup {
			return nil, monitorArgError(fmt.Sprintf("PrivateIPs[%d]", i), "%s is already PrivateIPs[%d]", a, j)
		}
		seenIPs[a] = i
	}
	p.privateIPs = slices.Clone(args.PrivateIPs)
	if p.vmSize == "" {
		p.vmSize = defaultMonitorVMSize
	}
	if p.admin == "" {
		p.admin = defaultMonitorAdmin
	}
	if err := CheckAdminUsername(p.admin); err != nil {
		return nil, monitorArgError("AdminUsername", "%w", err)
	}

	if n := len(args.NVAs); n < 2 {
		return nil, monitorArgError("NVAs", "%d NVA(s); HA needs at least 2 (one active, one standby)", n)
	}
	names := map[string]int{}
	for i, nva := range args.NVAs {
		f := fmt.Sprintf("NVAs[%d]", i)
		if !monitorNVANameRE.MatchString(nva.Name) {
			return nil, monitorArgError(f+".Name", "%q is not a valid NVA name; use 1-63 letters, digits and hyphens, "+
				"starting and ending with a letter or digit", nva.Name)
		}
		if j, dup := names[strings.ToLower(nva.Name)]; dup {
			return nil, monitorArgError(f+".Name", "%q is already the name of NVAs[%d]", nva.Name, j)
		}
		names[strings.ToLower(nva.Name)] = i
		if nva.ProbeAddress == nil {
			return nil, monitorArgError(f+".ProbeAddress", "required: the IP:port the monitors probe")
		}
		switch nva.ProbeKind {
		case "":
			nva.ProbeKind = config.ProbeHTTP
		case config.ProbeHTTP, config.ProbeTCP:
		default:
			return nil, monitorArgError(f+".ProbeKind", "%q; use %q or %q", nva.ProbeKind, config.ProbeHTTP, config.ProbeTCP)
		}
		if nva.ProbeKind == config.ProbeHTTP && nva.ProbePath == "" {
			nva.ProbePath = config.DefaultHTTPPath
		}
		if nva.ProbeKind == config.ProbeTCP && nva.ProbePath != "" {
			return nil, monitorArgError(f+".ProbePath", "%q is only used with ProbeKind %q", nva.ProbePath, config.ProbeHTTP)
		}
		if len(nva.NICs) == 0 {
			return nil, monitorArgError(f+".NICs", "%q has no NICs; map each role to its NIC's ID", nva.Name)
		}
		roles := slices.Sorted(maps.Keys(nva.NICs))
		for _, role := range roles {
			if !monitorRoleRE.MatchString(role) {
				return nil, monitorArgError(f+".NICs", "role %q is not a valid role name; use letters, digits, \"-\" and \"_\"", role)
			}
			if nva.NICs[role] == nil {
				return nil, monitorArgError(fmt.Sprintf("%s.NICs[%q]", f, role), "the NIC ID is nil")
			}
		}
		p.nvas = append(p.nvas, nva)
		p.roles = append(p.roles, roles)
	}

	if len(args.RouteTables) == 0 && len(args.PublicIPs) == 0 && len(args.FloatingIPs) == 0 &&
		len(args.BackendPools) == 0 && len(args.DNSRecords) == 0 {
		return nil, monitorArgError("RouteTables", "neither RouteTables nor PublicIPs (nor FloatingIPs, BackendPools or DNSRecords) lists anything, so a failover would move nothing")
	}
	dnsList := make([]ManagedResource, len(args.DNSRecords))
	for i, d := range args.DNSRecords {
		dnsList[i] = ManagedResource{ID: d.ID, Via: d.Via}
		if d.RecordType != "" && d.RecordType != "A" && d.RecordType != "AAAA" {
			return nil, monitorArgError(fmt.Sprintf("DNSRecords[%d].RecordType", i), "%q; use \"A\" (default) or \"AAAA\"", d.RecordType)
		}
	}
	floatList := make([]ManagedResource, len(args.FloatingIPs))
	seenFloats := map[netip.Addr]int{}
	for i, f := range args.FloatingIPs {
		floatList[i] = ManagedResource{ID: pulumi.String(f.IP), Via: f.Via}
		a, err := netip.ParseAddr(f.IP)
		if err != nil {
			return nil, monitorArgError(fmt.Sprintf("FloatingIPs[%d].IP", i), "%q is not an IP address", f.IP)
		}
		if j, dup := seenFloats[a]; dup {
			return nil, monitorArgError(fmt.Sprintf("FloatingIPs[%d].IP", i), "%s is already FloatingIPs[%d]", a, j)
		}
		seenFloats[a] = i
	}
	for _, kind := range []struct {
		field string
		list  []ManagedResource
	}{{"RouteTables", args.RouteTables}, {"PublicIPs", args.PublicIPs}, {"FloatingIPs", floatList},
		{"BackendPools", args.BackendPools}, {"DNSRecords", dnsList}} {
		for i, r := range kind.list {
			f := fmt.Sprintf("%s[%d]", kind.field, i)
			if r.ID == nil {
				return nil, monitorArgError(f+".ID", "required")
			}
			if r.Via == "" {
				return nil, monitorArgError(f+".Via", "required: the NIC role it points at, like \"internal\"")
			}
			for j, nva := range p.nvas {
				if _, ok := nva.NICs[r.Via]; !ok {
					return nil, monitorArgError(f+".Via", "%q: NVAs[%d] (%q) has no NIC of that role (it has %s)",
						r.Via, j, nva.Name, strings.Join(p.roles[j], ", "))
				}
			}
		}
	}
	if len(args.PublicIPs) > 0 && len(args.SubnetIDs) == 0 {
		return nil, monitorArgError("SubnetIDs", "empty, but moving a public IP rewrites the NVA NICs and Azure checks "+
			"Microsoft.Network/virtualNetworks/subnets/join/action on each NIC's subnet; list the NVA NICs' subnets")
	}
	if len(args.FloatingIPs) > 0 && len(args.SubnetIDs) == 0 {
		return nil, monitorArgError("SubnetIDs", "empty, but moving a floating IP adds an ipconfig that names its subnet, and Azure checks "+
			"Microsoft.Network/virtualNetworks/subnets/join/action on it; list the NVA NICs' subnets")
	}
	if len(args.BackendPools) > 0 && len(args.SubnetIDs) == 0 {
		return nil, monitorArgError("SubnetIDs", "empty, but writing a load balancer re-sends its frontend, which names its subnet, and Azure checks "+
			"Microsoft.Network/virtualNetworks/subnets/join/action on it; list the frontends' subnets")
	}
	if len(args.BackendPools) > 0 && len(args.VirtualNetworkIDs) == 0 {
		return nil, monitorArgError("VirtualNetworkIDs", "empty, but the members of an IP-based backend pool name their virtual network, and Azure checks "+
			"Microsoft.Network/virtualNetworks/joinLoadBalancer/action on it; list the NVAs' virtual network")
	}
	for i, id := range args.VirtualNetworkIDs {
		if id == nil {
			return nil, monitorArgError(fmt.Sprintf("VirtualNetworkIDs[%d]", i), "nil")
		}
	}
	for i, id := range args.SubnetIDs {
		if id == nil {
			return nil, monitorArgError(fmt.Sprintf("SubnetIDs[%d]", i), "nil")
		}
	}
	for i, id := range args.NetworkSecurityGroupIDs {
		if id == nil {
			return nil, monitorArgError(fmt.Sprintf("NetworkSecurityGroupIDs[%d]", i), "nil")
		}
	}
	if a := args.StorageAccountName; a != "" && !monitorAccountRE.MatchString(a) {
		return nil, monitorArgError("StorageAccountName", "%q; Azure wants 3-24 lower-case letters and digits", a)
	}
	p.account = args.StorageAccountName

	// The settings are checked by the monitor's own validation on a config
	// whose resource IDs and addresses are placeholders: a value the monitor
	// would refuse stops here, naming the config field.
	probe := make([]string, len(p.nvas))
	nics := make([]map[string]string, len(p.nvas))
	for i := range p.nvas {
		probe[i] = fmt.Sprintf("192.0.2.%d:8080", i+1)
		nics[i] = map[string]string{}
		for _, role := range p.roles[i] {
			nics[i][role] = monitorPlaceholderID("networkInterfaces", fmt.Sprintf("nic-%d-%s", i, role))
		}
	}
	r := monitorResolved{probes: probe, nics: nics, leaseURL: "https://placeholder.blob.core.windows.net/" + monitorContainer + "/" + monitorLeaseBlob}
	for i := range args.RouteTables {
		r.routeTables = append(r.routeTables, monitorPlaceholderID("routeTables", fmt.Sprintf("rt-%d", i)))
	}
	for i := range args.PublicIPs {
		r.publicIPs = append(r.publicIPs, monitorPlaceholderID("publicIPAddresses", fmt.Sprintf("pip-%d", i)))
	}
	for i := range args.BackendPools {
		r.backendPools = append(r.backendPools, monitorPlaceholderID("loadBalancers", fmt.Sprintf("lb-%d/backendAddressPools/pool", i)))
	}
	for i, d := range args.DNSRecords {
		r.dnsRecords = append(r.dnsRecords, monitorPlaceholderID("privateDnsZones", fmt.Sprintf("zone-%d.internal/%s/rec", i, dnsRecordType(d))))
	}
	c := p.config(p.instances[0], r, args)
	if err := c.Validate(); err != nil {
		return nil, monitorArgError("Settings", "the monitor refuses them:\n%w", err)
	}
	return p, nil
}

func monitorPlaceholderID(typ, name string) string {
	return "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/placeholder/providers/Microsoft.Network/" + typ + "/" + name
}

// monitorResolved holds the values of the Pulumi inputs the config needs.
type monitorResolved struct {
	probes       []string            // per NVA: IP:port
	nics         []map[string]string // per NVA: role -> NIC ID
	routeTables  []string            // IDs, in the order of MonitorArgs.RouteTables
	publicIPs    []string            // IDs, in the order of MonitorArgs.PublicIPs
	backendPools []string            // IDs, in the order of MonitorArgs.BackendPools
	dnsRecords   []string            // IDs, in the order of MonitorArgs.DNSRecords
	leaseURL     string
	selfNICs     []string // per monitor instance: its own NIC's ID ("" unknown)
}

// config builds the config of one monitor instance.
func (p *monitorPlan) config(instance string, r monitorResolved, args *MonitorArgs) *config.Config {
	s := p.settings
	c := &config.Config{
		Instance: instance,
		Monitors: slices.Clone(p.instances),
		InstanceNIC: func() string {
			if i := slices.Index(p.instances, instance); i >= 0 && i < len(r.selfNICs) {
				return r.selfNICs[i]
			}
			return ""
		}(),
		Lease: config.Lease{
			Kind:       config.LeaseBlob,
			URL:        r.leaseURL,
			Duration:   s.LeaseDuration,
			Credential: config.LeaseCredential{Kind: config.LeaseCredentialManagedIdentity},
		},
		Credential:          config.Credential{Kind: config.CredentialManagedIdentity},
		Probe:               s.Probe,
		Failback:            s.Failback,
		FailbackHoldoff:     s.FailbackHoldoff,
		MinFailoverInterval: s.MinFailoverInterval,
	}
	for i, nva := range p.nvas {
		c.NVAs = append(c.NVAs, config.NVA{
			Name:  nva.Name,
			Probe: config.Probe{Address: r.probes[i], Kind: nva.ProbeKind, Path: nva.ProbePath},
			NICs:  maps.Clone(r.nics[i]),
		})
	}
	for i, rt := range args.RouteTables {
		c.RouteTables = append(c.RouteTables, config.RouteTable{ID: r.routeTables[i], Via: rt.Via})
	}
	for i, pip := range args.PublicIPs {
		c.PublicIPs = append(c.PublicIPs, config.PublicIP{ID: r.publicIPs[i], Via: pip.Via})
	}
	for _, f := range args.FloatingIPs {
		c.FloatingIPs = append(c.FloatingIPs, config.FloatingIP{IP: f.IP, Via: f.Via, Name: f.Name})
	}
	for i, bp := range args.BackendPools {
		c.BackendPools = append(c.BackendPools, config.BackendPool{ID: r.backendPools[i], Via: bp.Via})
	}
	for i, d := range args.DNSRecords {
		c.DNSRecords = append(c.DNSRecords, config.DNSRecord{ID: r.dnsRecords[i], Via: d.Via})
	}
	return c
}

// monitorYAML marshals an instance's config with the monitor's own Marshal
// and loads it back with its own Parse: a config the monitor would refuse
// fails the Pulumi program with the monitor's error.
func monitorYAML(c *config.Config) (string, error) {
	out, err := c.Marshal()
	if err != nil {
		return "", fmt.Errorf("components: monitor config for %s: %w", c.Instance, err)
	}
	if _, err := config.Parse(out); err != nil {
		return "", fmt.Errorf("components: the monitor config for %s is refused by nva-monitor's own loader:\n%w", c.Instance, err)
	}
	return string(out), nil
}

// NewMonitor validates args, gets the nva-monitor binary (BinaryPath, or a
// reproducible build of this module's source) and registers the storage
// account, container and binary blob, the monitor VMs and their NICs, the
// custom roles and their assignments, and on each VM a managed run command
// that installs nva-monitor and its config. Wired to an NvaPair and
// RouteTables:
//
//	var nvas []components.MonitoredNVA
//	var subnets, nsgs []pulumi.StringInput
//	for _, n := range pair.NVAs {
//		nics := map[string]pulumi.StringInput{}
//		for role, id := range n.NICIDs {
//			nics[role] = id
//			nsgs = append(nsgs, n.NICs[role].NetworkSecurityGroup.Id().Elem())
//		}
//		nvas = append(nvas, components.MonitoredNVA{Name: n.Name, NICs: nics,
//			ProbeAddress: pulumi.String(fmt.Sprintf("%s:%d", n.IPs[components.RoleInternal], pair.ProbePort))})
//	}
//	mon, err := components.NewMonitor(ctx, "monitor", &components.MonitorArgs{
//		ResourceGroupName: rg.Name,
//		SSHPublicKey:      pulumi.String(key),
//		SubnetID:          net.DmzInternalSubnetID,
//		PrivateIPs:        []string{"10.0.0.126", "10.0.0.125"},
//		NVAs:              nvas,
//		RouteTables:       []components.ManagedResource{{ID: rts.IDs.MapIndex(pulumi.String("web-udr")), Via: components.RoleInternal}},
//		PublicIPs:         []components.ManagedResource{{ID: pair.PublicIPID, Via: components.RoleExternal}},
//		SubnetIDs:         []pulumi.StringInput{net.DmzExternalSubnetID, net.DmzInternalSubnetID},
//		NetworkSecurityGroupIDs: nsgs,
//	})
//	// mon.Config is monitor 1's YAML, mon.LeaseBlobURL the leader blob.
//
// Upgrades: the VMs carry no custom data. The binary's hash and the config
// live in each VM's run command, which Azure runs again when it changes; the
// run commands depend on each other in order (and each VM on the previous
// VM's run command), so `pulumi up` with a new binary or setting restarts
// the monitors one at a time, each only after the previous one reports
// ready, and replaces no VM (docs/deploy.md, "Upgrading the monitors").
func NewMonitor(ctx *pulumi.Context, name string, args *MonitorArgs, opts ...pulumi.ResourceOption) (*Monitor, error) {
	p, err := args.plan(name)
	if err != nil {
		return nil, err
	}
	binPath, sum, err := monitorBinary(args.BinaryPath)
	if err != nil {
		return nil, err
	}
	m := &Monitor{BinarySHA256: sum}
	if err := ctx.RegisterComponentResource(MonitorType, name, m, opts...); err != nil {
		return nil, err
	}
	parent := pulumi.Parent(m)

	st, err := newMonitorStorage(ctx, name, p, args, binPath, sum, parent)
	if err != nil {
		return nil, err
	}
	m.StorageAccount, m.Container, m.LeaseBlobURL = st.account, st.container, st.leaseURL

	var nics []*network.NetworkInterface
	var nicIDs []pulumi.StringOutput
	var privateIPs pulumi.StringArray
	for i := range p.instances {
		nic, err := newMonitorNIC(ctx, name, p, args, i, parent)
		if err != nil {
			return nil, err
		}
		nics, nicIDs = append(nics, nic), append(nicIDs, nic.ID().ToStringOutput())
		privateIPs = append(privateIPs, nic.IpConfigurations.Index(pulumi.Int(0)).PrivateIPAddress().Elem())
	}
	m.PrivateIPs = privateIPs.ToStringArrayOutput()

	configs := monitorConfigs(p, args, st.leaseURL, nicIDs)
	m.Config = configs.Index(pulumi.Int(0))

	role, err := newMonitorRole(ctx, name, p, args, parent)
	if err != nil {
		return nil, err
	}
	m.RoleDefinition = role.definition
	self, err := newMonitorSelfRole(ctx, name, nicIDs, parent)
	if err != nil {
		return nil, err
	}

	var avset *compute.AvailabilitySet
	if len(p.zones) == 0 {
		avset, err = compute.NewAvailabilitySet(ctx, name+"-avset", &compute.AvailabilitySetArgs{
			ResourceGroupName:         args.ResourceGroupName,
			Location:                  monitorPtr(args.Location),
			AvailabilitySetName:       pulumi.String(name + "-avset"),
			PlatformFaultDomainCount:  pulumi.Int(2),
			PlatformUpdateDomainCount: pulumi.Int(2),
			Sku:                       &compute.SkuArgs{Name: pulumi.String("Aligned")}, // managed disks
			Tags:                      managedByTags(),
		}, parent)
		if err != nil {
			return nil, err
		}
	}

	var previous pulumi.Resource // the previous monitor's run command
	for i := range p.instances {
		vm, err := newMonitorVM(ctx, name, p, args, i, nics[i], avset, previous, parent)
		if err != nil {
			return nil, err
		}
		m.VMs = append(m.VMs, vm)
		granted, err := role.assign(ctx, i, vm, st.container)
		if err != nil {
			return nil, err
		}
		if err := self.assign(ctx, name, i, vm, nicIDs[i]); err != nil {
			return nil, err
		}
		install, err := newMonitorInstall(ctx, name, p, args, i, vm, configs.Index(pulumi.Int(i)), st, sum,
			append(granted, st.binary, previous), parent)
		if err != nil {
			return nil, err
		}
		m.Installs = append(m.Installs, install)
		previous = install
	}

	if err := ctx.RegisterResourceOutputs(m, pulumi.Map{
		"privateIps":       m.PrivateIPs,
		"storageAccountId": st.account.ID(),
		"containerId":      st.container.ID(),
		"leaseBlobUrl":     m.LeaseBlobURL,
		"config":           m.Config,
		"roleDefinitionId": role.definition.ID(),
		"selfCheckRoleId":  self.definition.ID(),
		"binarySha256":     pulumi.String(sum),
	}); err != nil {
		return nil, err
	}
	return m, nil
}

// monitorStorage is the monitors' storage: the account, the private
// container holding the lease and the binary, and the binary's blob.
type monitorStorage struct {
	account   *storage.StorageAccount
	container *storage.BlobContainer
	binary    *storage.Blob
	leaseURL  pulumi.StringOutput // <blob endpoint>hanva/ha/leader
	binaryURL pulumi.StringOutput // <blob endpoint>hanva/nva-monitor/<sha256>
}

func newMonitorStorage(ctx *pulumi.Context, name string, p *monitorPlan, args *MonitorArgs, binPath, sum string, parent pulumi.ResourceOption) (*monitorStorage, error) {
	accountName := pulumi.String(p.account).ToStringOutput()
	if p.account == "" {
		accountName = pulumi.All(args.SubnetID.ToStringOutput(), args.ResourceGroupName.ToStringOutput()).ApplyT(func(v []any) string {
			return monitorAccountName(monitorSubscription(v[0].(string)), v[1].(string), ctx.Project(), ctx.Stack(), name)
		}).(pulumi.StringOutput)
	}
	// allowSharedKeyAccess stays on: azure-native's Blob resource uploads with
	// the account key it lists through ARM, in both of its backends
	// (pulumi/pulumi-azure-native#3719; #2015 and #2948 are the open requests
	// for Entra ID uploads), so an account without shared keys would fail
	// `pulumi up` at the binary with KeyBasedAuthenticationNotPermitted. No
	// key leaves ARM: the monitors authenticate with their managed
	// identities, nothing on the VMs is a key or SAS, and whoever may list
	// the keys (Contributor on the account) may also turn shared keys on. A
	// swapped binary is refused by its SHA-256 pinned in the install script.
	account, err := storage.NewStorageAccount(ctx, name+"-storage", &storage.StorageAccountArgs{
		ResourceGroupName:            args.ResourceGroupName,
		Location:                     monitorPtr(args.Location),
		AccountName:                  accountName,
		Kind:                         pulumi.String("StorageV2"),
		Sku:                          &storage.SkuArgs{Name: pulumi.String("Standard_LRS")},
		EnableHttpsTrafficOnly:       pulumi.Bool(true),
		MinimumTlsVersion:            pulumi.String("TLS1_2"),
		AllowBlobPublicAccess:        pulumi.Bool(false),
		AllowSharedKeyAccess:         pulumi.Bool(true),
		DefaultToOAuthAuthentication: pulumi.Bool(true),
		Tags:                         managedByTags(),
	}, parent)
	if err != nil {
		return nil, err
	}
	container, err := storage.NewBlobContainer(ctx, name+"-container", &storage.BlobContainerArgs{
		ResourceGroupName: args.ResourceGroupName,
		AccountName:       account.Name,
		ContainerName:     pulumi.String(monitorContainer),
		PublicAccess:      storage.PublicAccessNone,
	}, parent)
	if err != nil {
		return nil, err
	}
	blobName := monitorBlobPrefix + sum
	binary, err := storage.NewBlob(ctx, name+"-binary", &storage.BlobArgs{
		ResourceGroupName: args.ResourceGroupName,
		AccountName:       account.Name,
		ContainerName:     container.Name,
		BlobName:          pulumi.String(blobName),
		Type:              storage.BlobTypeBlock,
		ContentType:       pulumi.String("application/octet-stream"),
		Source:            pulumi.NewFileAsset(binPath),
	}, parent)
	if err != nil {
		return nil, err
	}
	endpoint := account.PrimaryEndpoints.Blob().ApplyT(func(e string) string {
		return strings.TrimSuffix(e, "/") + "/"
	}).(pulumi.StringOutput)
	return &monitorStorage{
		account:   account,
		container: container,
		binary:    binary,
		leaseURL:  pulumi.Sprintf("%s%s/%s", endpoint, monitorContainer, monitorLeaseBlob),
		binaryURL: pulumi.Sprintf("%s%s/%s", endpoint, monitorContainer, blobName),
	}, nil
}

// monitorConfigs returns each instance's YAML config, in the order of
// p.instances, once every input they need has resolved (as strings: an ID
// may come as an IDOutput).
func monitorConfigs(p *monitorPlan, args *MonitorArgs, leaseURL pulumi.StringOutput, selfNICs []pulumi.StringOutput) pulumi.StringArrayOutput {
	var inputs []any
	for i, nva := range p.nvas {
		inputs = append(inputs, nva.ProbeAddress.ToStringOutput())
		for _, role := range p.roles[i] {
			inputs = append(inputs, nva.NICs[role].ToStringOutput())
		}
	}
	for _, rt := range args.RouteTables {
		inputs = append(inputs, rt.ID.ToStringOutput())
	}
	for _, pip := range args.PublicIPs {
		inputs = append(inputs, pip.ID.ToStringOutput())
	}
	for _, bp := range args.BackendPools {
		inputs = append(inputs, bp.ID.ToStringOutput())
	}
	for _, d := range args.DNSRecords {
		inputs = append(inputs, d.ID.ToStringOutput())
	}
	inputs = append(inputs, leaseURL)
	for _, id := range selfNICs {
		inputs = append(inputs, id)
	}
	return pulumi.All(inputs...).ApplyT(func(v []any) ([]string, error) {
		next := func() string { s := v[0].(string); v = v[1:]; return s }
		var r monitorResolved
		for i := range p.nvas {
			r.probes = append(r.probes, next())
			nics := map[string]string{}
			for _, role := range p.roles[i] {
				nics[role] = next()
			}
			r.nics = append(r.nics, nics)
		}
		for range args.RouteTables {
			r.routeTables = append(r.routeTables, next())
		}
		for range args.PublicIPs {
			r.publicIPs = append(r.publicIPs, next())
		}
		for range args.BackendPools {
			r.backendPools = append(r.backendPools, next())
		}
		for range args.DNSRecords {
			r.dnsRecords = append(r.dnsRecords, next())
		}
		r.leaseURL = next()
		for range selfNICs {
			r.selfNICs = append(r.selfNICs, next())
		}
		var out []string
		for _, inst := range p.instances {
			y, err := monitorYAML(p.config(inst, r, args))
			if err != nil {
				return nil, err
			}
			out = append(out, y)
		}
		return out, nil
	}).(pulumi.StringArrayOutput)
}

// newMonitorNIC registers monitor i's NIC: a static address when the plan
// has them (so no NVA NIC planned in the same subnet can lose its address to
// it), else a dynamic one.
func newMonitorNIC(ctx *pulumi.Context, name string, p *monitorPlan, args *MonitorArgs, i int, parent pulumi.ResourceOption) (*network.NetworkInterface, error) {
	ipc := &network.NetworkInterfaceIPConfigurationArgs{
		Name:                      pulumi.String("ipconfig1"),
		Subnet:                    &network.SubnetTypeArgs{Id: monitorPtr(args.SubnetID)},
		PrivateIPAllocationMethod: pulumi.String("Dynamic"),
	}
	if p.privateIPs != nil {
		ipc.PrivateIPAllocationMethod = pulumi.String("Static")
		ipc.PrivateIPAddress = pulumi.String(p.privateIPs[i])
	}
	return network.NewNetworkInterface(ctx, fmt.Sprintf("%s-nic-%d", name, i+1), &network.NetworkInterfaceArgs{
		ResourceGroupName:    args.ResourceGroupName,
		Location:             monitorPtr(args.Location),
		NetworkInterfaceName: pulumi.String(p.instances[i] + "-nic"),
		IpConfigurations:     network.NetworkInterfaceIPConfigurationArray{ipc},
		Tags:                 managedByTags(),
	}, parent)
}

// newMonitorVM registers monitor VM i. It carries no custom data: nothing
// about the binary or the config is in the VM resource, so an upgrade
// changes none. It depends on the previous monitor's run command, so that
// monitors are created, and when they must be replaced (a new size, image
// or admin key) replaced, one at a time.
func newMonitorVM(ctx *pulumi.Context, name string, p *monitorPlan, args *MonitorArgs, i int, nic *network.NetworkInterface,
	avset *compute.AvailabilitySet, previous pulumi.Resource, parent pulumi.ResourceOption) (*compute.VirtualMachine, error) {
	inst := p.instances[i]
	vm := LinuxVMArgs{
		ResourceGroupName:      args.ResourceGroupName,
		Location:               args.Location,
		VMName:                 inst,
		ComputerName:           inst,
		Size:                   p.vmSize,
		AdminUsername:          p.admin,
		SSHPublicKey:           args.SSHPublicKey,
		NICIDs:                 []pulumi.StringInput{nic.ID().ToStringOutput()},
		SystemAssignedIdentity: true,
		Tags:                   managedByTags(),
	}
	if len(p.zones) > 0 {
		vm.Zone = p.zones[i%len(p.zones)]
	} else {
		vm.AvailabilitySetID = avset.ID().ToStringOutput()
	}
	vmArgs, err := vm.VirtualMachineArgs()
	if err != nil {
		return nil, err
	}
	vmOpts := []pulumi.ResourceOption{parent,
		// Custom data cannot change on a VM (docs/azure-behaviour.md#vm-custom-data).
		// These VMs have none; one made by an earlier hanva had the binary's
		// hash and the config in it, and is replaced once (its name is fixed,
		// so the old one goes first), one monitor at a time.
		pulumi.ReplaceOnChanges([]string{"osProfile.customData"}),
		pulumi.DeleteBeforeReplace(true)}
	if previous != nil {
		vmOpts = append(vmOpts, pulumi.DependsOn([]pulumi.Resource{previous}))
	}
	return compute.NewVirtualMachine(ctx, fmt.Sprintf("%s-vm-%d", name, i+1), vmArgs, vmOpts...)
}

// monitorRunCommandTimeout bounds each install run command: the download
// attempts and the wait for readiness fit in it.
const monitorRunCommandTimeout = 1800

// newMonitorInstall registers monitor i's managed run command, which
// installs (or upgrades) nva-monitor, its config and unit, restarts it if
// anything changed and waits until it is ready. Azure runs a managed run
// command when it is created and each time it is updated
// (learn.microsoft.com/azure/virtual-machines/linux/run-command-managed);
// with asyncExecution off the PUT completes only when the script has, and
// with treatFailureAsDeploymentFailure a failed script fails it, so
// `pulumi up` stops before the next monitor. deps are what must exist first:
// the VM's Storage role assignment, the binary's blob and the previous
// monitor's run command (the Pulumi Go SDK registers a resource only once
// its DependsOn resources are registered, that is created or updated:
// sdk/go/pulumi/context.go, prepareResourceInputs awaiting their URNs).
func newMonitorInstall(ctx *pulumi.Context, name string, p *monitorPlan, args *MonitorArgs, i int, vm *compute.VirtualMachine,
	yaml pulumi.StringOutput, st *monitorStorage, sum string, deps []pulumi.Resource, parent pulumi.ResourceOption) (*compute.VirtualMachineRunCommandByVirtualMachine, error) {
	inst := p.instances[i]
	script := pulumi.All(yaml, st.binaryURL, vm.VmId).ApplyT(func(v []any) (string, error) {
		return monitorInstall{
			Instance: inst,
			VMID:     v[2].(string),
			BlobURL:  v[1].(string),
			SHA256:   sum,
			Config:   []byte(v[0].(string)),
			Listen:   config.DefaultListen,
		}.script()
	}).(pulumi.StringOutput)
	var after []pulumi.Resource
	for _, d := range deps {
		if d != nil {
			after = append(after, d)
		}
	}
	return compute.NewVirtualMachineRunCommandByVirtualMachine(ctx, fmt.Sprintf("%s-install-%d", name, i+1),
		&compute.VirtualMachineRunCommandByVirtualMachineArgs{
			ResourceGroupName:               args.ResourceGroupName,
			Location:                        monitorPtr(args.Location),
			VmName:                          vm.Name,
			RunCommandName:                  pulumi.String("hanva-install-nva-monitor"),
			Source:                          &compute.VirtualMachineRunCommandScriptSourceArgs{Script: script},
			AsyncExecution:                  pulumi.Bool(false),
			TimeoutInSeconds:                pulumi.Int(monitorRunCommandTimeout),
			TreatFailureAsDeploymentFailure: pulumi.Bool(true),
			Tags:                            managedByTags(),
		}, parent, pulumi.DependsOn(after))
}

// MonitorSelfCheckActions returns exactly the actions of the monitors'
// second custom role, assigned to each monitor on its own NIC alone, so
// that `nva-monitor validate` can check the monitor's way out to ARM and
// Storage: the NIC's effective routes (the Network Interfaces - Get
// Effective Route Table operation,
// learn.microsoft.com/rest/api/virtualnetwork/network-interfaces/get-effective-route-table),
// the NIC itself, and its own permissions there.
func MonitorSelfCheckActions() []string {
	return []string{
		"Microsoft.Network/networkInterfaces/read",
		"Microsoft.Network/networkInterfaces/effectiveRouteTable/action",
		"Microsoft.Authorization/permissions/read",
	}
}

// monitorSelfRole is the self-check role, assignable on the monitor NICs.
type monitorSelfRole struct {
	definition *authorization.RoleDefinition
	parent     pulumi.ResourceOption
}

func newMonitorSelfRole(ctx *pulumi.Context, name string, nicIDs []pulumi.StringOutput, parent pulumi.ResourceOption) (*monitorSelfRole, error) {
	var scopes pulumi.StringArray
	for _, id := range nicIDs {
		scopes = append(scopes, id)
	}
	def, err := newMonitorRoleDefinition(ctx, name, "selfcheck-role", "hanva-monitor-selfcheck-role", "hanva nva-monitor self-check",
		"hanva nva-monitor: read the effective routes of the monitor's own NIC, to check its way out to ARM and Storage. "+
			"Assigned on each monitor's NIC only.",
		MonitorSelfCheckActions(), nicIDs[0], scopes, parent)
	if err != nil {
		return nil, err
	}
	return &monitorSelfRole{definition: def, parent: parent}, nil
}

// assign gives monitor i the self-check role on its own NIC.
func (r *monitorSelfRole) assign(ctx *pulumi.Context, name string, i int, vm *compute.VirtualMachine, nicID pulumi.StringOutput) error {
	_, err := authorization.NewRoleAssignment(ctx, fmt.Sprintf("%s-ra-%d-self", name, i+1), &authorization.RoleAssignmentArgs{
		Scope:            nicID,
		PrincipalId:      vm.Identity.PrincipalId().Elem(),
		PrincipalType:    pulumi.String("ServicePrincipal"),
		RoleDefinitionId: monitorRoleDefinitionPath(nicID, r.definition.Name),
	}, r.parent)
	return err
}

// monitorRole is the custom role of the monitors and what it is assignable
// on.
type monitorRole struct {
	name       string
	args       *MonitorArgs
	definition *authorization.RoleDefinition
	managed    []monitorScoped
	parent     pulumi.ResourceOption
}

type monitorScoped struct {
	key string
	id  pulumi.StringInput
}

// newMonitorRole registers the custom role, assignable only on the managed
// resources themselves.
func newMonitorRole(ctx *pulumi.Context, name string, p *monitorPlan, args *MonitorArgs, parent pulumi.ResourceOption) (*monitorRole, error) {
	var managed []monitorScoped
	for i, rt := range args.RouteTables {
		managed = append(managed, monitorScoped{fmt.Sprintf("rt-%d", i), rt.ID})
	}
	for i, nva := range p.nvas {
		for _, role := range p.roles[i] {
			managed = append(managed, monitorScoped{fmt.Sprintf("nic-%s-%s", nva.Name, role), nva.NICs[role]})
		}
	}
	for i, pip := range args.PublicIPs {
		managed = append(managed, monitorScoped{fmt.Sprintf("pip-%d", i), pip.ID})
	}
	for i, id := range args.SubnetIDs {
		managed = append(managed, monitorScoped{fmt.Sprintf("subnet-%d", i), id})
	}
	for i, id := range args.NetworkSecurityGroupIDs {
		managed = append(managed, monitorScoped{fmt.Sprintf("nsg-%d", i), id})
	}
	// A backend pool is written through its load balancer (one PUT of the
	// whole load balancer), so the role goes on the load balancer.
	for i, bp := range args.BackendPools {
		managed = append(managed, monitorScoped{fmt.Sprintf("lb-%d", i), bp.ID.ToStringOutput().ApplyT(func(id string) (string, error) {
			lb, ok := loadBalancerOfPool(id)
			if !ok {
				return "", fmt.Errorf("components: MonitorArgs.BackendPools[%d].ID: %q is not a load balancer's backend pool "+
					"(…/loadBalancers/{lb}/backendAddressPools/{pool})", i, id)
			}
			return lb, nil
		}).(pulumi.StringOutput)})
	}
	for i, id := range args.VirtualNetworkIDs {
		managed = append(managed, monitorScoped{fmt.Sprintf("vnet-%d", i), id})
	}
	for i, d := range args.DNSRecords {
		managed = append(managed, monitorScoped{fmt.Sprintf("dns-%d", i), d.ID})
	}
	var scopes pulumi.StringArray
	for _, s := range managed {
		scopes = append(scopes, s.id)
	}
	def, err := newMonitorRoleDefinition(ctx, name, "role", "hanva-monitor-role", "hanva nva-monitor",
		"hanva nva-monitor: repoint the managed route tables, move the public IP between "+
			"the NVA NICs (joining the PIP, the NICs' subnets and NSGs), read its own permissions. Assigned on each resource only.",
		monitorRoleActions(args), managed[0].id.ToStringOutput(), scopes, parent)
	if err != nil {
		return nil, err
	}
	return &monitorRole{name: name, args: args, definition: def, managed: managed, parent: parent}, nil
}

// newMonitorRoleDefinition registers a custom role holding exactly
// actions, assignable only on scopes. The definition itself lives at the
// resource group of first (ARM takes a subscription, resource group or
// resource scope for the PUT); its assignableScopes are the individual
// resources. Microsoft's docs allow resource IDs there (while recommending
// broader scopes to save the tenant's 5000 custom roles:
// learn.microsoft.com/azure/role-based-access-control/role-definitions#assignablescopes);
// here they make the role unusable anywhere else. Its name (a GUID) is
// derived from seed, the project, stack, component and resource group, so
// it stays the same across runs.
func newMonitorRoleDefinition(ctx *pulumi.Context, name, suffix, seed, title, description string, actions []string,
	first pulumi.StringOutput, scopes pulumi.StringArray, parent pulumi.ResourceOption) (*authorization.RoleDefinition, error) {
	roleScope := first.ApplyT(func(id string) (string, error) {
		rg := monitorResourceGroup(id)
		if rg == "" {
			return "", fmt.Errorf("components: monitor %s: %q is not a resource ID under a resource group", name, id)
		}
		return rg, nil
	}).(pulumi.StringOutput)
	roleID := roleScope.ApplyT(func(scope string) string {
		return monitorRoleGUID(seed, ctx.Project(), ctx.Stack(), name, strings.ToLower(scope))
	}).(pulumi.StringOutput)
	return authorization.NewRoleDefinition(ctx, name+"-"+suffix, &authorization.RoleDefinitionArgs{
		Scope:            roleScope,
		RoleDefinitionId: roleID,
		RoleName: roleID.ApplyT(func(id string) string {
			return monitorTruncate(fmt.Sprintf("%s %s (%s/%s/%s)", title, id[:8], ctx.Project(), ctx.Stack(), name), 128)
		}).(pulumi.StringOutput),
		Description: pulumi.String(description),
		RoleType:    pulumi.String("CustomRole"),
		Permissions: authorization.PermissionArray{&authorization.PermissionArgs{
			Actions:    pulumi.ToStringArray(actions),
			NotActions: pulumi.StringArray{},
		}},
		AssignableScopes: scopes,
	}, parent)
}

// assign registers monitor i's role assignments: the custom role on each
// managed resource, scoped to it, and Storage Blob Data Contributor on the
// container alone. It returns the Storage one, which the install needs.
func (r *monitorRole) assign(ctx *pulumi.Context, i int, vm *compute.VirtualMachine, container *storage.BlobContainer) ([]pulumi.Resource, error) {
	principal := vm.Identity.PrincipalId().Elem()
	for _, s := range r.managed {
		_, err := authorization.NewRoleAssignment(ctx, fmt.Sprintf("%s-ra-%d-%s", r.name, i+1, s.key), &authorization.RoleAssignmentArgs{
			Scope:            s.id,
			PrincipalId:      principal,
			PrincipalType:    pulumi.String("ServicePrincipal"),
			RoleDefinitionId: monitorRoleDefinitionPath(s.id, r.definition.Name),
		}, r.parent)
		if err != nil {
			return nil, err
		}
	}
	blob, err := authorization.NewRoleAssignment(ctx, fmt.Sprintf("%s-ra-%d-blob", r.name, i+1), &authorization.RoleAssignmentArgs{
		Scope:            container.ID(),
		PrincipalId:      principal,
		PrincipalType:    pulumi.String("ServicePrincipal"),
		RoleDefinitionId: monitorRoleDefinitionPath(container.ID(), pulumi.String(storageBlobDataContributor)),
	}, r.parent)
	if err != nil {
		return nil, err
	}
	return []pulumi.Resource{blob}, nil
}

// monitorRoleDefinitionPath is the ID of role definition roleName as a role
// assignment in scope's subscription names it.
func monitorRoleDefinitionPath(scope pulumi.StringInput, roleName pulumi.StringInput) pulumi.StringOutput {
	return pulumi.All(scope.ToStringOutput(), roleName.ToStringOutput()).ApplyT(func(v []any) string {
		return "/subscriptions/" + monitorSubscription(v[0].(string)) + "/providers/Microsoft.Authorization/roleDefinitions/" + v[1].(string)
	}).(pulumi.StringOutput)
}

// monitorSubscription returns the subscription ID of an ARM resource ID, or "".
func monitorSubscription(id string) string {
	parts := strings.Split(strings.Trim(id, "/"), "/")
	if len(parts) >= 2 && strings.EqualFold(parts[0], "subscriptions") {
		return parts[1]
	}
	return ""
}

// monitorResourceGroup returns /subscriptions/{s}/resourceGroups/{g} of an ARM
// resource ID, or "".
func monitorResourceGroup(id string) string {
	parts := strings.Split(strings.Trim(id, "/"), "/")
	if len(parts) >= 4 && strings.EqualFold(parts[0], "subscriptions") && strings.EqualFold(parts[2], "resourceGroups") &&
		parts[1] != "" && parts[3] != "" {
		return "/subscriptions/" + parts[1] + "/resourceGroups/" + parts[3]
	}
	return ""
}

// monitorAccountName derives a storage account name that is the same on
// every run of a stack and differs between stacks, resource groups and
// subscriptions: storage account names are global in Azure.
func monitorAccountName(subscription, group, project, stack, name string) string {
	h := sha256.Sum256([]byte(strings.Join([]string{strings.ToLower(subscription), strings.ToLower(group), project, stack, name}, "\x00")))
	return "hanva" + hex.EncodeToString(h[:])[:19]
}

// monitorRoleGUID is a name-based (version 5 layout) GUID of parts: role
// definition names must be GUIDs, and a stable one keeps the same role across
// runs.
func monitorRoleGUID(parts ...string) string {
	h := sha256.Sum256([]byte(strings.Join(parts, "\x00")))
	b := h[:16]
	b[6] = b[6]&0x0f | 0x50
	b[8] = b[8]&0x3f | 0x80
	x := hex.EncodeToString(b)
	return x[0:8] + "-" + x[8:12] + "-" + x[12:16] + "-" + x[16:20] + "-" + x[20:32]
}

func monitorTruncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}
