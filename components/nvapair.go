package components

import (
	"fmt"
	"net/netip"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/pulumi/pulumi-azure-native-sdk/compute/v2"
	"github.com/pulumi/pulumi-azure-native-sdk/network/v2"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// NvaPairType is the NvaPair component's type token. Never change it.
const NvaPairType = "hanva:index:NvaPair"

// NvaPair defaults.
const (
	DefaultNvaCount     = 2
	DefaultNvaVMSize    = "Standard_B2s"
	DefaultNvaAdminUser = "hanva"
	DefaultNvaFirstHost = firstUsableHost
	DefaultNvaProbePort = 8080
)

// pipRole is the NIC role the public IP is attached to.
const pipRole = RoleExternal

// pipNICIgnoreChanges is exactly what the monitor owns on a NIC of the
// public IP's role: the PIP association of its ipconfigs (it moves the PIP
// on failover) and its epoch tag. Property-path syntax: see epochTagIgnore.
func pipNICIgnoreChanges() []string {
	return []string{"ipConfigurations[*].publicIPAddress", epochTagIgnore}
}

// nicIgnoreChanges is what the monitor owns on the other NVA NICs: the epoch
// tag only.
func nicIgnoreChanges() []string { return []string{epochTagIgnore} }

// NvaPairArgs configures an NvaPair. Graph-shaping values are plain and
// validated before anything is registered.
type NvaPairArgs struct {
	// ResourceGroupName: required.
	ResourceGroupName pulumi.StringInput `pulumi:"resourceGroupName"`
	// Location: optional; the resource group's location when nil.
	Location pulumi.StringInput `pulumi:"location"`
	// Count of NVAs: optional, default 2, at least 2.
	Count int `pulumi:"count"`
	// Zones, e.g. {"1","2","3"}: optional. Set: NVA i goes to Zones[i % len]
	// and the public IP is zone-redundant over Zones. Empty: the NVAs share
	// an availability set (2 fault domains, 2 update domains).
	Zones []string `pulumi:"zones"`
	// VMSize: optional, default "Standard_B2s".
	VMSize string `pulumi:"vmSize"`
	// AdminUsername: optional, default "hanva". SSH key login only.
	AdminUsername string `pulumi:"adminUsername"`
	// SSHPublicKey: required, the admin user's authorized key (OpenSSH format).
	SSHPublicKey pulumi.StringInput `pulumi:"sshPublicKey"`
	// ExternalSubnetID: required, the subnet of the external NICs (DMZ-external).
	ExternalSubnetID pulumi.StringInput `pulumi:"externalSubnetId"`
	// InternalSubnetID: required, the subnet of the internal NICs (DMZ-internal).
	InternalSubnetID pulumi.StringInput `pulumi:"internalSubnetId"`
	// ExternalPrefix: required, ExternalSubnetID's prefix, to place and check the static IPs.
	ExternalPrefix string `pulumi:"externalPrefix"`
	// InternalPrefix: required, InternalSubnetID's prefix.
	InternalPrefix string `pulumi:"internalPrefix"`
	// FirstHost: optional, default 4 (the first address Azure does not
	// reserve): the host number of the first NVA's IPs in each subnet; NVA i
	// gets FirstHost+i.
	FirstHost int `pulumi:"firstHost"`
	// ProbePort: optional, default 8080: the sample NVA answers HTTP 200 there.
	ProbePort int `pulumi:"probePort"`
	// ForwardTo: optional, the IP to which the sample NVA forwards HTTP
	// (TCP 80) arriving on the public IP (the web tier's internal load
	// balancer, which balances 80 only); "" = no forwarding rules.
	ForwardTo string `pulumi:"forwardTo"`
	// CustomData: optional, your own NVA cloud-init (plain text; the
	// component base64-encodes it); nil = the sample NVA's. Azure cannot
	// change a VM's custom data, so a change replaces the NVA VMs, one at a
	// time (see Readiness).
	CustomData pulumi.StringInput `pulumi:"customData"`
	// Readiness: optional, how `pulumi up` knows that an NVA VM it created
	// or replaced is ready before it goes on to the next NVA:
	// NvaReadinessProbe, a readiness gate (a managed run command, see
	// ReadinessGateArgs) that waits until the appliance answers its probe
	// (ProbeKind on ProbePort, ProbePath) on the VM itself, for at most 15
	// minutes, and fails `pulumi up` otherwise; or NvaReadinessNone, no
	// gate: the next NVA waits only for the VM's creation. Default: probe
	// for the sample NVA, none with CustomData (your cloud-init may not
	// answer a local probe, or may stop the Azure Linux agent that runs the
	// gate); set probe when it does both.
	Readiness string `pulumi:"readiness"`
	// ProbeKind: optional, NvaProbeHTTP (default) or NvaProbeTCP: what the
	// readiness gate checks on ProbePort, as the monitors probe it.
	ProbeKind string `pulumi:"probeKind"`
	// ProbePath: optional, default "/": the path of an HTTP probe.
	ProbePath string `pulumi:"probePath"`
	// FloatingIP: optional, a static private IP in InternalPrefix that
	// follows the active NVA as a secondary ipconfig (named
	// FloatingIPConfigName) of its internal NIC; initially on NVAs[0]. The
	// monitor owns the internal NICs' ipconfigs from then on
	// (floatingNICIgnoreChanges), and the sample NVA answers for the
	// address. "" = none.
	FloatingIP string `pulumi:"floatingIp"`
}

// NvaPairArgs.Readiness values.
const (
	NvaReadinessProbe = "probe"
	NvaReadinessNone  = "none"
)

// NvaPairArgs.ProbeKind values.
const (
	NvaProbeHTTP = ReadinessHTTP
	NvaProbeTCP  = ReadinessTCP
)

// nvaReadinessTimeout bounds an NVA's readiness gate: the VM boots, runs
// cloud-init (the sample installs nothing) and answers its probe well
// within it.
const nvaReadinessTimeout = 15 * time.Minute

// Nva is one network virtual appliance.
type Nva struct {
	Name string // "<pair name>-<n>", n from 1; also the VM's host name
	VM   *compute.VirtualMachine
	// Ready is the VM's readiness gate; nil with NvaReadinessNone.
	Ready  *compute.VirtualMachineRunCommandByVirtualMachine
	NICs   map[string]*network.NetworkInterface // by role
	NICIDs map[string]pulumi.StringOutput       // by role
	IPs    map[string]string                    // role -> static private IP
}

// NvaPair is two or more NVAs, each with an external and an internal NIC, and
// the public IP, initially on NVAs[0]'s external NIC.
type NvaPair struct {
	pulumi.ResourceState

	NVAs            []*Nva // order = preference; NVAs[0] is initially active
	PublicIP        *network.PublicIPAddress
	PublicIPID      pulumi.StringOutput
	PublicIPAddress pulumi.StringOutput
	ProbePort       int
	// ReplaceOrder names the NVAs in the order `pulumi up` registers (and
	// so creates or replaces) their VMs: the active NVA last (see
	// NewNvaPair).
	ReplaceOrder pulumi.StringArrayOutput
}

// NewNvaPair validates args and registers the NVAs, their NICs with an NSG
// each, the availability set (without zones), the public IP and the NVAs'
// readiness gates.
//
// An NVA VM is replaced when its custom data changes (Azure cannot change
// it: ReplaceOnCustomDataChange), and never two at once: each VM depends on
// the readiness gate (or, without gates, the VM) of the NVA before it in
// ReplaceOrder, so Pulumi registers, and so replaces, one NVA only after the
// one before it is back and ready. ReplaceOrder is the reverse of NVAs
// (NVAs[0], active after the first deploy, last), except that the NVA
// holding the public IP when `pulumi up` starts (read from Azure) goes last:
// the standby NVAs are replaced first, the active one once a standby is
// ready to take over, so the monitors fail over once, to a new NVA, when
// the active one is deleted. When no NVA holds it (the first deploy, a
// detached public IP) or it cannot be read, the order stays the reverse of
// NVAs.
func NewNvaPair(ctx *pulumi.Context, name string, args *NvaPairArgs, opts ...pulumi.ResourceOption) (*NvaPair, error) {
	if args == nil {
		args = &NvaPairArgs{}
	}
	p, err := args.plan(name)
	if err != nil {
		return nil, err
	}

	c := &NvaPair{ProbePort: p.probePort}
	if err := ctx.RegisterComponentResource(NvaPairType, name, c, opts...); err != nil {
		return nil, fmt.Errorf("register NVA pair %q: %w", name, err)
	}
	parent := pulumi.Parent(c)
	location := optionalString(args.Location)

	pipArgs := &network.PublicIPAddressArgs{
		ResourceGroupName:        args.ResourceGroupName,
		Location:                 location,
		Sku:                      &network.PublicIPAddressSkuArgs{Name: pulumi.String("Standard"), Tier: pulumi.String("Regional")},
		PublicIPAllocationMethod: pulumi.String("Static"),
		PublicIPAddressVersion:   pulumi.String("IPv4"),
		Tags:                     managedByTags(),
	}
	if len(p.zones) > 0 {
		pipArgs.Zones = pulumi.ToStringArray(p.zones)
	}
	pip, err := network.NewPublicIPAddress(ctx, name+"-pip", pipArgs, parent)
	if err != nil {
		return nil, fmt.Errorf("create public IP %q: %w", name+"-pip", err)
	}
	c.PublicIP = pip
	c.PublicIPID = pip.ID().ToStringOutput()
	c.PublicIPAddress = pip.IpAddress.Elem()

	var avset *compute.AvailabilitySet
	if len(p.zones) == 0 {
		avset, err = compute.NewAvailabilitySet(ctx, name+"-avset", &compute.AvailabilitySetArgs{
			ResourceGroupName:         args.ResourceGroupName,
			Location:                  location,
			PlatformFaultDomainCount:  pulumi.Int(2),
			PlatformUpdateDomainCount: pulumi.Int(2),
			Sku:                       &compute.SkuArgs{Name: pulumi.String("Aligned")}, // managed disks
			Tags:                      managedByTags(),
		}, parent)
		if err != nil {
			return nil, fmt.Errorf("create availability set %q: %w", name+"-avset", err)
		}
	}

	subnets := map[string]pulumi.StringInput{RoleExternal: args.ExternalSubnetID, RoleInternal: args.InternalSubnetID}
	for i, nv := range p.nvas {
		n := &Nva{Name: nv.name, NICs: map[string]*network.NetworkInterface{},
			NICIDs: map[string]pulumi.StringOutput{}, IPs: nv.ips}
		for _, role := range []string{RoleExternal, RoleInternal} {
			ipc := &network.NetworkInterfaceIPConfigurationArgs{
				Name:                      pulumi.String("ipconfig1"),
				Primary:                   pulumi.Bool(true),
				PrivateIPAllocationMethod: pulumi.String("Static"),
				PrivateIPAddress:          pulumi.String(nv.ips[role]),
				PrivateIPAddressVersion:   pulumi.String("IPv4"),
				Subnet:                    &network.SubnetTypeArgs{Id: subnets[role].ToStringOutput()},
			}
			ipcs := network.NetworkInterfaceIPConfigurationArray{ipc}
			ignore := nicIgnoreChanges()
			if role == RoleInternal && p.floatingIP != "" {
				ignore = floatingNICIgnoreChanges()
				if i == 0 {
					// Same subnet as the primary: Azure's ipconfigs of one
					// NIC share its subnet's virtual network, and the
					// floating address is planned in this subnet.
					ipcs = append(ipcs, &network.NetworkInterfaceIPConfigurationArgs{
						Name:                      pulumi.String(FloatingIPConfigName(p.floatingIP)),
						Primary:                   pulumi.Bool(false),
						PrivateIPAllocationMethod: pulumi.String("Static"),
						PrivateIPAddress:          pulumi.String(p.floatingIP),
						PrivateIPAddressVersion:   pulumi.String("IPv4"),
						Subnet:                    &network.SubnetTypeArgs{Id: subnets[role].ToStringOutput()},
					})
				}
			}
			if role == pipRole {
				ignore = pipNICIgnoreChanges()
				if i == 0 {
					ipc.PublicIPAddress = &network.PublicIPAddressTypeArgs{Id: c.PublicIPID}
				}
			}
			nsg, err := nvaSecurityGroup(ctx, nv.name+"-"+role+"-nsg", role, args, p.probePort, parent)
			if err != nil {
				return nil, err
			}
			nicName := nv.name + "-" + role + "-nic"
			nic, err := network.NewNetworkInterface(ctx, nicName, &network.NetworkInterfaceArgs{
				ResourceGroupName:    args.ResourceGroupName,
				Location:             location,
				EnableIPForwarding:   pulumi.Bool(true),
				IpConfigurations:     ipcs,
				NetworkSecurityGroup: &network.NetworkSecurityGroupTypeArgs{Id: nsg.ID().ToStringOutput()},
				Tags:                 managedByTags(),
			}, parent, pulumi.IgnoreChanges(ignore))
			if err != nil {
				return nil, fmt.Errorf("create network interface %q: %w", nicName, err)
			}
			n.NICs[role] = nic
			n.NICIDs[role] = nic.ID().ToStringOutput()
		}
		c.NVAs = append(c.NVAs, n)
	}

	// The VMs, one after the other in c.ReplaceOrder: VM i DependsOn its
	// predecessor's gate there (after[], complete once this loop has
	// registered every NVA: ready). The Pulumi Go SDK registers a resource
	// only when each of its DependsOn resources has been registered, that is
	// created, updated or replaced by the engine (see NewReadinessGate), so
	// the engine replaces one NVA after the other. Because the order is an
	// output (DependsOnInputs), the VMs also record the public IP and the
	// external NICs it was computed from as dependencies, which are
	// registered before them anyway. While the order is unknown (the preview
	// of the first deploy) the preview shows no dependency between the VMs.
	order := nvaReplaceOrder(ctx, c, args)
	c.ReplaceOrder = order.ApplyT(func(ord []int) []string {
		names := make([]string, len(ord))
		for k, i := range ord {
			names[k] = c.NVAs[i].Name
		}
		return names
	}).(pulumi.StringArrayOutput)
	ready, resolveReady, rejectReady := ctx.NewOutput()
	registered := false
	defer func() {
		if !registered {
			rejectReady(fmt.Errorf("components: NvaPair %q: not all NVAs were registered", name))
		}
	}()
	after := make([]pulumi.Resource, len(p.nvas))
	for i, nv := range p.nvas {
		n := c.NVAs[i]
		customData, err := nvaCustomDataFor(args, p, nv)
		if err != nil {
			return nil, err
		}
		vmSpec := LinuxVMArgs{
			ResourceGroupName: args.ResourceGroupName,
			Location:          args.Location,
			ComputerName:      nv.name,
			Size:              p.vmSize,
			AdminUsername:     p.adminUser,
			SSHPublicKey:      args.SSHPublicKey,
			CustomData:        customData,
			NICIDs:            []pulumi.StringInput{n.NICIDs[RoleExternal], n.NICIDs[RoleInternal]},
			Tags:              managedByTags(),
		}
		if avset != nil {
			vmSpec.AvailabilitySetID = avset.ID().ToStringOutput()
		} else {
			vmSpec.Zone = p.zones[i%len(p.zones)]
		}
		vmArgs, err := vmSpec.VirtualMachineArgs()
		if err != nil {
			return nil, fmt.Errorf("create virtual machine %q: %w", nv.name+"-vm", err)
		}
		previous := pulumi.All(order, ready).ApplyT(func(v []any) []pulumi.Resource {
			ord := v[0].([]int)
			if k := slices.Index(ord, i); k > 0 {
				return []pulumi.Resource{after[ord[k-1]]}
			}
			return nil
		}).(pulumi.ResourceArrayOutput)
		vm, err := compute.NewVirtualMachine(ctx, nv.name+"-vm", vmArgs, parent,
			ReplaceOnCustomDataChange(), pulumi.DependsOnInputs(previous))
		if err != nil {
			return nil, fmt.Errorf("create virtual machine %q: %w", nv.name+"-vm", err)
		}
		n.VM = vm
		after[i] = vm
		if p.readiness == NvaReadinessProbe {
			n.Ready, err = NewReadinessGate(ctx, nv.name+"-ready", ReadinessGateArgs{
				ResourceGroupName: args.ResourceGroupName,
				Location:          args.Location,
				VM:                vm,
				Name:              nv.name,
				Check:             p.probeKind,
				Port:              p.probePort,
				Path:              p.probePath,
				Revision:          customData,
				Timeout:           nvaReadinessTimeout,
			}, parent)
			if err != nil {
				return nil, err
			}
			after[i] = n.Ready
		}
	}
	registered = true
	resolveReady(true)

	nvaOut := pulumi.Array{}
	for _, n := range c.NVAs {
		nicIDs := pulumi.StringMap{}
		for role, id := range n.NICIDs {
			nicIDs[role] = id
		}
		nvaOut = append(nvaOut, pulumi.Map{
			"name":   pulumi.String(n.Name),
			"vmId":   n.VM.ID().ToStringOutput(),
			"nicIds": nicIDs,
			"ips":    pulumi.ToStringMap(n.IPs),
		})
	}
	if err := ctx.RegisterResourceOutputs(c, pulumi.Map{
		"nvas":            nvaOut,
		"publicIpId":      c.PublicIPID,
		"publicIpAddress": c.PublicIPAddress,
		"probePort":       pulumi.Int(c.ProbePort),
		"replaceOrder":    c.ReplaceOrder,
	}); err != nil {
		return nil, fmt.Errorf("register NVA pair %q outputs: %w", name, err)
	}
	return c, nil
}

// nvaReplaceOrder is the order in which NewNvaPair registers the NVAs' VMs,
// as indexes into c.NVAs: from the last to the first, then the NVA holding
// the public IP moved to the end. Which NVA holds it is read from Azure
// (the public IP's ipConfiguration, an ipconfig of an external NIC) when
// the program runs, before anything is replaced; the monitors move the
// public IP on failover, and Pulumi leaves it (pipNICIgnoreChanges). A
// public IP that cannot be read or is on no NVA leaves the reverse order,
// with a warning if the read failed. On the first deploy the public IP is
// read once created; before that (the first preview) the order is unknown
// and Pulumi shows no dependencies between the VMs.
func nvaReplaceOrder(ctx *pulumi.Context, c *NvaPair, args *NvaPairArgs) pulumi.IntArrayOutput {
	in := []any{args.ResourceGroupName, c.PublicIP.Name}
	for _, n := range c.NVAs {
		in = append(in, n.NICIDs[pipRole])
	}
	return pulumi.All(in...).ApplyT(func(v []any) []int {
		rg, pip := v[0].(string), v[1].(string)
		active := -1
		res, err := network.LookupPublicIPAddress(ctx, &network.LookupPublicIPAddressArgs{ResourceGroupName: rg, PublicIpAddressName: pip})
		switch {
		case err != nil:
			_ = ctx.Log.Warn(fmt.Sprintf("read public IP %q to find the active NVA: %v; NVA VMs whose custom data changed are replaced from the last NVA to the first", pip, err),
				&pulumi.LogArgs{Resource: c})
		case res.IpConfiguration.Id != nil:
			ipc := strings.ToLower(*res.IpConfiguration.Id)
			for i := range c.NVAs {
				if strings.HasPrefix(ipc, strings.ToLower(v[2+i].(string))+"/") {
					active = i
				}
			}
		}
		return replaceOrder(len(c.NVAs), active)
	}).(pulumi.IntArrayOutput)
}

// replaceOrder is count-1 down to 0, with active (if not -1) moved last.
func replaceOrder(count, active int) []int {
	var ord []int
	for i := count - 1; i >= 0; i-- {
		if i != active {
			ord = append(ord, i)
		}
	}
	if active >= 0 && active < count {
		ord = append(ord, active)
	}
	return ord
}

// nvaSecurityGroup creates the NSG of one NVA NIC. External: HTTP (80)
// from the Internet for the sample NVA, which forwards nothing else (the
// sample web tier speaks HTTP only); 80 and 443 with the user's CustomData,
// whose appliance may serve HTTPS; and the probe port from the VNet.
// Internal: everything from the VNet, to any destination (an NVA forwards
// traffic that is not addressed to it). Nothing else is denied explicitly:
// Azure's default rules deny the rest inbound.
func nvaSecurityGroup(ctx *pulumi.Context, nsgName, role string, args *NvaPairArgs, probePort int, opts ...pulumi.ResourceOption) (*network.NetworkSecurityGroup, error) {
	var rules network.SecurityRuleTypeArray
	switch role {
	case RoleExternal:
		web := &network.SecurityRuleTypeArgs{
			Name:                     pulumi.String("allow-http-from-internet"),
			Priority:                 pulumi.Int(100),
			Direction:                pulumi.String("Inbound"),
			Access:                   pulumi.String("Allow"),
			Protocol:                 pulumi.String("Tcp"),
			SourceAddressPrefix:      pulumi.String("Internet"),
			SourcePortRange:          pulumi.String("*"),
			DestinationAddressPrefix: pulumi.String("*"),
			DestinationPortRange:     pulumi.String("80"),
		}
		if args.CustomData != nil {
			web.Name = pulumi.String("allow-http-https-from-internet")
			web.DestinationPortRange = nil
			web.DestinationPortRanges = pulumi.ToStringArray([]string{"80", "443"})
		}
		rules = network.SecurityRuleTypeArray{
			web,
			&network.SecurityRuleTypeArgs{
				Name:                     pulumi.String("allow-probe-from-vnet"),
				Priority:                 pulumi.Int(110),
				Direction:                pulumi.String("Inbound"),
				Access:                   pulumi.String("Allow"),
				Protocol:                 pulumi.String("Tcp"),
				SourceAddressPrefix:      pulumi.String("VirtualNetwork"),
				SourcePortRange:          pulumi.String("*"),
				DestinationAddressPrefix: pulumi.String("*"),
				DestinationPortRange:     pulumi.String(fmt.Sprint(probePort)),
			},
		}
	default:
		rules = network.SecurityRuleTypeArray{
			&network.SecurityRuleTypeArgs{
				Name:                     pulumi.String("allow-from-vnet"),
				Priority:                 pulumi.Int(100),
				Direction:                pulumi.String("Inbound"),
				Access:                   pulumi.String("Allow"),
				Protocol:                 pulumi.String("*"),
				SourceAddressPrefix:      pulumi.String("VirtualNetwork"),
				SourcePortRange:          pulumi.String("*"),
				DestinationAddressPrefix: pulumi.String("*"),
				DestinationPortRange:     pulumi.String("*"),
			},
		}
	}
	nsg, err := network.NewNetworkSecurityGroup(ctx, nsgName, &network.NetworkSecurityGroupArgs{
		ResourceGroupName: args.ResourceGroupName,
		Location:          optionalString(args.Location),
		SecurityRules:     rules,
		Tags:              managedByTags(),
	}, opts...)
	if err != nil {
		return nil, fmt.Errorf("create network security group %q: %w", nsgName, err)
	}
	return nsg, nil
}

// nvaCustomDataFor is the base64 custom data of one NVA: the user's, or the
// sample's with this NVA's addresses.
func nvaCustomDataFor(args *NvaPairArgs, p *nvaPlan, nv nvaPlanned) (pulumi.StringInput, error) {
	if args.CustomData != nil {
		return args.CustomData.ToStringOutput().ApplyT(func(s string) (string, error) {
			return encodeNvaCustomData("CustomData", s)
		}).(pulumi.StringOutput), nil
	}
	doc, err := nvaSample{
		Name:            nv.name,
		ExternalIP:      nv.ips[RoleExternal],
		InternalIP:      nv.ips[RoleInternal],
		InternalGateway: p.internalGateway,
		ForwardTo:       p.forwardTo,
		ProbePort:       p.probePort,
		FloatingIP:      p.floatingIP,
	}.render()
	if err != nil {
		return nil, err
	}
	enc, err := encodeNvaCustomData("CustomData (the sample's)", doc)
	if err != nil {
		return nil, err
	}
	return pulumi.String(enc), nil
}

// nvaPlan is NvaPairArgs after defaults and validation.
type nvaPlan struct {
	nvas            []nvaPlanned
	zones           []string
	vmSize          string
	adminUser       string
	probePort       int
	probeKind       string
	probePath       string
	readiness       string
	forwardTo       string
	internalGateway string
	floatingIP      string
}

type nvaPlanned struct {
	name string
	ips  map[string]string // role -> static private IP
}

var (
	// The monitor's rule for NVA names (monitor/config): host-name safe.
	nvaNameRE = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$`)
	// Azure availability zones are "1", "2", "3".
	zoneRE = regexp.MustCompile(`^[1-9]$`)
)

func (a *NvaPairArgs) plan(name string) (*nvaPlan, error) {
	const f = "components: NvaPairArgs"
	if a.ResourceGroupName == nil {
		return nil, fmt.Errorf("%s.ResourceGroupName: required", f)
	}
	if a.SSHPublicKey == nil {
		return nil, fmt.Errorf("%s.SSHPublicKey: required: the NVAs allow SSH key login only", f)
	}
	if a.ExternalSubnetID == nil {
		return nil, fmt.Errorf("%s.ExternalSubnetID: required", f)
	}
	if a.InternalSubnetID == nil {
		return nil, fmt.Errorf("%s.InternalSubnetID: required", f)
	}

	count := a.Count
	if count == 0 {
		count = DefaultNvaCount
	}
	if count < 2 {
		noun := "NVAs"
		if count == 1 {
			noun = "NVA"
		}
		return nil, fmt.Errorf("%s.Count: %d %s; HA needs at least 2", f, count, noun)
	}

	p := &nvaPlan{
		vmSize:    orDefault(a.VMSize, DefaultNvaVMSize),
		adminUser: orDefault(a.AdminUsername, DefaultNvaAdminUser),
		probePort: a.ProbePort,
		forwardTo: a.ForwardTo,
	}
	if p.probePort == 0 {
		p.probePort = DefaultNvaProbePort
	}
	if p.probePort < 1 || p.probePort > 65535 {
		return nil, fmt.Errorf("%s.ProbePort: %d is not a TCP port (1-65535)", f, p.probePort)
	}
	if a.CustomData == nil && (p.probePort == 22 || p.probePort == 80) {
		return nil, fmt.Errorf("%s.ProbePort: %d is taken on the sample NVA (22 SSH, 80 forwarded); choose another, e.g. %d", f, p.probePort, DefaultNvaProbePort)
	}
	p.probeKind = orDefault(a.ProbeKind, NvaProbeHTTP)
	if p.probeKind != NvaProbeHTTP && p.probeKind != NvaProbeTCP {
		return nil, fmt.Errorf("%s.ProbeKind: %q; want %q or %q", f, a.ProbeKind, NvaProbeHTTP, NvaProbeTCP)
	}
	p.probePath = orDefault(a.ProbePath, "/")
	if !readinessPathRE.MatchString(p.probePath) {
		return nil, fmt.Errorf("%s.ProbePath: %q; want a path such as \"/healthz\" (letters, digits and . _ ~ / %% ? = & + , : @ -)", f, a.ProbePath)
	}
	p.readiness = a.Readiness
	if p.readiness == "" {
		p.readiness = NvaReadinessProbe
		if a.CustomData != nil {
			p.readiness = NvaReadinessNone
		}
	}
	if p.readiness != NvaReadinessProbe && p.readiness != NvaReadinessNone {
		return nil, fmt.Errorf("%s.Readiness: %q; want %q (a readiness gate on each NVA) or %q", f, a.Readiness, NvaReadinessProbe, NvaReadinessNone)
	}
	if err := CheckAdminUsername(p.adminUser); err != nil {
		return nil, fmt.Errorf("%s.AdminUsername: %w", f, err)
	}
	if p.forwardTo != "" {
		if addr, err := netip.ParseAddr(p.forwardTo); err != nil || !addr.Is4() {
			return nil, fmt.Errorf("%s.ForwardTo: %q is not an IPv4 address", f, p.forwardTo)
		}
	}
	seenZone := map[string]bool{}
	for _, z := range a.Zones {
		if !zoneRE.MatchString(z) {
			return nil, fmt.Errorf("%s.Zones: %q is not an availability zone (\"1\", \"2\", \"3\")", f, z)
		}
		if seenZone[z] {
			return nil, fmt.Errorf("%s.Zones: zone %q listed twice", f, z)
		}
		seenZone[z] = true
	}
	p.zones = append([]string(nil), a.Zones...)

	if a.ExternalPrefix == "" {
		return nil, fmt.Errorf("%s.ExternalPrefix: required (the prefix of ExternalSubnetID)", f)
	}
	if a.InternalPrefix == "" {
		return nil, fmt.Errorf("%s.InternalPrefix: required (the prefix of InternalSubnetID)", f)
	}
	ext, err := parseSubnetPrefix(a.ExternalPrefix)
	if err != nil {
		return nil, fmt.Errorf("%s.ExternalPrefix: %w", f, err)
	}
	in, err := parseSubnetPrefix(a.InternalPrefix)
	if err != nil {
		return nil, fmt.Errorf("%s.InternalPrefix: %w", f, err)
	}
	if ext.Overlaps(in) {
		return nil, fmt.Errorf("%s.InternalPrefix: %s overlaps ExternalPrefix %s; the two NICs of an NVA need different subnets", f, in, ext)
	}
	p.internalGateway = nthAddr(in, 1).String()

	first, _ := NvaHosts(a.FirstHost, count)
	prefixes := map[string]string{RoleExternal: a.ExternalPrefix, RoleInternal: a.InternalPrefix}
	fields := map[string]string{RoleExternal: "ExternalPrefix", RoleInternal: "InternalPrefix"}
	for i := 0; i < count; i++ {
		nv := nvaPlanned{name: fmt.Sprintf("%s-%d", name, i+1), ips: map[string]string{}}
		if !nvaNameRE.MatchString(nv.name) {
			return nil, fmt.Errorf("components: NvaPair name %q: the NVA names %q... must be host names (letters, digits, '-', at most 63)", name, nv.name)
		}
		for _, role := range []string{RoleExternal, RoleInternal} {
			ip, err := HostIP(prefixes[role], first+i)
			if err != nil {
				return nil, fmt.Errorf("%s.FirstHost: NVA %d's %s IP (FirstHost %d + %d) in %s %s: %w",
					f, i+1, role, first, i, fields[role], prefixes[role], err)
			}
			if err := CheckStaticIP(prefixes[role], ip); err != nil { // belt and braces: HostIP already refuses these
				return nil, fmt.Errorf("%s.%s: %w", f, fields[role], err)
			}
			nv.ips[role] = ip
		}
		p.nvas = append(p.nvas, nv)
	}
	if a.FloatingIP != "" {
		if err := CheckStaticIP(a.InternalPrefix, a.FloatingIP); err != nil {
			return nil, fmt.Errorf("%s.FloatingIP: %w", f, err)
		}
		for _, nv := range p.nvas {
			if nv.ips[RoleInternal] == a.FloatingIP {
				return nil, fmt.Errorf("%s.FloatingIP: %s is NVA %s's own internal IP; the floating IP needs an address of its own", f, a.FloatingIP, nv.name)
			}
		}
		p.floatingIP = a.FloatingIP
	}
	return p, nil
}

// NvaHosts returns the host numbers (counted from the subnet's network
// address, as HostIP counts them) of the NVAs' static IPs in each of their
// subnets, first to last: NVA i (from 0) takes host firstHost+i. Zero
// values take NvaPairArgs' defaults (DefaultNvaFirstHost, DefaultNvaCount).
// Whatever else takes static addresses in the NVAs' subnets must stay
// outside first..last.
func NvaHosts(firstHost, count int) (first, last int) {
	if firstHost == 0 {
		firstHost = DefaultNvaFirstHost
	}
	if count == 0 {
		count = DefaultNvaCount
	}
	return firstHost, firstHost + count - 1
}

func orDefault(v, d string) string {
	if v == "" {
		return d
	}
	return v
}
