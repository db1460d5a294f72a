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
// association with an external NIC, the monitor's "hanva-epoch" tag) and on
// nothing else. Because Pulumi sends whole resources on update, refresh
// before every update (`pulumi up --refresh`, or `options: refresh: always`
// in Pulumi.yaml) so the state holds the live values.
//
// Usage:
//
//	net, err := components.NewNetwork(ctx, "net", &components.NetworkArgs{
//		ResourceGroupName: rg.Name,
//	})
//	if err != nil {
//		return err
//	}
//	nvas, err := components.NewNvaPair(ctx, "nva", &components.NvaPairArgs{
//		ResourceGroupName: rg.Name,
//		SSHPublicKey:      pulumi.String(key),
//		ExternalSubnetID:  net.DmzExternalSubnetID,
//		InternalSubnetID:  net.DmzInternalSubnetID,
//		ExternalPrefix:    net.Prefixes[components.SubnetDmzExternal],
//		InternalPrefix:    net.Prefixes[components.SubnetDmzInternal],
//	})
//	if err != nil {
//		return err
//	}
//	rts, err := components.NewRouteTables(ctx, "rt", &components.RouteTablesArgs{
//		ResourceGroupName: rg.Name,
//		Tables: []components.RouteTableSpec{{
//			Name: "web-udr", Via: components.RoleInternal,
//			Routes: []components.RouteSpec{{Name: "default", AddressPrefix: "0.0.0.0/0"}},
//		}},
//		NextHop: nvas.NVAs[0].IPs, // role -> IP of the initially active NVA
//	})
//
// To associate a table with a subnet, pass its ID in
// NetworkArgs.SubnetRouteTables (create the tables first; their next hops
// are plain IPs from HostIP, so nothing is circular).
package components
