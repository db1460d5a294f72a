package azure

import (
	"context"
	"encoding/pem"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/network/armnetwork/v7"

	"github.com/hanva/hanva/monitor/config"
)

const rtPath = "/subscriptions/sub-1/resourceGroups/rg/providers/Microsoft.Network/routeTables/rt-1"

// armServer is a TLS server answering route table GETs; status overrides
// the answer when non-zero.
type armServer struct {
	*httptest.Server
	mu       sync.Mutex
	agents   []string
	auths    []string
	status   int
	caFile   string
	requests int
}

func newARMServer(t *testing.T) *armServer {
	t.Helper()
	a := &armServer{}
	a.Server = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a.mu.Lock()
		a.agents = append(a.agents, r.UserAgent())
		a.auths = append(a.auths, r.Header.Get("Authorization"))
		a.requests++
		status := a.status
		a.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		if status != 0 {
			w.WriteHeader(status)
			_, _ = w.Write([]byte(`{"error":{"code":"InternalServerError","message":"boom"}}`))
			return
		}
		_, _ = w.Write([]byte(`{"id":"` + r.URL.Path + `","name":"rt-1","etag":"W/\"1\"","properties":{"routes":[]}}`))
	}))
	a.Config.ErrorLog = log.New(io.Discard, "", 0) // the untrusted-CA case logs a handshake error
	a.StartTLS()
	t.Cleanup(a.Close)
	a.caFile = filepath.Join(t.TempDir(), "ca.pem")
	pemBytes := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: a.Certificate().Raw})
	if err := os.WriteFile(a.caFile, pemBytes, 0o600); err != nil {
		t.Fatal(err)
	}
	return a
}

func (a *armServer) setStatus(s int) { a.mu.Lock(); a.status = s; a.mu.Unlock() }

func (a *armServer) seen() (agents, auths []string, n int) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]string(nil), a.agents...), append([]string(nil), a.auths...), a.requests
}

type response struct {
	method, resourceType string
	status               int
}

type recorder struct {
	mu  sync.Mutex
	got []response
}

func (r *recorder) on(method, resourceType string, status int) {
	r.mu.Lock()
	r.got = append(r.got, response{method, resourceType, status})
	r.mu.Unlock()
}

func (r *recorder) responses() []response {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]response(nil), r.got...)
}

// tokenCredential writes tok to a file and builds the staticTokenFile credential.
func tokenCredential(t *testing.T, s Settings, tok string) azcore.TokenCredential {
	t.Helper()
	s.Credential = config.Credential{Kind: KindStaticTokenFile, TokenFile: filepath.Join(t.TempDir(), "token")}
	if err := os.WriteFile(s.Credential.TokenFile, []byte(tok), 0o600); err != nil {
		t.Fatal(err)
	}
	cred, err := Credential(s, nil)
	if err != nil {
		t.Fatalf("Credential: %v", err)
	}
	return cred
}

func getRouteTable(t *testing.T, s Settings, cred azcore.TokenCredential) error {
	t.Helper()
	opts, err := ClientOptions(s)
	if err != nil {
		t.Fatalf("ClientOptions: %v", err)
	}
	c, err := armnetwork.NewRouteTablesClient("sub-1", cred, opts)
	if err != nil {
		t.Fatalf("NewRouteTablesClient: %v", err)
	}
	_, err = c.Get(context.Background(), "rg", "rt-1", nil)
	return err
}

func TestClientOptionsAgainstATLSServer(t *testing.T) {
	srv := newARMServer(t)
	rec := &recorder{}
	s := Settings{ARMEndpoint: srv.URL, CAFile: srv.caFile, Instance: "mon-a", Version: "v1.2.3-4-gabcdef0-dirty", OnResponse: rec.on}
	cred := tokenCredential(t, s, "  secret-token\n")

	if err := getRouteTable(t, s, cred); err != nil {
		t.Fatalf("GET through the CA file's trust failed: %v", err)
	}
	agents, auths, _ := srv.seen()
	if len(agents) != 1 {
		t.Fatalf("server saw %d requests, want 1", len(agents))
	}
	wantPrefix := "hanva-nva-monitor/v1.2.3-4-gabcdef0-dirty (mon-a) azsdk-go-armnetwork/"
	if !strings.HasPrefix(agents[0], wantPrefix) {
		t.Errorf("User-Agent = %q, want prefix %q", agents[0], wantPrefix)
	}
	if auths[0] != "Bearer secret-token" {
		t.Errorf("Authorization = %q, want the trimmed file content", auths[0])
	}
	if got, want := rec.responses(), []response{{"GET", "routeTables", 200}}; !slices.Equal(got, want) {
		t.Errorf("OnResponse calls = %v, want %v", got, want)
	}

	t.Run("a 500 is reported once, not retried by the SDK", func(t *testing.T) {
		srv.setStatus(500)
		defer srv.setStatus(0)
		_, _, before := srv.seen()
		rec0 := len(rec.responses())
		err := getRouteTable(t, s, cred)
		if err == nil {
			t.Fatal("want an error")
		}
		_, _, after := srv.seen()
		if after-before != 1 {
			t.Errorf("server saw %d requests, want exactly 1 (SDK retries are off)", after-before)
		}
		if got := rec.responses()[rec0:]; !slices.Equal(got, []response{{"GET", "routeTables", 500}}) {
			t.Errorf("OnResponse calls = %v", got)
		}
	})

	t.Run("without the CA file the server is not trusted and status 0 is reported", func(t *testing.T) {
		rec := &recorder{}
		s := s
		s.CAFile = ""
		s.OnResponse = rec.on
		err := getRouteTable(t, s, cred)
		if err == nil || !strings.Contains(err.Error(), "certificate") {
			t.Fatalf("err = %v, want a certificate error", err)
		}
		if got := rec.responses(); !slices.Equal(got, []response{{"GET", "routeTables", 0}}) {
			t.Errorf("OnResponse calls = %v, want one with status 0", got)
		}
	})
}

func TestClientOptionsChoosesTheCloud(t *testing.T) {
	publicBefore := cloud.AzurePublic.Services[cloud.ResourceManager]
	tests := []struct {
		name         string
		s            Settings
		wantEndpoint string
		wantAudience string
		wantErr      string
	}{
		{name: "empty cloud is Azure public", s: Settings{},
			wantEndpoint: "https://management.azure.com", wantAudience: "https://management.core.windows.net/"},
		{name: "AzureUSGovernment is Azure Government", s: Settings{Cloud: "AzureUSGovernment"},
			wantEndpoint: "https://management.usgovcloudapi.net", wantAudience: "https://management.core.usgovcloudapi.net/"},
		{name: "azuregovernment is accepted in any case", s: Settings{Cloud: "azuregovernment"},
			wantEndpoint: "https://management.usgovcloudapi.net", wantAudience: "https://management.core.usgovcloudapi.net/"},
		{name: "AzureChina is Azure China", s: Settings{Cloud: "AzureChina"},
			wantEndpoint: "https://management.chinacloudapi.cn", wantAudience: "https://management.core.chinacloudapi.cn/"},
		{name: "an endpoint override keeps the cloud's audience", s: Settings{Cloud: "AzureChina", ARMEndpoint: "https://127.0.0.1:8443/"},
			wantEndpoint: "https://127.0.0.1:8443", wantAudience: "https://management.core.chinacloudapi.cn/"},
		{name: "an http endpoint is refused", s: Settings{ARMEndpoint: "http://127.0.0.1:8080"}, wantErr: "must be an https URL"},
		{name: "an unknown cloud is refused", s: Settings{Cloud: "AzureGermany"}, wantErr: "unknown cloud"},
		{name: "a missing CA file is refused", s: Settings{CAFile: "/nonexistent/ca.pem"}, wantErr: "read CA file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts, err := ClientOptions(tt.s)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			rm := opts.Cloud.Services[cloud.ResourceManager]
			if rm.Endpoint != tt.wantEndpoint || rm.Audience != tt.wantAudience {
				t.Errorf("resource manager = %+v, want endpoint %q audience %q", rm, tt.wantEndpoint, tt.wantAudience)
			}
			if opts.InsecureAllowCredentialWithHTTP {
				t.Error("InsecureAllowCredentialWithHTTP is set")
			}
			if opts.Retry.MaxRetries != -1 {
				t.Errorf("Retry.MaxRetries = %d, want -1 (the engine retries)", opts.Retry.MaxRetries)
			}
		})
	}
	if cloud.AzurePublic.Services[cloud.ResourceManager] != publicBefore {
		t.Error("ClientOptions mutated cloud.AzurePublic")
	}
}

func TestCAFileWithoutCertificatesIsRefused(t *testing.T) {
	f := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(f, []byte("not a certificate\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := ClientOptions(Settings{CAFile: f}); err == nil || !strings.Contains(err.Error(), "no PEM certificate") {
		t.Fatalf("err = %v, want no PEM certificate", err)
	}
}

func TestUserAgentPolicy(t *testing.T) {
	tests := []struct {
		name, version, instance, incoming, want string
	}{
		{"extends the telemetry ApplicationID", "v1", "mon-a", "hanva-nva-monitor azsdk-go-x/v1 (go; linux)",
			"hanva-nva-monitor/v1 (mon-a) azsdk-go-x/v1 (go; linux)"},
		{"empty version is dev and empty instance is left out", "", "", "hanva-nva-monitor azsdk-go-x/v1",
			"hanva-nva-monitor/dev azsdk-go-x/v1"},
		{"parentheses in the instance are dropped", "v1", "a(b)c", "hanva-nva-monitor", "hanva-nva-monitor/v1 (abc)"},
		{"spaces in the version are dropped", "v 1", "m", "", "hanva-nva-monitor/v1 (m)"},
		{"a foreign User-Agent is kept after ours", "v1", "m", "other/1", "hanva-nva-monitor/v1 (m) other/1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got string
			pl := runtime.NewPipeline("test", "v0", runtime.PipelineOptions{}, &policy.ClientOptions{
				Telemetry:       policy.TelemetryOptions{Disabled: true},
				PerCallPolicies: []policy.Policy{userAgentPolicy{value: userAgent(tt.version, tt.instance)}},
				Transport: transportFunc(func(r *http.Request) (*http.Response, error) {
					got = r.UserAgent()
					return &http.Response{StatusCode: 200, Body: http.NoBody, Header: http.Header{}, Request: r}, nil
				}),
			})
			req, err := runtime.NewRequest(context.Background(), http.MethodGet, "https://example.invalid/x")
			if err != nil {
				t.Fatal(err)
			}
			if tt.incoming != "" {
				req.Raw().Header.Set("User-Agent", tt.incoming)
			}
			if _, err := pl.Do(req); err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("User-Agent = %q, want %q", got, tt.want)
			}
		})
	}
}

type transportFunc func(*http.Request) (*http.Response, error)

func (f transportFunc) Do(r *http.Request) (*http.Response, error) { return f(r) }

func TestResourceType(t *testing.T) {
	tests := []struct{ path, want string }{
		{rtPath, "routeTables"},
		{rtPath + "/routes/default", "routes"},
		{"/subscriptions/s/resourceGroups/g/providers/Microsoft.Network/networkInterfaces/nic-1", "networkInterfaces"},
		{"/subscriptions/s/resourceGroups/g/providers/Microsoft.Network/publicIPAddresses/pip-1", "publicIPAddresses"},
		{"/subscriptions/s/providers/Microsoft.Network/locations/westeurope/operations/0f1e", "operations"},
		{"/subscriptions/s/resourceGroups/g/providers/Microsoft.Network/routeTables", "routeTables"},
		{rtPath + "/providers/Microsoft.Authorization/permissions", "permissions"},
		{"/subscriptions/s/resourceGroups/g", "resourceGroups"},
		{"/subscriptions/s/providers/Microsoft.Network", "providers"},
		{"/subscriptions/s/resourceGroups/g/providers/Microsoft.Network/loadBalancers/lb/backendAddressPools/p", "backendAddressPools"},
		{"/subscriptions/s/resourceGroups/g/providers/Microsoft.Network/loadBalancers/lb", "loadBalancers"},
		{"/subscriptions/s/resourceGroups/g/providers/Microsoft.Network/privateDnsZones/z.example/A/proxy", "A"},
		{"/subscriptions/s/resourceGroups/g/providers/Microsoft.Network/privateDnsZones/z.example", "privateDnsZones"},
		{"/subscriptions/s/resourceGroups/g/providers/Microsoft.Web/sites/app", "other"},
		{"/", "other"},
	}
	for _, tt := range tests {
		if got := ResourceType(tt.path); got != tt.want {
			t.Errorf("ResourceType(%q) = %q, want %q", tt.path, got, tt.want)
		}
	}
}
