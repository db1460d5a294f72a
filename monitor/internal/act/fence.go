package act

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/hanva/hanva/monitor/config"
	"github.com/hanva/hanva/monitor/internal/azure"
)

// EpochTag is the ARM tag in which the leader stamps its epoch on every
// route table and NIC it writes, inside the same If-Match guarded PUT. A
// resource whose tag is higher than the engine's epoch has been written by
// a newer leader and is not written again
// (docs/azure-behaviour.md#lease-fencing: the blob lease fences the blob
// only; the tag plus the ETag CAS fences ARM).
const EpochTag = config.EpochTag

// MaxEpoch is the highest epoch tag taken as one (2^53, what any JSON
// reader holds exactly). A larger or negative value is refused like a tag
// that is not a number: taken as 0, with a warning. Adopting it would leave
// no room to raise the epoch above it (int64 would wrap and switch fencing
// off) and would fence every leader that follows out of that resource.
const MaxEpoch int64 = 1 << 53

// ErrFenced is the error of a write refused because the resource carries a
// higher EpochTag than Options.Epoch: a newer leader exists, and this one
// must stop writing and step down.
var ErrFenced = errors.New("fenced by a newer leader")

// fencedError is ErrFenced with the epochs that decided it.
type fencedError struct {
	theirs, ours int64
}

func (f *fencedError) Error() string {
	return fmt.Sprintf("%v: it carries tag %s %d, ours is %d", ErrFenced, EpochTag, f.theirs, f.ours)
}

func (f *fencedError) Unwrap() error { return ErrFenced }

// Theirs is the epoch the resource carries.
func (f *fencedError) Theirs() int64 { return f.theirs }

// epoch is Options.Epoch now; 0 (no tagging, no fencing) when unset or not
// positive.
func (e *Engine) epoch() int64 {
	if e.opts.Epoch == nil {
		return 0
	}
	return max(e.opts.Epoch(), 0)
}

// epochKey returns the key under which tags hold EpochTag. Azure tag names
// are case-insensitive, so "Hanva-Epoch" is the same tag.
func epochKey(tags map[string]*string) (string, bool) {
	if _, ok := tags[EpochTag]; ok {
		return EpochTag, true
	}
	for k := range tags {
		if strings.EqualFold(k, EpochTag) {
			return k, true
		}
	}
	return "", false
}

// epochOf returns the epoch a resource's tags carry: 0 when there is none,
// and 0 with a warning (once per resource and value) when it is not an
// integer.
func (e *Engine) epochOf(r resource, tags map[string]*string) int64 {
	k, ok := epochKey(tags)
	if !ok || tags[k] == nil {
		return 0
	}
	v := strings.TrimSpace(*tags[k])
	n, err := strconv.ParseInt(v, 10, 64)
	if err == nil && n >= 0 && n <= MaxEpoch {
		return n
	}
	e.badTags.warn(e.log, r, k, v)
	return 0
}

// badTags remembers the invalid epoch tags already logged.
type badTags struct {
	mu   sync.Mutex
	seen map[string]string // resource key -> value logged
}

func (b *badTags) warn(log *slog.Logger, r resource, key, value string) {
	b.mu.Lock()
	if b.seen == nil {
		b.seen = map[string]string{}
	}
	prev, logged := b.seen[r.key()]
	b.seen[r.key()] = value
	b.mu.Unlock()
	if logged && prev == value {
		return
	}
	log.LogAttrs(context.Background(), slog.LevelWarn, EventEpochTagInvalid, attrEvent(EventEpochTagInvalid),
		attrStr("resource", r.name), attrStr("tag", key), attrStr("value", value),
		attrStr(keyErr, fmt.Sprintf("not an integer between 0 and %d: taken as epoch 0", MaxEpoch)))
}

// stamp fences one write: with the resource's tags as just read, it
// returns a permanent error wrapping ErrFenced if they carry a higher epoch
// than ours, and otherwise the tags with EpochTag set to ours (every other
// tag as read). Epoch is read here, at each write, since a new term can
// start between two writes. Without an epoch the tags are returned as they
// are.
func (e *Engine) stamp(r resource, tags map[string]*string) (map[string]*string, error) {
	ours := e.epoch()
	if ours == 0 {
		return tags, nil
	}
	if theirs := e.epochOf(r, tags); theirs > ours {
		return tags, permanent(&fencedError{theirs: theirs, ours: ours})
	}
	key, ok := epochKey(tags)
	if !ok {
		key = EpochTag
	}
	if tags == nil {
		tags = map[string]*string{}
	}
	v := strconv.FormatInt(ours, 10)
	tags[key] = &v
	return tags, nil
}

// fenceNote is what Plan adds to the description of a change that would be
// fenced; "" when it would be written.
func (e *Engine) fenceNote(theirs int64) string {
	if ours := e.epoch(); ours > 0 && theirs > ours {
		return fmt.Sprintf(" (fenced: it carries tag %s %d, ours is %d; would not be written)", EpochTag, theirs, ours)
	}
	return ""
}

// settle is the final error of one resource of a Converge whose context
// stop cancels. A fenced write stops the whole Converge at once (a fenced
// leader must stop writing everywhere); a resource cut off by that says
// so, and wraps the fence error too.
func settle(ctx context.Context, err error, stop context.CancelCauseFunc) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, ErrFenced) {
		stop(err)
		return err
	}
	if cause := context.Cause(ctx); errors.Is(err, context.Canceled) && errors.Is(cause, ErrFenced) {
		return fmt.Errorf("stop: %w (interrupted: %w)", cause, err)
	}
	return err
}

// fenceAttrs are the epochs of a fenced converge_failed line.
func fenceAttrs(err error) []slog.Attr {
	var f *fencedError
	if !errors.As(err, &f) {
		return nil
	}
	return []slog.Attr{slog.Int64(keyEpoch, f.ours), slog.Int64("resource_epoch", f.theirs)}
}

// KindNIC is the kind of a NIC's result in a report: only its epoch tag was
// written (ConvergeOptions.Stamp).
const KindNIC = "nic"

// stampNICs writes our epoch tag on every NVA NIC that carries a lower one,
// changing nothing else, NICs in parallel, each If-Match guarded and
// retried like any write. A fenced NIC stops the rest of the Converge
// through stop.
func (e *Engine) stampNICs(ctx context.Context, start time.Time, stop context.CancelCauseFunc) []ResourceResult {
	if e.epoch() == 0 {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, e.opts.OperationTimeout)
	defer cancel()
	out := make([]ResourceResult, len(e.x.nicIDs))
	var wg sync.WaitGroup
	for i, id := range e.x.nicIDs {
		ref := e.x.nics[idKey(id)]
		wg.Go(func() {
			r := ResourceResult{Kind: KindNIC, ID: ref.res.id}
			r.Attempts, r.Err = e.retry(ctx, ref.res.name, func(ctx context.Context) error {
				unlock, err := e.lockNIC(ctx, ref.res)
				if err != nil {
					return err
				}
				defer unlock()
				n, err := e.getNIC(ctx, ref.res)
				if errors.Is(err, azure.ErrNotFound) {
					return nil // nothing to fence
				}
				if err != nil {
					return err
				}
				if e.epochOf(ref.res, n.Tags) >= e.epoch() {
					return nil
				}
				if n.Properties != nil && !terminal(n.Properties.ProvisioningState) {
					// A write in flight (ours from the public IP move, or
					// someone's): let it settle, then look again.
					if err := sleep(ctx, e.opts.PollInterval); err != nil {
						return err
					}
					return errUnsettled
				}
				accepted, err := e.putNIC(ctx, ref.res, n)
				r.Stamped = r.Stamped || accepted
				return err
			})
			r.Duration = e.now().Sub(start)
			if r.Err = settle(ctx, r.Err, stop); r.Err != nil {
				r.Err = fmt.Errorf("stamp epoch on nic %q: %w", ref.res.name, r.Err)
				e.log.LogAttrs(ctx, slog.LevelError, EventConvergeFailed, append([]slog.Attr{attrEvent(EventConvergeFailed),
					attrStr("nic", ref.res.name), attrStr(keyReason, failureReason(r.Err)), attrErr(r.Err),
					attrInt("attempts", r.Attempts)}, fenceAttrs(r.Err)...)...)
			}
			out[i] = r
		})
	}
	wg.Wait()
	return out
}

// errUnsettled asks retry for another pass at once: the resource had a
// write in flight.
var errUnsettled = errors.New("write in flight")
