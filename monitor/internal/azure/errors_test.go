package azure

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
)

// armError builds the error the SDK returns for an ARM response.
func armError(status int, code string, header http.Header) error {
	u, _ := url.Parse("https://management.azure.com" + rtPath + "?api-version=2025-01-01")
	if header == nil {
		header = http.Header{}
	}
	body := fmt.Sprintf(`{"error":{"code":%q,"message":"it went wrong"}}`, code)
	resp := &http.Response{
		StatusCode: status,
		Status:     fmt.Sprintf("%d %s", status, http.StatusText(status)),
		Header:     header,
		Body:       io.NopCloser(strings.NewReader(body)),
		Request:    &http.Request{Method: http.MethodPut, URL: u},
	}
	return runtime.NewResponseError(resp)
}

func TestClassify(t *testing.T) {
	sentinels := []error{ErrPreconditionFailed, ErrThrottled, ErrConflict, ErrNotFound, ErrForbidden, ErrBadRequest, ErrServer}
	tests := []struct {
		name   string
		status int
		code   string
		want   error
	}{
		{"412 is a precondition failure", 412, "PreconditionFailed", ErrPreconditionFailed},
		{"429 is throttling", 429, "TooManyRequests", ErrThrottled},
		{"429 RetryableErrorDueToAnotherOperation is a conflict, not throttling", 429, "RetryableErrorDueToAnotherOperation", ErrConflict},
		{"409 AnotherOperationInProgress is a conflict", 409, "AnotherOperationInProgress", ErrConflict},
		{"404 is not found", 404, "ResourceNotFound", ErrNotFound},
		{"401 is forbidden", 401, "InvalidAuthenticationToken", ErrForbidden},
		{"403 is forbidden", 403, "AuthorizationFailed", ErrForbidden},
		{"400 PublicIPAddressInUse is a bad request", 400, "PublicIPAddressInUse", ErrBadRequest},
		{"500 is a server error", 500, "InternalServerError", ErrServer},
		{"503 is a server error", 503, "ServiceUnavailable", ErrServer},
		{"an LRO that ended Failed (200 from the status poll) has no sentinel", 200, "Canceled", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			orig := fmt.Errorf("update route table \"rt-1\": %w", armError(tt.status, tt.code, nil))
			err := Classify(orig)
			for _, s := range sentinels {
				if got := errors.Is(err, s); got != (s == tt.want) {
					t.Errorf("errors.Is(err, %v) = %v", s, got)
				}
			}
			var re *azcore.ResponseError
			if !errors.As(err, &re) || re.StatusCode != tt.status {
				t.Errorf("the *azcore.ResponseError is not reachable: %v", re)
			}
			var e *Error
			if !errors.As(err, &e) || e.Code != tt.code {
				t.Fatalf("*Error = %+v, want code %q", e, tt.code)
			}
			if Code(err) != tt.code {
				t.Errorf("Code = %q, want %q", Code(err), tt.code)
			}
			msg := err.Error()
			if strings.Contains(msg, "\n") || !strings.HasPrefix(msg, `update route table "rt-1": PUT `+rtPath) ||
				!strings.Contains(msg, tt.code+": it went wrong") {
				t.Errorf("message = %q, want one line with the caller's words, the request and the code", msg)
			}
			if Classify(err) != err {
				t.Error("classifying twice changed the error")
			}
		})
	}
}

func TestClassifyLeavesOtherErrorsAlone(t *testing.T) {
	if Classify(nil) != nil {
		t.Error("Classify(nil) != nil")
	}
	plain := errors.New("dial tcp: connection refused")
	if Classify(plain) != plain {
		t.Error("a transport error was changed")
	}
	if _, ok := RetryAfter(plain); ok {
		t.Error("RetryAfter found a delay on a transport error")
	}
}

func TestRetryAfter(t *testing.T) {
	now := time.Now()
	tests := []struct {
		name   string
		header http.Header
		want   time.Duration
		ok     bool
	}{
		{"Retry-After in seconds", http.Header{"Retry-After": {"7"}}, 7 * time.Second, true},
		{"retry-after-ms wins over Retry-After", http.Header{"Retry-After": {"7"}, "Retry-After-Ms": {"1500"}}, 1500 * time.Millisecond, true},
		{"x-ms-retry-after-ms", http.Header{"X-Ms-Retry-After-Ms": {"250"}}, 250 * time.Millisecond, true},
		{"Retry-After as an HTTP date", http.Header{"Retry-After": {now.Add(3 * time.Second).UTC().Format(http.TimeFormat)}}, 3 * time.Second, true},
		{"no header", http.Header{}, 0, false},
		{"garbage", http.Header{"Retry-After": {"soon"}}, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := RetryAfter(Classify(armError(429, "TooManyRequests", tt.header)))
			if ok != tt.ok {
				t.Fatalf("ok = %v, want %v", ok, tt.ok)
			}
			// An HTTP date has one-second resolution.
			if d := got - tt.want; d > time.Second || d < -time.Second || (tt.want%time.Second != 0 && got != tt.want) {
				t.Errorf("RetryAfter = %v, want %v", got, tt.want)
			}
		})
	}
}
