package lab

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"time"
)

// StandIn states.
const (
	StandInUp      = "up"      // answers HTTP 200
	StandInRefused = "refused" // the port is closed: probes get a reset (a crashed NVA)
	StandInSilent  = "silent"  // accepts and never answers (a hung NVA)
)

// StandIn stands in for an NVA's health probe port on 127.0.0.1: an HTTP
// server answering 200 on every path, which can crash (the port closes, so
// probes are refused), hang (connections are accepted and requests never
// answered, so probes time out) and come back on the same port. Its methods
// are safe for concurrent use.
type StandIn struct {
	addr string

	mu    sync.Mutex
	state string
	ln    net.Listener
	srv   *http.Server
	hang  chan struct{} // closed to release hung requests
}

// NewStandIn starts a stand-in on a free 127.0.0.1 port, answering.
func NewStandIn() (*StandIn, error) {
	s := &StandIn{hang: make(chan struct{})}
	if err := s.listen("127.0.0.1:0"); err != nil {
		return nil, err
	}
	return s, nil
}

// Addr is the stand-in's "127.0.0.1:PORT", the same for its whole life.
func (s *StandIn) Addr() string { return s.addr }

// State is StandInUp, StandInRefused or StandInSilent.
func (s *StandIn) State() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.state
}

func (s *StandIn) listen(addr string) error {
	var ln net.Listener
	var err error
	// The port was ours a moment ago; the kernel may hold it briefly.
	for attempt := 0; attempt < 50; attempt++ {
		if ln, err = net.Listen("tcp", addr); err == nil {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil {
		return fmt.Errorf("start NVA stand-in on %s: %w", addr, err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(s.serve), ReadHeaderTimeout: time.Minute}
	s.mu.Lock()
	s.ln, s.srv, s.addr, s.state = ln, srv, ln.Addr().String(), StandInUp
	s.mu.Unlock()
	go func() { _ = srv.Serve(ln) }()
	return nil
}

func (s *StandIn) serve(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	silent, release := s.state == StandInSilent, s.hang
	s.mu.Unlock()
	if silent {
		select {
		case <-release:
		case <-r.Context().Done():
		}
		return
	}
	w.Header().Set("Content-Type", "text/plain")
	_, _ = io.WriteString(w, "ok\n")
}

// Crash closes the port: every probe from now on is refused.
func (s *StandIn) Crash() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closeLocked()
	s.state = StandInRefused
}

func (s *StandIn) closeLocked() {
	if s.state == StandInSilent {
		close(s.hang)
		s.hang = make(chan struct{})
	}
	if s.srv != nil {
		_ = s.srv.Close()
		s.srv, s.ln = nil, nil
	}
}

// Hang keeps the port open but answers nothing: probes time out.
func (s *StandIn) Hang() error {
	s.mu.Lock()
	up := s.srv != nil
	s.mu.Unlock()
	if !up {
		if err := s.listen(s.addr); err != nil {
			return err
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.state = StandInSilent
	return nil
}

// Restore makes the stand-in answer again, on the same port.
func (s *StandIn) Restore() error {
	s.mu.Lock()
	state := s.state
	if state == StandInSilent {
		close(s.hang)
		s.hang = make(chan struct{})
		s.state = StandInUp
	}
	s.mu.Unlock()
	if state == StandInRefused {
		return s.listen(s.addr)
	}
	return nil
}

// Close stops the stand-in for good.
func (s *StandIn) Close() {
	s.Crash()
}
