package azure

import (
	"context"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/network/armnetwork/v7"
)

// fakeClock is the lease's clock in these tests: it moves only when told.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }

func (c *fakeClock) Advance(d time.Duration) { c.mu.Lock(); c.now = c.now.Add(d); c.mu.Unlock() }

// leaseGate is a WriteGate like the daemon's: the time left before a
// deadline by clk, refused once it has passed. It counts its calls.
type leaseGate struct {
	clk      *fakeClock
	deadline time.Time
	mu       sync.Mutex
	calls    int
}

// leaseLeft is what the leader has left in these tests (by the fake clock,
// so it is also the real bound of an allowed write: generous).
const leaseLeft = 30 * time.Second

func newLeaseGate() *leaseGate {
	clk := &fakeClock{now: time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)}
	return &leaseGate{clk: clk, deadline: clk.Now().Add(leaseLeft)}
}

func (g *leaseGate) gate(context.Context) (time.Duration, error) {
	g.mu.Lock()
	g.calls++
	g.mu.Unlock()
	left := g.deadline.Sub(g.clk.Now())
	if left <= 0 {
		return left, errors.New("not the leader: the lease deadline passed")
	}
	return left, nil
}

func (g *leaseGate) called() int { g.mu.Lock(); defer g.mu.Unlock(); return g.calls }

// tokenFunc is a credential whose GetToken runs f first (f may be nil).
type tokenFunc func(policy.TokenRequestOptions)

func (f tokenFunc) GetToken(_ context.Context, o policy.TokenRequestOptions) (azcore.AccessToken, error) {
	if f != nil {
		f(o)
	}
	return azcore.AccessToken{Token: "tok", ExpiresOn: time.Now().Add(time.Hour)}, nil
}

// gateServer is a TLS ARM endpoint for route table rt-1: handle answers
// each request (nil: 200 with a Succeeded route table); it records the
// method of every request it saw.
type gateServer struct {
	*httptest.Server
	caFile  string
	mu      sync.Mutex
	methods []string
	handle  func(n int, w http.ResponseWriter, r *http.Request) // n counts writes from 1
	writes  int
}

func newGateServer(t *testing.T, handle func(n int, w http.ResponseWriter, r *http.Request)) *gateServer {
	t.Helper()
	g := &gateServer{handle: handle}
	g.Server = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		g.mu.Lock()
		g.methods = append(g.methods, r.Method)
		if r.Method != http.MethodGet {
			g.writes++
		}
		n := g.writes
		g.mu.Unlock()
		if g.handle != nil && r.Method != http.MethodGet {
			g.handle(n, w, r)
			return
		}
		routeTable(w, r)
	}))
	g.Config.ErrorLog = log.New(io.Discard, "", 0)
	g.StartTLS()
	t.Cleanup(g.Close)
	g.caFile = filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(g.caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: g.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	return g
}

func routeTable(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write([]byte(`{"id":"` + r.URL.Path + `","name":"rt-1","etag":"W/\"2\"","properties":{"provisioningState":"Succeeded","routes":[]}}`))
}

func (g *gateServer) seen() []string {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]string(nil), g.methods...)
}

func (g *gateServer) client(t *testing.T, gate WriteGate, cred azcore.TokenCredential) *armnetwork.RouteTablesClient {
	t.Helper()
	opts, err := ClientOptions(Settings{ARMEndpoint: g.URL, CAFile: g.caFile, WriteGate: gate})
	if err != nil {
		t.Fatal(err)
	}
	c, err := armnetwork.NewRouteTablesClient("sub-1", cred, opts)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func putRouteTable(ctx context.Context, c *armnetwork.RouteTablesClient) error {
	p, err := c.BeginCreateOrUpdate(ctx, "rg", "rt-1", armnetwork.RouteTable{Location: new("westeurope")}, nil)
	if err != nil {
		return err
	}
	rt, err := p.Result(ctx)
	if err != nil {
		return err
	}
	if rt.Name == nil || *rt.Name != "rt-1" {
		return errors.New("the PUT's response body was not read")
	}
	return nil
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return ctx
}

func TestAWriteWithLeaseLeftIsSentAndItsResponseRead(t *testing.T) {
	// The headers come first and the body 100 ms later: a context cancelled
	// when the transport returned would make the body unreadable.
	srv := newGateServer(t, func(_ int, w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusOK)
		w.(http.Flusher).Flush()
		time.Sleep(100 * time.Millisecond)
		_, _ = w.Write([]byte(`{"id":"` + r.URL.Path + `","name":"rt-1","properties":{"provisioningState":"Succeeded"}}`))
	})
	g := newLeaseGate()
	if err := putRouteTable(ctxT(t), srv.client(t, g.gate, tokenFunc(nil))); err != nil {
		t.Fatalf("PUT with %s of lease left: %v", leaseLeft, err)
	}
	if got := srv.seen(); len(got) != 1 || got[0] != http.MethodPut {
		t.Errorf("server saw %v, want one PUT", got)
	}
	if g.called() != 1 {
		t.Errorf("the gate was asked %d times, want 1", g.called())
	}
}

func TestASlowTokenRefreshPastTheDeadlineRefusesTheWrite(t *testing.T) {
	srv := newGateServer(t, nil)
	g := newLeaseGate()
	// A managed-identity token refresh that takes longer than the lease has
	// left: the bearer policy runs before the gate.
	slow := tokenFunc(func(policy.TokenRequestOptions) { g.clk.Advance(leaseLeft + time.Second) })
	err := putRouteTable(ctxT(t), srv.client(t, g.gate, slow))
	if !errors.Is(err, ErrWriteRefused) {
		t.Fatalf("PUT = %v, want ErrWriteRefused", err)
	}
	if !strings.Contains(err.Error(), "lease deadline passed") {
		t.Errorf("error %q does not carry the gate's reason", err)
	}
	if !errors.Is(Classify(err), ErrWriteRefused) {
		t.Errorf("Classify lost ErrWriteRefused: %v", Classify(err))
	}
	if got := srv.seen(); len(got) != 0 {
		t.Errorf("server saw %v, want nothing", got)
	}
}

// claimsChallenge is a CAE challenge as ARM sends it with a 401, in the
// format of https://learn.microsoft.com/entra/identity-platform/claims-challenge
// (the azcore bearer token policy re-sends the request with a token for
// these claims).
var claimsChallenge = `Bearer realm="", authorization_uri="https://login.microsoftonline.com/common/oauth2/authorize", ` +
	`error="insufficient_claims", claims="` +
	base64.StdEncoding.EncodeToString([]byte(`{"access_token":{"nbf":{"essential":true,"value":"1726077595"}}}`)) + `"`

func challengeFirst(n int, w http.ResponseWriter, r *http.Request) {
	if n == 1 {
		w.Header().Set("WWW-Authenticate", claimsChallenge)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusUnauthorized)
		_, _ = w.Write([]byte(`{"error":{"code":"InvalidAuthenticationToken","message":"claims challenge"}}`))
		return
	}
	routeTable(w, r)
}

func TestAClaimsChallengeReSendIsGatedAgain(t *testing.T) {
	t.Run("a fast token for the claims: the re-send goes through", func(t *testing.T) {
		srv := newGateServer(t, challengeFirst)
		g := newLeaseGate()
		claimed := false
		cred := tokenFunc(func(o policy.TokenRequestOptions) { claimed = claimed || o.Claims != "" })
		if err := putRouteTable(ctxT(t), srv.client(t, g.gate, cred)); err != nil {
			t.Fatalf("PUT after a claims challenge: %v", err)
		}
		if !claimed {
			t.Error("the credential was never asked for the challenge's claims")
		}
		if got := srv.seen(); len(got) != 2 {
			t.Errorf("server saw %v, want the PUT and its re-send", got)
		}
		if g.called() != 2 {
			t.Errorf("the gate was asked %d times, want 2 (the PUT and its re-send)", g.called())
		}
	})
	t.Run("a token for the claims that comes after the deadline: the re-send is refused", func(t *testing.T) {
		srv := newGateServer(t, challengeFirst)
		g := newLeaseGate()
		cred := tokenFunc(func(o policy.TokenRequestOptions) {
			if o.Claims != "" {
				g.clk.Advance(leaseLeft)
			}
		})
		err := putRouteTable(ctxT(t), srv.client(t, g.gate, cred))
		if !errors.Is(err, ErrWriteRefused) {
			t.Fatalf("PUT = %v, want ErrWriteRefused", err)
		}
		if got := srv.seen(); len(got) != 1 {
			t.Errorf("server saw %v, want only the first PUT", got)
		}
	})
}

func TestAnSDKRetryOfAWriteIsGatedAgainAndARefusalIsNotRetried(t *testing.T) {
	g := newLeaseGate()
	srv := newGateServer(t, func(_ int, w http.ResponseWriter, _ *http.Request) {
		g.clk.Advance(leaseLeft) // the answer comes at the deadline
		w.WriteHeader(http.StatusInternalServerError)
	})
	// The engine turns SDK retries off; a caller may opt back in.
	ctx := policy.WithRetryOptions(ctxT(t), policy.RetryOptions{MaxRetries: 3, RetryDelay: time.Millisecond, MaxRetryDelay: time.Millisecond})
	err := putRouteTable(ctx, srv.client(t, g.gate, tokenFunc(nil)))
	if !errors.Is(err, ErrWriteRefused) {
		t.Fatalf("PUT = %v, want ErrWriteRefused", err)
	}
	if got := srv.seen(); len(got) != 1 {
		t.Errorf("server saw %v, want one PUT (the retry is refused)", got)
	}
	if g.called() != 2 {
		t.Errorf("the gate was asked %d times, want 2 (the refusal is not retried)", g.called())
	}
}

func TestAWriteThatHangsEndsAtTheLeaseDeadline(t *testing.T) {
	release := make(chan struct{})
	srv := newGateServer(t, func(_ int, _ http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	})
	t.Cleanup(func() { close(release) }) // runs before srv.Close
	const left = 300 * time.Millisecond
	gate := func(context.Context) (time.Duration, error) { return left, nil }
	start := time.Now()
	err := putRouteTable(ctxT(t), srv.client(t, gate, tokenFunc(nil)))
	took := time.Since(start)
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "cut off at the lease deadline") {
		t.Fatalf("PUT = %v, want it cut off at the lease deadline", err)
	}
	if errors.Is(err, ErrWriteRefused) {
		t.Errorf("a write cut off in flight may have reached ARM; it must not say it was not sent: %v", err)
	}
	if took < left || took > 20*time.Second {
		t.Errorf("the PUT ended after %s, want about %s", took, left)
	}
}

func TestReadsAreNeverGated(t *testing.T) {
	srv := newGateServer(t, nil)
	calls := 0
	refuse := func(context.Context) (time.Duration, error) { calls++; return 0, errors.New("not the leader") }
	if _, err := srv.client(t, refuse, tokenFunc(nil)).Get(ctxT(t), "rg", "rt-1", nil); err != nil {
		t.Fatalf("GET with the gate closed: %v", err)
	}
	if calls != 0 {
		t.Errorf("the gate was asked %d times for a read", calls)
	}
}

func TestEveryMethodButGetAndHeadIsGated(t *testing.T) {
	for _, tc := range []struct {
		method string
		gated  bool
	}{
		{http.MethodGet, false}, {http.MethodHead, false},
		{http.MethodPut, true}, {http.MethodPatch, true}, {http.MethodPost, true}, {http.MethodDelete, true},
	} {
		t.Run(tc.method, func(t *testing.T) {
			sent := false
			next := transportFunc(func(r *http.Request) (*http.Response, error) {
				sent = true
				return &http.Response{StatusCode: 200, Body: http.NoBody, Header: http.Header{}, Request: r}, nil
			})
			for _, gate := range []struct {
				name string
				left time.Duration
				err  error
			}{
				{"an error", time.Second, errors.New("not the leader")},
				{"no time left", 0, nil},
				{"time past the deadline", -time.Second, nil},
			} {
				sent = false
				tr := GateWrites(next, func(context.Context) (time.Duration, error) { return gate.left, gate.err })
				req, _ := http.NewRequest(tc.method, "https://example.invalid/x", nil)
				resp, err := tr.Do(req)
				if resp != nil {
					_ = resp.Body.Close()
				}
				if tc.gated && (sent || !errors.Is(err, ErrWriteRefused)) {
					t.Errorf("gate says %s: sent=%v err=%v, want not sent and ErrWriteRefused", gate.name, sent, err)
				}
				if !tc.gated && (!sent || err != nil) {
					t.Errorf("gate says %s: sent=%v err=%v, want sent", gate.name, sent, err)
				}
			}
		})
	}
}
