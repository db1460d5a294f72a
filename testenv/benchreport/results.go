package main

import (
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Results is what the JSON file holds.
type Results struct {
	Date        time.Time    `json:"date"`
	Command     string       `json:"command,omitempty"`
	Machine     Machine      `json:"machine"`
	Convergence *Convergence `json:"convergence,omitempty"`
	Steering    *Steering    `json:"steering,omitempty"`
	Scale       *Scale       `json:"scale,omitempty"`
	Detection   *Detection   `json:"detection,omitempty"`
	// QuorumDetection and Soak are the detection goals, in virtual time (quorum.go).
	QuorumDetection *QuorumDetection `json:"quorumDetection,omitempty"`
	Soak            *Soak            `json:"soak,omitempty"`
	Resources       *Resources       `json:"resources,omitempty"`
	// Benchmarks is every result line read, known or not.
	Benchmarks []Benchmark `json:"benchmarks"`
}

// Machine is where the benchmarks ran. GOOS, GOARCH and CPU come from the
// benchmark output; the CPU count and Go version are benchreport's own,
// which `make bench` runs on the same machine with the same toolchain.
type Machine struct {
	GOOS       string `json:"goos"`
	GOARCH     string `json:"goarch"`
	CPU        string `json:"cpu,omitempty"`
	CPUs       int    `json:"cpus"`
	GOMAXPROCS int    `json:"gomaxprocs"`
	GoVersion  string `json:"goVersion"`
}

// Convergence is BenchmarkFailover: Engine.Converge ("hanva") against the
// order mspnp/ha-nva used ("mspnpOrder"), against armsim.
type Convergence struct {
	LROLatencyMs float64          `json:"lroLatencyMs"` // how long every accepted write stays InProgress
	PollMs       float64          `json:"pollMs"`       // LRO status poll period of both
	Rows         []ConvergenceRow `json:"rows"`
}

// ConvergenceRow is one route-table count.
type ConvergenceRow struct {
	RouteTables int     `json:"routeTables"`
	Runs        int     `json:"runs"`
	Hanva       *Timing `json:"hanva,omitempty"`
	MspnpOrder  *Timing `json:"mspnpOrder,omitempty"`
	// RatioAll is MspnpOrder.AllMs / Hanva.AllMs, RatioRoutes the same for
	// RoutesMs; 0 when either side is missing.
	RatioAll    float64 `json:"ratioAll,omitempty"`
	RatioRoutes float64 `json:"ratioRoutes,omitempty"`
}

// Timing is the time from the start of a failover (the decision) to every
// route table converged, to the public IP moved, and to both.
type Timing struct {
	RoutesMs   float64 `json:"routesMs"`
	PublicIPMs float64 `json:"publicIpMs"`
	AllMs      float64 `json:"allMs"`
}

// Steering is BenchmarkSteering: a failover with each way of steering
// traffic (route tables and public IP, floating IP, backend pool, DNS
// record) for a number of route tables behind the NVAs, against armsim.
type Steering struct {
	LROLatencyMs float64       `json:"lroLatencyMs"` // how long every accepted write stays InProgress
	PollMs       float64       `json:"pollMs"`       // LRO status poll period
	Rows         []SteeringRow `json:"rows"`
}

// SteeringRow is one mode at one route-table count.
type SteeringRow struct {
	// Mode is "routes", "floatingIp", "backendPool" or "dnsRecord".
	Mode        string `json:"mode"`
	RouteTables int    `json:"routeTables"`
	Runs        int    `json:"runs"`
	// ConvergedMs is the time from the decision to the mode's resources
	// converged; Writes the accepted ARM writes that moved traffic.
	ConvergedMs float64 `json:"convergedMs"`
	Writes      float64 `json:"writes"`
	// RatioToRoutes is ConvergedMs over the routes mode's at the same
	// route-table count; 0 when that row is missing.
	RatioToRoutes float64 `json:"ratioToRoutes,omitempty"`
}

// steeringOrder is the order of the modes in the table; a mode not listed
// comes after them, alphabetically.
var steeringOrder = []string{"routes", "floatingIp", "backendPool", "dnsRecord"}

// Scale is BenchmarkScale: a failover of hundreds of route tables against
// armsim with Azure's documented throttling, measured against the throttle
// floor.
type Scale struct {
	LROLatencyS float64    `json:"lroLatencyS"` // how long every accepted write stays InProgress (L)
	Rows        []ScaleRow `json:"rows"`
}

// ScaleRow is one route-table count over a number of subscriptions.
type ScaleRow struct {
	RouteTables   int `json:"routeTables"`
	Subscriptions int `json:"subscriptions"`
	Runs          int `json:"runs"`
	// ConvergedS is the time from the decision to the last route table
	// converged; FloorS is L + max(0, N_fullest - 200)/10, the throttle
	// floor of the fullest subscription; Ratio is ConvergedS / FloorS and
	// OverFloorL (ConvergedS - FloorS) / L.
	ConvergedS float64 `json:"convergedS"`
	FloorS     float64 `json:"floorS"`
	Ratio      float64 `json:"ratio"`
	OverFloorL float64 `json:"overFloorL"`
	// Throttled is the 429s armsim answered during the converge; Reads and
	// Writes the requests the engine sent (status polls are reads).
	Throttled float64 `json:"throttled"`
	Reads     float64 `json:"reads"`
	Writes    float64 `json:"writes"`
	// MspnpOrderS is the order of mspnp/ha-nva, one table after another,
	// computed as N x L, not run.
	MspnpOrderS float64 `json:"mspnpOrderS"`
}

// Detection is BenchmarkDetection.
type Detection struct {
	Rows []DetectionRow `json:"rows"`
}

// DetectionRow is one probe setting and failure kind: times from the
// injected failure.
type DetectionRow struct {
	Probe              string  `json:"probe"`
	IntervalMs         float64 `json:"intervalMs"`
	TimeoutMs          float64 `json:"timeoutMs"`
	Threshold          int     `json:"threshold"`
	Failure            string  `json:"failure"`
	PhaseMs            float64 `json:"phaseMs"` // the failure came this long after a successful probe
	Runs               int     `json:"runs"`
	FirstFailedProbeMs float64 `json:"firstFailedProbeMs"`
	MarkedDownMs       float64 `json:"markedDownMs"`
	DecisionMs         float64 `json:"decisionMs"`
}

// Resources is BenchmarkDaemonResources.
type Resources struct {
	Rows []ResourceRow `json:"rows"`
}

// ResourceRow is the monitor at one probe setting.
type ResourceRow struct {
	Probe       string  `json:"probe"`
	IntervalMs  float64 `json:"intervalMs"`
	TimeoutMs   float64 `json:"timeoutMs"`
	Threshold   int     `json:"threshold"`
	NVAs        int     `json:"nvas"`
	RouteTables int     `json:"routeTables"`
	WindowS     float64 `json:"windowS"` // the CPU time is measured over this window
	Runs        int     `json:"runs"`
	RSSMB       float64 `json:"rssMB"`      // VmRSS at the end of the window
	PeakRSSMB   float64 `json:"peakRssMB"`  // VmHWM
	CPUPercent  float64 `json:"cpuPercent"` // utime+stime over the window, % of one core
}

// Build sorts what was read into Results.
func Build(in Input, command string, now time.Time) Results {
	r := Results{
		Date:       now.UTC(),
		Command:    command,
		Benchmarks: in.Benchmarks,
		Machine: Machine{
			GOOS: in.GOOS, GOARCH: in.GOARCH, CPU: in.CPU,
			CPUs: runtime.NumCPU(), GOMAXPROCS: runtime.GOMAXPROCS(0), GoVersion: runtime.Version(),
		},
	}
	if r.Machine.GOOS == "" {
		r.Machine.GOOS = runtime.GOOS
	}
	if r.Machine.GOARCH == "" {
		r.Machine.GOARCH = runtime.GOARCH
	}
	if r.Benchmarks == nil {
		r.Benchmarks = []Benchmark{}
	}
	conv := map[int]*ConvergenceRow{}
	for _, b := range in.Benchmarks {
		if b.Procs > 0 {
			r.Machine.GOMAXPROCS = b.Procs
		}
		base, tags, params := splitName(b.Name)
		m := b.Metrics
		if buildDetectionGoals(&r, base, params, b) {
			continue
		}
		switch base {
		case "BenchmarkFailover":
			n, err := strconv.Atoi(params["tables"])
			if err != nil || len(tags) != 1 {
				continue
			}
			if r.Convergence == nil {
				r.Convergence = &Convergence{}
			}
			r.Convergence.LROLatencyMs = first(r.Convergence.LROLatencyMs, m["lro-latency-ms"])
			r.Convergence.PollMs = first(r.Convergence.PollMs, m["poll-ms"])
			row := conv[n]
			if row == nil {
				row = &ConvergenceRow{RouteTables: n, Runs: b.Runs}
				conv[n] = row
			}
			row.Runs = min(row.Runs, b.Runs)
			t := &Timing{RoutesMs: m["routes-ms"], PublicIPMs: m["pip-ms"], AllMs: m["total-ms"]}
			if _, ok := m["total-ms"]; !ok {
				t.AllMs = max(t.RoutesMs, t.PublicIPMs)
			}
			switch tags[0] {
			case "concurrent":
				row.Hanva = t
			case "sequential":
				row.MspnpOrder = t
			}
		case "BenchmarkSteering":
			n, err := strconv.Atoi(params["tables"])
			if err != nil || params["mode"] == "" || len(tags) != 0 {
				continue
			}
			if r.Steering == nil {
				r.Steering = &Steering{}
			}
			r.Steering.LROLatencyMs = first(r.Steering.LROLatencyMs, m["lro-latency-ms"])
			r.Steering.PollMs = first(r.Steering.PollMs, m["poll-ms"])
			r.Steering.Rows = append(r.Steering.Rows, SteeringRow{Mode: params["mode"], RouteTables: n, Runs: b.Runs,
				ConvergedMs: m["converged-ms"], Writes: m["writes"]})
		case "BenchmarkScale":
			n, err1 := strconv.Atoi(params["tables"])
			subs, err2 := strconv.Atoi(params["subs"])
			if err1 != nil || err2 != nil || len(tags) != 0 {
				continue
			}
			if r.Scale == nil {
				r.Scale = &Scale{}
			}
			r.Scale.LROLatencyS = first(r.Scale.LROLatencyS, m["lro-latency-s"])
			r.Scale.Rows = append(r.Scale.Rows, ScaleRow{RouteTables: n, Subscriptions: subs, Runs: b.Runs,
				ConvergedS: m["converged-s"], FloorS: m["floor-s"], Ratio: m["ratio"], OverFloorL: m["over-floor-L"],
				Throttled: m["throttled-429s"], Reads: m["reads"], Writes: m["writes"], MspnpOrderS: m["mspnp-order-s"]})
		case "BenchmarkDetection":
			if r.Detection == nil {
				r.Detection = &Detection{}
			}
			r.Detection.Rows = append(r.Detection.Rows, DetectionRow{
				Probe: params["probe"], IntervalMs: m["interval-ms"], TimeoutMs: m["timeout-ms"], Threshold: int(m["threshold"]),
				Failure: params["failure"], PhaseMs: m["phase-ms"], Runs: b.Runs,
				FirstFailedProbeMs: m["first-failed-ms"], MarkedDownMs: m["down-ms"], DecisionMs: m["decision-ms"],
			})
		case "BenchmarkDaemonResources":
			if r.Resources == nil {
				r.Resources = &Resources{}
			}
			r.Resources.Rows = append(r.Resources.Rows, ResourceRow{
				Probe: params["probe"], IntervalMs: m["interval-ms"], TimeoutMs: m["timeout-ms"], Threshold: int(m["threshold"]),
				NVAs: int(m["nvas"]), RouteTables: int(m["route-tables"]), WindowS: m["window-s"], Runs: b.Runs,
				RSSMB: m["rss-MB"], PeakRSSMB: m["peak-rss-MB"], CPUPercent: m["cpu-pct"],
			})
		}
	}
	if r.Convergence != nil {
		for _, row := range conv {
			if row.Hanva != nil && row.MspnpOrder != nil {
				row.RatioAll = ratio(row.MspnpOrder.AllMs, row.Hanva.AllMs)
				row.RatioRoutes = ratio(row.MspnpOrder.RoutesMs, row.Hanva.RoutesMs)
			}
			r.Convergence.Rows = append(r.Convergence.Rows, *row)
		}
		sort.Slice(r.Convergence.Rows, func(i, j int) bool {
			return r.Convergence.Rows[i].RouteTables < r.Convergence.Rows[j].RouteTables
		})
	}
	if sc := r.Scale; sc != nil {
		sort.SliceStable(sc.Rows, func(i, j int) bool {
			a, b := sc.Rows[i], sc.Rows[j]
			if a.Subscriptions != b.Subscriptions {
				return a.Subscriptions < b.Subscriptions
			}
			return a.RouteTables < b.RouteTables
		})
	}
	if s := r.Steering; s != nil {
		routes := map[int]float64{}
		for _, row := range s.Rows {
			if row.Mode == "routes" {
				routes[row.RouteTables] = row.ConvergedMs
			}
		}
		for i := range s.Rows {
			s.Rows[i].RatioToRoutes = ratio(s.Rows[i].ConvergedMs, routes[s.Rows[i].RouteTables])
		}
		rank := func(mode string) int {
			if i := slices.Index(steeringOrder, mode); i >= 0 {
				return i
			}
			return len(steeringOrder)
		}
		sort.SliceStable(s.Rows, func(i, j int) bool {
			a, b := s.Rows[i], s.Rows[j]
			if ra, rb := rank(a.Mode), rank(b.Mode); ra != rb {
				return ra < rb
			}
			if a.Mode != b.Mode {
				return a.Mode < b.Mode
			}
			return a.RouteTables < b.RouteTables
		})
	}
	return r
}

// splitName splits "BenchmarkX/a/k=v" into "BenchmarkX", [a] and {k: v}.
func splitName(name string) (base string, tags []string, params map[string]string) {
	parts := strings.Split(name, "/")
	params = map[string]string{}
	for _, p := range parts[1:] {
		if k, v, ok := strings.Cut(p, "="); ok {
			params[k] = v
		} else {
			tags = append(tags, p)
		}
	}
	return parts[0], tags, params
}

func first(have, v float64) float64 {
	if have != 0 {
		return have
	}
	return v
}

// ratio is a/b; 0 if b is not positive.
func ratio(a, b float64) float64 {
	if b <= 0 {
		return 0
	}
	return a / b
}
