package decide

import (
	"maps"
	"time"
)

// State is what the decision logic remembers between probe rounds. Next and
// Manual never modify the State they are given; they return a new one.
type State struct {
	// Active is the NVA that Azure currently points at (route tables, public
	// IP), "" if none.
	Active string
	// NVAs holds the health of every NVA in the policy.
	NVAs map[string]NVAState
	// LastFailover is when Active last changed (automatic or manual); zero if
	// never.
	LastFailover time.Time
	// AllDown is true while every NVA in the policy is down.
	AllDown bool
}

// NewState starts with every NVA of p unknown and active as the active NVA
// (read from Azure at start; "" if nothing points at an NVA yet).
func NewState(p Policy, active string) State {
	s := State{Active: active, NVAs: make(map[string]NVAState, len(p.NVAs))}
	for _, n := range p.NVAs {
		s.NVAs[n] = NVAState{Health: Unknown}
	}
	return s
}

// Manual records that an operator moved the active NVA to to (for example
// with `nva-monitor failover --to`). A move counts as a failover for
// anti-flap: no automatic failover follows within Policy.MinFailoverInterval.
// Naming the NVA that is already active changes nothing. Health is kept as
// it is, and AllDown too.
//
// With FailbackPreferred, a manual move away from a healthy preferred NVA is
// undone by failback once MinFailoverInterval has passed; Manual does not
// change that. The caller checks that to is one of the policy's NVAs.
func Manual(s State, to string, now time.Time) State {
	s.NVAs = maps.Clone(s.NVAs)
	if s.Active == to {
		return s
	}
	s.Active = to
	s.LastFailover = now
	return s
}
