package act

import (
	"context"
	"fmt"

	"github.com/hanva/hanva/monitor/internal/azure"
)

// EffectiveRoute is one effective route of a NIC, as "Network Interfaces -
// Get Effective Route Table" lists it
// (https://learn.microsoft.com/rest/api/virtualnetwork/network-interfaces/get-effective-route-table;
// docs/azure-behaviour.md#effective-routes).
type EffectiveRoute struct {
	Name        string // a User route's name
	Source      string // Default, User, VirtualNetworkGateway, Unknown
	State       string // Active or Invalid
	Prefixes    []string
	NextHopType string
	NextHopIPs  []string
}

// EffectiveRoutes reads the effective routes of any NIC (the monitor's own,
// typically; it need not be in the topology): a POST .../effectiveRouteTable,
// a long-running operation polled every PollInterval until done, bounded by
// OperationTimeout. It needs Microsoft.Network/networkInterfaces/effectiveRouteTable/action
// on the NIC, and Azure answers only for a NIC attached to a running VM.
// Not retried: errors are classified (azure.ErrForbidden, ErrNotFound, ...).
func (e *Engine) EffectiveRoutes(ctx context.Context, nicID string) ([]EffectiveRoute, error) {
	r, err := parseResource(nicID, "networkInterfaces")
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, e.opts.OperationTimeout)
	defer cancel()
	s, err := e.sub(r.sub)
	if err != nil {
		return nil, fmt.Errorf("create network clients for subscription %s: %w", r.sub, err)
	}
	f := s.net
	p, err := f.NewInterfacesClient().BeginGetEffectiveRouteTable(ctx, r.group, r.name, nil)
	if err != nil {
		return nil, azure.Classify(fmt.Errorf("get effective routes of nic %q: %w", r.name, err))
	}
	for !p.Done() {
		if _, err := p.Poll(withPrio(ctx, prioPoll)); err != nil {
			return nil, azure.Classify(fmt.Errorf("get effective routes of nic %q: poll: %w", r.name, err))
		}
		if !p.Done() {
			if err := sleep(ctx, e.opts.PollInterval); err != nil {
				return nil, err
			}
		}
	}
	res, err := p.Result(ctx)
	if err != nil {
		return nil, azure.Classify(fmt.Errorf("get effective routes of nic %q: %w", r.name, err))
	}
	out := make([]EffectiveRoute, 0, len(res.Value))
	for _, er := range res.Value {
		if er == nil {
			continue
		}
		route := EffectiveRoute{Name: deref(er.Name)}
		if er.Source != nil {
			route.Source = string(*er.Source)
		}
		if er.State != nil {
			route.State = string(*er.State)
		}
		if er.NextHopType != nil {
			route.NextHopType = string(*er.NextHopType)
		}
		for _, p := range er.AddressPrefix {
			route.Prefixes = append(route.Prefixes, deref(p))
		}
		for _, ip := range er.NextHopIPAddress {
			route.NextHopIPs = append(route.NextHopIPs, deref(ip))
		}
		out = append(out, route)
	}
	return out, nil
}
