package components

import (
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// runGate renders a readiness script with a 1-second deadline and interval
// and runs it
// with sh, as the Azure Linux agent's run command handler would.
func runGate(t *testing.T, g readinessScript) (string, error) {
	t.Helper()
	for _, tool := range []string{"sh", "curl", "bash", "timeout"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s not found: %v", tool, err)
		}
	}
	g.Name, g.Deadline, g.Interval, g.Revision = "box-1", 1, 1, "none"
	script, err := g.render()
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "gate.sh")
	if err := os.WriteFile(path, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("sh", path).CombinedOutput()
	return string(out), err
}

// localPort returns the port of a server's 127.0.0.1 URL.
func localPort(t *testing.T, url string) int {
	t.Helper()
	_, port, err := net.SplitHostPort(strings.TrimPrefix(url, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	n, err := strconv.Atoi(port)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// closedPort returns a local port nothing listens on.
func closedPort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	return port
}

func TestReadinessScriptPassesOnceTheServiceAnswersAndFailsAfterItsDeadline(t *testing.T) {
	ok := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/healthz" {
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(ok.Close)
	broken := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "starting", http.StatusServiceUnavailable)
	}))
	t.Cleanup(broken.Close)

	tests := []struct {
		name    string
		g       readinessScript
		pass    bool
		wantOut string
	}{
		{"an HTTP 200 on the path passes", readinessScript{Check: ReadinessHTTP, Port: localPort(t, ok.URL), Path: "/healthz"}, true, "answers after"},
		{"an HTTP 404 elsewhere fails", readinessScript{Check: ReadinessHTTP, Port: localPort(t, ok.URL), Path: "/"}, false, "(last: HTTP 404)"},
		{"an HTTP 503 fails", readinessScript{Check: ReadinessHTTP, Port: localPort(t, broken.URL), Path: "/"}, false, "(last: HTTP 503)"},
		{"no HTTP server fails", readinessScript{Check: ReadinessHTTP, Port: closedPort(t), Path: "/"}, false, "(last: HTTP 000)"},
		{"an open TCP port passes", readinessScript{Check: ReadinessTCP, Port: localPort(t, ok.URL)}, true, "TCP port"},
		{"a closed TCP port fails", readinessScript{Check: ReadinessTCP, Port: closedPort(t)}, false, "did not answer within 1s"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			start := time.Now()
			out, err := runGate(t, tt.g)
			if tt.pass && err != nil {
				t.Fatalf("the gate failed (%v):\n%s", err, out)
			}
			if !tt.pass && err == nil {
				t.Fatalf("the gate passed:\n%s", out)
			}
			if !strings.Contains(out, tt.wantOut) {
				t.Errorf("output lacks %q:\n%s", tt.wantOut, out)
			}
			if d := time.Since(start); d > 20*time.Second {
				t.Errorf("took %s for a 1s deadline", d)
			}
		})
	}
}
