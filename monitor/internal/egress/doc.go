// Package egress judges the monitor VM's way out: which effective route of
// its NIC carries its traffic to Azure Resource Manager and to Azure
// Storage (the lease blob), and whether that way survives the failure of an
// NVA the monitor manages. A monitor whose default route goes through an
// NVA loses ARM exactly when that NVA fails, which is when it must move the
// routes; a monitor with no route out at all can do nothing.
//
// It does no I/O and imports nothing from Azure: the caller reads the
// effective routes (act.Engine.EffectiveRoutes, the "Network Interfaces -
// Get Effective Route Table" operation) and resolves the host names
// (Resolve), then asks Judge.
//
// How the route is chosen follows "Virtual network traffic routing"
// (https://learn.microsoft.com/azure/virtual-network/virtual-networks-udr-overview#how-azure-selects-a-route):
// among the Active routes, the longest prefix that holds the destination's
// address; on equal prefixes a User route before a VirtualNetworkGateway
// (BGP) route before a Default (system) route. A destination whose address
// is unknown or not routed by the subnet (a loopback emulator in tests) is
// judged by the 0.0.0.0/0 route. A route whose prefix is a service tag
// ("Storage", "AzureResourceManager", their regional forms, "AzureCloud")
// that covers the destination is taken before the 0.0.0.0/0 route and
// after any other prefix that holds the address: the effective route schema
// has no field for service tags, and whether Azure lists such a route by
// its tag or by the tag's address ranges is not documented, so both forms
// are handled (docs/azure-behaviour.md#effective-routes).
//
// Usage:
//
//	addr, _ := egress.Resolve(ctx, net.DefaultResolver, "management.azure.com")
//	v := egress.Judge(routes, egress.Destination{
//		Name: "ARM", Host: "management.azure.com", Addr: addr, Tags: []string{egress.TagARM},
//	}, egress.Env{NVAs: map[netip.Addr]egress.NVA{netip.MustParseAddr("10.0.1.4"): {Name: "nva-1", Role: "internal", NIC: "nva1-int"}}})
//	switch v.Level {
//	case egress.Fail: // v.Message says why and what to do
//	}
package egress
