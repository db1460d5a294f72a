// Package probe observes NVA health: one probe per NVA per round, all NVAs
// concurrently, each bounded by a timeout. It knows nothing of Azure or of
// the configuration file; the caller builds Targets.
//
// A probe fails in one of a few enumerated ways (Failure), so that an NVA
// that refuses connections (RST: service stopped, port closed) and one that
// does not answer at all (silent drop: VM hung, NSG, host down) both count as
// failures and can be told apart in logs and metrics.
//
// Probers:
//   - TCP: healthy when a connection can be made; it is closed at once.
//   - HTTP: healthy on a 2xx answer to GET http://Address+Path, on a fresh
//     connection every time, without following redirects.
//
// Usage:
//
//	targets := []probe.Target{
//		{NVA: "nva-1", Prober: probe.TCP{Address: "10.0.1.4:22"}},
//		{NVA: "nva-2", Prober: probe.HTTP{Address: "10.0.1.5:8080", Path: "/healthz"}},
//	}
//	r := &probe.Runner{Targets: targets, Interval: time.Second, Timeout: 800 * time.Millisecond}
//	rounds, errc := make(chan probe.Round, 1), make(chan error, 1)
//	go func() { errc <- r.Run(ctx, rounds) }() // returns ctx.Err() when ctx ends; never closes rounds
//	for {
//		select {
//		case <-ctx.Done():
//			return <-errc
//		case round := <-rounds:
//			for _, res := range round.Results { // in target order
//				log.Debug("probe", "nva", res.NVA, "ok", res.OK, "failure", res.Failure,
//					"duration", res.Latency, "err", res.Err)
//			}
//		}
//	}
//
// For a single round, e.g. at start-up or in a CLI "check" command:
//
//	round := probe.Once(ctx, targets, 800*time.Millisecond)
//
// Run never blocks on its output channel: read it promptly, or the older of
// two undelivered rounds is dropped (Runner.Dropped counts them).
package probe
