package drill

import (
	"strings"
	"testing"
	"time"

	"github.com/hanva/hanva/testenv/armsim"
	"github.com/hanva/hanva/testenv/lab"
)

var t0 = time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)

func at(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }

func line(ms int, event string, kv ...string) lab.LogLine {
	l := lab.LogLine{Time: at(ms), Event: event, Attrs: map[string]any{"event": event}}
	for i := 0; i+1 < len(kv); i += 2 {
		l.Attrs[kv[i]] = kv[i+1]
		switch kv[i] {
		case "nva":
			l.NVA = kv[i+1]
		case "from":
			l.From = kv[i+1]
		case "to":
			l.To = kv[i+1]
		case "reason":
			l.Reason = kv[i+1]
		case "failure":
			l.Failure = kv[i+1]
		}
	}
	return l
}

func write(ms int, instance, id string) armsim.Event {
	return armsim.Event{Time: at(ms), Kind: armsim.KindWriteAccepted, Method: "PUT", ResourceID: id,
		Client: "hanva-nva-monitor/dev (" + instance + ") azsdk-go-armnetwork/v7.2.0"}
}

func TestLeaseWriteCheck(t *testing.T) {
	rt := lab.ResourceID("routeTables", "web-udr")
	logs := map[string][]lab.LogLine{
		// monitor-1 leads from 1s, loses the lease at 20s.
		"monitor-1": {line(0, "starting"), line(1000, "lease_acquired"), line(20000, "lease_lost")},
		// monitor-2 takes over at 30s.
		"monitor-2": {line(0, "starting"), line(30000, "lease_acquired")},
		// monitor-3 leads from 1s in its log, but the drill killed it at 5s.
		"monitor-3": {line(0, "starting"), line(1000, "lease_acquired")},
	}
	ends := []leaseEnd{{instance: "monitor-3", at: at(5000), why: "killed"}}
	instances := []string{"monitor-1", "monitor-2", "monitor-3"}
	for _, tc := range []struct {
		name   string
		ev     armsim.Event
		pass   bool
		detail string
	}{
		{"a write by the holder passes", write(2000, "monitor-1", rt), true, "monitor-1 1"},
		{"a write by the new holder passes", write(31000, "monitor-2", rt), true, "monitor-2 1"},
		{"a write after the lease was lost fails", write(21000, "monitor-1", rt), false, "monitor-1, which did not hold the lease"},
		{"a write before the lease was acquired fails", write(500, "monitor-2", rt), false, "monitor-2, which did not hold"},
		{"a write after the drill killed the writer fails", write(6000, "monitor-3", rt), false, "monitor-3, which did not hold"},
		{"a write by something that is no monitor fails", write(2000, "someone", rt), false, "not a monitor"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := leaseWriteCheck(instances, logs, []armsim.Event{tc.ev}, ends)
			if c.Pass != tc.pass || !strings.Contains(c.Detail, tc.detail) {
				t.Errorf("check = %v %q; want pass=%v with %q", c.Pass, c.Detail, tc.pass, tc.detail)
			}
		})
	}
}

func TestInstanceOfReadsTheUserAgent(t *testing.T) {
	for ua, want := range map[string]string{
		"hanva-nva-monitor/v1.2.3 (monitor-2) azsdk-go-armnetwork/v7.2.0 (go1.26; linux)": "monitor-2",
		"curl/8.0": "",
		"":         "",
	} {
		if got := instanceOf(ua); got != want {
			t.Errorf("instanceOf(%q) = %q, want %q", ua, got, want)
		}
	}
}

func TestOptionsValidate(t *testing.T) {
	for _, tc := range []struct {
		name string
		o    Options
		want string // "" = valid
	}{
		{"the defaults are valid", Options{}, ""},
		{"three NVAs and two monitors are valid", Options{NVAs: 3, Monitors: 2}, ""},
		{"four NVAs are refused", Options{NVAs: 4}, "nvas: 4; want 2 or 3"},
		{"one monitor is refused", Options{Monitors: 1}, "monitors: 1; want 2 or 3"},
		{"an unknown scenario is refused with the list", Options{Scenarios: []string{"crash", "meteor"}}, `scenario "meteor": unknown; choose from crash, hang`},
		{"a probe interval under 100ms is refused", Options{ProbeInterval: time.Millisecond}, "probe interval: 1ms"},
		{"quick overrides bad monitors", Options{Quick: true, Monitors: 7}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.o.Validate()
			if (err == nil) != (tc.want == "") || (err != nil && !strings.Contains(err.Error(), tc.want)) {
				t.Errorf("Validate = %v, want %q", err, tc.want)
			}
		})
	}
	q := Options{Quick: true}
	if err := q.defaults(); err != nil || len(q.Scenarios) != 1 || q.Scenarios[0] != "crash" || q.Monitors != 2 {
		t.Errorf("quick = %+v, %v; want the crash scenario with 2 monitors", q, err)
	}
}
