// Package stackseed turns what the Pulumi program declares into a lab.Stack
// for the failover drill: it runs the real program (components/stack, what
// `pulumi up` deploys) in sample mode under components/pulumitest mocks (no
// Pulumi CLI, no Azure), converts the declared virtual network (with its
// inline subnets), public IPs, route tables and NVA NICs, and in the other
// ways of steering the floating ipconfig on the first NVA's internal NIC,
// the NVAs' load balancer (frontend, HA-ports rule, probe, IP-based
// backend pool, all inline) and the Private DNS zone with its A record set
// (not its VNet link: armsim does not emulate links), into armsim seeds
// (ARM JSON from the recorded inputs, under the IDs the mocks gave them, so
// the names, IDs and IPs are the program's), and takes the monitor config
// the Monitor component generated (stack output monitorConfig, parsed by
// the monitor's own loader) as the stack's config; lab.Localize then points
// it at the local emulators.
//
// It imports Pulumi, so it lives apart from testenv/lab and testenv/drill
// (which the race detector covers) and only the drill command imports it.
//
//   - Sample: stack.Run under mocks with the stack config of Config: mode
//     sample, NVA and monitor counts, the scenario's settings (probe
//     interval and threshold, failback, holdoff, anti-flap interval, lease)
//     and its steering as the program's own config keys, a test SSH key
//     and a stand-in monitor binary. It sets PULUMI_CONFIG
//     (pulumi.EnvConfig) for the run and restores it after; runs are
//     serialized.
//   - Config: those keys for a lab.SampleOptions.
//   - Run: any program that returns its generated monitor config.
//   - Convert: recorded resources + monitor YAML -> lab.Stack.
//
// Usage (what `make drill` does by default, --topology program):
//
//	rep, err := drill.Run(ctx, drill.Options{Stack: stackseed.Sample, Progress: os.Stdout})
package stackseed
