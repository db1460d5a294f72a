package act

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"
)

// The skeleton shared by the two-step NIC moves, public IPs
// (convergePublicIPs) and floating IPs (convergeFloatingIPs): rounds of
// read, decide, detach from the old NIC, attach to the new one, until
// every item is settled.

// moveRounds runs round(pending) until it returns nothing left to try:
// round finishes the items it settles and returns those to try again.
// Between rounds it sleeps the engine's backoff, and each item still
// pending counts one more attempt; if ctx ends during that sleep, every
// pending item gives up and is finished.
func (e *Engine) moveRounds(ctx context.Context, results []ResourceResult, finish func(i int), round func(pending []int) []int) {
	pending := make([]int, len(results))
	for i := range pending {
		pending[i] = i
	}
	for n := 1; len(pending) > 0; n++ {
		if n > 1 {
			if err := sleep(ctx, e.backoff.delay(n-1)); err != nil {
				for _, i := range pending {
					results[i].Err = giveUp(results[i].Err, err, results[i].Attempts)
					finish(i)
				}
				return
			}
			for _, i := range pending {
				results[i].Attempts++
			}
		}
		pending = round(pending)
	}
}

// moved names one item of a NIC move in its results and log lines.
type moved struct {
	key, value string // log attribute: keyPublicIP and the name, or keyFloatingIP and the address
	label      string // in errors: `public IP "pip-web"`, `floating IP 10.0.0.112`
	event      string // logged when it changed: EventPublicIPMoved, EventFloatingIPMoved
	// explain, if set, rewords a final error (after settle).
	explain func(error) error
}

// finishMove settles r, an item of a move to target, and logs it:
// converge_failed with the reason, or m.event when the move changed
// anything.
func (e *Engine) finishMove(ctx context.Context, r *ResourceResult, m moved, target string, start time.Time, stop context.CancelCauseFunc) {
	r.Duration = e.now().Sub(start)
	if r.Err = settle(ctx, r.Err, stop); r.Err != nil {
		if m.explain != nil {
			r.Err = m.explain(r.Err)
		}
		r.Err = fmt.Errorf("converge %s to nva %q: %w", m.label, target, r.Err)
		attrs := []slog.Attr{attrEvent(EventConvergeFailed),
			attrStr(m.key, m.value), attrStr(keyNVA, target), attrStr(keyReason, failureReason(r.Err)), attrErr(r.Err),
			attrInt("attempts", r.Attempts), attrDur(keyDuration, r.Duration)}
		e.log.LogAttrs(ctx, slog.LevelError, EventConvergeFailed, append(attrs, fenceAttrs(r.Err)...)...)
		return
	}
	if r.Changed {
		e.log.LogAttrs(ctx, slog.LevelInfo, m.event, attrEvent(m.event),
			attrStr(m.key, m.value), attrStr(keyNVA, target),
			attrInt("attempts", r.Attempts), attrDur(keyDuration, r.Duration))
	}
}

// groupBy splits items by key(i), groups in the order their first item
// comes: the NICs of a round's detaches or attaches.
func groupBy(items []int, key func(i int) string) [][]int {
	at := map[string]int{}
	var groups [][]int
	for _, i := range items {
		k := key(i)
		g, seen := at[k]
		if !seen {
			g = len(groups)
			at[k] = g
			groups = append(groups, nil)
		}
		groups[g] = append(groups[g], i)
	}
	return groups
}

// detachGroups runs detach for every group (one old NIC each: one PUT per
// NIC, NICs in parallel) and records each item's outcome under mu: the
// write's retries as attempts, whether it changed anything, and on error
// the item is finished; the others are handed to detached (which logs them)
// and returned, to be attached.
func (e *Engine) detachGroups(groups [][]int, results []ResourceResult, mu *sync.Mutex, finish func(i int),
	detach func(group []int) (n int, accepted bool, err error), detached func(i int)) []int {
	var wg sync.WaitGroup
	var out []int
	for _, group := range groups {
		wg.Go(func() {
			n, accepted, err := detach(group)
			mu.Lock()
			defer mu.Unlock()
			for _, i := range group {
				r := &results[i]
				r.Attempts += n - 1
				r.Changed = r.Changed || accepted
				if err != nil {
					r.Err = err
					finish(i)
					continue
				}
				detached(i)
				out = append(out, i)
			}
		})
	}
	wg.Wait()
	return out
}
