package act

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/network/armnetwork/v7"

	"github.com/hanva/hanva/monitor/internal/azure"
)

// The ARM calls of the engine. Each takes a token of its kind from its
// subscription's limiter (in the shaper policy, subscription.go), returns errors classified by azure.Classify and wrapped as
// "verb object: ...", and every write runs Options.BeforeWrite first, is
// fenced by and stamped with the epoch (fence.go), sends If-Match with the
// ETag it was built from, and polls its LRO to the end.

func (e *Engine) getRouteTable(ctx context.Context, r resource) (armnetwork.RouteTable, error) {
	resp, err := e.client(r).NewRouteTablesClient().Get(ctx, r.group, r.name, nil)
	if err != nil {
		return armnetwork.RouteTable{}, azure.Classify(fmt.Errorf("get route table %q: %w", r.name, err))
	}
	return resp.RouteTable, nil
}

// The raw client (subscription.raw) identifies itself as armnetwork, whose
// route table API version readRouteTable uses: to ARM it is the same
// client as the engine's other route table requests.
const (
	rawClientModule  = "armnetwork"
	rawClientVersion = "v7.2.0"
	// routeTableAPIVersion is the api-version armnetwork v7.2.0 sends for
	// route tables (RouteTablesClient.Get and CreateOrUpdate).
	routeTableAPIVersion = "2025-01-01"
)

// routeTableWire is the part of a route table Observe uses, decoded from
// ARM's JSON without the SDK's models: their decoding (a map of raw
// messages per object) was most of what an Observe of 500 tables
// allocated.
type routeTableWire struct {
	Tags       map[string]*string `json:"tags"`
	Properties struct {
		ProvisioningState *string `json:"provisioningState"`
		Routes            []struct {
			Name       string `json:"name"`
			Properties *struct {
				AddressPrefix    string `json:"addressPrefix"`
				NextHopType      string `json:"nextHopType"`
				NextHopIPAddress string `json:"nextHopIpAddress"`
			} `json:"properties"`
		} `json:"routes"`
	} `json:"properties"`
}

// model is w as the SDK's model, with only the fields w has: enough for
// routeChanges, the epoch and provisioningState, not for a write (decode
// the body for that).
func (w *routeTableWire) model() armnetwork.RouteTable {
	rt := armnetwork.RouteTable{Tags: w.Tags, Properties: &armnetwork.RouteTablePropertiesFormat{
		ProvisioningState: (*armnetwork.ProvisioningState)(w.Properties.ProvisioningState)}}
	for _, r := range w.Properties.Routes {
		if r.Properties == nil {
			continue
		}
		p := r.Properties
		rt.Properties.Routes = append(rt.Properties.Routes, &armnetwork.Route{Name: &r.Name, Properties: &armnetwork.RoutePropertiesFormat{
			AddressPrefix: &p.AddressPrefix, NextHopType: (*armnetwork.RouteNextHopType)(&p.NextHopType), NextHopIPAddress: &p.NextHopIPAddress}})
	}
	return rt
}

// readRouteTable GETs a route table as ARM sends it (compacted) and decodes
// what Observe needs. The body is what the table cache keeps.
func (e *Engine) readRouteTable(ctx context.Context, r resource) (routeTableWire, []byte, error) {
	var w routeTableWire
	s, err := e.sub(r.sub)
	if err != nil {
		return w, nil, err
	}
	path := "/subscriptions/" + url.PathEscape(r.sub) + "/resourceGroups/" + url.PathEscape(r.group) +
		"/providers/Microsoft.Network/routeTables/" + url.PathEscape(r.name)
	req, err := runtime.NewRequest(ctx, http.MethodGet, runtime.JoinPaths(s.raw.Endpoint(), path))
	if err != nil {
		return w, nil, fmt.Errorf("get route table %q: %w", r.name, err)
	}
	req.Raw().URL.RawQuery = "api-version=" + routeTableAPIVersion
	req.Raw().Header["Accept"] = []string{"application/json"}
	resp, err := s.raw.Pipeline().Do(req)
	if err == nil && !runtime.HasStatusCode(resp, http.StatusOK) {
		err = runtime.NewResponseError(resp)
	}
	if err != nil {
		return w, nil, azure.Classify(fmt.Errorf("get route table %q: %w", r.name, err))
	}
	body, err := runtime.Payload(resp)
	if err != nil {
		return w, nil, azure.Classify(fmt.Errorf("get route table %q: %w", r.name, err))
	}
	var buf bytes.Buffer
	buf.Grow(len(body))
	if err := json.Compact(&buf, body); err != nil {
		return w, nil, fmt.Errorf("get route table %q: decode: %w", r.name, err)
	}
	if err := json.Unmarshal(buf.Bytes(), &w); err != nil {
		return w, nil, fmt.Errorf("get route table %q: decode: %w", r.name, err)
	}
	return w, bytes.Clone(buf.Bytes()), nil
}

func (e *Engine) getNIC(ctx context.Context, r resource) (armnetwork.Interface, error) {
	resp, err := e.client(r).NewInterfacesClient().Get(withPrio(ctx, prioFirst), r.group, r.name, nil)
	if err != nil {
		return armnetwork.Interface{}, azure.Classify(fmt.Errorf("get nic %q: %w", r.name, err))
	}
	return resp.Interface, nil
}

func (e *Engine) getPublicIP(ctx context.Context, r resource) (armnetwork.PublicIPAddress, error) {
	resp, err := e.client(r).NewPublicIPAddressesClient().Get(withPrio(ctx, prioFirst), r.group, r.name, nil)
	if err != nil {
		return armnetwork.PublicIPAddress{}, azure.Classify(fmt.Errorf("get public IP %q: %w", r.name, err))
	}
	return resp.PublicIPAddress, nil
}

// beforeWrite takes the write's token from the limiter of r's
// subscription, then asks Options.BeforeWrite, so that no wait for the
// budget comes between the lease check and the write. The returned context
// carries the token: send the write with it.
func (e *Engine) beforeWrite(ctx context.Context, r resource) (context.Context, error) {
	ctx, err := e.prepay(ctx, r, kindWrite)
	if err != nil {
		return ctx, err
	}
	if e.opts.BeforeWrite == nil {
		return ctx, nil
	}
	if err := e.opts.BeforeWrite(ctx); err != nil {
		return ctx, permanent(fmt.Errorf("%w: %w", errRefused, err))
	}
	return ctx, nil
}

// ifMatch returns ctx carrying If-Match: etag for the Begin call only (the
// LRO polls must not carry it, docs/azure-behaviour.md#arm-lro).
func ifMatch(ctx context.Context, etag *string) context.Context {
	if etag == nil || *etag == "" {
		return ctx
	}
	return policy.WithHTTPHeader(ctx, http.Header{"If-Match": {*etag}})
}

// putRouteTable writes rt (as read, with its changes, stamped with our
// epoch unless fenced) and waits for the operation. accepted is true once ARM took the write.
func (e *Engine) putRouteTable(ctx context.Context, r resource, rt armnetwork.RouteTable) (accepted bool, err error) {
	e.tables.forget(r)
	if ctx, err = e.beforeWrite(ctx, r); err != nil {
		return false, fmt.Errorf("update route table %q: %w", r.name, err)
	}
	if rt.Tags, err = e.stamp(r, rt.Tags); err != nil {
		return false, fmt.Errorf("update route table %q: %w", r.name, err)
	}
	etag := rt.Etag
	clearRouteTableReadOnly(&rt)
	p, err := e.client(r).NewRouteTablesClient().BeginCreateOrUpdate(ifMatch(ctx, etag), r.group, r.name, rt, nil)
	if err != nil {
		return false, azure.Classify(fmt.Errorf("update route table %q: %w", r.name, err))
	}
	if err := await(ctx, e, r, p); err != nil {
		return true, fmt.Errorf("update route table %q: %w", r.name, err)
	}
	return true, nil
}

// putNIC writes nic (as read, with its change, stamped with our epoch
// unless fenced) and waits for the operation.
// accepted is true once ARM took the write.
func (e *Engine) putNIC(ctx context.Context, r resource, nic armnetwork.Interface) (accepted bool, err error) {
	if ctx, err = e.beforeWrite(withPrio(ctx, prioFirst), r); err != nil {
		return false, fmt.Errorf("update nic %q: %w", r.name, err)
	}
	if nic.Tags, err = e.stamp(r, nic.Tags); err != nil {
		return false, fmt.Errorf("update nic %q: %w", r.name, err)
	}
	etag := nic.Etag
	clearNICReadOnly(&nic)
	p, err := e.client(r).NewInterfacesClient().BeginCreateOrUpdate(ifMatch(ctx, etag), r.group, r.name, nic, nil)
	if err != nil {
		return false, azure.Classify(fmt.Errorf("update nic %q: %w", r.name, err))
	}
	if err := await(ctx, e, r, p); err != nil {
		return true, fmt.Errorf("update nic %q: %w", r.name, err)
	}
	return true, nil
}

// clearRouteTableReadOnly drops what a PUT must not carry: the ETag (sent as
// If-Match instead) and provisioningState, which an RP may reject when it
// differs from its own (docs/azure-behaviour.md#arm-put). Everything else
// goes back as read.
func clearRouteTableReadOnly(rt *armnetwork.RouteTable) {
	rt.Etag = nil
	if rt.Properties == nil {
		return
	}
	rt.Properties.ProvisioningState = nil
	for _, route := range rt.Properties.Routes {
		if route != nil {
			route.Etag = nil
			if route.Properties != nil {
				route.Properties.ProvisioningState = nil
			}
		}
	}
}

func clearNICReadOnly(nic *armnetwork.Interface) {
	nic.Etag = nil
	if nic.Properties == nil {
		return
	}
	nic.Properties.ProvisioningState = nil
	for _, ipc := range nic.Properties.IPConfigurations {
		if ipc != nil {
			ipc.Etag = nil
			if ipc.Properties != nil {
				ipc.Properties.ProvisioningState = nil
			}
		}
	}
}

// operationError is an LRO that ended Failed or Canceled (e.g. Canceled with
// CanceledAndSupersededDueToAnotherOperation,
// docs/azure-behaviour.md#arm-conflicts). The write
// did not take: re-read and retry.
type operationError struct{ err error }

func (o *operationError) Error() string { return "operation failed: " + o.err.Error() }
func (o *operationError) Unwrap() error { return o.err }

// pollError is a failure to read an operation's status, which says nothing
// about the operation itself (docs/azure-behaviour.md#arm-lro): re-read the
// resource.
type pollError struct{ err error }

func (p *pollError) Error() string { return "poll operation status: " + p.err.Error() }
func (p *pollError) Unwrap() error { return p.err }

// await polls p until it is done: first when the operation may be done
// (after the subscription's lroEstimate, and at least PollInterval after
// the write was answered), then every PollInterval, or less often when so
// many operations of the subscription are in flight that polling each every
// PollInterval would take more than the read refill: from the third poll
// on, every n / (reads per second) for n in flight (not the scout, whose
// answer the others wait for). Each poll is a read at prioPoll: it waits
// behind every other read of the subscription, never starving them. It
// does not use PollUntilDone, which first sleeps the PUT's Retry-After (10
// s on Azure) and then every later Retry-After: a route table that is done
// in 2 s would be seen done after 10 s. It skips Result's final GET when
// the status poll already said Succeeded: the engine re-reads anyway when
// it needs to.
func await[T any](ctx context.Context, e *Engine, r resource, p *runtime.Poller[T]) error {
	s, err := e.sub(r.sub)
	if err != nil {
		return err
	}
	start := time.Now()
	s.lro.inflight.Add(1)
	defer s.lro.inflight.Add(-1)
	scout := false
	defer func() {
		if scout {
			s.lro.release()
		}
	}()
	first := e.opts.PollInterval
	var est time.Duration
	for {
		var sc bool
		var changed <-chan struct{}
		est, sc, changed = s.lro.plan()
		if changed == nil {
			scout = sc
			if est > 0 {
				// A margin for the answer's own time on the wire: the
				// estimate may be a few milliseconds short for this one.
				first = max(first, est+e.opts.PollInterval/10)
			}
			break
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	wait := first - time.Since(start)
	pctx := withPrio(ctx, prioPoll)
	polls := 0
	for !p.Done() {
		if err := sleep(ctx, wait); err != nil {
			return err
		}
		sent := time.Now()
		resp, err := p.Poll(pctx)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return &pollError{azure.Classify(err)}
		}
		if p.Done() {
			if polls == 0 && est > 0 {
				s.lro.add(est) // confirmed
			} else {
				s.lro.add(sent.Sub(start))
			}
			if statusSucceeded(resp) {
				return nil
			}
			break
		}
		polls++
		wait = e.opts.PollInterval
		if spread := time.Duration(float64(s.lro.inflight.Load()) / e.opts.ReadLimit.PerSecond * float64(time.Second)); !scout && polls > 1 && spread > wait {
			wait = spread
		}
	}
	if _, err := p.Result(ctx); err != nil {
		err = azure.Classify(err)
		var ae *azure.Error
		if errors.As(err, &ae) && ae.StatusCode < 300 {
			return &operationError{err}
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return &pollError{err}
	}
	return nil
}

// statusSucceeded reports whether resp is an operation status saying
// Succeeded.
func statusSucceeded(resp *http.Response) bool {
	if resp == nil {
		return false
	}
	body, err := runtime.Payload(resp)
	if err != nil {
		return false
	}
	var v struct {
		Status string `json:"status"`
	}
	return json.Unmarshal(body, &v) == nil && strings.EqualFold(v.Status, "Succeeded")
}
