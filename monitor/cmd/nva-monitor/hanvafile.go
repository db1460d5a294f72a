package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
)

// haFile is what `import-hanva` takes from mspnp/ha-nva's daemon
// configuration, nvadaemon-remote.json: the template
// https://github.com/mspnp/ha-nva/blob/master/ha-nva-deployment/scripts/nvadaemon-remote.json,
// read by the Jackson classes AzureProbeMonitorConfiguration, AzureConfiguration,
// NvaConfiguration and NamedResourceId in
// https://github.com/mspnp/ha-nva/tree/master/nvadaemon-azure.
type haFile struct {
	Subscription string // settings.azure.subscriptionId
	// Probe timing in milliseconds as the file gives it; ok is false when
	// the key is absent (mspnp/ha-nva's own default then applies).
	Failures, IntervalMS, TimeoutMS haNumber
	RouteTables                     []string // resource IDs
	PublicIPs                       []haNamedID
	NVAs                            []haNVA
}

type haNumber struct {
	Value int64
	Set   bool
}

// haNamedID is mspnp/ha-nva's NamedResourceId: a role name and an ID.
type haNamedID struct{ Name, ID string }

type haNVA struct {
	NICs      []haNamedID // name: the role shared by the NVAs' counterpart NICs
	ProbeNIC  string      // probeNetworkInterface: the NIC whose primary private IP is probed
	ProbePort int64
}

// mspnp/ha-nva's defaults for the probe keys (AzureProbeMonitorConfiguration).
const (
	haDefaultFailures   = 3
	haDefaultIntervalMS = 3000
	haDefaultTimeoutMS  = 10000
)

// haSettingsPath is where the probe monitor's settings sit in the file.
const haSettingsPath = "daemon.monitors[0].settings"

// haReader walks the decoded JSON. It only ever quotes key paths, numbers
// and resource IDs, never another value: the file holds the service
// principal's secrets in plain text.
type haReader struct {
	problems []string // bad input: exit 2
	notes    []string // report lines: keys not mapped (with what to do instead), values changed
	secrets  []string // every string that is or may be a secret, for redact
}

func (r *haReader) bad(path, format string, args ...any) {
	r.problems = append(r.problems, path+": "+fmt.Sprintf(format, args...))
}

func (r *haReader) note(path, format string, args ...any) {
	r.notes = append(r.notes, "NOT MAPPED  "+path+": "+fmt.Sprintf(format, args...))
}

// parseHAFile decodes nvadaemon-remote.json. Problems that make the file
// unusable come back as one error naming each field; keys hanva has no
// counterpart for come back as notes.
func parseHAFile(data []byte) (*haFile, *haReader, error) {
	r := &haReader{}
	var root any
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if err := dec.Decode(&root); err != nil {
		// The decoder's message may quote a character of the file, which
		// may be part of a secret: give the line only.
		var se *json.SyntaxError
		line := 0
		if errors.As(err, &se) {
			line = 1 + bytes.Count(data[:min(int(se.Offset), len(data))], []byte("\n"))
		}
		if line > 0 {
			return nil, r, usagef("not valid JSON near line %d: check the commas, quotes and braces there (nvadaemon-remote.json is JSON)", line)
		}
		return nil, r, usagef("not valid JSON (it ends too early or is empty): nvadaemon-remote.json is one JSON object")
	}
	collectSecrets(root, false, &r.secrets)

	f := &haFile{}
	top, ok := r.object("(top level)", root)
	if !ok {
		return nil, r, r.err()
	}
	r.unknown("", top, "zookeeper", "daemon")
	if zk, ok := top["zookeeper"]; ok {
		keys := "zookeeper"
		if m, ok := zk.(map[string]any); ok && len(m) > 0 {
			keys += " (" + strings.Join(slices.Sorted(maps.Keys(m)), ", ") + ")"
		}
		r.note(keys, "hanva elects the monitor that acts with an Azure Storage blob lease, not ZooKeeper; "+
			"lease.url is the --lease-url given, grant each monitor's identity Storage Blob Data Contributor on its container "+
			"(see docs/operations.md#migrating-from-mspnpha-nva); retire the ZooKeeper ensemble after the switch")
	}
	daemon, ok := r.object("daemon", top["daemon"])
	if !ok {
		return nil, r, r.err()
	}
	r.unknown("daemon", daemon, "shutdownAwaitTime", "monitors")
	if _, ok := daemon["shutdownAwaitTime"]; ok {
		r.note("daemon.shutdownAwaitTime", "hanva stops writing to Azure before it gives up its lease on shutdown, "+
			"with no wait to configure; nothing to do (systemd's TimeoutStopSec bounds the stop)")
	}
	monitors, ok := daemon["monitors"].([]any)
	switch {
	case !ok:
		r.bad("daemon.monitors", "is missing or not a list; the file needs the one AzureProbeMonitor entry of the template")
		return nil, r, r.err()
	case len(monitors) == 0:
		r.bad("daemon.monitors", "is empty; the file needs the one AzureProbeMonitor entry of the template")
		return nil, r, r.err()
	case len(monitors) > 1:
		r.bad("daemon.monitors", "has %d entries and a hanva config manages one NVA group: split the file into one file per entry "+
			"(each keeping zookeeper and daemon around its single monitors entry) and import each into its own config, with its own --lease-url", len(monitors))
		return nil, r, r.err()
	}
	mon, ok := r.object("daemon.monitors[0]", monitors[0])
	if !ok {
		return nil, r, r.err()
	}
	r.unknown("daemon.monitors[0]", mon, "monitorClass", "settings")
	if c, ok := mon["monitorClass"].(string); ok && !strings.HasSuffix(c, ".AzureProbeMonitor") {
		r.note("daemon.monitors[0].monitorClass", "the class is not com.microsoft.azure.practices.nvadaemon.AzureProbeMonitor; "+
			"hanva probes over TCP like AzureProbeMonitor: check that the imported probes test what your monitor class tested")
	}
	s, ok := r.object(haSettingsPath, mon["settings"])
	if !ok {
		return nil, r, r.err()
	}
	r.unknown(haSettingsPath, s, "azure", "numberOfFailuresThreshold", "probeConnectTimeout", "probePollingInterval",
		"routeTables", "publicIpAddresses", "nvas")
	f.Failures = r.number(haSettingsPath+".numberOfFailuresThreshold", s)
	f.TimeoutMS = r.number(haSettingsPath+".probeConnectTimeout", s)
	f.IntervalMS = r.number(haSettingsPath+".probePollingInterval", s)
	r.azure(f, s["azure"])

	if v, ok := s["routeTables"]; ok {
		list, ok := v.([]any)
		if !ok {
			r.bad(haSettingsPath+".routeTables", "is not a list of route table resource IDs")
		}
		for i, e := range list {
			id, ok := e.(string)
			if !ok || id == "" {
				r.bad(fmt.Sprintf("%s.routeTables[%d]", haSettingsPath, i), "is not a route table resource ID string")
				continue
			}
			f.RouteTables = append(f.RouteTables, id)
		}
	}
	if v, ok := s["publicIpAddresses"]; ok {
		f.PublicIPs = r.namedIDs(haSettingsPath+".publicIpAddresses", v)
	}
	nvas, ok := s["nvas"].([]any)
	if !ok {
		r.bad(haSettingsPath+".nvas", "is missing or not a list; list the NVAs, each with networkInterfaces, probeNetworkInterface and probePort")
		return nil, r, r.err()
	}
	for i, e := range nvas {
		p := fmt.Sprintf("%s.nvas[%d]", haSettingsPath, i)
		m, ok := r.object(p, e)
		if !ok {
			continue
		}
		r.unknown(p, m, "networkInterfaces", "probeNetworkInterface", "probePort")
		n := haNVA{NICs: r.namedIDs(p+".networkInterfaces", m["networkInterfaces"])}
		if len(n.NICs) == 0 {
			r.bad(p+".networkInterfaces", "is missing or empty; each NVA needs its NICs as {\"name\": ROLE, \"id\": NIC resource ID}")
		}
		n.ProbeNIC, _ = m["probeNetworkInterface"].(string)
		if n.ProbeNIC == "" {
			r.bad(p+".probeNetworkInterface", "is missing; it names the NIC (by resource ID) whose private IP is probed")
		}
		port := r.number(p+".probePort", m)
		switch {
		case !port.Set:
			r.bad(p+".probePort", "is missing; it is the TCP port the monitor connects to")
		case port.Value < 1 || port.Value > 65535:
			r.bad(p+".probePort", "%d is not a TCP port (1 to 65535)", port.Value)
		}
		n.ProbePort = port.Value
		f.NVAs = append(f.NVAs, n)
	}
	if len(r.problems) > 0 {
		return nil, r, r.err()
	}
	return f, r, nil
}

func (r *haReader) err() error {
	if len(r.problems) == 0 {
		return nil
	}
	return problemsError(r.problems)
}

func (r *haReader) object(path string, v any) (map[string]any, bool) {
	m, ok := v.(map[string]any)
	if !ok {
		if v == nil {
			r.bad(path, "is missing; this does not look like mspnp/ha-nva's nvadaemon-remote.json")
		} else {
			r.bad(path, "is not a JSON object; this does not look like mspnp/ha-nva's nvadaemon-remote.json")
		}
	}
	return m, ok
}

// unknown notes every key of m that is not in known, by name only.
func (r *haReader) unknown(path string, m map[string]any, known ...string) {
	for _, k := range slices.Sorted(maps.Keys(m)) {
		if !slices.Contains(known, k) {
			p := k
			if path != "" {
				p = path + "." + k
			}
			r.note(p, "unknown to this importer (its value is not shown); check whether your setup needs it and configure hanva by hand (docs/monitor.md)")
		}
	}
}

func (r *haReader) number(path string, m map[string]any) haNumber {
	key := path[strings.LastIndex(path, ".")+1:]
	v, ok := m[key]
	if !ok {
		return haNumber{}
	}
	n, ok := v.(json.Number)
	if !ok {
		r.bad(path, "is not a number")
		return haNumber{}
	}
	i, err := n.Int64()
	if err != nil {
		r.bad(path, "%s is not a whole number", n)
		return haNumber{}
	}
	return haNumber{Value: i, Set: true}
}

func (r *haReader) namedIDs(path string, v any) []haNamedID {
	list, ok := v.([]any)
	if !ok {
		if v != nil {
			r.bad(path, "is not a list of {\"name\": ..., \"id\": ...}")
		}
		return nil
	}
	var out []haNamedID
	for i, e := range list {
		p := fmt.Sprintf("%s[%d]", path, i)
		m, ok := r.object(p, e)
		if !ok {
			continue
		}
		r.unknown(p, m, "name", "id")
		name, _ := m["name"].(string)
		id, _ := m["id"].(string)
		if name == "" {
			r.bad(p+".name", "is missing; it names the NIC role shared by the NVAs, like nic1")
		}
		if id == "" {
			r.bad(p+".id", "is missing; it is the resource ID")
		}
		out = append(out, haNamedID{Name: name, ID: id})
	}
	return out
}

// azure reads settings.azure: the subscription, and notes the service
// principal (by key name only) as not mapped.
func (r *haReader) azure(f *haFile, v any) {
	p := haSettingsPath + ".azure"
	if v == nil {
		return
	}
	m, ok := r.object(p, v)
	if !ok {
		return
	}
	r.unknown(p, m, "subscriptionId", "servicePrincipal")
	f.Subscription, _ = m["subscriptionId"].(string)
	sp, ok := m["servicePrincipal"].(map[string]any)
	if !ok {
		return
	}
	keys := slices.Sorted(maps.Keys(sp))
	if c, ok := sp["clientCertificate"].(map[string]any); ok {
		for _, k := range slices.Sorted(maps.Keys(c)) {
			keys = append(keys, "clientCertificate."+k)
		}
	}
	r.note(p+".servicePrincipal ("+strings.Join(keys, ", ")+")",
		"no secret or password of it is copied anywhere: hanva signs in with the monitor VMs' managed identity "+
			"(credential.kind: managedIdentity, the default); assign it the roles hanva's Pulumi Monitor component creates "+
			"(see docs/deploy.md), or for a trial from a workstation set credential.kind: azureCLI. "+
			"Then delete the service principal's secret or certificate in Microsoft Entra ID and the file holding it")
}

// secretKeyRE matches key names whose values are secrets.
var secretKeyRE = regexp.MustCompile(`(?i)secret|passw|passphrase|token|apikey|api_key|privatekey|private_key|credential|certificate`)

// collectSecrets gathers every string under a key that names a secret and
// every string of servicePrincipal but its IDs: redact removes them from
// anything the command prints.
func collectSecrets(v any, secret bool, out *[]string) {
	switch v := v.(type) {
	case map[string]any:
		for k, e := range v {
			s := secret || secretKeyRE.MatchString(k)
			if k == "servicePrincipal" {
				if m, ok := e.(map[string]any); ok {
					for kk, ee := range m {
						collectSecrets(ee, kk != "clientId" && kk != "tenantId", out)
					}
					continue
				}
			}
			collectSecrets(e, s, out)
		}
	case []any:
		for _, e := range v {
			collectSecrets(e, secret, out)
		}
	case string:
		if secret && v != "" {
			*out = append(*out, v)
		}
	case json.Number:
		if secret {
			*out = append(*out, v.String())
		}
	}
}

// redact replaces every secret in s; the longest first, so a secret that
// contains another goes whole.
func redact(s string, secrets []string) string {
	sorted := slices.Clone(secrets)
	slices.SortFunc(sorted, func(a, b string) int { return len(b) - len(a) })
	for _, sec := range sorted {
		s = strings.ReplaceAll(s, sec, "[redacted]")
	}
	return s
}
