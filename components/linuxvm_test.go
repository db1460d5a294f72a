package components_test

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pulumi/pulumi-azure-native-sdk/compute/v2"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/hanva/hanva/components"
	"github.com/hanva/hanva/components/pulumitest"
)

const (
	nicA = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network/networkInterfaces/a"
	nicB = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network/networkInterfaces/b"
)

func linuxVM() components.LinuxVMArgs {
	return components.LinuxVMArgs{
		ResourceGroupName: rg(),
		ComputerName:      "box-1",
		Size:              "Standard_B1s",
		AdminUsername:     "ops",
		SSHPublicKey:      pulumi.String(sshKey),
		NICIDs:            []pulumi.StringInput{pulumi.String(nicA)},
	}
}

// registerLinuxVM registers the VM a describes under mocks as "vm".
func registerLinuxVM(t *testing.T, a components.LinuxVMArgs) pulumitest.Resource {
	t.Helper()
	m, err := runMocked(t, func(ctx *pulumi.Context) error {
		vmArgs, err := a.VirtualMachineArgs()
		if err != nil {
			return err
		}
		_, err = compute.NewVirtualMachine(ctx, "vm", vmArgs)
		return err
	})
	if err != nil {
		t.Fatalf("register the VM: %v", err)
	}
	return m.Named(t, "vm")
}

func TestLinuxVMIsUbuntuWithAnSSHKeyOnlyBootDiagnosticsAndADiskDeletedWithIt(t *testing.T) {
	vm := registerLinuxVM(t, linuxVM())
	for path, want := range map[string]string{
		"storageProfile.imageReference.publisher":               "Canonical",
		"storageProfile.imageReference.offer":                   "0001-com-ubuntu-server-jammy",
		"storageProfile.imageReference.sku":                     "22_04-lts-gen2",
		"storageProfile.imageReference.version":                 "latest",
		"storageProfile.osDisk.createOption":                    "FromImage",
		"storageProfile.osDisk.caching":                         "ReadWrite",
		"storageProfile.osDisk.deleteOption":                    "Delete",
		"storageProfile.osDisk.managedDisk.storageAccountType":  "StandardSSD_LRS",
		"hardwareProfile.vmSize":                                "Standard_B1s",
		"osProfile.computerName":                                "box-1",
		"osProfile.adminUsername":                               "ops",
		"osProfile.linuxConfiguration.ssh.publicKeys.0.keyData": sshKey,
		"osProfile.linuxConfiguration.ssh.publicKeys.0.path":    "/home/ops/.ssh/authorized_keys",
		"networkProfile.networkInterfaces.0.id":                 nicA,
	} {
		if got := pulumitest.String(vm.Inputs, pathOf(path)...); got != want {
			t.Errorf("%s = %q, want %q", path, got, want)
		}
	}
	for _, path := range []string{
		"osProfile.linuxConfiguration.disablePasswordAuthentication",
		"osProfile.linuxConfiguration.provisionVMAgent",
		"diagnosticsProfile.bootDiagnostics.enabled",
		"networkProfile.networkInterfaces.0.primary",
	} {
		if v := pulumitest.Get(vm.Inputs, pathOf(path)...); v == nil || !v.IsBool() || !v.BoolValue() {
			t.Errorf("%s = %v, want true", path, v)
		}
	}
	for _, path := range []string{"osProfile.adminPassword", "osProfile.customData", "vmName", "zones", "availabilitySet", "identity", "tags"} {
		if v := pulumitest.Get(vm.Inputs, pathOf(path)...); v != nil && !v.IsNull() {
			t.Errorf("%s = %v, want it unset", path, v)
		}
	}
}

func TestLinuxVMOptionsLandWhereAzureReadsThem(t *testing.T) {
	enc := base64.StdEncoding.EncodeToString([]byte("#cloud-config\n"))
	tests := []struct {
		name  string
		edit  func(a *components.LinuxVMArgs)
		check func(t *testing.T, vm pulumitest.Resource)
	}{
		{"the first NIC is primary, the others are not", func(a *components.LinuxVMArgs) {
			a.NICIDs = []pulumi.StringInput{pulumi.String(nicA), pulumi.String(nicB)}
		}, func(t *testing.T, vm pulumitest.Resource) {
			for i, want := range []struct {
				id      string
				primary bool
			}{{nicA, true}, {nicB, false}} {
				if got := pulumitest.String(vm.Inputs, "networkProfile", "networkInterfaces", i, "id"); got != want.id {
					t.Errorf("NIC %d = %q, want %q", i, got, want.id)
				}
				if v := pulumitest.Get(vm.Inputs, "networkProfile", "networkInterfaces", i, "primary"); v == nil || v.BoolValue() != want.primary {
					t.Errorf("NIC %d primary = %v, want %v", i, v, want.primary)
				}
			}
		}},
		{"a zone is the VM's only zone", func(a *components.LinuxVMArgs) { a.Zone = "2" }, func(t *testing.T, vm pulumitest.Resource) {
			z := pulumitest.Get(vm.Inputs, "zones")
			if z == nil || len(z.ArrayValue()) != 1 || z.ArrayValue()[0].StringValue() != "2" {
				t.Errorf("zones = %v, want [2]", z)
			}
		}},
		{"an availability set is referenced by ID", func(a *components.LinuxVMArgs) { a.AvailabilitySetID = pulumi.String("avset-id") }, func(t *testing.T, vm pulumitest.Resource) {
			if got := pulumitest.String(vm.Inputs, "availabilitySet", "id"); got != "avset-id" {
				t.Errorf("availabilitySet.id = %q", got)
			}
		}},
		{"custom data is passed as given (base64)", func(a *components.LinuxVMArgs) { a.CustomData = pulumi.String(enc) }, func(t *testing.T, vm pulumitest.Resource) {
			if got := pulumitest.String(vm.Inputs, "osProfile", "customData"); got != enc {
				t.Errorf("customData = %q, want %q", got, enc)
			}
		}},
		{"a fixed Azure name and a system-assigned identity", func(a *components.LinuxVMArgs) {
			a.VMName, a.SystemAssignedIdentity = "box-1", true
		}, func(t *testing.T, vm pulumitest.Resource) {
			if got := pulumitest.String(vm.Inputs, "vmName"); got != "box-1" {
				t.Errorf("vmName = %q", got)
			}
			if got := pulumitest.String(vm.Inputs, "identity", "type"); got != "SystemAssigned" {
				t.Errorf("identity.type = %q", got)
			}
		}},
		{"tags and location", func(a *components.LinuxVMArgs) {
			a.Tags, a.Location = pulumi.StringMap{"managed-by": pulumi.String("hanva")}, pulumi.String("westeurope")
		}, func(t *testing.T, vm pulumitest.Resource) {
			if got := pulumitest.String(vm.Inputs, "tags", "managed-by"); got != "hanva" {
				t.Errorf("tags.managed-by = %q", got)
			}
			if got := pulumitest.String(vm.Inputs, "location"); got != "westeurope" {
				t.Errorf("location = %q", got)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := linuxVM()
			tt.edit(&a)
			tt.check(t, registerLinuxVM(t, a))
		})
	}
}

func TestLinuxVMRefusals(t *testing.T) {
	tests := []struct {
		name   string
		edit   func(a *components.LinuxVMArgs)
		errHas string
	}{
		{"no resource group", func(a *components.LinuxVMArgs) { a.ResourceGroupName = nil }, "LinuxVMArgs.ResourceGroupName: required"},
		{"no computer name", func(a *components.LinuxVMArgs) { a.ComputerName = "" }, "LinuxVMArgs.ComputerName: required"},
		{"no size", func(a *components.LinuxVMArgs) { a.Size = "" }, "LinuxVMArgs.Size: required"},
		{"no admin user", func(a *components.LinuxVMArgs) { a.AdminUsername = "" }, "LinuxVMArgs.AdminUsername: required"},
		{"no SSH key", func(a *components.LinuxVMArgs) { a.SSHPublicKey = nil }, "LinuxVMArgs.SSHPublicKey: required"},
		{"no NIC", func(a *components.LinuxVMArgs) { a.NICIDs = nil }, "LinuxVMArgs.NICIDs: required"},
		{"a nil NIC", func(a *components.LinuxVMArgs) { a.NICIDs = append(a.NICIDs, nil) }, "LinuxVMArgs.NICIDs[1]: nil"},
		{"a zone and an availability set", func(a *components.LinuxVMArgs) {
			a.Zone, a.AvailabilitySetID = "1", pulumi.String("avset-id")
		}, "not both"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := linuxVM()
			tt.edit(&a)
			_, err := a.VirtualMachineArgs()
			if err == nil || !strings.Contains(err.Error(), tt.errHas) {
				t.Fatalf("error = %v, want one containing %q", err, tt.errHas)
			}
		})
	}
}

// pathOf splits "a.b.0.c" into pulumitest.Get's steps.
func pathOf(s string) []any {
	var out []any
	for _, p := range strings.Split(s, ".") {
		if len(p) == 1 && p[0] >= '0' && p[0] <= '9' {
			out = append(out, int(p[0]-'0'))
			continue
		}
		out = append(out, p)
	}
	return out
}

func gateArgs(vm *compute.VirtualMachine) components.ReadinessGateArgs {
	return components.ReadinessGateArgs{
		ResourceGroupName: rg(),
		VM:                vm,
		Name:              "box-1",
		Port:              80,
		Timeout:           10 * time.Minute,
	}
}

func TestReadinessGateRefusals(t *testing.T) {
	tests := []struct {
		name   string
		edit   func(a *components.ReadinessGateArgs)
		errHas string
	}{
		{"no VM", func(a *components.ReadinessGateArgs) { a.VM = nil }, "ReadinessGateArgs.VM: required"},
		{"no resource group", func(a *components.ReadinessGateArgs) { a.ResourceGroupName = nil }, "ReadinessGateArgs.ResourceGroupName: required"},
		{"a name the shell would read", func(a *components.ReadinessGateArgs) { a.Name = "box$(reboot)" }, "ReadinessGateArgs.Name"},
		{"an unknown check", func(a *components.ReadinessGateArgs) { a.Check = "icmp" }, `ReadinessGateArgs.Check: "icmp"`},
		{"no port", func(a *components.ReadinessGateArgs) { a.Port = 0 }, "ReadinessGateArgs.Port: 0"},
		{"a path with a quote", func(a *components.ReadinessGateArgs) { a.Path = "/'; reboot; '" }, "ReadinessGateArgs.Path"},
		{"a path without its slash", func(a *components.ReadinessGateArgs) { a.Path = "healthz" }, "ReadinessGateArgs.Path"},
		{"no timeout", func(a *components.ReadinessGateArgs) { a.Timeout = 0 }, "ReadinessGateArgs.Timeout"},
		{"a timeout of a day", func(a *components.ReadinessGateArgs) { a.Timeout = 24 * time.Hour }, "ReadinessGateArgs.Timeout"},
		{"a timeout in fractions of a second", func(a *components.ReadinessGateArgs) { a.Timeout = 90*time.Second + time.Millisecond }, "ReadinessGateArgs.Timeout"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := runMocked(t, func(ctx *pulumi.Context) error {
				vmArgs, err := linuxVM().VirtualMachineArgs()
				if err != nil {
					return err
				}
				vm, err := compute.NewVirtualMachine(ctx, "vm", vmArgs)
				if err != nil {
					return err
				}
				a := gateArgs(vm)
				tt.edit(&a)
				_, err = components.NewReadinessGate(ctx, "gate", a)
				return err
			})
			if err == nil || !strings.Contains(err.Error(), tt.errHas) {
				t.Fatalf("error = %v, want one containing %q", err, tt.errHas)
			}
			if n := len(m.OfType(tGate)); n != 0 {
				t.Errorf("a refused gate registered %d run commands", n)
			}
		})
	}
}

func TestReadinessGateRunsOnItsVMAndTheDeploymentWaitsForIt(t *testing.T) {
	m, err := runMocked(t, func(ctx *pulumi.Context) error {
		a := linuxVM()
		a.CustomData = pulumi.String("I2Nsb3VkLWNvbmZpZwo=")
		vmArgs, err := a.VirtualMachineArgs()
		if err != nil {
			return err
		}
		vm, err := compute.NewVirtualMachine(ctx, "vm", vmArgs, components.ReplaceOnCustomDataChange())
		if err != nil {
			return err
		}
		g := gateArgs(vm)
		g.Revision = a.CustomData
		_, err = components.NewReadinessGate(ctx, "gate", g)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	vm, gate := m.Named(t, "vm"), m.Named(t, "gate")
	if !slices.Equal(vm.ReplaceOnChanges, []string{"osProfile.customData"}) || !vm.DeleteBeforeReplace {
		t.Errorf("ReplaceOnCustomDataChange gave replaceOnChanges %q, deleteBeforeReplace %v", vm.ReplaceOnChanges, vm.DeleteBeforeReplace)
	}
	if !dependsOn(gate, "azure-native:compute:VirtualMachine", "vm") {
		t.Errorf("the gate does not depend on its VM: %q", gate.DependsOn)
	}
	for key, want := range map[string]any{
		"vmName": "vm", "runCommandName": "hanva-ready", "asyncExecution": false,
		"treatFailureAsDeploymentFailure": true, "timeoutInSeconds": 600.0, "tags.managed-by": "hanva",
	} {
		v := pulumitest.Get(gate.Inputs, pathOf(key)...)
		if v == nil || v.V != want {
			t.Errorf("%s = %v, want %v", key, v, want)
		}
	}
	script := pulumitest.String(gate.Inputs, "source", "script")
	sum := sha256.Sum256([]byte("I2Nsb3VkLWNvbmZpZwo="))
	for _, want := range []string{"#!/bin/sh\n", "'http://127.0.0.1:80/'", hex.EncodeToString(sum[:]), "-ge 570 ]"} {
		if !strings.Contains(script, want) {
			t.Errorf("the script lacks %q:\n%s", want, script)
		}
	}
}
