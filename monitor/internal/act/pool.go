package act

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/network/armnetwork/v7"

	"github.com/hanva/hanva/monitor/internal/azure"
)

// Load balancer backend pools (Topology.BackendPools): IP-based backend
// pools that hold the active NVA's address of their role and no other
// NVA's. Route tables point at the load balancer's frontend and never
// change; a failover is one write of the load balancer.
//
// A pool is a sub-resource of its load balancer and shares its ETag
// (docs/azure-behaviour.md#lb-backend-pools); it has no tags. So the engine
// reads the load balancer, changes the managed pools of it, stamps the load
// balancer's tags with the epoch and writes the whole load balancer back in
// one If-Match guarded PUT. Several managed pools of one load balancer are
// changed in that one PUT; different load balancers are written in
// parallel.

// poolDocs is where Microsoft explains IP-based and NIC-based pools.
const poolDocs = "https://learn.microsoft.com/azure/load-balancer/backend-pool-management"

// BackendPoolState is a managed backend pool as read.
type BackendPoolState struct {
	ID, Via string
	// Members are the ipAddress of its IP-based members, as read.
	Members []string
	// PointsAt lists the NVAs (in topology order) one of whose addresses of
	// role Via is a member.
	PointsAt []string
	// Foreign are the members that are no address of any NVA NIC (other
	// backends sharing the pool): a converge leaves them alone.
	Foreign []string
	// Epoch is the load balancer's epoch tag (0 if none).
	Epoch int64
	// Err is why it could not be read (or is refused: a NIC-based pool).
	Err error
}

func (x *index) parseBackendPools(list []Managed) error {
	var err error
	x.pools, err = x.managed("backend pool", list, "loadBalancers/backendAddressPools")
	return err
}

// lbOf is the load balancer of a backend pool.
func lbOf(pool resource) resource {
	id := pool.id
	if i := strings.LastIndex(strings.ToLower(id), "/backendaddresspools/"); i >= 0 {
		id = id[:i]
	}
	return resource{id: id, sub: pool.sub, group: pool.group, name: pool.parent}
}

// poolsByLB groups the managed pools (indexes into x.pools) by load
// balancer, load balancers in order of their first pool.
func (x *index) poolsByLB() (order []resource, groups map[string][]int) {
	groups = map[string][]int{}
	for i, m := range x.pools {
		lb := lbOf(m.res)
		if _, seen := groups[lb.key()]; !seen {
			order = append(order, lb)
		}
		groups[lb.key()] = append(groups[lb.key()], i)
	}
	return order, groups
}

// memberChange is one member of a pool that must change.
type memberChange struct {
	pool          string
	from, fromNVA string // "" for a member added
	to, toNVA     string // "" for a member removed
}

func (c memberChange) String() string {
	switch {
	case c.from == "":
		return fmt.Sprintf("pool %q: add member %s (%s)", c.pool, c.to, c.toNVA)
	case c.to == "":
		return fmt.Sprintf("pool %q: remove member %s (%s)", c.pool, c.from, c.fromNVA)
	}
	return fmt.Sprintf("pool %q: member %s (%s) -> %s (%s)", c.pool, c.from, c.fromNVA, c.to, c.toNVA)
}

// findPool returns the pool of lb called name (ARM names are
// case-insensitive), or nil.
func findPool(lb *armnetwork.LoadBalancer, name string) *armnetwork.BackendAddressPool {
	if lb.Properties == nil {
		return nil
	}
	for _, p := range lb.Properties.BackendAddressPools {
		if p != nil && strings.EqualFold(deref(p.Name), name) {
			return p
		}
	}
	return nil
}

// readPool finds the managed pool m in lb and refuses a NIC-based one.
func readPool(lb *armnetwork.LoadBalancer, m managed) (*armnetwork.BackendAddressPool, error) {
	pool := findPool(lb, m.res.name)
	if pool == nil {
		return nil, permanent(fmt.Errorf("backend pool %q of load balancer %q: %w", m.res.name, m.res.parent, azure.ErrNotFound))
	}
	if nicBased(pool) {
		return nil, permanent(fmt.Errorf("backend pool %q of load balancer %q is NIC-based (its members are NIC ipconfigs): "+
			"only IP-based pools are managed, use an IP-based pool (%s)", m.res.name, m.res.parent, poolDocs))
	}
	return pool, nil
}

// nicBased reports whether pool has NIC-based members: their membership
// lives on the NICs' ipconfigs, and a pool cannot mix them with IP-based
// members (docs/azure-behaviour.md#lb-backend-pools).
func nicBased(pool *armnetwork.BackendAddressPool) bool {
	p := pool.Properties
	if p == nil {
		return false
	}
	if len(p.BackendIPConfigurations) > 0 {
		return true
	}
	for _, a := range p.LoadBalancerBackendAddresses {
		if a != nil && a.Properties != nil && a.Properties.NetworkInterfaceIPConfiguration != nil &&
			deref(a.Properties.NetworkInterfaceIPConfiguration.ID) != "" {
			return true
		}
	}
	return false
}

// memberAddr is the parsed ipAddress of an IP-based member.
func memberAddr(a *armnetwork.LoadBalancerBackendAddress) (netip.Addr, bool) {
	if a == nil || a.Properties == nil {
		return netip.Addr{}, false
	}
	return parseHop(deref(a.Properties.IPAddress))
}

// rewritePool computes the members pool (of lb, IP-based) must have for
// ips.target and, when it returns no error, sets them. Every member that
// is an address of another NVA's NIC of the role is replaced in place (same
// entry name and virtualNetwork) by its counterpart on the target
// (counterpart: the ipconfig of the same name, else the primary of the IP
// version), or removed when that address is already a member. A pool
// without any NVA member gets the target's primary IPv4 address (IPv6 if
// its NIC has only IPv6). Members that are no NVA's address, and the
// target's own, stay as read. On error pool is left as read.
func rewritePool(lb *armnetwork.LoadBalancer, pool *armnetwork.BackendAddressPool, ips roleIPs) ([]memberChange, error) {
	name := deref(pool.Name)
	var members []*armnetwork.LoadBalancerBackendAddress
	if pool.Properties != nil {
		members = pool.Properties.LoadBalancerBackendAddresses
	}
	present := map[netip.Addr]bool{}
	for _, a := range members {
		if addr, ok := memberAddr(a); ok {
			present[addr] = true
		}
	}
	var out []*armnetwork.LoadBalancerBackendAddress
	var changes []memberChange
	nvaMember := false
	for _, a := range members {
		addr, ok := memberAddr(a)
		o, ours := ips.owner[addr]
		if !ok || !ours {
			out = append(out, a) // not an NVA's: left alone
			continue
		}
		nvaMember = true
		if o.nva == ips.target {
			out = append(out, a)
			continue
		}
		c, why := counterpart(o.ipc, ips.to.ipcs)
		if c == nil || !c.addr.IsValid() {
			if c != nil {
				why = fmt.Sprintf("ipconfig %q without a private IP", c.name)
			}
			return nil, permanent(fmt.Errorf("pool %q member %s of nva %q: nic %q of nva %q has %s to take over from ipconfig %q of nic %q: leaving the pool alone",
				name, addr, o.nva, ips.to.ref.res.name, ips.target, why, o.ipc.name, o.nic))
		}
		ch := memberChange{pool: name, from: addr.String(), fromNVA: o.nva}
		if !present[c.addr] {
			present[c.addr] = true
			moved := *a
			props := *a.Properties
			s := c.addr.String()
			props.IPAddress = &s
			moved.Properties = &props
			out = append(out, &moved)
			ch.to, ch.toNVA = s, ips.target
		}
		changes = append(changes, ch)
	}
	if !nvaMember {
		c := primaryOf(ips.to.ipcs, false)
		if c == nil || !c.addr.IsValid() {
			c = primaryOf(ips.to.ipcs, true)
		}
		if c == nil || !c.addr.IsValid() {
			return nil, permanent(fmt.Errorf("pool %q: nic %q of nva %q has no private IP to add", name, ips.to.ref.res.name, ips.target))
		}
		vnet := poolVNet(lb, pool)
		if vnet == "" {
			return nil, permanent(fmt.Errorf("pool %q: no virtual network for a new member (neither the pool, its members nor an internal frontend name one)", name))
		}
		s, entry := c.addr.String(), freeName(members, ips.target)
		out = append(out, &armnetwork.LoadBalancerBackendAddress{Name: &entry,
			Properties: &armnetwork.LoadBalancerBackendAddressPropertiesFormat{IPAddress: &s, VirtualNetwork: &armnetwork.SubResource{ID: &vnet}}})
		changes = append(changes, memberChange{pool: name, to: s, toNVA: ips.target})
	}
	if len(changes) > 0 {
		if pool.Properties == nil {
			pool.Properties = &armnetwork.BackendAddressPoolPropertiesFormat{}
		}
		pool.Properties.LoadBalancerBackendAddresses = out
	}
	return changes, nil
}

// poolVNet is the virtual network of a new IP-based member: the pool's,
// else that of a member, else that of an internal frontend's subnet (IP-based
// members must be in the load balancer's virtual network).
func poolVNet(lb *armnetwork.LoadBalancer, pool *armnetwork.BackendAddressPool) string {
	if p := pool.Properties; p != nil {
		if p.VirtualNetwork != nil && deref(p.VirtualNetwork.ID) != "" {
			return deref(p.VirtualNetwork.ID)
		}
		for _, a := range p.LoadBalancerBackendAddresses {
			if a == nil || a.Properties == nil {
				continue
			}
			if v := a.Properties.VirtualNetwork; v != nil && deref(v.ID) != "" {
				return deref(v.ID)
			}
			if s := a.Properties.Subnet; s != nil && deref(s.ID) != "" {
				return vnetOfSubnet(deref(s.ID))
			}
		}
	}
	if lb.Properties != nil {
		for _, fe := range lb.Properties.FrontendIPConfigurations {
			if fe != nil && fe.Properties != nil && fe.Properties.Subnet != nil && deref(fe.Properties.Subnet.ID) != "" {
				return vnetOfSubnet(deref(fe.Properties.Subnet.ID))
			}
		}
	}
	return ""
}

func vnetOfSubnet(id string) string {
	if i := strings.Index(strings.ToLower(id), "/subnets/"); i >= 0 {
		return id[:i]
	}
	return ""
}

// freeName is base, or base-2, base-3, ... : the first name no entry of
// members has.
func freeName(members []*armnetwork.LoadBalancerBackendAddress, base string) string {
	taken := func(n string) bool {
		for _, a := range members {
			if a != nil && strings.EqualFold(deref(a.Name), n) {
				return true
			}
		}
		return false
	}
	name := base
	for i := 2; taken(name); i++ {
		name = base + "-" + strconv.Itoa(i)
	}
	return name
}

// lbPass is one read of a load balancer with the result of every managed
// pool of it.
type lbPass struct {
	lb      armnetwork.LoadBalancer
	changes [][]memberChange // by position in the group
	errs    []error          // by position in the group: the pool is not written
	usable  int              // pools without error
	pending bool             // some pool must change
}

// readLBPools reads a load balancer and computes every managed pool of it
// (group: indexes into x.pools) for target, changing the pools of lb in
// place.
func (e *Engine) readLBPools(ctx context.Context, lbRes resource, group []int, target string, nics *nicCache) (lbPass, error) {
	ipsByRole := map[string]roleIPs{}
	for _, i := range group {
		via := e.x.pools[i].via
		if _, ok := ipsByRole[via]; ok {
			continue
		}
		ips, err := e.roleIPs(ctx, nics, via, target)
		if err != nil {
			return lbPass{}, err
		}
		ipsByRole[via] = ips
	}
	lb, err := e.getLoadBalancer(ctx, lbRes)
	if err != nil {
		return lbPass{}, err
	}
	p := lbPass{lb: lb, changes: make([][]memberChange, len(group)), errs: make([]error, len(group))}
	for j, i := range group {
		m := e.x.pools[i]
		pool, err := readPool(&p.lb, m)
		if err == nil {
			p.changes[j], err = rewritePool(&p.lb, pool, ipsByRole[m.via])
		}
		if err != nil {
			p.errs[j] = err
			continue
		}
		p.usable++
		p.pending = p.pending || len(p.changes[j]) > 0
	}
	return p, nil
}

func (e *Engine) convergeBackendPools(ctx context.Context, target string, nics *nicCache, start time.Time, stop context.CancelCauseFunc, stampAll bool) []ResourceResult {
	results := make([]ResourceResult, len(e.x.pools))
	order, groups := e.x.poolsByLB()
	var wg sync.WaitGroup
	for _, lb := range order {
		group := groups[lb.key()]
		wg.Go(func() { e.convergeLoadBalancer(ctx, lb, group, results, target, nics, start, stop, stampAll) })
	}
	wg.Wait()
	return results
}

// convergeLoadBalancer converges the managed pools of one load balancer
// (group: indexes into x.pools) with at most one write per pass, and fills
// their results. A fenced write stops the rest of the Converge through
// stop.
func (e *Engine) convergeLoadBalancer(ctx context.Context, lbRes resource, group []int, results []ResourceResult, target string,
	nics *nicCache, start time.Time, stop context.CancelCauseFunc, stampAll bool) {
	ctx, cancel := context.WithTimeout(ctx, e.opts.OperationTimeout)
	defer cancel()
	var last lbPass
	changed := make([]bool, len(group))
	written := make([][]memberChange, len(group))
	stamped := false
	attempts, lbErr := e.retry(ctx, lbRes.name, func(ctx context.Context) error {
		for {
			p, err := e.readLBPools(ctx, lbRes, group, target, nics)
			if err != nil {
				return err
			}
			last = p
			if p.usable == 0 {
				return nil
			}
			settled := p.lb.Properties == nil || terminal(p.lb.Properties.ProvisioningState)
			if !p.pending {
				if stampAll && settled && e.epoch() > 0 && e.epochOf(lbRes, p.lb.Tags) < e.epoch() {
					// Right members, older epoch: stamp ours, nothing else.
					accepted, err := e.putLoadBalancer(ctx, lbRes, p.lb)
					stamped = stamped || accepted
					return err
				}
				if !settled {
					// Right members, a write in flight: wait until it settles.
					if err := sleep(ctx, e.opts.PollInterval); err != nil {
						return err
					}
					continue
				}
				return nil
			}
			accepted, err := e.putLoadBalancer(ctx, lbRes, p.lb)
			if accepted {
				for j := range group {
					if len(p.changes[j]) > 0 {
						changed[j] = true
						written[j] = p.changes[j]
					}
				}
			}
			return err
		}
	})
	for j, i := range group {
		m := e.x.pools[i]
		r := ResourceResult{Kind: KindBackendPool, ID: m.res.id, Attempts: attempts, Changed: changed[j], Duration: e.now().Sub(start)}
		err := lbErr
		if last.errs != nil && last.errs[j] != nil {
			err = last.errs[j]
		}
		if err == nil {
			r.Stamped = stamped
		}
		if r.Err = settle(ctx, err, stop); r.Err != nil {
			r.Err = fmt.Errorf("converge backend pool %q of load balancer %q to nva %q: %w", m.res.name, lbRes.name, target, r.Err)
			attrs := []slog.Attr{attrEvent(EventConvergeFailed),
				attrStr(keyBackendPool, m.res.name), attrStr(keyLoadBalancer, lbRes.name), attrStr(keyNVA, target),
				attrStr(keyReason, failureReason(r.Err)), attrErr(r.Err),
				attrInt("attempts", r.Attempts), attrDur(keyDuration, r.Duration)}
			e.log.LogAttrs(ctx, slog.LevelError, EventConvergeFailed, append(attrs, fenceAttrs(r.Err)...)...)
			results[i] = r
			continue
		}
		level := slog.LevelDebug
		if r.Changed {
			level = slog.LevelInfo
		}
		attrs := []slog.Attr{attrEvent(EventBackendPoolConverged), attrStr(keyBackendPool, m.res.name), attrStr(keyLoadBalancer, lbRes.name),
			attrStr(keyNVA, target), slog.Bool("changed", r.Changed), attrInt("attempts", r.Attempts), attrDur(keyDuration, r.Duration)}
		if len(written[j]) > 0 {
			attrs = append(attrs, slog.Int("members", len(written[j])))
		}
		e.log.LogAttrs(ctx, level, EventBackendPoolConverged, attrs...)
		results[i] = r
	}
}

func (e *Engine) planBackendPools(ctx context.Context, target string, nics *nicCache) ([]Change, error) {
	order, groups := e.x.poolsByLB()
	perPool := make([][]Change, len(e.x.pools))
	errs := make([]error, len(e.x.pools))
	var wg sync.WaitGroup
	for _, lbRes := range order {
		group := groups[lbRes.key()]
		wg.Go(func() {
			var last lbPass
			_, err := e.retry(ctx, lbRes.name, func(ctx context.Context) error {
				p, err := e.readLBPools(ctx, lbRes, group, target, nics)
				if err != nil {
					return err
				}
				last = p
				return nil
			})
			note := ""
			if err == nil {
				note = e.fenceNote(e.epochOf(lbRes, last.lb.Tags))
			}
			for j, i := range group {
				m := e.x.pools[i]
				perr := err
				if perr == nil {
					perr = last.errs[j]
				}
				if perr != nil {
					errs[i] = fmt.Errorf("plan backend pool %q of load balancer %q: %w", m.res.name, lbRes.name, perr)
					continue
				}
				for _, c := range last.changes[j] {
					perPool[i] = append(perPool[i], Change{Kind: KindBackendPool, ResourceID: m.res.id, Description: c.String() + note})
				}
			}
		})
	}
	wg.Wait()
	var out []Change
	for _, c := range perPool {
		out = append(out, c...)
	}
	return out, errors.Join(errs...)
}

// observeBackendPools reads the pools; the function it returns attributes
// their members to NVAs once Observe has read the NICs (owner: every
// address of every NVA NIC, floating IPs left out).
func (e *Engine) observeBackendPools(ctx context.Context) func(owner map[netip.Addr]hopOwner) []BackendPoolState {
	order, groups := e.x.poolsByLB()
	type read struct {
		lb  armnetwork.LoadBalancer
		err error
	}
	reads := make([]read, len(order))
	var wg sync.WaitGroup
	for k, lbRes := range order {
		wg.Go(func() {
			_, reads[k].err = e.retry(ctx, lbRes.name, func(ctx context.Context) error {
				var err error
				reads[k].lb, err = e.getLoadBalancer(ctx, lbRes)
				return err
			})
		})
	}
	wg.Wait()
	return func(owner map[netip.Addr]hopOwner) []BackendPoolState {
		out := make([]BackendPoolState, len(e.x.pools))
		for k, lbRes := range order {
			r := reads[k]
			for _, i := range groups[lbRes.key()] {
				m := e.x.pools[i]
				s := BackendPoolState{ID: m.res.id, Via: m.via}
				if r.err != nil {
					s.Err = fmt.Errorf("read backend pool %q: %w", m.res.name, r.err)
					out[i] = s
					continue
				}
				s.Epoch = e.epochOf(lbRes, r.lb.Tags)
				pool, err := readPool(&r.lb, m)
				if err != nil {
					s.Err = fmt.Errorf("read backend pool %q: %w", m.res.name, err)
					out[i] = s
					continue
				}
				used := map[string]bool{}
				if pool.Properties != nil {
					for _, a := range pool.Properties.LoadBalancerBackendAddresses {
						if a == nil || a.Properties == nil || deref(a.Properties.IPAddress) == "" {
							continue
						}
						ip := deref(a.Properties.IPAddress)
						s.Members = append(s.Members, ip)
						addr, ok := parseHop(ip)
						o, ours := owner[addr]
						switch {
						case !ok || !ours:
							s.Foreign = append(s.Foreign, ip)
						case o.role == m.via:
							used[o.nva] = true
						}
					}
				}
				for _, n := range e.x.topo.NVAs {
					if used[n.Name] {
						s.PointsAt = append(s.PointsAt, n.Name)
					}
				}
				out[i] = s
			}
		}
		return out
	}
}

func (e *Engine) getLoadBalancer(ctx context.Context, r resource) (armnetwork.LoadBalancer, error) {
	resp, err := e.client(r).NewLoadBalancersClient().Get(withPrio(ctx, prioFirst), r.group, r.name, nil)
	if err != nil {
		return armnetwork.LoadBalancer{}, azure.Classify(fmt.Errorf("get load balancer %q: %w", r.name, err))
	}
	return resp.LoadBalancer, nil
}

// putLoadBalancer writes lb (as read, with its pools changed, stamped with
// our epoch unless fenced) and waits for the operation. accepted is true
// once ARM took the write.
func (e *Engine) putLoadBalancer(ctx context.Context, r resource, lb armnetwork.LoadBalancer) (accepted bool, err error) {
	if ctx, err = e.beforeWrite(withPrio(ctx, prioFirst), r); err != nil {
		return false, fmt.Errorf("update load balancer %q: %w", r.name, err)
	}
	if lb.Tags, err = e.stamp(r, lb.Tags); err != nil {
		return false, fmt.Errorf("update load balancer %q: %w", r.name, err)
	}
	etag := lb.Etag
	clearLoadBalancerReadOnly(&lb)
	p, err := e.client(r).NewLoadBalancersClient().BeginCreateOrUpdate(ifMatch(ctx, etag), r.group, r.name, lb, nil)
	if err != nil {
		return false, azure.Classify(fmt.Errorf("update load balancer %q: %w", r.name, err))
	}
	if err := await(ctx, e, r, p); err != nil {
		return true, fmt.Errorf("update load balancer %q: %w", r.name, err)
	}
	return true, nil
}

// clearLoadBalancerReadOnly drops the ETags (the load balancer's is sent as
// If-Match instead; its children share it) and provisioningState of the
// load balancer and of each of its children (docs/azure-behaviour.md#arm-put).
// Everything else goes back as read.
func clearLoadBalancerReadOnly(lb *armnetwork.LoadBalancer) {
	lb.Etag = nil
	p := lb.Properties
	if p == nil {
		return
	}
	p.ProvisioningState = nil
	for _, c := range p.FrontendIPConfigurations {
		if c != nil {
			c.Etag = nil
			if c.Properties != nil {
				c.Properties.ProvisioningState = nil
			}
		}
	}
	for _, c := range p.BackendAddressPools {
		if c != nil {
			c.Etag = nil
			if c.Properties != nil {
				c.Properties.ProvisioningState = nil
			}
		}
	}
	for _, c := range p.LoadBalancingRules {
		if c != nil {
			c.Etag = nil
			if c.Properties != nil {
				c.Properties.ProvisioningState = nil
			}
		}
	}
	for _, c := range p.Probes {
		if c != nil {
			c.Etag = nil
			if c.Properties != nil {
				c.Properties.ProvisioningState = nil
			}
		}
	}
	for _, c := range p.InboundNatRules {
		if c != nil {
			c.Etag = nil
			if c.Properties != nil {
				c.Properties.ProvisioningState = nil
			}
		}
	}
	for _, c := range p.InboundNatPools {
		if c != nil {
			c.Etag = nil
			if c.Properties != nil {
				c.Properties.ProvisioningState = nil
			}
		}
	}
	for _, c := range p.OutboundRules {
		if c != nil {
			c.Etag = nil
			if c.Properties != nil {
				c.Properties.ProvisioningState = nil
			}
		}
	}
}
