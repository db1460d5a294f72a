package config

import (
	"errors"
	"strings"
	"testing"
)

func TestLeaseParseSplitsEachURLForm(t *testing.T) {
	tests := []struct {
		name string
		url  string
		want BlobLocation
	}{
		{"a public-cloud URL gives the account from the host", "https://acct.blob.core.windows.net/hanva/a/b",
			BlobLocation{"https://acct.blob.core.windows.net", "acct", "hanva", "a/b"}},
		{"a one-segment blob name is kept", "https://sthanva.blob.core.windows.net/hanva/leader",
			BlobLocation{"https://sthanva.blob.core.windows.net", "sthanva", "hanva", "leader"}},
		{"a sovereign cloud's endpoint takes the account from its first label", "https://acct.blob.core.chinacloudapi.cn/hanva/b",
			BlobLocation{"https://acct.blob.core.chinacloudapi.cn", "acct", "hanva", "b"}},
		{"a custom endpoint with a port keeps the port in the service URL", "https://acct.blob.local.azurestack.external:8443/hanva/dmz/leader",
			BlobLocation{"https://acct.blob.local.azurestack.external:8443", "acct", "hanva", "dmz/leader"}},
		{"an upper-case host still gives a lower-case account", "https://ACCT.blob.core.windows.net/hanva/b",
			BlobLocation{"https://ACCT.blob.core.windows.net", "acct", "hanva", "b"}},
		{"an emulator on 127.0.0.1 is path-style", "http://127.0.0.1:10000/devstoreaccount1/hanva/b",
			BlobLocation{"http://127.0.0.1:10000/devstoreaccount1", "devstoreaccount1", "hanva", "b"}},
		{"an emulator on localhost is path-style", "http://localhost:10000/devstoreaccount1/hanva/dmz/leader",
			BlobLocation{"http://localhost:10000/devstoreaccount1", "devstoreaccount1", "hanva", "dmz/leader"}},
		{"an emulator on IPv6 loopback is path-style", "http://[::1]:10000/devstoreaccount1/hanva/b",
			BlobLocation{"http://[::1]:10000/devstoreaccount1", "devstoreaccount1", "hanva", "b"}},
		{"an emulator over https is path-style too", "https://127.0.0.1:10000/devstoreaccount1/hanva/b",
			BlobLocation{"https://127.0.0.1:10000/devstoreaccount1", "devstoreaccount1", "hanva", "b"}},
		{"a percent-encoded blob name is unescaped", "https://acct.blob.core.windows.net/hanva/my%20leader",
			BlobLocation{"https://acct.blob.core.windows.net", "acct", "hanva", "my leader"}},
		{"an upper-case scheme is read as https", "HTTPS://acct.blob.core.windows.net/hanva/b",
			BlobLocation{"https://acct.blob.core.windows.net", "acct", "hanva", "b"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Lease{URL: tt.url}.Parse()
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Fatalf("Parse(%q)\n got %+v\nwant %+v", tt.url, got, tt.want)
			}
		})
	}
}

func TestLeaseParseRefusesWhatIsNotAUsableBlobURL(t *testing.T) {
	const sas = "https://acct.blob.core.windows.net/hanva/b?sv=2024-08-04&se=2030-01-01&sp=rw&sig=c2VjcmV0"
	tests := []struct {
		name     string
		url      string
		fragment string
	}{
		{"an empty URL", "", "is empty; write the leader blob's URL"},
		{"a host name alone", "acct.blob.core.windows.net/hanva/b", "is not an absolute URL"},
		{"an ftp URL", "ftp://acct.blob.core.windows.net/hanva/b", `has scheme "ftp"; a blob URL starts with https://`},
		{"plain http to Azure", "http://acct.blob.core.windows.net/hanva/b",
			`is plain http, which is only for a storage emulator on a loopback address (127.0.0.1, ::1, localhost); ` +
				`use https, like "https://acct.blob.core.windows.net/hanva/b"`},
		{"plain http to a private address", "http://10.0.0.5:10000/devstoreaccount1/hanva/b", "is plain http"},
		{"a SAS token", sas, "no SAS tokens in config; the monitor uses its managed identity"},
		{"a SAS token that is only a signature", "https://acct.blob.core.windows.net/hanva/b?sig=x", "no SAS tokens in config"},
		{"another query", "https://acct.blob.core.windows.net/hanva/b?comp=lease", "has a query; a blob URL needs none"},
		{"an empty query", "https://acct.blob.core.windows.net/hanva/b?", "has a query"},
		{"user info", "https://user:pass@acct.blob.core.windows.net/hanva/b", "has user info before the host"},
		{"a fragment", "https://acct.blob.core.windows.net/hanva/b#x", "has a fragment"},
		{"no container", "https://acct.blob.core.windows.net/",
			`names no container; write it like "https://acct.blob.core.windows.net/<container>/<blob>"`},
		{"no path at all", "https://acct.blob.core.windows.net", "names no container"},
		{"no blob", "https://acct.blob.core.windows.net/hanva",
			`names container "hanva" but no blob; add the leader blob's name, like "https://acct.blob.core.windows.net/hanva/leader"`},
		{"no blob after a slash", "https://acct.blob.core.windows.net/hanva/", `names container "hanva" but no blob`},
		{"no blob on an emulator", "http://127.0.0.1:10000/devstoreaccount1/hanva",
			`names container "hanva" but no blob (on an emulator the path is /<account>/<container>/<blob>)`},
		{"an emulator path without the account", "http://127.0.0.1:10000/", "names no storage account"},
		{"an emulator account that is not an account name", "http://127.0.0.1:10000/Dev_Store/c/b",
			`has account "Dev_Store" (on an emulator, the first segment of the path)`},
		{"an IP address that is not loopback", "https://10.0.0.5/hanva/b", "has the IP address 10.0.0.5 as its host"},
		{"a host without dots", "https://storage/hanva/b", `has host "storage", which does not start with a storage account name`},
		{"a host whose first label is not an account name", "https://my_account.blob.core.windows.net/hanva/b",
			`has host "my_account.blob.core.windows.net", which does not start with a storage account name`},
		{"an account name that is too short", "https://ab.blob.core.windows.net/hanva/b", "does not start with a storage account name"},
		{"an upper-case container suggests the lower-case one", "https://acct.blob.core.windows.net/Hanva/b",
			`has container "Hanva", which is not a container name: use 3-63 lower-case letters, digits and single hyphens, ` +
				`starting and ending with a letter or digit, like "hanva"`},
		{"a container with two hyphens in a row", "https://acct.blob.core.windows.net/ha--nva/b", `has container "ha--nva"`},
		{"a one-letter container is refused, as Azure refuses it", "https://acct.blob.core.windows.net/c/b",
			`has container "c", which is not a container name: use 3-63 lower-case letters`},
		{"a container longer than 63 characters", "https://acct.blob.core.windows.net/" + strings.Repeat("c", 64) + "/b",
			"is not a container name"},
		{"a blob name with an empty segment", "https://acct.blob.core.windows.net/hanva/a//b", `has an empty segment ("//")`},
		{"a blob name ending with a slash", "https://acct.blob.core.windows.net/hanva/dmz/leader/",
			`ends with "/"; Azure advises against names ending in "." or "/", so remove it, like "https://acct.blob.core.windows.net/hanva/dmz/leader"`},
		{"a blob name ending with a dot", "https://acct.blob.core.windows.net/hanva/leader.", `ends with "."`},
		{"a blob name with a dot-dot segment", "https://acct.blob.core.windows.net/hanva/a/../b", `a "." or ".." segment`},
		{"a blob name with an encoded control character", "https://acct.blob.core.windows.net/hanva/a%00b", "contains a control character"},
		{"a blob name too long for the names derived from it", "https://acct.blob.core.windows.net/hanva/" + strings.Repeat("b", 885),
			"has a blob name 885 bytes long; keep it to 884"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			loc, err := Lease{URL: tt.url}.Parse()
			if err == nil {
				t.Fatalf("Parse(%q) = %+v, want an error", tt.url, loc)
			}
			if !strings.Contains(err.Error(), tt.fragment) {
				t.Fatalf("error %q does not say %q", err, tt.fragment)
			}
			if !strings.HasPrefix(err.Error(), "parse lease url ") {
				t.Errorf("error %q does not say what failed", err)
			}
		})
	}
}

func TestLeaseParseNeverRepeatsASecretFromTheURL(t *testing.T) {
	for _, url := range []string{
		"https://acct.blob.core.windows.net/hanva/b?sv=2024-08-04&sig=c2VjcmV0",
		"https://acct.blob.core.windows.net/hanva?sig=c2VjcmV0",
		"http://acct.blob.core.windows.net/hanva/b?sig=c2VjcmV0",
		"https://admin:c2VjcmV0@acct.blob.core.windows.net/hanva/b",
		"https://acct.blob.core.windows.net/hanva/b#c2VjcmV0",
	} {
		_, err := Lease{URL: url}.Parse()
		if err == nil || strings.Contains(err.Error(), "c2VjcmV0") {
			t.Errorf("Parse(%q) error %v; want an error that does not repeat the secret", url, err)
		}
		err = (&Config{Lease: Lease{Kind: LeaseBlob, URL: url}}).Validate()
		if err == nil || strings.Contains(err.Error(), "c2VjcmV0") {
			t.Errorf("Validate with url %q: %v; want an error that does not repeat the secret", url, err)
		}
	}
}

func TestLeaseParseErrorNamesTheURLAndTheReason(t *testing.T) {
	_, err := Lease{URL: "https://acct.blob.core.windows.net/hanva?sig=x"}.Parse()
	var be *blobURLError
	if !errors.As(err, &be) {
		t.Fatalf("got %T, want *blobURLError", err)
	}
	want := `parse lease url "https://acct.blob.core.windows.net/hanva…": has a SAS token: no SAS tokens in config; ` +
		`the monitor uses its managed identity (lease.credential); remove the "?" and everything after it`
	if err.Error() != want {
		t.Fatalf("error\n %s\nwant\n %s", err, want)
	}
}
