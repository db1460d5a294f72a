package config

import (
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestApplyDefaultsFillsEveryUnsetField(t *testing.T) {
	c := validConfig()
	c.NVAs[1].Probe.Kind = ProbeHTTP
	c.ApplyDefaults()
	want := validConfig()
	want.Cloud = CloudAzurePublic
	want.Credential.Kind = CredentialManagedIdentity
	want.Probe = ProbeTiming{Interval: Duration(time.Second), Timeout: Duration(time.Second), FastInterval: Duration(100 * time.Millisecond),
		FailureThreshold: 3, SuccessThreshold: 2}
	want.NVAs[0].Probe.Kind = ProbeTCP
	want.NVAs[1].Probe.Kind, want.NVAs[1].Probe.Path = ProbeHTTP, "/"
	want.Failback = FailbackNever
	want.FailbackHoldoff = Duration(60 * time.Second)
	want.MinFailoverInterval = Duration(30 * time.Second)
	want.PollInterval = Duration(500 * time.Millisecond)
	want.OperationTimeout = Duration(5 * time.Minute)
	want.ReconcileInterval = Duration(30 * time.Second)
	want.Listen = "127.0.0.1:9414"
	want.Log = Log{Format: LogFormatJSON, Level: LogLevelInfo}
	want.Quorum = QuorumNone
	want.ViewInterval = Duration(5 * time.Second)
	want.Lease = Lease{Kind: LeaseNone}
	if !reflect.DeepEqual(c, want) {
		t.Fatalf("defaults:\n got %+v\nwant %+v", c, want)
	}
	if c.Instance != "" {
		t.Fatalf("ApplyDefaults set Instance to %q; Load and Parse own that default", c.Instance)
	}
}

func TestApplyDefaultsTwiceIsTheSameAsOnce(t *testing.T) {
	once := validConfig()
	once.ApplyDefaults()
	twice := validConfig()
	twice.ApplyDefaults()
	twice.ApplyDefaults()
	if !reflect.DeepEqual(once, twice) {
		t.Fatalf("second ApplyDefaults changed the config:\n once %+v\ntwice %+v", once, twice)
	}
}

func TestApplyDefaultsKeepsWhatIsSet(t *testing.T) {
	c := validConfig()
	c.Cloud = CloudAzureChina
	c.Probe = ProbeTiming{Interval: Duration(2 * time.Second), Timeout: Duration(1500 * time.Millisecond), FastInterval: Duration(250 * time.Millisecond),
		FailureThreshold: 5, SuccessThreshold: 4}
	c.NVAs[0].Probe = Probe{Address: "10.0.1.4:8080", Kind: ProbeHTTP, Path: "/ready"}
	c.Failback = FailbackPreferred
	c.MinFailoverInterval = Duration(time.Minute)
	c.Listen = ":9500"
	c.Log.Level = LogLevelDebug
	want := *c
	want.NVAs = append([]NVA(nil), c.NVAs...)
	c.ApplyDefaults()
	checks := []struct {
		name      string
		got, want any
	}{
		{"cloud", c.Cloud, want.Cloud},
		{"probe timing", c.Probe, want.Probe},
		{"http probe", c.NVAs[0].Probe, want.NVAs[0].Probe},
		{"failback", c.Failback, want.Failback},
		{"minimum failover interval", c.MinFailoverInterval, want.MinFailoverInterval},
		{"listen", c.Listen, want.Listen},
		{"log level", c.Log.Level, want.Log.Level},
	}
	for _, ck := range checks {
		if !reflect.DeepEqual(ck.got, ck.want) {
			t.Errorf("%s changed: %v, want %v", ck.name, ck.got, ck.want)
		}
	}
}

func TestApplyDefaultsKeepsTheTimeoutWithinAShortInterval(t *testing.T) {
	c := validConfig()
	c.Probe.Interval = Duration(300 * time.Millisecond)
	c.ApplyDefaults()
	if c.Probe.Timeout.D() != 300*time.Millisecond {
		t.Fatalf("timeout = %v, want the 300ms interval", c.Probe.Timeout)
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
}

// TestProbeFastIntervalDefaultsAndLimits checks the fast interval's
// default (100ms, or half a shorter interval) and its validation.
func TestProbeFastIntervalDefaultsAndLimits(t *testing.T) {
	for _, tt := range []struct {
		interval, want time.Duration
	}{
		{time.Second, 100 * time.Millisecond},
		{5 * time.Second, 100 * time.Millisecond},
		{150 * time.Millisecond, 75 * time.Millisecond},
		{15 * time.Millisecond, 10 * time.Millisecond},
	} {
		c := validConfig()
		c.Probe = ProbeTiming{Interval: Duration(tt.interval)}
		c.ApplyDefaults()
		if got := c.Probe.FastInterval.D(); got != tt.want {
			t.Errorf("interval %s: fastInterval defaults to %s, want %s", tt.interval, got, tt.want)
		}
	}
	for _, tt := range []struct {
		fast time.Duration
		want string
	}{
		{5 * time.Millisecond, "probe.fastInterval: 5ms is below the minimum 10ms"},
		{2 * time.Second, "probe.fastInterval: 2s is longer than probe.interval 1s"},
	} {
		c := validConfig()
		c.Probe.FastInterval = Duration(tt.fast)
		c.ApplyDefaults()
		err := c.Validate()
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("fastInterval %s: error %v, want one containing %q", tt.fast, err, tt.want)
		}
	}
}
