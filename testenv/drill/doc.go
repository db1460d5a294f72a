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
// preferred brings everything back to nva-1 after the holdoff).
//
// Every scenario checks that every route table and the public IP end on
// one healthy NVA, that every ARM write came from the monitor holding the
// lease at that moment (armsim's write log names the writer by User-Agent;
// the monitors' lease_acquired / lease_lost / leader_lost lines and the
// drill's own kills and pauses say who held it), and that exactly one
// monitor leads at the end; plus the scenario's own checks. The Timeline
// lines up the drill's actions, the monitors' logs and armsim's writes;
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
