package config

import (
	"bufio"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"
)

// TestMain pins the host name so that Instance defaults are deterministic.
func TestMain(m *testing.M) {
	hostname = func() (string, error) { return "test-host", nil }
	os.Exit(m.Run())
}

// baseYAML is a small valid file; the line numbers below are relied on.
var baseYAML = strings.NewReplacer("$NIC/", testNIC, "$RT/", testRT, "$PIP/", testPIP).Replace(`nvas:
  - name: nva-1
    probe:
      address: "10.0.1.4:22"
      kind: tcp
    nics:
      external: $NIC/nva-1-external
      internal: $NIC/nva-1-internal
  - name: nva-2
    probe:
      address: "10.0.1.5:22"
    nics:
      external: $NIC/nva-2-external
      internal: $NIC/nva-2-internal
routeTables:
  - id: $RT/rt-web
    via: internal
publicIps:
  - id: $PIP/pip-nva
    via: external
listen: 127.0.0.1:9414
pollInterval: 500ms
`)

// edit replaces old with new in baseYAML, failing if old is not there.
func edit(t *testing.T, old, new string) string {
	t.Helper()
	if !strings.Contains(baseYAML, old) {
		t.Fatalf("baseYAML has no %q", old)
	}
	return strings.Replace(baseYAML, old, new, 1)
}

func TestParseAcceptsTheBaseFile(t *testing.T) {
	c, err := Parse([]byte(baseYAML))
	if err != nil {
		t.Fatal(err)
	}
	if len(c.NVAs) != 2 || c.NVAs[1].NICs["internal"] != testNIC+"nva-2-internal" || c.PollInterval.D() != 500*time.Millisecond {
		t.Fatalf("decoded %+v", c)
	}
}

func TestParseReportsDecodingProblemsWithFieldAndLine(t *testing.T) {
	tests := []struct {
		name     string
		old, new string
		field    string
		line     int
		fragment string
	}{
		{"an unknown top-level key suggests the key meant", "listen:", "failbak: never\nlisten:",
			"failbak", 21, `unknown key (did you mean "failback"?)`},
		{"a key in the wrong case suggests the right case", "publicIps:", "publicIPs:",
			"publicIPs", 18, `unknown key (did you mean "publicIps"?)`},
		{"an unknown nested key suggests the key meant", "      kind: tcp", "      knd: tcp",
			"nvas[0].probe.knd", 5, `unknown key (did you mean "kind"?)`},
		{"a key at the wrong level says where it belongs", "listen:", "failureThreshold: 3\nlisten:",
			"failureThreshold", 21, `"failureThreshold" belongs under probe`},
		{"an unknown key with no near miss lists the keys allowed", "listen:", "owner: netops\nlisten:",
			"owner", 21, "the keys allowed at the top level are instance, monitors, quorum, viewInterval, lease, cloud, armEndpoint"},
		{"a missing required key is named at its mapping's line", "    via: external\n", "",
			"publicIps[0].via", 19, "required key is missing; add it, like via: external"},
		{"a missing NVA name is named at the NVA's line", "  - name: nva-2\n    probe:", "  - probe:",
			"nvas[1].name", 9, "required key is missing; add it, like name: nva-2"},
		{"a missing probe address shows an example", `      address: "10.0.1.5:22"` + "\n", "      kind: tcp\n",
			"nvas[1].probe.address", 10, `required key is missing; add it, like address: "10.0.1.5:22"`},
		{"a key written twice is refused", "pollInterval: 500ms", "pollInterval: 500ms\npollInterval: 1s",
			"pollInterval", 23, "key is written twice (lines 22 and 23)"},
		{"a bare-number duration asks for a unit", "pollInterval: 500ms", "pollInterval: 500",
			"pollInterval", 22, `500 is a bare number; durations need a unit, write it like "500s"`},
		{"a quoted bare-number duration asks for a unit", "pollInterval: 500ms", `pollInterval: "15"`,
			"pollInterval", 22, `15 is a bare number`},
		{"a duration in parsecs is refused with an example", "pollInterval: 500ms", "pollInterval: 5 parsecs",
			"pollInterval", 22, `"5 parsecs" is not a duration; write it like "15s" or "500ms"`},
		{"a negative duration is refused", "pollInterval: 500ms", "pollInterval: -1s",
			"pollInterval", 22, `"-1s" is negative; write a positive duration like "1s"`},
		{"a duration written as a mapping is refused", "pollInterval: 500ms", "pollInterval: {seconds: 1}",
			"pollInterval", 22, "a mapping is not a duration"},
		{"an explicit zero duration would silently become the default", "pollInterval: 500ms", "minFailoverInterval: 0s",
			"minFailoverInterval", 22, "0s reads as unset and would become the default 30s"},
		{"an explicit zero poll interval names the lowest value allowed", "pollInterval: 500ms", "pollInterval: 0s",
			"pollInterval", 22, `0s reads as unset and would become the default 500ms; write at least "100ms", or leave the key out`},
		{"an explicit zero threshold would silently become the default", "pollInterval: 500ms", "probe:\n  failureThreshold: 0",
			"probe.failureThreshold", 23, "0 reads as unset and would become the default 3; write at least 1"},
		{"a threshold written as a word is refused", "pollInterval: 500ms", "probe:\n  successThreshold: two",
			"probe.successThreshold", 23, `"two" is not a whole number; write it like 3`},
		{"a fractional threshold is refused", "pollInterval: 500ms", "probe:\n  successThreshold: 1.5",
			"probe.successThreshold", 23, `"1.5" is not a whole number`},
		{"a list where a mapping belongs is refused", "pollInterval: 500ms", "probe: [1s]",
			"probe", 22, "is a list, but it must be a mapping"},
		{"a mapping where a list belongs is refused", "routeTables:\n  - id:", "routeTables:\n  rt-web:\n    id:",
			"routeTables", 16, "is a mapping, but it must be a list"},
		{"a list where a single value belongs is refused", "listen: 127.0.0.1:9414", "listen: [127.0.0.1:9414]",
			"listen", 21, "is a list, but it must be a single value"},
		{"nics written as a list is refused", "    nics:\n      external: $nva-1-external\n      internal: $",
			"    nics:\n      - $nva-1-external\n      - $",
			"nvas[0].nics", 7, "must be a mapping of role to NIC resource ID"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			old := strings.ReplaceAll(tt.old, "$", testNIC)
			new := strings.ReplaceAll(tt.new, "$", testNIC)
			_, err := Parse([]byte(edit(t, old, new)))
			ps := problems(t, err)
			assertOnly(t, ps, tt.field, tt.fragment)
			for _, p := range ps {
				if p.Line != tt.line {
					t.Errorf("problem %q is at line %d, want %d", p.String(), p.Line, tt.line)
				}
			}
		})
	}
}

func TestParsePutsValidationProblemsOnTheirLines(t *testing.T) {
	_, err := Parse([]byte(edit(t, `address: "10.0.1.5:22"`, `address: "10.0.0.5"`)))
	ps := problems(t, err)
	want := `line 11: nvas[1].probe.address: "10.0.0.5" is not IP:port; write it like "10.0.0.5:8080"`
	if len(ps) != 1 || ps[0].String() != want {
		t.Fatalf("got %v, want %s", &ValidationError{Problems: ps}, want)
	}
}

func TestParseLocatesAProblemAboutAnUnwrittenFieldAtItsParent(t *testing.T) {
	// credential.tokenFile is not written; its parent credential is, on line 23.
	_, err := Parse([]byte(baseYAML + "armEndpoint: https://127.0.0.1:8443\ncredential:\n  kind: staticTokenFile\n"))
	ps := problems(t, err)
	if len(ps) != 1 || ps[0].Field != "credential.tokenFile" || ps[0].Line != 24 {
		t.Fatalf("got %+v", ps)
	}
}

func TestParseReportsEveryDecodingProblemTogether(t *testing.T) {
	in := edit(t, "pollInterval: 500ms", "pollInterval: 5\nreconcileInterval: 5 parsecs\nlog:\n  levle: debug")
	ps := problems(t, mustFail(Parse([]byte(in))))
	var got []string
	for _, p := range ps {
		got = append(got, p.Field)
	}
	if want := []string{"pollInterval", "reconcileInterval", "log.levle"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("fields = %q, want %q", got, want)
	}
}

func TestParseReportsEveryValidationProblemTogether(t *testing.T) {
	in := edit(t, "pollInterval: 500ms", "pollInterval: 5ms\ncloud: Mars\nfailback: sometimes")
	ps := problems(t, mustFail(Parse([]byte(in))))
	if len(ps) != 3 {
		t.Fatalf("want 3 problems, got %v", &ValidationError{Problems: ps})
	}
}

func mustFail(_ *Config, err error) error { return err }

func TestParseRefusesWhatIsNotOneConfigDocument(t *testing.T) {
	tests := []struct {
		name     string
		in       string
		line     int
		fragment string
	}{
		{"an empty file is refused", "", 0, "the file is empty"},
		{"a file of only comments is refused", "# nothing yet\n", 0, "the file is empty"},
		{"a lone document marker is refused", "---\n", 0, "the file is empty"},
		{"a second document is refused", baseYAML + "---\nnvas: []\n", 23, "a second YAML document starts at line 23"},
		{"a trailing document marker is refused", baseYAML + "---\n", 23, "a second YAML document"},
		{"a syntax error names its line", "listen: 127.0.0.1:9414\nlog: level: debug\n", 2,
			"not valid YAML: mapping values are not allowed in this context"},
		{"tab indentation says to use spaces", "nvas:\n\t- name: a\n", 2, "use spaces"},
		{"a top-level list is refused", "- nvas: []\n", 1, "the top level is a list, but it must be a mapping"},
		{"a top-level string is refused", "hello\n", 1, "the top level is a single value"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(tt.in))
			ps := problems(t, err)
			if len(ps) != 1 || ps[0].Field != "" || ps[0].Line != tt.line || !strings.Contains(ps[0].Message, tt.fragment) {
				t.Fatalf("got %+v, want one whole-file problem at line %d saying %q", ps, tt.line, tt.fragment)
			}
		})
	}
}

func TestParseAcceptsJSON(t *testing.T) {
	want, err := Load("testdata/example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	// Tabs indent JSON but not YAML; the JSON flow style still parses.
	data, err := json.MarshalIndent(want, "", "\t")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(data), `"pollInterval": "500ms"`) {
		t.Fatalf("durations should marshal to JSON strings:\n%s", data)
	}
	got, err := Parse(data)
	if err != nil {
		t.Fatalf("parse JSON: %v\n%s", err, data)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("JSON round trip:\n got %+v\nwant %+v", got, want)
	}
}

func TestParseNamesTheFieldOfABareNumberInJSON(t *testing.T) {
	in := `{"nvas": [], "probe": {"interval": 2}}`
	ps := problems(t, mustFail(Parse([]byte(in))))
	assertOnly(t, ps, "probe.interval", `2 is a bare number; durations need a unit, write it like "2s"`)
}

func TestParseAppliesDefaults(t *testing.T) {
	c, err := Parse([]byte(baseYAML))
	if err != nil {
		t.Fatal(err)
	}
	checks := []struct {
		name      string
		got, want any
	}{
		{"instance is the host name", c.Instance, "test-host"},
		{"cloud", c.Cloud, "AzurePublic"},
		{"credential kind", c.Credential.Kind, "managedIdentity"},
		{"probe interval", c.Probe.Interval.D(), time.Second},
		{"probe timeout", c.Probe.Timeout.D(), time.Second},
		{"failure threshold", c.Probe.FailureThreshold, 3},
		{"success threshold", c.Probe.SuccessThreshold, 2},
		{"probe kind", c.NVAs[1].Probe.Kind, "tcp"},
		{"no path for tcp", c.NVAs[1].Probe.Path, ""},
		{"failback", c.Failback, "never"},
		{"failback holdoff", c.FailbackHoldoff.D(), 60 * time.Second},
		{"minimum failover interval", c.MinFailoverInterval.D(), 30 * time.Second},
		{"poll interval as written", c.PollInterval.D(), 500 * time.Millisecond},
		{"operation timeout", c.OperationTimeout.D(), 5 * time.Minute},
		{"reconcile interval", c.ReconcileInterval.D(), 30 * time.Second},
		{"listen", c.Listen, "127.0.0.1:9414"},
		{"log format", c.Log.Format, "json"},
		{"log level", c.Log.Level, "info"},
	}
	for _, ck := range checks {
		if ck.got != ck.want {
			t.Errorf("%s = %v, want %v", ck.name, ck.got, ck.want)
		}
	}
}

func TestParseDefaultsInstanceToTheHostName(t *testing.T) {
	defer func(h func() (string, error)) { hostname = h }(hostname)
	tests := []struct {
		name     string
		in       string
		hostname func() (string, error)
		want     string
	}{
		{"the host name fills an unset instance", baseYAML,
			func() (string, error) { return "fw-monitor-7", nil }, "fw-monitor-7"},
		{"an instance that is set is kept", baseYAML + "instance: monitor-a\n",
			func() (string, error) { return "fw-monitor-7", nil }, "monitor-a"},
		{"an unreadable host name falls back to nva-monitor", baseYAML,
			func() (string, error) { return "", errors.New("no uts") }, "nva-monitor"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			hostname = tt.hostname
			c, err := Parse([]byte(tt.in))
			if err != nil {
				t.Fatal(err)
			}
			if c.Instance != tt.want {
				t.Fatalf("Instance = %q, want %q", c.Instance, tt.want)
			}
		})
	}
}

func TestParseUnderstandsAnchorsAndMergeKeys(t *testing.T) {
	in := edit(t, "    probe:\n      address: \"10.0.1.4:22\"\n      kind: tcp\n",
		"    probe: &probe\n      address: \"10.0.1.4:22\"\n      kind: http\n      path: /healthz\n")
	in = strings.Replace(in, "    probe:\n      address: \"10.0.1.5:22\"\n",
		"    probe:\n      <<: *probe\n      address: \"10.0.1.5:22\"\n", 1)
	c, err := Parse([]byte(in))
	if err != nil {
		t.Fatalf("%v\n%s", err, in)
	}
	want := Probe{Address: "10.0.1.5:22", Kind: ProbeHTTP, Path: "/healthz"}
	if c.NVAs[1].Probe != want {
		t.Fatalf("merged probe = %+v, want %+v", c.NVAs[1].Probe, want)
	}
}

func TestParseChecksKeysMergedIn(t *testing.T) {
	in := "x-probe: &p {adress: \"10.0.1.4:22\"}\n" + baseYAML
	ps := problems(t, mustFail(Parse([]byte(in))))
	// x-probe itself is an unknown key; that is the only problem.
	assertOnly(t, ps, "x-probe", "unknown key")
	in = edit(t, "    probe:\n      address: \"10.0.1.5:22\"\n", "    probe:\n      <<: {adress: x}\n      address: \"10.0.1.5:22\"\n")
	ps = problems(t, mustFail(Parse([]byte(in))))
	assertOnly(t, ps, "nvas[1].probe.adress", `did you mean "address"?`)
}

func TestLoadReadsTheExample(t *testing.T) {
	c, err := Load("testdata/example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if c.Instance != "monitor-1" || len(c.NVAs) != 2 || len(c.RouteTables) != 2 || len(c.PublicIPs) != 1 {
		t.Fatalf("example decoded to %+v", c)
	}
	for _, rt := range c.RouteTables {
		if rt.Via != "internal" {
			t.Errorf("route table %s via %q, want internal", rt.ID, rt.Via)
		}
	}
	if c.PublicIPs[0].Via != "external" {
		t.Errorf("public IP via %q, want external", c.PublicIPs[0].Via)
	}
	if got := c.Roles(); !reflect.DeepEqual(got, []string{"external", "internal"}) {
		t.Errorf("roles = %q", got)
	}
	if want := []string{"monitor-1", "monitor-2", "monitor-3"}; !reflect.DeepEqual(c.Monitors, want) {
		t.Errorf("monitors = %q, want %q", c.Monitors, want)
	}
	wantLease := Lease{Kind: LeaseBlob, URL: "https://sthanva.blob.core.windows.net/hanva/dmz/leader",
		Duration: Duration(15 * time.Second), Credential: LeaseCredential{Kind: LeaseCredentialManagedIdentity}}
	if c.Lease != wantLease || c.Quorum != QuorumMajority || c.ViewInterval.D() != 5*time.Second {
		t.Errorf("lease %+v, quorum %q, view interval %v; want %+v, majority, 5s", c.Lease, c.Quorum, c.ViewInterval, wantLease)
	}
}

func TestLoadOfAMissingFileIsNotAValidationError(t *testing.T) {
	_, err := Load(filepath.Join(t.TempDir(), "absent.yaml"))
	var ve *ValidationError
	if err == nil || errors.As(err, &ve) || !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("got %v, want a wrapped fs.ErrNotExist", err)
	}
	if !strings.HasPrefix(err.Error(), "read config: ") {
		t.Fatalf("error %q should say what failed", err)
	}
}

// Every file in testdata/bad has one defect; its first line says where:
// "# want: <field path>", or "# want: line N" for a problem with the file as
// a whole. The end-to-end tests run the binary on the same files and look
// for that text in its error.
func TestLoadRefusesEveryBadFixtureAtItsField(t *testing.T) {
	files, err := filepath.Glob("testdata/bad/*.yaml")
	if err != nil || len(files) < 40 {
		t.Fatalf("found %d fixtures (%v)", len(files), err)
	}
	for _, file := range files {
		t.Run(strings.TrimSuffix(filepath.Base(file), ".yaml"), func(t *testing.T) {
			field, line := wantOf(t, file)
			_, err := Load(file)
			ps := problems(t, err)
			for _, p := range ps {
				if p.Field != field || (line > 0 && p.Line != line) {
					t.Errorf("problem %q is not at the fixture's %q", p.String(), firstLine(t, file))
				}
				if p.Line == 0 && field != "routeTables" && field != "armEndpoint" {
					t.Errorf("problem %q has no line", p.String())
				}
			}
			if want := strings.TrimPrefix(firstLine(t, file), "# want: "); !strings.Contains(err.Error(), want) {
				t.Errorf("error does not say %q:\n%v", want, err)
			}
			t.Log("\n" + err.Error())
		})
	}
}

// wantOf reads the fixture's first line: "# want: <field>" gives the field;
// "# want: line N" means a whole-file problem (Field "") at line N.
func wantOf(t *testing.T, file string) (field string, line int) {
	t.Helper()
	want, ok := strings.CutPrefix(firstLine(t, file), "# want: ")
	if !ok || want == "" {
		t.Fatalf("first line %q is not \"# want: <field path>\" or \"# want: line N\"", firstLine(t, file))
	}
	if n, ok := strings.CutPrefix(want, "line "); ok {
		line, err := strconv.Atoi(n)
		if err != nil || line < 1 {
			t.Fatalf("bad line in %q", want)
		}
		return "", line
	}
	return want, 0
}

func firstLine(t *testing.T, file string) string {
	t.Helper()
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	s.Scan()
	return s.Text()
}

func TestADecoderErrorTheSchemaMissedStillBecomesAValidationError(t *testing.T) {
	err := decodeError(&yaml.TypeError{Errors: []string{
		"line 3: field nva not found in type config.Config",
		"line 9: cannot unmarshal !!seq into string",
		"something without a line",
	}})
	ps := problems(t, err)
	want := []Problem{
		{Line: 3, Message: `unknown key "nva"`},
		{Line: 9, Message: "cannot unmarshal !!seq into string"},
		{Message: "something without a line"},
	}
	if !reflect.DeepEqual(ps, want) {
		t.Fatalf("got %+v, want %+v", ps, want)
	}
}

// kindsYAML is baseYAML with one floating IP, backend pool and DNS record
// added after publicIps (lines 21-29); listen and pollInterval follow.
var kindsYAML = strings.Replace(baseYAML, "listen:", `floatingIps:
  - ip: 10.0.1.50
    via: internal
backendPools:
  - id: `+testPool+`nvas
    via: internal
dnsRecords:
  - id: `+testZone+`A/proxy
    via: internal
listen:`, 1)

func TestParseReadsTheNewerKinds(t *testing.T) {
	c, err := Parse([]byte(kindsYAML))
	if err != nil {
		t.Fatal(err)
	}
	if want := []FloatingIP{{IP: "10.0.1.50", Via: "internal"}}; !reflect.DeepEqual(c.FloatingIPs, want) {
		t.Errorf("floatingIps = %+v, want %+v", c.FloatingIPs, want)
	}
	if want := []BackendPool{{ID: testPool + "nvas", Via: "internal"}}; !reflect.DeepEqual(c.BackendPools, want) {
		t.Errorf("backendPools = %+v, want %+v", c.BackendPools, want)
	}
	if want := []DNSRecord{{ID: testZone + "A/proxy", Via: "internal"}}; !reflect.DeepEqual(c.DNSRecords, want) {
		t.Errorf("dnsRecords = %+v, want %+v", c.DNSRecords, want)
	}
}

func TestParseReportsProblemsInTheNewerKindsWithFieldAndLine(t *testing.T) {
	tests := []struct {
		name     string
		old, new string
		field    string
		line     int
		fragment string
	}{
		{"Azure's name for backend pools suggests backendPools", "backendPools:", "backendAddressPools:",
			"backendAddressPools", 24, `unknown key (did you mean "backendPools"?)`},
		{"a key spelled with IPs suggests floatingIps", "floatingIps:", "floatingIPs:",
			"floatingIPs", 21, `unknown key (did you mean "floatingIps"?)`},
		{"Azure's name for record sets suggests dnsRecords", "dnsRecords:", "privateDnsRecords:",
			"privateDnsRecords", 27, `unknown key (did you mean "dnsRecords"?)`},
		{"address for a floating IP suggests ip", "  - ip: 10.0.1.50", "  - address: 10.0.1.50\n    ip: 10.0.1.50",
			"floatingIps[0].address", 22, `unknown key (did you mean "ip"?)`},
		{"ipConfigName for a floating IP suggests name", "    via: internal\nbackendPools:", "    via: internal\n    ipConfigName: vip\nbackendPools:",
			"floatingIps[0].ipConfigName", 24, `unknown key (did you mean "name"?)`},
		{"role for a record suggests via", "  - id: " + testZone + "A/proxy\n    via: internal", "  - id: " + testZone + "A/proxy\n    role: internal\n    via: internal",
			"dnsRecords[0].role", 29, `unknown key (did you mean "via"?)`},
		{"ip at the top level says where it belongs", "listen:", "ip: 10.0.1.50\nlisten:",
			"ip", 30, `"ip" belongs under floatingIps[]`},
		{"a floating IP without ip is named at its item's line", "  - ip: 10.0.1.50\n", "  - name: vip\n",
			"floatingIps[0].ip", 22, "required key is missing; add it, like ip: 10.0.2.50"},
		{"a backend pool without id shows a pool's ID", "  - id: " + testPool + "nvas\n    via: internal", "  - via: internal",
			"backendPools[0].id", 25, "required key is missing; add it, like id: /subscriptions/{subscription}/resourceGroups/{group}/providers/Microsoft.Network/loadBalancers/{loadBalancer}/backendAddressPools/{name}"},
		{"a DNS record without via is named at its item's line", "    via: internal\nlisten:", "listen:",
			"dnsRecords[0].via", 28, "required key is missing; add it, like via: internal"},
		{"floating IPs written as a mapping are refused", "floatingIps:\n  - ip: 10.0.1.50\n    via: internal", "floatingIps:\n  ip: 10.0.1.50",
			"floatingIps", 22, "is a mapping, but it must be a list"},
		{"a validation problem in a floating IP is on its line", "  - ip: 10.0.1.50", "  - ip: 10.0.1.50/24",
			"floatingIps[0].ip", 22, `is a prefix, but a floating IP is one address`},
		{"a validation problem in a record is on its line", "A/proxy", "TXT/proxy",
			"dnsRecords[0].id", 28, "is a TXT record set; only A and AAAA record sets are supported"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !strings.Contains(kindsYAML, tt.old) {
				t.Fatalf("kindsYAML has no %q", tt.old)
			}
			_, err := Parse([]byte(strings.Replace(kindsYAML, tt.old, tt.new, 1)))
			ps := problems(t, err)
			assertOnly(t, ps, tt.field, tt.fragment)
			for _, p := range ps {
				if p.Line != tt.line {
					t.Errorf("problem %q is at line %d, want %d", p.String(), p.Line, tt.line)
				}
			}
		})
	}
}

// Every word keyAliases suggests a key for must be unknown where it applies,
// and the key suggested must be one allowed there.
func TestKeyAliasesPointAtKeysOfTheirMapping(t *testing.T) {
	locations := keyLocations()
	for path, aliases := range keyAliases {
		where := path
		if where == "" {
			where = "the top level"
		}
		for alias, key := range aliases {
			if alias != strings.ToLower(alias) {
				t.Errorf("alias %q under %s is not lower case", alias, where)
			}
			if !slices.Contains(locations[key], where) {
				t.Errorf("alias %q under %s suggests %q, which is not a key there (it is under %q)", alias, where, key, locations[key])
			}
			for k, ws := range locations {
				if strings.EqualFold(k, alias) && slices.Contains(ws, where) {
					t.Errorf("alias %q under %s is a key there already", alias, where)
				}
			}
		}
	}
}
