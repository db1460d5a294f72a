package stack

import (
	"fmt"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// fakeAzure answers the lookups (invokes) the production program makes, from
// tables of existing resources keyed by resource ID, the way the
// azure-native provider reads them from Azure: by resource group and name,
// in the provider's subscription, with Azure's error for a missing one.
type fakeAzure struct {
	Subscription string              // the provider's (getClientConfig)
	VMs          map[string][]string // VM ID -> its NICs' IDs, primary first
	NICs         map[string]fakeNIC
	Subnets      map[string]string // subnet ID -> associated route table ID, "" for none
	RouteTables  map[string][]fakeRoute
}

type fakeNIC struct {
	VM      string // "" when attached to no VM
	NSG     string
	Configs []fakeIPConfig // the first is primary
}

type fakeIPConfig struct{ IP, Subnet string }

type fakeRoute struct{ Name, Prefix, NextHopType, NextHopIP string }

// Tokens of the invokes fakeAzure answers.
const (
	invClientConfig = "azure-native:authorization:getClientConfig"
	invVM           = "azure-native:compute:getVirtualMachine"
	invNIC          = "azure-native:network:getNetworkInterface"
	invSubnet       = "azure-native:network:getSubnet"
	invRouteTable   = "azure-native:network:getRouteTable"
)

// prodVM is the ID of an existing NVA VM.
func prodVM(name string) string {
	return prodSub + "/resourceGroups/rg-net/providers/Microsoft.Compute/virtualMachines/" + name
}

func prodSubnet(name string) string { return prodVNet + "/subnets/" + name }

func prodRouteTable(name string) string { return prodNet + "/routeTables/" + name }

// prodAzure is the existing estate of productionConfig: two NVA VMs with an
// external and an internal NIC each (fw1 also a management NIC), and the
// monitors' subnet dmz-internal with a route table that sends on-premises
// traffic through fw-1 (which the monitors do not need).
func prodAzure() *fakeAzure {
	ext, in, mgmt := prodSubnet("dmz-external"), prodSubnet("dmz-internal"), prodSubnet("mgmt")
	return &fakeAzure{
		Subscription: strings.TrimPrefix(prodSub, "/subscriptions/"),
		VMs: map[string][]string{
			prodVM("fw1"): {prodNIC("fw1-ext"), prodNIC("fw1-int"), prodNIC("fw1-mgmt")},
			prodVM("fw2"): {prodNIC("fw2-ext"), prodNIC("fw2-int")},
		},
		NICs: map[string]fakeNIC{
			prodNIC("fw1-ext"):  {VM: prodVM("fw1"), NSG: prodNet + "/networkSecurityGroups/fw-ext", Configs: []fakeIPConfig{{"10.1.0.4", ext}}},
			prodNIC("fw1-int"):  {VM: prodVM("fw1"), Configs: []fakeIPConfig{{"10.1.0.36", in}}},
			prodNIC("fw1-mgmt"): {VM: prodVM("fw1"), Configs: []fakeIPConfig{{"10.1.0.68", mgmt}}},
			prodNIC("fw2-ext"):  {VM: prodVM("fw2"), NSG: prodNet + "/networkSecurityGroups/fw-ext", Configs: []fakeIPConfig{{"10.1.0.5", ext}}},
			prodNIC("fw2-int"):  {VM: prodVM("fw2"), Configs: []fakeIPConfig{{"10.1.0.37", in}}},
		},
		Subnets: map[string]string{
			ext: "", mgmt: "",
			in: prodRouteTable("dmz-int-rt"),
		},
		RouteTables: map[string][]fakeRoute{
			prodRouteTable("dmz-int-rt"): {{"onprem", "192.168.0.0/16", "VirtualAppliance", "10.1.0.36"}},
		},
	}
}

// armID is the ID of a resource the provider reads by group and name.
func (az *fakeAzure) armID(group, path string) string {
	return fmt.Sprintf("/subscriptions/%s/resourceGroups/%s/providers/%s", az.Subscription, group, path)
}

// find looks an ID up in a table ignoring case, as ARM does.
func find[V any](table map[string]V, id string) (string, V, bool) {
	for k, v := range table {
		if strings.EqualFold(k, id) {
			return k, v, true
		}
	}
	var zero V
	return "", zero, false
}

func notFound(typ, name, group string) error {
	return fmt.Errorf("ResourceNotFound: The Resource '%s/%s' under resource group '%s' was not found", typ, name, group)
}

// Call answers the invokes of fakeAzure's tokens; ok is false for others.
func (az *fakeAzure) Call(args pulumi.MockCallArgs) (out resource.PropertyMap, ok bool, err error) {
	arg := func(k string) string { return pulumiString(args.Args, k) }
	group := arg("resourceGroupName")
	var v map[string]any
	switch args.Token {
	case invClientConfig:
		v = map[string]any{"subscriptionId": az.Subscription, "tenantId": "22222222-2222-2222-2222-222222222222",
			"clientId": "33333333-3333-3333-3333-333333333333", "objectId": "44444444-4444-4444-4444-444444444444"}
	case invVM:
		id, nics, found := find(az.VMs, az.armID(group, "Microsoft.Compute/virtualMachines/"+arg("vmName")))
		if !found {
			return nil, true, notFound("Microsoft.Compute/virtualMachines", arg("vmName"), group)
		}
		var refs []any
		for i, n := range nics {
			refs = append(refs, map[string]any{"id": n, "primary": i == 0})
		}
		v = map[string]any{"id": id, "name": arg("vmName"), "networkProfile": map[string]any{"networkInterfaces": refs}}
	case invNIC:
		id, nic, found := find(az.NICs, az.armID(group, "Microsoft.Network/networkInterfaces/"+arg("networkInterfaceName")))
		if !found {
			return nil, true, notFound("Microsoft.Network/networkInterfaces", arg("networkInterfaceName"), group)
		}
		var cfgs []any
		for i, c := range nic.Configs {
			cfgs = append(cfgs, map[string]any{"name": fmt.Sprintf("ipconfig%d", i+1), "primary": i == 0,
				"privateIPAddress": c.IP, "privateIPAddressVersion": "IPv4", "subnet": map[string]any{"id": c.Subnet}})
		}
		v = map[string]any{"id": id, "name": arg("networkInterfaceName"), "ipConfigurations": cfgs}
		if nic.VM != "" {
			v["virtualMachine"] = map[string]any{"id": nic.VM}
		}
		if nic.NSG != "" {
			v["networkSecurityGroup"] = map[string]any{"id": nic.NSG}
		}
	case invSubnet:
		path := "Microsoft.Network/virtualNetworks/" + arg("virtualNetworkName") + "/subnets/" + arg("subnetName")
		id, rt, found := find(az.Subnets, az.armID(group, path))
		if !found {
			return nil, true, notFound("Microsoft.Network/virtualNetworks/subnets", arg("virtualNetworkName")+"/"+arg("subnetName"), group)
		}
		v = map[string]any{"id": id, "name": arg("subnetName")}
		if rt != "" {
			v["routeTable"] = map[string]any{"id": rt}
		}
	case invRouteTable:
		id, routes, found := find(az.RouteTables, az.armID(group, "Microsoft.Network/routeTables/"+arg("routeTableName")))
		if !found {
			return nil, true, notFound("Microsoft.Network/routeTables", arg("routeTableName"), group)
		}
		var rs []any
		for _, r := range routes {
			m := map[string]any{"name": r.Name, "addressPrefix": r.Prefix, "nextHopType": r.NextHopType}
			if r.NextHopIP != "" {
				m["nextHopIpAddress"] = r.NextHopIP
			}
			rs = append(rs, m)
		}
		v = map[string]any{"id": id, "name": arg("routeTableName"), "routes": rs}
	default:
		return nil, false, nil
	}
	return resource.NewPropertyMapFromMap(v), true, nil
}

func pulumiString(p resource.PropertyMap, key string) string {
	if v, ok := p[resource.PropertyKey(key)]; ok && v.IsString() {
		return v.StringValue()
	}
	return ""
}
