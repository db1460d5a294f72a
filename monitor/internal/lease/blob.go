package lease

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blockblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/container"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/lease"

	// Aliased: the package's tests have a type named clock.
	sysclock "github.com/hanva/hanva/monitor/internal/clock"
)

// ErrNotLeader is returned (wrapped with the reason) by Check, WriteState and
// TakeRequest when this instance may not act as the leader.
var ErrNotLeader = errors.New("not the leader")

// Limits of a blob lease ("Lease Blob": 15–60 s or infinite,
// https://learn.microsoft.com/rest/api/storageservices/lease-blob).
const (
	MinDuration = 15 * time.Second
	MaxDuration = 60 * time.Second
)

const (
	// defaultRetryPeriod is how often a follower tries to acquire.
	defaultRetryPeriod = time.Second
	// renewRetry is how soon a failed renew is tried again.
	renewRetry = time.Second
	// minMargin is the smallest safety margin; see Margin.
	minMargin = 2 * time.Second
)

// Margin is how much earlier than storage this instance considers its lease
// over: max(2s, d/5), 3 s for a 15 s lease, 12 s for 60 s.
//
// Storage expires the lease d after it handled the acquire or renew, which is
// after the request started; Deadline counts from the request's start, so it
// is already early by the request's latency. The margin adds room for the
// local clock running slower than storage's (a 15 s lease tolerates 25%), for
// the time an ARM write checked just before the deadline needs to be sent,
// and for scheduling delays of the renew loop on a loaded machine.
func Margin(d time.Duration) time.Duration { return max(minMargin, d/5) }

// requestTimeout bounds each acquire, renew and release request: d/6 (2.5 s
// for a 15 s lease), well under the renew period d/3, so that a hanging
// request never delays the next renew attempt, and a renew is never waited
// for past the deadline.
func requestTimeout(d time.Duration) time.Duration { return d / 6 }

// BlobOptions configures NewBlob.
type BlobOptions struct {
	// Container is the client of the container holding the leader blob
	// (azure.BlobContainer builds it). Required.
	Container *container.Client
	// Blob is the leader blob's name; it may contain '/'. Required. Views and
	// requests live beside it: "<Blob>.views/<instance>.json",
	// "<Blob>.request.json".
	Blob string
	// Instance names this monitor (logs, views, State.Leader). Required; no '/'.
	Instance string
	// Duration of the lease, 15s..60s, whole seconds (a fraction is dropped).
	Duration time.Duration
	// RetryPeriod is how often a follower tries to acquire; default 1s.
	RetryPeriod time.Duration
	// Logger receives the lease events (see the Event* constants); default:
	// discard.
	Logger *slog.Logger
	// Now is the clock the deadline is measured with; default clock.Boot,
	// which keeps counting while the VM is frozen or suspended
	// (CLOCK_BOOTTIME on Linux). Not time.Now: Go's monotonic clock is
	// CLOCK_MONOTONIC, which does not count a suspend (clock_gettime(2),
	// https://man7.org/linux/man-pages/man2/clock_gettime.2.html), and the
	// wall clock is stepped after a maintenance pause; a leader waking from
	// a freeze longer than its lease must find its deadline passed. Tests
	// inject a clock that jumps.
	Now func() time.Time
	// Wall is a second clock that keeps time across a freeze by other means:
	// the wall clock, which the host's time synchronisation steps forward
	// after a maintenance pause. If it has advanced more than Now since the
	// last acquire or renew, the difference is taken off the time left
	// (Remaining): should Now have stood still through a freeze (a host on
	// which CLOCK_BOOTTIME does not count it), the lease is not trusted
	// past its true deadline. A wall clock stepped forward for another
	// reason only blocks writes until the next renew. Default time.Now
	// without its monotonic reading.
	Wall func() time.Time
	// OnRenew, when set, is called after every renew attempt with its
	// outcome (metrics). It must not block.
	OnRenew func(ok bool)
}

// Blob is leader election through an Azure Storage blob lease, plus the
// shared state, views and requests stored beside the leader blob. Its
// methods are safe for concurrent use. See the package documentation.
type Blob struct {
	o       BlobOptions
	client  *blockblob.Client
	leaser  *lease.BlobClient
	margin  time.Duration
	timeout time.Duration
	now     func() time.Time
	log     *slog.Logger

	edges   chan bool     // Leadership; capacity 1, latest edge wins
	emitMu  sync.Mutex    // serialises emit
	kick    chan struct{} // wakes the leading loop (Resign, lease lost elsewhere)
	running atomic.Bool

	mu       sync.Mutex
	held     bool      // this instance holds the lease (until deadline)
	term     uint64    // counts acquisitions; guards against late updates
	start    time.Time // when the current term's acquire started
	deadline time.Time // by now: last successful acquire/renew start + Duration - margin
	// anchor and anchorWall are the readings of Now and Wall when the
	// request that set the deadline started.
	anchor, anchorWall time.Time
	holdOff            time.Time // no acquiring before this (Resign)
	owed               bool      // Resign asked for a release Run has not done yet
	epoch              int64     // last epoch read or written, for logs
}

// NewBlob checks o and returns a Blob; nothing is sent to storage until Run
// or another method is called.
func NewBlob(o BlobOptions) (*Blob, error) {
	switch {
	case o.Container == nil:
		return nil, errors.New("create blob lease: no container client")
	case o.Blob == "" || strings.HasSuffix(o.Blob, "/"):
		return nil, fmt.Errorf("create blob lease: blob name %q must be non-empty and not end in '/'", o.Blob)
	case o.Instance == "" || strings.ContainsAny(o.Instance, "/\\"):
		return nil, fmt.Errorf("create blob lease: instance name %q must be non-empty and contain no '/' or '\\'", o.Instance)
	}
	o.Duration = o.Duration.Truncate(time.Second)
	if o.Duration < MinDuration || o.Duration > MaxDuration {
		return nil, fmt.Errorf("create blob lease: duration %s is outside %s..%s (Azure's limits for a blob lease)", o.Duration, MinDuration, MaxDuration)
	}
	if o.RetryPeriod <= 0 {
		o.RetryPeriod = defaultRetryPeriod
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = sysclock.Boot
	}
	if o.Wall == nil {
		o.Wall = func() time.Time { return time.Now().Round(0) }
	}
	client := o.Container.NewBlockBlobClient(o.Blob)
	// One lease ID for the life of this Blob: an acquire whose response was
	// lost can be repeated (storage answers an acquire with the holder's own
	// ID as a renew), and after a loss the same ID can take the lease again
	// as soon as storage lets it. A restarted process gets a new ID and waits
	// for the old lease to expire.
	leaser, err := lease.NewBlobClient(client, nil)
	if err != nil {
		return nil, fmt.Errorf("create blob lease client: %w", err)
	}
	return &Blob{
		o:       o,
		client:  client,
		leaser:  leaser,
		margin:  Margin(o.Duration),
		timeout: requestTimeout(o.Duration),
		now:     o.Now,
		log:     o.Logger.With(slog.String(keyInstance, o.Instance)),
		edges:   make(chan bool, 1),
		kick:    make(chan struct{}, 1),
	}, nil
}

// Check returns nil if and only if this instance holds the lease and Now()
// is before its deadline; otherwise an error wrapping ErrNotLeader that says
// why. It compares the clock itself, so it fails as soon as the deadline has
// passed even if the renew loop has not run (a process paused past its
// deadline). Call it right before every write that only the leader may make.
func (b *Blob) Check() error {
	_, err := b.Remaining()
	return err
}

// Remaining is Check plus the time left before the deadline by the lease's
// own clock (BlobOptions.Now), less however much more the wall clock has
// advanced since the last acquire or renew (BlobOptions.Wall): positive
// with a nil error while this instance leads, otherwise an error wrapping
// ErrNotLeader. It is the ARM write gate (azure.Settings.WriteGate): the
// last check before a write leaves, and the bound of that write.
func (b *Blob) Remaining() (time.Duration, error) {
	b.mu.Lock()
	held, dl, anchor, anchorWall := b.held, b.deadline, b.anchor, b.anchorWall
	b.mu.Unlock()
	if !held {
		return 0, fmt.Errorf("%w: %s does not hold the lease on %s", ErrNotLeader, b.o.Instance, b.o.Blob)
	}
	now := b.now()
	if !now.Before(dl) {
		return 0, fmt.Errorf("%w: the lease deadline of %s passed %s ago", ErrNotLeader, b.o.Instance, now.Sub(dl).Round(time.Millisecond))
	}
	left := dl.Sub(now)
	if !anchorWall.IsZero() {
		if ahead := b.o.Wall().Sub(anchorWall) - now.Sub(anchor); ahead > 0 {
			if left -= ahead; left <= 0 {
				return 0, fmt.Errorf("%w: since the last renew the wall clock of %s advanced %s more than the lease clock "+
					"(a freeze the lease clock did not count?); no writes until the lease is renewed",
					ErrNotLeader, b.o.Instance, ahead.Round(time.Millisecond))
			}
		}
	}
	return left, nil
}

// Term returns the number of the current term (counting acquisitions since
// NewBlob, from 1) while this instance holds the lease and its deadline has
// not passed, and 0 otherwise. Unlike an edge of Leadership, which may
// arrive late, it is the lease's state now: a receiver of an edge asks Term
// what is true, and a term that changed means the lease was lost and taken
// again in between.
func (b *Blob) Term() uint64 {
	b.mu.Lock()
	held, dl, term := b.held, b.deadline, b.term
	b.mu.Unlock()
	if !held || !b.now().Before(dl) {
		return 0
	}
	return term
}

// Leadership returns the channel of leadership edges: true when this
// instance acquired the lease, false when it lost, resigned or released it.
// Run never blocks on it: it holds one edge, and an unread edge is replaced
// by the next one. So a receiver may see true twice in a row: the lease was
// lost and acquired again in between; treat such a true as a new term (read
// the shared state again, raise the epoch). Check, not this channel, decides
// whether a write may be made.
func (b *Blob) Leadership() <-chan bool { return b.edges }

// Deadline returns the instant, by BlobOptions.Now, at which this instance
// stops considering itself the leader (the start of the last successful
// acquire or renew request + Duration - Margin), or the zero time when it
// does not hold the lease. Compare it only with readings of the same clock
// (clock.Boot by default, not time.Now); Remaining does that.
func (b *Blob) Deadline() time.Time {
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.held {
		return time.Time{}
	}
	return b.deadline
}

// Resign stops leading at once: Check fails from now on, Leadership gets
// false, Run releases the lease, and Run does not try to acquire it again
// for one Duration (another monitor with a higher epoch exists; let it
// lead). The caller must have stopped its leader-only writes first.
func (b *Blob) Resign() {
	b.mu.Lock()
	wasHeld := b.held
	b.held = false
	b.owed = b.owed || wasHeld
	b.holdOff = b.now().Add(b.o.Duration)
	b.mu.Unlock()
	if wasHeld {
		b.emit(false)
	}
	b.wake()
}

// Run campaigns until ctx is cancelled: as a follower it tries to acquire
// the lease every RetryPeriod (creating the blob if it is missing); as the
// leader it renews every Duration/3, retries a failed renew about every
// second, and loses the lease when its deadline passes without a successful
// renew or when storage answers a renew with 409/412 (lease broken, expired
// and taken, or released). After a loss it campaigns again. When ctx is
// cancelled it releases the lease if it holds it (the caller has stopped its
// writes before cancelling) and returns ctx.Err(). Only one Run at a time.
func (b *Blob) Run(ctx context.Context) error {
	if !b.running.CompareAndSwap(false, true) {
		return errors.New("run blob lease: already running")
	}
	defer b.running.Store(false)
	for {
		term, ok := b.campaign(ctx)
		if !ok {
			return ctx.Err()
		}
		b.lead(ctx, term)
		if ctx.Err() != nil {
			return ctx.Err()
		}
	}
}

// campaign tries to acquire the lease until it succeeds (returns its term)
// or ctx ends (returns false).
func (b *Blob) campaign(ctx context.Context) (uint64, bool) {
	var lastErr string
	uncertain := false // an acquire may have succeeded unseen
	defer func() {
		if uncertain {
			// Give back a lease an interrupted acquire may have taken
			// (storage answers 409 if we do not hold it).
			b.releaseRequest(ctx)
		}
	}()
	for {
		if wait := b.holdOffLeft(); wait > 0 {
			// In steps, so that the hold-off follows b.now (an injected
			// clock) rather than one long timer.
			if !sleep(ctx, min(wait, b.o.RetryPeriod)) {
				return 0, false
			}
			continue
		}
		term, err := b.tryAcquire(ctx)
		if err == nil {
			return term, true
		}
		if ctx.Err() != nil {
			uncertain = true
			return 0, false
		}
		uncertain = false
		switch {
		case errors.Is(err, errHoldOff):
		case heldByOther(err):
			lastErr = ""
			b.log.Debug("the lease is held by another monitor", attrEvent(EventHeldByOther), attrErr(err))
		default:
			level := slog.LevelWarn
			if err.Error() == lastErr {
				level = slog.LevelDebug
			}
			lastErr = err.Error()
			b.log.Log(ctx, level, "cannot acquire the lease; retrying", attrEvent(EventAcquireFailed),
				slog.String("blob", b.o.Blob), attrErr(err))
		}
		if !sleep(ctx, b.o.RetryPeriod) {
			return 0, false
		}
	}
}

// errHoldOff says an acquire succeeded after Resign asked for a pause; the
// lease was given back.
var errHoldOff = errors.New("resigned: holding off")

// tryAcquire makes one acquire attempt, creating the blob if it is missing.
func (b *Blob) tryAcquire(ctx context.Context) (uint64, error) {
	startWall := b.o.Wall()
	start, err := b.acquireRequest(ctx)
	if isCode(err, http.StatusNotFound, "BlobNotFound") {
		if err := b.create(ctx); err != nil {
			return 0, err
		}
		startWall = b.o.Wall()
		start, err = b.acquireRequest(ctx)
	}
	if err != nil {
		return 0, err
	}
	took := b.now().Sub(start)
	b.mu.Lock()
	if b.now().Before(b.holdOff) {
		b.mu.Unlock()
		b.releaseRequest(ctx)
		return 0, errHoldOff
	}
	b.term++
	term := b.term
	b.held, b.start, b.owed = true, start, false
	b.deadline = start.Add(b.o.Duration - b.margin)
	b.anchor, b.anchorWall = start, startWall
	dl := b.deadline
	b.mu.Unlock()
	b.log.Info("this monitor holds the lease", attrEvent(EventAcquired), attrTime(keyDeadline, dl),
		attrDur(keyDuration, took), slog.String("blob", b.o.Blob), attrDur("lease_duration", b.o.Duration))
	b.emit(true)
	return term, nil
}

// acquireRequest sends one acquire and returns when it started.
func (b *Blob) acquireRequest(ctx context.Context) (time.Time, error) {
	start := b.now()
	rctx, cancel := context.WithTimeout(ctx, b.timeout)
	defer cancel()
	_, err := b.leaser.AcquireLease(rctx, int32(b.o.Duration/time.Second), nil)
	if err != nil {
		return start, fmt.Errorf("acquire lease on %s: %w", b.o.Blob, err)
	}
	return start, nil
}

// lead renews the lease of term until it is lost, resigned or ctx ends.
func (b *Blob) lead(ctx context.Context, term uint64) {
	renew := time.NewTimer(b.o.Duration / 3)
	defer renew.Stop()
	expire := time.NewTimer(b.untilDeadline())
	defer expire.Stop()
	for {
		select {
		case <-ctx.Done():
			b.release(ctx, term, "shutdown")
			return
		case <-b.kick: // Resign, or WriteState saw storage refuse the lease
		case <-expire.C:
			if b.untilDeadline() <= 0 {
				b.lose(term, "renew deadline passed without a successful renew")
			}
		case <-renew.C:
			renew.Reset(b.renew(ctx, term))
		}
		b.mu.Lock()
		held, owed, cur := b.held, b.owed, b.term
		b.mu.Unlock()
		if owed {
			b.release(ctx, term, "resign")
			return
		}
		if !held || cur != term {
			return
		}
		expire.Reset(b.untilDeadline())
	}
}

// untilDeadline is the time left before the deadline by b.now.
func (b *Blob) untilDeadline() time.Duration {
	b.mu.Lock()
	dl := b.deadline
	b.mu.Unlock()
	return dl.Sub(b.now())
}

// renew makes one renew attempt for term and says when to try next. It ends
// the term (lose) when the deadline has passed or storage says the lease is
// gone.
func (b *Blob) renew(ctx context.Context, term uint64) time.Duration {
	startWall := b.o.Wall()
	start := b.now()
	b.mu.Lock()
	held, cur, dl := b.held, b.term, b.deadline
	b.mu.Unlock()
	if !held || cur != term {
		return renewRetry
	}
	if !start.Before(dl) {
		b.lose(term, "renew deadline passed without a successful renew")
		return renewRetry
	}
	rctx, cancel := context.WithTimeout(ctx, min(b.timeout, dl.Sub(start)))
	_, err := b.leaser.RenewLease(rctx, nil)
	cancel()
	if ctx.Err() != nil {
		return renewRetry // lead sees ctx.Done and releases
	}
	took := b.now().Sub(start)
	if err == nil {
		b.mu.Lock()
		ok := b.held && b.term == term
		if ok {
			if nd := start.Add(b.o.Duration - b.margin); nd.After(b.deadline) {
				b.deadline = nd
				b.anchor, b.anchorWall = start, startWall
			}
			dl = b.deadline
		}
		b.mu.Unlock()
		b.onRenew(true)
		if ok {
			b.log.Debug("lease renewed", attrEvent(EventRenewed), attrTime(keyDeadline, dl), attrDur(keyDuration, took), b.attrEpoch())
		}
		return max(b.o.Duration/3-took, 0)
	}
	b.onRenew(false)
	err = fmt.Errorf("renew lease on %s: %w", b.o.Blob, err)
	if leaseGone(err) {
		b.lose(term, err.Error())
		return renewRetry
	}
	b.log.Warn("cannot renew the lease; retrying until the deadline", attrEvent(EventRenewFailed),
		attrTime(keyDeadline, dl), attrDur("left", dl.Sub(b.now())), attrDur(keyDuration, took), attrErr(err))
	return renewRetry
}

// lose ends term because the lease is (or must be considered) gone.
func (b *Blob) lose(term uint64, why string) {
	b.mu.Lock()
	if !b.held || b.term != term {
		b.mu.Unlock()
		return
	}
	b.held = false
	led := b.now().Sub(b.start)
	dl := b.deadline
	b.mu.Unlock()
	b.log.Error("LEASE LOST: this monitor is no longer the leader and must not write to Azure", attrEvent(EventLost),
		slog.String(keyReason, why), attrTime(keyDeadline, dl), attrDur(keyDuration, led), b.attrEpoch())
	b.emit(false)
	b.wake()
}

// release ends term and gives the lease back to storage.
func (b *Blob) release(ctx context.Context, term uint64, why string) {
	b.mu.Lock()
	wasHeld := b.held && b.term == term
	if b.term == term {
		b.held, b.owed = false, false
	}
	led := b.now().Sub(b.start)
	b.mu.Unlock()
	if wasHeld {
		b.emit(false)
	}
	attrs := []any{attrEvent(EventReleased), slog.String(keyReason, why), attrDur(keyDuration, led), b.attrEpoch()}
	if err := b.releaseRequest(ctx); err != nil {
		b.log.Warn("lease given up; the release request failed, so it expires on its own", append(attrs, attrErr(err))...)
		return
	}
	b.log.Info("lease released", attrs...)
}

// releaseRequest sends a release, even when ctx is cancelled.
func (b *Blob) releaseRequest(ctx context.Context) error {
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), b.timeout)
	defer cancel()
	if _, err := b.leaser.ReleaseLease(rctx, nil); err != nil {
		return fmt.Errorf("release lease on %s: %w", b.o.Blob, err)
	}
	return nil
}

// markLost is called when storage refused a write made with our lease ID:
// whatever the renew loop believes, the lease is gone.
func (b *Blob) markLost(err error) {
	b.mu.Lock()
	term, held := b.term, b.held
	b.mu.Unlock()
	if held {
		b.lose(term, err.Error())
	}
}

// holdOffLeft is how long campaigning must still pause after Resign.
func (b *Blob) holdOffLeft() time.Duration {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.holdOff.Sub(b.now())
}

// emit publishes a leadership edge without blocking: an unread edge is
// replaced by the newer one.
func (b *Blob) emit(leading bool) {
	b.emitMu.Lock()
	defer b.emitMu.Unlock()
	select {
	case <-b.edges:
	default:
	}
	b.edges <- leading // cannot block: emitMu makes us the only sender, and the buffer is empty
}

// wake nudges the leading loop without blocking.
func (b *Blob) wake() {
	select {
	case b.kick <- struct{}{}:
	default:
	}
}

func (b *Blob) onRenew(ok bool) {
	if b.o.OnRenew != nil {
		b.o.OnRenew(ok)
	}
}

func (b *Blob) attrEpoch() slog.Attr {
	b.mu.Lock()
	defer b.mu.Unlock()
	return slog.Int64(keyEpoch, b.epoch)
}

// sleep waits d or until ctx ends; false if ctx ended.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// isCode reports whether err carries a storage response with this status
// and (when code is not empty) this x-ms-error-code.
func isCode(err error, status int, code string) bool {
	var re *azcore.ResponseError
	if !errors.As(err, &re) {
		return false
	}
	return re.StatusCode == status && (code == "" || re.ErrorCode == code)
}

// heldByOther reports an acquire refused because the lease belongs to
// someone else: 409 LeaseAlreadyPresent, or LeaseIsBreakingAndCannotBeAcquired
// (docs/azure-behaviour.md#blob-lease, error codes).
func heldByOther(err error) bool {
	return isCode(err, http.StatusConflict, "LeaseAlreadyPresent") ||
		isCode(err, http.StatusConflict, "LeaseIsBreakingAndCannotBeAcquired")
}

// leaseGone reports a storage answer proving that our lease ID no longer
// holds the blob: any 409 to a renew (LeaseIdMismatchWithLeaseOperation,
// LeaseNotPresentWithLeaseOperation, LeaseIsBrokenAndCannotBeRenewed, ...),
// any 412 to a write made with the lease ID (LeaseLost,
// LeaseIdMismatchWithBlobOperation, LeaseNotPresentWithBlobOperation,
// LeaseIdMissing), or the blob being gone (404 BlobNotFound)
// (docs/azure-behaviour.md#blob-lease).
func leaseGone(err error) bool {
	return isCode(err, http.StatusConflict, "") ||
		isCode(err, http.StatusPreconditionFailed, "") ||
		isCode(err, http.StatusNotFound, "BlobNotFound")
}
