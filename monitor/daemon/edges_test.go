package daemon_test

import (
	"context"
	"sort"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/hanva/hanva/monitor/internal/lease"
	"github.com/hanva/hanva/monitor/internal/report"
)

// lateEdgeLeader holds the lease for good (Term 1, Check and Remaining
// succeed) but, when told, delivers a "lost" edge after the "acquired" one,
// as a lease whose edge of an earlier loss arrives late. Its shared state,
// views and requests are in memory.
type lateEdgeLeader struct {
	edges     chan bool // unbuffered: a send returns once the daemon took the edge
	late      chan struct{}
	delivered chan struct{}

	mu       sync.Mutex
	state    lease.State
	views    map[string]lease.View
	resigned bool
}

func newLateEdgeLeader() *lateEdgeLeader {
	return &lateEdgeLeader{edges: make(chan bool), late: make(chan struct{}), delivered: make(chan struct{}),
		views: map[string]lease.View{}}
}

func (l *lateEdgeLeader) Run(ctx context.Context) error {
	send := func(v bool) bool {
		select {
		case l.edges <- v:
			return true
		case <-ctx.Done():
			return false
		}
	}
	if !send(true) {
		return ctx.Err()
	}
	select {
	case <-l.late:
		if send(false) {
			close(l.delivered)
		}
	case <-ctx.Done():
	}
	<-ctx.Done()
	return ctx.Err()
}

func (l *lateEdgeLeader) Check() error                      { return nil }
func (l *lateEdgeLeader) Term() uint64                      { return 1 }
func (l *lateEdgeLeader) Remaining() (time.Duration, error) { return time.Hour, nil }
func (l *lateEdgeLeader) Leadership() <-chan bool           { return l.edges }

func (l *lateEdgeLeader) Resign() {
	l.mu.Lock()
	l.resigned = true
	l.mu.Unlock()
}

func (l *lateEdgeLeader) ReadState(context.Context) (lease.State, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.state, nil
}

func (l *lateEdgeLeader) WriteState(_ context.Context, s lease.State) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.state = s
	return nil
}

func (l *lateEdgeLeader) PublishView(_ context.Context, v lease.View) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.views[v.Instance] = v
	return nil
}

func (l *lateEdgeLeader) Views(context.Context) ([]lease.View, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []lease.View
	for _, v := range l.views {
		out = append(out, v)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Instance < out[j].Instance })
	return out, nil
}

func (l *lateEdgeLeader) TakeRequest(context.Context) (*lease.Request, error) { return nil, nil }

// Defect 3: a "lost" edge that arrived after the "acquired" one ended a
// term the lease still held: the monitor stopped leading (and failing
// over) while no one else could lead. Term is the truth; an edge is a hint.
func TestALateLostEdgeDoesNotEndATermTheLeaseStillHolds(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := newWorld(t, spec{monitors: 2})
		defer w.close()
		l := newLateEdgeLeader()
		m := w.startWith("monitor-1", l)

		w.leaderElected(30 * time.Second)
		w.waitFor(30*time.Second, "the takeover stamp", func() bool { return w.epochTag(routeTableID(0)) == "1" })
		close(l.late)
		select {
		case <-l.delivered:
		case <-time.After(time.Minute):
			t.Fatal("the daemon did not take the late lost edge within a minute")
		}
		time.Sleep(10 * time.Second)
		if es := m.book.events(report.EventLeaderLost); len(es) > 0 {
			t.Fatalf("a late lost edge ended the term: %s", es[0])
		}

		w.setDown("nva-1", true)
		w.waitFor(30*time.Second, "failover to nva-2 after nva-1 went down", func() bool {
			return len(m.book.eventsWith(report.EventFailoverCompleted, report.KeyTo, "nva-2")) > 0 && w.azureAt() == "nva-2"
		})
		if es := m.book.events(report.EventLeaderLost); len(es) > 0 {
			t.Errorf("leader_lost after the late edge: %s", es[0])
		}
		if es := m.book.events(report.EventLeaderElected); len(es) != 1 {
			t.Errorf("leader_elected %d times, want once (one term)", len(es))
		}
		st, _ := l.ReadState(context.Background())
		if st.Desired != "nva-2" || st.Epoch != 2 {
			t.Errorf("shared state: desired %q epoch %d, want nva-2 2", st.Desired, st.Epoch)
		}
		l.mu.Lock()
		resigned := l.resigned
		l.mu.Unlock()
		if resigned {
			t.Error("the daemon resigned a lease it held")
		}
	})
}
