package stack

import (
	"bytes"
	"debug/elf"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"net/netip"
	"os"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/hanva/hanva/components"
	"github.com/hanva/hanva/monitor/config"
)

// project is the Pulumi project name, the namespace of every config key.
const project = "hanva"

// Modes (config key mode).
const (
	modeSample     = "sample"
	modeProduction = "production"
)

// defaults holds every config key the program reads with its default, in
// the form the Pulumi CLI hands it to the program (JSON for arrays). A key
// without a default is required. Pulumi.yaml declares the same keys with the
// same defaults (a test holds them equal).
var defaults = map[string]string{
	"mode":                modeSample,
	"location":            "westeurope",
	"zones":               "[]",
	"nvaCount":            "2",
	"nvaVmSize":           "Standard_B2s",
	"monitorCount":        "2",
	"monitorVmSize":       "Standard_B1s",
	"adminUsername":       "hanva",
	"probePort":           "8080",
	"probeKind":           config.ProbeHTTP,
	"failback":            config.FailbackNever,
	"failbackHoldoff":     "60s",
	"minFailoverInterval": "30s",
	"probeInterval":       "1s",
	"failureThreshold":    "3",
	"leaseDuration":       "15s",
	"monitorBinaryPath":   "",
	"resourceGroupName":   "",
	"monitorSubnetId":     "",
	"nvaExternalSubnetId": "",
	"nvaInternalSubnetId": "",
	"nvaSubnetIds":        "[]",
	"nvaNsgIds":           "[]",
	"nvas":                "[]",
	"routeTables":         "[]",
	"publicIpId":          "",
	"steering":            "[]",
	"dnsZoneName":         components.DefaultDNSZoneName,
	"dnsRecordName":       components.DefaultDNSRecordName,
	"dnsTtl":              strconv.Itoa(components.DefaultDNSTTL),
	"floatingIp":          "",
	"floatingIpVia":       components.RoleInternal,
	"backendPoolId":       "",
	"backendPoolVia":      components.RoleInternal,
	"dnsRecordId":         "",
	"dnsRecordVia":        components.RoleInternal,
}

// required are the keys without a default.
var required = []string{"sshPublicKey"}

// sampleOnly and productionOnly keys are refused in the other mode unless
// they keep their default, so a key that would be ignored is never set by
// mistake.
var (
	sampleOnly     = []string{"nvaCount", "nvaVmSize", "steering", "dnsZoneName", "dnsRecordName", "dnsTtl"}
	productionOnly = []string{"monitorSubnetId", "nvaExternalSubnetId", "nvaInternalSubnetId", "nvaSubnetIds", "nvaNsgIds",
		"nvas", "routeTables", "publicIpId", "floatingIp", "floatingIpVia", "backendPoolId", "backendPoolVia", "dnsRecordId", "dnsRecordVia"}
)

// settings is the validated stack config.
type settings struct {
	Mode          string
	Location      string
	Zones         []string
	NVACount      int
	NVAVMSize     string
	MonitorCount  int
	MonitorVMSize string
	AdminUsername string
	SSHPublicKey  string

	ProbePort           int
	ProbeKind           string
	Failback            string
	FailbackHoldoff     config.Duration
	MinFailoverInterval config.Duration
	ProbeInterval       config.Duration
	FailureThreshold    int
	LeaseDuration       config.Duration
	MonitorBinaryPath   string

	ResourceGroupName string
	// production only
	MonitorSubnetID string
	// RoleSubnetIDs are nvaExternalSubnetId and nvaInternalSubnetId by
	// role; empty when the NICs' roles are told by their names.
	RoleSubnetIDs map[string]string
	// NVASubnetIDs and NVANSGIDs are added to the subnets and NSGs read
	// from the NVA NICs (for NICs the program cannot read).
	NVASubnetIDs []string
	NVANSGIDs    []string
	NVAs         []nvaSetting
	RouteTables  []routeTableSetting
	PublicIPID   string

	// Steering (sample only) is components.HaNvaArgs.Steering, and the
	// Private DNS names of its "dns".
	Steering      []string
	DNSZoneName   string
	DNSRecordName string
	DNSTTL        int
	// Production only: existing resources that follow the active NVA, each
	// with the NIC role it follows ("" when not given).
	FloatingIP     string
	FloatingIPVia  string
	BackendPoolID  string
	BackendPoolVia string
	DNSRecordID    string
	DNSRecordVia   string
}

// nvaRoles are the NIC roles every production NVA has, in the order they are
// reported.
var nvaRoles = []string{components.RoleExternal, components.RoleInternal}

// nvaSetting is one entry of the production key nvas: an NVA by its VM
// (VMID), by its NICs, or by its VM with a NIC named for a role the VM's
// NICs do not tell apart. IPs, when given, are checked against the NICs.
type nvaSetting struct {
	Name          string `json:"name"`
	VMID          string `json:"vmId"`
	ExternalNICID string `json:"externalNicId"`
	InternalNICID string `json:"internalNicId"`
	ExternalIP    string `json:"externalIp"`
	InternalIP    string `json:"internalIp"`
}

// NICID returns the NIC ID given for a role ("" if none).
func (n nvaSetting) NICID(role string) string {
	if role == components.RoleExternal {
		return n.ExternalNICID
	}
	return n.InternalNICID
}

// IP returns the private IP given for a role ("" if none).
func (n nvaSetting) IP(role string) string {
	if role == components.RoleExternal {
		return n.ExternalIP
	}
	return n.InternalIP
}

// nicKey and ipKey are the fields of an nvas entry that give a role's NIC
// and IP, and roleSubnetKey the key of a role's subnet.
func nicKey(role string) string { return role + "NicId" }
func ipKey(role string) string  { return role + "Ip" }
func roleSubnetKey(role string) string {
	return "nva" + strings.ToUpper(role[:1]) + role[1:] + "SubnetId"
}

// routeTableSetting is one entry of the production key routeTables.
type routeTableSetting struct {
	Name   string         `json:"name"`
	Via    string         `json:"via"`
	Routes []routeSetting `json:"routes"`
}

type routeSetting struct {
	Name          string `json:"name"`
	AddressPrefix string `json:"addressPrefix"`
}

// monitorSettings are the monitor's failover settings from the stack config.
func (s *settings) monitorSettings() components.MonitorSettings {
	return components.MonitorSettings{
		Probe: config.ProbeTiming{
			Interval:         s.ProbeInterval,
			FailureThreshold: s.FailureThreshold,
		},
		Failback:            s.Failback,
		FailbackHoldoff:     s.FailbackHoldoff,
		MinFailoverInterval: s.MinFailoverInterval,
		LeaseDuration:       s.LeaseDuration,
	}
}

// problems collects what is wrong with the stack config, one line per
// problem, each naming its key as `pulumi config` writes it.
type problems []string

func (p *problems) add(key, format string, args ...any) {
	*p = append(*p, project+":"+key+": "+fmt.Sprintf(format, args...))
}

// loadSettings reads and validates every config key. It registers nothing;
// on a bad config it returns every problem at once, one per line, each
// naming its key.
func loadSettings(ctx *pulumi.Context) (*settings, error) {
	r := &reader{ctx: ctx}
	s := &settings{
		Mode:              r.str("mode"),
		Location:          r.str("location"),
		Zones:             r.strings("zones"),
		NVACount:          r.integer("nvaCount"),
		NVAVMSize:         r.str("nvaVmSize"),
		MonitorCount:      r.integer("monitorCount"),
		MonitorVMSize:     r.str("monitorVmSize"),
		AdminUsername:     r.str("adminUsername"),
		SSHPublicKey:      strings.TrimSpace(r.str("sshPublicKey")),
		ProbePort:         r.integer("probePort"),
		ProbeKind:         r.str("probeKind"),
		Failback:          r.str("failback"),
		FailureThreshold:  r.integer("failureThreshold"),
		MonitorBinaryPath: r.str("monitorBinaryPath"),
		ResourceGroupName: r.str("resourceGroupName"),
		MonitorSubnetID:   r.str("monitorSubnetId"),
		RoleSubnetIDs:     map[string]string{},
		NVASubnetIDs:      r.strings("nvaSubnetIds"),
		NVANSGIDs:         r.strings("nvaNsgIds"),
		PublicIPID:        r.str("publicIpId"),
		Steering:          r.strings("steering"),
		DNSZoneName:       r.str("dnsZoneName"),
		DNSRecordName:     r.str("dnsRecordName"),
		DNSTTL:            r.integer("dnsTtl"),
		FloatingIP:        r.str("floatingIp"),
		FloatingIPVia:     r.str("floatingIpVia"),
		BackendPoolID:     r.str("backendPoolId"),
		BackendPoolVia:    r.str("backendPoolVia"),
		DNSRecordID:       r.str("dnsRecordId"),
		DNSRecordVia:      r.str("dnsRecordVia"),
	}
	p := &r.problems
	positive := func(key string, into *config.Duration) {
		if d, ok := r.duration(key); ok {
			*into = d
			if d <= 0 {
				p.add(key, "%s must be greater than zero, like %q", d, defaults[key])
			}
		}
	}
	positive("failbackHoldoff", &s.FailbackHoldoff)
	positive("probeInterval", &s.ProbeInterval)
	if d, ok := r.duration("minFailoverInterval"); ok {
		s.MinFailoverInterval = d // zero is allowed: no anti-flap interval
	}
	if d, ok := r.duration("leaseDuration"); ok {
		s.LeaseDuration = d
		if d.D() < config.MinLeaseDuration || d.D() > config.MaxLeaseDuration || d.D()%time.Second != 0 {
			p.add("leaseDuration", "%s; Azure Storage leases last %s to %s, in whole seconds", d,
				config.Duration(config.MinLeaseDuration), config.Duration(config.MaxLeaseDuration))
		}
	}
	for _, role := range nvaRoles {
		if id := r.str(roleSubnetKey(role)); id != "" {
			s.RoleSubnetIDs[role] = id
		}
	}
	r.objects("nvas", &s.NVAs)
	r.objects("routeTables", &s.RouteTables)
	r.unknownKeys()

	s.validateCommon(p, r)
	switch s.Mode {
	case modeSample:
		s.validateSample(p, r)
	case modeProduction:
		s.validateProduction(p, r)
	default:
		p.add("mode", "%q is not a mode; write sample (create everything) or production (bring your own VNet and NVAs)", s.Mode)
	}
	if err := p.err(); err != nil {
		return nil, err
	}
	return s, nil
}

// err returns the problems, sorted, one per line; nil if there are none.
func (p *problems) err() error {
	if len(*p) == 0 {
		return nil
	}
	sort.Strings(*p)
	return errors.New(strings.Join(slices.Compact(*p), "\n"))
}

// reader reads config keys, falling back to their defaults, and records
// values it cannot parse.
type reader struct {
	ctx      *pulumi.Context
	problems problems
}

// raw returns the key's value, or its default if unset; false if it has
// neither (a required key that was not set).
func (r *reader) raw(key string) (string, bool) {
	if v, ok := r.ctx.GetConfig(project + ":" + key); ok {
		return v, true
	}
	if v, ok := defaults[key]; ok {
		return v, true
	}
	return "", false
}

// isDefault reports whether key holds its default value.
func (r *reader) isDefault(key string) bool {
	v, _ := r.raw(key)
	d, ok := defaults[key]
	if !ok {
		return false
	}
	if d == "[]" {
		var a []any
		return json.Unmarshal([]byte(v), &a) == nil && len(a) == 0
	}
	return v == d
}

func (r *reader) str(key string) string {
	v, ok := r.raw(key)
	if !ok {
		r.problems.add(key, "required; set it with `pulumi config set %s <value>`", key)
	}
	return v
}

func (r *reader) integer(key string) int {
	v, _ := r.raw(key)
	n, err := strconv.Atoi(strings.TrimSpace(v))
	if err != nil {
		r.problems.add(key, "%q is not a whole number; write it like %s", v, defaults[key])
		return 0
	}
	return n
}

func (r *reader) duration(key string) (config.Duration, bool) {
	v, _ := r.raw(key)
	d, err := config.ParseDuration(v)
	if err != nil {
		r.problems.add(key, "%v", err)
		return 0, false
	}
	return d, true
}

func (r *reader) strings(key string) []string {
	v, _ := r.raw(key)
	var out []string
	if err := json.Unmarshal([]byte(v), &out); err != nil {
		r.problems.add(key, "%q is not a list of strings; write it like [\"a\", \"b\"] (pulumi config set --path '%s[0]' a)", v, key)
		return nil
	}
	return out
}

// objects decodes a list of objects strictly: an unknown field is a problem
// naming it (a typo would otherwise be ignored).
func (r *reader) objects(key string, into any) {
	v, _ := r.raw(key)
	dec := json.NewDecoder(bytes.NewReader([]byte(v)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(into); err != nil {
		r.problems.add(key, "%s; see the description of %s in Pulumi.yaml", jsonProblem(err), key)
	}
}

// jsonProblem rewrites a JSON decoding error in the config's terms.
func jsonProblem(err error) string {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		if te.Field != "" {
			want := "a string"
			switch te.Type.Kind() {
			case reflect.Slice:
				want = "a list"
			case reflect.Struct:
				want = "an object"
			}
			return fmt.Sprintf("field %s is a JSON %s, want %s", te.Field, te.Value, want)
		}
		return fmt.Sprintf("a JSON %s is not a list of objects", te.Value)
	}
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return fmt.Sprintf("not valid JSON (%v at byte %d)", se, se.Offset)
	}
	return strings.TrimPrefix(err.Error(), "json: ")
}

// unknownKeys reports keys of this project's namespace that the program does
// not read: the Pulumi CLI passes them on without complaint, and a misspelt
// key would silently leave its default in place. The program sees the stack
// config as the JSON map in PULUMI_CONFIG (pulumi.EnvConfig), which is also
// what the Go SDK reads; there is no Context method that lists the keys.
func (r *reader) unknownKeys() {
	var all map[string]string
	if err := json.Unmarshal([]byte(os.Getenv(pulumi.EnvConfig)), &all); err != nil {
		return
	}
	for k := range all {
		key, ok := strings.CutPrefix(k, project+":")
		if !ok || isKnown(key) {
			continue
		}
		hint := "see Pulumi.yaml for the keys"
		for known := range defaults {
			if strings.EqualFold(known, key) {
				hint = "did you mean " + known + "?"
			}
		}
		if strings.EqualFold(key, required[0]) {
			hint = "did you mean " + required[0] + "?"
		}
		r.problems.add(key, "not a config key of this project; %s", hint)
	}
}

func isKnown(key string) bool {
	_, ok := defaults[key]
	return ok || slices.Contains(required, key)
}

var (
	locationRE = regexp.MustCompile(`^[a-z][a-z0-9]*$`)
	vmSizeRE   = regexp.MustCompile(`^(Standard|Basic)_[A-Za-z0-9_]+$`)
	// NVA names as the monitor's config accepts them.
	nvaNameRE = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$`)
	// Azure route table and route names: 1-80 characters, letters, digits,
	// '_', '.', '-'; begins with a letter or digit, ends with a letter,
	// digit or '_'.
	azureNameRE = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9_.-]{0,78}[A-Za-z0-9_])?$`)
)

func (s *settings) validateCommon(p *problems, r *reader) {
	if !locationRE.MatchString(s.Location) {
		p.add("location", "%q is not an Azure region name; write it like westeurope (az account list-locations -o table)", s.Location)
	}
	seen := map[string]bool{}
	for i, z := range s.Zones {
		switch {
		case z != "1" && z != "2" && z != "3":
			p.add("zones", "[%d] %q is not an availability zone; write \"1\", \"2\" or \"3\"", i, z)
		case seen[z]:
			p.add("zones", "[%d] zone %q is listed twice", i, z)
		}
		seen[z] = true
	}
	switch {
	case s.MonitorCount < 1:
		p.add("monitorCount", "%d; at least 1 monitor is needed (2 survive the loss of one)", s.MonitorCount)
	case s.MonitorCount > maxMonitors:
		p.add("monitorCount", "%d; at most %d monitors (more only add storage requests; 2 or 3 are plenty)", s.MonitorCount, maxMonitors)
	}
	if !vmSizeRE.MatchString(s.MonitorVMSize) {
		p.add("monitorVmSize", "%q is not a VM size; write it like Standard_B1s", s.MonitorVMSize)
	}
	if err := components.CheckAdminUsername(s.AdminUsername); err != nil {
		p.add("adminUsername", "%v", err)
	}
	if _, given := r.raw("sshPublicKey"); given {
		if err := checkSSHKey(s.SSHPublicKey); err != nil {
			p.add("sshPublicKey", "%v", err)
		}
	}
	if s.ProbePort < 1 || s.ProbePort > 65535 {
		p.add("probePort", "%d is not a TCP port; write 1 to 65535, like 8080", s.ProbePort)
	}
	if s.ProbeKind != config.ProbeHTTP && s.ProbeKind != config.ProbeTCP {
		p.add("probeKind", "%q is not a probe kind; write http (GET / must answer 2xx) or tcp (a connection must be accepted)", s.ProbeKind)
	}
	if s.Failback != config.FailbackNever && s.Failback != config.FailbackPreferred {
		p.add("failback", "%q is not a failback policy; write never (stay on the survivor) or preferred (return to the first NVA)", s.Failback)
	}
	if s.FailureThreshold < 1 {
		p.add("failureThreshold", "%d; at least 1 failed probe must mark an NVA down (default 3)", s.FailureThreshold)
	}
	if s.MonitorBinaryPath != "" {
		if err := checkLinuxAMD64(s.MonitorBinaryPath); err != nil {
			p.add("monitorBinaryPath", "%v; give a prebuilt nva-monitor (GOOS=linux GOARCH=amd64), or leave it empty to build one from source", err)
		}
	}
	if s.ResourceGroupName != "" && !resourceGroupRE.MatchString(s.ResourceGroupName) {
		p.add("resourceGroupName", "%q is not a resource group name: 1 to 90 letters, digits, '_', '-', '.', '(' or ')', not ending in '.'", s.ResourceGroupName)
	}
}

// Limits of the counts.
const (
	minNVAs     = 2
	maxNVAs     = 10
	maxMonitors = 7
)

func (s *settings) validateSample(p *problems, r *reader) {
	for _, key := range productionOnly {
		if !r.isDefault(key) {
			p.add(key, "only used in production mode; remove it, or set mode production")
		}
	}
	switch {
	case s.NVACount < minNVAs:
		p.add("nvaCount", "%d; HA needs at least %d NVAs", s.NVACount, minNVAs)
	case s.NVACount > maxNVAs:
		p.add("nvaCount", "%d; at most %d NVAs", s.NVACount, maxNVAs)
	}
	if !vmSizeRE.MatchString(s.NVAVMSize) {
		p.add("nvaVmSize", "%q is not a VM size; write it like Standard_B2s", s.NVAVMSize)
	}
	if err := components.CheckSteering(s.Steering); err != nil {
		p.add("steering", "%s", strings.TrimPrefix(strings.TrimPrefix(err.Error(), "components: HaNvaArgs.Steering"), ": "))
	}
	if !slices.Contains(s.Steering, components.SteerDNS) {
		for _, key := range []string{"dnsZoneName", "dnsRecordName", "dnsTtl"} {
			if !r.isDefault(key) {
				p.add(key, "only used when steering lists %q; add it (pulumi config set --path 'steering[N]' dns) or remove %s", components.SteerDNS, key)
			}
		}
	} else if err := components.CheckPrivateDNS(s.DNSZoneName, s.DNSRecordName, s.DNSTTL); err != nil {
		msg := err.Error()
		key := map[string]string{"DNSZoneName": "dnsZoneName", "DNSRecordName": "dnsRecordName", "DNSTTL": "dnsTtl"}
		for field, k := range key {
			if rest, ok := strings.CutPrefix(msg, "components: HaNvaArgs."+field+": "); ok {
				p.add(k, "%s", rest)
			}
		}
	}
}

// sampleSteering is the sample's HaNva steering arguments.
func (s *settings) sampleSteering(a *components.HaNvaArgs) {
	a.Steering = s.Steering
	if slices.Contains(s.Steering, components.SteerDNS) {
		a.DNSZoneName, a.DNSRecordName, a.DNSTTL = s.DNSZoneName, s.DNSRecordName, s.DNSTTL
	}
}

func (s *settings) validateProduction(p *problems, r *reader) {
	for _, key := range sampleOnly {
		if !r.isDefault(key) {
			p.add(key, "only used in sample mode (production takes your NVAs from nvas); remove it, or set mode sample")
		}
	}
	if s.ResourceGroupName == "" {
		p.add("resourceGroupName", "required in production mode: the existing resource group for the route tables, monitors and storage")
	}
	if s.MonitorSubnetID == "" {
		p.add("monitorSubnetId", "required in production mode: the subnet of the monitor VMs, next to the NVAs' probed NICs")
	} else if err := checkSubnetID(s.MonitorSubnetID); err != nil {
		p.add("monitorSubnetId", "%v", err)
	}
	s.validateRoleSubnets(p)
	seen := map[string]int{}
	for i, id := range s.NVASubnetIDs {
		if err := checkSubnetID(id); err != nil {
			p.add("nvaSubnetIds", "[%d] %v", i, err)
		} else if j, dup := seen[strings.ToLower(id)]; dup {
			p.add("nvaSubnetIds", "[%d] is also [%d]; list each subnet once", i, j)
		}
		seen[strings.ToLower(id)] = i
	}
	clear(seen)
	for i, id := range s.NVANSGIDs {
		if err := checkResourceID(id, "Microsoft.Network/networkSecurityGroups"); err != nil {
			p.add("nvaNsgIds", "[%d] %v", i, err)
		} else if j, dup := seen[strings.ToLower(id)]; dup {
			p.add("nvaNsgIds", "[%d] is also [%d]; list each NSG once", i, j)
		}
		seen[strings.ToLower(id)] = i
	}
	s.validateNVAs(p)
	s.validateRouteTables(p)
	if s.PublicIPID != "" {
		if err := checkResourceID(s.PublicIPID, config.TypePublicIPAddress); err != nil {
			p.add("publicIpId", "%v", err)
		}
	}
	s.validateSteered(p)
	if len(s.RouteTables) == 0 && s.PublicIPID == "" && s.FloatingIP == "" && s.BackendPoolID == "" && s.DNSRecordID == "" {
		p.add("routeTables", "none, and no publicIpId, floatingIp, backendPoolId or dnsRecordId: give the monitors at least one route table or a public IP to move")
	}
}

// validateSteered checks the production keys of the other ways of
// steering: an address, a backend pool's ID, a record set's ID, each with
// its NIC role.
func (s *settings) validateSteered(p *problems) {
	for _, v := range []struct{ key, val, of string }{
		{"floatingIpVia", s.FloatingIPVia, "floatingIp"}, {"backendPoolVia", s.BackendPoolVia, "backendPoolId"}, {"dnsRecordVia", s.DNSRecordVia, "dnsRecordId"},
	} {
		if v.val != components.RoleInternal && v.val != components.RoleExternal {
			p.add(v.key, "%q is not an NVA NIC role; write internal or external (the NICs whose address %s follows)", v.val, v.of)
		}
	}
	if s.FloatingIP != "" {
		if a, err := netip.ParseAddr(s.FloatingIP); err != nil || !a.Is4() {
			p.add("floatingIp", "%q is not an IPv4 address; write the static private IP that follows the active NVA, like 10.0.0.112", s.FloatingIP)
		}
		for i, n := range s.NVAs {
			for _, role := range nvaRoles {
				if n.IP(role) == s.FloatingIP {
					p.add("floatingIp", "%s is also nvas[%d].%s; the floating IP needs an address of its own", s.FloatingIP, i, ipKey(role))
				}
			}
		}
	}
	if s.BackendPoolID != "" {
		if err := checkChildID(s.BackendPoolID, "Microsoft.Network/loadBalancers", "backendAddressPools"); err != nil {
			p.add("backendPoolId", "%v", err)
		}
	}
	if s.DNSRecordID != "" {
		if err := checkChildID(s.DNSRecordID, "Microsoft.Network/privateDnsZones", "A", "AAAA"); err != nil {
			p.add("dnsRecordId", "%v", err)
		}
	}
	if len(s.RouteTables) > 0 && (s.FloatingIP != "" || s.BackendPoolID != "") {
		p.add("routeTables", "the program's route tables follow the active NVA by having their next hops rewritten; with floatingIp or backendPoolId "+
			"point your own route tables at the floating IP or the load balancer's frontend instead (they never change), or leave those keys out")
	}
}

// checkChildID checks that id is a child resource {parent}/{kind}/{name}
// of a top-level resource of type parentType, kind one of kinds.
func checkChildID(id, parentType string, kinds ...string) error {
	segs := strings.Split(id, "/")
	if len(segs) < 3 {
		return fmt.Errorf("%q is not a resource ID; write it like /subscriptions/…/providers/%s/{name}/%s/{name}", id, parentType, kinds[0])
	}
	parent, kind, name := strings.Join(segs[:len(segs)-2], "/"), segs[len(segs)-2], segs[len(segs)-1]
	if err := checkResourceID(parent, parentType); err != nil || name == "" || !slices.ContainsFunc(kinds, func(k string) bool { return strings.EqualFold(k, kind) }) {
		return fmt.Errorf("%q is not the ID of a %s's %s; write it like /subscriptions/…/providers/%s/{name}/%s/{name}",
			id, parentType, strings.Join(kinds, " or "), parentType, kinds[0])
	}
	return nil
}

// validateRoleSubnets checks nvaExternalSubnetId and nvaInternalSubnetId:
// both or neither, each a subnet ID, not the same subnet.
func (s *settings) validateRoleSubnets(p *problems) {
	if len(s.RoleSubnetIDs) == 0 {
		return
	}
	for _, role := range nvaRoles {
		id, ok := s.RoleSubnetIDs[role]
		if !ok {
			other := roleSubnetKey(nvaRoles[0])
			if role == nvaRoles[0] {
				other = roleSubnetKey(nvaRoles[1])
			}
			p.add(roleSubnetKey(role), "required with %s: the NICs' roles are told by their subnets, so give both subnets (or neither, to tell them by the NICs' names)", other)
			continue
		}
		if err := checkSubnetID(id); err != nil {
			p.add(roleSubnetKey(role), "%v", err)
		}
	}
	if ext, in := s.RoleSubnetIDs[components.RoleExternal], s.RoleSubnetIDs[components.RoleInternal]; ext != "" && strings.EqualFold(ext, in) {
		p.add(roleSubnetKey(components.RoleInternal), "the same subnet as %s; the external and internal NICs must be in different subnets to be told apart by subnet", roleSubnetKey(components.RoleExternal))
	}
}

// validateNVAs checks the shape of each nvas entry: what is in Azure (that a
// NIC belongs to the VM, that an IP is the NIC's) is checked by readNVAs.
func (s *settings) validateNVAs(p *problems) {
	if len(s.NVAs) < minNVAs {
		p.add("nvas", "%d NVAs; HA needs at least %d, each {\"name\", \"vmId\"} or {\"name\", \"externalNicId\", \"internalNicId\"}", len(s.NVAs), minNVAs)
	}
	names, ids, ips := map[string]int{}, map[string]string{}, map[string]string{}
	// unique records id (compared ignoring case, as ARM does) under key and
	// reports a second use.
	unique := func(key, id, what string) {
		if other, dup := ids[strings.ToLower(id)]; dup {
			p.add(key, "the %s is also %s; every NVA has its own", what, other)
		}
		ids[strings.ToLower(id)] = key
	}
	for i, n := range s.NVAs {
		at := fmt.Sprintf("nvas[%d]", i)
		switch j, dup := names[n.Name]; {
		case !nvaNameRE.MatchString(n.Name):
			p.add(at+".name", "%q is not an NVA name: 1 to 63 letters, digits and '-', starting and ending with a letter or digit", n.Name)
		case dup:
			p.add(at+".name", "%q is also the name of nvas[%d]; names must be unique", n.Name, j)
		}
		names[n.Name] = i
		if n.VMID != "" {
			if err := checkResourceID(n.VMID, typeVirtualMachine); err != nil {
				p.add(at+".vmId", "%v", err)
			} else {
				unique(at+".vmId", n.VMID, "VM")
			}
		}
		for _, role := range nvaRoles {
			key := at + "." + nicKey(role)
			id := n.NICID(role)
			switch {
			case id == "" && n.VMID == "":
				p.add(key, "required without vmId; give the NVA's VM as vmId (its NICs are then read from Azure), or both NICs' IDs")
			case id == "":
			case checkResourceID(id, config.TypeNetworkInterface) != nil:
				p.add(key, "%v", checkResourceID(id, config.TypeNetworkInterface))
			default:
				unique(key, id, "NIC")
			}
		}
		for _, role := range nvaRoles {
			key := at + "." + ipKey(role)
			ip := n.IP(role)
			if ip == "" {
				continue
			}
			if a, err := netip.ParseAddr(ip); err != nil || !a.Is4() {
				p.add(key, "%q is not an IPv4 address; write the NIC's private IP, like 10.0.0.100, or leave it out to use the NIC's primary private IP", ip)
				continue
			}
			if other, dup := ips[ip]; dup {
				p.add(key, "%s is also %s; every NVA NIC has its own IP", ip, other)
			}
			ips[ip] = key
		}
	}
}

func (s *settings) validateRouteTables(p *problems) {
	tables := map[string]int{}
	for i, t := range s.RouteTables {
		at := fmt.Sprintf("routeTables[%d]", i)
		switch j, dup := tables[strings.ToLower(t.Name)]; {
		case !azureNameRE.MatchString(t.Name):
			p.add(at+".name", "%q is not a route table name: 1 to 80 letters, digits, '_', '.' or '-', "+
				"starting with a letter or digit and ending with a letter, digit or '_'", t.Name)
		case dup:
			p.add(at+".name", "%q is also the name of routeTables[%d]; names must be unique", t.Name, j)
		}
		tables[strings.ToLower(t.Name)] = i
		if t.Via != components.RoleInternal && t.Via != components.RoleExternal {
			p.add(at+".via", "%q is not an NVA NIC role; write internal or external (every route of a table points at that one role)", t.Via)
		}
		if len(t.Routes) == 0 {
			p.add(at+".routes", "empty; give at least one route, like {\"name\": \"default\", \"addressPrefix\": \"0.0.0.0/0\"}")
		}
		routes := map[string]int{}
		for k, rt := range t.Routes {
			rat := fmt.Sprintf("%s.routes[%d]", at, k)
			switch j, dup := routes[strings.ToLower(rt.Name)]; {
			case !azureNameRE.MatchString(rt.Name):
				p.add(rat+".name", "%q is not a route name: 1 to 80 letters, digits, '_', '.' or '-'", rt.Name)
			case dup:
				p.add(rat+".name", "%q is also the name of routes[%d]; names must be unique in a table", rt.Name, j)
			}
			routes[strings.ToLower(rt.Name)] = k
			pfx, err := netip.ParsePrefix(rt.AddressPrefix)
			switch {
			case err != nil || !pfx.Addr().Is4():
				p.add(rat+".addressPrefix", "%q is not an IPv4 CIDR; write it like 0.0.0.0/0 or 10.0.1.0/24", rt.AddressPrefix)
			case pfx.Masked() != pfx:
				p.add(rat+".addressPrefix", "%q has host bits set; write %s", rt.AddressPrefix, pfx.Masked())
			}
		}
	}
}

// typeVirtualMachine is the full resource type of a VM.
const typeVirtualMachine = "Microsoft.Compute/virtualMachines"

// checkResourceID checks that id is a well-formed ARM ID of the full type typ.
func checkResourceID(id, typ string) error {
	rid, err := config.ParseResourceID(id)
	if err != nil {
		return err
	}
	if !rid.IsType(typ) {
		return fmt.Errorf("%q is a %s, want a %s", id, rid.FullType(), typ)
	}
	return nil
}

// checkSubnetID checks that id is a subnet's ARM ID:
// /subscriptions/{s}/resourceGroups/{g}/providers/Microsoft.Network/virtualNetworks/{v}/subnets/{name}.
func checkSubnetID(id string) error {
	_, _, err := parseSubnetID(id)
	return err
}

// parseSubnetID splits a subnet's ARM ID into its VNet's ID and its name.
func parseSubnetID(id string) (vnet config.ResourceID, subnet string, err error) {
	const example = "/subscriptions/{subscription}/resourceGroups/{group}/providers/Microsoft.Network/virtualNetworks/{vnet}/subnets/{subnet}"
	i := strings.LastIndex(strings.ToLower(id), "/subnets/")
	if i < 0 || strings.Contains(id[i+len("/subnets/"):], "/") || id[i+len("/subnets/"):] == "" {
		return vnet, "", fmt.Errorf("%q is not a subnet ID; write it like %s", id, example)
	}
	if err := checkResourceID(id[:i], "Microsoft.Network/virtualNetworks"); err != nil {
		return vnet, "", fmt.Errorf("%q is not a subnet ID (%v); write it like %s", id, err, example)
	}
	vnet, _ = config.ParseResourceID(id[:i])
	return vnet, id[i+len("/subnets/"):], nil
}

var resourceGroupRE = regexp.MustCompile(`^[-\w.()]{0,89}[-\w()]$`)

// checkSSHKey checks an OpenSSH public key line against what Azure accepts
// for Linux VMs: SSH-2 RSA of at least 2048 bits, or ED25519 (learn.microsoft.com,
// "Detailed steps: Create and manage SSH keys", Supported SSH key formats).
// A key Azure refuses would otherwise fail the deployment half-way.
func checkSSHKey(key string) error {
	const want = "an OpenSSH public key line like \"ssh-ed25519 AAAAC3Nza... you@host\" (the .pub file)"
	if strings.Contains(key, "PRIVATE KEY") {
		return errors.New("this is a PRIVATE key; never put it in config. Give " + want)
	}
	fields := strings.Fields(key)
	if len(fields) < 2 {
		return fmt.Errorf("not %s", want)
	}
	typ := fields[0]
	blob, err := base64.StdEncoding.DecodeString(fields[1])
	if err != nil {
		return fmt.Errorf("the key data after %q is not base64; give %s", typ, want)
	}
	inner, rest, ok := sshString(blob)
	if !ok || string(inner) != typ {
		return fmt.Errorf("the key data does not hold a %s key; give %s", typ, want)
	}
	switch typ {
	case "ssh-ed25519":
		if pk, _, ok := sshString(rest); !ok || len(pk) != 32 {
			return errors.New("a truncated ssh-ed25519 key; copy the whole line of the .pub file")
		}
	case "ssh-rsa":
		_, rest, ok1 := sshString(rest) // exponent
		n, _, ok2 := sshString(rest)    // modulus
		if !ok1 || !ok2 {
			return errors.New("a truncated ssh-rsa key; copy the whole line of the .pub file")
		}
		if bits := new(big.Int).SetBytes(n).BitLen(); bits < 2048 {
			return fmt.Errorf("an RSA key of %d bits; Azure needs at least 2048 (ssh-keygen -t rsa -b 4096, or -t ed25519)", bits)
		}
	default:
		return fmt.Errorf("a %s key; Azure takes ssh-rsa (2048 bits or more) or ssh-ed25519 keys only", typ)
	}
	return nil
}

// checkLinuxAMD64 checks that path is a 64-bit x86-64 ELF executable, the
// only thing the monitor VMs (Ubuntu on amd64) can run. The Monitor
// component checks the same, but only once the program has started
// registering resources.
func checkLinuxAMD64(path string) error {
	fi, err := os.Stat(path)
	if err != nil {
		return err
	}
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("%s is not a regular file", path)
	}
	f, err := elf.Open(path)
	if err != nil {
		return fmt.Errorf("%s is not a linux/amd64 executable (%v)", path, err)
	}
	defer f.Close()
	if f.Class != elf.ELFCLASS64 || f.Machine != elf.EM_X86_64 || (f.Type != elf.ET_EXEC && f.Type != elf.ET_DYN) {
		return fmt.Errorf("%s is a %s %s %s, not a linux/amd64 executable", path, f.Class, f.Machine, f.Type)
	}
	return nil
}

// sshString reads one SSH wire-format string (uint32 length, bytes).
func sshString(b []byte) (s, rest []byte, ok bool) {
	if len(b) < 4 {
		return nil, nil, false
	}
	n := binary.BigEndian.Uint32(b)
	if uint64(len(b)-4) < uint64(n) {
		return nil, nil, false
	}
	return b[4 : 4+n], b[4+n:], true
}
