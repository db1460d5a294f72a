package stackseed

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/hanva/hanva/components/pulumitest"
	"github.com/hanva/hanva/monitor/config"
	"github.com/hanva/hanva/testenv/armsim"
	"github.com/hanva/hanva/testenv/lab"
)

// Type tokens of the resources the monitor reads or writes.
const (
	typeVNet       = "azure-native:network:VirtualNetwork"
	typePublicIP   = "azure-native:network:PublicIPAddress"
	typeNIC        = "azure-native:network:NetworkInterface"
	typeRouteTable = "azure-native:network:RouteTable"
)

// topLevel are the azure-native inputs that stay outside "properties" in
// ARM JSON; dropped are inputs that only name or place the resource.
var (
	topLevel = map[string]bool{"location": true, "tags": true, "sku": true, "zones": true, "extendedLocation": true}
	dropped  = map[string]bool{"resourceGroupName": true, "virtualNetworkName": true, "networkInterfaceName": true,
		"publicIpAddressName": true, "routeTableName": true, "id": true, "name": true}
	// children are inline sub-resources: each element's name stays, the
	// rest moves under its own "properties".
	children = map[string]bool{"subnets": true, "ipConfigurations": true, "routes": true}
)

// Convert turns what a Pulumi program declared under pulumitest mocks into
// a lab.Stack: the virtual networks, public IPs, route tables and the NVA
// NICs the monitor config names become armsim seeds (ARM JSON from the
// recorded inputs, under the IDs the mocks gave them), and monitorYAML (the
// config the Monitor component generated, e.g. stack output monitorConfig)
// is parsed with the monitor's own loader into Stack.Config.
func Convert(resources []pulumitest.Resource, monitorYAML string) (*lab.Stack, error) {
	cfg, err := config.Parse([]byte(monitorYAML))
	if err != nil {
		return nil, fmt.Errorf("convert stack: the generated monitor config: %w", err)
	}
	wanted := map[string]bool{}
	for _, n := range cfg.NVAs {
		for _, id := range n.NICs {
			wanted[strings.ToLower(id)] = true
		}
	}
	s := &lab.Stack{Config: *cfg}
	found := map[string]bool{}
	// Seeding order: networks, public IPs, the NICs that use both, tables.
	for _, typ := range []string{typeVNet, typePublicIP, typeNIC, typeRouteTable} {
		for _, r := range resources {
			if r.Type != typ || !r.Custom {
				continue
			}
			if typ == typeNIC && !wanted[strings.ToLower(r.ID)] {
				continue // monitor VMs' NICs and the like: nothing to fail over
			}
			body, err := armJSON(r)
			if err != nil {
				return nil, fmt.Errorf("convert stack: %s %s: %w", r.Type, r.Name, err)
			}
			s.Resources = append(s.Resources, armsim.SeedResource{ID: r.ID, Body: body})
			found[strings.ToLower(r.ID)] = true
		}
	}
	var missing []string
	for id := range wanted {
		if !found[id] {
			missing = append(missing, id)
		}
	}
	for _, rt := range cfg.RouteTables {
		if !found[strings.ToLower(rt.ID)] {
			missing = append(missing, rt.ID)
		}
	}
	for _, pip := range cfg.PublicIPs {
		if !found[strings.ToLower(pip.ID)] {
			missing = append(missing, pip.ID)
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("convert stack: the monitor config names resources the program did not declare (or not inline): %s", strings.Join(missing, ", "))
	}
	return s, nil
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
					if ck != "name" && ck != "id" {
						cp[ck] = cv
					}
				}
				cs = append(cs, map[string]any{"name": name, "properties": cp})
			}
			props[k] = cs
		default:
			props[k] = v
		}
	}
	out["properties"] = props
	return json.Marshal(out)
}
