package drill

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/hanva/hanva/testenv/armsim"
	"github.com/hanva/hanva/testenv/lab"
)

// tenure is a span during which a monitor held the lease by its own log.
type tenure struct {
	from, to time.Time // to zero: still open
}

// tenures works out when each monitor held the lease: from its
// lease_acquired line to the first of lease_lost, lease_released,
// leader_lost, fenced, a new process starting, or a moment the drill killed
// or paused it.
func tenures(logs map[string][]lab.LogLine, ends []leaseEnd) map[string][]tenure {
	type mark struct {
		at   time.Time
		open bool
	}
	marks := map[string][]mark{}
	for inst, lines := range logs {
		for _, l := range lines {
			switch l.Event {
			case "lease_acquired":
				marks[inst] = append(marks[inst], mark{l.Time, true})
			case "lease_lost", "lease_released", "leader_lost", "fenced", "starting", "stopping":
				marks[inst] = append(marks[inst], mark{l.Time, false})
			}
		}
	}
	for _, e := range ends {
		marks[e.instance] = append(marks[e.instance], mark{e.at, false})
	}
	out := map[string][]tenure{}
	for inst, ms := range marks {
		sort.SliceStable(ms, func(i, j int) bool { return ms[i].at.Before(ms[j].at) })
		var cur *tenure
		for _, m := range ms {
			switch {
			case m.open && cur == nil:
				cur = &tenure{from: m.at}
			case !m.open && cur != nil:
				cur.to = m.at
				out[inst] = append(out[inst], *cur)
				cur = nil
			}
		}
		if cur != nil {
			out[inst] = append(out[inst], *cur)
		}
	}
	return out
}

func (t tenure) holds(at time.Time) bool {
	return !at.Before(t.from) && (t.to.IsZero() || at.Before(t.to))
}

// leaseWriteCheck verifies that every ARM write came from a monitor that
// held the lease at that moment: armsim's write log names the writer by
// its User-Agent "(instance)"; the monitors' logs say when each held it.
func leaseWriteCheck(instances []string, logs map[string][]lab.LogLine, events []armsim.Event, ends []leaseEnd) Check {
	c := Check{Name: "no ARM write from a monitor without the lease"}
	held := tenures(logs, ends)
	by := map[string]int{}
	var bad []string
	for _, ev := range writes(events, time.Time{}) {
		inst := instanceOf(ev.Client)
		by[inst]++
		if !slices.Contains(instances, inst) {
			bad = append(bad, fmt.Sprintf("%s %s at %s by %q, not a monitor", ev.Method, short(ev.ResourceID), ev.Time.Format("15:04:05.000"), ev.Client))
			continue
		}
		ok := false
		for _, t := range held[inst] {
			ok = ok || t.holds(ev.Time)
		}
		if !ok {
			bad = append(bad, fmt.Sprintf("%s %s at %s by %s, which did not hold the lease then", ev.Method, short(ev.ResourceID), ev.Time.Format("15:04:05.000"), inst))
		}
	}
	var parts []string
	for inst, n := range by {
		parts = append(parts, fmt.Sprintf("%s %d", inst, n))
	}
	sort.Strings(parts)
	total := len(writes(events, time.Time{}))
	c.Pass = len(bad) == 0
	if c.Pass {
		c.Detail = fmt.Sprintf("%d write(s), each by the lease holder of the moment (%s)", total, listOr(parts, "no writes"))
	} else {
		c.Detail = fmt.Sprintf("%d of %d write(s) without the lease: %s", len(bad), total, strings.Join(bad, "; "))
	}
	return c
}

func sortLines(ls []lab.LogLine) {
	sort.SliceStable(ls, func(i, j int) bool { return ls[i].Time.Before(ls[j].Time) })
}
