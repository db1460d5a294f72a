package azure

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
)

// WriteGate says whether an ARM write may leave now and how long it may
// take: remaining is the time left before the caller's lease deadline. A
// non-nil error, or remaining <= 0, refuses the write. It is called for
// every attempt of every write, after authentication, and must be quick
// and must not block.
type WriteGate func(ctx context.Context) (remaining time.Duration, err error)

// GateWrites wraps next (nil: http.DefaultClient), the transport of an ARM
// pipeline, so that every write — any method but GET and HEAD — first asks
// gate:
//
//   - refused: the request is not sent, and Do returns an error wrapping
//     ErrWriteRefused (and the gate's error) that azcore does not retry;
//   - allowed: the request is sent under a context bounded by remaining,
//     so dialing, the TLS handshake, sending and waiting for the response
//     all stop at the lease deadline; a write cut off there fails with an
//     error wrapping context.DeadlineExceeded, not ErrWriteRefused (it may
//     have reached ARM). The response body stays readable until it is
//     closed: azcore's body download policy reads it after the transport
//     has returned.
//
// The transport is the last step of an azcore pipeline: the bearer token
// policy runs before it (a slow token refresh happens before the gate
// looks at the clock), and every re-send — the retry policy's, or the
// bearer policy's after a 401 claims challenge (Continuous Access
// Evaluation, https://learn.microsoft.com/entra/identity-platform/claims-challenge;
// azcore runtime.BearerTokenPolicy) — goes through it again.
// So a write never leaves after the gate refused it, whatever came before.
// Reads are never gated: a follower and a leader past its deadline may
// still read.
//
// ClientOptions installs it when Settings.WriteGate is set; GateWrites is
// for options built elsewhere (tests, the in-process simulation).
func GateWrites(next policy.Transporter, gate WriteGate) policy.Transporter {
	if next == nil {
		next = http.DefaultClient
	}
	return gatedTransport{next: next, gate: gate}
}

type gatedTransport struct {
	next policy.Transporter
	gate WriteGate
}

func (g gatedTransport) Do(req *http.Request) (*http.Response, error) {
	if req.Method == http.MethodGet || req.Method == http.MethodHead {
		return g.next.Do(req)
	}
	parent := req.Context()
	remaining, err := g.gate(parent)
	if err == nil && remaining <= 0 {
		err = fmt.Errorf("the lease deadline passed %s ago", (-remaining).Round(time.Millisecond))
	}
	if err != nil {
		// The request body is azcore's (rewindable, a no-op Close): left
		// as it is.
		return nil, &refusedError{method: req.Method, path: req.URL.Path, err: err}
	}
	ctx, cancel := context.WithTimeout(parent, remaining)
	resp, err := g.next.Do(req.WithContext(ctx))
	if err != nil {
		cancel()
		if errors.Is(ctx.Err(), context.DeadlineExceeded) && parent.Err() == nil {
			return nil, fmt.Errorf("send %s %s: cut off at the lease deadline, %s after the write gate let it go: %w",
				req.Method, req.URL.Path, remaining.Round(time.Millisecond), err)
		}
		return nil, err
	}
	if resp.Body == nil {
		cancel()
		return resp, nil
	}
	resp.Body = &cancelOnClose{ReadCloser: resp.Body, cancel: cancel}
	return resp, nil
}

// refusedError is a write the gate refused: errors.Is matches
// ErrWriteRefused and the gate's error. azcore's retry policy never
// retries it (NonRetriable).
type refusedError struct {
	method, path string
	err          error
}

func (e *refusedError) Error() string {
	return fmt.Sprintf("send %s %s: %v: %v", e.method, e.path, ErrWriteRefused, e.err)
}

func (e *refusedError) Unwrap() []error { return []error{ErrWriteRefused, e.err} }

// NonRetriable marks the error for azcore's retry policy
// (errorinfo.NonRetriable).
func (e *refusedError) NonRetriable() {}

// cancelOnClose releases a gated request's context once its response body
// is closed (or read to the end), as http.Client does for its Timeout.
type cancelOnClose struct {
	io.ReadCloser
	cancel context.CancelFunc
	once   sync.Once
}

func (c *cancelOnClose) Read(p []byte) (int, error) {
	n, err := c.ReadCloser.Read(p)
	if err != nil {
		c.once.Do(c.cancel)
	}
	return n, err
}

func (c *cancelOnClose) Close() error {
	err := c.ReadCloser.Close()
	c.once.Do(c.cancel)
	return err
}
