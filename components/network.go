package components

import (
	"fmt"
	"net/netip"
	"sort"
	"strings"

	"github.com/pulumi/pulumi-azure-native-sdk/network/v2"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// NetworkType is the Network component's type token. Never change it.
const NetworkType = "hanva:index:Network"

// Subnet names of the Network component: the keys of
// NetworkArgs.SubnetRouteTables and of Network.Prefixes.
const (
	SubnetDmzExternal = "dmz-external" // the NVAs' external NICs (the public IP side)
	SubnetDmzInternal = "dmz-internal" // the NVAs' internal NICs and the monitors
	SubnetWeb         = "web"          // the protected workload
	SubnetMgmt        = "mgmt"         // management (jumpbox)
)

// The seed's address plan (mspnp/ha-nva).
const (
	DefaultAddressSpace      = "10.0.0.0/16"
	DefaultDmzExternalPrefix = "10.0.0.64/27"
	DefaultDmzInternalPrefix = "10.0.0.96/27"
	DefaultWebPrefix         = "10.0.1.0/24"
	DefaultMgmtPrefix        = "10.0.0.128/25"
)

// subnetOrder is the order of the inline subnets in the VNet.
var subnetOrder = []string{SubnetDmzExternal, SubnetDmzInternal, SubnetWeb, SubnetMgmt}

// managedByTags are the tags every hanva-created network resource carries.
// Resources whose tags the monitor stamps (route tables, NICs) must always
// send a tags map, or ignoring `tags["hanva-epoch"]` has no map to land in.
func managedByTags() pulumi.StringMap {
	return pulumi.StringMap{"managed-by": pulumi.String("hanva")}
}

// NetworkArgs configures a Network. Prefixes are plain strings (they shape
// the graph and are validated before anything is registered).
type NetworkArgs struct {
	// ResourceGroupName: required.
	ResourceGroupName pulumi.StringInput `pulumi:"resourceGroupName"`
	// Location: optional; the resource group's location when nil.
	Location pulumi.StringInput `pulumi:"location"`
	// AddressSpace of the VNet: optional, default "10.0.0.0/16".
	AddressSpace string `pulumi:"addressSpace"`
	// DmzExternalPrefix: optional, default "10.0.0.64/27".
	DmzExternalPrefix string `pulumi:"dmzExternalPrefix"`
	// DmzInternalPrefix: optional, default "10.0.0.96/27".
	DmzInternalPrefix string `pulumi:"dmzInternalPrefix"`
	// WebPrefix: optional, default "10.0.1.0/24".
	WebPrefix string `pulumi:"webPrefix"`
	// MgmtPrefix: optional, default "10.0.0.128/25".
	MgmtPrefix string `pulumi:"mgmtPrefix"`
	// SubnetRouteTables associates route tables (by ID) with subnets:
	// key "dmz-external"|"dmz-internal"|"web"|"mgmt". Optional.
	SubnetRouteTables map[string]pulumi.StringInput `pulumi:"subnetRouteTables"`
}

// Network is a VNet with the DMZ-external, DMZ-internal, web and mgmt
// subnets, declared inline in the VNet (so a VNet update never drops them).
type Network struct {
	pulumi.ResourceState

	VNet   *network.VirtualNetwork
	VNetID pulumi.StringOutput

	DmzExternalSubnetID pulumi.StringOutput
	DmzInternalSubnetID pulumi.StringOutput
	WebSubnetID         pulumi.StringOutput
	MgmtSubnetID        pulumi.StringOutput

	// Prefixes after defaults: "vnet", "dmz-external", "dmz-internal", "web", "mgmt".
	Prefixes map[string]string
}

// NewNetwork validates args and registers the VNet and its subnets.
func NewNetwork(ctx *pulumi.Context, name string, args *NetworkArgs, opts ...pulumi.ResourceOption) (*Network, error) {
	if args == nil {
		args = &NetworkArgs{}
	}
	prefixes, err := args.plan()
	if err != nil {
		return nil, err
	}

	c := &Network{Prefixes: prefixes}
	if err := ctx.RegisterComponentResource(NetworkType, name, c, opts...); err != nil {
		return nil, fmt.Errorf("register network %q: %w", name, err)
	}

	subnets := network.SubnetTypeArray{}
	for _, sn := range subnetOrder {
		s := &network.SubnetTypeArgs{
			Name:          pulumi.String(sn),
			AddressPrefix: pulumi.String(prefixes[sn]),
		}
		if rt, ok := args.SubnetRouteTables[sn]; ok {
			s.RouteTable = &network.RouteTableTypeArgs{Id: rt.ToStringOutput()}
		}
		subnets = append(subnets, s)
	}
	vnet, err := network.NewVirtualNetwork(ctx, name+"-vnet", &network.VirtualNetworkArgs{
		ResourceGroupName: args.ResourceGroupName,
		Location:          optionalString(args.Location),
		AddressSpace: &network.AddressSpaceArgs{
			AddressPrefixes: pulumi.StringArray{pulumi.String(prefixes["vnet"])},
		},
		Subnets: subnets,
		Tags:    managedByTags(),
	}, pulumi.Parent(c))
	if err != nil {
		return nil, fmt.Errorf("create virtual network %q: %w", name+"-vnet", err)
	}

	c.VNet = vnet
	c.VNetID = vnet.ID().ToStringOutput()
	c.DmzExternalSubnetID = subnetID(vnet, SubnetDmzExternal)
	c.DmzInternalSubnetID = subnetID(vnet, SubnetDmzInternal)
	c.WebSubnetID = subnetID(vnet, SubnetWeb)
	c.MgmtSubnetID = subnetID(vnet, SubnetMgmt)

	if err := ctx.RegisterResourceOutputs(c, pulumi.Map{
		"vnetId":              c.VNetID,
		"dmzExternalSubnetId": c.DmzExternalSubnetID,
		"dmzInternalSubnetId": c.DmzInternalSubnetID,
		"webSubnetId":         c.WebSubnetID,
		"mgmtSubnetId":        c.MgmtSubnetID,
		"prefixes":            pulumi.ToStringMap(prefixes),
	}); err != nil {
		return nil, fmt.Errorf("register network %q outputs: %w", name, err)
	}
	return c, nil
}

// subnetID is the ID Azure reports for the named inline subnet.
func subnetID(vnet *network.VirtualNetwork, name string) pulumi.StringOutput {
	return vnet.Subnets.ApplyT(func(subs []network.SubnetResponse) (string, error) {
		for _, s := range subs {
			if s.Name != nil && *s.Name == name && s.Id != nil {
				return *s.Id, nil
			}
		}
		return "", fmt.Errorf("find subnet %q in the virtual network: not reported by Azure", name)
	}).(pulumi.StringOutput)
}

// plan applies defaults and validates the prefixes: each parses as an IPv4
// network address, is a /29 or larger (subnets), lies inside the address
// space, and overlaps no other subnet.
func (a *NetworkArgs) plan() (map[string]string, error) {
	if a.ResourceGroupName == nil {
		return nil, fmt.Errorf("components: NetworkArgs.ResourceGroupName: required")
	}
	def := func(v, d string) string {
		if strings.TrimSpace(v) == "" {
			return d
		}
		return strings.TrimSpace(v)
	}
	out := map[string]string{
		"vnet":            def(a.AddressSpace, DefaultAddressSpace),
		SubnetDmzExternal: def(a.DmzExternalPrefix, DefaultDmzExternalPrefix),
		SubnetDmzInternal: def(a.DmzInternalPrefix, DefaultDmzInternalPrefix),
		SubnetWeb:         def(a.WebPrefix, DefaultWebPrefix),
		SubnetMgmt:        def(a.MgmtPrefix, DefaultMgmtPrefix),
	}
	field := map[string]string{
		"vnet":            "AddressSpace",
		SubnetDmzExternal: "DmzExternalPrefix",
		SubnetDmzInternal: "DmzInternalPrefix",
		SubnetWeb:         "WebPrefix",
		SubnetMgmt:        "MgmtPrefix",
	}

	space, err := parseIPv4Prefix(out["vnet"])
	if err != nil {
		return nil, fmt.Errorf("components: NetworkArgs.AddressSpace: %w", err)
	}
	parsed := map[string]netip.Prefix{}
	for _, sn := range subnetOrder {
		f := "components: NetworkArgs." + field[sn]
		p, err := parseSubnetPrefix(out[sn])
		if err != nil {
			return nil, fmt.Errorf("%s: %w", f, err)
		}
		if p.Bits() < space.Bits() || !space.Contains(p.Addr()) {
			return nil, fmt.Errorf("%s: %s is not inside the address space %s (AddressSpace)", f, p, space)
		}
		for _, prev := range subnetOrder {
			q, ok := parsed[prev]
			if ok && q.Overlaps(p) {
				return nil, fmt.Errorf("%s: %s overlaps %s %s (%s)", f, p, prev, q, field[prev])
			}
		}
		parsed[sn] = p
	}

	var unknown []string
	for k, v := range a.SubnetRouteTables {
		if _, ok := parsed[k]; !ok {
			unknown = append(unknown, k)
			continue
		}
		if v == nil {
			return nil, fmt.Errorf("components: NetworkArgs.SubnetRouteTables[%q]: nil route table ID", k)
		}
	}
	if len(unknown) > 0 {
		sort.Strings(unknown)
		return nil, fmt.Errorf("components: NetworkArgs.SubnetRouteTables: unknown subnet %q; the subnets are %s",
			unknown[0], strings.Join(subnetOrder, ", "))
	}
	return out, nil
}

// optionalString turns an optional string input into the pointer input the
// azure-native args take (nil stays nil: the provider's default applies).
func optionalString(in pulumi.StringInput) pulumi.StringPtrInput {
	if in == nil {
		return nil
	}
	return in.ToStringOutput()
}
