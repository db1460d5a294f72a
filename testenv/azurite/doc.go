// Package azurite starts a real Azurite blob service (Microsoft's Azure
// Storage emulator) on 127.0.0.1 for tests of the blob lease and shared state.
//
// Azurite comes from npm: `make azurite` installs azurite@3.35.0 into
// .tools/azurite under the module root (once; `make test` depends on it).
// Start finds azurite-blob there, or at $HANVA_AZURITE_BIN, and fails with
// "run `make azurite`" when it is missing. Tests fail rather than skip without
// it, so CI cannot pass by not running them.
//
// Each Azurite listens on its own free port with its data on disk under
// Options.Dir, so Stop followed by Restart (same port, same data) models the
// storage service going away and coming back. It runs with
// --skipApiVersionCheck (azblob v1.8.x sends a newer x-ms-version than
// Azurite knows) and --disableTelemetry. The account is the public
// development account devstoreaccount1 with its well-known key, used over
// plain http with shared-key authorisation and path-style URLs
// (http://127.0.0.1:PORT/devstoreaccount1/<container>/<blob>).
//
// Processes: Azurite runs in its own process group; Stop sends SIGTERM to the
// group and SIGKILL after 5 s. StartT stops it in t.Cleanup. On Linux the
// kernel also kills it (parent-death signal) if the test binary dies, e.g. on
// a panic or a -timeout. Elsewhere a crashed test may leave one behind: find
// it with `pgrep -f azurite-blob` and kill its group with `kill -- -PGID`.
// The package needs a Unix system.
//
// Usage:
//
//	func TestLeader(t *testing.T) {
//		az := azurite.StartT(t)
//		c, err := az.ContainerClient("hanva") // azblob shared-key client; container created
//		if err != nil {
//			t.Fatal(err)
//		}
//		// ... use c (blob, lease.NewBlobClient(c.NewBlobClient("leader"), nil)) ...
//
//		// Or configure a monitor process against it:
//		keyFile, err := az.WriteKeyFile(t.TempDir())
//		if err != nil {
//			t.Fatal(err)
//		}
//		_ = config.Lease{Kind: "blob", URL: az.BlobURL("hanva", "leader"),
//			Credential: config.LeaseCredential{Kind: "sharedKey", AccountKeyFile: keyFile}}
//
//		// Storage outage: Stop, then Restart on the same port with the same data.
//		if err := az.Stop(); err != nil {
//			t.Fatal(err)
//		}
//		if err := az.Restart(); err != nil {
//			t.Fatal(err)
//		}
//	}
package azurite
