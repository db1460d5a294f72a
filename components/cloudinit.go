package components

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"regexp"
	"strings"
)

// Where the monitor VMs keep things (README "Commands": --config defaults to
// /etc/hanva/nva-monitor.yaml).
const (
	monitorConfigPath = "/etc/hanva/nva-monitor.yaml"
	monitorBinaryPath = "/usr/local/bin/nva-monitor"
	// monitorDownloadPath is where the installer downloads to, in a
	// root-only directory, before checking the hash.
	monitorDownloadPath = "/var/lib/hanva/nva-monitor.download"
	monitorUser         = "nva-monitor" // the service account the daemon runs as
)

// customDataLimit is Azure's limit on osProfile.customData: "The maximum
// length of the binary array is 65535 bytes"
// (docs/azure-behaviour.md#vm-custom-data). The
// base64 text is checked, the larger of the two, so both fit.
const customDataLimit = 65535

// storageAPIVersion is sent as x-ms-version with the bearer token; Blob
// storage refuses OAuth without 2017-11-09 or later
// (https://learn.microsoft.com/rest/api/storageservices/authorize-with-azure-active-directory).
const storageAPIVersion = "2021-08-06"

// imdsStorageTokenURL asks the Instance Metadata Service for a token for
// Azure Storage for the VM's system-assigned identity
// (docs/azure-behaviour.md#managed-identity-storage).
const imdsStorageTokenURL = "http://169.254.169.254/metadata/identity/oauth2/token?api-version=2018-02-01&resource=https://storage.azure.com/"

// monitorBootstrap is what one monitor VM needs at first boot.
type monitorBootstrap struct {
	BlobURL string // https URL of the nva-monitor blob
	SHA256  string // the binary's SHA-256, lower-case hex: nothing else is installed
	Config  []byte // the monitor's YAML configuration
}

// Heredoc delimiters of the bootstrap script; the quoted form ('EOF') keeps
// the shell from expanding anything inside.
const (
	configDelimiter  = "HANVA_CONFIG_EOF"
	installDelimiter = "HANVA_INSTALL_EOF"
	unitDelimiter    = "HANVA_UNIT_EOF"
)

var (
	monitorBlobURLRE = regexp.MustCompile(`^https://[A-Za-z0-9.-]+(:[0-9]+)?/[A-Za-z0-9._/-]+$`)
	monitorSHA256RE  = regexp.MustCompile(`^[0-9a-f]{64}$`)
)

// script renders the bootstrap as a bash script that cloud-init runs once,
// as root, at first boot. It creates the service user, writes the config
// (0600, owned by that user), the installer and two systemd units, and
// starts them. The installer (hanva-install.service, every boot until the
// pinned binary is in place) fetches a Storage token from IMDS, downloads the
// blob with it over https, checks the SHA-256 and only then installs the
// binary; nva-monitor.service runs it as the service user and restarts it
// whenever it stops.
func (b monitorBootstrap) script() (string, error) {
	switch {
	case !monitorBlobURLRE.MatchString(b.BlobURL):
		return "", fmt.Errorf("render monitor cloud-init: blob URL %q is not a plain https URL", b.BlobURL)
	case !monitorSHA256RE.MatchString(b.SHA256):
		return "", fmt.Errorf("render monitor cloud-init: %q is not a lower-case hex SHA-256", b.SHA256)
	case len(bytes.TrimSpace(b.Config)) == 0:
		return "", errors.New("render monitor cloud-init: the monitor config is empty")
	}
	cfg := string(b.Config)
	if !strings.HasSuffix(cfg, "\n") {
		cfg += "\n"
	}
	for _, line := range strings.Split(cfg, "\n") {
		if strings.TrimSpace(line) == configDelimiter {
			return "", fmt.Errorf("render monitor cloud-init: the config contains the line %q that ends its heredoc", configDelimiter)
		}
	}
	installer := b.installer(monitorBinaryPath, monitorDownloadPath)
	return strings.NewReplacer(
		"@@CONFIG@@", cfg,
		"@@INSTALLER@@", installer,
		"@@CONFIG_PATH@@", monitorConfigPath,
		"@@BIN@@", monitorBinaryPath,
		"@@USER@@", monitorUser,
	).Replace(bootstrapScript), nil
}

// installer renders installerScript for the binary at bin, downloading to
// tmp (tests run it with other paths).
func (b monitorBootstrap) installer(bin, tmp string) string {
	return strings.NewReplacer(
		"@@BLOB_URL@@", b.BlobURL,
		"@@SHA256@@", b.SHA256,
		"@@IMDS@@", imdsStorageTokenURL,
		"@@X_MS_VERSION@@", storageAPIVersion,
		"@@BIN@@", bin,
		"@@TMP@@", tmp,
	).Replace(installerScript)
}

// customData returns the script base64-encoded for osProfile.customData,
// refusing one over Azure's limit.
func (b monitorBootstrap) customData() (string, error) {
	s, err := b.script()
	if err != nil {
		return "", err
	}
	enc := base64.StdEncoding.EncodeToString([]byte(s))
	if len(enc) > customDataLimit {
		return "", fmt.Errorf("render monitor cloud-init: custom data is %d bytes base64-encoded, over Azure's limit of %d; "+
			"the monitor config (%d bytes) is too large", len(enc), customDataLimit, len(b.Config))
	}
	return enc, nil
}

// bootstrapScript is the custom data. @@INSTALLER@@ is installerScript;
// every heredoc is quoted, so nothing in the config is expanded.
const bootstrapScript = `#!/bin/bash
# hanva monitor VM bootstrap. cloud-init runs this once, as root, at first
# boot: it writes the nva-monitor config and two systemd units and starts
# them. hanva-install.service then downloads nva-monitor with this VM's
# managed identity and installs it only if its SHA-256 is the pinned one.
# Nothing in this file is a credential: the token comes from IMDS at run time.
set -euo pipefail
set +x
umask 077

if ! id -u @@USER@@ >/dev/null 2>&1; then
	useradd --system --user-group --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin @@USER@@
fi
install -d -m 0750 -o root -g @@USER@@ /etc/hanva
install -d -m 0700 -o root -g root /var/lib/hanva

cat > @@CONFIG_PATH@@.new <<'` + configDelimiter + `'
@@CONFIG@@` + configDelimiter + `
chown @@USER@@:@@USER@@ @@CONFIG_PATH@@.new
chmod 0600 @@CONFIG_PATH@@.new
mv -f @@CONFIG_PATH@@.new @@CONFIG_PATH@@

cat > /usr/local/sbin/hanva-install <<'` + installDelimiter + `'
@@INSTALLER@@` + installDelimiter + `
chmod 0700 /usr/local/sbin/hanva-install

cat > /etc/systemd/system/hanva-install.service <<'` + unitDelimiter + `'
[Unit]
Description=hanva: install nva-monitor from Azure Storage (managed identity, pinned SHA-256)
Wants=network-online.target
After=network-online.target

[Service]
Type=oneshot
RemainAfterExit=yes
ExecStart=/usr/local/sbin/hanva-install
TimeoutStartSec=infinity

[Install]
WantedBy=multi-user.target
` + unitDelimiter + `
chmod 0644 /etc/systemd/system/hanva-install.service

cat > /etc/systemd/system/nva-monitor.service <<'` + unitDelimiter + `'
[Unit]
Description=hanva nva-monitor: probes the NVAs, fails over route tables and public IPs
Documentation=https://github.com/hanva/hanva
Wants=network-online.target
Requires=hanva-install.service
After=network-online.target hanva-install.service

[Service]
Type=simple
User=@@USER@@
Group=@@USER@@
ExecStart=@@BIN@@ run --config @@CONFIG_PATH@@
Restart=always
RestartSec=5
NoNewPrivileges=yes
PrivateTmp=yes
ProtectSystem=full
ProtectHome=yes

[Install]
WantedBy=multi-user.target
` + unitDelimiter + `
chmod 0644 /etc/systemd/system/nva-monitor.service

systemctl daemon-reload
systemctl enable hanva-install.service nva-monitor.service
systemctl start --no-block nva-monitor.service
`

// installerScript becomes /usr/local/sbin/hanva-install. It retries until
// it succeeds, backing off to a minute: at first boot the identity may not be
// ready and a new role assignment can take many minutes to apply
// (docs/azure-behaviour.md#managed-identity-storage). The token lives only
// in a shell variable; it reaches
// curl on stdin (-H @-), never on a command line, never on disk, and is
// never printed; the script never runs with xtrace.
const installerScript = `#!/bin/bash
# Installs nva-monitor from Azure Storage with this VM's managed identity,
# only if its SHA-256 is the one pinned at deployment. Run by
# hanva-install.service at every boot; a no-op once the binary is in place.
set -euo pipefail
set +x
umask 077

BLOB_URL='@@BLOB_URL@@'
WANT_SHA256='@@SHA256@@'
IMDS='@@IMDS@@'
BIN=@@BIN@@
TMP=@@TMP@@
MAX_ATTEMPTS=${HANVA_INSTALL_MAX_ATTEMPTS:-0} # 0: until it succeeds

log() { printf 'hanva-install: %s\n' "$*" >&2; }

if [ -x "$BIN" ] && [ "$(sha256sum "$BIN" | cut -d' ' -f1)" = "$WANT_SHA256" ]; then
	log "nva-monitor $WANT_SHA256 is installed"
	exit 0
fi

# storage_token prints an Azure Storage token of the VM's system-assigned
# identity, for the caller to capture in a variable.
storage_token() {
	local body
	body=$(curl --silent --show-error --fail --max-time 10 --noproxy '*' -H 'Metadata: true' "$IMDS") || return 1
	printf '%s' "$body" | python3 -c 'import json, sys; print(json.load(sys.stdin)["access_token"])'
}

attempt=0
delay=2
while :; do
	attempt=$((attempt + 1))
	if token=$(storage_token); then
		if printf 'Authorization: Bearer %s\nx-ms-version: @@X_MS_VERSION@@\n' "$token" |
			curl --silent --show-error --fail --proto '=https' --tlsv1.2 --max-time 600 -H @- -o "$TMP" "$BLOB_URL"; then
			got=$(sha256sum "$TMP" | cut -d' ' -f1)
			if [ "$got" = "$WANT_SHA256" ]; then
				break
			fi
			log "attempt $attempt: the downloaded binary has SHA-256 $got, not the pinned $WANT_SHA256; refusing to install it"
		else
			log "attempt $attempt: downloading $BLOB_URL failed (a new role assignment can take minutes to apply)"
		fi
	else
		log "attempt $attempt: no storage token from IMDS yet (the managed identity may not be ready)"
	fi
	token=
	rm -f "$TMP"
	if [ "$MAX_ATTEMPTS" -gt 0 ] && [ "$attempt" -ge "$MAX_ATTEMPTS" ]; then
		log "giving up after $attempt attempts; nva-monitor is not installed"
		exit 1
	fi
	sleep "$delay"
	delay=$((delay * 2 > 60 ? 60 : delay * 2))
done
token=
install -m 0755 "$TMP" "$BIN.new"
mv -f "$BIN.new" "$BIN"
rm -f "$TMP"
log "installed nva-monitor $WANT_SHA256"
`
