package testenv

import (
	"html"
	"strings"
)

// webCloudInitTemplate is the cloud-config of a web VM. VMNAME is replaced
// by the VM's name (HTML-escaped), which the test page shows so that a
// client sees which web VM the load balancer picked.
//
// The web subnet's default route goes through the NVAs, which may still be
// booting when the web VMs are: the package install is retried for up to 30
// minutes instead of relying on cloud-init's one-shot `packages` module.
// apache2's postinst keeps an existing /var/www/html/index.html, but the page
// is copied in after the install anyway so that it always wins.
const webCloudInitTemplate = `#cloud-config
# hanva sample web server VMNAME: Apache serving a page that names this VM.
write_files:
  - path: /usr/local/share/hanva/index.html
    permissions: "0644"
    content: |
      <!doctype html>
      <title>hanva sample: VMNAME</title>
      <h1>hanva sample web server VMNAME</h1>
      <p>Served by VMNAME behind the internal load balancer, through the active NVA.</p>
  - path: /usr/local/sbin/hanva-web-setup
    permissions: "0755"
    content: |
      #!/bin/sh
      # Install Apache and the test page; retry while the NVAs do not forward yet.
      export DEBIAN_FRONTEND=noninteractive
      n=0
      until apt-get update -q && apt-get install -y -q apache2; do
        n=$((n + 1))
        if [ "$n" -ge 180 ]; then
          echo "hanva-web-setup: apache2 not installed after 30 minutes" >&2
          exit 1
        fi
        sleep 10
      done
      install -m 0644 /usr/local/share/hanva/index.html /var/www/html/index.html
      systemctl enable --now apache2
runcmd:
  - [/usr/local/sbin/hanva-web-setup]
`

// webCloudInit returns the cloud-config of the web VM vmName.
func webCloudInit(vmName string) string {
	return strings.ReplaceAll(webCloudInitTemplate, "VMNAME", html.EscapeString(vmName))
}
