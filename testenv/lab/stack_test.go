package lab

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/hanva/hanva/monitor/config"
	"github.com/hanva/hanva/testenv/armsim"
)

func TestSampleStackHasTheSampleAddressPlanAndResources(t *testing.T) {
	for _, tc := range []struct {
		nvas, monitors int
		external       []string
		internal       []string
	}{
		{2, 2, []string{"10.0.0.68", "10.0.0.69"}, []string{"10.0.0.100", "10.0.0.101"}},
		{3, 3, []string{"10.0.0.68", "10.0.0.69", "10.0.0.70"}, []string{"10.0.0.100", "10.0.0.101", "10.0.0.102"}},
	} {
		t.Run(fmt.Sprintf("%d NVAs %d monitors", tc.nvas, tc.monitors), func(t *testing.T) {
			s, err := SampleStack(SampleOptions{NVAs: tc.nvas, Monitors: tc.monitors})
			if err != nil {
				t.Fatal(err)
			}
			byID := map[string]map[string]any{}
			for _, r := range s.Resources {
				var body map[string]any
				if err := json.Unmarshal(r.Body, &body); err != nil {
					t.Fatalf("%s: %v", r.ID, err)
				}
				byID[r.ID] = body
			}
			if want := 2 + 2*tc.nvas + 1; len(s.Resources) != want {
				t.Errorf("%d resources, want %d (VNet, PIP, %d NICs, route table)", len(s.Resources), want, 2*tc.nvas)
			}
			vnet := byID[ResourceID("virtualNetworks", "hanva-vnet")]
			subnets := map[string]string{}
			for _, sn := range vnet["properties"].(map[string]any)["subnets"].([]any) {
				m := sn.(map[string]any)
				subnets[m["name"].(string)] = m["properties"].(map[string]any)["addressPrefix"].(string)
			}
			wantSubnets := map[string]string{"dmz-external": "10.0.0.64/27", "dmz-internal": "10.0.0.96/27", "web": "10.0.1.0/24", "mgmt": "10.0.0.128/25"}
			if fmt.Sprint(subnets) != fmt.Sprint(wantSubnets) {
				t.Errorf("subnets = %v, want %v", subnets, wantSubnets)
			}
			for i := range tc.nvas {
				nva := fmt.Sprintf("nva-%d", i+1)
				for role, want := range map[string]string{RoleExternal: tc.external[i], RoleInternal: tc.internal[i]} {
					nic := byID[ResourceID("networkInterfaces", nva+"-"+role)]
					if nic == nil {
						t.Fatalf("no %s NIC for %s", role, nva)
					}
					props := nic["properties"].(map[string]any)
					if props["enableIPForwarding"] != true {
						t.Errorf("%s %s NIC: IP forwarding off", nva, role)
					}
					ipc := props["ipConfigurations"].([]any)[0].(map[string]any)["properties"].(map[string]any)
					if ipc["privateIPAddress"] != want || ipc["privateIPAllocationMethod"] != "Static" {
						t.Errorf("%s %s NIC IP = %v (%v), want static %s", nva, role, ipc["privateIPAddress"], ipc["privateIPAllocationMethod"], want)
					}
					_, hasPIP := ipc["publicIPAddress"]
					if wantPIP := i == 0 && role == RoleExternal; hasPIP != wantPIP {
						t.Errorf("%s %s NIC carries the public IP: %v, want %v", nva, role, hasPIP, wantPIP)
					}
				}
			}
			routes := byID[ResourceID("routeTables", "web-udr")]["properties"].(map[string]any)["routes"].([]any)
			got := map[string]string{}
			for _, r := range routes {
				p := r.(map[string]any)["properties"].(map[string]any)
				got[p["addressPrefix"].(string)] = p["nextHopType"].(string) + " " + p["nextHopIpAddress"].(string)
			}
			wantRoutes := map[string]string{"0.0.0.0/0": "VirtualAppliance 10.0.0.100", "10.0.0.128/25": "VirtualAppliance 10.0.0.100"}
			if fmt.Sprint(got) != fmt.Sprint(wantRoutes) {
				t.Errorf("web-udr routes = %v, want %v", got, wantRoutes)
			}

			c := s.Config
			if len(c.NVAs) != tc.nvas || len(c.Monitors) != tc.monitors || c.Monitors[0] != "monitor-1" || c.Instance != "monitor-1" {
				t.Errorf("config: %d NVAs, monitors %v, instance %q", len(c.NVAs), c.Monitors, c.Instance)
			}
			for i, n := range c.NVAs {
				if want := tc.internal[i] + ":8080"; n.Probe.Address != want || n.Probe.Kind != "http" {
					t.Errorf("%s probe = %s %s, want http %s", n.Name, n.Probe.Kind, n.Probe.Address, want)
				}
			}
			loc, err := c.Lease.Parse()
			if err != nil || c.Lease.Kind != "blob" || loc.Container != LeaseContainer || loc.Blob != LeaseBlob {
				t.Errorf("lease = %+v (%v), want a blob lease on %s/%s", c.Lease, err, LeaseContainer, LeaseBlob)
			}
			if err := c.Validate(); err != nil {
				t.Errorf("the generated config is invalid: %v", err)
			}
			// armsim accepts every seed (subnets, IPs, references).
			if err := armsim.New(armsim.Options{}).SeedAll(armsim.SeedFile{Resources: s.Resources}); err != nil {
				t.Errorf("armsim refuses the seeds: %v", err)
			}
		})
	}
}

func TestSampleStackRefusesOneNVA(t *testing.T) {
	if _, err := SampleStack(SampleOptions{NVAs: 1}); err == nil || !strings.Contains(err.Error(), "at least 2") {
		t.Errorf("SampleStack(1 NVA) = %v, want an error saying HA needs at least 2", err)
	}
}

func TestSampleStackWritesOnlyTheDefaultSteeringByHand(t *testing.T) {
	for _, st := range [][]string{nil, {"routes"}, {"routes", "publicIp"}, {"publicIp", "routes"}} {
		if _, err := SampleStack(SampleOptions{Steering: st}); err != nil {
			t.Errorf("SampleStack(steering %v) = %v; that is the default", st, err)
		}
	}
	for _, st := range [][]string{{"floatingIp", "publicIp"}, {"loadBalancer"}, {"routes", "dns"}, {"publicIp"}} {
		if _, err := SampleStack(SampleOptions{Steering: st}); err == nil || !strings.Contains(err.Error(), "Pulumi program") {
			t.Errorf("SampleStack(steering %v) = %v, want it refused, pointing at the program's topology", st, err)
		}
	}
}

func TestSampleStackCarriesTheSettings(t *testing.T) {
	s, err := SampleStack(SampleOptions{Settings: Settings{Failback: "preferred", FailbackHoldoff: config.Duration(5e9),
		Probe: config.ProbeTiming{Interval: config.Duration(2e8)}}})
	if err != nil {
		t.Fatal(err)
	}
	if s.Config.Failback != "preferred" || s.Config.FailbackHoldoff.D().String() != "5s" || s.Config.Probe.Interval.D().String() != "200ms" {
		t.Errorf("settings not carried: failback %q holdoff %s probe %s", s.Config.Failback, s.Config.FailbackHoldoff, s.Config.Probe.Interval)
	}
}

func TestHostIPRefusesAzureReservedAddresses(t *testing.T) {
	for _, tc := range []struct {
		prefix string
		host   int
		want   string
	}{
		{"10.0.0.64/27", 4, "10.0.0.68"},
		{"10.0.0.96/27", 5, "10.0.0.101"},
		{"10.0.1.0/24", 254, "10.0.1.254"},
		{"10.0.0.64/27", 3, ""},  // reserved by Azure
		{"10.0.0.64/27", 31, ""}, // broadcast
		{"10.0.0.64/27", 40, ""}, // outside
	} {
		got, err := hostIP(tc.prefix, tc.host)
		if got != tc.want || (tc.want == "") != (err != nil) {
			t.Errorf("hostIP(%s, %d) = %q, %v; want %q", tc.prefix, tc.host, got, err, tc.want)
		}
	}
}

func TestLocalizePointsTheGeneratedConfigAtTheEmulators(t *testing.T) {
	s, err := SampleStack(SampleOptions{Monitors: 3})
	if err != nil {
		t.Fatal(err)
	}
	l := Local{ARMEndpoint: "https://127.0.0.1:8443", CAFile: "/tmp/ca.pem", TokenFile: "/tmp/token",
		BlobService: "http://127.0.0.1:10000/devstoreaccount1", AccountKeyFile: "/tmp/key",
		Probes: map[string]string{"nva-1": "127.0.0.1:1001", "nva-2": "127.0.0.1:1002"}, Listen: "127.0.0.1:9999"}
	c, err := Localize(s.Config, "monitor-2", l)
	if err != nil {
		t.Fatal(err)
	}
	if c.Instance != "monitor-2" || c.ARMEndpoint != l.ARMEndpoint || c.CAFile != l.CAFile || c.Listen != l.Listen ||
		c.Credential.Kind != "staticTokenFile" || c.Credential.TokenFile != l.TokenFile {
		t.Errorf("ARM side not localized: %+v", c)
	}
	if want := "http://127.0.0.1:10000/devstoreaccount1/hanva/ha/leader"; c.Lease.URL != want || c.Lease.Credential.Kind != "sharedKey" || c.Lease.Credential.AccountKeyFile != "/tmp/key" {
		t.Errorf("lease = %+v, want %s with the shared key", c.Lease, want)
	}
	if c.NVAs[0].Probe.Address != "127.0.0.1:1001" || c.NVAs[1].Probe.Address != "127.0.0.1:1002" || c.NVAs[0].Probe.Kind != "http" {
		t.Errorf("probes = %+v", c.NVAs)
	}
	if s.Config.NVAs[0].Probe.Address != "10.0.0.100:8080" || s.Config.Instance != "monitor-1" {
		t.Errorf("Localize changed the generated config: %+v", s.Config.NVAs[0].Probe)
	}
	if _, err := Localize(s.Config, "monitor-9", l); err == nil {
		t.Errorf("Localize accepted an instance not in monitors")
	}
	delete(l.Probes, "nva-2")
	if _, err := Localize(s.Config, "monitor-1", l); err == nil || !strings.Contains(err.Error(), "nva-2") {
		t.Errorf("Localize without a stand-in for nva-2 = %v", err)
	}
}
