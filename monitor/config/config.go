package config

import (
	"maps"
	"net/netip"
	"slices"
	"strings"
	"time"
)

// Config is the whole nva-monitor configuration. It is the contract between the
// Pulumi components (which fill and marshal it) and the daemon (which loads it).
// YAML keys are camelCase; JSON is accepted because JSON is YAML. A key whose
// yaml tag lacks ",omitempty" is required.
type Config struct {
	// Instance names this monitor in logs, metrics and its ARM User-Agent.
	// Optional; default: the host name.
	Instance string `yaml:"instance,omitempty" json:"instance,omitempty"`

	// Monitors lists the instance names of every monitor of this NVA pair,
	// this one included. Optional; empty means this monitor is alone. With
	// more than one, Lease must be a blob lease: only its holder writes to ARM.
	Monitors []string `yaml:"monitors,omitempty" json:"monitors,omitempty"`
	// Quorum is "majority" (default when Monitors has more than one entry:
	// the leader fails over only when most fresh views, its own included,
	// see the active NVA down) or "none" (default otherwise: its own view).
	Quorum string `yaml:"quorum,omitempty" json:"quorum,omitempty"`
	// ViewInterval is how often each monitor republishes its view of NVA
	// health at the least (it also does on every change); a view older than
	// StaleViewIntervals × ViewInterval is stale. Default 5s, at least 1s.
	ViewInterval Duration `yaml:"viewInterval,omitempty" json:"viewInterval,omitempty"`
	// Lease elects the one monitor that acts. Optional with a single monitor
	// (default kind none); required, of kind blob, with several.
	Lease Lease `yaml:"lease,omitempty" json:"lease,omitempty"`

	// Cloud is AzurePublic (default), AzureUSGovernment or AzureChina.
	Cloud string `yaml:"cloud,omitempty" json:"cloud,omitempty"`
	// ARMEndpoint overrides the cloud's Resource Manager endpoint (Azure Stack
	// Hub, emulators). Must be https. Optional.
	ARMEndpoint string `yaml:"armEndpoint,omitempty" json:"armEndpoint,omitempty"`
	// CAFile is a PEM bundle trusted for ARM in addition to the system roots. Optional.
	CAFile string `yaml:"caFile,omitempty" json:"caFile,omitempty"`

	// Credential says how the monitor authenticates to ARM. Optional; default managedIdentity.
	Credential Credential `yaml:"credential,omitempty" json:"credential,omitempty"`
	// InstanceNIC is the resource ID of this monitor VM's own NIC
	// (/subscriptions/…/providers/Microsoft.Network/networkInterfaces/{name}),
	// never an NVA's. Optional; when set, `nva-monitor validate` reads the
	// NIC's effective routes and checks that the monitor reaches ARM and
	// Azure Storage without going through a managed NVA. The daemon does not
	// use it.
	InstanceNIC string `yaml:"instanceNic,omitempty" json:"instanceNic,omitempty"`

	// Probe holds the probe timing shared by all NVAs.
	Probe ProbeTiming `yaml:"probe,omitempty" json:"probe,omitempty"`

	// NVAs lists the appliances, at least two. The first is the preferred one
	// (failback: preferred returns to it).
	NVAs []NVA `yaml:"nvas" json:"nvas"`

	// RouteTables are the route tables whose NVA routes follow the active NVA.
	RouteTables []RouteTable `yaml:"routeTables,omitempty" json:"routeTables,omitempty"`
	// PublicIPs ride on the active NVA's NIC of the given role.
	PublicIPs []PublicIP `yaml:"publicIps,omitempty" json:"publicIps,omitempty"`
	// FloatingIPs are private addresses that live, as a secondary ipconfig,
	// on the active NVA's NIC of the given role; route tables point at them
	// and never change.
	FloatingIPs []FloatingIP `yaml:"floatingIps,omitempty" json:"floatingIps,omitempty"`
	// BackendPools are IP-based load balancer backend pools that hold the
	// active NVA's address of the given role and no other NVA's.
	BackendPools []BackendPool `yaml:"backendPools,omitempty" json:"backendPools,omitempty"`
	// DNSRecords are Private DNS A or AAAA record sets that hold the active
	// NVA's address of the given role and no other NVA's.
	DNSRecords []DNSRecord `yaml:"dnsRecords,omitempty" json:"dnsRecords,omitempty"`

	// Failback is "never" (default: stay on the survivor) or "preferred".
	Failback string `yaml:"failback,omitempty" json:"failback,omitempty"`
	// FailbackHoldoff is how long the preferred NVA must have been healthy
	// before failback. Default 60s.
	FailbackHoldoff Duration `yaml:"failbackHoldoff,omitempty" json:"failbackHoldoff,omitempty"`
	// MinFailoverInterval is the anti-flap interval between two failovers. Default 30s.
	MinFailoverInterval Duration `yaml:"minFailoverInterval,omitempty" json:"minFailoverInterval,omitempty"`

	// PollInterval is how often an ARM long-running operation is polled while
	// a failover waits for it. Default 500ms (Azure's own Retry-After of 10s is
	// deliberately not honoured for operation polls; see README).
	PollInterval Duration `yaml:"pollInterval,omitempty" json:"pollInterval,omitempty"`
	// OperationTimeout bounds one converge of one resource, retries included. Default 5m.
	OperationTimeout Duration `yaml:"operationTimeout,omitempty" json:"operationTimeout,omitempty"`
	// ReconcileInterval is how often the daemon re-reads Azure and repairs
	// drift toward the active NVA. Default 30s. The daemon lengthens it
	// when the reads of every managed resource would take more than half
	// of Azure's read budget (act.Engine.ObserveFloor).
	ReconcileInterval Duration `yaml:"reconcileInterval,omitempty" json:"reconcileInterval,omitempty"`

	// Listen is the address of the HTTP endpoint (/healthz, /readyz, /metrics,
	// /status). Default 127.0.0.1:9414.
	Listen string `yaml:"listen,omitempty" json:"listen,omitempty"`

	// Log configures logging. Optional.
	Log Log `yaml:"log,omitempty" json:"log,omitempty"`
}

// Credential selects the ARM credential.
type Credential struct {
	// Kind is managedIdentity (default), azureCLI, environment or staticTokenFile.
	Kind string `yaml:"kind,omitempty" json:"kind,omitempty"`
	// ClientID selects a user-assigned managed identity. Optional, managedIdentity only.
	ClientID string `yaml:"clientId,omitempty" json:"clientId,omitempty"`
	// TokenFile holds a bearer token (tests, emulators). Required for
	// staticTokenFile and only allowed with it; the ARM endpoint must be https.
	TokenFile string `yaml:"tokenFile,omitempty" json:"tokenFile,omitempty"`
}

// Lease is how monitors elect a leader.
type Lease struct {
	// Kind is none (default with at most one monitor: this one always acts)
	// or blob (an Azure Storage blob lease; required with several monitors).
	Kind string `yaml:"kind,omitempty" json:"kind,omitempty"`
	// URL is the leader blob (blob only, required):
	// https://{account}.blob.core.windows.net/{container}/{blob path}, or
	// the same path on another cloud's blob endpoint. Plain http and an
	// account in the path (http://127.0.0.1:10000/{account}/{container}/{blob})
	// only for an emulator on a loopback address. No SAS token. See Parse.
	URL string `yaml:"url,omitempty" json:"url,omitempty"`
	// Duration of the lease, 15s to 60s in whole seconds (Azure's range).
	// Blob only; default 15s.
	Duration Duration `yaml:"duration,omitempty" json:"duration,omitempty"`
	// Credential signs in to Azure Storage. Blob only; default managedIdentity.
	Credential LeaseCredential `yaml:"credential,omitempty" json:"credential,omitempty"`
}

// LeaseCredential selects the Azure Storage credential of a blob lease.
type LeaseCredential struct {
	// Kind is managedIdentity (default), azureCLI, environment, or sharedKey
	// (emulators only: the URL's host must be a loopback address). The token
	// kinds need an https URL.
	Kind string `yaml:"kind,omitempty" json:"kind,omitempty"`
	// ClientID selects a user-assigned managed identity. Optional, managedIdentity only.
	ClientID string `yaml:"clientId,omitempty" json:"clientId,omitempty"`
	// AccountKeyFile holds the base64 account key. Required for sharedKey
	// and only allowed with it.
	AccountKeyFile string `yaml:"accountKeyFile,omitempty" json:"accountKeyFile,omitempty"`
}

// ProbeTiming is the probe schedule and thresholds.
type ProbeTiming struct {
	// Interval between probe rounds. Default 1s.
	Interval Duration `yaml:"interval,omitempty" json:"interval,omitempty"`
	// Timeout of one probe; at most Interval. Default 1s, or Interval if
	// that is shorter.
	Timeout Duration `yaml:"timeout,omitempty" json:"timeout,omitempty"`
	// FastInterval is the pace of extra probe rounds while an NVA's state
	// is in doubt: after a failed probe, until FailureThreshold failures in
	// a row mark it down or a success clears it. Default 100ms (or half the
	// Interval, if that is shorter); at most Interval, at least 10ms.
	FastInterval Duration `yaml:"fastInterval,omitempty" json:"fastInterval,omitempty"`
	// FailureThreshold consecutive failures mark an NVA down. Default 3.
	FailureThreshold int `yaml:"failureThreshold,omitempty" json:"failureThreshold,omitempty"`
	// SuccessThreshold consecutive successes mark an NVA up. Default 2.
	SuccessThreshold int `yaml:"successThreshold,omitempty" json:"successThreshold,omitempty"`
}

// NVA is one appliance.
type NVA struct {
	// Name is unique among the NVAs.
	Name string `yaml:"name" json:"name"`
	// Probe says how to check the NVA.
	Probe Probe `yaml:"probe" json:"probe"`
	// NICs maps a role (e.g. "external", "internal") to a NIC resource ID.
	NICs map[string]string `yaml:"nics" json:"nics"`
}

// Probe is how one NVA is checked.
type Probe struct {
	// Address is "IP:port".
	Address string `yaml:"address" json:"address"`
	// Kind is tcp (default) or http.
	Kind string `yaml:"kind,omitempty" json:"kind,omitempty"`
	// Path is the HTTP path (http only). Default "/".
	Path string `yaml:"path,omitempty" json:"path,omitempty"`
}

// RouteTable is a managed route table: every NVA route in it points at the
// active NVA's NIC of role Via.
type RouteTable struct {
	// ID is the route table's resource ID
	// (/subscriptions/…/providers/Microsoft.Network/routeTables/{name}).
	ID string `yaml:"id" json:"id"`
	// Via is the NIC role the table's NVA routes point at; every NVA needs a
	// NIC of this role.
	Via string `yaml:"via" json:"via"`
}

// PublicIP is a managed public IP: it rides on the active NVA's NIC of role Via.
type PublicIP struct {
	// ID is the public IP's resource ID
	// (/subscriptions/…/providers/Microsoft.Network/publicIPAddresses/{name}).
	ID string `yaml:"id" json:"id"`
	// Via is the NIC role whose NIC carries the public IP; every NVA needs a
	// NIC of this role.
	Via string `yaml:"via" json:"via"`
}

// FloatingIP is a private IP address that follows the active NVA as a
// secondary IP configuration of its NIC of role Via.
type FloatingIP struct {
	// IP is the address, IPv4 or IPv6, inside the subnet of the NVAs' NICs
	// of role Via, and not assigned to anything else.
	IP string `yaml:"ip" json:"ip"`
	// Via is the NIC role whose NIC carries the address; every NVA needs a
	// NIC of this role.
	Via string `yaml:"via" json:"via"`
	// Name is the name of the ipconfig that carries it. Optional; default
	// hanva-floating- and the address with '.' and ':' as '-'
	// (hanva-floating-10-0-2-50).
	Name string `yaml:"name,omitempty" json:"name,omitempty"`
}

// IPConfigName returns the name of the ipconfig that carries f: Name, or
// by default FloatingIPNamePrefix and the address (as netip writes it) with
// every '.' and ':' as '-' (10.0.2.50 -> hanva-floating-10-0-2-50,
// fd00:0:0:2::50 -> hanva-floating-fd00-0-0-2--50). An IP that does not
// parse is used as written.
func (f FloatingIP) IPConfigName() string {
	if f.Name != "" {
		return f.Name
	}
	ip := f.IP
	if a, err := netip.ParseAddr(ip); err == nil {
		ip = a.Unmap().WithZone("").String()
	}
	return FloatingIPNamePrefix + strings.NewReplacer(".", "-", ":", "-").Replace(ip)
}

// BackendPool is an IP-based backend pool of a Standard load balancer.
type BackendPool struct {
	// ID is the pool's resource ID
	// (/subscriptions/…/providers/Microsoft.Network/loadBalancers/{lb}/backendAddressPools/{pool}).
	ID string `yaml:"id" json:"id"`
	// Via is the NIC role whose address is the pool's member; every NVA
	// needs a NIC of this role.
	Via string `yaml:"via" json:"via"`
}

// DNSRecord is an A or AAAA record set of an Azure Private DNS zone.
type DNSRecord struct {
	// ID is the record set's resource ID
	// (/subscriptions/…/providers/Microsoft.Network/privateDnsZones/{zone}/A/{name},
	// or …/AAAA/{name}).
	ID string `yaml:"id" json:"id"`
	// Via is the NIC role whose address the record holds; every NVA needs a
	// NIC of this role.
	Via string `yaml:"via" json:"via"`
}

// Log configures logging.
type Log struct {
	// Format is json (default) or text.
	Format string `yaml:"format,omitempty" json:"format,omitempty"`
	// Level is debug, info (default), warn or error.
	Level string `yaml:"level,omitempty" json:"level,omitempty"`
}

// Duration is a time.Duration written as a Go duration string ("15s") in
// YAML and JSON; bare numbers are refused.
type Duration time.Duration

// D returns d as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

// NVA returns the NVA with the given name.
func (c *Config) NVA(name string) (NVA, bool) {
	for _, n := range c.NVAs {
		if n.Name == name {
			return n, true
		}
	}
	return NVA{}, false
}

// Roles returns the NIC roles any NVA has, sorted and without repeats.
func (c *Config) Roles() []string {
	set := map[string]bool{}
	for _, n := range c.NVAs {
		for role := range n.NICs {
			set[role] = true
		}
	}
	return slices.Sorted(maps.Keys(set))
}
