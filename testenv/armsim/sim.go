package armsim

import (
	"io"
	"math"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Options configure a Sim.
type Options struct {
	// LROLatency is how long an accepted PUT or DELETE stays InProgress
	// (provisioningState Updating/Creating/Deleting). Default 0: the operation
	// is done at once, but the PUT response still says Updating, so a client
	// needs one status poll. SetLatency overrides it per resource type.
	LROLatency time.Duration
	// RetryAfter is the Retry-After (seconds) sent on LRO responses and on
	// InProgress status polls. 0 means 10, what Microsoft.Network sends
	// (docs/azure-behaviour.md#arm-lro); a negative value sends no Retry-After
	// at all, which
	// lets the SDK's PollUntilDone use its Frequency (fast tests).
	RetryAfter int
	// Token, if set, is the only bearer token accepted ("Bearer "+Token);
	// otherwise any non-empty bearer token is.
	Token string
	// Logf, if set, receives one line per ARM request.
	Logf func(format string, args ...any)
	// Addr is the listen address for Start. Default "127.0.0.1:0".
	Addr string
	// Throttling is the model of ARM's request throttling (throttle.go);
	// off unless Throttling.Enabled. SetThrottling changes it at run time.
	Throttling Throttling
	// Now, if set, is the emulator's clock: request and event times,
	// operation completion and throttling all follow it, so a test can
	// step time. Default time.Now.
	Now func() time.Time
}

// Sim is the in-memory ARM emulator. It is an http.Handler serving ARM paths
// (/subscriptions/...) and the control API (/_armsim/...). All methods are safe
// for concurrent use.
type Sim struct {
	opts Options

	mu         sync.Mutex
	resources  map[string]*resource     // by lower-cased resource ID
	ops        map[string]*operation    // by lower-cased operation ID
	pending    []*operation             // not yet completed, in start order
	latency    map[string]time.Duration // by lower-cased resource type; "" = all
	faults     []*Fault
	throttle   *tokenBucket          // SetWriteThrottle
	throttling *throttleState        // Options.Throttling, SetThrottling; nil: off
	perms      map[string]permission // by lower-cased scope
	events     []Event
	requests   []Request
	before     func(method, path string)
	pipSerial  int
}

// New returns an empty emulator.
func New(opts Options) *Sim {
	if opts.RetryAfter == 0 {
		opts.RetryAfter = 10
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	s := &Sim{
		opts:      opts,
		resources: map[string]*resource{},
		ops:       map[string]*operation{},
		latency:   map[string]time.Duration{},
		perms:     map[string]permission{},
	}
	s.setThrottlingLocked(opts.Throttling)
	return s
}

// now reads the emulator's clock (Options.Now).
func (s *Sim) now() time.Time { return s.opts.Now() }

// SetLatency sets how long accepted writes to one resource type stay
// InProgress: "routeTables" (also used for routes/{name} writes),
// "networkInterfaces", "publicIPAddresses", any other type name, or "" for
// every type without its own setting. "effectiveRouteTable" sets how long
// that POST action on a NIC runs.
func (s *Sim) SetLatency(resourceType string, d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.latency[strings.ToLower(resourceType)] = d
}

func (s *Sim) latencyFor(typ string) time.Duration {
	if d, ok := s.latency[strings.ToLower(typ)]; ok {
		return d
	}
	if d, ok := s.latency[""]; ok {
		return d
	}
	return s.opts.LROLatency
}

// BeforeRequest installs a hook called before each ARM request (not control
// API requests) is handled, outside the emulator's lock, so it may call Seed.
// nil removes it.
func (s *Sim) BeforeRequest(fn func(method, path string)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.before = fn
}

// response is a complete answer, built under the lock and written after it.
type response struct {
	status int
	header http.Header
	body   []byte
}

func (r *response) setHeader(k, v string) {
	if r.header == nil {
		r.header = http.Header{}
	}
	r.header.Set(k, v)
}

// reqCtx carries what handlers need from the HTTP request.
type reqCtx struct {
	method          string
	path            string
	baseURL         string // scheme://host, for absolute operation URLs
	apiVersion      string
	client          string
	clientRequestID string
	ifMatch         string
	ifNoneMatch     string
	requestID       string
	now             time.Time
	body            []byte
	charged         *charge // the throttling model's buckets, once authenticated
}

const maxBody = 8 << 20

// ServeHTTP implements http.Handler.
func (s *Sim) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if strings.HasPrefix(r.URL.Path, controlPrefix) {
		s.serveControl(w, r)
		return
	}
	s.mu.Lock()
	hook := s.before
	s.mu.Unlock()
	if hook != nil {
		hook(r.Method, r.URL.Path)
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody))
	if err != nil {
		http.Error(w, "read body: "+err.Error(), http.StatusBadRequest)
		return
	}
	scheme := "https"
	if r.TLS == nil {
		scheme = "http"
	}
	rc := &reqCtx{
		method:          r.Method,
		path:            r.URL.Path,
		baseURL:         scheme + "://" + r.Host,
		apiVersion:      r.URL.Query().Get("api-version"),
		client:          r.Header.Get("User-Agent"),
		clientRequestID: r.Header.Get("x-ms-client-request-id"),
		ifMatch:         r.Header.Get("If-Match"),
		ifNoneMatch:     r.Header.Get("If-None-Match"),
		requestID:       newUUID(),
		body:            body,
	}
	resp := s.handle(rc, r.Header.Get("Authorization"))
	if s.opts.Logf != nil {
		s.opts.Logf("armsim: %s %s -> %d", r.Method, r.URL.Path, resp.status)
	}
	h := w.Header()
	for k, vs := range resp.header {
		h[k] = vs
	}
	h.Set("x-ms-request-id", rc.requestID)
	h.Set("x-ms-correlation-request-id", rc.requestID)
	if len(resp.body) > 0 {
		h.Set("Content-Type", "application/json; charset=utf-8")
		h.Set("Content-Length", strconv.Itoa(len(resp.body)))
	}
	w.WriteHeader(resp.status)
	if len(resp.body) > 0 {
		_, _ = w.Write(resp.body)
	}
}

func isWrite(method string) bool {
	return method == http.MethodPut || method == http.MethodPatch || method == http.MethodDelete
}

// handle answers one ARM request under the lock.
func (s *Sim) handle(rc *reqCtx, authz string) response {
	s.mu.Lock()
	defer s.mu.Unlock()
	rc.now = s.now() // under the lock: event times follow Seq order
	s.advance(rc.now)
	resp := s.handleLocked(rc, authz)
	if rc.charged != nil {
		// On every response to an authenticated request, 429 included.
		s.rateLimitHeaders(&resp, *rc.charged, rc.now)
	}
	s.requests = append(s.requests, Request{
		Time: rc.now, Method: rc.method, Path: rc.path, Client: rc.client, Status: resp.status,
	})
	return resp
}

func (s *Sim) handleLocked(rc *reqCtx, authz string) response {
	write := isWrite(rc.method)
	reject := func(resp response) response {
		if write {
			code, _ := errorCode(resp.body)
			s.addEvent(Event{
				Time: rc.now, Kind: KindWriteRejected, Method: rc.method,
				ResourceID: s.displayID(rc.path), Client: rc.client,
				ClientRequestID: rc.clientRequestID, Status: resp.status, Code: code,
			})
		}
		return resp
	}
	if resp, ok := s.checkAuth(authz); !ok {
		return reject(resp)
	}
	if rc.apiVersion == "" {
		// ARM rejects any request without api-version.
		return reject(armError(http.StatusBadRequest, "MissingApiVersionParameter",
			"The api-version query parameter (?api-version=) is required for all requests."))
	}
	if s.throttling != nil {
		// ARM throttles before the provider sees the request, so a
		// throttled request uses up no injected fault.
		c := s.chargeOf(rc, authz)
		rc.charged = &c
		if resp := s.throttleLocked(rc, c); resp != nil {
			return *resp // logged as KindThrottled
		}
	}
	if f := s.matchFault(rc, stageBefore); f != nil {
		return reject(faultResponse(f))
	}
	if write && s.throttle != nil {
		if ok, wait := s.throttle.takeOrRefuse(rc.now); !ok {
			// docs/azure-behaviour.md#arm-throttling: 429 with Retry-After; a request sent before it
			// elapses is not processed and gets a new retry value.
			resp := armError(http.StatusTooManyRequests, "SubscriptionRequestsThrottled",
				"Number of 'write' requests for subscription actor exceeded. Please try again after '"+
					strconv.Itoa(ceilSeconds(wait))+"' seconds after the last request.")
			resp.setHeader("Retry-After", strconv.Itoa(ceilSeconds(wait)))
			if s.throttling == nil {
				resp.setHeader("x-ms-ratelimit-remaining-subscription-writes", "0")
			}
			return reject(resp)
		}
	}
	resp := s.route(rc)
	if resp.status < 300 {
		if f := s.matchFault(rc, stageAfter); f != nil {
			return reject(faultResponse(f))
		}
	}
	if resp.status >= 400 {
		return reject(resp)
	}
	if s.throttling != nil {
		return resp // handle sets the model's headers
	}
	if write {
		resp.setHeader("x-ms-ratelimit-remaining-subscription-writes", s.remainingWrites())
	} else {
		resp.setHeader("x-ms-ratelimit-remaining-subscription-reads", "249")
	}
	return resp
}

func (s *Sim) checkAuth(authz string) (response, bool) {
	const prefix = "Bearer "
	if authz == "" {
		return armError(http.StatusUnauthorized, "AuthenticationFailed",
			"Authentication failed. The 'Authorization' header is missing."), false
	}
	if len(authz) <= len(prefix) || !strings.EqualFold(authz[:len(prefix)], prefix) ||
		strings.TrimSpace(authz[len(prefix):]) == "" {
		return armError(http.StatusUnauthorized, "AuthenticationFailed",
			"Authentication failed. The 'Authorization' header is provided in an invalid format."), false
	}
	if s.opts.Token != "" && authz[len(prefix):] != s.opts.Token {
		return armError(http.StatusUnauthorized, "InvalidAuthenticationToken",
			"The access token is invalid."), false
	}
	return response{}, true
}

// route dispatches an authenticated ARM request.
func (s *Sim) route(rc *reqCtx) response {
	p, err := parsePath(rc.path)
	if err != nil {
		return armError(http.StatusBadRequest, "InvalidRequestUri", err.Error())
	}
	if resp, ok := s.routePrivateDNS(rc, p); ok { // privatedns.go
		return resp
	}
	switch p.kind {
	case pathPermissions:
		if rc.method != http.MethodGet {
			return methodNotAllowed(rc.method)
		}
		return s.getPermissions(p.scope)
	case pathOperation, pathOperationResult:
		if rc.method != http.MethodGet {
			return methodNotAllowed(rc.method)
		}
		return s.getOperation(rc, p)
	case pathList:
		if rc.method != http.MethodGet {
			return methodNotAllowed(rc.method)
		}
		return s.list(p)
	case pathAction:
		if rc.method != http.MethodPost {
			return methodNotAllowed(rc.method)
		}
		return s.postEffectiveRouteTable(rc, p) // the only action emulated
	case pathResource:
		switch rc.method {
		case http.MethodGet:
			return s.get(p)
		case http.MethodPut:
			return s.put(rc, p)
		case http.MethodPatch:
			return s.patchTags(rc, p)
		case http.MethodDelete:
			return s.delete(rc, p)
		}
		return methodNotAllowed(rc.method)
	}
	return armError(http.StatusNotFound, "ResourceNotFound", "No route for "+rc.path+".")
}

func methodNotAllowed(method string) response {
	return armError(http.StatusMethodNotAllowed, "MethodNotAllowed",
		"The requested method '"+method+"' is not allowed for this resource.")
}

func ceilSeconds(d time.Duration) int {
	if d <= 0 {
		return 0
	}
	return int(math.Ceil(d.Seconds()))
}
