package act

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/network/armnetwork/v7"
)

// Defaults for Options.
const (
	DefaultPollInterval     = 500 * time.Millisecond
	DefaultOperationTimeout = 5 * time.Minute
	// DefaultCacheFor is two default reconcile intervals
	// (config.DefaultReconcileInterval, 30 s): the tables read by the last
	// Observe, or the one before if it was late, save a failover as many
	// reads.
	DefaultCacheFor = time.Minute
)

// Options tune the engine. Zero values take the defaults.
type Options struct {
	// PollInterval is the shortest period between two polls of an ARM
	// long-running operation (default 500ms); the first poll waits for the
	// latency the subscription's operations have shown, and many operations
	// in flight are polled less often (package documentation, Scale). The
	// server's Retry-After (10 s on Azure) is deliberately not waited for.
	PollInterval time.Duration
	// OperationTimeout bounds the convergence of one resource, retries
	// included (default 5m). All public IPs share one budget, since they move
	// together.
	OperationTimeout time.Duration
	// Logger receives one line per event; slog.Default() when nil.
	Logger *slog.Logger
	// BeforeWrite is called right before every ARM write (PUT). A non-nil
	// error aborts that write and the convergence of the resource; it is
	// reported, not retried. Use it for lease fencing.
	BeforeWrite func(ctx context.Context) error
	// Clock stamps reports and durations and dates the route tables Observe
	// keeps; time.Now when nil. Waits (backoff, Retry-After, polls, the
	// request budget) always use real timers.
	Clock func() time.Time
	// Epoch returns the leader's current epoch. It is called right before
	// every write (route table, NIC, load balancer, DNS record set): a
	// resource whose EpochTag (a tag; the metadata key of a record set) is
	// higher is not written (ErrFenced, and the rest of the Converge
	// stops); otherwise the write sets EpochTag to it. Nil, or a value
	// <= 0: no tag is written and nothing is fenced.
	Epoch func() int64
	// ReadLimit and WriteLimit are the client-side token buckets of each
	// subscription (default DefaultReadLimit and DefaultWriteLimit, Azure's
	// documented numbers): every ARM request takes a token of its kind
	// before it is sent. Lower them when other clients of the same
	// principal share the subscription's budget.
	ReadLimit, WriteLimit Limit
	// CacheFor is how long a route table read by Observe may stand in for
	// the first read of a Converge (default DefaultCacheFor; negative: never).
	CacheFor time.Duration

	clock clock // of the limiters; real time when nil (tests set a fake)
}

// Engine converges ARM to a desired active NVA. It is safe for concurrent
// use, but two Converge calls should not run at once: the daemon runs one
// at a time.
type Engine struct {
	x    *index
	opts Options
	log  *slog.Logger
	now  func() time.Time

	subsMu   sync.Mutex
	subs     map[string]*subscription // by lower-case subscription ID (subscription.go)
	tables   tableCache
	nicLocks nicLocks
	cred     azcore.TokenCredential
	copts    *arm.ClientOptions
	backoff  backoff
	badTags  badTags // invalid epoch tags already logged
}

// New checks the topology and builds the ARM clients (one set per
// subscription the topology names). cred and clientOpts come from
// monitor/internal/azure.
func New(topo Topology, cred azcore.TokenCredential, clientOpts *arm.ClientOptions, opts Options) (*Engine, error) {
	x, err := newIndex(topo)
	if err != nil {
		return nil, err
	}
	if opts.PollInterval <= 0 {
		opts.PollInterval = DefaultPollInterval
	}
	if opts.OperationTimeout <= 0 {
		opts.OperationTimeout = DefaultOperationTimeout
	}
	if opts.ReadLimit.Burst <= 0 || opts.ReadLimit.PerSecond <= 0 {
		opts.ReadLimit = DefaultReadLimit
	}
	if opts.WriteLimit.Burst <= 0 || opts.WriteLimit.PerSecond <= 0 {
		opts.WriteLimit = DefaultWriteLimit
	}
	if opts.CacheFor == 0 {
		opts.CacheFor = DefaultCacheFor
	}
	e := &Engine{
		x:       x,
		opts:    opts,
		log:     opts.Logger,
		now:     opts.Clock,
		subs:    map[string]*subscription{},
		cred:    cred,
		copts:   clientOpts,
		backoff: defaultBackoff,
	}
	if e.log == nil {
		e.log = slog.Default()
	}
	if e.now == nil {
		e.now = time.Now
	}
	var subs []string
	for _, n := range x.nics {
		subs = append(subs, n.res.sub)
	}
	for _, m := range slices.Concat(x.tables, x.pips, x.pools) {
		subs = append(subs, m.res.sub)
	}
	for _, m := range x.dns {
		subs = append(subs, m.res.sub)
	}
	for _, sub := range subs {
		if _, err := e.sub(sub); err != nil {
			return nil, fmt.Errorf("create ARM clients for subscription %s: %w", sub, err)
		}
	}
	return e, nil
}

// nicLocks keeps the engine's own writes to one NIC from overlapping: a
// public IP move, a floating IP move and an epoch stamp of the same NIC
// would otherwise fail each other's If-Match (412) or meet 409
// AnotherOperationInProgress, and wait out a backoff for nothing.
type nicLocks struct {
	mu sync.Mutex
	m  map[string]chan struct{}
}

// lockNIC waits until no other goroutine of the engine writes r, and
// returns the unlock. Hold it from the read to the end of the write's
// operation.
func (e *Engine) lockNIC(ctx context.Context, r resource) (unlock func(), err error) {
	l := &e.nicLocks
	l.mu.Lock()
	if l.m == nil {
		l.m = map[string]chan struct{}{}
	}
	ch := l.m[r.key()]
	if ch == nil {
		ch = make(chan struct{}, 1)
		l.m[r.key()] = ch
	}
	l.mu.Unlock()
	select {
	case ch <- struct{}{}:
		return func() { <-ch }, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (e *Engine) client(r resource) *armnetwork.ClientFactory { return e.mustSub(r.sub).net }

// sleep waits d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
