package armsim

import (
	"net/http"
	"net/netip"
	"strings"
)

// POST actions: Network Interfaces - Get Effective Route Table
// (POST {nicID}/effectiveRouteTable,
// https://learn.microsoft.com/rest/api/virtualnetwork/network-interfaces/get-effective-route-table).
// It is a long-running operation whose result the SDK reads from the
// Location URL (armnetwork: FinalStateViaLocation; accepted statuses 200 and
// 202). armsim answers 202 with Azure-AsyncOperation, Location and
// Retry-After, as for a DELETE, and computes the routes when the operation
// completes, from the state at that moment.

// postEffectiveRouteTable starts the effective route computation of a NIC.
func (s *Sim) postEffectiveRouteTable(rc *reqCtx, p armPath) response {
	res := s.resources[keyOf(p.parentID())]
	if res == nil || !strings.EqualFold(res.typ, "networkInterfaces") {
		return notFound(armPath{ns: p.ns, typ: p.typ, name: p.name, rg: p.rg})
	}
	loc := strings.ToLower(strings.ReplaceAll(str(res.body, "location"), " ", ""))
	if loc == "" {
		loc = "global"
	}
	op := &operation{
		id:       rc.requestID,
		sub:      p.sub,
		location: loc,
		key:      keyOf(res.id),
		start:    rc.now,
		done:     rc.now.Add(s.latencyFor(p.action)),
		status:   statusInProgress,
		action:   p.action,
	}
	if f := s.matchFault(rc, stageOperation); f != nil {
		op.final, op.errCode, op.errMsg = statusFailed, f.Code, f.Message
		if strings.EqualFold(f.OperationStatus, statusCanceled) {
			op.final = statusCanceled
		}
		if op.errCode == "" {
			op.errCode = "InternalServerError"
		}
		if op.errMsg == "" {
			op.errMsg = "Injected failure of the operation."
		}
	}
	s.ops[strings.ToLower(op.id)] = op
	s.pending = append(s.pending, op)
	resp := response{status: http.StatusAccepted}
	s.lroHeaders(rc, &resp, op, true)
	return resp
}

// completeAction ends a POST action: with its injected status, or with its
// result computed now. A NIC deleted in the meantime fails it.
func (s *Sim) completeAction(op *operation) {
	if op.final != "" {
		op.status = op.final
		return
	}
	nic := s.resources[op.key]
	if nic == nil {
		op.status, op.final = statusFailed, statusFailed
		op.errCode, op.errMsg = "NotFound", "The network interface "+op.key+" was deleted while its effective routes were computed."
		return
	}
	op.status = statusSucceeded
	op.result = map[string]any{"value": s.effectiveRoutes(nic)}
}

// reservedPrefixes get a system route with next hop None unless the virtual
// network's address space covers them ("Virtual network traffic routing",
// Default system routes:
// https://learn.microsoft.com/azure/virtual-network/virtual-networks-udr-overview#default).
var reservedPrefixes = []netip.Prefix{
	netip.MustParsePrefix("10.0.0.0/8"),
	netip.MustParsePrefix("172.16.0.0/12"),
	netip.MustParsePrefix("192.168.0.0/16"),
	netip.MustParsePrefix("100.64.0.0/10"),
}

// effectiveRoutes computes the effective routes of a NIC's primary
// ipconfig's subnet, as Azure lists them (the REST example
// NetworkInterfaceEffectiveRouteTableList.json in Azure/azure-rest-api-specs):
//
//   - Default routes: one VnetLocal route per address range of the virtual
//     network, 0.0.0.0/0 to Internet, and None for 10/8, 172.16/12,
//     192.168/16 and 100.64/10 unless an address range of the virtual
//     network covers the prefix;
//   - User routes: every route of the route table associated with the
//     subnet (properties.routeTable.id of the subnet inside its
//     virtualNetwork), with its name; a service tag prefix ("Storage") is
//     listed as written, as armsim knows no tag's address ranges;
//   - a Default route with the same prefix as a User route is Invalid, the
//     User route Active (same page, "How Azure selects a route").
//
// A subnet or virtual network armsim does not hold gives the Default routes
// without VnetLocal; a route table it does not hold, no User routes. Azure
// answers only for a NIC attached to a running VM; armsim, which models no
// VMs, answers for any NIC. No BGP or peering routes are emulated.
func (s *Sim) effectiveRoutes(nic *resource) []any {
	var subnetID string
	for i, ipc := range objects(nic.props(), "ipConfigurations") {
		ipp := sub(ipc, "properties")
		if primary, _ := ipp["primary"].(bool); primary || i == 0 {
			subnetID = refID(ipp, "subnet")
		}
	}
	var space []netip.Prefix
	var routes []object
	if sp, err := parsePath(subnetID); subnetID != "" && err == nil && sp.childName != "" {
		if vnet := s.resources[keyOf(sp.parentID())]; vnet != nil {
			for _, a := range stringList(sub(vnet.props(), "addressSpace")["addressPrefixes"]) {
				if pr, err := netip.ParsePrefix(a); err == nil {
					space = append(space, pr.Masked())
				}
			}
			if sn, _ := findChild(vnet.body, "subnets", sp.childName); sn != nil {
				if rt := s.resources[keyOf(refID(sub(sn, "properties"), "routeTable"))]; rt != nil && strings.EqualFold(rt.typ, "routeTables") {
					routes = objects(rt.props(), "routes")
				}
			}
		}
	}

	overridden := map[string]bool{}
	var user []any
	for _, r := range routes {
		rp := sub(r, "properties")
		prefix := str(rp, "addressPrefix")
		overridden[prefixKey(prefix)] = true
		hop := str(rp, "nextHopType")
		for _, t := range nextHopTypes {
			if strings.EqualFold(t, hop) {
				hop = t
			}
		}
		ips := []string{}
		if ip := str(rp, "nextHopIpAddress"); ip != "" {
			ips = append(ips, ip)
		}
		user = append(user, map[string]any{
			"name": str(r, "name"), "source": "User", "state": "Active",
			"addressPrefix": []string{prefix}, "nextHopType": hop, "nextHopIpAddress": ips,
		})
	}
	system := func(prefix netip.Prefix, hop string) any {
		state := "Active"
		if overridden[prefix.String()] {
			state = "Invalid"
		}
		return map[string]any{
			"source": "Default", "state": state,
			"addressPrefix": []string{prefix.String()}, "nextHopType": hop, "nextHopIpAddress": []string{},
		}
	}
	out := []any{}
	for _, pr := range space {
		out = append(out, system(pr, "VnetLocal"))
	}
	out = append(out, system(netip.MustParsePrefix("0.0.0.0/0"), "Internet"))
	for _, reserved := range reservedPrefixes {
		covered := false
		for _, pr := range space {
			covered = covered || (pr.Bits() <= reserved.Bits() && pr.Contains(reserved.Addr()))
		}
		if !covered {
			out = append(out, system(reserved, "None"))
		}
	}
	return append(out, user...)
}

// prefixKey is a route's address prefix for comparison: a CIDR prefix
// masked, anything else (a service tag) as written.
func prefixKey(s string) string {
	if pr, err := netip.ParsePrefix(s); err == nil {
		return pr.Masked().String()
	}
	return s
}

func stringList(v any) []string {
	a, _ := v.([]any)
	out := make([]string, 0, len(a))
	for _, e := range a {
		if s, ok := e.(string); ok {
			out = append(out, s)
		}
	}
	return out
}
