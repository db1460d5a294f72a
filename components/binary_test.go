package components

import (
	"crypto/sha256"
	"debug/buildinfo"
	"debug/elf"
	"encoding/binary"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// fakeELF is the smallest file debug/elf accepts as an executable for
// machine: a 64-bit little-endian ELF header and a payload. Tests upload it
// as a "prebuilt" nva-monitor instead of building the real one.
func fakeELF(machine elf.Machine, payload string) []byte {
	h := make([]byte, 64)
	copy(h, "\x7fELF")
	h[elf.EI_CLASS] = byte(elf.ELFCLASS64)
	h[elf.EI_DATA] = byte(elf.ELFDATA2LSB)
	h[elf.EI_VERSION] = byte(elf.EV_CURRENT)
	binary.LittleEndian.PutUint16(h[16:], uint16(elf.ET_EXEC))
	binary.LittleEndian.PutUint16(h[18:], uint16(machine))
	binary.LittleEndian.PutUint32(h[20:], uint32(elf.EV_CURRENT))
	binary.LittleEndian.PutUint16(h[52:], 64) // header size
	return append(h, payload...)
}

// writeFakeBinary writes a fake linux/amd64 nva-monitor and returns its path
// and SHA-256.
func writeFakeBinary(t *testing.T) (path, sum string) {
	t.Helper()
	b := fakeELF(elf.EM_X86_64, "not really nva-monitor")
	path = filepath.Join(t.TempDir(), "nva-monitor")
	if err := os.WriteFile(path, b, 0o755); err != nil {
		t.Fatal(err)
	}
	h := sha256.Sum256(b)
	return path, hex.EncodeToString(h[:])
}

func TestPrebuiltBinaryIsHashedAndUsedAsIs(t *testing.T) {
	path, want := writeFakeBinary(t)
	got, sum, err := monitorBinary(path)
	if err != nil {
		t.Fatal(err)
	}
	if got != path || sum != want {
		t.Fatalf("monitorBinary(%q) = %q, %s; want the same path and %s", path, got, sum, want)
	}
}

func TestPrebuiltBinaryForAnotherPlatformIsRefused(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		name    string
		content []byte
		want    string
	}{
		{"an arm64 executable", fakeELF(elf.EM_AARCH64, "x"), "not a linux/amd64 executable"},
		{"a shell script", []byte("#!/bin/sh\necho hi\n"), "not a linux/amd64 executable"},
		{"an empty file", nil, "not a linux/amd64 executable"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(dir, strings.ReplaceAll(tc.name, " ", "-"))
			if err := os.WriteFile(path, tc.content, 0o755); err != nil {
				t.Fatal(err)
			}
			_, _, err := monitorBinary(path)
			if err == nil || !strings.Contains(err.Error(), "MonitorArgs.BinaryPath") || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("monitorBinary(%s) error = %v; want one naming MonitorArgs.BinaryPath and saying %q", tc.name, err, tc.want)
			}
		})
	}
	if _, _, err := monitorBinary(filepath.Join(dir, "missing")); err == nil || !strings.Contains(err.Error(), "MonitorArgs.BinaryPath") {
		t.Fatalf("a missing BinaryPath gave %v; want an error naming MonitorArgs.BinaryPath", err)
	}
}

func TestBuildMonitorBinaryOutsideTheModuleSourceFailsNamingTheDirectory(t *testing.T) {
	dir := t.TempDir()
	_, err := BuildMonitorBinary(dir, filepath.Join(dir, "out"))
	if err == nil || !strings.Contains(err.Error(), dir) || !strings.Contains(err.Error(), monitorModule) {
		t.Fatalf("BuildMonitorBinary(%q) error = %v; want one naming the directory and the module", dir, err)
	}
	if _, err := BuildMonitorBinary(dir, ""); err == nil {
		t.Fatal("BuildMonitorBinary with no output path succeeded")
	}
}

// TestBuildMonitorBinaryIsReproducible builds the real nva-monitor twice and
// checks the two builds are byte-identical and carry none of what makes
// builds differ: a static linux/amd64 binary, -trimpath, no VCS stamp.
// Each build takes seconds with a warm build cache and minutes with a cold one.
func TestBuildMonitorBinaryIsReproducible(t *testing.T) {
	if testing.Short() {
		t.Skip("builds nva-monitor twice")
	}
	var sums []string
	var paths []string
	for i := range 2 {
		out := filepath.Join(t.TempDir(), "build", "nva-monitor")
		moduleDir := "" // found with go list -m, as NewMonitor does
		if i == 1 {
			moduleDir = ".." // and given
		}
		sum, err := BuildMonitorBinary(moduleDir, out)
		if err != nil {
			t.Fatal(err)
		}
		file, err := fileSHA256(out)
		if err != nil {
			t.Fatal(err)
		}
		if file != sum {
			t.Fatalf("BuildMonitorBinary returned %s but the file hashes to %s", sum, file)
		}
		sums, paths = append(sums, sum), append(paths, out)
	}
	if sums[0] != sums[1] {
		t.Fatalf("two builds of the same source differ: %s and %s", sums[0], sums[1])
	}

	// NewMonitor's way: built into the user cache under its own hash. The
	// cache directory moves to a temp dir; the Go build cache stays put.
	gocache, err := exec.Command("go", "env", "GOCACHE").Output()
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("GOCACHE", strings.TrimSpace(string(gocache)))
	t.Setenv("XDG_CACHE_HOME", t.TempDir())
	path, sum, err := monitorBinary("")
	if err != nil {
		t.Fatal(err)
	}
	if sum != sums[0] || filepath.Base(path) != "nva-monitor-linux-amd64-"+sum {
		t.Errorf("monitorBinary(\"\") = %s, %s; want the same hash, in a file named after it", path, sum)
	}

	if err := checkLinuxAMD64(paths[0]); err != nil {
		t.Fatal(err)
	}
	f, err := elf.Open(paths[0])
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			t.Error("the binary has an ELF interpreter: it is dynamically linked (CGO_ENABLED=0 was not applied)")
		}
	}
	// -ldflags is not recorded in the build info under -trimpath (it may
	// hold paths); its effects are visible in the file.
	if f.Section(".symtab") != nil {
		t.Error("the binary has a symbol table: -ldflags -s was not applied")
	}
	for _, s := range f.Sections {
		if strings.HasPrefix(s.Name, ".debug_") || strings.HasPrefix(s.Name, ".zdebug_") {
			t.Errorf("the binary has DWARF section %s: -ldflags -w was not applied", s.Name)
		}
	}

	info, err := buildinfo.ReadFile(paths[0])
	if err != nil {
		t.Fatal(err)
	}
	pinned, err := pinnedToolchain("..")
	if err != nil {
		t.Fatal(err)
	}
	if info.GoVersion != pinned {
		t.Errorf("the binary was built by %s, not by go.mod's toolchain %s", info.GoVersion, pinned)
	}
	if info.Path != "github.com/hanva/hanva/monitor/cmd/nva-monitor" {
		t.Errorf("the binary is %s, not nva-monitor", info.Path)
	}
	settings := map[string]string{}
	for _, s := range info.Settings {
		settings[s.Key] = s.Value
	}
	for key, want := range map[string]string{"GOOS": "linux", "GOARCH": "amd64", "CGO_ENABLED": "0", "-trimpath": "true", "GOAMD64": "v1"} {
		if settings[key] != want {
			t.Errorf("build setting %s = %q, want %q", key, settings[key], want)
		}
	}
	for key := range settings {
		if strings.HasPrefix(key, "vcs") {
			t.Errorf("the binary is stamped with %s=%s: -buildvcs=false was not applied", key, settings[key])
		}
	}
}

func TestPinnedToolchainIsAnExactRelease(t *testing.T) {
	got, err := pinnedToolchain("..")
	if err != nil {
		t.Fatal(err)
	}
	if !monitorToolchainRE.MatchString(got) {
		t.Fatalf("pinned toolchain %q is not an exact release", got)
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module x\n\ngo 1.26\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := pinnedToolchain(dir); err == nil || !strings.Contains(err.Error(), "pins no exact toolchain") {
		t.Errorf("a go.mod without a toolchain line: %v, want refused", err)
	}
}
