package config

import "time"

// Clouds (Config.Cloud).
const (
	CloudAzurePublic       = "AzurePublic"
	CloudAzureUSGovernment = "AzureUSGovernment"
	CloudAzureChina        = "AzureChina"
)

// Credential kinds (Credential.Kind).
const (
	CredentialManagedIdentity = "managedIdentity"
	CredentialAzureCLI        = "azureCLI"
	CredentialEnvironment     = "environment"
	CredentialStaticTokenFile = "staticTokenFile"
)

// Quorum rules (Config.Quorum).
const (
	QuorumMajority = "majority"
	QuorumNone     = "none"
)

// Lease kinds (Lease.Kind).
const (
	LeaseNone = "none"
	LeaseBlob = "blob"
)

// Lease credential kinds (LeaseCredential.Kind).
const (
	LeaseCredentialManagedIdentity = "managedIdentity"
	LeaseCredentialAzureCLI        = "azureCLI"
	LeaseCredentialEnvironment     = "environment"
	LeaseCredentialSharedKey       = "sharedKey"
)

// Probe kinds (Probe.Kind).
const (
	ProbeTCP  = "tcp"
	ProbeHTTP = "http"
)

// Failback policies (Config.Failback).
const (
	FailbackNever     = "never"
	FailbackPreferred = "preferred"
)

// Log formats and levels (Log.Format, Log.Level).
const (
	LogFormatJSON = "json"
	LogFormatText = "text"

	LogLevelDebug = "debug"
	LogLevelInfo  = "info"
	LogLevelWarn  = "warn"
	LogLevelError = "error"
)

// Defaults that ApplyDefaults fills in.
const (
	DefaultCloud               = CloudAzurePublic
	DefaultCredentialKind      = CredentialManagedIdentity
	DefaultProbeInterval       = time.Second
	DefaultProbeTimeout        = time.Second            // or the interval, if that is shorter
	DefaultProbeFastInterval   = 100 * time.Millisecond // or half the interval, if that is shorter
	MinProbeFastInterval       = 10 * time.Millisecond
	DefaultFailureThreshold    = 3
	DefaultSuccessThreshold    = 2
	DefaultProbeKind           = ProbeTCP
	DefaultHTTPPath            = "/"
	DefaultFailback            = FailbackNever
	DefaultFailbackHoldoff     = 60 * time.Second
	DefaultMinFailoverInterval = 30 * time.Second
	DefaultPollInterval        = 500 * time.Millisecond
	DefaultOperationTimeout    = 5 * time.Minute
	DefaultReconcileInterval   = 30 * time.Second
	DefaultListen              = "127.0.0.1:9414"
	DefaultLogFormat           = LogFormatJSON
	DefaultLogLevel            = LogLevelInfo

	// Quorum defaults to QuorumMajority with more than one monitor, else
	// QuorumNone; Lease.Kind to LeaseNone with at most one monitor (with
	// more it has no default: it must be written, and be LeaseBlob).
	DefaultViewInterval        = 5 * time.Second
	DefaultLeaseDuration       = 15 * time.Second // blob leases only
	DefaultLeaseCredentialKind = LeaseCredentialManagedIdentity
)

// StaleViewIntervals is how many view intervals old a monitor's published
// view may be before it is stale and no longer counts toward a quorum.
const StaleViewIntervals = 3

// Limits that Validate enforces.
const (
	MinPollInterval      = 100 * time.Millisecond
	MinOperationTimeout  = 10 * time.Second
	MinReconcileInterval = time.Second
	MinViewInterval      = time.Second
	// Azure Storage accepts lease durations of 15 to 60 whole seconds (or
	// infinite, which a leader election cannot use): Lease Blob REST
	// reference, https://learn.microsoft.com/rest/api/storageservices/lease-blob.
	MinLeaseDuration = 15 * time.Second
	MaxLeaseDuration = 60 * time.Second
)

// ApplyDefaults fills every unset (zero) field that has a default. It never
// changes a field that is set, so calling it twice is the same as once.
// Instance is left alone: Load and Parse default it to the host name.
func (c *Config) ApplyDefaults() {
	setString(&c.Cloud, DefaultCloud)
	setString(&c.Credential.Kind, DefaultCredentialKind)

	setDuration(&c.Probe.Interval, DefaultProbeInterval)
	timeout := DefaultProbeTimeout
	if iv := c.Probe.Interval.D(); iv > 0 && iv < timeout {
		timeout = iv // a probe must end before the next round starts
	}
	setDuration(&c.Probe.Timeout, timeout)
	fast := DefaultProbeFastInterval
	if iv := c.Probe.Interval.D(); iv > 0 && iv/2 < fast {
		fast = max(iv/2, MinProbeFastInterval)
	}
	setDuration(&c.Probe.FastInterval, fast)
	setInt(&c.Probe.FailureThreshold, DefaultFailureThreshold)
	setInt(&c.Probe.SuccessThreshold, DefaultSuccessThreshold)

	for i := range c.NVAs {
		p := &c.NVAs[i].Probe
		setString(&p.Kind, DefaultProbeKind)
		if p.Kind == ProbeHTTP {
			setString(&p.Path, DefaultHTTPPath)
		}
	}

	setString(&c.Failback, DefaultFailback)
	setDuration(&c.FailbackHoldoff, DefaultFailbackHoldoff)
	setDuration(&c.MinFailoverInterval, DefaultMinFailoverInterval)
	setDuration(&c.PollInterval, DefaultPollInterval)
	setDuration(&c.OperationTimeout, DefaultOperationTimeout)
	setDuration(&c.ReconcileInterval, DefaultReconcileInterval)

	if len(c.Monitors) > 1 {
		setString(&c.Quorum, QuorumMajority)
	} else {
		setString(&c.Quorum, QuorumNone)
		setString(&c.Lease.Kind, LeaseNone)
	}
	setDuration(&c.ViewInterval, DefaultViewInterval)
	if c.Lease.Kind == LeaseBlob {
		setDuration(&c.Lease.Duration, DefaultLeaseDuration)
		setString(&c.Lease.Credential.Kind, DefaultLeaseCredentialKind)
	}

	setString(&c.Listen, DefaultListen)
	setString(&c.Log.Format, DefaultLogFormat)
	setString(&c.Log.Level, DefaultLogLevel)
}

func setString(p *string, v string) {
	if *p == "" {
		*p = v
	}
}

func setInt(p *int, v int) {
	if *p == 0 {
		*p = v
	}
}

func setDuration(p *Duration, v time.Duration) {
	if *p == 0 {
		*p = Duration(v)
	}
}

// FloatingIPNamePrefix starts the default ipconfig name of a floating IP
// (FloatingIP.IPConfigName); the address follows it.
const FloatingIPNamePrefix = "hanva-floating-"

// EpochTag is the ARM tag in which the leader stamps its epoch on every route
// table and NIC it writes. Deployment tools that manage those resources
// (hanva's Pulumi components) must leave it alone: they ignore changes to it.
const EpochTag = "hanva-epoch"
