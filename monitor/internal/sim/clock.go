package sim

import (
	"sync"
	"time"
)

// clocks are one monitor's two clocks. The wall clock (views, status) is
// the bubble's time plus a skew that jumps; the lease clock measures the
// lease deadline: it keeps counting through a freeze when the daemon's
// clock counts through suspend (CLOCK_BOOTTIME), and stands still during
// one otherwise (CLOCK_MONOTONIC on a host whose monotonic clock stops).
type clocks struct {
	mu       sync.Mutex
	skew     time.Duration // wall = true time + skew
	lag      time.Duration // lease clock = true time - lag
	frozenAt time.Time     // while frozen with a stopping clock: the lease clock's reading at the freeze
}

func (c *clocks) wall() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.skew)
}

func (c *clocks) lease() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.frozenAt.IsZero() {
		return c.frozenAt
	}
	return time.Now().Add(-c.lag)
}

func (c *clocks) jump(d time.Duration) {
	c.mu.Lock()
	c.skew += d
	c.mu.Unlock()
}

// stop freezes the lease clock (a freeze that stops CLOCK_MONOTONIC).
func (c *clocks) stop() {
	c.mu.Lock()
	if c.frozenAt.IsZero() {
		c.frozenAt = time.Now().Add(-c.lag)
	}
	c.mu.Unlock()
}

// start lets the lease clock run again, behind true time by the freeze.
func (c *clocks) start() {
	c.mu.Lock()
	if !c.frozenAt.IsZero() {
		c.lag = time.Since(c.frozenAt)
		c.frozenAt = time.Time{}
	}
	c.mu.Unlock()
}
