package decide

import "time"

// Health is what the probes, filtered through the thresholds, say about one NVA.
type Health string

const (
	// Unknown: not enough probe results yet to call the NVA up or down.
	Unknown Health = "unknown"
	// Up: the last SuccessThreshold probes succeeded (or more, unbroken).
	Up Health = "up"
	// Down: the last FailureThreshold probes failed (or more, unbroken).
	Down Health = "down"
)

// NVAState is the health bookkeeping of one NVA.
type NVAState struct {
	Health Health
	// ConsecutiveFailures and ConsecutiveSuccesses count the current unbroken
	// run of results; a result of one kind resets the other counter to zero.
	ConsecutiveFailures  int
	ConsecutiveSuccesses int
	// Since is when Health last changed; zero while it is still Unknown.
	Since time.Time
}

// HealthChange records one NVA crossing a threshold.
type HealthChange struct {
	NVA      string
	From, To Health
	At       time.Time
}

// observe folds one probe result into st and reports whether Health changed.
func (st NVAState) observe(ok bool, p Policy, now time.Time) (NVAState, bool) {
	from := st.Health
	if ok {
		st.ConsecutiveSuccesses++
		st.ConsecutiveFailures = 0
		if st.Health != Up && st.ConsecutiveSuccesses >= atLeastOne(p.SuccessThreshold) {
			st.Health = Up
		}
	} else {
		st.ConsecutiveFailures++
		st.ConsecutiveSuccesses = 0
		if st.Health != Down && st.ConsecutiveFailures >= atLeastOne(p.FailureThreshold) {
			st.Health = Down
		}
	}
	if st.Health == from {
		return st, false
	}
	st.Since = now
	return st, true
}

// atLeastOne keeps an unvalidated threshold of zero or less from meaning
// "change on no evidence at all".
func atLeastOne(n int) int {
	return max(n, 1)
}
