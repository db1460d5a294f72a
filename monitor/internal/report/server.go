package report

import (
	"encoding/json"
	"net/http"
	"time"
)

// ServerOptions configures the HTTP endpoint.
type ServerOptions struct {
	// Addr is host:port; the default configuration binds to 127.0.0.1.
	Addr string
	// Metrics is served on /metrics.
	Metrics *Metrics
	// Status returns the value served as JSON on /status.
	Status func() any
	// Ready returns nil once the monitor knows the active NVA and is probing;
	// /readyz answers 503 with the error's text until then.
	Ready func() error
}

// NewServer returns the daemon's HTTP server: /healthz (the process serves),
// /readyz (the monitor is ready), /metrics (Prometheus) and /status (JSON).
func NewServer(o ServerOptions) *http.Server {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = w.Write([]byte("ok\n"))
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		if o.Ready != nil {
			if err := o.Ready(); err != nil {
				w.WriteHeader(http.StatusServiceUnavailable)
				_, _ = w.Write([]byte("not ready: " + err.Error() + "\n"))
				return
			}
		}
		_, _ = w.Write([]byte("ready\n"))
	})
	if o.Metrics != nil {
		mux.Handle("GET /metrics", o.Metrics.Handler())
	}
	mux.HandleFunc("GET /status", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		var v any = struct{}{}
		if o.Status != nil {
			v = o.Status()
		}
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		_ = enc.Encode(v)
	})
	return &http.Server{
		Addr:              o.Addr,
		Handler:           mux,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		WriteTimeout:      10 * time.Second,
	}
}
