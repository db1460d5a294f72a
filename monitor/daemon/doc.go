// Package daemon is the nva-monitor run loop: probe every NVA each interval,
// read Azure in the background, campaign for the lease, and while leading
// decide with thresholds, quorum, anti-flap and the failback policy,
// converge Azure to the decision (probing never waits for ARM), reconcile
// drift, and report through logs, metrics and /status.
//
// The loop has one function per role, in the manner of hashicorp/raft's
// runFollower/runLeader:
//
//   - follow (follow.go) probes, publishes this monitor's view and tracks the
//     leader's decision from the shared state; it has no way to write to
//     Azure: it starts no converge and takes no request.
//   - lead (lead.go) runs one term of the lease: it takes over (reads the
//     shared state, rebuilt if it cannot be decoded; reads Azure; raises the
//     epoch above everything seen; inherits the anti-flap clock), then owns
//     the desired NVA. setDesired is the one place it changes, always
//     recorded in the shared state before Azure is touched; ensure
//     (ensure.go) is the one step that compares Azure with it and starts,
//     keeps or cancels the converge (stamping this term's epoch on every
//     managed resource), with a backoff after failures.
//
// Leadership is the lease's state (Leader.Term), not its edges: an edge only
// wakes the loop. Every hold has a typed reason (decide.Reason*), which is
// also the log attribute and the holds metric's label.
//
// Usage:
//
//	cfg, err := config.Load("nva-monitor.yaml")
//	if err != nil { ... exit 2 ... }
//	log, _ := daemon.Logger(cfg, os.Stderr)
//	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
//	defer stop()
//	err = daemon.Run(ctx, cfg, daemon.Options{Logger: log})
//
// Build helpers (Topology, Targets, Policy, Engine) turn the one config type
// into what the internal packages take, so the commands share them. Options
// can replace the lease, the ARM client options and the probes: the daemon's
// tests and monitor/internal/sim run whole clusters in one process that way.
package daemon
