package act

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"
)

// Resource kinds in reports and changes.
const (
	KindRouteTable  = "routeTable"
	KindPublicIP    = "publicIp"
	KindFloatingIP  = "floatingIp"
	KindBackendPool = "backendPool"
	KindDNSRecord   = "dnsRecord"
)

// Report says what one Converge did.
type Report struct {
	Target  string
	Started time.Time
	// Resources are route tables, public IPs, floating IPs, backend pools,
	// DNS records, each kind in topology order, then stamped NICs.
	Resources []ResourceResult
	Duration  time.Duration
	// Reads and Writes count the ARM requests sent (every try; LRO status
	// polls are reads), Throttled the 429s for quota among their answers
	// (not RetryableErrorDueToAnotherOperation), over every subscription.
	Reads, Writes, Throttled int
}

// ResourceResult is the outcome for one managed resource.
type ResourceResult struct {
	Kind string // KindRouteTable, KindPublicIP, KindFloatingIP, KindBackendPool, KindDNSRecord or KindNIC
	// ID is the ARM resource ID; for a floating IP, its address.
	ID      string
	Changed bool // a write that changed where it points was accepted by ARM
	// Stamped is true when only its epoch tag was written (ConvergeOptions.Stamp).
	Stamped bool
	// Attempts is 1 plus the number of retries.
	Attempts int
	// Duration runs from the start of Converge to this resource converged
	// (or given up).
	Duration time.Duration
	// Unmatched are the routes of a route table left alone because their
	// next hop has no counterpart on the target (see Unmatched).
	Unmatched []Unmatched
	Err       error
}

// Change is one write a Converge would make.
type Change struct {
	Kind        string // KindRouteTable, KindPublicIP, KindFloatingIP, KindBackendPool or KindDNSRecord
	ResourceID  string // for a floating IP, its address
	Description string // e.g. route "default" (0.0.0.0/0) next hop 10.0.1.4 -> 10.0.1.5
	// Unmatched is true for a route that will NOT be changed because its
	// next hop has no counterpart on the target; Description says why.
	Unmatched bool
}

// Converge makes every managed resource follow target: all route tables in
// parallel (one goroutine each), all public IPs together (one goroutine),
// all floating IPs together (one goroutine), the backend pools and the DNS
// records, each bounded by OperationTimeout. Route tables never wait for
// the two-step NIC moves. Our own writes to one NIC never overlap
// (Engine.lockNIC). It returns a report of every resource and the
// errors.Join of the failures.
//
// A write fenced by a higher EpochTag (see Options.Epoch) is final: the
// resource is not retried, and every other resource of this Converge stops
// at once, its error wrapping the same ErrFenced error.
func (e *Engine) Converge(ctx context.Context, target string) (*Report, error) {
	return e.ConvergeWith(ctx, target, ConvergeOptions{})
}

// ConvergeOptions tune ConvergeWith.
type ConvergeOptions struct {
	// Stamp also writes the epoch tag (Options.Epoch) on every managed route
	// table, load balancer of a managed pool, managed DNS record set and NVA
	// NIC that carries a lower one, changing nothing else, If-Match guarded: a new leader does this when it takes over, so
	// that a write an older leader built before the takeover and that is
	// still on its way fails its If-Match instead of landing (its ETag is
	// stale once the stamp is accepted). Route tables, load balancers and
	// record sets are stamped in the same write as their change, if any;
	// NICs after the public and floating IPs moved.
	Stamp bool
}

// ConvergeWith is Converge with options.
func (e *Engine) ConvergeWith(ctx context.Context, target string, o ConvergeOptions) (*Report, error) {
	if _, ok := e.x.nvas[target]; !ok {
		return nil, fmt.Errorf("converge to nva %q: no such NVA", target)
	}
	start := e.now()
	var n counts
	ctx = withCounts(ctx, &n)
	ctx, stop := context.WithCancelCause(ctx)
	defer stop(nil)
	nics := e.newNICCache(ctx)
	nics.prefetch(e.roleNICs())

	tables := make([]ResourceResult, len(e.x.tables))
	var pips, floats, pools, records, stamped []ResourceResult
	var wg sync.WaitGroup
	for i, m := range e.x.tables {
		wg.Go(func() { tables[i] = e.convergeRouteTable(ctx, m, target, nics, start, stop, o.Stamp) })
	}
	var moves sync.WaitGroup // NIC writes of the public and floating IPs, before the NICs are stamped
	moves.Go(func() { pips = e.convergePublicIPs(ctx, target, start, stop) })
	moves.Go(func() { floats = e.convergeFloatingIPs(ctx, target, start, stop) })
	wg.Go(func() {
		moves.Wait()
		if o.Stamp {
			stamped = e.stampNICs(ctx, start, stop)
		}
	})
	wg.Go(func() { pools = e.convergeBackendPools(ctx, target, nics, start, stop, o.Stamp) })
	wg.Go(func() { records = e.convergeDNSRecords(ctx, target, nics, start, stop, o.Stamp) })
	wg.Wait()

	all := slices.Concat(tables, pips, floats, pools, records, stamped)
	rep := &Report{Target: target, Started: start, Resources: all, Duration: e.now().Sub(start),
		Reads: int(n.reads.Load()), Writes: int(n.writes.Load()), Throttled: int(n.throttled.Load())}
	var errs []error
	for _, r := range rep.Resources {
		if r.Err != nil {
			errs = append(errs, r.Err)
		}
	}
	return rep, errors.Join(errs...)
}

// roleNICs lists the NICs whose addresses the route tables, backend pools
// and DNS records need.
func (e *Engine) roleNICs() []nicRef {
	var refs []nicRef
	seen := map[string]bool{}
	for _, m := range slices.Concat(e.x.tables, e.x.pools, e.x.dns) {
		for _, n := range e.x.topo.NVAs {
			ref, _ := e.x.nic(n.Name, m.via)
			if !seen[ref.res.key()] {
				seen[ref.res.key()] = true
				refs = append(refs, ref)
			}
		}
	}
	return refs
}

// Plan returns the writes Converge(ctx, target) would make now, from the
// same reads, without writing. A write that would be fenced (see
// Options.Epoch) is listed with a description that says so.
func (e *Engine) Plan(ctx context.Context, target string) ([]Change, error) {
	if _, ok := e.x.nvas[target]; !ok {
		return nil, fmt.Errorf("plan convergence to nva %q: no such NVA", target)
	}
	ctx, cancel := context.WithTimeout(ctx, e.opts.OperationTimeout)
	defer cancel()
	nics := e.newNICCache(ctx)
	nics.prefetch(e.roleNICs())

	tableChanges := make([][]Change, len(e.x.tables))
	pipChanges := make([][]Change, len(e.x.pips))
	errs := make([]error, len(e.x.tables)+len(e.x.pips))
	var wg sync.WaitGroup
	for i, m := range e.x.tables {
		wg.Go(func() {
			_, errs[i] = e.retry(ctx, m.res.name, func(ctx context.Context) error {
				ips, err := e.roleIPs(ctx, nics, m.via, target)
				if err != nil {
					return err
				}
				rt, err := e.getRouteTable(ctx, m.res)
				if err != nil {
					return err
				}
				tableChanges[i] = nil
				note := e.fenceNote(e.epochOf(m.res, rt.Tags))
				ch, stuck := routeChanges(&rt, ips)
				for _, c := range ch {
					tableChanges[i] = append(tableChanges[i], Change{Kind: KindRouteTable, ResourceID: m.res.id, Description: c.String() + note})
				}
				for _, u := range stuck {
					tableChanges[i] = append(tableChanges[i], Change{Kind: KindRouteTable, ResourceID: m.res.id, Description: u.String(), Unmatched: true})
				}
				return nil
			})
			if errs[i] != nil {
				errs[i] = fmt.Errorf("plan route table %q: %w", m.res.name, errs[i])
			}
		})
	}
	for i, m := range e.x.pips {
		wg.Go(func() {
			_, err := e.retry(ctx, m.res.name, func(ctx context.Context) error {
				v, err := e.readPublicIP(ctx, m)
				if err != nil {
					return err
				}
				s, err := e.stepFor(v, target)
				if err != nil || s.done {
					return err
				}
				info, err := nics.get(ctx, s.attach)
				if err != nil {
					return err
				}
				want := pipTarget(info.ipcs, v.ipconfig, v.v6)
				if !info.exists || want == nil {
					return permanent(fmt.Errorf("nic %q of nva %q has no %s ipconfig", s.attach.res.name, target, version(v.v6)))
				}
				if want.publicIP != "" && !sameID(want.publicIP, m.res.id) {
					return permanent(fmt.Errorf("ipconfig %s/%s already holds public IP %s", s.attach.res.name, want.name, want.publicIP))
				}
				var ch []Change
				if s.detach != nil {
					note := ""
					if e.epoch() > 0 {
						old, err := nics.get(ctx, *s.detach)
						if err != nil {
							return err
						}
						note = e.fenceNote(old.epoch)
					}
					ch = append(ch, Change{Kind: KindPublicIP, ResourceID: m.res.id,
						Description: fmt.Sprintf("detach public IP %s from nic %s/%s%s", m.res.name, s.detach.res.name, v.ipconfig, note)})
				}
				ch = append(ch, Change{Kind: KindPublicIP, ResourceID: m.res.id,
					Description: fmt.Sprintf("attach public IP %s to nic %s/%s%s", m.res.name, s.attach.res.name, want.name, e.fenceNote(info.epoch))})
				pipChanges[i] = ch
				return nil
			})
			if err != nil {
				errs[len(e.x.tables)+i] = fmt.Errorf("plan public IP %q: %w", m.res.name, err)
			}
		})
	}
	var more [3][]Change
	var moreErrs [3]error
	wg.Go(func() { more[0], moreErrs[0] = e.planFloatingIPs(ctx, target, nics) })
	wg.Go(func() { more[1], moreErrs[1] = e.planBackendPools(ctx, target, nics) })
	wg.Go(func() { more[2], moreErrs[2] = e.planDNSRecords(ctx, target, nics) })
	wg.Wait()
	var out []Change
	for _, c := range append(append(tableChanges, pipChanges...), more[:]...) {
		out = append(out, c...)
	}
	return out, errors.Join(append(errs, moreErrs[:]...)...)
}
