package act

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"

	"github.com/hanva/hanva/monitor/internal/azure"
)

// armError is the classified error of an ARM answer.
func armError(t testing.TB, method string, status int, code, retryAfter string) error {
	t.Helper()
	u, _ := url.Parse("https://management.azure.com" + rtID(0))
	h := http.Header{}
	if retryAfter != "" {
		h.Set("Retry-After", retryAfter)
	}
	resp := &http.Response{
		StatusCode: status, Header: h, Request: &http.Request{Method: method, URL: u},
		Body: io.NopCloser(strings.NewReader(fmt.Sprintf(`{"error":{"code":%q,"message":"m"}}`, code))),
	}
	return azure.Classify(fmt.Errorf("update route table: %w", runtime.NewResponseError(resp)))
}

func TestRetryDelayDecidesWhatIsRetried(t *testing.T) {
	tests := []struct {
		name      string
		err       error
		n         int
		wantRetry bool
		wantMin   time.Duration
	}{
		{"412 is re-read at once", armError(t, "PUT", 412, "PreconditionFailed", ""), 1, true, 0},
		{"409 AnotherOperationInProgress is retried", armError(t, "PUT", 409, "AnotherOperationInProgress", ""), 1, true, 0},
		{"429 RetryableErrorDueToAnotherOperation is retried", armError(t, "PUT", 429, "RetryableErrorDueToAnotherOperation", ""), 1, true, 0},
		{"429 throttling waits its Retry-After", armError(t, "GET", 429, "TooManyRequests", "4"), 1, true, 4 * time.Second},
		{"500 is retried", armError(t, "PUT", 500, "InternalServerError", ""), 1, true, 0},
		{"503 waits its Retry-After", armError(t, "PUT", 503, "ServiceUnavailable", "2"), 1, true, 2 * time.Second},
		{"408 is retried", armError(t, "PUT", 408, "RequestTimeout", ""), 1, true, 0},
		{"a transport error is retried", errors.New("read tcp: connection reset by peer"), 1, true, 0},
		{"an operation that ended Failed is retried", &operationError{errors.New("Canceled")}, 1, true, 0},
		{"a failed status poll is retried", &pollError{errors.New("EOF")}, 1, true, 0},
		{"409 with another code is not retried", armError(t, "PUT", 409, "InUseRouteTableCannotBeDeleted", ""), 1, false, 0},
		{"400 is not retried", armError(t, "PUT", 400, "InvalidNextHopIpAddress", ""), 1, false, 0},
		{"403 is not retried", armError(t, "PUT", 403, "AuthorizationFailed", ""), 1, false, 0},
		{"404 is not retried", armError(t, "GET", 404, "ResourceNotFound", ""), 1, false, 0},
		{"a refused write is not retried", permanent(errors.New("lease lost")), 1, false, 0},
		{"a write the write gate refused is not retried", fmt.Errorf("update route table: %w", azure.ErrWriteRefused), 1, false, 0},
		{"a cancelled context is not retried", fmt.Errorf("get: %w", context.Canceled), 1, false, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := &Engine{backoff: backoff{Base: 10 * time.Millisecond, Max: 10 * time.Millisecond}}
			d, ok := e.retryDelay(tt.err, tt.n)
			if ok != tt.wantRetry {
				t.Fatalf("retry = %v, want %v", ok, tt.wantRetry)
			}
			if ok && d < tt.wantMin {
				t.Errorf("delay %v, want at least %v", d, tt.wantMin)
			}
		})
	}
}

func TestBackoffGrowsWithJitterUpToItsCap(t *testing.T) {
	b := backoff{Base: 100 * time.Millisecond, Max: time.Second}
	for n, want := range map[int]time.Duration{1: 100 * time.Millisecond, 2: 200 * time.Millisecond, 4: 800 * time.Millisecond, 5: time.Second, 30: time.Second} {
		for range 50 {
			if d := b.delay(n); d < want/2 || d > want {
				t.Fatalf("delay(%d) = %v, want within [%v, %v]", n, d, want/2, want)
			}
		}
	}
}
