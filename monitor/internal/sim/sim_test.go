package sim

import (
	"flag"
	"fmt"
	"os"
	"sort"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

var (
	seedFlag      = flag.Uint64("seed", 0, "replay only this schedule (printed on a violation)")
	schedulesFlag = flag.Int("schedules", 0, "random schedules to run besides the fixed seeds (default 200, or $HANVA_SIM_SCHEDULES)")
	soakFlag      = flag.Duration("soak", 0, "run random schedules for this long instead (make soak)")
	traceFlag     = flag.Bool("trace", false, "print the whole trace of every schedule run")
	maxFailFlag   = flag.Int("max-failures", 3, "stop after this many failing schedules (0: run them all)")
)

// regressionSeeds are schedules that found defects; each must pass for
// good. The comment says what it found on the code before the fix.
//
// Found on the daemon of commit 021646b (before the issue 8 fixes), by
// the first runs of this simulation (3,000 random schedules each):
var regressionSeeds = []uint64{
	// Defect 5: a corrupt shared-state blob; every new leader resigns on
	// reading it, and the cluster stays leaderless for good (L1).
	1796532232758793841, // corrupt-state, cut-storage, nva-down
	1796532232758793931, // corrupt-state, crash, storage-down
	// Defect 6: a monitor whose wall clock jumped finds every other view
	// stale (or its own stale to the others) and the leader, cut off from
	// a healthy NVA, fails over alone (S5).
	1796532232758794974, // clock-jump, cut-nva
	1796532232758794885, // clock-jump, crash, cut-nva
	// Defect 7: a new leader does not inherit the anti-flap clock and
	// fails over again within the interval of the previous leader's
	// failover (S6).
	1796532232758795389, // crash, cut-nva, nva-down
	1796532232758793920, // crash, manual, nva-down, pause
	// The loop read Azure synchronously: an ARM cut off and a 403 held it
	// for a minute, and it then decided on a probe round a minute old,
	// failing over to an NVA that had been down for 11 s (S3).
	1796532232758796176, // arm-dup, arm-forbidden, crash, cut-arm, nva-down
	// A public IP left detached after the faults healed (L1).
	1796532232758795291, // arm-delay, arm-error, crash, cut-arm, nva-down
}

func TestSimulation(t *testing.T) {
	if *seedFlag != 0 {
		runOne(t, Generate(*seedFlag), true)
		return
	}
	var sum summary
	for _, seed := range regressionSeeds {
		sum.add(runOne(t, Generate(seed), *traceFlag))
	}
	n := *schedulesFlag
	if n == 0 {
		n = 200
		if v := os.Getenv("HANVA_SIM_SCHEDULES"); v != "" {
			fmt.Sscan(v, &n)
		}
	}
	if testing.Short() {
		n = 20
	}
	base := uint64(time.Now().UnixNano())
	t.Logf("random schedules from seed %d", base)
	deadline := time.Now().Add(*soakFlag)
	for i := 0; ; i++ {
		if *soakFlag > 0 {
			if time.Now().After(deadline) {
				break
			}
		} else if i >= n {
			break
		}
		sum.add(runOne(t, Generate(base+uint64(i)), *traceFlag))
		if *maxFailFlag > 0 && sum.failed >= *maxFailFlag {
			break
		}
	}
	t.Log(sum.String())
}

// runOne runs one schedule in its own bubble and reports its violations.
func runOne(t *testing.T, s Schedule, trace bool) Result {
	t.Helper()
	var res Result
	synctest.Test(t, func(t *testing.T) {
		res = Run(s, newStore())
	})
	if trace {
		t.Logf("%s\n%s", s, strings.Join(res.Trace, "\n"))
	}
	if len(res.Violations) > 0 {
		tail := res.Trace
		if len(tail) > 400 {
			tail = tail[len(tail)-400:]
		}
		t.Errorf("schedule violated the invariants; replay: go test ./monitor/internal/sim -run TestSimulation -seed=%d -v\n%s\nviolations:\n  %s\ntrace (last %d lines):\n%s",
			s.Seed, s, strings.Join(res.Violations, "\n  "), len(tail), strings.Join(tail, "\n"))
	}
	return res
}

// summary counts what the schedules did.
type summary struct {
	mu        sync.Mutex
	schedules int
	failed    int
	counts    map[string]int
	settle    []time.Duration
}

func (s *summary) add(r Result) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.schedules++
	if len(r.Violations) > 0 {
		s.failed++
	}
	if s.counts == nil {
		s.counts = map[string]int{}
	}
	for k, v := range r.Counts {
		s.counts[k] += v
	}
	s.counts["invariant violations"] += len(r.Violations)
	if r.Settled >= 0 {
		s.settle = append(s.settle, r.Settled)
	}
}

func (s *summary) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "simulation summary: %d schedules, %d with violations\n", s.schedules, s.failed)
	for _, k := range sortedKeys(s.counts) {
		fmt.Fprintf(&b, "  %-28s %d\n", k, s.counts[k])
	}
	if len(s.settle) > 0 {
		sort.Slice(s.settle, func(i, j int) bool { return s.settle[i] < s.settle[j] })
		fmt.Fprintf(&b, "  settled after the heal: median %s, max %s\n", s.settle[len(s.settle)/2], s.settle[len(s.settle)-1])
	}
	return b.String()
}
