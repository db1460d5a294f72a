package components

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/hanva/hanva/components/pulumitest"
	"github.com/hanva/hanva/monitor/config"
)

func runHaNva(t *testing.T, args *HaNvaArgs) (*pulumitest.Mocks, error) {
	t.Helper()
	m := pulumitest.NewMocks()
	err := pulumi.RunErr(func(ctx *pulumi.Context) error {
		_, err := NewHaNva(ctx, "ha", args)
		return err
	}, pulumi.WithMocks("hanva", "test", m))
	return m, err
}

func sampleHaNvaArgs(t *testing.T) *HaNvaArgs {
	bin, _ := writeFakeBinary(t)
	return &HaNvaArgs{
		ResourceGroupName: pulumi.String("rg-hanva"),
		Location:          pulumi.String("westeurope"),
		SSHPublicKey:      pulumi.String(monSSHKey),
		ForwardTo:         "10.0.1.10",
		MonitorBinaryPath: bin,
	}
}

// TestHaNvaComposesTheSeedTopology checks the whole composition: the
// resources by type, the web subnet on the route table, and a monitor config
// that names exactly the NICs, route table and public IP that were created.
func TestHaNvaComposesTheSeedTopology(t *testing.T) {
	m, err := runHaNva(t, sampleHaNvaArgs(t))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]int{
		HaNvaType:                                   1,
		NetworkType:                                 1,
		"azure-native:network:VirtualNetwork":       1,
		"azure-native:network:RouteTable":           1,
		"azure-native:network:PublicIPAddress":      1,
		"azure-native:compute:VirtualMachine":       4, // 2 NVAs, 2 monitors
		"azure-native:network:NetworkInterface":     6, // 2 per NVA, 1 per monitor
		"azure-native:storage:StorageAccount":       1,
		"azure-native:authorization:RoleDefinition": 2, // the monitors' role and their self-check role
	}
	got := m.Types()
	for typ, n := range want {
		if got[typ] != n {
			t.Errorf("%d resources of type %s, want %d", got[typ], typ, n)
		}
	}

	rt := m.One(t, "azure-native:network:RouteTable")
	vnet := m.One(t, "azure-native:network:VirtualNetwork")
	subnets := pulumitest.Get(vnet.Inputs, "subnets")
	webOnTable := false
	for i := range subnets.ArrayValue() {
		if pulumitest.String(vnet.Inputs, "subnets", i, "name") == SubnetWeb {
			webOnTable = pulumitest.String(vnet.Inputs, "subnets", i, "routeTable", "id") == rt.ID
		} else if pulumitest.String(vnet.Inputs, "subnets", i, "routeTable", "id") != "" {
			t.Errorf("subnet %s is associated with a route table; only web should be", pulumitest.String(vnet.Inputs, "subnets", i, "name"))
		}
	}
	if !webOnTable {
		t.Errorf("the web subnet is not associated with the route table %s", rt.ID)
	}
	if hop := pulumitest.String(rt.Inputs, "routes", 0, "nextHopIpAddress"); hop != "10.0.0.100" {
		t.Errorf("the default route goes to %q, want the first NVA's internal IP 10.0.0.100", hop)
	}

	// The config the monitors run with names exactly what was created.
	var nvaNICs []string
	for _, nic := range m.OfType("azure-native:network:NetworkInterface") {
		if strings.Contains(nic.Name, "nva") {
			nvaNICs = append(nvaNICs, nic.ID)
		}
	}
	pip := m.One(t, "azure-native:network:PublicIPAddress")
	var monitors []pulumitest.Resource
	for _, vm := range m.OfType("azure-native:compute:VirtualMachine") {
		if strings.Contains(vm.Name, "monitor") {
			monitors = append(monitors, vm)
		}
	}
	if len(monitors) != 2 {
		t.Fatalf("%d monitor VMs, want 2", len(monitors))
	}
	script := installScriptOf(t, installsOf(t, m)[0])
	cfg, err := config.Parse([]byte(extractConfig(t, script)))
	if err != nil {
		t.Fatalf("the monitor refuses the generated config: %v", err)
	}
	var cfgNICs []string
	for _, n := range cfg.NVAs {
		for _, id := range n.NICs {
			cfgNICs = append(cfgNICs, id)
		}
	}
	sort.Strings(cfgNICs)
	sort.Strings(nvaNICs)
	if !slices.Equal(cfgNICs, nvaNICs) {
		t.Errorf("config NICs %v, want the created NVA NICs %v", cfgNICs, nvaNICs)
	}
	if len(cfg.RouteTables) != 1 || cfg.RouteTables[0].ID != rt.ID || cfg.RouteTables[0].Via != RoleInternal {
		t.Errorf("config route tables %+v, want %s via internal", cfg.RouteTables, rt.ID)
	}
	if len(cfg.PublicIPs) != 1 || cfg.PublicIPs[0].ID != pip.ID || cfg.PublicIPs[0].Via != RoleExternal {
		t.Errorf("config public IPs %+v, want %s via external", cfg.PublicIPs, pip.ID)
	}
	for i, n := range cfg.NVAs {
		if want := fmt.Sprintf("10.0.0.%d:8080", 100+i); n.Probe.Address != want || n.Probe.Kind != "http" {
			t.Errorf("nvas[%d] probes %s %q, want http %s (its internal IP)", i, n.Probe.Kind, n.Probe.Address, want)
		}
	}

	// A NIC write re-sends the NIC's NSG reference: the monitors may join each NSG.
	scopes := map[string]bool{}
	for _, ra := range m.OfType("azure-native:authorization:RoleAssignment") {
		scopes[pulumitest.String(ra.Inputs, "scope")] = true
	}
	for _, nsg := range m.OfType("azure-native:network:NetworkSecurityGroup") {
		if strings.Contains(nsg.Name, "nva") && !scopes[nsg.ID] {
			t.Errorf("no role assignment on the NVA NSG %s; a NIC write needs join on it", nsg.ID)
		}
	}
}

func TestHaNvaRefusesBadArgsBeforeRegisteringAnything(t *testing.T) {
	cases := []struct {
		name  string
		edit  func(*HaNvaArgs)
		field string
	}{
		{"one NVA is not HA", func(a *HaNvaArgs) { a.NvaCount = 1 }, "HaNvaArgs.NvaCount"},
		{"no SSH key", func(a *HaNvaArgs) { a.SSHPublicKey = nil }, "HaNvaArgs.SSHPublicKey"},
		{"a subnet associated with a table that does not exist", func(a *HaNvaArgs) {
			a.RouteTableSubnets = map[string]string{"web": "nope"}
		}, `HaNvaArgs.RouteTableSubnets["web"]`},
		{"a web prefix outside the address space", func(a *HaNvaArgs) { a.WebPrefix = "192.168.0.0/24" }, "NetworkArgs.WebPrefix"},
		{"the monitors' subnet routed through the NVAs", func(a *HaNvaArgs) {
			a.RouteTables = []RouteTableSpec{
				{Name: "web-udr", Via: RoleInternal, Routes: []RouteSpec{{Name: "default", AddressPrefix: "0.0.0.0/0"}}},
				{Name: "dmz-udr", Via: RoleInternal, Routes: []RouteSpec{{Name: "arm", AddressPrefix: "AzureResourceManager"}}},
			}
			a.RouteTableSubnets = map[string]string{"web": "web-udr", "dmz-internal": "dmz-udr"}
		}, `HaNvaArgs.RouteTableSubnets["dmz-internal"]: route table "dmz-udr" sends AzureResourceManager`},
		{"the monitors' subnet's default route through the NVAs", func(a *HaNvaArgs) {
			a.RouteTables = []RouteTableSpec{{Name: "all", Via: RoleInternal, Routes: []RouteSpec{{Name: "default", AddressPrefix: "0.0.0.0/0"}}}}
			a.RouteTableSubnets = map[string]string{"web": "all", "dmz-internal": "all"}
		}, `HaNvaArgs.RouteTableSubnets["dmz-internal"]: route table "all" sends 0.0.0.0/0`},
		{"more NVAs and monitors than dmz-internal holds", func(a *HaNvaArgs) {
			a.DmzInternalPrefix = "10.0.0.96/28" // hosts 4-14
			a.NvaCount, a.MonitorCount = 6, 6
		}, "HaNvaArgs: 6 NVAs (hosts 4-9 of 10.0.0.96/28) and 6 monitors (hosts 9-14) do not fit"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a := sampleHaNvaArgs(t)
			c.edit(a)
			m, err := runHaNva(t, a)
			if err == nil || !strings.Contains(err.Error(), c.field) {
				t.Fatalf("err = %v, want one naming %s", err, c.field)
			}
			for _, r := range m.All() {
				if r.Custom {
					t.Errorf("registered %s %s before refusing", r.Type, r.Name)
				}
			}
		})
	}
}

// nicAddresses returns, per subnet ID, the static address of every NIC by
// NIC name; a NIC in that subnet without a static address fails the test.
func nicAddresses(t *testing.T, m *pulumitest.Mocks) map[string]map[string]string {
	t.Helper()
	out := map[string]map[string]string{}
	for _, nic := range m.OfType("azure-native:network:NetworkInterface") {
		for i := 0; pulumitest.Get(nic.Inputs, "ipConfigurations", i) != nil; i++ {
			subnet := pulumitest.String(nic.Inputs, "ipConfigurations", i, "subnet", "id")
			method := pulumitest.String(nic.Inputs, "ipConfigurations", i, "privateIPAllocationMethod")
			ip := pulumitest.String(nic.Inputs, "ipConfigurations", i, "privateIPAddress")
			if method != "Static" || ip == "" {
				t.Errorf("%s ipconfig %d in %s is %s %q: a dynamic NIC created first could take an address planned for another NIC",
					nic.Name, i, subnet, method, ip)
				continue
			}
			if out[subnet] == nil {
				out[subnet] = map[string]string{}
			}
			out[subnet][fmt.Sprintf("%s/%d", nic.Name, i)] = ip
		}
	}
	return out
}

// TestHaNvaGivesEveryNICItCreatesAPlannedAddress: the NVA and monitor NICs
// share dmz-internal; with every one static and all distinct, no creation
// order can make two end with the same address (Azure gives a dynamic NIC
// the lowest free one, so a single dynamic NIC would be enough to break
// it). Growing the NVA or monitor count keeps every existing NIC's address
// and adds addresses no existing NIC holds.
func TestHaNvaGivesEveryNICItCreatesAPlannedAddress(t *testing.T) {
	var previous map[string]map[string]string
	for _, size := range []struct{ nvas, monitors int }{{2, 2}, {3, 2}, {3, 3}, {5, 3}} {
		a := sampleHaNvaArgs(t)
		a.NvaCount, a.MonitorCount = size.nvas, size.monitors
		m, err := runHaNva(t, a)
		if err != nil {
			t.Fatalf("%d NVAs, %d monitors: %v", size.nvas, size.monitors, err)
		}
		got := nicAddresses(t, m)
		for subnet, byNIC := range got {
			seen := map[string]string{}
			for nic, ip := range byNIC {
				if other, dup := seen[ip]; dup {
					t.Errorf("%d NVAs, %d monitors: %s and %s both hold %s in %s", size.nvas, size.monitors, nic, other, ip, subnet)
				}
				seen[ip] = nic
				if old, ok := previous[subnet][nic]; ok && old != ip {
					t.Errorf("growing to %d NVAs, %d monitors moves %s from %s to %s", size.nvas, size.monitors, nic, old, ip)
				}
			}
			for nic, ip := range previous[subnet] {
				if _, still := byNIC[nic]; !still {
					t.Errorf("growing to %d NVAs, %d monitors drops %s (%s)", size.nvas, size.monitors, nic, ip)
				}
			}
		}
		internal := got[func() string {
			for subnet := range got {
				if strings.HasSuffix(subnet, "/dmz-internal") {
					return subnet
				}
			}
			t.Fatal("no NIC in dmz-internal")
			return ""
		}()]
		if n := len(internal); n != size.nvas+size.monitors {
			t.Errorf("%d NICs in dmz-internal, want %d NVA and %d monitor NICs", n, size.nvas, size.monitors)
		}
		previous = got
	}
}
