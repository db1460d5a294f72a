package azure

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
)

// Sentinels for ARM failures, matched with errors.Is on what Classify returns.
var (
	// ErrPreconditionFailed: 412, the If-Match ETag is stale
	// (docs/azure-behaviour.md#arm-etag).
	// Re-read and re-decide; never resend the same body.
	ErrPreconditionFailed = errors.New("precondition failed")
	// ErrThrottled: 429 quota throttling (docs/azure-behaviour.md#arm-throttling).
	// Wait Retry-After.
	ErrThrottled = errors.New("throttled")
	// ErrConflict: 409, or 429 RetryableErrorDueToAnotherOperation, which is a
	// lock conflict with another operation on the resource, not quota
	// (docs/azure-behaviour.md#arm-conflicts). Check the code to decide whether
	// to retry.
	ErrConflict = errors.New("conflict")
	// ErrNotFound: 404.
	ErrNotFound = errors.New("not found")
	// ErrForbidden: 401 or 403, the identity lacks a token or a permission.
	ErrForbidden = errors.New("forbidden")
	// ErrBadRequest: 400, the request is invalid (e.g. PublicIPAddressInUse).
	ErrBadRequest = errors.New("bad request")
	// ErrServer: 5xx.
	ErrServer = errors.New("server error")
	// ErrWriteRefused: the write gate (Settings.WriteGate) refused a write,
	// which was therefore not sent: this monitor may no longer write (its
	// lease deadline passed). Permanent: never retry it.
	ErrWriteRefused = errors.New("write refused, not sent")
)

// Error codes ARM sends that callers act on (docs/azure-behaviour.md#arm-conflicts
// and #nic-validation).
const (
	CodeAnotherOperationInProgress          = "AnotherOperationInProgress"
	CodeRetryableErrorDueToAnotherOperation = "RetryableErrorDueToAnotherOperation"
	CodePublicIPAddressInUse                = "PublicIPAddressInUse"
)

// Error is an ARM failure as Classify returns it: errors.Is matches its
// sentinel, errors.As still finds the *azcore.ResponseError, and Error()
// is one line ("PUT .../routeTables/rt: 412 PreconditionFailed: message")
// instead of the SDK's multi-line dump.
type Error struct {
	Sentinel   error // one of the Err* sentinels; nil when none applies
	StatusCode int
	Code       string // ARM error code, e.g. "AnotherOperationInProgress"
	Message    string // ARM error message
	Method     string
	Path       string // URL path of the request
	// Err is the error classified: the *azcore.ResponseError, or the
	// caller's error wrapping it.
	Err error

	prefix string // the caller's words in front of the SDK's message
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.prefix)
	if e.Method != "" {
		b.WriteString(e.Method + " " + e.Path + ": ")
	}
	b.WriteString(strconv.Itoa(e.StatusCode))
	if e.Code != "" {
		b.WriteString(" " + e.Code)
	}
	if e.Message != "" {
		b.WriteString(": " + e.Message)
	}
	return b.String()
}

// Unwrap returns the sentinel (if any) and the SDK's response error.
func (e *Error) Unwrap() []error {
	if e.Sentinel == nil {
		return []error{e.Err}
	}
	return []error{e.Sentinel, e.Err}
}

// Classify maps an ARM error to our sentinels: 412 ErrPreconditionFailed;
// 429 ErrThrottled, except 429 RetryableErrorDueToAnotherOperation which is
// ErrConflict; 409 ErrConflict; 404 ErrNotFound; 401/403 ErrForbidden;
// 400 ErrBadRequest; 5xx ErrServer. The result is an *Error wrapping the
// original *azcore.ResponseError (reachable with errors.As). Errors without
// an ARM response (transport errors, context errors) and already classified
// errors are returned unchanged; nil stays nil.
//
// An LRO that ended Failed or Canceled surfaces from the SDK as a
// ResponseError with the 200 of the status poll: it gets no sentinel but is
// still an *Error carrying the operation's error code.
func Classify(err error) error {
	if err == nil {
		return nil
	}
	var done *Error
	if errors.As(err, &done) {
		return err
	}
	var re *azcore.ResponseError
	if !errors.As(err, &re) {
		return err
	}
	e := &Error{StatusCode: re.StatusCode, Code: re.ErrorCode, Err: err}
	if resp := re.RawResponse; resp != nil {
		if resp.Request != nil {
			e.Method = resp.Request.Method
			e.Path = resp.Request.URL.Path
		}
		code, msg := errorBody(resp)
		if e.Code == "" {
			e.Code = code
		}
		e.Message = msg
	}
	e.Sentinel = sentinel(e.StatusCode, e.Code)
	if err != error(re) {
		// The caller wrapped the response error ("get route table: ..."):
		// keep its words in front of the one-line message.
		if msg, full := err.Error(), re.Error(); strings.HasSuffix(msg, full) {
			e.prefix = strings.TrimSuffix(msg, full)
		}
	}
	return e
}

func sentinel(status int, code string) error {
	switch {
	case status == http.StatusPreconditionFailed:
		return ErrPreconditionFailed
	case status == http.StatusTooManyRequests && strings.EqualFold(code, CodeRetryableErrorDueToAnotherOperation):
		return ErrConflict
	case status == http.StatusTooManyRequests:
		return ErrThrottled
	case status == http.StatusConflict:
		return ErrConflict
	case status == http.StatusNotFound:
		return ErrNotFound
	case status == http.StatusUnauthorized, status == http.StatusForbidden:
		return ErrForbidden
	case status == http.StatusBadRequest:
		return ErrBadRequest
	case status >= 500 && status <= 599:
		return ErrServer
	}
	return nil
}

// errorBody reads {"error":{"code","message"}} (or a top-level code/message)
// from a response body the SDK has already buffered.
func errorBody(resp *http.Response) (code, message string) {
	body, err := runtime.Payload(resp)
	if err != nil || len(body) == 0 {
		return "", ""
	}
	var v struct {
		Error *struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
		Code    string `json:"code"`
		Message string `json:"message"`
	}
	if json.Unmarshal(body, &v) != nil {
		return "", ""
	}
	if v.Error != nil {
		return v.Error.Code, v.Error.Message
	}
	return v.Code, v.Message
}

// Code returns the ARM error code of err ("" when err carries no ARM
// response), e.g. to tell AnotherOperationInProgress from other conflicts.
func Code(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	var re *azcore.ResponseError
	if errors.As(err, &re) {
		if re.ErrorCode != "" || re.RawResponse == nil {
			return re.ErrorCode
		}
		code, _ := errorBody(re.RawResponse)
		return code
	}
	return ""
}

// RetryAfter returns how long the server asked to wait before the next
// request, from the response behind err: retry-after-ms, x-ms-retry-after-ms
// (milliseconds) or Retry-After (seconds or an HTTP date), in that order.
// ok is false when err carries no response or no usable header.
func RetryAfter(err error) (time.Duration, bool) {
	var re *azcore.ResponseError
	if !errors.As(err, &re) || re.RawResponse == nil {
		return 0, false
	}
	return retryAfterHeader(re.RawResponse.Header, time.Now())
}

func retryAfterHeader(h http.Header, now time.Time) (time.Duration, bool) {
	for _, name := range []string{"retry-after-ms", "x-ms-retry-after-ms"} {
		if v := strings.TrimSpace(h.Get(name)); v != "" {
			if ms, err := strconv.ParseInt(v, 10, 64); err == nil && ms >= 0 {
				return time.Duration(ms) * time.Millisecond, true
			}
		}
	}
	v := strings.TrimSpace(h.Get("Retry-After"))
	if v == "" {
		return 0, false
	}
	if s, err := strconv.ParseInt(v, 10, 64); err == nil && s >= 0 {
		return time.Duration(s) * time.Second, true
	}
	if t, err := http.ParseTime(v); err == nil {
		d := t.Sub(now)
		if d < 0 {
			d = 0
		}
		return d, true
	}
	return 0, false
}
