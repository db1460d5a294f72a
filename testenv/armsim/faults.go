package armsim

import (
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Fault makes matching ARM requests fail. Faults are matched in the order
// they were injected; each matching request uses up one of Count.
type Fault struct {
	Method       string        `json:"method,omitempty"`       // "" any; else PUT, GET, ...
	PathContains string        `json:"pathContains,omitempty"` // substring of the URL path (case-insensitive); "" any ARM path
	Status       int           `json:"status"`                 // e.g. 500, 429, 409; 0 means 500
	Code         string        `json:"code,omitempty"`         // ARM error code; default from Status, e.g. "InternalServerError"
	Message      string        `json:"message,omitempty"`
	RetryAfter   time.Duration `json:"-"`                     // sent as Retry-After (seconds, rounded up) when > 0
	Count        int           `json:"count"`                 // how many matching requests fail (0 means 1; negative: every one, until ClearFaults)
	AfterCommit  bool          `json:"afterCommit,omitempty"` // apply the request, then answer with the fault (response lost)
	// OperationStatus, if "Failed" or "Canceled", does not fail the request:
	// the matching write (a PUT or DELETE) is accepted as usual, but its
	// operation ends with this status (error Code/Message, default
	// InternalServerError or Canceled/CanceledAndSupersededDueToAnotherOperation),
	// the resource goes back to its previous state and a write_failed event
	// is logged. Status, RetryAfter and AfterCommit are then ignored. A
	// matching action (a POST, which changes nothing) ends the same way,
	// with no event.
	OperationStatus string `json:"operationStatus,omitempty"`
}

// faultStage says when a fault applies.
type faultStage int

const (
	stageBefore    faultStage = iota // instead of handling the request
	stageAfter                       // after a successful request (AfterCommit)
	stageOperation                   // when a write starts an operation (OperationStatus)
)

func (f *Fault) stage() faultStage {
	switch {
	case f.OperationStatus != "":
		return stageOperation
	case f.AfterCommit:
		return stageAfter
	}
	return stageBefore
}

// InjectFault adds a fault. With AfterCommit the request is handled normally
// and, only if that succeeded (2xx), the answer is replaced by the fault: a
// write takes effect (and is logged as write_accepted, then write_rejected)
// although the client sees an error.
func (s *Sim) InjectFault(f Fault) {
	if f.Count == 0 {
		f.Count = 1
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = append(s.faults, &f)
}

// ClearFaults removes every fault not yet used up.
func (s *Sim) ClearFaults() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = nil
}

// matchFault finds, uses up and returns the first fault of a stage matching
// rc, or nil.
func (s *Sim) matchFault(rc *reqCtx, stage faultStage) *Fault {
	for i, f := range s.faults {
		if f.stage() != stage {
			continue
		}
		if f.Method != "" && !strings.EqualFold(f.Method, rc.method) {
			continue
		}
		if f.PathContains != "" && !strings.Contains(strings.ToLower(rc.path), strings.ToLower(f.PathContains)) {
			continue
		}
		out := *f
		if f.Count > 0 {
			f.Count--
			if f.Count == 0 {
				s.faults = append(s.faults[:i:i], s.faults[i+1:]...)
			}
		}
		return &out
	}
	return nil
}

func faultResponse(f *Fault) response {
	status := f.Status
	if status == 0 {
		status = http.StatusInternalServerError
	}
	code := f.Code
	if code == "" {
		code = strings.ReplaceAll(http.StatusText(status), " ", "")
	}
	msg := f.Message
	if msg == "" {
		msg = "Injected fault: " + http.StatusText(status) + "."
	}
	resp := armError(status, code, msg)
	if f.RetryAfter > 0 {
		resp.setHeader("Retry-After", strconv.Itoa(ceilSeconds(f.RetryAfter)))
	}
	return resp
}

// SetWriteThrottle limits writes (PUT/PATCH/DELETE) to perSecond with bursts
// of burst (at least 1); the bucket starts full. It is one bucket for every
// subscription, region and caller, older and simpler than the documented
// model (Options.Throttling, SetThrottling), and works beside it; a write it
// refuses is logged as write_rejected, not throttled. A write finding it empty gets
// 429 SubscriptionRequestsThrottled with Retry-After, and every write before
// that time has passed is rejected again
// (docs/azure-behaviour.md#arm-throttling). perSecond <= 0
// disables the throttle.
func (s *Sim) SetWriteThrottle(perSecond float64, burst int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if perSecond <= 0 {
		s.throttle = nil
		return
	}
	if burst < 1 {
		burst = 1
	}
	s.throttle = newBucket(Limit{Burst: float64(burst), PerSecond: perSecond}, s.now())
}

func (s *Sim) remainingWrites() string {
	if s.throttle == nil {
		return "1199"
	}
	s.throttle.refill(s.now())
	return strconv.Itoa(s.throttle.remaining())
}
