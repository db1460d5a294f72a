package e2e

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"
)

const (
	// resourceTables is how many route tables the monitor manages while its
	// memory and CPU are measured (it probes two NVAs).
	resourceTables = 10
	// scaleTables is the hub the issue sizes memory for: 500 route tables.
	scaleTables = 500
	// resourceWarmUp passes after both NVAs are up before measuring.
	resourceWarmUp = 2 * time.Second
	// resourceWindow is the span over which CPU time is measured. It is the
	// default reconcile interval, so the window holds one reconcile (a read
	// of every managed resource) besides the probe rounds.
	resourceWindow = 30 * time.Second
	// clockTicks is USER_HZ, the unit of utime and stime in /proc/<pid>/stat:
	// 100 on Linux for every architecture Go's linux ports build for but alpha.
	clockTicks = 100
)

// BenchmarkDaemonResources starts the real nva-monitor against armsim with
// two HTTP-probed NVAs and ten route tables (and, at the default probe
// settings, 500), all other settings at their defaults, lets it probe, and reports its resident set size ("rss-MB",
// VmRSS) and peak ("peak-rss-MB", VmHWM) at the end of a measured window
// of resourceWindow, and the CPU time it used in that window (utime+stime)
// as a percentage of one core ("cpu-pct"); at the default probe settings
// and at aggressive ones. Goal: under 30 MB.
//
//	go test -run '^$' -bench DaemonResources -benchtime 1x ./testenv/e2e/
func BenchmarkDaemonResources(b *testing.B) {
	for _, c := range []struct {
		s      probeSetting
		tables int
	}{{defaultProbe, resourceTables}, {aggressiveProbe, resourceTables}, {defaultProbe, scaleTables}} {
		s := c.s
		b.Run(fmt.Sprintf("probe=%s/tables=%d", s.name, c.tables), func(b *testing.B) {
			var rss, hwm, cpu float64
			for range b.N {
				u := measureResources(b, s, c.tables)
				rss += u.rss
				hwm += u.hwm
				cpu += u.cpuPct
			}
			n := float64(b.N)
			b.ReportMetric(rss/n, "rss-MB")
			b.ReportMetric(hwm/n, "peak-rss-MB")
			b.ReportMetric(cpu/n, "cpu-pct")
			b.ReportMetric(resourceWindow.Seconds(), "window-s")
			b.ReportMetric(2, "nvas")
			b.ReportMetric(float64(c.tables), "route-tables")
			s.report(b)
		})
	}
}

type usage struct {
	rss, hwm float64 // MB
	cpuPct   float64 // of one core
}

func measureResources(b *testing.B, s probeSetting, tables int) usage {
	b.Helper()
	e := newEnv(b, envOptions{tables: tables, probeKind: "http", mutate: s.apply})
	p := e.startMonitor()
	defer p.stop()
	e.waitReady(p)
	eventually(b, 60*time.Second, "both NVAs up", func() bool {
		h := healthByNVA(e)
		return h["nva-1"] == "up" && h["nva-2"] == "up"
	})
	time.Sleep(resourceWarmUp)
	pid := p.cmd.Process.Pid
	t0, c0 := time.Now(), cpuTicks(b, pid)
	time.Sleep(resourceWindow)
	t1, c1 := time.Now(), cpuTicks(b, pid)
	rss, hwm := readRSS(b, pid)
	cpu := float64(c1-c0) / clockTicks / t1.Sub(t0).Seconds() * 100
	if n := strings.Count(p.logText(), `"event":"resource_unreadable"`); n != 0 {
		b.Fatalf("the monitor could not read %d managed resource(s): it is not managing all %d route tables", n, tables)
	}
	if n := countEvents(e.sim, "write_accepted", time.Time{}); n != 0 {
		b.Fatalf("the monitor wrote %d time(s) to ARM while nothing failed: the benchmark is not measuring steady probing", n)
	}
	return usage{rss: rss, hwm: hwm, cpuPct: cpu}
}

// cpuTicks returns utime+stime of a process, in clock ticks.
func cpuTicks(b *testing.B, pid int) int64 {
	b.Helper()
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		b.Fatal(err)
	}
	// The command name (field 2) is in parentheses and may hold spaces;
	// the fields after it start with state (field 3).
	s := string(data)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		b.Fatalf("unexpected /proc/%d/stat: %q", pid, s)
	}
	fields := strings.Fields(s[i+1:])
	const utime, stime = 14 - 3, 15 - 3 // proc(5) field numbers, from state
	if len(fields) <= stime {
		b.Fatalf("unexpected /proc/%d/stat: %q", pid, s)
	}
	u, err1 := strconv.ParseInt(fields[utime], 10, 64)
	st, err2 := strconv.ParseInt(fields[stime], 10, 64)
	if err1 != nil || err2 != nil {
		b.Fatalf("parse utime/stime of /proc/%d/stat: %q", pid, s)
	}
	return u + st
}

// readRSS reads VmRSS and VmHWM of a process in MB.
func readRSS(b *testing.B, pid int) (rss, hwm float64) {
	b.Helper()
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 2 {
			continue
		}
		kb, _ := strconv.ParseFloat(fields[1], 64)
		switch fields[0] {
		case "VmRSS:":
			rss = kb / 1024
		case "VmHWM:":
			hwm = kb / 1024
		}
	}
	if rss == 0 || hwm == 0 {
		b.Fatalf("no VmRSS/VmHWM in /proc/%d/status", pid)
	}
	return rss, hwm
}
