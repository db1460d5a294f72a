// Package pulumitest runs Pulumi programs and components under mocks (no
// Pulumi CLI, no Azure) and records every resource they register, with its
// type, name, inputs, parent and resource options (ignoreChanges,
// dependencies), so tests can assert on what would be deployed.
//
// Usage:
//
//	m := pulumitest.NewMocks()
//	err := pulumi.RunErr(func(ctx *pulumi.Context) error {
//		_, err := components.NewNetwork(ctx, "net", &components.NetworkArgs{...})
//		return err
//	}, pulumi.WithMocks("hanva", "test", m))
//	vnet := m.One(t, "azure-native:network:VirtualNetwork")
//	prefixes := vnet.Inputs["addressSpace"] ...
//
// The mocks give every Azure resource a well-formed ARM resource ID
// (/subscriptions/00000000-.../resourceGroups/<rg>/providers/<Provider>/<type>/<name>)
// and fill the outputs Azure would compute that hanva reads: a public IP's
// ipAddress, a VM's identity.principalId, a storage account's blob endpoint,
// a NIC's private IPs.
package pulumitest

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// Subscription is the subscription ID of every mocked resource ID.
const Subscription = "00000000-0000-0000-0000-000000000000"

// Resource is one registered resource.
type Resource struct {
	Type          string // e.g. azure-native:network:RouteTable, hanva:index:Network
	Name          string // logical name
	ID            string // the ID the mock gave it ("" for components)
	Custom        bool
	Parent        string // parent URN
	Inputs        resource.PropertyMap
	IgnoreChanges []string
	DependsOn     []string
	Protect       bool
	// ReplaceOnChanges and DeleteBeforeReplace are the replacement options.
	ReplaceOnChanges    []string
	DeleteBeforeReplace bool
}

// Mocks records registered resources; safe for concurrent use.
type Mocks struct {
	mu        sync.Mutex
	resources []Resource
	// PublicIPAddress is what mocked public IPs get as ipAddress.
	PublicIPAddress string
	// dynamicIPs counts the private IPs given to NIC IP configurations
	// that have none (dynamic allocation).
	dynamicIPs atomic.Int64
}

// NewMocks returns empty mocks.
func NewMocks() *Mocks { return &Mocks{PublicIPAddress: "20.0.0.1"} }

// armTypes maps azure-native type tokens to ARM provider/type segments.
var armTypes = map[string]string{
	"azure-native:resources:ResourceGroup":                          "",
	"azure-native:network:VirtualNetwork":                           "Microsoft.Network/virtualNetworks",
	"azure-native:network:Subnet":                                   "Microsoft.Network/virtualNetworks/subnets",
	"azure-native:network:NetworkInterface":                         "Microsoft.Network/networkInterfaces",
	"azure-native:network:NetworkSecurityGroup":                     "Microsoft.Network/networkSecurityGroups",
	"azure-native:network:PublicIPAddress":                          "Microsoft.Network/publicIPAddresses",
	"azure-native:network:RouteTable":                               "Microsoft.Network/routeTables",
	"azure-native:network:Route":                                    "Microsoft.Network/routeTables/routes",
	"azure-native:network:LoadBalancer":                             "Microsoft.Network/loadBalancers",
	"azure-native:network:PrivateZone":                              "Microsoft.Network/privateDnsZones",
	"azure-native:network:PrivateRecordSet":                         "Microsoft.Network/privateDnsZones",
	"azure-native:network:VirtualNetworkLink":                       "Microsoft.Network/privateDnsZones/virtualNetworkLinks",
	"azure-native:compute:VirtualMachine":                           "Microsoft.Compute/virtualMachines",
	"azure-native:compute:AvailabilitySet":                          "Microsoft.Compute/availabilitySets",
	"azure-native:compute:VirtualMachineRunCommandByVirtualMachine": "Microsoft.Compute/virtualMachines/runCommands",
	"azure-native:storage:StorageAccount":                           "Microsoft.Storage/storageAccounts",
	"azure-native:storage:BlobContainer":                            "Microsoft.Storage/storageAccounts/blobServices/containers",
	"azure-native:storage:Blob":                                     "Microsoft.Storage/storageAccounts/blobServices/containers/blobs",
	"azure-native:authorization:RoleDefinition":                     "Microsoft.Authorization/roleDefinitions",
	"azure-native:authorization:RoleAssignment":                     "Microsoft.Authorization/roleAssignments",
	"azure-native:managedidentity:UserAssignedIdentity":             "Microsoft.ManagedIdentity/userAssignedIdentities",
}

// nameKeys are the inputs that carry a resource's Azure name, by type.
var nameKeys = []string{"relativeRecordSetName", "virtualNetworkLinkName", "privateZoneName", "networkInterfaceName", "routeTableName", "publicIpAddressName", "virtualNetworkName",
	"networkSecurityGroupName", "loadBalancerName", "vmName", "availabilitySetName", "accountName",
	"containerName", "blobName", "roleDefinitionId", "roleAssignmentName", "resourceName", "subnetName"}

// NewResource implements pulumi.MockResourceMonitor.
func (m *Mocks) NewResource(args pulumi.MockResourceArgs) (string, resource.PropertyMap, error) {
	r := Resource{Type: args.TypeToken, Name: args.Name, Custom: args.Custom, Inputs: args.Inputs}
	if rpc := args.RegisterRPC; rpc != nil {
		r.Parent = rpc.GetParent()
		r.IgnoreChanges = append(r.IgnoreChanges, rpc.GetIgnoreChanges()...)
		r.DependsOn = append(r.DependsOn, rpc.GetDependencies()...)
		r.Protect = rpc.GetProtect()
		r.ReplaceOnChanges = append(r.ReplaceOnChanges, rpc.GetReplaceOnChanges()...)
		r.DeleteBeforeReplace = rpc.GetDeleteBeforeReplace()
	}
	outputs := args.Inputs.Copy()
	if args.Custom {
		r.ID = m.armID(args)
		outputs["id"] = resource.NewStringProperty(r.ID)
		outputs["name"] = resource.NewStringProperty(azureName(args))
		m.computed(args, r.ID, outputs)
	}
	m.mu.Lock()
	m.resources = append(m.resources, r)
	m.mu.Unlock()
	return r.ID, outputs, nil
}

// Call implements pulumi.MockResourceMonitor: invokes echo their arguments.
func (m *Mocks) Call(args pulumi.MockCallArgs) (resource.PropertyMap, error) {
	return args.Args, nil
}

func azureName(args pulumi.MockResourceArgs) string {
	for _, k := range nameKeys {
		if v, ok := args.Inputs[resource.PropertyKey(k)]; ok && v.IsString() && v.StringValue() != "" {
			return v.StringValue()
		}
	}
	return args.Name
}

func str(p resource.PropertyMap, key string) string {
	if v, ok := p[resource.PropertyKey(key)]; ok && v.IsString() {
		return v.StringValue()
	}
	return ""
}

func (m *Mocks) armID(args pulumi.MockResourceArgs) string {
	name := azureName(args)
	rg := str(args.Inputs, "resourceGroupName")
	typ, known := armTypes[args.TypeToken]
	switch {
	case args.TypeToken == "azure-native:resources:ResourceGroup":
		return fmt.Sprintf("/subscriptions/%s/resourceGroups/%s", Subscription, name)
	case strings.HasPrefix(args.TypeToken, "azure-native:authorization:"):
		scope := str(args.Inputs, "scope")
		if scope == "" {
			scope = "/subscriptions/" + Subscription
		}
		return fmt.Sprintf("%s/providers/%s/%s", scope, typ, name)
	case !known:
		parts := strings.Split(args.TypeToken, ":")
		typ = "Mock." + parts[len(parts)-2] + "/" + strings.ToLower(parts[len(parts)-1][:1]) + parts[len(parts)-1][1:] + "s"
	}
	if rg == "" {
		rg = "rg"
	}
	// Child resources (subnets, containers) put their parents' names in between.
	segs := strings.Split(typ, "/")
	path := segs[0] + "/" + segs[1] + "/"
	switch args.TypeToken {
	case "azure-native:network:Subnet":
		path += str(args.Inputs, "virtualNetworkName") + "/subnets/"
	case "azure-native:network:Route":
		path += str(args.Inputs, "routeTableName") + "/routes/"
	case "azure-native:network:PrivateRecordSet":
		path += str(args.Inputs, "privateZoneName") + "/" + str(args.Inputs, "recordType") + "/"
	case "azure-native:network:VirtualNetworkLink":
		path += str(args.Inputs, "privateZoneName") + "/virtualNetworkLinks/"
	case "azure-native:storage:BlobContainer":
		path += str(args.Inputs, "accountName") + "/blobServices/default/containers/"
	case "azure-native:storage:Blob":
		path += str(args.Inputs, "accountName") + "/blobServices/default/containers/" + str(args.Inputs, "containerName") + "/blobs/"
	}
	return fmt.Sprintf("/subscriptions/%s/resourceGroups/%s/providers/%s%s", Subscription, rg, path, name)
}

// computed fills the outputs Azure computes that hanva reads.
func (m *Mocks) computed(args pulumi.MockResourceArgs, id string, out resource.PropertyMap) {
	switch args.TypeToken {
	case "azure-native:network:PublicIPAddress":
		out["ipAddress"] = resource.NewStringProperty(m.PublicIPAddress)
	case "azure-native:compute:VirtualMachine":
		out["identity"] = resource.NewObjectProperty(resource.PropertyMap{
			"type":        resource.NewStringProperty("SystemAssigned"),
			"principalId": resource.NewStringProperty("principal-" + azureName(args)),
			"tenantId":    resource.NewStringProperty(Subscription),
		})
		// Azure's unique ID of the VM: new with every VM created, so it is
		// derived from the URN here (a re-created VM gets another in Azure).
		sum := sha256.Sum256([]byte(args.Name + "\x00" + azureName(args)))
		h := hex.EncodeToString(sum[:16])
		out["vmId"] = resource.NewStringProperty(h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32])
	case "azure-native:storage:StorageAccount":
		out["primaryEndpoints"] = resource.NewObjectProperty(resource.PropertyMap{
			"blob": resource.NewStringProperty("https://" + azureName(args) + ".blob.core.windows.net/"),
		})
	case "azure-native:network:NetworkInterface":
		// Dynamically allocated IP configurations get an address from
		// 10.255.0.0/16, as Azure would give them one from their subnet.
		if v, ok := out["ipConfigurations"]; ok && v.IsArray() {
			var cfgs []resource.PropertyValue
			for _, c := range v.ArrayValue() {
				if c.IsObject() && str(c.ObjectValue(), "privateIPAddress") == "" {
					o := c.ObjectValue().Copy()
					n := m.dynamicIPs.Add(1)
					o["privateIPAddress"] = resource.NewStringProperty(fmt.Sprintf("10.255.%d.%d", n/250, n%250+4))
					c = resource.NewObjectProperty(o)
				}
				cfgs = append(cfgs, c)
			}
			out["ipConfigurations"] = resource.NewArrayProperty(cfgs)
		}
	case "azure-native:network:VirtualNetwork":
		// Inline subnets get their IDs.
		if v, ok := out["subnets"]; ok && v.IsArray() {
			var subs []resource.PropertyValue
			for _, s := range v.ArrayValue() {
				if !s.IsObject() {
					subs = append(subs, s)
					continue
				}
				o := s.ObjectValue().Copy()
				o["id"] = resource.NewStringProperty(id + "/subnets/" + str(o, "name"))
				subs = append(subs, resource.NewObjectProperty(o))
			}
			out["subnets"] = resource.NewArrayProperty(subs)
		}
	}
}

// All returns every recorded resource, in registration order.
func (m *Mocks) All() []Resource {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]Resource(nil), m.resources...)
}

// OfType returns the resources of a type token, sorted by name.
func (m *Mocks) OfType(typ string) []Resource {
	var out []Resource
	for _, r := range m.All() {
		if r.Type == typ {
			out = append(out, r)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Named returns the resource with a logical name, or fails the test.
func (m *Mocks) Named(t testing.TB, name string) Resource {
	t.Helper()
	for _, r := range m.All() {
		if r.Name == name {
			return r
		}
	}
	t.Fatalf("no resource named %q was registered", name)
	return Resource{}
}

// One returns the single resource of a type, or fails the test.
func (m *Mocks) One(t testing.TB, typ string) Resource {
	t.Helper()
	rs := m.OfType(typ)
	if len(rs) != 1 {
		t.Fatalf("%d resources of type %s, want exactly 1", len(rs), typ)
	}
	return rs[0]
}

// Types counts the registered resources by type.
func (m *Mocks) Types() map[string]int {
	out := map[string]int{}
	for _, r := range m.All() {
		out[r.Type]++
	}
	return out
}

// Get walks a property path ("ipConfigurations", 0, "properties", ...)
// through a property map; nil if absent.
func Get(p resource.PropertyMap, path ...any) *resource.PropertyValue {
	cur := resource.NewObjectProperty(p)
	for _, step := range path {
		switch s := step.(type) {
		case string:
			if !cur.IsObject() {
				return nil
			}
			v, ok := cur.ObjectValue()[resource.PropertyKey(s)]
			if !ok {
				return nil
			}
			cur = v
		case int:
			if !cur.IsArray() || s >= len(cur.ArrayValue()) {
				return nil
			}
			cur = cur.ArrayValue()[s]
		default:
			return nil
		}
		if cur.IsSecret() {
			cur = cur.SecretValue().Element
		}
		if cur.IsOutput() {
			cur = cur.OutputValue().Element
		}
	}
	return &cur
}

// String returns the string at a path, or "".
func String(p resource.PropertyMap, path ...any) string {
	v := Get(p, path...)
	if v == nil || !v.IsString() {
		return ""
	}
	return v.StringValue()
}
