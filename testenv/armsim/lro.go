package armsim

import (
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"
)

const (
	statusInProgress = "InProgress"
	statusSucceeded  = "Succeeded"
	statusFailed     = "Failed"
	statusCanceled   = "Canceled"

	stateSucceeded = "Succeeded"
	stateUpdating  = "Updating"
	stateCreating  = "Creating"
	stateDeleting  = "Deleting"
	stateFailed    = "Failed"
)

// operation is one long-running operation (an accepted PUT or DELETE). It
// completes at done; completion is applied lazily by advance, before anything
// observes the state, so its effects and its event carry the exact time.
type operation struct {
	id       string
	sub      string
	location string
	key      string // lower-cased ID of the top-level resource
	start    time.Time
	done     time.Time
	status   string
	remove   bool  // a DELETE: the resource goes away on completion
	event    Event // template of the write_succeeded event

	// A POST action (action.go), which changes nothing: it is not the
	// resource's operation (writes to the resource go on), logs no event,
	// and computes its result on completion; the Location URL returns it.
	action string
	result any

	// An injected failure (Fault.OperationStatus): the operation ends with
	// final and the resource goes back to prev (nil: it did not exist).
	final   string
	errCode string
	errMsg  string
	prev    object
}

// advance completes every operation due at or before now, in completion order.
func (s *Sim) advance(now time.Time) {
	var due, rest []*operation
	for _, op := range s.pending {
		if !op.done.After(now) {
			due = append(due, op)
		} else {
			rest = append(rest, op)
		}
	}
	if len(due) == 0 {
		return
	}
	s.pending = rest
	sort.SliceStable(due, func(i, j int) bool { return due[i].done.Before(due[j].done) })
	for _, op := range due {
		s.complete(op)
	}
}

func (s *Sim) advanceNow() { s.advance(s.now()) }

func (s *Sim) complete(op *operation) {
	if op.action != "" {
		s.completeAction(op)
		return
	}
	if op.final != "" {
		s.fail(op)
		return
	}
	op.status = statusSucceeded
	if res := s.resources[op.key]; res != nil && res.op == op {
		res.op = nil
		if op.remove {
			delete(s.resources, op.key)
		} else {
			res.setState(stateSucceeded)
		}
	}
	ev := op.event
	ev.Time = op.done
	ev.Kind = KindWriteSucceeded
	ev.Status = http.StatusOK
	s.addEvent(ev)
}

// fail ends op with its injected status and puts the previous state back.
func (s *Sim) fail(op *operation) {
	op.status = op.final
	if res := s.resources[op.key]; res != nil && res.op == op {
		res.op = nil
		cur := res.body
		if op.prev == nil {
			delete(s.resources, op.key)
			if strings.EqualFold(res.typ, "networkInterfaces") {
				s.updateBackRefs(res.id, cur, nil)
			}
		} else {
			prev := copyObject(op.prev)
			state := stateSucceeded
			if op.final == statusFailed {
				state = stateFailed
			}
			ensure(prev, "properties")["provisioningState"] = state
			if strings.EqualFold(res.typ, "networkInterfaces") && op.remove {
				cur = nil // the DELETE already dropped the back-references
			}
			res.body = prev
			res.body["etag"] = newETag()
			res.normalize()
			if strings.EqualFold(res.typ, "networkInterfaces") {
				s.updateBackRefs(res.id, cur, res.body)
			}
		}
	}
	ev := op.event
	ev.Time = op.done
	ev.Kind = KindWriteFailed
	ev.Status = http.StatusOK
	ev.Code = op.errCode
	s.addEvent(ev)
}

// startOperation registers a running operation on res and returns it. The
// caller has already put the new state in place; prev is the state before
// (nil if the resource is new), restored if an injected fault fails the operation.
func (s *Sim) startOperation(rc *reqCtx, res *resource, prev object, remove bool, ev Event) *operation {
	loc := strings.ToLower(strings.ReplaceAll(str(res.body, "location"), " ", ""))
	if loc == "" {
		loc = "global"
	}
	p, _ := parsePath(res.id)
	op := &operation{
		id:       rc.requestID,
		sub:      p.sub,
		location: loc,
		key:      keyOf(res.id),
		start:    rc.now,
		done:     rc.now.Add(s.latencyFor(res.typ)),
		status:   statusInProgress,
		remove:   remove,
		event:    ev,
	}
	if f := s.matchFault(rc, stageOperation); f != nil {
		op.final, op.errCode, op.errMsg, op.prev = statusFailed, f.Code, f.Message, copyObject(prev)
		if strings.EqualFold(f.OperationStatus, statusCanceled) {
			op.final = statusCanceled
		}
		if op.errCode == "" {
			op.errCode = "InternalServerError"
			if op.final == statusCanceled {
				op.errCode = "Canceled"
			}
		}
		if op.errMsg == "" {
			op.errMsg = "Injected failure of the operation."
			if op.final == statusCanceled {
				op.errMsg = "Operation was canceled."
			}
		}
	}
	res.op = op
	s.ops[strings.ToLower(op.id)] = op
	s.pending = append(s.pending, op)
	return op
}

// operationURL is the absolute Azure-AsyncOperation (or, with results=true,
// Location) URL of op.
func (s *Sim) operationURL(rc *reqCtx, op *operation, results bool) string {
	kind := "operations"
	if results {
		kind = "operationResults"
	}
	return rc.baseURL + "/subscriptions/" + op.sub + "/providers/Microsoft.Network/locations/" +
		op.location + "/" + kind + "/" + op.id + "?api-version=" + rc.apiVersion
}

// lroHeaders sets the headers NRP sends on an accepted PUT/DELETE
// (docs/azure-behaviour.md#arm-lro: Azure-AsyncOperation absolute URL,
// Retry-After).
func (s *Sim) lroHeaders(rc *reqCtx, resp *response, op *operation, location bool) {
	resp.setHeader("Azure-AsyncOperation", s.operationURL(rc, op, false))
	resp.setHeader("Azure-Asyncnotification", "Enabled")
	if location {
		resp.setHeader("Location", s.operationURL(rc, op, true))
	}
	s.retryAfter(resp)
}

func (s *Sim) retryAfter(resp *response) {
	if s.opts.RetryAfter > 0 {
		resp.setHeader("Retry-After", strconv.Itoa(s.opts.RetryAfter))
	}
}

func formatTime(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

// getOperation answers the Azure-AsyncOperation URL (200 with a status body) and
// the Location URL (202 while running, then 204 for a DELETE or 200 with the resource).
func (s *Sim) getOperation(rc *reqCtx, p armPath) response {
	op := s.ops[strings.ToLower(p.opID)]
	if op == nil || !strings.EqualFold(op.sub, p.sub) {
		return armError(http.StatusNotFound, "OperationNotFound",
			"The operation '"+p.opID+"' could not be found.")
	}
	if p.kind == pathOperationResult {
		if op.status == statusInProgress {
			resp := response{status: http.StatusAccepted}
			resp.setHeader("Location", s.operationURL(rc, op, true))
			s.retryAfter(&resp)
			return resp
		}
		if op.final != "" {
			return armError(http.StatusOK, op.errCode, op.errMsg)
		}
		if op.action != "" {
			return jsonResponse(http.StatusOK, op.result)
		}
		if res := s.resources[op.key]; res != nil && !op.remove {
			return jsonResponse(http.StatusOK, res.body)
		}
		return response{status: http.StatusNoContent}
	}
	body := map[string]any{
		"id":        "/subscriptions/" + op.sub + "/providers/Microsoft.Network/locations/" + op.location + "/operations/" + op.id,
		"name":      op.id,
		"status":    op.status,
		"startTime": formatTime(op.start),
	}
	resp := response{status: http.StatusOK}
	if op.status == statusInProgress {
		s.retryAfter(&resp)
	} else {
		body["endTime"] = formatTime(op.done)
	}
	if op.status == statusFailed || op.status == statusCanceled {
		e := map[string]any{"code": op.errCode, "message": op.errMsg}
		if op.status == statusCanceled && op.errCode == "Canceled" {
			// Observed NRP body, docs/azure-behaviour.md#arm-conflicts.
			e["details"] = []any{map[string]any{
				"code":    "CanceledAndSupersededDueToAnotherOperation",
				"message": "Operation " + op.id + " was canceled and superseded by another operation.",
			}}
		}
		body["error"] = e
	}
	resp.body = mustJSON(body)
	return resp
}
