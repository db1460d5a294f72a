// Package daemon is the nva-monitor run loop: find the active NVA in Azure,
// probe every NVA each interval, decide with thresholds, anti-flap and the
// failback policy, converge Azure to the decision in the background (probing
// never waits for ARM), reconcile drift, and report through logs, metrics and
// /status.
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
// into what the internal packages take, so the commands share them.
package daemon
