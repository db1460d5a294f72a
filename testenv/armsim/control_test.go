package armsim_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/network/armnetwork/v7"

	"github.com/hanva/hanva/testenv/armsim"
)

func control(t *testing.T, s *armsim.Server, method, path, body string) map[string]any {
	t.Helper()
	resp := rawRequest(t, s, method, "/_armsim/"+path, nil, body)
	m := decodeBody(t, resp)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("%s /_armsim/%s: %d %v", method, path, resp.StatusCode, m)
	}
	return m
}

func TestTheControlAPIDrivesTheEmulatorOverHTTP(t *testing.T) {
	e := start(t, armsim.Options{})
	c := ctx(t)
	seedBody, _ := json.Marshal(map[string]any{"resources": []any{
		map[string]any{"id": rtID, "body": map[string]any{"location": "westeurope", "properties": map[string]any{"routes": []any{
			map[string]any{"name": "default", "properties": map[string]any{"addressPrefix": "0.0.0.0/0", "nextHopType": "VirtualAppliance", "nextHopIpAddress": "10.0.1.4"}},
		}}}},
	}})
	if got := control(t, e.srv, http.MethodPost, "seed", string(seedBody)); got["seeded"] != 1.0 {
		t.Fatalf("seed answer %v", got)
	}
	control(t, e.srv, http.MethodPost, "latency", `{"resourceType":"routeTables","latency":"50ms"}`)
	control(t, e.srv, http.MethodPost, "faults", `{"method":"PUT","pathContains":"rt-spoke","status":429,"code":"RetryableErrorDueToAnotherOperation","retryAfter":"3s","count":1}`)

	rts := e.factory.NewRouteTablesClient()
	got, err := rts.Get(c, rg, "rt-spoke", nil)
	if err != nil {
		t.Fatalf("get the table seeded over HTTP: %v", err)
	}
	_, err = rts.BeginCreateOrUpdate(c, rg, "rt-spoke", got.RouteTable, nil)
	re := wantARMError(t, err, http.StatusTooManyRequests, "RetryableErrorDueToAnotherOperation")
	if ra := re.RawResponse.Header.Get("Retry-After"); ra != "3" {
		t.Fatalf("Retry-After %q, want 3", ra)
	}
	start := time.Now()
	p, err := rts.BeginCreateOrUpdate(c, rg, "rt-spoke", got.RouteTable, nil)
	if err != nil {
		t.Fatalf("PUT after the fault was used up: %v", err)
	}
	pollManually(t, c, p)
	if time.Since(start) < 50*time.Millisecond {
		t.Fatal("the operation finished before the latency set over HTTP")
	}

	evs := control(t, e.srv, http.MethodGet, "events?since=1", "")["events"].([]any)
	if len(evs) != 2 {
		t.Fatalf("events since 1: %v", evs)
	}
	first := evs[0].(map[string]any)
	if first["seq"] != 2.0 || first["kind"] != "write_accepted" || first["resourceId"] != rtID {
		t.Fatalf("event JSON %v", first)
	}
	reqs := control(t, e.srv, http.MethodGet, "requests", "")["requests"].([]any)
	if len(reqs) < 4 {
		t.Fatalf("requests %v", reqs)
	}

	control(t, e.srv, http.MethodPost, "throttle", `{"perSecond":0.001,"burst":1}`)
	if _, err := rts.UpdateTags(c, rg, "rt-spoke", armnetwork.TagsObject{Tags: tagsOf("a")}, nil); err != nil {
		t.Fatalf("first write under the throttle: %v", err)
	}
	_, err = rts.UpdateTags(c, rg, "rt-spoke", armnetwork.TagsObject{Tags: tagsOf("b")}, nil)
	wantARMError(t, err, http.StatusTooManyRequests, "SubscriptionRequestsThrottled")

	control(t, e.srv, http.MethodPost, "permissions", `{"resourceId":"`+rtID+`","actions":["Microsoft.Network/*/read"]}`)
	resp := rawRequest(t, e.srv, http.MethodGet, rtID+"/providers/Microsoft.Authorization/permissions?api-version=2022-04-01", http.Header{"Authorization": {"Bearer x"}}, "")
	if b := decodeBody(t, resp); !strings.Contains(fmt.Sprint(b), "Microsoft.Network/*/read") {
		t.Fatalf("permissions %v", b)
	}

	resp = rawRequest(t, e.srv, http.MethodGet, "/_armsim/resource?id="+rtID, nil, "")
	if b := decodeBody(t, resp); b["id"] != rtID {
		t.Fatalf("resource over HTTP %v", b)
	}
	resp = rawRequest(t, e.srv, http.MethodPost, "/_armsim/faults", nil, `{"retryAfter":"soon"}`)
	if resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("a bad duration: %d, want 400", resp.StatusCode)
	}
}

func TestConcurrentClientsAreSafe(t *testing.T) {
	e := start(t, armsim.Options{LROLatency: 5 * time.Millisecond})
	c := ctx(t)
	const n = 8
	for i := 0; i < n; i++ {
		seed(t, e.srv, fmt.Sprintf("%s/routeTables/rt-%d", netPath, i), `{"location":"westeurope","properties":{"routes":[]}}`)
	}
	rts := e.factory.NewRouteTablesClient()
	var wg sync.WaitGroup
	stop := make(chan struct{})
	go func() {
		for {
			select {
			case <-stop:
				return
			default:
				_ = e.srv.Events(0)
				_ = e.srv.Requests()
			}
		}
	}()
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			name := fmt.Sprintf("rt-%d", i)
			for j := 0; j < 3; j++ {
				got, err := rts.Get(c, rg, name, nil)
				if err != nil {
					t.Errorf("get %s: %v", name, err)
					return
				}
				got.Tags = tagsOf(fmt.Sprint(j))
				p, err := rts.BeginCreateOrUpdate(c, rg, name, got.RouteTable, nil)
				if err != nil {
					t.Errorf("put %s: %v", name, err)
					return
				}
				for !p.Done() {
					if _, err := p.Poll(c); err != nil {
						t.Errorf("poll %s: %v", name, err)
						return
					}
				}
			}
		}(i)
	}
	wg.Wait()
	close(stop)
	if acc := eventsOf(e.srv, armsim.KindWriteAccepted); len(acc) != 3*n {
		t.Fatalf("%d accepted writes, want %d", len(acc), 3*n)
	}
	evs := e.srv.Events(0)
	for i := 1; i < len(evs); i++ {
		if evs[i].Seq != i+1 {
			t.Fatalf("event %d has Seq %d", i, evs[i].Seq)
		}
	}
}
