package sim

import (
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"syscall"
	"time"
)

// Services a monitor talks to.
const (
	svcARM     = "arm"
	svcStorage = "storage"
)

// cut says which directions of a link are partitioned.
type cut struct {
	requests  bool // requests never arrive: the sender waits until it gives up
	responses bool // requests arrive and take effect; answers are lost
}

// linkFaults are the faults on one monitor's link to one service.
type linkFaults struct {
	cut   cut
	delay time.Duration // every request arrives this much later (the sender may give up first)
	// writesOnly limits delay to writes: reads answer at once, so a
	// read-modify-write reads fresh and its PUT lands late.
	writesOnly bool
	dup        bool // every request arrives twice
}

// errDead is what a killed process's requests fail with.
var errDead = &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}

// link is one process's network path to one service: an azcore
// policy.Transporter that hands the request to the service's handler in
// process, through the faults the schedule set.
type link struct {
	p   *process
	svc string
	h   http.Handler
}

func (l *link) Do(req *http.Request) (*http.Response, error) {
	m := l.p.m
	w := m.w
	ctx := req.Context()
	// A paused or frozen process sends nothing until it runs again; a dead
	// one sends nothing at all.
	if err := l.p.waitRunning(); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		// net/http does not send a request whose context has ended.
		return nil, err
	}
	var body []byte
	if req.Body != nil {
		b, err := io.ReadAll(req.Body)
		if err != nil {
			return nil, err
		}
		body = b
		_ = req.Body.Close()
	}
	// The bytes leave the monitor now.
	w.onSend(l.p, l.svc, req, body)

	f := w.faultsOf(m, l.svc)
	if l.svc == svcStorage && w.storageIsDown() {
		return serverBusy(req), nil
	}
	if f.cut.requests {
		<-ctx.Done()
		return nil, fmt.Errorf("%s unreachable from %s: %w", l.svc, m.name, ctx.Err())
	}
	// Copy the request now: the sender may reuse it once Do returns, and a
	// late or duplicated copy is delivered after that.
	sent := req.Clone(context.Background())
	deliver := func() *http.Response { return l.deliver(req, sent, body) }
	if f.dup {
		go func() {
			time.Sleep(w.jitter(time.Second))
			deliver()
		}()
	}
	if f.delay > 0 && (!f.writesOnly || isWrite(req.Method)) {
		answer := make(chan *http.Response, 1)
		go func() {
			time.Sleep(f.delay)
			answer <- deliver()
		}()
		select {
		case r := <-answer:
			if f.cut.responses {
				<-ctx.Done()
				return nil, ctx.Err()
			}
			return r, nil
		case <-ctx.Done():
			return nil, fmt.Errorf("%s did not answer %s: %w", l.svc, m.name, ctx.Err())
		}
	}
	resp := deliver()
	if f.cut.responses {
		<-ctx.Done()
		return nil, fmt.Errorf("the answer of %s to %s was lost: %w", l.svc, m.name, ctx.Err())
	}
	return resp, nil
}

// deliver hands one copy of the request to the service and reports the
// answer to the world's checks.
func (l *link) deliver(orig, sent *http.Request, body []byte) *http.Response {
	req := sent.Clone(context.Background())
	// azcore sets some headers under non-canonical keys; a server reading
	// them off the wire sees canonical ones.
	req.Header = make(http.Header, len(sent.Header))
	for k, v := range sent.Header {
		ck := http.CanonicalHeaderKey(k)
		req.Header[ck] = append(req.Header[ck], v...)
	}
	req.RequestURI = req.URL.RequestURI()
	req.Body = io.NopCloser(bytes.NewReader(body))
	req.ContentLength = int64(len(body))
	req.TLS = &tls.ConnectionState{HandshakeComplete: true}
	if req.Host == "" {
		req.Host = req.URL.Host
	}
	req.RemoteAddr = l.p.m.name + ":443"
	rec := httptest.NewRecorder()
	l.p.m.w.serve(l, req, body, rec)
	resp := rec.Result()
	resp.Request = orig
	return resp
}

func serverBusy(req *http.Request) *http.Response {
	rec := httptest.NewRecorder()
	rec.Header().Set("x-ms-error-code", "ServerBusy")
	rec.Header().Set("Content-Type", "application/xml")
	rec.WriteHeader(http.StatusServiceUnavailable)
	_, _ = rec.WriteString(`<?xml version="1.0" encoding="utf-8"?><Error><Code>ServerBusy</Code><Message>The server is busy (simulated outage).</Message></Error>`)
	resp := rec.Result()
	resp.Request = req
	return resp
}

// memListener is a net.Listener with no network under it: Accept blocks
// until Close, so the daemon's HTTP endpoint runs inside the bubble.
type memListener struct {
	closed chan struct{}
	once   chan struct{}
}

func newMemListener() *memListener {
	l := &memListener{closed: make(chan struct{}), once: make(chan struct{}, 1)}
	l.once <- struct{}{}
	return l
}

func (l *memListener) Accept() (net.Conn, error) {
	<-l.closed
	return nil, net.ErrClosed
}

func (l *memListener) Close() error {
	select {
	case <-l.once:
		close(l.closed)
	default:
	}
	return nil
}

func (l *memListener) Addr() net.Addr { return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 9414} }
