package lab

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// BuildOptions configures BuildMonitor.
type BuildOptions struct {
	// Race builds the monitor with the race detector (tests that run with
	// -race build it so too, so its own data races show).
	Race bool
}

// BuildMonitor builds nva-monitor from this module's source into dir and
// returns the binary's path. It runs `go build` in the module root (found
// from the working directory upward), so it works from any directory of the
// repository.
func BuildMonitor(dir string, o BuildOptions) (string, error) {
	root, err := ModuleRoot()
	if err != nil {
		return "", fmt.Errorf("build nva-monitor: %w", err)
	}
	bin := filepath.Join(dir, "nva-monitor")
	args := []string{"build", "-o", bin}
	if o.Race {
		args = append(args, "-race")
	}
	args = append(args, "./monitor/cmd/nva-monitor")
	cmd := exec.Command("go", args...)
	cmd.Dir = root
	out, err := cmd.CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("build nva-monitor: go %s: %w\n%s", strings.Join(args, " "), err, out)
	}
	return bin, nil
}

// ModuleRoot walks up from the working directory to the directory holding
// this module's go.mod.
func ModuleRoot() (string, error) {
	wd, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("find module root: %w", err)
	}
	for dir := wd; ; {
		b, err := os.ReadFile(filepath.Join(dir, "go.mod"))
		if err == nil && strings.Contains(string(b), "module github.com/hanva/hanva\n") {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("find module root: no go.mod of github.com/hanva/hanva in %s or any parent; run from inside the repository", wd)
		}
		dir = parent
	}
}
