package report

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
)

func TestMetricsCountWhatHappened(t *testing.T) {
	m := NewMetrics("mon-1", "v0")
	m.InitNVAs([]string{"nva-1", "nva-2"})
	m.ProbeResult("nva-1", "", time.Millisecond)
	m.ProbeResult("nva-1", "refused", time.Millisecond)
	m.ProbeResult("nva-1", "refused", time.Millisecond)
	m.Health("nva-1", "down")
	m.Health("nva-2", "up")
	m.Active("nva-2", []string{"nva-1", "nva-2"})
	m.Failover("active_down", nil, 2*time.Second, time.Unix(100, 0))
	m.Failover("active_down", errors.New("boom"), time.Second, time.Unix(200, 0))
	m.ARMResponse("PUT", "routeTables", 429)
	m.AllDown(true)
	m.Hold("anti_flap")
	m.Leader(true)
	m.Epoch(7)
	m.LeaseRenewal(true)
	m.LeaseRenewal(false)
	m.LeadershipChange("acquired")

	checks := []struct {
		name string
		got  float64
		want float64
	}{
		{"refused probes of nva-1", testutil.ToFloat64(m.probes.WithLabelValues("nva-1", "refused")), 2},
		{"ok probes of nva-1", testutil.ToFloat64(m.probes.WithLabelValues("nva-1", "ok")), 1},
		{"last probe of nva-1 failed", testutil.ToFloat64(m.probeUp.WithLabelValues("nva-1")), 0},
		{"nva-1 is down", testutil.ToFloat64(m.nvaHealthy.WithLabelValues("nva-1")), 0},
		{"nva-2 is up", testutil.ToFloat64(m.nvaHealthy.WithLabelValues("nva-2")), 1},
		{"nva-2 is active", testutil.ToFloat64(m.activeNVA.WithLabelValues("nva-2")), 1},
		{"nva-1 is not active", testutil.ToFloat64(m.activeNVA.WithLabelValues("nva-1")), 0},
		{"one good failover", testutil.ToFloat64(m.failovers.WithLabelValues("active_down", "ok")), 1},
		{"one failed failover", testutil.ToFloat64(m.failovers.WithLabelValues("active_down", "error")), 1},
		{"last failover time", testutil.ToFloat64(m.lastFailover), 200},
		{"throttled PUT counted", testutil.ToFloat64(m.armRequests.WithLabelValues("PUT", "routeTables", "429")), 1},
		{"all-down alarm raised", testutil.ToFloat64(m.allDown), 1},
		{"anti-flap hold counted", testutil.ToFloat64(m.holds.WithLabelValues("anti_flap")), 1},
		{"this monitor leads", testutil.ToFloat64(m.isLeader), 1},
		{"epoch recorded", testutil.ToFloat64(m.epoch), 7},
		{"one good renewal", testutil.ToFloat64(m.renewals.WithLabelValues("ok")), 1},
		{"one failed renewal", testutil.ToFloat64(m.renewals.WithLabelValues("error")), 1},
		{"one acquisition", testutil.ToFloat64(m.leaderChanges.WithLabelValues("acquired")), 1},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s: got %v, want %v", c.name, c.got, c.want)
		}
	}
}

func TestServerAnswersEachEndpoint(t *testing.T) {
	m := NewMetrics("mon-1", "v0")
	m.InitNVAs([]string{"nva-1"})
	var ready error = errors.New("active NVA not known yet")
	srv := httptest.NewServer(NewServer(ServerOptions{
		Metrics: m,
		Status:  func() any { return map[string]string{"active": "nva-1"} },
		Ready:   func() error { return ready },
	}).Handler)
	defer srv.Close()

	get := func(path string) (int, string) {
		t.Helper()
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, _ := get("/healthz"); code != 200 {
		t.Errorf("/healthz = %d, want 200", code)
	}
	if code, body := get("/readyz"); code != 503 || !strings.Contains(body, "active NVA not known") {
		t.Errorf("/readyz before ready = %d %q, want 503 with the reason", code, body)
	}
	ready = nil
	if code, _ := get("/readyz"); code != 200 {
		t.Errorf("/readyz when ready = %d, want 200", code)
	}
	if code, body := get("/metrics"); code != 200 || !strings.Contains(body, `hanva_nva_healthy{nva="nva-1"} -1`) || !strings.Contains(body, "hanva_build_info") {
		t.Errorf("/metrics = %d, missing hanva series:\n%s", code, body)
	}
	if code, body := get("/status"); code != 200 || !strings.Contains(body, `"active": "nva-1"`) {
		t.Errorf("/status = %d %q", code, body)
	}
}
