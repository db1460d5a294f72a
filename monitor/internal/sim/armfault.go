package sim

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
)

// armFault makes ARM answer requests on one resource with an error.
type armFault struct {
	target string // resource ID; requests on it and its children match
	status string // "409", "429", "500", "503", "403"
	count  int    // how many requests it fails; negative: until removed
}

func (w *World) addARMFault(f armFault) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.armFaults = append(w.armFaults, &f)
}

func (w *World) removeARMFaults(target string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	kept := w.armFaults[:0]
	for _, f := range w.armFaults {
		if f.target != target {
			kept = append(kept, f)
		}
	}
	w.armFaults = kept
}

// armFaultFor answers req with an injected error, if one matches.
func (w *World) armFaultFor(req *http.Request, rec *httptest.ResponseRecorder) bool {
	w.mu.Lock()
	var hit *armFault
	for _, f := range w.armFaults {
		if f.count != 0 && strings.HasPrefix(strings.ToLower(req.URL.Path), strings.ToLower(f.target)) {
			hit = f
			if f.count > 0 {
				f.count--
			}
			break
		}
	}
	w.mu.Unlock()
	if hit == nil {
		return false
	}
	code, msg := "InternalServerError", "simulated failure"
	status, _ := strconv.Atoi(hit.status)
	switch status {
	case 409:
		code, msg = "AnotherOperationInProgress", "Another operation on this or dependent resource is in progress."
	case 429:
		code, msg = "TooManyRequests", "simulated throttling"
		rec.Header().Set("Retry-After", "3")
	case 503:
		code = "ServiceUnavailable"
	case 403:
		code, msg = "AuthorizationFailed", "The client does not have authorization to perform action (simulated)."
	}
	rec.Header().Set("Content-Type", "application/json")
	rec.Header().Set("x-ms-failure-cause", "gateway")
	rec.WriteHeader(status)
	fmt.Fprintf(rec, `{"error":{"code":%q,"message":%q}}`, code, msg)
	w.tracef("ARM answered %s %s with injected %d %s", req.Method, short(req.URL.Path), status, code)
	return true
}
