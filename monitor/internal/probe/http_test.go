package probe

import (
	"bufio"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// server starts an HTTP server on 127.0.0.1 and returns its host:port.
// connState, if not nil, sees every connection state change.
func server(t *testing.T, h http.HandlerFunc, connState ...func(net.Conn, http.ConnState)) string {
	t.Helper()
	srv := httptest.NewUnstartedServer(h)
	if len(connState) > 0 {
		srv.Config.ConnState = connState[0]
	}
	srv.Start()
	t.Cleanup(srv.Close)
	return srv.Listener.Addr().String()
}

// closer accepts connections on 127.0.0.1 and closes them, after reading the
// request headers if readFirst.
func closer(t *testing.T, readFirst bool) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	t.Cleanup(func() { _ = ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			if readFirst {
				_ = c.SetReadDeadline(time.Now().Add(testTimeout))
				r := bufio.NewReader(c)
				for {
					line, err := r.ReadString('\n')
					if err != nil || line == "\r\n" {
						break
					}
				}
			}
			_ = c.Close()
		}
	}()
	return ln.Addr().String()
}

func TestHTTP(t *testing.T) {
	status := func(code int) http.HandlerFunc {
		return func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(code) }
	}
	tests := []struct {
		name        string
		handler     http.HandlerFunc
		path        string
		want        Failure
		wantCode    int
		wantFastish bool // well under the timeout
	}{
		{name: "200 is healthy", handler: status(http.StatusOK), want: NoFailure, wantFastish: true},
		{name: "204 is healthy", handler: status(http.StatusNoContent), want: NoFailure, wantFastish: true},
		{name: "503 is an http_status failure", handler: status(http.StatusServiceUnavailable), want: HTTPStatus, wantCode: 503, wantFastish: true},
		{name: "404 is an http_status failure", handler: status(http.StatusNotFound), want: HTTPStatus, wantCode: 404, wantFastish: true},
		{
			name: "a redirect is not followed and is an http_status failure",
			handler: func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Path == "/elsewhere" {
					panic("the probe followed a redirect")
				}
				http.Redirect(w, r, "/elsewhere", http.StatusFound)
			},
			want: HTTPStatus, wantCode: 302, wantFastish: true,
		},
		{
			name: "a large 2xx body is healthy without being read to the end",
			handler: func(w http.ResponseWriter, _ *http.Request) {
				chunk := []byte(strings.Repeat("x", 64<<10))
				for range 64 { // 4 MiB; the write fails once the probe hangs up
					if _, err := w.Write(chunk); err != nil {
						return
					}
				}
			},
			want: NoFailure, wantFastish: true,
		},
		{
			name: "a 2xx whose body never ends is healthy at once, not a timeout",
			handler: func(w http.ResponseWriter, r *http.Request) {
				_, _ = w.Write([]byte("still thinking"))
				w.(http.Flusher).Flush()
				<-r.Context().Done()
			},
			want: NoFailure, wantFastish: true,
		},
		{
			name: "the path and query are sent as given",
			path: "/healthz?deep=1",
			handler: func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Path != "/healthz" || r.URL.RawQuery != "deep=1" {
					w.WriteHeader(http.StatusTeapot)
				}
			},
			want: NoFailure, wantFastish: true,
		},
		{
			name: "an empty path asks for /",
			handler: func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Path != "/" {
					w.WriteHeader(http.StatusTeapot)
				}
			},
			want: NoFailure, wantFastish: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			addr := server(t, tt.handler)
			f, took, err := probeOnce(HTTP{Address: addr, Path: tt.path}, testTimeout)
			if f != tt.want {
				t.Fatalf("failure = %q (%v), want %q", f, err, tt.want)
			}
			if tt.wantCode != 0 {
				var se *StatusError
				if !errors.As(err, &se) || se.Code != tt.wantCode {
					t.Errorf("error %v, want a StatusError with code %d", err, tt.wantCode)
				}
			}
			if tt.wantFastish && took > slack {
				t.Errorf("probe took %s, want well under the %s timeout", took, testTimeout)
			}
		})
	}
}

func TestHTTPFailures(t *testing.T) {
	t.Run("a server that never answers is a timeout after about the timeout", func(t *testing.T) {
		release := make(chan struct{})
		addr := server(t, func(_ http.ResponseWriter, r *http.Request) {
			select {
			case <-r.Context().Done():
			case <-release:
			}
		})
		t.Cleanup(func() { close(release) }) // runs before the server's Close
		const timeout = 400 * time.Millisecond
		f, took, err := probeOnce(HTTP{Address: addr, Path: "/healthz"}, timeout)
		if f != Timeout {
			t.Errorf("failure = %q (%v), want timeout", f, err)
		}
		if took < timeout-50*time.Millisecond || took > timeout+slack {
			t.Errorf("probe took %s, want about %s", took, timeout)
		}
	})

	t.Run("a server that closes the connection before reading is a reset", func(t *testing.T) {
		f, _, err := probeOnce(HTTP{Address: closer(t, false)}, testTimeout)
		if f != Reset {
			t.Errorf("failure = %q (%v), want reset", f, err)
		}
	})

	t.Run("a server that reads the request and closes the connection is a reset", func(t *testing.T) {
		f, _, err := probeOnce(HTTP{Address: closer(t, true)}, testTimeout)
		if f != Reset {
			t.Errorf("failure = %q (%v), want reset", f, err)
		}
	})

	t.Run("a closed port is refused", func(t *testing.T) {
		f, took, err := probeOnce(HTTP{Address: closedPort(t)}, testTimeout)
		if f != Refused {
			t.Errorf("failure = %q (%v), want refused", f, err)
		}
		if took > slack {
			t.Errorf("refusal took %s, want well under the %s timeout", took, testTimeout)
		}
	})

	t.Run("a path without a leading slash is refused before any request", func(t *testing.T) {
		f, _, err := probeOnce(HTTP{Address: "127.0.0.1:1", Path: "healthz"}, testTimeout)
		if f != Other || err == nil || !strings.Contains(err.Error(), `path "healthz" must start with /`) {
			t.Errorf("got %q (%v), want other with a message about the path", f, err)
		}
	})
}

func TestHTTPUsesAFreshConnectionForEveryProbe(t *testing.T) {
	var (
		conns atomic.Int32
		mu    sync.Mutex
		seen  []string // Connection header and User-Agent per request
	)
	addr := server(t, func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = append(seen, r.Header.Get("Connection")+"|"+r.UserAgent())
		mu.Unlock()
	}, func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	})

	p := HTTP{Address: addr, Path: "/"}
	for i := range 3 {
		if f, _, err := probeOnce(p, testTimeout); err != nil {
			t.Fatalf("probe %d: %v (%q)", i, err, f)
		}
	}
	if n := conns.Load(); n != 3 {
		t.Errorf("server saw %d connections for 3 probes, want 3", n)
	}
	mu.Lock()
	defer mu.Unlock()
	for i, s := range seen {
		if s != "close|"+userAgent {
			t.Errorf("request %d: Connection|User-Agent = %q, want %q", i, s, "close|"+userAgent)
		}
	}
}

// Regression: a server closing a fresh connection before the request was
// written made net/http answer "http: server closed idle connection", which
// classified as "other". It depends on timing (common under -race), hence
// the repetition.
func TestHTTPConnectionClosedBeforeTheRequestIsAResetEveryTime(t *testing.T) {
	addr := closer(t, false)
	for i := range 100 {
		if f, _, err := probeOnce(HTTP{Address: addr}, testTimeout); f != Reset {
			t.Fatalf("probe %d: failure = %q (%v), want reset", i, f, err)
		}
	}
}
