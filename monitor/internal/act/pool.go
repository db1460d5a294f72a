package act

import (
	"context"
	"net/netip"
	"time"
)

// Load balancer backend pools (Topology.BackendPools): IP-based backend
// pools that hold the active NVA's address of their role and no other
// NVA's. Route tables point at the load balancer's frontend and never
// change; a failover is one write of the load balancer.

// BackendPoolState is a managed backend pool as read.
type BackendPoolState struct {
	ID, Via string
	// Members are the ipAddress of its IP-based members, as read.
	Members []string
	// PointsAt lists the NVAs (in topology order) one of whose addresses of
	// role Via is a member.
	PointsAt []string
	// Epoch is the load balancer's epoch tag (0 if none).
	Epoch int64
	// Err is why it could not be read.
	Err error
}

func (x *index) parseBackendPools(list []Managed) error {
	var err error
	x.pools, err = x.managed("backend pool", list, "loadBalancers/backendAddressPools")
	return err
}

func (e *Engine) convergeBackendPools(ctx context.Context, target string, nics *nicCache, start time.Time, stop context.CancelCauseFunc, stampAll bool) []ResourceResult {
	var out []ResourceResult
	for _, m := range e.x.pools {
		out = append(out, ResourceResult{Kind: KindBackendPool, ID: m.res.id, Attempts: 1, Err: errNotYet})
	}
	return out
}

func (e *Engine) planBackendPools(ctx context.Context, target string, nics *nicCache) ([]Change, error) {
	if len(e.x.pools) > 0 {
		return nil, errNotYet
	}
	return nil, nil
}

// observeBackendPools reads the pools; the function it returns attributes
// their members to NVAs once Observe has read the NICs (owner: every
// address of every NVA NIC, floating IPs left out).
func (e *Engine) observeBackendPools(ctx context.Context) func(owner map[netip.Addr]hopOwner) []BackendPoolState {
	return func(map[netip.Addr]hopOwner) []BackendPoolState {
		var out []BackendPoolState
		for _, m := range e.x.pools {
			out = append(out, BackendPoolState{ID: m.res.id, Via: m.via, Err: errNotYet})
		}
		return out
	}
}
