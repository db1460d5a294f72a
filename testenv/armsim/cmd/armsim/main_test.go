package main

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

const rtID = "/subscriptions/s1/resourceGroups/rg/providers/Microsoft.Network/routeTables/rt"

func TestRunServesTheSeedOverTLSAndExitsZeroWhenStopped(t *testing.T) {
	dir := t.TempDir()
	caFile := filepath.Join(dir, "ca.pem")
	seedFile := filepath.Join(dir, "seed.json")
	seed := `{"resources":[{"id":"` + rtID + `","body":{"location":"westeurope","properties":{"routes":[]}}}]}`
	if err := os.WriteFile(seedFile, []byte(seed), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	outR, outW := io.Pipe()
	done := make(chan int, 1)
	go func() {
		code := run(ctx, []string{"--listen", "127.0.0.1:0", "--ca-out", caFile, "--seed", seedFile, "--latency", "10ms"}, outW, io.Discard)
		_ = outW.Close()
		done <- code
	}()
	lines := bufio.NewScanner(outR)
	if !lines.Scan() {
		t.Fatalf("no output from run (exit %v)", <-done)
	}
	line := lines.Text()
	go func() { _, _ = io.Copy(io.Discard, outR) }()
	url, ok := strings.CutPrefix(line, "armsim listening on ")
	if !ok || !strings.HasPrefix(url, "https://127.0.0.1:") {
		t.Fatalf("first line %q, want \"armsim listening on https://127.0.0.1:PORT\"", line)
	}

	pemBytes, err := os.ReadFile(caFile)
	if err != nil {
		t.Fatalf("read CA file: %v", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pemBytes) {
		t.Fatal("CA file holds no certificate")
	}
	client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	req, _ := http.NewRequest(http.MethodGet, url+rtID+"?api-version=2025-01-01", nil)
	req.Header.Set("Authorization", "Bearer t")
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("GET seeded route table with the CA from --ca-out: %v", err)
	}
	var body map[string]any
	err = json.NewDecoder(resp.Body).Decode(&body)
	_ = resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusOK || body["id"] != rtID {
		t.Fatalf("GET = %d %v (%v), want 200 with the seeded table", resp.StatusCode, body, err)
	}

	cancel()
	select {
	case code := <-done:
		if code != 0 {
			t.Fatalf("exit code %d after stop, want 0", code)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("run did not return after its context was cancelled")
	}
}

func TestRunRejectsBadUsageWithExitCode2(t *testing.T) {
	tests := []struct {
		name string
		args []string
	}{
		{"an unknown flag", []string{"--nope"}},
		{"a missing seed file", []string{"--listen", "127.0.0.1:0", "--seed", filepath.Join(t.TempDir(), "missing.json")}},
		{"a stray argument", []string{"serve"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if code := run(context.Background(), tt.args, io.Discard, io.Discard); code != 2 {
				t.Fatalf("exit code %d, want 2", code)
			}
		})
	}
}

// TestMain lets a test re-run this binary as the armsim command.
func TestMain(m *testing.M) {
	if os.Getenv("ARMSIM_RUN_MAIN") == "1" {
		os.Args = append([]string{"armsim"}, strings.Fields(os.Getenv("ARMSIM_ARGS"))...)
		main()
		return
	}
	os.Exit(m.Run())
}

func TestTheCommandExitsZeroOnSIGTERM(t *testing.T) {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "ARMSIM_RUN_MAIN=1", "ARMSIM_ARGS=--listen 127.0.0.1:0")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start command: %v", err)
	}
	lines := bufio.NewScanner(out)
	if !lines.Scan() || !strings.HasPrefix(lines.Text(), "armsim listening on https://127.0.0.1:") {
		_ = cmd.Process.Kill()
		t.Fatalf("first line %q", lines.Text())
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatalf("send SIGTERM: %v", err)
	}
	waited := make(chan error, 1)
	go func() { waited <- cmd.Wait() }()
	select {
	case err := <-waited:
		if err != nil {
			t.Fatalf("command after SIGTERM: %v, want exit 0", err)
		}
	case <-time.After(30 * time.Second):
		_ = cmd.Process.Kill()
		t.Fatal("command did not exit after SIGTERM")
	}
}
