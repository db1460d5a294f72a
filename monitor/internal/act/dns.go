package act

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/privatedns/armprivatedns"

	"github.com/hanva/hanva/monitor/internal/azure"
)

// Private DNS records (Topology.DNSRecords): A or AAAA record sets in an
// Azure Private DNS zone that hold the active NVA's address of their role
// and no other NVA's. Record sets carry metadata, not tags: the epoch is
// fenced with the metadata key EpochTag.

// DNSRecordState is a managed record set as read.
type DNSRecordState struct {
	ID, Via string
	Type    string // A or AAAA
	// Addresses are its records, as read.
	Addresses []string
	// PointsAt lists the NVAs (in topology order) one of whose addresses of
	// role Via is a record.
	PointsAt []string
	TTL      int64
	// Epoch is its EpochTag metadata (0 if none).
	Epoch int64
	// Err is why it could not be read.
	Err error
}

func (x *index) parseDNSRecords(list []Managed) error {
	seen := map[string]bool{}
	for _, m := range list {
		rid, err := arm.ParseResourceID(m.ID)
		if err != nil {
			return fmt.Errorf("check topology: DNS record: parse resource ID %q: %w", m.ID, err)
		}
		typ := rid.ResourceType.Type
		var rt string
		switch {
		case strings.EqualFold(typ, "privateDnsZones/A"):
			rt = "A"
		case strings.EqualFold(typ, "privateDnsZones/AAAA"):
			rt = "AAAA"
		}
		if !strings.EqualFold(rid.ResourceType.Namespace, "Microsoft.Network") || rt == "" {
			return fmt.Errorf("check topology: DNS record: resource ID %q is a %s/%s, want Microsoft.Network/privateDnsZones/A or /AAAA",
				m.ID, rid.ResourceType.Namespace, typ)
		}
		res, err := parseResource(m.ID, typ)
		if err != nil {
			return fmt.Errorf("check topology: DNS record: %w", err)
		}
		res.recordType = rt
		if seen[res.key()] {
			return fmt.Errorf("check topology: DNS record %s listed twice", m.ID)
		}
		seen[res.key()] = true
		if m.Via == "" {
			return fmt.Errorf("check topology: DNS record %s has no via role", m.ID)
		}
		for _, n := range x.topo.NVAs {
			if _, ok := n.NICs[m.Via]; !ok {
				return fmt.Errorf("check topology: DNS record %s rides on role %q, but nva %q has no nic of that role", m.ID, m.Via, n.Name)
			}
		}
		x.dns = append(x.dns, managed{res: res, via: m.Via})
	}
	return nil
}

// dnsChange is one record of a record set that a converge changes: from
// (an address of NVA fromNVA) is replaced by to, or removed when to is
// invalid (the target's counterpart is already a record, or there is
// none); a record added where there was no NVA record has no from.
type dnsChange struct {
	from     string
	fromNVA  string
	to       netip.Addr
	target   string
	fallback bool // to is the target's primary address of the record type's version, not a counterpart
}

func (c dnsChange) String() string {
	switch {
	case c.from == "":
		return fmt.Sprintf("add %s (%s)", c.to, c.target)
	case !c.to.IsValid():
		return fmt.Sprintf("remove %s (%s)", c.from, c.fromNVA)
	case c.fallback:
		return fmt.Sprintf("%s (%s) -> %s (%s, its primary address: no counterpart)", c.from, c.fromNVA, c.to, c.target)
	}
	return fmt.Sprintf("%s (%s) -> %s (%s)", c.from, c.fromNVA, c.to, c.target)
}

// dnsRecords returns the addresses of a record set of type rt ("A" or
// "AAAA") as read, in order.
func dnsRecords(rs *armprivatedns.RecordSet, rt string) []string {
	if rs.Properties == nil {
		return nil
	}
	var out []string
	if rt == "AAAA" {
		for _, r := range rs.Properties.AaaaRecords {
			if r != nil {
				out = append(out, deref(r.IPv6Address))
			}
		}
		return out
	}
	for _, r := range rs.Properties.ARecords {
		if r != nil {
			out = append(out, deref(r.IPv4Address))
		}
	}
	return out
}

// setDNSRecords replaces the records of a record set of type rt.
func setDNSRecords(rs *armprivatedns.RecordSet, rt string, addrs []string) {
	if rs.Properties == nil {
		rs.Properties = &armprivatedns.RecordSetProperties{}
	}
	if rt == "AAAA" {
		recs := make([]*armprivatedns.AaaaRecord, 0, len(addrs))
		for _, a := range addrs {
			recs = append(recs, &armprivatedns.AaaaRecord{IPv6Address: &a})
		}
		rs.Properties.AaaaRecords = recs
		return
	}
	recs := make([]*armprivatedns.ARecord, 0, len(addrs))
	for _, a := range addrs {
		recs = append(recs, &armprivatedns.ARecord{IPv4Address: &a})
	}
	rs.Properties.ARecords = recs
}

// dnsRecordChanges computes the records a record set of type rt must hold
// to point at ips.target. Owned are the records that are addresses of NVA
// NICs of the record set's role (ips.owner; floating addresses are not in
// it): every other NVA's address is removed and replaced, in its place, by
// the target's counterpart (see counterpart), unless that is already a
// record; a record set with no address of the target afterwards (none had
// a counterpart, or it held no NVA address at all) gets the target's
// primary address of the record type's IP version (IPv4 for A, IPv6 for
// AAAA; an address of the other version never goes in). Records that are
// no NVA's address of the role stay, in order. It fails, permanently, when
// the target's NIC has no address of the record type's version to add.
func dnsRecordChanges(records []string, rt string, ips roleIPs) (out []string, changes []dnsChange, err error) {
	v6 := rt == "AAAA"
	// A record stays when it is no NVA address of the role, or the target's.
	seen := map[netip.Addr]bool{}
	hasTarget := false
	owned := make([]*hopOwner, len(records))
	for i, r := range records {
		a, ok := parseHop(r)
		if !ok {
			continue
		}
		if o, ours := ips.owner[a]; ours && o.nva != ips.target {
			owned[i] = &o
			continue
		}
		seen[a] = true
		if o, ours := ips.owner[a]; ours && o.nva == ips.target {
			hasTarget = true
		}
	}
	for i, r := range records {
		o := owned[i]
		if o == nil {
			out = append(out, r)
			continue
		}
		ch := dnsChange{from: r, fromNVA: o.nva, target: ips.target}
		if c, _ := counterpart(o.ipc, ips.to.ipcs); c != nil && c.addr.IsValid() && c.v6 == v6 && c.addr.Is6() == v6 && !seen[c.addr] {
			seen[c.addr] = true
			hasTarget = true
			out = append(out, c.addr.String())
			ch.to = c.addr
		}
		changes = append(changes, ch)
	}
	if hasTarget {
		return out, changes, nil
	}
	p := primaryOf(ips.to.ipcs, v6)
	if p == nil || !p.addr.IsValid() || p.addr.Is6() != v6 {
		return nil, nil, permanent(fmt.Errorf("nic %q of nva %q has no %s address for %s record set",
			ips.to.ref.res.name, ips.target, version(v6), rt))
	}
	if seen[p.addr] {
		return out, changes, nil
	}
	out = append(out, p.addr.String())
	// Say it as the replacement of the first record removed, if any.
	for i := range changes {
		if !changes[i].to.IsValid() {
			changes[i].to, changes[i].fallback = p.addr, true
			return out, changes, nil
		}
	}
	return out, append(changes, dnsChange{to: p.addr, target: ips.target, fallback: true}), nil
}

func (e *Engine) dnsClient(r resource) *armprivatedns.RecordSetsClient {
	return e.mustSub(r.sub).dns.NewRecordSetsClient()
}

// getRecordSet reads a managed record set.
func (e *Engine) getRecordSet(ctx context.Context, r resource) (armprivatedns.RecordSet, error) {
	resp, err := e.dnsClient(r).Get(withPrio(ctx, prioFirst), r.group, r.parent, armprivatedns.RecordType(r.recordType), r.name, nil)
	if err != nil {
		return armprivatedns.RecordSet{}, azure.Classify(fmt.Errorf("get %s record set %q of zone %q: %w", r.recordType, r.name, r.parent, err))
	}
	return resp.RecordSet, nil
}

// stampMetadata is stamp for a record set's metadata, which takes the place
// of ARM tags on Private DNS record sets: the same key EpochTag (compared
// case-insensitively), the same rules (a higher epoch fences the write, a
// value that is not an integer counts as 0).
func (e *Engine) stampMetadata(r resource, md map[string]*string) (map[string]*string, error) {
	md, err := e.stamp(r, md)
	if err != nil {
		return md, fmt.Errorf("metadata: %w", err)
	}
	return md, nil
}

// putRecordSet writes rs (as read, with its change, its metadata stamped
// with our epoch unless fenced) with If-Match: the ETag it was read with.
// Record set writes are synchronous (docs/azure-behaviour.md#private-dns):
// the answer is the outcome. accepted is true once ARM took the write.
func (e *Engine) putRecordSet(ctx context.Context, r resource, rs armprivatedns.RecordSet) (accepted bool, err error) {
	what := fmt.Sprintf("update %s record set %q of zone %q", r.recordType, r.name, r.parent)
	if ctx, err = e.beforeWrite(withPrio(ctx, prioFirst), r); err != nil {
		return false, fmt.Errorf("%s: %w", what, err)
	}
	if rs.Properties == nil {
		rs.Properties = &armprivatedns.RecordSetProperties{}
	}
	if rs.Properties.Metadata, err = e.stampMetadata(r, rs.Properties.Metadata); err != nil {
		return false, fmt.Errorf("%s: %w", what, err)
	}
	etag := rs.Etag
	clearRecordSetReadOnly(&rs)
	var opts *armprivatedns.RecordSetsClientCreateOrUpdateOptions
	if etag != nil && *etag != "" {
		opts = &armprivatedns.RecordSetsClientCreateOrUpdateOptions{IfMatch: etag}
	}
	if _, err := e.dnsClient(r).CreateOrUpdate(ctx, r.group, r.parent, armprivatedns.RecordType(r.recordType), r.name, rs, opts); err != nil {
		return false, azure.Classify(fmt.Errorf("%s: %w", what, err))
	}
	return true, nil
}

// clearRecordSetReadOnly drops what the REST specification marks read-only
// in a record set (fqdn, isAutoRegistered; id, name and type are ignored on
// PUT and go back as read, as for route tables) and the ETag, which is sent
// as If-Match instead.
func clearRecordSetReadOnly(rs *armprivatedns.RecordSet) {
	rs.Etag = nil
	if rs.Properties != nil {
		rs.Properties.Fqdn = nil
		rs.Properties.IsAutoRegistered = nil
	}
}

// dnsFenceNote is fenceNote for a record set's metadata.
func (e *Engine) dnsFenceNote(theirs int64) string {
	if ours := e.epoch(); ours > 0 && theirs > ours {
		return fmt.Sprintf(" (fenced: it carries metadata %s %d, ours is %d; would not be written)", EpochTag, theirs, ours)
	}
	return ""
}

// convergeDNSRecords makes every managed record set point at target, one
// goroutine each: read, compute, and write only the difference as one PUT
// of the whole record set with If-Match, re-read and recomputed on any
// failure (a 412 included). A missing record set is an error (not_found):
// the deployment owns it, the engine never creates one. A fenced write
// stops the rest of the Converge through stop.
func (e *Engine) convergeDNSRecords(ctx context.Context, target string, nics *nicCache, start time.Time, stop context.CancelCauseFunc, stampAll bool) []ResourceResult {
	out := make([]ResourceResult, len(e.x.dns))
	var wg sync.WaitGroup
	for i, m := range e.x.dns {
		wg.Go(func() { out[i] = e.convergeDNSRecord(ctx, m, target, nics, start, stop, stampAll) })
	}
	wg.Wait()
	return out
}

func (e *Engine) convergeDNSRecord(ctx context.Context, m managed, target string, nics *nicCache, start time.Time, stop context.CancelCauseFunc, stampAll bool) ResourceResult {
	res := ResourceResult{Kind: KindDNSRecord, ID: m.res.id}
	ctx, cancel := context.WithTimeout(ctx, e.opts.OperationTimeout)
	defer cancel()
	var changes []dnsChange
	res.Attempts, res.Err = e.retry(ctx, m.res.name, func(ctx context.Context) error {
		ips, err := e.roleIPs(ctx, nics, m.via, target)
		if err != nil {
			return err
		}
		rs, err := e.getRecordSet(ctx, m.res)
		if err != nil {
			return err
		}
		records := dnsRecords(&rs, m.res.recordType)
		want, ch, err := dnsRecordChanges(records, m.res.recordType, ips)
		if err != nil {
			return err
		}
		if slices.Equal(want, records) {
			var md map[string]*string
			if rs.Properties != nil {
				md = rs.Properties.Metadata
			}
			if stampAll && e.epoch() > 0 && e.epochOf(m.res, md) < e.epoch() {
				// Right records, older epoch: stamp ours, nothing else.
				accepted, err := e.putRecordSet(ctx, m.res, rs)
				res.Stamped = res.Stamped || accepted
				return err
			}
			return nil
		}
		setDNSRecords(&rs, m.res.recordType, want)
		accepted, err := e.putRecordSet(ctx, m.res, rs)
		if accepted {
			res.Changed = true
			changes = ch
		}
		return err
	})
	res.Duration = e.now().Sub(start)
	if res.Err = settle(ctx, res.Err, stop); res.Err != nil {
		res.Err = fmt.Errorf("converge %s record set %q to nva %q: %w", m.res.recordType, m.res.name, target, res.Err)
		attrs := []slog.Attr{attrEvent(EventConvergeFailed),
			attrStr(keyDNSRecord, m.res.name), attrStr(keyNVA, target), attrStr(keyReason, failureReason(res.Err)), attrErr(res.Err),
			attrInt("attempts", res.Attempts), attrDur(keyDuration, res.Duration)}
		e.log.LogAttrs(ctx, slog.LevelError, EventConvergeFailed, append(attrs, fenceAttrs(res.Err)...)...)
		return res
	}
	level := slog.LevelDebug
	if res.Changed {
		level = slog.LevelInfo
	}
	attrs := []slog.Attr{attrEvent(EventDNSRecordConverged), attrStr(keyDNSRecord, m.res.name), attrStr("zone", m.res.parent),
		attrStr("type", m.res.recordType), attrStr(keyNVA, target), slog.Bool("changed", res.Changed),
		attrInt("attempts", res.Attempts), attrDur(keyDuration, res.Duration)}
	if len(changes) > 0 {
		attrs = append(attrs, slog.Int("records", len(changes)))
	}
	e.log.LogAttrs(ctx, level, EventDNSRecordConverged, attrs...)
	return res
}

// planDNSRecords lists the record changes Converge would make, from the
// same reads, without writing.
func (e *Engine) planDNSRecords(ctx context.Context, target string, nics *nicCache) ([]Change, error) {
	out := make([][]Change, len(e.x.dns))
	errs := make([]error, len(e.x.dns))
	var wg sync.WaitGroup
	for i, m := range e.x.dns {
		wg.Go(func() {
			_, err := e.retry(ctx, m.res.name, func(ctx context.Context) error {
				ips, err := e.roleIPs(ctx, nics, m.via, target)
				if err != nil {
					return err
				}
				rs, err := e.getRecordSet(ctx, m.res)
				if err != nil {
					return err
				}
				_, ch, err := dnsRecordChanges(dnsRecords(&rs, m.res.recordType), m.res.recordType, ips)
				if err != nil {
					return err
				}
				var md map[string]*string
				if rs.Properties != nil {
					md = rs.Properties.Metadata
				}
				note := e.dnsFenceNote(e.epochOf(m.res, md))
				out[i] = nil
				for _, c := range ch {
					out[i] = append(out[i], Change{Kind: KindDNSRecord, ResourceID: m.res.id,
						Description: fmt.Sprintf("%s record set %q: %s%s", m.res.recordType, m.res.name, c, note)})
				}
				return nil
			})
			if err != nil {
				errs[i] = fmt.Errorf("plan %s record set %q: %w", m.res.recordType, m.res.name, err)
			}
		})
	}
	wg.Wait()
	return slices.Concat(out...), errors.Join(errs...)
}

// observeDNSRecords reads the record sets (in parallel, each with the
// engine's retries); the function it returns attributes their addresses to
// NVAs once Observe has read the NICs.
func (e *Engine) observeDNSRecords(ctx context.Context) func(owner map[netip.Addr]hopOwner) []DNSRecordState {
	states := make([]DNSRecordState, len(e.x.dns))
	var wg sync.WaitGroup
	for i, m := range e.x.dns {
		states[i] = DNSRecordState{ID: m.res.id, Via: m.via, Type: m.res.recordType}
		wg.Go(func() {
			_, err := e.retry(ctx, m.res.name, func(ctx context.Context) error {
				rs, err := e.getRecordSet(ctx, m.res)
				if err != nil {
					return err
				}
				s := &states[i]
				s.Addresses = dnsRecords(&rs, m.res.recordType)
				if rs.Properties != nil {
					s.TTL = deref(rs.Properties.TTL)
					s.Epoch = e.epochOf(m.res, rs.Properties.Metadata)
				}
				return nil
			})
			if err != nil {
				states[i].Err = fmt.Errorf("read %s record set %q: %w", m.res.recordType, m.res.name, err)
			}
		})
	}
	wg.Wait()
	return func(owner map[netip.Addr]hopOwner) []DNSRecordState {
		for i := range states {
			s := &states[i]
			if s.Err != nil {
				continue
			}
			at := map[string]bool{}
			for _, r := range s.Addresses {
				if a, ok := parseHop(r); ok {
					if o, ours := owner[a]; ours && o.role == s.Via {
						at[o.nva] = true
					}
				}
			}
			for _, n := range e.x.topo.NVAs {
				if at[n.Name] {
					s.PointsAt = append(s.PointsAt, n.Name)
				}
			}
		}
		return states
	}
}
