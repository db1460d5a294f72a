package armsim_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/fake"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/network/armnetwork/v7"

	"github.com/hanva/hanva/testenv/armsim"
)

const (
	sub      = "00000000-0000-0000-0000-000000000001"
	rg       = "rg-hub"
	rgID     = "/subscriptions/" + sub + "/resourceGroups/" + rg
	netPath  = rgID + "/providers/Microsoft.Network"
	rtID     = netPath + "/routeTables/rt-spoke"
	nicAID   = netPath + "/networkInterfaces/nva-a-nic"
	nicBID   = netPath + "/networkInterfaces/nva-b-nic"
	pipID    = netPath + "/publicIPAddresses/pip-1"
	vnetID   = netPath + "/virtualNetworks/vnet-hub"
	subnetID = vnetID + "/subnets/nva"
	appID    = "armsim-test"
)

// env is an emulator with armnetwork clients pointed at it.
type env struct {
	srv     *armsim.Server
	factory *armnetwork.ClientFactory
}

func start(t *testing.T, opts armsim.Options) *env {
	t.Helper()
	if opts.RetryAfter == 0 {
		opts.RetryAfter = -1 // no Retry-After: PollUntilDone uses its Frequency
	}
	srv, err := armsim.Start(opts)
	if err != nil {
		t.Fatalf("start emulator: %v", err)
	}
	t.Cleanup(srv.Close)
	f, err := armnetwork.NewClientFactory(sub, &fake.TokenCredential{}, clientOptions(srv))
	if err != nil {
		t.Fatalf("new client factory: %v", err)
	}
	return &env{srv: srv, factory: f}
}

// clientOptions points armnetwork at armsim: the Resource Manager endpoint
// and audience of a custom cloud.Configuration (azcore/cloud), armsim's own
// TLS client as the transport, and no retries.
func clientOptions(srv *armsim.Server) *arm.ClientOptions {
	return &arm.ClientOptions{ClientOptions: policy.ClientOptions{
		Cloud: cloud.Configuration{Services: map[cloud.ServiceName]cloud.ServiceConfiguration{
			cloud.ResourceManager: {Endpoint: srv.URL(), Audience: "https://management.core.windows.net/"},
		}},
		Transport: srv.Client(),
		Telemetry: policy.TelemetryOptions{ApplicationID: appID},
		Retry:     policy.RetryOptions{MaxRetries: -1}, // tests see every status
		// azcore does not send x-ms-client-request-id unless asked to.
		PerCallPolicies: []policy.Policy{runtime.NewRequestIDPolicy()},
	}}
}

func ctx(t *testing.T) context.Context {
	t.Helper()
	c, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return c
}

func seed(t *testing.T, s *armsim.Server, id, body string) {
	t.Helper()
	if err := s.Seed(id, []byte(body)); err != nil {
		t.Fatalf("seed %s: %v", id, err)
	}
}

func seedTopology(t *testing.T, s *armsim.Server) {
	t.Helper()
	seed(t, s, vnetID, `{"location":"westeurope","properties":{"addressSpace":{"addressPrefixes":["10.0.0.0/16"]},
		"subnets":[{"name":"nva","properties":{"addressPrefix":"10.0.1.0/24"}}]}}`)
	seed(t, s, rtID, `{"location":"westeurope","tags":{"owner":"hanva"},"properties":{"disableBgpRoutePropagation":true,
		"routes":[{"name":"default","properties":{"addressPrefix":"0.0.0.0/0","nextHopType":"VirtualAppliance","nextHopIpAddress":"10.0.1.4"}},
		          {"name":"onprem","properties":{"addressPrefix":"192.168.0.0/16","nextHopType":"VirtualNetworkGateway"}}]}}`)
	seed(t, s, pipID, `{"location":"westeurope","sku":{"name":"Standard","tier":"Regional"},
		"properties":{"ipAddress":"20.1.2.3","publicIPAllocationMethod":"Static","publicIPAddressVersion":"IPv4"}}`)
	seed(t, s, nicAID, `{"location":"westeurope","properties":{"enableIPForwarding":true,"enableAcceleratedNetworking":true,
		"dnsSettings":{"dnsServers":[]},"macAddress":"00-0D-3A-00-00-01",
		"ipConfigurations":[{"name":"ipconfig1","properties":{"privateIPAddress":"10.0.1.4","privateIPAllocationMethod":"Static",
			"subnet":{"id":"`+subnetID+`"},"publicIPAddress":{"id":"`+pipID+`"}}}]}}`)
	seed(t, s, nicBID, `{"location":"westeurope","properties":{"enableIPForwarding":true,
		"ipConfigurations":[{"name":"ipconfig1","properties":{"privateIPAddress":"10.0.1.5","privateIPAllocationMethod":"Static",
			"subnet":{"id":"`+subnetID+`"}}}]}}`)
}

// pollManually drives a poller with Poll, as the act engine does.
func pollManually[T any](t *testing.T, c context.Context, p *runtime.Poller[T]) (T, int) {
	t.Helper()
	polls := 0
	for !p.Done() {
		if _, err := p.Poll(c); err != nil {
			t.Fatalf("poll: %v", err)
		}
		polls++
		if !p.Done() {
			time.Sleep(5 * time.Millisecond)
		}
	}
	res, err := p.Result(c)
	if err != nil {
		t.Fatalf("poller result: %v", err)
	}
	return res, polls
}

func respErr(t *testing.T, err error) *azcore.ResponseError {
	t.Helper()
	var re *azcore.ResponseError
	if !errors.As(err, &re) {
		t.Fatalf("want an *azcore.ResponseError, got %v", err)
	}
	return re
}

func wantARMError(t *testing.T, err error, status int, code string) *azcore.ResponseError {
	t.Helper()
	if err == nil {
		t.Fatalf("want %d %s, got success", status, code)
	}
	re := respErr(t, err)
	if re.StatusCode != status || re.ErrorCode != code {
		t.Fatalf("want %d %s, got %d %s: %v", status, code, re.StatusCode, re.ErrorCode, err)
	}
	return re
}

func resourceJSON(t *testing.T, s *armsim.Server, id string) map[string]any {
	t.Helper()
	b, ok := s.Resource(id)
	if !ok {
		t.Fatalf("resource %s does not exist", id)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("decode %s: %v", id, err)
	}
	return m
}

func eventsOf(s *armsim.Server, kind string) []armsim.Event {
	var out []armsim.Event
	for _, e := range s.Events(0) {
		if kind == "" || e.Kind == kind {
			out = append(out, e)
		}
	}
	return out
}

// rawRequest sends one ARM request with the server's client.
func rawRequest(t *testing.T, s *armsim.Server, method, path string, header http.Header, body string) *http.Response {
	t.Helper()
	req, err := http.NewRequest(method, s.URL()+path, strings.NewReader(body))
	if err != nil {
		t.Fatalf("new request: %v", err)
	}
	for k, vs := range header {
		req.Header[k] = vs
	}
	resp, err := s.Client().Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	t.Cleanup(func() { _ = resp.Body.Close() })
	return resp
}

func decodeBody(t *testing.T, resp *http.Response) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&m); err != nil {
		t.Fatalf("decode response body: %v", err)
	}
	return m
}

func to[T any](v T) *T { return &v }

func tagsOf(v string) map[string]*string { return map[string]*string{"v": &v} }
