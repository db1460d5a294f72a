package clock

import (
	"runtime"
	"strings"
	"testing"
	"time"
)

func TestBootNeverGoesBackwards(t *testing.T) {
	prev := Boot()
	for i := 0; i < 100000; i++ {
		now := Boot()
		if now.Before(prev) {
			t.Fatalf("reading %d: Boot() = %v, before the previous reading %v", i, now, prev)
		}
		prev = now
	}
}

func TestBootAdvancesWithRealTime(t *testing.T) {
	const d = 50 * time.Millisecond
	start, mono := Boot(), time.Now()
	time.Sleep(d)
	got, want := Boot().Sub(start), time.Since(mono)
	if got < d {
		t.Errorf("Boot advanced %s over a %s sleep, want at least %s", got, d, d)
	}
	// The two clocks differ only by a suspend during the sleep and the time
	// between the two readings at each end (generous for a loaded machine).
	if diff := (got - want).Abs(); diff > 500*time.Millisecond {
		t.Errorf("Boot advanced %s while Go's monotonic clock advanced %s", got, want)
	}
}

func TestBootReadingsLookLikeTheWallClockWithoutAMonotonicReading(t *testing.T) {
	now := Boot()
	if runtime.GOOS != "linux" {
		t.Skip("Boot is time.Now outside Linux")
	}
	if strings.Contains(now.String(), "m=") {
		t.Errorf("Boot() = %s, want no monotonic reading", now)
	}
	if !now.Equal(now.Round(0)) {
		t.Errorf("Boot() = %s differs from itself without a monotonic reading", now)
	}
	// Close to the wall clock: it started from it moments ago (a suspend or
	// an NTP step during the test would widen the gap).
	if gap := time.Since(now).Abs(); gap > time.Minute {
		t.Errorf("Boot() = %s is %s away from the wall clock", now, gap)
	}
}

func TestAReadingComparesCorrectlyWithADeadlineMadeFromIt(t *testing.T) {
	const d = 100 * time.Millisecond
	deadline := Boot().Add(d)
	if now := Boot(); !now.Before(deadline) {
		t.Fatalf("right after setting the deadline: Boot() = %v, not before the deadline %v", now, deadline)
	}
	if left := deadline.Sub(Boot()); left <= 0 || left > d {
		t.Errorf("time left = %s, want in (0, %s]", left, d)
	}
	time.Sleep(d + 20*time.Millisecond)
	if now := Boot(); now.Before(deadline) {
		t.Errorf("after sleeping past it: Boot() = %v, still before the deadline %v", now, deadline)
	}
	if left := deadline.Sub(Boot()); left >= 0 {
		t.Errorf("time left after the deadline = %s, want negative", left)
	}
}
