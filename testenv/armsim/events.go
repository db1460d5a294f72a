package armsim

import (
	"fmt"
	"strings"
	"time"
)

// Event kinds.
const (
	KindWriteAccepted  = "write_accepted"  // a PUT/PATCH/DELETE was applied; its operation started
	KindWriteSucceeded = "write_succeeded" // the operation reached Succeeded
	KindWriteRejected  = "write_rejected"  // a write got a 4xx/5xx (validation, 409, 412, 429, injected faults)
	KindWriteFailed    = "write_failed"    // the operation ended Failed or Canceled (Fault.OperationStatus); the resource was reverted
	// KindThrottled: the throttling model (Options.Throttling) answered a
	// request, read or write, with 429; Bucket names the bucket that
	// refused it. The request changed nothing. (SetWriteThrottle's 429s are
	// write_rejected.)
	KindThrottled = "throttled"
)

// Event is one entry of the emulator's write log.
type Event struct {
	Seq  int       `json:"seq"`
	Time time.Time `json:"time"`
	// Kind is one of the Kind constants.
	Kind            string `json:"kind"`
	Method          string `json:"method"`
	ResourceID      string `json:"resourceId"`
	Client          string `json:"client"`          // the request's User-Agent
	ClientRequestID string `json:"clientRequestId"` // x-ms-client-request-id
	Status          int    `json:"status"`
	Code            string `json:"code,omitempty"`
	// Changes are human-readable diffs, e.g.
	// `route "default" nextHopIpAddress 10.0.1.4 -> 10.0.1.5`.
	Changes []string `json:"changes,omitempty"`
	// Bucket (KindThrottled) is the bucket that refused the request:
	// "{name}/{region}[/{principal}]", name as in BucketLevel, e.g.
	// "subscription-writes/westeurope/armsim" or "network-reads/westeurope".
	Bucket string `json:"bucket,omitempty"`
	// Principal (KindThrottled) is the caller as the model saw it.
	Principal string `json:"principal,omitempty"`
}

// Request is one ARM request received (control API requests are not logged).
type Request struct {
	Time   time.Time `json:"time"`
	Method string    `json:"method"`
	Path   string    `json:"path"`
	Client string    `json:"client"`
	Status int       `json:"status"`
}

// TagOnly reports whether the write changed nothing but the tag named tag
// (compared case-insensitively, as Azure compares tag names): for example
// a monitor stamping its epoch, which moves no traffic.
func (e Event) TagOnly(tag string) bool {
	if len(e.Changes) == 0 {
		return false
	}
	prefix := strings.ToLower(fmt.Sprintf("tag %q", tag))
	for _, c := range e.Changes {
		if !strings.HasPrefix(strings.ToLower(c), prefix) {
			return false
		}
	}
	return true
}

func (s *Sim) addEvent(ev Event) {
	ev.Seq = len(s.events) + 1
	ev.Changes = append([]string(nil), ev.Changes...)
	s.events = append(s.events, ev)
}

// Events returns the events with Seq > since, in order (Seq starts at 1).
// Operations due by now are completed first, so a write_succeeded appears as
// soon as its latency has passed, stamped with its completion time.
func (s *Sim) Events(since int) []Event {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.advanceNow()
	if since < 0 {
		since = 0
	}
	if since >= len(s.events) {
		return nil
	}
	out := make([]Event, len(s.events)-since)
	copy(out, s.events[since:])
	for i := range out {
		out[i].Changes = append([]string(nil), out[i].Changes...)
	}
	return out
}

// Requests returns every ARM request received, in order.
func (s *Sim) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.requests...)
}
