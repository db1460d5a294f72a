package decide

import (
	"maps"
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"
	"time"
)

// checkInvariants drives Next with a policy, a start and a run of rounds all
// derived from data, and fails on the first round that breaks a rule that
// must hold whatever the inputs:
//   - a failover goes to an NVA of the policy that is up in the returned
//     state, never to the NVA it leaves, and is applied to that state;
//   - without a failover Active and LastFailover do not move;
//   - no failover other than no_active within MinFailoverInterval of the last;
//   - AllDown is true exactly when every NVA is down;
//   - a hold is only given without an action, and is one of the hold reasons;
//   - the input state is never modified.
func checkInvariants(t *testing.T, data []byte) {
	t.Helper()
	next := func() byte {
		if len(data) == 0 {
			return 0
		}
		b := data[0]
		data = data[1:]
		return b
	}
	names := []string{"nva-1", "nva-2", "nva-3", "nva-4"}
	p := Policy{
		NVAs:                names[:2+int(next()%3)],
		FailureThreshold:    1 + int(next()%4),
		SuccessThreshold:    1 + int(next()%4),
		MinFailoverInterval: time.Duration(next()%20) * time.Second,
		FailbackHoldoff:     time.Duration(next()%20) * time.Second,
		Failback:            []FailbackPolicy{FailbackNever, FailbackPreferred}[next()%2],
	}
	if err := p.Validate(); err != nil {
		t.Fatalf("generated an invalid policy: %v", err)
	}
	s := NewState(p, append(slices.Clone(p.NVAs), "", "nva-stranger")[int(next())%(len(p.NVAs)+2)])
	now := t0

	for i := 0; len(data) > 0; i++ {
		results, step := next(), next()
		if step == 255 { // an operator moves the active NVA
			s = Manual(s, p.NVAs[int(results)%len(p.NVAs)], now)
			continue
		}
		now = now.Add(time.Duration(step%32) * time.Second / 2)
		obs := Observation{}
		for j, n := range p.NVAs {
			switch (results >> (2 * j)) & 3 {
			case 0, 3:
				obs[n] = true
			case 1:
				obs[n] = false
			}
		}

		before := s
		before.NVAs = maps.Clone(s.NVAs)
		got, d := Next(p, s, obs, now)
		if !reflect.DeepEqual(s, before) {
			t.Fatalf("round %d: Next modified its input state", i)
		}

		switch d.Action.Kind {
		case Failover:
			to := d.Action.To
			if !slices.Contains(p.NVAs, to) {
				t.Fatalf("round %d: failover to %q, which is not in the policy %q", i, to, p.NVAs)
			}
			if h := got.NVAs[to].Health; h != Up {
				t.Fatalf("round %d: failover to %s, which is %s", i, to, h)
			}
			if to == s.Active || d.Action.From != s.Active {
				t.Fatalf("round %d: failover %+v from active %q", i, d.Action, s.Active)
			}
			if got.Active != to || !got.LastFailover.Equal(now) {
				t.Fatalf("round %d: failover %+v not applied: active %q last %v", i, d.Action, got.Active, got.LastFailover)
			}
			if d.Action.Reason != ReasonNoActive && !s.LastFailover.IsZero() && now.Sub(s.LastFailover) < p.MinFailoverInterval {
				t.Fatalf("round %d: failover %+v only %s after the last one (min %s)", i, d.Action, now.Sub(s.LastFailover), p.MinFailoverInterval)
			}
			if d.Hold != ReasonNone {
				t.Fatalf("round %d: failover with hold %q", i, d.Hold)
			}
			if d.Action.Reason == ReasonActiveDown && got.NVAs[s.Active].ConsecutiveSuccesses > 0 {
				t.Fatalf("round %d: failover away from %s, whose latest probe succeeded", i, s.Active)
			}
			switch d.Action.Reason {
			case ReasonActiveDown, ReasonFailback, ReasonNoActive:
			default:
				t.Fatalf("round %d: failover with reason %q", i, d.Action.Reason)
			}
		case NoAction:
			if d.Action != (Action{Kind: NoAction}) {
				t.Fatalf("round %d: no action carries %+v", i, d.Action)
			}
			if got.Active != s.Active || !got.LastFailover.Equal(s.LastFailover) {
				t.Fatalf("round %d: state moved without an action", i)
			}
			switch d.Hold {
			case ReasonNone, ReasonAntiFlap, ReasonNoHealthyStandby:
			case ReasonActiveAnswering:
				if a := got.NVAs[s.Active]; a.Health != Down || a.ConsecutiveSuccesses == 0 {
					t.Fatalf("round %d: hold active_answering but the active NVA is %+v", i, a)
				}
			case ReasonAllDown:
				if !got.AllDown {
					t.Fatalf("round %d: hold all_down but AllDown is false", i)
				}
			default:
				t.Fatalf("round %d: hold %q", i, d.Hold)
			}
		default:
			t.Fatalf("round %d: action kind %q", i, d.Action.Kind)
		}

		allDown := true
		for _, n := range p.NVAs {
			st := got.NVAs[n]
			allDown = allDown && st.Health == Down
			if _, seen := obs[n]; seen && st.ConsecutiveFailures != 0 && st.ConsecutiveSuccesses != 0 {
				t.Fatalf("round %d: %s counts both failures and successes: %+v", i, n, st)
			}
		}
		if got.AllDown != allDown {
			t.Fatalf("round %d: AllDown = %v, but every NVA down is %v", i, got.AllDown, allDown)
		}
		s = got
	}
}

func FuzzNextNeverFailsOverToAnNVAThatIsNotUp(f *testing.F) {
	f.Add([]byte{0, 2, 1, 10, 5, 1, 0, 0, 2, 0, 2, 1, 2, 1, 2, 1, 2, 0, 2, 0, 2})
	f.Add([]byte{1, 0, 0, 0, 0, 1, 3, 0x15, 1, 0x14, 1, 0x11, 1, 0, 255, 0x05, 40})
	f.Add([]byte{2, 1, 1, 3, 3, 1, 4, 0xff, 1, 0x55, 2, 0x00, 2, 0x54, 2, 0x41, 2})
	f.Fuzz(checkInvariants)
}

// TestNextInvariantsHoldOnRandomRuns runs the fuzz property over many
// pseudo-random runs on every plain `go test` (fixed seed, so reproducible).
func TestNextInvariantsHoldOnRandomRuns(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for range 1000 {
		data := make([]byte, 7+2*rng.IntN(200))
		for i := range data {
			data[i] = byte(rng.IntN(256))
		}
		// Repeat round results often, so that long runs cross the thresholds.
		for i := 7; i+1 < len(data); i += 2 {
			if i > 8 && rng.IntN(4) != 0 {
				data[i] = data[i-2]
			}
		}
		checkInvariants(t, data)
		if t.Failed() {
			t.Logf("data: %v", data)
			return
		}
	}
}
