package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/hanva/hanva/monitor/config"
	"github.com/hanva/hanva/monitor/daemon"
	"github.com/hanva/hanva/monitor/internal/act"
	"github.com/hanva/hanva/monitor/internal/probe"
	"github.com/hanva/hanva/monitor/internal/version"
)

func cmdVersion(stdout io.Writer) error {
	_, err := fmt.Fprintf(stdout, "nva-monitor %s\n", version.Version)
	return err
}

func cmdRun(ctx context.Context, args []string, stderr io.Writer) error {
	fs, path := flags("run", stderr)
	if err := parse(fs, args); err != nil {
		return err
	}
	cfg, err := load(*path)
	if err != nil {
		return err
	}
	log, err := daemon.Logger(cfg, os.Stderr)
	if err != nil {
		return usageError{err}
	}
	return daemon.Run(ctx, cfg, daemon.Options{Logger: log})
}

// quietEngine builds an engine whose logs go to stderr as text at warn level,
// for the one-shot commands.
func quietEngine(cfg *config.Config, stderr io.Writer) (*act.Engine, error) {
	log := slogText(stderr)
	return daemon.Engine(cfg, log, nil, nil, nil)
}

func cmdPlan(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs, path := flags("plan", stderr)
	to := fs.String("to", "", "the NVA to plan a failover to (required)")
	if err := parse(fs, args); err != nil {
		return err
	}
	cfg, err := load(*path)
	if err != nil {
		return err
	}
	if err := checkTarget(cfg, *to); err != nil {
		return err
	}
	eng, err := quietEngine(cfg, stderr)
	if err != nil {
		return err
	}
	changes, err := eng.Plan(ctx, *to)
	if err != nil {
		return fmt.Errorf("plan failover to %s: %w", *to, err)
	}
	var writes, stuck []act.Change
	for _, c := range changes {
		if c.Unmatched {
			stuck = append(stuck, c)
		} else {
			writes = append(writes, c)
		}
	}
	if len(writes) == 0 {
		fmt.Fprintf(stdout, "Nothing to change: every managed resource already points at %s.\n", *to)
	} else {
		fmt.Fprintf(stdout, "A failover to %s would make %d change(s) (dry run, nothing was changed):\n", *to, len(writes))
	}
	for _, c := range writes {
		fmt.Fprintf(stdout, "  %-12s %s\n               %s\n", c.Kind, c.ResourceID, c.Description)
	}
	if len(stuck) > 0 {
		fmt.Fprintf(stdout, "UNMATCHED: %d route(s) would be left alone, their next hop has no counterpart on %s (docs/monitor.md#next-hop-matching):\n", len(stuck), *to)
	}
	for _, c := range stuck {
		fmt.Fprintf(stdout, "  %-12s %s\n               %s\n", c.Kind, c.ResourceID, c.Description)
	}
	return nil
}

func cmdFailover(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs, path := flags("failover", stderr)
	to := fs.String("to", "", "the NVA to make active (required)")
	force := fs.Bool("force", false, "fail over even if the target NVA fails its probes")
	var timeout time.Duration // 0: not given
	fs.Func("timeout", "with a blob lease: how long to wait for the leading monitor before withdrawing the request; the leader refuses it once older (default operationTimeout + 2 x lease.duration from the config, 5m30s with the defaults)", func(s string) error {
		d, err := time.ParseDuration(s)
		if err != nil || d <= 0 {
			return errors.New("want a positive duration such as 90s or 5m, or leave --timeout out to wait operationTimeout + 2 x lease.duration")
		}
		timeout = d
		return nil
	})
	if err := parse(fs, args); err != nil {
		return err
	}
	timeoutSet := timeout > 0
	cfg, err := load(*path)
	if err != nil {
		return err
	}
	if err := checkTarget(cfg, *to); err != nil {
		return err
	}
	if !timeoutSet {
		timeout = failoverWait(cfg)
	}
	healthy, detail := probeHealthy(ctx, cfg, *to)
	if !healthy {
		if !*force {
			return fmt.Errorf("refusing to fail over to %s: it is not healthy (%s); fix it or pass --force", *to, detail)
		}
		fmt.Fprintf(stderr, "warning: %s is not healthy (%s); failing over anyway (--force)\n", *to, detail)
	}
	if cfg.Lease.Kind == config.LeaseBlob {
		// Several monitors: only the leader writes to ARM. Hand it the
		// request through the shared state and wait for its answer.
		return requestFailover(ctx, cfg, *to, *force, timeout, stdout, stderr)
	}
	if timeoutSet {
		fmt.Fprintln(stderr, "note: --timeout has no effect without a blob lease: this command converges Azure itself, each resource bounded by operationTimeout")
	}
	eng, err := quietEngine(cfg, stderr)
	if err != nil {
		return err
	}
	start := time.Now()
	rep, err := eng.Converge(ctx, *to)
	if rep != nil {
		printReport(stdout, rep)
	}
	if err != nil {
		return fmt.Errorf("fail over to %s: %w", *to, err)
	}
	fmt.Fprintf(stdout, "Every managed resource points at %s (%s).\n", *to, time.Since(start).Round(time.Millisecond))
	fmt.Fprintln(stdout, "A running daemon adopts this active NVA at its next reconcile.")
	return nil
}

func printReport(w io.Writer, rep *act.Report) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "RESOURCE\tKIND\tCHANGED\tATTEMPTS\tAFTER\tERROR")
	for _, r := range rep.Resources {
		fmt.Fprintf(tw, "%s\t%s\t%v\t%d\t%s\t%s\n", shortID(r.ID), r.Kind, r.Changed, r.Attempts, r.Duration.Round(time.Millisecond), errText(r.Err))
	}
	_ = tw.Flush()
}

// probeHealthy probes the NVA successThreshold times, an interval apart.
func probeHealthy(ctx context.Context, cfg *config.Config, name string) (bool, string) {
	var target []probe.Target
	for _, t := range daemon.Targets(cfg) {
		if t.NVA == name {
			target = append(target, t)
		}
	}
	n := max(cfg.Probe.SuccessThreshold, 1)
	for i := range n {
		if i > 0 {
			select {
			case <-ctx.Done():
				return false, ctx.Err().Error()
			case <-time.After(cfg.Probe.Interval.D()):
			}
		}
		r := probe.Once(ctx, target, cfg.Probe.Timeout.D())
		if len(r.Results) == 0 || !r.Results[0].OK {
			what := "no result"
			if len(r.Results) > 0 {
				what = fmt.Sprintf("probe %d of %d: %s: %v", i+1, n, r.Results[0].Failure, r.Results[0].Err)
			}
			return false, what
		}
	}
	return true, fmt.Sprintf("%d probes ok", n)
}

func checkTarget(cfg *config.Config, to string) error {
	if to == "" {
		return usagef("--to is required: name the NVA (one of %s)", strings.Join(nvaNames(cfg), ", "))
	}
	for _, n := range cfg.NVAs {
		if n.Name == to {
			return nil
		}
	}
	return usagef("--to %q: no such NVA in the config; use one of %s", to, strings.Join(nvaNames(cfg), ", "))
}

func nvaNames(cfg *config.Config) []string {
	var out []string
	for _, n := range cfg.NVAs {
		out = append(out, n.Name)
	}
	return out
}

// statusReport is the JSON of `nva-monitor status --json`.
type statusReport struct {
	Active       string                  `json:"active"`
	Split        bool                    `json:"split"`
	Resources    []daemon.ResourceStatus `json:"resources"`
	Probes       []probeStatus           `json:"probes"`
	Daemon       *daemon.Status          `json:"daemon,omitempty"`
	DaemonError  string                  `json:"daemonError,omitempty"`
	Shared       *sharedStatus           `json:"shared,omitempty"`
	LastFailover *daemon.FailoverRecord  `json:"lastFailover,omitempty"`
}

type probeStatus struct {
	NVA     string `json:"nva"`
	OK      bool   `json:"ok"`
	Failure string `json:"failure,omitempty"`
	Error   string `json:"error,omitempty"`
	Latency string `json:"latency"`
}

func cmdStatus(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs, path := flags("status", stderr)
	asJSON := fs.Bool("json", false, "print JSON")
	if err := parse(fs, args); err != nil {
		return err
	}
	cfg, err := load(*path)
	if err != nil {
		return err
	}
	eng, err := quietEngine(cfg, stderr)
	if err != nil {
		return err
	}
	obs, err := eng.Observe(ctx)
	if err != nil {
		return fmt.Errorf("read the managed resources: %w", err)
	}
	var rep statusReport
	rep.Active, rep.Split = obs.Active()
	rep.Resources = daemon.ResourcesOf(obs)
	round := probe.Once(ctx, daemon.Targets(cfg), cfg.Probe.Timeout.D())
	for _, r := range round.Results {
		rep.Probes = append(rep.Probes, probeStatus{NVA: r.NVA, OK: r.OK, Failure: string(r.Failure), Error: errText(r.Err), Latency: r.Latency.Round(time.Microsecond).String()})
	}
	if st, err := daemonStatus(ctx, cfg.Listen); err == nil {
		rep.Daemon = st
		rep.LastFailover = st.LastFailover
	} else {
		rep.DaemonError = err.Error()
	}
	rep.Shared = readShared(ctx, cfg, stderr)
	if rep.LastFailover == nil && rep.Shared != nil {
		if sh, err := daemon.NewShared(cfg, slogText(stderr)); err == nil && sh != nil {
			if st, err := sh.ReadState(ctx); err == nil && len(st.LastFailover) > 0 {
				var rec daemon.FailoverRecord
				if json.Unmarshal(st.LastFailover, &rec) == nil {
					rep.LastFailover = &rec
				}
			}
		}
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(rep)
	}
	active := rep.Active
	if active == "" {
		active = "(none: no managed resource points at an NVA)"
	}
	fmt.Fprintf(stdout, "Active NVA (from Azure): %s", active)
	if rep.Split {
		fmt.Fprint(stdout, "   SPLIT: resources disagree; the daemon repairs this toward the majority")
	}
	fmt.Fprintln(stdout)
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "\nNVA\tPROBE\tLATENCY\tDAEMON HEALTH")
	for _, p := range rep.Probes {
		res := "ok"
		if !p.OK {
			res = "FAILED (" + p.Failure + ")"
		}
		dh := "-"
		if rep.Daemon != nil && rep.Daemon.NVAs[p.NVA] != nil {
			dh = rep.Daemon.NVAs[p.NVA].Health
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", p.NVA, res, p.Latency, dh)
	}
	fmt.Fprintln(tw, "\nRESOURCE\tKIND\tVIA\tPOINTS AT")
	for _, r := range rep.Resources {
		at := strings.Join(r.PointsAt, ", ")
		if at == "" {
			at = "(nothing)"
		}
		if r.Mixed {
			at += "  MIXED next-hop roles"
		}
		if r.Err != "" {
			at = "UNREADABLE: " + r.Err
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", shortID(r.ID), r.Kind, r.Via, at)
	}
	_ = tw.Flush()
	for _, r := range rep.Resources {
		for _, u := range r.Unmatched {
			fmt.Fprintf(stdout, "UNMATCHED %s: %s\n", shortID(r.ID), u)
		}
	}
	if rep.Shared != nil {
		printShared(stdout, rep.Shared, nvaNames(cfg), cfg.ViewInterval.D())
	}
	fmt.Fprintln(stdout)
	switch {
	case rep.Daemon == nil && rep.LastFailover != nil:
		lf := rep.LastFailover
		fmt.Fprintf(stdout, "Daemon: not reachable at %s (%s)\nLast failover (shared state): %s -> %s (%s) decided %s, took %s\n",
			cfg.Listen, rep.DaemonError, orDash(lf.From), lf.To, lf.Reason, lf.Timeline.Decision.Format(time.RFC3339), orDash(lf.Timeline.Total))
	case rep.Daemon == nil:
		fmt.Fprintf(stdout, "Daemon: not reachable at %s (%s)\n", cfg.Listen, rep.DaemonError)
	case rep.LastFailover == nil:
		fmt.Fprintf(stdout, "Daemon %s (%s): active %s, no failover since it started\n", rep.Daemon.Instance, rep.Daemon.Version, rep.Daemon.Active)
	default:
		lf := rep.LastFailover
		fmt.Fprintf(stdout, "Daemon %s (%s): active %s\nLast failover: %s -> %s (%s) decided %s, took %s",
			rep.Daemon.Instance, rep.Daemon.Version, rep.Daemon.Active, orDash(lf.From), lf.To, lf.Reason,
			lf.Timeline.Decision.Format(time.RFC3339), lf.Timeline.Total)
		if lf.Error != "" {
			fmt.Fprintf(stdout, ", error: %s", lf.Error)
		}
		fmt.Fprintln(stdout)
	}
	return nil
}

// daemonStatus reads /status from a daemon on this host.
func daemonStatus(ctx context.Context, listen string) (*daemon.Status, error) {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	host := listen
	if strings.HasPrefix(host, "0.0.0.0:") || strings.HasPrefix(host, ":") {
		host = "127.0.0.1" + host[strings.LastIndex(host, ":"):]
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+host+"/status", nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET /status: %s", resp.Status)
	}
	var st daemon.Status
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		return nil, fmt.Errorf("decode /status: %w", err)
	}
	return &st, nil
}

func shortID(id string) string {
	if i := strings.LastIndex(id, "/"); i >= 0 {
		return id[i+1:]
	}
	return id
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

var errValidateFailed = errors.New("validation failed")
