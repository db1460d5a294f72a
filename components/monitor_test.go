package components

import (
	"debug/elf"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/hanva/hanva/components/pulumitest"
	"github.com/hanva/hanva/monitor/config"
)

const (
	monSub      = "11111111-2222-3333-4444-555555555555"
	monRG       = "/subscriptions/" + monSub + "/resourceGroups/rg-net"
	monSubnetID = monRG + "/providers/Microsoft.Network/virtualNetworks/vnet/subnets/dmz-internal"
	monExtNet   = monRG + "/providers/Microsoft.Network/virtualNetworks/vnet/subnets/dmz-external"
	monSSHKey   = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIMonitorTestKeyNotARealOne hanva@test"
)

func monNIC(nva, role string) string {
	return monRG + "/providers/Microsoft.Network/networkInterfaces/" + nva + "-" + role + "-nic"
}
func monRT(i int) string {
	return fmt.Sprintf("%s/providers/Microsoft.Network/routeTables/rt-%d", monRG, i)
}
func monPIP(i int) string {
	return fmt.Sprintf("%s/providers/Microsoft.Network/publicIPAddresses/pip-%d", monRG, i)
}
func monNSG(i int) string {
	return fmt.Sprintf("%s/providers/Microsoft.Network/networkSecurityGroups/nsg-%d", monRG, i)
}

// monitorArgs is the seed's layout: NVAs with an external and an internal
// NIC, route tables via internal, one public IP via external.
func monitorArgs(bin string, nvas, tables int) *MonitorArgs {
	a := &MonitorArgs{
		ResourceGroupName: pulumi.String("rg-hanva"),
		Location:          pulumi.String("westeurope"),
		SSHPublicKey:      pulumi.String(monSSHKey),
		SubnetID:          pulumi.String(monSubnetID),
		SubnetIDs:         []pulumi.StringInput{pulumi.String(monSubnetID), pulumi.String(monExtNet)},
		PublicIPs:         []ManagedResource{{ID: pulumi.String(monPIP(0)), Via: "external"}},
		BinaryPath:        bin,
	}
	for i := range nvas {
		name := fmt.Sprintf("nva-%d", i+1)
		a.NVAs = append(a.NVAs, MonitoredNVA{
			Name:         name,
			ProbeAddress: pulumi.String(fmt.Sprintf("10.0.0.%d:8080", 100+i)),
			NICs: map[string]pulumi.StringInput{
				// As a program passes them: a NIC's ID() is an IDOutput.
				"external": pulumi.ID(monNIC(name, "external")).ToIDOutput(),
				"internal": pulumi.String(monNIC(name, "internal")),
			},
		})
	}
	for i := range tables {
		a.RouteTables = append(a.RouteTables, ManagedResource{ID: pulumi.String(monRT(i)), Via: "internal"})
	}
	return a
}

// monitorRun is one NewMonitor under mocks, with its outputs.
type monitorRun struct {
	m          *pulumitest.Mocks
	mon        *Monitor
	mu         sync.Mutex
	config     string
	leaseURL   string
	privateIPs []string
}

func runMonitor(t *testing.T, args *MonitorArgs, stack string) (*monitorRun, error) {
	t.Helper()
	r := &monitorRun{m: pulumitest.NewMocks()}
	err := pulumi.RunErr(func(ctx *pulumi.Context) error {
		mon, err := NewMonitor(ctx, "monitor", args)
		if err != nil {
			return err
		}
		r.mon = mon
		mon.Config.ApplyT(func(s string) string { r.mu.Lock(); r.config = s; r.mu.Unlock(); return s })
		mon.LeaseBlobURL.ApplyT(func(s string) string { r.mu.Lock(); r.leaseURL = s; r.mu.Unlock(); return s })
		mon.PrivateIPs.ApplyT(func(s []string) []string { r.mu.Lock(); r.privateIPs = s; r.mu.Unlock(); return s })
		return nil
	}, pulumi.WithMocks("hanva", stack, r.m))
	return r, err
}

func mustRunMonitor(t *testing.T, args *MonitorArgs) *monitorRun {
	t.Helper()
	r, err := runMonitor(t, args, "test")
	if err != nil {
		t.Fatalf("NewMonitor: %v", err)
	}
	return r
}

func str(p resource.PropertyMap, path ...any) string { return pulumitest.String(p, path...) }

func strings2(v *resource.PropertyValue) []string {
	if v == nil || !v.IsArray() {
		return nil
	}
	var out []string
	for _, e := range v.ArrayValue() {
		if e.IsString() {
			out = append(out, e.StringValue())
		}
	}
	return out
}

func sorted(s []string) []string { s = slices.Clone(s); sort.Strings(s); return s }

func TestMonitorVMCountAndPlacement(t *testing.T) {
	bin, _ := writeFakeBinary(t)
	for _, tc := range []struct {
		name      string
		count     int
		zones     []string
		wantVMs   int
		wantZones []string // per VM; nil: an availability set
	}{
		{name: "two monitors in an availability set by default", wantVMs: 2},
		{name: "three monitors spread over three zones", count: 3, zones: []string{"1", "2", "3"}, wantVMs: 3, wantZones: []string{"1", "2", "3"}},
		{name: "three monitors over two zones wrap around", count: 3, zones: []string{"1", "2"}, wantVMs: 3, wantZones: []string{"1", "2", "1"}},
		{name: "one monitor alone", count: 1, wantVMs: 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := monitorArgs(bin, 2, 1)
			args.Count, args.Zones = tc.count, tc.zones
			r := mustRunMonitor(t, args)
			vms := r.m.OfType("azure-native:compute:VirtualMachine")
			if len(vms) != tc.wantVMs || len(r.mon.VMs) != tc.wantVMs {
				t.Fatalf("%d VMs registered, %d in Monitor.VMs; want %d", len(vms), len(r.mon.VMs), tc.wantVMs)
			}
			avsets := r.m.OfType("azure-native:compute:AvailabilitySet")
			if tc.wantZones == nil {
				if len(avsets) != 1 {
					t.Fatalf("%d availability sets, want 1", len(avsets))
				}
				as := avsets[0]
				if fd, ud := pulumitest.Get(as.Inputs, "platformFaultDomainCount"), pulumitest.Get(as.Inputs, "platformUpdateDomainCount"); fd == nil || ud == nil ||
					fd.NumberValue() != 2 || ud.NumberValue() != 2 {
					t.Errorf("availability set domains = %v/%v, want 2 fault and 2 update domains", fd, ud)
				}
			} else if len(avsets) != 0 {
				t.Errorf("%d availability sets with zones, want none", len(avsets))
			}
			for i := range tc.wantVMs {
				vm := r.m.Named(t, fmt.Sprintf("monitor-vm-%d", i+1))
				if got := str(vm.Inputs, "vmName"); got != fmt.Sprintf("monitor-%d", i+1) {
					t.Errorf("VM %d is named %q", i, got)
				}
				zones := strings2(pulumitest.Get(vm.Inputs, "zones"))
				avset := str(vm.Inputs, "availabilitySet", "id")
				if tc.wantZones == nil {
					if len(zones) != 0 || avset != avsets[0].ID {
						t.Errorf("VM %d: zones %v, availability set %q; want no zone and %q", i, zones, avset, avsets[0].ID)
					}
				} else if !slices.Equal(zones, []string{tc.wantZones[i]}) || avset != "" {
					t.Errorf("VM %d: zones %v, availability set %q; want zone %s and no set", i, zones, avset, tc.wantZones[i])
				}
			}
			if len(r.privateIPs) != tc.wantVMs || slices.Contains(r.privateIPs, "") {
				t.Errorf("PrivateIPs = %q, want %d addresses", r.privateIPs, tc.wantVMs)
			}
		})
	}
}

func TestMonitorVMsAreSmallUbuntuWithSSHKeysAndASystemAssignedIdentity(t *testing.T) {
	bin, _ := writeFakeBinary(t)
	r := mustRunMonitor(t, monitorArgs(bin, 2, 1))
	for _, vm := range r.m.OfType("azure-native:compute:VirtualMachine") {
		in := vm.Inputs
		checks := map[string][2]string{
			"identity":      {str(in, "identity", "type"), "SystemAssigned"},
			"size":          {str(in, "hardwareProfile", "vmSize"), "Standard_B1s"},
			"image offer":   {str(in, "storageProfile", "imageReference", "offer"), "0001-com-ubuntu-server-jammy"},
			"image sku":     {str(in, "storageProfile", "imageReference", "sku"), "22_04-lts-gen2"},
			"admin":         {str(in, "osProfile", "adminUsername"), "hanva"},
			"ssh key":       {str(in, "osProfile", "linuxConfiguration", "ssh", "publicKeys", 0, "keyData"), monSSHKey},
			"ssh key path":  {str(in, "osProfile", "linuxConfiguration", "ssh", "publicKeys", 0, "path"), "/home/hanva/.ssh/authorized_keys"},
			"computer name": {str(in, "osProfile", "computerName"), str(in, "vmName")},
		}
		for what, c := range checks {
			if c[0] != c[1] {
				t.Errorf("%s: %s = %q, want %q", vm.Name, what, c[0], c[1])
			}
		}
		if v := pulumitest.Get(in, "osProfile", "linuxConfiguration", "disablePasswordAuthentication"); v == nil || !v.BoolValue() {
			t.Errorf("%s: password authentication is not disabled", vm.Name)
		}
		if v := pulumitest.Get(in, "osProfile", "adminPassword"); v != nil {
			t.Errorf("%s has an admin password", vm.Name)
		}
		if v := pulumitest.Get(in, "osProfile", "customData"); v != nil && !v.IsNull() {
			t.Errorf("%s has custom data; the binary and config must reach it by its run command, which can change", vm.Name)
		}
		if !slices.Contains(vm.ReplaceOnChanges, "osProfile.customData") || !vm.DeleteBeforeReplace {
			t.Errorf("%s: replaceOnChanges %v, deleteBeforeReplace %v; want a VM of an earlier hanva (with custom data) replaced, old one first",
				vm.Name, vm.ReplaceOnChanges, vm.DeleteBeforeReplace)
		}
	}
	nics := r.m.OfType("azure-native:network:NetworkInterface")
	if len(nics) != 2 {
		t.Fatalf("%d NICs, want one per monitor VM", len(nics))
	}
	for _, nic := range nics {
		if got := str(nic.Inputs, "ipConfigurations", 0, "subnet", "id"); got != monSubnetID {
			t.Errorf("%s is in subnet %q, want MonitorArgs.SubnetID", nic.Name, got)
		}
		if v := pulumitest.Get(nic.Inputs, "ipConfigurations", 0, "publicIPAddress"); v != nil {
			t.Errorf("%s has a public IP", nic.Name)
		}
	}
}

// wantActions is the custom role, spelled out: changing it is a decision,
// not a side effect.
var wantActions = []string{
	"Microsoft.Network/routeTables/read",
	"Microsoft.Network/routeTables/write",
	"Microsoft.Network/networkInterfaces/read",
	"Microsoft.Network/networkInterfaces/write",
	"Microsoft.Network/publicIPAddresses/read",
	"Microsoft.Network/publicIPAddresses/join/action",
	"Microsoft.Network/virtualNetworks/subnets/join/action",
	"Microsoft.Network/networkSecurityGroups/join/action",
	"Microsoft.Authorization/permissions/read",
}

// managedIDs are the resource IDs monitorArgs(…, nvas, tables) plus nsgs NSGs manage.
func managedIDs(nvas, tables, nsgs int) []string {
	ids := []string{monPIP(0), monSubnetID, monExtNet}
	for i := range nvas {
		name := fmt.Sprintf("nva-%d", i+1)
		ids = append(ids, monNIC(name, "external"), monNIC(name, "internal"))
	}
	for i := range tables {
		ids = append(ids, monRT(i))
	}
	for i := range nsgs {
		ids = append(ids, monNSG(i))
	}
	return sorted(ids)
}

func TestMonitorRoleHasExactlyTheFailoverActionsAssignableOnlyOnTheManagedResources(t *testing.T) {
	bin, _ := writeFakeBinary(t)
	args := monitorArgs(bin, 3, 2)
	args.NetworkSecurityGroupIDs = []pulumi.StringInput{pulumi.String(monNSG(0)), pulumi.String(monNSG(1))}
	r := mustRunMonitor(t, args)

	if !slices.Equal(MonitorActions(), wantActions) {
		t.Fatalf("MonitorActions() = %q, want %q", MonitorActions(), wantActions)
	}
	role := r.m.Named(t, "monitor-role")
	perms := pulumitest.Get(role.Inputs, "permissions")
	if perms == nil || len(perms.ArrayValue()) != 1 {
		t.Fatalf("role permissions = %v, want exactly one permission block", perms)
	}
	if got := strings2(pulumitest.Get(role.Inputs, "permissions", 0, "actions")); !slices.Equal(got, wantActions) {
		t.Errorf("role actions = %q, want exactly %q", got, wantActions)
	}
	for _, key := range []string{"notActions", "dataActions", "notDataActions"} {
		if got := strings2(pulumitest.Get(role.Inputs, "permissions", 0, key)); len(got) != 0 {
			t.Errorf("role %s = %q, want none", key, got)
		}
	}
	for _, a := range wantActions {
		if strings.Contains(a, "*") {
			t.Errorf("action %q is a wildcard", a)
		}
	}
	scopes := strings2(pulumitest.Get(role.Inputs, "assignableScopes"))
	if want := managedIDs(3, 2, 2); !slices.Equal(sorted(scopes), want) {
		t.Errorf("assignable scopes =\n%s\nwant exactly the managed resources\n%s", strings.Join(sorted(scopes), "\n"), strings.Join(want, "\n"))
	}
	if got := str(role.Inputs, "scope"); got != monRG {
		t.Errorf("the role definition's scope = %q, want the resource group of the first managed resource %q", got, monRG)
	}
	if got := str(role.Inputs, "roleType"); got != "CustomRole" {
		t.Errorf("roleType = %q", got)
	}
	if id := str(role.Inputs, "roleDefinitionId"); len(id) != 36 || strings.Count(id, "-") != 4 {
		t.Errorf("roleDefinitionId %q is not a GUID", id)
	}
}

func TestMonitorRoleDefinitionIsStableAcrossRunsAndDiffersBetweenStacks(t *testing.T) {
	bin, _ := writeFakeBinary(t)
	ids := map[string][]string{}
	for _, stack := range []string{"prod", "prod", "staging"} {
		r, err := runMonitor(t, monitorArgs(bin, 2, 1), stack)
		if err != nil {
			t.Fatal(err)
		}
		role := r.m.Named(t, "monitor-role")
		account := r.m.One(t, "azure-native:storage:StorageAccount")
		ids[stack] = append(ids[stack], str(role.Inputs, "roleDefinitionId")+" "+str(role.Inputs, "roleName")+" "+str(account.Inputs, "accountName"))
	}
	if ids["prod"][0] != ids["prod"][1] {
		t.Errorf("two runs of one stack named the role and account differently: %q, %q", ids["prod"][0], ids["prod"][1])
	}
	if ids["prod"][0] == ids["staging"][0] {
		t.Errorf("two stacks share role and account names %q", ids["prod"][0])
	}
}

func TestMonitorRoleAssignmentsAreOnePerIdentityAndResourceScopedToTheResource(t *testing.T) {
	bin, _ := writeFakeBinary(t)
	args := monitorArgs(bin, 2, 3)
	args.Count = 3
	args.NetworkSecurityGroupIDs = []pulumi.StringInput{pulumi.String(monNSG(0))}
	r := mustRunMonitor(t, args)

	role := r.m.Named(t, "monitor-role")
	wantRoleID := "/subscriptions/" + monSub + "/providers/Microsoft.Authorization/roleDefinitions/" + str(role.Inputs, "roleDefinitionId")
	var principals []string
	for i := range 3 {
		principals = append(principals, "principal-"+fmt.Sprintf("monitor-%d", i+1)) // the mocks' identity.principalId
	}
	want := map[string]bool{}
	for _, p := range principals {
		for _, id := range managedIDs(2, 3, 1) {
			want[p+" "+id] = true
		}
	}
	got := map[string]bool{}
	for _, ra := range r.m.OfType("azure-native:authorization:RoleAssignment") {
		if str(ra.Inputs, "roleDefinitionId") != wantRoleID {
			continue // the blob data role, checked below
		}
		scope, principal := str(ra.Inputs, "scope"), str(ra.Inputs, "principalId")
		if got[principal+" "+scope] {
			t.Errorf("%s is assigned twice on %s", principal, scope)
		}
		got[principal+" "+scope] = true
		if pt := str(ra.Inputs, "principalType"); pt != "ServicePrincipal" {
			t.Errorf("%s: principalType %q, want ServicePrincipal", ra.Name, pt)
		}
		if strings.Count(scope, "/providers/") != 1 || resourceGroupScope(scope) {
			t.Errorf("%s is scoped to %q, not to one resource", ra.Name, scope)
		}
	}
	if !maps.Equal(got, want) {
		t.Errorf("custom role assignments (principal scope):\n%s\nwant one per identity and managed resource:\n%s",
			strings.Join(sorted(slices.Collect(maps.Keys(got))), "\n"), strings.Join(sorted(slices.Collect(maps.Keys(want))), "\n"))
	}
}

// resourceGroupScope reports a subscription or resource group scope.
func resourceGroupScope(scope string) bool {
	parts := strings.Split(strings.Trim(scope, "/"), "/")
	return len(parts) <= 4
}

func TestMonitorStorageAccountIsTLS12HTTPSOnlyAndPrivate(t *testing.T) {
	bin, sum := writeFakeBinary(t)
	r := mustRunMonitor(t, monitorArgs(bin, 2, 1))
	acct := r.m.One(t, "azure-native:storage:StorageAccount")
	in := acct.Inputs
	for what, c := range map[string][2]string{
		"kind":    {str(in, "kind"), "StorageV2"},
		"sku":     {str(in, "sku", "name"), "Standard_LRS"},
		"min TLS": {str(in, "minimumTlsVersion"), "TLS1_2"},
	} {
		if c[0] != c[1] {
			t.Errorf("storage account %s = %q, want %q", what, c[0], c[1])
		}
	}
	for key, want := range map[string]bool{
		"enableHttpsTrafficOnly":       true,
		"allowBlobPublicAccess":        false,
		"defaultToOAuthAuthentication": true,
		// azure-native's Blob uploads with the account key (see monitor.go);
		// the monitors themselves never use it.
		"allowSharedKeyAccess": true,
	} {
		if v := pulumitest.Get(in, key); v == nil || !v.IsBool() || v.BoolValue() != want {
			t.Errorf("storage account %s = %v, want %v", key, v, want)
		}
	}
	if name := str(in, "accountName"); !monitorAccountRE.MatchString(name) || !strings.HasPrefix(name, "hanva") {
		t.Errorf("default account name %q is not 3-24 lower-case letters and digits starting with hanva", name)
	}

	c := r.m.One(t, "azure-native:storage:BlobContainer")
	if str(c.Inputs, "containerName") != "hanva" || str(c.Inputs, "publicAccess") != "None" {
		t.Errorf("container %q has public access %q; want \"hanva\", None", str(c.Inputs, "containerName"), str(c.Inputs, "publicAccess"))
	}
	blob := r.m.One(t, "azure-native:storage:Blob")
	if got := str(blob.Inputs, "blobName"); got != "nva-monitor/"+sum {
		t.Errorf("binary blob name = %q, want nva-monitor/<sha256>", got)
	}
	if src := pulumitest.Get(blob.Inputs, "source"); src == nil || !src.IsAsset() || src.AssetValue().Path != bin {
		t.Errorf("binary blob source = %v, want the file asset %s", src, bin)
	}
	if r.mon.BinarySHA256 != sum {
		t.Errorf("BinarySHA256 = %s, want %s", r.mon.BinarySHA256, sum)
	}
	wantLease := "https://" + str(in, "accountName") + ".blob.core.windows.net/hanva/ha/leader"
	if r.leaseURL != wantLease {
		t.Errorf("LeaseBlobURL = %q, want %q", r.leaseURL, wantLease)
	}

	args := monitorArgs(bin, 2, 1)
	args.StorageAccountName = "hanvafixed01"
	r = mustRunMonitor(t, args)
	if got := str(r.m.One(t, "azure-native:storage:StorageAccount").Inputs, "accountName"); got != "hanvafixed01" {
		t.Errorf("with StorageAccountName set the account is %q", got)
	}
}

func TestMonitorBlobDataRoleIsOnTheContainerOnly(t *testing.T) {
	bin, _ := writeFakeBinary(t)
	args := monitorArgs(bin, 2, 1)
	args.Count = 3
	r := mustRunMonitor(t, args)
	container := r.m.One(t, "azure-native:storage:BlobContainer")
	wantRole := "/subscriptions/" + pulumitest.Subscription + "/providers/Microsoft.Authorization/roleDefinitions/ba92f5b4-2d11-453d-a403-e96b0029c9fe"
	var principals []string
	for _, ra := range r.m.OfType("azure-native:authorization:RoleAssignment") {
		if !strings.HasSuffix(str(ra.Inputs, "roleDefinitionId"), "/ba92f5b4-2d11-453d-a403-e96b0029c9fe") {
			continue
		}
		if got := str(ra.Inputs, "roleDefinitionId"); got != wantRole {
			t.Errorf("%s: role %q, want %q", ra.Name, got, wantRole)
		}
		if got := str(ra.Inputs, "scope"); got != container.ID {
			t.Errorf("%s: Storage Blob Data Contributor on %q, want the container %q only", ra.Name, got, container.ID)
		}
		if pt := str(ra.Inputs, "principalType"); pt != "ServicePrincipal" {
			t.Errorf("%s: principalType %q", ra.Name, pt)
		}
		principals = append(principals, str(ra.Inputs, "principalId"))
	}
	if want := []string{"principal-monitor-1", "principal-monitor-2", "principal-monitor-3"}; !slices.Equal(sorted(principals), want) {
		t.Errorf("blob data role holders = %q, want each monitor once: %q", principals, want)
	}
}

const tRunCommand = "azure-native:compute:VirtualMachineRunCommandByVirtualMachine"

// installsOf returns the monitors' install run commands, in monitor order.
func installsOf(t *testing.T, m *pulumitest.Mocks) []pulumitest.Resource {
	t.Helper()
	var out []pulumitest.Resource
	for _, rc := range m.OfType(tRunCommand) {
		if strings.Contains(rc.Name, "-install-") {
			out = append(out, rc)
		}
	}
	sort.Slice(out, func(i, j int) bool { return len(out[i].Name) < len(out[j].Name) || out[i].Name < out[j].Name })
	return out
}

// installScriptOf returns the script of a monitor's install run command.
func installScriptOf(t *testing.T, rc pulumitest.Resource) string {
	t.Helper()
	s := str(rc.Inputs, "source", "script")
	if s == "" {
		t.Fatalf("%s has no inline script", rc.Name)
	}
	return s
}

func TestMonitorInstallCarriesTheHashAndAConfigNamingExactlyTheManagedResources(t *testing.T) {
	bin, sum := writeFakeBinary(t)
	args := monitorArgs(bin, 3, 10) // the largest layout the README describes
	args.Count = 3
	args.Settings = MonitorSettings{
		Probe:         config.ProbeTiming{Interval: config.Duration(2 * time.Second), FailureThreshold: 4},
		Failback:      config.FailbackPreferred,
		LeaseDuration: config.Duration(30 * time.Second),
	}
	args.NVAs[2].ProbeKind, args.NVAs[2].ProbePath = "tcp", ""
	r := mustRunMonitor(t, args)

	installs := installsOf(t, r.m)
	names := []string{"monitor-1", "monitor-2", "monitor-3"}
	if len(installs) != len(names) {
		t.Fatalf("%d install run commands, want one per monitor", len(installs))
	}
	for i, vm := range installs {
		script := installScriptOf(t, vm)
		if str(vm.Inputs, "vmName") != names[i] {
			t.Errorf("%s runs on VM %q, want %q", vm.Name, str(vm.Inputs, "vmName"), names[i])
		}
		if !strings.Contains(script, "WANT_SHA256='"+sum+"'") {
			t.Errorf("%s: the install does not pin the binary's SHA-256 %s", vm.Name, sum)
		}
		if !strings.Contains(script, "BLOB_URL='https://") || !strings.Contains(script, "/hanva/nva-monitor/"+sum+"'") {
			t.Errorf("%s: the install does not download the blob nva-monitor/%s", vm.Name, sum)
		}
		if m := secretRE.FindString(script); m != "" {
			t.Errorf("%s: the install contains %q, which looks like a secret", vm.Name, m)
		}
		if strings.Contains(script, monSSHKey) {
			t.Errorf("%s: the install carries the SSH key", vm.Name)
		}
		if v := pulumitest.Get(vm.Inputs, "asyncExecution"); v == nil || v.BoolValue() {
			t.Errorf("%s: asyncExecution is not false: the PUT would not wait for the script", vm.Name)
		}
		if v := pulumitest.Get(vm.Inputs, "treatFailureAsDeploymentFailure"); v == nil || !v.BoolValue() {
			t.Errorf("%s: a failed install would not fail the deployment", vm.Name)
		}

		yml := extractConfig(t, script)
		cfg, err := config.Parse([]byte(yml))
		if err != nil {
			t.Fatalf("%s: the monitor refuses its config: %v\n%s", vm.Name, err, yml)
		}
		if cfg.Instance != names[i] || !slices.Equal(cfg.Monitors, names) {
			t.Errorf("%s: instance %q among %q, want %q among %q", vm.Name, cfg.Instance, cfg.Monitors, names[i], names)
		}
		if cfg.Lease.Kind != config.LeaseBlob || cfg.Lease.URL != r.leaseURL || cfg.Lease.Credential.Kind != config.LeaseCredentialManagedIdentity ||
			cfg.Lease.Duration.D() != 30*time.Second {
			t.Errorf("%s: lease %+v, want a 30s managed-identity blob lease on %s", vm.Name, cfg.Lease, r.leaseURL)
		}
		if cfg.Credential.Kind != config.CredentialManagedIdentity {
			t.Errorf("%s: ARM credential %q", vm.Name, cfg.Credential.Kind)
		}
		if cfg.Failback != config.FailbackPreferred || cfg.Probe.Interval.D() != 2*time.Second || cfg.Probe.FailureThreshold != 4 {
			t.Errorf("%s: settings not applied: failback %q, probe %+v", vm.Name, cfg.Failback, cfg.Probe)
		}
		var rts, pips, nics []string
		for _, rt := range cfg.RouteTables {
			rts = append(rts, rt.ID+" via "+rt.Via)
		}
		for _, p := range cfg.PublicIPs {
			pips = append(pips, p.ID+" via "+p.Via)
		}
		for j, n := range cfg.NVAs {
			if n.Name != fmt.Sprintf("nva-%d", j+1) || n.Probe.Address != fmt.Sprintf("10.0.0.%d:8080", 100+j) {
				t.Errorf("%s: NVA %d is %q probed at %q", vm.Name, j, n.Name, n.Probe.Address)
			}
			for role, id := range n.NICs {
				nics = append(nics, n.Name+" "+role+" "+id)
			}
		}
		var wantRTs, wantNICs []string
		for j := range 10 {
			wantRTs = append(wantRTs, monRT(j)+" via internal")
		}
		for j := range 3 {
			name := fmt.Sprintf("nva-%d", j+1)
			wantNICs = append(wantNICs, name+" external "+monNIC(name, "external"), name+" internal "+monNIC(name, "internal"))
		}
		if !slices.Equal(rts, wantRTs) {
			t.Errorf("%s: route tables %q, want exactly %q", vm.Name, rts, wantRTs)
		}
		if want := []string{monPIP(0) + " via external"}; !slices.Equal(pips, want) {
			t.Errorf("%s: public IPs %q, want exactly %q", vm.Name, pips, want)
		}
		if !slices.Equal(sorted(nics), sorted(wantNICs)) {
			t.Errorf("%s: NICs %q, want exactly %q", vm.Name, sorted(nics), sorted(wantNICs))
		}
		if kinds := []string{cfg.NVAs[0].Probe.Kind, cfg.NVAs[2].Probe.Kind}; !slices.Equal(kinds, []string{"http", "tcp"}) {
			t.Errorf("%s: probe kinds %q, want http by default and tcp when asked", vm.Name, kinds)
		}
		if i == 0 && r.config != yml {
			t.Errorf("Monitor.Config is not monitor-1's config:\n%s\nwant\n%s", r.config, yml)
		}
	}
}

func TestMonitorRefusesBadArgsBeforeRegisteringAnything(t *testing.T) {
	bin, _ := writeFakeBinary(t)
	for _, tc := range []struct {
		name string
		edit func(a *MonitorArgs)
		want string
	}{
		{"one NVA", func(a *MonitorArgs) { a.NVAs = a.NVAs[:1] }, "MonitorArgs.NVAs: 1 NVA(s); HA needs at least 2"},
		{"a route table via a role an NVA lacks", func(a *MonitorArgs) { a.RouteTables[0].Via = "mgmt" }, `MonitorArgs.RouteTables[0].Via: "mgmt"`},
		{"a public IP via a role one NVA lacks", func(a *MonitorArgs) { delete(a.NVAs[1].NICs, "external") }, `MonitorArgs.PublicIPs[0].Via: "external": NVAs[1]`},
		{"a route table without a role", func(a *MonitorArgs) { a.RouteTables[0].Via = "" }, "MonitorArgs.RouteTables[0].Via: required"},
		{"nothing to fail over", func(a *MonitorArgs) { a.RouteTables, a.PublicIPs = nil, nil }, "MonitorArgs.RouteTables: neither"},
		{"a public IP but no NIC subnets", func(a *MonitorArgs) { a.SubnetIDs = nil }, "MonitorArgs.SubnetIDs: empty"},
		{"no SSH key", func(a *MonitorArgs) { a.SSHPublicKey = nil }, "MonitorArgs.SSHPublicKey: required"},
		{"no subnet", func(a *MonitorArgs) { a.SubnetID = nil }, "MonitorArgs.SubnetID: required"},
		{"no resource group", func(a *MonitorArgs) { a.ResourceGroupName = nil }, "MonitorArgs.ResourceGroupName: required"},
		{"a negative count", func(a *MonitorArgs) { a.Count = -1 }, "MonitorArgs.Count: -1 monitors"},
		{"a zone that is not one", func(a *MonitorArgs) { a.Zones = []string{"1", "eu-west"} }, `MonitorArgs.Zones[1]: "eu-west"`},
		{"a zone twice", func(a *MonitorArgs) { a.Zones = []string{"1", "1"} }, `MonitorArgs.Zones[1]: zone "1" is listed twice`},
		{"too few private IPs", func(a *MonitorArgs) { a.PrivateIPs = []string{"10.0.0.126"} }, "MonitorArgs.PrivateIPs: 1 addresses for 2 monitors"},
		{"a private IP twice", func(a *MonitorArgs) { a.PrivateIPs = []string{"10.0.0.126", "10.0.0.126"} }, "MonitorArgs.PrivateIPs[1]: 10.0.0.126 is already PrivateIPs[0]"},
		{"a private IP that is not IPv4", func(a *MonitorArgs) { a.PrivateIPs = []string{"10.0.0.126", "fd00::5"} }, "MonitorArgs.PrivateIPs[1]"},
		{"a reserved admin name", func(a *MonitorArgs) { a.AdminUsername = "root" }, `MonitorArgs.AdminUsername: "root" is refused`},
		{"two NVAs with one name", func(a *MonitorArgs) { a.NVAs[1].Name = "NVA-1" }, `MonitorArgs.NVAs[1].Name: "NVA-1" is already the name of NVAs[0]`},
		{"an NVA name with a space", func(a *MonitorArgs) { a.NVAs[0].Name = "nva 1" }, `MonitorArgs.NVAs[0].Name: "nva 1"`},
		{"no probe address", func(a *MonitorArgs) { a.NVAs[0].ProbeAddress = nil }, "MonitorArgs.NVAs[0].ProbeAddress: required"},
		{"an unknown probe kind", func(a *MonitorArgs) { a.NVAs[0].ProbeKind = "icmp" }, `MonitorArgs.NVAs[0].ProbeKind: "icmp"`},
		{"a tcp probe with a path", func(a *MonitorArgs) { a.NVAs[0].ProbeKind, a.NVAs[0].ProbePath = "tcp", "/health" }, `MonitorArgs.NVAs[0].ProbePath: "/health"`},
		{"an NVA without NICs", func(a *MonitorArgs) { a.NVAs[0].NICs = nil }, "MonitorArgs.NVAs[0].NICs"},
		{"a bad storage account name", func(a *MonitorArgs) { a.StorageAccountName = "Hanva_State" }, `MonitorArgs.StorageAccountName: "Hanva_State"`},
		{"a lease shorter than Azure allows", func(a *MonitorArgs) { a.Settings.LeaseDuration = config.Duration(5 * time.Second) }, "MonitorArgs.Settings"},
		{"an unknown failback policy", func(a *MonitorArgs) { a.Settings.Failback = "sometimes" }, "failback"},
		{"a prebuilt binary for another platform", func(a *MonitorArgs) { a.BinaryPath = "monitor_test.go" }, "MonitorArgs.BinaryPath"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := monitorArgs(bin, 2, 1)
			tc.edit(args)
			r, err := runMonitor(t, args, "test")
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("NewMonitor error = %v; want one containing %q", err, tc.want)
			}
			t.Log(err)
			if n := len(r.m.All()); n != 0 {
				t.Errorf("%d resources were registered before the error", n)
			}
		})
	}
	if _, err := runMonitor(t, nil, "test"); err == nil || !strings.Contains(err.Error(), "args are required") {
		t.Errorf("NewMonitor(nil args) error = %v", err)
	}
}

func TestMonitorConfigThatTheMonitorRefusesFailsTheProgram(t *testing.T) {
	bin, _ := writeFakeBinary(t)
	args := monitorArgs(bin, 2, 1)
	// A probe address is an input, known only when it resolves: the
	// monitor's own loader catches it then.
	args.NVAs[1].ProbeAddress = pulumi.String("10.0.0.101").ToStringOutput()
	_, err := runMonitor(t, args, "test")
	if err == nil || !strings.Contains(err.Error(), "refused by nva-monitor's own loader") || !strings.Contains(err.Error(), "nvas[1].probe.address") {
		t.Fatalf("NewMonitor error = %v; want the monitor's own complaint about nvas[1].probe.address", err)
	}
	t.Log(err)
}

func TestMonitorChildrenAreParentedAndNamedAfterIt(t *testing.T) {
	bin, _ := writeFakeBinary(t)
	r := mustRunMonitor(t, monitorArgs(bin, 2, 1))
	var comp pulumitest.Resource
	for _, res := range r.m.All() {
		if res.Type == MonitorType {
			comp = res
		}
	}
	if comp.Name != "monitor" {
		t.Fatalf("no %s component named monitor was registered", MonitorType)
	}
	for _, res := range r.m.All() {
		if res.Type == MonitorType {
			continue
		}
		if !strings.HasSuffix(res.Parent, "::monitor") || !strings.Contains(res.Parent, MonitorType) {
			t.Errorf("%s (%s) has parent %q, want the monitor component", res.Name, res.Type, res.Parent)
		}
		if !strings.HasPrefix(res.Name, "monitor-") {
			t.Errorf("%s (%s) is not named monitor-<role>", res.Name, res.Type)
		}
	}
	// 2 NICs, 2 VMs with an install run command each, an availability set,
	// account, container, blob, the role and the self-check role, 2 × 8
	// custom role assignments (2 NVAs × 2 NICs, a route table, a PIP, 2
	// subnets), 2 blob role assignments and 2 self-check ones.
	want := map[string]int{
		"azure-native:network:NetworkInterface":     2,
		"azure-native:compute:VirtualMachine":       2,
		tRunCommand:                                 2,
		"azure-native:compute:AvailabilitySet":      1,
		"azure-native:storage:StorageAccount":       1,
		"azure-native:storage:BlobContainer":        1,
		"azure-native:storage:Blob":                 1,
		"azure-native:authorization:RoleDefinition": 2,
		"azure-native:authorization:RoleAssignment": 2*8 + 2 + 2,
		MonitorType: 1,
	}
	if got := r.m.Types(); !maps.Equal(got, want) {
		t.Errorf("registered %v, want %v", got, want)
	}
}

// TestMonitorUpgradeChangesNoVMAndRestartsTheMonitorsOneAtATime deploys the
// monitors, then "upgrades" them with another binary and other settings: no
// VM or NIC input may change (Azure could not apply a custom data change
// and Pulumi would replace the VM), every install script changes, and the
// installs depend on each other in monitor order, each after its VM's
// Storage role assignment and the new binary's blob.
func TestMonitorUpgradeChangesNoVMAndRestartsTheMonitorsOneAtATime(t *testing.T) {
	bin1, sum1 := writeFakeBinary(t)
	args := monitorArgs(bin1, 2, 2)
	args.Count = 3
	before := mustRunMonitor(t, args)

	dir := t.TempDir()
	bin2 := filepath.Join(dir, "nva-monitor-v2")
	if err := os.WriteFile(bin2, fakeELF(elf.EM_X86_64, "a newer nva-monitor"), 0o755); err != nil {
		t.Fatal(err)
	}
	up := monitorArgs(bin2, 2, 2)
	up.Count = 3
	up.Settings = MonitorSettings{Failback: config.FailbackPreferred, MinFailoverInterval: config.Duration(45 * time.Second)}
	after := mustRunMonitor(t, up)
	if after.mon.BinarySHA256 == sum1 {
		t.Fatal("the second binary has the same hash; the test proves nothing")
	}

	for _, typ := range []string{"azure-native:compute:VirtualMachine", "azure-native:network:NetworkInterface", "azure-native:compute:AvailabilitySet"} {
		b, a := before.m.OfType(typ), after.m.OfType(typ)
		if len(a) != len(b) || len(a) == 0 {
			t.Fatalf("%s: %d before, %d after", typ, len(b), len(a))
		}
		for i := range a {
			if !reflect.DeepEqual(b[i].Inputs, a[i].Inputs) {
				t.Errorf("%s %s changes with the binary or a setting:\nbefore %v\nafter  %v", typ, a[i].Name, b[i].Inputs, a[i].Inputs)
			}
		}
	}

	bi, ai := installsOf(t, before.m), installsOf(t, after.m)
	if len(ai) != 3 || len(bi) != 3 {
		t.Fatalf("%d and %d install run commands, want 3", len(bi), len(ai))
	}
	for i, rc := range ai {
		old, now := installScriptOf(t, bi[i]), installScriptOf(t, rc)
		if old == now {
			t.Errorf("%s: the install script did not change, so Azure would not run it again", rc.Name)
		}
		if !strings.Contains(now, "WANT_SHA256='"+after.mon.BinarySHA256+"'") || !strings.Contains(now, "failback: preferred") {
			t.Errorf("%s: the new script lacks the new binary or setting", rc.Name)
		}
		for _, dep := range []string{fmt.Sprintf("monitor-ra-%d-blob", i+1), "monitor-binary"} {
			if !dependsOn(rc, dep) {
				t.Errorf("%s does not depend on %s (depends on %v)", rc.Name, dep, rc.DependsOn)
			}
		}
		if i == 0 {
			continue
		}
		prev := fmt.Sprintf("monitor-install-%d", i)
		if !dependsOn(rc, prev) {
			t.Errorf("%s does not wait for monitor-install-%d: two monitors could restart at once (depends on %v)", rc.Name, i, rc.DependsOn)
		}
		vm := after.m.Named(t, fmt.Sprintf("monitor-vm-%d", i+1))
		if !dependsOn(vm, prev) {
			t.Errorf("%s does not wait for monitor-install-%d: a replacement could take two monitors down (depends on %v)", vm.Name, i, vm.DependsOn)
		}
	}
}

// dependsOn says whether r depends on the resource of logical name name
// (DependsOn holds URNs, which end in "::<name>").
func dependsOn(r pulumitest.Resource, name string) bool {
	for _, u := range r.DependsOn {
		if strings.HasSuffix(u, "::"+name) {
			return true
		}
	}
	return false
}

func TestMonitorNICsTakeTheGivenStaticAddresses(t *testing.T) {
	bin, _ := writeFakeBinary(t)
	args := monitorArgs(bin, 2, 1)
	args.PrivateIPs = []string{"10.0.0.126", "10.0.0.125"}
	r := mustRunMonitor(t, args)
	nics := r.m.OfType("azure-native:network:NetworkInterface")
	for i, nic := range nics {
		if m, ip := str(nic.Inputs, "ipConfigurations", 0, "privateIPAllocationMethod"), str(nic.Inputs, "ipConfigurations", 0, "privateIPAddress"); m != "Static" || ip != args.PrivateIPs[i] {
			t.Errorf("%s: %s %q, want Static %q", nic.Name, m, ip, args.PrivateIPs[i])
		}
	}
	if !slices.Equal(r.privateIPs, args.PrivateIPs) {
		t.Errorf("Monitor.PrivateIPs = %q, want %q", r.privateIPs, args.PrivateIPs)
	}
}

// TestEachMonitorMayReadOnlyItsOwnNICsEffectiveRoutes: every monitor's
// config names its own NIC (instanceNic, for validate's check of the way
// out), and its identity gets the self-check role on that NIC alone.
func TestEachMonitorMayReadOnlyItsOwnNICsEffectiveRoutes(t *testing.T) {
	bin, _ := writeFakeBinary(t)
	args := monitorArgs(bin, 2, 1)
	args.Count = 3
	r := mustRunMonitor(t, args)
	nics := r.m.OfType("azure-native:network:NetworkInterface")
	installs := installsOf(t, r.m)
	if len(nics) != 3 || len(installs) != 3 {
		t.Fatalf("%d NICs and %d installs, want 3 each", len(nics), len(installs))
	}
	var self pulumitest.Resource
	for _, d := range r.m.OfType("azure-native:authorization:RoleDefinition") {
		if strings.Contains(d.Name, "selfcheck") {
			self = d
		}
	}
	if got := strings2(pulumitest.Get(self.Inputs, "permissions", 0, "actions")); !slices.Equal(got, MonitorSelfCheckActions()) {
		t.Errorf("self-check role actions %q, want %q", got, MonitorSelfCheckActions())
	}
	if got, want := sorted(strings2(pulumitest.Get(self.Inputs, "assignableScopes"))), sorted([]string{nics[0].ID, nics[1].ID, nics[2].ID}); !slices.Equal(got, want) {
		t.Errorf("self-check role assignable on %q, want the monitor NICs %q", got, want)
	}
	for i := range 3 {
		cfg, err := config.Parse([]byte(extractConfig(t, installScriptOf(t, installs[i]))))
		if err != nil {
			t.Fatal(err)
		}
		if cfg.InstanceNIC != nics[i].ID {
			t.Errorf("monitor-%d: instanceNic %q, want its own NIC %q", i+1, cfg.InstanceNIC, nics[i].ID)
		}
		ra := r.m.Named(t, fmt.Sprintf("monitor-ra-%d-self", i+1))
		if got := str(ra.Inputs, "scope"); got != nics[i].ID {
			t.Errorf("%s scoped to %q, want monitor-%d's NIC", ra.Name, got, i+1)
		}
		if got, want := str(ra.Inputs, "principalId"), fmt.Sprintf("principal-monitor-%d", i+1); got != want {
			t.Errorf("%s for %q, want %q", ra.Name, got, want)
		}
		if !strings.HasSuffix(str(ra.Inputs, "roleDefinitionId"), "/"+str(self.Inputs, "roleDefinitionId")) {
			t.Errorf("%s assigns %q, not the self-check role", ra.Name, str(ra.Inputs, "roleDefinitionId"))
		}
	}
}
