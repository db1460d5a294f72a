package lease

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/container"

	"github.com/hanva/hanva/monitor/config"
	"github.com/hanva/hanva/monitor/internal/azure"
	"github.com/hanva/hanva/testenv/azurite"
)

// testDuration is the lease duration of the tests: Azure's (and Azurite's)
// minimum. Tests that wait for a lease to expire are few and marked slow;
// handovers use release and Resign.
const testDuration = MinDuration

// wait is the generous bound of every "eventually" in these tests (a loaded
// 2-core machine); the assertions that matter for timing say so explicitly.
const wait = 45 * time.Second

// testBlob is the leader blob of every test.
const testBlob = "hanva/leader"

var (
	shared     *azurite.Azurite
	sharedErr  error
	sharedOnce sync.Once
	sharedDir  string
	containers atomic.Int64
)

func TestMain(m *testing.M) {
	code := m.Run()
	if shared != nil {
		if err := shared.Stop(); err != nil {
			fmt.Fprintln(os.Stderr, "stop azurite:", err)
		}
	}
	if sharedDir != "" {
		os.RemoveAll(sharedDir)
	}
	os.Exit(code)
}

// sharedContainer returns a new container in the Azurite shared by the
// tests that do not stop it (started on first use), or, in a blobsim
// subtest of onEveryBackend, in that subtest's blobsim.
func sharedContainer(t *testing.T) *container.Client {
	t.Helper()
	if s := simOf(t); s != nil { // a blobsim subtest of the contract suite (backend_test.go)
		return simContainer(t, s)
	}
	sharedOnce.Do(func() {
		if sharedDir, sharedErr = os.MkdirTemp("", "hanva-lease-test-"); sharedErr != nil {
			return
		}
		shared, sharedErr = azurite.Start(azurite.Options{Dir: sharedDir})
	})
	if sharedErr != nil {
		t.Fatal(sharedErr)
	}
	return containerOn(t, shared, fmt.Sprintf("lease-%d", containers.Add(1)))
}

// containerOn creates container name in az and returns the client the
// monitor itself would build for it (azure.BlobContainer: shared key from a
// key file, the monitor's retries and timeouts).
func containerOn(t *testing.T, az *azurite.Azurite, name string) *container.Client {
	t.Helper()
	if _, err := az.ContainerClient(name); err != nil {
		t.Fatal(err)
	}
	keyFile, err := az.WriteKeyFile(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	c, blob, err := azure.BlobContainer(config.Lease{
		Kind:       config.LeaseBlob,
		URL:        az.BlobURL(name, testBlob),
		Duration:   config.Duration(testDuration),
		Credential: config.LeaseCredential{Kind: config.LeaseCredentialSharedKey, AccountKeyFile: keyFile},
	}, "lease-test", "test")
	if err != nil {
		t.Fatal(err)
	}
	if blob != testBlob {
		t.Fatalf("BlobContainer returned blob %q, want %q", blob, testBlob)
	}
	return c
}

// clock is an injectable clock: the real monotonic clock plus an offset a
// test can jump forward (a process paused past its deadline).
type clock struct {
	mu  sync.Mutex
	off time.Duration
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.off)
}

func (c *clock) Jump(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.off += d
}

// logBuf collects JSON log lines.
type logBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuf) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

// events returns the records whose "event" is name.
func (l *logBuf) events(name string) []map[string]any {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []map[string]any
	sc := bufio.NewScanner(bytes.NewReader(l.b.Bytes()))
	for sc.Scan() {
		var m map[string]any
		if json.Unmarshal(sc.Bytes(), &m) == nil && m["event"] == name {
			out = append(out, m)
		}
	}
	return out
}

func (l *logBuf) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// member is one campaigner under test.
type member struct {
	*Blob
	logs    *logBuf
	renewOK atomic.Int64
	renewKO atomic.Int64

	mu     sync.Mutex
	cancel context.CancelFunc
	done   chan error
}

// newMember builds a Blob on c's blob "leader" for instance; mods adjust
// the options.
func newMember(t *testing.T, c *container.Client, instance string, mods ...func(*BlobOptions)) *member {
	t.Helper()
	m := &member{logs: &logBuf{}}
	o := BlobOptions{
		Container: c,
		Blob:      testBlob,
		Instance:  instance,
		Duration:  testDuration,
		Logger:    slog.New(slog.NewJSONHandler(m.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		OnRenew: func(ok bool) {
			if ok {
				m.renewOK.Add(1)
			} else {
				m.renewKO.Add(1)
			}
		},
	}
	if simOf(t) != nil {
		// In a synctest bubble only the time package's clock is virtual;
		// the lease must measure its deadline with it.
		o.Now = time.Now
	}
	for _, mod := range mods {
		mod(&o)
	}
	b, err := NewBlob(o)
	if err != nil {
		t.Fatal(err)
	}
	m.Blob = b
	t.Cleanup(func() {
		m.stop()
		if t.Failed() || os.Getenv("HANVA_LEASE_LOG") != "" {
			t.Logf("log of %s:\n%s", instance, m.logs)
		}
	})
	return m
}

// start runs the campaign in the background.
func (m *member) start() {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	m.mu.Lock()
	m.cancel, m.done = cancel, done
	m.mu.Unlock()
	go func() { done <- m.Run(ctx) }()
}

// stop cancels the campaign and returns what Run returned (nil if it was
// not running).
func (m *member) stop() error {
	m.mu.Lock()
	cancel, done := m.cancel, m.done
	m.cancel, m.done = nil, nil
	m.mu.Unlock()
	if cancel == nil {
		return nil
	}
	cancel()
	select {
	case err := <-done:
		return err
	case <-time.After(wait):
		return errors.New("Run did not return after its context was cancelled")
	}
}

func (m *member) leads() bool { return m.Check() == nil }

// edge waits for the next leadership edge and returns it.
func (m *member) edge(t *testing.T) bool {
	t.Helper()
	select {
	case v := <-m.Leadership():
		return v
	case <-time.After(wait):
		t.Fatalf("%s: no leadership edge within %s", m.o.Instance, wait)
		return false
	}
}

// expectEdge waits for an edge and fails unless it is want.
func (m *member) expectEdge(t *testing.T, want bool) time.Time {
	t.Helper()
	if got := m.edge(t); got != want {
		t.Fatalf("%s: leadership edge %v, want %v", m.o.Instance, got, want)
	}
	return time.Now()
}

// eventually polls cond every 50ms until it holds or wait passes.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(wait)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("not within %s: %s", wait, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// leaderOf waits until exactly one of ms leads and returns it and the others.
func leaderOf(t *testing.T, ms ...*member) (*member, []*member) {
	t.Helper()
	var leader *member
	eventually(t, "one member leads", func() bool {
		n := 0
		for _, m := range ms {
			if m.leads() {
				leader = m
				n++
			}
		}
		if n > 1 {
			t.Fatalf("%d members lead at once", n)
		}
		return n == 1
	})
	var others []*member
	for _, m := range ms {
		if m != leader {
			others = append(others, m)
		}
	}
	return leader, others
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	t.Cleanup(cancel)
	return ctx
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }
