package sim

import (
	"fmt"
	"strings"
)

// The simulated topology: a hub VNet with an internal and an external
// subnet, N NVAs with a NIC in each, R route tables whose NVA routes go over
// the internal NICs, one public IP on the active NVA's external NIC.
const (
	subscription = "00000000-0000-0000-0000-0000000005a1"
	netPath      = "/subscriptions/" + subscription + "/resourceGroups/rg-sim/providers/Microsoft.Network"
	vnetID       = netPath + "/virtualNetworks/vnet-hub"
	pipID        = netPath + "/publicIPAddresses/pip-fw"
	armHost      = "management.sim.test"
	storeHost    = "simstore.blob.core.windows.net"
	containerURL = "https://" + storeHost + "/hanva"
	leaderBlob   = "leader"
)

type nvaSpec struct {
	name           string
	intNIC, extNIC string // resource IDs
	intIP, extIP   string
}

func nvaSpecs(n int) []nvaSpec {
	out := make([]nvaSpec, n)
	for i := range out {
		name := fmt.Sprintf("nva-%d", i+1)
		out[i] = nvaSpec{
			name:   name,
			intNIC: netPath + "/networkInterfaces/" + name + "-int",
			extNIC: netPath + "/networkInterfaces/" + name + "-ext",
			intIP:  fmt.Sprintf("10.0.1.%d", 4+i),
			extIP:  fmt.Sprintf("10.0.2.%d", 4+i),
		}
	}
	return out
}

func routeTableID(i int) string { return fmt.Sprintf("%s/routeTables/rt-%02d", netPath, i) }

// seeds returns the resources to seed armsim with, by ID: every table and
// the public IP on nvas[0] (or on no NIC, and not managed, with noPIP).
func seeds(nvas []nvaSpec, tables int, noPIP bool) [][2]string {
	var out [][2]string
	add := func(id, body string) { out = append(out, [2]string{id, body}) }
	add(vnetID, `{"location":"westeurope","properties":{"addressSpace":{"addressPrefixes":["10.0.0.0/16"]},
		"subnets":[{"name":"internal","properties":{"addressPrefix":"10.0.1.0/24"}},
		           {"name":"external","properties":{"addressPrefix":"10.0.2.0/24"}}]}}`)
	add(pipID, `{"location":"westeurope","sku":{"name":"Standard","tier":"Regional"},
		"properties":{"ipAddress":"20.1.2.3","publicIPAllocationMethod":"Static","publicIPAddressVersion":"IPv4"}}`)
	nic := func(id, subnet, ip, extra string) {
		add(id, `{"location":"westeurope","tags":{"owner":"netops"},
			"properties":{"enableIPForwarding":true,"enableAcceleratedNetworking":true,
			"dnsSettings":{"dnsServers":["10.0.0.10"]},
			"ipConfigurations":[{"name":"ipconfig1","properties":{"primary":true,"privateIPAddress":"`+ip+`",
				"privateIPAllocationMethod":"Static","subnet":{"id":"`+vnetID+`/subnets/`+subnet+`"}`+extra+`}}]}}`)
	}
	for i, n := range nvas {
		nic(n.intNIC, "internal", n.intIP, "")
		extra := ""
		if i == 0 && !noPIP {
			extra = `,"publicIPAddress":{"id":"` + pipID + `"}`
		}
		nic(n.extNIC, "external", n.extIP, extra)
	}
	for i := range tables {
		add(routeTableID(i), `{"location":"westeurope","tags":{"owner":"netops","env":"sim"},
			"properties":{"disableBgpRoutePropagation":true,"routes":[
			{"name":"default","properties":{"addressPrefix":"0.0.0.0/0","nextHopType":"VirtualAppliance","nextHopIpAddress":"`+nvas[0].intIP+`"}},
			{"name":"spokes","properties":{"addressPrefix":"10.8.0.0/16","nextHopType":"VirtualAppliance","nextHopIpAddress":"`+nvas[0].intIP+`"}},
			{"name":"internet","properties":{"addressPrefix":"20.0.0.0/8","nextHopType":"Internet"}},
			{"name":"scanner","properties":{"addressPrefix":"10.9.0.0/16","nextHopType":"VirtualAppliance","nextHopIpAddress":"10.0.1.99"}}]}}`)
	}
	return out
}

// configYAML is one monitor's configuration.
func configYAML(instance string, monitors []string, nvas []nvaSpec, tables int, noPIP bool, t timing) string {
	var b strings.Builder
	fmt.Fprintf(&b, "instance: %s\nmonitors:\n", instance)
	for _, m := range monitors {
		fmt.Fprintf(&b, "  - %s\n", m)
	}
	fmt.Fprintf(&b, `quorum: majority
viewInterval: %s
lease:
  kind: blob
  url: %s/%s
  duration: %s
armEndpoint: https://%s/
probe:
  interval: %s
  timeout: %s
  failureThreshold: %d
  successThreshold: %d
minFailoverInterval: %s
reconcileInterval: %s
pollInterval: %s
operationTimeout: %s
log:
  level: debug
nvas:
`, t.view, containerURL, leaderBlob, t.lease, armHost, t.interval, t.timeout, t.failures, t.successes,
		t.antiFlap, t.reconcile, t.poll, t.operation)
	for _, n := range nvas {
		fmt.Fprintf(&b, "  - name: %s\n    probe:\n      address: \"%s:22\"\n    nics:\n      internal: %s\n      external: %s\n",
			n.name, n.intIP, n.intNIC, n.extNIC)
	}
	b.WriteString("routeTables:\n")
	for i := range tables {
		fmt.Fprintf(&b, "  - id: %s\n    via: internal\n", routeTableID(i))
	}
	if !noPIP {
		fmt.Fprintf(&b, "publicIps:\n  - id: %s\n    via: external\n", pipID)
	}
	return b.String()
}
