package main

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/container"

	"github.com/hanva/hanva/monitor/config"
	"github.com/hanva/hanva/monitor/daemon"
	"github.com/hanva/hanva/monitor/internal/lease"
	"github.com/hanva/hanva/testenv/azurite"
)

// failoverEnv is a two-monitor cluster config on Azurite for the failover
// command, with no daemon running: a test plays the leader when it needs
// one. Its ARM endpoint counts requests; the command must make none.
type failoverEnv struct {
	cfg       *config.Config
	path      string
	container *container.Client
	armCalls  atomic.Int64
}

const (
	testSub = "00000000-0000-0000-0000-000000000001"
	testRG  = "rg-hanva"
)

func rid(typ, name string) string {
	return fmt.Sprintf("/subscriptions/%s/resourceGroups/%s/providers/Microsoft.Network/%s/%s", testSub, testRG, typ, name)
}

func newFailoverEnv(t *testing.T) *failoverEnv {
	t.Helper()
	e := &failoverEnv{}
	dir := t.TempDir()
	az := azurite.StartT(t)
	c, err := az.ContainerClient("hanva")
	if err != nil {
		t.Fatal(err)
	}
	e.container = c
	keyFile, err := az.WriteKeyFile(dir)
	if err != nil {
		t.Fatal(err)
	}
	arm := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		e.armCalls.Add(1)
		http.Error(w, "the failover command must not call ARM with a blob lease", http.StatusTeapot)
	}))
	t.Cleanup(arm.Close)
	caFile := filepath.Join(dir, "arm-ca.pem")
	writeFile(t, caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: arm.Certificate().Raw}))
	tokenFile := filepath.Join(dir, "token")
	writeFile(t, tokenFile, []byte("test-token\n"))

	cfg := &config.Config{
		Instance:    "mon-1",
		Monitors:    []string{"mon-1", "mon-2"},
		ARMEndpoint: arm.URL,
		CAFile:      caFile,
		Credential:  config.Credential{Kind: "staticTokenFile", TokenFile: tokenFile},
		Probe: config.ProbeTiming{
			Interval: config.Duration(200 * time.Millisecond), Timeout: config.Duration(150 * time.Millisecond),
			FailureThreshold: 3, SuccessThreshold: 1,
		},
		Lease: config.Lease{
			Kind:       "blob",
			URL:        az.BlobURL("hanva", "ha/leader"),
			Duration:   config.Duration(lease.MinDuration),
			Credential: config.LeaseCredential{Kind: "sharedKey", AccountKeyFile: keyFile},
		},
		Log: config.Log{Format: "json", Level: "info"},
	}
	for i, nva := range []string{"nva-1", "nva-2"} {
		cfg.NVAs = append(cfg.NVAs, config.NVA{
			Name:  nva,
			Probe: config.Probe{Kind: "tcp", Address: listen(t)},
			NICs: map[string]string{
				"external": rid("networkInterfaces", fmt.Sprintf("nva%d-ext", i+1)),
				"internal": rid("networkInterfaces", fmt.Sprintf("nva%d-int", i+1)),
			},
		})
	}
	cfg.RouteTables = []config.RouteTable{{ID: rid("routeTables", "rt-web"), Via: "internal"}}
	b, err := cfg.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	e.path = filepath.Join(dir, "nva-monitor.yaml")
	writeFile(t, e.path, b)
	e.cfg, err = config.Load(e.path)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// listen accepts TCP connections and closes them: an NVA that passes a tcp probe.
func listen(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	return ln.Addr().String()
}

func writeFile(t *testing.T, path string, data []byte) {
	t.Helper()
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
}

// failover runs `nva-monitor failover --config <env> args...` in this process.
func (e *failoverEnv) failover(ctx context.Context, args ...string) (code int, stdout, stderr string) {
	var out, errb bytes.Buffer
	code = run(ctx, append([]string{"failover", "--config", e.path}, args...), &out, &errb)
	return code, out.String(), errb.String()
}

// requestBlobExists reports whether a request is pending in storage.
func (e *failoverEnv) requestBlobExists(t *testing.T) bool {
	t.Helper()
	_, err := e.container.NewBlockBlobClient("ha/leader.request.json").GetProperties(context.Background(), nil)
	var re *azcore.ResponseError
	if err != nil && errors.As(err, &re) && re.StatusCode == http.StatusNotFound {
		return false
	}
	if err != nil {
		t.Fatal(err)
	}
	return true
}

// leader plays the leading monitor (instance mon-2) until the test ends;
// answer, if not nil, is called with each request it takes.
func (e *failoverEnv) leader(t *testing.T, answer func(context.Context, daemon.Leader, *lease.Request)) <-chan lease.Request {
	t.Helper()
	cfg := *e.cfg
	cfg.Instance = "mon-2"
	l, err := daemon.NewLeader(&cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	taken := make(chan lease.Request, 1)
	go func() {
		defer close(done)
		runDone := make(chan struct{})
		go func() { _ = l.Run(ctx); close(runDone) }()
		defer func() { <-runDone }()
		for {
			select {
			case <-ctx.Done():
				return
			case <-time.After(100 * time.Millisecond):
			}
			if l.Check() != nil {
				continue
			}
			r, err := l.TakeRequest(ctx)
			if err != nil || r == nil {
				continue
			}
			select {
			case taken <- *r:
			default: // a second request: the tests put one
			}
			if answer != nil {
				answer(ctx, l, r)
			}
		}
	}()
	t.Cleanup(func() { cancel(); <-done })
	select {
	case <-l.Leadership():
	case <-time.After(30 * time.Second):
		t.Fatal("the test's leader did not acquire the lease within 30s")
	}
	return taken
}

func TestFailoverTimeoutMustBeAPositiveDuration(t *testing.T) {
	e := newFailoverEnv(t)
	for _, value := range []string{"0", "0s", "-5s", "soon", "5"} {
		t.Run("--timeout "+value+" is a usage error that changes nothing", func(t *testing.T) {
			code, out, stderr := e.failover(t.Context(), "--to", "nva-2", "--timeout", value)
			if code != 2 {
				t.Fatalf("exit code %d, want 2\nstdout: %s\nstderr: %s", code, out, stderr)
			}
			for _, want := range []string{`invalid value "` + value + `" for flag -timeout`, "want a positive duration such as 90s or 5m"} {
				if !strings.Contains(stderr, want) {
					t.Errorf("stderr lacks %q:\n%s", want, stderr)
				}
			}
			if e.requestBlobExists(t) {
				t.Errorf("a request blob was written")
			}
		})
	}
	if n := e.armCalls.Load(); n != 0 {
		t.Errorf("%d ARM request(s), want none", n)
	}
}

func TestFailoverWithNoLeaderWithdrawsItsRequestAtTheTimeout(t *testing.T) {
	e := newFailoverEnv(t)
	start := time.Now()
	code, out, stderr := e.failover(t.Context(), "--to", "nva-2", "--timeout", "1500ms")
	took := time.Since(start)
	if code != 1 {
		t.Fatalf("exit code %d, want 1\nstdout: %s\nstderr: %s", code, out, stderr)
	}
	if !strings.Contains(out, "waiting up to 1.5s") {
		t.Errorf("stdout does not say how long it waits:\n%s", out)
	}
	for _, want := range []string{"no leading monitor answered within 1.5s", "withdrawn: it will not be carried out"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr)
		}
	}
	if took < 1500*time.Millisecond || took > 20*time.Second {
		t.Errorf("the command took %s, want 1.5s plus the probe and storage calls", took)
	}
	if e.requestBlobExists(t) {
		t.Errorf("the request blob is still there after the CLI said it was withdrawn")
	}
	if n := e.armCalls.Load(); n != 0 {
		t.Errorf("%d ARM request(s), want none", n)
	}
}

func TestFailoverInterruptedWithdrawsItsRequest(t *testing.T) {
	e := newFailoverEnv(t)
	ctx, cancel := context.WithCancel(t.Context())
	time.AfterFunc(time.Second, cancel) // Ctrl-C
	code, out, stderr := e.failover(ctx, "--to", "nva-2", "--timeout", "10m")
	if code != 1 || !strings.Contains(stderr, "interrupted before the leading monitor answered; withdrawn: it will not be carried out") {
		t.Fatalf("exit code %d, want 1 and the withdrawal\nstdout: %s\nstderr: %s", code, out, stderr)
	}
	if e.requestBlobExists(t) {
		t.Errorf("the request blob is still there after the CLI said it was withdrawn")
	}
}

func TestFailoverTakenButUnansweredSaysItMayStillBeCarriedOut(t *testing.T) {
	e := newFailoverEnv(t)
	taken := e.leader(t, nil) // takes the request and never answers
	code, out, stderr := e.failover(t.Context(), "--to", "nva-2", "--timeout", "3s")
	if code != 1 {
		t.Fatalf("exit code %d, want 1\nstdout: %s\nstderr: %s", code, out, stderr)
	}
	want := "the leader took the request before it could be withdrawn; it may still be carried out: check `nva-monitor status`"
	if !strings.Contains(stderr, want) {
		t.Errorf("stderr lacks %q:\n%s", want, stderr)
	}
	select {
	case r := <-taken:
		if r.To != "nva-2" || r.TTL != 3*time.Second || r.Expired() {
			t.Errorf("the leader took %+v, want a request to nva-2 with TTL 3s, not expired", r)
		}
	default:
		t.Fatal("the leader took no request")
	}
}

func TestFailoverAnsweredByTheLeaderSucceedsWithTheDefaultTimeout(t *testing.T) {
	e := newFailoverEnv(t)
	taken := e.leader(t, func(ctx context.Context, l daemon.Leader, r *lease.Request) {
		now := time.Now().UTC()
		rec, _ := json.Marshal(daemon.FailoverRecord{To: r.To, Reason: "manual", RequestID: r.ID,
			Timeline: daemon.Timeline{Decision: now, Completed: now, Total: "1.2s"}})
		_ = l.WriteState(ctx, lease.State{Leader: "mon-2", Epoch: 2, Desired: r.To, LastFailover: rec, UpdatedAt: now})
	})
	code, out, stderr := e.failover(t.Context(), "--to", "nva-2")
	if code != 0 || !strings.Contains(out, "The leader (mon-2, epoch 2) moved every managed resource to nva-2") {
		t.Fatalf("exit code %d, want 0 and the leader's answer\nstdout: %s\nstderr: %s", code, out, stderr)
	}
	// operationTimeout (default 5m) + 2 x lease.duration (15s).
	if r := <-taken; r.TTL != 5*time.Minute+30*time.Second {
		t.Errorf("request TTL = %s, want the default wait 5m30s", r.TTL)
	}
	if !strings.Contains(out, "waiting up to 5m30s") {
		t.Errorf("stdout does not say how long it waits:\n%s", out)
	}
}
