// Package drill rehearses hanva failovers on one machine, with no Azure
// subscription: for each scenario a fresh lab.Env (armsim seeded with the
// sample topology, an HTTP stand-in per NVA, the monitors as real
// nva-monitor processes, Azurite for the lease shared across scenarios and
// emptied between them) is brought to a converged state (one leader, every
// NVA up in every monitor's view, Azure on nva-1), a failure is injected,
// and the outcome is checked against armsim.
//
// Scenarios (Names): crash (the active NVA's probe port refuses), hang (it
// accepts and never answers), leader-kill (SIGKILL of the lease holder as
// the active NVA crashes), leader-pause (SIGSTOP of the lease holder past
// its lease, a failover by another monitor, SIGCONT), throttle (armsim
// answers 429 with Retry-After during the failover), failback (failback:
// preferred brings everything back to nva-1 after the holdoff); and one
// crash per way of steering traffic, each on the sample deployed in that
// mode (lab.SampleOptions.Steering, the program's stack config key
// steering; with the program's topology, testenv/stackseed):
// crash-floating-ip (steering floatingIp: the floating ipconfig must come
// off nva-1's internal NIC, then go onto nva-2's, and no route table be
// written), crash-load-balancer (steering loadBalancer: one load balancer
// write puts nva-2's address in the IP-based backend pool in place of
// nva-1's; no route table written), crash-dns (steering routes and dns: the
// route tables rewritten and one write of the Private DNS A record set).
//
// Every scenario checks that every managed resource (route tables, public
// IPs, floating IPs, backend pools, DNS records: lab.Placement) ends on
// one healthy NVA, that every ARM write came from the monitor holding the
// lease at that moment (armsim's write log names the writer by User-Agent;
// the monitors' lease_acquired / lease_lost / leader_lost lines and the
// drill's own kills and pauses say who held it), and that exactly one
// monitor leads at the end; plus the scenario's own checks. The Timeline
// lines up the drill's actions, the monitors' logs and armsim's writes
// (each write named by what it moves: a route table, the public IP, the
// floating IP, a backend pool, a DNS record; epoch stamps left out);
// WriteHTML draws it per scenario in a self-contained page.
//
// Usage (the command is testenv/drill/cmd/drill, `make drill`):
//
//	rep, err := drill.Run(ctx, drill.Options{Scenarios: []string{"crash", "leader-kill"}, Progress: os.Stdout})
//	if err != nil { ... } // could not run at all (no Azurite, bad options)
//	f, _ := os.Create("drill-report.html")
//	_ = drill.WriteHTML(f, rep)
//	if !rep.Passed() { os.Exit(1) }
package drill
