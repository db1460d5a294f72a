package azure

import (
	"fmt"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/container"

	"github.com/hanva/hanva/monitor/config"
)

// Storage retries. The lease loop retries acquire and renew itself (every
// second until its deadline) and bounds each of them with a context of
// Duration/6, so the SDK only smooths over a dropped connection or a single
// slow try: at most 2 retries, each try cut after Duration/12 (at least 1 s),
// short delays. A renew therefore never waits past the lease deadline.
const (
	storageMaxRetries    = 2
	storageRetryDelay    = 200 * time.Millisecond
	storageMaxRetryDelay = time.Second
	storageMinTryTimeout = time.Second
)

// BlobContainer builds the azblob client of the container that holds the
// lease blob l.URL names, and returns it with the blob's name.
//
// Credential by l.Credential.Kind (case-insensitive):
//
//   - managedIdentity (default; user-assigned when ClientID is set),
//     azureCLI, environment: an azidentity token credential, as for ARM (see
//     Credential), for the cloud the blob endpoint belongs to (inferred from
//     its host: *.core.usgovcloudapi.net, *.core.chinacloudapi.cn, else
//     public). Refused unless the URL is https: a token never travels in
//     clear text.
//   - sharedKey: the account key read from AccountKeyFile (surrounding
//     white space trimmed). For emulators on a loopback address; config
//     validation enforces that.
//
// The client names the monitor in its User-Agent, like the ARM clients:
// "hanva-nva-monitor/<version> (<instance>) azsdk-go-azblob/...". It sends an
// x-ms-client-request-id on every request, and retries modestly: see the
// storage* constants.
func BlobContainer(l config.Lease, instance, version string) (*container.Client, string, error) {
	loc, err := l.Parse()
	if err != nil {
		return nil, "", fmt.Errorf("build lease blob client: %w", err)
	}
	kind := l.Credential.Kind
	if kind == "" {
		kind = config.LeaseCredentialManagedIdentity
	}
	d := l.Duration.D()
	if d <= 0 {
		d = config.DefaultLeaseDuration
	}
	opts, err := storageOptions(d, instance, version)
	if err != nil {
		return nil, "", err
	}
	containerURL := loc.ServiceURL + "/" + url.PathEscape(loc.Container)

	if strings.EqualFold(kind, config.LeaseCredentialSharedKey) {
		if l.Credential.ClientID != "" {
			return nil, "", fmt.Errorf("build lease credential %s: clientId is only used with %s", kind, config.LeaseCredentialManagedIdentity)
		}
		if l.Credential.AccountKeyFile == "" {
			return nil, "", fmt.Errorf("build lease credential %s: accountKeyFile is required", kind)
		}
		raw, err := os.ReadFile(l.Credential.AccountKeyFile)
		if err != nil {
			return nil, "", fmt.Errorf("build lease credential %s: read account key file: %w", kind, err)
		}
		key := strings.TrimSpace(string(raw))
		if key == "" {
			return nil, "", fmt.Errorf("build lease credential %s: account key file %q is empty", kind, l.Credential.AccountKeyFile)
		}
		cred, err := container.NewSharedKeyCredential(loc.Account, key)
		if err != nil {
			// The error may quote the key; do not wrap it.
			return nil, "", fmt.Errorf("build lease credential %s: the key in %q is not a valid base64 account key", kind, l.Credential.AccountKeyFile)
		}
		c, err := container.NewClientWithSharedKeyCredential(containerURL, cred, opts)
		if err != nil {
			return nil, "", fmt.Errorf("build lease blob client: %w", err)
		}
		return c, loc.Blob, nil
	}

	if l.Credential.AccountKeyFile != "" {
		return nil, "", fmt.Errorf("build lease credential %s: accountKeyFile is only used with %s", kind, config.LeaseCredentialSharedKey)
	}
	u, err := url.Parse(loc.ServiceURL)
	if err != nil || u.Scheme != "https" {
		return nil, "", fmt.Errorf("build lease credential %s: refuse to send a token to %s: the lease URL must be https (a bearer token never travels in clear text)", kind, loc.ServiceURL)
	}
	switch strings.ToLower(kind) {
	case strings.ToLower(config.LeaseCredentialManagedIdentity), strings.ToLower(config.LeaseCredentialAzureCLI), strings.ToLower(config.LeaseCredentialEnvironment):
	default:
		return nil, "", fmt.Errorf("build lease credential: unknown kind %q (want %s, %s, %s or %s)", kind,
			config.LeaseCredentialManagedIdentity, config.LeaseCredentialAzureCLI, config.LeaseCredentialEnvironment, config.LeaseCredentialSharedKey)
	}
	cred, err := Credential(Settings{
		Cloud:      storageCloud(u.Hostname()),
		Credential: config.Credential{Kind: kind, ClientID: l.Credential.ClientID},
		Instance:   instance,
		Version:    version,
	}, nil)
	if err != nil {
		return nil, "", fmt.Errorf("build lease credential: %w", err)
	}
	c, err := container.NewClient(containerURL, cred, opts)
	if err != nil {
		return nil, "", fmt.Errorf("build lease blob client: %w", err)
	}
	return c, loc.Blob, nil
}

// storageOptions are the azblob client options for a lease of duration d.
func storageOptions(d time.Duration, instance, version string) (*container.ClientOptions, error) {
	client, err := httpClient("")
	if err != nil {
		return nil, err
	}
	return &container.ClientOptions{ClientOptions: azcore.ClientOptions{
		Transport: client,
		// azcore cuts an ApplicationID at 24 characters; userAgentPolicy
		// extends it with the version and instance, as for ARM.
		Telemetry: policy.TelemetryOptions{ApplicationID: ApplicationID},
		Retry: policy.RetryOptions{
			MaxRetries:    storageMaxRetries,
			TryTimeout:    max(storageMinTryTimeout, d/12),
			RetryDelay:    storageRetryDelay,
			MaxRetryDelay: storageMaxRetryDelay,
		},
		PerCallPolicies: []policy.Policy{userAgentPolicy{value: userAgent(version, instance)}, runtime.NewRequestIDPolicy()},
	}}, nil
}

// storageCloud names the cloud a blob endpoint host belongs to, so a token
// credential signs in at that cloud's authority.
func storageCloud(host string) string {
	host = strings.ToLower(host)
	switch {
	case strings.HasSuffix(host, ".core.usgovcloudapi.net"):
		return "AzureUSGovernment"
	case strings.HasSuffix(host, ".core.chinacloudapi.cn"):
		return "AzureChina"
	default:
		return "AzurePublic"
	}
}
