package act

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strings"
	"time"

	"github.com/hanva/hanva/monitor/internal/azure"
)

// backoff is exponential with jitter: the n-th consecutive failure waits a
// random time in [d/2, d], d = Base * 2^(n-1) capped at Max.
type backoff struct {
	Base, Max time.Duration
}

var defaultBackoff = backoff{Base: 500 * time.Millisecond, Max: 15 * time.Second}

func (b backoff) delay(n int) time.Duration {
	d := b.Base
	for i := 1; i < n && d < b.Max; i++ {
		d *= 2
	}
	if d > b.Max {
		d = b.Max
	}
	if d <= 0 {
		return 0
	}
	return d/2 + rand.N(d/2+1)
}

// permanentError marks an error the engine must not retry (a topology
// problem, a refused write).
type permanentError struct{ err error }

func (p *permanentError) Error() string { return p.err.Error() }
func (p *permanentError) Unwrap() error { return p.err }

func permanent(err error) error { return &permanentError{err} }

// errRefused marks a write Options.BeforeWrite refused.
var errRefused = errors.New("write refused by BeforeWrite")

// failureReason is the bounded "reason" of a converge_failed line.
func failureReason(err error) string {
	var perm *permanentError
	switch {
	case errors.Is(err, ErrFenced), errors.Is(err, errRefused), errors.Is(err, azure.ErrWriteRefused):
		return "fenced"
	case errors.Is(err, context.DeadlineExceeded):
		return "timeout"
	case errors.Is(err, context.Canceled):
		return "canceled"
	case errors.Is(err, azure.ErrForbidden):
		return "forbidden"
	case errors.Is(err, azure.ErrNotFound):
		return "not_found"
	case errors.Is(err, azure.ErrBadRequest):
		return "bad_request"
	case errors.Is(err, azure.ErrConflict):
		return "conflict"
	case errors.As(err, &perm):
		return "unsafe" // e.g. a public IP on a foreign NIC: left alone
	}
	return "arm_error"
}

// retryDelay decides whether err is worth another attempt and after how
// long. n counts consecutive failures (1 for the first).
//
//   - 412: the ETag is stale; re-read at once (backoff if it repeats).
//   - 429 throttling: wait Retry-After (at least the backoff); the shaper
//     policy holds every request of the same kind in the same subscription
//     until then (docs/azure-behaviour.md#arm-throttling).
//   - 409 AnotherOperationInProgress, 429 RetryableErrorDueToAnotherOperation
//     (a lock conflict, not quota), 5xx, 408, LRO Failed/Canceled, status
//     poll failures, transport errors: backoff, or Retry-After if longer.
//   - any other 4xx, BeforeWrite and write gate (azure.ErrWriteRefused)
//     refusals, fenced writes (ErrFenced),
//     topology errors, context ends: no retry.
func (e *Engine) retryDelay(err error, n int) (time.Duration, bool) {
	var perm *permanentError
	if errors.As(err, &perm) || errors.Is(err, azure.ErrWriteRefused) || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return 0, false
	}
	d := e.backoff.delay(n)
	ra, hasRA := azure.RetryAfter(err)
	longer := func() time.Duration {
		if hasRA && ra > d {
			return ra
		}
		return d
	}
	var opErr *operationError
	var pollErr *pollError
	var ae *azure.Error
	switch {
	case errors.Is(err, errUnsettled):
		return 0, true // it waited a poll interval already
	case errors.As(err, &opErr), errors.As(err, &pollErr):
		return longer(), true
	case errors.Is(err, azure.ErrPreconditionFailed):
		if n == 1 {
			return 0, true
		}
		return d, true
	case errors.Is(err, azure.ErrThrottled):
		// The shaper policy (subscription.go) already emptied the
		// subscription's limiter of that kind and holds it until
		// Retry-After.
		return longer(), true
	case errors.Is(err, azure.ErrConflict):
		switch code := azure.Code(err); {
		case strings.EqualFold(code, azure.CodeAnotherOperationInProgress),
			strings.EqualFold(code, azure.CodeRetryableErrorDueToAnotherOperation):
			return longer(), true
		}
		return 0, false
	case errors.Is(err, azure.ErrServer):
		return longer(), true
	case errors.As(err, &ae):
		// Other ARM answers: 408 is transient; other 4xx are not.
		if ae.StatusCode == http.StatusRequestTimeout {
			return longer(), true
		}
		return 0, false
	}
	// No ARM response at all: a transport error.
	return d, true
}

// retry runs pass until it succeeds, fails for good, or ctx ends, and
// returns the number of passes. Each pass reads before it writes, so a retry
// never resends a body built from a stale read.
func (e *Engine) retry(ctx context.Context, name string, pass func(ctx context.Context) error) (int, error) {
	failures := 0
	var last error // the last failure that was not the context ending
	for attempt := 1; ; attempt++ {
		err := pass(ctx)
		if err == nil {
			return attempt, nil
		}
		if ctx.Err() != nil {
			if errors.Is(err, ctx.Err()) && last != nil {
				// Cut off mid-request: the failure worth reporting is the
				// one that made us retry.
				err = last
			}
			return attempt, giveUp(err, ctx.Err(), attempt)
		}
		last = err
		failures++
		delay, ok := e.retryDelay(err, failures)
		if !ok {
			return attempt, err
		}
		e.log.LogAttrs(ctx, levelRetry, EventRetry,
			attrEvent(EventRetry), attrStr("resource", name), attrErr(err),
			attrDur("delay", delay), attrInt(keyAttempt, attempt))
		if serr := sleep(ctx, delay); serr != nil {
			return attempt, giveUp(err, serr, attempt)
		}
	}
}

// giveUp is the error of a resource whose time ran out: the context's error
// and the last failure, both reachable with errors.Is.
func giveUp(last, ctxErr error, attempts int) error {
	if last == nil {
		return fmt.Errorf("give up after %d attempts: %w", attempts, ctxErr)
	}
	if errors.Is(last, ctxErr) {
		return fmt.Errorf("give up after %d attempts: %w", attempts, last)
	}
	return fmt.Errorf("give up after %d attempts: %w: %w", attempts, ctxErr, last)
}
