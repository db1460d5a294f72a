package lease

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/container"
)

// requestEnds are the two ends of a manual request: the CLI puts and
// withdraws, the leader takes. For Blob they are two instances on one
// container; for None one value.
type requestEnds struct {
	cli interface {
		PutRequest(ctx context.Context, r Request) (string, error)
		WithdrawRequest(ctx context.Context, etag string) (bool, error)
	}
	leader interface {
		TakeRequest(ctx context.Context) (*Request, error)
	}
}

func blobEnds(t *testing.T) requestEnds {
	c := sharedContainer(t)
	leader := newMember(t, c, "mon-a")
	leader.start()
	leader.expectEdge(t, true)
	return requestEnds{cli: newMember(t, c, "cli"), leader: leader}
}

func noneEnds(*testing.T) requestEnds {
	n := NewNone("solo")
	return requestEnds{cli: n, leader: n}
}

func TestWithdrawRequest(t *testing.T) {
	for _, backend := range []struct {
		name string
		ends func(*testing.T) requestEnds
	}{
		{"Blob", blobEnds},
		{"None", noneEnds},
	} {
		t.Run(backend.name, func(t *testing.T) {
			t.Run("a request withdrawn by its ETag is never taken", func(t *testing.T) {
				e, ctx := backend.ends(t), ctxT(t)
				etag := mustPut(t, e, Request{ID: "r1", To: "fw-b"})
				if ok, err := e.cli.WithdrawRequest(ctx, etag); !ok || err != nil {
					t.Fatalf("WithdrawRequest() = %v, %v; want true, nil", ok, err)
				}
				if r, err := e.leader.TakeRequest(ctx); r != nil || err != nil {
					t.Fatalf("TakeRequest() after the withdrawal = %+v, %v; want nil, nil", r, err)
				}
				if ok, err := e.cli.WithdrawRequest(ctx, etag); ok || err != nil {
					t.Fatalf("second WithdrawRequest() = %v, %v; want false, nil", ok, err)
				}
			})
			t.Run("a request the leader took is reported not withdrawn", func(t *testing.T) {
				e, ctx := backend.ends(t), ctxT(t)
				etag := mustPut(t, e, Request{ID: "r1", To: "fw-b"})
				if r, err := e.leader.TakeRequest(ctx); r == nil || err != nil {
					t.Fatalf("TakeRequest() = %+v, %v; want r1", r, err)
				}
				if ok, err := e.cli.WithdrawRequest(ctx, etag); ok || err != nil {
					t.Fatalf("WithdrawRequest() after the take = %v, %v; want false, nil", ok, err)
				}
			})
			t.Run("withdrawing a replaced request leaves the newer one", func(t *testing.T) {
				e, ctx := backend.ends(t), ctxT(t)
				older := mustPut(t, e, Request{ID: "older", To: "fw-a"})
				newer := mustPut(t, e, Request{ID: "newer", To: "fw-b"})
				if older == newer {
					t.Fatalf("two puts returned the same ETag %q", older)
				}
				if ok, err := e.cli.WithdrawRequest(ctx, older); ok || err != nil {
					t.Fatalf("WithdrawRequest(older) = %v, %v; want false, nil", ok, err)
				}
				if r, err := e.leader.TakeRequest(ctx); err != nil || r == nil || r.ID != "newer" {
					t.Fatalf("TakeRequest() = %+v, %v; want the newer request", r, err)
				}
			})
		})
	}
}

func mustPut(t *testing.T, e requestEnds, r Request) string {
	t.Helper()
	etag, err := e.cli.PutRequest(ctxT(t), r)
	if err != nil || etag == "" {
		t.Fatalf("PutRequest(%s) = %q, %v; want an ETag", r.ID, etag, err)
	}
	return etag
}

// skewedClock is a pipeline policy that shows the client a storage service
// whose clock is off by skew from this host's: it moves the Date and
// Last-Modified headers of every response.
type skewedClock struct{ skew time.Duration }

func (s skewedClock) Do(req *policy.Request) (*http.Response, error) {
	resp, err := req.Next()
	if err != nil {
		return resp, err
	}
	for _, h := range []string{"Date", "Last-Modified"} {
		if v, perr := http.ParseTime(resp.Header.Get(h)); perr == nil {
			resp.Header.Set(h, v.Add(s.skew).UTC().Format(http.TimeFormat))
		}
	}
	return resp, nil
}

// withStorageSkew makes a Blob see c's storage through skewedClock.
func withStorageSkew(t *testing.T, c *container.Client, skew time.Duration) func(*BlobOptions) {
	t.Helper()
	cred, err := azblob.NewSharedKeyCredential(shared.Account(), shared.AccountKey())
	if err != nil {
		t.Fatal(err)
	}
	skewed, err := container.NewClientWithSharedKeyCredential(c.URL(), cred, &container.ClientOptions{
		ClientOptions: azcore.ClientOptions{PerCallPolicies: []policy.Policy{skewedClock{skew}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	return func(o *BlobOptions) { o.Container = skewed }
}

// TestTheLeaderJudgesARequestsAgeByStoragesClock: Age is storage's Date
// minus the blob's Last-Modified, so it does not move when storage's clock
// is an hour off from the leader's, and the CLI's At takes no part.
func TestTheLeaderJudgesARequestsAgeByStoragesClock(t *testing.T) {
	for _, tc := range []struct {
		name        string
		skew        time.Duration // storage's clock minus the leader's
		ttl         time.Duration
		wait        time.Duration // between put and take
		minAge      time.Duration
		maxAge      time.Duration
		wantExpired bool
	}{
		{"a fresh request, storage's clock an hour ahead", time.Hour, time.Minute, 0, 0, 2 * time.Second, false},
		{"a fresh request, storage's clock an hour behind", -time.Hour, time.Minute, 0, 0, 2 * time.Second, false},
		// Date and Last-Modified have one-second resolution: 2.5 s of
		// storage time read as 2 or 3 s (more on a slow machine).
		{"a request older than its TTL, storage's clock an hour ahead", time.Hour, time.Second, 2500 * time.Millisecond, 2 * time.Second, 10 * time.Second, true},
		{"a request older than its TTL, storage's clock an hour behind", -time.Hour, time.Second, 2500 * time.Millisecond, 2 * time.Second, 10 * time.Second, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := sharedContainer(t)
			leader := newMember(t, c, "mon-a", withStorageSkew(t, c, tc.skew))
			leader.start()
			leader.expectEdge(t, true)
			ctx := ctxT(t)
			cli := newMember(t, c, "cli")
			// The CLI's wall clock a day behind: At is shown, never judged.
			if _, err := cli.PutRequest(ctx, Request{ID: "r1", To: "fw-b", TTL: tc.ttl, At: time.Now().Add(-24 * time.Hour)}); err != nil {
				t.Fatal(err)
			}
			time.Sleep(tc.wait)
			r, err := leader.TakeRequest(ctx)
			if err != nil || r == nil {
				t.Fatalf("TakeRequest() = %+v, %v", r, err)
			}
			if r.Age < tc.minAge || r.Age > tc.maxAge {
				t.Errorf("Age = %s, want %s to %s", r.Age, tc.minAge, tc.maxAge)
			}
			if r.Expired() != tc.wantExpired {
				t.Errorf("Expired() = %v with Age %s and TTL %s, want %v", r.Expired(), r.Age, r.TTL, tc.wantExpired)
			}
		})
	}
}

func TestNoneMeasuresAgeByItsOwnClock(t *testing.T) {
	n, ctx := NewNone("solo"), ctxT(t)
	if _, err := n.PutRequest(ctx, Request{ID: "r1", TTL: 10 * time.Millisecond}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(30 * time.Millisecond)
	r, err := n.TakeRequest(ctx)
	if err != nil || r == nil {
		t.Fatalf("TakeRequest() = %+v, %v", r, err)
	}
	if r.Age < 30*time.Millisecond || !r.Expired() {
		t.Fatalf("Age = %s, Expired() = %v; want at least 30ms and expired (TTL 10ms)", r.Age, r.Expired())
	}
}

func TestRequestExpired(t *testing.T) {
	for _, tc := range []struct {
		name string
		r    Request
		want bool
	}{
		{"a request younger than its TTL is valid", Request{TTL: time.Minute, Age: 59 * time.Second}, false},
		{"a request exactly as old as its TTL is valid", Request{TTL: time.Minute, Age: time.Minute}, false},
		{"a request older than its TTL has expired", Request{TTL: time.Minute, Age: 61 * time.Second}, true},
		{"a request without a TTL (an older CLI) is valid for DefaultRequestTTL", Request{Age: DefaultRequestTTL}, false},
		{"a request without a TTL older than DefaultRequestTTL has expired", Request{Age: DefaultRequestTTL + time.Second}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.r.Expired(); got != tc.want {
				t.Fatalf("Request{TTL: %s, Age: %s}.Expired() = %v, want %v", tc.r.TTL, tc.r.Age, got, tc.want)
			}
		})
	}
}
