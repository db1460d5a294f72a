package sim

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"time"
)

// The invariants (docs/cluster.md lists them):
//
//   S1 at most one monitor's ARM writes are accepted per epoch;
//   S2 no ARM write leaves a monitor after its lease deadline: the last
//      acquire or renew storage granted it plus the duration, by true time
//      (a freeze that stops the monitor's clock must not stretch it);
//   S3 no resource is converged to, and the shared state never records, an
//      NVA that every monitor able to probe it has seen down for longer than
//      detection takes, unless every NVA is down;
//   S4 nothing outside the managed properties of a managed resource changes;
//   L1 once faults heal: within the lease and a few probe intervals exactly
//      one monitor leads (and holds the lease), and within detection, the
//      anti-flap interval, a reconcile and a convergence more, every managed
//      resource is on one healthy NVA.

// onSend checks what a process sends as it leaves the process.
func (w *World) onSend(p *process, svc string, req *http.Request, body []byte) {
	switch {
	case svc == svcARM && isWrite(req.Method):
		id := armID(req.URL.Path)
		w.mu.Lock()
		expiry := w.leaseEnd[p]
		w.mu.Unlock()
		w.count("arm writes sent")
		w.count("checked S2 (lease deadline)")
		if !time.Now().Before(expiry) {
			w.violatef("S2: %s#%d sent %s %s after its lease ran out in storage (at %s: the last acquire or renew storage granted it, plus the duration)",
				p.m.name, p.gen, req.Method, short(id), fmtAt(w, expiry))
		}
		before, _ := w.arm.Resource(id)
		from, to := w.pointsAt(id, before), w.pointsAt(id, body)
		if to != "" && to != from {
			w.checkTarget(p, "converged "+short(id)+" to", to)
		}
	case svc == svcStorage && req.Method == http.MethodPut && isLeaderBlob(req) && req.URL.Query().Get("comp") == "":
		desired, ok := desiredOf(body)
		w.mu.Lock()
		last, lastAt, lastRecord := w.lastDesired, w.lastChange, w.lastRecord
		w.mu.Unlock()
		if ok && desired != "" && desired != last {
			rec := failoverRecord(body)
			// A decision (a new failover record) or an adoption (the record
			// kept) must not pick a down NVA; a state rebuilt after a loss
			// (no record) only writes down what Azure points at.
			if rec.raw != "" || lastRecord == "" {
				w.checkTarget(p, "recorded in the shared state the desired", desired)
			}
			if rec.raw != lastRecord && rec.To == desired && last != "" && (rec.Reason == "active_down" || rec.Reason == "failback") {
				w.checkFailover(p, last, desired, rec.Reason, lastAt)
			}
			if rec.raw == lastRecord && last != "" {
				w.checkAdoption(p, desired)
			}
		}
	}
}

// checkFailover is S5 and S6 for an automatic failover from -> to: from
// must not be an NVA that is up and that most running monitors can probe
// (the quorum exists to stop a monitor cut off from a healthy NVA from
// moving traffic off it), and it must come at least the anti-flap interval
// after the previous change of the desired NVA, whoever led then.
func (w *World) checkFailover(p *process, from, to, reason string, lastChange time.Time) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.counts["checked S5+S6 (failovers)"]++
	if reason == "active_down" {
		for _, n := range w.nvas {
			if n.spec.name != from || !n.up || time.Since(n.upSince) < w.t.detection() {
				continue
			}
			// A monitor sees the NVA when it can probe it and has been able
			// to for long enough to know: not cut off from it, not paused
			// or frozen, recently neither.
			recover := w.t.detection() + time.Duration(w.t.successes)*w.t.interval
			sees, running := 0, 0
			for _, m := range w.monitors {
				m.mu.Lock()
				alive, resumed := m.proc != nil, m.resumed
				stalled := m.proc != nil && m.proc.isPaused()
				m.mu.Unlock()
				if !alive {
					continue
				}
				running++
				key := m.name + "/" + from
				if !w.nvaCuts[key] && !stalled && time.Since(w.nvaCutEnd[key]) > recover && time.Since(resumed) > recover {
					sees++
				}
			}
			if sees*2 > running {
				msg := fmt.Sprintf("S5: %s#%d failed over from %s to %s (%s), but %s has been up for %s and %d of %d running monitors can probe it",
					p.m.name, p.gen, from, to, reason, from, time.Since(n.upSince).Round(time.Millisecond), sees, running)
				w.violations = append(w.violations, fmt.Sprintf("%9s  ", w.now())+msg)
				w.tracefLocked("VIOLATION %s", msg)
			}
		}
	}
	if !lastChange.IsZero() && to != w.lastDecided {
		// (A move back to where the last decision sent traffic, after a
		// state rebuilt from a stale view, moves nothing: not a flap.)
		if gap := time.Since(lastChange); gap < w.t.antiFlap-time.Second {
			msg := fmt.Sprintf("S6: %s#%d failed over from %s to %s (%s) %s after the previous change of the desired NVA; the anti-flap interval is %s",
				p.m.name, p.gen, from, to, reason, gap.Round(time.Millisecond), w.t.antiFlap)
			w.violations = append(w.violations, fmt.Sprintf("%9s  ", w.now())+msg)
			w.tracefLocked("VIOLATION %s", msg)
		}
	}
}

// checkAdoption is S7: the desired NVA changed with no failover of its
// own (a leader adopted what Azure points at); what it adopted must not
// be the work of an older leader: every managed resource's last accepted
// write carries at least the epoch the shared state held before.
func (w *World) checkAdoption(p *process, desired string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.counts["checked S7 (adoptions)"]++
	for id, e := range w.lastWriteEpoch {
		if e.epoch < w.lastEpoch && e.to == desired {
			msg := fmt.Sprintf("S7: %s#%d adopted %s, which %s points at by a write of %s#%d with epoch %d, below the shared state's %d (a stale leader's late write)",
				p.m.name, p.gen, desired, short(id), e.by, e.gen, e.epoch, w.lastEpoch)
			w.violations = append(w.violations, fmt.Sprintf("%9s  ", w.now())+msg)
			w.tracefLocked("VIOLATION %s", msg)
		}
	}
}

// record is the failover record a shared-state blob carries.
type record struct {
	From, To, Reason string
	raw              string
}

func failoverRecord(body []byte) record {
	var s struct {
		LastFailover json.RawMessage `json:"lastFailover"`
	}
	var r record
	if json.Unmarshal(body, &s) != nil || len(s.LastFailover) == 0 {
		return r
	}
	_ = json.Unmarshal(s.LastFailover, &r)
	r.raw = string(s.LastFailover)
	return r
}

func failoverReason(body []byte) string { return failoverRecord(body).Reason }

// checkTarget is S3: target must not be an NVA every monitor has long seen
// down, unless every NVA is down.
func (w *World) checkTarget(p *process, what, target string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.counts["checked S3 (target not down)"]++
	anyUp := false
	var tgt *nvaState
	for _, n := range w.nvas {
		anyUp = anyUp || n.up
		if n.spec.name == target {
			tgt = n
		}
	}
	if tgt == nil || tgt.up || !anyUp {
		return
	}
	for k, cut := range w.nvaCuts {
		if cut && strings.HasSuffix(k, "/"+target) {
			return // some monitor cannot probe it: its health is a matter of opinion
		}
	}
	if down := time.Since(tgt.downSince); down > w.t.detection() {
		msg := fmt.Sprintf("S3: %s#%d %s NVA %s, down for %s (detection takes %s) while another NVA is up",
			p.m.name, p.gen, what, target, down.Round(time.Millisecond), w.t.detection())
		w.violations = append(w.violations, fmt.Sprintf("%9s  ", w.now())+msg)
		w.tracefLocked("VIOLATION %s", msg)
	}
}

// onStorageAnswer follows the lease and the shared state as storage
// handled them.
func (w *World) onStorageAnswer(p *process, req *http.Request, body []byte, rec *httptest.ResponseRecorder) {
	if !isLeaderBlob(req) {
		return
	}
	ok := rec.Code/100 == 2
	q := req.URL.Query()
	w.mu.Lock()
	defer w.mu.Unlock()
	if q.Get("comp") == "lease" {
		if !ok {
			return
		}
		switch strings.ToLower(req.Header.Get("x-ms-lease-action")) {
		case "acquire", "renew":
			w.leaseHolder = p
			w.leaseExpiry = time.Now().Add(p.m.cfg.Lease.Duration.D())
			w.leaseEnd[p] = w.leaseExpiry
		case "release", "break":
			if w.leaseHolder == p || strings.EqualFold(req.Header.Get("x-ms-lease-action"), "break") {
				w.leaseHolder = nil
				w.leaseExpiry = time.Now()
			}
			if strings.EqualFold(req.Header.Get("x-ms-lease-action"), "release") {
				w.leaseEnd[p] = time.Now()
			}
		}
		return
	}
	if req.Method == http.MethodPut && ok {
		if d, valid := desiredOf(body); valid {
			if d != w.lastDesired {
				w.tracefLocked("storage: %s#%d recorded desired %q (%s)", p.m.name, p.gen, d, failoverReason(body))
				if rec := failoverRecord(body); w.lastDesired != "" && (rec.raw != "" || w.lastRecord == "") {
					w.lastChange = time.Now() // a move, not the first record nor a state rebuilt after a loss
					w.lastDecided = d
				}
			}
			w.lastDesired = d
			w.lastRecord = failoverRecord(body).raw
			if e := stateEpoch(body); e > 0 {
				w.lastEpoch = e
			}
		}
	}
}

// onARMWrite runs S1 and S4 on a write ARM handled.
func (w *World) onARMWrite(p *process, req *http.Request, id string, before, body []byte, code int) {
	if code != http.StatusOK && code != http.StatusCreated {
		return
	}
	w.count("arm writes accepted")
	w.count("checked S1+S4 (accepted writes)")
	epoch := epochTag(body)
	to := w.pointsAt(id, body)
	w.tracef("ARM accepted %s %s from %s#%d (epoch %d, points at %q, was %q)", req.Method, short(id), p.m.name, p.gen, epoch, to, w.pointsAt(id, before))
	if to != "" {
		w.mu.Lock()
		w.lastWriteEpoch[strings.ToLower(id)] = writeMark{epoch: epoch, to: to, by: p.m.name, gen: p.gen}
		w.mu.Unlock()
	}
	if epoch > 0 {
		w.mu.Lock()
		prev, seen := w.epochWriter[epoch]
		if !seen {
			w.epochWriter[epoch] = p.m.name
		}
		w.mu.Unlock()
		if seen && prev != p.m.name {
			w.violatef("S1: epoch %d written by %s and by %s", epoch, prev, p.m.name)
		}
	}
	for _, rid := range []string{id, pipID} {
		if rid == pipID && w.noPIP {
			continue
		}
		after, _ := w.arm.Resource(rid)
		w.mu.Lock()
		want := w.initial[strings.ToLower(rid)]
		w.mu.Unlock()
		if got := w.unowned(rid, after); want != "" && got != want {
			w.violatef("S4: %s changed outside the managed properties after a write by %s#%d:\n  was %s\n  now %s", short(rid), p.m.name, p.gen, want, got)
		}
	}
}

// writeMark is the last accepted write that pointed a resource somewhere.
type writeMark struct {
	epoch int64
	to    string
	by    string
	gen   int
}

func stateEpoch(body []byte) int64 {
	var s struct {
		Epoch int64 `json:"epoch"`
	}
	_ = json.Unmarshal(body, &s)
	return s.Epoch
}

func isWrite(method string) bool {
	return method == http.MethodPut || method == http.MethodPatch || method == http.MethodDelete || method == http.MethodPost
}

func isLeaderBlob(req *http.Request) bool {
	return strings.TrimSuffix(req.URL.Path, "/") == "/hanva/"+leaderBlob
}

func short(id string) string {
	if i := strings.LastIndex(id, "/"); i >= 0 {
		return id[i+1:]
	}
	return id
}

func fmtAt(w *World, t time.Time) string {
	if t.IsZero() {
		return "never"
	}
	return t.Sub(w.start).Round(time.Millisecond).String()
}

type armBody struct {
	Tags       map[string]string `json:"tags"`
	Properties struct {
		Routes []struct {
			Properties struct {
				NextHopType      string `json:"nextHopType"`
				NextHopIPAddress string `json:"nextHopIpAddress"`
			} `json:"properties"`
		} `json:"routes"`
		IPConfigurations []struct {
			Properties struct {
				PublicIPAddress *struct {
					ID string `json:"id"`
				} `json:"publicIPAddress"`
			} `json:"properties"`
		} `json:"ipConfigurations"`
		IPConfiguration *struct {
			ID string `json:"id"`
		} `json:"ipConfiguration"`
	} `json:"properties"`
}

func epochTag(body []byte) int64 {
	var b armBody
	if json.Unmarshal(body, &b) != nil {
		return 0
	}
	for k, v := range b.Tags {
		if strings.EqualFold(k, "hanva-epoch") {
			n, _ := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
			return n
		}
	}
	return 0
}

// pointsAt is the NVA a route table's NVA routes all use, the NVA whose
// external NIC holds the public IP, or "" (none, several, not managed).
func (w *World) pointsAt(id string, body []byte) string {
	var b armBody
	if len(body) == 0 || json.Unmarshal(body, &b) != nil {
		return ""
	}
	lid := strings.ToLower(id)
	switch {
	case strings.Contains(lid, "/routetables/"):
		seen := ""
		for _, r := range b.Properties.Routes {
			if !strings.EqualFold(r.Properties.NextHopType, "VirtualAppliance") {
				continue
			}
			for _, s := range w.specs {
				if r.Properties.NextHopIPAddress == s.intIP || r.Properties.NextHopIPAddress == s.extIP {
					if seen != "" && seen != s.name {
						return "split"
					}
					seen = s.name
				}
			}
		}
		return seen
	case strings.Contains(lid, "/networkinterfaces/"):
		for _, s := range w.specs {
			if !strings.EqualFold(s.extNIC, id) {
				continue
			}
			for _, ipc := range b.Properties.IPConfigurations {
				if ipc.Properties.PublicIPAddress != nil && strings.EqualFold(ipc.Properties.PublicIPAddress.ID, pipID) {
					return s.name
				}
			}
		}
	case strings.Contains(lid, "/publicipaddresses/"):
		if b.Properties.IPConfiguration == nil {
			return ""
		}
		for _, s := range w.specs {
			if strings.HasPrefix(strings.ToLower(b.Properties.IPConfiguration.ID), strings.ToLower(s.extNIC)+"/") ||
				strings.HasPrefix(strings.ToLower(b.Properties.IPConfiguration.ID), strings.ToLower(s.intNIC)+"/") {
				return s.name
			}
		}
	}
	return ""
}

// unowned is a resource's JSON without what the monitor owns (next hops of
// NVA routes, public IP associations, the epoch tag) and without what ARM
// changes on every write (etag, provisioningState).
func (w *World) unowned(id string, body []byte) string {
	var v map[string]any
	if json.Unmarshal(body, &v) != nil {
		return string(body)
	}
	nvaIP := map[string]bool{}
	for _, s := range w.specs {
		nvaIP[s.intIP], nvaIP[s.extIP] = true, true
	}
	delete(v, "etag")
	if tags, ok := v["tags"].(map[string]any); ok {
		for k := range tags {
			if strings.EqualFold(k, "hanva-epoch") {
				delete(tags, k)
			}
		}
		if len(tags) == 0 {
			delete(v, "tags")
		}
	}
	props, _ := v["properties"].(map[string]any)
	if props != nil {
		delete(props, "provisioningState")
		delete(props, "ipConfiguration")
		if routes, ok := props["routes"].([]any); ok {
			for _, r := range routes {
				rm, _ := r.(map[string]any)
				rp, _ := rm["properties"].(map[string]any)
				delete(rm, "etag")
				if rp == nil {
					continue
				}
				delete(rp, "provisioningState")
				if hop, _ := rp["nextHopIpAddress"].(string); nvaIP[hop] {
					rp["nextHopIpAddress"] = "<nva>"
				}
			}
		}
		if ipcs, ok := props["ipConfigurations"].([]any); ok {
			for _, c := range ipcs {
				cm, _ := c.(map[string]any)
				cp, _ := cm["properties"].(map[string]any)
				delete(cm, "etag")
				if cp != nil {
					delete(cp, "provisioningState")
					delete(cp, "publicIPAddress")
				}
			}
		}
	}
	out, _ := json.Marshal(v)
	return string(out)
}

// settled is L1's end state: one leader holding the lease, every managed
// resource on one NVA that is up. It returns what is wrong, or "".
func (w *World) settled() string {
	var leaders []*Monitor
	for _, m := range w.monitors {
		m.mu.Lock()
		if m.leading && m.proc != nil {
			leaders = append(leaders, m)
		}
		m.mu.Unlock()
	}
	w.mu.Lock()
	holder, expiry := w.leaseHolder, w.leaseExpiry
	w.mu.Unlock()
	if len(leaders) != 1 {
		names := []string{}
		for _, l := range leaders {
			names = append(names, l.name)
		}
		return fmt.Sprintf("%d monitors lead %v (lease holder %v)", len(leaders), names, holderName(holder))
	}
	if holder == nil || holder.m != leaders[0] || !time.Now().Before(expiry) {
		return fmt.Sprintf("%s leads but the lease in storage is held by %s until %s", leaders[0].name, holderName(holder), fmtAt(w, expiry))
	}
	on := map[string]bool{}
	var where []string
	for _, id := range w.managedIDs() {
		if strings.Contains(strings.ToLower(id), "/networkinterfaces/") {
			continue
		}
		body, _ := w.arm.Resource(id)
		n := w.pointsAt(id, body)
		on[n] = true
		where = append(where, short(id)+"="+n)
	}
	if len(on) != 1 {
		return fmt.Sprintf("managed resources are split: %s", strings.Join(where, " "))
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, n := range w.nvas {
		if on[n.spec.name] {
			if !n.up {
				return fmt.Sprintf("every managed resource is on %s, which is down", n.spec.name)
			}
			return ""
		}
	}
	return fmt.Sprintf("managed resources point at no NVA: %s", strings.Join(where, " "))
}

func holderName(p *process) string {
	if p == nil {
		return "nobody"
	}
	return fmt.Sprintf("%s#%d", p.m.name, p.gen)
}
