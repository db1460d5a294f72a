package blobsim

import (
	"encoding/xml"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeClock is storage's clock in these tests.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock() *fakeClock {
	return &fakeClock{t: time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

const (
	testHost = "https://simstore.blob.core.windows.net"
	idA      = "aaaaaaaa-0000-4000-8000-00000000000a"
	idB      = "bbbbbbbb-0000-4000-8000-00000000000b"
	idC      = "cccccccc-0000-4000-8000-00000000000c"
)

// hdr is a request's headers as pairs.
type hdr map[string]string

// do sends one raw request to srv and returns the response.
func do(t *testing.T, srv http.Handler, method, path string, h hdr, body string) *http.Response {
	t.Helper()
	req := httptest.NewRequest(method, testHost+path, strings.NewReader(body))
	for k, v := range h {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	srv.ServeHTTP(rec, req)
	return rec.Result()
}

// expect fails unless resp has status and (when code is not empty) that
// x-ms-error-code, also in the XML body. It returns the body it read.
func expect(t *testing.T, what string, resp *http.Response, status int, code string) []byte {
	t.Helper()
	body, _ := io.ReadAll(resp.Body)
	got := resp.Header.Get("x-ms-error-code")
	if resp.StatusCode != status || got != code {
		t.Fatalf("%s: %d %q, want %d %q (body %s)", what, resp.StatusCode, got, status, code, body)
	}
	if code == "" {
		return body
	}
	var e struct {
		Code    string `xml:"Code"`
		Message string `xml:"Message"`
	}
	if err := xml.Unmarshal(body, &e); err != nil || e.Code != code || e.Message == "" {
		t.Fatalf("%s: error body %q (%v), want <Error><Code>%s</Code><Message>...", what, body, err, code)
	}
	return body
}

// newServer returns a server on clk with container "c" and blob "c/b".
func newServer(t *testing.T, clk *fakeClock) *Server {
	t.Helper()
	srv := New(Options{Now: clk.Now})
	expect(t, "create container", do(t, srv, "PUT", "/c?restype=container", nil, ""), http.StatusCreated, "")
	expect(t, "put blob", do(t, srv, "PUT", "/c/b", hdr{"x-ms-blob-type": "BlockBlob"}, "hello"), http.StatusCreated, "")
	return srv
}
