package components

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"maps"
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
	// NVAs to probe, at least two; the order is the preference order.
	// Required.
	NVAs []MonitoredNVA `pulumi:"nvas"`
	// RouteTables whose NVA routes follow the active NVA. At least one route
	// table or public IP is required.
	RouteTables []ManagedResource `pulumi:"routeTables"`
	// PublicIPs that ride on the active NVA. At least one route table or
	// public IP is required.
	PublicIPs []ManagedResource `pulumi:"publicIps"`
	// SubnetIDs are the subnets of the NVA NICs: moving a public IP rewrites
	// the NICs, and Azure checks join/action on each NIC's subnet. Required
	// (non-empty) when PublicIPs is set; each subnet once.
	SubnetIDs []pulumi.StringInput `pulumi:"subnetIds"`
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
	// install; it names the blob and is pinned in their custom data.
	BinarySHA256 string
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

	if len(args.RouteTables) == 0 && len(args.PublicIPs) == 0 {
		return nil, monitorArgError("RouteTables", "neither RouteTables nor PublicIPs lists anything, so a failover would move nothing")
	}
	for _, kind := range []struct {
		field string
		list  []ManagedResource
	}{{"RouteTables", args.RouteTables}, {"PublicIPs", args.PublicIPs}} {
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
	c := p.config(p.instances[0], r, args.RouteTables, args.PublicIPs)
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
	probes      []string            // per NVA: IP:port
	nics        []map[string]string // per NVA: role -> NIC ID
	routeTables []string            // IDs, in the order of MonitorArgs.RouteTables
	publicIPs   []string            // IDs, in the order of MonitorArgs.PublicIPs
	leaseURL    string
}

// config builds the config of one monitor instance.
func (p *monitorPlan) config(instance string, r monitorResolved, rts, pips []ManagedResource) *config.Config {
	s := p.settings
	c := &config.Config{
		Instance: instance,
		Monitors: slices.Clone(p.instances),
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
	for i, rt := range rts {
		c.RouteTables = append(c.RouteTables, config.RouteTable{ID: r.routeTables[i], Via: rt.Via})
	}
	for i, pip := range pips {
		c.PublicIPs = append(c.PublicIPs, config.PublicIP{ID: r.publicIPs[i], Via: pip.Via})
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
// reproducible build of this module's source) and registers the monitor VMs,
// their NICs, the custom role and its assignments, the storage account,
// container and binary blob. Wired to an NvaPair and RouteTables:
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
//		NVAs:              nvas,
//		RouteTables:       []components.ManagedResource{{ID: rts.IDs.MapIndex(pulumi.String("web-udr")), Via: components.RoleInternal}},
//		PublicIPs:         []components.ManagedResource{{ID: pair.PublicIPID, Via: components.RoleExternal}},
//		SubnetIDs:         []pulumi.StringInput{net.DmzExternalSubnetID, net.DmzInternalSubnetID},
//		NetworkSecurityGroupIDs: nsgs,
//	})
//	// mon.Config is monitor 1's YAML, mon.LeaseBlobURL the leader blob.
//
// A new binary or config changes the VMs' custom data, which Azure cannot
// update: the monitor VMs are replaced (each deleted first, its name being
// fixed), so no failover is possible while they boot again.
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

	// Storage: the lease and the binary, in one private container.
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
	// identities, nothing in custom data is a key or SAS, and whoever may
	// list the keys (Contributor on the account) may also turn shared keys
	// on. A swapped binary is refused by its SHA-256 pinned in custom data.
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
	m.StorageAccount = account
	container, err := storage.NewBlobContainer(ctx, name+"-container", &storage.BlobContainerArgs{
		ResourceGroupName: args.ResourceGroupName,
		AccountName:       account.Name,
		ContainerName:     pulumi.String(monitorContainer),
		PublicAccess:      storage.PublicAccessNone,
	}, parent)
	if err != nil {
		return nil, err
	}
	m.Container = container
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
	m.LeaseBlobURL = pulumi.Sprintf("%s%s/%s", endpoint, monitorContainer, monitorLeaseBlob)
	binaryURL := pulumi.Sprintf("%s%s/%s", endpoint, monitorContainer, blobName)

	// The configs: every input they need, resolved together (as strings: an
	// ID may come as an IDOutput).
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
	inputs = append(inputs, m.LeaseBlobURL)
	configs := pulumi.All(inputs...).ApplyT(func(v []any) ([]string, error) {
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
		r.leaseURL = next()
		var out []string
		for _, inst := range p.instances {
			y, err := monitorYAML(p.config(inst, r, args.RouteTables, args.PublicIPs))
			if err != nil {
				return nil, err
			}
			out = append(out, y)
		}
		return out, nil
	}).(pulumi.StringArrayOutput)
	m.Config = configs.Index(pulumi.Int(0))

	// The VMs.
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
	var privateIPs pulumi.StringArray
	for i, inst := range p.instances {
		nic, err := network.NewNetworkInterface(ctx, fmt.Sprintf("%s-nic-%d", name, i+1), &network.NetworkInterfaceArgs{
			ResourceGroupName:    args.ResourceGroupName,
			Location:             monitorPtr(args.Location),
			NetworkInterfaceName: pulumi.String(inst + "-nic"),
			IpConfigurations: network.NetworkInterfaceIPConfigurationArray{&network.NetworkInterfaceIPConfigurationArgs{
				Name:                      pulumi.String("ipconfig1"),
				Subnet:                    &network.SubnetTypeArgs{Id: monitorPtr(args.SubnetID)},
				PrivateIPAllocationMethod: pulumi.String("Dynamic"),
			}},
			Tags: managedByTags(),
		}, parent)
		if err != nil {
			return nil, err
		}
		privateIPs = append(privateIPs, nic.IpConfigurations.Index(pulumi.Int(0)).PrivateIPAddress().Elem())

		customData := pulumi.All(configs.Index(pulumi.Int(i)), binaryURL).ApplyT(func(v []any) (string, error) {
			return monitorBootstrap{BlobURL: v[1].(string), SHA256: sum, Config: []byte(v[0].(string))}.customData()
		}).(pulumi.StringOutput)
		vmArgs := &compute.VirtualMachineArgs{
			ResourceGroupName: args.ResourceGroupName,
			Location:          monitorPtr(args.Location),
			VmName:            pulumi.String(inst),
			HardwareProfile:   &compute.HardwareProfileArgs{VmSize: pulumi.String(p.vmSize)},
			Identity:          &compute.VirtualMachineIdentityArgs{Type: compute.ResourceIdentityTypeSystemAssigned},
			StorageProfile: &compute.StorageProfileArgs{
				ImageReference: &compute.ImageReferenceArgs{
					Publisher: pulumi.String("Canonical"),
					Offer:     pulumi.String("0001-com-ubuntu-server-jammy"),
					Sku:       pulumi.String("22_04-lts-gen2"),
					Version:   pulumi.String("latest"),
				},
				OsDisk: &compute.OSDiskArgs{
					CreateOption: pulumi.String("FromImage"),
					DeleteOption: pulumi.String("Delete"),
					Caching:      compute.CachingTypesReadWrite,
					ManagedDisk:  &compute.ManagedDiskParametersArgs{StorageAccountType: pulumi.String("StandardSSD_LRS")},
				},
			},
			OsProfile: &compute.OSProfileArgs{
				ComputerName:  pulumi.String(inst),
				AdminUsername: pulumi.String(p.admin),
				CustomData:    customData,
				LinuxConfiguration: &compute.LinuxConfigurationArgs{
					DisablePasswordAuthentication: pulumi.Bool(true),
					ProvisionVMAgent:              pulumi.Bool(true),
					Ssh: &compute.SshConfigurationArgs{PublicKeys: compute.SshPublicKeyTypeArray{&compute.SshPublicKeyTypeArgs{
						Path:    pulumi.String("/home/" + p.admin + "/.ssh/authorized_keys"),
						KeyData: monitorPtr(args.SSHPublicKey),
					}}},
				},
			},
			NetworkProfile: &compute.NetworkProfileArgs{NetworkInterfaces: compute.NetworkInterfaceReferenceArray{
				&compute.NetworkInterfaceReferenceArgs{Id: nic.ID(), Primary: pulumi.Bool(true)},
			}},
			// Managed boot diagnostics: the serial log shows cloud-init.
			DiagnosticsProfile: &compute.DiagnosticsProfileArgs{BootDiagnostics: &compute.BootDiagnosticsArgs{Enabled: pulumi.Bool(true)}},
			Tags:               managedByTags(),
		}
		if len(p.zones) > 0 {
			vmArgs.Zones = pulumi.StringArray{pulumi.String(p.zones[i%len(p.zones)])}
		} else {
			vmArgs.AvailabilitySet = &compute.SubResourceArgs{Id: avset.ID()}
		}
		// Azure cannot change customData after creation
		// (docs/azure-behaviour.md#vm-custom-data):
		// a new binary or config replaces the VM, deleting the old one first
		// since the name is fixed.
		vm, err := compute.NewVirtualMachine(ctx, fmt.Sprintf("%s-vm-%d", name, i+1), vmArgs, parent,
			pulumi.DependsOn([]pulumi.Resource{binary}),
			pulumi.ReplaceOnChanges([]string{"osProfile.customData"}),
			pulumi.DeleteBeforeReplace(true))
		if err != nil {
			return nil, err
		}
		m.VMs = append(m.VMs, vm)
	}
	m.PrivateIPs = privateIPs.ToStringArrayOutput()

	// The custom role, assignable only on the managed resources themselves.
	type scoped struct {
		key string
		id  pulumi.StringInput
	}
	var managed []scoped
	for i, rt := range args.RouteTables {
		managed = append(managed, scoped{fmt.Sprintf("rt-%d", i), rt.ID})
	}
	for i, nva := range p.nvas {
		for _, role := range p.roles[i] {
			managed = append(managed, scoped{fmt.Sprintf("nic-%s-%s", nva.Name, role), nva.NICs[role]})
		}
	}
	for i, pip := range args.PublicIPs {
		managed = append(managed, scoped{fmt.Sprintf("pip-%d", i), pip.ID})
	}
	for i, id := range args.SubnetIDs {
		managed = append(managed, scoped{fmt.Sprintf("subnet-%d", i), id})
	}
	for i, id := range args.NetworkSecurityGroupIDs {
		managed = append(managed, scoped{fmt.Sprintf("nsg-%d", i), id})
	}
	var scopes pulumi.StringArray
	for _, s := range managed {
		scopes = append(scopes, s.id)
	}
	// The definition itself lives at the resource group of the first managed
	// resource (ARM takes a subscription, resource group or resource scope
	// for the PUT); its assignableScopes are the individual resources.
	// Microsoft's docs allow resource IDs there (while recommending broader
	// scopes to save the tenant's 5000 custom roles:
	// learn.microsoft.com/azure/role-based-access-control/role-definitions#assignablescopes);
	// here they make the role unusable anywhere else.
	first := managed[0].id.ToStringOutput()
	roleScope := first.ApplyT(func(id string) (string, error) {
		rg := monitorResourceGroup(id)
		if rg == "" {
			return "", fmt.Errorf("components: monitor %s: %q is not a resource ID under a resource group", name, id)
		}
		return rg, nil
	}).(pulumi.StringOutput)
	roleID := roleScope.ApplyT(func(scope string) string {
		return monitorRoleGUID("hanva-monitor-role", ctx.Project(), ctx.Stack(), name, strings.ToLower(scope))
	}).(pulumi.StringOutput)
	role, err := authorization.NewRoleDefinition(ctx, name+"-role", &authorization.RoleDefinitionArgs{
		Scope:            roleScope,
		RoleDefinitionId: roleID,
		RoleName: roleID.ApplyT(func(id string) string {
			return monitorTruncate(fmt.Sprintf("hanva nva-monitor %s (%s/%s/%s)", id[:8], ctx.Project(), ctx.Stack(), name), 128)
		}).(pulumi.StringOutput),
		Description: pulumi.String("hanva nva-monitor: repoint the managed route tables, move the public IP between " +
			"the NVA NICs (joining the PIP, the NICs' subnets and NSGs), read its own permissions. Assigned on each resource only."),
		RoleType: pulumi.String("CustomRole"),
		Permissions: authorization.PermissionArray{&authorization.PermissionArgs{
			Actions:    pulumi.ToStringArray(MonitorActions()),
			NotActions: pulumi.StringArray{},
		}},
		AssignableScopes: scopes,
	}, parent)
	if err != nil {
		return nil, err
	}
	m.RoleDefinition = role

	// One assignment per (monitor identity, resource), scoped to the resource,
	// and Storage Blob Data Contributor on the container alone.
	for i, vm := range m.VMs {
		principal := vm.Identity.PrincipalId().Elem()
		for _, s := range managed {
			_, err := authorization.NewRoleAssignment(ctx, fmt.Sprintf("%s-ra-%d-%s", name, i+1, s.key), &authorization.RoleAssignmentArgs{
				Scope:            s.id,
				PrincipalId:      principal,
				PrincipalType:    pulumi.String("ServicePrincipal"),
				RoleDefinitionId: monitorRoleDefinitionPath(s.id, role.Name),
			}, parent)
			if err != nil {
				return nil, err
			}
		}
		_, err := authorization.NewRoleAssignment(ctx, fmt.Sprintf("%s-ra-%d-blob", name, i+1), &authorization.RoleAssignmentArgs{
			Scope:            container.ID(),
			PrincipalId:      principal,
			PrincipalType:    pulumi.String("ServicePrincipal"),
			RoleDefinitionId: monitorRoleDefinitionPath(container.ID(), pulumi.String(storageBlobDataContributor)),
		}, parent)
		if err != nil {
			return nil, err
		}
	}

	if err := ctx.RegisterResourceOutputs(m, pulumi.Map{
		"privateIps":       m.PrivateIPs,
		"storageAccountId": account.ID(),
		"containerId":      container.ID(),
		"leaseBlobUrl":     m.LeaseBlobURL,
		"config":           m.Config,
		"roleDefinitionId": role.ID(),
		"binarySha256":     pulumi.String(sum),
	}); err != nil {
		return nil, err
	}
	return m, nil
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
