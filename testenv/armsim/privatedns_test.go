package armsim_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/fake"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/privatedns/armprivatedns"

	"github.com/hanva/hanva/testenv/armsim"
)

const (
	zoneName = "nva.internal"
	zoneID   = netPath + "/privateDnsZones/" + zoneName
	recordID = zoneID + "/A/egress"
)

func dnsClients(t *testing.T, e *env) (*armprivatedns.PrivateZonesClient, *armprivatedns.RecordSetsClient) {
	t.Helper()
	f, err := armprivatedns.NewClientFactory(sub, &fake.TokenCredential{}, clientOptions(e.srv))
	if err != nil {
		t.Fatalf("new private DNS client factory: %v", err)
	}
	return f.NewPrivateZonesClient(), f.NewRecordSetsClient()
}

func aRecordSet(ttl int64, metadata map[string]string, ips ...string) armprivatedns.RecordSet {
	rs := armprivatedns.RecordSet{Properties: &armprivatedns.RecordSetProperties{TTL: to(ttl), Metadata: map[string]*string{}}}
	for k, v := range metadata {
		rs.Properties.Metadata[k] = to(v)
	}
	for _, ip := range ips {
		rs.Properties.ARecords = append(rs.Properties.ARecords, &armprivatedns.ARecord{IPv4Address: to(ip)})
	}
	return rs
}

func TestPrivateDNSZoneCreateIsAnLROAndRecordSetWritesAreSynchronous(t *testing.T) {
	e := start(t, armsim.Options{LROLatency: 20 * time.Millisecond})
	c := ctx(t)
	zones, records := dnsClients(t, e)

	_, err := records.CreateOrUpdate(c, rg, zoneName, armprivatedns.RecordTypeA, "egress", aRecordSet(10, nil, "10.0.1.4"), nil)
	re := wantARMError(t, err, http.StatusNotFound, "ParentResourceNotFound")
	if !strings.Contains(re.Error(), "Parent resource '"+zoneName+"' not found") {
		t.Errorf("error message: %v", re)
	}

	p, err := zones.BeginCreateOrUpdate(c, rg, zoneName, armprivatedns.PrivateZone{Location: to("global")}, nil)
	if err != nil {
		t.Fatalf("create zone: %v", err)
	}
	zone, polls := pollManually(t, c, p)
	if raw := resourceJSON(t, e.srv, zoneID)["properties"].(map[string]any); raw["resourceGuid"] != nil {
		t.Errorf("a private zone has no resourceGuid: %v", raw)
	}
	if polls == 0 || *zone.ID != zoneID || *zone.Type != "Microsoft.Network/privateDnsZones" ||
		*zone.Properties.ProvisioningState != armprivatedns.ProvisioningStateSucceeded {
		t.Fatalf("zone after %d polls: %+v %+v", polls, zone, zone.Properties)
	}

	created, err := records.CreateOrUpdate(c, rg, zoneName, armprivatedns.RecordTypeA, "Egress",
		aRecordSet(10, map[string]string{"hanva-epoch": "1", "hanva-active": "nva-a"}, "10.0.1.4"), nil)
	if err != nil {
		t.Fatalf("create record set: %v", err)
	}
	got := created.RecordSet
	if *got.ID != recordID || *got.Name != "egress" || *got.Type != "Microsoft.Network/privateDnsZones/A" ||
		*got.Properties.Fqdn != "egress."+zoneName+"." || *got.Properties.IsAutoRegistered || *got.Properties.TTL != 10 ||
		*got.Properties.ARecords[0].IPv4Address != "10.0.1.4" || *got.Properties.Metadata["hanva-epoch"] != "1" {
		t.Fatalf("created record set: %+v %+v", got, got.Properties)
	}
	if got.Etag == nil || strings.HasPrefix(*got.Etag, "W/") {
		t.Fatalf("record set etag %v: want a plain GUID, as the REST examples show", got.Etag)
	}
	// Synchronous: one write_accepted and one write_succeeded, nothing to poll.
	var kinds []string
	for _, ev := range e.srv.Events(0) {
		if ev.ResourceID == recordID {
			kinds = append(kinds, ev.Kind+":"+strings.Join(ev.Changes, ";"))
		}
	}
	want := []string{
		`write_rejected:`, // the PUT before the zone existed
		`write_accepted:created;aRecords (none) -> 10.0.1.4;ttl (none) -> 10;metadata "hanva-active" (none) -> "nva-a";metadata "hanva-epoch" (none) -> "1"`,
		`write_succeeded:created;aRecords (none) -> 10.0.1.4;ttl (none) -> 10;metadata "hanva-active" (none) -> "nva-a";metadata "hanva-epoch" (none) -> "1"`,
	}
	if strings.Join(kinds, "\n") != strings.Join(want, "\n") {
		t.Fatalf("events of the record set:\n%s\nwant:\n%s", strings.Join(kinds, "\n"), strings.Join(want, "\n"))
	}

	read, err := records.Get(c, rg, zoneName, armprivatedns.RecordTypeA, "egress", nil)
	if err != nil || *read.Etag != *got.Etag || len(read.Properties.Metadata) != 2 || *read.Properties.Metadata["hanva-active"] != "nva-a" {
		t.Fatalf("read back: %v %+v", err, read.Properties)
	}
	_, err = records.Get(c, rg, zoneName, armprivatedns.RecordTypeA, "nope", nil)
	wantARMError(t, err, http.StatusNotFound, "NotFound")
}

func TestPrivateDNSRecordSetIfMatch(t *testing.T) {
	e := start(t, armsim.Options{})
	c := ctx(t)
	_, records := dnsClients(t, e)
	seed(t, e.srv, zoneID, `{"location":"global","properties":{}}`)
	seed(t, e.srv, recordID, `{"properties":{"ttl":10,"metadata":{"hanva-epoch":"1"},"aRecords":[{"ipv4Address":"10.0.1.4"}]}}`)

	cur, err := records.Get(c, rg, zoneName, armprivatedns.RecordTypeA, "egress", nil)
	if err != nil {
		t.Fatalf("get: %v", err)
	}
	stale := *cur.Etag

	// The failover: point the name at the standby, fenced by the etag read.
	next := cur.RecordSet
	next.Properties.ARecords = []*armprivatedns.ARecord{{IPv4Address: to("10.0.1.5")}}
	next.Properties.Metadata["hanva-epoch"] = to("2")
	updated, err := records.CreateOrUpdate(c, rg, zoneName, armprivatedns.RecordTypeA, "egress", next,
		&armprivatedns.RecordSetsClientCreateOrUpdateOptions{IfMatch: to(stale)})
	if err != nil {
		t.Fatalf("update with the current etag: %v", err)
	}
	if *updated.Etag == stale || *updated.Properties.ARecords[0].IPv4Address != "10.0.1.5" || *updated.Properties.Metadata["hanva-epoch"] != "2" {
		t.Fatalf("after the update: etag %s, %+v", *updated.Etag, updated.Properties)
	}

	// A monitor that read before that update must not overwrite it.
	_, err = records.CreateOrUpdate(c, rg, zoneName, armprivatedns.RecordTypeA, "egress", cur.RecordSet,
		&armprivatedns.RecordSetsClientCreateOrUpdateOptions{IfMatch: to(stale)})
	wantARMError(t, err, http.StatusPreconditionFailed, "PreconditionFailed")
	_, err = records.Update(c, rg, zoneName, armprivatedns.RecordTypeA, "egress", armprivatedns.RecordSet{},
		&armprivatedns.RecordSetsClientUpdateOptions{IfMatch: to(stale)})
	wantARMError(t, err, http.StatusPreconditionFailed, "PreconditionFailed")
	_, err = records.Delete(c, rg, zoneName, armprivatedns.RecordTypeA, "egress", &armprivatedns.RecordSetsClientDeleteOptions{IfMatch: to(stale)})
	wantARMError(t, err, http.StatusPreconditionFailed, "PreconditionFailed")

	// If-None-Match: * creates only.
	_, err = records.CreateOrUpdate(c, rg, zoneName, armprivatedns.RecordTypeA, "egress", next,
		&armprivatedns.RecordSetsClientCreateOrUpdateOptions{IfNoneMatch: to("*")})
	wantARMError(t, err, http.StatusPreconditionFailed, "PreconditionFailed")
	if _, err := records.CreateOrUpdate(c, rg, zoneName, armprivatedns.RecordTypeA, "ingress", next,
		&armprivatedns.RecordSetsClientCreateOrUpdateOptions{IfNoneMatch: to("*")}); err != nil {
		t.Fatalf("create-only of a new record set: %v", err)
	}

	if rej := eventsOf(e.srv, armsim.KindWriteRejected); len(rej) != 4 || rej[0].ResourceID != recordID || rej[0].Code != "PreconditionFailed" {
		t.Fatalf("rejected writes: %+v", rej)
	}
	after := resourceJSON(t, e.srv, recordID)
	if after["etag"] != *updated.Etag {
		t.Fatalf("a rejected write changed the record set: %v", after)
	}
}

func TestPrivateDNSRecordSetPatchReplacesOnlyTheGivenProperties(t *testing.T) {
	e := start(t, armsim.Options{})
	c := ctx(t)
	_, records := dnsClients(t, e)
	seed(t, e.srv, zoneID, `{"location":"global"}`)
	seed(t, e.srv, recordID, `{"properties":{"ttl":10,"metadata":{"a":"1","b":"2"},"aRecords":[{"ipv4Address":"10.0.1.4"}]}}`)

	cur, err := records.Get(c, rg, zoneName, armprivatedns.RecordTypeA, "egress", nil)
	if err != nil {
		t.Fatalf("get: %v", err)
	}
	patched, err := records.Update(c, rg, zoneName, armprivatedns.RecordTypeA, "egress",
		armprivatedns.RecordSet{Properties: &armprivatedns.RecordSetProperties{Metadata: map[string]*string{"c": to("3")}}},
		&armprivatedns.RecordSetsClientUpdateOptions{IfMatch: cur.Etag})
	if err != nil {
		t.Fatalf("patch: %v", err)
	}
	p := patched.Properties
	if len(p.Metadata) != 1 || *p.Metadata["c"] != "3" || *p.ARecords[0].IPv4Address != "10.0.1.4" || *p.TTL != 10 || *patched.Etag == *cur.Etag {
		t.Fatalf("after PATCH of metadata: %+v etag %s", p, *patched.Etag)
	}
	_, err = records.Update(c, rg, zoneName, armprivatedns.RecordTypeA, "absent", armprivatedns.RecordSet{}, nil)
	wantARMError(t, err, http.StatusNotFound, "NotFound")
}

func TestPrivateDNSRecordSetValidationListAndDelete(t *testing.T) {
	e := start(t, armsim.Options{LROLatency: 10 * time.Millisecond})
	c := ctx(t)
	zones, records := dnsClients(t, e)
	seed(t, e.srv, zoneID, `{"location":"global"}`)

	for name, rs := range map[string]armprivatedns.RecordSet{
		"not an address":         aRecordSet(10, nil, "10.0.1.999"),
		"an IPv6 in an A":        aRecordSet(10, nil, "fd00::4"),
		"the same address twice": aRecordSet(10, nil, "10.0.1.4", "10.0.1.4"),
	} {
		_, err := records.CreateOrUpdate(c, rg, zoneName, armprivatedns.RecordTypeA, "bad", rs, nil)
		if err == nil || respErr(t, err).StatusCode != http.StatusBadRequest {
			t.Errorf("%s: want 400, got %v", name, err)
		}
	}
	for _, n := range []string{"egress", "ingress"} {
		if _, err := records.CreateOrUpdate(c, rg, zoneName, armprivatedns.RecordTypeA, n, aRecordSet(10, nil, "10.0.1.4"), nil); err != nil {
			t.Fatalf("create %s: %v", n, err)
		}
	}
	aaaa := armprivatedns.RecordSet{Properties: &armprivatedns.RecordSetProperties{TTL: to(int64(10)),
		AaaaRecords: []*armprivatedns.AaaaRecord{{IPv6Address: to("fd00:0:0:1::4")}}}}
	if _, err := records.CreateOrUpdate(c, rg, zoneName, armprivatedns.RecordTypeAAAA, "egress", aaaa, nil); err != nil {
		t.Fatalf("create AAAA: %v", err)
	}

	names := func(pager interface {
		More() bool
	}, next func() ([]*armprivatedns.RecordSet, error)) []string {
		var out []string
		for pager.More() {
			page, err := next()
			if err != nil {
				t.Fatalf("list: %v", err)
			}
			for _, rs := range page {
				out = append(out, *rs.Type+" "+*rs.Name)
			}
		}
		return out
	}
	all := records.NewListPager(rg, zoneName, nil)
	gotAll := names(all, func() ([]*armprivatedns.RecordSet, error) { p, err := all.NextPage(c); return p.Value, err })
	byA := records.NewListByTypePager(rg, zoneName, armprivatedns.RecordTypeA, nil)
	gotA := names(byA, func() ([]*armprivatedns.RecordSet, error) { p, err := byA.NextPage(c); return p.Value, err })
	if strings.Join(gotAll, ",") != "Microsoft.Network/privateDnsZones/A egress,Microsoft.Network/privateDnsZones/A ingress,Microsoft.Network/privateDnsZones/AAAA egress,Microsoft.Network/privateDnsZones/SOA @" ||
		len(gotA) != 2 {
		t.Fatalf("list ALL %q, list A %q", gotAll, gotA)
	}

	// The zone's SOA record set exists, can be updated, not deleted or added.
	soa, err := records.Get(c, rg, zoneName, armprivatedns.RecordTypeSOA, "@", nil)
	if err != nil || *soa.ID != zoneID+"/SOA/@" || *soa.Properties.Fqdn != zoneName+"." || *soa.Properties.SoaRecord.Host != "azureprivatedns.net" {
		t.Fatalf("SOA: %v %+v", err, soa.Properties)
	}
	soa.Properties.SoaRecord.MinimumTTL = to(int64(10))
	if _, err := records.CreateOrUpdate(c, rg, zoneName, armprivatedns.RecordTypeSOA, "@", soa.RecordSet, &armprivatedns.RecordSetsClientCreateOrUpdateOptions{IfMatch: soa.Etag}); err != nil {
		t.Fatalf("update SOA: %v", err)
	}
	_, err = records.Delete(c, rg, zoneName, armprivatedns.RecordTypeSOA, "@", nil)
	wantARMError(t, err, http.StatusBadRequest, "BadRequest")
	_, err = records.CreateOrUpdate(c, rg, zoneName, armprivatedns.RecordTypeSOA, "www", soa.RecordSet, nil)
	wantARMError(t, err, http.StatusBadRequest, "BadRequest")

	del, err := records.Delete(c, rg, zoneName, armprivatedns.RecordTypeA, "ingress", nil)
	if err != nil {
		t.Fatalf("delete: %v", err)
	}
	_ = del
	resp := rawRequest(t, e.srv, http.MethodDelete, zoneID+"/A/ingress?api-version=2024-06-01", http.Header{"Authorization": {"Bearer x"}}, "")
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("second delete: %d, want 204", resp.StatusCode)
	}

	// Deleting the zone takes its record sets with it.
	p, err := zones.BeginDelete(c, rg, zoneName, nil)
	if err != nil {
		t.Fatalf("delete zone: %v", err)
	}
	pollManually(t, c, p)
	if _, ok := e.srv.Resource(recordID); ok {
		t.Fatal("a record set outlived its zone")
	}
	seed(t, e.srv, zoneID, `{"location":"global"}`)
	_, err = records.Get(c, rg, zoneName, armprivatedns.RecordTypeA, "egress", nil)
	wantARMError(t, err, http.StatusNotFound, "NotFound")
}

func TestPrivateDNSRecordSetFaults(t *testing.T) {
	e := start(t, armsim.Options{})
	c := ctx(t)
	_, records := dnsClients(t, e)
	seed(t, e.srv, zoneID, `{"location":"global"}`)
	seed(t, e.srv, recordID, `{"properties":{"ttl":10,"aRecords":[{"ipv4Address":"10.0.1.4"}]}}`)

	e.srv.InjectFault(armsim.Fault{Method: "PUT", PathContains: "/privateDnsZones/", Status: 500, Count: 1})
	_, err := records.CreateOrUpdate(c, rg, zoneName, armprivatedns.RecordTypeA, "egress", aRecordSet(10, nil, "10.0.1.5"), nil)
	wantARMError(t, err, http.StatusInternalServerError, "InternalServerError")
	if got := resourceJSON(t, e.srv, recordID)["properties"].(map[string]any)["aRecords"].([]any)[0].(map[string]any)["ipv4Address"]; got != "10.0.1.4" {
		t.Fatalf("a write failed before handling changed the record set to %v", got)
	}

	// The answer is lost but the write took effect: a re-read shows it.
	e.srv.InjectFault(armsim.Fault{Method: "PUT", PathContains: "/A/egress", Status: 502, Code: "BadGateway", AfterCommit: true})
	_, err = records.CreateOrUpdate(c, rg, zoneName, armprivatedns.RecordTypeA, "egress", aRecordSet(10, nil, "10.0.1.5"), nil)
	wantARMError(t, err, http.StatusBadGateway, "BadGateway")
	read, err := records.Get(c, rg, zoneName, armprivatedns.RecordTypeA, "egress", nil)
	if err != nil || *read.Properties.ARecords[0].IPv4Address != "10.0.1.5" {
		t.Fatalf("after a lost answer: %v %+v", err, read.Properties)
	}

	e.srv.SetWriteThrottle(1, 1)
	_, _ = records.CreateOrUpdate(c, rg, zoneName, armprivatedns.RecordTypeA, "egress", aRecordSet(10, nil, "10.0.1.4"), nil)
	_, err = records.CreateOrUpdate(c, rg, zoneName, armprivatedns.RecordTypeA, "egress", aRecordSet(10, nil, "10.0.1.4"), nil)
	wantARMError(t, err, http.StatusTooManyRequests, "SubscriptionRequestsThrottled")
}
