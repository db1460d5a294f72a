package config

import (
	"fmt"
	"maps"
	"net"
	"net/netip"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
)

// Problem is one thing wrong with a configuration.
type Problem struct {
	// Field is the path of the offending key, like "nvas[1].probe.address",
	// "routeTables[0].via" or "nvas[0].nics.internal"; "" when the problem
	// is the file as a whole (empty, not YAML, two documents).
	Field string
	// Message says what is wrong, shows the bad value and says how to fix it.
	Message string
	// Line is the 1-based line in the file, when known (Load and Parse
	// find it for most problems); 0 otherwise.
	Line int
}

// String formats p as "line 7: nvas[1].probe.address: message", leaving out
// the parts that are unknown.
func (p Problem) String() string {
	var b strings.Builder
	if p.Line > 0 {
		fmt.Fprintf(&b, "line %d: ", p.Line)
	}
	if p.Field != "" {
		b.WriteString(p.Field + ": ")
	}
	b.WriteString(p.Message)
	return b.String()
}

// ValidationError lists every problem found in a configuration's content.
// Load, Parse and Validate return it (and only it) for an invalid
// configuration, so a caller can tell "fix the file" (exit code 2) from
// "could not read the file" with errors.As.
type ValidationError struct {
	Problems []Problem
}

// Error prints one problem per line, each starting with "config: ".
func (e *ValidationError) Error() string {
	lines := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		lines[i] = "config: " + p.String()
	}
	return strings.Join(lines, "\n")
}

// locate fills in the line of every problem that has none, from the line of
// its field or, failing that, of the nearest enclosing field in the file.
// A problem about a key that is not written at all (instance defaulted to
// the host name, lease left out) is shown at the key that needs it.
func (e *ValidationError) locate(lines map[string]int) {
	neededBy := map[string]string{"instance": "monitors", "lease": "monitors"}
	for i := range e.Problems {
		p := &e.Problems[i]
		for f := p.Field; p.Line == 0 && f != ""; f = parentPath(f) {
			p.Line = lines[f]
			if p.Line == 0 && neededBy[f] != "" {
				p.Line = lines[neededBy[f]]
			}
		}
	}
}

// parentPath strips the last element of a field path: "nvas[1].probe" ->
// "nvas[1]" -> "nvas" -> "".
func parentPath(f string) string {
	if strings.HasSuffix(f, "]") {
		if i := strings.LastIndex(f, "["); i >= 0 {
			return f[:i]
		}
	}
	if i := strings.LastIndex(f, "."); i >= 0 {
		return f[:i]
	}
	return ""
}

// Validate checks the configuration as the daemon will use it: fields left
// zero count as their defaults (Validate does not change c), so a Config
// built in Go need not call ApplyDefaults first. It reports every problem
// at once as a *ValidationError, and does no I/O (it does not read caFile or
// tokenFile; the daemon does that when it starts). An empty Instance is not
// checked against Monitors: Load fills it in from the host name, on the host.
func (c *Config) Validate() error { return c.validate(false) }

// validate is Validate; instanceFromHost says Parse set Instance to the host
// name, so a mismatch with Monitors is fixed by writing instance.
func (c *Config) validate(instanceFromHost bool) error {
	d := c.withDefaults()
	v := &validator{}
	v.general(d)
	v.monitors(d, instanceFromHost)
	v.lease(d)
	v.credential(d)
	v.probeTiming(d.Probe)
	v.nvas(d.NVAs)
	v.instanceNIC(d)
	v.managed(d)
	v.timing(d)
	v.operations(d)
	if len(v.problems) == 0 {
		return nil
	}
	return &ValidationError{Problems: v.problems}
}

// withDefaults returns a copy of c with defaults applied; c is not changed.
func (c *Config) withDefaults() *Config {
	d := *c
	d.NVAs = slices.Clone(c.NVAs) // ApplyDefaults writes into the NVAs' probes
	d.ApplyDefaults()
	return &d
}

type validator struct {
	problems []Problem
}

func (v *validator) add(field, format string, args ...any) {
	v.problems = append(v.problems, Problem{Field: field, Message: fmt.Sprintf(format, args...)})
}

// oneOf checks that value is one of allowed and says which ones are.
func (v *validator) oneOf(field, value, what string, allowed ...string) bool {
	if slices.Contains(allowed, value) {
		return true
	}
	v.add(field, "%q is not a known %s; use one of %s%s",
		value, what, strings.Join(allowed, ", "), didYouMean(value, allowed))
	return false
}

func (v *validator) general(d *Config) {
	if i := strings.IndexFunc(d.Instance, func(r rune) bool { return !unicode.IsPrint(r) }); i >= 0 {
		v.add("instance", "%q contains a control character; use a plain name such as the host name", d.Instance)
	} else if n := len(d.Instance); n > 128 {
		v.add("instance", "is %d bytes long; keep it to 128 (it goes into every ARM User-Agent)", n)
	}
	v.oneOf("cloud", d.Cloud, "cloud", CloudAzurePublic, CloudAzureUSGovernment, CloudAzureChina)

	static := d.Credential.Kind == CredentialStaticTokenFile
	if d.ARMEndpoint == "" {
		if static {
			v.add("armEndpoint", "is required with credential kind staticTokenFile: a static token is for an emulator "+
				"or private cloud, never the public one; set it to that https URL, like \"https://127.0.0.1:8443\"")
		}
		return
	}
	u, err := url.Parse(d.ARMEndpoint)
	switch {
	case err != nil || u.Scheme == "" || u.Host == "":
		v.add("armEndpoint", "%q is not an absolute URL; write it like \"https://management.local.azurestack.external/\"",
			d.ARMEndpoint)
	case !strings.EqualFold(u.Scheme, "https"):
		why := "ARM is only reached over TLS"
		if static {
			why = "a bearer token is never sent over plain " + u.Scheme
		}
		v.add("armEndpoint", "%q is not https (%s); write it like %q", d.ARMEndpoint, why, "https://"+u.Host+u.Path)
	case u.User != nil || u.RawQuery != "" || u.Fragment != "":
		v.add("armEndpoint", "%q has user info, a query or a fragment; write only scheme, host and path, like %q",
			d.ARMEndpoint, "https://"+u.Host+u.Path)
	}
}

func (v *validator) credential(d *Config) {
	cr := d.Credential
	if !v.oneOf("credential.kind", cr.Kind, "credential kind",
		CredentialManagedIdentity, CredentialAzureCLI, CredentialEnvironment, CredentialStaticTokenFile) {
		return // what else is allowed depends on the kind
	}
	if cr.ClientID != "" {
		if cr.Kind != CredentialManagedIdentity {
			v.add("credential.clientId", "%q is only used with kind managedIdentity, not %s; remove it, or set kind: managedIdentity",
				cr.ClientID, cr.Kind)
		} else if !isGUID(cr.ClientID) {
			v.add("credential.clientId", "%q is not a client ID; a managed identity's client ID is a GUID like "+
				"00000000-0000-0000-0000-000000000000 (az identity show --query clientId)", cr.ClientID)
		}
	}
	switch {
	case cr.Kind == CredentialStaticTokenFile && cr.TokenFile == "":
		v.add("credential.tokenFile", "is required with kind staticTokenFile; set it to the path of the file that holds the bearer token")
	case cr.Kind != CredentialStaticTokenFile && cr.TokenFile != "":
		v.add("credential.tokenFile", "%q is only used with kind staticTokenFile, not %s; remove it", cr.TokenFile, cr.Kind)
	}
}

// leaseRange says which lease durations are allowed.
var leaseRange = fmt.Sprintf("a whole number of seconds from %q to %q", seconds(MinLeaseDuration), seconds(MaxLeaseDuration))

// seconds writes d as "60s" rather than Duration's "1m0s".
func seconds(d time.Duration) string { return fmt.Sprintf("%ds", d/time.Second) }

// monitorNameRE is a host name, or the label of one; it names the monitor's
// view blob and goes into its User-Agent.
var monitorNameRE = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9._-]{0,126}[A-Za-z0-9])?$`)

const monitorNameRule = `use 1-128 letters, digits, ".", "-" and "_", starting and ending with a letter or digit`

// monitors checks the monitor names, this monitor's place among them, the
// quorum and the view interval.
func (v *validator) monitors(d *Config, instanceFromHost bool) {
	seen := map[string]int{} // lower-case name -> index
	for i, m := range d.Monitors {
		f := fmt.Sprintf("monitors[%d]", i)
		switch j, dup := seen[strings.ToLower(m)]; {
		case m == "":
			v.add(f, "is empty; list each monitor's instance name (its host name, unless its config sets instance)")
		case !monitorNameRE.MatchString(m):
			v.add(f, "%q is not a valid monitor name; %s, like \"monitor-%d\"", m, monitorNameRule, i+1)
		case dup:
			v.add(f, "%q is already monitors[%d] (names are compared ignoring case); list each monitor once", m, j)
		default:
			seen[strings.ToLower(m)] = i
		}
	}
	if len(d.Monitors) > 0 && d.Instance != "" && !slices.Contains(d.Monitors, d.Instance) {
		list := strings.Join(d.Monitors, ", ")
		hint := "" // names differing in case only: the view blob's name would differ
		if i := slices.IndexFunc(d.Monitors, func(m string) bool { return strings.EqualFold(m, d.Instance) }); i >= 0 {
			hint = fmt.Sprintf(" (monitors[%d] is %q: write it the same way in both)", i, d.Monitors[i])
		}
		if instanceFromHost {
			v.add("instance", "is not set, so it is the host name %q, which is not one of monitors (%s)%s; "+
				"set instance to the name this host has in monitors", d.Instance, list, hint)
		} else {
			v.add("instance", "%q is not one of monitors (%s)%s; set instance to the name this host has in monitors, "+
				"or add it to monitors", d.Instance, list, hint)
		}
	}
	if len(d.Monitors) == 0 && d.Lease.Kind == LeaseBlob && d.Instance != "" && !monitorNameRE.MatchString(d.Instance) &&
		len(d.Instance) <= 128 && !strings.ContainsFunc(d.Instance, func(r rune) bool { return !unicode.IsPrint(r) }) {
		v.add("instance", "%q cannot name this monitor's view blob; with a blob lease %s", d.Instance, monitorNameRule)
	}

	v.oneOf("quorum", d.Quorum, "quorum", QuorumMajority, QuorumNone)
	if d.ViewInterval.D() < MinViewInterval {
		v.add("viewInterval", "%s is below the minimum %s (views are blobs in Azure Storage; faster publishing "+
			"only adds requests); write at least %q", d.ViewInterval, Duration(MinViewInterval), Duration(MinViewInterval))
	}
}

// lease checks the leader election: none only for a lone monitor; a blob
// lease needs a usable URL, a duration Azure accepts and a credential that
// never sends a token over plain http.
func (v *validator) lease(d *Config) {
	l := d.Lease
	n := len(d.Monitors)
	if l.Kind == "" { // ApplyDefaults leaves it unset only with several monitors
		v.add("lease.kind", "is required with %d monitors: only one of them may write to ARM, and a blob lease elects it; "+
			"add lease: with kind: blob and url: %q", n, exampleLeaseURL)
		return
	}
	if !v.oneOf("lease.kind", l.Kind, "lease kind", LeaseNone, LeaseBlob) {
		return // what else is allowed depends on the kind
	}
	if l.Kind == LeaseNone {
		if n > 1 {
			v.add("lease.kind", "none would let each of the %d monitors write to ARM on its own; several monitors "+
				"need kind: blob with a url, so that only the leader acts", n)
		}
		if l.URL != "" {
			v.add("lease.url", "%q is only used with kind blob, not none; remove it, or set kind: blob", redactURL(l.URL))
		}
		if l.Duration != 0 {
			v.add("lease.duration", "%s is only used with kind blob, not none; remove it, or set kind: blob", l.Duration)
		}
		if l.Credential != (LeaseCredential{}) {
			v.add("lease.credential", "is only used with kind blob, not none; remove it, or set kind: blob")
		}
		return
	}

	var loc *BlobLocation
	if l.URL == "" {
		v.add("lease.url", "is required with kind blob; write the leader blob's URL, like %q", exampleLeaseURL)
	} else if got, err := l.Parse(); err != nil {
		reason := err.Error()
		if e, ok := err.(*blobURLError); ok {
			reason = fmt.Sprintf("%q %s", e.URL, e.Reason)
		}
		v.add("lease.url", "%s", reason)
	} else {
		loc = &got
	}

	switch ld := l.Duration.D(); {
	case ld < MinLeaseDuration || ld > MaxLeaseDuration:
		v.add("lease.duration", "%s is outside the lease durations Azure Storage allows; write %s", l.Duration, leaseRange)
	case ld%time.Second != 0:
		v.add("lease.duration", "%s is not a whole number of seconds, and Azure sets lease durations in seconds; write %q or %q",
			l.Duration, seconds(ld.Truncate(time.Second)), seconds(ld.Truncate(time.Second)+time.Second))
	}

	cr := l.Credential
	if !v.oneOf("lease.credential.kind", cr.Kind, "lease credential kind", LeaseCredentialManagedIdentity,
		LeaseCredentialAzureCLI, LeaseCredentialEnvironment, LeaseCredentialSharedKey) {
		return
	}
	if cr.ClientID != "" {
		if cr.Kind != LeaseCredentialManagedIdentity {
			v.add("lease.credential.clientId", "%q is only used with kind managedIdentity, not %s; remove it, or set kind: managedIdentity",
				cr.ClientID, cr.Kind)
		} else if !isGUID(cr.ClientID) {
			v.add("lease.credential.clientId", "%q is not a client ID; a managed identity's client ID is a GUID like "+
				"00000000-0000-0000-0000-000000000000 (az identity show --query clientId)", cr.ClientID)
		}
	}
	shared := cr.Kind == LeaseCredentialSharedKey
	switch {
	case shared && cr.AccountKeyFile == "":
		v.add("lease.credential.accountKeyFile", "is required with kind sharedKey; set it to the path of the file "+
			"that holds the emulator's base64 account key")
	case !shared && cr.AccountKeyFile != "":
		v.add("lease.credential.accountKeyFile", "%q is only used with kind sharedKey, not %s; remove it", cr.AccountKeyFile, cr.Kind)
	}
	if loc == nil {
		return // the rest depends on the URL's host and scheme
	}
	u, _ := url.Parse(l.URL) // Parse accepted it
	switch {
	case shared && !isLoopbackHost(u.Hostname()):
		v.add("lease.credential.kind", "sharedKey is only for a storage emulator on a loopback address, and the url's host is %q "+
			"(an account key opens the whole storage account); in Azure use managedIdentity and grant it the "+
			"Storage Blob Data Contributor role on the container", u.Hostname())
	case !shared && u.Scheme != "https":
		v.add("lease.url", "%q is plain http, and credential kind %s sends a bearer token, which is never sent over plain http; "+
			"use https, or credential kind sharedKey with an emulator", redactURL(l.URL), cr.Kind)
	}
}

func (v *validator) probeTiming(p ProbeTiming) {
	if p.Interval <= 0 {
		v.add("probe.interval", "%s must be greater than zero, like \"1s\"", p.Interval)
	}
	switch {
	case p.Timeout <= 0:
		v.add("probe.timeout", "%s must be greater than zero, like \"1s\"", p.Timeout)
	case p.Interval > 0 && p.Timeout > p.Interval:
		v.add("probe.timeout", "%s is longer than probe.interval %s; a probe must end before the next round starts, "+
			"so make the timeout at most %s", p.Timeout, p.Interval, p.Interval)
	}
	switch {
	case p.FastInterval < Duration(MinProbeFastInterval):
		v.add("probe.fastInterval", "%s is below the minimum %s; write at least %q (or leave it out for %s)",
			p.FastInterval, MinProbeFastInterval, MinProbeFastInterval.String(), DefaultProbeFastInterval)
	case p.Interval > 0 && p.FastInterval > p.Interval:
		v.add("probe.fastInterval", "%s is longer than probe.interval %s; the rounds that confirm a failure must come faster "+
			"than the regular ones, so make it at most %s", p.FastInterval, p.Interval, p.Interval)
	}
	if p.FailureThreshold < 1 {
		v.add("probe.failureThreshold", "%d must be at least 1 (failed probes in a row that mark an NVA down)", p.FailureThreshold)
	}
	if p.SuccessThreshold < 1 {
		v.add("probe.successThreshold", "%d must be at least 1 (good probes in a row that mark an NVA up)", p.SuccessThreshold)
	}
}

var (
	nvaNameRE = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$`)
	roleRE    = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)
)

// nvaLabel names an NVA in a message: `"nva-2" (nvas[1])`, or just nvas[1].
func nvaLabel(i int, n NVA) string {
	if n.Name == "" {
		return fmt.Sprintf("nvas[%d]", i)
	}
	return fmt.Sprintf("%q (nvas[%d])", n.Name, i)
}

func (v *validator) nvas(nvas []NVA) {
	if n := len(nvas); n < 2 {
		v.add("nvas", "fewer than two NVAs: found %d, but HA needs at least two (one active, one standby); add another under nvas", n)
	}
	names := map[string]int{}     // lower-case name -> index
	addresses := map[string]int{} // probe address -> index
	nics := map[string]string{}   // lower-case NIC ID -> field
	for i, n := range nvas {
		f := fmt.Sprintf("nvas[%d]", i)
		switch j, dup := names[strings.ToLower(n.Name)]; {
		case n.Name == "":
			v.add(f+".name", "is required; give every NVA a name, like name: nva-%d", i+1)
		case !nvaNameRE.MatchString(n.Name):
			v.add(f+".name", "%q is not a valid name; use 1-63 letters, digits and hyphens, "+
				"starting and ending with a letter or digit, like \"nva-%d\"", n.Name, i+1)
		case dup:
			v.add(f+".name", "%q is already the name of nvas[%d] (names are compared ignoring case); give each NVA its own name",
				n.Name, j)
		default:
			names[strings.ToLower(n.Name)] = i
		}

		if v.probeAddress(f+".probe.address", n.Probe.Address) {
			if j, dup := addresses[n.Probe.Address]; dup {
				v.add(f+".probe.address", "%q is also the probe address of nvas[%d]; probe each NVA at its own address",
					n.Probe.Address, j)
			} else {
				addresses[n.Probe.Address] = i
			}
		}
		if v.oneOf(f+".probe.kind", n.Probe.Kind, "probe kind", ProbeTCP, ProbeHTTP) {
			switch p := n.Probe.Path; {
			case n.Probe.Kind == ProbeTCP && p != "":
				v.add(f+".probe.path", "%q is only used with kind http; remove it, or set kind: http", p)
			case n.Probe.Kind == ProbeHTTP && !strings.HasPrefix(p, "/"):
				v.add(f+".probe.path", "%q must start with \"/\", like %q", p, "/"+p)
			case strings.IndexFunc(p, func(r rune) bool { return r <= ' ' || r == 0x7f }) >= 0:
				v.add(f+".probe.path", "%q contains a space or control character; percent-encode it (a space is %%20)", p)
			}
		}

		if len(n.NICs) == 0 {
			v.add(f+".nics", "%s has no NICs; map each role to the NIC's resource ID, like "+
				"internal: /subscriptions/{subscription}/resourceGroups/{group}/providers/Microsoft.Network/networkInterfaces/{name}",
				nvaLabel(i, n))
		}
		for _, role := range slices.Sorted(maps.Keys(n.NICs)) {
			if !roleRE.MatchString(role) {
				v.add(f+".nics", "role %q is not a valid role name; use letters, digits, \"-\" and \"_\", like internal or external", role)
				continue
			}
			rf := f + ".nics." + role
			id, ok := v.resourceID(rf, n.NICs[role], TypeNetworkInterface)
			if !ok {
				continue
			}
			key := strings.ToLower(id.String())
			if other, dup := nics[key]; dup {
				v.add(rf, "%q is the same NIC as %s; a NIC belongs to one NVA and one role", n.NICs[role], other)
				continue
			}
			nics[key] = rf
		}
	}
}

// probeAddress checks an "IP:port" probe target and reports whether it is good.
func (v *validator) probeAddress(field, addr string) bool {
	if addr == "" {
		v.add(field, "is required; write the IP:port the monitor probes, like \"10.0.1.4:22\"")
		return false
	}
	ap, err := netip.ParseAddrPort(addr)
	if err == nil {
		switch {
		case ap.Port() == 0:
			v.add(field, "%q has port 0; the port must be from 1 to 65535", addr)
			return false
		case ap.Addr().IsUnspecified():
			v.add(field, "%q is the unspecified address; write the NVA's own IP, like %q", addr, "10.0.1.4:"+strconv.Itoa(int(ap.Port())))
			return false
		}
		return true
	}
	if ip, err := netip.ParseAddr(addr); err == nil {
		v.add(field, "%q is not IP:port; write it like %q", addr, netip.AddrPortFrom(ip, 8080).String())
		return false
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		v.add(field, "%q is not IP:port; write it like \"10.0.0.5:8080\"", addr)
		return false
	}
	if _, err := netip.ParseAddr(host); err != nil {
		if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
			port = "8080"
		}
		v.add(field, "%q has host %q, which is not an IP address; the probe needs the NVA's IP, like %q", addr, host, "10.0.0.5:"+port)
		return false
	}
	v.add(field, "%q has port %q; the port must be a number from 1 to 65535", addr, port)
	return false
}

// exampleID shows how an ID of the full type t is written; t may be a child
// type, like TypeBackendAddressPool.
func exampleID(t string) string {
	prefix := "/subscriptions/{subscription}/resourceGroups/{group}/providers/"
	parts := strings.Split(t, "/")
	if len(parts) != 3 {
		return prefix + t + "/{name}"
	}
	parent := map[string]string{"loadBalancers": "{loadBalancer}", "privateDnsZones": "{zone}"}[parts[1]]
	if parent == "" {
		parent = "{parent}"
	}
	return prefix + parts[0] + "/" + parts[1] + "/" + parent + "/" + parts[2] + "/{name}"
}

// isChildType reports whether the full type t is a child type
// (Provider/ParentType/Type).
func isChildType(t string) bool { return strings.Count(t, "/") == 2 }

// resourceID checks that id is a well-formed ID of the full type t.
func (v *validator) resourceID(field, id, t string) (ResourceID, bool) {
	if id == "" {
		v.add(field, "is required; write the %s resource ID, like %q", t, exampleID(t))
		return ResourceID{}, false
	}
	r, ok := v.wellFormedID(field, id, t)
	if !ok {
		return ResourceID{}, false
	}
	if !r.IsType(t) {
		v.add(field, "%q is a %s, not a %s; write it like %q", id, r.FullType(), t, exampleID(t))
		return ResourceID{}, false
	}
	return r, true
}

// wellFormedID checks that id parses, and says how an ID of the full type t
// is written if it does not. For a child type t it accepts a top-level ID
// too, so that the caller can say which type it is.
func (v *validator) wellFormedID(field, id, t string) (ResourceID, bool) {
	depth := depthTop
	if isChildType(t) {
		depth = depthAny
	}
	r, err := parseResourceID(id, depth)
	if err != nil {
		reason := err.Error()
		if e, ok := err.(*resourceIDError); ok {
			reason = e.Reason
		}
		v.add(field, "%q is not a well-formed resource ID: %s; write it like %q", id, reason, exampleID(t))
		return ResourceID{}, false
	}
	return r, true
}

// dnsRecordID checks that id is the ID of an A or AAAA record set of an
// Azure Private DNS zone, the only kinds of record that hold an address.
func (v *validator) dnsRecordID(field, id string) (ResourceID, bool) {
	example := exampleID(TypePrivateDNSARecord)
	if id == "" {
		v.add(field, "is required; write the resource ID of a Private DNS A or AAAA record set, like %q", example)
		return ResourceID{}, false
	}
	r, ok := v.wellFormedID(field, id, TypePrivateDNSARecord)
	switch {
	case !ok:
		return ResourceID{}, false
	case r.IsType(TypePrivateDNSARecord) || r.IsType(TypePrivateDNSAAAARecord):
		return r, true
	case r.IsChild() && strings.EqualFold(r.Provider+"/"+r.ParentType, "Microsoft.Network/privateDnsZones"):
		v.add(field, "%q is a %s record set; only A and AAAA record sets are supported (the monitor writes the active NVA's "+
			"address into the record set); use an A or AAAA record set, like %q", id, r.Type, example)
	case r.IsChild() && strings.EqualFold(r.Provider+"/"+r.ParentType, "Microsoft.Network/dnsZones"):
		v.add(field, "%q is a record set of a public DNS zone (Microsoft.Network/dnsZones); only Azure Private DNS zones "+
			"(Microsoft.Network/privateDnsZones) are supported; write it like %q", id, example)
	default:
		v.add(field, "%q is a %s, not a Private DNS A or AAAA record set; write it like %q", id, r.FullType(), example)
	}
	return ResourceID{}, false
}

// instanceNIC checks the monitor's own NIC: a NIC ID, and none of the NVAs'.
func (v *validator) instanceNIC(d *Config) {
	if d.InstanceNIC == "" {
		return // optional: validate then skips the effective route check
	}
	id, ok := v.resourceID("instanceNic", d.InstanceNIC, TypeNetworkInterface)
	if !ok {
		return
	}
	for i, n := range d.NVAs {
		for _, role := range slices.Sorted(maps.Keys(n.NICs)) {
			if other, err := ParseResourceID(n.NICs[role]); err == nil && other.Equal(id) {
				v.add("instanceNic", "%q is the %s NIC of NVA %s; instanceNic is this monitor VM's own NIC, "+
					"whose routes must not depend on the NVAs: write that NIC's resource ID, or leave instanceNic out",
					d.InstanceNIC, role, nvaLabel(i, n))
				return
			}
		}
	}
}

// managed checks the resources the monitor moves: route tables, public IPs,
// floating IPs, backend pools and DNS records.
func (v *validator) managed(d *Config) {
	if len(d.RouteTables)+len(d.PublicIPs)+len(d.FloatingIPs)+len(d.BackendPools)+len(d.DNSRecords) == 0 {
		v.add("routeTables", "none of routeTables, publicIps, floatingIps, backendPools and dnsRecords lists anything, "+
			"so a failover would have nothing to move; list at least one route table, public IP, floating IP, backend pool "+
			"or DNS record")
	}
	seen := map[string]int{}
	for i, rt := range d.RouteTables {
		f := fmt.Sprintf("routeTables[%d]", i)
		if id, ok := v.resourceID(f+".id", rt.ID, TypeRouteTable); ok {
			if j, dup := seen[strings.ToLower(id.String())]; dup {
				v.add(f+".id", "%q is already listed as routeTables[%d]; list each route table once", rt.ID, j)
			} else {
				seen[strings.ToLower(id.String())] = i
			}
		}
		v.via(f+".via", rt.Via, "route table's NVA routes point at", d.NVAs)
	}
	seen = map[string]int{}
	for i, pip := range d.PublicIPs {
		f := fmt.Sprintf("publicIps[%d]", i)
		if id, ok := v.resourceID(f+".id", pip.ID, TypePublicIPAddress); ok {
			if j, dup := seen[strings.ToLower(id.String())]; dup {
				v.add(f+".id", "%q is already listed as publicIps[%d]; list each public IP once", pip.ID, j)
			} else {
				seen[strings.ToLower(id.String())] = i
			}
		}
		v.via(f+".via", pip.Via, "public IP rides on", d.NVAs)
	}
	v.floatingIPs(d)
	seen = map[string]int{}
	for i, p := range d.BackendPools {
		f := fmt.Sprintf("backendPools[%d]", i)
		if id, ok := v.resourceID(f+".id", p.ID, TypeBackendAddressPool); ok {
			if j, dup := seen[strings.ToLower(id.String())]; dup {
				v.add(f+".id", "%q is already listed as backendPools[%d]; list each backend pool once", p.ID, j)
			} else {
				seen[strings.ToLower(id.String())] = i
			}
		}
		v.via(f+".via", p.Via, "backend pool holds the address of", d.NVAs)
	}
	seen = map[string]int{}
	for i, r := range d.DNSRecords {
		f := fmt.Sprintf("dnsRecords[%d]", i)
		if id, ok := v.dnsRecordID(f+".id", r.ID); ok {
			if j, dup := seen[strings.ToLower(id.String())]; dup {
				v.add(f+".id", "%q is already listed as dnsRecords[%d]; list each record set once", r.ID, j)
			} else {
				seen[strings.ToLower(id.String())] = i
			}
		}
		v.via(f+".via", r.Via, "DNS record holds the address of", d.NVAs)
	}
}

// ipconfigNameRE is Azure's rule for the names of Microsoft.Network
// resources and their children, which ipconfigs follow: 1-80 letters,
// digits, underscores, periods and hyphens, starting with a letter or digit
// and ending with a letter, digit or underscore
// (https://learn.microsoft.com/azure/azure-resource-manager/management/resource-name-rules#microsoftnetwork).
var ipconfigNameRE = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9_.-]{0,78}[A-Za-z0-9_])?$`)

// floatingIPs checks the floating IPs: each a plain unicast address, listed
// once, not an NVA's probe address, on a role every NVA has, with an ipconfig
// name Azure accepts and no other floating IP of that role uses.
func (v *validator) floatingIPs(d *Config) {
	probes := map[netip.Addr]int{} // probe address -> NVA index
	for i, n := range d.NVAs {
		if ap, err := netip.ParseAddrPort(n.Probe.Address); err == nil {
			probes[ap.Addr().Unmap()] = i
		}
	}
	seen := map[netip.Addr]int{}
	names := map[string]int{} // role + "/" + lower-case ipconfig name -> index
	for i, fl := range d.FloatingIPs {
		f := fmt.Sprintf("floatingIps[%d]", i)
		addr, ok := v.floatingAddress(f+".ip", fl.IP)
		if ok {
			if j, dup := seen[addr]; dup {
				if other := d.FloatingIPs[j].IP; other == fl.IP {
					v.add(f+".ip", "%q is already listed as floatingIps[%d]; list each floating IP once", fl.IP, j)
				} else {
					v.add(f+".ip", "%q is the same address as floatingIps[%d] (%q); list each floating IP once", fl.IP, j, other)
				}
				ok = false
			} else {
				seen[addr] = i
			}
		}
		if j, isProbe := probes[addr]; ok && isProbe {
			v.add(f+".ip", "%q is the probe address of NVA %s; a floating IP moves to whichever NVA is active, so a probe "+
				"of it cannot tell the NVAs apart: probe each NVA at an address of its own, and use another address as the floating IP",
				fl.IP, nvaLabel(j, d.NVAs[j]))
		}
		v.via(f+".via", fl.Via, "floating IP lives on", d.NVAs)

		if fl.Name != "" && !ipconfigNameRE.MatchString(fl.Name) {
			fix := `like "vip-` + fl.Via + `"`
			if ok {
				fix += fmt.Sprintf(", or leave name out for the default %q", FloatingIP{IP: fl.IP}.IPConfigName())
			}
			v.add(f+".name", "%q is not a valid ipconfig name; Azure allows 1-80 letters, digits, underscores, periods and "+
				"hyphens, starting with a letter or digit and ending with a letter, digit or underscore; write one %s", fl.Name, fix)
			continue
		}
		if fl.Via == "" || (fl.Name == "" && !ok) {
			continue // no role, or no address for a default name: nothing to compare
		}
		name := fl.IPConfigName()
		key := fl.Via + "/" + strings.ToLower(name)
		if j, dup := names[key]; dup {
			this, theirs := fmt.Sprintf("%q", name), ""
			if fl.Name == "" {
				this = fmt.Sprintf("the default ipconfig name for %s, %q,", fl.IP, name)
			}
			if d.FloatingIPs[j].Name == "" {
				theirs = " (its default)"
			}
			v.add(f+".name", "%s is also the ipconfig name of floatingIps[%d]%s on role %q (names are compared ignoring case); "+
				"one NIC cannot hold two ipconfigs of the same name: give each floating IP of a role its own name",
				this, j, theirs, fl.Via)
			continue
		}
		names[key] = i
	}
}

// floatingAddress checks a floating IP's address: one IPv4 or IPv6 unicast
// address, written plainly. It returns the address if it is good.
func (v *validator) floatingAddress(field, s string) (netip.Addr, bool) {
	if s == "" {
		v.add(field, "is required; write the private address that follows the active NVA, like ip: 10.0.2.50")
		return netip.Addr{}, false
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		switch p, perr := netip.ParsePrefix(s); {
		case perr == nil:
			v.add(field, "%q is a prefix, but a floating IP is one address; write the address alone, like %q", s, p.Addr().String())
			return netip.Addr{}, false
		case strings.Contains(s, "/"):
			v.add(field, "%q is not an IP address (nor a prefix, which would not do either); write one address, like \"10.0.2.50\"", s)
			return netip.Addr{}, false
		}
		if ap, err := netip.ParseAddrPort(s); err == nil {
			v.add(field, "%q has a port, but a floating IP is an address only; write %q", s, ap.Addr().String())
			return netip.Addr{}, false
		}
		v.add(field, "%q is not an IP address; write an IPv4 or IPv6 address, like \"10.0.2.50\" or \"fd00:0:0:2::50\"", s)
		return netip.Addr{}, false
	}
	switch {
	case a.Zone() != "":
		v.add(field, "%q has a zone (%%%s), which addresses in Azure never have; write %q", s, a.Zone(), a.WithZone("").String())
	case a.Is4In6():
		v.add(field, "%q is an IPv4-mapped IPv6 address; write it as IPv4, %q", s, a.Unmap().String())
	case !a.IsGlobalUnicast():
		v.add(field, "%q is %s address, which cannot be a private IP of an Azure NIC; write an unused address of the subnet "+
			"of the NVAs' NICs of this role, like \"10.0.2.50\"", s, addressClass(a))
	default:
		return a, true
	}
	return netip.Addr{}, false
}

// addressClass names the kind of a non-unicast or special address, with its article.
func addressClass(a netip.Addr) string {
	switch {
	case a.IsUnspecified():
		return "the unspecified"
	case a.IsLoopback():
		return "a loopback"
	case a.IsMulticast():
		return "a multicast"
	case a.IsLinkLocalUnicast():
		return "a link-local"
	case a == netip.AddrFrom4([4]byte{255, 255, 255, 255}):
		return "the broadcast"
	}
	return "a special"
}

// via checks that every NVA has a NIC of the role.
func (v *validator) via(field, role, what string, nvas []NVA) {
	if role == "" {
		v.add(field, "is required; name the NIC role this %s, like via: internal", what)
		return
	}
	var lacking []int
	withNICs := 0 // an NVA with no NICs at all is reported once, at its nics
	for i, n := range nvas {
		if len(n.NICs) == 0 {
			continue
		}
		withNICs++
		if _, ok := n.NICs[role]; !ok {
			lacking = append(lacking, i)
		}
	}
	if withNICs > 0 && len(lacking) == withNICs {
		roles := (&Config{NVAs: nvas}).Roles()
		v.add(field, "no NVA has a NIC of role %q; the roles are %s%s", role, listOrNone(roles), didYouMean(role, roles))
		return
	}
	for _, i := range lacking {
		v.add(field, "NVA %s has no NIC of role %q (it has %s); every NVA needs a NIC of each role that a via names",
			nvaLabel(i, nvas[i]), role, listOrNone(slices.Sorted(maps.Keys(nvas[i].NICs))))
	}
}

func listOrNone(s []string) string {
	if len(s) == 0 {
		return "none"
	}
	return strings.Join(s, ", ")
}

func (v *validator) timing(d *Config) {
	v.oneOf("failback", d.Failback, "failback policy", FailbackNever, FailbackPreferred)
	if d.FailbackHoldoff <= 0 {
		v.add("failbackHoldoff", "%s must be greater than zero, like %q", d.FailbackHoldoff, Duration(DefaultFailbackHoldoff))
	}
	if d.MinFailoverInterval < 0 {
		v.add("minFailoverInterval", "%s must not be negative, like %q", d.MinFailoverInterval, Duration(DefaultMinFailoverInterval))
	}
	atLeast := func(field string, d Duration, limit time.Duration, why string) {
		if d.D() < limit {
			v.add(field, "%s is below the minimum %s (%s); write at least %q", d, limit, why, limit.String())
		}
	}
	atLeast("pollInterval", d.PollInterval, MinPollInterval, "faster polling only earns ARM throttling")
	atLeast("operationTimeout", d.OperationTimeout, MinOperationTimeout, "a single ARM write can take that long")
	atLeast("reconcileInterval", d.ReconcileInterval, MinReconcileInterval, "drift repair need not be faster")
}

var hostNameRE = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?$`)

func (v *validator) operations(d *Config) {
	host, port, err := net.SplitHostPort(d.Listen)
	switch {
	case err != nil:
		v.add("listen", "%q is not host:port; write it like %q (or \":9414\" for every interface)", d.Listen, DefaultListen)
	case !isPort(port):
		v.add("listen", "%q has port %q; the port must be a number from 0 to 65535", d.Listen, port)
	case host != "" && !hostNameRE.MatchString(host):
		if _, err := netip.ParseAddr(host); err != nil {
			v.add("listen", "%q has host %q, which is neither an IP address nor a host name; write it like %q", d.Listen, host, DefaultListen)
		}
	}
	v.oneOf("log.format", d.Log.Format, "log format", LogFormatJSON, LogFormatText)
	v.oneOf("log.level", d.Log.Level, "log level", LogLevelDebug, LogLevelInfo, LogLevelWarn, LogLevelError)
}

func isPort(s string) bool {
	n, err := strconv.Atoi(s)
	return err == nil && n >= 0 && n <= 65535 && s == strconv.Itoa(n)
}
