package azurite

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/bloberror"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/container"
)

const (
	// account is Azurite's built-in development account.
	account = "devstoreaccount1"
	// accountKey is the development account's key. It is public: Microsoft
	// documents it for Azurite and the old Storage Emulator ("Use the Azurite
	// emulator for local Azure Storage development", section "Well-known
	// storage account and key"). It protects nothing.
	accountKey = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="

	// BinEnv names the environment variable that overrides where the
	// azurite-blob executable is.
	BinEnv = "HANVA_AZURITE_BIN"
	// binRel is where `make azurite` installs azurite-blob, relative to the
	// module root.
	binRel = ".tools/azurite/node_modules/.bin/azurite-blob"

	// readyTimeout bounds the wait for a started Azurite to answer: 2–3 s on
	// an idle machine, over 15 s while the machine compiles.
	readyTimeout = 60 * time.Second
	// stopGrace is how long Stop waits after SIGTERM before it kills.
	stopGrace = 5 * time.Second
	// startAttempts is how often Start retries when the free port it picked
	// was taken by someone else before Azurite could bind it.
	startAttempts = 3
)

// Options configures Start.
type Options struct {
	// Dir is the data directory (--location). Data written there survives
	// Stop and Restart. Default: a new temporary directory, which Start
	// creates and nobody removes (StartT uses t.TempDir instead).
	Dir string
}

// Azurite is a running (or stopped) azurite-blob process serving the blob
// API on 127.0.0.1. Its methods are safe for concurrent use.
type Azurite struct {
	bin  string
	dir  string
	port int

	mu   sync.Mutex
	proc *process // nil when stopped
}

// Start finds the azurite-blob executable ($HANVA_AZURITE_BIN, else
// <module root>/.tools/azurite/node_modules/.bin/azurite-blob, installed by
// `make azurite`), starts it on a free 127.0.0.1 port with its data under
// o.Dir, and waits up to 60 s until it answers HTTP.
func Start(o Options) (*Azurite, error) {
	bin, err := findBinary()
	if err != nil {
		return nil, fmt.Errorf("start azurite: %w", err)
	}
	dir := o.Dir
	if dir == "" {
		if dir, err = os.MkdirTemp("", "hanva-azurite-"); err != nil {
			return nil, fmt.Errorf("start azurite: create data dir: %w", err)
		}
	} else if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("start azurite: create data dir: %w", err)
	}
	a := &Azurite{bin: bin, dir: dir}
	for attempt := 1; ; attempt++ {
		if a.port, err = freePort(); err != nil {
			return nil, fmt.Errorf("start azurite: %w", err)
		}
		p, err := a.launch()
		if err == nil {
			a.proc = p
			return a, nil
		}
		// Another process may have taken the port between freePort and
		// Azurite's bind; pick another one.
		if attempt < startAttempts && errors.Is(err, errAddrInUse) {
			continue
		}
		return nil, fmt.Errorf("start azurite: %w", err)
	}
}

// StartT starts Azurite for a test, with its data in t.TempDir(), and stops
// it when the test and its subtests end. It fails the test (it does not skip
// it) when Azurite cannot start: CI installs Azurite with `make azurite`.
func StartT(t testing.TB) *Azurite {
	t.Helper()
	a, err := Start(Options{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := a.Stop(); err != nil {
			t.Errorf("stop azurite: %v", err)
		}
	})
	return a
}

// Account returns the storage account name, "devstoreaccount1".
func (a *Azurite) Account() string { return account }

// AccountKey returns the account's shared key (base64): the well-known,
// public development key.
func (a *Azurite) AccountKey() string { return accountKey }

// Port returns the TCP port Azurite listens on (the same after Restart).
func (a *Azurite) Port() int { return a.port }

// Dir returns the data directory.
func (a *Azurite) Dir() string { return a.dir }

// ServiceURL returns the path-style blob service URL,
// http://127.0.0.1:PORT/devstoreaccount1.
func (a *Azurite) ServiceURL() string {
	return "http://" + net.JoinHostPort("127.0.0.1", strconv.Itoa(a.port)) + "/" + account
}

// BlobURL returns the URL of a blob; the blob name may contain '/'.
func (a *Azurite) BlobURL(container, blob string) string {
	segs := strings.Split(blob, "/")
	for i, s := range segs {
		segs[i] = url.PathEscape(s)
	}
	return a.ServiceURL() + "/" + url.PathEscape(container) + "/" + strings.Join(segs, "/")
}

// WriteKeyFile writes the account key (no trailing newline) to a file with
// mode 0600 in dir and returns its path, for config lease.credential
// accountKeyFile.
func (a *Azurite) WriteKeyFile(dir string) (string, error) {
	path := filepath.Join(dir, "azurite-account-key")
	if err := os.WriteFile(path, []byte(accountKey), 0o600); err != nil {
		return "", fmt.Errorf("write azurite key file: %w", err)
	}
	// WriteFile keeps the mode of an existing file; make sure it is 0600.
	if err := os.Chmod(path, 0o600); err != nil {
		return "", fmt.Errorf("write azurite key file: %w", err)
	}
	return path, nil
}

// ContainerClient returns an azblob container client authorised with the
// shared key, creating the container if it does not exist.
func (a *Azurite) ContainerClient(name string) (*container.Client, error) {
	cred, err := container.NewSharedKeyCredential(account, accountKey)
	if err != nil {
		return nil, fmt.Errorf("create azurite credential: %w", err)
	}
	c, err := container.NewClientWithSharedKeyCredential(a.ServiceURL()+"/"+url.PathEscape(name), cred, nil)
	if err != nil {
		return nil, fmt.Errorf("create container client %q: %w", name, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), readyTimeout)
	defer cancel()
	if _, err := c.Create(ctx, nil); err != nil && !bloberror.HasCode(err, bloberror.ContainerAlreadyExists) {
		return nil, fmt.Errorf("create container %q: %w", name, err)
	}
	return c, nil
}

// Stop terminates Azurite (SIGTERM to its process group, SIGKILL after 5 s)
// and waits for it to exit. Data stays in Dir. Stopping a stopped Azurite
// does nothing.
func (a *Azurite) Stop() error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.proc == nil {
		return nil
	}
	err := a.proc.stop(stopGrace)
	a.proc = nil
	if err != nil {
		return fmt.Errorf("stop azurite on port %d: %w", a.port, err)
	}
	return nil
}

// Restart stops Azurite if it runs and starts it again on the same port with
// the same data directory, for tests where the storage service goes away and
// comes back.
func (a *Azurite) Restart() error {
	if err := a.Stop(); err != nil {
		return err
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.proc != nil { // a concurrent Restart won
		return nil
	}
	p, err := a.launch()
	if err != nil {
		return fmt.Errorf("restart azurite on port %d: %w", a.port, err)
	}
	a.proc = p
	return nil
}

// launch starts azurite-blob on a.port and waits until it answers.
func (a *Azurite) launch() (*process, error) {
	args := []string{
		"--blobHost", "127.0.0.1",
		"--blobPort", strconv.Itoa(a.port),
		"--location", a.dir,
		"--disableTelemetry",
		// azblob v1.8.x sends an x-ms-version newer than Azurite 3.35.0 knows.
		"--skipApiVersionCheck",
		"--silent",
	}
	p, err := startProcess(a.bin, args)
	if err != nil {
		return nil, err
	}
	if err := waitReady(p, a.ServiceURL(), readyTimeout); err != nil {
		_ = p.stop(stopGrace)
		return nil, err
	}
	return p, nil
}

var errAddrInUse = errors.New("address already in use")

// waitReady polls the service URL until any HTTP response comes back (an
// unauthenticated request gets an error status, which is fine), the process
// exits, or the timeout passes.
func waitReady(p *process, serviceURL string, timeout time.Duration) error {
	client := &http.Client{Timeout: 2 * time.Second}
	deadline := time.Now().Add(timeout)
	for {
		resp, err := client.Get(serviceURL + "?comp=list")
		if err == nil {
			resp.Body.Close()
			return nil
		}
		select {
		case <-p.done:
			out := p.output()
			if strings.Contains(out, "EADDRINUSE") {
				return fmt.Errorf("azurite exited: %w: %s", errAddrInUse, out)
			}
			return fmt.Errorf("azurite exited before answering (%v): %s", p.waitErr, out)
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("azurite did not answer on %s within %v: %w (output: %s)", serviceURL, timeout, err, p.output())
		}
	}
}

// findBinary returns the azurite-blob path: $HANVA_AZURITE_BIN, else the one
// `make azurite` installs under the module root.
func findBinary() (string, error) {
	if bin := os.Getenv(BinEnv); bin != "" {
		if _, err := os.Stat(bin); err != nil {
			return "", fmt.Errorf("find azurite-blob (from $%s): %w: run `make azurite` or fix $%s", BinEnv, err, BinEnv)
		}
		return bin, nil
	}
	root, err := moduleRoot()
	if err != nil {
		return "", fmt.Errorf("find azurite-blob: %w: run `make azurite` in the repository and run the tests from inside it, or set $%s", err, BinEnv)
	}
	bin := filepath.Join(root, filepath.FromSlash(binRel))
	if _, err := os.Stat(bin); err != nil {
		return "", fmt.Errorf("find azurite-blob: %w: run `make azurite` (installs azurite@3.35.0 into %s) or set $%s",
			err, filepath.Join(root, ".tools", "azurite"), BinEnv)
	}
	return bin, nil
}

// moduleRoot walks up from the working directory to the directory holding
// go.mod.
func moduleRoot() (string, error) {
	wd, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for dir := wd; ; {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("no go.mod in %s or any parent", wd)
		}
		dir = parent
	}
}

// freePort asks the kernel for a free TCP port on 127.0.0.1.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("pick a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
