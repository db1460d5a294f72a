package components

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"text/template"
)

// maxCustomData is Azure's limit on a VM's custom data: "The maximum length
// of the binary array is 65535 bytes" (OSProfile.customData;
// docs/azure-behaviour.md#vm-custom-data).
const maxCustomData = 65535

// nvaSample holds what one sample NVA's cloud-init needs.
type nvaSample struct {
	Name            string
	ExternalIP      string // the NIC the public IP lands on (Azure delivers PIP traffic to this private IP)
	InternalIP      string
	InternalGateway string // host 1 of the internal subnet: Azure's gateway there
	ForwardTo       string // "" = no DNAT
	ProbePort       int
	FloatingIP      string // "" = none; else the floating private IP on the internal NIC
}

// nvaSampleTemplate is the sample NVA: Ubuntu's uncomplicated firewall (ufw)
// as in mspnp/ha-nva's sample, forwarding on, HTTP (80) arriving at the
// external NIC DNATed to ForwardTo (the sample web tier serves HTTP only) and masqueraded out of the internal NIC (so replies
// come back through the same NVA), the rest of the VNet's outbound traffic
// masqueraded out of the external NIC, and an HTTP 200 responder on the probe
// port. No secrets: custom data is readable on the VM.
var nvaSampleTemplate = template.Must(template.New("nva").Parse(`#cloud-config
# hanva sample NVA {{.Name}}: external {{.ExternalIP}}, internal {{.InternalIP}}, probe port {{.ProbePort}}.
write_files:
  - path: /etc/sysctl.d/60-hanva-nva.conf
    content: |
      net.ipv4.ip_forward=1
  - path: /usr/local/sbin/hanva-nva-routes
    permissions: '0755'
    content: |
      #!/bin/sh
      # Runs at every boot (hanva-nva-routes.service).
      set -eu
      sysctl -q -w net.ipv4.ip_forward=1
{{- if .FloatingIP}}
      # Answer for the floating IP {{.FloatingIP}} on the internal NIC. Azure
      # gives a VM only its primary address by DHCP; a secondary ipconfig's
      # address must be added to the OS by hand, and Azure delivers its
      # traffic only to the VM whose NIC holds the ipconfig at the time (the
      # monitor moves it to the active NVA). So every NVA configures it, and
      # only the active one receives it. An appliance must do the same:
      # accept (and forward for) the floating address on its internal
      # interface. ("Assign multiple IP addresses to virtual machines",
      # https://learn.microsoft.com/azure/virtual-network/ip-services/virtual-network-multiple-ip-addresses-portal,
      # and "Add IP addresses to a VM operating system",
      # https://learn.microsoft.com/azure/virtual-network/ip-services/virtual-network-multiple-ip-addresses-os-config.)
      dev=$(ip -o -4 addr show | awk '$4 ~ /^{{.InternalIP}}\// {print $2; exit}')
      ip addr replace {{.FloatingIP}}/32 dev "$dev"
{{- end}}
{{- if .ForwardTo}}
      # Reach the forwarding target through the internal NIC, so the
      # masqueraded source is the internal IP and replies return here.
      ip route replace {{.ForwardTo}}/32 via {{.InternalGateway}}
{{- end}}
  - path: /etc/systemd/system/hanva-nva-routes.service
    content: |
      [Unit]
      Description=hanva sample NVA: forwarding and routes
      Wants=network-online.target
      After=network-online.target
      [Service]
      Type=oneshot
      RemainAfterExit=yes
      ExecStart=/usr/local/sbin/hanva-nva-routes
      [Install]
      WantedBy=multi-user.target
  - path: /var/lib/hanva-probe/index.html
    content: |
      ok
  - path: /etc/systemd/system/hanva-probe.service
    content: |
      [Unit]
      Description=hanva sample NVA: health probe responder (HTTP 200 on port {{.ProbePort}})
      Wants=network-online.target
      After=network-online.target
      [Service]
      DynamicUser=yes
      AmbientCapabilities=CAP_NET_BIND_SERVICE
      ExecStart=/usr/bin/python3 -m http.server {{.ProbePort}} --bind 0.0.0.0 --directory /var/lib/hanva-probe
      Restart=always
      RestartSec=2
      [Install]
      WantedBy=multi-user.target
  - path: /etc/ufw/before.rules
    append: true
    content: |
      # hanva sample NVA: NAT rules (loaded by ufw at boot).
      *nat
      :PREROUTING ACCEPT [0:0]
      :POSTROUTING ACCEPT [0:0]
{{- if .ForwardTo}}
      -A PREROUTING -d {{.ExternalIP}}/32 -p tcp --dport 80 -j DNAT --to-destination {{.ForwardTo}}
      -A POSTROUTING -d {{.ForwardTo}}/32 -p tcp --dport 80 -j MASQUERADE
{{- end}}
      -A POSTROUTING -d 10.0.0.0/8 -j RETURN
      -A POSTROUTING -d 172.16.0.0/12 -j RETURN
      -A POSTROUTING -d 192.168.0.0/16 -j RETURN
      -A POSTROUTING -d 168.63.129.16/32 -j RETURN
      -A POSTROUTING -d 169.254.0.0/16 -j RETURN
      -A POSTROUTING -j MASQUERADE
      COMMIT
runcmd:
  - sysctl --system
  - sed -i 's/^DEFAULT_FORWARD_POLICY=.*/DEFAULT_FORWARD_POLICY="ACCEPT"/' /etc/default/ufw
  - sed -i 's|^#*net/ipv4/ip_forward=.*|net/ipv4/ip_forward=1|' /etc/ufw/sysctl.conf
  - ufw allow 22/tcp
  - ufw allow {{.ProbePort}}/tcp
  - ufw --force enable
  - systemctl daemon-reload
  - systemctl enable --now hanva-nva-routes.service hanva-probe.service
`))

// render returns the sample NVA's cloud-init document.
func (s nvaSample) render() (string, error) {
	var b bytes.Buffer
	if err := nvaSampleTemplate.Execute(&b, s); err != nil {
		return "", fmt.Errorf("render the sample NVA cloud-init: %w", err)
	}
	return b.String(), nil
}

// encodeNvaCustomData base64-encodes custom data for a VM and refuses data
// over Azure's limit.
func encodeNvaCustomData(field, data string) (string, error) {
	if len(data) > maxCustomData {
		return "", fmt.Errorf("components: NvaPairArgs.%s: %d bytes of custom data; Azure allows at most %d", field, len(data), maxCustomData)
	}
	return base64.StdEncoding.EncodeToString([]byte(data)), nil
}
