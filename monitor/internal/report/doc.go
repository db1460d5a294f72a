// Package report is how nva-monitor tells the world what it sees and does:
// the log event names and attribute keys, the Prometheus metrics (on a private
// registry, namespace "hanva") and the HTTP endpoints /healthz, /readyz,
// /metrics and /status.
//
// Usage:
//
//	m := report.NewMetrics("mon-1", version.Version)
//	m.ProbeResult("nva-1", "", 3*time.Millisecond)
//	srv := report.NewServer(report.ServerOptions{Addr: "127.0.0.1:9414", Metrics: m,
//		Status: func() any { return myStatus }, Ready: func() error { return nil }})
//	go srv.ListenAndServe()
//	log.Info("failover started", report.KeyEvent, report.EventFailoverStarted, report.KeyNVA, "nva-2")
package report
