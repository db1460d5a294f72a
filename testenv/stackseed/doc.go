// Package stackseed turns what the Pulumi program declares into a lab.Stack
// for the failover drill: it runs the components under
// components/pulumitest mocks (no Pulumi CLI, no Azure), converts the
// declared virtual network (with its inline subnets), public IP, route
// tables and NVA NICs into armsim seeds (ARM JSON from the recorded inputs,
// under the IDs the mocks gave them, so the names, IDs and IPs are the
// program's), and takes the monitor config the Monitor component generated
// (parsed by the monitor's own loader) as the stack's config; lab.Localize
// then points it at the local emulators.
//
// It imports Pulumi, so it lives apart from testenv/lab and testenv/drill
// (which the race detector covers) and only the drill command imports it.
//
//   - HaNva: components.NewHaNva "hanva" in resource group "hanva", as the
//     sample program (main.go, runSample) declares it, sized by
//     lab.SampleOptions.
//   - Run: any program that returns its generated monitor config.
//   - Convert: recorded resources + monitor YAML -> lab.Stack.
//
// When the program's logic moves to components/stack, the drill can run
// the program itself (sample mode, its config from PULUMI_CONFIG):
//
//	s, err := stackseed.Run(func(ctx *pulumi.Context) (pulumi.StringOutput, error) {
//		out, err := stack.Run(ctx)
//		if err != nil {
//			return pulumi.StringOutput{}, err
//		}
//		return out.MonitorConfig, nil
//	})
//
// Usage (what `make drill` does by default):
//
//	rep, err := drill.Run(ctx, drill.Options{Stack: stackseed.HaNva, Progress: os.Stdout})
package stackseed
