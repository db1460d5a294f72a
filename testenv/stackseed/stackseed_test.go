package stackseed

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/hanva/hanva/components/pulumitest"
	"github.com/hanva/hanva/monitor/config"
	"github.com/hanva/hanva/testenv/armsim"
	"github.com/hanva/hanva/testenv/drill"
	"github.com/hanva/hanva/testenv/lab"
)

// shape is what the drill relies on in a stack, independent of names.
type shape struct {
	Subnets     map[string]string   // name -> prefix
	NVAIPs      [][2]string         // per NVA: external, internal
	Probes      []string            // per NVA
	TableHops   []map[string]string // per table: route prefix -> next hop
	PIPOnFirst  bool
	Monitors    int
	LeaseTarget string // container/blob
}

func shapeOf(t *testing.T, s *lab.Stack) shape {
	t.Helper()
	bodies := map[string]map[string]any{}
	for _, r := range s.Resources {
		var b map[string]any
		if err := json.Unmarshal(r.Body, &b); err != nil {
			t.Fatal(err)
		}
		bodies[strings.ToLower(r.ID)] = b
	}
	props := func(id string) map[string]any {
		b := bodies[strings.ToLower(id)]
		if b == nil {
			t.Fatalf("%s is not seeded", id)
		}
		return b["properties"].(map[string]any)
	}
	sh := shape{Subnets: map[string]string{}, Monitors: len(s.Config.Monitors)}
	for id, b := range bodies {
		if strings.Contains(id, "/virtualnetworks/") {
			for _, sn := range b["properties"].(map[string]any)["subnets"].([]any) {
				m := sn.(map[string]any)
				sh.Subnets[m["name"].(string)] = m["properties"].(map[string]any)["addressPrefix"].(string)
			}
		}
	}
	ipc := func(nic string) map[string]any {
		return props(nic)["ipConfigurations"].([]any)[0].(map[string]any)["properties"].(map[string]any)
	}
	for i, n := range s.Config.NVAs {
		ext, in := ipc(n.NICs[lab.RoleExternal]), ipc(n.NICs[lab.RoleInternal])
		sh.NVAIPs = append(sh.NVAIPs, [2]string{ext["privateIPAddress"].(string), in["privateIPAddress"].(string)})
		sh.Probes = append(sh.Probes, n.Probe.Kind+" "+n.Probe.Address)
		if i == 0 {
			pip, _ := ext["publicIPAddress"].(map[string]any)
			sh.PIPOnFirst = pip != nil && strings.EqualFold(pip["id"].(string), s.Config.PublicIPs[0].ID)
		}
	}
	for _, rt := range s.Config.RouteTables {
		hops := map[string]string{}
		for _, r := range props(rt.ID)["routes"].([]any) {
			p := r.(map[string]any)["properties"].(map[string]any)
			hops[p["addressPrefix"].(string)] = fmt.Sprint(p["nextHopIpAddress"])
		}
		sh.TableHops = append(sh.TableHops, hops)
	}
	loc, err := s.Config.Lease.Parse()
	if err != nil {
		t.Fatal(err)
	}
	sh.LeaseTarget = loc.Container + "/" + loc.Blob
	return sh
}

// TestTheSampleProgramDeclaresTheTopologyTheHandWrittenSampleAssumes runs
// the real program under mocks and checks that what it declares has the
// shape of lab.SampleStack: the same subnets, NVA IPs, probes, public IP
// holder and lease blob, and route tables through the first NVA's internal
// IP.
func TestTheSampleProgramDeclaresTheTopologyTheHandWrittenSampleAssumes(t *testing.T) {
	for _, o := range []lab.SampleOptions{{NVAs: 2, Monitors: 2}, {NVAs: 3, Monitors: 3}} {
		t.Run(fmt.Sprintf("%d NVAs %d monitors", o.NVAs, o.Monitors), func(t *testing.T) {
			got, err := Sample(o)
			if err != nil {
				t.Fatal(err)
			}
			hand, err := lab.SampleStack(o)
			if err != nil {
				t.Fatal(err)
			}
			g, h := shapeOf(t, got), shapeOf(t, hand)
			if fmt.Sprint(g.Subnets) != fmt.Sprint(h.Subnets) || fmt.Sprint(g.NVAIPs) != fmt.Sprint(h.NVAIPs) ||
				fmt.Sprint(g.Probes) != fmt.Sprint(h.Probes) || g.PIPOnFirst != h.PIPOnFirst || !g.PIPOnFirst ||
				g.Monitors != h.Monitors || g.LeaseTarget != h.LeaseTarget {
				t.Errorf("the program declares\n%+v\nthe hand-written sample has\n%+v", g, h)
			}
			for _, hops := range g.TableHops {
				for prefix, hop := range hops {
					if hop != h.NVAIPs[0][1] {
						t.Errorf("route %s -> %s, want the first NVA's internal IP %s", prefix, hop, h.NVAIPs[0][1])
					}
				}
			}
			if len(g.TableHops) == 0 {
				t.Errorf("no managed route table")
			}
			if err := armsim.New(armsim.Options{}).SeedAll(armsim.SeedFile{Resources: got.Resources}); err != nil {
				t.Errorf("armsim refuses the converted resources: %v", err)
			}
			if _, err := lab.Localize(got.Config, got.Config.Monitors[1], lab.Local{ARMEndpoint: "https://127.0.0.1:1", CAFile: "/ca",
				TokenFile: "/t", BlobService: "http://127.0.0.1:2/devstoreaccount1", AccountKeyFile: "/k",
				Probes: probes(got), Listen: "127.0.0.1:3"}); err != nil {
				t.Errorf("the generated config does not localize: %v", err)
			}
		})
	}
}

func probes(s *lab.Stack) map[string]string {
	out := map[string]string{}
	for i, n := range s.Config.NVAs {
		out[n.Name] = fmt.Sprintf("127.0.0.1:%d", 1000+i)
	}
	return out
}

func TestConvertReshapesAzureNativeInputsIntoARMJSON(t *testing.T) {
	nic := "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network/networkInterfaces/n1"
	res := pulumitest.Resource{Type: typeNIC, Name: "n1", ID: nic, Custom: true, Inputs: resource.NewPropertyMapFromMap(map[string]any{
		"resourceGroupName":  "rg",
		"location":           "westeurope",
		"tags":               map[string]any{"managed-by": "hanva"},
		"enableIPForwarding": true,
		"ipConfigurations": []any{map[string]any{
			"name": "ipconfig1", "privateIPAddress": "10.0.0.68", "subnet": map[string]any{"id": "/sub"},
		}},
	})}
	b, err := armJSON(res)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"location":"westeurope","properties":{"enableIPForwarding":true,"ipConfigurations":[{"name":"ipconfig1","properties":{"privateIPAddress":"10.0.0.68","subnet":{"id":"/sub"}}}]},"tags":{"managed-by":"hanva"}}`
	if string(b) != want {
		t.Errorf("ARM JSON\n%s\nwant\n%s", b, want)
	}
}

func TestConvertRefusesAConfigNamingUndeclaredResources(t *testing.T) {
	hand, err := lab.SampleStack(lab.SampleOptions{})
	if err != nil {
		t.Fatal(err)
	}
	yml, err := hand.Config.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	_, err = Convert(nil, string(yml))
	if err == nil || !strings.Contains(err.Error(), "web-udr") || !strings.Contains(err.Error(), "nva-1-internal") {
		t.Errorf("Convert with nothing declared = %v, want the missing route table and NICs named", err)
	}
	if _, err := Convert(nil, "nvas: []\n"); err == nil || !strings.Contains(err.Error(), "monitor config") {
		t.Errorf("Convert of a bad config = %v", err)
	}
}

// TestQuickDrillRunsOnTheProgramsTopology runs the drill's quick scenario
// on what the Pulumi program declares.
func TestQuickDrillRunsOnTheProgramsTopology(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	rep, err := drill.Run(ctx, drill.Options{Quick: true, Stack: Sample, WorkDir: t.TempDir(), Progress: t.Output()})
	if err != nil {
		t.Fatal(err)
	}
	if !rep.Passed() {
		for _, res := range rep.Results {
			for _, c := range res.Checks {
				if !c.Pass {
					t.Errorf("%s: %s: %s", res.Scenario, c.Name, c.Detail)
				}
			}
		}
		t.Fatalf("the quick drill failed on the program's topology:\n%s", rep.Summary())
	}
}

// TestTheDrillSettingsReachTheGeneratedMonitorConfig checks that the
// scenario's settings, passed as the program's stack config keys, come out
// in the monitor config the program generates, and that the caller's
// PULUMI_CONFIG is left as it was.
func TestTheDrillSettingsReachTheGeneratedMonitorConfig(t *testing.T) {
	t.Setenv(pulumi.EnvConfig, `{"other:key":"kept"}`)
	st := lab.Settings{
		Probe:               config.ProbeTiming{Interval: config.Duration(500 * time.Millisecond), FailureThreshold: 2},
		Failback:            config.FailbackPreferred,
		FailbackHoldoff:     config.Duration(5 * time.Second),
		MinFailoverInterval: config.Duration(7 * time.Second),
		LeaseDuration:       config.Duration(20 * time.Second),
	}
	s, err := Sample(lab.SampleOptions{NVAs: 3, Monitors: 3, Settings: st})
	if err != nil {
		t.Fatal(err)
	}
	c := s.Config
	got := fmt.Sprintf("nvas=%d monitors=%d interval=%s threshold=%d failback=%s holdoff=%s minFailover=%s lease=%s",
		len(c.NVAs), len(c.Monitors), c.Probe.Interval, c.Probe.FailureThreshold, c.Failback, c.FailbackHoldoff,
		c.MinFailoverInterval, c.Lease.Duration)
	want := "nvas=3 monitors=3 interval=500ms threshold=2 failback=preferred holdoff=5s minFailover=7s lease=20s"
	if got != want {
		t.Errorf("generated config has\n%s\nwant\n%s", got, want)
	}
	if v := os.Getenv(pulumi.EnvConfig); v != `{"other:key":"kept"}` {
		t.Errorf("%s after Sample = %q, want the caller's value back", pulumi.EnvConfig, v)
	}
}

func TestConfigKeepsTheProgramsDefaultsForZeroSettingsAndRefusesWhatItCannotSay(t *testing.T) {
	cfg, err := Config(lab.SampleOptions{}, "/bin/nva-monitor")
	if err != nil {
		t.Fatal(err)
	}
	keys := slices.Sorted(maps.Keys(cfg))
	if want := []string{"hanva:mode", "hanva:monitorBinaryPath", "hanva:sshPublicKey"}; !slices.Equal(keys, want) {
		t.Errorf("config for zero options sets %v, want only %v", keys, want)
	}
	for _, st := range []lab.Settings{
		{Probe: config.ProbeTiming{Timeout: config.Duration(time.Second)}},
		{Probe: config.ProbeTiming{SuccessThreshold: 1}},
	} {
		if _, err := Config(lab.SampleOptions{Settings: st}, "/bin/nva-monitor"); err == nil {
			t.Errorf("Config accepted %+v, which the program has no key for", st.Probe)
		}
	}
}
