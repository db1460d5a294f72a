package azure

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/streaming"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/lease"

	"github.com/hanva/hanva/monitor/config"
	"github.com/hanva/hanva/testenv/azurite"
)

// devKey is Azurite's public development account key (see testenv/azurite).
const devKey = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="

func writeFile(t *testing.T, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "key")
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestBlobContainerWithASharedKeyLeasesABlobInAzurite(t *testing.T) {
	az := azurite.StartT(t)
	if _, err := az.ContainerClient("hanva"); err != nil {
		t.Fatal(err)
	}
	// An editor's trailing newline is trimmed.
	keyFile := writeFile(t, az.AccountKey()+"\n")
	c, blobName, err := BlobContainer(config.Lease{
		Kind:       config.LeaseBlob,
		URL:        az.BlobURL("hanva", "ha/leader"),
		Duration:   config.Duration(15 * time.Second),
		Credential: config.LeaseCredential{Kind: config.LeaseCredentialSharedKey, AccountKeyFile: keyFile},
	}, "mon-a", "1.2.3")
	if err != nil {
		t.Fatal(err)
	}
	if blobName != "ha/leader" {
		t.Fatalf("blob name = %q, want ha/leader", blobName)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	bb := c.NewBlockBlobClient(blobName)
	if _, err := bb.Upload(ctx, streaming.NopCloser(bytes.NewReader([]byte("{}"))), nil); err != nil {
		t.Fatalf("upload with the shared key: %v", err)
	}
	l, err := lease.NewBlobClient(bb, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.AcquireLease(ctx, 15, nil); err != nil {
		t.Fatalf("acquire: %v", err)
	}
	if _, err := l.ReleaseLease(ctx, nil); err != nil {
		t.Fatalf("release: %v", err)
	}
}

// storageServer records what a blob client sends and answers with status.
type storageServer struct {
	*httptest.Server
	mu       sync.Mutex
	headers  []http.Header
	status   int
	requests int
}

func newStorageServer(t *testing.T, status int) *storageServer {
	t.Helper()
	s := &storageServer{status: status}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.headers = append(s.headers, r.Header.Clone())
		s.requests++
		s.mu.Unlock()
		w.Header().Set("x-ms-error-code", "ServerBusy")
		w.WriteHeader(s.status)
	}))
	t.Cleanup(s.Close)
	return s
}

func TestBlobContainerNamesTheInstanceSignsWithTheKeyAndRetriesModestly(t *testing.T) {
	srv := newStorageServer(t, http.StatusServiceUnavailable)
	c, _, err := BlobContainer(config.Lease{
		Kind:       config.LeaseBlob,
		URL:        srv.URL + "/devstoreaccount1/hanva/leader",
		Credential: config.LeaseCredential{Kind: config.LeaseCredentialSharedKey, AccountKeyFile: writeFile(t, devKey)},
	}, "mon-a", "1.2.3")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := c.NewBlobClient("leader").GetProperties(ctx, nil); err == nil {
		t.Fatal("GetProperties succeeded against a server answering 503")
	}
	srv.mu.Lock()
	defer srv.mu.Unlock()
	if srv.requests != 1+storageMaxRetries {
		t.Errorf("%d requests for one call answered 503, want %d (1 + %d retries)", srv.requests, 1+storageMaxRetries, storageMaxRetries)
	}
	for i, h := range srv.headers {
		if ua := h.Get("User-Agent"); !strings.HasPrefix(ua, "hanva-nva-monitor/1.2.3 (mon-a) azsdk-go-azblob/") {
			t.Errorf("request %d User-Agent = %q, want it to start with hanva-nva-monitor/1.2.3 (mon-a) azsdk-go-azblob/", i, ua)
		}
		if auth := h.Get("Authorization"); !strings.HasPrefix(auth, "SharedKey devstoreaccount1:") {
			t.Errorf("request %d Authorization = %q, want SharedKey devstoreaccount1:...", i, auth)
		}
		if h.Get("x-ms-client-request-id") == "" {
			t.Errorf("request %d has no x-ms-client-request-id", i)
		}
	}
}

func TestBlobContainerRefusesWhatItCannotUseSafely(t *testing.T) {
	key := writeFile(t, devKey)
	for _, tc := range []struct {
		name string
		l    config.Lease
		want string
	}{
		{"a managed identity token over http", config.Lease{URL: "http://127.0.0.1:10000/devstoreaccount1/hanva/leader"}, "must be https"},
		{"an Azure CLI token over http", config.Lease{URL: "http://127.0.0.1:10000/devstoreaccount1/hanva/leader",
			Credential: config.LeaseCredential{Kind: config.LeaseCredentialAzureCLI}}, "must be https"},
		{"an unknown credential kind", config.Lease{URL: "https://acct.blob.core.windows.net/hanva/leader",
			Credential: config.LeaseCredential{Kind: "password"}}, `unknown kind "password"`},
		{"a key file with a token kind", config.Lease{URL: "https://acct.blob.core.windows.net/hanva/leader",
			Credential: config.LeaseCredential{AccountKeyFile: key}}, "accountKeyFile is only used with sharedKey"},
		{"a client ID with a shared key", config.Lease{URL: "http://127.0.0.1:10000/devstoreaccount1/hanva/leader",
			Credential: config.LeaseCredential{Kind: config.LeaseCredentialSharedKey, ClientID: "x", AccountKeyFile: key}}, "clientId is only used"},
		{"a shared key without a key file", config.Lease{URL: "http://127.0.0.1:10000/devstoreaccount1/hanva/leader",
			Credential: config.LeaseCredential{Kind: config.LeaseCredentialSharedKey}}, "accountKeyFile is required"},
		{"a missing key file", config.Lease{URL: "http://127.0.0.1:10000/devstoreaccount1/hanva/leader",
			Credential: config.LeaseCredential{Kind: config.LeaseCredentialSharedKey, AccountKeyFile: filepath.Join(t.TempDir(), "nope")}}, "read account key file"},
		{"an empty key file", config.Lease{URL: "http://127.0.0.1:10000/devstoreaccount1/hanva/leader",
			Credential: config.LeaseCredential{Kind: config.LeaseCredentialSharedKey, AccountKeyFile: writeFile(t, " \n")}}, "is empty"},
		{"a key that is not base64", config.Lease{URL: "http://127.0.0.1:10000/devstoreaccount1/hanva/leader",
			Credential: config.LeaseCredential{Kind: config.LeaseCredentialSharedKey, AccountKeyFile: writeFile(t, "secret-not-base64!")}}, "not a valid base64 account key"},
		{"a URL without a container", config.Lease{URL: "https://acct.blob.core.windows.net/"}, "parse lease url"},
	} {
		t.Run(tc.name+" is refused", func(t *testing.T) {
			_, _, err := BlobContainer(tc.l, "mon-a", "1.2.3")
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("BlobContainer() = %v, want an error containing %q", err, tc.want)
			}
			if strings.Contains(err.Error(), "secret-not-base64") {
				t.Fatalf("the error quotes the key: %v", err)
			}
		})
	}
}

func TestBlobContainerBuildsTokenCredentialsForHTTPS(t *testing.T) {
	t.Setenv("AZURE_TENANT_ID", "00000000-0000-0000-0000-000000000001")
	t.Setenv("AZURE_CLIENT_ID", "00000000-0000-0000-0000-000000000002")
	t.Setenv("AZURE_CLIENT_SECRET", "not-a-real-secret")
	for _, cred := range []config.LeaseCredential{
		{},
		{Kind: config.LeaseCredentialManagedIdentity, ClientID: "00000000-0000-0000-0000-000000000003"},
		{Kind: config.LeaseCredentialAzureCLI},
		{Kind: config.LeaseCredentialEnvironment},
	} {
		t.Run("kind "+cred.Kind, func(t *testing.T) {
			c, blobName, err := BlobContainer(config.Lease{URL: "https://acct.blob.core.windows.net/hanva/ha/leader", Credential: cred}, "mon-a", "")
			if err != nil {
				t.Fatalf("BlobContainer() = %v", err)
			}
			if c.URL() != "https://acct.blob.core.windows.net/hanva" || blobName != "ha/leader" {
				t.Fatalf("container URL %q, blob %q; want https://acct.blob.core.windows.net/hanva and ha/leader", c.URL(), blobName)
			}
		})
	}
}

func TestStorageCloudFollowsTheBlobEndpoint(t *testing.T) {
	for host, want := range map[string]string{
		"acct.blob.core.windows.net":       "AzurePublic",
		"acct.blob.core.usgovcloudapi.net": "AzureUSGovernment",
		"ACCT.BLOB.CORE.CHINACLOUDAPI.CN":  "AzureChina",
		"127.0.0.1":                        "AzurePublic",
	} {
		if got := storageCloud(host); got != want {
			t.Errorf("storageCloud(%q) = %q, want %q", host, got, want)
		}
	}
}

func TestStorageTriesAreCutWellWithinALeaseRenewPeriod(t *testing.T) {
	for _, d := range []time.Duration{15 * time.Second, 60 * time.Second} {
		o, err := storageOptions(d, "mon-a", "1")
		if err != nil {
			t.Fatal(err)
		}
		r := o.Retry
		if r.TryTimeout <= 0 || r.TryTimeout >= d/6 {
			t.Errorf("lease %s: TryTimeout %s, want positive and under the lease loop's request timeout %s", d, r.TryTimeout, d/6)
		}
		if r.MaxRetries < 1 || r.MaxRetries > 2 || r.MaxRetryDelay > time.Second {
			t.Errorf("lease %s: %d retries, delays up to %s: want 1 or 2 retries at most 1s apart", d, r.MaxRetries, r.MaxRetryDelay)
		}
	}
}
