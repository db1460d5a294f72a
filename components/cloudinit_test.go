package components

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

const testConfigYAML = "instance: monitor-1\nnvas: []\n"

const testVMID = "5f0c2a9e-1b7d-4c1e-9f4e-2d3c4b5a6978"

func testInstall(sum string) monitorInstall {
	return monitorInstall{
		Instance: "monitor-1",
		VMID:     testVMID,
		BlobURL:  "https://hanvaabc.blob.core.windows.net/hanva/nva-monitor/" + sum,
		SHA256:   sum,
		Config:   []byte(testConfigYAML),
		Listen:   "127.0.0.1:9414",
	}
}

var zeroSum = strings.Repeat("0", 64)

// extractConfig returns the config an install script writes.
func extractConfig(t *testing.T, script string) string {
	t.Helper()
	_, rest, ok := strings.Cut(script, "<<'"+configDelimiter+"'\n")
	if !ok {
		t.Fatal("the script writes no config heredoc")
	}
	body, _, ok := strings.Cut(rest, "\n"+configDelimiter+"\n")
	if !ok {
		t.Fatal("the config heredoc does not end")
	}
	return body + "\n"
}

// secretRE matches what a key, password, SAS or token would look like.
var secretRE = regexp.MustCompile(`(?i)sig=|sv=20|AccountKey|SharedAccessSignature|DefaultEndpointsProtocol|-----BEGIN|password|passwd|client_secret|eyJ[A-Za-z0-9_-]{10,}`)

func TestInstallScriptIsValidBashAndInstallsAUnitThatRestarts(t *testing.T) {
	b := testInstall(zeroSum)
	script, err := b.script()
	if err != nil {
		t.Fatal(err)
	}
	for name, text := range map[string]string{"install": script, "installer": b.installer(monitorBinaryPath, monitorDownloadPath)} {
		cmd := exec.Command("bash", "-n")
		cmd.Stdin = strings.NewReader(text)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("bash -n on the %s script: %v\n%s", name, err, out)
		}
	}
	if got := extractConfig(t, script); got != testConfigYAML {
		t.Errorf("the script writes the config %q, want %q", got, testConfigYAML)
	}
	for _, want := range []string{
		"#!/bin/bash\n",
		"set +x\n",
		"# VM ID: " + testVMID + "\n",
		"chmod 0600 /etc/hanva/nva-monitor.yaml.staged\n",
		"chown nva-monitor:nva-monitor /etc/hanva/nva-monitor.yaml.staged\n",
		"useradd --system",
		"Restart=always\n",
		"RestartSec=5\n",
		"User=nva-monitor\n",
		"ExecStart=/usr/local/bin/nva-monitor run --config /etc/hanva/nva-monitor.yaml\n",
		"WANT_SHA256='" + zeroSum + "'",
		"BLOB_URL='" + b.BlobURL + "'",
		"x-ms-version: 2021-08-06",
		"-H 'Metadata: true'",
		"resource=https://storage.azure.com/",
		"--proto '=https'",
		"systemctl restart nva-monitor.service\n",
		"'http://127.0.0.1:9414/readyz'",
	} {
		if !strings.Contains(script, want) {
			t.Errorf("the install script lacks %q", want)
		}
	}
	if strings.Contains(script, "@@") {
		t.Errorf("the install script has a placeholder left:\n%s", script)
	}
	if strings.Contains(script, "set -x") || strings.Contains(script, "xtrace") {
		t.Error("the install script turns on xtrace, which would print the token")
	}
	if m := secretRE.FindString(script); m != "" {
		t.Errorf("the install script contains %q, which looks like a secret", m)
	}
}

func TestInstallScriptRefusesWhatItCannotEmbedSafely(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit func(*monitorInstall)
		want string
	}{
		{"a plain http blob URL", func(b *monitorInstall) { b.BlobURL = "http://x.blob.core.windows.net/hanva/b" }, "not a plain https URL"},
		{"a blob URL with a query (a SAS)", func(b *monitorInstall) { b.BlobURL += "?sig=abc" }, "not a plain https URL"},
		{"a blob URL with a quote", func(b *monitorInstall) { b.BlobURL += "'; rm -rf /" }, "not a plain https URL"},
		{"an upper-case hash", func(b *monitorInstall) { b.SHA256 = strings.Repeat("A", 64) }, "SHA-256"},
		{"a short hash", func(b *monitorInstall) { b.SHA256 = "abc" }, "SHA-256"},
		{"an empty config", func(b *monitorInstall) { b.Config = []byte("\n") }, "config is empty"},
		{"a config line that ends the heredoc", func(b *monitorInstall) { b.Config = []byte("a: 1\n" + configDelimiter + "\n") }, "heredoc"},
		{"an instance with a quote", func(b *monitorInstall) { b.Instance = "m'1" }, "not a VM name"},
		{"a VM ID with a newline", func(b *monitorInstall) { b.VMID = "x\nrm -rf /" }, "not a GUID"},
		{"a listen address with a quote", func(b *monitorInstall) { b.Listen = "127.0.0.1:9414'" }, "not host:port"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := testInstall(zeroSum)
			tc.edit(&b)
			_, err := b.script()
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("script() error = %v; want one saying %q", err, tc.want)
			}
		})
	}
}

// fakeSystem are stand-ins for the system commands the install script runs
// as root on the VM, so that the script can run in a temporary root: they
// log their arguments and keep the service's state in files.
var fakeSystem = map[string]string{
	"systemctl": `#!/bin/bash
printf '%s\n' "$*" >> "$FAKE_DIR/systemctl.log"
case "$1" in
is-active) [ -e "$FAKE_DIR/active" ] ;;
restart) touch "$FAKE_DIR/active" ;;
esac
`,
	"id":         "#!/bin/bash\nexit 1\n",
	"useradd":    "#!/bin/bash\nprintf '%s\\n' \"$*\" >> \"$FAKE_DIR/useradd.log\"\n",
	"chown":      "#!/bin/bash\nexit 0\n",
	"journalctl": "#!/bin/bash\necho 'fake journal: nva-monitor exited'\n",
	"install": `#!/bin/bash
dir=; mode=; args=()
while [ $# -gt 0 ]; do
	case "$1" in
	-d) dir=1; shift ;;
	-m) mode=$2; shift 2 ;;
	-o|-g) shift 2 ;;
	*) args+=("$1"); shift ;;
	esac
done
if [ -n "$dir" ]; then mkdir -p "${args[@]}"; [ -z "$mode" ] || chmod "$mode" "${args[@]}"; exit 0; fi
cp "${args[0]}" "${args[1]}"
[ -z "$mode" ] || chmod "$mode" "${args[1]}"
`,
}

// installRun runs the whole install script in a temporary root.
type installRun struct {
	*installerEnv
	root string
}

func newInstallRun(t *testing.T, blob []byte) *installRun {
	t.Helper()
	e := newInstallerEnv(t, blob)
	for name, body := range fakeSystem {
		if err := os.WriteFile(filepath.Join(e.dir, "path", name), []byte(body), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	root := filepath.Join(e.dir, "root")
	for _, d := range []string{"usr/local/bin", "usr/local/sbin", "etc/systemd/system"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return &installRun{installerEnv: e, root: root}
}

func (r *installRun) run(t *testing.T, b monitorInstall) (string, error) {
	t.Helper()
	cmd := exec.Command("bash", "-c", b.render(r.root, 3))
	cmd.Env = append(r.env, "HANVA_INSTALL_MAX_ATTEMPTS=1")
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func (r *installRun) restarts() int {
	return strings.Count(r.file("systemctl.log"), "restart nva-monitor.service\n")
}

func (r *installRun) downloads() int {
	return strings.Count(r.file("argv.log"), "https://hanvaabc.blob.core.windows.net/")
}

func TestInstallScriptRestartsTheMonitorOnlyWhenSomethingChanged(t *testing.T) {
	blob := []byte("nva-monitor v1")
	r := newInstallRun(t, blob)
	b := testInstall(sumOf(blob))

	out, err := r.run(t, b)
	if err != nil {
		t.Fatalf("first install: %v\n%s", err, out)
	}
	if got, _ := os.ReadFile(filepath.Join(r.root, monitorBinaryPath)); string(got) != string(blob) {
		t.Fatalf("installed binary = %q, want the blob", got)
	}
	if got := r.file("root" + monitorConfigPath); got != testConfigYAML {
		t.Errorf("installed config = %q, want %q", got, testConfigYAML)
	}
	if fi, err := os.Stat(filepath.Join(r.root, monitorConfigPath)); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("config mode = %v (%v), want 0600", fi.Mode().Perm(), err)
	}
	unit := r.file("root/etc/systemd/system/nva-monitor.service")
	if !strings.Contains(unit, "ExecStart=/usr/local/bin/nva-monitor run --config /etc/hanva/nva-monitor.yaml\n") {
		t.Errorf("the unit runs something else:\n%s", unit)
	}
	if r.restarts() != 1 || r.downloads() != 1 {
		t.Fatalf("first install: %d restarts, %d downloads; want 1 and 1\n%s", r.restarts(), r.downloads(), out)
	}
	if !strings.Contains(r.file("argv.log"), "http://127.0.0.1:9414/readyz") {
		t.Error("the script did not wait for /readyz")
	}

	// Azure runs the command again (a re-run with nothing changed): no restart.
	if out, err := r.run(t, b); err != nil {
		t.Fatalf("second run: %v\n%s", err, out)
	}
	if r.restarts() != 1 || r.downloads() != 1 {
		t.Errorf("a re-run with nothing changed: %d restarts, %d downloads in all; want still 1 and 1", r.restarts(), r.downloads())
	}

	// A new setting: the config changes, the binary is not downloaded again.
	b.Config = []byte(testConfigYAML + "failback: preferred\n")
	if out, err := r.run(t, b); err != nil {
		t.Fatalf("config change: %v\n%s", err, out)
	}
	if r.restarts() != 2 || r.downloads() != 1 {
		t.Errorf("after a config change: %d restarts, %d downloads in all; want 2 and 1", r.restarts(), r.downloads())
	}
	if got := r.file("root" + monitorConfigPath); got != string(b.Config) {
		t.Errorf("config after the change = %q, want %q", got, b.Config)
	}

	// A new binary: downloaded, installed, restarted.
	blob2 := []byte("nva-monitor v2")
	if err := os.WriteFile(filepath.Join(r.dir, "blob"), blob2, 0o644); err != nil {
		t.Fatal(err)
	}
	b.SHA256, b.BlobURL = sumOf(blob2), "https://hanvaabc.blob.core.windows.net/hanva/nva-monitor/"+sumOf(blob2)
	if out, err := r.run(t, b); err != nil {
		t.Fatalf("binary change: %v\n%s", err, out)
	}
	if got, _ := os.ReadFile(filepath.Join(r.root, monitorBinaryPath)); string(got) != string(blob2) {
		t.Errorf("binary after the upgrade = %q, want v2", got)
	}
	if r.restarts() != 3 || r.downloads() != 2 {
		t.Errorf("after a binary change: %d restarts, %d downloads in all; want 3 and 2", r.restarts(), r.downloads())
	}
}

func TestInstallScriptFailsWhenTheMonitorDoesNotGetReady(t *testing.T) {
	blob := []byte("nva-monitor v1")
	r := newInstallRun(t, blob)
	if err := os.WriteFile(filepath.Join(r.dir, "not-ready"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := r.run(t, testInstall(sumOf(blob)))
	if err == nil {
		t.Fatalf("the install succeeded although /readyz never answered:\n%s", out)
	}
	for _, want := range []string{"is not ready after 3 s", "fake journal"} {
		if !strings.Contains(out, want) {
			t.Errorf("the failure output lacks %q:\n%s", want, out)
		}
	}
}

func TestInstallScriptFailsWhenTheBinaryCannotBeFetched(t *testing.T) {
	r := newInstallRun(t, []byte("a binary someone swapped in"))
	out, err := r.run(t, testInstall(sumOf([]byte("the binary that was deployed"))))
	if err == nil {
		t.Fatalf("the install succeeded with a mismatched binary:\n%s", out)
	}
	if r.restarts() != 0 {
		t.Errorf("the monitor was restarted %d times although its binary could not be installed", r.restarts())
	}
}

// installerEnv runs the installer with a fake curl on PATH that plays IMDS
// and Blob storage, logging its command lines and the headers it reads from
// stdin.
type installerEnv struct {
	dir, bin, tmp string
	blob          []byte
	env           []string
}

const fakeToken = "tok-3f9a7c-never-on-a-command-line"

const fakeCurl = `#!/bin/bash
printf '%s\n' "$*" >> "$FAKE_DIR/argv.log"
out=; url=
while [ $# -gt 0 ]; do
	case "$1" in
	-o) out=$2; shift 2 ;;
	-H) if [ "$2" = "@-" ]; then cat >> "$FAKE_DIR/stdin-headers.log"; else printf '%s\n' "$2" >> "$FAKE_DIR/headers.log"; fi; shift 2 ;;
	--max-time|--proto|--noproxy) shift 2 ;;
	http://*|https://*) url=$1; shift ;;
	*) shift ;;
	esac
done
case "$url" in
http://127.0.0.1:9414/readyz)
	[ ! -e "$FAKE_DIR/not-ready" ] || { echo "curl: (22) 503" >&2; exit 22; } ;;
http://169.254.169.254/metadata/identity/oauth2/token*)
	n=$(cat "$FAKE_DIR/imds-failures" 2>/dev/null || echo 0)
	if [ "$n" -gt 0 ]; then echo $((n - 1)) > "$FAKE_DIR/imds-failures"; echo "curl: (7) Failed to connect" >&2; exit 7; fi
	printf '{"access_token":"%s","expires_in":"86399","resource":"https://storage.azure.com/","token_type":"Bearer"}' "$FAKE_TOKEN" ;;
https://*)
	grep -q "^Authorization: Bearer $FAKE_TOKEN\$" "$FAKE_DIR/stdin-headers.log" || { echo "curl: (22) 403" >&2; exit 22; }
	cp "$FAKE_DIR/blob" "$out" ;;
*) echo "fake curl: unexpected URL $url" >&2; exit 3 ;;
esac
`

func newInstallerEnv(t *testing.T, blob []byte) *installerEnv {
	t.Helper()
	for _, tool := range []string{"bash", "python3", "sha256sum"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("the installer needs %s: %v", tool, err)
		}
	}
	dir := t.TempDir()
	e := &installerEnv{dir: dir, bin: filepath.Join(dir, "bin", "nva-monitor"), tmp: filepath.Join(dir, "download"), blob: blob}
	if err := os.MkdirAll(filepath.Join(dir, "path"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(e.bin), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "path", "curl"), []byte(fakeCurl), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "blob"), blob, 0o644); err != nil {
		t.Fatal(err)
	}
	e.env = append(os.Environ(), "PATH="+filepath.Join(dir, "path")+":"+os.Getenv("PATH"), "FAKE_DIR="+dir, "FAKE_TOKEN="+fakeToken)
	return e
}

func (e *installerEnv) run(t *testing.T, want string, extraEnv ...string) (string, error) {
	t.Helper()
	b := monitorInstall{BlobURL: "https://hanvaabc.blob.core.windows.net/hanva/nva-monitor/" + want, SHA256: want, Config: []byte("x: 1\n")}
	cmd := exec.Command("bash", "-c", b.installer(e.bin, e.tmp))
	cmd.Env = append(e.env, extraEnv...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func (e *installerEnv) file(name string) string {
	b, _ := os.ReadFile(filepath.Join(e.dir, name))
	return string(b)
}

func sumOf(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

func TestInstallerInstallsTheBinaryWhoseHashIsPinned(t *testing.T) {
	blob := []byte("nva-monitor bytes")
	e := newInstallerEnv(t, blob)
	out, err := e.run(t, sumOf(blob))
	if err != nil {
		t.Fatalf("installer: %v\n%s", err, out)
	}
	got, err := os.ReadFile(e.bin)
	if err != nil || string(got) != string(blob) {
		t.Fatalf("installed binary = %q (%v), want the blob", got, err)
	}
	if fi, _ := os.Stat(e.bin); fi.Mode().Perm() != 0o755 {
		t.Errorf("installed binary mode = %v, want 0755", fi.Mode().Perm())
	}
	if _, err := os.Stat(e.tmp); !os.IsNotExist(err) {
		t.Errorf("the download %s is left behind", e.tmp)
	}
	if h := e.file("headers.log"); !strings.Contains(h, "Metadata: true") {
		t.Errorf("IMDS was asked without Metadata: true (headers %q)", h)
	}
	stdinHeaders := e.file("stdin-headers.log")
	for _, want := range []string{"Authorization: Bearer " + fakeToken + "\n", "x-ms-version: 2021-08-06\n"} {
		if !strings.Contains(stdinHeaders, want) {
			t.Errorf("the blob request lacks header %q (got %q)", want, stdinHeaders)
		}
	}
	if argv := e.file("argv.log"); strings.Contains(argv, fakeToken) {
		t.Errorf("the token appears on a curl command line:\n%s", argv)
	}
	if strings.Contains(out, fakeToken) {
		t.Errorf("the installer printed the token:\n%s", out)
	}
}

func TestInstallerRefusesABinaryWithAnotherHash(t *testing.T) {
	e := newInstallerEnv(t, []byte("a binary someone swapped in"))
	out, err := e.run(t, sumOf([]byte("the binary that was deployed")), "HANVA_INSTALL_MAX_ATTEMPTS=1")
	if err == nil {
		t.Fatalf("the installer succeeded with a mismatched binary:\n%s", out)
	}
	if !strings.Contains(out, "refusing to install it") {
		t.Errorf("the installer does not say it refused:\n%s", out)
	}
	if _, err := os.Stat(e.bin); !os.IsNotExist(err) {
		t.Error("a binary with the wrong hash was installed")
	}
	if _, err := os.Stat(e.tmp); !os.IsNotExist(err) {
		t.Error("the mismatched download is left behind")
	}
}

func TestInstallerRetriesUntilIMDSAnswers(t *testing.T) {
	blob := []byte("nva-monitor bytes")
	e := newInstallerEnv(t, blob)
	if err := os.WriteFile(filepath.Join(e.dir, "imds-failures"), []byte("1"), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := e.run(t, sumOf(blob), "HANVA_INSTALL_MAX_ATTEMPTS=3")
	if err != nil {
		t.Fatalf("installer: %v\n%s", err, out)
	}
	if !strings.Contains(out, "no storage token from IMDS yet") {
		t.Errorf("the first, failed attempt is not logged:\n%s", out)
	}
	if _, err := os.Stat(e.bin); err != nil {
		t.Errorf("not installed after IMDS answered: %v", err)
	}
}

func TestInstallerDoesNothingWhenThePinnedBinaryIsInstalled(t *testing.T) {
	blob := []byte("nva-monitor bytes")
	e := newInstallerEnv(t, blob)
	if err := os.WriteFile(e.bin, blob, 0o755); err != nil {
		t.Fatal(err)
	}
	out, err := e.run(t, sumOf(blob))
	if err != nil {
		t.Fatalf("installer: %v\n%s", err, out)
	}
	if argv := e.file("argv.log"); argv != "" {
		t.Errorf("the installer called curl although the binary is in place:\n%s", argv)
	}
}
