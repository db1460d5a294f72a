package lease

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"sync"
	"time"
)

// None is the lease of a monitor that runs alone: it always leads, Check
// always passes, and the shared state, its own view and requests live in
// memory (lost on restart; a lone monitor reads Azure on start anyway).
// It has the same methods as Blob. Safe for concurrent use.
type None struct {
	instance string
	edges    chan bool

	mu    sync.Mutex
	state State
	view  *View
	req   *Request
	reqAt time.Time // when req was put (monotonic): its Age at TakeRequest
	reqN  int64     // counts puts: req's ETag is "none-<reqN>"
}

// NewNone returns the lease of a lone monitor. Leadership already holds
// true.
func NewNone(instance string) *None {
	n := &None{instance: instance, edges: make(chan bool, 1)}
	n.edges <- true
	return n
}

// Run blocks until ctx is cancelled and returns ctx.Err().
func (n *None) Run(ctx context.Context) error {
	<-ctx.Done()
	return ctx.Err()
}

// Check always returns nil: a lone monitor always leads.
func (n *None) Check() error { return nil }

// Term is always 1: a lone monitor's one term never ends.
func (n *None) Term() uint64 { return 1 }

// Remaining is unbounded: a lone monitor's leadership has no deadline.
func (n *None) Remaining() (time.Duration, error) { return math.MaxInt64, nil }

// Leadership holds a single true edge; nothing follows it.
func (n *None) Leadership() <-chan bool { return n.edges }

// Deadline returns the zero time: a lone monitor's leadership never ends.
func (n *None) Deadline() time.Time { return time.Time{} }

// Resign does nothing: there is no one to hand over to.
func (n *None) Resign() {}

// ReadState returns the state last written (zero before the first write).
func (n *None) ReadState(context.Context) (State, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	return cloneState(n.state), nil
}

// WriteState keeps s in memory.
func (n *None) WriteState(_ context.Context, s State) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.state = cloneState(s)
	return nil
}

// PublishView keeps v (with Instance set to this instance) in memory.
func (n *None) PublishView(_ context.Context, v View) error {
	v.Instance = n.instance
	v.Health = cloneHealth(v.Health)
	n.mu.Lock()
	defer n.mu.Unlock()
	n.view = &v
	return nil
}

// Views returns this monitor's own view, if it published one.
func (n *None) Views(context.Context) ([]View, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.view == nil {
		return nil, nil
	}
	v := *n.view
	v.Health = cloneHealth(v.Health)
	return []View{v}, nil
}

// PutRequest keeps r as the pending request, replacing one not yet taken,
// and returns an ETag for it that no other put returns.
func (n *None) PutRequest(_ context.Context, r Request) (etag string, err error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.req, n.reqAt = &r, time.Now()
	n.reqN++
	return n.etag(), nil
}

// WithdrawRequest forgets the pending request if it is the one put with
// etag; false when it was taken or replaced.
func (n *None) WithdrawRequest(_ context.Context, etag string) (withdrawn bool, err error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.req == nil || etag != n.etag() {
		return false, nil
	}
	n.req = nil
	return true, nil
}

// TakeRequest returns the pending request, with Age measured by this
// process's monotonic clock since it was put, and forgets it; nil if none.
func (n *None) TakeRequest(context.Context) (*Request, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	r := n.req
	n.req = nil
	if r != nil {
		r.Age = time.Since(n.reqAt)
	}
	return r, nil
}

func (n *None) etag() string { return fmt.Sprintf("none-%d", n.reqN) }

// Info reports the in-memory state; LeaseState is "none".
func (n *None) Info(context.Context) (Info, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	leader := n.state.Leader
	if leader == "" {
		leader = n.instance
	}
	return Info{LeaseState: "none", Leader: leader, Epoch: n.state.Epoch, Desired: n.state.Desired}, nil
}

func cloneState(s State) State {
	if s.LastFailover != nil {
		s.LastFailover = append(json.RawMessage(nil), s.LastFailover...)
	}
	return s
}

func cloneHealth(h map[string]string) map[string]string {
	if h == nil {
		return nil
	}
	c := make(map[string]string, len(h))
	for k, v := range h {
		c[k] = v
	}
	return c
}
