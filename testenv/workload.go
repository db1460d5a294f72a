package testenv

import (
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/pulumi/pulumi-azure-native-sdk/compute/v2"
	"github.com/pulumi/pulumi-azure-native-sdk/network/v2"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/hanva/hanva/components"
)

// SampleWorkloadType is the type token of SampleWorkload. It never changes:
// a rename ships with an alias.
const SampleWorkloadType = "hanva:index:SampleWorkload"

// Defaults of SampleWorkloadArgs.
const (
	DefaultLoadBalancerHost = 10
	DefaultWebFirstHost     = 20
	DefaultJumpboxHost      = 4
	DefaultWebCount         = 3
	DefaultVMSize           = "Standard_B1s"
	DefaultAdminUsername    = "hanva"
)

// SampleWorkloadArgs configures the sample workload. Graph-shaping choices
// are plain Go values, checked before anything is registered; values that may
// come from other resources are Pulumi inputs.
type SampleWorkloadArgs struct {
	// ResourceGroupName is where every resource goes. Required.
	ResourceGroupName pulumi.StringInput `pulumi:"resourceGroupName"`
	// Location of the resources. Optional; default: the resource group's.
	Location pulumi.StringInput `pulumi:"location"`
	// WebSubnetID is the subnet of the web VMs and of the load balancer's
	// frontend. Required.
	WebSubnetID pulumi.StringInput `pulumi:"webSubnetId"`
	// MgmtSubnetID is the subnet of the jumpbox. Required.
	MgmtSubnetID pulumi.StringInput `pulumi:"mgmtSubnetId"`
	// WebPrefix is the web subnet's address prefix, e.g. "10.0.1.0/24".
	// Required (plain): it places the load balancer's static frontend IP.
	WebPrefix string `pulumi:"webPrefix"`
	// LoadBalancerHost is the host number of the load balancer's frontend
	// IP in WebPrefix. Optional; default 10 (10.0.1.10 in 10.0.1.0/24). It
	// must not be one of the five addresses Azure reserves in a subnet.
	LoadBalancerHost int `pulumi:"loadBalancerHost"`
	// WebCount is the number of web VMs. Optional; default 3.
	WebCount int `pulumi:"webCount"`
	// WebFirstHost is the host number of the first web VM's static IP in
	// WebPrefix; web VM i (from 1) gets host WebFirstHost+i-1. Optional;
	// default 20: above the load balancer's host 10, so a larger WebCount
	// adds addresses without moving any (10.0.1.20 to 10.0.1.254 in a /24).
	// The web VMs' hosts must not include LoadBalancerHost.
	WebFirstHost int `pulumi:"webFirstHost"`
	// MgmtPrefix is the mgmt subnet's address prefix, e.g. "10.0.0.128/25".
	// Optional: set, the jumpbox takes host JumpboxHost there, statically;
	// "", Azure gives it an address (dynamic).
	MgmtPrefix string `pulumi:"mgmtPrefix"`
	// JumpboxHost is the host number of the jumpbox's static IP in
	// MgmtPrefix. Optional; default 4, the first address Azure does not
	// reserve.
	JumpboxHost int `pulumi:"jumpboxHost"`
	// VMSize of the web VMs and the jumpbox. Optional; default Standard_B1s.
	VMSize string `pulumi:"vmSize"`
	// AdminUsername of every VM. Optional; default "hanva".
	AdminUsername string `pulumi:"adminUsername"`
	// SSHPublicKey is the only way in (password log-in is off). Required.
	SSHPublicKey pulumi.StringInput `pulumi:"sshPublicKey"`
	// JumpboxSSHSource is the source address prefix allowed to reach the
	// jumpbox on port 22, e.g. "203.0.113.7/32". Optional; default "*"
	// (anywhere).
	JumpboxSSHSource string `pulumi:"jumpboxSshSource"`
}

// SampleWorkload is the seed's sample environment: web VMs running Apache
// behind an internal Standard load balancer, and a jumpbox with a public IP.
// The NVAs forward web traffic arriving on their public IP to LoadBalancerIP.
type SampleWorkload struct {
	pulumi.ResourceState

	// LoadBalancerIP is the internal load balancer's static frontend IP
	// (plain: known before deployment, so the NVAs can forward to it).
	LoadBalancerIP string
	// WebIPs are the web VMs' static private IPs, WebIPs[i] of WebVMs[i].
	WebIPs []string
	// JumpboxPrivateIP is the jumpbox's static private IP; "" without
	// MgmtPrefix (Azure chooses it).
	JumpboxPrivateIP string
	LoadBalancer     *network.LoadBalancer
	WebVMs           []*compute.VirtualMachine
	// WebReady are the web VMs' readiness gates (managed run commands that
	// wait until Apache answers on port 80), WebReady[i] of WebVMs[i]: web VM
	// i+1 is registered, and so created or replaced, after WebReady[i] ran.
	WebReady []*compute.VirtualMachineRunCommandByVirtualMachine
	Jumpbox  *compute.VirtualMachine
	// JumpboxPublicIP is the jumpbox's public IP address.
	JumpboxPublicIP pulumi.StringOutput
	// SSHCommand is "ssh <admin>@<jumpbox ip>".
	SSHCommand pulumi.StringOutput
}

// withDefaults returns a copy of args with the defaults filled in, or an
// error naming the first field that is missing or out of range.
func (a *SampleWorkloadArgs) withDefaults() (SampleWorkloadArgs, error) {
	if a == nil {
		return SampleWorkloadArgs{}, errors.New("testenv: SampleWorkloadArgs: missing")
	}
	out := *a
	if out.LoadBalancerHost == 0 {
		out.LoadBalancerHost = DefaultLoadBalancerHost
	}
	if out.WebCount == 0 {
		out.WebCount = DefaultWebCount
	}
	if out.WebFirstHost == 0 {
		out.WebFirstHost = DefaultWebFirstHost
	}
	if out.JumpboxHost == 0 {
		out.JumpboxHost = DefaultJumpboxHost
	}
	if out.VMSize == "" {
		out.VMSize = DefaultVMSize
	}
	if out.AdminUsername == "" {
		out.AdminUsername = DefaultAdminUsername
	}
	if out.JumpboxSSHSource == "" {
		out.JumpboxSSHSource = "*"
	}
	if err := components.CheckAdminUsername(out.AdminUsername); err != nil {
		return out, fmt.Errorf("testenv: SampleWorkloadArgs.AdminUsername: %w", err)
	}
	switch {
	case out.ResourceGroupName == nil:
		return out, errors.New("testenv: SampleWorkloadArgs.ResourceGroupName: required")
	case out.WebSubnetID == nil:
		return out, errors.New("testenv: SampleWorkloadArgs.WebSubnetID: required")
	case out.MgmtSubnetID == nil:
		return out, errors.New("testenv: SampleWorkloadArgs.MgmtSubnetID: required")
	case out.SSHPublicKey == nil:
		return out, errors.New("testenv: SampleWorkloadArgs.SSHPublicKey: required")
	case out.WebPrefix == "":
		return out, errors.New(`testenv: SampleWorkloadArgs.WebPrefix: required, e.g. "10.0.1.0/24"`)
	case out.WebCount < 1:
		return out, fmt.Errorf("testenv: SampleWorkloadArgs.WebCount: %d; at least 1 web VM", out.WebCount)
	}
	return out, nil
}

// NewSampleWorkload registers the sample workload.
func NewSampleWorkload(ctx *pulumi.Context, name string, args *SampleWorkloadArgs, opts ...pulumi.ResourceOption) (*SampleWorkload, error) {
	a, err := args.withDefaults()
	if err != nil {
		return nil, err
	}
	w := &SampleWorkload{}
	if err := w.planAddresses(&a); err != nil {
		return nil, err
	}
	if err := ctx.RegisterComponentResource(SampleWorkloadType, name, w, opts...); err != nil {
		return nil, fmt.Errorf("register sample workload %q: %w", name, err)
	}
	parent := pulumi.Parent(w)

	if err := w.webTier(ctx, name, &a, parent); err != nil {
		return nil, err
	}
	if err := w.jumpbox(ctx, name, &a, parent); err != nil {
		return nil, err
	}

	webIDs := pulumi.StringArray{}
	for _, vm := range w.WebVMs {
		webIDs = append(webIDs, vm.ID().ToStringOutput())
	}
	if err := ctx.RegisterResourceOutputs(w, pulumi.Map{
		"loadBalancerIp":  pulumi.String(w.LoadBalancerIP),
		"loadBalancerId":  w.LoadBalancer.ID(),
		"webVmIds":        webIDs,
		"jumpboxPublicIp": w.JumpboxPublicIP,
		"sshCommand":      w.SSHCommand,
	}); err != nil {
		return nil, fmt.Errorf("register outputs of sample workload %q: %w", name, err)
	}
	return w, nil
}

// planAddresses places the static private IPs: in the web subnet the load
// balancer's frontend at LoadBalancerHost and the web VMs from WebFirstHost
// up, never on the frontend; in the mgmt subnet the jumpbox at JumpboxHost.
// No two NICs or frontends in a subnet share an address whatever order
// Azure creates them in, and a larger WebCount keeps every address.
func (w *SampleWorkload) planAddresses(a *SampleWorkloadArgs) error {
	const f = "testenv: SampleWorkloadArgs"
	lbIP, err := components.HostIP(a.WebPrefix, a.LoadBalancerHost)
	if err != nil {
		return fmt.Errorf("%s.LoadBalancerHost: %w", f, err)
	}
	w.LoadBalancerIP = lbIP
	first, last := a.WebFirstHost, a.WebFirstHost+a.WebCount-1
	if first <= a.LoadBalancerHost && a.LoadBalancerHost <= last {
		return fmt.Errorf("%s.WebFirstHost: %d web VMs at hosts %d-%d of %s would take the load balancer's host %d (%s); "+
			"start them above it (WebFirstHost %d) or move LoadBalancerHost", f, a.WebCount, first, last, a.WebPrefix, a.LoadBalancerHost, lbIP, a.LoadBalancerHost+1)
	}
	for i := range a.WebCount {
		ip, err := components.HostIP(a.WebPrefix, first+i)
		if err != nil {
			return fmt.Errorf("%s.WebCount: web VM %d at host %d (WebFirstHost %d + %d): %w", f, i+1, first+i, first, i, err)
		}
		w.WebIPs = append(w.WebIPs, ip)
	}
	if a.MgmtPrefix != "" {
		if w.JumpboxPrivateIP, err = components.HostIP(a.MgmtPrefix, a.JumpboxHost); err != nil {
			return fmt.Errorf("%s.JumpboxHost: %w", f, err)
		}
	}
	return nil
}

// Names inside the load balancer, referred to by ID from its own rule.
const (
	lbFrontend = "web-frontend"
	lbPool     = "web-pool"
	lbProbe    = "http-80"
	lbRule     = "http-80"
)

// webTier registers the availability set, the internal load balancer, the
// web NSG, NICs and VMs.
func (w *SampleWorkload) webTier(ctx *pulumi.Context, name string, a *SampleWorkloadArgs, parent pulumi.ResourceOption) error {
	avset, err := compute.NewAvailabilitySet(ctx, name+"-web-avset", &compute.AvailabilitySetArgs{
		ResourceGroupName:         a.ResourceGroupName,
		Location:                  a.Location,
		Sku:                       compute.SkuArgs{Name: pulumi.String("Aligned")}, // managed disks
		PlatformFaultDomainCount:  pulumi.Int(2),
		PlatformUpdateDomainCount: pulumi.Int(5),
	}, parent)
	if err != nil {
		return fmt.Errorf("create availability set %q: %w", name+"-web-avset", err)
	}

	// The rule refers to the frontend, pool and probe of its own load
	// balancer by resource ID, which must be known before the load balancer
	// exists: so the load balancer gets a fixed Azure name, and the
	// subscription comes from the web subnet's ID (an internal load
	// balancer's frontend subnet is in its subscription).
	lbName := name + "-ilb"
	lbID := pulumi.All(a.WebSubnetID, a.ResourceGroupName).ApplyT(func(v []any) (string, error) {
		sub, err := subscriptionOf(v[0].(string))
		if err != nil {
			return "", fmt.Errorf("testenv: SampleWorkloadArgs.WebSubnetID: %w", err)
		}
		return fmt.Sprintf("/subscriptions/%s/resourceGroups/%s/providers/Microsoft.Network/loadBalancers/%s", sub, v[1].(string), lbName), nil
	}).(pulumi.StringOutput)
	part := func(kind, n string) pulumi.StringOutput { return pulumi.Sprintf("%s/%s/%s", lbID, kind, n) }

	lb, err := network.NewLoadBalancer(ctx, name+"-ilb", &network.LoadBalancerArgs{
		ResourceGroupName: a.ResourceGroupName,
		Location:          a.Location,
		LoadBalancerName:  pulumi.String(lbName),
		Sku:               network.LoadBalancerSkuArgs{Name: pulumi.String("Standard"), Tier: pulumi.String("Regional")},
		FrontendIPConfigurations: network.FrontendIPConfigurationArray{network.FrontendIPConfigurationArgs{
			Name:                      pulumi.String(lbFrontend),
			Subnet:                    network.SubnetTypeArgs{Id: a.WebSubnetID},
			PrivateIPAllocationMethod: pulumi.String("Static"),
			PrivateIPAddress:          pulumi.String(w.LoadBalancerIP),
			PrivateIPAddressVersion:   pulumi.String("IPv4"),
		}},
		BackendAddressPools: network.BackendAddressPoolArray{network.BackendAddressPoolArgs{
			Name: pulumi.String(lbPool),
		}},
		Probes: network.ProbeArray{network.ProbeArgs{
			Name:              pulumi.String(lbProbe),
			Protocol:          pulumi.String("Http"),
			Port:              pulumi.Int(80),
			RequestPath:       pulumi.String("/"),
			IntervalInSeconds: pulumi.Int(5),
			NumberOfProbes:    pulumi.Int(2),
			ProbeThreshold:    pulumi.Int(1),
		}},
		LoadBalancingRules: network.LoadBalancingRuleArray{network.LoadBalancingRuleArgs{
			Name:                    pulumi.String(lbRule),
			Protocol:                pulumi.String("Tcp"),
			FrontendPort:            pulumi.Int(80),
			BackendPort:             pulumi.Int(80),
			FrontendIPConfiguration: network.SubResourceArgs{Id: part("frontendIPConfigurations", lbFrontend)},
			BackendAddressPool:      network.SubResourceArgs{Id: part("backendAddressPools", lbPool)},
			Probe:                   network.SubResourceArgs{Id: part("probes", lbProbe)},
			IdleTimeoutInMinutes:    pulumi.Int(4),
			EnableTcpReset:          pulumi.Bool(true),
		}},
	}, parent)
	if err != nil {
		return fmt.Errorf("create load balancer %q: %w", name+"-ilb", err)
	}
	w.LoadBalancer = lb
	// Taken from the created load balancer (not lbID), so every web NIC
	// depends on it. No NIC's static address is the frontend's
	// (planAddresses).
	poolID := pulumi.Sprintf("%s/backendAddressPools/%s", lb.ID(), lbPool)

	// The NVAs forward web traffic from the Internet to the load balancer,
	// possibly without source NAT, so HTTP is allowed from anywhere; the
	// default rules already allow the VNet (the jumpbox) and the load
	// balancer's probe.
	nsg, err := network.NewNetworkSecurityGroup(ctx, name+"-web-nsg", &network.NetworkSecurityGroupArgs{
		ResourceGroupName: a.ResourceGroupName,
		Location:          a.Location,
		SecurityRules: network.SecurityRuleTypeArray{
			allowInbound("allow-http", 1000, "*", "80"),
		},
	}, parent)
	if err != nil {
		return fmt.Errorf("create network security group %q: %w", name+"-web-nsg", err)
	}

	var previous pulumi.Resource // the readiness gate of the web VM before
	for i := range a.WebCount {
		vmName := fmt.Sprintf("%s-web-%d", name, i+1)
		nic, err := network.NewNetworkInterface(ctx, vmName+"-nic", &network.NetworkInterfaceArgs{
			ResourceGroupName:    a.ResourceGroupName,
			Location:             a.Location,
			NetworkSecurityGroup: network.NetworkSecurityGroupTypeArgs{Id: nsg.ID()},
			IpConfigurations: network.NetworkInterfaceIPConfigurationArray{network.NetworkInterfaceIPConfigurationArgs{
				Name:                            pulumi.String("ipconfig1"),
				Primary:                         pulumi.Bool(true),
				Subnet:                          network.SubnetTypeArgs{Id: a.WebSubnetID},
				PrivateIPAllocationMethod:       pulumi.String("Static"),
				PrivateIPAddress:                pulumi.String(w.WebIPs[i]),
				PrivateIPAddressVersion:         pulumi.String("IPv4"),
				LoadBalancerBackendAddressPools: network.BackendAddressPoolArray{network.BackendAddressPoolArgs{Id: poolID}},
			}},
		}, parent)
		if err != nil {
			return fmt.Errorf("create network interface %q: %w", vmName+"-nic", err)
		}
		// Custom data cannot change on a VM: a new page or setup script
		// replaces the web VMs, one at a time, each after the one before is
		// serving again (its readiness gate), so the load balancer always
		// has the others.
		customData := pulumi.String(base64.StdEncoding.EncodeToString([]byte(webCloudInit(vmName))))
		opts := []pulumi.ResourceOption{parent, components.ReplaceOnCustomDataChange()}
		if previous != nil {
			opts = append(opts, pulumi.DependsOn([]pulumi.Resource{previous}))
		}
		vm, err := newLinuxVM(ctx, vmName, a, nic, customData, avset, opts...)
		if err != nil {
			return err
		}
		gate, err := components.NewReadinessGate(ctx, vmName+"-ready", components.ReadinessGateArgs{
			ResourceGroupName: a.ResourceGroupName,
			Location:          a.Location,
			VM:                vm,
			Name:              vmName,
			Check:             components.ReadinessHTTP,
			Port:              80,
			Path:              "/",
			Revision:          customData,
			Timeout:           webReadinessTimeout,
		}, parent)
		if err != nil {
			return err
		}
		w.WebVMs = append(w.WebVMs, vm)
		w.WebReady = append(w.WebReady, gate)
		previous = gate
	}
	return nil
}

// webReadinessTimeout bounds a web VM's readiness gate: the setup retries
// the Apache install for 30 minutes while the NVAs do not forward yet (on
// the first deploy they may come up after the web VMs).
const webReadinessTimeout = 35 * time.Minute

// jumpbox registers the jumpbox with its Standard static public IP and an
// NSG that lets SSH in.
func (w *SampleWorkload) jumpbox(ctx *pulumi.Context, name string, a *SampleWorkloadArgs, parent pulumi.ResourceOption) error {
	vmName := name + "-jumpbox"
	pip, err := network.NewPublicIPAddress(ctx, vmName+"-pip", &network.PublicIPAddressArgs{
		ResourceGroupName:        a.ResourceGroupName,
		Location:                 a.Location,
		Sku:                      network.PublicIPAddressSkuArgs{Name: pulumi.String("Standard"), Tier: pulumi.String("Regional")},
		PublicIPAllocationMethod: pulumi.String("Static"),
		PublicIPAddressVersion:   pulumi.String("IPv4"),
	}, parent)
	if err != nil {
		return fmt.Errorf("create public IP %q: %w", vmName+"-pip", err)
	}
	nsg, err := network.NewNetworkSecurityGroup(ctx, vmName+"-nsg", &network.NetworkSecurityGroupArgs{
		ResourceGroupName: a.ResourceGroupName,
		Location:          a.Location,
		SecurityRules: network.SecurityRuleTypeArray{
			allowInbound("allow-ssh", 1000, a.JumpboxSSHSource, "22"),
		},
	}, parent)
	if err != nil {
		return fmt.Errorf("create network security group %q: %w", vmName+"-nsg", err)
	}
	ipc := network.NetworkInterfaceIPConfigurationArgs{
		Name:                      pulumi.String("ipconfig1"),
		Primary:                   pulumi.Bool(true),
		Subnet:                    network.SubnetTypeArgs{Id: a.MgmtSubnetID},
		PrivateIPAllocationMethod: pulumi.String("Dynamic"),
		PublicIPAddress:           network.PublicIPAddressTypeArgs{Id: pip.ID()},
	}
	if w.JumpboxPrivateIP != "" {
		ipc.PrivateIPAllocationMethod = pulumi.String("Static")
		ipc.PrivateIPAddress = pulumi.String(w.JumpboxPrivateIP)
		ipc.PrivateIPAddressVersion = pulumi.String("IPv4")
	}
	nic, err := network.NewNetworkInterface(ctx, vmName+"-nic", &network.NetworkInterfaceArgs{
		ResourceGroupName:    a.ResourceGroupName,
		Location:             a.Location,
		NetworkSecurityGroup: network.NetworkSecurityGroupTypeArgs{Id: nsg.ID()},
		IpConfigurations:     network.NetworkInterfaceIPConfigurationArray{ipc},
	}, parent)
	if err != nil {
		return fmt.Errorf("create network interface %q: %w", vmName+"-nic", err)
	}
	vm, err := newLinuxVM(ctx, vmName, a, nic, nil, nil, parent)
	if err != nil {
		return err
	}
	w.Jumpbox = vm
	w.JumpboxPublicIP = pip.IpAddress.Elem()
	w.SSHCommand = pulumi.Sprintf("ssh %s@%s", a.AdminUsername, w.JumpboxPublicIP)
	return nil
}

// newLinuxVM registers an Ubuntu VM that takes SSH keys only (the shape
// every hanva VM shares: components.LinuxVMArgs). customData (base64) and
// avset may be nil.
func newLinuxVM(ctx *pulumi.Context, vmName string, a *SampleWorkloadArgs, nic *network.NetworkInterface, customData pulumi.StringInput, avset *compute.AvailabilitySet, opts ...pulumi.ResourceOption) (*compute.VirtualMachine, error) {
	spec := components.LinuxVMArgs{
		ResourceGroupName: a.ResourceGroupName,
		Location:          a.Location,
		ComputerName:      vmName,
		Size:              a.VMSize,
		AdminUsername:     a.AdminUsername,
		SSHPublicKey:      a.SSHPublicKey,
		NICIDs:            []pulumi.StringInput{nic.ID()},
		CustomData:        customData,
	}
	if avset != nil {
		spec.AvailabilitySetID = avset.ID()
	}
	vmArgs, err := spec.VirtualMachineArgs()
	if err != nil {
		return nil, fmt.Errorf("create virtual machine %q: %w", vmName, err)
	}
	vm, err := compute.NewVirtualMachine(ctx, vmName, vmArgs, opts...)
	if err != nil {
		return nil, fmt.Errorf("create virtual machine %q: %w", vmName, err)
	}
	return vm, nil
}

func allowInbound(name string, priority int, source, port string) network.SecurityRuleTypeArgs {
	return network.SecurityRuleTypeArgs{
		Name:                     pulumi.String(name),
		Priority:                 pulumi.Int(priority),
		Direction:                pulumi.String("Inbound"),
		Access:                   pulumi.String("Allow"),
		Protocol:                 pulumi.String("Tcp"),
		SourceAddressPrefix:      pulumi.String(source),
		SourcePortRange:          pulumi.String("*"),
		DestinationAddressPrefix: pulumi.String("*"),
		DestinationPortRange:     pulumi.String(port),
	}
}

// subscriptionOf returns the subscription of an ARM resource ID.
func subscriptionOf(id string) (string, error) {
	parts := strings.Split(strings.TrimPrefix(id, "/"), "/")
	if len(parts) < 2 || !strings.EqualFold(parts[0], "subscriptions") || parts[1] == "" {
		return "", fmt.Errorf("%q is not a resource ID: it must start with /subscriptions/{subscription}/", id)
	}
	return parts[1], nil
}
