package azure

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"

	"github.com/hanva/hanva/monitor/config"
)

func TestStaticTokenFileIsRefusedForAnHTTPEndpoint(t *testing.T) {
	file := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(file, []byte("tok"), 0o600); err != nil {
		t.Fatal(err)
	}
	httpsOpts, err := ClientOptions(Settings{ARMEndpoint: "https://127.0.0.1:1"})
	if err != nil {
		t.Fatal(err)
	}
	httpOpts, err := ClientOptions(Settings{ARMEndpoint: "https://127.0.0.1:1"})
	if err != nil {
		t.Fatal(err)
	}
	rm := httpOpts.Cloud.Services["resourceManager"]
	rm.Endpoint = "http://127.0.0.1:1"
	httpOpts.Cloud.Services["resourceManager"] = rm

	cred := config.Credential{Kind: KindStaticTokenFile, TokenFile: file}
	tests := []struct {
		name    string
		s       Settings
		opts    bool
		useHTTP bool
		wantErr bool
	}{
		{name: "an http ARMEndpoint setting is refused", s: Settings{ARMEndpoint: "http://127.0.0.1:8080", Credential: cred}, wantErr: true},
		{name: "client options pointing at http are refused", s: Settings{Credential: cred}, opts: true, useHTTP: true, wantErr: true},
		{name: "an https endpoint is accepted", s: Settings{ARMEndpoint: "https://127.0.0.1:1", Credential: cred}, opts: true},
		{name: "the default cloud is accepted", s: Settings{Credential: cred}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := httpsOpts
			if tt.useHTTP {
				o = httpOpts
			}
			if !tt.opts {
				o = nil
			}
			c, err := Credential(tt.s, o)
			if tt.wantErr {
				if err == nil || !strings.Contains(err.Error(), "https") {
					t.Fatalf("err = %v, want a refusal naming https", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if _, err := c.GetToken(context.Background(), policy.TokenRequestOptions{}); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestStaticTokenFileIsReadOnEveryGetToken(t *testing.T) {
	file := filepath.Join(t.TempDir(), "token")
	now := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	tf := &tokenFile{Path: file, Now: func() time.Time { return now }}
	for _, content := range []string{"first\n", "  second \t\n"} {
		if err := os.WriteFile(file, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		tok, err := tf.GetToken(context.Background(), policy.TokenRequestOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if want := strings.TrimSpace(content); tok.Token != want {
			t.Errorf("token = %q, want %q", tok.Token, want)
		}
		if !tok.ExpiresOn.Equal(now.Add(time.Hour)) {
			t.Errorf("expiry = %v, want now+1h", tok.ExpiresOn)
		}
	}
	if err := os.WriteFile(file, []byte(" \n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := tf.GetToken(context.Background(), policy.TokenRequestOptions{}); err == nil {
		t.Error("an empty token file gave a token")
	}
	tf.Path = filepath.Join(t.TempDir(), "missing")
	if _, err := tf.GetToken(context.Background(), policy.TokenRequestOptions{}); err == nil {
		t.Error("a missing token file gave a token")
	}
}

func TestCredentialKinds(t *testing.T) {
	tests := []struct {
		name    string
		cred    config.Credential
		wantErr string
	}{
		{name: "empty kind is a system-assigned managed identity", cred: config.Credential{}},
		{name: "managed identity takes a client ID", cred: config.Credential{Kind: "managedIdentity", ClientID: "00000000-0000-0000-0000-000000000001"}},
		{name: "azure CLI builds without running az", cred: config.Credential{Kind: "azureCLI"}},
		{name: "a client ID with the CLI is refused", cred: config.Credential{Kind: "azureCLI", ClientID: "x"}, wantErr: "clientId"},
		{name: "a token file with managed identity is refused", cred: config.Credential{TokenFile: "/x"}, wantErr: "tokenFile"},
		{name: "a static token without a file is refused", cred: config.Credential{Kind: "staticTokenFile"}, wantErr: "tokenFile is required"},
		{name: "an unknown kind is refused", cred: config.Credential{Kind: "password"}, wantErr: "unknown kind"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Credential(Settings{Credential: tt.cred}, nil)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || c == nil {
				t.Fatalf("Credential = %v, %v", c, err)
			}
		})
	}
}
