// Package lab stands a hanva deployment up on one machine, for the failover
// drill (testenv/drill) and for tests: armsim (the ARM emulator, in
// process) seeded with a stack's network resources, an HTTP stand-in per
// NVA on 127.0.0.1 in place of its probe port, Azurite (testenv/azurite) for
// the blob lease, and real nva-monitor processes built from this module and
// configured as the deployment configures them, pointed at the emulators.
//
// It is a regular package, not _test code, so the drill command can use it;
// it returns errors rather than failing tests.
//
//   - Stack, SampleStack: what to stand up. SampleStack is the sample
//     topology written by hand from the Pulumi sample program (VNet
//     10.0.0.0/16 with dmz-external, dmz-internal, web and mgmt subnets; NVAs
//     with an external and an internal NIC at host 4+i of their subnets;
//     route table web-udr; a Standard public IP on nva-1) and the monitor
//     config the Monitor component generates for it; it needs no Pulumi, so
//     this package's and the drill's tests run with the race detector.
//     testenv/stackseed builds the same Stack from the real Pulumi program
//     (components/stack) run under mocks (the drill command's default). Env reads NVAs, NICs, IPs,
//     route tables and public IPs from the stack, never from names.
//   - Localize: a generated config made local (ARM endpoint, CA, static
//     token; lease URL on the emulator with its shared key; probe addresses
//     at the stand-ins; listen address), validated by the monitor's rules.
//   - StandIn: Crash (refused), Hang (silent: accepts, never answers),
//     Restore (same port).
//   - Monitor: Start, Stop, Kill (SIGKILL), Pause (SIGSTOP), Resume
//     (SIGCONT), Logs (parsed JSON lines, see ParseLogs), IsLeader
//     (/metrics hanva_is_leader), Status (/status), Ready (/readyz). On Linux a
//     monitor dies with the process that started it.
//   - Env: Start, StartMonitors, WaitLeader, Leaders, Placement (where each
//     managed resource points, from armsim: route tables by their NVA next
//     hops, public IPs by the NIC that holds them, floating IPs by the NVA
//     NIC that carries their ipconfig, backend pools and DNS records by the
//     NVA addresses they hold; On says whether they all agree), NVAOfIP
//     (floating IPs are no NVA's), NVAOfNIC, FloatingIPOf, Close. Env.Sim is the armsim server: Events, SetWriteThrottle,
//     InjectFault.
//
// Usage:
//
//	bin, err := lab.BuildMonitor(dir, lab.BuildOptions{})
//	az, err := azurite.Start(azurite.Options{})       // shared by many Envs
//	defer az.Stop()
//	stack, err := lab.SampleStack(lab.SampleOptions{NVAs: 2, Monitors: 3})
//	env, err := lab.Start(ctx, lab.Options{Stack: stack, MonitorBin: bin, Azurite: az, Dir: dir, LROLatency: time.Second})
//	defer env.Close()
//	err = env.StartMonitors(ctx)
//	leader, err := env.WaitLeader(ctx)
//	env.StandIns["nva-1"].Crash()
//	err = lab.Poll(ctx, func() (bool, error) {
//		p, err := env.Placement()
//		on, ok := p.On()
//		return ok && on == "nva-2", err
//	})
//	for _, ev := range env.Sim.Events(0) { ... ev.Client names the writing instance ... }
package lab
