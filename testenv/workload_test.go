package testenv

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"gopkg.in/yaml.v3"

	"github.com/hanva/hanva/components"
	"github.com/hanva/hanva/components/pulumitest"
)

const (
	testRG     = "rg-test"
	testVNet   = "/subscriptions/" + pulumitest.Subscription + "/resourceGroups/rg-net/providers/Microsoft.Network/virtualNetworks/vnet"
	testWeb    = testVNet + "/subnets/web"
	testMgmt   = testVNet + "/subnets/mgmt"
	testSSHKey = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHanvaTestKeyOnlyForMocks test@hanva"
)

func sampleArgs() *SampleWorkloadArgs {
	return &SampleWorkloadArgs{
		ResourceGroupName: pulumi.String(testRG),
		WebSubnetID:       pulumi.String(testWeb),
		MgmtSubnetID:      pulumi.String(testMgmt),
		WebPrefix:         "10.0.1.0/24",
		MgmtPrefix:        "10.0.0.128/25",
		SSHPublicKey:      pulumi.String(testSSHKey),
	}
}

// resolved holds the values of the workload's outputs, read inside the run.
type resolved struct {
	mu             sync.Mutex
	jumpboxIP, ssh string
	loadBalancerIP string
	webVMs         int
}

// runWorkload registers a SampleWorkload under mocks and returns what was
// registered, the resolved outputs and the run's error.
func runWorkload(t *testing.T, args *SampleWorkloadArgs) (*pulumitest.Mocks, *resolved, error) {
	t.Helper()
	m := pulumitest.NewMocks()
	got := &resolved{}
	err := pulumi.RunErr(func(ctx *pulumi.Context) error {
		w, err := NewSampleWorkload(ctx, "sample", args)
		if err != nil {
			return err
		}
		got.loadBalancerIP = w.LoadBalancerIP
		got.webVMs = len(w.WebVMs)
		pulumi.All(w.JumpboxPublicIP, w.SSHCommand).ApplyT(func(v []any) error {
			got.mu.Lock()
			defer got.mu.Unlock()
			got.jumpboxIP, got.ssh = v[0].(string), v[1].(string)
			return nil
		})
		return nil
	}, pulumi.WithMocks("hanva", "test", m))
	return m, got, err
}

func mustRun(t *testing.T, args *SampleWorkloadArgs) (*pulumitest.Mocks, *resolved) {
	t.Helper()
	m, got, err := runWorkload(t, args)
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	return m, got
}

func TestSampleWorkloadRegistersTheSeedsSampleEnvironment(t *testing.T) {
	m, got := mustRun(t, sampleArgs())

	want := map[string]int{
		SampleWorkloadType:                                              1,
		"azure-native:compute:VirtualMachine":                           4, // 3 web + jumpbox
		"azure-native:network:NetworkInterface":                         4,
		"azure-native:compute:AvailabilitySet":                          1,
		"azure-native:network:LoadBalancer":                             1,
		"azure-native:network:PublicIPAddress":                          1,
		"azure-native:network:NetworkSecurityGroup":                     2, // web, jumpbox
		"azure-native:compute:VirtualMachineRunCommandByVirtualMachine": 3, // a readiness gate per web VM
	}
	types := m.Types()
	for typ, n := range want {
		if types[typ] != n {
			t.Errorf("%s: %d registered, want %d", typ, types[typ], n)
		}
	}
	for typ := range types {
		if _, ok := want[typ]; !ok {
			t.Errorf("unexpected resource type %s registered (%d)", typ, types[typ])
		}
	}
	if got.webVMs != 3 {
		t.Errorf("SampleWorkload.WebVMs has %d VMs, want 3", got.webVMs)
	}

	for _, r := range m.All() {
		if !r.Custom {
			continue
		}
		if !strings.HasPrefix(r.Name, "sample-") {
			t.Errorf("child %q (%s) is not named sample-<role>", r.Name, r.Type)
		}
		if !strings.HasSuffix(r.Parent, "::sample") || !strings.Contains(r.Parent, SampleWorkloadType) {
			t.Errorf("child %q has parent %q, want the SampleWorkload component", r.Name, r.Parent)
		}
		if s := pulumitest.String(r.Inputs, "resourceGroupName"); s != testRG {
			t.Errorf("child %q is in resource group %q, want %q", r.Name, s, testRG)
		}
	}
}

func TestLoadBalancerIsInternalStandardWithAStaticFrontendAtHost10(t *testing.T) {
	m, got := mustRun(t, sampleArgs())
	if got.loadBalancerIP != "10.0.1.10" {
		t.Errorf("LoadBalancerIP = %q, want 10.0.1.10", got.loadBalancerIP)
	}
	lb := m.One(t, "azure-native:network:LoadBalancer")
	in := lb.Inputs
	if s := pulumitest.String(in, "sku", "name"); s != "Standard" {
		t.Errorf("load balancer SKU %q, want Standard", s)
	}
	fes := pulumitest.Get(in, "frontendIPConfigurations")
	if fes == nil || len(fes.ArrayValue()) != 1 {
		t.Fatalf("frontendIPConfigurations = %v, want exactly one", fes)
	}
	for key, want := range map[string]string{
		"privateIPAllocationMethod": "Static",
		"privateIPAddress":          "10.0.1.10",
		"name":                      lbFrontend,
	} {
		if s := pulumitest.String(in, "frontendIPConfigurations", 0, key); s != want {
			t.Errorf("frontend %s = %q, want %q", key, s, want)
		}
	}
	if s := pulumitest.String(in, "frontendIPConfigurations", 0, "subnet", "id"); s != testWeb {
		t.Errorf("frontend subnet = %q, want the web subnet %q", s, testWeb)
	}
	if v := pulumitest.Get(in, "frontendIPConfigurations", 0, "publicIPAddress"); v != nil && !v.IsNull() {
		t.Errorf("frontend has a public IP %v: the load balancer must be internal", v)
	}
}

func TestLoadBalancerProbesHTTPOn80AndBalances80To80AcrossItsOwnPool(t *testing.T) {
	m, _ := mustRun(t, sampleArgs())
	lb := m.One(t, "azure-native:network:LoadBalancer")
	in := lb.Inputs

	if v := pulumitest.Get(in, "probes"); v == nil || len(v.ArrayValue()) != 1 {
		t.Fatalf("probes = %v, want exactly one", v)
	}
	if s := pulumitest.String(in, "probes", 0, "protocol"); s != "Http" {
		t.Errorf("probe protocol %q, want Http", s)
	}
	if v := pulumitest.Get(in, "probes", 0, "port"); v == nil || v.NumberValue() != 80 {
		t.Errorf("probe port %v, want 80", v)
	}
	if s := pulumitest.String(in, "probes", 0, "requestPath"); s != "/" {
		t.Errorf("probe path %q, want /", s)
	}

	if v := pulumitest.Get(in, "loadBalancingRules"); v == nil || len(v.ArrayValue()) != 1 {
		t.Fatalf("loadBalancingRules = %v, want exactly one", v)
	}
	if s := pulumitest.String(in, "loadBalancingRules", 0, "protocol"); s != "Tcp" {
		t.Errorf("rule protocol %q, want Tcp", s)
	}
	for _, port := range []string{"frontendPort", "backendPort"} {
		if v := pulumitest.Get(in, "loadBalancingRules", 0, port); v == nil || v.NumberValue() != 80 {
			t.Errorf("rule %s = %v, want 80", port, v)
		}
	}
	// The rule names parts of this very load balancer: the IDs it computes
	// before creation must be the ID Azure (here the mock) gives it.
	for ref, want := range map[string]string{
		"frontendIPConfiguration": lb.ID + "/frontendIPConfigurations/" + lbFrontend,
		"backendAddressPool":      lb.ID + "/backendAddressPools/" + lbPool,
		"probe":                   lb.ID + "/probes/" + lbProbe,
	} {
		if s := pulumitest.String(in, "loadBalancingRules", 0, ref, "id"); s != want {
			t.Errorf("rule %s = %q, want %q", ref, s, want)
		}
	}
	if s := pulumitest.String(in, "backendAddressPools", 0, "name"); s != lbPool {
		t.Errorf("backend pool name %q, want %q", s, lbPool)
	}

	// Every web NIC is in the pool, in the web subnet.
	for i := 1; i <= 3; i++ {
		nic := m.Named(t, fmt.Sprintf("sample-web-%d-nic", i))
		if s := pulumitest.String(nic.Inputs, "ipConfigurations", 0, "loadBalancerBackendAddressPools", 0, "id"); s != lb.ID+"/backendAddressPools/"+lbPool {
			t.Errorf("%s pool = %q, want the load balancer's pool", nic.Name, s)
		}
		if s := pulumitest.String(nic.Inputs, "ipConfigurations", 0, "subnet", "id"); s != testWeb {
			t.Errorf("%s subnet = %q, want web", nic.Name, s)
		}
		if v := pulumitest.Get(nic.Inputs, "ipConfigurations", 0, "publicIPAddress"); v != nil && !v.IsNull() {
			t.Errorf("%s has a public IP: web VMs are reached through the NVAs only", nic.Name)
		}
	}
}

func TestWebVMsAreInOneAvailabilitySetAndTheJumpboxIsNot(t *testing.T) {
	m, _ := mustRun(t, sampleArgs())
	avset := m.One(t, "azure-native:compute:AvailabilitySet")
	if s := pulumitest.String(avset.Inputs, "sku", "name"); s != "Aligned" {
		t.Errorf("availability set SKU %q, want Aligned (managed disks)", s)
	}
	if v := pulumitest.Get(avset.Inputs, "platformFaultDomainCount"); v == nil || v.NumberValue() != 2 {
		t.Errorf("fault domains %v, want 2", v)
	}
	for _, vm := range m.OfType("azure-native:compute:VirtualMachine") {
		s := pulumitest.String(vm.Inputs, "availabilitySet", "id")
		switch {
		case vm.Name == "sample-jumpbox" && s != "":
			t.Errorf("jumpbox is in availability set %q", s)
		case vm.Name != "sample-jumpbox" && s != avset.ID:
			t.Errorf("%s availability set = %q, want %q", vm.Name, s, avset.ID)
		}
	}
}

func TestJumpboxHasAStandardStaticPublicIPAndOnlySSHOpen(t *testing.T) {
	m, got := mustRun(t, sampleArgs())
	pip := m.One(t, "azure-native:network:PublicIPAddress")
	if s := pulumitest.String(pip.Inputs, "sku", "name"); s != "Standard" {
		t.Errorf("jumpbox PIP SKU %q, want Standard", s)
	}
	if s := pulumitest.String(pip.Inputs, "publicIPAllocationMethod"); s != "Static" {
		t.Errorf("jumpbox PIP allocation %q, want Static", s)
	}

	nic := m.Named(t, "sample-jumpbox-nic")
	if s := pulumitest.String(nic.Inputs, "ipConfigurations", 0, "subnet", "id"); s != testMgmt {
		t.Errorf("jumpbox subnet = %q, want mgmt %q", s, testMgmt)
	}
	if s := pulumitest.String(nic.Inputs, "ipConfigurations", 0, "publicIPAddress", "id"); s != pip.ID {
		t.Errorf("jumpbox NIC public IP = %q, want %q", s, pip.ID)
	}
	nsg := m.Named(t, "sample-jumpbox-nsg")
	if s := pulumitest.String(nic.Inputs, "networkSecurityGroup", "id"); s != nsg.ID {
		t.Errorf("jumpbox NIC NSG = %q, want %q", s, nsg.ID)
	}
	rules := pulumitest.Get(nsg.Inputs, "securityRules")
	if rules == nil || len(rules.ArrayValue()) != 1 {
		t.Fatalf("jumpbox NSG rules = %v, want exactly one (SSH)", rules)
	}
	for key, want := range map[string]string{
		"direction": "Inbound", "access": "Allow", "protocol": "Tcp",
		"destinationPortRange": "22", "sourceAddressPrefix": "*",
	} {
		if s := pulumitest.String(nsg.Inputs, "securityRules", 0, key); s != want {
			t.Errorf("jumpbox NSG rule %s = %q, want %q", key, s, want)
		}
	}

	if got.jumpboxIP != "20.0.0.1" {
		t.Errorf("JumpboxPublicIP = %q, want the mock's 20.0.0.1", got.jumpboxIP)
	}
	if got.ssh != "ssh hanva@20.0.0.1" {
		t.Errorf("SSHCommand = %q, want %q", got.ssh, "ssh hanva@20.0.0.1")
	}
}

func TestJumpboxSSHSourceNarrowsTheSSHRule(t *testing.T) {
	args := sampleArgs()
	args.JumpboxSSHSource = "203.0.113.7/32"
	args.AdminUsername = "ops"
	m, got := mustRun(t, args)
	nsg := m.Named(t, "sample-jumpbox-nsg")
	if s := pulumitest.String(nsg.Inputs, "securityRules", 0, "sourceAddressPrefix"); s != "203.0.113.7/32" {
		t.Errorf("SSH source = %q, want 203.0.113.7/32", s)
	}
	if got.ssh != "ssh ops@20.0.0.1" {
		t.Errorf("SSHCommand = %q, want ssh ops@20.0.0.1", got.ssh)
	}
}

func TestEveryVMIsUbuntu2204WithSSHKeysOnlyAndNoPassword(t *testing.T) {
	m, _ := mustRun(t, sampleArgs())
	vms := m.OfType("azure-native:compute:VirtualMachine")
	if len(vms) != 4 {
		t.Fatalf("%d VMs, want 4", len(vms))
	}
	for _, vm := range vms {
		in := vm.Inputs
		if v := pulumitest.Get(in, "osProfile", "adminPassword"); v != nil && !v.IsNull() {
			t.Errorf("%s has an admin password", vm.Name)
		}
		if v := pulumitest.Get(in, "osProfile", "linuxConfiguration", "disablePasswordAuthentication"); v == nil || !v.IsBool() || !v.BoolValue() {
			t.Errorf("%s: disablePasswordAuthentication = %v, want true", vm.Name, v)
		}
		if s := pulumitest.String(in, "osProfile", "linuxConfiguration", "ssh", "publicKeys", 0, "keyData"); s != testSSHKey {
			t.Errorf("%s SSH key = %q, want the given key", vm.Name, s)
		}
		if s := pulumitest.String(in, "osProfile", "linuxConfiguration", "ssh", "publicKeys", 0, "path"); s != "/home/hanva/.ssh/authorized_keys" {
			t.Errorf("%s SSH key path = %q", vm.Name, s)
		}
		if s := pulumitest.String(in, "osProfile", "adminUsername"); s != "hanva" {
			t.Errorf("%s admin = %q, want hanva", vm.Name, s)
		}
		if s := pulumitest.String(in, "storageProfile", "imageReference", "sku"); s != "22_04-lts-gen2" {
			t.Errorf("%s image SKU = %q, want 22_04-lts-gen2", vm.Name, s)
		}
		if s := pulumitest.String(in, "storageProfile", "imageReference", "publisher"); s != "Canonical" {
			t.Errorf("%s image publisher = %q, want Canonical", vm.Name, s)
		}
		if s := pulumitest.String(in, "hardwareProfile", "vmSize"); s != DefaultVMSize {
			t.Errorf("%s size = %q, want %s", vm.Name, s, DefaultVMSize)
		}
	}
}

// cloudConfig is the part of a cloud-config the tests read.
type cloudConfig struct {
	WriteFiles []struct {
		Path, Permissions, Content string
	} `yaml:"write_files"`
	RunCmd [][]string `yaml:"runcmd"`
}

func TestWebVMCloudInitInstallsApacheAndServesAPageNamingTheVM(t *testing.T) {
	m, _ := mustRun(t, sampleArgs())
	for i := 1; i <= 3; i++ {
		name := fmt.Sprintf("sample-web-%d", i)
		vm := m.Named(t, name)
		raw, err := base64.StdEncoding.DecodeString(pulumitest.String(vm.Inputs, "osProfile", "customData"))
		if err != nil {
			t.Fatalf("%s customData is not base64: %v", name, err)
		}
		text := string(raw)
		if !strings.HasPrefix(text, "#cloud-config\n") {
			t.Fatalf("%s customData does not start with #cloud-config:\n%s", name, text)
		}
		var cc cloudConfig
		if err := yaml.Unmarshal(raw, &cc); err != nil {
			t.Fatalf("%s cloud-config is not YAML: %v", name, err)
		}
		files := map[string]string{}
		for _, f := range cc.WriteFiles {
			files[f.Path] = f.Content
		}
		page, setup := files["/usr/local/share/hanva/index.html"], files["/usr/local/sbin/hanva-web-setup"]
		if !strings.Contains(page, "<h1>hanva sample web server "+name+"</h1>") {
			t.Errorf("%s test page does not name the VM:\n%s", name, page)
		}
		for _, other := range []string{"sample-web-1", "sample-web-2", "sample-web-3"} {
			if other != name && strings.Contains(text, other) {
				t.Errorf("%s cloud-init names another VM, %s", name, other)
			}
		}
		for _, step := range []string{"apt-get install -y -q apache2", "/var/www/html/index.html", "systemctl enable --now apache2"} {
			if !strings.Contains(setup, step) {
				t.Errorf("%s setup script lacks %q:\n%s", name, step, setup)
			}
		}
		if len(cc.RunCmd) != 1 || len(cc.RunCmd[0]) != 1 || cc.RunCmd[0][0] != "/usr/local/sbin/hanva-web-setup" {
			t.Errorf("%s runcmd = %v, want the setup script", name, cc.RunCmd)
		}
		if strings.Contains(strings.ToLower(text), "password") {
			t.Errorf("%s cloud-init mentions a password", name)
		}
	}
	if v := pulumitest.Get(m.Named(t, "sample-jumpbox").Inputs, "osProfile", "customData"); v != nil && !v.IsNull() {
		t.Errorf("jumpbox has custom data %v, want none", v)
	}
}

func TestWebCountAndLoadBalancerHostAreHonoured(t *testing.T) {
	args := sampleArgs()
	args.WebCount = 2
	args.LoadBalancerHost = 200
	args.WebPrefix = "10.1.2.0/24"
	args.VMSize = "Standard_B2s"
	m, got := mustRun(t, args)
	if n := len(m.OfType("azure-native:compute:VirtualMachine")); n != 3 {
		t.Errorf("%d VMs, want 2 web + jumpbox", n)
	}
	if got.loadBalancerIP != "10.1.2.200" {
		t.Errorf("LoadBalancerIP = %q, want 10.1.2.200", got.loadBalancerIP)
	}
	lb := m.One(t, "azure-native:network:LoadBalancer")
	if s := pulumitest.String(lb.Inputs, "frontendIPConfigurations", 0, "privateIPAddress"); s != "10.1.2.200" {
		t.Errorf("frontend IP = %q, want 10.1.2.200", s)
	}
	if s := pulumitest.String(m.Named(t, "sample-web-1").Inputs, "hardwareProfile", "vmSize"); s != "Standard_B2s" {
		t.Errorf("web VM size %q, want Standard_B2s", s)
	}
}

func TestBadArgsFailNamingTheFieldAndRegisterNothing(t *testing.T) {
	tests := []struct {
		name   string
		change func(a *SampleWorkloadArgs)
		want   string
	}{
		{"no resource group", func(a *SampleWorkloadArgs) { a.ResourceGroupName = nil }, "SampleWorkloadArgs.ResourceGroupName: required"},
		{"no web subnet", func(a *SampleWorkloadArgs) { a.WebSubnetID = nil }, "SampleWorkloadArgs.WebSubnetID: required"},
		{"no mgmt subnet", func(a *SampleWorkloadArgs) { a.MgmtSubnetID = nil }, "SampleWorkloadArgs.MgmtSubnetID: required"},
		{"no SSH key", func(a *SampleWorkloadArgs) { a.SSHPublicKey = nil }, "SampleWorkloadArgs.SSHPublicKey: required"},
		{"no web prefix", func(a *SampleWorkloadArgs) { a.WebPrefix = "" }, "SampleWorkloadArgs.WebPrefix: required"},
		{"a web prefix that is not a CIDR", func(a *SampleWorkloadArgs) { a.WebPrefix = "10.0.1.0" }, `SampleWorkloadArgs.LoadBalancerHost: parse prefix "10.0.1.0": want an IPv4 CIDR`},
		{"the frontend on Azure's reserved DNS address", func(a *SampleWorkloadArgs) { a.LoadBalancerHost = 3 }, "SampleWorkloadArgs.LoadBalancerHost: host 3 of 10.0.1.0/24 (10.0.1.3) is the subnet's Azure DNS address"},
		{"the frontend on the broadcast address", func(a *SampleWorkloadArgs) { a.LoadBalancerHost = 255 }, "host 255 of 10.0.1.0/24 (10.0.1.255) is the subnet's broadcast address"},
		{"the frontend outside a small subnet", func(a *SampleWorkloadArgs) { a.WebPrefix = "10.0.1.0/29" }, "host 10 of 10.0.1.0/29: address outside the prefix (hosts 0..7; usable 4..6)"},
		{"a negative web count", func(a *SampleWorkloadArgs) { a.WebCount = -1 }, "SampleWorkloadArgs.WebCount: -1; at least 1 web VM"},
		{"web VMs over the load balancer's address", func(a *SampleWorkloadArgs) { a.WebFirstHost, a.WebCount = 5, 10 },
			"SampleWorkloadArgs.WebFirstHost: 10 web VMs at hosts 5-14 of 10.0.1.0/24 would take the load balancer's host 10 (10.0.1.10); start them above it (WebFirstHost 11)"},
		{"more web VMs than the subnet holds", func(a *SampleWorkloadArgs) { a.WebPrefix, a.WebCount = "10.0.1.0/27", 12 },
			"SampleWorkloadArgs.WebCount: web VM 12 at host 31 (WebFirstHost 20 + 11): host 31 of 10.0.1.0/27 (10.0.1.31) is the subnet's broadcast address"},
		{"the jumpbox on Azure's gateway address", func(a *SampleWorkloadArgs) { a.JumpboxHost = 1 }, "SampleWorkloadArgs.JumpboxHost: host 1 of 10.0.0.128/25"},
		{"a mgmt prefix that is not a CIDR", func(a *SampleWorkloadArgs) { a.MgmtPrefix = "mgmt" }, "SampleWorkloadArgs.JumpboxHost: parse prefix \"mgmt\""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := sampleArgs()
			tt.change(args)
			m, _, err := runWorkload(t, args)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want it to contain %q", err, tt.want)
			}
			for _, r := range m.All() {
				t.Errorf("registered %s %q despite bad args", r.Type, r.Name)
			}
		})
	}
}

func TestAWebSubnetIDThatIsNotAResourceIDFailsTheRun(t *testing.T) {
	args := sampleArgs()
	args.WebSubnetID = pulumi.String("web")
	_, _, err := runWorkload(t, args)
	if err == nil || !strings.Contains(err.Error(), `SampleWorkloadArgs.WebSubnetID: "web" is not a resource ID`) {
		t.Fatalf("err = %v, want it to name WebSubnetID", err)
	}
}

const tGate = "azure-native:compute:VirtualMachineRunCommandByVirtualMachine"

// dependsOn says whether r depends on the resource of type typ named name
// (a URN ends "::<type>::<name>", or "$<type>::<name>" for a child).
func dependsOn(r pulumitest.Resource, typ, name string) bool {
	return slices.ContainsFunc(r.DependsOn, func(urn string) bool {
		return strings.HasSuffix(urn, "$"+typ+"::"+name) || strings.HasSuffix(urn, "::"+typ+"::"+name)
	})
}

func TestWebVMsAreReplacedOneAtATimeWhenTheirCustomDataChanges(t *testing.T) {
	args := sampleArgs()
	args.WebCount = 4
	m, _ := mustRun(t, args)
	for i := 1; i <= 4; i++ {
		name := fmt.Sprintf("sample-web-%d", i)
		vm := m.Named(t, name)
		if !slices.Equal(vm.ReplaceOnChanges, []string{"osProfile.customData"}) || !vm.DeleteBeforeReplace {
			t.Errorf("%s: replaceOnChanges %q, deleteBeforeReplace %v; want [osProfile.customData], true (Azure cannot change custom data)",
				name, vm.ReplaceOnChanges, vm.DeleteBeforeReplace)
		}
		gate := m.Named(t, name+"-ready")
		if !dependsOn(gate, "azure-native:compute:VirtualMachine", name) {
			t.Errorf("%s-ready does not depend on its VM: %q", name, gate.DependsOn)
		}
		var gates []string
		for _, d := range vm.DependsOn {
			if strings.Contains(d, tGate) {
				gates = append(gates, d[strings.LastIndex(d, "::")+2:])
			}
		}
		var want []string
		if i > 1 {
			want = []string{fmt.Sprintf("sample-web-%d-ready", i-1)}
		}
		if !slices.Equal(gates, want) {
			t.Errorf("%s waits for the gates %q, want %q (one web VM at a time)", name, gates, want)
		}
	}
}

func TestAWebGateWaitsForApacheOnTheVMAndRerunsWithNewCustomData(t *testing.T) {
	m, _ := mustRun(t, sampleArgs())
	for i := 1; i <= 3; i++ {
		name := fmt.Sprintf("sample-web-%d", i)
		gate := m.Named(t, name+"-ready")
		if v := pulumitest.Get(gate.Inputs, "asyncExecution"); v == nil || v.BoolValue() {
			t.Errorf("%s: asyncExecution %v, want false (the deployment waits for the script)", gate.Name, v)
		}
		if v := pulumitest.Get(gate.Inputs, "treatFailureAsDeploymentFailure"); v == nil || !v.BoolValue() {
			t.Errorf("%s: treatFailureAsDeploymentFailure %v, want true", gate.Name, v)
		}
		if v := pulumitest.Get(gate.Inputs, "timeoutInSeconds"); v == nil || v.NumberValue() != webReadinessTimeout.Seconds() {
			t.Errorf("%s: timeoutInSeconds %v, want %v", gate.Name, v, webReadinessTimeout.Seconds())
		}
		if got := pulumitest.String(gate.Inputs, "vmName"); got != name {
			t.Errorf("%s: vmName %q, want the VM's name %q", gate.Name, got, name)
		}
		script := pulumitest.String(gate.Inputs, "source", "script")
		if !strings.Contains(script, "'http://127.0.0.1:80/'") {
			t.Errorf("%s does not wait for Apache on 127.0.0.1:80:\n%s", gate.Name, script)
		}
		enc := pulumitest.String(m.Named(t, name).Inputs, "osProfile", "customData")
		sum := sha256.Sum256([]byte(enc))
		if !strings.Contains(script, hex.EncodeToString(sum[:])) {
			t.Errorf("%s script lacks the SHA-256 of its VM's custom data, so a replaced VM would not re-run it:\n%s", gate.Name, script)
		}
	}
}

// addressesBySubnet returns every private address a subnet's NICs and load
// balancer frontends take, by subnet ID, with who takes it.
func addressesBySubnet(t *testing.T, m *pulumitest.Mocks) map[string]map[string][]string {
	t.Helper()
	out := map[string]map[string][]string{}
	add := func(subnet, ip, who string) {
		if out[subnet] == nil {
			out[subnet] = map[string][]string{}
		}
		out[subnet][ip] = append(out[subnet][ip], who)
	}
	for _, nic := range m.OfType("azure-native:network:NetworkInterface") {
		if s := pulumitest.String(nic.Inputs, "ipConfigurations", 0, "privateIPAllocationMethod"); s != "Static" {
			t.Errorf("%s: allocation %q, want Static", nic.Name, s)
		}
		add(pulumitest.String(nic.Inputs, "ipConfigurations", 0, "subnet", "id"),
			pulumitest.String(nic.Inputs, "ipConfigurations", 0, "privateIPAddress"), nic.Name)
	}
	for _, lb := range m.OfType("azure-native:network:LoadBalancer") {
		for i := range pulumitest.Get(lb.Inputs, "frontendIPConfigurations").ArrayValue() {
			add(pulumitest.String(lb.Inputs, "frontendIPConfigurations", i, "subnet", "id"),
				pulumitest.String(lb.Inputs, "frontendIPConfigurations", i, "privateIPAddress"), lb.Name+" frontend")
		}
	}
	return out
}

func TestEveryAddressInASubnetIsStaticPlannedAndTakenOnce(t *testing.T) {
	tests := []struct {
		name string
		edit func(a *SampleWorkloadArgs)
	}{
		{"the seed's sample", func(*SampleWorkloadArgs) {}},
		{"twenty web VMs", func(a *SampleWorkloadArgs) { a.WebCount = 20 }},
		{"the load balancer above the web VMs", func(a *SampleWorkloadArgs) { a.LoadBalancerHost, a.WebCount = 200, 30 }},
		{"the web VMs below the load balancer", func(a *SampleWorkloadArgs) { a.WebFirstHost, a.WebCount = 4, 6 }},
		{"a small web subnet", func(a *SampleWorkloadArgs) { a.WebPrefix, a.WebCount = "10.0.1.0/27", 11 }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := sampleArgs()
			tt.edit(args)
			m, _ := mustRun(t, args)
			prefixes := map[string]string{testWeb: args.WebPrefix, testMgmt: args.MgmtPrefix}
			for subnet, ips := range addressesBySubnet(t, m) {
				prefix, ok := prefixes[subnet]
				if !ok {
					t.Errorf("addresses in unexpected subnet %q: %v", subnet, ips)
					continue
				}
				for ip, who := range ips {
					if len(who) != 1 {
						t.Errorf("%s is taken by %q", ip, who)
					}
					if err := components.CheckStaticIP(prefix, ip); err != nil {
						t.Errorf("%q: %v", who, err)
					}
				}
			}
		})
	}
}

func TestRaisingWebCountKeepsEveryAddress(t *testing.T) {
	ipsOf := func(count int) map[string]string {
		args := sampleArgs()
		args.WebCount = count
		m, _ := mustRun(t, args)
		out := map[string]string{}
		for _, nic := range m.OfType("azure-native:network:NetworkInterface") {
			out[nic.Name] = pulumitest.String(nic.Inputs, "ipConfigurations", 0, "privateIPAddress")
		}
		out["frontend"] = pulumitest.String(m.One(t, "azure-native:network:LoadBalancer").Inputs, "frontendIPConfigurations", 0, "privateIPAddress")
		return out
	}
	before, after := ipsOf(3), ipsOf(8)
	for who, ip := range before {
		if after[who] != ip {
			t.Errorf("%s moves from %s to %q when WebCount goes from 3 to 8", who, ip, after[who])
		}
	}
	for who, want := range map[string]string{"sample-web-1-nic": "10.0.1.20", "sample-web-8-nic": "10.0.1.27", "sample-jumpbox-nic": "10.0.0.132", "frontend": "10.0.1.10"} {
		if after[who] != want {
			t.Errorf("%s at %q, want %s", who, after[who], want)
		}
	}
}

func TestWithoutAMgmtPrefixAzureAddressesTheJumpbox(t *testing.T) {
	args := sampleArgs()
	args.MgmtPrefix = ""
	m, _ := mustRun(t, args)
	nic := m.Named(t, "sample-jumpbox-nic")
	if s := pulumitest.String(nic.Inputs, "ipConfigurations", 0, "privateIPAllocationMethod"); s != "Dynamic" {
		t.Errorf("jumpbox allocation %q, want Dynamic without MgmtPrefix", s)
	}
}
