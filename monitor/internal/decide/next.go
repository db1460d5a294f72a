package decide

import "time"

// Observation is one probe round: NVA name -> whether its probe succeeded.
// An NVA missing from the map had no result this round; its counters and
// health stay as they were. Names that are not in the policy are ignored.
type Observation map[string]bool

// Reason says why an action was taken, or why none was although the active
// NVA is down. It is also the value of the "reason" log attribute and metric
// label, so the set is closed.
type Reason string

const (
	// ReasonNone: nothing to explain.
	ReasonNone Reason = ""
	// ReasonActiveDown: the active NVA is down and another is up.
	ReasonActiveDown Reason = "active_down"
	// ReasonFailback: the preferred NVA has been up for the failback holdoff.
	ReasonFailback Reason = "failback"
	// ReasonNoActive: nothing pointed at a known NVA, and one is up.
	ReasonNoActive Reason = "no_active"
	// ReasonManual: an operator moved the active NVA (see Manual). Next never
	// returns it; it exists so the daemon logs and counts manual moves with
	// the same label set.
	ReasonManual Reason = "manual"
	// ReasonAllDown (hold): every NVA is down, there is nowhere to go.
	ReasonAllDown Reason = "all_down"
	// ReasonNoHealthyStandby (hold): the active NVA is down (or there is none)
	// and no other NVA is up yet, but not all are down either.
	ReasonNoHealthyStandby Reason = "no_healthy_standby"
	// ReasonAntiFlap (hold): a failover is warranted but the previous one was
	// less than MinFailoverInterval ago.
	ReasonAntiFlap Reason = "anti_flap"
	// ReasonActiveAnswering (hold): the active NVA is still down by the
	// thresholds (it has not yet had SuccessThreshold good probes in a
	// row), but its latest probe succeeded: no failover away from an NVA
	// that answers.
	ReasonActiveAnswering Reason = "active_answering"

	// The daemon's own holds: a decision of Next that it does not carry
	// out, or a converge it does not start. Next never returns them; they
	// share the type so that logs and the holds metric use one label set.

	// ReasonNotLeader (hold): this monitor does not hold the lease; the
	// leader decides.
	ReasonNotLeader Reason = "not_leader"
	// ReasonNoQuorum (hold): the active NVA is down from here but not from a
	// majority of the monitors' fresh views (or the views cannot be read).
	ReasonNoQuorum Reason = "no_quorum"
	// ReasonTargetDown (hold): the desired NVA is down from here: the leader
	// converges nothing toward it and waits for a failover decision.
	ReasonTargetDown Reason = "target_down"
	// ReasonStateUnwritable (hold): the shared state cannot be written, and
	// a failover is only made once it is recorded there.
	ReasonStateUnwritable Reason = "state_unwritable"
)

// Reasons lists every non-empty Reason, for example to initialise metric
// label values.
func Reasons() []Reason {
	return []Reason{
		ReasonActiveDown, ReasonFailback, ReasonNoActive, ReasonManual,
		ReasonAllDown, ReasonNoHealthyStandby, ReasonAntiFlap, ReasonActiveAnswering,
		ReasonNotLeader, ReasonNoQuorum, ReasonTargetDown, ReasonStateUnwritable,
	}
}

// Kind is the kind of an Action.
type Kind string

const (
	// NoAction leaves the active NVA where it is.
	NoAction Kind = "none"
	// Failover moves the active NVA from From to To.
	Failover Kind = "failover"
)

// Action is what the daemon should do after a round. Only a Failover has
// From, To and Reason set; From is "" when nothing was active.
type Action struct {
	Kind     Kind
	From, To string
	Reason   Reason
}

// Decision is the outcome of one call to Next.
type Decision struct {
	Action Action
	// Changes lists the NVAs whose health crossed a threshold this round, in
	// policy order.
	Changes []HealthChange
	// Hold says why there is no failover although the active NVA is down (or
	// none is active): ReasonAllDown, ReasonNoHealthyStandby or
	// ReasonAntiFlap. It is ReasonNone otherwise, including when a failback
	// waits for anti-flap.
	Hold Reason
}

// Next folds one probe round into the state and decides whether the active
// NVA must move. It is a pure function of its arguments: the returned State
// already has the action applied (Active = To, LastFailover = now), and s is
// left untouched.
//
// The rules, in order:
//   - An NVA becomes down after FailureThreshold consecutive failed probes and
//     up after SuccessThreshold consecutive successful ones (from unknown as
//     well). One result resets the opposite counter.
//   - If Active is "" or not in the policy: fail over to the first NVA that
//     is up (ReasonNoActive). Anti-flap does not apply: there is no working
//     path to protect.
//   - If Active is down: fail over to the first other NVA, in policy order,
//     that is up (ReasonActiveDown), unless the last failover was less than
//     MinFailoverInterval ago (hold ReasonAntiFlap) or Active's latest probe
//     succeeded (hold ReasonActiveAnswering: it is recovering, and leaving
//     an NVA that answers would move traffic off a working path). If none is
//     up, hold with ReasonAllDown when every NVA is down,
//     ReasonNoHealthyStandby otherwise.
//   - With FailbackPreferred, if Active is not NVAs[0] and NVAs[0] has been
//     up for at least FailbackHoldoff: fail back to it (ReasonFailback),
//     anti-flap permitting.
//
// A failover never goes to an NVA that is not up; unknown is not up.
func Next(p Policy, s State, obs Observation, now time.Time) (State, Decision) {
	next := State{
		Active:       s.Active,
		LastFailover: s.LastFailover,
		NVAs:         make(map[string]NVAState, len(p.NVAs)),
		AllDown:      len(p.NVAs) > 0,
	}
	var d Decision
	for _, name := range p.NVAs {
		st := s.NVAs[name]
		if st.Health == "" {
			st.Health = Unknown
		}
		if ok, seen := obs[name]; seen {
			from := st.Health
			var changed bool
			if st, changed = st.observe(ok, p, now); changed {
				d.Changes = append(d.Changes, HealthChange{NVA: name, From: from, To: st.Health, At: now})
			}
		}
		next.NVAs[name] = st
		if st.Health != Down {
			next.AllDown = false
		}
	}

	d.Action, d.Hold = choose(p, next, now)
	if d.Action.Kind == Failover {
		next.Active = d.Action.To
		next.LastFailover = now
	}
	return next, d
}

// choose decides on the state after this round's results are folded in.
func choose(p Policy, s State, now time.Time) (Action, Reason) {
	none := Action{Kind: NoAction}
	if p.index(s.Active) < 0 {
		to := firstUp(p, s, "")
		if to == "" {
			return none, stuck(s)
		}
		return Action{Kind: Failover, From: s.Active, To: to, Reason: ReasonNoActive}, ReasonNone
	}

	antiFlap := !s.LastFailover.IsZero() && now.Sub(s.LastFailover) < p.MinFailoverInterval
	if s.NVAs[s.Active].Health == Down {
		to := firstUp(p, s, s.Active)
		switch {
		case to == "":
			return none, stuck(s)
		case antiFlap:
			return none, ReasonAntiFlap
		case s.NVAs[s.Active].ConsecutiveSuccesses > 0:
			return none, ReasonActiveAnswering
		}
		return Action{Kind: Failover, From: s.Active, To: to, Reason: ReasonActiveDown}, ReasonNone
	}

	if p.Failback == FailbackPreferred && s.Active != p.NVAs[0] && !antiFlap {
		preferred := s.NVAs[p.NVAs[0]]
		if preferred.Health == Up && now.Sub(preferred.Since) >= p.FailbackHoldoff {
			return Action{Kind: Failover, From: s.Active, To: p.NVAs[0], Reason: ReasonFailback}, ReasonNone
		}
	}
	return none, ReasonNone
}

// firstUp returns the first NVA in policy order that is up, skipping
// except; "" if there is none.
func firstUp(p Policy, s State, except string) string {
	for _, n := range p.NVAs {
		if n != except && s.NVAs[n].Health == Up {
			return n
		}
	}
	return ""
}

// stuck explains why no NVA can take over.
func stuck(s State) Reason {
	if s.AllDown {
		return ReasonAllDown
	}
	return ReasonNoHealthyStandby
}
