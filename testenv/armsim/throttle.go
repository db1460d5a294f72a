package armsim

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Throttling configures armsim's model of Azure Resource Manager's request
// throttling, as Microsoft documents it in "Understand how Azure Resource
// Manager throttles requests"
// (https://learn.microsoft.com/azure/azure-resource-manager/management/request-limits-and-throttling;
// docs/azure-behaviour.md#arm-throttling says what is documented, observed
// and guessed). The zero value is off. With Enabled, every field left zero
// takes Azure's documented number; a negative number turns that one limit off.
type Throttling struct {
	// Enabled turns the model on.
	Enabled bool `json:"enabled"`
	// Reads, Writes and Deletes are the token buckets of one principal in
	// one subscription and region, per operation type ("Regional throttling
	// and token bucket algorithm"): reads 250 refilled 25/s, writes and
	// deletes 200 refilled 10/s. Writes are PUT, PATCH and POST.
	Reads   Limit `json:"reads"`
	Writes  Limit `json:"writes"`
	Deletes Limit `json:"deletes"`
	// GlobalFactor sizes the subscription's global buckets, shared by all
	// principals: GlobalFactor times the per-principal bucket and refill
	// rate. Default 15 (same section).
	GlobalFactor float64 `json:"globalFactor,omitempty"`
	// NetworkWrites and NetworkReads are Microsoft.Network's own limits per
	// subscription and region ("Network throttling"): 1,000 writes and
	// deletes, 10,000 reads (every GET, operation-status polls included) in
	// any NetworkWindow. Default window 5 minutes.
	NetworkWrites int           `json:"networkWrites,omitempty"`
	NetworkReads  int           `json:"networkReads,omitempty"`
	NetworkWindow time.Duration `json:"-"`
	// DNSReads limits the reads of private DNS zones and their record sets
	// per subscription in any NetworkWindow, instead of NetworkReads.
	// Default 500: the page's note that Azure DNS and Private DNS "have a
	// throttle limit of 500 read (GET) operations per 5 minutes".
	DNSReads int `json:"dnsReads,omitempty"`
	// Principals maps bearer tokens to principal IDs, so a test can have
	// several callers. A token not in the map is a JWT's oid (or appid)
	// claim if it has one, else the one default principal "armsim".
	Principals map[string]string `json:"principals,omitempty"`
}

// Limit is a token bucket: Burst tokens, refilled at PerSecond. Zero
// fields take the documented value; a negative Burst means no limit.
type Limit struct {
	Burst     float64 `json:"burst,omitempty"`
	PerSecond float64 `json:"perSecond,omitempty"`
}

// Azure's documented numbers (request-limits-and-throttling, "Regional
// throttling and token bucket algorithm" and "Network throttling").
var (
	azureReads   = Limit{Burst: 250, PerSecond: 25}
	azureWrites  = Limit{Burst: 200, PerSecond: 10}
	azureDeletes = Limit{Burst: 200, PerSecond: 10}
)

const (
	azureGlobalFactor  = 15
	azureNetworkWrites = 1000
	azureNetworkReads  = 10000
	azureDNSReads      = 500
	azureNetworkWindow = 5 * time.Minute
	defaultPrincipal   = "armsim"
)

// withDefaults fills every zero field with Azure's number.
func (t Throttling) withDefaults() Throttling {
	fill := func(l *Limit, d Limit) {
		if l.Burst == 0 {
			l.Burst = d.Burst
		}
		if l.PerSecond == 0 {
			l.PerSecond = d.PerSecond
		}
	}
	fill(&t.Reads, azureReads)
	fill(&t.Writes, azureWrites)
	fill(&t.Deletes, azureDeletes)
	if t.GlobalFactor == 0 {
		t.GlobalFactor = azureGlobalFactor
	}
	if t.NetworkWrites == 0 {
		t.NetworkWrites = azureNetworkWrites
	}
	if t.NetworkReads == 0 {
		t.NetworkReads = azureNetworkReads
	}
	if t.DNSReads == 0 {
		t.DNSReads = azureDNSReads
	}
	if t.NetworkWindow <= 0 {
		t.NetworkWindow = azureNetworkWindow
	}
	return t
}

func (t Throttling) MarshalJSON() ([]byte, error) {
	type plain Throttling
	w := struct {
		plain
		NetworkWindow string `json:"networkWindow,omitempty"`
	}{plain: plain(t)}
	if t.NetworkWindow > 0 {
		w.NetworkWindow = t.NetworkWindow.String()
	}
	return json.Marshal(w)
}

func (t *Throttling) UnmarshalJSON(b []byte) error {
	type plain Throttling
	var w struct {
		plain
		NetworkWindow string `json:"networkWindow,omitempty"`
	}
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	*t = Throttling(w.plain)
	if w.NetworkWindow != "" {
		d, err := time.ParseDuration(w.NetworkWindow)
		if err != nil {
			return fmt.Errorf("parse networkWindow %q: %w", w.NetworkWindow, err)
		}
		t.NetworkWindow = d
	}
	return nil
}

// opKind is ARM's operation type: the bucket a request draws from.
type opKind string

const (
	opRead   opKind = "reads"
	opWrite  opKind = "writes"
	opDelete opKind = "deletes"
)

func kindOf(method string) opKind {
	switch method {
	case http.MethodGet, http.MethodHead:
		return opRead
	case http.MethodDelete:
		return opDelete
	}
	return opWrite // PUT, PATCH, POST
}

// tokenBucket is a token bucket with the "not processed, new retry value"
// rule: once it refuses, it refuses everything until blockedUntil.
type tokenBucket struct {
	rate         float64 // tokens per second
	burst        float64
	tokens       float64
	last         time.Time
	blockedUntil time.Time
	throttled    int
}

func newBucket(l Limit, now time.Time) *tokenBucket {
	return &tokenBucket{rate: l.PerSecond, burst: l.Burst, tokens: l.Burst, last: now}
}

func (b *tokenBucket) refill(now time.Time) {
	if el := now.Sub(b.last).Seconds(); el > 0 {
		b.tokens = min(b.burst, b.tokens+el*b.rate)
		b.last = now
	}
}

// wait says how long until b can give a token (0: now).
func (b *tokenBucket) wait(now time.Time) time.Duration {
	b.refill(now)
	if now.Before(b.blockedUntil) {
		return b.blockedUntil.Sub(now)
	}
	if b.tokens >= 1 {
		return 0
	}
	if b.rate <= 0 {
		return time.Hour
	}
	return time.Duration((1 - b.tokens) / b.rate * float64(time.Second))
}

func (b *tokenBucket) take() { b.tokens-- }

func (b *tokenBucket) remaining() int { return max(0, int(math.Floor(b.tokens))) }

// refuse blocks b for the Retry-After it answers with, whole seconds
// rounded up.
func (b *tokenBucket) refuse(now time.Time, wait time.Duration) time.Duration {
	b.throttled++
	return block(&b.blockedUntil, now, wait)
}

// block answers a refused request: Retry-After is wait in whole seconds,
// rounded up (at least 1), and until then every request is refused. A
// request sent while blocked is not processed and gets the time still to
// wait as its new Retry-After; the block is not extended.
func block(until *time.Time, now time.Time, wait time.Duration) time.Duration {
	if now.Before(*until) {
		return time.Duration(max(1, ceilSeconds(until.Sub(now)))) * time.Second
	}
	d := time.Duration(max(1, ceilSeconds(wait))) * time.Second
	*until = now.Add(d)
	return d
}

// take spends a token, or refuses and says how long to wait (SetWriteThrottle).
func (b *tokenBucket) takeOrRefuse(now time.Time) (bool, time.Duration) {
	if w := b.wait(now); w > 0 {
		return false, b.refuse(now, w)
	}
	b.take()
	return true, 0
}

// window counts requests in a sliding window: Microsoft.Network's "N per 5
// minutes" (doc.go says why a window and not a bucket).
type window struct {
	limit        int
	span         time.Duration
	times        []time.Time // accepted requests in the window, oldest first
	blockedUntil time.Time
	throttled    int
}

func (w *window) prune(now time.Time) {
	cut := 0
	for cut < len(w.times) && !w.times[cut].Add(w.span).After(now) {
		cut++
	}
	if cut > 0 {
		w.times = append(w.times[:0], w.times[cut:]...)
	}
}

func (w *window) wait(now time.Time) time.Duration {
	w.prune(now)
	if now.Before(w.blockedUntil) {
		return w.blockedUntil.Sub(now)
	}
	if len(w.times) < w.limit {
		return 0
	}
	return w.times[len(w.times)-w.limit].Add(w.span).Sub(now)
}

func (w *window) take(now time.Time) { w.times = append(w.times, now) }

func (w *window) remaining() int { return max(0, w.limit-len(w.times)) }

func (w *window) refuse(now time.Time, wait time.Duration) time.Duration {
	w.throttled++
	return block(&w.blockedUntil, now, wait)
}

// throttleState is the model's buckets, created full on first use.
type throttleState struct {
	cfg     Throttling // with defaults
	buckets map[bucketKey]*tokenBucket
	windows map[bucketKey]*window
}

// bucketKey names one bucket: scope is "subscription" (one principal),
// "subscription-global", "network" or "dns".
type bucketKey struct {
	scope     string
	kind      opKind
	sub       string // lower-cased
	region    string // lower-cased, no spaces; "global" for resources without one
	principal string // scope "subscription" only
}

// name is the bucket's name in events and levels, after the header that
// reports it: "subscription-writes", "subscription-global-reads",
// "network-writes", "dns-reads".
func (k bucketKey) name() string { return k.scope + "-" + string(k.kind) }

func (k bucketKey) String() string {
	s := k.name() + "/" + k.region
	if k.principal != "" {
		s += "/" + k.principal
	}
	return s
}

// charge is what one request draws from: the keys of its buckets, and
// what its response's headers report.
type charge struct {
	kind      opKind
	principal bucketKey
	global    bucketKey
	rp        *bucketKey // a Microsoft.Network window, if any
}

// SetThrottling replaces the throttling model's configuration at run time
// and empties its state: every bucket starts full again. A zero Throttling
// (Enabled false) turns it off. SetWriteThrottle is separate and unaffected.
func (s *Sim) SetThrottling(t Throttling) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.setThrottlingLocked(t)
}

func (s *Sim) setThrottlingLocked(t Throttling) {
	if !t.Enabled {
		s.throttling = nil
		return
	}
	s.throttling = &throttleState{
		cfg:     t.withDefaults(),
		buckets: map[bucketKey]*tokenBucket{},
		windows: map[bucketKey]*window{},
	}
}

// Throttling returns the model's configuration, defaults filled in, and
// whether it is on.
func (s *Sim) Throttling() (Throttling, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.throttling == nil {
		return Throttling{}, false
	}
	return s.throttling.cfg, true
}

// BucketLevel is the state of one bucket of the throttling model.
type BucketLevel struct {
	// Name is "subscription-reads|writes|deletes" (one principal's bucket),
	// "subscription-global-reads|writes|deletes" (all principals),
	// "network-reads|writes" (Microsoft.Network's 5-minute window) or
	// "dns-reads" (private DNS reads).
	Name         string `json:"name"`
	Subscription string `json:"subscription"`
	Region       string `json:"region"`
	Principal    string `json:"principal,omitempty"`
	// Size is the bucket's capacity (or the window's limit); Remaining the
	// whole tokens (requests) left now, as the x-ms-ratelimit-remaining-*
	// header would say.
	Size      float64 `json:"size"`
	Remaining int     `json:"remaining"`
	// RetryAt, if set, is when the bucket stops refusing every request
	// (the Retry-After it last answered).
	RetryAt time.Time `json:"retryAt,omitempty"`
	// Throttled counts the 429s this bucket answered.
	Throttled int `json:"throttled"`
}

// ThrottleLevels returns every bucket the model has used, at the current
// time, sorted by subscription, region, name and principal. Nil if the
// model is off.
func (s *Sim) ThrottleLevels() []BucketLevel {
	s.mu.Lock()
	defer s.mu.Unlock()
	ts := s.throttling
	if ts == nil {
		return nil
	}
	now := s.now()
	var out []BucketLevel
	level := func(k bucketKey) BucketLevel {
		return BucketLevel{Name: k.name(), Subscription: k.sub, Region: k.region, Principal: k.principal}
	}
	for k, b := range ts.buckets {
		b.refill(now)
		l := level(k)
		l.Size, l.Remaining, l.Throttled = b.burst, b.remaining(), b.throttled
		if now.Before(b.blockedUntil) {
			l.RetryAt = b.blockedUntil
		}
		out = append(out, l)
	}
	for k, w := range ts.windows {
		w.prune(now)
		l := level(k)
		l.Size, l.Remaining, l.Throttled = float64(w.limit), w.remaining(), w.throttled
		if now.Before(w.blockedUntil) {
			l.RetryAt = w.blockedUntil
		}
		out = append(out, l)
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.Subscription != b.Subscription {
			return a.Subscription < b.Subscription
		}
		if a.Region != b.Region {
			return a.Region < b.Region
		}
		if a.Name != b.Name {
			return a.Name < b.Name
		}
		return a.Principal < b.Principal
	})
	return out
}

// principalOf derives the caller from its bearer token.
func (ts *throttleState) principalOf(authz string) string {
	token := strings.TrimSpace(authz[min(len(authz), len("Bearer ")):])
	if id, ok := ts.cfg.Principals[token]; ok {
		return id
	}
	if id := jwtPrincipal(token); id != "" {
		return id
	}
	return defaultPrincipal
}

// jwtPrincipal returns the oid (else appid) claim of a JWT access token, as
// Microsoft Entra ID issues them, or "".
func jwtPrincipal(token string) string {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return ""
	}
	b, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[1], "="))
	if err != nil {
		return ""
	}
	var claims struct {
		OID   string `json:"oid"`
		AppID string `json:"appid"`
	}
	if json.Unmarshal(b, &claims) != nil {
		return ""
	}
	if claims.OID != "" {
		return claims.OID
	}
	return claims.AppID
}

func normRegion(loc string) string {
	loc = strings.ToLower(strings.ReplaceAll(loc, " ", ""))
	if loc == "" {
		return "global"
	}
	return loc
}

// chargeOf works out which buckets a request draws from: its subscription,
// the region of the resource it addresses (the stored resource's location,
// else the PUT body's; an operation's region from its URL; "global" for
// resources without a location, lists and permissions), its principal and
// its operation type.
func (s *Sim) chargeOf(rc *reqCtx, authz string) charge {
	ts := s.throttling
	kind := kindOf(rc.method)
	p, err := parsePath(rc.path)
	sub := ""
	if err == nil {
		sub = p.sub
	} else if segs := splitPath(rc.path); len(segs) >= 2 && strings.EqualFold(segs[0], "subscriptions") {
		sub = segs[1]
	}
	region := "global"
	if err == nil {
		switch p.kind {
		case pathOperation, pathOperationResult:
			region = normRegion(p.location)
		case pathResource, pathAction:
			if res := s.resources[keyOf(p.parentID())]; res != nil {
				region = normRegion(str(res.body, "location"))
			} else if rc.method == http.MethodPut && p.childType == "" {
				if in, err := decodeObject(rc.body); err == nil {
					region = normRegion(str(in, "location"))
				}
			}
		}
	}
	sub = strings.ToLower(sub)
	c := charge{
		kind:      kind,
		principal: bucketKey{scope: "subscription", kind: kind, sub: sub, region: region, principal: ts.principalOf(authz)},
		global:    bucketKey{scope: "subscription-global", kind: kind, sub: sub, region: region},
	}
	if err == nil && p.ns == "Microsoft.Network" {
		rp := bucketKey{scope: "network", kind: opWrite, sub: sub, region: region}
		if kind == opRead {
			rp.kind = opRead
			if strings.EqualFold(p.typ, "privateDnsZones") || strings.EqualFold(p.typ, "dnsZones") {
				rp.scope = "dns"
			}
		}
		c.rp = &rp
	}
	return c
}

func (ts *throttleState) limitOf(kind opKind) Limit {
	switch kind {
	case opRead:
		return ts.cfg.Reads
	case opDelete:
		return ts.cfg.Deletes
	}
	return ts.cfg.Writes
}

// bucket returns the token bucket of k (nil: no limit), creating it full.
func (ts *throttleState) bucket(k bucketKey, now time.Time) *tokenBucket {
	if b := ts.buckets[k]; b != nil {
		return b
	}
	l := ts.limitOf(k.kind)
	if l.Burst < 0 {
		return nil
	}
	if k.scope == "subscription-global" {
		if ts.cfg.GlobalFactor < 0 {
			return nil
		}
		l = Limit{Burst: l.Burst * ts.cfg.GlobalFactor, PerSecond: l.PerSecond * ts.cfg.GlobalFactor}
	}
	b := newBucket(l, now)
	ts.buckets[k] = b
	return b
}

// window returns the window of k (nil: no limit), creating it empty.
func (ts *throttleState) window(k bucketKey) *window {
	if w := ts.windows[k]; w != nil {
		return w
	}
	limit := ts.cfg.NetworkWrites
	switch {
	case k.scope == "dns":
		limit = ts.cfg.DNSReads
	case k.kind == opRead:
		limit = ts.cfg.NetworkReads
	}
	if limit < 0 {
		return nil
	}
	w := &window{limit: limit, span: ts.cfg.NetworkWindow}
	ts.windows[k] = w
	return w
}

// admit charges c's buckets, all or nothing. If any refuses, nothing is
// taken, every refusing bucket is blocked for the Retry-After it answers,
// and admit returns the longest Retry-After and the bucket that set it.
func (s *Sim) admit(c charge, now time.Time) (ok bool, retry time.Duration, by bucketKey) {
	ts := s.throttling
	type gate struct {
		key  bucketKey
		b    *tokenBucket
		w    *window
		wait time.Duration
	}
	var gates []gate
	for _, k := range []bucketKey{c.principal, c.global} {
		if b := ts.bucket(k, now); b != nil {
			gates = append(gates, gate{key: k, b: b, wait: b.wait(now)})
		}
	}
	if c.rp != nil {
		if w := ts.window(*c.rp); w != nil {
			gates = append(gates, gate{key: *c.rp, w: w, wait: w.wait(now)})
		}
	}
	refused := false
	for _, g := range gates {
		if g.wait > 0 {
			refused = true
		}
	}
	if !refused {
		for _, g := range gates {
			if g.b != nil {
				g.b.take()
			} else {
				g.w.take(now)
			}
		}
		return true, 0, bucketKey{}
	}
	for _, g := range gates {
		if g.wait <= 0 {
			continue
		}
		var d time.Duration
		if g.b != nil {
			d = g.b.refuse(now, g.wait)
		} else {
			d = g.w.refuse(now, g.wait)
		}
		if d > retry {
			retry, by = d, g.key
		}
	}
	return false, retry, by
}

// rateLimitHeaders sets the x-ms-ratelimit-remaining-subscription-* headers
// of the request's operation type, as ARM sends them: the caller's bucket
// ("Remaining requests": reads on read operations, writes on write
// operations, deletes on delete operations) and the subscription's global
// bucket (observed in public captures, e.g. -reads 249 and -global-reads
// 3749 on a GET).
func (s *Sim) rateLimitHeaders(resp *response, c charge, now time.Time) {
	ts := s.throttling
	if b := ts.bucket(c.principal, now); b != nil {
		b.refill(now)
		resp.setHeader("x-ms-ratelimit-remaining-subscription-"+string(c.kind), strconv.Itoa(b.remaining()))
	}
	if b := ts.bucket(c.global, now); b != nil {
		b.refill(now)
		resp.setHeader("x-ms-ratelimit-remaining-subscription-global-"+string(c.kind), strconv.Itoa(b.remaining()))
	}
}

// throttled is the 429 ARM answers when a bucket refuses
// (request-limits-and-throttling, "Error code"); its message follows public
// captures of ARM's.
func throttled(c charge, by bucketKey, retry time.Duration) response {
	op := map[opKind]string{opRead: "read", opWrite: "write", opDelete: "delete"}[by.kind]
	who := "subscription actor"
	switch by.scope {
	case "subscription-global":
		who = "subscription"
	case "network", "dns":
		who = "subscription and region (Microsoft.Network)"
	}
	secs := strconv.Itoa(ceilSeconds(retry))
	resp := armError(http.StatusTooManyRequests, "SubscriptionRequestsThrottled",
		"Number of '"+op+"' requests for "+who+" exceeded. Please try again after '"+secs+
			"' seconds after the last request.")
	resp.setHeader("Retry-After", secs)
	return resp
}

// throttleLocked applies the model to an authenticated request: nil if it
// may go on, else the 429 (already logged as a KindThrottled event).
func (s *Sim) throttleLocked(rc *reqCtx, c charge) *response {
	ok, retry, by := s.admit(c, rc.now)
	if ok {
		return nil
	}
	resp := throttled(c, by, retry)
	code, _ := errorCode(resp.body)
	s.addEvent(Event{
		Time: rc.now, Kind: KindThrottled, Method: rc.method,
		ResourceID: s.displayID(rc.path), Client: rc.client,
		ClientRequestID: rc.clientRequestID, Status: resp.status, Code: code,
		Bucket: by.String(), Principal: c.principal.principal,
	})
	return &resp
}
