package config

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

const (
	testSub  = "00000000-0000-0000-0000-000000000000"
	testNet  = "/subscriptions/" + testSub + "/resourceGroups/rg-hanva/providers/Microsoft.Network/"
	testNIC  = testNet + "networkInterfaces/"
	testRT   = testNet + "routeTables/"
	testPIP  = testNet + "publicIPAddresses/"
	testPool = testNet + "loadBalancers/lb-nva/backendAddressPools/"
	testZone = testNet + "privateDnsZones/corp.example/"
	testTok  = "/run/hanva/token"
	testGUID = "11111111-2222-3333-4444-555555555555"
)

// validConfig is a small valid configuration built in Go, as a Pulumi
// component would: two NVAs with external and internal NICs, one route table
// via internal, one public IP via external, everything else left to defaults.
func validConfig() *Config {
	return &Config{
		NVAs: []NVA{
			{Name: "nva-1", Probe: Probe{Address: "10.0.1.4:22"}, NICs: map[string]string{
				"external": testNIC + "nva-1-external", "internal": testNIC + "nva-1-internal"}},
			{Name: "nva-2", Probe: Probe{Address: "10.0.1.5:22"}, NICs: map[string]string{
				"external": testNIC + "nva-2-external", "internal": testNIC + "nva-2-internal"}},
		},
		RouteTables: []RouteTable{{ID: testRT + "rt-web", Via: "internal"}},
		PublicIPs:   []PublicIP{{ID: testPIP + "pip-nva", Via: "external"}},
	}
}

// problems returns the problems in err, failing the test if err is not a
// *ValidationError.
func problems(t *testing.T, err error) []Problem {
	t.Helper()
	var ve *ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("got error %v (%T), want a *ValidationError", err, err)
	}
	if len(ve.Problems) == 0 {
		t.Fatal("ValidationError with no problems")
	}
	return ve.Problems
}

// assertOnly checks that every problem is about field and one says fragment.
func assertOnly(t *testing.T, ps []Problem, field, fragment string) {
	t.Helper()
	found := false
	for _, p := range ps {
		if p.Field != field {
			t.Errorf("unexpected problem %q about %q; want only problems about %q", p.String(), p.Field, field)
		}
		if strings.Contains(p.Message, fragment) {
			found = true
		}
	}
	if !found {
		t.Errorf("no problem says %q; got:\n%v", fragment, &ValidationError{Problems: ps})
	}
}

func TestValidateAcceptsTheValidConfig(t *testing.T) {
	if err := validConfig().Validate(); err != nil {
		t.Fatalf("valid config: %v", err)
	}
}

func TestValidateReportsEachMistakeAtItsField(t *testing.T) {
	staticToken := func(c *Config) {
		c.Credential = Credential{Kind: CredentialStaticTokenFile, TokenFile: testTok}
	}
	tests := []struct {
		name     string
		mutate   func(c *Config)
		field    string
		fragment string
	}{
		{"an instance name with a newline is refused", func(c *Config) { c.Instance = "monitor-1\n" },
			"instance", "control character"},
		{"an unknown cloud is named along with the known ones", func(c *Config) { c.Cloud = "AzurePublik" },
			"cloud", `"AzurePublik" is not a known cloud; use one of AzurePublic, AzureUSGovernment, AzureChina (did you mean "AzurePublic"?)`},
		{"a plain http ARM endpoint is refused", func(c *Config) { c.ARMEndpoint = "http://127.0.0.1:8443/" },
			"armEndpoint", `is not https (ARM is only reached over TLS); write it like "https://127.0.0.1:8443/"`},
		{"an ARM endpoint that is only a host name is refused", func(c *Config) { c.ARMEndpoint = "management.azure.com" },
			"armEndpoint", "is not an absolute URL"},
		{"an ARM endpoint with a query is refused", func(c *Config) { c.ARMEndpoint = "https://arm.local/?x=1" },
			"armEndpoint", "has user info, a query or a fragment"},
		{"an unknown credential kind is refused", func(c *Config) { c.Credential.Kind = "msi" },
			"credential.kind", `"msi" is not a known credential kind; use one of managedIdentity, azureCLI, environment, staticTokenFile`},
		{"a client ID with the azureCLI credential is refused", func(c *Config) {
			c.Credential = Credential{Kind: CredentialAzureCLI, ClientID: testGUID}
		}, "credential.clientId", "is only used with kind managedIdentity, not azureCLI"},
		{"a client ID that is not a GUID is refused", func(c *Config) { c.Credential.ClientID = "id-nva-monitor" },
			"credential.clientId", `"id-nva-monitor" is not a client ID`},
		{"staticTokenFile without a token file is refused", func(c *Config) {
			staticToken(c)
			c.Credential.TokenFile = ""
			c.ARMEndpoint = "https://127.0.0.1:8443"
		}, "credential.tokenFile", "is required with kind staticTokenFile"},
		{"a token file with managedIdentity is refused", func(c *Config) { c.Credential.TokenFile = testTok },
			"credential.tokenFile", `"/run/hanva/token" is only used with kind staticTokenFile, not managedIdentity`},
		{"staticTokenFile without an ARM endpoint is refused", staticToken,
			"armEndpoint", "is required with credential kind staticTokenFile"},
		{"staticTokenFile over plain http is refused", func(c *Config) {
			staticToken(c)
			c.ARMEndpoint = "http://127.0.0.1:8080"
		}, "armEndpoint", "a bearer token is never sent over plain http"},
		{"a negative probe interval is refused", func(c *Config) { c.Probe.Interval = Duration(-time.Second) },
			"probe.interval", "-1s must be greater than zero"},
		{"a negative probe timeout is refused", func(c *Config) { c.Probe.Timeout = Duration(-time.Second) },
			"probe.timeout", "-1s must be greater than zero"},
		{"a probe timeout longer than the interval is refused", func(c *Config) {
			c.Probe.Interval, c.Probe.Timeout = Duration(time.Second), Duration(2*time.Second)
		}, "probe.timeout", "2s is longer than probe.interval 1s"},
		{"a failure threshold below one is refused", func(c *Config) { c.Probe.FailureThreshold = -1 },
			"probe.failureThreshold", "-1 must be at least 1"},
		{"a success threshold below one is refused", func(c *Config) { c.Probe.SuccessThreshold = -2 },
			"probe.successThreshold", "-2 must be at least 1"},
		{"one NVA is not enough for HA", func(c *Config) { c.NVAs = c.NVAs[:1] },
			"nvas", "fewer than two NVAs: found 1, but HA needs at least two"},
		{"no NVAs at all is not enough for HA", func(c *Config) { c.NVAs = nil },
			"nvas", "fewer than two NVAs: found 0"},
		{"an NVA without a name is refused", func(c *Config) { c.NVAs[1].Name = "" },
			"nvas[1].name", "is required"},
		{"a duplicate NVA name names both indexes", func(c *Config) { c.NVAs[1].Name = "nva-1" },
			"nvas[1].name", `"nva-1" is already the name of nvas[0]`},
		{"NVA names that differ only in case are duplicates", func(c *Config) { c.NVAs[1].Name = "NVA-1" },
			"nvas[1].name", `"NVA-1" is already the name of nvas[0]`},
		{"an NVA name with a space is refused", func(c *Config) { c.NVAs[0].Name = "nva 1" },
			"nvas[0].name", `"nva 1" is not a valid name`},
		{"an NVA name starting with a hyphen is refused", func(c *Config) { c.NVAs[0].Name = "-nva" },
			"nvas[0].name", "starting and ending with a letter or digit"},
		{"a missing probe address is refused", func(c *Config) { c.NVAs[1].Probe.Address = "" },
			"nvas[1].probe.address", "is required"},
		{"a probe address without a port shows how to add one", func(c *Config) { c.NVAs[1].Probe.Address = "10.0.0.5" },
			"nvas[1].probe.address", `"10.0.0.5" is not IP:port; write it like "10.0.0.5:8080"`},
		{"an IPv6 probe address without a port gets brackets in the example", func(c *Config) { c.NVAs[1].Probe.Address = "fd00::5" },
			"nvas[1].probe.address", `write it like "[fd00::5]:8080"`},
		{"a probe address with a host name is refused", func(c *Config) { c.NVAs[0].Probe.Address = "nva-1.internal:22" },
			"nvas[0].probe.address", `has host "nva-1.internal", which is not an IP address; the probe needs the NVA's IP, like "10.0.0.5:22"`},
		{"probe port 0 is refused", func(c *Config) { c.NVAs[0].Probe.Address = "10.0.1.4:0" },
			"nvas[0].probe.address", "has port 0"},
		{"a probe port above 65535 is refused", func(c *Config) { c.NVAs[0].Probe.Address = "10.0.1.4:65536" },
			"nvas[0].probe.address", `has port "65536"; the port must be a number from 1 to 65535`},
		{"a probe address that is nothing like IP:port is refused", func(c *Config) { c.NVAs[0].Probe.Address = "nva-1" },
			"nvas[0].probe.address", `"nva-1" is not IP:port`},
		{"the unspecified address is refused", func(c *Config) { c.NVAs[0].Probe.Address = "0.0.0.0:22" },
			"nvas[0].probe.address", "is the unspecified address"},
		{"two NVAs probed at the same address are refused", func(c *Config) { c.NVAs[1].Probe.Address = "10.0.1.4:22" },
			"nvas[1].probe.address", `"10.0.1.4:22" is also the probe address of nvas[0]`},
		{"an unknown probe kind is refused", func(c *Config) { c.NVAs[0].Probe.Kind = "icmp" },
			"nvas[0].probe.kind", `"icmp" is not a known probe kind; use one of tcp, http`},
		{"a path on a tcp probe is refused", func(c *Config) { c.NVAs[0].Probe.Path = "/healthz" },
			"nvas[0].probe.path", `"/healthz" is only used with kind http`},
		{"an http path without a leading slash is refused", func(c *Config) {
			c.NVAs[0].Probe = Probe{Address: "10.0.1.4:8080", Kind: ProbeHTTP, Path: "healthz"}
		}, "nvas[0].probe.path", `"healthz" must start with "/", like "/healthz"`},
		{"an http path with a space is refused", func(c *Config) {
			c.NVAs[0].Probe = Probe{Address: "10.0.1.4:8080", Kind: ProbeHTTP, Path: "/health z"}
		}, "nvas[0].probe.path", "percent-encode it"},
		{"an NVA without NICs is refused", func(c *Config) { c.NVAs[1].NICs = nil },
			"nvas[1].nics", `"nva-2" (nvas[1]) has no NICs`},
		{"an empty role name is refused", func(c *Config) { c.NVAs[0].NICs[""] = testNIC + "nva-1-mgmt" },
			"nvas[0].nics", `role "" is not a valid role name`},
		{"an empty NIC ID is refused", func(c *Config) { c.NVAs[0].NICs["internal"] = "" },
			"nvas[0].nics.internal", "is required; write the Microsoft.Network/networkInterfaces resource ID"},
		{"a route table ID in nics is refused", func(c *Config) { c.NVAs[0].NICs["internal"] = testRT + "rt-web" },
			"nvas[0].nics.internal", "is a Microsoft.Network/routeTables, not a Microsoft.Network/networkInterfaces; write it like " +
				`"/subscriptions/{subscription}/resourceGroups/{group}/providers/Microsoft.Network/networkInterfaces/{name}"`},
		{"a NIC ID with a misspelled segment says which", func(c *Config) {
			c.NVAs[1].NICs["internal"] = strings.Replace(testNIC, "resourceGroups", "resourceGroup", 1) + "nva-2-internal"
		}, "nvas[1].nics.internal", `expected "resourceGroups" after the subscription ID, found "resourceGroup"`},
		{"a NIC ID with a subscription name says which", func(c *Config) {
			c.NVAs[0].NICs["internal"] = strings.Replace(testNIC, testSub, "production", 1) + "nva-1-internal"
		}, "nvas[0].nics.internal", `the subscription ID "production" is not a GUID`},
		{"the same NIC in two NVAs is refused, ignoring case", func(c *Config) {
			c.NVAs[1].NICs["internal"] = strings.ToUpper(testNIC + "nva-1-internal")
		}, "nvas[1].nics.internal", "is the same NIC as nvas[0].nics.internal"},
		{"the same NIC in two roles is refused", func(c *Config) { c.NVAs[0].NICs["mgmt"] = testNIC + "nva-1-external" },
			"nvas[0].nics.mgmt", "is the same NIC as nvas[0].nics.external"},
		{"an instance NIC that is a route table ID is refused, naming the field", func(c *Config) { c.InstanceNIC = testRT + "rt-mon" },
			"instanceNic", "is a Microsoft.Network/routeTables, not a Microsoft.Network/networkInterfaces"},
		{"an instance NIC that is not a resource ID is refused", func(c *Config) { c.InstanceNIC = "monitor-1-nic" },
			"instanceNic", `"monitor-1-nic" is not a well-formed resource ID`},
		{"an instance NIC that is an NVA's NIC is refused, ignoring case", func(c *Config) {
			c.InstanceNIC = strings.ToUpper(testNIC + "nva-2-internal")
		}, "instanceNic", `is the internal NIC of NVA "nva-2" (nvas[1])`},
		{"a public IP ID in routeTables is refused", func(c *Config) { c.RouteTables[0].ID = testPIP + "pip-nva" },
			"routeTables[0].id", "is a Microsoft.Network/publicIPAddresses, not a Microsoft.Network/routeTables"},
		{"a route table listed twice is refused", func(c *Config) {
			c.RouteTables = append(c.RouteTables, RouteTable{ID: strings.ToLower(testRT + "rt-web"), Via: "internal"})
		}, "routeTables[1].id", "is already listed as routeTables[0]"},
		{"a route table without via is refused", func(c *Config) { c.RouteTables[0].Via = "" },
			"routeTables[0].via", "is required"},
		{"a via role one NVA lacks names that NVA and its roles", func(c *Config) { delete(c.NVAs[1].NICs, "internal") },
			"routeTables[0].via", `NVA "nva-2" (nvas[1]) has no NIC of role "internal" (it has external)`},
		{"a via role no NVA has suggests the closest", func(c *Config) { c.RouteTables[0].Via = "internl" },
			"routeTables[0].via", `no NVA has a NIC of role "internl"; the roles are external, internal (did you mean "internal"?)`},
		{"a NIC ID in publicIps is refused", func(c *Config) { c.PublicIPs[0].ID = testNIC + "nva-1-external" },
			"publicIps[0].id", "is a Microsoft.Network/networkInterfaces, not a Microsoft.Network/publicIPAddresses"},
		{"a public IP listed twice is refused", func(c *Config) { c.PublicIPs = append(c.PublicIPs, c.PublicIPs[0]) },
			"publicIps[1].id", "is already listed as publicIps[0]"},
		{"a public IP without via is refused", func(c *Config) { c.PublicIPs[0].Via = "" },
			"publicIps[0].via", "is required"},
		{"a public IP via a role one NVA lacks is refused", func(c *Config) { delete(c.NVAs[0].NICs, "external") },
			"publicIps[0].via", `NVA "nva-1" (nvas[0]) has no NIC of role "external" (it has internal)`},
		{"nothing to fail over is refused, naming every list", func(c *Config) { c.RouteTables, c.PublicIPs = nil, nil },
			"routeTables", "none of routeTables, publicIps, floatingIps, backendPools and dnsRecords lists anything"},
		{"an unknown failback policy is refused", func(c *Config) { c.Failback = "always" },
			"failback", `"always" is not a known failback policy; use one of never, preferred`},
		{"a negative failback holdoff is refused", func(c *Config) { c.FailbackHoldoff = Duration(-time.Second) },
			"failbackHoldoff", "must be greater than zero"},
		{"a negative minimum failover interval is refused", func(c *Config) { c.MinFailoverInterval = Duration(-time.Second) },
			"minFailoverInterval", "must not be negative"},
		{"a poll interval below 100ms is refused", func(c *Config) { c.PollInterval = Duration(50 * time.Millisecond) },
			"pollInterval", `50ms is below the minimum 100ms`},
		{"an operation timeout below 10s is refused", func(c *Config) { c.OperationTimeout = Duration(5 * time.Second) },
			"operationTimeout", `5s is below the minimum 10s`},
		{"a reconcile interval below 1s is refused", func(c *Config) { c.ReconcileInterval = Duration(500 * time.Millisecond) },
			"reconcileInterval", "500ms is below the minimum 1s"},
		{"a listen address without a port is refused", func(c *Config) { c.Listen = "127.0.0.1" },
			"listen", `"127.0.0.1" is not host:port; write it like "127.0.0.1:9414"`},
		{"a listen port that is not a number is refused", func(c *Config) { c.Listen = "127.0.0.1:http" },
			"listen", `has port "http"`},
		{"a listen host with a space is refused", func(c *Config) { c.Listen = "my host:9414" },
			"listen", `has host "my host", which is neither an IP address nor a host name`},
		{"an unknown log format is refused", func(c *Config) { c.Log.Format = "logfmt" },
			"log.format", `"logfmt" is not a known log format; use one of json, text`},
		{"an unknown log level is refused", func(c *Config) { c.Log.Level = "warning" },
			"log.level", `"warning" is not a known log level; use one of debug, info, warn, error`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := validConfig()
			tt.mutate(c)
			assertOnly(t, problems(t, c.Validate()), tt.field, tt.fragment)
		})
	}
}

func TestValidateAcceptsTheseVariations(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(c *Config)
	}{
		{"listening on every interface", func(c *Config) { c.Listen = ":9414" }},
		{"listening on IPv6 loopback", func(c *Config) { c.Listen = "[::1]:9414" }},
		{"listening on localhost", func(c *Config) { c.Listen = "localhost:9414" }},
		{"listening on a free port", func(c *Config) { c.Listen = "127.0.0.1:0" }},
		{"probing an IPv6 address", func(c *Config) { c.NVAs[0].Probe.Address = "[fd00::4]:22" }},
		{"an http probe with the default path", func(c *Config) { c.NVAs[0].Probe.Kind = ProbeHTTP }},
		{"an http probe with a query in the path", func(c *Config) {
			c.NVAs[0].Probe = Probe{Address: "10.0.1.4:8080", Kind: ProbeHTTP, Path: "/health?deep=1"}
		}},
		{"a static token over https", func(c *Config) {
			c.ARMEndpoint = "https://127.0.0.1:8443"
			c.Credential = Credential{Kind: CredentialStaticTokenFile, TokenFile: testTok}
		}},
		{"a user-assigned managed identity", func(c *Config) { c.Credential.ClientID = testGUID }},
		{"the monitor's own NIC", func(c *Config) { c.InstanceNIC = testNIC + "monitor-1-nic" }},
		{"the Azure CLI credential", func(c *Config) { c.Credential.Kind = CredentialAzureCLI }},
		{"an Azure Stack endpoint with a CA file", func(c *Config) {
			c.ARMEndpoint, c.CAFile = "https://management.local.azurestack.external/", "/etc/hanva/ca.pem"
		}},
		{"fixed ID segments in lower case", func(c *Config) {
			c.RouteTables[0].ID = strings.ToLower(testRT) + "rt-web"
		}},
		{"route tables only", func(c *Config) { c.PublicIPs = nil }},
		{"public IPs only", func(c *Config) { c.RouteTables = nil }},
		{"three NVAs", func(c *Config) {
			c.NVAs = append(c.NVAs, NVA{Name: "nva-3", Probe: Probe{Address: "10.0.1.6:22"}, NICs: map[string]string{
				"external": testNIC + "nva-3-external", "internal": testNIC + "nva-3-internal"}})
		}},
		{"an NVA with an extra role nothing uses", func(c *Config) { c.NVAs[0].NICs["mgmt"] = testNIC + "nva-1-mgmt" }},
		{"failback to the preferred NVA", func(c *Config) { c.Failback = FailbackPreferred }},
		{"the shortest allowed intervals", func(c *Config) {
			c.PollInterval = Duration(MinPollInterval)
			c.OperationTimeout = Duration(MinOperationTimeout)
			c.ReconcileInterval = Duration(MinReconcileInterval)
		}},
		{"a probe interval shorter than the default timeout", func(c *Config) {
			c.Probe.Interval = Duration(200 * time.Millisecond)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := validConfig()
			tt.mutate(c)
			if err := c.Validate(); err != nil {
				t.Fatalf("want valid, got:\n%v", err)
			}
		})
	}
}

func TestValidateReportsEveryProblemTogether(t *testing.T) {
	c := validConfig()
	c.Cloud = "Mars"
	c.NVAs[1].Probe.Address = "10.0.0.5"
	c.Log.Level = "loud"
	ps := problems(t, c.Validate())
	var fields []string
	for _, p := range ps {
		fields = append(fields, p.Field)
	}
	want := []string{"cloud", "nvas[1].probe.address", "log.level"}
	if !reflect.DeepEqual(fields, want) {
		t.Fatalf("fields = %q, want %q", fields, want)
	}
}

func TestValidationErrorPrintsOneProblemPerLine(t *testing.T) {
	c := validConfig()
	c.NVAs[1].Probe.Address = "10.0.0.5"
	c.Failback = "sometimes"
	got := c.Validate().Error()
	want := `config: nvas[1].probe.address: "10.0.0.5" is not IP:port; write it like "10.0.0.5:8080"` + "\n" +
		`config: failback: "sometimes" is not a known failback policy; use one of never, preferred`
	if got != want {
		t.Fatalf("Error() =\n%s\nwant\n%s", got, want)
	}
}

func TestProblemStringLeavesOutWhatIsUnknown(t *testing.T) {
	tests := []struct {
		name string
		p    Problem
		want string
	}{
		{"a problem with line and field shows both", Problem{Line: 7, Field: "nva", Message: "unknown key"}, "line 7: nva: unknown key"},
		{"a problem without a line shows the field", Problem{Field: "cloud", Message: "bad"}, "cloud: bad"},
		{"a problem about the whole file shows the line", Problem{Line: 2, Message: "not valid YAML"}, "line 2: not valid YAML"},
		{"a problem with neither shows the message", Problem{Message: "the file is empty"}, "the file is empty"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.p.String(); got != tt.want {
				t.Fatalf("String() = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestValidateDoesNotChangeTheConfig(t *testing.T) {
	c := validConfig()
	c.NVAs[0].Probe.Kind = ProbeHTTP
	before := validConfig()
	before.NVAs[0].Probe.Kind = ProbeHTTP
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(c, before) {
		t.Fatalf("Validate changed the config:\n got %+v\nwant %+v", c, before)
	}
}

func TestNVAFindsAnApplianceByName(t *testing.T) {
	c := validConfig()
	if n, ok := c.NVA("nva-2"); !ok || n.Probe.Address != "10.0.1.5:22" {
		t.Fatalf("NVA(nva-2) = %+v, %v", n, ok)
	}
	if _, ok := c.NVA("nva-9"); ok {
		t.Fatal("NVA(nva-9) found an NVA that does not exist")
	}
}

func TestRolesListsEveryRoleOnceInOrder(t *testing.T) {
	c := validConfig()
	c.NVAs[1].NICs["mgmt"] = testNIC + "nva-2-mgmt"
	if got, want := c.Roles(), []string{"external", "internal", "mgmt"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("Roles() = %q, want %q", got, want)
	}
}

// withEveryKind adds one resource of each newer kind to validConfig: a
// floating IP via internal, a backend pool via internal, and an A record via
// internal.
func withEveryKind() *Config {
	c := validConfig()
	c.FloatingIPs = []FloatingIP{{IP: "10.0.2.50", Via: "internal"}}
	c.BackendPools = []BackendPool{{ID: testPool + "nvas", Via: "internal"}}
	c.DNSRecords = []DNSRecord{{ID: testZone + "A/proxy", Via: "internal"}}
	return c
}

func TestValidateReportsEachMistakeInTheNewerKindsAtItsField(t *testing.T) {
	tests := []struct {
		name     string
		mutate   func(c *Config)
		field    string
		fragment string
	}{
		// floatingIps
		{"a floating IP without an address is refused", func(c *Config) { c.FloatingIPs[0].IP = "" },
			"floatingIps[0].ip", "is required; write the private address that follows the active NVA, like ip: 10.0.2.50"},
		{"a floating IP that is a prefix says to write the address alone", func(c *Config) { c.FloatingIPs[0].IP = "10.0.2.50/32" },
			"floatingIps[0].ip", `"10.0.2.50/32" is a prefix, but a floating IP is one address; write the address alone, like "10.0.2.50"`},
		{"a floating IP with a port says to drop it", func(c *Config) { c.FloatingIPs[0].IP = "10.0.2.50:22" },
			"floatingIps[0].ip", `has a port, but a floating IP is an address only; write "10.0.2.50"`},
		{"a floating IP with a zone says to drop it", func(c *Config) { c.FloatingIPs[0].IP = "fd00::50%eth0" },
			"floatingIps[0].ip", `"fd00::50%eth0" has a zone (%eth0), which addresses in Azure never have; write "fd00::50"`},
		{"a floating IP that is a host name is refused", func(c *Config) { c.FloatingIPs[0].IP = "vip.corp.example" },
			"floatingIps[0].ip", `"vip.corp.example" is not an IP address; write an IPv4 or IPv6 address`},
		{"an IPv4-mapped floating IP says to write IPv4", func(c *Config) { c.FloatingIPs[0].IP = "::ffff:10.0.2.50" },
			"floatingIps[0].ip", `is an IPv4-mapped IPv6 address; write it as IPv4, "10.0.2.50"`},
		{"a loopback floating IP is refused", func(c *Config) { c.FloatingIPs[0].IP = "127.0.0.1" },
			"floatingIps[0].ip", `"127.0.0.1" is a loopback address, which cannot be a private IP of an Azure NIC`},
		{"a multicast floating IP is refused", func(c *Config) { c.FloatingIPs[0].IP = "ff02::1" },
			"floatingIps[0].ip", `"ff02::1" is a multicast address`},
		{"an unspecified floating IP is refused", func(c *Config) { c.FloatingIPs[0].IP = "0.0.0.0" },
			"floatingIps[0].ip", `"0.0.0.0" is the unspecified address`},
		{"a floating IP listed twice is refused", func(c *Config) {
			c.FloatingIPs = append(c.FloatingIPs, FloatingIP{IP: "10.0.2.50", Via: "external"})
		}, "floatingIps[1].ip", `"10.0.2.50" is already listed as floatingIps[0]; list each floating IP once`},
		{"a floating IP spelled differently but the same address is refused", func(c *Config) {
			c.FloatingIPs = []FloatingIP{{IP: "fd00:0:0:2::50", Via: "internal"}, {IP: "FD00::2:0:0:0:50", Via: "internal"}}
		}, "floatingIps[1].ip", `"FD00::2:0:0:0:50" is the same address as floatingIps[0] ("fd00:0:0:2::50"); list each floating IP once`},
		{"a floating IP that is an NVA's probe address is refused", func(c *Config) { c.FloatingIPs[0].IP = "10.0.1.5" },
			"floatingIps[0].ip", `"10.0.1.5" is the probe address of NVA "nva-2" (nvas[1]); a floating IP moves to whichever NVA is active`},
		{"a floating IP without via is refused", func(c *Config) { c.FloatingIPs[0].Via = "" },
			"floatingIps[0].via", "is required; name the NIC role this floating IP lives on, like via: internal"},
		{"a floating IP via a role no NVA has suggests the closest", func(c *Config) { c.FloatingIPs[0].Via = "Internal" },
			"floatingIps[0].via", `no NVA has a NIC of role "Internal"; the roles are external, internal (did you mean "internal"?)`},
		{"a floating IP via a role one NVA lacks names that NVA", func(c *Config) {
			c.FloatingIPs[0].Via = "mgmt"
			c.NVAs[0].NICs["mgmt"] = testNIC + "nva-1-mgmt"
		}, "floatingIps[0].via", `NVA "nva-2" (nvas[1]) has no NIC of role "mgmt"`},
		{"an ipconfig name with a space is refused", func(c *Config) { c.FloatingIPs[0].Name = "floating vip" },
			"floatingIps[0].name", `"floating vip" is not a valid ipconfig name; Azure allows 1-80 letters, digits, underscores, periods and hyphens`},
		{"an ipconfig name ending in a hyphen is refused", func(c *Config) { c.FloatingIPs[0].Name = "vip-" },
			"floatingIps[0].name", `ending with a letter, digit or underscore; write one like "vip-internal", or leave name out for the default "hanva-floating-10-0-2-50"`},
		{"an ipconfig name starting with an underscore is refused", func(c *Config) { c.FloatingIPs[0].Name = "_vip" },
			"floatingIps[0].name", "starting with a letter or digit"},
		{"an ipconfig name of 81 characters is refused", func(c *Config) { c.FloatingIPs[0].Name = strings.Repeat("v", 81) },
			"floatingIps[0].name", "Azure allows 1-80"},
		{"two floating IPs of one role with the same name are refused, ignoring case", func(c *Config) {
			c.FloatingIPs = []FloatingIP{{IP: "10.0.2.50", Via: "internal", Name: "vip"}, {IP: "10.0.2.51", Via: "internal", Name: "VIP"}}
		}, "floatingIps[1].name", `"VIP" is also the ipconfig name of floatingIps[0] on role "internal" (names are compared ignoring case); one NIC cannot hold two ipconfigs of the same name: give each floating IP of a role its own name`},
		{"a name that is another floating IP's default name is refused", func(c *Config) {
			c.FloatingIPs = []FloatingIP{{IP: "10.0.2.50", Via: "internal", Name: "hanva-floating-10-0-2-51"}, {IP: "10.0.2.51", Via: "internal"}}
		}, "floatingIps[1].name", `the default ipconfig name for 10.0.2.51, "hanva-floating-10-0-2-51", is also the ipconfig name of floatingIps[0] on role "internal"`},
		{"a name that is another floating IP's default name is refused where it is written", func(c *Config) {
			c.FloatingIPs = []FloatingIP{{IP: "10.0.2.51", Via: "internal"}, {IP: "10.0.2.50", Via: "internal", Name: "hanva-floating-10-0-2-51"}}
		}, "floatingIps[1].name", `"hanva-floating-10-0-2-51" is also the ipconfig name of floatingIps[0] (its default) on role "internal"`},
		{"an ipconfig name starting with a hyphen gets a valid one suggested", func(c *Config) {
			c.FloatingIPs[0] = FloatingIP{IP: "10.0.2.50", Via: "internal", Name: "-vip"}
		}, "floatingIps[0].name", `write one like "vip-internal", or leave name out`},

		// backendPools
		{"a backend pool without an ID is refused", func(c *Config) { c.BackendPools[0].ID = "" },
			"backendPools[0].id", `is required; write the Microsoft.Network/loadBalancers/backendAddressPools resource ID, like "/subscriptions/{subscription}/resourceGroups/{group}/providers/Microsoft.Network/loadBalancers/{loadBalancer}/backendAddressPools/{name}"`},
		{"a load balancer ID in backendPools names its type", func(c *Config) { c.BackendPools[0].ID = testNet + "loadBalancers/lb-nva" },
			"backendPools[0].id", `is a Microsoft.Network/loadBalancers, not a Microsoft.Network/loadBalancers/backendAddressPools`},
		{"a route table ID in backendPools names its type", func(c *Config) { c.BackendPools[0].ID = testRT + "rt-web" },
			"backendPools[0].id", `is a Microsoft.Network/routeTables, not a Microsoft.Network/loadBalancers/backendAddressPools`},
		{"a frontend IP configuration in backendPools names its type", func(c *Config) {
			c.BackendPools[0].ID = testNet + "loadBalancers/lb-nva/frontendIPConfigurations/fe"
		}, "backendPools[0].id", `is a Microsoft.Network/loadBalancers/frontendIPConfigurations, not a Microsoft.Network/loadBalancers/backendAddressPools`},
		{"a backend pool member's ID is refused", func(c *Config) { c.BackendPools[0].ID = testPool + "nvas/loadBalancerBackendAddresses/a" },
			"backendPools[0].id", `is not a well-formed resource ID: it continues after the child resource name "nvas"`},
		{"a backend pool ID with a bad subscription is refused", func(c *Config) {
			c.BackendPools[0].ID = strings.Replace(testPool+"nvas", testSub, "prod", 1)
		}, "backendPools[0].id", `the subscription ID "prod" is not a GUID`},
		{"a backend pool listed twice is refused, ignoring case", func(c *Config) {
			c.BackendPools = append(c.BackendPools, BackendPool{ID: strings.ToUpper(testPool + "nvas"), Via: "internal"})
		}, "backendPools[1].id", "is already listed as backendPools[0]; list each backend pool once"},
		{"a backend pool without via is refused", func(c *Config) { c.BackendPools[0].Via = "" },
			"backendPools[0].via", "is required; name the NIC role this backend pool holds the address of, like via: internal"},
		{"a backend pool via a role one NVA lacks names that NVA", func(c *Config) {
			c.BackendPools[0].Via = "mgmt"
			c.NVAs[1].NICs["mgmt"] = testNIC + "nva-2-mgmt"
		}, "backendPools[0].via", `NVA "nva-1" (nvas[0]) has no NIC of role "mgmt" (it has external, internal)`},

		// dnsRecords
		{"a DNS record without an ID is refused", func(c *Config) { c.DNSRecords[0].ID = "" },
			"dnsRecords[0].id", "is required; write the resource ID of a Private DNS A or AAAA record set, like " +
				`"/subscriptions/{subscription}/resourceGroups/{group}/providers/Microsoft.Network/privateDnsZones/{zone}/A/{name}"`},
		{"a CNAME record set says only A and AAAA are supported", func(c *Config) { c.DNSRecords[0].ID = testZone + "CNAME/proxy" },
			"dnsRecords[0].id", "is a CNAME record set; only A and AAAA record sets are supported"},
		{"a public DNS zone's record set says only Private DNS is supported", func(c *Config) {
			c.DNSRecords[0].ID = testNet + "dnsZones/corp.example/A/proxy"
		}, "dnsRecords[0].id", "is a record set of a public DNS zone (Microsoft.Network/dnsZones); only Azure Private DNS zones"},
		{"a Private DNS zone's ID says what it is", func(c *Config) { c.DNSRecords[0].ID = testNet + "privateDnsZones/corp.example" },
			"dnsRecords[0].id", "is a Microsoft.Network/privateDnsZones, not a Private DNS A or AAAA record set"},
		{"a malformed DNS record ID says which part is wrong", func(c *Config) { c.DNSRecords[0].ID = testZone + "A" },
			"dnsRecords[0].id", `is not a well-formed resource ID: the child resource name is missing after the type "A"`},
		{"a DNS record listed twice is refused", func(c *Config) {
			c.DNSRecords = append(c.DNSRecords, DNSRecord{ID: testZone + "a/PROXY", Via: "internal"})
		}, "dnsRecords[1].id", "is already listed as dnsRecords[0]; list each record set once"},
		{"a DNS record without via is refused", func(c *Config) { c.DNSRecords[0].Via = "" },
			"dnsRecords[0].via", "is required; name the NIC role this DNS record holds the address of, like via: internal"},
		{"a DNS record via a role no NVA has is refused", func(c *Config) { c.DNSRecords[0].Via = "dmz" },
			"dnsRecords[0].via", `no NVA has a NIC of role "dmz"; the roles are external, internal`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := withEveryKind()
			tt.mutate(c)
			assertOnly(t, problems(t, c.Validate()), tt.field, tt.fragment)
		})
	}
}

func TestValidateAcceptsTheNewerKinds(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(c *Config)
	}{
		{"one of each kind beside route tables and public IPs", func(c *Config) {}},
		{"floating IPs only", func(c *Config) {
			c.RouteTables, c.PublicIPs, c.BackendPools, c.DNSRecords = nil, nil, nil, nil
		}},
		{"backend pools only", func(c *Config) {
			c.RouteTables, c.PublicIPs, c.FloatingIPs, c.DNSRecords = nil, nil, nil, nil
		}},
		{"DNS records only", func(c *Config) {
			c.RouteTables, c.PublicIPs, c.FloatingIPs, c.BackendPools = nil, nil, nil, nil
		}},
		{"an IPv6 floating IP", func(c *Config) { c.FloatingIPs[0].IP = "fd00:0:0:2::50" }},
		{"a floating IP in public address space used privately", func(c *Config) { c.FloatingIPs[0].IP = "100.64.2.50" }},
		{"a named floating IP", func(c *Config) { c.FloatingIPs[0].Name = "vip_1.internal-a_" }},
		{"an ipconfig name of 80 characters", func(c *Config) { c.FloatingIPs[0].Name = strings.Repeat("v", 80) }},
		{"two floating IPs on one role with their default names", func(c *Config) {
			c.FloatingIPs = append(c.FloatingIPs, FloatingIP{IP: "10.0.2.51", Via: "internal"})
		}},
		{"the same ipconfig name on two roles", func(c *Config) {
			c.FloatingIPs = []FloatingIP{{IP: "10.0.2.50", Via: "internal", Name: "vip"}, {IP: "10.0.3.50", Via: "external", Name: "vip"}}
		}},
		{"an AAAA record set", func(c *Config) { c.DNSRecords[0].ID = testZone + "AAAA/proxy" }},
		{"the A and AAAA record sets of one name", func(c *Config) {
			c.DNSRecords = append(c.DNSRecords, DNSRecord{ID: testZone + "AAAA/proxy", Via: "internal"})
		}},
		{"a record set at the zone apex", func(c *Config) { c.DNSRecords[0].ID = testZone + "A/@" }},
		{"a record type in lower case", func(c *Config) { c.DNSRecords[0].ID = testZone + "a/proxy" }},
		{"two pools of one load balancer", func(c *Config) {
			c.BackendPools = append(c.BackendPools, BackendPool{ID: testPool + "nvas-external", Via: "external"})
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := withEveryKind()
			tt.mutate(c)
			if err := c.Validate(); err != nil {
				t.Fatalf("want valid, got:\n%v", err)
			}
		})
	}
}

func TestFloatingIPConfigNameDefaultsToThePrefixAndTheAddress(t *testing.T) {
	tests := []struct {
		f    FloatingIP
		want string
	}{
		{FloatingIP{IP: "10.0.2.50"}, "hanva-floating-10-0-2-50"},
		{FloatingIP{IP: "fd00:0:0:2::50"}, "hanva-floating-fd00-0-0-2--50"},
		{FloatingIP{IP: "FD00:0000::0050"}, "hanva-floating-fd00--50"}, // as netip writes it
		{FloatingIP{IP: "10.0.2.50", Name: "vip"}, "vip"},
	}
	for _, tt := range tests {
		if got := tt.f.IPConfigName(); got != tt.want {
			t.Errorf("%+v.IPConfigName() = %q, want %q", tt.f, got, tt.want)
		}
		if !ipconfigNameRE.MatchString(tt.f.IPConfigName()) {
			t.Errorf("the default name %q is not a valid ipconfig name", tt.f.IPConfigName())
		}
	}
	// The longest default name, of an IPv6 address written out in full, fits Azure's 80.
	long := FloatingIP{IP: "fd00:1111:2222:3333:4444:5555:6666:7777"}.IPConfigName()
	if !ipconfigNameRE.MatchString(long) {
		t.Errorf("the default name %q (%d characters) is not a valid ipconfig name", long, len(long))
	}
}
