package lab

import (
	"fmt"
	"net/url"
	"slices"
	"strings"

	"github.com/hanva/hanva/monitor/config"
)

// Local says where the lab's emulators listen, for Localize.
type Local struct {
	ARMEndpoint string // armsim's https URL
	CAFile      string // PEM of armsim's CA
	TokenFile   string // a bearer token armsim accepts
	// BlobService is the emulator's blob service URL
	// (http://127.0.0.1:PORT/devstoreaccount1) and AccountKeyFile its shared
	// key.
	BlobService    string
	AccountKeyFile string
	// Probes maps an NVA name to the "127.0.0.1:PORT" of its stand-in.
	Probes map[string]string
	// Listen is the monitor's HTTP endpoint.
	Listen string
}

// Localize turns a generated monitor config into one instance's config
// against the local emulators: ARM at armsim (static token, its CA), the
// lease blob at the same container and blob name in the storage emulator
// (shared key), each NVA's probe at its stand-in (kind and path kept), a
// local listen address and JSON logs. Everything else (NVAs, NICs, managed
// resources, monitors, timings) stays as generated. The result is validated
// with the monitor's own rules.
func Localize(gen config.Config, instance string, l Local) (*config.Config, error) {
	c := gen
	c.Instance = instance
	c.ARMEndpoint = l.ARMEndpoint
	c.CAFile = l.CAFile
	c.Cloud = ""
	c.Credential = config.Credential{Kind: "staticTokenFile", TokenFile: l.TokenFile}
	c.Listen = l.Listen
	c.Log = config.Log{Format: "json", Level: "info"}
	c.Monitors = slices.Clone(gen.Monitors)
	if len(c.Monitors) > 0 && !slices.Contains(c.Monitors, instance) {
		return nil, fmt.Errorf("localize monitor config: instance %q is not in monitors %v", instance, c.Monitors)
	}
	if gen.Lease.Kind == "blob" {
		loc, err := gen.Lease.Parse()
		if err != nil {
			return nil, fmt.Errorf("localize monitor config: lease: %w", err)
		}
		segs := strings.Split(loc.Blob, "/")
		for i, s := range segs {
			segs[i] = url.PathEscape(s)
		}
		c.Lease.URL = strings.TrimSuffix(l.BlobService, "/") + "/" + url.PathEscape(loc.Container) + "/" + strings.Join(segs, "/")
		c.Lease.Credential = config.LeaseCredential{Kind: "sharedKey", AccountKeyFile: l.AccountKeyFile}
	}
	c.NVAs = make([]config.NVA, len(gen.NVAs))
	for i, n := range gen.NVAs {
		addr, ok := l.Probes[n.Name]
		if !ok {
			return nil, fmt.Errorf("localize monitor config: no stand-in for NVA %q", n.Name)
		}
		n.Probe.Address = addr
		c.NVAs[i] = n
	}
	if err := c.Validate(); err != nil {
		return nil, fmt.Errorf("localize monitor config for %s: %w", instance, err)
	}
	return &c, nil
}

// LeaseContainerOf returns the container of a config's blob lease.
func LeaseContainerOf(c config.Config) (string, error) {
	loc, err := c.Lease.Parse()
	if err != nil {
		return "", fmt.Errorf("find lease container: %w", err)
	}
	return loc.Container, nil
}
