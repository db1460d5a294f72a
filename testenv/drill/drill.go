package drill

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/hanva/hanva/monitor/config"
	"github.com/hanva/hanva/testenv/armsim"
	"github.com/hanva/hanva/testenv/azurite"
	"github.com/hanva/hanva/testenv/lab"
)

// Options configures Run. Zero values take the defaults noted.
type Options struct {
	// Scenarios to run, by name (Names lists them); empty runs them all.
	Scenarios []string
	// NVAs in the sample topology: 2 (default) or 3.
	NVAs int
	// Monitors: 2 or 3 (default 3).
	Monitors int
	// Latency is armsim's LRO latency: how long each accepted ARM write
	// stays Updating. Default 1s.
	Latency time.Duration
	// ProbeInterval is the monitors' probe.interval (failure threshold 3,
	// success threshold 2, timeout min(1s, interval)). Default 1s.
	ProbeInterval time.Duration
	// Quick runs only the short scenario of `make test`: one crash failover
	// with 2 monitors, 100ms latency, 200ms probes. It overrides Scenarios,
	// Monitors, Latency and ProbeInterval.
	Quick bool
	// Progress receives the running commentary; nil discards it.
	Progress io.Writer
	// WorkDir receives each scenario's configs and monitor logs. Default: a
	// new temporary directory (kept, its path is in the Report).
	WorkDir string
	// MonitorBin is a prebuilt nva-monitor; "" builds one from this module
	// into WorkDir (Race: with the race detector).
	MonitorBin string
	Race       bool
	// Stack builds the deployment to stand up; default lab.SampleStack.
	// StackName says where it comes from, for the report.
	Stack     func(lab.SampleOptions) (*lab.Stack, error)
	StackName string
}

// Report is the outcome of a drill.
type Report struct {
	Started  time.Time
	Duration time.Duration
	Params   []Param
	Results  []*Result
	WorkDir  string
}

// Param is one parameter of the drill, for the report.
type Param struct{ Name, Value string }

// Passed reports whether every scenario passed.
func (r *Report) Passed() bool {
	for _, res := range r.Results {
		if !res.Pass {
			return false
		}
	}
	return len(r.Results) > 0
}

// Result is one scenario's outcome.
type Result struct {
	Scenario    string
	Title       string
	Description string
	Pass        bool
	// Err is why the scenario could not run to its end (setup failed, a
	// wait timed out); its checks then say what was seen.
	Err      string
	Checks   []Check
	Timeline Timeline
	Duration time.Duration
	// Dir holds the scenario's monitor configs and logs.
	Dir string
}

// Check is one verified property of a scenario's outcome.
type Check struct {
	Name   string
	Pass   bool
	Detail string
}

// Defaults.
const (
	DefaultNVAs          = 2
	DefaultMonitors      = 3
	DefaultLatency       = time.Second
	DefaultProbeInterval = time.Second
)

func (o *Options) defaults() error {
	if o.Quick {
		o.Scenarios = []string{"crash"}
		o.Monitors = 2
		o.Latency = 100 * time.Millisecond
		o.ProbeInterval = 200 * time.Millisecond
	}
	if o.NVAs == 0 {
		o.NVAs = DefaultNVAs
	}
	if o.Monitors == 0 {
		o.Monitors = DefaultMonitors
	}
	if o.Latency == 0 {
		o.Latency = DefaultLatency
	}
	if o.ProbeInterval == 0 {
		o.ProbeInterval = DefaultProbeInterval
	}
	if o.Progress == nil {
		o.Progress = io.Discard
	}
	if o.Stack == nil {
		o.Stack = lab.SampleStack
		o.StackName = "the sample topology, written by hand (lab.SampleStack)"
	}
	var errs []error
	if o.NVAs < 2 || o.NVAs > 3 {
		errs = append(errs, fmt.Errorf("nvas: %d; want 2 or 3", o.NVAs))
	}
	if o.Monitors < 2 || o.Monitors > 3 {
		errs = append(errs, fmt.Errorf("monitors: %d; want 2 or 3 (the leader scenarios need a second monitor)", o.Monitors))
	}
	if o.Latency < 0 || o.Latency > time.Minute {
		errs = append(errs, fmt.Errorf("latency: %s; want 0 to 1m", o.Latency))
	}
	if o.ProbeInterval < 100*time.Millisecond || o.ProbeInterval > 10*time.Second {
		errs = append(errs, fmt.Errorf("probe interval: %s; want 100ms to 10s", o.ProbeInterval))
	}
	for _, s := range o.Scenarios {
		if find(s) == nil {
			errs = append(errs, fmt.Errorf("scenario %q: unknown; choose from %s", s, strings.Join(Names(), ", ")))
		}
	}
	return errors.Join(errs...)
}

// Run runs the drill: it builds the monitor, starts Azurite, then runs each
// scenario in a fresh environment (armsim, stand-ins, monitors; the lease
// container emptied) and checks it. An error means the drill could not run
// at all (bad options, no Azurite, the build failed); a scenario that fails
// is in the Report.
func Run(ctx context.Context, o Options) (*Report, error) {
	if err := o.defaults(); err != nil {
		return nil, fmt.Errorf("drill: %w", err)
	}
	rep := &Report{Started: time.Now(), WorkDir: o.WorkDir}
	defer func() { rep.Duration = time.Since(rep.Started) }()
	if rep.WorkDir == "" {
		dir, err := os.MkdirTemp("", "hanva-drill-")
		if err != nil {
			return nil, fmt.Errorf("drill: %w", err)
		}
		rep.WorkDir = dir
	}
	out := o.Progress
	fmt.Fprintf(out, "hanva failover drill: %d NVAs, %d monitors, ARM operation latency %s, probes every %s\n",
		o.NVAs, o.Monitors, o.Latency, o.ProbeInterval)
	fmt.Fprintf(out, "work directory (configs, monitor logs): %s\n", rep.WorkDir)
	fmt.Fprintf(out, "topology: %s\n", o.StackName)

	bin := o.MonitorBin
	if bin == "" {
		fmt.Fprintf(out, "building nva-monitor from this module ...\n")
		start := time.Now()
		var err error
		if bin, err = lab.BuildMonitor(rep.WorkDir, lab.BuildOptions{Race: o.Race}); err != nil {
			return nil, fmt.Errorf("drill: %w", err)
		}
		fmt.Fprintf(out, "built %s in %s\n", bin, since(start))
	}
	fmt.Fprintf(out, "starting Azurite (the Azure Storage emulator, for the leader lease) ...\n")
	start := time.Now()
	az, err := azurite.Start(azurite.Options{Dir: filepath.Join(rep.WorkDir, "azurite")})
	if err != nil {
		return nil, fmt.Errorf("drill: %w", err)
	}
	defer func() { _ = az.Stop() }()
	fmt.Fprintf(out, "Azurite serves %s (started in %s)\n", az.ServiceURL(), since(start))

	names := o.Scenarios
	if len(names) == 0 {
		names = Names()
	}
	stack, err := o.Stack(lab.SampleOptions{NVAs: o.NVAs, Monitors: o.Monitors})
	if err != nil {
		return nil, fmt.Errorf("drill: %w", err)
	}
	rep.Params = params(o, stack, names)
	for _, name := range names {
		if ctx.Err() != nil {
			break
		}
		sc := find(name)
		res := runScenario(ctx, o, sc, bin, az, rep.WorkDir)
		rep.Results = append(rep.Results, res)
	}
	if err := ctx.Err(); err != nil {
		return rep, fmt.Errorf("drill: interrupted: %w", err)
	}
	return rep, nil
}

func params(o Options, stack *lab.Stack, names []string) []Param {
	var nics, tables []string
	for _, n := range stack.Config.NVAs {
		nics = append(nics, n.Name)
	}
	for _, rt := range stack.Config.RouteTables {
		tables = append(tables, short(rt.ID))
	}
	ps := []Param{
		{"scenarios", strings.Join(names, ", ")},
		{"topology", orNone(o.StackName)},
		{"NVAs (preference order)", strings.Join(nics, ", ")},
		{"managed route tables", strings.Join(tables, ", ")},
		{"monitors", strings.Join(stack.Config.Monitors, ", ")},
		{"ARM operation latency (armsim)", o.Latency.String()},
		{"probe interval / thresholds", fmt.Sprintf("%s, down after 3 failures, up after 2 successes", o.ProbeInterval)},
		{"lease duration", leaseDuration(stack).String()},
	}
	return ps
}

func leaseDuration(s *lab.Stack) time.Duration {
	if d := s.Config.Lease.Duration.D(); d > 0 {
		return d
	}
	return 15 * time.Second
}

// runner runs one scenario in its environment and records what it did.
type runner struct {
	ctx     context.Context
	o       Options
	sc      *scenario
	env     *lab.Env
	out     io.Writer
	res     *Result
	settle  time.Duration
	origin  time.Time  // the first injection
	actions []action   // what the drill did, in order
	ends    []leaseEnd // when a monitor process stopped being able to act
	want    string     // the NVA every resource must end on
	spans   []*span    // conditions the drill created, while they lasted
	leader0 *lab.Monitor
}

// action is one thing the drill did to the system.
type action struct {
	at    time.Time
	label string
	nva   bool // done to an NVA: its probes and health changes follow
}

// span is a condition the drill created (an NVA down, a monitor paused).
type span struct {
	key, kind, label string
	start, end       time.Time
}

// begin opens a span at the last action.
func (r *runner) begin(key, kind, label string) {
	r.spans = append(r.spans, &span{key: key, kind: kind, label: label, start: r.actions[len(r.actions)-1].at})
}

// end closes the open span of key now.
func (r *runner) end(key string) {
	for _, s := range r.spans {
		if s.key == key && s.end.IsZero() {
			s.end = time.Now()
		}
	}
}

// leaseEnd is a moment from which a monitor may not write (it was killed or
// paused), until its log shows it acquired the lease again.
type leaseEnd struct {
	instance string
	at       time.Time
	why      string
}

func runScenario(ctx context.Context, o Options, sc *scenario, bin string, az *azurite.Azurite, workDir string) *Result {
	start := time.Now()
	res := &Result{Scenario: sc.name, Title: sc.title, Description: sc.what, Dir: filepath.Join(workDir, sc.name)}
	defer func() { res.Duration = time.Since(start) }()
	out := o.Progress
	fmt.Fprintf(out, "\n=== scenario %s: %s\n", sc.name, sc.title)
	r := &runner{ctx: ctx, o: o, sc: sc, out: out, res: res, settle: max(2*time.Second, 3*o.ProbeInterval)}
	fail := func(err error) *Result {
		res.Err = err.Error()
		res.Pass = false
		fmt.Fprintf(out, "FAIL %s: %v\n", sc.name, err)
		return res
	}
	if err := os.MkdirAll(res.Dir, 0o700); err != nil {
		return fail(err)
	}
	settings := lab.Settings{Probe: config.ProbeTiming{Interval: config.Duration(o.ProbeInterval)}}
	if sc.settings != nil {
		sc.settings(&settings)
	}
	stack, err := o.Stack(lab.SampleOptions{NVAs: o.NVAs, Monitors: o.Monitors, Settings: settings, Steering: sc.steering})
	if err != nil {
		return fail(err)
	}
	if len(sc.steering) > 0 {
		fmt.Fprintf(out, "steering: %s (%s)\n", strings.Join(sc.steering, ", "), describeManaged(stack.Config))
	}
	fmt.Fprintf(out, "starting armsim (ARM, %d resources seeded), %d NVA stand-ins and %d nva-monitor processes\n",
		len(stack.Resources), o.NVAs, o.Monitors)
	env, err := lab.Start(ctx, lab.Options{Stack: stack, MonitorBin: bin, Azurite: az, Dir: res.Dir, LROLatency: o.Latency,
		Tweak: func(c *config.Config) {
			if o.Quick {
				c.PollInterval = config.Duration(100 * time.Millisecond)
			}
		}})
	if err != nil {
		return fail(err)
	}
	r.env = env
	defer env.Close()
	for _, n := range env.NVAs {
		fmt.Fprintf(out, "  %s probe %s -> stand-in %s\n", n, probeOf(stack.Config, n), env.StandIns[n].Addr())
	}
	if err := r.converged(); err != nil {
		r.finish()
		return fail(err)
	}
	r.want = env.NVAs[1]
	runErr := sc.run(r)
	r.finish()
	if runErr != nil {
		res.Err = runErr.Error()
	}
	res.Pass = runErr == nil
	for _, c := range res.Checks {
		res.Pass = res.Pass && c.Pass
	}
	res.Duration = time.Since(start)
	printResult(out, res)
	return res
}

func probeOf(c config.Config, nva string) string {
	n, _ := c.NVA(nva)
	return n.Probe.Kind + " " + n.Probe.Address + n.Probe.Path
}

// converged starts the monitors and waits for the starting state: one
// leader, every NVA up in every monitor's view, Azure on the first NVA.
func (r *runner) converged() error {
	ctx, cancel := context.WithTimeout(r.ctx, 2*time.Minute)
	defer cancel()
	t0 := time.Now()
	if err := r.env.StartMonitors(ctx); err != nil {
		return fmt.Errorf("start monitors: %w", err)
	}
	leader, err := r.env.WaitLeader(ctx)
	if err != nil {
		return err
	}
	r.leader0 = leader
	st, _ := leader.Status(ctx)
	epoch := int64(0)
	if st != nil {
		epoch = st.Epoch
	}
	fmt.Fprintf(r.out, "monitors ready; %s leads (epoch %d)\n", leader.Name, epoch)
	err = lab.Poll(ctx, func() (bool, error) {
		for _, m := range r.env.Monitors {
			st, err := m.Status(ctx)
			if err != nil {
				return false, nil
			}
			for _, n := range r.env.NVAs {
				if st.NVAs[n] == nil || st.NVAs[n].Health != "up" {
					return false, nil
				}
			}
		}
		return true, nil
	})
	if err != nil {
		return fmt.Errorf("wait until every monitor sees every NVA up: %w", err)
	}
	p, err := r.env.Placement()
	if err != nil {
		return err
	}
	if on, ok := p.On(); !ok || on != r.env.NVAs[0] {
		return fmt.Errorf("starting state: Azure is not all on %s: %v", r.env.NVAs[0], describePlacement(r.env, p))
	}
	if n := len(moves(r.env.Sim.Events(0), time.Time{})); n != 0 {
		return fmt.Errorf("starting state: %d ARM writes before any failure", n)
	}
	fmt.Fprintf(r.out, "converged in %s: every NVA up, Azure on %s\n", since(t0), r.env.NVAs[0])
	return nil
}

// do records an action the drill takes on the system and runs it.
func (r *runner) do(label string, f func() error) error { return r.act(label, false, f) }

// doNVA records an action on an NVA (its probes and health changes follow
// in the timeline) and runs it.
func (r *runner) doNVA(label string, f func() error) error { return r.act(label, true, f) }

func (r *runner) act(label string, nva bool, f func() error) error {
	at := time.Now()
	if err := f(); err != nil {
		return fmt.Errorf("%s: %w", label, err)
	}
	if r.origin.IsZero() {
		r.origin = at
	}
	r.actions = append(r.actions, action{at: at, label: label, nva: nva})
	fmt.Fprintf(r.out, "  [%s] %s\n", r.offset(at), label)
	return nil
}

func (r *runner) offset(t time.Time) string {
	if r.origin.IsZero() {
		return "+0s"
	}
	return fmt.Sprintf("%+.1fs", t.Sub(r.origin).Seconds())
}

// waitOn waits (with the progress line each second) until every managed
// resource points at nva and no write is in flight.
func (r *runner) waitOn(nva string, within time.Duration) error {
	ctx, cancel := context.WithTimeout(r.ctx, within)
	defer cancel()
	stop := r.progress()
	defer stop()
	err := lab.Poll(ctx, func() (bool, error) {
		p, err := r.env.Placement()
		if err != nil {
			return false, err
		}
		on, ok := p.On()
		return ok && on == nva && inFlight(r.env.Sim.Events(0)) == 0, nil
	})
	if err != nil {
		p, _ := r.env.Placement()
		return fmt.Errorf("wait %s for every resource on %s: %w (now: %s)", within, nva, err, describePlacement(r.env, p))
	}
	fmt.Fprintf(r.out, "  [%s] every managed resource on %s\n", r.offset(time.Now()), nva)
	return nil
}

// watch shows progress for d, then returns.
func (r *runner) watch(d time.Duration) {
	stop := r.progress()
	defer stop()
	select {
	case <-r.ctx.Done():
	case <-time.After(d):
	}
}

// waitFor waits for cond, with progress.
func (r *runner) waitFor(what string, within time.Duration, cond func() bool) error {
	ctx, cancel := context.WithTimeout(r.ctx, within)
	defer cancel()
	stop := r.progress()
	defer stop()
	if err := lab.Poll(ctx, func() (bool, error) { return cond(), nil }); err != nil {
		return fmt.Errorf("wait %s for %s: %w", within, what, err)
	}
	return nil
}

// finish collects the logs and events and builds the timeline and the
// common checks.
func (r *runner) finish() {
	if r.env == nil {
		return
	}
	logs := map[string][]lab.LogLine{}
	for _, m := range r.env.Monitors {
		logs[m.Name] = m.Logs()
	}
	events := r.env.Sim.Events(0)
	if !r.origin.IsZero() {
		r.res.Timeline = buildTimeline(r.env, r.origin, r.actions, logs, events, r.env.NVAs[0])
		now := time.Now()
		for _, s := range r.spans {
			sp := Span{Label: s.label, Kind: s.kind, Start: s.start.Sub(r.origin), End: s.end.Sub(r.origin)}
			if s.end.IsZero() {
				sp.End, sp.Open = now.Sub(r.origin), true
			}
			r.res.Timeline.Spans = append(r.res.Timeline.Spans, sp)
		}
	}
	if r.want == "" {
		return
	}
	checks := []Check{r.placementCheck()}
	var instances []string
	for _, m := range r.env.Monitors {
		instances = append(instances, m.Name)
	}
	checks = append(checks, leaseWriteCheck(instances, logs, events, r.ends))
	checks = append(checks, r.oneLeaderCheck())
	r.res.Checks = append(checks, r.res.Checks...)
}

func (r *runner) check(name string, pass bool, format string, args ...any) {
	r.res.Checks = append(r.res.Checks, Check{Name: name, Pass: pass, Detail: fmt.Sprintf(format, args...)})
}

// placementCheck: every managed resource (route tables, public IPs,
// floating IPs, backend pools, DNS records) on the wanted NVA, which is
// healthy.
func (r *runner) placementCheck() Check {
	c := Check{Name: fmt.Sprintf("every managed resource on one healthy NVA (%s)", r.want)}
	p, err := r.env.Placement()
	if err != nil {
		c.Detail = err.Error()
		return c
	}
	on, ok := p.On()
	state := r.env.StandIns[r.want].State()
	c.Pass = ok && on == r.want && state == lab.StandInUp
	c.Detail = describePlacement(r.env, p) + fmt.Sprintf("; %s's probe port: %s", r.want, state)
	return c
}

func (r *runner) oneLeaderCheck() Check {
	ctx, cancel := context.WithTimeout(r.ctx, 10*time.Second)
	defer cancel()
	var names []string
	for _, m := range r.env.Leaders(ctx) {
		names = append(names, m.Name)
	}
	return Check{Name: "exactly one monitor leads at the end", Pass: len(names) == 1,
		Detail: fmt.Sprintf("hanva_is_leader 1 on: %s", listOr(names, "none"))}
}

func describePlacement(env *lab.Env, p lab.Placement) string {
	var parts []string
	for _, rt := range env.Stack.Config.RouteTables {
		parts = append(parts, fmt.Sprintf("route table %s -> %s", short(rt.ID), orNone(p.RouteTables[rt.ID])))
	}
	for _, pip := range env.Stack.Config.PublicIPs {
		parts = append(parts, fmt.Sprintf("public IP %s -> %s", short(pip.ID), orNone(p.PublicIPs[pip.ID])))
	}
	for _, f := range env.Stack.Config.FloatingIPs {
		parts = append(parts, fmt.Sprintf("floating IP %s -> %s", f.IP, orNone(p.FloatingIPs[f.IP])))
	}
	for _, bp := range env.Stack.Config.BackendPools {
		parts = append(parts, fmt.Sprintf("backend pool %s -> %s", poolName(bp.ID), orNone(p.BackendPools[bp.ID])))
	}
	for _, d := range env.Stack.Config.DNSRecords {
		parts = append(parts, fmt.Sprintf("DNS record %s -> %s", recordName(d.ID), orNone(p.DNSRecords[d.ID])))
	}
	return strings.Join(parts, ", ")
}

// describeManaged lists what a config manages, by kind.
func describeManaged(c config.Config) string {
	var parts []string
	add := func(n int, what string) {
		if n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n, what))
		}
	}
	add(len(c.RouteTables), "route table(s)")
	add(len(c.PublicIPs), "public IP(s)")
	add(len(c.FloatingIPs), "floating IP(s)")
	add(len(c.BackendPools), "backend pool(s)")
	add(len(c.DNSRecords), "DNS record(s)")
	return "the monitors manage " + listOr(parts, "nothing")
}

// poolName is "pool of lb" for a backend pool ID.
func poolName(id string) string {
	if i := strings.Index(strings.ToLower(id), "/backendaddresspools/"); i >= 0 {
		return short(id) + " of " + short(id[:i])
	}
	return short(id)
}

// recordName is "name.zone (A)" for a Private DNS record set ID
// (.../privateDnsZones/{zone}/{type}/{name}).
func recordName(id string) string {
	segs := strings.Split(id, "/")
	if n := len(segs); n >= 3 {
		return segs[n-1] + "." + segs[n-3] + " (" + segs[n-2] + ")"
	}
	return id
}

// writes returns the accepted ARM writes at or after a time.
func writes(events []armsim.Event, after time.Time) []armsim.Event {
	var out []armsim.Event
	for _, ev := range events {
		if ev.Kind == armsim.KindWriteAccepted && !ev.Time.Before(after) {
			out = append(out, ev)
		}
	}
	return out
}

// moves returns the accepted ARM writes at or after a time that change more
// than the epoch tag: a new leader stamps its epoch on every managed route
// table and NVA NIC once (docs/cluster.md, fencing), which moves no traffic.
func moves(events []armsim.Event, after time.Time) []armsim.Event {
	var out []armsim.Event
	for _, ev := range writes(events, after) {
		if !stampOnly(ev) {
			out = append(out, ev)
		}
	}
	return out
}

// stampOnly reports whether a write changed nothing but the epoch
// (config.EpochTag, "hanva-epoch"): a tag, or on a Private DNS record set,
// which carries metadata rather than tags, a metadata key.
func stampOnly(ev armsim.Event) bool {
	if ev.TagOnly(epochTag) {
		return true
	}
	if len(ev.Changes) == 0 {
		return false
	}
	for _, c := range ev.Changes {
		l := strings.ToLower(c)
		if !strings.HasPrefix(l, `tag "`+epochTag+`"`) && !strings.HasPrefix(l, `metadata "`+epochTag+`"`) {
			return false
		}
	}
	return true
}

// epochTag is the epoch's tag or metadata key, lower-cased.
var epochTag = strings.ToLower(config.EpochTag)

// inFlight counts accepted writes whose operation has not ended.
func inFlight(events []armsim.Event) int {
	n := 0
	for _, ev := range events {
		switch ev.Kind {
		case armsim.KindWriteAccepted:
			n++
		case armsim.KindWriteSucceeded, armsim.KindWriteFailed:
			n--
		}
	}
	return n
}

// instanceOf returns the monitor instance a User-Agent names:
// "hanva-nva-monitor/<version> (<instance>) azsdk-go/...".
func instanceOf(userAgent string) string {
	i := strings.Index(userAgent, "(")
	if i < 0 {
		return ""
	}
	j := strings.Index(userAgent[i:], ")")
	if j < 0 {
		return ""
	}
	return userAgent[i+1 : i+j]
}

func short(id string) string {
	if i := strings.LastIndex(id, "/"); i >= 0 {
		return id[i+1:]
	}
	return id
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}

func listOr(s []string, none string) string {
	if len(s) == 0 {
		return none
	}
	return strings.Join(s, ", ")
}

func since(t time.Time) time.Duration { return time.Since(t).Round(10 * time.Millisecond) }

func printResult(out io.Writer, res *Result) {
	fmt.Fprint(out, res.Timeline.Text())
	for _, c := range res.Checks {
		mark := "ok  "
		if !c.Pass {
			mark = "FAIL"
		}
		fmt.Fprintf(out, "  %s %s: %s\n", mark, c.Name, c.Detail)
	}
	verdict := "PASS"
	if !res.Pass {
		verdict = "FAIL"
	}
	total := ""
	if res.Timeline.Total > 0 {
		total = fmt.Sprintf(", failover %s", fmtDur(res.Timeline.Total))
	}
	fmt.Fprintf(out, "%s %s (%s%s)\n", verdict, res.Scenario, fmtDur(res.Duration), total)
	if res.Err != "" {
		fmt.Fprintf(out, "  error: %s\n", res.Err)
	}
}

// Validate checks the options as Run would, without running anything.
func (o Options) Validate() error {
	c := o
	return c.defaults()
}

// Summary is a few lines for a terminal: one per scenario and a verdict.
func (r *Report) Summary() string {
	var b strings.Builder
	b.WriteString("\nsummary:\n")
	passed := 0
	for _, res := range r.Results {
		verdict := "FAIL"
		if res.Pass {
			verdict = "PASS"
			passed++
		}
		failover := "-"
		if res.Timeline.Total > 0 {
			failover = fmtDur(res.Timeline.Total)
		}
		fmt.Fprintf(&b, "  %s  %-20s failure to converged %-8s (scenario %s)\n", verdict, res.Scenario, failover, fmtDur(res.Duration))
	}
	fmt.Fprintf(&b, "%d of %d scenario(s) passed\n", passed, len(r.Results))
	return b.String()
}
