package azurite

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

const crashHelperEnv = "HANVA_AZURITE_CRASH_HELPER"

// TestCrashHelper is not a test of its own: TestAzuriteDiesWithACrashedTestBinary
// runs the test binary again with crashHelperEnv set, and this function then
// starts Azurite, prints its pid and exits without stopping it, as a test
// binary that panics or hits -timeout would.
func TestCrashHelper(t *testing.T) {
	if os.Getenv(crashHelperEnv) == "" {
		t.Skip("helper process for TestAzuriteDiesWithACrashedTestBinary")
	}
	a, err := Start(Options{Dir: t.TempDir()})
	if err != nil {
		fmt.Println("ERROR", err)
		os.Exit(1)
	}
	fmt.Println("PID", a.proc.cmd.Process.Pid)
	os.Exit(3)
}

func TestAzuriteDiesWithACrashedTestBinary(t *testing.T) {
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashHelper$", "-test.count=1")
	cmd.Env = append(os.Environ(), crashHelperEnv+"=1")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pid := 0
	var lines []string
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		lines = append(lines, sc.Text())
		if rest, ok := strings.CutPrefix(sc.Text(), "PID "); ok {
			pid, _ = strconv.Atoi(rest)
		}
	}
	err = cmd.Wait()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 3 || pid == 0 {
		t.Fatalf("helper: %v, output %q; want exit status 3 after printing the Azurite pid", err, lines)
	}
	for deadline := time.Now().Add(30 * time.Second); alive(pid); time.Sleep(100 * time.Millisecond) {
		if time.Now().After(deadline) {
			_ = syscall.Kill(-pid, syscall.SIGKILL)
			t.Fatalf("Azurite (pid %d) still runs 30 s after its test binary exited", pid)
		}
	}
}

// alive reports whether pid names a process that has not exited (a zombie
// waiting for its new parent to reap it counts as exited).
func alive(pid int) bool {
	if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
		return false
	}
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	// The state follows the command name in parentheses: "pid (comm) S ...".
	s := string(stat)
	if i := strings.LastIndexByte(s, ')'); i >= 0 && i+2 < len(s) {
		return s[i+2] != 'Z' && s[i+2] != 'X'
	}
	return true
}
