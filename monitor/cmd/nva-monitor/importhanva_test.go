package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hanva/hanva/monitor/config"
	"github.com/hanva/hanva/testenv/armsim"
)

const testLeaseURL = "https://sthanva.blob.core.windows.net/hanva/leader"

// fixtureSecrets are the secret strings of the testdata files: none may
// appear in anything import-hanva prints or returns.
var fixtureSecrets = []string{"Sup3r-S3cret-ClientValue~xyz", "KeyStore-Pa55word-Q9", "Cert-Pa55word-Z7", "Tok3n-Never-Shown-42"}

type importResult struct {
	code           int
	stdout, stderr string
	err            error
}

// runImport runs import-hanva twice: through run for the exit code and the
// printed output, and through cmdImportHANVA for the error value itself.
func runImport(t *testing.T, args ...string) importResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var out, errb bytes.Buffer
	code := run(ctx, append([]string{"import-hanva"}, args...), &out, &errb)
	res := importResult{code: code, stdout: out.String(), stderr: errb.String()}
	res.err = cmdImportHANVA(ctx, args, &bytes.Buffer{}, &bytes.Buffer{})
	for _, s := range fixtureSecrets {
		errText := ""
		if res.err != nil {
			errText = res.err.Error()
		}
		for where, text := range map[string]string{"stdout": res.stdout, "stderr": res.stderr, "the error": errText} {
			if strings.Contains(text, s) {
				t.Errorf("secret %q appears in %s:\n%s", s, where, text)
			}
		}
	}
	return res
}

func fixture(name string) string { return filepath.Join("testdata", name) }

// importedConfig parses stdout with monitor/config's own Parse, which validates.
func importedConfig(t *testing.T, res importResult) *config.Config {
	t.Helper()
	if res.code != 0 {
		t.Fatalf("exit %d, want 0:\n%s", res.code, res.stderr)
	}
	cfg, err := config.Parse([]byte(res.stdout))
	if err != nil {
		t.Fatalf("the imported config does not parse: %v\n%s", err, res.stdout)
	}
	return cfg
}

var manualFlags = []string{"--lease-url", testLeaseURL, "--via", "nic2", "--probe", "nva1=10.0.1.4", "--probe", "nva2=10.0.1.5"}

func TestImportHANVAMapsEveryFieldOfTheTemplate(t *testing.T) {
	res := runImport(t, append(manualFlags, fixture("hanva-secret.json"))...)
	cfg := importedConfig(t, res)
	want := &config.Config{
		Lease: config.Lease{Kind: config.LeaseBlob, URL: testLeaseURL},
		Probe: config.ProbeTiming{Interval: config.Duration(3 * time.Second), Timeout: config.Duration(3 * time.Second), FailureThreshold: 3},
		RouteTables: []config.RouteTable{
			{ID: rid("routeTables", "rt-web"), Via: "internal"},
			{ID: rid("routeTables", "rt-app"), Via: "internal"},
		},
		PublicIPs: []config.PublicIP{{ID: rid("publicIPAddresses", "pip-nva"), Via: "external"}},
	}
	for i, ip := range []string{"10.0.1.4", "10.0.1.5"} {
		n := string(rune('1' + i))
		want.NVAs = append(want.NVAs, config.NVA{Name: "nva" + n, Probe: config.Probe{Address: ip + ":54321", Kind: "tcp"},
			NICs: map[string]string{"external": rid("networkInterfaces", "nva"+n+"-nic1"), "internal": rid("networkInterfaces", "nva"+n+"-nic2")}})
	}
	raw, err := parseRaw(res.stdout)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := json.MarshalIndent(raw, "", "  ")
	exp, _ := json.MarshalIndent(want, "", "  ")
	if !bytes.Equal(got, exp) {
		t.Errorf("imported config\n%s\nwant\n%s", got, exp)
	}
	if cfg.Probe.FailureThreshold != 3 || cfg.Lease.URL != testLeaseURL {
		t.Errorf("parsed config: %+v", cfg)
	}
	for _, line := range []string{
		"NOT MAPPED  zookeeper (connectionString, leaderSelectorPath, numberOfRetries, retrySleepTime): hanva elects the monitor that acts with an Azure Storage blob lease",
		"NOT MAPPED  daemon.shutdownAwaitTime: ",
		"NOT MAPPED  daemon.monitors[0].settings.azure.servicePrincipal (clientId, clientSecret, tenantId): no secret or password of it is copied anywhere: hanva signs in with the monitor VMs' managed identity",
		"credential.kind: azureCLI",
		"MAPPED      daemon.monitors[0].settings.nvas[1]: is NVA nva2",
		"MAPPED      networkInterfaces[].name nic1: is NIC role external",
		"MAPPED      networkInterfaces[].name nic2: is NIC role internal",
		"MAPPED      daemon.monitors[0].settings.probePollingInterval: absent, so mspnp/ha-nva's default 3000ms is kept as probe.interval 3s",
	} {
		if !strings.Contains(res.stderr, line) {
			t.Errorf("report lacks %q:\n%s", line, res.stderr)
		}
	}
}

// parseRaw reads the YAML without defaults, to compare what was written.
func parseRaw(y string) (*config.Config, error) {
	cfg, err := config.Parse([]byte(y))
	if err != nil {
		return nil, err
	}
	// Parse applied defaults; take back the ones the importer did not write.
	raw := &config.Config{Lease: config.Lease{Kind: cfg.Lease.Kind, URL: cfg.Lease.URL}, Probe: config.ProbeTiming{
		Interval: cfg.Probe.Interval, Timeout: cfg.Probe.Timeout, FailureThreshold: cfg.Probe.FailureThreshold},
		NVAs: cfg.NVAs, RouteTables: cfg.RouteTables, PublicIPs: cfg.PublicIPs}
	return raw, nil
}

func TestImportHANVACertificateAndProbeTiming(t *testing.T) {
	res := runImport(t, append(manualFlags, fixture("hanva-certificate.json"))...)
	cfg := importedConfig(t, res)
	if p := cfg.Probe; p.Interval.D() != 5*time.Second || p.Timeout.D() != 2*time.Second || p.FailureThreshold != 5 {
		t.Errorf("probe timing %+v, want interval 5s, timeout 2s, failureThreshold 5", p)
	}
	want := "servicePrincipal (clientCertificate, clientId, tenantId, clientCertificate.certificatePassword, clientCertificate.keyStorePassword, clientCertificate.keyStorePath)"
	if !strings.Contains(res.stderr, want) {
		t.Errorf("report lacks %q:\n%s", want, res.stderr)
	}
	if strings.Contains(res.stdout, "nva.jks") {
		t.Errorf("the key store path reached the config:\n%s", res.stdout)
	}
}

func TestImportHANVAOutOfRangeValuesFallBackToHanvaDefaultsAndSaySo(t *testing.T) {
	res := runImport(t, append(manualFlags, fixture("hanva-out-of-range.json"))...)
	cfg := importedConfig(t, res)
	if p := cfg.Probe; p.FailureThreshold != config.DefaultFailureThreshold || p.Interval.D() != 2*time.Second || p.Timeout.D() != time.Second {
		t.Errorf("probe timing %+v, want the default threshold 3, interval 2s, default timeout 1s", p)
	}
	if strings.Contains(res.stdout, "failureThreshold") || strings.Contains(res.stdout, "timeout") {
		t.Errorf("an out-of-range value was written instead of left to the default:\n%s", res.stdout)
	}
	for _, line := range []string{
		"DEFAULTED   daemon.monitors[0].settings.numberOfFailuresThreshold: 0 is below hanva's minimum of 1 for probe.failureThreshold; hanva's default 3 is used",
		"DEFAULTED   daemon.monitors[0].settings.probeConnectTimeout: 10s (absent: mspnp/ha-nva's default 10000ms) is longer than probe.interval 2s",
		"NOT MAPPED  daemon.monitors[0].settings.customSetting: unknown to this importer (its value is not shown)",
	} {
		if !strings.Contains(res.stderr, line) {
			t.Errorf("report lacks %q:\n%s", line, res.stderr)
		}
	}
}

func TestImportHANVAViaPerTableAndOutFile(t *testing.T) {
	out := filepath.Join(t.TempDir(), "nva-monitor.yaml")
	writeFile(t, out, []byte("old"))
	if err := os.Chmod(out, 0o644); err != nil {
		t.Fatal(err)
	}
	res := runImport(t, fixture("hanva-secret.json"), "--lease-url", testLeaseURL, "--via", "rt-app=nic1", "--via", "nic2",
		"--probe", "nva1=10.0.1.4", "--probe", "nva2=10.0.1.5", "--out", out)
	if res.code != 0 || res.stdout != "" {
		t.Fatalf("exit %d, stdout %q:\n%s", res.code, res.stdout, res.stderr)
	}
	st, err := os.Stat(out)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("--out file mode %v, want 0600", st.Mode().Perm())
	}
	cfg, err := config.Load(out)
	if err != nil {
		t.Fatal(err)
	}
	// Two table roles: nic1 carries the public IP and becomes external;
	// nic2 keeps its name, as internal would be ambiguous.
	got := map[string]string{}
	for _, rt := range cfg.RouteTables {
		got[lastSegment(rt.ID)] = rt.Via
	}
	if got["rt-web"] != "nic2" || got["rt-app"] != "external" {
		t.Errorf("vias %v, want rt-web nic2, rt-app external", got)
	}
}

func TestImportHANVAExitCodes(t *testing.T) {
	dir := t.TempDir()
	notJSON := filepath.Join(dir, "broken.json")
	writeFile(t, notJSON, []byte("{\n  \"daemon\": {\n    \"clientSecret\": \"Sup3r-S3cret-ClientValue~xyz\" oops\n}"))
	notHA := filepath.Join(dir, "other.json")
	writeFile(t, notHA, []byte(`{"name": "something else"}`))
	// A secret where a route table ID belongs must not be echoed either.
	secretAsID := filepath.Join(dir, "secret-as-id.json")
	b, err := os.ReadFile(fixture("hanva-secret.json"))
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, secretAsID, bytes.Replace(b, []byte(rid("routeTables", "rt-app")), []byte("Sup3r-S3cret-ClientValue~xyz"), 1))

	secret := fixture("hanva-secret.json")
	for _, tc := range []struct {
		name string
		args []string
		code int
		want []string
	}{
		{"a template with every flag imports", append(manualFlags, secret), 0, nil},
		{"no file is a usage error", []string{"--lease-url", testLeaseURL}, 2, []string{"nva-monitor import-hanva [flags] nvadaemon-remote.json"}},
		{"a missing file is a usage error", append(manualFlags, filepath.Join(dir, "nope.json")), 2, []string{"nope.json"}},
		{"a file that is not JSON names the line", append(manualFlags, notJSON), 2, []string{"not valid JSON near line 3"}},
		{"a JSON file of another shape names the missing key", append(manualFlags, notHA), 2, []string{"daemon: is missing", "NOT MAPPED  name:"}},
		{"two monitors entries are refused", append(manualFlags, fixture("hanva-two-monitors.json")), 2, []string{"daemon.monitors: has 2 entries", "split the file"}},
		{"without --lease-url it names the flag", []string{"--via", "nic2", "--probe", "nva1=10.0.1.4", "--probe", "nva2=10.0.1.5", secret}, 2,
			[]string{"--lease-url is required"}},
		{"without --via or --resolve it names the table and both fixes", []string{"--lease-url", testLeaseURL, "--probe", "nva1=10.0.1.4", "--probe", "nva2=10.0.1.5", secret}, 2,
			[]string{"route table rt-web: the file does not say which NIC its routes use; pass --resolve to read it from Azure, or --via rt-web=NAME (NAME one of nic1, nic2"}},
		{"without --probe or --resolve it names the NVA and both fixes", []string{"--lease-url", testLeaseURL, "--via", "nic2", "--probe", "nva1=10.0.1.4", secret}, 2,
			[]string{"nva2 (daemon.monitors[0].settings.nvas[1]): the file names the probed NIC nva2-nic2 but not its IP; pass --resolve to read it from Azure, or --probe nva2=IP"}},
		{"a --via name not in the file is refused", []string{"--lease-url", testLeaseURL, "--via", "eth0", secret}, 2, []string{`"eth0" is not a networkInterfaces[].name`}},
		{"a lease URL hanva refuses fails validation", []string{"--lease-url", "https://example.com/x", "--via", "nic2", "--probe", "nva1=10.0.1.4", "--probe", "nva2=10.0.1.5", secret}, 2,
			[]string{"lease.url"}},
		{"a secret in place of an ID is not echoed", append(manualFlags, secretAsID), 2, []string{"routeTables"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := runImport(t, tc.args...)
			if res.code != tc.code {
				t.Fatalf("exit %d, want %d:\n%s", res.code, tc.code, res.stderr)
			}
			for _, w := range tc.want {
				if !strings.Contains(res.stderr, w) {
					t.Errorf("stderr lacks %q:\n%s", w, res.stderr)
				}
			}
		})
	}
}

// TestImportHANVAResolveReadsRolesAndProbeIPsFromAzure seeds armsim with
// the file's NICs and route tables: rt-web routes via the NVAs' nic2,
// rt-app via nic1 (which carries the public IP).
func TestImportHANVAResolveReadsRolesAndProbeIPsFromAzure(t *testing.T) {
	for _, tc := range []struct {
		name   string
		rtApp  string // rt-app's next hop
		code   int
		vias   map[string]string
		stderr string
	}{
		{"each table gets the role its routes use", "10.0.0.4", 0, map[string]string{"rt-web": "nic2", "rt-app": "external"}, ""},
		{"tables that all use one NIC name make it internal", "10.0.1.4", 0, map[string]string{"rt-web": "internal", "rt-app": "internal"}, ""},
		{"a table that mixes roles is refused", "mixed", 2, nil, "route table rt-app: its routes point at NICs named nic1 and nic2"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sim, err := armsim.Start(armsim.Options{Token: "test-token", RetryAfter: -1})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(sim.Close)
			seed := func(id, body string) {
				t.Helper()
				if err := sim.Seed(id, []byte(body)); err != nil {
					t.Fatal(err)
				}
			}
			seed(vnet, `{"location":"westeurope","properties":{"addressSpace":{"addressPrefixes":["10.0.0.0/16"]},
				"subnets":[{"name":"ext","properties":{"addressPrefix":"10.0.0.0/24"}},{"name":"int","properties":{"addressPrefix":"10.0.1.0/24"}}]}}`)
			for i := range 2 {
				for j, subnet := range []string{"ext", "int"} {
					ip := []string{"10.0.0.", "10.0.1."}[j] + string(rune('4'+i))
					seed(rid("networkInterfaces", "nva"+string(rune('1'+i))+"-nic"+string(rune('1'+j))), `{"location":"westeurope","properties":{"enableIPForwarding":true,
						"ipConfigurations":[{"name":"ipconfig1","properties":{"primary":true,"privateIPAddress":"`+ip+`","subnet":{"id":"`+vnet+`/subnets/`+subnet+`"}}}]}}`)
				}
			}
			route := func(name, hop string) string {
				return `{"name":"` + name + `","properties":{"addressPrefix":"` + map[string]string{"a": "0.0.0.0/0", "b": "10.9.0.0/16"}[name] + `","nextHopType":"VirtualAppliance","nextHopIpAddress":"` + hop + `"}}`
			}
			seed(rid("routeTables", "rt-web"), `{"location":"westeurope","properties":{"routes":[`+route("a", "10.0.1.4")+`]}}`)
			app := route("a", tc.rtApp)
			if tc.rtApp == "mixed" {
				app = route("a", "10.0.0.4") + "," + route("b", "10.0.1.4")
			}
			seed(rid("routeTables", "rt-app"), `{"location":"westeurope","properties":{"routes":[`+app+`]}}`)

			dir := t.TempDir()
			caFile := filepath.Join(dir, "arm-ca.pem")
			writeFile(t, caFile, sim.CAPEM())
			tokenFile := filepath.Join(dir, "token")
			writeFile(t, tokenFile, []byte("test-token\n"))
			res := runImport(t, "--resolve", "--arm-endpoint", sim.URL(), "--ca-file", caFile, "--credential", "staticTokenFile", "--token-file", tokenFile,
				"--lease-url", testLeaseURL, fixture("hanva-secret.json"))
			if res.code != tc.code {
				t.Fatalf("exit %d, want %d:\n%s", res.code, tc.code, res.stderr)
			}
			if tc.stderr != "" && !strings.Contains(res.stderr, tc.stderr) {
				t.Errorf("stderr lacks %q:\n%s", tc.stderr, res.stderr)
			}
			if tc.code != 0 {
				return
			}
			cfg := importedConfig(t, res)
			got := map[string]string{}
			for _, rt := range cfg.RouteTables {
				got[lastSegment(rt.ID)] = rt.Via
			}
			for k, v := range tc.vias {
				if got[k] != v {
					t.Errorf("route table %s via %q, want %q (all: %v)", k, got[k], v, got)
				}
			}
			// The probe is on nic2 (the 10.0.1.0/24 NICs), port 54321.
			if a, b := cfg.NVAs[0].Probe.Address, cfg.NVAs[1].Probe.Address; a != "10.0.1.4:54321" || b != "10.0.1.5:54321" {
				t.Errorf("probe addresses %s, %s; want 10.0.1.4:54321, 10.0.1.5:54321", a, b)
			}
		})
	}
}

func TestImportHANVANamesNVAsAfterTheirNICsOnlyWhenUnambiguous(t *testing.T) {
	nics := func(names ...string) haNVA {
		var n haNVA
		for _, name := range names {
			n.NICs = append(n.NICs, haNamedID{Name: "nic", ID: rid("networkInterfaces", name)})
		}
		return n
	}
	for _, tc := range []struct {
		name string
		nvas []haNVA
		want []string
	}{
		{"the shared prefix of each NVA's NIC names", []haNVA{nics("fw1-ext", "fw1-int"), nics("fw2-ext", "fw2-int")}, []string{"fw1", "fw2"}},
		{"underscores separate too", []haNVA{nics("fwa_nic1"), nics("fwb_nic1")}, []string{"fwa", "fwb"}},
		{"a prefix that is no valid NVA name falls back", []haNVA{nics("fw_a_nic1"), nics("fw_b_nic1")}, []string{"nva-1", "nva-2"}},
		{"NICs of one NVA with different prefixes fall back", []haNVA{nics("fw1-ext", "fwx-int"), nics("fw2-ext", "fw2-int")}, []string{"nva-1", "nva-2"}},
		{"two NVAs with the same prefix fall back", []haNVA{nics("fw-ext1"), nics("FW-ext2")}, []string{"nva-1", "nva-2"}},
		{"a NIC name without a separator falls back", []haNVA{nics("fw1nic"), nics("fw2-nic")}, []string{"nva-1", "nva-2"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := importedNames(tc.nvas); strings.Join(got, ",") != strings.Join(tc.want, ",") {
				t.Errorf("names %v, want %v", got, tc.want)
			}
		})
	}
}

// TestImportHANVAMonitorsFlagListsTheMonitorsThatShareTheLease checks
// --monitors fills monitors (what ZooKeeper's ensemble of daemons was), and
// that a bad list is refused naming the key, with exit 2.
func TestImportHANVAMonitorsFlagListsTheMonitorsThatShareTheLease(t *testing.T) {
	out := filepath.Join(t.TempDir(), "nva-monitor.yaml")
	res := runImport(t, fixture("hanva-secret.json"), "--lease-url", testLeaseURL, "--via", "nic2",
		"--probe", "nva1=10.0.1.4", "--probe", "nva2=10.0.1.5", "--monitors", "mon-1, mon-2,mon-3", "--instance", "mon-2", "--out", out)
	if res.code != 0 {
		t.Fatalf("exit %d:\n%s", res.code, res.stderr)
	}
	cfg, err := config.Load(out)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(cfg.Monitors, []string{"mon-1", "mon-2", "mon-3"}) || cfg.Quorum != config.QuorumMajority || cfg.Instance != "mon-2" {
		t.Errorf("monitors %v quorum %q instance %q, want mon-1..3, majority and mon-2", cfg.Monitors, cfg.Quorum, cfg.Instance)
	}
	if !strings.Contains(res.stderr, "--monitors: monitors mon-1, mon-2, mon-3, and --instance: instance mon-2") {
		t.Errorf("the report does not say how --monitors was mapped:\n%s", res.stderr)
	}
	res = runImport(t, fixture("hanva-secret.json"), "--lease-url", testLeaseURL, "--via", "nic2",
		"--probe", "nva1=10.0.1.4", "--probe", "nva2=10.0.1.5", "--monitors", "mon-1,mon-1", "--instance", "mon-1")
	if res.code != 2 || !strings.Contains(res.stderr, "monitors") {
		t.Errorf("duplicate monitor names: exit %d, want 2 naming monitors:\n%s", res.code, res.stderr)
	}
	res = runImport(t, fixture("hanva-secret.json"), "--lease-url", testLeaseURL, "--via", "nic2",
		"--probe", "nva1=10.0.1.4", "--probe", "nva2=10.0.1.5", "--monitors", "mon-1,mon-2")
	if res.code != 2 || !strings.Contains(res.stderr, "--monitors needs --instance") {
		t.Errorf("--monitors without --instance: exit %d, want 2 saying so:\n%s", res.code, res.stderr)
	}
}
