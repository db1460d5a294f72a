package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"net/netip"
	"os"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/hanva/hanva/monitor/config"
	"github.com/hanva/hanva/monitor/daemon"
	"github.com/hanva/hanva/monitor/internal/act"
)

// multiFlag collects a flag given several times.
type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(s string) error { *m = append(*m, s); return nil }

// importOptions are the flags of import-hanva.
type importOptions struct {
	file, out, leaseURL string
	monitors, instance  string // comma-separated instance names; this config's one
	via, probes         multiFlag
	resolve             bool
	// Azure connection for --resolve.
	cloud, armEndpoint, caFile, credential, tokenFile string
}

// cmdImportHANVA turns mspnp/ha-nva's nvadaemon-remote.json into a hanva
// config: the YAML on stdout (or --out), what it could not map on stderr.
func cmdImportHANVA(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("import-hanva", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o importOptions
	fs.StringVar(&o.out, "out", "", "write the config to this file (mode 0600) instead of stdout")
	fs.StringVar(&o.leaseURL, "lease-url", "", "the leader blob's URL, https://{account}.blob.core.windows.net/{container}/{blob} (required: hanva's lease replaces ZooKeeper)")
	fs.StringVar(&o.monitors, "monitors", "", "the instance names of the monitor VMs that will share the lease, comma-separated (like hanva-mon-1,hanva-mon-2,hanva-mon-3): becomes monitors; each VM runs with instance set to its own name, or its host name")
	fs.StringVar(&o.instance, "instance", "", "with --monitors: the one of them this config is for (becomes instance); import once per monitor VM")
	fs.Var(&o.via, "via", "the NIC name (networkInterfaces[].name, like nic2) whose IP a route table's routes use: NAME for every table, or TABLE=NAME for one (repeatable)")
	fs.Var(&o.probes, "probe", "NVA=IP: the private IP of the NVA's probeNetworkInterface; NVAs are named after their NICs (nva1-nic1, nva1-nic2: nva1) when unambiguous, else nva-1, nva-2, ... (repeatable; --resolve reads it instead)")
	fs.BoolVar(&o.resolve, "resolve", false, "read the route tables and the NVAs' NICs from Azure to learn each table's NIC role and each probe IP")
	fs.StringVar(&o.cloud, "cloud", "", "with --resolve: AzurePublic (default), AzureUSGovernment or AzureChina; also written to the config")
	fs.StringVar(&o.armEndpoint, "arm-endpoint", "", "with --resolve: Resource Manager endpoint override (Azure Stack Hub, emulators)")
	fs.StringVar(&o.caFile, "ca-file", "", "with --resolve: extra PEM CA bundle trusted for ARM")
	fs.StringVar(&o.credential, "credential", config.CredentialAzureCLI, "with --resolve: azureCLI, managedIdentity, environment or staticTokenFile")
	fs.StringVar(&o.tokenFile, "token-file", "", "with --resolve and --credential staticTokenFile: the bearer token file")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return usageError{err}
	}
	// The file may come before or after the flags.
	if fs.NArg() > 0 {
		o.file = fs.Arg(0)
		if err := fs.Parse(fs.Args()[1:]); err != nil {
			return usageError{err}
		}
		if fs.NArg() > 0 {
			return usagef("unexpected argument %q: give one nvadaemon-remote.json (see nva-monitor import-hanva --help)", fs.Arg(0))
		}
	}
	if o.file == "" {
		return usagef("name mspnp/ha-nva's daemon configuration: nva-monitor import-hanva [flags] nvadaemon-remote.json")
	}
	data, err := os.ReadFile(o.file)
	if err != nil {
		return usagef("read %s: %w", o.file, err)
	}
	f, r, err := parseHAFile(data)
	if err == nil {
		var cfg *config.Config
		cfg, err = importConfig(ctx, f, r, o)
		if err == nil {
			err = writeImported(cfg, r, o, stdout)
		}
	}
	for _, n := range r.notes {
		fmt.Fprintln(stderr, redact(n, r.secrets))
	}
	if err != nil {
		// Only key paths, numbers and IDs make up the messages; redact
		// anyway, so a secret a user put where an ID belongs stays hidden.
		return redactedError{err, r.secrets}
	}
	return nil
}

// redactedError hides the import file's secrets from an error's text and
// keeps its kind (usage or runtime) for the exit code.
type redactedError struct {
	err     error
	secrets []string
}

func (e redactedError) Error() string { return redact(e.err.Error(), e.secrets) }
func (e redactedError) Unwrap() error { return e.err }

// importConfig maps the file onto a hanva config. Notes about mapped
// values that changed go to r.notes.
func importConfig(ctx context.Context, f *haFile, r *haReader, o importOptions) (*config.Config, error) {
	var problems []string
	if o.leaseURL == "" {
		problems = append(problems, "--lease-url is required: hanva elects the monitor that acts with an Azure Storage blob lease "+
			"instead of ZooKeeper; pass the leader blob's URL, like --lease-url https://sthanva.blob.core.windows.net/hanva/leader")
	}
	switch {
	case o.monitors != "" && o.instance == "":
		problems = append(problems, "--monitors needs --instance: a monitor's config names the monitor it is for; pass --instance with one of the --monitors names, and import once per monitor VM")
	case o.monitors == "" && o.instance != "":
		problems = append(problems, "--instance is only for a config with --monitors; pass --monitors with every monitor VM's name, or leave --instance out")
	}
	if len(f.NVAs) < 2 {
		problems = append(problems, fmt.Sprintf("%s.nvas: has %d NVA(s); hanva needs at least two to fail over between", haSettingsPath, len(f.NVAs)))
	}
	names := importedNames(f.NVAs)
	// The file's NIC names are roles shared by the NVAs.
	roleNames := []string{}
	for i, n := range f.NVAs {
		seen := map[string]bool{}
		for _, nic := range n.NICs {
			if seen[nic.Name] {
				problems = append(problems, fmt.Sprintf("%s.nvas[%d].networkInterfaces: name %q is used twice; each NIC of an NVA needs its own name (its role)", haSettingsPath, i, nic.Name))
			}
			seen[nic.Name] = true
			if !slices.Contains(roleNames, nic.Name) {
				roleNames = append(roleNames, nic.Name)
			}
		}
		if !slices.ContainsFunc(n.NICs, func(nic haNamedID) bool { return strings.EqualFold(nic.ID, n.ProbeNIC) }) {
			problems = append(problems, fmt.Sprintf("%s.nvas[%d].probeNetworkInterface: is not one of this NVA's networkInterfaces[].id", haSettingsPath, i))
		}
	}
	vias, probeIPs, flagProblems := parseImportFlags(o, f, names, roleNames)
	problems = append(problems, flagProblems...)
	if len(problems) > 0 {
		return nil, problemsError(problems)
	}

	if o.resolve {
		if err := resolveFromAzure(ctx, f, names, o, vias, probeIPs, r); err != nil {
			return nil, err
		}
	}
	for _, id := range f.RouteTables {
		if vias[strings.ToLower(id)] == "" {
			problems = append(problems, fmt.Sprintf("route table %s: the file does not say which NIC its routes use; "+
				"pass --resolve to read it from Azure, or --via %s=NAME (NAME one of %s; --via NAME for every table)",
				lastSegment(id), lastSegment(id), strings.Join(roleNames, ", ")))
		}
	}
	for i, n := range f.NVAs {
		if _, ok := probeIPs[names[i]]; !ok {
			problems = append(problems, fmt.Sprintf("%s (%s.nvas[%d]): the file names the probed NIC %s but not its IP; "+
				"pass --resolve to read it from Azure, or --probe %s=IP", names[i], haSettingsPath, i, lastSegment(n.ProbeNIC), names[i]))
		}
	}
	if len(problems) > 0 {
		return nil, problemsError(problems)
	}

	// Roles: the public IPs' NIC name becomes external, the route tables'
	// internal, when each is a single name; other names stay as they are.
	rename := map[string]string{}
	pipNames := uniq(f.PublicIPs, func(p haNamedID) string { return p.Name })
	tableNames := uniq(f.RouteTables, func(id string) string { return vias[strings.ToLower(id)] })
	free := func(to string) bool { return !slices.Contains(roleNames, to) }
	if len(pipNames) == 1 && free("external") {
		rename[pipNames[0]] = "external"
	}
	if len(tableNames) == 1 && rename[tableNames[0]] == "" && free("internal") {
		rename[tableNames[0]] = "internal"
	}
	role := func(name string) string {
		if to := rename[name]; to != "" {
			return to
		}
		return name
	}
	for _, from := range slices.Sorted(maps.Keys(rename)) {
		r.notes = append(r.notes, fmt.Sprintf("MAPPED      networkInterfaces[].name %s: is NIC role %s", from, rename[from]))
	}

	cfg := &config.Config{
		Cloud: o.cloud,
		Lease: config.Lease{Kind: config.LeaseBlob, URL: o.leaseURL},
	}
	if o.monitors != "" {
		for _, m := range strings.Split(o.monitors, ",") {
			cfg.Monitors = append(cfg.Monitors, strings.TrimSpace(m))
		}
		cfg.Instance = o.instance
		r.notes = append(r.notes, fmt.Sprintf("MAPPED      --monitors: monitors %s, and --instance: instance %s; import once more with each other --instance for the other monitor VMs",
			strings.Join(cfg.Monitors, ", "), o.instance))
	}
	cfg.Probe = importProbe(f, r)
	for i, n := range f.NVAs {
		nics := map[string]string{}
		for _, nic := range n.NICs {
			nics[role(nic.Name)] = nic.ID
		}
		r.notes = append(r.notes, fmt.Sprintf("MAPPED      %s.nvas[%d]: is NVA %s", haSettingsPath, i, names[i]))
		cfg.NVAs = append(cfg.NVAs, config.NVA{
			Name:  names[i],
			Probe: config.Probe{Address: netip.AddrPortFrom(probeIPs[names[i]], uint16(n.ProbePort)).String(), Kind: config.ProbeTCP},
			NICs:  nics,
		})
	}
	for _, id := range f.RouteTables {
		cfg.RouteTables = append(cfg.RouteTables, config.RouteTable{ID: id, Via: role(vias[strings.ToLower(id)])})
	}
	for _, p := range f.PublicIPs {
		cfg.PublicIPs = append(cfg.PublicIPs, config.PublicIP{ID: p.ID, Via: role(p.Name)})
	}
	checkSubscription(f, cfg, r)
	return cfg, nil
}

// importProbe maps the probe keys, mspnp/ha-nva's defaults for absent ones.
// A value hanva's validation would refuse is reported and left out, so
// hanva's default applies.
func importProbe(f *haFile, r *haReader) config.ProbeTiming {
	get := func(n haNumber, def int64) int64 {
		if n.Set {
			return n.Value
		}
		return def
	}
	var p config.ProbeTiming
	key := func(k string) string { return haSettingsPath + "." + k }
	if v := get(f.Failures, haDefaultFailures); v >= 1 {
		p.FailureThreshold = int(v)
	} else {
		r.notes = append(r.notes, fmt.Sprintf("DEFAULTED   %s: %d is below hanva's minimum of 1 for probe.failureThreshold; "+
			"hanva's default %d is used instead, set probe.failureThreshold to what you want", key("numberOfFailuresThreshold"), v, config.DefaultFailureThreshold))
	}
	iv := get(f.IntervalMS, haDefaultIntervalMS)
	if iv >= 1 {
		p.Interval = config.Duration(time.Duration(iv) * time.Millisecond)
		if !f.IntervalMS.Set {
			r.notes = append(r.notes, fmt.Sprintf("MAPPED      %s: absent, so mspnp/ha-nva's default %dms is kept as probe.interval %s",
				key("probePollingInterval"), haDefaultIntervalMS, p.Interval.D()))
		}
	} else {
		r.notes = append(r.notes, fmt.Sprintf("DEFAULTED   %s: %dms must be greater than zero for probe.interval; hanva's default %s is used instead",
			key("probePollingInterval"), iv, config.DefaultProbeInterval))
	}
	interval := p.Interval.D()
	if interval == 0 {
		interval = config.DefaultProbeInterval
	}
	to := get(f.TimeoutMS, haDefaultTimeoutMS)
	absent := ""
	if !f.TimeoutMS.Set {
		absent = fmt.Sprintf(" (absent: mspnp/ha-nva's default %dms)", haDefaultTimeoutMS)
	}
	switch timeout := time.Duration(to) * time.Millisecond; {
	case to < 1:
		r.notes = append(r.notes, fmt.Sprintf("DEFAULTED   %s: %dms must be greater than zero for probe.timeout; hanva's default (1s, or the interval if shorter) is used instead",
			key("probeConnectTimeout"), to))
	case timeout > interval:
		r.notes = append(r.notes, fmt.Sprintf("DEFAULTED   %s: %s%s is longer than probe.interval %s, and hanva ends a probe before the next round starts; "+
			"hanva's default (1s, or the interval if shorter) is used instead: set probe.timeout up to the interval if you need longer",
			key("probeConnectTimeout"), timeout, absent, interval))
	default:
		p.Timeout = config.Duration(timeout)
	}
	return p
}

// checkSubscription notes when settings.azure.subscriptionId differs from
// the subscription in the resource IDs: hanva takes it from the IDs.
func checkSubscription(f *haFile, cfg *config.Config, r *haReader) {
	if f.Subscription == "" {
		return
	}
	for _, n := range cfg.NVAs {
		for _, id := range n.NICs {
			if rid, err := config.ParseResourceID(id); err == nil && !strings.EqualFold(rid.Subscription, f.Subscription) {
				r.notes = append(r.notes, fmt.Sprintf("WARNING     %s.azure.subscriptionId: differs from the subscription %s in NIC %s; hanva uses each resource ID's own subscription",
					haSettingsPath, rid.Subscription, lastSegment(id)))
				return
			}
		}
	}
}

// parseImportFlags reads --via and --probe, and returns the problems with
// them, one per flag. vias maps a lowercased route
// table ID to the file's NIC name; probeIPs an NVA name to its probe IP.
func parseImportFlags(o importOptions, f *haFile, names, roleNames []string) (map[string]string, map[string]netip.Addr, []string) {
	vias := map[string]string{}
	var problems []string
	checkName := func(flagValue, name string) bool {
		if slices.Contains(roleNames, name) {
			return true
		}
		problems = append(problems, fmt.Sprintf("--via %s: %q is not a networkInterfaces[].name of the file; use one of %s", flagValue, name, strings.Join(roleNames, ", ")))
		return false
	}
	for _, v := range o.via {
		table, name, ok := strings.Cut(v, "=")
		if !ok {
			if checkName(v, v) {
				for _, id := range f.RouteTables {
					if vias[strings.ToLower(id)] == "" {
						vias[strings.ToLower(id)] = v
					}
				}
			}
			continue
		}
		var match []string
		for _, id := range f.RouteTables {
			if strings.EqualFold(lastSegment(id), table) || strings.EqualFold(id, table) {
				match = append(match, id)
			}
		}
		switch {
		case len(match) == 0:
			problems = append(problems, fmt.Sprintf("--via %s: no route table %q in %s.routeTables", v, table, haSettingsPath))
		case len(match) > 1:
			problems = append(problems, fmt.Sprintf("--via %s: several route tables are named %q; give the full resource ID before =", v, table))
		case checkName(v, name):
			vias[strings.ToLower(match[0])] = name // TABLE=NAME wins over NAME for all
		}
	}
	probeIPs := map[string]netip.Addr{}
	for _, v := range o.probes {
		name, ip, ok := strings.Cut(v, "=")
		addr, err := netip.ParseAddr(ip)
		switch {
		case !ok || err != nil:
			problems = append(problems, fmt.Sprintf("--probe %s: want NVA=IP, like --probe nva-1=10.0.1.4", v))
		case !slices.Contains(names, name):
			problems = append(problems, fmt.Sprintf("--probe %s: no NVA %q; the imported NVAs are %s, in the file's order", v, name, strings.Join(names, ", ")))
		default:
			probeIPs[name] = addr
		}
	}
	return vias, probeIPs, problems
}

// resolveFromAzure reads each route table and each NVA NIC with act's
// reader (Observe, which writes nothing) and takes, for each table without
// a --via, the NIC name its appliance routes point at, and for each NVA
// without a --probe, the primary private IP of its probeNetworkInterface.
func resolveFromAzure(ctx context.Context, f *haFile, names []string, o importOptions, vias map[string]string, probeIPs map[string]netip.Addr, r *haReader) error {
	if len(f.NVAs) == 0 || len(f.NVAs[0].NICs) == 0 {
		return nil
	}
	cfg := &config.Config{
		Instance:    "import-hanva",
		Cloud:       o.cloud,
		ARMEndpoint: o.armEndpoint,
		CAFile:      o.caFile,
		Credential:  config.Credential{Kind: o.credential, TokenFile: o.tokenFile},
	}
	opts, cred, err := daemon.Azure(cfg, nil)
	if err != nil {
		return usagef("set up azure clients for --resolve: %w", err)
	}
	var topo act.Topology
	for i, n := range f.NVAs {
		nics := map[string]string{}
		for _, nic := range n.NICs {
			nics[nic.Name] = nic.ID
		}
		topo.NVAs = append(topo.NVAs, act.NVA{Name: names[i], NICs: nics})
	}
	// Observe classifies each table's routes by the NICs' roles whatever
	// the table's Via; any name does for reading.
	for _, id := range f.RouteTables {
		topo.RouteTables = append(topo.RouteTables, act.Managed{ID: id, Via: f.NVAs[0].NICs[0].Name})
	}
	eng, err := act.New(topo, cred, opts, act.Options{Logger: slogText(io.Discard), OperationTimeout: 2 * time.Minute})
	if err != nil {
		return usagef("--resolve: %w", err)
	}
	obs, err := eng.Observe(ctx)
	if err != nil {
		return fmt.Errorf("--resolve: read the route tables and NICs from Azure: %w", err)
	}
	var problems []string
	for _, rt := range obs.RouteTables {
		key := strings.ToLower(rt.ID)
		switch {
		case rt.Mixed:
			problems = append(problems, fmt.Sprintf("route table %s: its routes point at NICs named %s; hanva moves each table's routes over one NIC role: "+
				"split the table, or pass --via %s=NAME to manage only the routes via NAME", lastSegment(rt.ID), strings.Join(rt.Roles, " and "), lastSegment(rt.ID)))
		case len(rt.Roles) == 0 && vias[key] == "":
			problems = append(problems, fmt.Sprintf("route table %s: no route points at an NVA NIC, so its role cannot be read; pass --via %s=NAME",
				lastSegment(rt.ID), lastSegment(rt.ID)))
		case len(rt.Roles) == 1 && vias[key] == "":
			vias[key] = rt.Roles[0]
		case len(rt.Roles) == 1 && vias[key] != rt.Roles[0]:
			r.notes = append(r.notes, fmt.Sprintf("WARNING     route table %s: --via says %s but its routes point at the NICs named %s; kept %s as given",
				lastSegment(rt.ID), vias[key], rt.Roles[0], vias[key]))
		}
	}
	for i, n := range f.NVAs {
		if _, ok := probeIPs[names[i]]; ok {
			continue
		}
		for id, st := range obs.NICs {
			if !strings.EqualFold(id, n.ProbeNIC) {
				continue
			}
			addr, err := netip.ParseAddr(st.PrivateIP)
			if !st.Exists || err != nil {
				problems = append(problems, fmt.Sprintf("%s: its probeNetworkInterface %s has no primary private IP in Azure; pass --probe %s=IP",
					names[i], lastSegment(n.ProbeNIC), names[i]))
				continue
			}
			probeIPs[names[i]] = addr
		}
	}
	if len(problems) > 0 {
		return problemsError(problems)
	}
	return nil
}

// problemsError is a usage error listing each problem on its own line.
func problemsError(problems []string) error {
	if len(problems) == 1 {
		return usagef("%s", problems[0])
	}
	return usagef("%d problems:\n  %s", len(problems), strings.Join(problems, "\n  "))
}

// writeImported checks the config with monitor/config's own Parse (which
// validates) and writes it.
func writeImported(cfg *config.Config, r *haReader, o importOptions, stdout io.Writer) error {
	b, err := cfg.Marshal()
	if err != nil {
		return err
	}
	if _, err := config.Parse(b); err != nil {
		return fmt.Errorf("the imported config does not validate; fix the file or the flags: %w", err)
	}
	for _, s := range r.secrets {
		if len(s) >= 4 && strings.Contains(string(b), s) {
			return errors.New("refusing to write the config: it would contain a value of the service principal's secrets; report this as a bug")
		}
	}
	header := "# Imported from mspnp/ha-nva's " + lastSegment(o.file) + " by nva-monitor import-hanva.\n" +
		"# Check it with `nva-monitor validate`; see docs/operations.md#migrating-from-mspnpha-nva.\n"
	out := append([]byte(header), b...)
	if o.out == "" {
		_, err := stdout.Write(out)
		return err
	}
	fh, err := os.OpenFile(o.out, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return usagef("write --out: %w", err)
	}
	if err := fh.Chmod(0o600); err != nil {
		fh.Close()
		return fmt.Errorf("write --out: %w", err)
	}
	if _, err := fh.Write(out); err != nil {
		fh.Close()
		return fmt.Errorf("write --out: %w", err)
	}
	return fh.Close()
}

func lastSegment(s string) string {
	s = strings.TrimRight(s, "/\\")
	if i := strings.LastIndexAny(s, "/\\"); i >= 0 {
		return s[i+1:]
	}
	return s
}

func uniq[T any](list []T, key func(T) string) []string {
	var out []string
	for _, e := range list {
		if k := key(e); k != "" && !slices.Contains(out, k) {
			out = append(out, k)
		}
	}
	return out
}

// nvaNameRE is hanva's rule for an NVA name (monitor/config's validation).
var nvaNameRE = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$`)

// importedNames names the NVAs after their NICs when that is unambiguous: the
// part before the last "-" or "_" of the NIC names, when all NICs of an NVA
// share it (nva1-nic1 and nva1-nic2: nva1), it is a valid NVA name, and the
// NVAs' names all differ (ignoring case). Otherwise nva-1, nva-2, ... in the
// file's order.
func importedNames(nvas []haNVA) []string {
	names := make([]string, len(nvas))
	seen := map[string]bool{}
	derived := true
	for i, n := range nvas {
		prefix := ""
		for j, nic := range n.NICs {
			base := lastSegment(nic.ID)
			k := strings.LastIndexAny(base, "-_")
			if k <= 0 || (j > 0 && !strings.EqualFold(base[:k], prefix)) {
				prefix = ""
				break
			}
			prefix = base[:k]
		}
		if prefix == "" || !nvaNameRE.MatchString(prefix) || seen[strings.ToLower(prefix)] {
			derived = false
			break
		}
		seen[strings.ToLower(prefix)] = true
		names[i] = prefix
	}
	if !derived {
		for i := range names {
			names[i] = fmt.Sprintf("nva-%d", i+1)
		}
	}
	return names
}
