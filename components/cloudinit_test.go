package components

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

const testConfigYAML = "instance: monitor-1\nnvas: []\n"

func testBootstrap(sum string) monitorBootstrap {
	return monitorBootstrap{
		BlobURL: "https://hanvaabc.blob.core.windows.net/hanva/nva-monitor/" + sum,
		SHA256:  sum,
		Config:  []byte(testConfigYAML),
	}
}

var zeroSum = strings.Repeat("0", 64)

// extractConfig returns the config a bootstrap script writes.
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

func TestBootstrapScriptIsValidBashAndInstallsAUnitThatRestarts(t *testing.T) {
	b := testBootstrap(zeroSum)
	script, err := b.script()
	if err != nil {
		t.Fatal(err)
	}
	for name, text := range map[string]string{"bootstrap": script, "installer": b.installer(monitorBinaryPath, monitorDownloadPath)} {
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
		"chmod 0600 /etc/hanva/nva-monitor.yaml.new\n",
		"chown nva-monitor:nva-monitor /etc/hanva/nva-monitor.yaml.new\n",
		"useradd --system",
		"Restart=always\n",
		"RestartSec=5\n",
		"User=nva-monitor\n",
		"ExecStart=/usr/local/bin/nva-monitor run --config /etc/hanva/nva-monitor.yaml\n",
		"Requires=hanva-install.service\n",
		"WANT_SHA256='" + zeroSum + "'",
		"BLOB_URL='" + b.BlobURL + "'",
		"x-ms-version: 2021-08-06",
		"-H 'Metadata: true'",
		"resource=https://storage.azure.com/",
		"--proto '=https'",
		"systemctl enable hanva-install.service nva-monitor.service\n",
	} {
		if !strings.Contains(script, want) {
			t.Errorf("the bootstrap script lacks %q", want)
		}
	}
	if strings.Contains(script, "set -x") || strings.Contains(script, "xtrace") {
		t.Error("the bootstrap script turns on xtrace, which would print the token")
	}
	if m := secretRE.FindString(script); m != "" {
		t.Errorf("the bootstrap script contains %q, which looks like a secret", m)
	}
}

func TestBootstrapRefusesWhatItCannotEmbedSafely(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit func(*monitorBootstrap)
		want string
	}{
		{"a plain http blob URL", func(b *monitorBootstrap) { b.BlobURL = "http://x.blob.core.windows.net/hanva/b" }, "not a plain https URL"},
		{"a blob URL with a query (a SAS)", func(b *monitorBootstrap) { b.BlobURL += "?sig=abc" }, "not a plain https URL"},
		{"a blob URL with a quote", func(b *monitorBootstrap) { b.BlobURL += "'; rm -rf /" }, "not a plain https URL"},
		{"an upper-case hash", func(b *monitorBootstrap) { b.SHA256 = strings.Repeat("A", 64) }, "SHA-256"},
		{"a short hash", func(b *monitorBootstrap) { b.SHA256 = "abc" }, "SHA-256"},
		{"an empty config", func(b *monitorBootstrap) { b.Config = []byte("\n") }, "config is empty"},
		{"a config line that ends the heredoc", func(b *monitorBootstrap) { b.Config = []byte("a: 1\n" + configDelimiter + "\n") }, "heredoc"},
		{"a config too large for custom data", func(b *monitorBootstrap) {
			b.Config = []byte("# " + strings.Repeat("x", 50000) + "\n")
		}, "over Azure's limit of 65535"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := testBootstrap(zeroSum)
			tc.edit(&b)
			_, err := b.customData()
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("customData() error = %v; want one saying %q", err, tc.want)
			}
		})
	}
}

func TestCustomDataIsTheBase64OfTheScript(t *testing.T) {
	b := testBootstrap(zeroSum)
	enc, err := b.customData()
	if err != nil {
		t.Fatal(err)
	}
	dec, err := base64.StdEncoding.DecodeString(enc)
	if err != nil {
		t.Fatal(err)
	}
	script, _ := b.script()
	if string(dec) != script {
		t.Fatal("the custom data does not decode to the bootstrap script")
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
	b := monitorBootstrap{BlobURL: "https://hanvaabc.blob.core.windows.net/hanva/nva-monitor/" + want, SHA256: want, Config: []byte("x: 1\n")}
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
