// Package components holds hanva's Pulumi ComponentResources, importable
// into any Pulumi Go program: Network (a VNet with the DMZ-external,
// DMZ-internal, web and mgmt subnets), NvaPair (two or more NVAs with an
// external and an internal NIC each, and the public IP), RouteTables
// (route tables with one next-hop role each), Monitor (the nva-monitor VMs,
// their least-privilege role and the storage for the lease and the binary)
// and HaNva, which composes them.
//
// Every component validates its plain arguments before registering anything
// (errors name the field: "components: NvaPairArgs.Count: 1 NVA; HA needs at
// least 2"), names its children name+"-<role>", parents them to itself and
// registers its outputs.
//
// Pulumi never undoes a failover: the components put ignoreChanges on exactly
// the properties the monitor owns (route next hops, the public IP's
// association with an external NIC, the monitor's "hanva-epoch" tag; with
// HaNvaArgs.Steering: the internal NICs' ipconfigs that carry the floating
// IP, the NVA load balancer's pool members, the Private DNS record's
// addresses and its "hanva-epoch" metadata) and on nothing else. Route
// tables that point at a floating IP or a load balancer's frontend never
// change, so nothing of them is ignored. Because Pulumi sends whole resources on update, refresh
// before every update (`pulumi up --refresh`, or `options: refresh: always`
// in Pulumi.yaml) so the state holds the live values.
//
// Usage (the route tables come first: their next hops are plain IPs that
// HostIP computes from the prefixes, and the network associates them with
// its subnets):
//
//	ext, in := components.DefaultDmzExternalPrefix, components.DefaultDmzInternalPrefix
//	hop, err := components.HostIP(in, components.DefaultNvaFirstHost) // the first NVA's internal IP
//	if err != nil {
//		return err
//	}
//	rts, err := components.NewRouteTables(ctx, "rt", &components.RouteTablesArgs{
//		ResourceGroupName: rg.Name,
//		Tables: []components.RouteTableSpec{{
//			Name: "web-udr", Via: components.RoleInternal,
//			Routes: []components.RouteSpec{{Name: "default", AddressPrefix: "0.0.0.0/0"}},
//		}},
//		NextHop: map[string]string{components.RoleInternal: hop},
//	})
//	if err != nil {
//		return err
//	}
//	net, err := components.NewNetwork(ctx, "net", &components.NetworkArgs{
//		ResourceGroupName: rg.Name,
//		SubnetRouteTables: map[string]pulumi.StringInput{
//			components.SubnetWeb: rts.Tables["web-udr"].ID(),
//		},
//	})
//	if err != nil {
//		return err
//	}
//	nvas, err := components.NewNvaPair(ctx, "nva", &components.NvaPairArgs{
//		ResourceGroupName: rg.Name,
//		SSHPublicKey:      pulumi.String(key),
//		ExternalSubnetID:  net.DmzExternalSubnetID,
//		InternalSubnetID:  net.DmzInternalSubnetID,
//		ExternalPrefix:    ext,
//		InternalPrefix:    in,
//	})
//	// nvas.NVAs[0].IPs[components.RoleInternal] == hop
//
// The same program, compiled and run under mocks, is Example_composition.
package components
