package components

import (
	"bytes"
	"crypto/sha256"
	"debug/elf"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
)

// monitorModule is the module whose source BuildMonitorBinary builds.
const monitorModule = "github.com/hanva/hanva"

// monitorPackage is the nva-monitor command, relative to the module root.
const monitorPackage = "./monitor/cmd/nva-monitor"

// monitorBuildEnv pins everything in the environment that changes the bytes
// of the binary: a static (CGO_ENABLED=0) linux/amd64 build at the baseline
// amd64 level, with no GOFLAGS and no workspace from the caller's shell
// (a stray -race or a go.work would change the build).
var monitorBuildEnv = []string{
	"CGO_ENABLED=0",
	"GOOS=linux",
	"GOARCH=amd64",
	"GOAMD64=v1",
	"GOFLAGS=",
	"GOWORK=off",
}

// monitorBuildArgs are the go build flags: no local paths (-trimpath), no VCS
// stamping (-buildvcs=false), no symbol table or DWARF (-s -w). Together with
// monitorBuildEnv they make the binary a function of the source alone, so an
// unchanged source gives an unchanged SHA-256, an unchanged blob name and no
// diff in `pulumi up`.
var monitorBuildArgs = []string{"build", "-trimpath", "-buildvcs=false", "-ldflags", "-s -w"}

// BuildMonitorBinary builds nva-monitor for linux/amd64 from the module
// source at moduleDir into outPath and returns the binary's SHA-256 as
// lower-case hex. It runs
//
//	CGO_ENABLED=0 GOOS=linux GOARCH=amd64 go build -trimpath -buildvcs=false -ldflags "-s -w" ./monitor/cmd/nva-monitor
//
// in moduleDir, so two builds of the same source give the same bytes.
// moduleDir "" means the directory of module github.com/hanva/hanva as the Go
// command sees it from the working directory: this repository when run
// inside it, or the module cache copy when the components are imported by
// another Go program. The binary is written to a temporary file next to
// outPath and renamed, so a reader never sees half a binary.
func BuildMonitorBinary(moduleDir, outPath string) (sha256hex string, err error) {
	if outPath == "" {
		return "", errors.New("build nva-monitor: no output path")
	}
	if moduleDir == "" {
		if moduleDir, err = monitorModuleDir(); err != nil {
			return "", err
		}
	}
	if _, err := os.Stat(filepath.Join(moduleDir, filepath.FromSlash(monitorPackage))); err != nil {
		return "", fmt.Errorf("build nva-monitor: %s is not the %s module source: %w", moduleDir, monitorModule, err)
	}
	if err := os.MkdirAll(filepath.Dir(outPath), 0o755); err != nil {
		return "", fmt.Errorf("build nva-monitor: %w", err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(outPath), ".nva-monitor-*")
	if err != nil {
		return "", fmt.Errorf("build nva-monitor: %w", err)
	}
	tmpPath := tmp.Name()
	tmp.Close()
	defer os.Remove(tmpPath) // gone after the rename; removes a failed build

	toolchain, err := pinnedToolchain(moduleDir)
	if err != nil {
		return "", fmt.Errorf("build nva-monitor: %w", err)
	}
	args := append(append([]string{}, monitorBuildArgs...), "-o", tmpPath, monitorPackage)
	cmd := exec.Command("go", args...)
	cmd.Dir = moduleDir
	// GOTOOLCHAIN=<exact version>: the go command runs that toolchain,
	// downloading it (module golang.org/toolchain, through GOPROXY) when the
	// installed Go is another one (go.dev/doc/toolchain).
	cmd.Env = append(append(os.Environ(), monitorBuildEnv...), "GOTOOLCHAIN="+toolchain)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("build nva-monitor in %s: %w\n%s", moduleDir, err, strings.TrimSpace(out.String()))
	}
	sum, err := fileSHA256(tmpPath)
	if err != nil {
		return "", fmt.Errorf("build nva-monitor: %w", err)
	}
	if err := os.Chmod(tmpPath, 0o755); err != nil {
		return "", fmt.Errorf("build nva-monitor: %w", err)
	}
	if err := os.Rename(tmpPath, outPath); err != nil {
		return "", fmt.Errorf("build nva-monitor: %w", err)
	}
	return sum, nil
}

// pinnedToolchain returns the toolchain line of the module's go.mod
// ("go1.26.8"): the Go release whose compiler and standard library are
// embedded in nva-monitor. Without it the binary's bytes, so its SHA-256 and
// blob name, would follow the Go release of whoever runs `pulumi up`, and two
// operators on different Go patch releases would upgrade the monitors back
// and forth on every run.
func pinnedToolchain(moduleDir string) (string, error) {
	data, err := os.ReadFile(filepath.Join(moduleDir, "go.mod"))
	if err != nil {
		return "", err
	}
	for _, line := range strings.Split(string(data), "\n") {
		f := strings.Fields(line)
		if len(f) == 2 && f[0] == "toolchain" && monitorToolchainRE.MatchString(f[1]) {
			return f[1], nil
		}
	}
	return "", fmt.Errorf("%s/go.mod pins no exact toolchain (a line like \"toolchain go1.26.8\"); "+
		"without one the binary would change with the Go release that builds it", moduleDir)
}

// monitorToolchainRE is an exact Go release: go1.N.P.
var monitorToolchainRE = regexp.MustCompile(`^go1\.[0-9]+\.[0-9]+$`)

// monitorModuleDir asks the Go command where module github.com/hanva/hanva
// lives, seen from the working directory.
func monitorModuleDir() (string, error) {
	cmd := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", monitorModule)
	cmd.Env = append(os.Environ(), "GOFLAGS=", "GOWORK=off")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("find the %s module source (go list -m, from the working directory): %w: %s; "+
			"run inside a Go module that is or requires %s, or set MonitorArgs.BinaryPath to a prebuilt linux/amd64 nva-monitor",
			monitorModule, err, strings.TrimSpace(stderr.String()), monitorModule)
	}
	dir := strings.TrimSpace(string(out))
	if dir == "" {
		return "", fmt.Errorf("find the %s module source: go list -m gave no directory (is it downloaded? run go mod download %s)",
			monitorModule, monitorModule)
	}
	return dir, nil
}

// fileSHA256 returns the SHA-256 of a file as lower-case hex.
func fileSHA256(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("hash %s: %w", path, err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("hash %s: %w", path, err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// checkLinuxAMD64 refuses a file that is not a 64-bit x86-64 ELF executable,
// the only thing the monitor VMs (Ubuntu 22.04 on amd64) can run.
func checkLinuxAMD64(path string) error {
	f, err := elf.Open(path)
	if err != nil {
		return fmt.Errorf("%s is not a linux/amd64 executable: %w", path, err)
	}
	defer f.Close()
	if f.Class != elf.ELFCLASS64 || f.Machine != elf.EM_X86_64 || (f.Type != elf.ET_EXEC && f.Type != elf.ET_DYN) {
		return fmt.Errorf("%s is a %s %s %s, not a linux/amd64 executable; build it with GOOS=linux GOARCH=amd64",
			path, f.Class, f.Machine, f.Type)
	}
	return nil
}

// monitorBinary returns the binary to upload and its SHA-256: prebuilt
// (hashed, never rebuilt) or built from source into the user cache
// (os.UserCacheDir()/hanva, else the temp directory) under a name that is
// its own hash, so concurrent programs never overwrite each other's binary.
func monitorBinary(prebuilt string) (path, sum string, err error) {
	if prebuilt != "" {
		if err := checkLinuxAMD64(prebuilt); err != nil {
			return "", "", fmt.Errorf("components: MonitorArgs.BinaryPath: %w", err)
		}
		sum, err := fileSHA256(prebuilt)
		if err != nil {
			return "", "", fmt.Errorf("components: MonitorArgs.BinaryPath: %w", err)
		}
		return prebuilt, sum, nil
	}
	dir, err := os.UserCacheDir()
	if err != nil {
		dir = os.TempDir()
	}
	dir = filepath.Join(dir, "hanva")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", "", fmt.Errorf("components: build nva-monitor: %w", err)
	}
	tmp, err := os.CreateTemp(dir, "build-*")
	if err != nil {
		return "", "", fmt.Errorf("components: build nva-monitor: %w", err)
	}
	tmpPath := tmp.Name()
	tmp.Close()
	defer os.Remove(tmpPath)
	sum, err = BuildMonitorBinary("", tmpPath)
	if err != nil {
		return "", "", fmt.Errorf("components: %w", err)
	}
	path = filepath.Join(dir, "nva-monitor-linux-amd64-"+sum)
	if err := os.Rename(tmpPath, path); err != nil {
		return "", "", fmt.Errorf("components: build nva-monitor: %w", err)
	}
	return path, sum, nil
}
