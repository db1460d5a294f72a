package lease

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/container"

	"github.com/hanva/hanva/testenv/azurite"
	"github.com/hanva/hanva/testenv/blobsim"
)

// The contract suite: the tests that exercise storage run against both
// backends, as subtests "azurite" (Microsoft's emulator, a real process)
// and "blobsim" (testenv/blobsim, the in-memory twin the cluster
// simulation uses), so one suite proves the twin keeps Azurite's contract.
// A test body gets its storage from sharedContainer (or stoppableStorage),
// which serve the backend its subtest runs on.
//
// Where the two could disagree, Microsoft's documentation decides, and
// blobsim follows it; the deviations of Azurite 3.37.0 that blobsim knows of
// are noted in testenv/blobsim (lease.go, blob.go). None of them changes
// what these tests see: the lease code treats any 409 to a lease operation
// and any 412 to a write alike.

// simBackend is the blobsim backend of one subtest.
type simBackend struct {
	srv *blobsim.Server
	// skew is added to the bubble's clock to make storage's clock: a
	// storage clock that disagrees with every monitor's.
	mu   sync.Mutex
	skew time.Duration
}

func (s *simBackend) now() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return time.Now().Add(s.skew)
}

// jump moves storage's clock by d (and only storage's).
func (s *simBackend) jump(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.skew += d
}

// sims maps the *testing.T of a blobsim subtest to its backend.
var sims sync.Map

// simOf returns the blobsim backend t runs on, or nil on Azurite.
func simOf(t *testing.T) *simBackend {
	if s, ok := sims.Load(t); ok {
		return s.(*simBackend)
	}
	return nil
}

// onEveryBackend runs f as subtest "azurite", then as subtest "blobsim"
// inside a testing/synctest bubble: virtual time, so the blobsim run takes
// milliseconds, and it proves lease.Blob, azblob and the twin work under
// synctest as the cluster simulation runs them. f must not call t.Run
// (synctest forbids it); use onEveryBackendRealTime for such tests.
func onEveryBackend(t *testing.T, f func(t *testing.T)) {
	t.Run("azurite", f)
	t.Run("blobsim", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			withSim(t, f)
		})
	})
}

// onEveryBackendRealTime is onEveryBackend with blobsim on the real clock,
// for tests with subtests.
func onEveryBackendRealTime(t *testing.T, f func(t *testing.T)) {
	t.Run("azurite", f)
	t.Run("blobsim", func(t *testing.T) { withSim(t, f) })
}

func withSim(t *testing.T, f func(t *testing.T)) {
	s := &simBackend{}
	s.srv = blobsim.New(blobsim.Options{Now: s.now})
	sims.Store(t, s)
	t.Cleanup(func() { sims.Delete(t) })
	f(t)
}

// simContainer creates a container in s and returns its client: no
// credential, retries like the monitor's (blobsim's defaults).
func simContainer(t *testing.T, s *simBackend) *container.Client {
	t.Helper()
	name := fmt.Sprintf("lease-%d", containers.Add(1))
	c, err := blobsim.NewContainerClient(s.srv, "https://simstore.blob.core.windows.net/"+name, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Create(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	return c
}

// storage is a storage service a test can take down and bring back.
type storage interface {
	Stop() error
	Restart() error
}

// stoppableStorage returns a container on a storage service of the test's
// own (not the shared Azurite, which other tests use) and the service:
// on Azurite, a process stopped and restarted on the same port with the
// same data; on blobsim, SetDown (every request answered 503 ServerBusy).
func stoppableStorage(t *testing.T) (*container.Client, storage) {
	t.Helper()
	if s := simOf(t); s != nil {
		return simContainer(t, s), simOutage{s.srv}
	}
	az := azurite.StartT(t)
	return containerOn(t, az, "hanva"), az
}

type simOutage struct{ srv *blobsim.Server }

func (o simOutage) Stop() error    { o.srv.SetDown(true); return nil }
func (o simOutage) Restart() error { o.srv.SetDown(false); return nil }

// TestViewsCarryTheirAgeByStoragesClock: a view's Age is Date −
// Last-Modified of the download, so neither the publisher's nor the
// reader's wall clock takes part.
func TestViewsCarryTheirAgeByStoragesClock(t *testing.T) {
	onEveryBackend(t, func(t *testing.T) {
		c := sharedContainer(t)
		sim := simOf(t)
		if sim != nil {
			// Storage's clock 20 s behind the monitors': a comparison
			// with At would call the view 20 s old at once.
			sim.jump(-20 * time.Second)
		}
		pub, reader := newMember(t, c, "mon-a"), newMember(t, c, "mon-b")
		ctx := ctxT(t)
		if err := pub.PublishView(ctx, View{At: time.Now(), Active: "fw-a"}); err != nil {
			t.Fatal(err)
		}
		views, err := reader.Views(ctx)
		if err != nil || len(views) != 1 {
			t.Fatalf("Views() = %+v, %v; want one view", views, err)
		}
		// Whole-second headers: right after publishing the age is 0s, or 1s
		// when a second boundary fell in between (Azurite runs in real
		// time; allow a slow machine one more second).
		if age := views[0].Age; age < 0 || age > 2*time.Second {
			t.Fatalf("Age right after publishing = %s, want 0..2s", age)
		}
		if sim == nil {
			return // Azurite's clock is the real one: nothing to advance
		}
		if views[0].Age != 0 {
			t.Fatalf("Age in a bubble right after publishing = %s, want exactly 0", views[0].Age)
		}
		// Storage's clock moves on 30 s (the monitors' too: it is the
		// bubble's clock plus the skew).
		time.Sleep(30 * time.Second)
		if views, err = reader.Views(ctx); err != nil || len(views) != 1 || views[0].Age != 30*time.Second {
			t.Fatalf("Views() 30s later = %+v, %v; want Age 30s", views, err)
		}
		// Only storage's clock jumps: the age follows storage.
		sim.jump(7 * time.Second)
		if views, err = reader.Views(ctx); err != nil || len(views) != 1 || views[0].Age != 37*time.Second {
			t.Fatalf("Views() after storage's clock jumped 7s = %+v, %v; want Age 37s", views, err)
		}
		// Publishing again makes it fresh.
		if err := pub.PublishView(ctx, View{At: time.Now(), Active: "fw-a"}); err != nil {
			t.Fatal(err)
		}
		if views, err = reader.Views(ctx); err != nil || len(views) != 1 || views[0].Age != 0 {
			t.Fatalf("Views() after publishing again = %+v, %v; want Age 0", views, err)
		}
	})
}
