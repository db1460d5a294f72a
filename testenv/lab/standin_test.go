package lab

import (
	"errors"
	"net"
	"net/http"
	"syscall"
	"testing"
	"time"
)

// probe does what the monitor's HTTP probe does: a fresh connection, a
// GET, a timeout.
func probe(addr string) (int, error) {
	c := &http.Client{Timeout: 300 * time.Millisecond, Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := c.Get("http://" + addr + "/")
	if err != nil {
		return 0, err
	}
	resp.Body.Close()
	return resp.StatusCode, nil
}

func TestStandInCrashesHangsAndComesBackOnTheSamePort(t *testing.T) {
	s, err := NewStandIn()
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	addr := s.Addr()
	steps := []struct {
		name  string
		do    func() error
		state string
		check func(code int, err error) bool
		want  string
	}{
		{"a new stand-in answers 200", func() error { return nil }, StandInUp,
			func(code int, err error) bool { return err == nil && code == 200 }, "200"},
		{"a crashed stand-in refuses connections", func() error { s.Crash(); return nil }, StandInRefused,
			func(_ int, err error) bool { return errors.Is(err, syscall.ECONNREFUSED) }, "connection refused"},
		{"a restored stand-in answers again", s.Restore, StandInUp,
			func(code int, err error) bool { return err == nil && code == 200 }, "200"},
		{"a hung stand-in accepts and never answers", s.Hang, StandInSilent,
			func(_ int, err error) bool {
				var ne net.Error
				return errors.As(err, &ne) && ne.Timeout()
			}, "a timeout"},
		{"a stand-in restored from a hang answers again", s.Restore, StandInUp,
			func(code int, err error) bool { return err == nil && code == 200 }, "200"},
		{"a crashed stand-in can hang", func() error { s.Crash(); return s.Hang() }, StandInSilent,
			func(_ int, err error) bool {
				var ne net.Error
				return errors.As(err, &ne) && ne.Timeout()
			}, "a timeout"},
		{"and come back", s.Restore, StandInUp,
			func(code int, err error) bool { return err == nil && code == 200 }, "200"},
	}
	for _, st := range steps {
		if err := st.do(); err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		if s.Addr() != addr {
			t.Fatalf("%s: address moved from %s to %s", st.name, addr, s.Addr())
		}
		if s.State() != st.state {
			t.Errorf("%s: state %q, want %q", st.name, s.State(), st.state)
		}
		if code, err := probe(addr); !st.check(code, err) {
			t.Errorf("%s: probe = %d, %v; want %s", st.name, code, err, st.want)
		}
	}
}
