package armsim_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/network/armnetwork/v7"

	"github.com/hanva/hanva/testenv/armsim"
)

func TestRouteTablePutIsAnLROThatTheSDKPollerCompletes(t *testing.T) {
	e := start(t, armsim.Options{LROLatency: 40 * time.Millisecond})
	seedTopology(t, e.srv)
	c := ctx(t)
	client := e.factory.NewRouteTablesClient()

	got, err := client.Get(c, rg, "rt-spoke", nil)
	if err != nil {
		t.Fatalf("get route table: %v", err)
	}
	if *got.Properties.ProvisioningState != armnetwork.ProvisioningStateSucceeded {
		t.Fatalf("seeded state = %s, want Succeeded", *got.Properties.ProvisioningState)
	}
	oldETag := *got.Etag
	if !strings.HasPrefix(oldETag, `W/"`) {
		t.Fatalf("etag %q is not weak", oldETag)
	}
	if *got.Type != "Microsoft.Network/routeTables" || *got.ID != rtID || *got.Name != "rt-spoke" {
		t.Fatalf("id/name/type = %s %s %s", *got.ID, *got.Name, *got.Type)
	}
	if r := got.Properties.Routes[0]; *r.ID != rtID+"/routes/default" || *r.Etag != oldETag || *r.Type != "Microsoft.Network/routeTables/routes" {
		t.Fatalf("route sub-resource fields: id %s etag %s type %s", *r.ID, *r.Etag, *r.Type)
	}

	rt := got.RouteTable
	rt.Properties.Routes[0].Properties.NextHopIPAddress = to("10.0.1.5")
	poller, err := client.BeginCreateOrUpdate(c, rg, "rt-spoke", rt, nil)
	if err != nil {
		t.Fatalf("begin update: %v", err)
	}
	if poller.Done() {
		t.Fatal("poller is done right after the PUT; the response must say Updating")
	}
	during := resourceJSON(t, e.srv, rtID)
	if state := during["properties"].(map[string]any)["provisioningState"]; state != "Updating" {
		t.Fatalf("state during the LRO = %v, want Updating", state)
	}
	if during["etag"] == oldETag {
		t.Fatal("etag did not change on write")
	}
	res, polls := pollManually(t, c, poller)
	if polls < 1 {
		t.Fatalf("polls = %d, want at least one status poll", polls)
	}
	if *res.Properties.ProvisioningState != armnetwork.ProvisioningStateSucceeded {
		t.Fatalf("final state %s, want Succeeded", *res.Properties.ProvisioningState)
	}
	if hop := *res.Properties.Routes[0].Properties.NextHopIPAddress; hop != "10.0.1.5" {
		t.Fatalf("next hop after update = %s, want 10.0.1.5", hop)
	}

	// PollUntilDone with a short Frequency (no Retry-After in these tests).
	res.Properties.Routes[0].Properties.NextHopIPAddress = to("10.0.1.4")
	poller, err = client.BeginCreateOrUpdate(c, rg, "rt-spoke", res.RouteTable, nil)
	if err != nil {
		t.Fatalf("begin second update: %v", err)
	}
	final, err := poller.PollUntilDone(c, &runtime.PollUntilDoneOptions{Frequency: 10 * time.Millisecond})
	if err != nil {
		t.Fatalf("poll until done: %v", err)
	}
	if hop := *final.Properties.Routes[0].Properties.NextHopIPAddress; hop != "10.0.1.4" {
		t.Fatalf("next hop = %s, want 10.0.1.4", hop)
	}
	if *final.Properties.ProvisioningState != armnetwork.ProvisioningStateSucceeded {
		t.Fatalf("final state %s", *final.Properties.ProvisioningState)
	}
}

func TestPutAnswersLikeNRP(t *testing.T) {
	tests := []struct {
		name       string
		seedFirst  bool
		wantStatus int
		wantState  string
	}{
		{"a PUT that creates answers 201 Creating", false, http.StatusCreated, "Creating"},
		{"a PUT that updates answers 200 Updating", true, http.StatusOK, "Updating"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := start(t, armsim.Options{RetryAfter: 10, LROLatency: time.Hour})
			if tt.seedFirst {
				seed(t, e.srv, rtID, `{"location":"westeurope","properties":{}}`)
			}
			resp := rawRequest(t, e.srv, http.MethodPut, rtID+"?api-version=2025-01-01",
				http.Header{"Authorization": {"Bearer x"}, "Content-Type": {"application/json"}},
				`{"location":"westeurope","properties":{"provisioningState":"Succeeded","routes":[]}}`)
			if resp.StatusCode != tt.wantStatus {
				t.Fatalf("status %d, want %d", resp.StatusCode, tt.wantStatus)
			}
			body := decodeBody(t, resp)
			if st := body["properties"].(map[string]any)["provisioningState"]; st != tt.wantState {
				t.Fatalf("provisioningState %v, want %s", st, tt.wantState)
			}
			op, err := url.Parse(resp.Header.Get("Azure-AsyncOperation"))
			if err != nil || !op.IsAbs() || op.Scheme != "https" {
				t.Fatalf("Azure-AsyncOperation %q is not an absolute https URL", resp.Header.Get("Azure-AsyncOperation"))
			}
			wantPrefix := "/subscriptions/" + sub + "/providers/Microsoft.Network/locations/westeurope/operations/"
			if !strings.HasPrefix(op.Path, wantPrefix) || op.Query().Get("api-version") != "2025-01-01" {
				t.Fatalf("operation URL %s, want path under %s with api-version", op, wantPrefix)
			}
			for h, want := range map[string]string{"Retry-After": "10", "x-ms-ratelimit-remaining-subscription-writes": "1199"} {
				if got := resp.Header.Get(h); got != want {
					t.Errorf("%s = %q, want %q", h, got, want)
				}
			}
			if resp.Header.Get("x-ms-request-id") == "" {
				t.Error("no x-ms-request-id")
			}
			status := rawRequest(t, e.srv, http.MethodGet, op.RequestURI(), http.Header{"Authorization": {"Bearer x"}}, "")
			if st := decodeBody(t, status)["status"]; st != "InProgress" {
				t.Fatalf("operation status %v, want InProgress", st)
			}
		})
	}
}

func TestRoutePutUpdatesOneRouteAndKeepsTheOthers(t *testing.T) {
	e := start(t, armsim.Options{LROLatency: 20 * time.Millisecond})
	seedTopology(t, e.srv)
	c := ctx(t)
	routes := e.factory.NewRoutesClient()
	r, err := routes.Get(c, rg, "rt-spoke", "default", nil)
	if err != nil {
		t.Fatalf("get route: %v", err)
	}
	r.Properties.NextHopIPAddress = to("10.0.1.5")
	p, err := routes.BeginCreateOrUpdate(c, rg, "rt-spoke", "default", r.Route, nil)
	if err != nil {
		t.Fatalf("begin route update: %v", err)
	}
	res, _ := pollManually(t, c, p)
	if *res.Properties.NextHopIPAddress != "10.0.1.5" || *res.Properties.ProvisioningState != armnetwork.ProvisioningStateSucceeded {
		t.Fatalf("route after update: %s %s", *res.Properties.NextHopIPAddress, *res.Properties.ProvisioningState)
	}
	table, err := e.factory.NewRouteTablesClient().Get(c, rg, "rt-spoke", nil)
	if err != nil {
		t.Fatalf("get table: %v", err)
	}
	if n := len(table.Properties.Routes); n != 2 {
		t.Fatalf("table has %d routes, want 2", n)
	}
	if *table.Properties.Routes[1].Name != "onprem" || *table.Properties.Routes[1].Properties.NextHopType != armnetwork.RouteNextHopTypeVirtualNetworkGateway {
		t.Fatal("the other route changed")
	}
	if table.Properties.DisableBgpRoutePropagation == nil || !*table.Properties.DisableBgpRoutePropagation {
		t.Fatal("table property disableBgpRoutePropagation lost")
	}

	// A new route is created with 201.
	p, err = routes.BeginCreateOrUpdate(c, rg, "rt-spoke", "extra", armnetwork.Route{Properties: &armnetwork.RoutePropertiesFormat{
		AddressPrefix: to("10.9.0.0/16"), NextHopType: to(armnetwork.RouteNextHopTypeVirtualAppliance), NextHopIPAddress: to("10.0.1.4"),
	}}, nil)
	if err != nil {
		t.Fatalf("begin route create: %v", err)
	}
	res, _ = pollManually(t, c, p)
	if *res.ID != rtID+"/routes/extra" {
		t.Fatalf("new route id %s", *res.ID)
	}
}

func TestIfMatchWithAStaleETagIsRejectedWith412(t *testing.T) {
	e := start(t, armsim.Options{})
	seedTopology(t, e.srv)
	c := ctx(t)
	client := e.factory.NewRouteTablesClient()
	got, err := client.Get(c, rg, "rt-spoke", nil)
	if err != nil {
		t.Fatalf("get: %v", err)
	}
	// Someone else writes between our GET and PUT.
	e.srv.BeforeRequest(func(method, path string) {
		if method == http.MethodPut {
			b, _ := e.srv.Resource(rtID)
			if err := e.srv.Seed(rtID, b); err != nil {
				t.Errorf("seed in hook: %v", err)
			}
		}
	})
	withIfMatch := policy.WithHTTPHeader(c, http.Header{"If-Match": {*got.Etag}})
	_, err = client.BeginCreateOrUpdate(withIfMatch, rg, "rt-spoke", got.RouteTable, nil)
	wantARMError(t, err, http.StatusPreconditionFailed, "PreconditionFailed")

	e.srv.BeforeRequest(nil)
	fresh, err := client.Get(c, rg, "rt-spoke", nil)
	if err != nil {
		t.Fatalf("get: %v", err)
	}
	withIfMatch = policy.WithHTTPHeader(c, http.Header{"If-Match": {*fresh.Etag}})
	p, err := client.BeginCreateOrUpdate(withIfMatch, rg, "rt-spoke", fresh.RouteTable, nil)
	if err != nil {
		t.Fatalf("PUT with the current etag: %v", err)
	}
	pollManually(t, c, p)

	// If-None-Match: * on an existing resource.
	withINM := policy.WithHTTPHeader(c, http.Header{"If-None-Match": {"*"}})
	_, err = client.BeginCreateOrUpdate(withINM, rg, "rt-spoke", fresh.RouteTable, nil)
	wantARMError(t, err, http.StatusPreconditionFailed, "PreconditionFailed")
}

func TestASecondWriteWhileTheFirstRunsGets409(t *testing.T) {
	e := start(t, armsim.Options{LROLatency: time.Hour})
	seedTopology(t, e.srv)
	c := ctx(t)
	client := e.factory.NewRouteTablesClient()
	got, err := client.Get(c, rg, "rt-spoke", nil)
	if err != nil {
		t.Fatalf("get: %v", err)
	}
	if _, err := client.BeginCreateOrUpdate(c, rg, "rt-spoke", got.RouteTable, nil); err != nil {
		t.Fatalf("first PUT: %v", err)
	}
	_, err = client.BeginCreateOrUpdate(c, rg, "rt-spoke", got.RouteTable, nil)
	wantARMError(t, err, http.StatusConflict, "AnotherOperationInProgress")
	_, err = e.factory.NewRoutesClient().BeginCreateOrUpdate(c, rg, "rt-spoke", "default", *got.Properties.Routes[0], nil)
	wantARMError(t, err, http.StatusConflict, "AnotherOperationInProgress")
	_, err = client.UpdateTags(c, rg, "rt-spoke", armnetwork.TagsObject{Tags: map[string]*string{"a": to("b")}}, nil)
	wantARMError(t, err, http.StatusConflict, "AnotherOperationInProgress")
}

func TestRequestsWithoutAPIVersionOrTokenAreRejected(t *testing.T) {
	e := start(t, armsim.Options{Token: "secret"})
	seedTopology(t, e.srv)
	tests := []struct {
		name       string
		query      string
		authz      string
		wantStatus int
		wantCode   string
	}{
		{"no api-version is 400 MissingApiVersionParameter", "", "Bearer secret", 400, "MissingApiVersionParameter"},
		{"no Authorization is 401 AuthenticationFailed", "?api-version=2025-01-01", "", 401, "AuthenticationFailed"},
		{"a wrong token is 401", "?api-version=2025-01-01", "Bearer other", 401, "InvalidAuthenticationToken"},
		{"an unknown resource is 404 ResourceNotFound", "?api-version=2025-01-01", "Bearer secret", 404, "ResourceNotFound"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := rtID
			if tt.wantStatus == 404 {
				path = netPath + "/routeTables/nope"
			}
			h := http.Header{}
			if tt.authz != "" {
				h.Set("Authorization", tt.authz)
			}
			resp := rawRequest(t, e.srv, http.MethodGet, path+tt.query, h, "")
			body := decodeBody(t, resp)
			code := body["error"].(map[string]any)["code"]
			if resp.StatusCode != tt.wantStatus || code != tt.wantCode {
				t.Fatalf("got %d %v, want %d %s", resp.StatusCode, code, tt.wantStatus, tt.wantCode)
			}
		})
	}
}

func TestPathsAreCaseInsensitiveButEchoTheStoredCasing(t *testing.T) {
	e := start(t, armsim.Options{})
	seedTopology(t, e.srv)
	resp := rawRequest(t, e.srv, http.MethodGet, strings.ToLower(rtID)+"?api-version=2025-01-01",
		http.Header{"Authorization": {"Bearer x"}}, "")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d", resp.StatusCode)
	}
	if id := decodeBody(t, resp)["id"]; id != rtID {
		t.Fatalf("id %v, want stored casing %s", id, rtID)
	}
}
