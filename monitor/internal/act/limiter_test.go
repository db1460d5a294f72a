package act

import (
	"context"
	"io"
	"net/http"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeClock is a clock the test steps; AfterFunc callbacks run in Advance.
type fakeClock struct {
	mu     sync.Mutex
	now    time.Time
	timers []fakeTimer
}

type fakeTimer struct {
	at time.Time
	f  func()
}

func newFakeClock() *fakeClock { return &fakeClock{now: time.Date(2026, 12, 6, 10, 0, 0, 0, time.UTC)} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) AfterFunc(d time.Duration, f func()) {
	c.mu.Lock()
	c.timers = append(c.timers, fakeTimer{at: c.now.Add(d), f: f})
	c.mu.Unlock()
}

// Advance moves the clock by d, running every timer that falls due.
func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	end := c.now.Add(d)
	for {
		sort.Slice(c.timers, func(i, j int) bool { return c.timers[i].at.Before(c.timers[j].at) })
		if len(c.timers) == 0 || c.timers[0].at.After(end) {
			break
		}
		t := c.timers[0]
		c.timers = c.timers[1:]
		c.now = t.at
		c.mu.Unlock()
		t.f()
		c.mu.Lock()
	}
	c.now = end
	c.mu.Unlock()
}

// granted collects the order in which takes returned.
type granted struct {
	mu    sync.Mutex
	names []string
}

func (g *granted) add(n string) { g.mu.Lock(); g.names = append(g.names, n); g.mu.Unlock() }
func (g *granted) get() []string {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]string(nil), g.names...)
}

// waitFor polls cond (goroutines of the test settle, no timing asserted).
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// queued reports how many waiters the limiter holds.
func (l *limiter) queued() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for i := range l.queues {
		n += l.queues[i].Len()
	}
	return n
}

func TestLimiterGrantsTheBurstThenTheRefillRate(t *testing.T) {
	clk := newFakeClock()
	l := newLimiter(Limit{Burst: 5, PerSecond: 10}, clk) // reserve 1.25 (300 ms at 10/s is 3, capped at burst/4)
	ctx := context.Background()
	for i := range 3 {
		if err := l.take(ctx, prioNormal); err != nil {
			t.Fatalf("take %d of the burst: %v", i, err)
		}
	}
	var g granted
	go func() { _ = l.take(ctx, prioNormal); g.add("fifth") }()
	waitFor(t, "the fifth take to queue", func() bool { return l.queued() == 1 })
	clk.Advance(25 * time.Millisecond) // 2.25 tokens: 1 + the reserve of 1.25
	waitFor(t, "the fifth take to be granted", func() bool { return len(g.get()) == 1 })
}

func TestLimiterServesWaitersInOrderAndPollsLast(t *testing.T) {
	clk := newFakeClock()
	l := newLimiter(Limit{Burst: 2, PerSecond: 1}, clk) // reserve 0.3
	ctx := context.Background()
	if err := l.take(ctx, prioNormal); err != nil {
		t.Fatal(err)
	}
	var g granted
	var wg sync.WaitGroup
	for _, w := range []struct {
		name string
		prio int
	}{{"poll-1", prioPoll}, {"get-1", prioNormal}, {"poll-2", prioPoll}, {"get-2", prioNormal}, {"nic", prioFirst}} {
		n := l.queued()
		wg.Go(func() {
			if err := l.take(ctx, w.prio); err == nil {
				g.add(w.name)
			}
		})
		waitFor(t, w.name+" to queue", func() bool { return l.queued() == n+1 })
	}
	for i := range 5 {
		clk.Advance(time.Second)
		waitFor(t, "one more grant", func() bool { return len(g.get()) == i+1 })
	}
	wg.Wait()
	want := []string{"nic", "get-1", "get-2", "poll-1", "poll-2"}
	if got := g.get(); !slices.Equal(got, want) {
		t.Errorf("granted %v, want %v", got, want)
	}
}

func TestLimiterHeldByA429UntilRetryAfter(t *testing.T) {
	clk := newFakeClock()
	l := newLimiter(Limit{Burst: 100, PerSecond: 100}, clk)
	l.throttled(clk.Now().Add(3 * time.Second))
	if l.level() != 0 {
		t.Errorf("level after a 429 = %v, want 0", l.level())
	}
	var g granted
	go func() { _ = l.take(context.Background(), prioFirst); g.add("x") }()
	waitFor(t, "the take to queue", func() bool { return l.queued() == 1 })
	clk.Advance(2900 * time.Millisecond)
	if len(g.get()) != 0 {
		t.Fatal("granted before Retry-After passed, though the refill had tokens")
	}
	clk.Advance(200 * time.Millisecond)
	waitFor(t, "the take after Retry-After", func() bool { return len(g.get()) == 1 })
}

func TestLimiterLearnsALowerLevelNeverAHigherOne(t *testing.T) {
	clk := newFakeClock()
	l := newLimiter(Limit{Burst: 200, PerSecond: 10}, clk)
	l.lower(50)
	if got := l.level(); got != 50 {
		t.Errorf("level after a header saying 50 = %v", got)
	}
	l.lower(120)
	if got := l.level(); got != 50 {
		t.Errorf("level after a header saying 120 = %v, want 50: headers never raise it", got)
	}
	clk.Advance(time.Second)
	if got := l.level(); got != 60 {
		t.Errorf("level a second later = %v, want 60 (refill 10/s)", got)
	}
}

func TestLimiterGivesUpWithTheContextAndKeepsTheToken(t *testing.T) {
	clk := newFakeClock()
	l := newLimiter(Limit{Burst: 2, PerSecond: 1}, clk)
	ctx := context.Background()
	if err := l.take(ctx, prioNormal); err != nil {
		t.Fatal(err)
	}
	cctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- l.take(cctx, prioNormal) }()
	waitFor(t, "the take to queue", func() bool { return l.queued() == 1 })
	cancel()
	if err := <-done; err == nil {
		t.Fatal("take returned nil after its context ended")
	}
	if l.queued() != 0 {
		t.Error("a waiter whose context ended is still queued")
	}
}

func TestShaperLearnsFromHeadersAndHoldsOn429(t *testing.T) {
	clk := newFakeClock()
	s := &subscription{}
	s.limits[kindRead] = newLimiter(Limit{Burst: 250, PerSecond: 25}, clk)
	s.limits[kindWrite] = newLimiter(Limit{Burst: 200, PerSecond: 10}, clk)
	resp := func(method string, status int, h http.Header, body string) *http.Response {
		req, _ := http.NewRequest(method, "https://management.azure.com/subscriptions/s/x", nil)
		return &http.Response{StatusCode: status, Header: h, Request: req, Body: http.NoBody}
	}
	s.learn(resp("GET", 200, http.Header{
		"X-Ms-Ratelimit-Remaining-Subscription-Reads":        {"120"},
		"X-Ms-Ratelimit-Remaining-Subscription-Global-Reads": {"3000"},
	}, ""))
	if got := s.limits[kindRead].level(); got != 120 {
		t.Errorf("read level = %v, want 120 from the header", got)
	}
	if got := s.limits[kindWrite].level(); got != 200 {
		t.Errorf("write level = %v, want 200: a read's headers say nothing of writes", got)
	}
	r := resp("PUT", 429, http.Header{"Retry-After": {"4"}, "Content-Type": {"application/json"}}, "")
	r.Body = bodyOf(`{"error":{"code":"SubscriptionRequestsThrottled","message":"x"}}`)
	if !s.learn(r) {
		t.Error("a 429 SubscriptionRequestsThrottled was not counted as throttling")
	}
	if got := s.limits[kindWrite].heldUntil().Sub(clk.Now()); got != 4*time.Second {
		t.Errorf("writes held %v, want Retry-After 4s", got)
	}
	if !s.limits[kindRead].heldUntil().IsZero() {
		t.Error("a write's 429 held the reads")
	}
	r = resp("PUT", 429, http.Header{"Retry-After": {"4"}}, "")
	r.Body = bodyOf(`{"error":{"code":"RetryableErrorDueToAnotherOperation","message":"x"}}`)
	before := s.limits[kindWrite].heldUntil()
	if s.learn(r) {
		t.Error("a lock conflict (429 RetryableErrorDueToAnotherOperation) counted as throttling")
	}
	if s.limits[kindWrite].heldUntil() != before {
		t.Error("a lock conflict held the writes")
	}
}

func bodyOf(s string) io.ReadCloser { return io.NopCloser(strings.NewReader(s)) }
