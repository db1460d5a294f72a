package azure

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"

	"github.com/hanva/hanva/monitor/config"
)

// Settings is what the monitor knows about how to reach ARM. The integrator
// fills it from config.Config plus the build version and the instance name.
type Settings struct {
	// Cloud is AzurePublic (default, also ""), AzureUSGovernment (alias
	// AzureGovernment) or AzureChina; case-insensitive.
	Cloud string
	// ARMEndpoint overrides the cloud's Resource Manager endpoint (Azure Stack
	// Hub, emulators). Must be an https URL. The token audience stays the
	// chosen cloud's.
	ARMEndpoint string
	// CAFile is a PEM bundle trusted in addition to the system roots.
	CAFile string
	// Credential selects how tokens are obtained; see Credential.
	Credential config.Credential
	// Instance names this monitor in the User-Agent; left out when empty.
	Instance string
	// Version is the monitor's build version; "dev" when empty.
	Version string
	// OnResponse, when set, is called once for every ARM response, retries
	// included: method, resource type (the last resource type in the path, e.g.
	// "routeTables", "networkInterfaces", "publicIPAddresses", "operations";
	// "other" when unknown) and HTTP status (0 when no response arrived).
	OnResponse func(method, resourceType string, status int)
	// WriteGate, when set, is asked right before every attempt of every
	// ARM write leaves, after authentication; it refuses the write or bounds
	// it by the time left before the lease deadline. See GateWrites.
	WriteGate WriteGate
}

// ApplicationID is the Telemetry ApplicationID every client built from
// ClientOptions carries. azcore truncates an ApplicationID to 24 characters
// (runtime.NewTelemetryPolicy), too short for a version and an instance name,
// so ClientOptions adds a per-call policy that extends it to
// "hanva-nva-monitor/<version> (<instance>)".
const ApplicationID = "hanva-nva-monitor"

// Transport timeouts. Requests are otherwise bounded by their context (the
// engine gives each resource an OperationTimeout).
const (
	dialTimeout           = 10 * time.Second
	tlsHandshakeTimeout   = 10 * time.Second
	responseHeaderTimeout = 60 * time.Second // ARM's own gateway gives up after about a minute
	idleConnTimeout       = 90 * time.Second
)

// ClientOptions builds the options every ARM client of the monitor uses:
//
//   - the cloud (Settings.Cloud), with Settings.ARMEndpoint as Resource
//     Manager endpoint when set (audience of the chosen cloud);
//   - an http.Client trusting the system roots plus Settings.CAFile, with
//     dial, TLS handshake and response-header timeouts;
//   - the User-Agent "hanva-nva-monitor/<version> (<instance>) azsdk-go-...";
//   - a per-retry policy reporting every response to Settings.OnResponse;
//   - when Settings.WriteGate is set, the transport wrapped by GateWrites:
//     the last check of every write before it leaves, after the bearer
//     token policy and on every re-send;
//   - no SDK retries (MaxRetries -1): the act engine owns retries, backoff,
//     Retry-After and the per-resource deadline, and counts attempts. A caller
//     that wants the SDK's retries for one call can opt in with
//     policy.WithRetryOptions on that call's context;
//   - no automatic resource-provider registration: Microsoft.Network is
//     registered wherever NVAs run, and the monitor's identity should not
//     hold */register/action.
//
// InsecureAllowCredentialWithHTTP is never set: a bearer token only travels
// over TLS.
func ClientOptions(s Settings) (*arm.ClientOptions, error) {
	cfg, err := cloudConfig(s.Cloud)
	if err != nil {
		return nil, err
	}
	if s.ARMEndpoint != "" {
		ep, err := httpsEndpoint(s.ARMEndpoint)
		if err != nil {
			return nil, err
		}
		rm := cfg.Services[cloud.ResourceManager]
		rm.Endpoint = ep
		cfg = withResourceManager(cfg, rm)
	}
	client, err := httpClient(s.CAFile)
	if err != nil {
		return nil, err
	}
	// Every request carries an x-ms-client-request-id, so ARM's (and armsim's)
	// logs can be matched to the monitor's.
	perCall := []policy.Policy{userAgentPolicy{value: userAgent(s.Version, s.Instance)}, runtime.NewRequestIDPolicy()}
	var perRetry []policy.Policy
	if s.OnResponse != nil {
		perRetry = append(perRetry, responsePolicy{on: s.OnResponse})
	}
	var transport policy.Transporter = client
	if s.WriteGate != nil {
		transport = GateWrites(client, s.WriteGate)
	}
	return &arm.ClientOptions{
		ClientOptions: policy.ClientOptions{
			Cloud:            cfg,
			Transport:        transport,
			Telemetry:        policy.TelemetryOptions{ApplicationID: ApplicationID},
			Retry:            policy.RetryOptions{MaxRetries: -1},
			PerCallPolicies:  perCall,
			PerRetryPolicies: perRetry,
		},
		DisableRPRegistration: true,
	}, nil
}

// cloudConfig returns a copy of the named cloud's configuration.
func cloudConfig(name string) (cloud.Configuration, error) {
	var c cloud.Configuration
	switch strings.ToLower(name) {
	case "", "azurepublic", "azurepubliccloud":
		c = cloud.AzurePublic
	case "azureusgovernment", "azuregovernment":
		c = cloud.AzureGovernment
	case "azurechina", "azurechinacloud":
		c = cloud.AzureChina
	default:
		return cloud.Configuration{}, fmt.Errorf("select cloud: unknown cloud %q (want AzurePublic, AzureUSGovernment or AzureChina)", name)
	}
	return withResourceManager(c, c.Services[cloud.ResourceManager]), nil
}

// withResourceManager copies c with its own Services map (the package-level
// cloud configurations must never be mutated) and rm as Resource Manager.
func withResourceManager(c cloud.Configuration, rm cloud.ServiceConfiguration) cloud.Configuration {
	services := make(map[cloud.ServiceName]cloud.ServiceConfiguration, len(c.Services))
	for k, v := range c.Services {
		services[k] = v
	}
	services[cloud.ResourceManager] = rm
	c.Services = services
	return c
}

// httpsEndpoint checks that raw is an absolute https URL and returns it
// without a trailing slash.
func httpsEndpoint(raw string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return "", fmt.Errorf("parse ARM endpoint %q: %w", raw, err)
	}
	if u.Scheme != "https" || u.Host == "" {
		return "", fmt.Errorf("check ARM endpoint %q: must be an https URL (a bearer token never travels in clear text)", raw)
	}
	return strings.TrimRight(raw, "/"), nil
}

// httpClient returns an http.Client trusting the system roots plus caFile.
func httpClient(caFile string) (*http.Client, error) {
	tlsConf := &tls.Config{MinVersion: tls.VersionTLS12}
	if caFile != "" {
		pem, err := os.ReadFile(caFile)
		if err != nil {
			return nil, fmt.Errorf("read CA file: %w", err)
		}
		pool, err := x509.SystemCertPool()
		if err != nil || pool == nil {
			pool = x509.NewCertPool()
		}
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("read CA file %q: no PEM certificate found", caFile)
		}
		tlsConf.RootCAs = pool
	}
	dialer := &net.Dialer{Timeout: dialTimeout, KeepAlive: 30 * time.Second}
	tr := &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           dialer.DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          100,
		MaxIdleConnsPerHost:   20,
		IdleConnTimeout:       idleConnTimeout,
		TLSHandshakeTimeout:   tlsHandshakeTimeout,
		ResponseHeaderTimeout: responseHeaderTimeout,
		ExpectContinueTimeout: time.Second,
		TLSClientConfig:       tlsConf,
	}
	return &http.Client{Transport: tr}, nil
}

// userAgent is the product token and comment that lead the User-Agent.
func userAgent(version, instance string) string {
	if version == "" {
		version = "dev"
	}
	ua := ApplicationID + "/" + strings.Map(tokenChar, version)
	if instance = strings.Map(commentChar, instance); instance != "" {
		ua += " (" + instance + ")"
	}
	return ua
}

// tokenChar keeps the characters allowed in a User-Agent product version
// (RFC 9110 tchar).
func tokenChar(r rune) rune {
	if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("!#$%&'*+-.^_`|~", r) {
		return r
	}
	return -1
}

// commentChar keeps characters allowed in a User-Agent comment.
func commentChar(r rune) rune {
	if r < ' ' || r >= 0x7f || r == '(' || r == ')' || r == '\\' {
		return -1
	}
	return r
}

// userAgentPolicy runs after azcore's telemetry policy, which has set the
// User-Agent to "hanva-nva-monitor azsdk-go-<module>/<version> (<platform>)",
// and puts the monitor's version and instance into the leading token.
type userAgentPolicy struct{ value string }

func (p userAgentPolicy) Do(req *policy.Request) (*http.Response, error) {
	h := req.Raw().Header
	ua := h.Get("User-Agent")
	switch {
	case ua == ApplicationID || strings.HasPrefix(ua, ApplicationID+" "):
		ua = p.value + ua[len(ApplicationID):]
	case ua == "":
		ua = p.value
	default:
		ua = p.value + " " + ua
	}
	h.Set("User-Agent", ua)
	return req.Next()
}

// responsePolicy reports every response (every try) to its callback.
type responsePolicy struct {
	on func(method, resourceType string, status int)
}

func (p responsePolicy) Do(req *policy.Request) (*http.Response, error) {
	resp, err := req.Next()
	status := 0
	if err == nil && resp != nil {
		status = resp.StatusCode
	}
	p.on(req.Raw().Method, ResourceType(req.Raw().URL.Path), status)
	return resp, err
}

// knownTypes maps lower-case ARM resource types to the spelling reported.
// Anything else is "other", so a metric label stays bounded.
var knownTypes = map[string]string{}

func init() {
	for _, t := range []string{
		"routeTables", "routes", "networkInterfaces", "ipConfigurations",
		"publicIPAddresses", "operations", "permissions", "roleAssignments",
		"virtualMachines", "resourceGroups", "subscriptions", "locations",
		"virtualNetworks", "subnets", "networkSecurityGroups", "providers",
		"loadBalancers", "backendAddressPools", "privateDnsZones", "A", "AAAA",
	} {
		knownTypes[strings.ToLower(t)] = t
	}
}

// ResourceType returns the type of the resource an ARM request path
// addresses: the last type segment after the last "providers/<namespace>"
// (types and names alternate), e.g. "routeTables" for
// /subscriptions/s/resourceGroups/g/providers/Microsoft.Network/routeTables/rt
// and "operations" for .../providers/Microsoft.Network/locations/l/operations/id.
// Unknown types are reported as "other".
func ResourceType(path string) string {
	segs := strings.Split(strings.Trim(path, "/"), "/")
	start := 0
	for i := len(segs) - 2; i >= 0; i-- {
		if strings.EqualFold(segs[i], "providers") {
			start = i + 2
			break
		}
	}
	if start >= len(segs) {
		// ".../providers/Microsoft.Network" itself, or a path without types.
		if start == len(segs) && start >= 2 {
			return "providers"
		}
		return "other"
	}
	rest := segs[start:]
	last := rest[(len(rest)-1)&^1]
	if t, ok := knownTypes[strings.ToLower(last)]; ok {
		return t
	}
	return "other"
}
