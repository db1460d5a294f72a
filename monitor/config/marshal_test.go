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
