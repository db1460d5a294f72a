package armsim_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/network/armnetwork/v7"

	"github.com/hanva/hanva/testenv/armsim"
)

// clock is a fake time source for Options.Now.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

const (
	sub2      = "00000000-0000-0000-0000-000000000002"
	tokA      = "token-of-a"
	tokB      = "token-of-b"
	rtWestID  = netPath + "/routeTables/rt-west"
	rtNorth   = netPath + "/routeTables/rt-north"
	rt2West   = "/subscriptions/" + sub2 + "/resourceGroups/" + rg + "/providers/Microsoft.Network/routeTables/rt-west"
	dnsZoneID = netPath + "/privateDnsZones/hanva.internal"
	apiQ      = "?api-version=2025-01-01"
)

// throttled starts an emulator on a fake clock with the throttling model
// on (t.Enabled is set) and principals "a" and "b", and seeds route tables
// in westeurope and northeurope of sub and one in westeurope of sub2.
func throttled(t *testing.T, tc armsim.Throttling) (*env, *clock) {
	t.Helper()
	clk := newClock()
	tc.Enabled = true
	if tc.Principals == nil {
		tc.Principals = map[string]string{tokA: "a", tokB: "b"}
	}
	e := start(t, armsim.Options{Now: clk.Now, Throttling: tc})
	for id, loc := range map[string]string{rtWestID: "westeurope", rtNorth: "North Europe", rt2West: "westeurope"} {
		seed(t, e.srv, id, `{"location":"`+loc+`","properties":{"routes":[]}}`)
	}
	return e, clk
}

// answer is what a test looks at in a response.
type answer struct {
	status int
	header http.Header
	body   map[string]any
}

func (a answer) h(name string) string { return a.header.Get(name) }

func (a answer) code() string {
	if e, ok := a.body["error"].(map[string]any); ok {
		c, _ := e["code"].(string)
		return c
	}
	return ""
}

func call(t *testing.T, e *env, token, method, path, body string) answer {
	t.Helper()
	if !strings.Contains(path, "api-version") {
		path += apiQ
	}
	resp := rawRequest(t, e.srv, method, path, http.Header{"Authorization": {"Bearer " + token}}, body)
	b, _ := io.ReadAll(resp.Body)
	a := answer{status: resp.StatusCode, header: resp.Header}
	_ = json.Unmarshal(b, &a.body)
	return a
}

func wantStatus(t *testing.T, a answer, status int) {
	t.Helper()
	if a.status != status {
		t.Fatalf("status %d, want %d (%v)", a.status, status, a.body)
	}
}

func want429(t *testing.T, a answer, retryAfter string) {
	t.Helper()
	if a.status != http.StatusTooManyRequests || a.code() != "SubscriptionRequestsThrottled" || a.h("Retry-After") != retryAfter {
		t.Fatalf("got %d %s Retry-After %q, want 429 SubscriptionRequestsThrottled Retry-After %s (%v)",
			a.status, a.code(), a.h("Retry-After"), retryAfter, a.body)
	}
}

func tagBody(loc, v string) string {
	return `{"location":"` + loc + `","tags":{"v":"` + v + `"},"properties":{"routes":[]}}`
}

func throttledEvents(e *env) []armsim.Event { return eventsOf(e.srv, armsim.KindThrottled) }

func TestReadsBucketDrainsRefillsAndReportsItInHeaders(t *testing.T) {
	e, clk := throttled(t, armsim.Throttling{})
	for i := 1; i <= 250; i++ {
		a := call(t, e, tokA, "GET", rtWestID, "")
		wantStatus(t, a, 200)
		if got, want := a.h("x-ms-ratelimit-remaining-subscription-reads"), strconv.Itoa(250-i); got != want {
			t.Fatalf("GET %d: reads header %q, want %s", i, got, want)
		}
		if got, want := a.h("x-ms-ratelimit-remaining-subscription-global-reads"), strconv.Itoa(3750-i); got != want {
			t.Fatalf("GET %d: global-reads header %q, want %s", i, got, want)
		}
		if a.h("x-ms-ratelimit-remaining-subscription-writes") != "" || a.h("x-ms-ratelimit-remaining-subscription-deletes") != "" {
			t.Fatalf("a GET carries write or delete headers: %v", a.header)
		}
	}
	a := call(t, e, tokA, "GET", rtWestID, "")
	want429(t, a, "1") // 1 token at 25/s: 40 ms, rounded up to a whole second
	if a.h("x-ms-ratelimit-remaining-subscription-reads") != "0" || a.h("x-ms-ratelimit-remaining-subscription-global-reads") != "3500" {
		t.Fatalf("429 headers: %v", a.header)
	}
	clk.Advance(time.Second)
	a = call(t, e, tokA, "GET", rtWestID, "")
	wantStatus(t, a, 200)
	if got := a.h("x-ms-ratelimit-remaining-subscription-reads"); got != "24" { // 25 refilled, 1 spent
		t.Fatalf("after 1 s, reads header %q, want 24", got)
	}
	clk.Advance(time.Minute)
	if got := call(t, e, tokA, "GET", rtWestID, "").h("x-ms-ratelimit-remaining-subscription-reads"); got != "249" {
		t.Fatalf("after a minute, reads header %q, want 249 (full, minus this one)", got)
	}
}

func TestRequestBeforeRetryAfterIsRefusedWithANewRetryAfter(t *testing.T) {
	// 1 write, refilled at 0.4/s: the next token is 2.5 s away, Retry-After 3.
	e, clk := throttled(t, armsim.Throttling{Writes: armsim.Limit{Burst: 1, PerSecond: 0.4}})
	wantStatus(t, call(t, e, tokA, "PUT", rtWestID, tagBody("westeurope", "1")), 200)
	want429(t, call(t, e, tokA, "PUT", rtWestID, tagBody("westeurope", "2")), "3")
	clk.Advance(2600 * time.Millisecond)
	// A token is back (1.04), but Retry-After has not elapsed: not
	// processed, and a new Retry-After, the 0.4 s still to wait rounded up.
	want429(t, call(t, e, tokA, "PUT", rtWestID, tagBody("westeurope", "3")), "1")
	clk.Advance(400 * time.Millisecond)
	wantStatus(t, call(t, e, tokA, "PUT", rtWestID, tagBody("westeurope", "4")), 200)
	if got := resourceJSON(t, e.srv, rtWestID)["tags"].(map[string]any)["v"]; got != "4" {
		t.Fatalf("tag v = %v, want 4: a throttled PUT was applied", got)
	}
	if n := len(throttledEvents(e)); n != 2 {
		t.Fatalf("%d throttled events, want 2", n)
	}
}

func TestPrincipalsHaveTheirOwnBuckets(t *testing.T) {
	e, _ := throttled(t, armsim.Throttling{Writes: armsim.Limit{Burst: 2, PerSecond: 0.01}})
	for i := range 2 {
		wantStatus(t, call(t, e, tokA, "PUT", rtWestID, tagBody("westeurope", "a"+strconv.Itoa(i))), 200)
	}
	a := call(t, e, tokA, "PUT", rtWestID, tagBody("westeurope", "a2"))
	want429(t, a, "100")
	for i := range 2 {
		b := call(t, e, tokB, "PUT", rtWestID, tagBody("westeurope", "b"+strconv.Itoa(i)))
		wantStatus(t, b, 200)
		if got, want := b.h("x-ms-ratelimit-remaining-subscription-writes"), strconv.Itoa(1-i); got != want {
			t.Fatalf("b's write %d: writes header %q, want %s (its own bucket)", i, got, want)
		}
		if got, want := b.h("x-ms-ratelimit-remaining-subscription-global-writes"), strconv.Itoa(27-i); got != want {
			t.Fatalf("b's write %d: global-writes header %q, want %s (shared: 30 - a's 2 - b's)", i, got, want)
		}
	}
	ev := throttledEvents(e)
	if len(ev) != 1 || ev[0].Bucket != "subscription-writes/westeurope/a" || ev[0].Principal != "a" ||
		ev[0].Method != "PUT" || ev[0].Status != 429 || ev[0].Code != "SubscriptionRequestsThrottled" || !strings.EqualFold(ev[0].ResourceID, rtWestID) {
		t.Fatalf("throttled events: %+v", ev)
	}
}

func TestGlobalBucketIsSharedByAllPrincipals(t *testing.T) {
	// Per principal 2 writes; global 1.5 x 2 = 3 writes across principals.
	e, _ := throttled(t, armsim.Throttling{Writes: armsim.Limit{Burst: 2, PerSecond: 0.01}, GlobalFactor: 1.5})
	var global []string
	for _, tok := range []string{tokA, tokA, tokB} {
		a := call(t, e, tok, "PATCH", rtWestID, `{"tags":{"k":"v"}}`)
		wantStatus(t, a, 200)
		global = append(global, a.h("x-ms-ratelimit-remaining-subscription-global-writes"))
	}
	if got := strings.Join(global, ","); got != "2,1,0" {
		t.Fatalf("global-writes headers %s, want 2,1,0", got)
	}
	a := call(t, e, tokB, "PATCH", rtWestID, `{"tags":{"k":"w"}}`)
	want429(t, a, "67") // 1 token at 0.015/s
	if got := a.h("x-ms-ratelimit-remaining-subscription-writes"); got != "1" {
		t.Fatalf("b's own bucket says %q, want 1: the global bucket refused, b's was not charged", got)
	}
	if ev := throttledEvents(e); len(ev) != 1 || ev[0].Bucket != "subscription-global-writes/westeurope" {
		t.Fatalf("throttled events: %+v", ev)
	}
}

func TestSubscriptionsAndRegionsAreThrottledApart(t *testing.T) {
	e, _ := throttled(t, armsim.Throttling{Reads: armsim.Limit{Burst: 1, PerSecond: 0.01}})
	wantStatus(t, call(t, e, tokA, "GET", rtWestID, ""), 200)
	want429(t, call(t, e, tokA, "GET", rtWestID, ""), "100")
	a := call(t, e, tokA, "GET", rtNorth, "") // "North Europe" is northeurope
	wantStatus(t, a, 200)
	wantStatus(t, call(t, e, tokA, "GET", rt2West, ""), 200)
	want429(t, call(t, e, tokA, "GET", rtNorth, ""), "100")
	// A new resource's region is its PUT body's location.
	wantStatus(t, call(t, e, tokA, "PUT", netPath+"/routeTables/rt-new", tagBody("eastus", "1")), 201)
	wantStatus(t, call(t, e, tokA, "GET", netPath+"/routeTables/rt-new", ""), 200)
	var regions []string
	for _, l := range e.srv.ThrottleLevels() {
		if l.Name == "subscription-reads" {
			regions = append(regions, l.Subscription[len(l.Subscription)-1:]+":"+l.Region+"="+strconv.Itoa(l.Remaining))
		}
	}
	if got := strings.Join(regions, " "); got != "1:eastus=0 1:northeurope=0 1:westeurope=0 2:westeurope=0" {
		t.Fatalf("read buckets: %s", got)
	}
}

func TestReadsWritesAndDeletesDrawFromTheirOwnBuckets(t *testing.T) {
	e, _ := throttled(t, armsim.Throttling{Writes: armsim.Limit{Burst: 1, PerSecond: 0.01}})
	seedTopology(t, e.srv) // nicAID in westeurope
	w := call(t, e, tokA, "PUT", rtWestID, tagBody("westeurope", "1"))
	wantStatus(t, w, 200)
	if w.h("x-ms-ratelimit-remaining-subscription-writes") != "0" || w.h("x-ms-ratelimit-remaining-subscription-global-writes") != "14" ||
		w.h("x-ms-ratelimit-remaining-subscription-reads") != "" {
		t.Fatalf("PUT headers: %v", w.header)
	}
	want429(t, call(t, e, tokA, "POST", nicAID+"/effectiveRouteTable", ""), "100") // a POST is a write
	r := call(t, e, tokA, "GET", rtWestID, "")
	wantStatus(t, r, 200)
	if r.h("x-ms-ratelimit-remaining-subscription-reads") != "249" {
		t.Fatalf("GET headers: %v", r.header)
	}
	d := call(t, e, tokA, "DELETE", rtNorth, "")
	wantStatus(t, d, 202)
	if d.h("x-ms-ratelimit-remaining-subscription-deletes") != "199" || d.h("x-ms-ratelimit-remaining-subscription-global-deletes") != "2999" ||
		d.h("x-ms-ratelimit-remaining-subscription-writes") != "" {
		t.Fatalf("DELETE headers: %v", d.header)
	}
}

func TestNetworkWritesAre1000PerFiveMinutesPerSubscriptionAndRegion(t *testing.T) {
	e, clk := throttled(t, armsim.Throttling{})
	put := func(i int, loc string) answer {
		return call(t, e, tokA, "PUT", netPath+"/routeTables/rt-"+loc+"-"+strconv.Itoa(i), tagBody(loc, "x"))
	}
	// 1,000 writes in 100 s: ARM's bucket (200 + 10/s) lets them through,
	// Microsoft.Network's window takes them all.
	for i := range 1000 {
		if a := put(i, "westeurope"); a.status != 201 {
			t.Fatalf("write %d at +%v: %d %v", i, time.Duration(i)*100*time.Millisecond, a.status, a.body)
		}
		clk.Advance(100 * time.Millisecond)
	}
	// +100 s: the first write leaves the window at +300 s.
	a := put(1000, "westeurope")
	want429(t, a, "200")
	if ev := throttledEvents(e); len(ev) != 1 || ev[0].Bucket != "network-writes/westeurope" {
		t.Fatalf("throttled events: %+v", ev)
	}
	// Other regions and subscriptions have their own limit.
	wantStatus(t, put(0, "northeurope"), 201)
	// Deletes count as writes.
	clk.Advance(200 * time.Second)
	wantStatus(t, call(t, e, tokA, "DELETE", netPath+"/routeTables/rt-westeurope-0", ""), 202)
	want429(t, put(1001, "westeurope"), "1") // the second write leaves at +300.1 s
	clk.Advance(time.Second)
	wantStatus(t, put(1002, "westeurope"), 201)
	// +301 s: the ten writes of +0.1 s to +1.0 s have left; this one came in.
	for _, l := range e.srv.ThrottleLevels() {
		if l.Name == "network-writes" && l.Region == "westeurope" && (l.Size != 1000 || l.Remaining != 9 || l.Throttled != 2) {
			t.Fatalf("network-writes level: %+v", l)
		}
	}
}

func TestOperationStatusPollsAreNetworkReadsInTheOperationsRegion(t *testing.T) {
	e, _ := throttled(t, armsim.Throttling{NetworkReads: 3})
	w := call(t, e, tokA, "PUT", rtNorth, tagBody("northeurope", "1"))
	wantStatus(t, w, 200)
	op := strings.TrimPrefix(w.h("Azure-AsyncOperation"), e.srv.URL())
	if !strings.Contains(op, "/locations/northeurope/operations/") {
		t.Fatalf("Azure-AsyncOperation %q", op)
	}
	for i := range 3 {
		a := call(t, e, tokA, "GET", op, "")
		wantStatus(t, a, 200)
		if got, want := a.h("x-ms-ratelimit-remaining-subscription-reads"), strconv.Itoa(249-i); got != want {
			t.Fatalf("poll %d: reads header %q, want %s", i, got, want)
		}
	}
	want429(t, call(t, e, tokA, "GET", rtNorth, ""), "300")
	wantStatus(t, call(t, e, tokA, "GET", rtWestID, ""), 200) // westeurope has its own
	if ev := throttledEvents(e); len(ev) != 1 || ev[0].Bucket != "network-reads/northeurope" {
		t.Fatalf("throttled events: %+v", ev)
	}
}

func TestPrivateDNSReadsHaveTheirOwnLimitUnderGlobal(t *testing.T) {
	e, _ := throttled(t, armsim.Throttling{DNSReads: 2})
	seed(t, e.srv, dnsZoneID, `{"location":"global"}`)
	seed(t, e.srv, dnsZoneID+"/A/web", `{"properties":{"ttl":10,"aRecords":[{"ipv4Address":"10.0.1.4"}]}}`)
	wantStatus(t, call(t, e, tokA, "GET", dnsZoneID, "?api-version=2024-06-01"), 200)
	wantStatus(t, call(t, e, tokA, "GET", dnsZoneID+"/A/web?api-version=2024-06-01", ""), 200)
	want429(t, call(t, e, tokA, "GET", dnsZoneID+"/A/web?api-version=2024-06-01", ""), "300")
	wantStatus(t, call(t, e, tokA, "GET", rtWestID, ""), 200)
	if ev := throttledEvents(e); len(ev) != 1 || ev[0].Bucket != "dns-reads/global" {
		t.Fatalf("throttled events: %+v", ev)
	}
}

func TestThrottledRequestChangesAndConsumesNothing(t *testing.T) {
	e, _ := throttled(t, armsim.Throttling{Writes: armsim.Limit{Burst: 1, PerSecond: 0.01}})
	wantStatus(t, call(t, e, tokA, "PUT", rtWestID, tagBody("westeurope", "1")), 200)
	e.srv.InjectFault(armsim.Fault{Method: "PUT", Status: 500})
	before := resourceJSON(t, e.srv, rtWestID)
	levels := e.srv.ThrottleLevels()
	events := len(e.srv.Events(0))
	a := call(t, e, tokA, "PUT", rtWestID, tagBody("westeurope", "2"))
	want429(t, a, "100")
	if after := resourceJSON(t, e.srv, rtWestID); after["etag"] != before["etag"] {
		t.Fatalf("etag %v -> %v: the throttled PUT changed the resource", before["etag"], after["etag"])
	}
	got := e.srv.Events(events)
	if len(got) != 1 || got[0].Kind != armsim.KindThrottled {
		t.Fatalf("events after the throttled PUT: %+v", got)
	}
	for i, l := range e.srv.ThrottleLevels() {
		if l.Name != "subscription-writes" && (l.Remaining != levels[i].Remaining || l.Name != levels[i].Name) {
			t.Fatalf("%s went %d -> %d: a throttled request consumed it", l.Name, levels[i].Remaining, l.Remaining)
		}
	}
	// The injected fault is still there: the throttled PUT never reached it.
	wantStatus(t, call(t, e, tokB, "PUT", rtWestID, tagBody("westeurope", "3")), 500)
}

func TestJWTBearerTokenIsItsOidPrincipal(t *testing.T) {
	e, _ := throttled(t, armsim.Throttling{})
	claims, _ := json.Marshal(map[string]string{"oid": "11111111-2222-3333-4444-555555555555", "appid": "app"})
	jwt := "eyJhbGciOiJSUzI1NiJ9." + base64.RawURLEncoding.EncodeToString(claims) + ".sig"
	wantStatus(t, call(t, e, jwt, "GET", rtWestID, ""), 200)
	wantStatus(t, call(t, e, "opaque", "GET", rtWestID, ""), 200)
	var who []string
	for _, l := range e.srv.ThrottleLevels() {
		if l.Name == "subscription-reads" {
			who = append(who, l.Principal)
		}
	}
	if got := strings.Join(who, ","); got != "11111111-2222-3333-4444-555555555555,armsim" {
		t.Fatalf("principals %s", got)
	}
}

func TestThrottlingControlEndpointTurnsTheModelOnAndOffAndShowsLevels(t *testing.T) {
	e := start(t, armsim.Options{})
	seedTopology(t, e.srv)
	if got := call(t, e, "x", "GET", rtID, "").h("x-ms-ratelimit-remaining-subscription-reads"); got != "249" {
		t.Fatalf("off: reads header %q, want the fixed 249", got)
	}
	control := func(method, body string) map[string]any {
		req, _ := http.NewRequest(method, e.srv.URL()+"/_armsim/throttling", strings.NewReader(body))
		resp, err := e.srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("%s /_armsim/throttling: %d", method, resp.StatusCode)
		}
		var m map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&m)
		return m
	}
	control("POST", `{"enabled":true,"writes":{"burst":5},"networkWindow":"1m"}`)
	if cfg, on := e.srv.Throttling(); !on || cfg.Writes != (armsim.Limit{Burst: 5, PerSecond: 10}) || cfg.NetworkWindow != time.Minute || cfg.Reads.Burst != 250 {
		t.Fatalf("throttling %+v on=%v", cfg, on)
	}
	a := call(t, e, "x", "GET", rtID, "")
	if a.h("x-ms-ratelimit-remaining-subscription-reads") != "249" || a.h("x-ms-ratelimit-remaining-subscription-global-reads") != "3749" {
		t.Fatalf("on: headers %v", a.header)
	}
	m := control("GET", "")
	if m["enabled"] != true || len(m["buckets"].([]any)) != 3 { // principal, global, network reads
		t.Fatalf("GET /_armsim/throttling: %v", m)
	}
	control("POST", `{"enabled":false}`)
	if levels := e.srv.ThrottleLevels(); levels != nil {
		t.Fatalf("off: levels %v", levels)
	}
	if a := call(t, e, "x", "GET", rtID, ""); a.h("x-ms-ratelimit-remaining-subscription-global-reads") != "" {
		t.Fatalf("off again: headers %v", a.header)
	}
}

// staticToken is a credential with a fixed bearer token, one per principal.
type staticToken string

func (s staticToken) GetToken(context.Context, policy.TokenRequestOptions) (azcore.AccessToken, error) {
	return azcore.AccessToken{Token: string(s), ExpiresOn: time.Now().Add(time.Hour)}, nil
}

func TestThrottlingThroughTheSDK(t *testing.T) {
	e, clk := throttled(t, armsim.Throttling{Writes: armsim.Limit{Burst: 1, PerSecond: 0.5}})
	seedTopology(t, e.srv)
	clientOf := func(tok string) *armnetwork.RouteTablesClient {
		c, err := armnetwork.NewRouteTablesClient(sub, staticToken(tok), clientOptions(e.srv))
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	a, b := clientOf(tokA), clientOf(tokB)
	var raw *http.Response
	got, err := a.Get(policy.WithCaptureResponse(ctx(t), &raw), rg, "rt-spoke", nil)
	if err != nil {
		t.Fatal(err)
	}
	if h := raw.Header.Get("x-ms-ratelimit-remaining-subscription-reads"); h != "249" {
		t.Fatalf("reads header %q", h)
	}
	got.Tags = tagsOf("1")
	p, err := a.BeginCreateOrUpdate(ctx(t), rg, "rt-spoke", got.RouteTable, nil)
	if err != nil {
		t.Fatal(err)
	}
	pollManually(t, ctx(t), p)
	got.Tags = tagsOf("2")
	_, err = a.BeginCreateOrUpdate(ctx(t), rg, "rt-spoke", got.RouteTable, nil)
	re := wantARMError(t, err, http.StatusTooManyRequests, "SubscriptionRequestsThrottled")
	if ra := re.RawResponse.Header.Get("Retry-After"); ra != "2" {
		t.Fatalf("Retry-After %q, want 2", ra)
	}
	// Principal b is not held back by a's bucket.
	if _, err := b.BeginCreateOrUpdate(ctx(t), rg, "rt-spoke", got.RouteTable, nil); err != nil {
		t.Fatalf("b's write: %v", err)
	}
	clk.Advance(2 * time.Second)
	got.Tags = tagsOf("3")
	if _, err := a.BeginCreateOrUpdate(ctx(t), rg, "rt-spoke", got.RouteTable, nil); err != nil {
		t.Fatalf("a's write after Retry-After: %v", err)
	}
	if n := len(throttledEvents(e)); n != 1 {
		t.Fatalf("%d throttled events, want 1", n)
	}
}
