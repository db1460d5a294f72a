package lab

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/hanva/hanva/monitor/config"
)

// startAlone starts an Env with one monitor (lease none, so no Azurite).
func startAlone(t *testing.T, bin string) *Env {
	t.Helper()
	s, err := SampleStack(SampleOptions{Monitors: 1, Settings: Settings{Probe: config.ProbeTiming{Interval: config.Duration(200 * time.Millisecond)}}})
	if err != nil {
		t.Fatal(err)
	}
	e, err := Start(context.Background(), Options{Stack: s, MonitorBin: bin, Dir: t.TempDir(), LROLatency: 50 * time.Millisecond,
		Tweak: func(c *config.Config) { c.PollInterval = config.Duration(100 * time.Millisecond) }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.Close)
	return e
}

func reseed(t *testing.T, e *Env, id string, edit func(props map[string]any)) {
	t.Helper()
	b, ok := e.Sim.Resource(id)
	if !ok {
		t.Fatalf("%s not in armsim", id)
	}
	var body map[string]any
	if err := json.Unmarshal(b, &body); err != nil {
		t.Fatal(err)
	}
	edit(body["properties"].(map[string]any))
	b, _ = json.Marshal(body)
	if err := e.Sim.Seed(id, b); err != nil {
		t.Fatal(err)
	}
}

func TestPlacementSaysWhereEachResourcePoints(t *testing.T) {
	e := startAlone(t, "/nonexistent/nva-monitor") // never started
	table := e.Stack.Config.RouteTables[0].ID
	pip := e.Stack.Config.PublicIPs[0].ID
	p, err := e.Placement()
	if err != nil {
		t.Fatal(err)
	}
	if on, ok := p.On(); !ok || on != "nva-1" {
		t.Fatalf("seeded placement = %+v, want all on nva-1", p)
	}

	reseed(t, e, table, func(props map[string]any) {
		routes := props["routes"].([]any)
		routes[0].(map[string]any)["properties"].(map[string]any)["nextHopIpAddress"] = "10.0.0.101"
	})
	p, _ = e.Placement()
	if p.RouteTables[table] != Split {
		t.Errorf("a table with one route on each NVA = %q, want %q", p.RouteTables[table], Split)
	}
	if _, ok := p.On(); ok {
		t.Errorf("On() agrees although a table is split")
	}

	reseed(t, e, table, func(props map[string]any) {
		for _, r := range props["routes"].([]any) {
			r.(map[string]any)["properties"].(map[string]any)["nextHopIpAddress"] = "10.0.0.101"
		}
	})
	reseed(t, e, e.Stack.Config.NVAs[0].NICs[RoleExternal], func(props map[string]any) {
		ipc := props["ipConfigurations"].([]any)[0].(map[string]any)["properties"].(map[string]any)
		delete(ipc, "publicIPAddress")
	})
	p, _ = e.Placement()
	if p.RouteTables[table] != "nva-2" || p.PublicIPs[pip] != "" {
		t.Errorf("placement = %+v, want the table on nva-2 and the public IP detached", p)
	}
	if _, ok := p.On(); ok {
		t.Errorf("On() agrees although the public IP is detached")
	}
	if e.NVAOfIP("10.0.0.69") != "nva-2" || e.NVAOfNIC(e.Stack.Config.NVAs[1].NICs[RoleInternal]) != "nva-2" {
		t.Errorf("NVAOfIP/NVAOfNIC do not know nva-2's NICs")
	}
}

// TestMonitorProcessFailsOverAndObeysSignals runs one real nva-monitor on
// the sample stack: it fails over when nva-1 crashes, stops answering while
// paused, and can be killed and started again.
func TestMonitorProcessFailsOverAndObeysSignals(t *testing.T) {
	bin, err := BuildMonitor(t.TempDir(), BuildOptions{Race: raceEnabled})
	if err != nil {
		t.Fatal(err)
	}
	e := startAlone(t, bin)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	if err := e.StartMonitors(ctx); err != nil {
		t.Fatal(err)
	}
	m := e.Monitors[0]
	defer func() {
		if t.Failed() {
			t.Logf("monitor log:\n%s", m.LogText())
		}
	}()
	if l, err := e.WaitLeader(ctx); err != nil || l != m {
		t.Fatalf("WaitLeader = %v, %v; a lone monitor always leads", l, err)
	}
	e.StandIns["nva-1"].Crash()
	err = Poll(ctx, func() (bool, error) {
		p, err := e.Placement()
		on, ok := p.On()
		return ok && on == "nva-2", err
	})
	if err != nil {
		t.Fatalf("no failover to nva-2: %v", err)
	}
	if _, ok := First(m.Logs(), "failover_completed", "", time.Time{}); !ok {
		if err := Poll(ctx, func() (bool, error) { _, ok := First(m.Logs(), "failover_completed", "", time.Time{}); return ok, nil }); err != nil {
			t.Errorf("no failover_completed in the log")
		}
	}

	if err := m.Pause(); err != nil {
		t.Fatal(err)
	}
	if !m.Paused() || !m.Running() {
		t.Errorf("after Pause: paused %v running %v", m.Paused(), m.Running())
	}
	if _, err := m.Status(ctx); err == nil {
		t.Errorf("a paused monitor's status was read")
	}
	if err := m.Resume(); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Status(ctx); err != nil {
		t.Errorf("status after Resume: %v", err)
	}

	if err := m.Kill(); err != nil {
		t.Fatal(err)
	}
	if m.Running() || m.Exited() == nil {
		t.Errorf("after Kill: running %v, exit %v", m.Running(), m.Exited())
	}
	if err := m.Start(); err != nil {
		t.Fatal(err)
	}
	if err := e.WaitReady(ctx, m); err != nil {
		t.Fatal(err)
	}
	if n := len(Filter(m.Logs(), "starting", "", time.Time{})); n != 2 {
		t.Errorf("%d starting lines, want 2: the log must span restarts", n)
	}
	st, err := m.Status(ctx)
	if err != nil || st.Active != "nva-2" {
		t.Errorf("restarted monitor: active %v (%v), want nva-2 from Azure", st, err)
	}
	if err := m.Stop(10 * time.Second); err != nil || m.Running() {
		t.Errorf("Stop = %v, running %v", err, m.Running())
	}
}
