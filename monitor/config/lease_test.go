package config

import (
	"reflect"
	"strings"
	"testing"
	"time"
)

const testLeaseURL = "https://sthanva.blob.core.windows.net/hanva/dmz/leader"

// clustered makes c one of three monitors sharing a blob lease, as a
// production deployment is; every other field as validConfig left it.
func clustered(c *Config) {
	c.Instance = "monitor-1"
	c.Monitors = []string{"monitor-1", "monitor-2", "monitor-3"}
	c.Lease = Lease{Kind: LeaseBlob, URL: testLeaseURL}
}

// emulated points c's blob lease at an emulator with a shared key.
func emulated(c *Config) {
	c.Lease.URL = "http://127.0.0.1:10000/devstoreaccount1/hanva/leader"
	c.Lease.Credential = LeaseCredential{Kind: LeaseCredentialSharedKey, AccountKeyFile: "/run/hanva/azurite.key"}
}

func TestValidateReportsEachMonitorAndLeaseMistakeAtItsField(t *testing.T) {
	tests := []struct {
		name     string
		mutate   func(c *Config)
		field    string
		fragment string
	}{
		{"an empty monitor name is refused", func(c *Config) { c.Monitors[2] = "" },
			"monitors[2]", "is empty; list each monitor's instance name"},
		{"a monitor name with a slash is refused", func(c *Config) { c.Monitors[1] = "rack/2" },
			"monitors[1]", `"rack/2" is not a valid monitor name; use 1-128 letters, digits, ".", "-" and "_", ` +
				`starting and ending with a letter or digit, like "monitor-2"`},
		{"a monitor listed twice is refused, ignoring case", func(c *Config) { c.Monitors[2] = "Monitor-2" },
			"monitors[2]", `"Monitor-2" is already monitors[1] (names are compared ignoring case); list each monitor once`},
		{"an instance missing from monitors is refused", func(c *Config) { c.Instance = "monitor-4" },
			"instance", `"monitor-4" is not one of monitors (monitor-1, monitor-2, monitor-3); ` +
				"set instance to the name this host has in monitors, or add it to monitors"},
		{"an instance that differs from its monitors entry in case is refused", func(c *Config) { c.Instance = "MONITOR-1" },
			"instance", `"MONITOR-1" is not one of monitors (monitor-1, monitor-2, monitor-3) (monitors[0] is "monitor-1": write it the same way in both)`},
		{"an instance missing from a one-monitor list is refused", func(c *Config) { c.Monitors = []string{"monitor-2"} },
			"instance", `"monitor-1" is not one of monitors (monitor-2)`},
		{"several monitors without a lease are refused", func(c *Config) { c.Lease = Lease{} },
			"lease.kind", "is required with 3 monitors: only one of them may write to ARM, and a blob lease elects it; " +
				`add lease: with kind: blob and url: "https://<account>.blob.core.windows.net/<container>/<blob>"`},
		{"several monitors with lease kind none are refused", func(c *Config) { c.Lease = Lease{Kind: LeaseNone} },
			"lease.kind", "none would let each of the 3 monitors write to ARM on its own"},
		{"an unknown lease kind is refused", func(c *Config) { c.Lease.Kind = "blobs" },
			"lease.kind", `"blobs" is not a known lease kind; use one of none, blob (did you mean "blob"?)`},
		{"a url with lease kind none is refused", func(c *Config) { c.Monitors = nil; c.Lease.Kind = LeaseNone },
			"lease.url", `"` + testLeaseURL + `" is only used with kind blob, not none; remove it, or set kind: blob`},
		{"a duration with lease kind none is refused", func(c *Config) {
			c.Monitors, c.Lease = nil, Lease{Kind: LeaseNone, Duration: Duration(20 * time.Second)}
		}, "lease.duration", "20s is only used with kind blob, not none"},
		{"a credential with lease kind none is refused", func(c *Config) {
			c.Monitors, c.Lease = nil, Lease{Kind: LeaseNone, Credential: LeaseCredential{Kind: LeaseCredentialAzureCLI}}
		}, "lease.credential", "is only used with kind blob, not none"},
		{"a blob lease without a url is refused", func(c *Config) { c.Lease.URL = "" },
			"lease.url", "is required with kind blob; write the leader blob's URL, like " +
				`"https://<account>.blob.core.windows.net/<container>/<blob>"`},
		{"a url with a SAS token is refused without repeating it", func(c *Config) { c.Lease.URL = testLeaseURL + "?sv=2024-08-04&sig=abc" },
			"lease.url", `"` + testLeaseURL + `…" has a SAS token: no SAS tokens in config; the monitor uses its managed identity`},
		{"a url without a blob is refused", func(c *Config) { c.Lease.URL = "https://sthanva.blob.core.windows.net/hanva" },
			"lease.url", `names container "hanva" but no blob`},
		{"a url over plain http to Azure is refused", func(c *Config) { c.Lease.URL = strings.Replace(testLeaseURL, "https", "http", 1) },
			"lease.url", "is plain http, which is only for a storage emulator on a loopback address"},
		{"a lease shorter than Azure allows is refused", func(c *Config) { c.Lease.Duration = Duration(10 * time.Second) },
			"lease.duration", `10s is outside the lease durations Azure Storage allows; write a whole number of seconds from "15s" to "60s"`},
		{"a lease longer than Azure allows is refused", func(c *Config) { c.Lease.Duration = Duration(90 * time.Second) },
			"lease.duration", `1m30s is outside the lease durations Azure Storage allows; write a whole number of seconds from "15s" to "60s"`},
		{"a lease of a fraction of a second is refused", func(c *Config) { c.Lease.Duration = Duration(15500 * time.Millisecond) },
			"lease.duration", `15.5s is not a whole number of seconds, and Azure sets lease durations in seconds; write "15s" or "16s"`},
		{"the ARM-only staticTokenFile credential is refused for the lease", func(c *Config) {
			c.Lease.Credential.Kind = CredentialStaticTokenFile
		}, "lease.credential.kind", `"staticTokenFile" is not a known lease credential kind; use one of managedIdentity, azureCLI, environment, sharedKey`},
		{"a lease client ID with the azureCLI credential is refused", func(c *Config) {
			c.Lease.Credential = LeaseCredential{Kind: LeaseCredentialAzureCLI, ClientID: testGUID}
		}, "lease.credential.clientId", "is only used with kind managedIdentity, not azureCLI"},
		{"a lease client ID that is not a GUID is refused", func(c *Config) { c.Lease.Credential.ClientID = "id-hanva" },
			"lease.credential.clientId", `"id-hanva" is not a client ID`},
		{"a shared key for a real storage account is refused", func(c *Config) {
			emulated(c)
			c.Lease.URL = testLeaseURL
		}, "lease.credential.kind", `sharedKey is only for a storage emulator on a loopback address, and the url's host is ` +
			`"sthanva.blob.core.windows.net" (an account key opens the whole storage account); in Azure use managedIdentity`},
		{"a shared key without its key file is refused", func(c *Config) {
			emulated(c)
			c.Lease.Credential.AccountKeyFile = ""
		}, "lease.credential.accountKeyFile", "is required with kind sharedKey; set it to the path of the file"},
		{"an account key file with managedIdentity is refused", func(c *Config) {
			c.Lease.Credential.AccountKeyFile = "/run/hanva/azurite.key"
		}, "lease.credential.accountKeyFile", `"/run/hanva/azurite.key" is only used with kind sharedKey, not managedIdentity; remove it`},
		{"a managed identity token over plain http to an emulator is refused", func(c *Config) {
			emulated(c)
			c.Lease.Credential = LeaseCredential{}
		}, "lease.url", `"http://127.0.0.1:10000/devstoreaccount1/hanva/leader" is plain http, and credential kind managedIdentity ` +
			"sends a bearer token, which is never sent over plain http; use https, or credential kind sharedKey with an emulator"},
		{"an Azure CLI token over plain http is refused", func(c *Config) {
			emulated(c)
			c.Lease.Credential = LeaseCredential{Kind: LeaseCredentialAzureCLI}
		}, "lease.url", "credential kind azureCLI sends a bearer token"},
		{"an unknown quorum is refused", func(c *Config) { c.Quorum = "majorty" },
			"quorum", `"majorty" is not a known quorum; use one of majority, none (did you mean "majority"?)`},
		{"a view interval below a second is refused", func(c *Config) { c.ViewInterval = Duration(500 * time.Millisecond) },
			"viewInterval", `500ms is below the minimum 1s`},
		{"a lone monitor's instance that cannot name a view blob is refused", func(c *Config) {
			c.Monitors, c.Instance = nil, "rack 4/monitor"
		}, "instance", `"rack 4/monitor" cannot name this monitor's view blob; with a blob lease use 1-128 letters`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := validConfig()
			clustered(c)
			tt.mutate(c)
			assertOnly(t, problems(t, c.Validate()), tt.field, tt.fragment)
		})
	}
}

func TestValidateAcceptsTheseMonitorAndLeaseVariations(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(c *Config)
	}{
		{"three monitors with a blob lease", func(c *Config) {}},
		{"a lone monitor with a blob lease", func(c *Config) { c.Monitors = nil }},
		{"a lone monitor listed by name with a blob lease", func(c *Config) { c.Monitors = c.Monitors[:1] }},
		{"a lone monitor listed by name without a lease", func(c *Config) { c.Monitors, c.Lease = c.Monitors[:1], Lease{} }},
		{"a lone monitor with lease kind none written out", func(c *Config) { c.Monitors, c.Lease = nil, Lease{Kind: LeaseNone} }},
		{"two monitors", func(c *Config) { c.Monitors = c.Monitors[:2] }},
		{"monitors named by fully qualified host names", func(c *Config) {
			c.Monitors = []string{"fw-mon-1.corp.example", "fw-mon-2.corp.example"}
			c.Instance = "fw-mon-1.corp.example"
		}},
		{"a config built in Go that leaves instance to each host", func(c *Config) { c.Instance = "" }},
		{"three monitors that each act on their own view", func(c *Config) { c.Quorum = QuorumNone }},
		{"a lone monitor with quorum majority", func(c *Config) { c.Monitors, c.Quorum = nil, QuorumMajority }},
		{"the shortest lease", func(c *Config) { c.Lease.Duration = Duration(MinLeaseDuration) }},
		{"the longest lease", func(c *Config) { c.Lease.Duration = Duration(MaxLeaseDuration) }},
		{"the shortest view interval", func(c *Config) { c.ViewInterval = Duration(MinViewInterval) }},
		{"a user-assigned identity for the lease", func(c *Config) { c.Lease.Credential.ClientID = testGUID }},
		{"the Azure CLI for the lease", func(c *Config) { c.Lease.Credential.Kind = LeaseCredentialAzureCLI }},
		{"environment credentials for the lease", func(c *Config) { c.Lease.Credential.Kind = LeaseCredentialEnvironment }},
		{"an emulator with a shared key over http", emulated},
		{"an emulator with a shared key on localhost", func(c *Config) {
			emulated(c)
			c.Lease.URL = "http://localhost:10000/devstoreaccount1/hanva/leader"
		}},
		{"an emulator over https with a token", func(c *Config) {
			c.Lease.URL = "https://127.0.0.1:10000/devstoreaccount1/hanva/leader"
		}},
		{"a sovereign cloud's blob endpoint", func(c *Config) {
			c.Cloud = CloudAzureChina
			c.Lease.URL = "https://sthanva.blob.core.chinacloudapi.cn/hanva/leader"
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := validConfig()
			clustered(c)
			tt.mutate(c)
			if err := c.Validate(); err != nil {
				t.Fatalf("want valid, got:\n%v", err)
			}
		})
	}
}

func TestApplyDefaultsForMonitorsAndLease(t *testing.T) {
	three := []string{"monitor-1", "monitor-2", "monitor-3"}
	tests := []struct {
		name         string
		monitors     []string
		in           Lease
		quorum       string
		want         Lease
		viewInterval time.Duration
	}{
		{"a lone monitor gets no quorum and no lease", nil, Lease{},
			QuorumNone, Lease{Kind: LeaseNone}, 5 * time.Second},
		{"a lone monitor listed by name gets no quorum and no lease", three[:1], Lease{},
			QuorumNone, Lease{Kind: LeaseNone}, 5 * time.Second},
		{"three monitors get a majority quorum, and no lease kind: it must be written", three, Lease{},
			QuorumMajority, Lease{}, 5 * time.Second},
		{"a blob lease gets a 15s duration and the managed identity", three, Lease{Kind: LeaseBlob, URL: testLeaseURL},
			QuorumMajority, Lease{Kind: LeaseBlob, URL: testLeaseURL, Duration: Duration(15 * time.Second),
				Credential: LeaseCredential{Kind: LeaseCredentialManagedIdentity}}, 5 * time.Second},
		{"a lone monitor keeps a blob lease and gets its defaults", nil, Lease{Kind: LeaseBlob, URL: testLeaseURL},
			QuorumNone, Lease{Kind: LeaseBlob, URL: testLeaseURL, Duration: Duration(15 * time.Second),
				Credential: LeaseCredential{Kind: LeaseCredentialManagedIdentity}}, 5 * time.Second},
		{"a lease kind none gets no duration or credential", nil, Lease{Kind: LeaseNone},
			QuorumNone, Lease{Kind: LeaseNone}, 5 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := validConfig()
			c.Monitors, c.Lease = tt.monitors, tt.in
			c.ApplyDefaults()
			if c.Quorum != tt.quorum {
				t.Errorf("quorum = %q, want %q", c.Quorum, tt.quorum)
			}
			if c.Lease != tt.want {
				t.Errorf("lease = %+v, want %+v", c.Lease, tt.want)
			}
			if c.ViewInterval.D() != tt.viewInterval {
				t.Errorf("view interval = %v, want %v", c.ViewInterval, tt.viewInterval)
			}
		})
	}
}

func TestApplyDefaultsKeepsTheMonitorAndLeaseSettingsThatAreSet(t *testing.T) {
	c := validConfig()
	clustered(c)
	emulated(c)
	c.Quorum = QuorumNone
	c.ViewInterval = Duration(2 * time.Second)
	c.Lease.Duration = Duration(30 * time.Second)
	want := *c
	c.ApplyDefaults()
	if c.Quorum != want.Quorum || c.ViewInterval != want.ViewInterval || c.Lease != want.Lease ||
		!reflect.DeepEqual(c.Monitors, want.Monitors) {
		t.Fatalf("ApplyDefaults changed what was set:\n got quorum %q, view interval %v, lease %+v\nwant quorum %q, view interval %v, lease %+v",
			c.Quorum, c.ViewInterval, c.Lease, want.Quorum, want.ViewInterval, want.Lease)
	}
}

func TestMarshalOfAClusterConfigBuiltInGoLoadsOnEachHost(t *testing.T) {
	// What a Pulumi component does for three monitor VMs: one config naming
	// them all, instance left to each VM's host name.
	built := validConfig()
	clustered(built)
	built.Instance = ""
	data, err := built.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range []string{"monitors:\n  - monitor-1\n", "lease:\n  kind: blob\n  url: " + testLeaseURL + "\n"} {
		if !strings.Contains(string(data), line) {
			t.Errorf("marshalled config lacks %q:\n%s", line, data)
		}
	}
	defer func(h func() (string, error)) { hostname = h }(hostname)
	hostname = func() (string, error) { return "monitor-2", nil }
	got, err := Parse(data)
	if err != nil {
		t.Fatalf("%v\n%s", err, data)
	}
	want := validConfig()
	clustered(want)
	want.Instance = "monitor-2"
	want.ApplyDefaults()
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("round trip:\n got %+v\nwant %+v\n%s", got, want, data)
	}
	// Marshal again: what Parse returned comes back the same.
	again, err := got.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	back, err := Parse(again)
	if err != nil || !reflect.DeepEqual(back, got) {
		t.Fatalf("second round trip: %v\n got %+v\nwant %+v\n%s", err, back, got, again)
	}
	if !strings.Contains(string(again), "  duration: 15s\n") || !strings.Contains(string(again), "viewInterval: 5s\n") {
		t.Errorf("durations should be written as strings:\n%s", again)
	}
}

// clusterYAML is baseYAML (22 lines) with three monitors and a blob lease;
// the line numbers below are relied on.
var clusterYAML = baseYAML + `instance: monitor-1
monitors:
  - monitor-1
  - monitor-2
  - monitor-3
lease:
  kind: blob
  url: ` + testLeaseURL + `
  credential:
    kind: managedIdentity
`

func TestParseAcceptsTheClusterFile(t *testing.T) {
	c, err := Parse([]byte(clusterYAML))
	if err != nil {
		t.Fatal(err)
	}
	if c.Instance != "monitor-1" || len(c.Monitors) != 3 || c.Quorum != QuorumMajority || c.Lease.Kind != LeaseBlob ||
		c.Lease.Duration.D() != 15*time.Second || c.ViewInterval.D() != 5*time.Second {
		t.Fatalf("decoded %+v", c)
	}
	loc, err := c.Lease.Parse()
	if err != nil || loc.Account != "sthanva" || loc.Container != "hanva" || loc.Blob != "dmz/leader" {
		t.Fatalf("lease location %+v, %v", loc, err)
	}
}

func TestParseReportsMonitorAndLeaseProblemsWithFieldAndLine(t *testing.T) {
	tests := []struct {
		name     string
		old, new string
		field    string
		line     int
		fragment string
	}{
		{"an instance defaulted to a host name missing from monitors asks for instance, at monitors",
			"instance: monitor-1\n", "",
			"instance", 23, `is not set, so it is the host name "test-host", which is not one of monitors ` +
				"(monitor-1, monitor-2, monitor-3); set instance to the name this host has in monitors"},
		{"a written instance missing from monitors is shown at instance", "instance: monitor-1", "instance: monitor-9",
			"instance", 23, `"monitor-9" is not one of monitors`},
		{"several monitors without a lease are shown at monitors",
			"lease:\n  kind: blob\n  url: " + testLeaseURL + "\n  credential:\n    kind: managedIdentity\n", "",
			"lease.kind", 24, "is required with 3 monitors"},
		{"a bad lease url is shown at its line", "  url: " + testLeaseURL, "  url: https://sthanva.blob.core.windows.net/hanva",
			"lease.url", 30, `names container "hanva" but no blob`},
		{"a problem about an unwritten lease key is shown at its mapping",
			"  url: " + testLeaseURL + "\n  credential:\n    kind: managedIdentity",
			"  url: http://127.0.0.1:10000/devstoreaccount1/hanva/leader\n  credential:\n    kind: sharedKey",
			"lease.credential.accountKeyFile", 31, "is required with kind sharedKey"},
		{"an unknown key under lease lists the keys allowed there", "  kind: blob", "  kind: blob\n  sas: x",
			"lease.sas", 30, "unknown key; the keys allowed here are kind, url, duration, credential"},
		{"a misspelled key under the lease credential suggests the key meant", "    kind: managedIdentity",
			"    kind: managedIdentity\n    clientID: " + testGUID,
			"lease.credential.clientID", 33, `unknown key (did you mean "clientId"?)`},
		{"a lease credential key at the top level says where it belongs", "instance: monitor-1", "accountKeyFile: /k\ninstance: monitor-1",
			"accountKeyFile", 23, `"accountKeyFile" belongs under lease.credential`},
		{"an explicit zero lease duration would silently become the default", "  kind: blob", "  kind: blob\n  duration: 0s",
			"lease.duration", 30, `0s reads as unset and would become the default 15s; write a whole number of seconds from "15s" to "60s", or leave the key out`},
		{"an explicit zero view interval would silently become the default", "instance: monitor-1", "viewInterval: 0s\ninstance: monitor-1",
			"viewInterval", 23, `0s reads as unset and would become the default 5s; write at least "1s", or leave the key out`},
		{"a bare-number lease duration asks for a unit", "  kind: blob", "  kind: blob\n  duration: 15",
			"lease.duration", 30, `15 is a bare number; durations need a unit, write it like "15s"`},
		{"monitors written as one name is refused", "monitors:\n  - monitor-1\n  - monitor-2\n  - monitor-3", "monitors: monitor-1",
			"monitors", 24, "is a single value, but it must be a list"},
		{"a lease written as a URL is refused", "lease:\n  kind: blob\n  url: " + testLeaseURL + "\n  credential:\n    kind: managedIdentity\n",
			"lease: " + testLeaseURL + "\n", "lease", 28, "is a single value, but it must be a mapping"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !strings.Contains(clusterYAML, tt.old) {
				t.Fatalf("clusterYAML has no %q", tt.old)
			}
			in := strings.Replace(clusterYAML, tt.old, tt.new, 1)
			ps := problems(t, mustFail(Parse([]byte(in))))
			for _, p := range ps {
				if !strings.HasPrefix(p.Field, tt.field) || p.Line != tt.line {
					t.Errorf("problem %q is not at %s, line %d", p.String(), tt.field, tt.line)
				}
			}
			if ve := (&ValidationError{Problems: ps}); !strings.Contains(ve.Error(), tt.fragment) {
				t.Errorf("no problem says %q; got:\n%v", tt.fragment, ve)
			}
		})
	}
}
