package lab

import (
	"testing"
	"time"
)

func TestParseLogsKeepsJSONLinesAndSkipsTheRest(t *testing.T) {
	in := []byte(`{"time":"2026-11-22T10:00:00.1Z","level":"INFO","msg":"probe failed","event":"probe_failed","instance":"monitor-1","nva":"nva-1","failure":"refused","duration":"1ms"}
panic: something
{"time":"2026-11-22T10:00:00.5Z","level":"WARN","msg":"failing over","event":"failover_started","instance":"monitor-1","from":"nva-1","to":"nva-2","reason":"active_down","epoch":3}
{not json
`)
	ls := ParseLogs(in)
	if len(ls) != 2 {
		t.Fatalf("%d lines, want 2: %+v", len(ls), ls)
	}
	if ls[0].Event != "probe_failed" || ls[0].Failure != "refused" || ls[0].NVA != "nva-1" || ls[0].Instance != "monitor-1" || ls[0].Str("duration") != "1ms" {
		t.Errorf("first line = %+v", ls[0])
	}
	if ls[1].From != "nva-1" || ls[1].To != "nva-2" || ls[1].Reason != "active_down" || ls[1].Attrs["epoch"] != float64(3) {
		t.Errorf("second line = %+v", ls[1])
	}
	t0 := time.Date(2026, 11, 22, 10, 0, 0, 200e6, time.UTC)
	if _, ok := First(ls, "probe_failed", "", t0); ok {
		t.Errorf("First found a line before the time")
	}
	if l, ok := First(ls, "failover_started", "", t0); !ok || l.To != "nva-2" {
		t.Errorf("First(failover_started) = %+v, %v", l, ok)
	}
	if got := Filter(ls, "probe_failed", "nva-2", time.Time{}); len(got) != 0 {
		t.Errorf("Filter matched another NVA: %+v", got)
	}
}
