package azure

import (
	"context"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
)

// Credential kinds, as written in config.Credential.Kind (case-insensitive).
const (
	KindManagedIdentity = "managedIdentity"
	KindAzureCLI        = "azureCLI"
	KindEnvironment     = "environment"
	KindStaticTokenFile = "staticTokenFile"
)

// staticTokenLifetime is the expiry given to a token read from a file; the
// SDK's bearer policy asks again (and the file is read again) before it ends.
const staticTokenLifetime = time.Hour

// Credential builds the token credential named by s.Credential.Kind:
//
//   - managedIdentity (default): azidentity.NewManagedIdentityCredential,
//     user-assigned when ClientID is set;
//   - azureCLI: the identity logged in to the Azure CLI (development);
//   - environment: azidentity.NewEnvironmentCredential (AZURE_TENANT_ID,
//     AZURE_CLIENT_ID, AZURE_CLIENT_SECRET or certificate variables);
//   - staticTokenFile: the bearer token in TokenFile, read again on every
//     GetToken (emulators, tests). Refused unless the ARM endpoint is https.
//
// opts are the ARM client options from ClientOptions (may be nil); the
// credential takes the cloud (authority host) and, for the environment
// credential, the transport from them, but never their retry settings or
// policies (token requests keep azidentity's own retries and are not ARM
// responses).
func Credential(s Settings, opts *arm.ClientOptions) (azcore.TokenCredential, error) {
	c := s.Credential
	kind := c.Kind
	if kind == "" {
		kind = KindManagedIdentity
	}
	if c.ClientID != "" && !strings.EqualFold(kind, KindManagedIdentity) {
		return nil, fmt.Errorf("build credential %s: clientId is only used with %s", kind, KindManagedIdentity)
	}
	if c.TokenFile != "" && !strings.EqualFold(kind, KindStaticTokenFile) {
		return nil, fmt.Errorf("build credential %s: tokenFile is only used with %s", kind, KindStaticTokenFile)
	}
	base := azcore.ClientOptions{Telemetry: policy.TelemetryOptions{ApplicationID: ApplicationID}}
	if opts != nil {
		base.Cloud = opts.Cloud
	} else if cfg, err := cloudConfig(s.Cloud); err == nil {
		base.Cloud = cfg
	} else {
		return nil, fmt.Errorf("build credential %s: %w", kind, err)
	}
	switch strings.ToLower(kind) {
	case strings.ToLower(KindManagedIdentity):
		o := &azidentity.ManagedIdentityCredentialOptions{ClientOptions: base}
		if c.ClientID != "" {
			o.ID = azidentity.ClientID(c.ClientID)
		}
		cred, err := azidentity.NewManagedIdentityCredential(o)
		if err != nil {
			return nil, fmt.Errorf("build credential %s: %w", kind, err)
		}
		return cred, nil
	case strings.ToLower(KindAzureCLI):
		cred, err := azidentity.NewAzureCLICredential(nil)
		if err != nil {
			return nil, fmt.Errorf("build credential %s: %w", kind, err)
		}
		return cred, nil
	case strings.ToLower(KindEnvironment):
		o := &azidentity.EnvironmentCredentialOptions{ClientOptions: base}
		if opts != nil {
			o.Transport = opts.Transport
		}
		cred, err := azidentity.NewEnvironmentCredential(o)
		if err != nil {
			return nil, fmt.Errorf("build credential %s: %w", kind, err)
		}
		return cred, nil
	case strings.ToLower(KindStaticTokenFile):
		if c.TokenFile == "" {
			return nil, fmt.Errorf("build credential %s: tokenFile is required", kind)
		}
		for _, ep := range armEndpoints(s, opts) {
			if _, err := httpsEndpoint(ep); err != nil {
				return nil, fmt.Errorf("build credential %s: refuse to send a static token: %w", kind, err)
			}
		}
		return &tokenFile{Path: c.TokenFile}, nil
	default:
		return nil, fmt.Errorf("build credential: unknown kind %q (want %s, %s, %s or %s)",
			kind, KindManagedIdentity, KindAzureCLI, KindEnvironment, KindStaticTokenFile)
	}
}

// armEndpoints lists the ARM endpoints a token could be sent to.
func armEndpoints(s Settings, opts *arm.ClientOptions) []string {
	var eps []string
	if s.ARMEndpoint != "" {
		eps = append(eps, s.ARMEndpoint)
	}
	if opts != nil {
		if rm, ok := opts.Cloud.Services[cloud.ResourceManager]; ok && rm.Endpoint != "" {
			eps = append(eps, rm.Endpoint)
		}
	}
	return eps
}

// tokenFile is a credential whose bearer token is the content of a file,
// read on every GetToken (so a test or an operator can rotate it) and given
// an expiry one hour ahead. Build it through Credential, which refuses it for
// a non-https ARM endpoint.
type tokenFile struct {
	Path string
	// Now is the clock for the expiry; time.Now when nil.
	Now func() time.Time
}

// GetToken implements azcore.TokenCredential.
func (t *tokenFile) GetToken(ctx context.Context, _ policy.TokenRequestOptions) (azcore.AccessToken, error) {
	if err := ctx.Err(); err != nil {
		return azcore.AccessToken{}, err
	}
	b, err := os.ReadFile(t.Path)
	if err != nil {
		return azcore.AccessToken{}, fmt.Errorf("read token file: %w", err)
	}
	tok := strings.TrimSpace(string(b))
	if tok == "" {
		return azcore.AccessToken{}, fmt.Errorf("read token file %q: file is empty", t.Path)
	}
	now := time.Now
	if t.Now != nil {
		now = t.Now
	}
	return azcore.AccessToken{Token: tok, ExpiresOn: now().Add(staticTokenLifetime)}, nil
}
