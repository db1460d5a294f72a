package probe

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"syscall"
	"time"
)

// maxBody is how much of a response body is read (and thrown away) before
// the connection is closed, and drainTime the longest that may take. Reading
// a little spares the server a reset for unread data; the answer itself is
// already known from the status line.
const (
	maxBody   = 4 << 10
	drainTime = 100 * time.Millisecond
)

// userAgent identifies probes in the NVA's logs.
const userAgent = "hanva-nva-monitor-probe"

// HTTP is healthy when GET http://Address+Path answers 2xx. Every probe uses
// a new connection (no keep-alive, no proxy from the environment), redirects
// are not followed (a 3xx is a failure), and at most a few KiB of the body
// are read, for at most 100ms. Once the status line and headers say 2xx the
// probe is healthy, whatever happens while the body is drained.
type HTTP struct {
	// Address is "host:port".
	Address string
	// Path starts with "/" and may carry a query; "" means "/".
	Path string
}

// StatusError is the error of an HTTP probe answered outside 2xx.
type StatusError struct {
	Code   int    // e.g. 503
	Status string // e.g. "503 Service Unavailable"
}

func (e *StatusError) Error() string {
	return "unexpected status " + e.Status
}

// Probe makes one GET request on a fresh connection, bounded by ctx.
func (h HTTP) Probe(ctx context.Context) error {
	path := h.Path
	if path == "" {
		path = "/"
	}
	if !strings.HasPrefix(path, "/") {
		return fmt.Errorf("build probe request: path %q must start with /", path)
	}
	url := "http://" + h.Address + path
	ctx, cancel := context.WithCancel(ctx) // also cuts a slow body short
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return fmt.Errorf("build probe request: %w", err)
	}
	req.Header.Set("User-Agent", userAgent)
	req.Close = true

	var conns connWatch
	transport := &http.Transport{
		Proxy:                  nil, // probe the NVA itself, never through a proxy
		DialContext:            conns.dial,
		DisableKeepAlives:      true,
		DisableCompression:     true,
		MaxResponseHeaderBytes: 64 << 10,
	}
	defer transport.CloseIdleConnections()
	client := &http.Client{
		Transport: transport,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
	resp, err := client.Do(req)
	if err != nil {
		// *url.Error: `Get "http://10.0.1.4/healthz": dial tcp ...: i/o timeout`
		if Classify(err) == Other {
			if closed := conns.peerClosed(); closed != nil {
				return fmt.Errorf("%w (peer closed the connection: %w)", err, closed)
			}
		}
		return err
	}
	stopDrain := time.AfterFunc(drainTime, cancel)
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxBody))
	stopDrain.Stop()
	_ = resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("get %s: %w", url, &StatusError{Code: resp.StatusCode, Status: resp.Status})
	}
	return nil
}

// connWatch dials the probe's connections and remembers whether the peer
// closed one (EOF) or reset it. net/http reports a connection that the
// server closes before the request was sent with an unexported error ("http:
// server closed idle connection") that says nothing Classify can see; the
// remembered read error turns it into the Reset it is.
type connWatch struct {
	mu     sync.Mutex
	closed error
}

func (w *connWatch) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	d := net.Dialer{KeepAlive: -1}
	c, err := d.DialContext(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	return &watchedConn{Conn: c, watch: w}, nil
}

func (w *connWatch) peerClosed() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.closed
}

type watchedConn struct {
	net.Conn
	watch *connWatch
}

func (c *watchedConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if err != nil && (errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNRESET)) {
		c.watch.mu.Lock()
		if c.watch.closed == nil {
			c.watch.closed = err
		}
		c.watch.mu.Unlock()
	}
	return n, err
}
