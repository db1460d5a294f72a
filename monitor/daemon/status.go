package daemon

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/hanva/hanva/monitor/internal/act"
)

// Status is what the daemon serves on /status and what `nva-monitor status`
// shows: the active NVA, each NVA's health, the managed resources as last
// read from Azure, and the last failover with its timeline.
type Status struct {
	Instance     string                `json:"instance"`
	Version      string                `json:"version"`
	Active       string                `json:"active"`
	Leader       bool                  `json:"leader"`
	Epoch        int64                 `json:"epoch"`
	AllDown      bool                  `json:"allDown"`
	Discovered   bool                  `json:"discovered"`
	NotReady     string                `json:"notReady,omitempty"`
	ProbeRounds  uint64                `json:"probeRounds"`
	NVAs         map[string]*NVAStatus `json:"nvas"`
	Resources    []ResourceStatus      `json:"resources,omitempty"`
	ObservedAt   time.Time             `json:"observedAt,omitzero"`
	LastFailover *FailoverRecord       `json:"lastFailover,omitempty"`
}

// NVAStatus is one NVA's probe health.
type NVAStatus struct {
	Health               string    `json:"health"`
	ConsecutiveFailures  int       `json:"consecutiveFailures"`
	ConsecutiveSuccesses int       `json:"consecutiveSuccesses"`
	LastProbeOK          bool      `json:"lastProbeOk"`
	LastFailure          string    `json:"lastFailure,omitempty"`
	LastLatency          string    `json:"lastLatency,omitempty"`
	LastProbeAt          time.Time `json:"lastProbeAt,omitzero"`
}

// ResourceStatus is where one managed resource points.
type ResourceStatus struct {
	// Kind is routeTable, publicIp, floatingIp, backendPool or dnsRecord.
	Kind string `json:"kind"`
	// ID is the ARM resource ID; for a floating IP, its address.
	ID       string   `json:"id"`
	Via      string   `json:"via"`
	PointsAt []string `json:"pointsAt"`
	Mixed    bool     `json:"mixed,omitempty"`
	// Unmatched are the routes no failover to some NVA can move: their next
	// hop has no counterpart on that NVA's NIC (act.Unmatched).
	Unmatched []string `json:"unmatched,omitempty"`
	// Err is why it could not be read at the last observation.
	Err string `json:"err,omitempty"`
}

// FailoverRecord is the last failover (or repair) and its timeline.
type FailoverRecord struct {
	From      string   `json:"from,omitempty"`
	To        string   `json:"to"`
	Reason    string   `json:"reason"`
	RequestID string   `json:"requestId,omitempty"`
	Error     string   `json:"error,omitempty"`
	Timeline  Timeline `json:"timeline"`
}

// Timeline is when each step of a failover happened.
type Timeline struct {
	FirstFailedProbe    time.Time      `json:"firstFailedProbe,omitzero"`
	Decision            time.Time      `json:"decision"`
	DetectionToDecision string         `json:"detectionToDecision,omitempty"`
	Resources           []ResourceTime `json:"resources,omitempty"`
	Completed           time.Time      `json:"completed,omitzero"`
	Total               string         `json:"total,omitempty"`
}

// ResourceTime is when one resource converged, counted from the decision.
type ResourceTime struct {
	Kind     string `json:"kind"`
	ID       string `json:"id"`
	Changed  bool   `json:"changed"`
	Attempts int    `json:"attempts"`
	After    string `json:"after"`
	Err      string `json:"err,omitempty"`
}

func (s Status) clone() Status {
	c := s
	c.NVAs = make(map[string]*NVAStatus, len(s.NVAs))
	for k, v := range s.NVAs {
		vv := *v
		c.NVAs[k] = &vv
	}
	c.Resources = append([]ResourceStatus(nil), s.Resources...)
	if s.LastFailover != nil {
		lf := *s.LastFailover
		lf.Timeline.Resources = append([]ResourceTime(nil), s.LastFailover.Timeline.Resources...)
		c.LastFailover = &lf
	}
	return c
}

// ResourcesOf lists where each managed resource points.
func ResourcesOf(obs *act.Observed) []ResourceStatus { return resourcesOf(obs) }

func resourcesOf(obs *act.Observed) []ResourceStatus {
	var out []ResourceStatus
	for i, m := range obs.Managed() { // route tables first, in the order of obs.RouteTables
		pa := append([]string(nil), m.PointsAt...)
		sort.Strings(pa)
		r := ResourceStatus{Kind: m.Kind, ID: m.ID, Via: m.Via, PointsAt: pa}
		if m.Kind == act.KindRouteTable {
			rt := obs.RouteTables[i]
			r.Mixed = rt.Mixed
			for _, u := range rt.Unmatched {
				r.Unmatched = append(r.Unmatched, fmt.Sprintf("route %q (%s) next hop %s on %s: a failover to %s leaves it alone: %s",
					u.Route, u.AddressPrefix, u.NextHop, u.From, u.To, u.Reason))
			}
		}
		if m.Err != nil {
			r.Err = m.Err.Error()
		}
		out = append(out, r)
	}
	return out
}

func describeObserved(obs *act.Observed) string {
	var parts []string
	for _, r := range resourcesOf(obs) {
		at := "nothing"
		if len(r.PointsAt) > 0 {
			at = strings.Join(r.PointsAt, "+")
		}
		parts = append(parts, fmt.Sprintf("%s -> %s", shortID(r.ID), at))
	}
	return strings.Join(parts, ", ")
}

// shortID is the last segment of a resource ID.
func shortID(id string) string {
	if i := strings.LastIndex(id, "/"); i >= 0 {
		return id[i+1:]
	}
	return id
}
