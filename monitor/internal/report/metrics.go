package report

import (
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

const namespace = "hanva"

// Metrics are the daemon's Prometheus metrics, on a registry of their own.
// Labels are bounded: NVA names come from the config, reasons and failure
// kinds are enumerations, status codes are HTTP codes.
type Metrics struct {
	reg *prometheus.Registry

	probes        *prometheus.CounterVec
	probeLatency  *prometheus.HistogramVec
	probeUp       *prometheus.GaugeVec
	nvaHealthy    *prometheus.GaugeVec
	activeNVA     *prometheus.GaugeVec
	failovers     *prometheus.CounterVec
	failoverTime  prometheus.Histogram
	lastFailover  prometheus.Gauge
	allDown       prometheus.Gauge
	holds         *prometheus.CounterVec
	armRequests   *prometheus.CounterVec
	splitRepairs  prometheus.Counter
	convergeError prometheus.Counter
	isLeader      prometheus.Gauge
	epoch         prometheus.Gauge
	renewals      *prometheus.CounterVec
	leaderChanges *prometheus.CounterVec
	views         *prometheus.CounterVec
	staleViews    *prometheus.CounterVec
	unreadable    prometheus.Gauge
	resourceTime  *prometheus.HistogramVec
}

// NewMetrics builds the metrics and registers them, with the Go and process
// collectors, on a private registry.
func NewMetrics(instance, version string) *Metrics {
	m := &Metrics{reg: prometheus.NewRegistry()}
	m.probes = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: namespace, Name: "probes_total",
		Help: "Probes sent to each NVA by result: ok, or the failure kind (refused, timeout, http_status, reset, unreachable, other). A rising failure count on the active NVA precedes a failover.",
	}, []string{"nva", "result"})
	m.probeLatency = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Namespace: namespace, Name: "probe_duration_seconds",
		Help:    "Time each probe took, successful or not; failures by timeout sit at the probe timeout.",
		Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
	}, []string{"nva"})
	m.probeUp = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Namespace: namespace, Name: "probe_success",
		Help: "1 if the last probe of the NVA succeeded, else 0.",
	}, []string{"nva"})
	m.nvaHealthy = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Namespace: namespace, Name: "nva_healthy",
		Help: "Health after thresholds: 1 up, 0 down, -1 unknown (not enough probes yet).",
	}, []string{"nva"})
	m.activeNVA = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Namespace: namespace, Name: "active_nva",
		Help: "1 for the NVA the monitor wants active (routes and public IPs point at it), 0 for the others.",
	}, []string{"nva"})
	m.failovers = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: namespace, Name: "failovers_total",
		Help: "Failovers by reason (active_down, failback, manual, no_active, split_repair) and result (ok, error).",
	}, []string{"reason", "result"})
	m.failoverTime = prometheus.NewHistogram(prometheus.HistogramOpts{
		Namespace: namespace, Name: "failover_duration_seconds",
		Help:    "Time from the failover decision until every managed route table and public IP was converged.",
		Buckets: []float64{.25, .5, 1, 2, 5, 10, 20, 30, 60, 120, 300},
	})
	m.resourceTime = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Namespace: namespace, Name: "resource_converge_seconds",
		Help: "Time from a failover decision until one managed resource that had to change was converged, by kind " +
			"(routeTable, publicIp, floatingIp, backendPool, dnsRecord): how long each way of steering traffic takes.",
		Buckets: []float64{.25, .5, 1, 2, 5, 10, 20, 30, 60, 120, 300},
	}, []string{"kind"})
	m.lastFailover = prometheus.NewGauge(prometheus.GaugeOpts{
		Namespace: namespace, Name: "last_failover_timestamp_seconds",
		Help: "Unix time the last failover completed; 0 if none since start.",
	})
	m.allDown = prometheus.NewGauge(prometheus.GaugeOpts{
		Namespace: namespace, Name: "all_nvas_down",
		Help: "1 while every NVA is down: nothing is changed in Azure and traffic is not flowing. Alert on this.",
	})
	m.holds = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: namespace, Name: "failover_holds_total",
		Help: "Probe rounds in which the active NVA was down but no failover was made, by reason (all_down, no_healthy_standby, anti_flap).",
	}, []string{"reason"})
	m.armRequests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: namespace, Name: "arm_requests_total",
		Help: "Azure Resource Manager responses by method, resource type and HTTP status code (0 = no response). 429s mean throttling, 412s ETag races.",
	}, []string{"method", "resource_type", "code"})
	m.splitRepairs = prometheus.NewCounter(prometheus.CounterOpts{
		Namespace: namespace, Name: "split_state_repairs_total",
		Help: "Times resources were found pointing at different NVAs and were converged to one.",
	})
	m.convergeError = prometheus.NewCounter(prometheus.CounterOpts{
		Namespace: namespace, Name: "converge_errors_total",
		Help: "Converge runs that left at least one managed resource not on the active NVA (retried on the next reconcile).",
	})
	m.isLeader = prometheus.NewGauge(prometheus.GaugeOpts{
		Namespace: namespace, Name: "is_leader",
		Help: "1 while this monitor holds the leader lease and may write to ARM; exactly one monitor should show 1.",
	})
	m.epoch = prometheus.NewGauge(prometheus.GaugeOpts{
		Namespace: namespace, Name: "epoch",
		Help: "The epoch this monitor last led or wrote with (raised on every leadership and every failover); stamped on the resources it writes.",
	})
	m.renewals = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: namespace, Name: "lease_renewals_total",
		Help: "Leader lease renew attempts by result (ok, error). Errors followed by is_leader 0 mean the lease was lost.",
	}, []string{"result"})
	m.leaderChanges = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: namespace, Name: "leadership_changes_total",
		Help: "Times this monitor became leader (acquired) or stopped leading (lost, resigned).",
	}, []string{"change"})
	m.views = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: namespace, Name: "view_publishes_total",
		Help: "Publications of this monitor's view of NVA health to the shared storage, by result (ok, error).",
	}, []string{"result"})
	info := prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Namespace: namespace, Name: "build_info",
		Help: "Always 1; labels carry the monitor's version and instance name.",
	}, []string{"version", "instance"})
	info.WithLabelValues(version, instance).Set(1)

	m.staleViews = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: namespace, Name: "views_stale_total",
		Help: "Other monitors' views left out of a quorum count because they were older (by the storage service's clock) than three view intervals, by monitor. A monitor that keeps showing up here is not publishing: look at its view_publishes_total and its link to storage.",
	}, []string{"monitor"})
	m.unreadable = prometheus.NewGauge(prometheus.GaugeOpts{
		Namespace: namespace, Name: "unreadable_resources",
		Help: "Managed route tables and public IPs the last read of Azure could not read (403, 404, errors). Nonzero: they are left out of decisions and cannot be converged; the log line resource_unreadable names them.",
	})
	m.reg.MustRegister(m.staleViews, m.unreadable, m.probes, m.probeLatency, m.probeUp, m.nvaHealthy, m.activeNVA,
		m.failovers, m.failoverTime, m.resourceTime, m.lastFailover, m.allDown, m.holds, m.armRequests,
		m.splitRepairs, m.convergeError, m.isLeader, m.epoch, m.renewals, m.leaderChanges, m.views, info,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Registry exposes the private registry (tests gather from it).
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// Handler serves the metrics in the Prometheus exposition format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
}

// InitNVAs creates every per-NVA series up front so dashboards see zeros
// rather than gaps.
func (m *Metrics) InitNVAs(names []string) {
	for _, n := range names {
		m.probeUp.WithLabelValues(n)
		m.nvaHealthy.WithLabelValues(n).Set(-1)
		m.activeNVA.WithLabelValues(n)
		m.probes.WithLabelValues(n, "ok")
	}
}

// ProbeResult records one probe; failure is "" for success.
func (m *Metrics) ProbeResult(nva, failure string, latency time.Duration) {
	result := failure
	if result == "" {
		result = "ok"
	}
	m.probes.WithLabelValues(nva, result).Inc()
	m.probeLatency.WithLabelValues(nva).Observe(latency.Seconds())
	if failure == "" {
		m.probeUp.WithLabelValues(nva).Set(1)
	} else {
		m.probeUp.WithLabelValues(nva).Set(0)
	}
}

// Health records the thresholded health of an NVA: "up", "down" or "unknown".
func (m *Metrics) Health(nva, health string) {
	v := -1.0
	switch health {
	case "up":
		v = 1
	case "down":
		v = 0
	}
	m.nvaHealthy.WithLabelValues(nva).Set(v)
}

// Active marks which NVA is active; all others are set to 0.
func (m *Metrics) Active(active string, all []string) {
	for _, n := range all {
		v := 0.0
		if n == active {
			v = 1
		}
		m.activeNVA.WithLabelValues(n).Set(v)
	}
}

// Failover records a finished failover.
func (m *Metrics) Failover(reason string, err error, took time.Duration, at time.Time) {
	result := "ok"
	if err != nil {
		result = "error"
		m.convergeError.Inc()
	}
	m.failovers.WithLabelValues(reason, result).Inc()
	m.failoverTime.Observe(took.Seconds())
	m.lastFailover.Set(float64(at.UnixNano()) / 1e9)
}

// ResourceConverged records how long after a failover decision one
// managed resource of kind was converged.
func (m *Metrics) ResourceConverged(kind string, after time.Duration) {
	m.resourceTime.WithLabelValues(kind).Observe(after.Seconds())
}

// ConvergeError records a converge run (other than a failover) that failed.
func (m *Metrics) ConvergeError() { m.convergeError.Inc() }

// SplitRepair records that a split state was found and is being repaired.
func (m *Metrics) SplitRepair() { m.splitRepairs.Inc() }

// AllDown sets the all-NVAs-down alarm.
func (m *Metrics) AllDown(down bool) {
	if down {
		m.allDown.Set(1)
	} else {
		m.allDown.Set(0)
	}
}

// Hold counts a probe round in which a failover was warranted but held back.
func (m *Metrics) Hold(reason string) { m.holds.WithLabelValues(reason).Inc() }

// ARMResponse counts one ARM response; status 0 means no response arrived.
func (m *Metrics) ARMResponse(method, resourceType string, status int) {
	m.armRequests.WithLabelValues(method, resourceType, strconv.Itoa(status)).Inc()
}

// Leader records whether this monitor leads.
func (m *Metrics) Leader(leading bool) {
	if leading {
		m.isLeader.Set(1)
	} else {
		m.isLeader.Set(0)
	}
}

// LeadershipChange counts a change: "acquired", "lost" or "resigned".
func (m *Metrics) LeadershipChange(change string) { m.leaderChanges.WithLabelValues(change).Inc() }

// Epoch records the epoch this monitor leads with.
func (m *Metrics) Epoch(e int64) { m.epoch.Set(float64(e)) }

// LeaseRenewal counts one renew attempt.
func (m *Metrics) LeaseRenewal(ok bool) {
	if ok {
		m.renewals.WithLabelValues("ok").Inc()
	} else {
		m.renewals.WithLabelValues("error").Inc()
	}
}

// ViewStale counts a view left out of a quorum count as stale.
func (m *Metrics) ViewStale(monitor string) { m.staleViews.WithLabelValues(monitor).Inc() }

// Unreadable sets how many managed resources the last read of Azure could
// not read.
func (m *Metrics) Unreadable(n int) { m.unreadable.Set(float64(n)) }

// ViewPublished counts one publication of this monitor's view.
func (m *Metrics) ViewPublished(err error) {
	if err != nil {
		m.views.WithLabelValues("error").Inc()
	} else {
		m.views.WithLabelValues("ok").Inc()
	}
}
