package daemon

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"

	"github.com/hanva/hanva/monitor/config"
	"github.com/hanva/hanva/monitor/internal/act"
	"github.com/hanva/hanva/monitor/internal/azure"
	"github.com/hanva/hanva/monitor/internal/decide"
	"github.com/hanva/hanva/monitor/internal/probe"
	"github.com/hanva/hanva/monitor/internal/version"
)

// Topology turns the config into the act engine's view of the world.
func Topology(cfg *config.Config) act.Topology {
	var t act.Topology
	for _, n := range cfg.NVAs {
		nics := make(map[string]string, len(n.NICs))
		for role, id := range n.NICs {
			nics[role] = id
		}
		t.NVAs = append(t.NVAs, act.NVA{Name: n.Name, NICs: nics})
	}
	for _, rt := range cfg.RouteTables {
		t.RouteTables = append(t.RouteTables, act.Managed{ID: rt.ID, Via: rt.Via})
	}
	for _, p := range cfg.PublicIPs {
		t.PublicIPs = append(t.PublicIPs, act.Managed{ID: p.ID, Via: p.Via})
	}
	for _, f := range cfg.FloatingIPs {
		t.FloatingIPs = append(t.FloatingIPs, act.FloatingIP{IP: f.IP, Via: f.Via, Name: f.Name})
	}
	for _, p := range cfg.BackendPools {
		t.BackendPools = append(t.BackendPools, act.Managed{ID: p.ID, Via: p.Via})
	}
	for _, r := range cfg.DNSRecords {
		t.DNSRecords = append(t.DNSRecords, act.Managed{ID: r.ID, Via: r.Via})
	}
	return t
}

// Targets builds one prober per NVA from the config.
func Targets(cfg *config.Config) []probe.Target {
	ts := make([]probe.Target, 0, len(cfg.NVAs))
	for _, n := range cfg.NVAs {
		var p probe.Prober
		switch n.Probe.Kind {
		case "http":
			p = probe.HTTP{Address: n.Probe.Address, Path: n.Probe.Path}
		default:
			p = probe.TCP{Address: n.Probe.Address}
		}
		ts = append(ts, probe.Target{NVA: n.Name, Prober: p})
	}
	return ts
}

// Policy is the decision policy the config describes.
func Policy(cfg *config.Config) decide.Policy {
	names := make([]string, 0, len(cfg.NVAs))
	for _, n := range cfg.NVAs {
		names = append(names, n.Name)
	}
	fb := decide.FailbackPolicy(cfg.Failback)
	if fb == "" {
		fb = "never"
	}
	return decide.Policy{
		NVAs:                names,
		FailureThreshold:    cfg.Probe.FailureThreshold,
		SuccessThreshold:    cfg.Probe.SuccessThreshold,
		MinFailoverInterval: cfg.MinFailoverInterval.D(),
		FailbackHoldoff:     cfg.FailbackHoldoff.D(),
		Failback:            fb,
	}
}

// Azure builds the ARM client options and the credential from the config.
// onResponse, if not nil, sees every ARM response (metrics).
func Azure(cfg *config.Config, onResponse func(method, resourceType string, status int)) (*arm.ClientOptions, azcore.TokenCredential, error) {
	s := azure.Settings{
		Cloud:       cfg.Cloud,
		ARMEndpoint: cfg.ARMEndpoint,
		CAFile:      cfg.CAFile,
		Credential:  cfg.Credential,
		Instance:    cfg.Instance,
		Version:     version.Version,
		OnResponse:  onResponse,
	}
	opts, err := azure.ClientOptions(s)
	if err != nil {
		return nil, nil, err
	}
	cred, err := azure.Credential(s, opts)
	if err != nil {
		return nil, nil, err
	}
	return opts, cred, nil
}

// Engine builds the act engine for the config.
// beforeWrite (lease check) and epoch (fencing token) may be nil.
func Engine(cfg *config.Config, log *slog.Logger, onResponse func(method, resourceType string, status int), beforeWrite func(context.Context) error, epoch func() int64) (*act.Engine, error) {
	opts, cred, err := Azure(cfg, onResponse)
	if err != nil {
		return nil, err
	}
	return act.New(Topology(cfg), cred, opts, act.Options{
		PollInterval:     cfg.PollInterval.D(),
		OperationTimeout: cfg.OperationTimeout.D(),
		Logger:           log,
		BeforeWrite:      beforeWrite,
		Epoch:            epoch,
	})
}

// Logger builds the slog logger the config asks for, writing to w.
func Logger(cfg *config.Config, w *os.File) (*slog.Logger, error) {
	var level slog.Level
	switch strings.ToLower(cfg.Log.Level) {
	case "", "info":
		level = slog.LevelInfo
	case "debug":
		level = slog.LevelDebug
	case "warn":
		level = slog.LevelWarn
	case "error":
		level = slog.LevelError
	default:
		return nil, fmt.Errorf("log.level %q: use debug, info, warn or error", cfg.Log.Level)
	}
	ho := &slog.HandlerOptions{Level: level}
	var h slog.Handler
	switch cfg.Log.Format {
	case "", "json":
		h = slog.NewJSONHandler(w, ho)
	case "text":
		h = slog.NewTextHandler(w, ho)
	default:
		return nil, fmt.Errorf("log.format %q: use json or text", cfg.Log.Format)
	}
	l := slog.New(h)
	if cfg.Instance != "" {
		l = l.With("instance", cfg.Instance)
	}
	return l, nil
}
