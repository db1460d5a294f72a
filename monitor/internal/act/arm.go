package act

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/network/armnetwork/v7"

	"github.com/hanva/hanva/monitor/internal/azure"
)

// The ARM calls of the engine. Each waits for the throttling gate of its
// kind, returns errors classified by azure.Classify and wrapped as
// "verb object: ...", and every write runs Options.BeforeWrite first, is
// fenced by and stamped with the epoch (fence.go), sends If-Match with the
// ETag it was built from, and polls its LRO to the end.

func (e *Engine) getRouteTable(ctx context.Context, r resource) (armnetwork.RouteTable, error) {
	if err := e.gate.wait(ctx, kindRead); err != nil {
		return armnetwork.RouteTable{}, err
	}
	resp, err := e.client(r).NewRouteTablesClient().Get(ctx, r.group, r.name, nil)
	if err != nil {
		return armnetwork.RouteTable{}, azure.Classify(fmt.Errorf("get route table %q: %w", r.name, err))
	}
	return resp.RouteTable, nil
}

func (e *Engine) getNIC(ctx context.Context, r resource) (armnetwork.Interface, error) {
	if err := e.gate.wait(ctx, kindRead); err != nil {
		return armnetwork.Interface{}, err
	}
	resp, err := e.client(r).NewInterfacesClient().Get(ctx, r.group, r.name, nil)
	if err != nil {
		return armnetwork.Interface{}, azure.Classify(fmt.Errorf("get nic %q: %w", r.name, err))
	}
	return resp.Interface, nil
}

func (e *Engine) getPublicIP(ctx context.Context, r resource) (armnetwork.PublicIPAddress, error) {
	if err := e.gate.wait(ctx, kindRead); err != nil {
		return armnetwork.PublicIPAddress{}, err
	}
	resp, err := e.client(r).NewPublicIPAddressesClient().Get(ctx, r.group, r.name, nil)
	if err != nil {
		return armnetwork.PublicIPAddress{}, azure.Classify(fmt.Errorf("get public IP %q: %w", r.name, err))
	}
	return resp.PublicIPAddress, nil
}

// beforeWrite waits for the write gate, then asks Options.BeforeWrite.
func (e *Engine) beforeWrite(ctx context.Context) error {
	if err := e.gate.wait(ctx, kindWrite); err != nil {
		return err
	}
	if e.opts.BeforeWrite == nil {
		return nil
	}
	if err := e.opts.BeforeWrite(ctx); err != nil {
		return permanent(fmt.Errorf("%w: %w", errRefused, err))
	}
	return nil
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
	if err := e.beforeWrite(ctx); err != nil {
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
	if err := await(ctx, e, p); err != nil {
		return true, fmt.Errorf("update route table %q: %w", r.name, err)
	}
	return true, nil
}

// putNIC writes nic (as read, with its change, stamped with our epoch
// unless fenced) and waits for the operation.
// accepted is true once ARM took the write.
func (e *Engine) putNIC(ctx context.Context, r resource, nic armnetwork.Interface) (accepted bool, err error) {
	if err := e.beforeWrite(ctx); err != nil {
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
	if err := await(ctx, e, p); err != nil {
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

// await polls p every PollInterval until it is done. It does not use
// PollUntilDone, which first sleeps the PUT's Retry-After (10 s on Azure)
// and then every later Retry-After: a route table that is done in 2 s would
// be seen done after 10 s. It skips Result's final GET when the status
// poll already said Succeeded: the engine re-reads anyway when it needs to.
func await[T any](ctx context.Context, e *Engine, p *runtime.Poller[T]) error {
	polled := false
	for !p.Done() {
		if polled {
			if err := sleep(ctx, e.opts.PollInterval); err != nil {
				return err
			}
		}
		if err := e.gate.wait(ctx, kindRead); err != nil {
			return err
		}
		resp, err := p.Poll(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return &pollError{azure.Classify(err)}
		}
		polled = true
		if p.Done() && statusSucceeded(resp) {
			return nil
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
