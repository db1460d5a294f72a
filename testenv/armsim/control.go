package armsim

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"
)

const controlPrefix = "/_armsim/"

// SeedFile is the JSON of POST /_armsim/seed and of the command's --seed file.
type SeedFile struct {
	Resources []SeedResource `json:"resources"`
}

// SeedResource is one resource to seed: its ID and its ARM JSON.
type SeedResource struct {
	ID   string          `json:"id"`
	Body json.RawMessage `json:"body"`
}

// SeedAll seeds every resource of f in order.
func (s *Sim) SeedAll(f SeedFile) error {
	for _, r := range f.Resources {
		if err := s.Seed(r.ID, r.Body); err != nil {
			return err
		}
	}
	return nil
}

func (f Fault) MarshalJSON() ([]byte, error) {
	type plain Fault
	w := struct {
		plain
		RetryAfter string `json:"retryAfter,omitempty"`
	}{plain: plain(f)}
	if f.RetryAfter > 0 {
		w.RetryAfter = f.RetryAfter.String()
	}
	return json.Marshal(w)
}

func (f *Fault) UnmarshalJSON(b []byte) error {
	type plain Fault
	var w struct {
		plain
		RetryAfter string `json:"retryAfter,omitempty"`
	}
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	*f = Fault(w.plain)
	if w.RetryAfter != "" {
		d, err := time.ParseDuration(w.RetryAfter)
		if err != nil {
			return fmt.Errorf("parse retryAfter %q: %w", w.RetryAfter, err)
		}
		f.RetryAfter = d
	}
	return nil
}

// serveControl answers the control API (no authentication):
//
//	POST /_armsim/seed        {"resources":[{"id":"...","body":{...}}]}
//	POST /_armsim/latency     {"resourceType":"","latency":"2s"}
//	POST /_armsim/faults      Fault as JSON ({"method":"PUT","status":500,"retryAfter":"3s","count":1,...})
//	DELETE /_armsim/faults    remove all faults
//	POST /_armsim/throttle    {"perSecond":1,"burst":2}
//	POST /_armsim/throttling  Throttling as JSON ({"enabled":true}; {"enabled":false} turns it off)
//	GET  /_armsim/throttling  -> {"enabled":...,"throttling":{...},"buckets":[BucketLevel...]}
//	POST /_armsim/permissions {"resourceId":"...","actions":["*"],"notActions":[]}
//	GET  /_armsim/events?since=N -> {"events":[...]}
//	GET  /_armsim/requests    -> {"requests":[...]}
//	GET  /_armsim/resource?id=... -> the resource JSON
func (s *Sim) serveControl(w http.ResponseWriter, r *http.Request) {
	route := r.Method + " " + r.URL.Path[len(controlPrefix)-1:]
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody))
	if err != nil {
		controlError(w, http.StatusBadRequest, fmt.Errorf("read body: %w", err))
		return
	}
	decode := func(v any) bool {
		if err := json.Unmarshal(body, v); err != nil {
			controlError(w, http.StatusBadRequest, fmt.Errorf("decode %s body: %w", r.URL.Path, err))
			return false
		}
		return true
	}
	switch route {
	case "POST /seed":
		var f SeedFile
		if !decode(&f) {
			return
		}
		if err := s.SeedAll(f); err != nil {
			controlError(w, http.StatusBadRequest, err)
			return
		}
		controlJSON(w, map[string]any{"seeded": len(f.Resources)})
	case "POST /latency":
		var req struct {
			ResourceType string `json:"resourceType"`
			Latency      string `json:"latency"`
		}
		if !decode(&req) {
			return
		}
		d, err := time.ParseDuration(req.Latency)
		if err != nil {
			controlError(w, http.StatusBadRequest, fmt.Errorf("parse latency %q: %w", req.Latency, err))
			return
		}
		s.SetLatency(req.ResourceType, d)
		controlJSON(w, map[string]any{})
	case "POST /faults":
		var f Fault
		if !decode(&f) {
			return
		}
		s.InjectFault(f)
		controlJSON(w, map[string]any{})
	case "DELETE /faults":
		s.ClearFaults()
		controlJSON(w, map[string]any{})
	case "POST /throttle":
		var req struct {
			PerSecond float64 `json:"perSecond"`
			Burst     int     `json:"burst"`
		}
		if !decode(&req) {
			return
		}
		s.SetWriteThrottle(req.PerSecond, req.Burst)
		controlJSON(w, map[string]any{})
	case "POST /throttling":
		var t Throttling
		if !decode(&t) {
			return
		}
		s.SetThrottling(t)
		controlJSON(w, map[string]any{})
	case "GET /throttling":
		t, on := s.Throttling()
		levels := s.ThrottleLevels()
		if levels == nil {
			levels = []BucketLevel{}
		}
		controlJSON(w, map[string]any{"enabled": on, "throttling": t, "buckets": levels})
	case "POST /permissions":
		var req struct {
			ResourceID string   `json:"resourceId"`
			Actions    []string `json:"actions"`
			NotActions []string `json:"notActions"`
		}
		if !decode(&req) {
			return
		}
		s.SetPermissions(req.ResourceID, req.Actions, req.NotActions)
		controlJSON(w, map[string]any{})
	case "GET /events":
		since := 0
		if v := r.URL.Query().Get("since"); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil {
				controlError(w, http.StatusBadRequest, fmt.Errorf("parse since %q: %w", v, err))
				return
			}
			since = n
		}
		ev := s.Events(since)
		if ev == nil {
			ev = []Event{}
		}
		controlJSON(w, map[string]any{"events": ev})
	case "GET /requests":
		controlJSON(w, map[string]any{"requests": s.Requests()})
	case "GET /resource":
		b, ok := s.Resource(r.URL.Query().Get("id"))
		if !ok {
			controlError(w, http.StatusNotFound, fmt.Errorf("resource %q not found", r.URL.Query().Get("id")))
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(b)
	default:
		controlError(w, http.StatusNotFound, fmt.Errorf("no control endpoint %s", route))
	}
}

func controlJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

func controlError(w http.ResponseWriter, status int, err error) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"error": err.Error()})
}
