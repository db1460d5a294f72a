package components_test

import (
	"strings"
	"sync"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/hanva/hanva/components"
	"github.com/hanva/hanva/components/pulumitest"
)

// runMocked runs fn as a Pulumi program under the shared mocks and returns
// what was registered and the program's error.
func runMocked(t *testing.T, fn pulumi.RunFunc) (*pulumitest.Mocks, error) {
	t.Helper()
	m := pulumitest.NewMocks()
	err := pulumi.RunErr(fn, pulumi.WithMocks("hanva", "test", m))
	return m, err
}

// outputs collects resolved output values. Call capture inside the program;
// read the values after pulumi.RunErr returned (it waits for the applies).
type outputs struct {
	mu sync.Mutex
	v  map[string]any
}

func (o *outputs) capture(key string, out pulumi.Output) {
	out.ApplyT(func(v any) any {
		o.mu.Lock()
		defer o.mu.Unlock()
		if o.v == nil {
			o.v = map[string]any{}
		}
		o.v[key] = v
		return v
	})
}

func (o *outputs) get(t *testing.T, key string) any {
	t.Helper()
	o.mu.Lock()
	defer o.mu.Unlock()
	v, ok := o.v[key]
	if !ok {
		t.Fatalf("output %q never resolved", key)
	}
	return v
}

func (o *outputs) str(t *testing.T, key string) string {
	t.Helper()
	s, ok := o.get(t, key).(string)
	if !ok {
		t.Fatalf("output %q is %T, not a string", key, o.get(t, key))
	}
	return s
}

// assertParented fails unless every resource other than the stack and the
// component itself is a child of the component typ named name.
func assertParented(t *testing.T, m *pulumitest.Mocks, typ, name string) {
	t.Helper()
	children := 0
	for _, r := range m.All() {
		if r.Type == "pulumi:pulumi:Stack" || (r.Type == typ && r.Name == name) {
			continue
		}
		children++
		p := resource.URN(r.Parent)
		if !p.IsValid() || string(p.Type()) != typ || p.Name() != name {
			t.Errorf("%s %q has parent %q, want the %s %q", r.Type, r.Name, r.Parent, typ, name)
		}
		if !strings.HasPrefix(r.Name, name+"-") {
			t.Errorf("%s %q is not named %q+\"-<role>\"", r.Type, r.Name, name)
		}
	}
	if children == 0 {
		t.Errorf("the %s registered no children", typ)
	}
}

func assertNothingRegistered(t *testing.T, m *pulumitest.Mocks) {
	t.Helper()
	for _, r := range m.All() {
		if r.Type != "pulumi:pulumi:Stack" {
			t.Errorf("a refused component registered %s %q", r.Type, r.Name)
		}
	}
}

func rg() pulumi.StringInput { return pulumi.String("rg-hanva") }

// subnetsOf returns the VNet's inline subnets by name.
func subnetsOf(t *testing.T, vnet pulumitest.Resource) map[string]resource.PropertyMap {
	t.Helper()
	v := pulumitest.Get(vnet.Inputs, "subnets")
	if v == nil || !v.IsArray() {
		t.Fatalf("the VNet has no inline subnets: %v", vnet.Inputs)
	}
	out := map[string]resource.PropertyMap{}
	for _, s := range v.ArrayValue() {
		o := s.ObjectValue()
		out[pulumitest.String(o, "name")] = o
	}
	return out
}

func TestNetworkDefaultsToTheSeedsAddressPlan(t *testing.T) {
	var out outputs
	var net *components.Network
	m, err := runMocked(t, func(ctx *pulumi.Context) error {
		var err error
		net, err = components.NewNetwork(ctx, "net", &components.NetworkArgs{ResourceGroupName: rg()})
		if err != nil {
			return err
		}
		out.capture("vnet", net.VNetID)
		out.capture(components.SubnetDmzExternal, net.DmzExternalSubnetID)
		out.capture(components.SubnetDmzInternal, net.DmzInternalSubnetID)
		out.capture(components.SubnetWeb, net.WebSubnetID)
		out.capture(components.SubnetMgmt, net.MgmtSubnetID)
		return nil
	})
	if err != nil {
		t.Fatalf("NewNetwork: %v", err)
	}

	m.One(t, components.NetworkType)
	vnet := m.One(t, "azure-native:network:VirtualNetwork")
	if got := pulumitest.String(vnet.Inputs, "addressSpace", "addressPrefixes", 0); got != "10.0.0.0/16" {
		t.Errorf("address space = %q, want 10.0.0.0/16", got)
	}
	if n := len(pulumitest.Get(vnet.Inputs, "addressSpace", "addressPrefixes").ArrayValue()); n != 1 {
		t.Errorf("%d address prefixes, want 1", n)
	}
	if got := pulumitest.String(vnet.Inputs, "tags", "managed-by"); got != "hanva" {
		t.Errorf("VNet tag managed-by = %q, want hanva", got)
	}
	if got := pulumitest.String(vnet.Inputs, "resourceGroupName"); got != "rg-hanva" {
		t.Errorf("VNet resource group = %q", got)
	}
	if n := len(m.OfType("azure-native:network:Subnet")); n != 0 {
		t.Errorf("%d standalone Subnet resources; the subnets must be inline in the VNet", n)
	}

	want := map[string]string{
		"dmz-external": "10.0.0.64/27",
		"dmz-internal": "10.0.0.96/27",
		"web":          "10.0.1.0/24",
		"mgmt":         "10.0.0.128/25",
	}
	subs := subnetsOf(t, vnet)
	if len(subs) != 4 {
		t.Errorf("%d subnets, want 4: %v", len(subs), subs)
	}
	for name, prefix := range want {
		if got := pulumitest.String(subs[name], "addressPrefix"); got != prefix {
			t.Errorf("subnet %s prefix = %q, want %q", name, got, prefix)
		}
		if rt := pulumitest.Get(subs[name], "routeTable"); rt != nil {
			t.Errorf("subnet %s has a route table %v without SubnetRouteTables", name, rt)
		}
		if got := net.Prefixes[name]; got != prefix {
			t.Errorf("Prefixes[%q] = %q, want %q", name, got, prefix)
		}
		if got := out.str(t, name); got != vnet.ID+"/subnets/"+name {
			t.Errorf("subnet ID output for %s = %q, want %q", name, got, vnet.ID+"/subnets/"+name)
		}
	}
	if net.Prefixes["vnet"] != "10.0.0.0/16" {
		t.Errorf(`Prefixes["vnet"] = %q`, net.Prefixes["vnet"])
	}
	if got := out.str(t, "vnet"); got != vnet.ID {
		t.Errorf("VNetID = %q, want %q", got, vnet.ID)
	}
	assertParented(t, m, components.NetworkType, "net")
}

func TestNetworkTakesEveryPrefixAndAssociatesRouteTables(t *testing.T) {
	const rtID = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network/routeTables/web-udr"
	m, err := runMocked(t, func(ctx *pulumi.Context) error {
		_, err := components.NewNetwork(ctx, "net", &components.NetworkArgs{
			ResourceGroupName: rg(),
			Location:          pulumi.String("westeurope"),
			AddressSpace:      "172.20.0.0/20",
			DmzExternalPrefix: "172.20.0.0/28",
			DmzInternalPrefix: "172.20.0.16/28",
			WebPrefix:         "172.20.4.0/22",
			MgmtPrefix:        "172.20.1.0/29",
			SubnetRouteTables: map[string]pulumi.StringInput{components.SubnetWeb: pulumi.String(rtID)},
		})
		return err
	})
	if err != nil {
		t.Fatalf("NewNetwork: %v", err)
	}
	vnet := m.One(t, "azure-native:network:VirtualNetwork")
	if got := pulumitest.String(vnet.Inputs, "location"); got != "westeurope" {
		t.Errorf("location = %q", got)
	}
	if got := pulumitest.String(vnet.Inputs, "addressSpace", "addressPrefixes", 0); got != "172.20.0.0/20" {
		t.Errorf("address space = %q", got)
	}
	subs := subnetsOf(t, vnet)
	for name, prefix := range map[string]string{"dmz-external": "172.20.0.0/28", "dmz-internal": "172.20.0.16/28", "web": "172.20.4.0/22", "mgmt": "172.20.1.0/29"} {
		if got := pulumitest.String(subs[name], "addressPrefix"); got != prefix {
			t.Errorf("subnet %s prefix = %q, want %q", name, got, prefix)
		}
	}
	if got := pulumitest.String(subs["web"], "routeTable", "id"); got != rtID {
		t.Errorf("web subnet route table = %q, want %q", got, rtID)
	}
	for _, name := range []string{"dmz-external", "dmz-internal", "mgmt"} {
		if rt := pulumitest.Get(subs[name], "routeTable"); rt != nil {
			t.Errorf("subnet %s got route table %v; only web was associated", name, rt)
		}
	}
}

func TestNetworkRefusesBadPrefixesNamingTheField(t *testing.T) {
	tests := []struct {
		name   string
		args   components.NetworkArgs
		errHas []string
	}{
		{
			name:   "a web subnet overlapping the mgmt subnet",
			args:   components.NetworkArgs{WebPrefix: "10.0.0.128/26"},
			errHas: []string{"NetworkArgs.MgmtPrefix", "overlaps", "WebPrefix"},
		},
		{
			name:   "two DMZ subnets on the same range",
			args:   components.NetworkArgs{DmzInternalPrefix: "10.0.0.64/27"},
			errHas: []string{"NetworkArgs.DmzInternalPrefix", "overlaps", "DmzExternalPrefix"},
		},
		{
			name:   "a subnet outside the address space",
			args:   components.NetworkArgs{WebPrefix: "192.168.1.0/24"},
			errHas: []string{"NetworkArgs.WebPrefix", "not inside the address space 10.0.0.0/16"},
		},
		{
			name:   "a subnet larger than the address space",
			args:   components.NetworkArgs{AddressSpace: "10.0.0.0/24", DmzExternalPrefix: "10.0.0.0/23"},
			errHas: []string{"NetworkArgs.DmzExternalPrefix", "not inside"},
		},
		{
			name:   "an address space that does not parse",
			args:   components.NetworkArgs{AddressSpace: "10.0.0.0"},
			errHas: []string{"NetworkArgs.AddressSpace", "parse prefix"},
		},
		{
			name:   "a subnet smaller than a /29",
			args:   components.NetworkArgs{MgmtPrefix: "10.0.0.128/30"},
			errHas: []string{"NetworkArgs.MgmtPrefix", "/29"},
		},
		{
			name:   "a subnet prefix with host bits set",
			args:   components.NetworkArgs{DmzExternalPrefix: "10.0.0.70/27"},
			errHas: []string{"NetworkArgs.DmzExternalPrefix", "10.0.0.64/27"},
		},
		{
			name:   "a route table for a subnet that does not exist",
			args:   components.NetworkArgs{SubnetRouteTables: map[string]pulumi.StringInput{"backend": pulumi.String("x")}},
			errHas: []string{"NetworkArgs.SubnetRouteTables", `"backend"`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := runMocked(t, func(ctx *pulumi.Context) error {
				args := tt.args
				args.ResourceGroupName = rg()
				_, err := components.NewNetwork(ctx, "net", &args)
				return err
			})
			if err == nil {
				t.Fatal("NewNetwork succeeded, want an error")
			}
			for _, s := range tt.errHas {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q does not mention %q", err, s)
				}
			}
			assertNothingRegistered(t, m)
		})
	}
}

func TestNetworkRequiresAResourceGroup(t *testing.T) {
	m, err := runMocked(t, func(ctx *pulumi.Context) error {
		_, err := components.NewNetwork(ctx, "net", &components.NetworkArgs{})
		return err
	})
	if err == nil || !strings.Contains(err.Error(), "NetworkArgs.ResourceGroupName") {
		t.Fatalf("error = %v, want one naming NetworkArgs.ResourceGroupName", err)
	}
	assertNothingRegistered(t, m)
}
