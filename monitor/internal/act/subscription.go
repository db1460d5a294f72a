package act

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/network/armnetwork/v7"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/privatedns/armprivatedns"

	"github.com/hanva/hanva/monitor/internal/azure"
)

const (
	kindRead = iota
	kindWrite
)

// subscription is everything the engine keeps per subscription: ARM
// throttles per subscription (and region and principal), so nothing here is
// shared between two, and a 429 in one never slows another.
type subscription struct {
	id  string
	net *armnetwork.ClientFactory
	dns *armprivatedns.ClientFactory
	// raw sends the requests whose answer is read without the SDK's models
	// (Observe's route table reads, readRouteTable), through the same
	// pipeline and policies as net's.
	raw    *arm.Client
	limits [2]*limiter   // by kindRead, kindWrite
	reads  chan struct{} // slots of the reads in flight (maxReadsInFlight)
	decide slots         // route tables a Converge reads and decodes at once (maxReadsInFlight)
	lro    lroEstimate
}

// maxReadsInFlight bounds the reads of one subscription on the wire at
// once. Without it an Observe of 500 tables sends the read burst (250) at
// once: 250 TLS connections, most closed again at once (the transport keeps
// 20 idle per host), and a daemon whose resident memory peaked at 87 MB
// (BenchmarkDaemonResources with 500 tables). 32 reads in flight still
// carry far more than the 25 a second ARM refills. Writes are not held
// here: a write's token is taken before the lease check, and nothing may
// wait between that check and the write leaving.
const maxReadsInFlight = 32

// slots is a counting semaphore.
type slots chan struct{}

func (s slots) acquire(ctx context.Context) error {
	select {
	case s <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (s slots) release() { <-s }

// perSub runs fn(i) for every i in [0, n) on wg, at most maxReadsInFlight
// at once per subscription (subOf(i)): one worker per read slot rather than
// one goroutine per resource, so that 500 tables waiting for read tokens do
// not each hold a goroutine's stack and a response being decoded (that
// made most of the monitor's peak memory with 500 tables). Subscriptions
// go in parallel, each at its own pace.
func perSub(wg *sync.WaitGroup, n int, subOf func(i int) string, fn func(i int)) {
	var order []string
	bySub := map[string][]int{}
	for i := range n {
		k := idKey(subOf(i))
		if _, ok := bySub[k]; !ok {
			order = append(order, k)
		}
		bySub[k] = append(bySub[k], i)
	}
	for _, k := range order {
		idx := bySub[k]
		var next atomic.Int64
		for range min(len(idx), maxReadsInFlight) {
			wg.Go(func() {
				for {
					j := int(next.Add(1)) - 1
					if j >= len(idx) {
						return
					}
					fn(idx[j])
				}
			})
		}
	}
}

// sub returns the state of subscription id, creating it (clients and
// limiters) on first use.
func (e *Engine) sub(id string) (*subscription, error) {
	key := idKey(id)
	e.subsMu.Lock()
	defer e.subsMu.Unlock()
	if s := e.subs[key]; s != nil {
		return s, nil
	}
	s := &subscription{id: id, reads: make(chan struct{}, maxReadsInFlight), decide: make(slots, maxReadsInFlight)}
	s.limits[kindRead] = newLimiter(e.opts.ReadLimit, e.opts.clock)
	s.limits[kindWrite] = newLimiter(e.opts.WriteLimit, e.opts.clock)
	opts := &arm.ClientOptions{}
	if e.copts != nil {
		*opts = *e.copts
	}
	// The shaping policy runs on every try of every request of this
	// subscription's clients, LRO polls included (cloud-provider-azure puts
	// its throttling gate in the pipeline the same way).
	opts.PerRetryPolicies = append(slices.Clone(opts.PerRetryPolicies), shaper{s})
	var err error
	if s.net, err = armnetwork.NewClientFactory(id, e.cred, opts); err != nil {
		return nil, err
	}
	if s.dns, err = armprivatedns.NewClientFactory(id, e.cred, opts); err != nil {
		return nil, err
	}
	if s.raw, err = arm.NewClient(rawClientModule, rawClientVersion, e.cred, opts); err != nil {
		return nil, err
	}
	e.subs[key] = s
	return s, nil
}

// mustSub is sub for a subscription New created.
func (e *Engine) mustSub(id string) *subscription {
	s, err := e.sub(id)
	if err != nil {
		panic("act: subscription " + id + " not created by New: " + err.Error())
	}
	return s
}

// ctxKey types the context values of this file.
type ctxKey int

const (
	keyPrio ctxKey = iota
	keyPrepaid
	keyCounts
)

// withPrio marks the requests made with ctx with a limiter priority.
func withPrio(ctx context.Context, prio int) context.Context {
	return context.WithValue(ctx, keyPrio, prio)
}

func prioOf(ctx context.Context) int {
	if p, ok := ctx.Value(keyPrio).(int); ok {
		return p
	}
	return prioNormal
}

// prepay takes the token of the next request sent with the returned
// context now: a write takes its token before Options.BeforeWrite and the
// epoch fence, so that no wait for the budget comes between the lease
// check and the request leaving.
func (e *Engine) prepay(ctx context.Context, r resource, kind int) (context.Context, error) {
	s, err := e.sub(r.sub)
	if err != nil {
		return ctx, err
	}
	if err := s.limits[kind].take(ctx, prioOf(ctx)); err != nil {
		return ctx, err
	}
	paid := &atomic.Bool{}
	paid.Store(true)
	return context.WithValue(ctx, keyPrepaid, paid), nil
}

// counts are the ARM requests of one Converge (Report.Reads, Writes,
// Throttled).
type counts struct {
	reads, writes, throttled atomic.Int64
}

func withCounts(ctx context.Context, c *counts) context.Context {
	return context.WithValue(ctx, keyCounts, c)
}

func kindOfMethod(m string) int {
	if m == http.MethodGet || m == http.MethodHead {
		return kindRead
	}
	return kindWrite // PUT, PATCH, POST (and DELETE, which the engine does not send)
}

// shaper is the per-subscription pipeline policy: it takes a token of the
// request's kind (unless prepaid), counts the request, and learns the
// remaining budget from ARM's answer.
type shaper struct{ s *subscription }

func (p shaper) Do(req *policy.Request) (*http.Response, error) {
	ctx := req.Raw().Context()
	kind := kindOfMethod(req.Raw().Method)
	if paid, _ := ctx.Value(keyPrepaid).(*atomic.Bool); paid == nil || !paid.CompareAndSwap(true, false) {
		if err := p.s.limits[kind].take(ctx, prioOf(ctx)); err != nil {
			return nil, err
		}
	}
	if kind == kindRead {
		select {
		case p.s.reads <- struct{}{}:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		defer func() { <-p.s.reads }()
	}
	c, _ := ctx.Value(keyCounts).(*counts)
	if c != nil {
		if kind == kindRead {
			c.reads.Add(1)
		} else {
			c.writes.Add(1)
		}
	}
	resp, err := req.Next()
	if err != nil || resp == nil {
		return resp, err
	}
	if p.s.learn(resp) && c != nil {
		c.throttled.Add(1)
	}
	return resp, nil
}

// Headers ARM sends with the remaining budget of the caller's bucket and of
// the subscription's global one ("Remaining requests",
// https://learn.microsoft.com/azure/azure-resource-manager/management/request-limits-and-throttling#remaining-requests;
// the -global- ones are observed, docs/azure-behaviour.md#arm-throttling).
var remainingHeaders = [2][]string{
	kindRead:  {"x-ms-ratelimit-remaining-subscription-reads", "x-ms-ratelimit-remaining-subscription-global-reads"},
	kindWrite: {"x-ms-ratelimit-remaining-subscription-writes", "x-ms-ratelimit-remaining-subscription-global-writes"},
}

// learn lowers the limiters to what resp says is left, and on a throttling
// 429 empties the limiter of the request's kind and holds it until
// Retry-After. It reports whether resp was such a 429.
func (s *subscription) learn(resp *http.Response) bool {
	for kind, names := range remainingHeaders {
		for _, h := range names {
			if v := resp.Header.Get(h); v != "" {
				if n, err := strconv.ParseFloat(v, 64); err == nil {
					s.limits[kind].lower(n)
				}
			}
		}
	}
	if resp.StatusCode != http.StatusTooManyRequests {
		return false
	}
	err := azure.Classify(runtime.NewResponseError(resp))
	if !errors.Is(err, azure.ErrThrottled) {
		return false // a lock conflict (RetryableErrorDueToAnotherOperation), not quota
	}
	wait, ok := azure.RetryAfter(err)
	if !ok || wait <= 0 {
		wait = time.Second
	}
	s.limits[kindOfMethod(resp.Request.Method)].throttled(s.limits[kindRead].clk.Now().Add(wait))
	return true
}

// lroEstimate learns how long this subscription's operations take, so that
// the first status poll of the next one is sent when it may be done, not
// PollInterval after it started: one poll per operation instead of
// L/PollInterval, which is what lets hundreds of polls fit the read budget.
// The estimate is the shortest of the last few durations seen (from the
// write's answer to the poll that saw it done) in the last estimateFor. An
// operation seen done on the poll sent at the estimate confirms it (it
// records the estimate, not the time of that poll, which would ratchet the
// estimate up by the poll's margin each time); one seen done later records
// when. An overestimate costs at most the difference on an operation that
// was faster, an underestimate one more poll.
//
// Before anything was seen, one operation is the scout: it polls every
// PollInterval while the others wait for its result (or for it to give
// up, when the next one becomes the scout), so that a first failover of
// hundreds of tables does not spend the read budget on polls that cannot
// yet say Succeeded.
type lroEstimate struct {
	mu       sync.Mutex
	recent   [8]seen
	n        int
	scouting bool
	changed  chan struct{} // closed when the estimate or the scout changes
	inflight atomic.Int64  // operations being awaited
}

func (l *lroEstimate) notifyLocked() {
	if l.changed != nil {
		close(l.changed)
		l.changed = nil
	}
}

// seen is one duration learned, and when.
type seen struct {
	d  time.Duration
	at time.Time
}

// estimateFor is how long a duration learned counts: after a quiet spell
// the next burst of writes learns again from a scout, so an estimate that
// has grown stale (Azure got faster) does not last.
const estimateFor = 10 * time.Minute

func (l *lroEstimate) add(d time.Duration) {
	l.mu.Lock()
	l.recent[l.n%len(l.recent)] = seen{d: d, at: time.Now()}
	l.n++
	l.notifyLocked()
	l.mu.Unlock()
}

// estimateLocked returns the estimate, 0 if nothing recent was seen.
func (l *lroEstimate) estimateLocked() time.Duration {
	var best time.Duration
	for i := range min(l.n, len(l.recent)) {
		if r := l.recent[i]; time.Since(r.at) < estimateFor && (best == 0 || r.d < best) {
			best = r.d
		}
	}
	return best
}

func (l *lroEstimate) get() time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.estimateLocked()
}

// plan says when an operation may first be polled: after est when there is
// an estimate; as the scout (scout true, the caller must call release when
// it is done) when there is none and no scout; else not yet: wait for
// changed and ask again.
func (l *lroEstimate) plan() (est time.Duration, scout bool, changed <-chan struct{}) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if est := l.estimateLocked(); est > 0 {
		return est, false, nil
	}
	if !l.scouting {
		l.scouting = true
		return 0, true, nil
	}
	if l.changed == nil {
		l.changed = make(chan struct{})
	}
	return 0, false, l.changed
}

// release ends a scout's watch.
func (l *lroEstimate) release() {
	l.mu.Lock()
	l.scouting = false
	l.notifyLocked()
	l.mu.Unlock()
}

// observeReads is how many reads one Observe sends to its fullest
// subscription: one per NVA NIC and managed resource there.
func (e *Engine) observeReads() int {
	reads := map[string]int{}
	for _, id := range e.x.nicIDs {
		reads[idKey(e.x.nics[idKey(id)].res.sub)]++
	}
	for _, list := range [][]managed{e.x.tables, e.x.pips, e.x.pools, e.x.dns} {
		for _, m := range list {
			reads[idKey(m.res.sub)]++
		}
	}
	most := 0
	for _, n := range reads {
		most = max(most, n)
	}
	return most
}

// ReadTime is how long the reads of one Observe may wait for their budget:
// those of the fullest subscription at the read limit's refill rate, as
// from an empty bucket (another read may just have spent it). A caller
// that bounds an Observe should allow it at least this long: with 500
// route tables in one subscription it is 20 s at Azure's 25 reads a
// second, and a read bounded tighter leaves tables unread.
func (e *Engine) ReadTime() time.Duration {
	if e.opts.ReadLimit.PerSecond <= 0 {
		return 0
	}
	return time.Duration(float64(e.observeReads()) / e.opts.ReadLimit.PerSecond * float64(time.Second))
}

const (
	// NetworkReadsPerWindow are the reads Microsoft.Network allows per
	// subscription and region in NetworkWindow, whoever sends them
	// (https://learn.microsoft.com/azure/azure-resource-manager/management/request-limits-and-throttling#network-throttling).
	NetworkReadsPerWindow = 10000
	NetworkWindow         = 5 * time.Minute
	// observeShare is the part of a read budget the periodic Observes of
	// all monitors may take: the rest is for failovers' status polls and
	// for everyone else reading the subscription.
	observeShare = 0.5
)

// ObserveFloor is the shortest interval at which each of monitors monitors
// may Observe without their reads taking more than half of a budget: each
// monitor's own (its principal's bucket refills ReadLimit.PerSecond) and
// Microsoft.Network's, which every monitor of the subscription shares.
// With 500 route tables in one subscription it is 40 s for one monitor and
// 60 s for two; with tens of tables it is a second or two.
func (e *Engine) ObserveFloor(monitors int) time.Duration {
	reads := float64(e.observeReads())
	var floor float64
	if e.opts.ReadLimit.PerSecond > 0 {
		floor = reads / (observeShare * e.opts.ReadLimit.PerSecond)
	}
	shared := float64(max(monitors, 1)) * reads * NetworkWindow.Seconds() / (observeShare * NetworkReadsPerWindow)
	return time.Duration(max(floor, shared) * float64(time.Second))
}
