package blobsim

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"
)

// apiVersion is the x-ms-version answered when a request names none; azblob
// v1.8.3 sends 2026-12-06 and gets its own version back.
const apiVersion = "2026-12-06"

// Options configures New.
type Options struct {
	// Now is storage's clock: it stamps Date, Last-Modified and
	// Creation-Time and decides lease expiry. Default time.Now (the bubble's
	// clock inside testing/synctest). It must never run backwards.
	Now func() time.Time
}

// Server is the in-memory Blob service: an http.Handler. Its methods are
// safe for concurrent use; requests are handled one at a time.
//
// Date and Last-Modified have whole-second resolution, as in Azure (RFC 1123
// dates, https://learn.microsoft.com/rest/api/storageservices/representation-of-date-time-values-in-headers),
// while the server keeps full precision internally (lease expiry is exact).
// Both headers are truncated from the same monotone clock, so for a blob
// read after it was written Date − Last-Modified is never negative and is
// within one second of the true age (it is 1s when a write at 10.9s is read
// at 11.1s, and 0s when a write at 10.1s is read at 10.9s). Callers that
// judge an age this way must allow that second.
type Server struct {
	now func() time.Time

	mu         sync.Mutex
	down       bool
	seq        uint64 // ETags, request IDs and generated lease IDs
	containers map[string]*containerState
}

type containerState struct {
	created time.Time
	etag    string
	blobs   map[string]*blobState
}

type blobState struct {
	data        []byte
	contentType string
	etag        string
	created     time.Time
	modified    time.Time
	lease       leaseState
}

// New returns an empty Server (no containers).
func New(o Options) *Server {
	if o.Now == nil {
		o.Now = time.Now
	}
	return &Server{now: o.Now, containers: map[string]*containerState{}}
}

// BlobState is what Blob reports of a stored blob.
type BlobState struct {
	Data         []byte
	ContentType  string
	ETag         string    // as sent in the ETag header, quotes included
	LastModified time.Time // full precision; the header truncates it to seconds
	// LeaseState is available, leased, expired, breaking or broken, as of
	// now by the server's clock.
	LeaseState string
	// LeaseID is the lease's ID in every state but available (Azure keeps
	// an expired or broken lease's ID until the blob is written or leased
	// again).
	LeaseID string
	// LeaseExpiry is when a leased fixed-duration lease expires (or
	// expired), or when a breaking lease breaks; zero otherwise.
	LeaseExpiry time.Time
}

// Blob returns a copy of blob name in container, for invariant checks, and
// whether it exists. It does not count as a request.
func (s *Server) Blob(container, name string) (BlobState, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.containers[container]
	if c == nil {
		return BlobState{}, false
	}
	b := c.blobs[name]
	if b == nil {
		return BlobState{}, false
	}
	now := s.now()
	b.lease.settle(now)
	st := BlobState{
		Data:         bytes.Clone(b.data),
		ContentType:  b.contentType,
		ETag:         b.etag,
		LastModified: b.modified,
		LeaseState:   b.lease.state,
		LeaseID:      b.lease.id,
	}
	switch b.lease.state {
	case stateLeased, stateExpired:
		if !b.lease.infinite {
			st.LeaseExpiry = b.lease.expiry
		}
	case stateBreaking:
		st.LeaseExpiry = b.lease.breakAt
	}
	return st, true
}

// Names returns the names of the blobs in container, sorted.
func (s *Server) Names(container string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.containers[container]
	if c == nil {
		return nil
	}
	return c.sortedNames()
}

// CreateContainer creates container unless it exists (a test's set-up;
// clients use Create Container).
func (s *Server) CreateContainer(container string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.container(container)
}

// Put stores data as blob name in container, creating both if needed,
// whatever lease the blob has (the lease is kept): a corruption behind the
// clients' back, or a set-up. It gets a new ETag and Last-Modified.
func (s *Server) Put(container, name string, data []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.container(container)
	now := s.now()
	b := c.blobs[name]
	if b == nil {
		b = &blobState{created: now, contentType: "application/octet-stream"}
		c.blobs[name] = b
	}
	b.data = bytes.Clone(data)
	b.modified = now
	b.etag = s.newETag()
}

// Delete removes blob name from container whatever its lease, and reports
// whether it existed.
func (s *Server) Delete(container, name string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.containers[container]
	if c == nil || c.blobs[name] == nil {
		return false
	}
	delete(c.blobs, name)
	return true
}

// SetDown makes every request fail with 503 ServerBusy (true) until it is
// called with false: a storage outage. Nothing is changed while down.
func (s *Server) SetDown(down bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.down = down
}

// container returns container name, creating it. s.mu is held.
func (s *Server) container(name string) *containerState {
	c := s.containers[name]
	if c == nil {
		c = &containerState{created: s.now(), etag: s.newETag(), blobs: map[string]*blobState{}}
		s.containers[name] = c
	}
	return c
}

func (c *containerState) sortedNames() []string {
	names := make([]string, 0, len(c.blobs))
	for n := range c.blobs {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// newETag returns a new quoted ETag in Azure's shape ("0x8D..."). s.mu is
// held.
func (s *Server) newETag() string {
	s.seq++
	return fmt.Sprintf("\"0x8DD%013X\"", s.seq)
}

// newID returns a new GUID-shaped ID (request IDs, generated lease IDs),
// deterministic so that a simulation replays alike. s.mu is held.
func (s *Server) newID() string {
	s.seq++
	return fmt.Sprintf("00000000-0000-4000-8000-%012x", s.seq)
}

// response is an answer computed under s.mu and written after it.
type response struct {
	status int
	header http.Header
	body   []byte
}

// ServeHTTP answers one Blob service request.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	resp := s.handle(r)
	h := w.Header()
	for k, v := range resp.header {
		h[k] = v
	}
	w.WriteHeader(resp.status)
	if r.Method != http.MethodHead && len(resp.body) > 0 {
		_, _ = w.Write(resp.body)
	}
}

func (s *Server) handle(r *http.Request) *response {
	// The body is read before the lock: a slow sender does not stall others.
	var body []byte
	var readErr error
	if r.Body != nil {
		var buf bytes.Buffer
		_, readErr = buf.ReadFrom(r.Body)
		body = buf.Bytes()
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	resp := &response{status: http.StatusOK, header: http.Header{}}
	h := resp.header
	// Common response headers (https://learn.microsoft.com/rest/api/storageservices/common-rest-api-headers).
	h.Set("Date", now.UTC().Format(http.TimeFormat))
	h.Set("x-ms-request-id", s.newID())
	version := r.Header.Get("x-ms-version")
	if version == "" {
		version = apiVersion
	}
	h.Set("x-ms-version", version)
	h.Set("Server", "blobsim")
	if id := r.Header.Get("x-ms-client-request-id"); id != "" {
		h.Set("x-ms-client-request-id", id)
	}

	var err *apiError
	switch {
	case s.down:
		err = errServerBusy
	case readErr != nil:
		err = newError(http.StatusBadRequest, "InvalidInput", "the request body could not be read: "+readErr.Error())
	default:
		err = s.route(r, body, now, resp)
	}
	if err != nil {
		err.write(resp, now)
	}
	return resp
}

// route dispatches by method, path and query.
func (s *Server) route(r *http.Request, body []byte, now time.Time, resp *response) *apiError {
	ctr, blob, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/"), "/")
	q := r.URL.Query()
	if ctr == "" {
		return newError(http.StatusBadRequest, "InvalidUri", "blobsim emulates container and blob operations only; the URL names no container")
	}
	if err := unsupportedConditions(r); err != nil {
		return err
	}
	if blob == "" {
		if q.Get("restype") != "container" {
			return newError(http.StatusBadRequest, "InvalidQueryParameterValue", "a container request needs restype=container")
		}
		switch comp := q.Get("comp"); {
		case r.Method == http.MethodPut && comp == "":
			return s.createContainer(ctr, resp)
		case r.Method == http.MethodGet && comp == "list":
			return s.listBlobs(r, ctr, now, resp)
		case comp == "" || comp == "list":
			return errUnsupportedVerb(r.Method)
		default:
			return newError(http.StatusBadRequest, "InvalidQueryParameterValue", fmt.Sprintf("blobsim does not emulate container operation comp=%q", comp))
		}
	}
	c := s.containers[ctr]
	switch comp := q.Get("comp"); {
	case comp == "lease" && r.Method == http.MethodPut:
		if c == nil {
			return errContainerNotFound
		}
		return s.leaseBlob(r, c, blob, now, resp)
	case comp == "" && r.Method == http.MethodPut:
		return s.putBlob(r, body, c, blob, now, resp)
	case comp == "" && (r.Method == http.MethodGet || r.Method == http.MethodHead):
		if c == nil {
			return errContainerNotFound
		}
		return getBlob(r, c, blob, now, resp)
	case comp == "" && r.Method == http.MethodDelete:
		if c == nil {
			return errContainerNotFound
		}
		return deleteBlob(r, c, blob, now, resp)
	case comp == "" || comp == "lease":
		return errUnsupportedVerb(r.Method)
	default:
		return newError(http.StatusBadRequest, "InvalidQueryParameterValue", fmt.Sprintf("blobsim does not emulate blob operation comp=%q", comp))
	}
}

// Create Container: https://learn.microsoft.com/rest/api/storageservices/create-container
func (s *Server) createContainer(name string, resp *response) *apiError {
	if s.containers[name] != nil {
		return newError(http.StatusConflict, "ContainerAlreadyExists", "The specified container already exists.")
	}
	c := s.container(name)
	resp.status = http.StatusCreated
	resp.header.Set("ETag", c.etag)
	resp.header.Set("Last-Modified", httpDate(c.created))
	return nil
}

func httpDate(t time.Time) string { return t.UTC().Format(http.TimeFormat) }

// apiError is a Blob service error: status, x-ms-error-code and the XML
// body (https://learn.microsoft.com/rest/api/storageservices/status-and-error-codes2,
// https://learn.microsoft.com/rest/api/storageservices/blob-service-error-codes).
type apiError struct {
	status int
	code   string
	msg    string
}

func newError(status int, code, msg string) *apiError {
	return &apiError{status: status, code: code, msg: msg}
}

func (e *apiError) Error() string { return fmt.Sprintf("%d %s: %s", e.status, e.code, e.msg) }

// write replaces resp with the error, keeping the common headers.
func (e *apiError) write(resp *response, now time.Time) {
	h := resp.header
	for _, k := range []string{"ETag", "Last-Modified", "x-ms-lease-id", "x-ms-lease-time", "Content-MD5", "Content-Range"} {
		h.Del(k)
	}
	resp.status = e.status
	h.Set("x-ms-error-code", e.code)
	h.Set("Content-Type", "application/xml")
	var b bytes.Buffer
	b.WriteString(`<?xml version="1.0" encoding="utf-8"?><Error><Code>`)
	_ = xml.EscapeText(&b, []byte(e.code))
	b.WriteString(`</Code><Message>`)
	_ = xml.EscapeText(&b, []byte(fmt.Sprintf("%s\nRequestId:%s\nTime:%s", e.msg, h.Get("x-ms-request-id"), now.UTC().Format("2006-01-02T15:04:05.0000000Z"))))
	b.WriteString(`</Message></Error>`)
	resp.body = b.Bytes()
	h.Set("Content-Length", fmt.Sprint(len(resp.body)))
}

// Errors used in more than one place; messages as Azure words them
// (https://learn.microsoft.com/rest/api/storageservices/blob-service-error-codes).
var (
	errServerBusy        = newError(http.StatusServiceUnavailable, "ServerBusy", "The server is currently unable to receive requests. Please retry your request.")
	errContainerNotFound = newError(http.StatusNotFound, "ContainerNotFound", "The specified container does not exist.")
	errBlobNotFound      = newError(http.StatusNotFound, "BlobNotFound", "The specified blob does not exist.")
	errConditionNotMet   = newError(http.StatusPreconditionFailed, "ConditionNotMet", "The condition specified using HTTP conditional header(s) is not met.")
)

func errUnsupportedVerb(method string) *apiError {
	return newError(http.StatusMethodNotAllowed, "UnsupportedHttpVerb", fmt.Sprintf("The resource doesn't support the specified HTTP verb %s.", method))
}
