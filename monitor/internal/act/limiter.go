package act

import (
	"container/list"
	"context"
	"math"
	"sync"
	"time"
)

// Azure Resource Manager's documented token buckets, per subscription,
// region and principal ("Regional throttling and token bucket algorithm",
// https://learn.microsoft.com/azure/azure-resource-manager/management/request-limits-and-throttling#regional-throttling-and-token-bucket-algorithm):
// reads 250 refilled 25 a second, writes 200 refilled 10 a second.
var (
	DefaultReadLimit  = Limit{Burst: 250, PerSecond: 25}
	DefaultWriteLimit = Limit{Burst: 200, PerSecond: 10}
)

// Limit is a token bucket: Burst tokens, refilled at PerSecond.
type Limit struct {
	Burst     float64
	PerSecond float64
}

// Request priorities: the limiter serves its FIFO queues in this order.
const (
	// prioFirst: the few writes and reads of the sequential moves (public
	// and floating IPs, backend pools, DNS records), which would otherwise
	// queue behind hundreds of route-table writes.
	prioFirst = iota
	// prioNormal: everything else, route tables included.
	prioNormal
	// prioPoll: LRO status polls, served after every read a converge still
	// needs, so hundreds of operations in flight never starve them.
	prioPoll
	nprio
)

// clock is the limiter's time: real, or a fake in tests.
type clock interface {
	Now() time.Time
	AfterFunc(d time.Duration, f func())
}

type realClock struct{}

func (realClock) Now() time.Time                      { return time.Now() }
func (realClock) AfterFunc(d time.Duration, f func()) { time.AfterFunc(d, f) }

// limiter is a client-side token bucket for one kind of request (reads or
// writes) of one subscription, with FIFO waiters per priority. Besides its
// own refill it learns from ARM: lower sets the level down to what the
// x-ms-ratelimit-remaining-* headers say is left (other clients of the same
// principal draw from the same server bucket), and throttle empties it and
// holds every request until a 429's Retry-After has passed ("If you send a
// request before the retry value elapses, your request isn't processed and
// a new retry value is returned", request-limits-and-throttling#error-code).
type limiter struct {
	clk     clock
	burst   float64
	rate    float64 // tokens a second
	reserve float64 // tokens never granted: see arrivalSpread

	mu       sync.Mutex
	tokens   float64
	last     time.Time // of the last refill
	hold     time.Time // nothing is granted before
	queues   [nprio]list.List
	wakeAt   time.Time // of the pending timer, zero if none
	wakeGen  int
	throttle int // 429s seen (tests, logs)
}

type waiter struct {
	ready   chan struct{}
	granted bool
}

func newLimiter(l Limit, clk clock) *limiter {
	if clk == nil {
		clk = realClock{}
	}
	return &limiter{clk: clk, burst: l.Burst, rate: l.PerSecond, tokens: l.Burst, last: clk.Now(),
		reserve: min(l.Burst/4, l.PerSecond*arrivalSpread.Seconds())}
}

// arrivalSpread is how much later than its token a request may reach ARM
// than another: when hundreds leave at once, some wait for a new TLS
// connection (100-200 ms measured against armsim on a loaded machine).
// ARM's bucket refills from when the requests arrive, ours from when they
// leave, so when both run dry ours would be that far ahead and the next
// request would meet a 429 (and hold everything for its Retry-After, a
// whole second at least). The limiter keeps the tokens of that spread in
// reserve: 3 writes, 7.5 reads at Azure's refill rates (at most a quarter
// of the burst, for the small buckets of tests).
const arrivalSpread = 300 * time.Millisecond

func (l *limiter) refillLocked(now time.Time) {
	if now.After(l.last) {
		l.tokens = math.Min(l.burst, l.tokens+now.Sub(l.last).Seconds()*l.rate)
		l.last = now
	}
}

// take waits, in FIFO order within its priority and after every waiter of
// a higher priority, for one token.
func (l *limiter) take(ctx context.Context, prio int) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	l.mu.Lock()
	w := &waiter{ready: make(chan struct{})}
	el := l.queues[prio].PushBack(w)
	l.dispatchLocked()
	l.mu.Unlock()
	select {
	case <-w.ready:
		return nil
	case <-ctx.Done():
		l.mu.Lock()
		if w.granted {
			// Granted as we gave up: the token was not used.
			l.tokens = math.Min(l.burst, l.tokens+1)
		} else {
			l.queues[prio].Remove(el)
		}
		l.dispatchLocked()
		l.mu.Unlock()
		return ctx.Err()
	}
}

// dispatchLocked grants tokens to the waiters at the heads of the queues,
// highest priority first, and arms a timer for when the next one can be.
func (l *limiter) dispatchLocked() {
	now := l.clk.Now()
	l.refillLocked(now)
	for {
		var q *list.List
		for i := range l.queues {
			if l.queues[i].Len() > 0 {
				q = &l.queues[i]
				break
			}
		}
		if q == nil {
			return
		}
		if now.Before(l.hold) {
			l.wakeLocked(l.hold.Sub(now))
			return
		}
		if need := 1 + l.reserve; l.tokens < need {
			if l.rate <= 0 {
				return
			}
			l.wakeLocked(time.Duration(math.Ceil((need - l.tokens) / l.rate * float64(time.Second))))
			return
		}
		l.tokens--
		w := q.Remove(q.Front()).(*waiter)
		w.granted = true
		close(w.ready)
	}
}

// wakeLocked makes sure dispatch runs again within d.
func (l *limiter) wakeLocked(d time.Duration) {
	at := l.clk.Now().Add(d)
	if !l.wakeAt.IsZero() && !l.wakeAt.After(at) {
		return
	}
	l.wakeAt = at
	l.wakeGen++
	gen := l.wakeGen
	l.clk.AfterFunc(d, func() {
		l.mu.Lock()
		if l.wakeGen == gen {
			l.wakeAt = time.Time{}
		}
		l.dispatchLocked()
		l.mu.Unlock()
	})
}

// lower brings the level down to remaining, what ARM says is left in its
// bucket; it never raises it.
func (l *limiter) lower(remaining float64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.refillLocked(l.clk.Now())
	if remaining < l.tokens {
		l.tokens = max(0, remaining)
	}
}

// throttled empties the bucket and holds every request until until.
func (l *limiter) throttled(until time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.refillLocked(l.clk.Now())
	l.tokens = 0
	l.throttle++
	if until.After(l.hold) {
		l.hold = until
	}
	l.dispatchLocked()
}

// level returns the tokens left now (tests).
func (l *limiter) level() float64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.refillLocked(l.clk.Now())
	return l.tokens
}

// heldUntil returns the end of the current 429 hold (tests).
func (l *limiter) heldUntil() time.Time {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.hold
}
