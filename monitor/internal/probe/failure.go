package probe

import (
	"context"
	"errors"
	"io"
	"net"
	"os"
	"syscall"
)

// Failure says how a probe failed, in a closed set small enough to be a
// metric label. The empty Failure means the probe succeeded.
type Failure string

const (
	// NoFailure: the probe succeeded.
	NoFailure Failure = ""
	// Refused: the NVA (or the host in front of it) answered the connection
	// attempt with a reset, e.g. nothing listens on the port.
	Refused Failure = "refused"
	// Timeout: no answer before the probe timeout (silent drop, hung service).
	Timeout Failure = "timeout"
	// HTTPStatus: the HTTP probe got a response outside 2xx (redirects included).
	HTTPStatus Failure = "http_status"
	// Reset: a connection was made, then reset or closed before an answer.
	Reset Failure = "reset"
	// Unreachable: the network said there is no route to the host or network.
	Unreachable Failure = "unreachable"
	// Other: anything else (bad address, cancelled, a custom Prober's error).
	Other Failure = "other"
)

// Failures lists every non-empty Failure, for example to initialise metric
// label values.
func Failures() []Failure {
	return []Failure{Refused, Timeout, HTTPStatus, Reset, Unreachable, Other}
}

// Classify maps a probe error to its Failure. It looks through wrapping
// (url.Error, net.OpError, os.SyscallError, fmt.Errorf %w), so it works on
// what TCP and HTTP return and on errors of custom Probers built from the
// same parts.
func Classify(err error) Failure {
	var status *StatusError
	switch {
	case err == nil:
		return NoFailure
	case errors.As(err, &status):
		return HTTPStatus
	case errors.Is(err, syscall.ECONNREFUSED):
		return Refused
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.ECONNABORTED),
		errors.Is(err, syscall.EPIPE), errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return Reset
	case errors.Is(err, syscall.EHOSTUNREACH), errors.Is(err, syscall.ENETUNREACH),
		errors.Is(err, syscall.EHOSTDOWN), errors.Is(err, syscall.ENETDOWN):
		return Unreachable
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, os.ErrDeadlineExceeded),
		errors.Is(err, syscall.ETIMEDOUT), isNetTimeout(err):
		return Timeout
	}
	return Other
}

func isNetTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}
