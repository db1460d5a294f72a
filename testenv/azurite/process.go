package azurite

import (
	"errors"
	"fmt"
	"os/exec"
	"runtime"
	"sync"
	"syscall"
	"time"
)

// process is one azurite-blob child process, in its own process group.
type process struct {
	cmd  *exec.Cmd
	pgid int
	out  *tail

	done    chan struct{} // closed when the process has exited
	waitErr error         // set before done is closed
}

// startProcess starts bin in a new process group. The child is started and
// waited for by one goroutine locked to its OS thread: on Linux the child
// gets SIGKILL when the thread that started it dies (Pdeathsig), and a locked
// thread lives until the child has exited, so the signal fires only when the
// whole test binary dies (crash, panic, timeout) — then no Azurite outlives it.
func startProcess(bin string, args []string) (*process, error) {
	p := &process{out: newTail(16 << 10), done: make(chan struct{})}
	p.cmd = exec.Command(bin, args...)
	p.cmd.Stdout = p.out
	p.cmd.Stderr = p.out
	p.cmd.SysProcAttr = sysProcAttr()
	started := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		if err := p.cmd.Start(); err != nil {
			started <- err
			return
		}
		p.pgid = p.cmd.Process.Pid // Setpgid with Pgid 0: the group id is the child's pid
		started <- nil
		p.waitErr = p.cmd.Wait()
		close(p.done)
	}()
	if err := <-started; err != nil {
		return nil, fmt.Errorf("run %s: %w", bin, err)
	}
	return p, nil
}

// stop sends SIGTERM to the process group, waits up to grace, then sends
// SIGKILL and waits for the exit. An exit caused by the signal is no error.
func (p *process) stop(grace time.Duration) error {
	select {
	case <-p.done:
		return nil // already exited (e.g. crashed)
	default:
	}
	if err := syscall.Kill(-p.pgid, syscall.SIGTERM); err != nil && !errors.Is(err, syscall.ESRCH) {
		return fmt.Errorf("send SIGTERM to process group %d: %w", p.pgid, err)
	}
	select {
	case <-p.done:
		return nil
	case <-time.After(grace):
	}
	if err := syscall.Kill(-p.pgid, syscall.SIGKILL); err != nil && !errors.Is(err, syscall.ESRCH) {
		return fmt.Errorf("send SIGKILL to process group %d: %w", p.pgid, err)
	}
	select {
	case <-p.done:
		return nil
	case <-time.After(grace):
		return fmt.Errorf("process group %d did not exit after SIGKILL", p.pgid)
	}
}

// output returns the last bytes the process wrote to stdout and stderr.
func (p *process) output() string { return p.out.String() }

// tail keeps the last max bytes written to it.
type tail struct {
	mu  sync.Mutex
	max int
	buf []byte
}

func newTail(max int) *tail { return &tail{max: max} }

func (t *tail) Write(b []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, b...)
	if over := len(t.buf) - t.max; over > 0 {
		t.buf = append(t.buf[:0], t.buf[over:]...)
	}
	return len(b), nil
}

func (t *tail) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.buf)
}
