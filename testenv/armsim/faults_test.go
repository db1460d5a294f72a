package armsim_test

import (
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/network/armnetwork/v7"

	"github.com/hanva/hanva/testenv/armsim"
)

func TestInvalidNextHopsAreRejected(t *testing.T) {
	tests := []struct {
		name     string
		hopType  string
		hopIP    string
		wantCode string
	}{
		{"VirtualAppliance without an address", "VirtualAppliance", "", "InvalidRouteNextHopIpAddress"},
		{"an address with another next hop type", "Internet", "10.0.1.4", "InvalidRouteNextHopIpAddress"},
		{"a loopback next hop", "VirtualAppliance", "127.0.0.1", "InvalidNextHopIpAddress"},
		{"a multicast next hop", "VirtualAppliance", "224.0.0.5", "InvalidNextHopIpAddress"},
		{"the broadcast address", "VirtualAppliance", "255.255.255.255", "InvalidNextHopIpAddress"},
		{"a link-local next hop", "VirtualAppliance", "169.254.1.1", "InvalidNextHopIpAddress"},
		{"the Azure platform address", "VirtualAppliance", "168.63.129.16", "InvalidNextHopIpAddress"},
		{"something that is not an address", "VirtualAppliance", "nva-a", "InvalidNextHopIpAddress"},
		{"an unknown next hop type", "Elsewhere", "", "InvalidRequestFormat"},
	}
	e := start(t, armsim.Options{})
	seedTopology(t, e.srv)
	c := ctx(t)
	routes := e.factory.NewRoutesClient()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			props := &armnetwork.RoutePropertiesFormat{AddressPrefix: to("10.8.0.0/16"), NextHopType: to(armnetwork.RouteNextHopType(tt.hopType))}
			if tt.hopIP != "" {
				props.NextHopIPAddress = to(tt.hopIP)
			}
			_, err := routes.BeginCreateOrUpdate(c, rg, "rt-spoke", "bad", armnetwork.Route{Properties: props}, nil)
			wantARMError(t, err, http.StatusBadRequest, tt.wantCode)
		})
	}
	if _, ok := e.srv.Resource(rtID + "/routes/bad"); ok {
		t.Fatal("a rejected route was stored")
	}
}

func TestWriteThrottleAnswers429UntilRetryAfterHasPassed(t *testing.T) {
	e := start(t, armsim.Options{})
	seedTopology(t, e.srv)
	e.srv.SetWriteThrottle(20, 1) // one write, then a token every 50 ms
	patch := func() *http.Response {
		return rawRequest(t, e.srv, http.MethodPatch, rtID+"?api-version=2025-01-01",
			http.Header{"Authorization": {"Bearer x"}}, `{"tags":{"n":"1"}}`)
	}
	if resp := patch(); resp.StatusCode != http.StatusOK {
		t.Fatalf("first write: %d", resp.StatusCode)
	}
	resp := patch()
	if resp.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("second write: %d, want 429", resp.StatusCode)
	}
	retry, err := strconv.Atoi(resp.Header.Get("Retry-After"))
	if err != nil || retry < 1 {
		t.Fatalf("Retry-After %q, want whole seconds >= 1", resp.Header.Get("Retry-After"))
	}
	if code := decodeBody(t, resp)["error"].(map[string]any)["code"]; code != "SubscriptionRequestsThrottled" {
		t.Fatalf("code %v", code)
	}
	// The bucket has refilled after 100 ms, but Retry-After (1 s) has not passed.
	time.Sleep(100 * time.Millisecond)
	if resp := patch(); resp.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("write before Retry-After passed: %d, want 429 again", resp.StatusCode)
	}
	if resp := rawRequest(t, e.srv, http.MethodGet, rtID+"?api-version=2025-01-01", http.Header{"Authorization": {"Bearer x"}}, ""); resp.StatusCode != http.StatusOK {
		t.Fatalf("reads are not throttled, got %d", resp.StatusCode)
	}
	time.Sleep(time.Duration(retry)*time.Second + 50*time.Millisecond)
	if resp := patch(); resp.StatusCode != http.StatusOK {
		t.Fatalf("write after Retry-After: %d", resp.StatusCode)
	}
	rejected := eventsOf(e.srv, armsim.KindWriteRejected)
	if len(rejected) != 2 || rejected[0].Status != 429 || rejected[0].Code != "SubscriptionRequestsThrottled" {
		t.Fatalf("rejected events %+v", rejected)
	}
	e.srv.SetWriteThrottle(0, 0)
	for i := 0; i < 3; i++ {
		if resp := patch(); resp.StatusCode != http.StatusOK {
			t.Fatalf("write %d with the throttle off: %d", i, resp.StatusCode)
		}
	}
}

func TestInjectedFaultsFailCountRequestsThenGo(t *testing.T) {
	e := start(t, armsim.Options{})
	seedTopology(t, e.srv)
	c := ctx(t)
	client := e.factory.NewRouteTablesClient()
	e.srv.InjectFault(armsim.Fault{Method: "PUT", PathContains: "/ROUTETABLES/", Status: 503, Code: "ServiceUnavailable", RetryAfter: 1500 * time.Millisecond, Count: 2})
	got, err := client.Get(c, rg, "rt-spoke", nil)
	if err != nil {
		t.Fatalf("a GET does not match a PUT fault: %v", err)
	}
	for i := 0; i < 2; i++ {
		_, err := client.BeginCreateOrUpdate(c, rg, "rt-spoke", got.RouteTable, nil)
		re := wantARMError(t, err, http.StatusServiceUnavailable, "ServiceUnavailable")
		if ra := re.RawResponse.Header.Get("Retry-After"); ra != "2" {
			t.Fatalf("Retry-After %q, want 2 (1.5 s rounded up)", ra)
		}
	}
	p, err := client.BeginCreateOrUpdate(c, rg, "rt-spoke", got.RouteTable, nil)
	if err != nil {
		t.Fatalf("third PUT after the fault's count: %v", err)
	}
	pollManually(t, c, p)
	if n := len(eventsOf(e.srv, armsim.KindWriteRejected)); n != 2 {
		t.Fatalf("%d write_rejected events, want 2", n)
	}
}

func TestAnAfterCommitFaultAppliesTheWriteButLosesTheAnswer(t *testing.T) {
	e := start(t, armsim.Options{})
	seedTopology(t, e.srv)
	c := ctx(t)
	client := e.factory.NewRouteTablesClient()
	got, err := client.Get(c, rg, "rt-spoke", nil)
	if err != nil {
		t.Fatal(err)
	}
	e.srv.InjectFault(armsim.Fault{Method: "PUT", Status: 500, Code: "InternalServerError", AfterCommit: true})
	got.Properties.Routes[0].Properties.NextHopIPAddress = to("10.0.1.5")
	_, err = client.BeginCreateOrUpdate(c, rg, "rt-spoke", got.RouteTable, nil)
	wantARMError(t, err, http.StatusInternalServerError, "InternalServerError")
	after, err := client.Get(c, rg, "rt-spoke", nil)
	if err != nil {
		t.Fatal(err)
	}
	if hop := *after.Properties.Routes[0].Properties.NextHopIPAddress; hop != "10.0.1.5" {
		t.Fatalf("next hop %s: the write was not applied", hop)
	}
	var kinds []string
	for _, ev := range e.srv.Events(0) {
		kinds = append(kinds, ev.Kind)
	}
	if got := strings.Join(kinds, ","); got != "write_accepted,write_rejected,write_succeeded" {
		t.Fatalf("events %s", got)
	}
}

func TestEventsTellWhoChangedWhatAndWhen(t *testing.T) {
	const latency = 30 * time.Millisecond
	e := start(t, armsim.Options{LROLatency: latency})
	seedTopology(t, e.srv)
	e.srv.SetLatency("networkInterfaces", 2*latency)
	c := ctx(t)
	if evs := e.srv.Events(0); len(evs) != 0 {
		t.Fatalf("seeding logged events: %+v", evs)
	}

	rts := e.factory.NewRouteTablesClient()
	rt, err := rts.Get(c, rg, "rt-spoke", nil)
	if err != nil {
		t.Fatal(err)
	}
	rt.Properties.Routes[0].Properties.NextHopIPAddress = to("10.0.1.5")
	rt.Tags["owner"] = to("ops")
	p, err := rts.BeginCreateOrUpdate(c, rg, "rt-spoke", rt.RouteTable, nil)
	if err != nil {
		t.Fatal(err)
	}
	pollManually(t, c, p)

	nics := e.factory.NewInterfacesClient()
	a, err := nics.Get(c, rg, "nva-a-nic", nil)
	if err != nil {
		t.Fatal(err)
	}
	a.Properties.IPConfigurations[0].Properties.PublicIPAddress = nil
	np, err := nics.BeginCreateOrUpdate(c, rg, "nva-a-nic", a.Interface, nil)
	if err != nil {
		t.Fatal(err)
	}
	pollManually(t, c, np)

	evs := e.srv.Events(0)
	want := []struct {
		kind, id string
		changes  []string
	}{
		{armsim.KindWriteAccepted, rtID, []string{`route "default" nextHopIpAddress 10.0.1.4 -> 10.0.1.5`, `tag "owner" "hanva" -> "ops"`}},
		{armsim.KindWriteSucceeded, rtID, nil},
		{armsim.KindWriteAccepted, nicAID, []string{`ipconfig "ipconfig1" publicIPAddress pip-1 -> (none)`}},
		{armsim.KindWriteSucceeded, nicAID, nil},
	}
	if len(evs) != len(want) {
		t.Fatalf("%d events, want %d: %+v", len(evs), len(want), evs)
	}
	for i, w := range want {
		ev := evs[i]
		if ev.Seq != i+1 || ev.Kind != w.kind || ev.ResourceID != w.id {
			t.Errorf("event %d = %d %s %s, want %d %s %s", i, ev.Seq, ev.Kind, ev.ResourceID, i+1, w.kind, w.id)
		}
		if !strings.Contains(ev.Client, appID) || !strings.Contains(ev.Client, "azsdk-go-armnetwork") {
			t.Errorf("event %d client %q lacks the User-Agent", i, ev.Client)
		}
		if ev.ClientRequestID == "" || ev.Method != http.MethodPut {
			t.Errorf("event %d method %q client request id %q", i, ev.Method, ev.ClientRequestID)
		}
		if w.changes != nil && strings.Join(ev.Changes, "|") != strings.Join(w.changes, "|") {
			t.Errorf("event %d changes %q, want %q", i, ev.Changes, w.changes)
		}
	}
	if d := evs[1].Time.Sub(evs[0].Time); d != latency {
		t.Errorf("route table succeeded %s after accept, want exactly %s", d, latency)
	}
	if d := evs[3].Time.Sub(evs[2].Time); d != 2*latency {
		t.Errorf("NIC succeeded %s after accept, want exactly %s (SetLatency)", d, 2*latency)
	}
	if later := e.srv.Events(3); len(later) != 1 || later[0].Seq != 4 {
		t.Errorf("Events(3) = %+v, want only Seq 4", later)
	}
	if reqs := e.srv.Requests(); len(reqs) < 6 || reqs[0].Method != http.MethodGet || reqs[0].Status != 200 || !strings.Contains(reqs[0].Client, appID) {
		t.Errorf("requests %+v", reqs)
	}
}

func TestPermissionsEndpoint(t *testing.T) {
	e := start(t, armsim.Options{})
	seedTopology(t, e.srv)
	e.srv.SetPermissions(rgID, []string{"Microsoft.Network/routeTables/read"}, []string{"Microsoft.Network/routeTables/write"})
	tests := []struct {
		name        string
		scope       string
		wantActions string
		wantNot     string
	}{
		{"the default is every action", "/subscriptions/" + sub + "/resourceGroups/other/providers/Microsoft.Network/routeTables/x", "*", ""},
		{"a setting on a resource group covers its resources", rtID, "Microsoft.Network/routeTables/read", "Microsoft.Network/routeTables/write"},
		{"scopes compare case-insensitively", strings.ToUpper(rgID), "Microsoft.Network/routeTables/read", "Microsoft.Network/routeTables/write"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := rawRequest(t, e.srv, http.MethodGet, tt.scope+"/providers/Microsoft.Authorization/permissions?api-version=2022-04-01",
				http.Header{"Authorization": {"Bearer x"}}, "")
			if resp.StatusCode != 200 {
				t.Fatalf("status %d", resp.StatusCode)
			}
			v := decodeBody(t, resp)["value"].([]any)[0].(map[string]any)
			join := func(k string) string {
				var s []string
				for _, a := range v[k].([]any) {
					s = append(s, a.(string))
				}
				return strings.Join(s, ",")
			}
			if join("actions") != tt.wantActions || join("notActions") != tt.wantNot || v["dataActions"] == nil {
				t.Fatalf("permissions %v", v)
			}
		})
	}
}

func TestAFailedOperationRevertsTheResource(t *testing.T) {
	tests := []struct {
		name      string
		status    string
		wantCode  string
		wantState armnetwork.ProvisioningState
	}{
		{"an operation that ends Failed leaves the old data in state Failed", "Failed", "InternalServerError", armnetwork.ProvisioningStateFailed},
		{"an operation that is Canceled leaves the old data in state Succeeded", "Canceled", "Canceled", armnetwork.ProvisioningStateSucceeded},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := start(t, armsim.Options{LROLatency: 10 * time.Millisecond})
			seedTopology(t, e.srv)
			c := ctx(t)
			e.srv.InjectFault(armsim.Fault{Method: "PUT", PathContains: "networkInterfaces", OperationStatus: tt.status})
			nics := e.factory.NewInterfacesClient()
			a, err := nics.Get(c, rg, "nva-a-nic", nil)
			if err != nil {
				t.Fatal(err)
			}
			a.Properties.IPConfigurations[0].Properties.PublicIPAddress = nil
			p, err := nics.BeginCreateOrUpdate(c, rg, "nva-a-nic", a.Interface, nil)
			if err != nil {
				t.Fatalf("the PUT itself is accepted: %v", err)
			}
			if got := pipBackRef(t, e.srv); got != "" {
				t.Fatalf("back-reference during the operation %q, want none", got)
			}
			_, err = p.PollUntilDone(c, &runtime.PollUntilDoneOptions{Frequency: 10 * time.Millisecond})
			wantARMError(t, err, http.StatusOK, tt.wantCode)
			after, err := nics.Get(c, rg, "nva-a-nic", nil)
			if err != nil {
				t.Fatal(err)
			}
			if after.Properties.IPConfigurations[0].Properties.PublicIPAddress == nil || *after.Properties.ProvisioningState != tt.wantState {
				t.Fatalf("after the failed operation: public IP %v, state %s", after.Properties.IPConfigurations[0].Properties.PublicIPAddress, *after.Properties.ProvisioningState)
			}
			if got := pipBackRef(t, e.srv); got != nicAID+"/ipConfigurations/ipconfig1" {
				t.Fatalf("back-reference after the revert %q", got)
			}
			var kinds []string
			for _, ev := range e.srv.Events(0) {
				kinds = append(kinds, ev.Kind+":"+ev.Code)
			}
			if got := strings.Join(kinds, ","); got != "write_accepted:,write_failed:"+tt.wantCode {
				t.Fatalf("events %s", got)
			}
		})
	}
}

func TestTagOnlyTellsAWriteThatChangedOneTagAlone(t *testing.T) {
	for _, c := range []struct {
		name    string
		changes []string
		want    bool
	}{
		{"only the tag", []string{`tag "hanva-epoch" 1 -> 2`}, true},
		{"the tag under another casing", []string{`tag "Hanva-Epoch" (none) -> 3`}, true},
		{"the tag and a next hop", []string{`tag "hanva-epoch" 1 -> 2`, `route "default" nextHopIpAddress 10.0.0.4 -> 10.0.0.5`}, false},
		{"another tag", []string{`tag "owner" a -> b`}, false},
		{"no change listed", nil, false},
	} {
		if got := (armsim.Event{Changes: c.changes}).TagOnly("hanva-epoch"); got != c.want {
			t.Errorf("%s: TagOnly = %v, want %v", c.name, got, c.want)
		}
	}
}
