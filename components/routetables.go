package components

import (
	"fmt"
	"net/netip"
	"regexp"
	"sort"
	"strings"

	"github.com/pulumi/pulumi-azure-native-sdk/network/v2"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/hanva/hanva/monitor/config"
)

// RouteTablesType is the RouteTables component's type token. Never change it.
const RouteTablesType = "hanva:index:RouteTables"

// epochTagIgnore is the ignoreChanges path of the tag in which the monitor's
// leader stamps its epoch (config.EpochTag, "hanva-epoch") on every route table
// and NIC it writes.
//
// Property paths follow Pulumi's grammar (pulumi.com/docs/reference/property-paths;
// resource.ParsePropertyPath in sdk/go/common/resource): bracket notation
// `["..."]` for a map key, `[*]` for every element of an array. The key
// "hanva-epoch" contains '-', which Pulumi's own PropertyPath.String quotes,
// so the bracketed form is the canonical one.
const epochTagIgnore = `tags["` + config.EpochTag + `"]`

// routeNextHopIgnore covers the next hop of every inline route: the monitor
// rewrites them on failover, and the next `pulumi up` must not put them back.
// Pulumi's engine applies it position by position (PropertyPath.Reset): when
// a route is added to or removed from a spec, the routes at the positions
// present in both the old and new lists keep their live next hops, and the
// engine warns that the rest could not be ignored (Pulumi 3.194+,
// pulumi/pulumi#20465; older engines refuse the update). Append routes at the
// end of a spec, and run `pulumi up --refresh` so the state holds the live
// next hops.
const routeNextHopIgnore = "routes[*].nextHopIpAddress"

// routeTableIgnoreChanges is exactly what the monitor owns on a route table.
func routeTableIgnoreChanges() []string {
	return []string{routeNextHopIgnore, epochTagIgnore}
}

// RouteSpec is one route: a destination prefix whose next hop is an NVA.
type RouteSpec struct {
	// Name of the route in the table: required, unique in its table.
	Name string `pulumi:"name"`
	// AddressPrefix: required, an IPv4 CIDR such as "0.0.0.0/0".
	AddressPrefix string `pulumi:"addressPrefix"`
}

// RouteTableSpec declares one route table with a single next-hop role.
type RouteTableSpec struct {
	// Name: required, the Azure name of the table (1-80 letters, digits,
	// '-', '_', '.'; begins with a letter or digit, ends with a letter,
	// digit or '_'); unique.
	Name string `pulumi:"name"`
	// Via: required, the ONE NIC role all its routes point at
	// (RoleInternal, RoleExternal or any role in RouteTablesArgs.NextHop).
	Via string `pulumi:"via"`
	// Routes: at least one; each becomes a VirtualAppliance route to
	// NextHop[Via].
	Routes []RouteSpec `pulumi:"routes"`
}

// RouteTablesArgs configures RouteTables.
type RouteTablesArgs struct {
	// ResourceGroupName: required.
	ResourceGroupName pulumi.StringInput `pulumi:"resourceGroupName"`
	// Location: optional; the resource group's location when nil.
	Location pulumi.StringInput `pulumi:"location"`
	// Tables: at least one.
	Tables []RouteTableSpec `pulumi:"tables"`
	// NextHop maps a NIC role to the private IP of the first (initially
	// active) NVA's NIC of that role. Required for every Via used. It sets
	// the next hops at creation only: after that the monitor owns them
	// (ignoreChanges), so re-pin the active NVA with
	// `nva-monitor failover --to NAME`, not by editing NextHop.
	NextHop map[string]string `pulumi:"nextHop"`
	// FixedNextHops: optional, default false. True when the next hops are a
	// floating IP or a load balancer's frontend, which follow the active NVA
	// themselves: the monitor never writes these tables, so no property of
	// them is ignored and NextHop stays what Pulumi keeps them at.
	FixedNextHops bool `pulumi:"fixedNextHops"`
}

// RouteTables is a set of route tables, each with one next-hop role: the API
// cannot express a table that mixes next hops.
type RouteTables struct {
	pulumi.ResourceState

	Tables map[string]*network.RouteTable // by spec Name
	IDs    pulumi.StringMapOutput         // spec Name -> ID
	Via    map[string]string              // spec Name -> role
}

// NewRouteTables validates args and registers one RouteTable per spec, its
// routes inline (a whole-table PUT by Pulumi must not drop them), with
// ignoreChanges on exactly the next hops and the monitor's epoch tag.
func NewRouteTables(ctx *pulumi.Context, name string, args *RouteTablesArgs, opts ...pulumi.ResourceOption) (*RouteTables, error) {
	if args == nil {
		args = &RouteTablesArgs{}
	}
	if err := args.validate(); err != nil {
		return nil, err
	}

	c := &RouteTables{Tables: map[string]*network.RouteTable{}, Via: map[string]string{}}
	if err := ctx.RegisterComponentResource(RouteTablesType, name, c, opts...); err != nil {
		return nil, fmt.Errorf("register route tables %q: %w", name, err)
	}

	ignore := routeTableIgnoreChanges()
	if args.FixedNextHops {
		ignore = nil
	}
	ids := pulumi.StringMap{}
	for _, spec := range args.Tables {
		hop := args.NextHop[spec.Via]
		routes := network.RouteTypeArray{}
		for _, r := range spec.Routes {
			routes = append(routes, &network.RouteTypeArgs{
				Name:             pulumi.String(r.Name),
				AddressPrefix:    pulumi.String(r.AddressPrefix),
				NextHopType:      pulumi.String("VirtualAppliance"),
				NextHopIpAddress: pulumi.String(hop),
			})
		}
		child := name + "-" + spec.Name
		rt, err := network.NewRouteTable(ctx, child, &network.RouteTableArgs{
			ResourceGroupName:          args.ResourceGroupName,
			Location:                   optionalString(args.Location),
			RouteTableName:             pulumi.String(spec.Name),
			DisableBgpRoutePropagation: pulumi.Bool(false),
			Routes:                     routes,
			Tags:                       managedByTags(),
		}, pulumi.Parent(c), pulumi.IgnoreChanges(ignore))
		if err != nil {
			return nil, fmt.Errorf("create route table %q: %w", spec.Name, err)
		}
		c.Tables[spec.Name] = rt
		c.Via[spec.Name] = spec.Via
		ids[spec.Name] = rt.ID().ToStringOutput()
	}
	c.IDs = ids.ToStringMapOutput()

	if err := ctx.RegisterResourceOutputs(c, pulumi.Map{
		"ids": c.IDs,
		"via": pulumi.ToStringMap(c.Via),
	}); err != nil {
		return nil, fmt.Errorf("register route tables %q outputs: %w", name, err)
	}
	return c, nil
}

var (
	// Azure resource-name rules for route tables and routes.
	azureNetNameRE = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9_.-]{0,78}[A-Za-z0-9_])?$`)
	// NIC roles, as the monitor's config accepts them.
	nicRoleRE = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)
)

func (a *RouteTablesArgs) validate() error {
	const f = "components: RouteTablesArgs"
	if a.ResourceGroupName == nil {
		return fmt.Errorf("%s.ResourceGroupName: required", f)
	}
	if len(a.Tables) == 0 {
		return fmt.Errorf("%s.Tables: empty; declare at least one route table", f)
	}
	roles := make([]string, 0, len(a.NextHop))
	for role, ip := range a.NextHop {
		if !nicRoleRE.MatchString(role) {
			return fmt.Errorf("%s.NextHop: role %q: use letters, digits, '-' and '_'", f, role)
		}
		if addr, err := netip.ParseAddr(ip); err != nil || !addr.Is4() {
			return fmt.Errorf("%s.NextHop[%q]: %q is not an IPv4 address", f, role, ip)
		}
		roles = append(roles, role)
	}
	sort.Strings(roles)

	seen := map[string]bool{}
	for i, t := range a.Tables {
		tf := fmt.Sprintf("%s.Tables[%d]", f, i)
		if !azureNetNameRE.MatchString(t.Name) {
			return fmt.Errorf("%s.Name: %q is not a valid route table name (1-80 letters, digits, '-', '_', '.'; begin with a letter or digit, end with a letter, digit or '_')", tf, t.Name)
		}
		tf = fmt.Sprintf("%s.Tables[%q]", f, t.Name)
		if seen[strings.ToLower(t.Name)] {
			return fmt.Errorf("%s.Name: declared twice (Azure names are case-insensitive)", tf)
		}
		seen[strings.ToLower(t.Name)] = true
		if t.Via == "" {
			return fmt.Errorf("%s.Via: required: the one NIC role all the table's routes point at", tf)
		}
		if _, ok := a.NextHop[t.Via]; !ok {
			have := "none"
			if len(roles) > 0 {
				have = strings.Join(roles, ", ")
			}
			return fmt.Errorf("%s.Via: role %q has no RouteTablesArgs.NextHop entry (NextHop has: %s)", tf, t.Via, have)
		}
		if len(t.Routes) == 0 {
			return fmt.Errorf("%s.Routes: empty; declare at least one route", tf)
		}
		names := map[string]bool{}
		prefixes := map[netip.Prefix]string{}
		for j, r := range t.Routes {
			rf := fmt.Sprintf("%s.Routes[%d]", tf, j)
			if !azureNetNameRE.MatchString(r.Name) {
				return fmt.Errorf("%s.Name: %q is not a valid route name", rf, r.Name)
			}
			if names[strings.ToLower(r.Name)] {
				return fmt.Errorf("%s.Name: %q declared twice in the table", rf, r.Name)
			}
			names[strings.ToLower(r.Name)] = true
			p, err := parseIPv4Prefix(r.AddressPrefix)
			if err != nil {
				return fmt.Errorf("%s.AddressPrefix: %w", rf, err)
			}
			if other, dup := prefixes[p]; dup {
				return fmt.Errorf("%s.AddressPrefix: %s is also the prefix of route %q; Azure refuses two routes with one prefix", rf, p, other)
			}
			prefixes[p] = r.Name
		}
	}
	return nil
}
