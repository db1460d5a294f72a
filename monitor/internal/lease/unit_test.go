package lease

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/container"
)

func TestMarginIsTheLargerOfTwoSecondsAndAFifth(t *testing.T) {
	for _, tc := range []struct{ d, want time.Duration }{
		{15 * time.Second, 3 * time.Second},
		{30 * time.Second, 6 * time.Second},
		{60 * time.Second, 12 * time.Second},
		{5 * time.Second, 2 * time.Second}, // below Azure's range, for the formula
	} {
		if got := Margin(tc.d); got != tc.want {
			t.Errorf("Margin(%s) = %s, want %s", tc.d, got, tc.want)
		}
	}
}

func TestRequestsAreCutWellBeforeTheNextRenew(t *testing.T) {
	for d := MinDuration; d <= MaxDuration; d += time.Second {
		if rt := requestTimeout(d); rt <= 0 || rt >= d/3 || rt >= d-Margin(d) {
			t.Errorf("requestTimeout(%s) = %s, want under the renew period %s", d, rt, d/3)
		}
		// Renews at d/3 and 2d/3 both start before the deadline.
		if 2*d/3 >= d-Margin(d) {
			t.Errorf("duration %s: the second renew (%s) starts after the deadline (%s)", d, 2*d/3, d-Margin(d))
		}
	}
}

func TestNewBlobRefusesOptionsItCannotWorkWith(t *testing.T) {
	c, err := container.NewClientWithNoCredential("http://127.0.0.1:1/devstoreaccount1/hanva", nil)
	if err != nil {
		t.Fatal(err)
	}
	ok := BlobOptions{Container: c, Blob: "leader", Instance: "mon-a", Duration: 15 * time.Second}
	for _, tc := range []struct {
		name string
		mod  func(*BlobOptions)
		want string // "" = accepted
	}{
		{"complete options are accepted", func(*BlobOptions) {}, ""},
		{"a fraction of a second is dropped", func(o *BlobOptions) { o.Duration = 15500 * time.Millisecond }, ""},
		{"no container is refused", func(o *BlobOptions) { o.Container = nil }, "no container client"},
		{"no blob name is refused", func(o *BlobOptions) { o.Blob = "" }, "blob name"},
		{"a blob name ending in a slash is refused", func(o *BlobOptions) { o.Blob = "dir/" }, "blob name"},
		{"no instance is refused", func(o *BlobOptions) { o.Instance = "" }, "instance name"},
		{"an instance with a slash is refused", func(o *BlobOptions) { o.Instance = "a/b" }, "instance name"},
		{"a lease shorter than 15s is refused", func(o *BlobOptions) { o.Duration = 14 * time.Second }, "outside 15s..1m0s"},
		{"a lease longer than 60s is refused", func(o *BlobOptions) { o.Duration = 61 * time.Second }, "outside 15s..1m0s"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := ok
			tc.mod(&o)
			b, err := NewBlob(o)
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("NewBlob() = %v, want success", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("NewBlob() = %v, want an error containing %q", err, tc.want)
			case tc.want == "" && b.o.Duration != 15*time.Second:
				t.Fatalf("Duration = %s, want 15s", b.o.Duration)
			}
		})
	}
}

func TestAMonitorThatNeverRanIsNotTheLeader(t *testing.T) {
	c, err := container.NewClientWithNoCredential("http://127.0.0.1:1/devstoreaccount1/hanva", nil)
	if err != nil {
		t.Fatal(err)
	}
	b, err := NewBlob(BlobOptions{Container: c, Blob: "leader", Instance: "mon-a", Duration: 15 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Check(); !errors.Is(err, ErrNotLeader) {
		t.Errorf("Check() = %v, want ErrNotLeader", err)
	}
	if err := b.WriteState(context.Background(), State{}); !errors.Is(err, ErrNotLeader) {
		t.Errorf("WriteState() = %v, want ErrNotLeader (before any request)", err)
	}
	if !b.Deadline().IsZero() {
		t.Errorf("Deadline() = %v, want zero", b.Deadline())
	}
	b.Resign() // no lease to release; must not block or emit
	select {
	case v := <-b.Leadership():
		t.Errorf("Leadership edge %v after Resign of a non-leader", v)
	default:
	}
}

func TestCheckComparesTheClockWithTheDeadline(t *testing.T) {
	clk := &clock{}
	c, err := container.NewClientWithNoCredential("http://127.0.0.1:1/devstoreaccount1/hanva", nil)
	if err != nil {
		t.Fatal(err)
	}
	b, err := NewBlob(BlobOptions{Container: c, Blob: "leader", Instance: "mon-a", Duration: 15 * time.Second, Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	// As the acquire path sets it: request start + Duration - Margin.
	start := clk.Now()
	b.mu.Lock()
	b.held, b.start, b.deadline = true, start, start.Add(12*time.Second)
	b.mu.Unlock()
	for _, tc := range []struct {
		name   string
		jump   time.Duration
		leader bool
	}{
		{"just after the acquire it leads", 0, true},
		{"11.9s later it still leads", 11900 * time.Millisecond, true},
		{"at the deadline it does not", 100 * time.Millisecond, false},
		{"long past the deadline it does not", time.Hour, false},
	} {
		clk.Jump(tc.jump)
		if err := b.Check(); (err == nil) != tc.leader || (err != nil && !errors.Is(err, ErrNotLeader)) {
			t.Errorf("%s: Check() = %v", tc.name, err)
		}
	}
}

func TestLeadershipNeverBlocksAndTheLatestEdgeWins(t *testing.T) {
	b := &Blob{edges: make(chan bool, 1)}
	done := make(chan struct{})
	go func() {
		for i := 0; i < 1000; i++ {
			b.emit(i%2 == 0)
		}
		b.emit(false)
		b.emit(true)
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(wait):
		t.Fatal("emit blocked without a reader")
	}
	if v := <-b.Leadership(); !v {
		t.Fatalf("pending edge = %v, want the latest (true)", v)
	}
	select {
	case v := <-b.Leadership():
		t.Fatalf("second pending edge %v, want only the latest", v)
	default:
	}
}

// respErr builds the error azblob returns for a storage answer.
func respErr(status int, code string) error {
	u, _ := url.Parse("http://127.0.0.1:10000/devstoreaccount1/hanva/leader?comp=lease")
	h := http.Header{}
	if code != "" {
		h.Set("x-ms-error-code", code)
	}
	return fmt.Errorf("renew lease on leader: %w", runtime.NewResponseError(&http.Response{
		StatusCode: status, Header: h, Body: io.NopCloser(strings.NewReader("")),
		Request: &http.Request{Method: http.MethodPut, URL: u},
	}))
}

func TestStorageAnswersAreClassifiedByStatusAndCode(t *testing.T) {
	for _, tc := range []struct {
		err            error
		gone, heldElse bool
	}{
		{respErr(409, "LeaseAlreadyPresent"), true, true},
		{respErr(409, "LeaseIsBreakingAndCannotBeAcquired"), true, true},
		{respErr(409, "LeaseIdMismatchWithLeaseOperation"), true, false},
		{respErr(409, "LeaseNotPresentWithLeaseOperation"), true, false},
		{respErr(409, "LeaseIsBrokenAndCannotBeRenewed"), true, false},
		{respErr(412, "LeaseLost"), true, false},
		{respErr(412, "LeaseIdMismatchWithBlobOperation"), true, false},
		{respErr(412, "LeaseNotPresentWithBlobOperation"), true, false},
		{respErr(412, "LeaseIdMissing"), true, false},
		{respErr(404, "BlobNotFound"), true, false},
		{respErr(404, "ContainerNotFound"), false, false},
		{respErr(500, "InternalError"), false, false},
		{respErr(503, "ServerBusy"), false, false},
		{respErr(403, "AuthorizationPermissionMismatch"), false, false},
		{context.DeadlineExceeded, false, false},
		{errors.New("dial tcp 127.0.0.1:10000: connect: connection refused"), false, false},
	} {
		if got := leaseGone(tc.err); got != tc.gone {
			t.Errorf("leaseGone(%v) = %v, want %v", tc.err, got, tc.gone)
		}
		if got := heldByOther(tc.err); got != tc.heldElse {
			t.Errorf("heldByOther(%v) = %v, want %v", tc.err, got, tc.heldElse)
		}
	}
}

func TestNoneAlwaysLeads(t *testing.T) {
	n := NewNone("solo")
	select {
	case v := <-n.Leadership():
		if !v {
			t.Fatal("first edge false")
		}
	default:
		t.Fatal("no leadership edge before Run")
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- n.Run(ctx) }()
	n.Resign()
	if err := n.Check(); err != nil {
		t.Errorf("Check() after Resign = %v, want nil: a lone monitor always leads", err)
	}
	if !n.Deadline().IsZero() {
		t.Errorf("Deadline() = %v, want zero (none)", n.Deadline())
	}
	select {
	case v := <-n.Leadership():
		t.Errorf("unexpected edge %v", v)
	default:
	}
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("Run() = %v, want context.Canceled", err)
		}
	case <-time.After(wait):
		t.Fatal("Run did not return")
	}
}

func TestNoneKeepsItsOwnCopies(t *testing.T) {
	ctx := context.Background()
	n := NewNone("solo")
	if views, err := n.Views(ctx); err != nil || len(views) != 0 {
		t.Fatalf("Views() before publishing = %v, %v; want none", views, err)
	}
	health := map[string]string{"fw-a": "up"}
	if err := n.PublishView(ctx, View{Health: health}); err != nil {
		t.Fatal(err)
	}
	health["fw-a"] = "down"
	views, _ := n.Views(ctx)
	views[0].Health["fw-a"] = "unknown"
	views, _ = n.Views(ctx)
	if views[0].Health["fw-a"] != "up" || views[0].Instance != "solo" {
		t.Fatalf("Views() = %+v, want solo's own unchanged view", views)
	}
	raw := []byte(`{"to":"fw-b"}`)
	if err := n.WriteState(ctx, State{LastFailover: raw}); err != nil {
		t.Fatal(err)
	}
	raw[2] = 'X'
	if s, _ := n.ReadState(ctx); string(s.LastFailover) != `{"to":"fw-b"}` {
		t.Fatalf("LastFailover = %s, want the bytes as written", s.LastFailover)
	}
	if info, _ := n.Info(ctx); info.LeaseState != "none" || info.Leader != "solo" {
		t.Fatalf("Info() = %+v, want lease state none, leader solo", info)
	}
}
