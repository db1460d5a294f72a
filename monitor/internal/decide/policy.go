package decide

import (
	"errors"
	"fmt"
	"time"
)

// FailbackPolicy says whether the monitor returns to the preferred NVA
// (Policy.NVAs[0]) once it is healthy again.
type FailbackPolicy string

const (
	// FailbackNever stays on the survivor until it fails itself.
	FailbackNever FailbackPolicy = "never"
	// FailbackPreferred returns to the preferred NVA once it has been up
	// continuously for Policy.FailbackHoldoff.
	FailbackPreferred FailbackPolicy = "preferred"
)

// Policy is everything Next needs to know besides the state and the
// observation. It is plain data; build it from the configuration and call
// Validate once.
type Policy struct {
	// NVAs names the appliances in order of preference; NVAs[0] is the
	// preferred one. A failover picks the first NVA in this order that is up.
	NVAs []string
	// FailureThreshold consecutive failed probes mark an NVA down (at least 1).
	FailureThreshold int
	// SuccessThreshold consecutive successful probes mark an NVA up (at least 1).
	SuccessThreshold int
	// MinFailoverInterval is the anti-flap interval: no failover starts sooner
	// than this after the previous one (automatic or manual). Zero disables it.
	MinFailoverInterval time.Duration
	// FailbackHoldoff is how long the preferred NVA must have been up without
	// interruption before failback. Only used with FailbackPreferred.
	FailbackHoldoff time.Duration
	// Failback is FailbackNever or FailbackPreferred.
	Failback FailbackPolicy
}

// Validate reports every problem with the policy at once, each naming the
// offending value and the rule it breaks.
func (p Policy) Validate() error {
	var errs []error
	if len(p.NVAs) < 2 {
		errs = append(errs, fmt.Errorf("policy needs at least 2 NVAs, got %d", len(p.NVAs)))
	}
	seen := make(map[string]bool, len(p.NVAs))
	for i, n := range p.NVAs {
		switch {
		case n == "":
			errs = append(errs, fmt.Errorf("NVA %d has an empty name", i))
		case seen[n]:
			errs = append(errs, fmt.Errorf("NVA %q is listed more than once", n))
		}
		seen[n] = true
	}
	if p.FailureThreshold < 1 {
		errs = append(errs, fmt.Errorf("failure threshold must be at least 1, got %d", p.FailureThreshold))
	}
	if p.SuccessThreshold < 1 {
		errs = append(errs, fmt.Errorf("success threshold must be at least 1, got %d", p.SuccessThreshold))
	}
	if p.MinFailoverInterval < 0 {
		errs = append(errs, fmt.Errorf("min failover interval must not be negative, got %s", p.MinFailoverInterval))
	}
	if p.FailbackHoldoff < 0 {
		errs = append(errs, fmt.Errorf("failback holdoff must not be negative, got %s", p.FailbackHoldoff))
	}
	switch p.Failback {
	case FailbackNever, FailbackPreferred:
	default:
		errs = append(errs, fmt.Errorf("failback must be %q or %q, got %q", FailbackNever, FailbackPreferred, p.Failback))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("validate decision policy: %w", err)
	}
	return nil
}

// index returns the position of name in p.NVAs, or -1.
func (p Policy) index(name string) int {
	for i, n := range p.NVAs {
		if n == name {
			return i
		}
	}
	return -1
}
