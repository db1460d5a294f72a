package components

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"text/template"
	"time"

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
	// (learn.microsoft.com/azure/virtual-machines/custom-data): register
	// the VM with ReplaceOnCustomDataChange.
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

// ReplaceOnCustomDataChange is the resource option of a VM whose custom data
// may change: Azure places custom data only when it provisions a VM and
// refuses to change it afterwards (PropertyChangeNotAllowed;
// learn.microsoft.com/azure/virtual-machines/custom-data), so a change
// replaces the VM (Pulumi's replaceOnChanges), deleting the old one first
// (deleteBeforeReplace): its NICs belong to one VM at a time and its name
// may be fixed
// (www.pulumi.com/docs/iac/concepts/resources/options/replaceonchanges/,
// www.pulumi.com/docs/iac/concepts/resources/options/deletebeforereplace/).
// A dependent with an input from the VM's outputs is replaced with it when
// its provider must replace it for a new value of that input (a readiness
// gate's vmName); one that only DependsOn the VM is not (the Pulumi
// engine's calculateDependentReplacements). Give VMs that share a role a
// readiness gate each and a DependsOn chain (NewReadinessGate), so that
// they are replaced one at a time.
func ReplaceOnCustomDataChange() pulumi.ResourceOption {
	return pulumi.Composite(
		pulumi.ReplaceOnChanges([]string{"osProfile.customData"}),
		pulumi.DeleteBeforeReplace(true),
	)
}

// Readiness checks of a gate.
const (
	ReadinessHTTP = "http" // GET http://127.0.0.1:<port><path> answers 2xx
	ReadinessTCP  = "tcp"  // a TCP connection to 127.0.0.1:<port> opens
)

// Readiness gate limits: a gate waits at least a minute and at most two
// hours, and its script gives up readinessMargin before Azure's timeout, so
// that the failure it reports is its own message, not a timeout.
const (
	minReadinessTimeout = time.Minute
	maxReadinessTimeout = 2 * time.Hour
	readinessMargin     = 30 * time.Second
	readinessInterval   = 5 // seconds between checks
	readinessRunCommand = "hanva-ready"
)

// ReadinessGateArgs configures a readiness gate: a managed run command on a
// Linux VM whose script waits until a service on the VM answers locally, and
// fails after Timeout. Azure runs a managed run command when it is created
// and whenever it is updated; with asyncExecution off the deployment waits
// for the script, and with treatFailureAsDeploymentFailure a failing script
// fails it (learn.microsoft.com/azure/virtual-machines/linux/run-command-managed).
// The run command goes through the Azure Linux VM agent, which hanva's
// Ubuntu VMs run (LinuxVMArgs); a VM whose custom data stops the agent never
// passes its gate.
type ReadinessGateArgs struct {
	// ResourceGroupName: required, the VM's resource group.
	ResourceGroupName pulumi.StringInput
	// Location: optional; nil = the resource group's.
	Location pulumi.StringInput
	// VM: required, the VM the gate runs on; the gate depends on it.
	VM *compute.VirtualMachine
	// Name: required, the VM as the script's messages name it (a host name).
	Name string
	// Check: optional, ReadinessHTTP (default) or ReadinessTCP.
	Check string
	// Port: required, the TCP port the service listens on.
	Port int
	// Path: optional, default "/": the HTTP path of ReadinessHTTP.
	Path string
	// Revision: optional, what the VM was made from (its custom data): its
	// SHA-256 is written into the script, so that a new VM made from new
	// custom data changes the script and the gate runs again.
	Revision pulumi.StringInput
	// Timeout: required, how long the gate waits, 1 minute to 2 hours.
	Timeout time.Duration
}

// readinessPathRE is what a gate accepts as an HTTP path: nothing the
// script's shell quoting would interpret.
var readinessPathRE = regexp.MustCompile(`^/[A-Za-z0-9._~/%?=&+,:@-]*$`)

// NewReadinessGate registers a readiness gate named name (see
// ReadinessGateArgs) with opts (give it the VM's parent), depending on the
// VM. A resource given DependsOn the gate is registered only once the gate
// has run: the Pulumi Go SDK resolves a resource's DependsOn by awaiting each
// dependency's URN (getOpts, then addDependency in sdk/go/pulumi/rpc.go),
// and a URN resolves only when the engine has answered that resource's
// RegisterResource call (registerResource in sdk/go/pulumi/context.go), that
// is after it created, updated or replaced it.
func NewReadinessGate(ctx *pulumi.Context, name string, args ReadinessGateArgs, opts ...pulumi.ResourceOption) (*compute.VirtualMachineRunCommandByVirtualMachine, error) {
	script, err := args.script()
	if err != nil {
		return nil, err
	}
	gate, err := compute.NewVirtualMachineRunCommandByVirtualMachine(ctx, name, &compute.VirtualMachineRunCommandByVirtualMachineArgs{
		ResourceGroupName:               args.ResourceGroupName,
		Location:                        optionalString(args.Location),
		VmName:                          args.VM.Name,
		RunCommandName:                  pulumi.String(readinessRunCommand),
		Source:                          &compute.VirtualMachineRunCommandScriptSourceArgs{Script: script},
		AsyncExecution:                  pulumi.Bool(false),
		TreatFailureAsDeploymentFailure: pulumi.Bool(true),
		TimeoutInSeconds:                pulumi.Int(int(args.Timeout / time.Second)),
		Tags:                            managedByTags(),
	}, append(slices.Clone(opts), pulumi.DependsOn([]pulumi.Resource{args.VM}))...)
	if err != nil {
		return nil, fmt.Errorf("create readiness gate %q: %w", name, err)
	}
	return gate, nil
}

// script validates a and returns the gate's script.
func (a ReadinessGateArgs) script() (pulumi.StringOutput, error) {
	const f = "components: ReadinessGateArgs"
	g := readinessScript{Name: a.Name, Port: a.Port, Check: a.Check, Path: a.Path}
	if g.Check == "" {
		g.Check = ReadinessHTTP
	}
	if g.Path == "" {
		g.Path = "/"
	}
	switch {
	case a.ResourceGroupName == nil:
		return pulumi.StringOutput{}, fmt.Errorf("%s.ResourceGroupName: required", f)
	case a.VM == nil:
		return pulumi.StringOutput{}, fmt.Errorf("%s.VM: required", f)
	case !nvaNameRE.MatchString(a.Name):
		return pulumi.StringOutput{}, fmt.Errorf("%s.Name: %q is not a host name (letters, digits, '-', at most 63)", f, a.Name)
	case g.Check != ReadinessHTTP && g.Check != ReadinessTCP:
		return pulumi.StringOutput{}, fmt.Errorf("%s.Check: %q; want %q or %q", f, a.Check, ReadinessHTTP, ReadinessTCP)
	case a.Port < 1 || a.Port > 65535:
		return pulumi.StringOutput{}, fmt.Errorf("%s.Port: %d is not a TCP port (1-65535)", f, a.Port)
	case !readinessPathRE.MatchString(g.Path):
		return pulumi.StringOutput{}, fmt.Errorf("%s.Path: %q; want a path such as \"/healthz\" (letters, digits and . _ ~ / %% ? = & + , : @ -)", f, a.Path)
	case a.Timeout < minReadinessTimeout || a.Timeout > maxReadinessTimeout || a.Timeout%time.Second != 0:
		return pulumi.StringOutput{}, fmt.Errorf("%s.Timeout: %s; want whole seconds from %s to %s", f, a.Timeout, minReadinessTimeout, maxReadinessTimeout)
	}
	g.Deadline = int((a.Timeout - readinessMargin) / time.Second)
	g.Interval = readinessInterval
	revision := pulumi.String("").ToStringOutput()
	if a.Revision != nil {
		revision = a.Revision.ToStringOutput()
	}
	return revision.ApplyT(func(r string) (string, error) {
		g.Revision = "none"
		if r != "" {
			sum := sha256.Sum256([]byte(r))
			g.Revision = hex.EncodeToString(sum[:])
		}
		return g.render()
	}).(pulumi.StringOutput), nil
}

// readinessScript is what a gate's script says.
type readinessScript struct {
	Name     string
	Check    string
	Port     int
	Path     string
	Deadline int    // seconds
	Interval int    // seconds between checks
	Revision string // SHA-256 hex of the VM's custom data, or "none"
}

// readinessTemplate is a gate's script, POSIX sh (bash only for a TCP
// connection). curl prints 000 as the code when nothing answers.
var readinessTemplate = template.Must(template.New("ready").Parse(`#!/bin/sh
# hanva readiness gate of {{.Name}}: waits until {{template "what" .}} answers
# on this VM, for at most {{.Deadline}}s; a failure stops pulumi up here.
# Revision (SHA-256 of the VM's custom data): {{.Revision}}
set -u
check() {
{{- if eq .Check "http"}}
  code=$(curl -s --noproxy '*' -o /dev/null -m 5 -w '%{http_code}' 'http://127.0.0.1:{{.Port}}{{.Path}}') || true
  case "$code" in 2??) return 0 ;; esac
  last="HTTP $code"
  return 1
{{- else}}
  if timeout 5 bash -c 'exec 3<>/dev/tcp/127.0.0.1/{{.Port}}' 2>/dev/null; then return 0; fi
  last="connection refused or timed out"
  return 1
{{- end}}
}
start=$(date +%s)
last="not checked"
while :; do
  if check; then
    echo "{{.Name}}: {{template "what" .}} answers after $(( $(date +%s) - start ))s"
    exit 0
  fi
  if [ $(( $(date +%s) - start )) -ge {{.Deadline}} ]; then
    echo "{{.Name}}: {{template "what" .}} did not answer within {{.Deadline}}s (last: $last); see the VM's boot log (boot diagnostics) and /var/log/cloud-init-output.log" >&2
    exit 1
  fi
  sleep {{.Interval}}
done
{{- define "what"}}{{if eq .Check "http"}}http://127.0.0.1:{{.Port}}{{.Path}}{{else}}TCP port {{.Port}}{{end}}{{end}}
`))

func (g readinessScript) render() (string, error) {
	var b strings.Builder
	if err := readinessTemplate.Execute(&b, g); err != nil {
		return "", fmt.Errorf("render the readiness gate of %s: %w", g.Name, err)
	}
	return b.String(), nil
}
