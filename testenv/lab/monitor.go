package lab

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/hanva/hanva/monitor/config"
	"github.com/hanva/hanva/monitor/daemon"
)

// Monitor is one nva-monitor process (`nva-monitor run --config F`) that can
// be started, stopped, killed, paused and resumed, with its JSON log kept in
// memory (and in LogPath) and its HTTP endpoint queried. Its methods are
// safe for concurrent use.
type Monitor struct {
	Name       string
	Config     *config.Config
	ConfigPath string
	LogPath    string
	bin        string

	mu      sync.Mutex
	logs    bytes.Buffer
	cmd     *exec.Cmd
	done    chan struct{} // closed when the current process has exited; nil before the first Start
	waitErr error
	paused  bool
}

// httpClient queries monitors; a paused monitor never answers, so the
// timeout is short.
var httpClient = &http.Client{Timeout: 2 * time.Second}

// NewMonitor prepares a monitor process: it writes cfg to cfgPath. It does
// not start it.
func NewMonitor(bin string, cfg *config.Config, cfgPath, logPath string) (*Monitor, error) {
	b, err := cfg.Marshal()
	if err != nil {
		return nil, fmt.Errorf("write config of %s: %w", cfg.Instance, err)
	}
	if err := os.WriteFile(cfgPath, b, 0o600); err != nil {
		return nil, fmt.Errorf("write config of %s: %w", cfg.Instance, err)
	}
	return &Monitor{Name: cfg.Instance, Config: cfg, ConfigPath: cfgPath, LogPath: logPath, bin: bin}, nil
}

// Start runs the process. Starting a running monitor is an error; a
// monitor that exited (killed, stopped) may be started again, and its log
// continues.
func (m *Monitor) Start() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.runningLocked() {
		return fmt.Errorf("start %s: already running", m.Name)
	}
	var logFile io.Writer = io.Discard
	if m.LogPath != "" {
		f, err := os.OpenFile(m.LogPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
		if err != nil {
			return fmt.Errorf("start %s: open log: %w", m.Name, err)
		}
		logFile = f
	}
	cmd := exec.Command(m.bin, "run", "--config", m.ConfigPath)
	cmd.SysProcAttr = sysProcAttr()
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return fmt.Errorf("start %s: %w", m.Name, err)
	}
	cmd.Stdout = logFile
	done := make(chan struct{})
	started := make(chan error, 1)
	// Started and waited for by one goroutine locked to its OS thread: on
	// Linux the child gets SIGKILL when that thread dies (Pdeathsig), and a
	// locked thread lives until the child has exited, so the signal fires
	// only when this whole process dies: no monitor outlives the drill.
	go func() {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		if err := cmd.Start(); err != nil {
			started <- err
			return
		}
		started <- nil
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			line := append(sc.Bytes(), '\n')
			_, _ = logFile.Write(line)
			m.mu.Lock()
			m.logs.Write(line)
			m.mu.Unlock()
		}
		err := cmd.Wait()
		if c, ok := logFile.(io.Closer); ok {
			_ = c.Close()
		}
		m.mu.Lock()
		m.waitErr = err
		m.paused = false
		m.mu.Unlock()
		close(done)
	}()
	if err := <-started; err != nil {
		if c, ok := logFile.(io.Closer); ok {
			_ = c.Close()
		}
		return fmt.Errorf("start %s: %w", m.Name, err)
	}
	m.cmd, m.done, m.waitErr, m.paused = cmd, done, nil, false
	return nil
}

func (m *Monitor) runningLocked() bool {
	if m.done == nil {
		return false
	}
	select {
	case <-m.done:
		return false
	default:
		return true
	}
}

// Running reports whether the process runs (paused counts as running).
func (m *Monitor) Running() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.runningLocked()
}

// Paused reports whether the process is stopped by SIGSTOP.
func (m *Monitor) Paused() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.paused && m.runningLocked()
}

// Exited returns the exit error of the last process (nil while it runs or
// after a clean exit).
func (m *Monitor) Exited() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.waitErr
}

func (m *Monitor) signal(sig syscall.Signal) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.runningLocked() {
		return fmt.Errorf("signal %s: not running", m.Name)
	}
	if err := m.cmd.Process.Signal(sig); err != nil {
		return fmt.Errorf("signal %s: %w", m.Name, err)
	}
	switch sig {
	case syscall.SIGSTOP:
		m.paused = true
	case syscall.SIGCONT:
		m.paused = false
	}
	return nil
}

func (m *Monitor) wait(within time.Duration) bool {
	m.mu.Lock()
	done := m.done
	m.mu.Unlock()
	if done == nil {
		return true
	}
	select {
	case <-done:
		return true
	case <-time.After(within):
		return false
	}
}

// Kill sends SIGKILL and waits for the process to exit.
func (m *Monitor) Kill() error {
	if err := m.signal(syscall.SIGKILL); err != nil {
		return err
	}
	if !m.wait(30 * time.Second) {
		return fmt.Errorf("kill %s: still running 30s after SIGKILL", m.Name)
	}
	return nil
}

// Pause stops the process with SIGSTOP: it keeps its state, its lease
// deadline passes while it sleeps.
func (m *Monitor) Pause() error { return m.signal(syscall.SIGSTOP) }

// Resume continues a paused process with SIGCONT.
func (m *Monitor) Resume() error { return m.signal(syscall.SIGCONT) }

// Stop ends the process cleanly (SIGCONT if paused, SIGTERM, then SIGKILL
// after grace) and waits for it. Stopping a stopped monitor does nothing.
func (m *Monitor) Stop(grace time.Duration) error {
	if !m.Running() {
		return nil
	}
	if m.Paused() {
		_ = m.signal(syscall.SIGCONT)
	}
	if err := m.signal(syscall.SIGTERM); err != nil && m.Running() {
		return err
	}
	if m.wait(grace) {
		return nil
	}
	if err := m.signal(syscall.SIGKILL); err != nil && m.Running() {
		return err
	}
	if !m.wait(30 * time.Second) {
		return fmt.Errorf("stop %s: still running 30s after SIGKILL", m.Name)
	}
	return nil
}

// LogText returns the monitor's log so far (every start).
func (m *Monitor) LogText() string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.logs.String()
}

// Logs returns the monitor's JSON log lines so far.
func (m *Monitor) Logs() []LogLine {
	m.mu.Lock()
	b := append([]byte(nil), m.logs.Bytes()...)
	m.mu.Unlock()
	return ParseLogs(b)
}

func (m *Monitor) get(ctx context.Context, path string) (int, []byte, error) {
	if m.Paused() {
		return 0, nil, fmt.Errorf("query %s: paused", m.Name)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+m.Config.Listen+path, nil)
	if err != nil {
		return 0, nil, fmt.Errorf("query %s%s: %w", m.Name, path, err)
	}
	resp, err := httpClient.Do(req)
	if err != nil {
		return 0, nil, fmt.Errorf("query %s%s: %w", m.Name, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, nil, fmt.Errorf("query %s%s: %w", m.Name, path, err)
	}
	return resp.StatusCode, b, nil
}

// Ready reports whether /readyz answers 200: the active NVA was read from
// Azure and a probe round has finished.
func (m *Monitor) Ready(ctx context.Context) bool {
	code, _, err := m.get(ctx, "/readyz")
	return err == nil && code == http.StatusOK
}

// IsLeader reads hanva_is_leader from the monitor's /metrics.
func (m *Monitor) IsLeader(ctx context.Context) (bool, error) {
	code, b, err := m.get(ctx, "/metrics")
	if err != nil {
		return false, err
	}
	if code != http.StatusOK {
		return false, fmt.Errorf("query %s/metrics: status %d", m.Name, code)
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "hanva_is_leader "); ok {
			return strings.TrimSpace(v) == "1", nil
		}
	}
	return false, errors.New("query " + m.Name + "/metrics: no hanva_is_leader")
}

// Status reads the monitor's /status.
func (m *Monitor) Status(ctx context.Context) (*daemon.Status, error) {
	code, b, err := m.get(ctx, "/status")
	if err != nil {
		return nil, err
	}
	if code != http.StatusOK {
		return nil, fmt.Errorf("query %s/status: status %d", m.Name, code)
	}
	var st daemon.Status
	if err := json.Unmarshal(b, &st); err != nil {
		return nil, fmt.Errorf("query %s/status: %w", m.Name, err)
	}
	return &st, nil
}
