package clock

import (
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// CLOCK_BOOTTIME is CLOCK_MONOTONIC plus the time suspended, so it is never
// behind it (read after it).
func TestBoottimeIsNeverBehindTheMonotonicClock(t *testing.T) {
	var mono unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_MONOTONIC, &mono); err != nil {
		t.Fatal(err)
	}
	boot, ok := boottime()
	if !ok {
		t.Fatal("CLOCK_BOOTTIME is not readable")
	}
	if m := time.Duration(mono.Nano()); boot < m {
		t.Errorf("CLOCK_BOOTTIME %s is behind CLOCK_MONOTONIC %s", boot, m)
	}
}
