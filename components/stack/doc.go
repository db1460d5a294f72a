// Package stack is the project's Pulumi program (the root main.go runs
// stack.Program), importable so that tests and the local failover drill
// run the real program under mocks.
//
// The stack config (keys in the "hanva" namespace, declared with their
// defaults in the module root's Pulumi.yaml) chooses the mode:
//
//   - sample (default): a resource group "hanva" holding components.HaNva
//     "hanva" (VNet, NVAs, route tables, public IP, monitors) and the test
//     web tier testenv.SampleWorkload "sample", to whose load balancer the
//     NVAs forward web traffic. Key steering (HaNvaArgs.Steering) picks how
//     traffic follows the active NVA: rewritten route tables (default), a
//     floating IP, an internal HA-ports load balancer, and/or a Private DNS
//     record (dnsZoneName, dnsRecordName, dnsTtl).
//   - production: route tables and components.Monitor "hanva-monitor" wired
//     to an existing VNet and public IP given by resource ID, and to NVAs
//     given by VM (or NIC) resource ID, whose NICs, roles and private IPs
//     are read from Azure with the azure-native lookup functions
//     (appliances.go); the monitors' subnet must not route their way to
//     Azure Resource Manager and Storage through those NVAs (wayout.go).
//     Existing resources that follow the active NVA in other ways are given
//     by ID (floatingIp, backendPoolId, dnsRecordId, each with a …Via role):
//     nothing is created for them; the monitor config names them and the
//     monitors' role is assigned on each (steering_test.go).
//
// Every key is read and validated before anything is registered; a bad or
// missing one fails Run with every problem on its own line, each naming
// its key ("hanva:nvaCount: ..."). In production, what the lookups find is
// checked the same way, also before anything is registered
// ("hanva:nvas[1].internalIp: 10.1.0.38 is not an address of NIC ...").
//
//   - Program: Run, then export the Outputs as the stack outputs.
//   - Run: register the deployment of the config's mode, return Outputs.
//   - Outputs: public IP, NVA private IPs by role, the initially active
//     NVA, monitor IPs, lease blob URL, route table IDs, the generated
//     monitor config, the floating IP, the NVA load balancer's frontend
//     and pool, the Private DNS name and record set when used, and in sample
//     mode the jumpbox and web LB addresses.
//
// Usage (as the Pulumi CLI runs it, or under mocks with the config in
// PULUMI_CONFIG, pulumi.EnvConfig, as a JSON map):
//
//	pulumi.Run(stack.Program)
//
//	os.Setenv(pulumi.EnvConfig, `{"hanva:sshPublicKey": "ssh-ed25519 AAAA... you@host"}`)
//	err := pulumi.RunErr(func(ctx *pulumi.Context) error {
//		out, err := stack.Run(ctx)
//		if err != nil {
//			return err
//		}
//		out.MonitorConfig.ApplyT(func(yml string) string { ...; return yml })
//		return nil
//	}, pulumi.WithMocks("hanva", "test", mocks))
package stack
