package components

import (
	"fmt"

	"github.com/pulumi/pulumi-azure-native-sdk/compute/v2"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// The image of every VM hanva creates: Ubuntu 22.04 LTS (Jammy) from
// Canonical, generation 2, the latest version at creation.
const (
	ubuntuPublisher = "Canonical"
	ubuntuOffer     = "0001-com-ubuntu-server-jammy"
	ubuntuSKU       = "22_04-lts-gen2"
)

// LinuxVMArgs describes one of hanva's Linux VMs (the NVAs, the monitors,
// the sample web servers and jumpbox): Ubuntu 22.04 LTS gen2, an admin user
// that logs in with an SSH key only, the Azure VM agent on (managed run
// commands need it), managed boot diagnostics (the serial console and the
// boot log), and a StandardSSD OS disk, ReadWrite cached, deleted with the VM.
// VirtualMachineArgs turns it into the azure-native arguments:
//
//	vmArgs, err := components.LinuxVMArgs{
//		ResourceGroupName: rg.Name,
//		ComputerName:      "web-1",
//		Size:              "Standard_B1s",
//		AdminUsername:     "hanva",
//		SSHPublicKey:      key,
//		NICIDs:            []pulumi.StringInput{nic.ID()},
//	}.VirtualMachineArgs()
//	if err != nil {
//		return err
//	}
//	vm, err := compute.NewVirtualMachine(ctx, "web-1", vmArgs, pulumi.Parent(c))
//
// The caller registers the VM, so it chooses the logical name and the
// resource options (parent, dependencies, replacement).
type LinuxVMArgs struct {
	// ResourceGroupName: required.
	ResourceGroupName pulumi.StringInput
	// Location: optional; nil = the resource group's.
	Location pulumi.StringInput
	// VMName: optional, the VM's Azure resource name; "" = azure-native
	// names it after the Pulumi resource's logical name.
	VMName string
	// ComputerName: required, the host name inside the VM.
	ComputerName string
	// Size: required, e.g. "Standard_B2s".
	Size string
	// AdminUsername: required; check it with CheckAdminUsername first.
	AdminUsername string
	// SSHPublicKey: required, the admin user's authorized key (OpenSSH
	// format), installed as /home/<AdminUsername>/.ssh/authorized_keys.
	// Password log-in is off.
	SSHPublicKey pulumi.StringInput
	// CustomData: optional, the base64-encoded osProfile.customData
	// (cloud-init); nil = none. Azure places it only at provisioning and
	// cannot change it later
	// (learn.microsoft.com/azure/virtual-machines/custom-data).
	CustomData pulumi.StringInput
	// NICIDs: required, the network interface IDs; the first is primary.
	NICIDs []pulumi.StringInput
	// Zone, e.g. "1": optional. Set either Zone or AvailabilitySetID, or
	// neither (a regional VM), never both.
	Zone string
	// AvailabilitySetID: optional, the availability set the VM joins.
	AvailabilitySetID pulumi.StringInput
	// SystemAssignedIdentity: optional, default false: give the VM a
	// system-assigned managed identity.
	SystemAssignedIdentity bool
	// Tags: optional; nil = no tags.
	Tags pulumi.StringMapInput
}

// VirtualMachineArgs returns the azure-native VM arguments of a, or an error
// naming the first field that is missing or contradicts another.
func (a LinuxVMArgs) VirtualMachineArgs() (*compute.VirtualMachineArgs, error) {
	const f = "components: LinuxVMArgs"
	switch {
	case a.ResourceGroupName == nil:
		return nil, fmt.Errorf("%s.ResourceGroupName: required", f)
	case a.ComputerName == "":
		return nil, fmt.Errorf("%s.ComputerName: required", f)
	case a.Size == "":
		return nil, fmt.Errorf("%s.Size: required, e.g. %q", f, DefaultNvaVMSize)
	case a.AdminUsername == "":
		return nil, fmt.Errorf("%s.AdminUsername: required", f)
	case a.SSHPublicKey == nil:
		return nil, fmt.Errorf("%s.SSHPublicKey: required: the VM allows SSH key login only", f)
	case len(a.NICIDs) == 0:
		return nil, fmt.Errorf("%s.NICIDs: required, at least one network interface", f)
	case a.Zone != "" && a.AvailabilitySetID != nil:
		return nil, fmt.Errorf("%s.Zone: %q given with an AvailabilitySetID; a VM is in a zone or in an availability set, not both", f, a.Zone)
	}
	for i, id := range a.NICIDs {
		if id == nil {
			return nil, fmt.Errorf("%s.NICIDs[%d]: nil", f, i)
		}
	}

	nics := compute.NetworkInterfaceReferenceArray{}
	for i, id := range a.NICIDs {
		nics = append(nics, &compute.NetworkInterfaceReferenceArgs{Id: id.ToStringOutput(), Primary: pulumi.Bool(i == 0)})
	}
	os := &compute.OSProfileArgs{
		ComputerName:  pulumi.String(a.ComputerName),
		AdminUsername: pulumi.String(a.AdminUsername),
		LinuxConfiguration: &compute.LinuxConfigurationArgs{
			DisablePasswordAuthentication: pulumi.Bool(true),
			// The Azure Linux agent: managed run commands run through it.
			ProvisionVMAgent: pulumi.Bool(true),
			Ssh: &compute.SshConfigurationArgs{PublicKeys: compute.SshPublicKeyTypeArray{&compute.SshPublicKeyTypeArgs{
				KeyData: a.SSHPublicKey.ToStringOutput(),
				Path:    pulumi.String("/home/" + a.AdminUsername + "/.ssh/authorized_keys"),
			}}},
		},
	}
	if a.CustomData != nil {
		os.CustomData = a.CustomData.ToStringOutput()
	}
	vm := &compute.VirtualMachineArgs{
		ResourceGroupName: a.ResourceGroupName,
		Location:          optionalString(a.Location),
		HardwareProfile:   &compute.HardwareProfileArgs{VmSize: pulumi.String(a.Size)},
		OsProfile:         os,
		StorageProfile: &compute.StorageProfileArgs{
			ImageReference: &compute.ImageReferenceArgs{
				Publisher: pulumi.String(ubuntuPublisher),
				Offer:     pulumi.String(ubuntuOffer),
				Sku:       pulumi.String(ubuntuSKU),
				Version:   pulumi.String("latest"),
			},
			OsDisk: &compute.OSDiskArgs{
				CreateOption: pulumi.String("FromImage"),
				Caching:      compute.CachingTypesReadWrite,
				DeleteOption: pulumi.String("Delete"),
				ManagedDisk:  &compute.ManagedDiskParametersArgs{StorageAccountType: pulumi.String("StandardSSD_LRS")},
			},
		},
		NetworkProfile: &compute.NetworkProfileArgs{NetworkInterfaces: nics},
		// Managed boot diagnostics (no storage account): the serial console
		// and the boot log, where cloud-init's output shows.
		DiagnosticsProfile: &compute.DiagnosticsProfileArgs{
			BootDiagnostics: &compute.BootDiagnosticsArgs{Enabled: pulumi.Bool(true)},
		},
		Tags: a.Tags,
	}
	if a.VMName != "" {
		vm.VmName = pulumi.String(a.VMName)
	}
	if a.Zone != "" {
		vm.Zones = pulumi.StringArray{pulumi.String(a.Zone)}
	}
	if a.AvailabilitySetID != nil {
		vm.AvailabilitySet = &compute.SubResourceArgs{Id: a.AvailabilitySetID.ToStringOutput()}
	}
	if a.SystemAssignedIdentity {
		vm.Identity = &compute.VirtualMachineIdentityArgs{Type: compute.ResourceIdentityTypeSystemAssigned}
	}
	return vm, nil
}
