package act

import (
	"context"
	"fmt"
	"net/netip"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"
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

func (e *Engine) convergeDNSRecords(ctx context.Context, target string, nics *nicCache, start time.Time, stop context.CancelCauseFunc, stampAll bool) []ResourceResult {
	var out []ResourceResult
	for _, m := range e.x.dns {
		out = append(out, ResourceResult{Kind: KindDNSRecord, ID: m.res.id, Attempts: 1, Err: errNotYet})
	}
	return out
}

func (e *Engine) planDNSRecords(ctx context.Context, target string, nics *nicCache) ([]Change, error) {
	if len(e.x.dns) > 0 {
		return nil, errNotYet
	}
	return nil, nil
}

// observeDNSRecords reads the record sets; the function it returns
// attributes their addresses to NVAs once Observe has read the NICs.
func (e *Engine) observeDNSRecords(ctx context.Context) func(owner map[netip.Addr]hopOwner) []DNSRecordState {
	return func(map[netip.Addr]hopOwner) []DNSRecordState {
		var out []DNSRecordState
		for _, m := range e.x.dns {
			out = append(out, DNSRecordState{ID: m.res.id, Via: m.via, Type: m.res.recordType, Err: errNotYet})
		}
		return out
	}
}
