// Package testenv provides the sample environment of the seed deployment as
// a Pulumi component, SampleWorkload (type token hanva:index:SampleWorkload):
// WebCount web VMs (Ubuntu 22.04, SSH keys only) running Apache with a test
// page that names the VM, in an availability set behind an internal Standard
// load balancer with a static frontend IP; and a jumpbox with a Standard
// static public IP in the mgmt subnet, whose NSG lets SSH in. The NVAs
// forward web traffic arriving on their public IP to the load balancer's IP,
// which is a plain string known before deployment for that reason.
//
// Its subpackages are the local test environment: armsim (an emulated Azure
// Resource Manager), azurite (Azure Storage emulator processes for tests) and
// e2e (end-to-end tests).
//
// Usage (net is a components.Network):
//
//	w, err := testenv.NewSampleWorkload(ctx, "sample", &testenv.SampleWorkloadArgs{
//		ResourceGroupName: rg.Name,
//		WebSubnetID:       net.WebSubnetID,
//		MgmtSubnetID:      net.MgmtSubnetID,
//		WebPrefix:         net.Prefixes["web"], // the ILB gets host 10: 10.0.1.10
//		SSHPublicKey:      pulumi.String(cfg.Require("sshPublicKey")),
//	})
//	// NVAs: NvaPairArgs.ForwardTo = w.LoadBalancerIP
//	ctx.Export("sshCommand", w.SSHCommand) // ssh hanva@<jumpbox ip>
package testenv
