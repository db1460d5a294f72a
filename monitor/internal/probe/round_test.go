package probe

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

// probeFunc makes a Prober of a function.
type probeFunc func(ctx context.Context) error

func (f probeFunc) Probe(ctx context.Context) error { return f(ctx) }

var healthy = probeFunc(func(context.Context) error { return nil })

// hanging blocks until its context ends, like a silent NVA.
var hanging = probeFunc(func(ctx context.Context) error {
	<-ctx.Done()
	return ctx.Err()
})

func nvas(r Round) []string {
	var out []string
	for _, res := range r.Results {
		out = append(out, res.NVA)
	}
	return out
}

func TestOnceReturnsResultsInTargetOrderWhateverOrderTheyFinishIn(t *testing.T) {
	secondDone := make(chan struct{})
	targets := []Target{
		{NVA: "nva-1", Prober: probeFunc(func(ctx context.Context) error {
			<-secondDone // finishes after nva-2
			return errors.New("nva-1 is sick")
		})},
		{NVA: "nva-2", Prober: probeFunc(func(context.Context) error {
			defer close(secondDone)
			return nil
		})},
	}
	r := Once(context.Background(), targets, testTimeout)

	if got := strings.Join(nvas(r), ","); got != "nva-1,nva-2" {
		t.Fatalf("results for %s, want nva-1,nva-2", got)
	}
	if r.Results[0].OK || r.Results[0].Failure != Other || r.Results[0].Err == nil {
		t.Errorf("nva-1 = %+v, want a failure of kind other", r.Results[0])
	}
	if !r.Results[1].OK || r.Results[1].Failure != NoFailure || r.Results[1].Err != nil {
		t.Errorf("nva-2 = %+v, want OK", r.Results[1])
	}
	if r.Seq != 0 {
		t.Errorf("Seq = %d from Once, want 0", r.Seq)
	}
}

func TestOnceRecordsLatencyAndTime(t *testing.T) {
	const delay = 100 * time.Millisecond
	slow := probeFunc(func(ctx context.Context) error {
		select {
		case <-time.After(delay):
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	})
	r := Once(context.Background(), []Target{{NVA: "nva-1", Prober: slow}}, testTimeout)
	res := r.Results[0]
	if !res.OK {
		t.Fatalf("result = %+v, want OK", res)
	}
	if res.Latency < delay || res.Latency > delay+slack {
		t.Errorf("latency = %s, want about %s", res.Latency, delay)
	}
	if !res.At.Equal(r.Started.Add(res.Latency)) {
		t.Errorf("At = %v, want Started %v + latency %s", res.At, r.Started, res.Latency)
	}
}

func TestOnceGivesUpOnAProbeThatIgnoresItsContext(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	stubborn := probeFunc(func(context.Context) error {
		<-release
		return nil
	})
	const timeout = 200 * time.Millisecond
	start := time.Now()
	r := Once(context.Background(), []Target{
		{NVA: "nva-1", Prober: healthy},
		{NVA: "nva-2", Prober: stubborn},
	}, timeout)
	took := time.Since(start)

	if took < timeout || took > timeout+slack {
		t.Errorf("Once took %s, want about the %s timeout", took, timeout)
	}
	if !r.Results[0].OK {
		t.Errorf("nva-1 = %+v, want OK", r.Results[0])
	}
	res := r.Results[1]
	if res.OK || res.Failure != Timeout || res.NVA != "nva-2" {
		t.Errorf("nva-2 = %+v, want a timeout", res)
	}
	if res.Err == nil || !strings.Contains(res.Err.Error(), "probe nva-2: no result after") {
		t.Errorf("nva-2 error = %v, want it to say there was no result", res.Err)
	}
	if res.Latency < timeout {
		t.Errorf("nva-2 latency = %s, want at least the timeout %s", res.Latency, timeout)
	}
}

func TestOnceReportsProbesCutShortByCancellationAsOther(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		time.Sleep(50 * time.Millisecond)
		cancel()
	}()
	r := Once(ctx, []Target{{NVA: "nva-1", Prober: hanging}}, testTimeout)
	if res := r.Results[0]; res.OK || res.Failure != Other || !errors.Is(res.Err, context.Canceled) {
		t.Errorf("result = %+v, want other with context.Canceled", res)
	}
}

func TestOnceWithoutTargetsReturnsAnEmptyRound(t *testing.T) {
	r := Once(context.Background(), nil, time.Second)
	if len(r.Results) != 0 || r.Started.IsZero() {
		t.Errorf("round = %+v, want no results and a start time", r)
	}
}
