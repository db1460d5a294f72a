package azurite

import (
	"testing"

	"github.com/hanva/hanva/monitor/config"
)

// The URL and key file this package hands out are what a monitor's config
// lease section takes: config.Lease.Parse splits BlobURL back into the
// service URL, account, container and blob name.
func TestBlobURLIsAValidConfigLeaseURL(t *testing.T) {
	a := &Azurite{port: 10000}
	for _, tc := range []struct{ name, container, blob string }{
		{"a plain blob name", "hanva", "leader"},
		{"a blob name with slashes", "hanva", "prod/westeurope/leader.json"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			loc, err := config.Lease{Kind: "blob", URL: a.BlobURL(tc.container, tc.blob)}.Parse()
			if err != nil {
				t.Fatalf("Parse(%q): %v", a.BlobURL(tc.container, tc.blob), err)
			}
			want := config.BlobLocation{ServiceURL: a.ServiceURL(), Account: a.Account(), Container: tc.container, Blob: tc.blob}
			if loc != want {
				t.Errorf("Parse(%q) = %+v, want %+v", a.BlobURL(tc.container, tc.blob), loc, want)
			}
		})
	}
}
