package decide

import (
	"testing"
	"time"
)

func TestNewStateStartsEveryNVAUnknown(t *testing.T) {
	p := threeNVAs()
	s := NewState(p, "nva-2")
	if s.Active != "nva-2" || !s.LastFailover.IsZero() || s.AllDown {
		t.Errorf("state = %+v, want active nva-2, never failed over, not all down", s)
	}
	if len(s.NVAs) != 3 {
		t.Fatalf("got %d NVAs, want 3", len(s.NVAs))
	}
	for _, n := range p.NVAs {
		if st := s.NVAs[n]; st != (NVAState{Health: Unknown}) {
			t.Errorf("%s = %+v, want unknown with zero counters", n, st)
		}
	}
}

func TestManual(t *testing.T) {
	p := twoNVAs()
	up, _ := play(p, NewState(p, "nva-1"), repeat(2, "++"))

	t.Run("moves the active NVA and records the time as a failover", func(t *testing.T) {
		got := Manual(up, "nva-2", t0)
		if got.Active != "nva-2" || !got.LastFailover.Equal(t0) {
			t.Errorf("got active %q at %v, want nva-2 at %v", got.Active, got.LastFailover, t0)
		}
		if got.NVAs["nva-1"] != up.NVAs["nva-1"] {
			t.Errorf("health changed: %+v, want %+v", got.NVAs["nva-1"], up.NVAs["nva-1"])
		}
	})

	t.Run("does not share the NVA map with its input", func(t *testing.T) {
		got := Manual(up, "nva-2", t0)
		got.NVAs["nva-1"] = NVAState{Health: Down}
		if up.NVAs["nva-1"].Health != Up {
			t.Errorf("changing the result changed the input")
		}
	})

	t.Run("to the NVA that is already active changes nothing", func(t *testing.T) {
		got := Manual(up, "nva-1", t0)
		if got.Active != "nva-1" || !got.LastFailover.IsZero() {
			t.Errorf("got active %q last failover %v, want nva-1 and never", got.Active, got.LastFailover)
		}
	})

	t.Run("holds an automatic failover back for MinFailoverInterval", func(t *testing.T) {
		s := Manual(up, "nva-2", t0)
		for i := range 3 {
			var d Decision
			s, d = Next(p, s, round(p, "+-"), t0.Add(time.Duration(i+1)*time.Second))
			if d.Action.Kind != NoAction {
				t.Fatalf("round %d: action %+v, want none", i, d.Action)
			}
			if i == 2 && d.Hold != ReasonAntiFlap {
				t.Errorf("hold = %q once nva-2 is down, want anti_flap", d.Hold)
			}
		}
		_, d := Next(p, s, round(p, "+-"), t0.Add(p.MinFailoverInterval))
		want := Action{Kind: Failover, From: "nva-2", To: "nva-1", Reason: ReasonActiveDown}
		if d.Action != want {
			t.Errorf("after the interval: action %+v, want %+v", d.Action, want)
		}
	})
}
