package decide

import (
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

var t0 = time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)

// twoNVAs is the policy most scenarios use: fail after 3, recover after 2,
// 30s anti-flap, 60s failback holdoff, no failback.
func twoNVAs() Policy {
	return Policy{
		NVAs:                []string{"nva-1", "nva-2"},
		FailureThreshold:    3,
		SuccessThreshold:    2,
		MinFailoverInterval: 30 * time.Second,
		FailbackHoldoff:     60 * time.Second,
		Failback:            FailbackNever,
	}
}

func threeNVAs() Policy {
	p := twoNVAs()
	p.NVAs = []string{"nva-1", "nva-2", "nva-3"}
	return p
}

func withFailback(p Policy, f FailbackPolicy) Policy {
	p.Failback = f
	return p
}

// round turns "+-." into an Observation: one character per NVA in policy
// order, '+' probe OK, '-' probe failed, '.' no result.
func round(p Policy, r string) Observation {
	if len(r) != len(p.NVAs) {
		panic(fmt.Sprintf("round %q does not have one character per NVA (%d)", r, len(p.NVAs)))
	}
	obs := Observation{}
	for i, c := range r {
		switch c {
		case '+':
			obs[p.NVAs[i]] = true
		case '-':
			obs[p.NVAs[i]] = false
		case '.':
		default:
			panic(fmt.Sprintf("round %q: unknown result %q", r, c))
		}
	}
	return obs
}

// repeat returns n copies of r.
func repeat(n int, r string) []string {
	return slices.Repeat([]string{r}, n)
}

// rounds concatenates round lists.
func rounds(parts ...[]string) []string {
	return slices.Concat(parts...)
}

// play feeds the rounds to Next, round i at t0 + (i+1)s, and returns the final
// state and every decision.
func play(p Policy, s State, rs []string) (State, []Decision) {
	var ds []Decision
	for i, r := range rs {
		var d Decision
		s, d = Next(p, s, round(p, r), at(i))
		ds = append(ds, d)
	}
	return s, ds
}

// at is the time of round i.
func at(i int) time.Time {
	return t0.Add(time.Duration(i+1) * time.Second)
}

// failovers renders every failover as "round:from->to:reason".
func failovers(ds []Decision) []string {
	var out []string
	for i, d := range ds {
		if d.Action.Kind == Failover {
			out = append(out, fmt.Sprintf("%d:%s->%s:%s", i, d.Action.From, d.Action.To, d.Action.Reason))
		}
	}
	return out
}

func healths(p Policy, s State) string {
	var b strings.Builder
	for i, n := range p.NVAs {
		if i > 0 {
			b.WriteString(" ")
		}
		fmt.Fprintf(&b, "%s=%s", n, s.NVAs[n].Health)
	}
	return b.String()
}

func TestNextScenarios(t *testing.T) {
	tests := []struct {
		name   string
		policy Policy
		start  func(Policy) State // default: NewState(p, "nva-1")
		rounds []string

		wantHealth    string   // "nva-1=up nva-2=down"
		wantActive    string   // at the end
		wantFailovers []string // "round:from->to:reason"
		wantLastHold  Reason   // Hold of the last decision
		wantAllDown   bool
	}{
		// Thresholds.
		{
			name:       "an unknown NVA stays unknown one success short of the success threshold",
			policy:     twoNVAs(),
			rounds:     []string{"++"},
			wantHealth: "nva-1=unknown nva-2=unknown", wantActive: "nva-1",
		},
		{
			name:       "an unknown NVA is up after exactly SuccessThreshold successes",
			policy:     twoNVAs(),
			rounds:     []string{"++", "++"},
			wantHealth: "nva-1=up nva-2=up", wantActive: "nva-1",
		},
		{
			name:       "an unknown NVA is down after exactly FailureThreshold failures",
			policy:     twoNVAs(),
			rounds:     []string{".-", ".-", ".-"},
			wantHealth: "nva-1=unknown nva-2=down", wantActive: "nva-1",
		},
		{
			name:       "two failures (one short of the threshold) leave the active up and in place",
			policy:     twoNVAs(),
			rounds:     rounds(repeat(2, "++"), repeat(2, "-+")),
			wantHealth: "nva-1=up nva-2=up", wantActive: "nva-1",
		},
		{
			name:          "the third failure marks the active down and fails over to the healthy standby",
			policy:        twoNVAs(),
			rounds:        rounds(repeat(2, "++"), repeat(3, "-+")),
			wantHealth:    "nva-1=down nva-2=up",
			wantActive:    "nva-2",
			wantFailovers: []string{"4:nva-1->nva-2:active_down"},
		},
		{
			name:       "a success between failures resets the failure count, so flapping never reaches the threshold",
			policy:     twoNVAs(),
			rounds:     rounds(repeat(2, "++"), []string{"-+", "-+", "++", "-+", "-+", "++", "-+", "-+"}),
			wantHealth: "nva-1=up nva-2=up", wantActive: "nva-1",
		},
		{
			name:       "a failure between successes resets the success count, so a flapping NVA stays unknown",
			policy:     twoNVAs(),
			rounds:     []string{"+.", "-.", "+.", "-.", "+."},
			wantHealth: "nva-1=unknown nva-2=unknown", wantActive: "nva-1",
		},
		{
			name:       "a down NVA is up again after SuccessThreshold successes",
			policy:     twoNVAs(),
			rounds:     rounds(repeat(3, ".-"), repeat(2, ".+")),
			wantHealth: "nva-1=unknown nva-2=up", wantActive: "nva-1",
		},
		{
			name:       "a missing result neither counts nor resets",
			policy:     twoNVAs(),
			rounds:     []string{"++", "..", "++", "-.", ".+", "-.", "-+"},
			wantHealth: "nva-1=down nva-2=up", wantActive: "nva-2",
			wantFailovers: []string{"6:nva-1->nva-2:active_down"},
		},

		// Where a failover may go.
		{
			name:         "an active that is down never fails over to an unknown standby",
			policy:       twoNVAs(),
			rounds:       rounds(repeat(2, "+."), repeat(5, "-.")),
			wantHealth:   "nva-1=down nva-2=unknown",
			wantActive:   "nva-1",
			wantLastHold: ReasonNoHealthyStandby,
		},
		{
			name:         "an active that is down never fails over to a down standby while a third is unknown",
			policy:       threeNVAs(),
			rounds:       rounds(repeat(2, "+-."), repeat(3, "--.")),
			wantHealth:   "nva-1=down nva-2=down nva-3=unknown",
			wantActive:   "nva-1",
			wantLastHold: ReasonNoHealthyStandby,
		},
		{
			name:         "when every NVA is down there is no action, AllDown is set and the hold says all_down",
			policy:       twoNVAs(),
			rounds:       rounds(repeat(2, "++"), repeat(4, "--")),
			wantHealth:   "nva-1=down nva-2=down",
			wantActive:   "nva-1",
			wantLastHold: ReasonAllDown,
			wantAllDown:  true,
		},
		{
			name:          "recovery of the standby clears AllDown and fails over to it",
			policy:        twoNVAs(),
			rounds:        rounds(repeat(2, "++"), repeat(4, "--"), repeat(2, "-+")),
			wantHealth:    "nva-1=down nva-2=up",
			wantActive:    "nva-2",
			wantFailovers: []string{"7:nva-1->nva-2:active_down"},
		},
		{
			name:       "recovery of the active itself clears AllDown without a failover",
			policy:     twoNVAs(),
			rounds:     rounds(repeat(2, "++"), repeat(4, "--"), repeat(2, "+-")),
			wantHealth: "nva-1=up nva-2=down", wantActive: "nva-1",
		},
		{
			name:       "an active whose health is unknown is not failed over even if the standby is up",
			policy:     twoNVAs(),
			rounds:     repeat(5, ".+"),
			wantHealth: "nva-1=unknown nva-2=up", wantActive: "nva-1",
		},
		{
			name:          "with three NVAs the failover picks the first healthy one in policy order",
			policy:        threeNVAs(),
			rounds:        rounds(repeat(2, "+++"), repeat(3, "-++")),
			wantHealth:    "nva-1=down nva-2=up nva-3=up",
			wantActive:    "nva-2",
			wantFailovers: []string{"4:nva-1->nva-2:active_down"},
		},
		{
			name:          "with three NVAs the failover skips a down second NVA for the healthy third",
			policy:        threeNVAs(),
			rounds:        rounds(repeat(2, "+-+"), repeat(3, "--+")),
			wantHealth:    "nva-1=down nva-2=down nva-3=up",
			wantActive:    "nva-3",
			wantFailovers: []string{"4:nva-1->nva-3:active_down"},
		},
		{
			name:          "with three NVAs a failover from the second may go back to the first if it is up",
			policy:        threeNVAs(),
			start:         func(p Policy) State { return NewState(p, "nva-2") },
			rounds:        rounds(repeat(2, "+++"), repeat(3, "+-+")),
			wantHealth:    "nva-1=up nva-2=down nva-3=up",
			wantActive:    "nva-1",
			wantFailovers: []string{"4:nva-2->nva-1:active_down"},
		},

		// No active NVA.
		{
			name:          "with no active NVA the first up NVA becomes active at once",
			policy:        twoNVAs(),
			start:         func(p Policy) State { return NewState(p, "") },
			rounds:        repeat(2, "-+"),
			wantHealth:    "nva-1=unknown nva-2=up",
			wantActive:    "nva-2",
			wantFailovers: []string{"1:->nva-2:no_active"},
		},
		{
			name:          "an active NVA that is not in the policy is treated as no active NVA",
			policy:        twoNVAs(),
			start:         func(p Policy) State { return NewState(p, "nva-old") },
			rounds:        repeat(2, "++"),
			wantHealth:    "nva-1=up nva-2=up",
			wantActive:    "nva-1",
			wantFailovers: []string{"1:nva-old->nva-1:no_active"},
		},
		{
			name:          "with no active NVA anti-flap does not hold the first failover",
			policy:        twoNVAs(),
			start:         func(p Policy) State { return Manual(NewState(p, "nva-1"), "", t0) },
			rounds:        repeat(2, ".+"),
			wantHealth:    "nva-1=unknown nva-2=up",
			wantActive:    "nva-2",
			wantFailovers: []string{"1:->nva-2:no_active"},
		},
		{
			name:         "with no active NVA and nothing up yet the hold is no_healthy_standby",
			policy:       twoNVAs(),
			start:        func(p Policy) State { return NewState(p, "") },
			rounds:       repeat(3, "-."),
			wantHealth:   "nva-1=down nva-2=unknown",
			wantLastHold: ReasonNoHealthyStandby,
		},
		{
			name:         "with no active NVA and every NVA down the hold is all_down",
			policy:       twoNVAs(),
			start:        func(p Policy) State { return NewState(p, "") },
			rounds:       repeat(3, "--"),
			wantHealth:   "nva-1=down nva-2=down",
			wantLastHold: ReasonAllDown,
			wantAllDown:  true,
		},

		// Anti-flap. Manual at t0 sets LastFailover = t0; round i is at t0+(i+1)s,
		// so round 29 (t0+30s) is the first one outside the 30s interval.
		{
			name:         "anti-flap holds a warranted failover within MinFailoverInterval of the last one",
			policy:       twoNVAs(),
			start:        func(p Policy) State { return Manual(NewState(p, "nva-2"), "nva-1", t0) },
			rounds:       rounds(repeat(2, "++"), repeat(27, "-+")),
			wantHealth:   "nva-1=down nva-2=up",
			wantActive:   "nva-1",
			wantLastHold: ReasonAntiFlap,
		},
		{
			name:          "anti-flap allows the failover on the first round after the interval",
			policy:        twoNVAs(),
			start:         func(p Policy) State { return Manual(NewState(p, "nva-2"), "nva-1", t0) },
			rounds:        rounds(repeat(2, "++"), repeat(30, "-+")),
			wantHealth:    "nva-1=down nva-2=up",
			wantActive:    "nva-2",
			wantFailovers: []string{"29:nva-1->nva-2:active_down"},
		},
		{
			name:          "anti-flap holds a failover back after an automatic one too",
			policy:        twoNVAs(),
			rounds:        rounds(repeat(2, "++"), repeat(3, "-+"), repeat(2, "++"), repeat(40, "+-")),
			wantHealth:    "nva-1=up nva-2=down",
			wantActive:    "nva-1",
			wantFailovers: []string{"4:nva-1->nva-2:active_down", "34:nva-2->nva-1:active_down"},
		},
		{
			name:          "a zero MinFailoverInterval never holds",
			policy:        func() Policy { p := twoNVAs(); p.MinFailoverInterval = 0; return p }(),
			rounds:        rounds(repeat(2, "++"), repeat(3, "-+"), repeat(2, "++"), repeat(3, "+-")),
			wantHealth:    "nva-1=up nva-2=down",
			wantActive:    "nva-1",
			wantFailovers: []string{"4:nva-1->nva-2:active_down", "9:nva-2->nva-1:active_down"},
		},

		// Failback. nva-2 starts active; nva-1 comes up at round 1 (t0+2s).
		{
			name:       "failback never stays on the survivor however long the preferred NVA is up",
			policy:     twoNVAs(),
			start:      func(p Policy) State { return NewState(p, "nva-2") },
			rounds:     repeat(600, "++"),
			wantHealth: "nva-1=up nva-2=up", wantActive: "nva-2",
		},
		{
			name:       "failback preferred does not return one round before the holdoff is over",
			policy:     withFailback(twoNVAs(), FailbackPreferred),
			start:      func(p Policy) State { return NewState(p, "nva-2") },
			rounds:     repeat(61, "++"), // last round at t0+61s, nva-1 up for 59s
			wantHealth: "nva-1=up nva-2=up", wantActive: "nva-2",
		},
		{
			name:          "failback preferred returns to the preferred NVA once it has been up for the full holdoff",
			policy:        withFailback(twoNVAs(), FailbackPreferred),
			start:         func(p Policy) State { return NewState(p, "nva-2") },
			rounds:        repeat(63, "++"),
			wantHealth:    "nva-1=up nva-2=up",
			wantActive:    "nva-1",
			wantFailovers: []string{"61:nva-2->nva-1:failback"},
		},
		{
			name:   "failback preferred restarts the holdoff when the preferred NVA goes down and up again",
			policy: withFailback(twoNVAs(), FailbackPreferred),
			start:  func(p Policy) State { return NewState(p, "nva-2") },
			// nva-1 up at round 1 (t+2s), down at round 32, up again at round 34 (t+35s);
			// so failback at t+95s, round 94, and not at round 61.
			rounds:        rounds(repeat(30, "++"), repeat(3, "-+"), repeat(70, "++")),
			wantHealth:    "nva-1=up nva-2=up",
			wantActive:    "nva-1",
			wantFailovers: []string{"94:nva-2->nva-1:failback"},
		},
		{
			name:          "failback preferred is not restarted by failures below the threshold (health stays up)",
			policy:        withFailback(twoNVAs(), FailbackPreferred),
			start:         func(p Policy) State { return NewState(p, "nva-2") },
			rounds:        rounds(repeat(30, "++"), repeat(2, "-+"), repeat(40, "++")),
			wantHealth:    "nva-1=up nva-2=up",
			wantActive:    "nva-1",
			wantFailovers: []string{"61:nva-2->nva-1:failback"},
		},
		{
			name: "failback preferred waits for anti-flap after the failover it undoes",
			policy: func() Policy {
				p := withFailback(twoNVAs(), FailbackPreferred)
				p.FailbackHoldoff = 5 * time.Second
				return p
			}(),
			// failover at round 4 (t+5s); nva-1 up again at round 6 (t+7s), holdoff
			// over at t+12s, but anti-flap lasts until t+35s: round 34.
			rounds:        rounds(repeat(2, "++"), repeat(3, "-+"), repeat(40, "++")),
			wantHealth:    "nva-1=up nva-2=up",
			wantActive:    "nva-1",
			wantFailovers: []string{"4:nva-1->nva-2:active_down", "34:nva-2->nva-1:failback"},
		},
		{
			name:          "failback preferred goes to the preferred NVA, not to an earlier-up second one, with three NVAs",
			policy:        withFailback(threeNVAs(), FailbackPreferred),
			start:         func(p Policy) State { return NewState(p, "nva-3") },
			rounds:        rounds(repeat(10, ".++"), repeat(70, "+++")),
			wantHealth:    "nva-1=up nva-2=up nva-3=up",
			wantActive:    "nva-1",
			wantFailovers: []string{"71:nva-3->nva-1:failback"},
		},
		{
			name:          "a down active fails over to the preferred NVA at once, without waiting for the holdoff",
			policy:        withFailback(twoNVAs(), FailbackPreferred),
			start:         func(p Policy) State { return NewState(p, "nva-2") },
			rounds:        rounds(repeat(3, "+-")),
			wantHealth:    "nva-1=up nva-2=down",
			wantActive:    "nva-1",
			wantFailovers: []string{"2:nva-2->nva-1:active_down"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := NewState(tt.policy, "nva-1")
			if tt.start != nil {
				s = tt.start(tt.policy)
			}
			got, ds := play(tt.policy, s, tt.rounds)
			if h := healths(tt.policy, got); h != tt.wantHealth {
				t.Errorf("health = %s, want %s", h, tt.wantHealth)
			}
			if got.Active != tt.wantActive {
				t.Errorf("active = %q, want %q", got.Active, tt.wantActive)
			}
			if f := failovers(ds); !slices.Equal(f, tt.wantFailovers) {
				t.Errorf("failovers = %q, want %q", f, tt.wantFailovers)
			}
			if h := ds[len(ds)-1].Hold; h != tt.wantLastHold {
				t.Errorf("last hold = %q, want %q", h, tt.wantLastHold)
			}
			if got.AllDown != tt.wantAllDown {
				t.Errorf("AllDown = %v, want %v", got.AllDown, tt.wantAllDown)
			}
		})
	}
}

func TestNextAppliesTheFailoverToTheReturnedState(t *testing.T) {
	p := twoNVAs()
	s, _ := play(p, NewState(p, "nva-1"), rounds(repeat(2, "++"), repeat(2, "-+")))
	now := t0.Add(time.Hour)
	got, d := Next(p, s, round(p, "-+"), now)

	wantAction := Action{Kind: Failover, From: "nva-1", To: "nva-2", Reason: ReasonActiveDown}
	if d.Action != wantAction {
		t.Errorf("action = %+v, want %+v", d.Action, wantAction)
	}
	if got.Active != "nva-2" || !got.LastFailover.Equal(now) {
		t.Errorf("state after failover: active %q last failover %v, want nva-2 at %v", got.Active, got.LastFailover, now)
	}
	if d.Hold != ReasonNone {
		t.Errorf("hold = %q on a failover, want none", d.Hold)
	}
}

func TestNextReportsNoActionWithKindNone(t *testing.T) {
	p := twoNVAs()
	_, d := Next(p, NewState(p, "nva-1"), round(p, "++"), t0)
	if want := (Action{Kind: NoAction}); d.Action != want {
		t.Errorf("action = %+v, want %+v", d.Action, want)
	}
}

func TestNextReportsHealthChangesInPolicyOrderWithTheirTime(t *testing.T) {
	p := threeNVAs()
	s, _ := play(p, NewState(p, "nva-1"), rounds(repeat(2, "+-."), repeat(2, "--.")))
	// nva-1 has failed twice (up), nva-2 has failed four times (down).
	now := t0.Add(time.Minute)
	got, d := Next(p, s, round(p, "-++"), now)

	want := []HealthChange{{NVA: "nva-1", From: Up, To: Down, At: now}}
	if !reflect.DeepEqual(d.Changes, want) {
		t.Errorf("changes = %+v, want %+v", d.Changes, want)
	}
	if st := got.NVAs["nva-1"]; !st.Since.Equal(now) || st.ConsecutiveFailures != 3 || st.ConsecutiveSuccesses != 0 {
		t.Errorf("nva-1 = %+v, want down since %v with 3 failures", st, now)
	}
	if st := got.NVAs["nva-2"]; st.ConsecutiveFailures != 0 || st.ConsecutiveSuccesses != 1 || st.Health != Down {
		t.Errorf("nva-2 = %+v, want still down with the failure count reset and one success", st)
	}
	if st := got.NVAs["nva-3"]; st.Health != Unknown || !st.Since.IsZero() {
		t.Errorf("nva-3 = %+v, want unknown with zero Since", st)
	}

	got2, d2 := Next(p, got, round(p, "-+-"), now.Add(time.Second))
	want2 := []HealthChange{{NVA: "nva-2", From: Down, To: Up, At: now.Add(time.Second)}}
	if !reflect.DeepEqual(d2.Changes, want2) {
		t.Errorf("second round changes = %+v, want %+v", d2.Changes, want2)
	}
	if got2.NVAs["nva-1"].Since != now {
		t.Errorf("nva-1 Since moved to %v without a health change, want %v", got2.NVAs["nva-1"].Since, now)
	}
}

func TestNextLeavesItsInputStateUntouched(t *testing.T) {
	p := twoNVAs()
	s, _ := play(p, NewState(p, "nva-1"), rounds(repeat(2, "++"), repeat(2, "-+")))
	before := s
	before.NVAs = maps.Clone(s.NVAs)

	next, d := Next(p, s, round(p, "-+"), t0.Add(time.Hour))
	if d.Action.Kind != Failover {
		t.Fatalf("setup: expected a failover, got %+v", d.Action)
	}
	if !reflect.DeepEqual(s, before) {
		t.Errorf("input state changed:\n got %+v\nwant %+v", s, before)
	}
	next.NVAs["nva-1"] = NVAState{Health: Unknown}
	if s.NVAs["nva-1"] != before.NVAs["nva-1"] {
		t.Errorf("returned state shares its NVA map with the input")
	}
}

func TestNextIgnoresNVAsOutsideThePolicy(t *testing.T) {
	p := twoNVAs()
	s := NewState(p, "nva-1")
	s.NVAs["nva-gone"] = NVAState{Health: Up}
	got, d := Next(p, s, Observation{"nva-1": false, "nva-stranger": true}, t0)
	if _, ok := got.NVAs["nva-stranger"]; ok {
		t.Errorf("an observed NVA outside the policy was added to the state")
	}
	if _, ok := got.NVAs["nva-gone"]; ok {
		t.Errorf("an NVA no longer in the policy was kept in the state")
	}
	if d.Action.Kind != NoAction {
		t.Errorf("action = %+v, want none", d.Action)
	}
}

func TestNextTreatsAZeroStateLikeNewState(t *testing.T) {
	p := twoNVAs()
	got, _ := play(p, State{Active: "nva-1"}, []string{"+-"})
	want, _ := play(p, NewState(p, "nva-1"), []string{"+-"})
	if !reflect.DeepEqual(got, want) {
		t.Errorf("zero state gives %+v, NewState gives %+v", got, want)
	}
}

func TestReasonsListsEveryNonEmptyReasonOnce(t *testing.T) {
	rs := Reasons()
	seen := map[Reason]bool{}
	for _, r := range rs {
		if r == ReasonNone || seen[r] {
			t.Errorf("reason %q is empty or listed twice", r)
		}
		seen[r] = true
	}
	if len(rs) != 12 {
		t.Errorf("got %d reasons, want 12 (8 of Next, 4 of the daemon's holds)", len(rs))
	}
}

// TestNoFailoverAwayFromAnActiveNVAWhoseLatestProbeSucceeded: an active NVA
// still down by the thresholds (one good probe of two) but answering again
// is not left, even with a healthy standby and no anti-flap; the next failed
// probe allows the failover again.
func TestNoFailoverAwayFromAnActiveNVAWhoseLatestProbeSucceeded(t *testing.T) {
	p := Policy{NVAs: []string{"a", "b"}, FailureThreshold: 3, SuccessThreshold: 2, MinFailoverInterval: time.Second}
	now := time.Unix(1000, 0)
	s := State{Active: "a", NVAs: map[string]NVAState{
		"a": {Health: Down, ConsecutiveFailures: 5},
		"b": {Health: Up, ConsecutiveSuccesses: 9},
	}}
	got, d := Next(p, s, Observation{"a": true, "b": true}, now)
	if d.Action.Kind != NoAction || d.Hold != ReasonActiveAnswering {
		t.Fatalf("active answering again: action %+v hold %q, want none held active_answering", d.Action, d.Hold)
	}
	if got.NVAs["a"].Health != Down || got.Active != "a" {
		t.Fatalf("state %+v: want a still active and still down (one success of two)", got)
	}
	_, d = Next(p, got, Observation{"a": false, "b": true}, now.Add(time.Second))
	if d.Action.Kind != Failover || d.Action.To != "b" || d.Action.Reason != ReasonActiveDown {
		t.Fatalf("a failed again: %+v, want a failover to b", d.Action)
	}
}
