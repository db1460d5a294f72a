package clock

import (
	"sync"
	"time"
)

// origin is where Boot readings count from: the wall clock and CLOCK_BOOTTIME
// read together at the first call.
var origin struct {
	once sync.Once
	ok   bool          // CLOCK_BOOTTIME is readable; otherwise Boot is time.Now
	wall time.Time     // wall clock, no monotonic reading
	boot time.Duration // CLOCK_BOOTTIME
	mono time.Time     // time.Now with its monotonic reading, a last resort
}

// Boot returns the current time by a clock that keeps counting through a
// suspend or a VM freeze: the wall clock at the first call plus the
// CLOCK_BOOTTIME elapsed since, with no monotonic reading (see the package
// documentation). Readings never go backwards. Safe for concurrent use; its
// type is that of lease.BlobOptions.Now.
func Boot() time.Time {
	origin.once.Do(func() {
		origin.mono = time.Now()
		origin.wall = origin.mono.Round(0)
		origin.boot, origin.ok = boottime()
	})
	if !origin.ok {
		return time.Now()
	}
	now, ok := boottime()
	if !ok {
		// CLOCK_BOOTTIME worked at the first call and cannot fail later
		// (clock_gettime fails only for a bad clock or address); should it,
		// Go's monotonic clock since the origin is the next best.
		return origin.wall.Add(time.Since(origin.mono))
	}
	return origin.wall.Add(now - origin.boot)
}
