package armsim_test

import (
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/network/armnetwork/v7"

	"github.com/hanva/hanva/testenv/armsim"
)

const (
	monRTID  = netPath + "/routeTables/rt-mon"
	monNICID = netPath + "/networkInterfaces/mon-1-nic"
)

// seedMonitor adds a monitor subnet whose route table sends 0.0.0.0/0 to
// NVA A and Storage to the Internet, and a monitor NIC in it, to the
// topology of seedTopology.
func seedMonitor(t *testing.T, s *armsim.Server) {
	t.Helper()
	seedTopology(t, s)
	seed(t, s, monRTID, `{"location":"westeurope","properties":{"routes":[
		{"name":"default","properties":{"addressPrefix":"0.0.0.0/0","nextHopType":"VirtualAppliance","nextHopIpAddress":"10.0.1.4"}},
		{"name":"storage","properties":{"addressPrefix":"Storage","nextHopType":"Internet"}}]}}`)
	seed(t, s, vnetID, `{"location":"westeurope","properties":{"addressSpace":{"addressPrefixes":["10.0.0.0/16","192.168.0.0/16"]},
		"subnets":[{"name":"nva","properties":{"addressPrefix":"10.0.1.0/24"}},
		           {"name":"mon","properties":{"addressPrefix":"10.0.2.0/24","routeTable":{"id":"`+monRTID+`"}}}]}}`)
	seed(t, s, monNICID, `{"location":"westeurope","properties":{
		"ipConfigurations":[{"name":"ipconfig1","properties":{"privateIPAddress":"10.0.2.4","subnet":{"id":"`+vnetID+`/subnets/mon"}}}]}}`)
}

// route is an effective route in a form that compares and prints.
type route struct {
	name, source, state, prefixes, hop, hopIPs string
}

func routesOf(t *testing.T, res armnetwork.InterfacesClientGetEffectiveRouteTableResponse) []route {
	t.Helper()
	var out []route
	for _, r := range res.Value {
		var prefixes, ips []string
		for _, p := range r.AddressPrefix {
			prefixes = append(prefixes, *p)
		}
		for _, ip := range r.NextHopIPAddress {
			ips = append(ips, *ip)
		}
		if r.Source == nil || r.State == nil || r.NextHopType == nil {
			t.Fatalf("effective route without source, state or next hop type: %+v", r)
		}
		name := ""
		if r.Name != nil {
			name = *r.Name
		}
		out = append(out, route{name, string(*r.Source), string(*r.State), strings.Join(prefixes, ","),
			string(*r.NextHopType), strings.Join(ips, ",")})
	}
	return out
}

func TestEffectiveRoutesThroughTheSDKMergeTheSubnetRouteTableWithTheSystemRoutes(t *testing.T) {
	e := start(t, armsim.Options{LROLatency: 20 * time.Millisecond})
	seedMonitor(t, e.srv)
	c := ctx(t)
	nics := e.factory.NewInterfacesClient()

	p, err := nics.BeginGetEffectiveRouteTable(c, rg, "mon-1-nic", nil)
	if err != nil {
		t.Fatalf("begin get effective route table: %v", err)
	}
	res, polls := pollManually(t, c, p)
	if polls == 0 {
		t.Error("the operation was done at once; Azure runs it as a long-running operation")
	}
	got := routesOf(t, res)
	want := []route{
		{"", "Default", "Active", "10.0.0.0/16", "VnetLocal", ""},
		{"", "Default", "Active", "192.168.0.0/16", "VnetLocal", ""},
		{"", "Default", "Invalid", "0.0.0.0/0", "Internet", ""},
		{"", "Default", "Active", "10.0.0.0/8", "None", ""},
		{"", "Default", "Active", "172.16.0.0/12", "None", ""},
		{"", "Default", "Active", "100.64.0.0/10", "None", ""},
		{"default", "User", "Active", "0.0.0.0/0", "VirtualAppliance", "10.0.1.4"},
		{"storage", "User", "Active", "Storage", "Internet", ""},
	}
	if !slices.Equal(got, want) {
		t.Errorf("effective routes of the monitor NIC:\n got %v\nwant %v", got, want)
	}

	// The same through PollUntilDone, the SDK's own loop, on an NVA NIC
	// whose subnet has no route table: only the system routes, all active.
	p, err = nics.BeginGetEffectiveRouteTable(c, rg, "nva-a-nic", nil)
	if err != nil {
		t.Fatalf("begin get effective route table of NVA A: %v", err)
	}
	res, err = p.PollUntilDone(c, &runtime.PollUntilDoneOptions{Frequency: 10 * time.Millisecond})
	if err != nil {
		t.Fatalf("poll until done: %v", err)
	}
	for _, r := range routesOf(t, res) {
		if r.source != "Default" || r.state != "Active" {
			t.Errorf("NVA A's subnet has no route table, yet its effective routes hold %+v", r)
		}
		if r.prefixes == "192.168.0.0/16" && r.hop != "VnetLocal" {
			t.Errorf("192.168.0.0/16 is in the address space: its route goes to %s, want VnetLocal", r.hop)
		}
	}
	if n := len(eventsOf(e.srv, "")); n != 0 {
		t.Errorf("reading effective routes logged %d write event(s); it writes nothing", n)
	}
}

func TestEffectiveRoutesAreComputedWhenTheOperationEnds(t *testing.T) {
	e := start(t, armsim.Options{LROLatency: 200 * time.Millisecond})
	seedMonitor(t, e.srv)
	c := ctx(t)
	nics := e.factory.NewInterfacesClient()
	p, err := nics.BeginGetEffectiveRouteTable(c, rg, "mon-1-nic", nil)
	if err != nil {
		t.Fatalf("begin: %v", err)
	}
	// The action is no write: the NIC stays writable while it runs.
	nic, err := nics.Get(c, rg, "mon-1-nic", nil)
	if err != nil {
		t.Fatalf("get NIC: %v", err)
	}
	if _, err := nics.BeginCreateOrUpdate(c, rg, "mon-1-nic", nic.Interface, nil); err != nil {
		t.Errorf("a NIC PUT while its effective routes are computed: %v, want accepted", err)
	}
	seed(t, e.srv, monRTID, `{"location":"westeurope","properties":{"routes":[
		{"name":"default","properties":{"addressPrefix":"0.0.0.0/0","nextHopType":"Internet"}}]}}`)
	res, _ := pollManually(t, c, p)
	for _, r := range routesOf(t, res) {
		if r.prefixes == "0.0.0.0/0" && r.source == "User" && r.hop != "Internet" {
			t.Errorf("the result shows the route table as it was when the operation started: %+v", r)
		}
	}
}

func TestEffectiveRoutesAnswerLikeNRP(t *testing.T) {
	e := start(t, armsim.Options{RetryAfter: 10}) // Microsoft.Network's Retry-After
	seedMonitor(t, e.srv)
	c := ctx(t)

	resp := rawRequest(t, e.srv, http.MethodPost, monNICID+"/effectiveRouteTable?api-version=2025-01-01",
		http.Header{"Authorization": {"Bearer x"}}, "")
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("POST effectiveRouteTable = %d, want 202", resp.StatusCode)
	}
	for _, h := range []string{"Location", "Azure-AsyncOperation", "Retry-After"} {
		if resp.Header.Get(h) == "" {
			t.Errorf("202 lacks %s", h)
		}
	}
	if loc := resp.Header.Get("Location"); !strings.Contains(loc, "/providers/Microsoft.Network/locations/westeurope/operationResults/") {
		t.Errorf("Location = %q, want Microsoft.Network's operationResults URL", loc)
	}

	resp = rawRequest(t, e.srv, http.MethodGet, monNICID+"/effectiveRouteTable?api-version=2025-01-01",
		http.Header{"Authorization": {"Bearer x"}}, "")
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("GET effectiveRouteTable = %d, want 405", resp.StatusCode)
	}

	_, err := e.factory.NewInterfacesClient().BeginGetEffectiveRouteTable(c, rg, "no-such-nic", nil)
	wantARMError(t, err, http.StatusNotFound, "ResourceNotFound")

	e.srv.InjectFault(armsim.Fault{Method: "POST", PathContains: "/effectiveRouteTable", Status: http.StatusForbidden, Code: "AuthorizationFailed"})
	_, err = e.factory.NewInterfacesClient().BeginGetEffectiveRouteTable(c, rg, "mon-1-nic", nil)
	wantARMError(t, err, http.StatusForbidden, "AuthorizationFailed")

	e = start(t, armsim.Options{}) // no Retry-After: the poll below runs at its Frequency
	seedMonitor(t, e.srv)
	e.srv.InjectFault(armsim.Fault{Method: "POST", PathContains: "/effectiveRouteTable", OperationStatus: "Failed", Code: "InternalServerError"})
	p, err := e.factory.NewInterfacesClient().BeginGetEffectiveRouteTable(c, rg, "mon-1-nic", nil)
	if err != nil {
		t.Fatalf("begin: %v", err)
	}
	if _, err := p.PollUntilDone(c, &runtime.PollUntilDoneOptions{Frequency: 10 * time.Millisecond}); err == nil {
		t.Error("an operation injected to fail succeeded")
	}
}
