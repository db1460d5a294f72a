package components

import (
	"bytes"
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

// storageAPIVersion is sent as x-ms-version with the bearer token; Blob
// storage refuses OAuth without 2017-11-09 or later
// (https://learn.microsoft.com/rest/api/storageservices/authorize-with-azure-active-directory).
const storageAPIVersion = "2021-08-06"

// imdsStorageTokenURL asks the Instance Metadata Service for a token for
// Azure Storage for the VM's system-assigned identity
// (docs/azure-behaviour.md#managed-identity-storage).
const imdsStorageTokenURL = "http://169.254.169.254/metadata/identity/oauth2/token?api-version=2018-02-01&resource=https://storage.azure.com/"

// monitorInstall is what one monitor VM needs to run nva-monitor: the
// binary (by URL and pinned hash) and its config. It is rendered as the
// script of a managed run command on the VM (see NewMonitor), not as custom
// data: Azure runs a managed run command again whenever it is updated, while
// custom data is only read at provisioning and cannot be changed
// (docs/deploy.md, "Upgrading the monitors").
type monitorInstall struct {
	Instance string // the monitor instance (and VM) name
	VMID     string // the VM's unique ID: a re-created VM changes the script, so Azure runs it there too
	BlobURL  string // https URL of the nva-monitor blob
	SHA256   string // the binary's SHA-256, lower-case hex: nothing else is installed
	Config   []byte // the monitor's YAML configuration
	Listen   string // host:port of the monitor's HTTP endpoint, for /readyz
}

// Heredoc delimiters of the install script; the quoted form ('EOF') keeps
// the shell from expanding anything inside.
const (
	configDelimiter  = "HANVA_CONFIG_EOF"
	installDelimiter = "HANVA_INSTALL_EOF"
	unitDelimiter    = "HANVA_UNIT_EOF"
)

// monitorReadyTimeout bounds how long the install script waits for the
// restarted monitor's /readyz (it has read Azure and finished a probe
// round). On a first deployment the VM's new role assignments may take
// minutes to apply; a monitor that is not ready by then fails the run
// command, so Pulumi stops before touching the next monitor.
const monitorReadyTimeout = 900

// monitorInstallAttempts bounds the download attempts (backing off to a
// minute: about 20 minutes), within monitorRunCommandTimeout.
const monitorInstallAttempts = 25

var (
	monitorBlobURLRE  = regexp.MustCompile(`^https://[A-Za-z0-9.-]+(:[0-9]+)?/[A-Za-z0-9._/-]+$`)
	monitorSHA256RE   = regexp.MustCompile(`^[0-9a-f]{64}$`)
	monitorListenRE   = regexp.MustCompile(`^[A-Za-z0-9.:\[\]-]+:[0-9]+$`)
	monitorInstanceRE = regexp.MustCompile(`^[A-Za-z0-9-]+$`)
	monitorVMIDRE     = regexp.MustCompile(`^[A-Za-z0-9-]*$`)
)

// script renders the install as a bash script that the run command runs as
// root. It creates the service user, installs the pinned binary (the
// installer fetches a Storage token from IMDS, downloads the blob over https
// and checks the SHA-256 before installing), the config (0600, owned by the
// service user) and the systemd unit, and restarts nva-monitor only if one
// of them changed. A restart stops the daemon with SIGTERM: a leader
// releases the lease as it exits and a follower takes it within a second
// (its acquire retry period). The script then waits for the new daemon's
// /readyz and fails if it does not get there, which fails the run command
// (treatFailureAsDeploymentFailure) and stops `pulumi up` before the next
// monitor.
func (b monitorInstall) script() (string, error) {
	switch {
	case !monitorInstanceRE.MatchString(b.Instance):
		return "", fmt.Errorf("render monitor install: instance %q is not a VM name", b.Instance)
	case !monitorVMIDRE.MatchString(b.VMID):
		return "", fmt.Errorf("render monitor install: VM ID %q is not a GUID", b.VMID)
	case !monitorBlobURLRE.MatchString(b.BlobURL):
		return "", fmt.Errorf("render monitor install: blob URL %q is not a plain https URL", b.BlobURL)
	case !monitorSHA256RE.MatchString(b.SHA256):
		return "", fmt.Errorf("render monitor install: %q is not a lower-case hex SHA-256", b.SHA256)
	case !monitorListenRE.MatchString(b.Listen):
		return "", fmt.Errorf("render monitor install: listen address %q is not host:port", b.Listen)
	case len(bytes.TrimSpace(b.Config)) == 0:
		return "", errors.New("render monitor install: the monitor config is empty")
	}
	for _, line := range strings.Split(string(b.Config), "\n") {
		if strings.TrimSpace(line) == configDelimiter {
			return "", fmt.Errorf("render monitor install: the config contains the line %q that ends its heredoc", configDelimiter)
		}
	}
	return b.render("", monitorReadyTimeout), nil
}

// render fills installScript in, with every absolute path under root ("" on
// a VM; a temporary directory in tests, which run the script) and the wait
// for readiness bounded by readyTimeout seconds.
func (b monitorInstall) render(root string, readyTimeout int) string {
	cfg := string(b.Config)
	if !strings.HasSuffix(cfg, "\n") {
		cfg += "\n"
	}
	return strings.NewReplacer(
		"@@CONFIG@@", cfg,
		"@@INSTALLER@@", b.installer(root+monitorBinaryPath, root+monitorDownloadPath),
		"@@CONFIG_PATH@@", root+monitorConfigPath,
		"@@BIN@@", root+monitorBinaryPath,
		"@@ROOT@@", root,
		"@@UNIT_BIN@@", monitorBinaryPath,
		"@@UNIT_CONFIG@@", monitorConfigPath,
		"@@USER@@", monitorUser,
		"@@INSTANCE@@", b.Instance,
		"@@VMID@@", b.VMID,
		"@@SHA256@@", b.SHA256,
		"@@LISTEN@@", b.Listen,
		"@@READY_TIMEOUT@@", fmt.Sprint(readyTimeout),
		"@@ATTEMPTS@@", fmt.Sprint(monitorInstallAttempts),
	).Replace(installScript)
}

// installer renders installerScript for the binary at bin, downloading to
// tmp (tests run it with other paths).
func (b monitorInstall) installer(bin, tmp string) string {
	return strings.NewReplacer(
		"@@BLOB_URL@@", b.BlobURL,
		"@@SHA256@@", b.SHA256,
		"@@IMDS@@", imdsStorageTokenURL,
		"@@X_MS_VERSION@@", storageAPIVersion,
		"@@BIN@@", bin,
		"@@TMP@@", tmp,
	).Replace(installerScript)
}

// installScript is the run command's script. @@INSTALLER@@ is
// installerScript; every heredoc is quoted, so nothing in the config is
// expanded.
const installScript = `#!/bin/bash
# hanva: install or upgrade nva-monitor on monitor VM @@INSTANCE@@.
# A managed run command: Azure runs it when it is created and again whenever
# it changes (a new binary, config or unit, or a re-created VM), and
# ` + "`pulumi up`" + ` changes one monitor's at a time, each after the previous
# one is ready again.
# VM ID: @@VMID@@
# nva-monitor SHA-256: @@SHA256@@
# Nothing in this file is a credential: the token comes from IMDS at run time.
set -euo pipefail
set +x
umask 077

log() { printf 'hanva: %s\n' "$*" >&2; }

if ! id -u @@USER@@ >/dev/null 2>&1; then
	useradd --system --user-group --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin @@USER@@
fi
install -d -m 0750 -o root -g @@USER@@ @@ROOT@@/etc/hanva
install -d -m 0700 -o root -g root @@ROOT@@/var/lib/hanva

cat > @@ROOT@@/usr/local/sbin/hanva-install.new <<'` + installDelimiter + `'
@@INSTALLER@@` + installDelimiter + `
chmod 0700 @@ROOT@@/usr/local/sbin/hanva-install.new
mv -f @@ROOT@@/usr/local/sbin/hanva-install.new @@ROOT@@/usr/local/sbin/hanva-install

changed=

# The binary: downloaded and installed only if the pinned one is not there.
if [ ! -x @@BIN@@ ] || [ "$(sha256sum @@BIN@@ | cut -d' ' -f1)" != '@@SHA256@@' ]; then
	HANVA_INSTALL_MAX_ATTEMPTS=${HANVA_INSTALL_MAX_ATTEMPTS:-@@ATTEMPTS@@} @@ROOT@@/usr/local/sbin/hanva-install
	changed="$changed binary"
fi

cat > @@CONFIG_PATH@@.staged <<'` + configDelimiter + `'
@@CONFIG@@` + configDelimiter + `
if cmp -s @@CONFIG_PATH@@.staged @@CONFIG_PATH@@; then
	rm -f @@CONFIG_PATH@@.staged
else
	chown @@USER@@:@@USER@@ @@CONFIG_PATH@@.staged
	chmod 0600 @@CONFIG_PATH@@.staged
	mv -f @@CONFIG_PATH@@.staged @@CONFIG_PATH@@
	changed="$changed config"
fi

cat > @@ROOT@@/etc/systemd/system/nva-monitor.service.staged <<'` + unitDelimiter + `'
[Unit]
Description=hanva nva-monitor: probes the NVAs, fails over route tables and public IPs
Documentation=https://github.com/hanva/hanva
Wants=network-online.target
After=network-online.target

[Service]
Type=simple
User=@@USER@@
Group=@@USER@@
ExecStart=@@UNIT_BIN@@ run --config @@UNIT_CONFIG@@
Restart=always
RestartSec=5
# SIGTERM: a leading monitor releases the lease before it exits.
KillSignal=SIGTERM
TimeoutStopSec=30
NoNewPrivileges=yes
PrivateTmp=yes
ProtectSystem=full
ProtectHome=yes

[Install]
WantedBy=multi-user.target
` + unitDelimiter + `
if cmp -s @@ROOT@@/etc/systemd/system/nva-monitor.service.staged @@ROOT@@/etc/systemd/system/nva-monitor.service; then
	rm -f @@ROOT@@/etc/systemd/system/nva-monitor.service.staged
else
	chmod 0644 @@ROOT@@/etc/systemd/system/nva-monitor.service.staged
	mv -f @@ROOT@@/etc/systemd/system/nva-monitor.service.staged @@ROOT@@/etc/systemd/system/nva-monitor.service
	systemctl daemon-reload
	changed="$changed unit"
fi
systemctl enable nva-monitor.service >/dev/null 2>&1

if [ -n "$changed" ] || ! systemctl is-active --quiet nva-monitor.service; then
	log "restarting nva-monitor (changed:${changed:- nothing, it was not running})"
	systemctl restart nva-monitor.service
fi

deadline=$((SECONDS + @@READY_TIMEOUT@@))
until curl --silent --show-error --fail --max-time 2 --noproxy '*' -o /dev/null 'http://@@LISTEN@@/readyz'; do
	if [ "$SECONDS" -ge "$deadline" ]; then
		log "nva-monitor is not ready after @@READY_TIMEOUT@@ s; its last log lines:"
		journalctl -u nva-monitor.service -n 40 --no-pager >&2 || true
		curl --silent --max-time 2 --noproxy '*' 'http://@@LISTEN@@/readyz' >&2 || true
		exit 1
	fi
	sleep 2
done
log "nva-monitor @@SHA256@@ is ready on @@INSTANCE@@"
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
