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

// BenchmarkDaemonResidentMemory starts the real nva-monitor against armsim
// with two probed NVAs and ten route tables, lets it probe, and reports its
// resident set size (VmRSS) and peak (VmHWM). Goal: under 30 MB.
func BenchmarkDaemonResidentMemory(b *testing.B) {
	for range b.N {
		rss, hwm := measureRSS(b)
		b.ReportMetric(rss, "rss-MB")
		b.ReportMetric(hwm, "peak-rss-MB")
	}
}

func measureRSS(b *testing.B) (rss, hwm float64) {
	b.Helper()
	e := newEnv(b, envOptions{tables: 10})
	p := e.startMonitor()
	e.waitReady(p)
	time.Sleep(5 * time.Second) // 25 probe rounds at 200 ms
	rss, hwm = readRSS(b, p.cmd.Process.Pid)
	p.stop()
	return rss, hwm
}

// readRSS reads VmRSS and VmHWM of a process in MB.
func readRSS(b *testing.B, pid int) (rss, hwm float64) {
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
	return rss, hwm
}
