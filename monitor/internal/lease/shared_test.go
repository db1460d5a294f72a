package lease

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/streaming"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/lease"
)

// sharedAPI is what Blob and None both offer; the contract suite below runs
// against both.
type sharedAPI interface {
	Check() error
	ReadState(ctx context.Context) (State, error)
	WriteState(ctx context.Context, s State) error
	PublishView(ctx context.Context, v View) error
	Views(ctx context.Context) ([]View, error)
	PutRequest(ctx context.Context, r Request) (string, error)
	WithdrawRequest(ctx context.Context, etag string) (bool, error)
	TakeRequest(ctx context.Context) (*Request, error)
	Info(ctx context.Context) (Info, error)
}

var (
	_ sharedAPI = (*Blob)(nil)
	_ sharedAPI = (*None)(nil)
)

// testSharedContract checks the behaviour Blob (as the leader) and None
// share. instance is the leader's name.
func testSharedContract(t *testing.T, l sharedAPI, instance string) {
	ctx := ctxT(t)
	t.Run("the state is zero before anyone wrote it", func(t *testing.T) {
		s, err := l.ReadState(ctx)
		if err != nil || !reflect.DeepEqual(s, State{}) {
			t.Fatalf("ReadState() = %+v, %v; want zero State", s, err)
		}
	})
	t.Run("the leader passes Check", func(t *testing.T) {
		if err := l.Check(); err != nil {
			t.Fatalf("Check() = %v", err)
		}
	})
	t.Run("a written state reads back equal", func(t *testing.T) {
		want := State{
			Leader:       instance,
			Epoch:        7,
			Desired:      "fw-b",
			LastFailover: json.RawMessage(`{"from":"fw-a","to":"fw-b","reason":"down"}`),
			UpdatedAt:    time.Date(2026, 11, 22, 1, 2, 3, 456000000, time.UTC),
		}
		if err := l.WriteState(ctx, want); err != nil {
			t.Fatalf("WriteState() = %v", err)
		}
		got, err := l.ReadState(ctx)
		if err != nil {
			t.Fatal(err)
		}
		// Age comes from whole-second HTTP dates (Date minus
		// Last-Modified): a write at x.999 s read at x+1.001 s is 1 s old.
		if got.Age < 0 || got.Age > time.Second {
			t.Errorf("ReadState().Age = %s, want 0 or 1 s (just written)", got.Age)
		}
		got.Age = 0
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("ReadState() = %+v, want %+v", got, want)
		}
		info, err := l.Info(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if info.Leader != instance || info.Epoch != 7 || info.Desired != "fw-b" {
			t.Fatalf("Info() = %+v, want leader %s, epoch 7, desired fw-b", info, instance)
		}
	})
	t.Run("a published view is listed with this instance's name", func(t *testing.T) {
		v := View{Instance: "someone-else", At: time.Date(2026, 11, 22, 1, 0, 0, 0, time.UTC), Active: "fw-a",
			Health: map[string]string{"fw-a": "down", "fw-b": "up"}, Leader: true, Epoch: 7}
		if err := l.PublishView(ctx, v); err != nil {
			t.Fatalf("PublishView() = %v", err)
		}
		views, err := l.Views(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for i := range views {
			views[i].Age = 0 // measured, not stored: TestViewsCarryTheirAgeByStoragesClock checks it
		}
		v.Instance = instance
		if len(views) != 1 || !reflect.DeepEqual(views[0], v) {
			t.Fatalf("Views() = %+v, want [%+v]", views, v)
		}
	})
	t.Run("a request is taken once", func(t *testing.T) {
		if r, err := l.TakeRequest(ctx); r != nil || err != nil {
			t.Fatalf("TakeRequest() with none pending = %+v, %v; want nil, nil", r, err)
		}
		want := Request{ID: "req-1", To: "fw-b", By: "alice@host", Force: true, At: time.Date(2026, 11, 22, 1, 0, 0, 0, time.UTC), TTL: time.Minute}
		if _, err := l.PutRequest(ctx, want); err != nil {
			t.Fatalf("PutRequest() = %v", err)
		}
		got, err := l.TakeRequest(ctx)
		if got != nil {
			got.Age = 0 // measured, not stored: request_test.go checks it
		}
		if err != nil || got == nil || *got != want {
			t.Fatalf("TakeRequest() = %+v, %v; want %+v", got, err, want)
		}
		if r, err := l.TakeRequest(ctx); r != nil || err != nil {
			t.Fatalf("second TakeRequest() = %+v, %v; want nil, nil", r, err)
		}
	})
	t.Run("a newer request replaces one not yet taken", func(t *testing.T) {
		for _, to := range []string{"fw-a", "fw-b"} {
			if _, err := l.PutRequest(ctx, Request{ID: "to-" + to, To: to}); err != nil {
				t.Fatal(err)
			}
		}
		got, err := l.TakeRequest(ctx)
		if err != nil || got == nil || got.ID != "to-fw-b" {
			t.Fatalf("TakeRequest() = %+v, %v; want the newer request to-fw-b", got, err)
		}
	})
}

func TestBlobLeaderKeepsTheSharedContract(t *testing.T) {
	onEveryBackendRealTime(t, blobLeaderKeepsTheSharedContract)
}

func blobLeaderKeepsTheSharedContract(t *testing.T) {
	m := newMember(t, sharedContainer(t), "mon-a")
	m.start()
	m.expectEdge(t, true)
	testSharedContract(t, m.Blob, "mon-a")
}

func TestNoneKeepsTheSharedContract(t *testing.T) {
	testSharedContract(t, NewNone("solo"), "solo")
}

func TestStateIsWrittenOnlyWithTheLease(t *testing.T) {
	onEveryBackendRealTime(t, stateIsWrittenOnlyWithTheLease)
}

func stateIsWrittenOnlyWithTheLease(t *testing.T) {
	c := sharedContainer(t)
	a, b := newMember(t, c, "mon-a"), newMember(t, c, "mon-b")
	idle := newMember(t, c, "cli") // never campaigns
	a.start()
	b.start()
	leader, others := leaderOf(t, a, b)
	follower := others[0]
	ctx := ctxT(t)

	written := State{Leader: leader.o.Instance, Epoch: 1, Desired: "fw-a", UpdatedAt: time.Now().UTC()}
	if err := leader.WriteState(ctx, written); err != nil {
		t.Fatalf("leader WriteState() = %v", err)
	}

	for _, tc := range []struct {
		name string
		m    *member
	}{
		{"a running follower", follower},
		{"a monitor that never campaigned", idle},
	} {
		t.Run(tc.name+" gets ErrNotLeader", func(t *testing.T) {
			err := tc.m.WriteState(ctx, State{Leader: tc.m.o.Instance, Epoch: 99})
			if !errors.Is(err, ErrNotLeader) {
				t.Fatalf("WriteState() = %v, want ErrNotLeader", err)
			}
			if _, err := tc.m.TakeRequest(ctx); !errors.Is(err, ErrNotLeader) {
				t.Fatalf("TakeRequest() = %v, want ErrNotLeader", err)
			}
		})
	}
	t.Run("storage refuses a write without the lease ID", func(t *testing.T) {
		_, err := c.NewBlockBlobClient(testBlob).Upload(ctx, streaming.NopCloser(bytes.NewReader([]byte(`{"epoch":99}`))), nil)
		if !isCode(err, 412, "LeaseIdMissing") {
			t.Fatalf("upload without lease ID = %v, want 412 LeaseIdMissing", err)
		}
	})
	t.Run("everyone reads what the leader wrote", func(t *testing.T) {
		for _, m := range []*member{follower, idle} {
			got, err := m.ReadState(ctx)
			if err != nil || !reflect.DeepEqual(got, written) {
				t.Fatalf("%s ReadState() = %+v, %v; want %+v", m.o.Instance, got, err, written)
			}
		}
	})
	t.Run("status shows the lease held", func(t *testing.T) {
		info, err := idle.Info(ctx)
		if err != nil {
			t.Fatal(err)
		}
		want := Info{LeaseState: "leased", LeaseStatus: "locked", Leader: leader.o.Instance, Epoch: 1, Desired: "fw-a"}
		if info != want {
			t.Fatalf("Info() = %+v, want %+v", info, want)
		}
	})
}

func TestAWriteRefusedByStorageEndsLeadershipAtOnce(t *testing.T) {
	onEveryBackend(t, aWriteRefusedByStorageEndsLeadershipAtOnce)
}

func aWriteRefusedByStorageEndsLeadershipAtOnce(t *testing.T) {
	c := sharedContainer(t)
	m := newMember(t, c, "mon-a")
	m.start()
	m.expectEdge(t, true)
	ctx := ctxT(t)

	// Someone breaks the lease: storage refuses our lease ID from now on,
	// while the renew loop has not noticed yet.
	breaker, err := lease.NewBlobClient(c.NewBlockBlobClient(testBlob), nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := breaker.BreakLease(ctx, &lease.BlobBreakOptions{BreakPeriod: ptr(int32(0))}); err != nil {
		t.Fatal(err)
	}
	// ... and takes it: otherwise the campaign loop, once the refused write
	// has ended its term, takes the broken lease back at once as a new term,
	// possibly before Check below runs (under synctest it often does).
	if _, err := breaker.AcquireLease(ctx, int32(testDuration/time.Second), nil); err != nil {
		t.Fatal(err)
	}
	err = m.WriteState(ctx, State{Leader: "mon-a", Epoch: 2})
	if !errors.Is(err, ErrNotLeader) {
		t.Fatalf("WriteState() on a broken lease = %v, want ErrNotLeader", err)
	}
	if err := m.Check(); !errors.Is(err, ErrNotLeader) {
		t.Fatalf("Check() after the refused write = %v, want ErrNotLeader", err)
	}
	m.expectEdge(t, false)
	if s, err := m.ReadState(ctx); err != nil || s.Epoch == 2 {
		t.Fatalf("ReadState() = %+v, %v: the refused state must not be stored", s, err)
	}
}

func TestReadStateOfAMissingBlobIsZeroAndInfoSaysNoLease(t *testing.T) {
	onEveryBackend(t, readStateOfAMissingBlobIsZeroAndInfoSaysNoLease)
}

func readStateOfAMissingBlobIsZeroAndInfoSaysNoLease(t *testing.T) {
	m := newMember(t, sharedContainer(t), "cli")
	ctx := ctxT(t)
	if s, err := m.ReadState(ctx); err != nil || !reflect.DeepEqual(s, State{}) {
		t.Fatalf("ReadState() = %+v, %v; want zero", s, err)
	}
	if info, err := m.Info(ctx); err != nil || info != (Info{}) {
		t.Fatalf("Info() = %+v, %v; want zero", info, err)
	}
}

func TestViewsListEveryMonitorAndSkipWhatIsNotAView(t *testing.T) {
	onEveryBackend(t, viewsListEveryMonitorAndSkipWhatIsNotAView)
}

func viewsListEveryMonitorAndSkipWhatIsNotAView(t *testing.T) {
	c := sharedContainer(t)
	a, b := newMember(t, c, "mon-a"), newMember(t, c, "mon-b")
	ctx := ctxT(t)
	at := time.Date(2026, 11, 22, 1, 0, 0, 0, time.UTC)
	// Views need no lease: neither campaigns.
	for _, p := range []struct {
		m *member
		v View
	}{
		{b, View{At: at, Active: "fw-a", Health: map[string]string{"fw-a": "up"}}},
		{a, View{At: at, Active: "fw-a", Health: map[string]string{"fw-a": "down"}}},
		{a, View{At: at.Add(time.Second), Active: "fw-a", Health: map[string]string{"fw-a": "up"}, Leader: true, Epoch: 3}},
	} {
		if err := p.m.PublishView(ctx, p.v); err != nil {
			t.Fatalf("%s PublishView() = %v", p.m.o.Instance, err)
		}
	}
	junk := map[string]string{
		testBlob + ".views/broken.json":     "not json",
		testBlob + ".views/notes.txt":       `{"instance":"notes"}`,
		testBlob + ".views/sub/deeper.json": `{"instance":"deeper"}`,
	}
	for name, body := range junk {
		if _, err := c.NewBlockBlobClient(name).Upload(ctx, streaming.NopCloser(bytes.NewReader([]byte(body))), nil); err != nil {
			t.Fatal(err)
		}
	}
	want := []View{
		{Instance: "mon-a", At: at.Add(time.Second), Active: "fw-a", Health: map[string]string{"fw-a": "up"}, Leader: true, Epoch: 3},
		{Instance: "mon-b", At: at, Active: "fw-a", Health: map[string]string{"fw-a": "up"}},
	}
	for _, m := range []*member{a, b} {
		got, err := m.Views(ctx)
		if err != nil {
			t.Fatalf("%s Views() = %v", m.o.Instance, err)
		}
		for i := range got {
			got[i].Age = 0 // measured, not stored: TestViewsCarryTheirAgeByStoragesClock checks it
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("%s Views() = %+v, want %+v", m.o.Instance, got, want)
		}
	}
}

func TestARequestPutByTheCLIIsTakenByTheLeaderOnly(t *testing.T) {
	onEveryBackend(t, aRequestPutByTheCLIIsTakenByTheLeaderOnly)
}

func aRequestPutByTheCLIIsTakenByTheLeaderOnly(t *testing.T) {
	c := sharedContainer(t)
	a, b := newMember(t, c, "mon-a"), newMember(t, c, "mon-b")
	cli := newMember(t, c, "cli")
	a.start()
	b.start()
	leader, others := leaderOf(t, a, b)
	ctx := ctxT(t)

	want := Request{ID: "r1", To: "fw-b", By: "cli", At: time.Now().UTC().Truncate(time.Second)}
	if _, err := cli.PutRequest(ctx, want); err != nil {
		t.Fatalf("PutRequest() = %v", err)
	}
	if _, err := others[0].TakeRequest(ctx); !errors.Is(err, ErrNotLeader) {
		t.Fatalf("follower TakeRequest() = %v, want ErrNotLeader", err)
	}
	got, err := leader.TakeRequest(ctx)
	if got != nil {
		got.Age = 0 // measured, not stored: request_test.go checks it
	}
	if err != nil || got == nil || *got != want {
		t.Fatalf("leader TakeRequest() = %+v, %v; want %+v", got, err, want)
	}
	if _, err := c.NewBlockBlobClient(testBlob+".request.json").GetProperties(ctx, nil); !isCode(err, 404, "") {
		t.Fatalf("request blob after take: %v, want 404 (deleted)", err)
	}
	if got, err := leader.TakeRequest(ctx); got != nil || err != nil {
		t.Fatalf("second TakeRequest() = %+v, %v; want nil, nil", got, err)
	}
}
