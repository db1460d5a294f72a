package components_test

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"gopkg.in/yaml.v3"

	"github.com/hanva/hanva/components"
	"github.com/hanva/hanva/components/pulumitest"
)

// The monitor owns exactly these properties of the NVA NICs (the contract).
var (
	wantPIPNICIgnore   = []string{"ipConfigurations[*].publicIPAddress", `tags["hanva-epoch"]`}
	wantOtherNICIgnore = []string{`tags["hanva-epoch"]`}
)

const (
	extSubnetID = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network/virtualNetworks/v/subnets/dmz-external"
	intSubnetID = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network/virtualNetworks/v/subnets/dmz-internal"
	sshKey      = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHanvaTestKeyOnlyNotARealOne hanva@test"
)

func seedNvaPair() *components.NvaPairArgs {
	return &components.NvaPairArgs{
		ResourceGroupName: rg(),
		SSHPublicKey:      pulumi.String(sshKey),
		ExternalSubnetID:  pulumi.String(extSubnetID),
		InternalSubnetID:  pulumi.String(intSubnetID),
		ExternalPrefix:    "10.0.0.64/27",
		InternalPrefix:    "10.0.0.96/27",
		ForwardTo:         "10.0.1.10",
	}
}

// nvaRun registers an NvaPair named "nva" and captures its outputs.
type nvaRun struct {
	m    *pulumitest.Mocks
	pair *components.NvaPair
	out  outputs
}

func runNvaPair(t *testing.T, args *components.NvaPairArgs) *nvaRun {
	t.Helper()
	r := &nvaRun{}
	m, err := runMocked(t, func(ctx *pulumi.Context) error {
		var err error
		r.pair, err = components.NewNvaPair(ctx, "nva", args)
		if err != nil {
			return err
		}
		r.out.capture("pipId", r.pair.PublicIPID)
		r.out.capture("pipAddress", r.pair.PublicIPAddress)
		for _, n := range r.pair.NVAs {
			for role, id := range n.NICIDs {
				r.out.capture(n.Name+"/"+role, id)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatalf("NewNvaPair: %v", err)
	}
	r.m = m
	return r
}

func (r *nvaRun) nic(t *testing.T, nva, role string) pulumitest.Resource {
	t.Helper()
	return r.m.Named(t, nva+"-"+role+"-nic")
}

func TestNvaPairCountsAndPlacement(t *testing.T) {
	tests := []struct {
		name      string
		count     int
		zones     []string
		wantZones []string // per NVA; nil = availability set
	}{
		{name: "two NVAs by default share an availability set", count: 0},
		{name: "three NVAs share an availability set", count: 3},
		{name: "two NVAs over three zones take zones 1 and 2", count: 2, zones: []string{"1", "2", "3"}, wantZones: []string{"1", "2"}},
		{name: "three NVAs over three zones take one zone each", count: 3, zones: []string{"1", "2", "3"}, wantZones: []string{"1", "2", "3"}},
		{name: "three NVAs over two zones wrap around", count: 3, zones: []string{"2", "3"}, wantZones: []string{"2", "3", "2"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := seedNvaPair()
			args.Count, args.Zones = tt.count, tt.zones
			r := runNvaPair(t, args)
			n := tt.count
			if n == 0 {
				n = 2
			}
			types := r.m.Types()
			want := map[string]int{
				components.NvaPairType:                      1,
				"azure-native:compute:VirtualMachine":       n,
				"azure-native:network:NetworkInterface":     2 * n,
				"azure-native:network:NetworkSecurityGroup": 2 * n,
				"azure-native:network:PublicIPAddress":      1,
			}
			if tt.zones == nil {
				want["azure-native:compute:AvailabilitySet"] = 1
			}
			for typ, c := range want {
				if types[typ] != c {
					t.Errorf("%d %s, want %d", types[typ], typ, c)
				}
			}
			if tt.zones != nil && types["azure-native:compute:AvailabilitySet"] != 0 {
				t.Errorf("an availability set was created with zones")
			}
			if len(r.pair.NVAs) != n {
				t.Fatalf("%d NVAs, want %d", len(r.pair.NVAs), n)
			}

			var avsetID string
			if tt.zones == nil {
				avset := r.m.One(t, "azure-native:compute:AvailabilitySet")
				avsetID = avset.ID
				for k, v := range map[string]float64{"platformFaultDomainCount": 2, "platformUpdateDomainCount": 2} {
					if got := pulumitest.Get(avset.Inputs, k); got == nil || !got.IsNumber() || got.NumberValue() != v {
						t.Errorf("availability set %s = %v, want %v", k, got, v)
					}
				}
				if got := pulumitest.String(avset.Inputs, "sku", "name"); got != "Aligned" {
					t.Errorf("availability set sku = %q, want Aligned (managed disks)", got)
				}
			}
			for i, nva := range r.pair.NVAs {
				wantName := fmt.Sprintf("nva-%d", i+1)
				if nva.Name != wantName {
					t.Errorf("NVA %d is named %q, want %q", i, nva.Name, wantName)
				}
				vm := r.m.Named(t, wantName+"-vm")
				zones := pulumitest.Get(vm.Inputs, "zones")
				if tt.wantZones == nil {
					if got := pulumitest.String(vm.Inputs, "availabilitySet", "id"); got != avsetID {
						t.Errorf("%s availability set = %q, want %q", wantName, got, avsetID)
					}
					if zones != nil && len(zones.ArrayValue()) > 0 {
						t.Errorf("%s has zones %v in an availability set", wantName, zones)
					}
					continue
				}
				if pulumitest.Get(vm.Inputs, "availabilitySet") != nil {
					t.Errorf("%s is in an availability set although zones are used", wantName)
				}
				if zones == nil || len(zones.ArrayValue()) != 1 || zones.ArrayValue()[0].StringValue() != tt.wantZones[i] {
					t.Errorf("%s zones = %v, want [%s]", wantName, zones, tt.wantZones[i])
				}
			}

			pip := r.m.One(t, "azure-native:network:PublicIPAddress")
			if got := pulumitest.String(pip.Inputs, "sku", "name"); got != "Standard" {
				t.Errorf("PIP sku = %q, want Standard", got)
			}
			if got := pulumitest.String(pip.Inputs, "publicIPAllocationMethod"); got != "Static" {
				t.Errorf("PIP allocation = %q, want Static", got)
			}
			var pipZones []string
			if z := pulumitest.Get(pip.Inputs, "zones"); z != nil {
				for _, v := range z.ArrayValue() {
					pipZones = append(pipZones, v.StringValue())
				}
			}
			if !slices.Equal(pipZones, tt.zones) {
				t.Errorf("PIP zones = %v, want %v (zone-redundant exactly when zones are used)", pipZones, tt.zones)
			}
			assertParented(t, r.m, components.NvaPairType, "nva")
		})
	}
}

func TestNvaPairNICsForwardWithStaticUnreservedIPsInTheirSubnets(t *testing.T) {
	args := seedNvaPair()
	args.Count = 3
	r := runNvaPair(t, args)
	prefixes := map[string]string{components.RoleExternal: "10.0.0.64/27", components.RoleInternal: "10.0.0.96/27"}
	subnets := map[string]string{components.RoleExternal: extSubnetID, components.RoleInternal: intSubnetID}
	seen := map[string]bool{}
	for i, nva := range r.pair.NVAs {
		for role, prefix := range prefixes {
			nic := r.nic(t, nva.Name, role)
			if v := pulumitest.Get(nic.Inputs, "enableIPForwarding"); v == nil || !v.IsBool() || !v.BoolValue() {
				t.Errorf("%s: enableIPForwarding = %v, want true", nic.Name, v)
			}
			ipc := pulumitest.Get(nic.Inputs, "ipConfigurations")
			if ipc == nil || len(ipc.ArrayValue()) != 1 {
				t.Fatalf("%s: want exactly one ipconfig, got %v", nic.Name, ipc)
			}
			if got := pulumitest.String(nic.Inputs, "ipConfigurations", 0, "privateIPAllocationMethod"); got != "Static" {
				t.Errorf("%s: allocation = %q, want Static", nic.Name, got)
			}
			ip := pulumitest.String(nic.Inputs, "ipConfigurations", 0, "privateIPAddress")
			if err := components.CheckStaticIP(prefix, ip); err != nil {
				t.Errorf("%s: %v", nic.Name, err)
			}
			if want, _ := components.HostIP(prefix, 4+i); ip != want {
				t.Errorf("%s: IP %s, want %s (host 4+%d)", nic.Name, ip, want, i)
			}
			if nva.IPs[role] != ip {
				t.Errorf("%s: Nva.IPs[%q] = %q, the NIC has %q", nva.Name, role, nva.IPs[role], ip)
			}
			if seen[ip] {
				t.Errorf("%s: IP %s is used twice", nic.Name, ip)
			}
			seen[ip] = true
			if got := pulumitest.String(nic.Inputs, "ipConfigurations", 0, "subnet", "id"); got != subnets[role] {
				t.Errorf("%s: subnet %q, want %q", nic.Name, got, subnets[role])
			}
			if got := r.out.str(t, nva.Name+"/"+role); got != nic.ID {
				t.Errorf("%s: NICIDs[%q] = %q, registered ID %q", nva.Name, role, got, nic.ID)
			}
			nsg := pulumitest.String(nic.Inputs, "networkSecurityGroup", "id")
			if want := r.m.Named(t, nva.Name+"-"+role+"-nsg").ID; nsg != want {
				t.Errorf("%s: NSG %q, want %q", nic.Name, nsg, want)
			}
			if got := pulumitest.String(nic.Inputs, "tags", "managed-by"); got != "hanva" {
				t.Errorf("%s: tag managed-by = %q (NICs must always send tags for the epoch tag's ignoreChanges)", nic.Name, got)
			}
		}
		// The VM: external NIC primary, then internal.
		vm := r.m.Named(t, nva.Name+"-vm")
		for j, role := range []string{components.RoleExternal, components.RoleInternal} {
			if got := pulumitest.String(vm.Inputs, "networkProfile", "networkInterfaces", j, "id"); got != r.nic(t, nva.Name, role).ID {
				t.Errorf("%s NIC %d = %q, want the %s NIC", nva.Name, j, got, role)
			}
			primary := pulumitest.Get(vm.Inputs, "networkProfile", "networkInterfaces", j, "primary")
			if primary == nil || primary.BoolValue() != (role == components.RoleExternal) {
				t.Errorf("%s %s NIC primary = %v", nva.Name, role, primary)
			}
		}
	}
}

func TestNvaPairPublicIPIsOnTheFirstNVAsExternalNICOnly(t *testing.T) {
	r := runNvaPair(t, seedNvaPair())
	pipID := r.out.str(t, "pipId")
	if pip := r.m.One(t, "azure-native:network:PublicIPAddress"); pip.ID != pipID {
		t.Errorf("PublicIPID = %q, registered %q", pipID, pip.ID)
	}
	if got := r.out.str(t, "pipAddress"); got != "20.0.0.1" {
		t.Errorf("PublicIPAddress = %q, want the mocked 20.0.0.1", got)
	}
	var holders []string
	for _, nic := range r.m.OfType("azure-native:network:NetworkInterface") {
		if pulumitest.String(nic.Inputs, "ipConfigurations", 0, "publicIPAddress", "id") == pipID {
			holders = append(holders, nic.Name)
		}
	}
	if !slices.Equal(holders, []string{"nva-1-external-nic"}) {
		t.Errorf("the PIP is on %v, want only nva-1-external-nic", holders)
	}
}

func TestNvaPairNICIgnoreChangesAreExactlyTheMonitorsProperties(t *testing.T) {
	args := seedNvaPair()
	args.Count = 3
	r := runNvaPair(t, args)
	for _, nva := range r.pair.NVAs {
		if got := r.nic(t, nva.Name, components.RoleExternal).IgnoreChanges; !slices.Equal(got, wantPIPNICIgnore) {
			t.Errorf("%s external NIC ignoreChanges = %q, want exactly %q", nva.Name, got, wantPIPNICIgnore)
		}
		if got := r.nic(t, nva.Name, components.RoleInternal).IgnoreChanges; !slices.Equal(got, wantOtherNICIgnore) {
			t.Errorf("%s internal NIC ignoreChanges = %q, want exactly %q", nva.Name, got, wantOtherNICIgnore)
		}
		if got := r.m.Named(t, nva.Name+"-vm").IgnoreChanges; len(got) != 0 {
			t.Errorf("%s VM ignoreChanges = %q, want none", nva.Name, got)
		}
	}
	for _, typ := range []string{"azure-native:network:PublicIPAddress", "azure-native:network:NetworkSecurityGroup", "azure-native:compute:AvailabilitySet"} {
		for _, res := range r.m.OfType(typ) {
			if len(res.IgnoreChanges) != 0 {
				t.Errorf("%s %q ignoreChanges = %q, want none", typ, res.Name, res.IgnoreChanges)
			}
		}
	}
}

// After a failover the PIP sits on nva-2's external NIC. Pulumi's engine
// resets the ignored paths from the refreshed state: the program's
// association (nva-1) must give way on both NICs, while a change the user
// makes to a NIC's private IP still goes through.
func TestNvaPairNICIgnoreChangesKeepAMovedPublicIP(t *testing.T) {
	r := runNvaPair(t, seedNvaPair())
	pipID := r.out.str(t, "pipId")
	for _, tc := range []struct {
		nic     string
		livePIP bool // after the failover
	}{{"nva-1", false}, {"nva-2", true}} {
		nic := r.nic(t, tc.nic, components.RoleExternal)
		program := nic.Inputs.Copy()
		old := program.Copy()
		ipc := old["ipConfigurations"].ArrayValue()[0].ObjectValue().Copy()
		delete(ipc, "publicIPAddress")
		if tc.livePIP {
			ipc["publicIPAddress"] = resource.NewObjectProperty(resource.PropertyMap{"id": resource.NewStringProperty(pipID)})
		}
		old["ipConfigurations"] = resource.NewArrayProperty([]resource.PropertyValue{resource.NewObjectProperty(ipc)})
		old["tags"] = resource.NewObjectProperty(resource.PropertyMap{
			"managed-by": resource.NewStringProperty("hanva"), "hanva-epoch": resource.NewStringProperty("3"),
		})
		// Copy is shallow: give the program its own ipconfig before editing it.
		pipc := program["ipConfigurations"].ArrayValue()[0].ObjectValue().Copy()
		pipc["privateIPAddress"] = resource.NewStringProperty("10.0.0.90")
		program["ipConfigurations"] = resource.NewArrayProperty([]resource.PropertyValue{resource.NewObjectProperty(pipc)})

		for _, p := range nic.IgnoreChanges {
			path, err := resource.ParsePropertyPathStrict(p)
			if err != nil {
				t.Fatalf("ignoreChanges %q does not parse: %v", p, err)
			}
			if !path.Reset(old, program) {
				t.Errorf("%s: ignoreChanges %q does not match the inputs", nic.Name, p)
			}
		}
		got := pulumitest.String(program, "ipConfigurations", 0, "publicIPAddress", "id")
		if tc.livePIP && got != pipID {
			t.Errorf("%s: pulumi up would detach the moved PIP (sends %q)", nic.Name, got)
		}
		if !tc.livePIP && got != "" {
			t.Errorf("%s: pulumi up would re-attach the PIP it lost in the failover (sends %q)", nic.Name, got)
		}
		if ip := pulumitest.String(program, "ipConfigurations", 0, "privateIPAddress"); ip != "10.0.0.90" {
			t.Errorf("%s: the user's private IP change became %q: ignoreChanges is too broad", nic.Name, ip)
		}
		if e := pulumitest.String(program, "tags", "hanva-epoch"); e != "3" {
			t.Errorf("%s: epoch tag sent = %q, want the live 3", nic.Name, e)
		}
	}
}

func TestNvaPairNSGsAllowWhatTheNVAServesAndDenyNothingExplicitly(t *testing.T) {
	args := seedNvaPair()
	args.ProbePort = 9090
	r := runNvaPair(t, args)
	type rule struct{ source, ports, protocol string }
	rules := func(name string) []rule {
		nsg := r.m.Named(t, name)
		var out []rule
		for _, v := range pulumitest.Get(nsg.Inputs, "securityRules").ArrayValue() {
			o := v.ObjectValue()
			if a := pulumitest.String(o, "access"); a != "Allow" {
				t.Errorf("%s rule %q has access %q; only allows are expected", name, pulumitest.String(o, "name"), a)
			}
			if d := pulumitest.String(o, "direction"); d != "Inbound" {
				t.Errorf("%s rule %q direction %q", name, pulumitest.String(o, "name"), d)
			}
			ports := pulumitest.String(o, "destinationPortRange")
			if pr := pulumitest.Get(o, "destinationPortRanges"); pr != nil {
				var ps []string
				for _, p := range pr.ArrayValue() {
					ps = append(ps, p.StringValue())
				}
				ports = strings.Join(ps, ",")
			}
			out = append(out, rule{pulumitest.String(o, "sourceAddressPrefix"), ports, pulumitest.String(o, "protocol")})
		}
		return out
	}
	wantExt := []rule{{"Internet", "80", "Tcp"}, {"VirtualNetwork", "9090", "Tcp"}}
	wantInt := []rule{{"VirtualNetwork", "*", "*"}}
	for _, nva := range r.pair.NVAs {
		if got := rules(nva.Name + "-external-nsg"); !slices.Equal(got, wantExt) {
			t.Errorf("%s external NSG rules = %v, want %v", nva.Name, got, wantExt)
		}
		if got := rules(nva.Name + "-internal-nsg"); !slices.Equal(got, wantInt) {
			t.Errorf("%s internal NSG rules = %v, want %v", nva.Name, got, wantInt)
		}
	}
	if r.pair.ProbePort != 9090 {
		t.Errorf("ProbePort = %d", r.pair.ProbePort)
	}
}

func TestNvaPairVMsAreUbuntuWithSSHKeysAndNoPasswordAnywhere(t *testing.T) {
	r := runNvaPair(t, seedNvaPair())
	for _, vm := range r.m.OfType("azure-native:compute:VirtualMachine") {
		img := map[string]string{
			"publisher": pulumitest.String(vm.Inputs, "storageProfile", "imageReference", "publisher"),
			"offer":     pulumitest.String(vm.Inputs, "storageProfile", "imageReference", "offer"),
			"sku":       pulumitest.String(vm.Inputs, "storageProfile", "imageReference", "sku"),
		}
		if img["publisher"] != "Canonical" || !strings.Contains(img["offer"], "jammy") || !strings.HasPrefix(img["sku"], "22_04-lts") {
			t.Errorf("%s image = %v, want Canonical's Ubuntu 22.04 LTS", vm.Name, img)
		}
		lc := []any{"osProfile", "linuxConfiguration"}
		if v := pulumitest.Get(vm.Inputs, append(lc, "disablePasswordAuthentication")...); v == nil || !v.BoolValue() {
			t.Errorf("%s disablePasswordAuthentication = %v, want true", vm.Name, v)
		}
		if got := pulumitest.String(vm.Inputs, append(lc, "ssh", "publicKeys", 0, "keyData")...); got != sshKey {
			t.Errorf("%s SSH key = %q", vm.Name, got)
		}
		if got := pulumitest.String(vm.Inputs, append(lc, "ssh", "publicKeys", 0, "path")...); got != "/home/hanva/.ssh/authorized_keys" {
			t.Errorf("%s SSH key path = %q", vm.Name, got)
		}
		if got := pulumitest.String(vm.Inputs, "osProfile", "adminUsername"); got != "hanva" {
			t.Errorf("%s admin = %q", vm.Name, got)
		}
		if got := pulumitest.String(vm.Inputs, "hardwareProfile", "vmSize"); got != "Standard_B2s" {
			t.Errorf("%s size = %q", vm.Name, got)
		}
	}
	for _, res := range r.m.All() {
		walkInputs(resource.NewObjectProperty(res.Inputs), "", func(path string, v resource.PropertyValue) {
			lower := strings.ToLower(path)
			if !strings.Contains(lower, "password") {
				return
			}
			if strings.HasSuffix(path, "disablePasswordAuthentication") && v.IsBool() && v.BoolValue() {
				return
			}
			t.Errorf("%s %q has input %s = %v: no password anywhere", res.Type, res.Name, path, v)
		})
	}
}

// walkInputs calls fn for every property path under v.
func walkInputs(v resource.PropertyValue, path string, fn func(string, resource.PropertyValue)) {
	if v.IsSecret() {
		v = v.SecretValue().Element
	}
	switch {
	case v.IsObject():
		for k, e := range v.ObjectValue() {
			p := string(k)
			if path != "" {
				p = path + "." + p
			}
			fn(p, e)
			walkInputs(e, p, fn)
		}
	case v.IsArray():
		for i, e := range v.ArrayValue() {
			walkInputs(e, fmt.Sprintf("%s[%d]", path, i), fn)
		}
	}
}

// cloudConfig is the part of a cloud-config document the sample uses.
type cloudConfig struct {
	WriteFiles []struct {
		Path    string `yaml:"path"`
		Content string `yaml:"content"`
		Append  bool   `yaml:"append"`
	} `yaml:"write_files"`
	RunCmd []string `yaml:"runcmd"`
}

func customDataOf(t *testing.T, vm pulumitest.Resource) (string, cloudConfig) {
	t.Helper()
	enc := pulumitest.String(vm.Inputs, "osProfile", "customData")
	if len(enc) >= 64*1024 {
		t.Errorf("%s custom data is %d bytes base64; Azure's limit is 64 KB", vm.Name, len(enc))
	}
	raw, err := base64.StdEncoding.DecodeString(enc)
	if err != nil {
		t.Fatalf("%s custom data is not base64: %v", vm.Name, err)
	}
	var cc cloudConfig
	if err := yaml.Unmarshal(raw, &cc); err != nil {
		t.Fatalf("%s custom data is not YAML: %v\n%s", vm.Name, err, raw)
	}
	return string(raw), cc
}

func TestNvaPairSampleCloudInitForwardsAndAnswersTheProbe(t *testing.T) {
	args := seedNvaPair()
	args.ProbePort = 8081
	r := runNvaPair(t, args)
	for _, nva := range r.pair.NVAs {
		doc, cc := customDataOf(t, r.m.Named(t, nva.Name+"-vm"))
		if !strings.HasPrefix(doc, "#cloud-config\n") {
			t.Errorf("%s custom data does not start with #cloud-config", nva.Name)
		}
		files := map[string]string{}
		for _, f := range cc.WriteFiles {
			files[f.Path] = f.Content
		}
		if !strings.Contains(files["/etc/sysctl.d/60-hanva-nva.conf"], "net.ipv4.ip_forward=1") {
			t.Errorf("%s does not persist net.ipv4.ip_forward=1: %v", nva.Name, files)
		}
		ext := nva.IPs[components.RoleExternal]
		nat := files["/etc/ufw/before.rules"]
		for _, want := range []string{
			"*nat",
			"-A PREROUTING -d " + ext + "/32 -p tcp --dport 80 -j DNAT --to-destination 10.0.1.10",
			"-A POSTROUTING -d 10.0.1.10/32 -p tcp --dport 80 -j MASQUERADE",
			"COMMIT",
		} {
			if !strings.Contains(nat, want) {
				t.Errorf("%s ufw NAT rules lack %q:\n%s", nva.Name, want, nat)
			}
		}
		if !strings.Contains(files["/usr/local/sbin/hanva-nva-routes"], "ip route replace 10.0.1.10/32 via 10.0.0.97") {
			t.Errorf("%s does not route the forwarding target through the internal subnet's gateway:\n%s", nva.Name, files["/usr/local/sbin/hanva-nva-routes"])
		}
		if !strings.Contains(files["/etc/systemd/system/hanva-probe.service"], "http.server 8081") {
			t.Errorf("%s probe responder is not on 8081:\n%s", nva.Name, files["/etc/systemd/system/hanva-probe.service"])
		}
		for _, want := range []string{"ufw allow 8081/tcp", "ufw --force enable", "systemctl enable --now hanva-nva-routes.service hanva-probe.service"} {
			if !slices.Contains(cc.RunCmd, want) {
				t.Errorf("%s runcmd lacks %q: %q", nva.Name, want, cc.RunCmd)
			}
		}
	}
}

func TestNvaPairSampleWithoutForwardToHasNoDNAT(t *testing.T) {
	args := seedNvaPair()
	args.ForwardTo = ""
	r := runNvaPair(t, args)
	doc, _ := customDataOf(t, r.m.Named(t, "nva-1-vm"))
	if strings.Contains(doc, "DNAT") || strings.Contains(doc, "ip route replace") {
		t.Errorf("custom data forwards although ForwardTo is empty:\n%s", doc)
	}
	if !strings.Contains(doc, "-A POSTROUTING -j MASQUERADE") {
		t.Errorf("custom data lost the outbound masquerade:\n%s", doc)
	}
}

func TestNvaPairEncodesTheUsersCustomData(t *testing.T) {
	const mine = "#cloud-config\nruncmd:\n  - echo my own NVA\n"
	args := seedNvaPair()
	args.CustomData = pulumi.String(mine)
	r := runNvaPair(t, args)
	for _, vm := range r.m.OfType("azure-native:compute:VirtualMachine") {
		doc, _ := customDataOf(t, vm)
		if doc != mine {
			t.Errorf("%s custom data = %q, want the user's %q", vm.Name, doc, mine)
		}
	}
}

func TestNvaPairRefusesCustomDataOverAzuresLimit(t *testing.T) {
	args := seedNvaPair()
	args.CustomData = pulumi.String("#cloud-config\n" + strings.Repeat("#", 70000))
	_, err := runMocked(t, func(ctx *pulumi.Context) error {
		_, err := components.NewNvaPair(ctx, "nva", args)
		return err
	})
	if err == nil || !strings.Contains(err.Error(), "NvaPairArgs.CustomData") || !strings.Contains(err.Error(), "65535") {
		t.Fatalf("error = %v, want one naming NvaPairArgs.CustomData and the 65535-byte limit", err)
	}
}

func TestNvaPairRefusals(t *testing.T) {
	tests := []struct {
		name   string
		edit   func(a *components.NvaPairArgs)
		errHas string
	}{
		{"one NVA is not HA", func(a *components.NvaPairArgs) { a.Count = 1 }, "components: NvaPairArgs.Count: 1 NVA; HA needs at least 2"},
		{"a negative count", func(a *components.NvaPairArgs) { a.Count = -2 }, "NvaPairArgs.Count: -2 NVAs"},
		{"a first host on Azure's DNS address", func(a *components.NvaPairArgs) { a.FirstHost = 3 }, "NvaPairArgs.FirstHost"},
		{"NVAs running into the broadcast address", func(a *components.NvaPairArgs) { a.FirstHost = 29; a.Count = 3 }, "broadcast"},
		{"an external prefix that does not parse", func(a *components.NvaPairArgs) { a.ExternalPrefix = "dmz" }, "NvaPairArgs.ExternalPrefix"},
		{"no internal prefix", func(a *components.NvaPairArgs) { a.InternalPrefix = "" }, "NvaPairArgs.InternalPrefix: required"},
		{"both NICs in one range", func(a *components.NvaPairArgs) { a.InternalPrefix = "10.0.0.64/27" }, "NvaPairArgs.InternalPrefix"},
		{"a zone that does not exist", func(a *components.NvaPairArgs) { a.Zones = []string{"east"} }, "NvaPairArgs.Zones"},
		{"a zone listed twice", func(a *components.NvaPairArgs) { a.Zones = []string{"1", "1"} }, "NvaPairArgs.Zones"},
		{"no SSH key", func(a *components.NvaPairArgs) { a.SSHPublicKey = nil }, "NvaPairArgs.SSHPublicKey"},
		{"no external subnet", func(a *components.NvaPairArgs) { a.ExternalSubnetID = nil }, "NvaPairArgs.ExternalSubnetID"},
		{"root as the admin user", func(a *components.NvaPairArgs) { a.AdminUsername = "root" }, "NvaPairArgs.AdminUsername"},
		{"a probe on the forwarded HTTP port", func(a *components.NvaPairArgs) { a.ProbePort = 80 }, "NvaPairArgs.ProbePort"},
		{"a probe port past 65535", func(a *components.NvaPairArgs) { a.ProbePort = 70000 }, "NvaPairArgs.ProbePort"},
		{"a forwarding target that is not an IP", func(a *components.NvaPairArgs) { a.ForwardTo = "web-ilb" }, "NvaPairArgs.ForwardTo"},
		{"no resource group", func(a *components.NvaPairArgs) { a.ResourceGroupName = nil }, "NvaPairArgs.ResourceGroupName"},
		{"a readiness that is neither probe nor none", func(a *components.NvaPairArgs) { a.Readiness = "wait" }, `NvaPairArgs.Readiness: "wait"`},
		{"a probe kind the monitors do not know", func(a *components.NvaPairArgs) { a.ProbeKind = "icmp" }, `NvaPairArgs.ProbeKind: "icmp"`},
		{"a probe path the gate cannot quote", func(a *components.NvaPairArgs) { a.ProbePath = "/it's" }, "NvaPairArgs.ProbePath"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := seedNvaPair()
			tt.edit(args)
			m, err := runMocked(t, func(ctx *pulumi.Context) error {
				_, err := components.NewNvaPair(ctx, "nva", args)
				return err
			})
			if err == nil {
				t.Fatal("NewNvaPair succeeded, want an error")
			}
			if !strings.Contains(err.Error(), tt.errHas) {
				t.Errorf("error %q does not contain %q", err, tt.errHas)
			}
			assertNothingRegistered(t, m)
		})
	}
}

func TestNvaPairRefusesANameThatMakesBadHostNames(t *testing.T) {
	m, err := runMocked(t, func(ctx *pulumi.Context) error {
		_, err := components.NewNvaPair(ctx, "nva_pair", seedNvaPair())
		return err
	})
	if err == nil || !strings.Contains(err.Error(), `"nva_pair-1"`) {
		t.Fatalf("error = %v, want one naming the NVA name nva_pair-1", err)
	}
	assertNothingRegistered(t, m)
}

const tGate = "azure-native:compute:VirtualMachineRunCommandByVirtualMachine"

// dependsOn says whether r depends on the resource of type typ named name
// (a URN ends "::<type>::<name>", or "$<type>::<name>" for a child).
func dependsOn(r pulumitest.Resource, typ, name string) bool {
	return slices.ContainsFunc(r.DependsOn, func(urn string) bool {
		return strings.HasSuffix(urn, "$"+typ+"::"+name) || strings.HasSuffix(urn, "::"+typ+"::"+name)
	})
}

// waitsFor names the NVA VMs and readiness gates among r's dependencies.
func waitsFor(r pulumitest.Resource) []string {
	var out []string
	for _, urn := range r.DependsOn {
		if strings.Contains(urn, "$"+tGate+"::") || strings.Contains(urn, "$azure-native:compute:VirtualMachine::") {
			out = append(out, urn[strings.LastIndex(urn, "::")+2:])
		}
	}
	slices.Sort(out)
	return out
}

// pipMocks answers the public IP lookup as Azure would with the public IP
// on holder's external NIC ("" = on no NIC), or fails it.
type pipMocks struct {
	*pulumitest.Mocks
	holder string
	fail   bool
}

func (m *pipMocks) Call(args pulumi.MockCallArgs) (resource.PropertyMap, error) {
	if args.Token != "azure-native:network:getPublicIPAddress" {
		return m.Mocks.Call(args)
	}
	if m.fail {
		return nil, fmt.Errorf("AuthorizationFailed: no read on the public IP")
	}
	out := resource.PropertyMap{"name": args.Args["publicIpAddressName"]}
	if m.holder != "" {
		// ARM may spell the resource group in another case.
		id := "/subscriptions/" + pulumitest.Subscription + "/resourceGroups/RG-HANVA/providers/Microsoft.Network/networkInterfaces/" +
			m.holder + "-external-nic/ipConfigurations/ipconfig1"
		out["ipConfiguration"] = resource.NewObjectProperty(resource.PropertyMap{"id": resource.NewStringProperty(id)})
	}
	return out, nil
}

// runNvaPairOn registers the NvaPair "nva" on mocks and returns its
// ReplaceOrder.
func runNvaPairOn(t *testing.T, mocks pulumi.MockResourceMonitor, args *components.NvaPairArgs) []string {
	t.Helper()
	var out outputs
	err := pulumi.RunErr(func(ctx *pulumi.Context) error {
		pair, err := components.NewNvaPair(ctx, "nva", args)
		if err != nil {
			return err
		}
		out.capture("order", pair.ReplaceOrder)
		return nil
	}, pulumi.WithMocks("hanva", "test", mocks))
	if err != nil {
		t.Fatalf("NewNvaPair: %v", err)
	}
	order, ok := out.get(t, "order").([]string)
	if !ok {
		t.Fatalf("ReplaceOrder = %#v", out.get(t, "order"))
	}
	return order
}

func TestNvaPairVMsAreReplacedNotUpdatedWhenTheirCustomDataChanges(t *testing.T) {
	for _, custom := range []bool{false, true} {
		args := seedNvaPair()
		args.Count = 3
		if custom {
			args.CustomData = pulumi.String("#cloud-config\n")
		}
		r := runNvaPair(t, args)
		for _, nva := range r.pair.NVAs {
			vm := r.m.Named(t, nva.Name+"-vm")
			if !slices.Equal(vm.ReplaceOnChanges, []string{"osProfile.customData"}) || !vm.DeleteBeforeReplace {
				t.Errorf("custom data %v: %s replaceOnChanges %q, deleteBeforeReplace %v; want [osProfile.customData], true",
					custom, vm.Name, vm.ReplaceOnChanges, vm.DeleteBeforeReplace)
			}
		}
	}
}

func TestNvaPairReplacesOneNVAAtATimeTheFirstNVALast(t *testing.T) {
	args := seedNvaPair()
	args.Count = 3
	m := &pipMocks{Mocks: pulumitest.NewMocks()}
	order := runNvaPairOn(t, m, args)
	if want := []string{"nva-3", "nva-2", "nva-1"}; !slices.Equal(order, want) {
		t.Errorf("ReplaceOrder = %q, want %q", order, want)
	}
	for i, want := range map[int][]string{1: {"nva-2-ready"}, 2: {"nva-3-ready"}, 3: nil} {
		name := fmt.Sprintf("nva-%d", i)
		if got := waitsFor(m.Named(t, name+"-vm")); !slices.Equal(got, want) {
			t.Errorf("%s-vm waits for %q, want %q", name, got, want)
		}
		gate := m.Named(t, name+"-ready")
		if got := waitsFor(gate); !slices.Equal(got, []string{name + "-vm"}) {
			t.Errorf("%s waits for %q, want its VM only", gate.Name, got)
		}
	}
}

func TestNvaPairReplacesTheNVAHoldingThePublicIPLast(t *testing.T) {
	tests := []struct {
		name      string
		holder    string
		fail      bool
		wantOrder []string
		wantWaits map[string][]string // VM -> gates
	}{
		{"after a failover to nva-2, nva-2 goes last", "nva-2", false, []string{"nva-3", "nva-1", "nva-2"},
			map[string][]string{"nva-3-vm": nil, "nva-1-vm": {"nva-3-ready"}, "nva-2-vm": {"nva-1-ready"}}},
		{"with the public IP on nva-1, the reverse order", "nva-1", false, []string{"nva-3", "nva-2", "nva-1"},
			map[string][]string{"nva-3-vm": nil, "nva-2-vm": {"nva-3-ready"}, "nva-1-vm": {"nva-2-ready"}}},
		{"on nva-3, it goes last", "nva-3", false, []string{"nva-2", "nva-1", "nva-3"},
			map[string][]string{"nva-2-vm": nil, "nva-1-vm": {"nva-2-ready"}, "nva-3-vm": {"nva-1-ready"}}},
		{"a detached public IP leaves the reverse order", "", false, []string{"nva-3", "nva-2", "nva-1"},
			map[string][]string{"nva-3-vm": nil, "nva-2-vm": {"nva-3-ready"}, "nva-1-vm": {"nva-2-ready"}}},
		{"an unreadable public IP leaves the reverse order", "nva-2", true, []string{"nva-3", "nva-2", "nva-1"},
			map[string][]string{"nva-3-vm": nil, "nva-2-vm": {"nva-3-ready"}, "nva-1-vm": {"nva-2-ready"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := seedNvaPair()
			args.Count = 3
			m := &pipMocks{Mocks: pulumitest.NewMocks(), holder: tt.holder, fail: tt.fail}
			if order := runNvaPairOn(t, m, args); !slices.Equal(order, tt.wantOrder) {
				t.Errorf("ReplaceOrder = %q, want %q", order, tt.wantOrder)
			}
			for vm, want := range tt.wantWaits {
				if got := waitsFor(m.Named(t, vm)); !slices.Equal(got, want) {
					t.Errorf("%s waits for %q, want %q", vm, got, want)
				}
			}
		})
	}
}

func TestNvaPairFirstDeployRegistersEveryNVAAndGate(t *testing.T) {
	for _, count := range []int{2, 3, 5} {
		args := seedNvaPair()
		args.Count = count
		m := &pipMocks{Mocks: pulumitest.NewMocks()}
		order := runNvaPairOn(t, m, args)
		if len(order) != count {
			t.Errorf("%d NVAs: ReplaceOrder %q", count, order)
		}
		types := m.Types()
		if types["azure-native:compute:VirtualMachine"] != count || types[tGate] != count {
			t.Errorf("%d NVAs: %d VMs and %d gates registered", count, types["azure-native:compute:VirtualMachine"], types[tGate])
		}
	}
}

func TestNvaPairGateWaitsForTheProbeOnTheVM(t *testing.T) {
	tests := []struct {
		name     string
		edit     func(a *components.NvaPairArgs)
		wantLine string
	}{
		{"the sample answers HTTP on the probe port", func(a *components.NvaPairArgs) { a.ProbePort = 8081 },
			"'http://127.0.0.1:8081/'"},
		{"an HTTP probe path", func(a *components.NvaPairArgs) { a.ProbePath = "/healthz" },
			"'http://127.0.0.1:8080/healthz'"},
		{"a TCP probe", func(a *components.NvaPairArgs) { a.ProbeKind = components.NvaProbeTCP },
			"exec 3<>/dev/tcp/127.0.0.1/8080"},
		{"your own custom data with a gate asked for", func(a *components.NvaPairArgs) {
			a.CustomData, a.Readiness = pulumi.String("#cloud-config\n"), components.NvaReadinessProbe
		}, "'http://127.0.0.1:8080/'"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := seedNvaPair()
			tt.edit(args)
			r := runNvaPair(t, args)
			for _, nva := range r.pair.NVAs {
				gate := r.m.Named(t, nva.Name+"-ready")
				vm := r.m.Named(t, nva.Name+"-vm")
				if got := pulumitest.String(gate.Inputs, "vmName"); got != vm.ID[strings.LastIndex(vm.ID, "/")+1:] {
					t.Errorf("%s runs on VM %q, want %s's", gate.Name, got, vm.Name)
				}
				if v := pulumitest.Get(gate.Inputs, "asyncExecution"); v == nil || v.BoolValue() {
					t.Errorf("%s asyncExecution = %v, want false", gate.Name, v)
				}
				if v := pulumitest.Get(gate.Inputs, "treatFailureAsDeploymentFailure"); v == nil || !v.BoolValue() {
					t.Errorf("%s treatFailureAsDeploymentFailure = %v, want true", gate.Name, v)
				}
				if v := pulumitest.Get(gate.Inputs, "timeoutInSeconds"); v == nil || v.NumberValue() != 900 {
					t.Errorf("%s timeoutInSeconds = %v, want 900", gate.Name, v)
				}
				script := pulumitest.String(gate.Inputs, "source", "script")
				if !strings.Contains(script, tt.wantLine) {
					t.Errorf("%s script lacks %q:\n%s", gate.Name, tt.wantLine, script)
				}
				sum := sha256.Sum256([]byte(pulumitest.String(vm.Inputs, "osProfile", "customData")))
				if !strings.Contains(script, hex.EncodeToString(sum[:])) {
					t.Errorf("%s script lacks the SHA-256 of %s's custom data", gate.Name, vm.Name)
				}
			}
		})
	}
}

func TestNvaPairWithYourCustomDataHasNoGateButStillOneNVAAtATime(t *testing.T) {
	args := seedNvaPair()
	args.Count = 3
	args.CustomData = pulumi.String("#cloud-config\nruncmd:\n  - echo my own NVA\n")
	m := &pipMocks{Mocks: pulumitest.NewMocks()}
	runNvaPairOn(t, m, args)
	if n := len(m.OfType(tGate)); n != 0 {
		t.Errorf("%d readiness gates with the user's custom data, want none by default", n)
	}
	for vm, want := range map[string][]string{"nva-3-vm": nil, "nva-2-vm": {"nva-3-vm"}, "nva-1-vm": {"nva-2-vm"}} {
		if got := waitsFor(m.Named(t, vm)); !slices.Equal(got, want) {
			t.Errorf("%s waits for %q, want %q", vm, got, want)
		}
	}
}

// A change of the sample's settings changes every NVA's custom data, which
// replaces the VMs (replaceOnChanges), and every gate's script, which runs
// the gates again on the new VMs.
func TestNvaPairSampleSettingsChangeCustomDataAndGateScripts(t *testing.T) {
	snapshot := func(edit func(a *components.NvaPairArgs)) (custom, scripts map[string]string) {
		args := seedNvaPair()
		edit(args)
		r := runNvaPair(t, args)
		custom, scripts = map[string]string{}, map[string]string{}
		for _, nva := range r.pair.NVAs {
			custom[nva.Name] = pulumitest.String(r.m.Named(t, nva.Name+"-vm").Inputs, "osProfile", "customData")
			scripts[nva.Name] = pulumitest.String(r.m.Named(t, nva.Name+"-ready").Inputs, "source", "script")
		}
		return custom, scripts
	}
	before, beforeScripts := snapshot(func(*components.NvaPairArgs) {})
	again, againScripts := snapshot(func(*components.NvaPairArgs) {})
	for nva := range before {
		if before[nva] != again[nva] || beforeScripts[nva] != againScripts[nva] {
			t.Errorf("%s: the same settings give other custom data or another gate script: a deploy without changes would replace it", nva)
		}
	}
	for _, change := range []struct {
		name string
		edit func(a *components.NvaPairArgs)
	}{
		{"another forwarding target", func(a *components.NvaPairArgs) { a.ForwardTo = "10.0.1.20" }},
		{"another probe port", func(a *components.NvaPairArgs) { a.ProbePort = 8081 }},
	} {
		after, afterScripts := snapshot(change.edit)
		for nva := range before {
			if after[nva] == before[nva] {
				t.Errorf("%s: %s keeps its custom data, so its VM would keep the old sample", change.name, nva)
			}
			if afterScripts[nva] == beforeScripts[nva] {
				t.Errorf("%s: %s's gate script is unchanged, so the gate would not run on the new VM", change.name, nva)
			}
		}
	}
}

func TestNvaHostsAreWhereNvaPairPutsTheNVAs(t *testing.T) {
	for _, tt := range []struct{ firstHost, count, wantFirst, wantLast int }{
		{0, 0, 4, 5}, {0, 3, 4, 6}, {10, 2, 10, 11},
	} {
		first, last := components.NvaHosts(tt.firstHost, tt.count)
		if first != tt.wantFirst || last != tt.wantLast {
			t.Errorf("NvaHosts(%d, %d) = %d, %d; want %d, %d", tt.firstHost, tt.count, first, last, tt.wantFirst, tt.wantLast)
		}
		args := seedNvaPair()
		args.FirstHost, args.Count = tt.firstHost, tt.count
		r := runNvaPair(t, args)
		for role, prefix := range map[string]string{components.RoleExternal: args.ExternalPrefix, components.RoleInternal: args.InternalPrefix} {
			lo, _ := components.HostIP(prefix, first)
			hi, _ := components.HostIP(prefix, last)
			if got := r.pair.NVAs[0].IPs[role]; got != lo {
				t.Errorf("FirstHost %d, Count %d: the first NVA's %s IP is %s, NvaHosts says %s", tt.firstHost, tt.count, role, got, lo)
			}
			if got := r.pair.NVAs[len(r.pair.NVAs)-1].IPs[role]; got != hi {
				t.Errorf("FirstHost %d, Count %d: the last NVA's %s IP is %s, NvaHosts says %s", tt.firstHost, tt.count, role, got, hi)
			}
		}
	}
}

// The sample web tier's load balancer has a rule for port 80 only: the
// sample NVA forwarded 443 too, into nothing.
func TestNvaPairSampleForwardsAndOpensHTTPOnly(t *testing.T) {
	r := runNvaPair(t, seedNvaPair())
	for _, nva := range r.pair.NVAs {
		doc, _ := customDataOf(t, r.m.Named(t, nva.Name+"-vm"))
		if strings.Contains(doc, "443") {
			t.Errorf("%s's sample cloud-init mentions 443:\n%s", nva.Name, doc)
		}
		nsg := r.m.Named(t, nva.Name+"-external-nsg")
		if got := pulumitest.String(nsg.Inputs, "securityRules", 0, "destinationPortRange"); got != "80" {
			t.Errorf("%s external NSG opens %q to the Internet, want 80", nva.Name, got)
		}
		if v := pulumitest.Get(nsg.Inputs, "securityRules", 0, "destinationPortRanges"); v != nil && !v.IsNull() && len(v.ArrayValue()) > 0 {
			t.Errorf("%s external NSG also opens %v", nva.Name, v)
		}
	}
}

func TestNvaPairWithYourCustomDataOpensHTTPAndHTTPS(t *testing.T) {
	args := seedNvaPair()
	args.CustomData = pulumi.String("#cloud-config\n")
	r := runNvaPair(t, args)
	for _, nva := range r.pair.NVAs {
		nsg := r.m.Named(t, nva.Name+"-external-nsg")
		var ports []string
		for _, v := range pulumitest.Get(nsg.Inputs, "securityRules", 0, "destinationPortRanges").ArrayValue() {
			ports = append(ports, v.StringValue())
		}
		if !slices.Equal(ports, []string{"80", "443"}) {
			t.Errorf("%s external NSG opens %q to the Internet with your appliance, want 80 and 443 as before", nva.Name, ports)
		}
	}
}
