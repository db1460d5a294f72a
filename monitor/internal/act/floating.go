package act

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/network/armnetwork/v7"

	"github.com/hanva/hanva/monitor/config"
	"github.com/hanva/hanva/monitor/internal/azure"
)

// Floating private IPs (Topology.FloatingIPs): a static private address
// that lives as a secondary ipconfig on the active NVA's NIC of its role.
// Route tables point at it and never change; a failover moves the ipconfig.

// FloatingIPConfigName is the name of the ipconfig that carries a floating
// IP whose FloatingIP.Name is empty: "hanva-floating-" and the address with
// every '.' and ':' as '-' (10.0.2.50 -> hanva-floating-10-0-2-50), as the
// config package names it (config.FloatingIP.IPConfigName).
func FloatingIPConfigName(ip string) string { return config.FloatingIP{IP: ip}.IPConfigName() }

// floating is a validated FloatingIP.
type floating struct {
	addr netip.Addr
	ip   string // as configured
	via  string
	name string // ipconfig name
}

// FloatingIPState is a managed floating IP as read from the NVA NICs of its
// role.
type FloatingIPState struct {
	IP, Via string
	Name    string // the ipconfig name it must have
	// NIC and IPConfig are where it is ("" when on no NVA NIC of its role).
	NIC, IPConfig string
	// HeldBy is the NVA owning that NIC; "" when on none.
	HeldBy string
	// Epoch is that NIC's epoch tag (0 if none).
	Epoch int64
	// Err is why it could not be read (a NIC of its role unreadable).
	Err error
}

func (x *index) parseFloatingIPs(list []FloatingIP) error {
	x.floatAddrs = map[netip.Addr]bool{}
	names := map[string]string{} // role + lower-case ipconfig name -> address
	for _, f := range list {
		a, ok := parseHop(f.IP)
		if !ok {
			return fmt.Errorf("check topology: floating IP %q is not an IP address", f.IP)
		}
		if x.floatAddrs[a] {
			return fmt.Errorf("check topology: floating IP %s listed twice", f.IP)
		}
		if f.Via == "" {
			return fmt.Errorf("check topology: floating IP %s has no via role", f.IP)
		}
		for _, n := range x.topo.NVAs {
			if _, ok := n.NICs[f.Via]; !ok {
				return fmt.Errorf("check topology: floating IP %s rides on role %q, but nva %q has no nic of that role", f.IP, f.Via, n.Name)
			}
		}
		name := f.Name
		if name == "" {
			name = FloatingIPConfigName(a.String())
		}
		k := f.Via + "/" + strings.ToLower(name)
		if other, dup := names[k]; dup {
			return fmt.Errorf("check topology: floating IPs %s and %s both use ipconfig name %q on role %q", other, f.IP, name, f.Via)
		}
		names[k] = f.IP
		x.floatAddrs[a] = true
		x.floats = append(x.floats, floating{addr: a, ip: f.IP, via: f.Via, name: name})
	}
	return nil
}

// codePrivateIPAddressIsAllocated is ARM refusing an ipconfig whose static
// private IP another ipconfig still holds in the subnet
// (docs/azure-behaviour.md#nic-validation).
const codePrivateIPAddressIsAllocated = "PrivateIPAddressIsAllocated"

// errAllocated tells whether err is ARM refusing an attach because the
// floating address is still allocated to another ipconfig.
func errAllocated(err error) bool {
	return errors.Is(err, azure.ErrBadRequest) && strings.EqualFold(azure.Code(err), codePrivateIPAddressIsAllocated)
}

// roleNIC is an NVA NIC of one role as read, whole, for a PUT.
type roleNIC struct {
	ref    nicRef
	nic    armnetwork.Interface
	exists bool // false: 404
}

// readRoleNICs reads the NIC of role of every NVA, in parallel. A missing
// NIC is not an error (exists false).
func (e *Engine) readRoleNICs(ctx context.Context, role string) ([]roleNIC, error) {
	nvas := e.x.topo.NVAs
	out := make([]roleNIC, len(nvas))
	errs := make([]error, len(nvas))
	var wg sync.WaitGroup
	for i, n := range nvas {
		wg.Go(func() {
			ref, _ := e.x.nic(n.Name, role)
			nic, err := e.getNIC(ctx, ref.res)
			switch {
			case errors.Is(err, azure.ErrNotFound):
				out[i] = roleNIC{ref: ref}
			case err != nil:
				errs[i] = err
			default:
				out[i] = roleNIC{ref: ref, nic: nic, exists: true}
			}
		})
	}
	wg.Wait()
	return out, errors.Join(errs...)
}

// holding returns the ipconfig of nic whose private IP is a, or nil.
func holding(nic *armnetwork.Interface, a netip.Addr) *armnetwork.InterfaceIPConfiguration {
	if nic.Properties == nil {
		return nil
	}
	for _, ipc := range nic.Properties.IPConfigurations {
		if ipc == nil || ipc.Properties == nil {
			continue
		}
		if b, ok := parseHop(deref(ipc.Properties.PrivateIPAddress)); ok && b == a {
			return ipc
		}
	}
	return nil
}

// removable refuses to remove an ipconfig that holds a floating IP but is
// more than that: the NIC's primary ipconfig (Azure refuses a NIC without
// one, and the NVA's own address would go), or one carrying anything the
// monitor does not own (a public IP, load balancer or application gateway
// pools, inbound NAT rules, application security groups, a gateway load
// balancer, virtual network taps, an IP prefix). The monitor removes only
// an ipconfig that carries nothing but the address.
func removable(f floating, nic string, n *armnetwork.Interface, ipc *armnetwork.InterfaceIPConfiguration) error {
	p := ipc.Properties
	var what []string
	if deref(p.Primary) || len(n.Properties.IPConfigurations) == 1 {
		what = append(what, "it is the nic's primary ipconfig")
	}
	if p.PublicIPAddress != nil {
		what = append(what, "public IP "+deref(p.PublicIPAddress.ID))
	}
	for _, c := range []struct {
		n    int
		name string
	}{
		{len(p.LoadBalancerBackendAddressPools), "load balancer backend pools"},
		{len(p.LoadBalancerInboundNatRules), "inbound NAT rules"},
		{len(p.ApplicationGatewayBackendAddressPools), "application gateway backend pools"},
		{len(p.ApplicationSecurityGroups), "application security groups"},
		{len(p.VirtualNetworkTaps), "virtual network taps"},
	} {
		if c.n > 0 {
			what = append(what, c.name)
		}
	}
	if p.GatewayLoadBalancer != nil {
		what = append(what, "a gateway load balancer")
	}
	if p.PrivateIPAddressPrefixLength != nil {
		what = append(what, "an IP prefix")
	}
	if len(what) > 0 {
		return permanent(fmt.Errorf("floating IP %s is on ipconfig %s/%s, which carries more than the address (%s): leaving it alone",
			f.ip, nic, deref(ipc.Name), strings.Join(what, ", ")))
	}
	return nil
}

// floatStep is what one floating IP needs to be on the target.
type floatStep struct {
	from    *roleNIC // detach from this NVA NIC first; nil when on none
	fromIPC string   // the ipconfig holding it there
	to      *roleNIC // then attach to the target's NIC of its role
	done    bool     // already on the target's NIC
}

// stepForFloat decides from the NICs of the floating IP's role as read.
func (e *Engine) stepForFloat(f floating, nics []roleNIC, target string) (floatStep, error) {
	want, _ := e.x.nic(target, f.via)
	var s floatStep
	for i := range nics {
		rn := &nics[i]
		if rn.ref.res.key() == want.res.key() {
			s.to = rn
		}
		if !rn.exists {
			continue
		}
		if ipc := holding(&rn.nic, f.addr); ipc != nil && s.from == nil {
			s.from, s.fromIPC = rn, deref(ipc.Name)
		}
	}
	if s.to == nil || !s.to.exists {
		return floatStep{}, permanent(fmt.Errorf("read nic %q of nva %q: not found", want.res.name, target))
	}
	if s.from == s.to {
		return floatStep{to: s.to, done: true}, nil
	}
	if s.from != nil {
		if err := removable(f, s.from.ref.res.name, &s.from.nic, holding(&s.from.nic, f.addr)); err != nil {
			return floatStep{}, err
		}
	}
	return s, nil
}

// fenceStep fences both writes of a move, as read, before the first is
// sent, so that a fenced target NIC does not leave the address on no NIC at
// all. (Each PUT is fenced again by putNIC.)
func (e *Engine) fenceStep(s floatStep) error {
	for _, rn := range []*roleNIC{s.from, s.to} {
		if rn == nil || s.done {
			continue
		}
		if ours, theirs := e.epoch(), e.epochOf(rn.ref.res, rn.nic.Tags); ours > 0 && theirs > ours {
			return permanent(fmt.Errorf("update nic %q: %w", rn.ref.res.name, &fencedError{theirs: theirs, ours: ours}))
		}
	}
	return nil
}

// floatConfig returns the ipconfig that carries f on nic: name f.name,
// Static, f's address and IP version, not primary, in the subnet of the
// nic's primary ipconfig of that IP version. All ipconfigs of a NIC must be
// in one subnet ("IPConfigurations on a Nic cannot belong to different
// subnets", Azure/azure-sdk-for-java#1865, docs/azure-behaviour.md#nic-validation;
// https://learn.microsoft.com/azure/virtual-network/ip-services/virtual-network-multiple-ip-addresses-portal
// adds secondary addresses from the NIC's subnet). nil when nic already
// holds the address.
func floatConfig(f floating, nic string, n *armnetwork.Interface) (*armnetwork.InterfaceIPConfiguration, error) {
	if holding(n, f.addr) != nil {
		return nil, nil
	}
	ipcs := readIPConfigs(n)
	if c := named(ipcs, f.name); c != nil {
		return nil, permanent(fmt.Errorf("add floating IP %s to nic %q: it already has an ipconfig %q (address %v): leaving it alone", f.ip, nic, c.name, c.addr))
	}
	v6 := f.addr.Is6()
	prim := primaryOf(ipcs, v6)
	var subnet string
	if prim != nil {
		for _, c := range n.Properties.IPConfigurations {
			if c != nil && c.Properties != nil && strings.EqualFold(deref(c.Name), prim.name) && c.Properties.Subnet != nil {
				subnet = deref(c.Properties.Subnet.ID)
			}
		}
	}
	if subnet == "" {
		return nil, permanent(fmt.Errorf("add floating IP %s to nic %q: it has no %s ipconfig in a subnet to take the address from", f.ip, nic, version(v6)))
	}
	name, addr, primary, static := f.name, f.addr.String(), false, armnetwork.IPAllocationMethodStatic
	ver := armnetwork.IPVersionIPv4
	if v6 {
		ver = armnetwork.IPVersionIPv6
	}
	return &armnetwork.InterfaceIPConfiguration{
		Name: &name,
		Properties: &armnetwork.InterfaceIPConfigurationPropertiesFormat{
			Primary:                   &primary,
			PrivateIPAddress:          &addr,
			PrivateIPAddressVersion:   &ver,
			PrivateIPAllocationMethod: &static,
			Subnet:                    &armnetwork.Subnet{ID: &subnet},
		},
	}, nil
}

// detachFloats removes the ipconfigs of nic holding the given floating IPs,
// in one PUT, leaving everything else of the NIC as read. A NIC that is
// gone has nothing to let go.
func (e *Engine) detachFloats(ctx context.Context, nic nicRef, fs []floating) (attempts int, accepted bool, err error) {
	attempts, err = e.retry(ctx, nic.res.name, func(ctx context.Context) error {
		unlock, err := e.lockNIC(ctx, nic.res)
		if err != nil {
			return err
		}
		defer unlock()
		for {
			n, err := e.getNIC(ctx, nic.res)
			if errors.Is(err, azure.ErrNotFound) {
				return nil
			}
			if err != nil {
				return err
			}
			drop := map[*armnetwork.InterfaceIPConfiguration]bool{}
			for _, f := range fs {
				if ipc := holding(&n, f.addr); ipc != nil {
					if err := removable(f, nic.res.name, &n, ipc); err != nil {
						return err
					}
					drop[ipc] = true
				}
			}
			if len(drop) == 0 {
				if n.Properties != nil && !terminal(n.Properties.ProvisioningState) {
					if err := sleep(ctx, e.opts.PollInterval); err != nil {
						return err
					}
					continue
				}
				return nil
			}
			var keep []*armnetwork.InterfaceIPConfiguration
			for _, ipc := range n.Properties.IPConfigurations {
				if !drop[ipc] {
					keep = append(keep, ipc)
				}
			}
			n.Properties.IPConfigurations = keep
			ok, err := e.putNIC(ctx, nic.res, n)
			accepted = accepted || ok
			return err
		}
	})
	return attempts, accepted, err
}

// attachFloats adds an ipconfig for each of fs that nic does not hold yet
// (floatConfig), in one PUT, leaving everything else of the NIC as read.
func (e *Engine) attachFloats(ctx context.Context, nic nicRef, fs []floating) (attempts int, accepted bool, err error) {
	attempts, err = e.retry(ctx, nic.res.name, func(ctx context.Context) error {
		unlock, err := e.lockNIC(ctx, nic.res)
		if err != nil {
			return err
		}
		defer unlock()
		for {
			n, err := e.getNIC(ctx, nic.res)
			if errors.Is(err, azure.ErrNotFound) {
				return permanent(fmt.Errorf("read nic %q of nva %q: %w", nic.res.name, nic.nva, err))
			}
			if err != nil {
				return err
			}
			var add []*armnetwork.InterfaceIPConfiguration
			for _, f := range fs {
				c, err := floatConfig(f, nic.res.name, &n)
				if err != nil {
					return err
				}
				if c != nil {
					add = append(add, c)
				}
			}
			if len(add) == 0 {
				if n.Properties != nil && !terminal(n.Properties.ProvisioningState) {
					if err := sleep(ctx, e.opts.PollInterval); err != nil {
						return err
					}
					continue
				}
				return nil
			}
			n.Properties.IPConfigurations = append(n.Properties.IPConfigurations, add...)
			ok, err := e.putNIC(ctx, nic.res, n)
			accepted = accepted || ok
			return err
		}
	})
	return attempts, accepted, err
}

// allocatedStrikes is how many attaches in a row, each after a fresh read
// finding the address on no NVA NIC of its role, ARM may refuse with
// PrivateIPAddressIsAllocated before the floating IP fails for good: the
// address is then held by a NIC the monitor does not manage. The second
// strike allows for someone re-attaching it to an NVA between our read and
// our write. A floating IP this Converge detached itself is retried until
// OperationTimeout instead (Azure may free the address late,
// docs/azure-behaviour.md#nic-validation).
const allocatedStrikes = 2

// convergeFloatingIPs moves every managed floating IP to the target's NIC
// of its role: PUT the old NVA NIC without its ipconfig, wait for that
// operation, then PUT the target's NIC with it
// (docs/azure-behaviour.md#nic-validation: Azure refuses the address on a
// second NIC while the first holds it). Detaches are grouped so that each
// old NIC gets one PUT, and so are the attaches to each target NIC; NICs in
// parallel. An attach refused with 400 PrivateIPAddressIsAllocated sends
// the floating IP back to a fresh read and detach (alone, if it was
// attached in a group). A fenced NIC write stops the rest of the Converge
// through stop.
func (e *Engine) convergeFloatingIPs(ctx context.Context, target string, start time.Time, stop context.CancelCauseFunc) []ResourceResult {
	fs := e.x.floats
	results := make([]ResourceResult, len(fs))
	for i, f := range fs {
		results[i] = ResourceResult{Kind: KindFloatingIP, ID: f.ip, Attempts: 1}
	}
	if len(fs) == 0 {
		return results
	}
	ctx, cancel := context.WithTimeout(ctx, e.opts.OperationTimeout)
	defer cancel()

	solo := make([]bool, len(fs))   // attach alone: a grouped attach was refused as allocated
	ours := make([]bool, len(fs))   // on an NVA NIC during this Converge
	strikes := make([]int, len(fs)) // PrivateIPAddressIsAllocated in a row, on no NVA NIC
	var mu sync.Mutex               // guards results and the slices above from the phase goroutines
	finish := func(i int) {
		ip := fs[i].ip
		e.finishMove(ctx, &results[i], moved{key: keyFloatingIP, value: ip, label: "floating IP " + ip, event: EventFloatingIPMoved,
			explain: func(err error) error {
				if errAllocated(err) { // retried until OperationTimeout
					return fmt.Errorf("%s is still allocated elsewhere: %w", ip, err)
				}
				return err
			}}, target, start, stop)
	}

	e.moveRounds(ctx, results, finish, func(pending []int) []int {
		// Read the NICs of every role with a pending floating IP, and decide.
		byRole := map[string][]int{}
		var roles []string
		for _, i := range pending {
			if _, seen := byRole[fs[i].via]; !seen {
				roles = append(roles, fs[i].via)
			}
			byRole[fs[i].via] = append(byRole[fs[i].via], i)
		}
		steps := make([]floatStep, len(fs))
		var wg sync.WaitGroup
		for _, role := range roles {
			wg.Go(func() {
				group := byRole[role]
				n, err := e.retry(ctx, "nics of role "+role, func(ctx context.Context) error {
					nics, err := e.readRoleNICs(ctx, role)
					if err != nil {
						return err
					}
					for _, i := range group {
						steps[i], results[i].Err = e.stepForFloat(fs[i], nics, target)
						if results[i].Err == nil {
							results[i].Err = e.fenceStep(steps[i])
						}
					}
					return nil
				})
				mu.Lock()
				defer mu.Unlock()
				for _, i := range group {
					results[i].Attempts += n - 1
					if err != nil {
						results[i].Err = err
					}
				}
			})
		}
		wg.Wait()
		var detaching, attaching, next []int
		for _, i := range pending {
			switch s := steps[i]; {
			case results[i].Err != nil, s.done:
				finish(i)
			case s.from != nil:
				ours[i] = true
				detaching = append(detaching, i)
			default:
				attaching = append(attaching, i)
			}
		}

		// Detach: one PUT per old NIC, NICs in parallel.
		attaching = append(attaching, e.detachGroups(groupBy(detaching, func(i int) string { return steps[i].from.ref.res.key() }),
			results, &mu, finish,
			func(group []int) (int, bool, error) {
				gfs := make([]floating, len(group))
				for j, i := range group {
					gfs[j] = fs[i]
				}
				return e.detachFloats(ctx, steps[group[0]].from.ref, gfs)
			},
			func(i int) {
				nic := steps[i].from.ref
				e.log.LogAttrs(ctx, slog.LevelInfo, EventFloatingIPDetached, attrEvent(EventFloatingIPDetached),
					attrStr(keyFloatingIP, fs[i].ip), attrStr(keyNVA, nic.nva), attrStr("nic", nic.res.name),
					attrStr("ipconfig", steps[i].fromIPC), attrDur(keyDuration, e.now().Sub(start)))
			})...)

		// Attach: per target NIC, one PUT for the floating IPs attached
		// together, then one for each that must go alone; NICs in parallel.
		attachSome := func(nic nicRef, group []int) {
			gfs := make([]floating, len(group))
			for j, i := range group {
				gfs[j] = fs[i]
			}
			n, accepted, err := e.attachFloats(ctx, nic, gfs)
			mu.Lock()
			defer mu.Unlock()
			for _, i := range group {
				r := &results[i]
				r.Attempts += n - 1
				r.Changed = r.Changed || accepted
				r.Err = err
				if errAllocated(err) && ctx.Err() == nil {
					// Still allocated (re-attached by someone, our detach
					// not visible yet, or held by a NIC that is not an
					// NVA's): read again, detach again.
					switch {
					case len(group) > 1:
						solo[i] = true
					case !ours[i]:
						strikes[i]++
					}
					if strikes[i] < allocatedStrikes {
						e.log.LogAttrs(ctx, levelRetry, EventRetry, attrEvent(EventRetry),
							attrStr("resource", fs[i].ip), attrErr(err), attrInt(keyAttempt, r.Attempts))
						next = append(next, i)
						continue
					}
					// Refused, not failed: the monitor does not take an
					// address from a NIC it does not manage.
					r.Err = permanent(fmt.Errorf("%s is allocated elsewhere, not on an nva nic of role %q: leaving it alone (%v)", fs[i].ip, fs[i].via, err))
				}
				if err == nil {
					strikes[i] = 0
				}
				finish(i)
			}
		}
		for _, group := range groupBy(attaching, func(i int) string { return steps[i].to.ref.res.key() }) {
			var together, alone []int
			for _, i := range group {
				if solo[i] {
					alone = append(alone, i)
				} else {
					together = append(together, i)
				}
			}
			nic := steps[group[0]].to.ref
			wg.Go(func() {
				if len(together) > 0 {
					attachSome(nic, together)
				}
				for _, i := range alone {
					attachSome(nic, []int{i})
				}
			})
		}
		wg.Wait()
		return next
	})
	return results
}

// planFloatingIPs lists the NIC writes convergeFloatingIPs would make now.
func (e *Engine) planFloatingIPs(ctx context.Context, target string, _ *nicCache) ([]Change, error) {
	if len(e.x.floats) == 0 {
		return nil, nil
	}
	var out []Change
	var errs []error
	byRole := map[string][]roleNIC{}
	for _, f := range e.x.floats {
		var ch []Change
		_, err := e.retry(ctx, f.ip, func(ctx context.Context) error {
			nics, ok := byRole[f.via]
			if !ok {
				var err error
				if nics, err = e.readRoleNICs(ctx, f.via); err != nil {
					return err
				}
				byRole[f.via] = nics
			}
			s, err := e.stepForFloat(f, nics, target)
			if err != nil || s.done {
				return err
			}
			c, err := floatConfig(f, s.to.ref.res.name, &s.to.nic)
			if err != nil {
				return err
			}
			if s.from != nil {
				ch = append(ch, Change{Kind: KindFloatingIP, ResourceID: f.ip,
					Description: fmt.Sprintf("detach floating IP %s from nic %s/%s%s", f.ip, s.from.ref.res.name, s.fromIPC,
						e.fenceNote(e.epochOf(s.from.ref.res, s.from.nic.Tags)))})
			}
			ch = append(ch, Change{Kind: KindFloatingIP, ResourceID: f.ip,
				Description: fmt.Sprintf("attach floating IP %s to nic %s/%s in subnet %s%s", f.ip, s.to.ref.res.name, f.name,
					deref(c.Properties.Subnet.ID), e.fenceNote(e.epochOf(s.to.ref.res, s.to.nic.Tags)))})
			return nil
		})
		if err != nil {
			errs = append(errs, fmt.Errorf("plan floating IP %s: %w", f.ip, err))
			continue
		}
		out = append(out, ch...)
	}
	return out, errors.Join(errs...)
}

// observeFloatingIPs finds each floating IP on the NVA NICs of its role as
// Observe read them (byNIC and nicErr by resource key).
func (e *Engine) observeFloatingIPs(byNIC map[string]nicInfo, nicErr map[string]error) []FloatingIPState {
	out := make([]FloatingIPState, len(e.x.floats))
	for i, f := range e.x.floats {
		s := FloatingIPState{IP: f.ip, Via: f.via, Name: f.name}
		var unread []error
		for _, n := range e.x.topo.NVAs {
			ref, _ := e.x.nic(n.Name, f.via)
			if err := nicErr[ref.res.key()]; err != nil {
				unread = append(unread, err)
				continue
			}
			info := byNIC[ref.res.key()]
			for _, c := range info.ipcs {
				if c.addr == f.addr && s.NIC == "" {
					s.NIC, s.IPConfig, s.HeldBy, s.Epoch = ref.res.id, c.name, n.Name, info.epoch
				}
			}
		}
		if s.NIC == "" && len(unread) > 0 {
			s.Err = fmt.Errorf("find floating IP %s: %w", f.ip, errors.Join(unread...))
		}
		out[i] = s
	}
	return out
}
