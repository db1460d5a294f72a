package config

import (
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
)

func TestMarshalOfALoadedFileLoadsToAnEqualConfig(t *testing.T) {
	for _, file := range []string{"testdata/example.yaml"} {
		t.Run(file, func(t *testing.T) {
			want, err := Load(file)
			if err != nil {
				t.Fatal(err)
			}
			data, err := want.Marshal()
			if err != nil {
				t.Fatal(err)
			}
			got, err := Parse(data)
			if err != nil {
				t.Fatalf("parse marshalled config: %v\n%s", err, data)
			}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("round trip:\n got %+v\nwant %+v\n%s", got, want, data)
			}
		})
	}
}

func TestMarshalOfAConfigBuiltInGoLoadsWithDefaults(t *testing.T) {
	// What a Pulumi component does: fill only what it knows, marshal, and let
	// each monitor VM apply defaults and its own host name.
	built := validConfig()
	built.NVAs[0].Probe = Probe{Address: "[fd00::4]:8080", Kind: ProbeHTTP, Path: "/health?x=1"}
	built.Failback = FailbackPreferred
	built.InstanceNIC = testNIC + "monitor-1-nic"
	data, err := built.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	for _, absent := range []string{"instance:", "cloud:", "pollInterval:", "listen:"} {
		if strings.Contains(string(data), absent) {
			t.Errorf("unset %s should be left out:\n%s", absent, data)
		}
	}
	if !strings.Contains(string(data), "instanceNic: "+testNIC+"monitor-1-nic\n") {
		t.Errorf("the monitor's own NIC should be written as instanceNic:\n%s", data)
	}
	got, err := Parse(data)
	if err != nil {
		t.Fatalf("%v\n%s", err, data)
	}
	want := validConfig()
	want.NVAs[0].Probe = built.NVAs[0].Probe
	want.Failback = FailbackPreferred
	want.InstanceNIC = built.InstanceNIC
	want.Instance = "test-host"
	want.ApplyDefaults()
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("round trip:\n got %+v\nwant %+v\n%s", got, want, data)
	}
}

func TestMarshalWritesDurationsAsStrings(t *testing.T) {
	c, err := Load("testdata/example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	data, err := c.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range []string{"  interval: 1s\n", "failbackHoldoff: 1m0s\n", "pollInterval: 500ms\n", "operationTimeout: 5m0s\n",
		"viewInterval: 5s\n", "  duration: 15s\n"} {
		if !strings.Contains(string(data), line) {
			t.Errorf("marshalled config lacks %q:\n%s", line, data)
		}
	}
}

// The Pulumi components import this package; it must stay free of Azure,
// Pulumi and anything else beyond the standard library and yaml.v3.
func TestPackageImportsOnlyTheStandardLibraryAndYAML(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	for _, file := range files {
		if strings.HasSuffix(file, "_test.go") {
			continue
		}
		src, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		f, err := parser.ParseFile(fset, file, src, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range f.Imports {
			path, _ := strconv.Unquote(imp.Path.Value)
			first, _, _ := strings.Cut(path, "/")
			if strings.Contains(first, ".") && path != "gopkg.in/yaml.v3" {
				t.Errorf("%s imports %s; only the standard library and gopkg.in/yaml.v3 are allowed", file, path)
			}
		}
	}
}

func TestMarshalOfTheNewerKindsLoadsToAnEqualConfig(t *testing.T) {
	// A component that steers traffic with a floating IP, a backend pool and
	// a DNS record instead of route tables and public IPs.
	built := validConfig()
	built.RouteTables, built.PublicIPs = nil, nil
	built.FloatingIPs = []FloatingIP{
		{IP: "10.0.1.50", Via: "internal"},
		{IP: "fd00:0:0:1::50", Via: "internal", Name: "vip-v6"},
	}
	built.BackendPools = []BackendPool{{ID: testPool + "nva-active", Via: "internal"}}
	built.DNSRecords = []DNSRecord{
		{ID: testZone + "A/proxy", Via: "external"},
		{ID: testZone + "AAAA/proxy", Via: "external"},
	}
	if err := built.Validate(); err != nil {
		t.Fatal(err)
	}
	data, err := built.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range []string{
		"floatingIps:\n  - ip: 10.0.1.50\n    via: internal\n  - ip: fd00:0:0:1::50\n    via: internal\n    name: vip-v6\n",
		"backendPools:\n  - id: " + testPool + "nva-active\n    via: internal\n",
		"dnsRecords:\n  - id: " + testZone + "A/proxy\n    via: external\n  - id: " + testZone + "AAAA/proxy\n",
	} {
		if !strings.Contains(string(data), line) {
			t.Errorf("marshalled config lacks\n%s\nin\n%s", line, data)
		}
	}
	for _, absent := range []string{"routeTables:", "publicIps:", "name: hanva-floating"} {
		if strings.Contains(string(data), absent) {
			t.Errorf("unset %s should be left out:\n%s", absent, data)
		}
	}
	got, err := Parse(data)
	if err != nil {
		t.Fatalf("%v\n%s", err, data)
	}
	want := *built
	want.Instance = "test-host"
	want.ApplyDefaults()
	if !reflect.DeepEqual(got, &want) {
		t.Fatalf("round trip:\n got %+v\nwant %+v\n%s", got, &want, data)
	}
	// And once more: what Parse returned marshals to the same YAML plus defaults, and back.
	again, err := got.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if back, err := Parse(again); err != nil || !reflect.DeepEqual(back, got) {
		t.Fatalf("second round trip: %v\n got %+v\nwant %+v", err, back, got)
	}
}

func TestTheExampleShowsEveryKind(t *testing.T) {
	c, err := Load("testdata/example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if len(c.RouteTables) == 0 || len(c.PublicIPs) == 0 || len(c.FloatingIPs) == 0 || len(c.BackendPools) == 0 || len(c.DNSRecords) == 0 {
		t.Fatalf("the example should list one of each kind; it has %d route tables, %d public IPs, %d floating IPs, "+
			"%d backend pools, %d DNS records", len(c.RouteTables), len(c.PublicIPs), len(c.FloatingIPs), len(c.BackendPools), len(c.DNSRecords))
	}
	// Every key of the schema is written (or shown commented out) in the example.
	data, err := os.ReadFile("testdata/example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for key := range keyLocations() {
		if !strings.Contains(string(data), key+":") {
			t.Errorf("the example does not show the key %q", key)
		}
	}
}
