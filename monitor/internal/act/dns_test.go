package act

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"reflect"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/hanva/hanva/monitor/internal/azure"
	"github.com/hanva/hanva/testenv/armsim"
)

// The DNS topology: the usual NVAs (seedTopology, no route tables, no
// public IP) and a private zone with A record sets via the internal role.
const (
	zoneID   = netPath + "/privateDnsZones/nva.internal"
	proxyID  = zoneID + "/A/proxy"
	egressID = zoneID + "/A/egress"
	proxy6ID = zoneID + "/AAAA/proxy"
	foreign  = "10.0.1.99" // an address that is no NVA's
)

// recordSetJSON is a record set of type A or AAAA with ttl, metadata and
// records.
func recordSetJSON(typ string, ttl int, metadata map[string]string, addrs ...string) string {
	list, field := "aRecords", "ipv4Address"
	if typ == "AAAA" {
		list, field = "aaaaRecords", "ipv6Address"
	}
	var recs, md []string
	for _, a := range addrs {
		recs = append(recs, fmt.Sprintf(`{%q:%q}`, field, a))
	}
	for k, v := range metadata {
		md = append(md, fmt.Sprintf(`%q:%q`, k, v))
	}
	return fmt.Sprintf(`{"properties":{"ttl":%d,"metadata":{%s},%q:[%s]}}`, ttl, strings.Join(md, ","), list, strings.Join(recs, ","))
}

// dnsSeed seeds the zone and record sets (ID -> body) after seed, and
// manages the record sets listed in managed.
func dnsSeed(seedNVAs func(t testing.TB, srv *armsim.Server) Topology, records map[string]string, managed ...string) func(t testing.TB, srv *armsim.Server) Topology {
	return func(t testing.TB, srv *armsim.Server) Topology {
		topo := seedNVAs(t, srv)
		seed(t, srv, zoneID, `{"location":"global","properties":{}}`)
		for id, body := range records {
			seed(t, srv, id, body)
		}
		topo.RouteTables, topo.PublicIPs = nil, nil
		for _, id := range managed {
			topo.DNSRecords = append(topo.DNSRecords, Managed{ID: id, Via: "internal"})
		}
		return topo
	}
}

func ipv4NVAs(t testing.TB, srv *armsim.Server) Topology {
	seedTopology(t, srv, seedOpts{})
	return topology(0)
}

// proxyRecords is nva-1's primary and secondary internal addresses, its
// external address (another role: not owned) and a foreign address.
var proxyRecords = []string{nva1Int.ip, foreign, nva1Int.ip2, nva1Ext.ip}

func proxyEnv(t *testing.T, o Options, md map[string]string) *env {
	if md == nil {
		md = map[string]string{"owner": "netops"}
	}
	return newEnv(t, envOpts{options: o, custom: dnsSeed(ipv4NVAs,
		map[string]string{proxyID: recordSetJSON("A", 10, md, proxyRecords...)}, proxyID)})
}

// recordsOf returns a record set's addresses as stored.
func recordsOf(t testing.TB, srv *armsim.Server, id string) []string {
	t.Helper()
	rs := resourceJSON(t, srv, id)
	list, field := "aRecords", "ipv4Address"
	if strings.Contains(id, "/AAAA/") {
		list, field = "aaaaRecords", "ipv6Address"
	}
	var out []string
	recs, _ := path(t, rs, "properties", list).([]any)
	for _, r := range recs {
		out = append(out, fmt.Sprint(r.(map[string]any)[field]))
	}
	return out
}

func metadataOf(t testing.TB, srv *armsim.Server, id string) map[string]any {
	t.Helper()
	m, _ := path(t, resourceJSON(t, srv, id), "properties", "metadata").(map[string]any)
	return m
}

// putsTo lists the statuses of the PUTs armsim received for a path suffix.
func putsTo(srv *armsim.Server, suffix string) []int {
	var out []int
	for _, r := range srv.Requests() {
		if r.Method == "PUT" && strings.HasSuffix(strings.ToLower(r.Path), strings.ToLower(suffix)) {
			out = append(out, r.Status)
		}
	}
	return out
}

func TestDNSRecordConvergesOnlyTheNVAAddresses(t *testing.T) {
	e := proxyEnv(t, Options{Epoch: epochAt(5)}, map[string]string{"owner": "netops", "ticket": "CHG-1"})
	ctx := testCtx(t)
	before := resourceJSON(t, e.srv, proxyID)
	rep, err := e.eng.Converge(ctx, "nva-2")
	if err != nil {
		t.Fatalf("Converge: %v", err)
	}
	want := []string{nva2Int.ip, foreign, nva2Int.ip2, nva1Ext.ip}
	if got := recordsOf(t, e.srv, proxyID); !reflect.DeepEqual(got, want) {
		t.Errorf("records %v, want %v (each NVA address replaced in place, the others as read)", got, want)
	}
	wantMD := map[string]any{"owner": "netops", "ticket": "CHG-1", EpochTag: "5"}
	if got := metadataOf(t, e.srv, proxyID); !reflect.DeepEqual(got, wantMD) {
		t.Errorf("metadata %v, want %v", got, wantMD)
	}
	after := resourceJSON(t, e.srv, proxyID)
	for _, k := range []string{"ttl", "fqdn", "isAutoRegistered"} {
		if a, b := path(t, before, "properties", k), path(t, after, "properties", k); a != b {
			t.Errorf("%s %v -> %v, want it unchanged", k, a, b)
		}
	}
	if len(rep.Resources) != 1 {
		t.Fatalf("report %+v, want one record set", rep.Resources)
	}
	if r := rep.Resources[0]; r.Kind != KindDNSRecord || r.ID != proxyID || !r.Changed || r.Stamped || r.Attempts != 1 {
		t.Errorf("result %+v", r)
	}
	if w := writesTo(e.srv, proxyID); len(w) != 1 {
		t.Errorf("writes %+v, want one", w)
	}
	lines := e.logs.events(EventDNSRecordConverged)
	if len(lines) != 1 || lines[0]["level"] != "INFO" || lines[0]["changed"] != true || lines[0][keyDNSRecord] != "proxy" ||
		lines[0]["records"] != float64(2) || lines[0][keyNVA] != "nva-2" {
		t.Errorf("dns_record_converged lines %v", lines)
	}

	// Idempotent: nothing more to write.
	rep, err = e.eng.Converge(ctx, "nva-2")
	if err != nil {
		t.Fatalf("second Converge: %v", err)
	}
	if r := rep.Resources[0]; r.Changed || r.Stamped {
		t.Errorf("second result %+v, want nothing written", r)
	}
	if w := writesTo(e.srv, proxyID); len(w) != 1 {
		t.Errorf("writes after the second Converge %+v, want still one", w)
	}
	if got := putsTo(e.srv, "/A/proxy"); !reflect.DeepEqual(got, []int{200}) {
		t.Errorf("PUT statuses %v, want one 200", got)
	}

	// And back, without an epoch change.
	if _, err := e.eng.Converge(ctx, "nva-1"); err != nil {
		t.Fatalf("Converge back: %v", err)
	}
	if got := recordsOf(t, e.srv, proxyID); !reflect.DeepEqual(got, proxyRecords) {
		t.Errorf("records back on nva-1 %v, want %v", got, proxyRecords)
	}
}

func TestDNSRecordWithoutNVARecordGetsTheTargetsPrimaryAddress(t *testing.T) {
	e := newEnv(t, envOpts{custom: dnsSeed(ipv4NVAs, map[string]string{
		proxyID:  recordSetJSON("A", 30, nil, foreign),
		egressID: recordSetJSON("A", 30, nil, nva2Int.ip2, nva1Int.ip), // nva-2's already there
	}, proxyID, egressID)})
	rep, err := e.eng.Converge(testCtx(t), "nva-2")
	if err != nil {
		t.Fatalf("Converge: %v", err)
	}
	if got, want := recordsOf(t, e.srv, proxyID), []string{foreign, nva2Int.ip}; !reflect.DeepEqual(got, want) {
		t.Errorf("proxy records %v, want %v", got, want)
	}
	// nva-1's primary goes, and nva-2's primary comes: no duplicates, and
	// nva-2's secondary stays.
	if got, want := recordsOf(t, e.srv, egressID), []string{nva2Int.ip2, nva2Int.ip}; !reflect.DeepEqual(got, want) {
		t.Errorf("egress records %v, want %v", got, want)
	}
	if !rep.Resources[0].Changed || !rep.Resources[1].Changed {
		t.Errorf("results %+v", rep.Resources)
	}
	if md := metadataOf(t, e.srv, proxyID); len(md) != 0 {
		t.Errorf("metadata %v: without an epoch nothing is stamped", md)
	}
}

func TestDNSRecordChanges(t *testing.T) {
	mk := func(name, addr string, primary bool) ipconfig {
		a := netip.MustParseAddr(addr)
		return ipconfig{name: name, addr: a, v6: a.Is6(), primary: primary}
	}
	nva1 := []ipconfig{mk("ipconfig1", "10.0.1.4", true), mk("ipconfig2", "10.0.1.14", false), mk("v6", "fd00::4", true), mk("ipconfig3", "10.0.1.24", false)}
	nva2 := []ipconfig{mk("ipconfig1", "10.0.1.5", true), mk("ipconfig2", "10.0.1.15", false), mk("v6", "fd00::5", true)}
	ips := roleIPs{role: "internal", target: "nva-2", owner: map[netip.Addr]hopOwner{}}
	ips.to.ipcs = nva2
	for _, c := range nva1 {
		ips.owner[c.addr] = hopOwner{nva: "nva-1", nic: "nva1-int", role: "internal", ipc: c}
	}
	for _, c := range nva2 {
		ips.owner[c.addr] = hopOwner{nva: "nva-2", nic: "nva2-int", role: "internal", ipc: c}
	}
	for _, tc := range []struct {
		name, typ string
		in, want  []string
		changes   []string
	}{
		{"replaced in place", "A", []string{"10.0.1.4", "10.9.9.9", "10.0.1.14"}, []string{"10.0.1.5", "10.9.9.9", "10.0.1.15"},
			[]string{"10.0.1.4 (nva-1) -> 10.0.1.5 (nva-2)", "10.0.1.14 (nva-1) -> 10.0.1.15 (nva-2)"}},
		{"converged", "A", []string{"10.9.9.9", "10.0.1.5"}, []string{"10.9.9.9", "10.0.1.5"}, nil},
		{"counterpart already a record", "A", []string{"10.0.1.4", "10.0.1.5"}, []string{"10.0.1.5"},
			[]string{"remove 10.0.1.4 (nva-1)"}},
		{"no NVA record", "A", []string{"10.9.9.9"}, []string{"10.9.9.9", "10.0.1.5"}, []string{"add 10.0.1.5 (nva-2)"}},
		{"empty", "A", nil, []string{"10.0.1.5"}, []string{"add 10.0.1.5 (nva-2)"}},
		{"no counterpart: the primary", "A", []string{"10.0.1.24"}, []string{"10.0.1.5"},
			[]string{"10.0.1.24 (nva-1) -> 10.0.1.5 (nva-2, its primary address: no counterpart)"}},
		{"no counterpart, but another record moved", "A", []string{"10.0.1.24", "10.0.1.14"}, []string{"10.0.1.15"},
			[]string{"remove 10.0.1.24 (nva-1)", "10.0.1.14 (nva-1) -> 10.0.1.15 (nva-2)"}},
		{"AAAA, another textual form", "AAAA", []string{"fd00:0::4", "fd00::99"}, []string{"fd00::5", "fd00::99"},
			[]string{"fd00:0::4 (nva-1) -> fd00::5 (nva-2)"}},
		{"AAAA without NVA record", "AAAA", []string{"fd00::99"}, []string{"fd00::99", "fd00::5"}, []string{"add fd00::5 (nva-2)"}},
		{"not an address", "A", []string{"bogus", "10.0.1.4"}, []string{"bogus", "10.0.1.5"}, []string{"10.0.1.4 (nva-1) -> 10.0.1.5 (nva-2)"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, ch, err := dnsRecordChanges(tc.in, tc.typ, ips)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, c := range ch {
				got = append(got, c.String())
			}
			if !slices.Equal(out, tc.want) || !slices.Equal(got, tc.changes) {
				t.Errorf("dnsRecordChanges(%v) = %v, %q; want %v, %q", tc.in, out, got, tc.want, tc.changes)
			}
		})
	}
	// A target without an address of the record type's version: an error,
	// never an address of the other version.
	ips.to.ipcs = nva2[:2]
	if _, _, err := dnsRecordChanges([]string{"fd00::4"}, "AAAA", ips); err == nil || !strings.Contains(err.Error(), "no IPv6 address") {
		t.Errorf("AAAA without an IPv6 target address: err %v", err)
	}
}

func TestDNSRecordETagRaceRereadsAndKeepsTheOtherWritersChange(t *testing.T) {
	e := proxyEnv(t, Options{Epoch: epochAt(5)}, nil)
	// Between the engine's GET and its PUT, someone adds a record and metadata.
	var raced atomic.Bool
	e.srv.BeforeRequest(func(method, p string) {
		if method == "PUT" && strings.HasSuffix(strings.ToLower(p), "/a/proxy") && raced.CompareAndSwap(false, true) {
			body := recordSetJSON("A", 10, map[string]string{"owner": "netops", "changed-by": "other"}, append(slices.Clone(proxyRecords), "10.0.1.77")...)
			if err := e.srv.Seed(proxyID, []byte(body)); err != nil {
				t.Errorf("seed the other writer's change: %v", err)
			}
		}
	})
	rep, err := e.eng.Converge(testCtx(t), "nva-2")
	e.srv.BeforeRequest(nil)
	if err != nil {
		t.Fatalf("Converge: %v", err)
	}
	want := []string{nva2Int.ip, foreign, nva2Int.ip2, nva1Ext.ip, "10.0.1.77"}
	if got := recordsOf(t, e.srv, proxyID); !reflect.DeepEqual(got, want) {
		t.Errorf("records %v, want %v", got, want)
	}
	if md := metadataOf(t, e.srv, proxyID); md["changed-by"] != "other" || md[EpochTag] != "5" {
		t.Errorf("metadata %v: the other writer's key or our epoch is missing", md)
	}
	if r := rep.Resources[0]; r.Attempts != 2 || !r.Changed {
		t.Errorf("result %+v, want 2 attempts (412, re-read, write)", r)
	}
	if got := putsTo(e.srv, "/A/proxy"); !reflect.DeepEqual(got, []int{412, 200}) {
		t.Errorf("PUT statuses %v, want a 412 then an accepted write", got)
	}
}

func TestDNSRecordFencedByAHigherMetadataEpoch(t *testing.T) {
	// Metadata keys are compared case-insensitively, like tags.
	e := proxyEnv(t, Options{Epoch: epochAt(5)}, map[string]string{"owner": "netops", "Hanva-Epoch": "9"})
	before := resourceJSON(t, e.srv, proxyID)
	rep, err := e.eng.Converge(testCtx(t), "nva-2")
	if !errors.Is(err, ErrFenced) {
		t.Fatalf("Converge: err %v, want ErrFenced", err)
	}
	var f *fencedError
	if r := rep.Resources[0]; !errors.As(r.Err, &f) || f.Theirs() != 9 || r.Changed || r.Attempts != 1 {
		t.Errorf("result %+v, want fenced by 9 after one attempt", r)
	}
	if got := putsTo(e.srv, "/A/proxy"); len(got) != 0 {
		t.Errorf("PUTs %v, want none", got)
	}
	if after := resourceJSON(t, e.srv, proxyID); !reflect.DeepEqual(before, after) {
		t.Errorf("record set changed:\n%s\n->\n%s", jsonString(before), jsonString(after))
	}
	lines := e.logs.events(EventConvergeFailed)
	if len(lines) != 1 || lines[0][keyReason] != "fenced" || lines[0][keyDNSRecord] != "proxy" ||
		lines[0][keyEpoch] != float64(5) || lines[0]["resource_epoch"] != float64(9) {
		t.Errorf("converge_failed lines %v", lines)
	}

	// The same metadata key is stamped when ours is higher: no second key.
	e = proxyEnv(t, Options{Epoch: epochAt(12)}, map[string]string{"owner": "netops", "Hanva-Epoch": "9"})
	if _, err := e.eng.Converge(testCtx(t), "nva-2"); err != nil {
		t.Fatalf("Converge with a higher epoch: %v", err)
	}
	if md := metadataOf(t, e.srv, proxyID); !reflect.DeepEqual(md, map[string]any{"owner": "netops", "Hanva-Epoch": "12"}) {
		t.Errorf("metadata %v", md)
	}
}

func TestDNSRecordStampIsAMetadataOnlyWrite(t *testing.T) {
	e := newEnv(t, envOpts{options: Options{Epoch: epochAt(7)}, custom: dnsSeed(ipv4NVAs, map[string]string{
		proxyID: recordSetJSON("A", 10, map[string]string{"owner": "netops", EpochTag: "3"}, nva2Int.ip, foreign),
	}, proxyID)})
	ctx := testCtx(t)
	rep, err := e.eng.Converge(ctx, "nva-2")
	if err != nil || rep.Resources[0].Changed || rep.Resources[0].Stamped || len(writesTo(e.srv, proxyID)) != 0 {
		t.Fatalf("Converge without Stamp: %+v, %v; want no write", rep.Resources, err)
	}
	rep, err = e.eng.ConvergeWith(ctx, "nva-2", ConvergeOptions{Stamp: true})
	if err != nil {
		t.Fatalf("ConvergeWith Stamp: %v", err)
	}
	var r ResourceResult
	for _, x := range rep.Resources {
		if x.Kind == KindDNSRecord {
			r = x
		}
	}
	if r.Changed || !r.Stamped {
		t.Errorf("result %+v, want stamped, not changed", r)
	}
	w := writesTo(e.srv, proxyID)
	if len(w) != 1 || !reflect.DeepEqual(w[0].Changes, []string{`metadata "hanva-epoch" "3" -> "7"`}) {
		t.Errorf("writes %+v, want one that changes the epoch only", w)
	}
	if got := recordsOf(t, e.srv, proxyID); !reflect.DeepEqual(got, []string{nva2Int.ip, foreign}) {
		t.Errorf("records %v", got)
	}
}

func TestDNSAAAARecordSetFollowsIPv6Addresses(t *testing.T) {
	records := map[string]string{
		proxy6ID: recordSetJSON("AAAA", 10, map[string]string{"owner": "netops"}, "fd00:db8:0:1:0:0:0:4", "fd00:db8:0:1::99"),
		proxyID:  recordSetJSON("A", 10, nil, nva1Int.ip),
	}
	e := newEnv(t, envOpts{custom: dnsSeed(dualStack(dualOpts{}), records, proxy6ID, proxyID)})
	ctx := testCtx(t)
	obs, err := e.eng.Observe(ctx)
	if err != nil {
		t.Fatalf("Observe: %v", err)
	}
	if s := obs.DNSRecords[0]; s.Type != "AAAA" || !reflect.DeepEqual(s.PointsAt, []string{"nva-1"}) {
		t.Errorf("AAAA state %+v", s)
	}
	if _, err := e.eng.Converge(ctx, "nva-2"); err != nil {
		t.Fatalf("Converge: %v", err)
	}
	if got, want := recordsOf(t, e.srv, proxy6ID), []string{nva2Int6, "fd00:db8:0:1::99"}; !reflect.DeepEqual(got, want) {
		t.Errorf("AAAA records %v, want %v", got, want)
	}
	if got := recordsOf(t, e.srv, proxyID); !reflect.DeepEqual(got, []string{"10.0.1.5"}) {
		t.Errorf("A records %v", got)
	}

	// A target without an IPv6 address: the AAAA record set is left alone
	// (never given an IPv4 address), the A record set still moves.
	e = newEnv(t, envOpts{custom: dnsSeed(dualStack(dualOpts{nva2IntWithoutV6: true}), records, proxy6ID, proxyID)})
	before := resourceJSON(t, e.srv, proxy6ID)
	rep, err := e.eng.Converge(ctx, "nva-2")
	if err == nil || rep.Resources[0].Err == nil || rep.Resources[1].Err != nil {
		t.Fatalf("Converge: %v, results %+v; want the AAAA record set to fail", err, rep.Resources)
	}
	if !strings.Contains(err.Error(), "no IPv6 address") {
		t.Errorf("err %v", err)
	}
	if after := resourceJSON(t, e.srv, proxy6ID); !reflect.DeepEqual(before, after) {
		t.Errorf("AAAA record set changed: %s", jsonString(after))
	}
	if got := recordsOf(t, e.srv, proxyID); !reflect.DeepEqual(got, []string{"10.0.1.5"}) {
		t.Errorf("A records %v", got)
	}
}

func TestDNSMissingRecordSetIsNotFoundAndNeverCreated(t *testing.T) {
	e := newEnv(t, envOpts{custom: dnsSeed(ipv4NVAs, nil, egressID)})
	rep, err := e.eng.Converge(testCtx(t), "nva-2")
	if !errors.Is(err, azure.ErrNotFound) {
		t.Fatalf("Converge: err %v, want not found", err)
	}
	if r := rep.Resources[0]; r.Attempts != 1 || r.Changed {
		t.Errorf("result %+v, want one attempt", r)
	}
	if n := writeRequests(e.srv); n != 0 {
		t.Errorf("%d writes, want none", n)
	}
	if _, ok := e.srv.Resource(egressID); ok {
		t.Error("the record set was created")
	}
	if lines := e.logs.events(EventConvergeFailed); len(lines) != 1 || lines[0][keyReason] != "not_found" {
		t.Errorf("converge_failed lines %v", lines)
	}
}

func TestDNSPlanListsTheChangesWithoutWriting(t *testing.T) {
	e := proxyEnv(t, Options{Epoch: epochAt(5)}, map[string]string{EpochTag: "8"})
	changes, err := e.eng.Plan(testCtx(t), "nva-2")
	if err != nil {
		t.Fatalf("Plan: %v", err)
	}
	note := " (fenced: it carries metadata hanva-epoch 8, ours is 5; would not be written)"
	want := []Change{
		{Kind: KindDNSRecord, ResourceID: proxyID, Description: `A record set "proxy": 10.0.1.4 (nva-1) -> 10.0.1.5 (nva-2)` + note},
		{Kind: KindDNSRecord, ResourceID: proxyID, Description: `A record set "proxy": 10.0.1.14 (nva-1) -> 10.0.1.15 (nva-2)` + note},
	}
	if !reflect.DeepEqual(changes, want) {
		t.Errorf("changes %+v, want %+v", changes, want)
	}
	if n := writeRequests(e.srv); n != 0 {
		t.Errorf("%d writes, want none", n)
	}
	if changes, err := e.eng.Plan(testCtx(t), "nva-1"); err != nil || len(changes) != 0 {
		t.Errorf("Plan to nva-1: %+v, %v; want nothing to do", changes, err)
	}
}

func TestDNSObserveAndActive(t *testing.T) {
	e := newEnv(t, envOpts{custom: dnsSeed(ipv4NVAs, map[string]string{
		proxyID:  recordSetJSON("A", 10, map[string]string{EpochTag: "4"}, proxyRecords...),
		egressID: recordSetJSON("A", 60, nil, foreign),
	}, proxyID, egressID)})
	ctx := testCtx(t)
	obs, err := e.eng.Observe(ctx)
	if err != nil {
		t.Fatalf("Observe: %v", err)
	}
	want := []DNSRecordState{
		{ID: proxyID, Via: "internal", Type: "A", Addresses: proxyRecords, PointsAt: []string{"nva-1"}, TTL: 10, Epoch: 4},
		{ID: egressID, Via: "internal", Type: "A", Addresses: []string{foreign}, TTL: 60},
	}
	if !reflect.DeepEqual(obs.DNSRecords, want) {
		t.Errorf("DNSRecords %+v, want %+v", obs.DNSRecords, want)
	}
	if active, split := obs.Active(); active != "nva-1" || !split {
		t.Errorf("Active %q split %v, want nva-1 and split (egress points nowhere)", active, split)
	}
	if obs.MaxEpoch() != 4 {
		t.Errorf("MaxEpoch %d", obs.MaxEpoch())
	}
	if _, err := e.eng.Converge(ctx, "nva-2"); err != nil {
		t.Fatalf("Converge: %v", err)
	}
	obs, err = e.eng.Observe(ctx)
	if err != nil {
		t.Fatalf("Observe: %v", err)
	}
	for _, s := range obs.DNSRecords {
		if !reflect.DeepEqual(s.PointsAt, []string{"nva-2"}) {
			t.Errorf("%s points at %v after Converge", s.ID, s.PointsAt)
		}
	}
	if active, split := obs.Active(); active != "nva-2" || split {
		t.Errorf("Active %q split %v, want nva-2 alone", active, split)
	}

	// Both NVAs in one record set: it points at both.
	seed(t, e.srv, egressID, recordSetJSON("A", 60, nil, nva1Int.ip, nva2Int.ip))
	if err := e.srv.Seed(proxyID, []byte(recordSetJSON("A", 10, nil))); err != nil {
		t.Fatal(err)
	}
	obs, err = e.eng.Observe(ctx)
	if err != nil {
		t.Fatalf("Observe: %v", err)
	}
	if s := obs.DNSRecords[1]; !reflect.DeepEqual(s.PointsAt, []string{"nva-1", "nva-2"}) {
		t.Errorf("egress points at %v", s.PointsAt)
	}
	if s := obs.DNSRecords[0]; s.PointsAt != nil || s.Addresses != nil {
		t.Errorf("empty proxy state %+v", s)
	}

	// A missing record set is unreadable and does not vote.
	e = newEnv(t, envOpts{custom: dnsSeed(ipv4NVAs, nil, egressID)})
	obs, err = e.eng.Observe(ctx)
	if !errors.Is(err, azure.ErrNotFound) || !errors.Is(obs.Unreadable()[egressID], azure.ErrNotFound) {
		t.Errorf("Observe of a missing record set: %v, unreadable %v", err, obs.Unreadable())
	}
}

func TestDNSRecordWriteRefusedByBeforeWrite(t *testing.T) {
	refused := errors.New("lease lost")
	e := proxyEnv(t, Options{BeforeWrite: func(context.Context) error { return refused }}, nil)
	before := resourceJSON(t, e.srv, proxyID)
	rep, err := e.eng.Converge(testCtx(t), "nva-2")
	if !errors.Is(err, refused) {
		t.Fatalf("Converge: err %v, want the BeforeWrite refusal", err)
	}
	if r := rep.Resources[0]; r.Changed || r.Attempts != 1 {
		t.Errorf("result %+v, want one attempt and no change", r)
	}
	if got := putsTo(e.srv, "/A/proxy"); len(got) != 0 {
		t.Errorf("PUTs %v, want none", got)
	}
	if after := resourceJSON(t, e.srv, proxyID); !reflect.DeepEqual(before, after) {
		t.Errorf("record set changed: %s", jsonString(after))
	}
	if lines := e.logs.events(EventConvergeFailed); len(lines) != 1 || lines[0][keyReason] != "fenced" {
		t.Errorf("converge_failed lines %v", lines)
	}
}
