package stackseed

import (
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/hanva/hanva/components/pulumitest"
	"github.com/hanva/hanva/monitor/config"
	"github.com/hanva/hanva/testenv/armsim"
	"github.com/hanva/hanva/testenv/lab"
)

// Type tokens of the resources the monitor reads or writes.
const (
	typeVNet         = "azure-native:network:VirtualNetwork"
	typePublicIP     = "azure-native:network:PublicIPAddress"
	typeNIC          = "azure-native:network:NetworkInterface"
	typeRouteTable   = "azure-native:network:RouteTable"
	typeLoadBalancer = "azure-native:network:LoadBalancer"
	typePrivateZone  = "azure-native:network:PrivateZone"
	typeRecordSet    = "azure-native:network:PrivateRecordSet"
	// A Private DNS zone's link to a virtual network
	// (azure-native:network:VirtualNetworkLink) is not converted: armsim
	// does not emulate virtualNetworkLinks (its Seed takes a zone's record
	// sets only), and the monitor never reads it; name resolution is not
	// part of the drill.
)

// seedOrder is the order of the converted types: networks, public IPs, the
// NICs that use both, tables, load balancers (their frontends and pool
// members name the VNet), Private DNS zones before their record sets.
var seedOrder = []string{typeVNet, typePublicIP, typeNIC, typeRouteTable, typeLoadBalancer, typePrivateZone, typeRecordSet}

// topLevel are the azure-native inputs that stay outside "properties" in
// ARM JSON; dropped are inputs that only name or place the resource.
var (
	topLevel = map[string]bool{"location": true, "tags": true, "sku": true, "zones": true, "extendedLocation": true}
	dropped  = map[string]bool{"resourceGroupName": true, "virtualNetworkName": true, "networkInterfaceName": true,
		"publicIpAddressName": true, "routeTableName": true, "loadBalancerName": true, "privateZoneName": true,
		"recordType": true, "relativeRecordSetName": true, "id": true, "name": true}
	// children are inline sub-resources: each element's name stays, the
	// rest moves under its own "properties" (recursively: a backend pool's
	// loadBalancerBackendAddresses are children of the pool).
	children = map[string]bool{"subnets": true, "ipConfigurations": true, "routes": true,
		"frontendIPConfigurations": true, "backendAddressPools": true, "probes": true, "loadBalancingRules": true,
		"loadBalancerBackendAddresses": true}
)

// Convert turns what a Pulumi program declared under pulumitest mocks into
// a lab.Stack: the virtual networks, public IPs and route tables, and the
// NVA NICs (with a floating IP's inline ipconfig), load balancers (with
// their inline frontends, HA-ports rule, probe and IP-based backend pool),
// Private DNS zones and A/AAAA record sets the monitor config names become
// armsim seeds (ARM JSON from the recorded inputs, under the IDs the mocks
// gave them); a zone's virtual network links are left out (armsim does
// not emulate them).
// monitorYAML (the config the Monitor component generated, e.g. stack
// output monitorConfig) is parsed with the monitor's own loader into
// Stack.Config; every resource it names (route tables, public IPs, NICs,
// backend pools, DNS record sets, and each floating IP on exactly one NVA
// NIC of its role) must be among the seeds.
func Convert(resources []pulumitest.Resource, monitorYAML string) (*lab.Stack, error) {
	cfg, err := config.Parse([]byte(monitorYAML))
	if err != nil {
		return nil, fmt.Errorf("convert stack: the generated monitor config: %w", err)
	}
	// The NICs, load balancers, zones and record sets the monitor reads or
	// writes; any other of those types (monitor VMs' NICs, the sample web
	// tier's load balancer) has nothing to fail over.
	wanted := map[string]bool{}
	for _, n := range cfg.NVAs {
		for _, id := range n.NICs {
			wanted[strings.ToLower(id)] = true
		}
	}
	for _, bp := range cfg.BackendPools {
		if i := strings.Index(strings.ToLower(bp.ID), "/backendaddresspools/"); i >= 0 {
			wanted[strings.ToLower(bp.ID[:i])] = true
		}
	}
	for _, d := range cfg.DNSRecords {
		wanted[strings.ToLower(d.ID)] = true
		if zone := zoneOf(d.ID); zone != "" {
			wanted[strings.ToLower(zone)] = true
		}
	}
	filtered := map[string]bool{typeNIC: true, typeLoadBalancer: true, typePrivateZone: true, typeRecordSet: true}
	s := &lab.Stack{Config: *cfg}
	found := map[string]bool{}
	bodies := map[string][]byte{} // lower-case ID -> ARM JSON
	for _, typ := range seedOrder {
		for _, r := range resources {
			if r.Type != typ || !r.Custom {
				continue
			}
			if filtered[typ] && !wanted[strings.ToLower(r.ID)] {
				continue
			}
			body, err := armJSON(r)
			if err != nil {
				return nil, fmt.Errorf("convert stack: %s %s: %w", r.Type, r.Name, err)
			}
			s.Resources = append(s.Resources, armsim.SeedResource{ID: r.ID, Body: body})
			found[strings.ToLower(r.ID)] = true
			bodies[strings.ToLower(r.ID)] = body
			if typ == typeLoadBalancer {
				for _, pool := range childNames(body, "backendAddressPools") {
					found[strings.ToLower(r.ID+"/backendAddressPools/"+pool)] = true
				}
			}
		}
	}
	var missing []string
	need := func(id string) {
		if !found[strings.ToLower(id)] {
			missing = append(missing, id)
		}
	}
	for id := range wanted {
		need(id)
	}
	for _, rt := range cfg.RouteTables {
		need(rt.ID)
	}
	for _, pip := range cfg.PublicIPs {
		need(pip.ID)
	}
	for _, bp := range cfg.BackendPools {
		need(bp.ID)
	}
	for _, d := range cfg.DNSRecords {
		need(d.ID)
	}
	if len(missing) > 0 {
		sort.Strings(missing)
		return nil, fmt.Errorf("convert stack: the monitor config names resources the program did not declare (or not inline): %s", strings.Join(missing, ", "))
	}
	for _, f := range cfg.FloatingIPs {
		var on []string
		for _, n := range cfg.NVAs {
			if nic := n.NICs[f.Via]; nic != "" && hasIPConfig(bodies[strings.ToLower(nic)], f.IPConfigName(), f.IP) {
				on = append(on, n.Name)
			}
		}
		if len(on) != 1 {
			return nil, fmt.Errorf("convert stack: floating IP %s (ipconfig %s) is on the %s NIC of %d NVAs (%s); the program must declare it on exactly one",
				f.IP, f.IPConfigName(), f.Via, len(on), strings.Join(on, ", "))
		}
	}
	return s, nil
}

// zoneOf returns the Private DNS zone ID of a record set ID
// (.../privateDnsZones/{zone}/{type}/{name}), or "".
func zoneOf(recordSetID string) string {
	const seg = "/privatednszones/"
	i := strings.Index(strings.ToLower(recordSetID), seg)
	if i < 0 {
		return ""
	}
	rest := strings.Split(recordSetID[i+len(seg):], "/")
	if len(rest) != 3 {
		return ""
	}
	return recordSetID[:i+len(seg)] + rest[0]
}

// childNames returns the names of a converted body's inline sub-resources
// of one kind.
func childNames(body []byte, prop string) []string {
	var b struct {
		Properties map[string][]struct {
			Name string `json:"name"`
		} `json:"properties"`
	}
	if json.Unmarshal(body, &b) != nil {
		return nil
	}
	var out []string
	for _, c := range b.Properties[prop] {
		out = append(out, c.Name)
	}
	return out
}

// hasIPConfig reports whether a converted NIC body has an ipconfig of that
// name with that private address.
func hasIPConfig(body []byte, name, ip string) bool {
	var b struct {
		Properties struct {
			IPConfigurations []struct {
				Name       string `json:"name"`
				Properties struct {
					PrivateIPAddress string `json:"privateIPAddress"`
				} `json:"properties"`
			} `json:"ipConfigurations"`
		} `json:"properties"`
	}
	if json.Unmarshal(body, &b) != nil {
		return false
	}
	for _, c := range b.Properties.IPConfigurations {
		if strings.EqualFold(c.Name, name) && c.Properties.PrivateIPAddress == ip {
			return true
		}
	}
	return false
}

// armJSON reshapes a resource's azure-native inputs (flat) into ARM JSON
// (top-level fields, then "properties", children with their own
// "properties").
func armJSON(r pulumitest.Resource) ([]byte, error) {
	in := r.Inputs.Mappable()
	out := map[string]any{}
	props := map[string]any{}
	for k, v := range in {
		switch {
		case dropped[k]:
		case topLevel[k]:
			out[k] = v
		case children[k]:
			cs, err := armChildren(k, v)
			if err != nil {
				return nil, err
			}
			props[k] = cs
		default:
			props[k] = v
		}
	}
	out["properties"] = props
	return json.Marshal(out)
}

// armChildren reshapes a list of inline sub-resources: each keeps its
// name, its other inputs (its own children reshaped too) move under
// "properties".
func armChildren(k string, v any) ([]any, error) {
	list, ok := v.([]any)
	if !ok {
		return nil, fmt.Errorf("input %s is not a list", k)
	}
	var cs []any
	for _, c := range list {
		cm, ok := c.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("an element of %s is not an object", k)
		}
		name, _ := cm["name"].(string)
		if name == "" {
			return nil, errors.New("an element of " + k + " has no name")
		}
		cp := map[string]any{}
		for ck, cv := range cm {
			switch {
			case ck == "name" || ck == "id":
			case children[ck]:
				nested, err := armChildren(k+"."+ck, cv)
				if err != nil {
					return nil, err
				}
				cp[ck] = nested
			default:
				cp[ck] = cv
			}
		}
		cs = append(cs, map[string]any{"name": name, "properties": cp})
	}
	return cs, nil
}
