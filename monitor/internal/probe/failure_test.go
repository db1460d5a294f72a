package probe

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"slices"
	"syscall"
	"testing"
)

func TestClassify(t *testing.T) {
	dialErr := func(err error) error {
		return &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", err)}
	}
	getErr := func(err error) error {
		return &url.Error{Op: "Get", URL: "http://10.0.1.4/healthz", Err: err}
	}
	tests := []struct {
		name string
		err  error
		want Failure
	}{
		{"no error is no failure", nil, NoFailure},
		{"a refused dial is refused", dialErr(syscall.ECONNREFUSED), Refused},
		{"a refused HTTP request is refused", getErr(dialErr(syscall.ECONNREFUSED)), Refused},
		{"a dial past its deadline is a timeout", &net.OpError{Op: "dial", Net: "tcp", Err: os.ErrDeadlineExceeded}, Timeout},
		{"an HTTP request past its context deadline is a timeout", getErr(context.DeadlineExceeded), Timeout},
		{"the kernel giving up on SYNs is a timeout", dialErr(syscall.ETIMEDOUT), Timeout},
		{"a wrapped context deadline is a timeout", fmt.Errorf("probe nva-1: no result: %w", context.DeadlineExceeded), Timeout},
		{"a non-2xx status is http_status", fmt.Errorf("get x: %w", &StatusError{Code: 503, Status: "503 Service Unavailable"}), HTTPStatus},
		{"a connection reset is reset", getErr(&net.OpError{Op: "read", Err: os.NewSyscallError("read", syscall.ECONNRESET)}), Reset},
		{"a connection closed before the answer is reset", getErr(io.EOF), Reset},
		{"a connection closed mid-answer is reset", getErr(io.ErrUnexpectedEOF), Reset},
		{"a broken pipe is reset", getErr(os.NewSyscallError("write", syscall.EPIPE)), Reset},
		{"no route to host is unreachable", dialErr(syscall.EHOSTUNREACH), Unreachable},
		{"network unreachable is unreachable", dialErr(syscall.ENETUNREACH), Unreachable},
		{"a cancelled probe is other", getErr(context.Canceled), Other},
		{"an unknown error is other", errors.New("bad address"), Other},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Classify(tt.err); got != tt.want {
				t.Errorf("Classify(%v) = %q, want %q", tt.err, got, tt.want)
			}
		})
	}
}

func TestFailuresListsEveryFailureOnce(t *testing.T) {
	want := []Failure{Refused, Timeout, HTTPStatus, Reset, Unreachable, Other}
	if got := Failures(); !slices.Equal(got, want) {
		t.Errorf("Failures() = %q, want %q", got, want)
	}
	for _, f := range want {
		if f == NoFailure {
			t.Errorf("failure %q is empty", f)
		}
	}
}
