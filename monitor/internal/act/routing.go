package act

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/network/armnetwork/v7"
)

// routeChange is one NVA route whose next hop must move.
type routeChange struct {
	route, prefix, from, to string
}

func (c routeChange) String() string {
	return fmt.Sprintf("route %q (%s) next hop %s -> %s", c.route, c.prefix, c.from, c.to)
}

// isApplianceRoute reports whether r sends traffic to a virtual appliance.
func isApplianceRoute(r *armnetwork.Route) bool {
	return r != nil && r.Properties != nil && r.Properties.NextHopType != nil &&
		strings.EqualFold(string(*r.Properties.NextHopType), string(armnetwork.RouteNextHopTypeVirtualAppliance))
}

// routeChanges lists the routes of rt whose next hop is an address of an
// NVA NIC of the table's role but not the target's, with the target's
// counterpart (see counterpart), and the routes whose next hop has no
// counterpart on the target (left alone). Every other route is left alone:
// Internet, VnetLocal, appliances that are not NVAs of this topology, and
// routes over NICs of another role.
func routeChanges(rt *armnetwork.RouteTable, ips roleIPs) ([]routeChange, []Unmatched) {
	if rt.Properties == nil {
		return nil, nil
	}
	var out []routeChange
	var stuck []Unmatched
	for _, r := range rt.Properties.Routes {
		if !isApplianceRoute(r) {
			continue
		}
		hop := strings.TrimSpace(deref(r.Properties.NextHopIPAddress))
		to, o, reason := ips.move(hop)
		switch {
		case reason != "":
			stuck = append(stuck, Unmatched{Route: deref(r.Name), AddressPrefix: deref(r.Properties.AddressPrefix),
				NextHop: hop, From: o.nva, To: ips.target, Reason: reason})
		case to.IsValid():
			out = append(out, routeChange{route: deref(r.Name), prefix: deref(r.Properties.AddressPrefix), from: hop, to: to.String()})
		}
	}
	return out, stuck
}

// applyRouteChanges sets the next hops of rt as routeChanges said.
func applyRouteChanges(rt *armnetwork.RouteTable, ips roleIPs) {
	for _, r := range rt.Properties.Routes {
		if !isApplianceRoute(r) {
			continue
		}
		if to, _, _ := ips.move(deref(r.Properties.NextHopIPAddress)); to.IsValid() {
			s := to.String()
			r.Properties.NextHopIPAddress = &s
		}
	}
}

// terminal reports whether a provisioningState is final (absent = Succeeded).
func terminal(ps *armnetwork.ProvisioningState) bool {
	if ps == nil {
		return true
	}
	switch strings.ToLower(string(*ps)) {
	case "succeeded", "failed", "canceled":
		return true
	}
	return false
}

// convergeRouteTable makes every NVA route of one table point at target:
// read, compare, write only the difference as one PUT of the whole table
// with If-Match, re-read and recompute on any failure.
// A fenced write stops the rest of the Converge through stop.
func (e *Engine) convergeRouteTable(ctx context.Context, m managed, target string, nics *nicCache, start time.Time, stop context.CancelCauseFunc, stampAll bool) ResourceResult {
	res := ResourceResult{Kind: KindRouteTable, ID: m.res.id}
	ctx, cancel := context.WithTimeout(ctx, e.opts.OperationTimeout)
	defer cancel()
	var changes []routeChange
	var stuck []Unmatched
	cached := e.opts.CacheFor > 0 // the first read may come from Observe's (cache.go)
	s := e.mustSub(m.res.sub)
	res.Attempts, res.Err = e.retry(ctx, m.res.name, func(ctx context.Context) error {
		ips, err := e.roleIPs(ctx, nics, m.via, target)
		if err != nil {
			return err
		}
		for {
			// A table is read and decided on in the light form Observe
			// uses (routeTableWire), and decoded into the SDK's model only
			// to be written. It is read and decoded holding one of its
			// subscription's decide slots: hundreds of tables decoded at
			// once, most then waiting for a read token, made the monitor's
			// peak memory (BenchmarkDaemonResources with 500 tables).
			var w routeTableWire
			var body []byte
			fromCache := false
			if err := s.decide.acquire(ctx); err != nil {
				return err
			}
			if cached {
				cached = false
				body, fromCache = e.tables.body(m.res, e.now().Add(-e.opts.CacheFor))
				fromCache = fromCache && json.Unmarshal(body, &w) == nil
			}
			if !fromCache {
				if w, body, err = e.readRouteTable(ctx, m.res); err != nil {
					s.decide.release()
					return err
				}
			}
			s.decide.release()
			light := w.model()
			ch, un := routeChanges(&light, ips)
			if fromCache && len(ch) == 0 {
				continue // nothing to write: confirm with a fresh read
			}
			stuck = un
			stamp := len(ch) == 0 && stampAll && e.epoch() > 0 && e.epochOf(m.res, light.Tags) < e.epoch() &&
				terminal(light.Properties.ProvisioningState)
			if len(ch) == 0 && !stamp {
				if !terminal(light.Properties.ProvisioningState) {
					// Right content, write still in flight (ours, whose poll
					// failed, or someone's): wait until it settles.
					if err := sleep(ctx, e.opts.PollInterval); err != nil {
						return err
					}
					continue
				}
				return nil
			}
			// The whole table as ARM sent it, for the write.
			var rt armnetwork.RouteTable
			if err := json.Unmarshal(body, &rt); err != nil {
				return fmt.Errorf("get route table %q: decode: %w", m.res.name, err)
			}
			if stamp {
				// Right content, older epoch: stamp ours, nothing else.
				accepted, err := e.putRouteTable(ctx, m.res, rt)
				res.Stamped = res.Stamped || accepted
				return err
			}
			applyRouteChanges(&rt, ips)
			accepted, err := e.putRouteTable(ctx, m.res, rt)
			if accepted {
				res.Changed = true
				changes = ch
			}
			return err
		}
	})
	res.Duration = e.now().Sub(start)
	res.Unmatched = stuck
	for _, u := range stuck {
		e.log.LogAttrs(ctx, slog.LevelWarn, EventRouteUnmatched, attrEvent(EventRouteUnmatched),
			attrStr(keyRouteTable, m.res.name), attrStr("route", u.Route), attrStr("next_hop", u.NextHop),
			attrStr(keyNVA, target), attrStr(keyReason, u.Reason))
	}
	if res.Err = settle(ctx, res.Err, stop); res.Err != nil {
		res.Err = fmt.Errorf("converge route table %q to nva %q: %w", m.res.name, target, res.Err)
		attrs := []slog.Attr{attrEvent(EventConvergeFailed),
			attrStr(keyRouteTable, m.res.name), attrStr(keyNVA, target), attrStr(keyReason, failureReason(res.Err)), attrErr(res.Err),
			attrInt("attempts", res.Attempts), attrDur(keyDuration, res.Duration)}
		e.log.LogAttrs(ctx, slog.LevelError, EventConvergeFailed, append(attrs, fenceAttrs(res.Err)...)...)
		return res
	}
	level := slog.LevelDebug
	if res.Changed {
		level = slog.LevelInfo
	}
	attrs := []slog.Attr{attrEvent(EventRouteTableConverged), attrStr(keyRouteTable, m.res.name), attrStr(keyNVA, target),
		slog.Bool("changed", res.Changed), attrInt("attempts", res.Attempts), attrDur(keyDuration, res.Duration)}
	if len(changes) > 0 {
		attrs = append(attrs, slog.Int("routes", len(changes)))
	}
	e.log.LogAttrs(ctx, level, EventRouteTableConverged, attrs...)
	return res
}
