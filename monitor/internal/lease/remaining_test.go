package lease

import (
	"errors"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/container"
)

func newUnrunBlob(t *testing.T, now func() time.Time) *Blob {
	t.Helper()
	c, err := container.NewClientWithNoCredential("http://127.0.0.1:1/devstoreaccount1/hanva", nil)
	if err != nil {
		t.Fatal(err)
	}
	b, err := NewBlob(BlobOptions{Container: c, Blob: "leader", Instance: "mon-a", Duration: 15 * time.Second, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestRemainingIsCheckPlusTheTimeLeftByTheLeasesClock(t *testing.T) {
	clk := &clock{}
	b := newUnrunBlob(t, clk.Now)
	if left, err := b.Remaining(); left != 0 || !errors.Is(err, ErrNotLeader) {
		t.Fatalf("before any acquire: Remaining() = %s, %v; want 0, ErrNotLeader", left, err)
	}
	// As the acquire path sets it: request start + Duration - Margin.
	b.mu.Lock()
	b.held, b.start, b.deadline = true, clk.Now(), clk.Now().Add(12*time.Second)
	b.mu.Unlock()
	for _, tc := range []struct {
		name         string
		jump         time.Duration
		min, max     time.Duration // of the time left; generous, the clock also runs
		stillLeading bool
	}{
		{"just after the acquire nearly 12s are left", 0, 6 * time.Second, 12 * time.Second, true},
		{"10s later under 2s are left", 10 * time.Second, time.Nanosecond, 2 * time.Second, true},
		{"past the deadline nothing is left", 2 * time.Second, 0, 0, false},
	} {
		clk.Jump(tc.jump)
		left, err := b.Remaining()
		if tc.stillLeading != (err == nil) || (err != nil && !errors.Is(err, ErrNotLeader)) {
			t.Fatalf("%s: Remaining() error = %v", tc.name, err)
		}
		if left < tc.min || left > tc.max {
			t.Errorf("%s: Remaining() = %s, want within [%s, %s]", tc.name, left, tc.min, tc.max)
		}
		if cerr := b.Check(); (cerr == nil) != (err == nil) {
			t.Errorf("%s: Check() = %v disagrees with Remaining() = %v", tc.name, cerr, err)
		}
	}
}

func TestTheDefaultClockKeepsCountingThroughASuspend(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("clock.Boot is time.Now outside Linux")
	}
	b := newUnrunBlob(t, nil)
	// clock.Boot's readings carry no monotonic reading (Go's monotonic
	// clock stops during a suspend); time.Now's do.
	if now := b.now(); strings.Contains(now.String(), "m=") {
		t.Errorf("the default clock read %s, a time.Now reading; want clock.Boot", now)
	}
}

// TestAWallClockAheadOfTheLeaseClockShortensRemaining: should the lease
// clock stand still through a freeze (a host whose CLOCK_BOOTTIME does not
// count it), the wall clock, stepped forward by the host's time sync, still
// shows the time that passed; the difference is taken off the time left, so
// a leader thawing past its true deadline does not write. A renew anchors
// both clocks again.
func TestAWallClockAheadOfTheLeaseClockShortensRemaining(t *testing.T) {
	leaseClk, wallClk := &clock{}, &clock{}
	c, err := container.NewClientWithNoCredential("http://127.0.0.1:1/devstoreaccount1/hanva", nil)
	if err != nil {
		t.Fatal(err)
	}
	b, err := NewBlob(BlobOptions{Container: c, Blob: "leader", Instance: "mon-a", Duration: 15 * time.Second,
		Now: leaseClk.Now, Wall: wallClk.Now})
	if err != nil {
		t.Fatal(err)
	}
	anchor := func() {
		b.mu.Lock()
		b.held, b.start, b.deadline = true, leaseClk.Now(), leaseClk.Now().Add(12*time.Second)
		b.anchor, b.anchorWall = leaseClk.Now(), wallClk.Now()
		b.mu.Unlock()
	}
	anchor()
	if left, err := b.Remaining(); err != nil || left < 6*time.Second {
		t.Fatalf("just after the acquire: Remaining() = %s, %v", left, err)
	}
	// Frozen for 10 s: the wall clock moves, the lease clock does not.
	wallClk.Jump(10 * time.Second)
	if left, err := b.Remaining(); err != nil || left > 2*time.Second {
		t.Fatalf("10 s of freeze the lease clock missed: Remaining() = %s, %v; want under 2 s left", left, err)
	}
	wallClk.Jump(5 * time.Second)
	left, err := b.Remaining()
	if !errors.Is(err, ErrNotLeader) || left != 0 || !strings.Contains(err.Error(), "wall clock") {
		t.Fatalf("15 s of freeze: Remaining() = %s, %v; want 0 and ErrNotLeader naming the wall clock", left, err)
	}
	if b.Check() == nil {
		t.Error("Check passes while Remaining refuses")
	}
	// A wall clock behind the lease clock (stepped back) changes nothing.
	anchor()
	wallClk.Jump(-time.Hour)
	if left, err := b.Remaining(); err != nil || left < 6*time.Second {
		t.Fatalf("wall clock stepped back: Remaining() = %s, %v; want the lease clock's time left", left, err)
	}
}
