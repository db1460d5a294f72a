package lease

import (
	"log/slog"
	"time"
)

// Log attribute keys (the same names as monitor/internal/report).
const (
	keyEvent    = "event"
	keyInstance = "instance"
	keyEpoch    = "epoch"
	keyDeadline = "deadline"
	keyDuration = "duration"
	keyReason   = "reason"
	keyErr      = "err"
)

// Event names: the value of the "event" attribute of each lease log line.
const (
	// EventAcquired (info): this instance now holds the lease; duration is
	// how long the acquire request took, deadline the monotonic deadline
	// (as wall-clock time).
	EventAcquired = "lease_acquired"
	// EventRenewed (debug): a renew succeeded; duration is the request's
	// latency, deadline the new deadline.
	EventRenewed = "lease_renewed"
	// EventRenewFailed (warn): a renew failed for a reason that does not prove
	// the lease lost (timeout, 5xx, connection refused); the lease is retried
	// about every second until the deadline.
	EventRenewFailed = "lease_renew_failed"
	// EventLost (error): the lease is no longer held: its deadline passed
	// without a successful renew, or storage said it belongs to no one or to
	// someone else. duration is how long this instance led.
	EventLost = "lease_lost"
	// EventReleased (info): the lease was given back (shutdown or Resign);
	// err is set when the release request failed (the lease then expires on
	// its own). duration is how long this instance led.
	EventReleased = "lease_released"
	// EventAcquireFailed (warn, then debug while the error stays the same):
	// an acquire attempt failed for another reason than "someone else holds
	// the lease" (which is logged at debug level as EventHeldByOther).
	EventAcquireFailed = "lease_acquire_failed"
	// EventHeldByOther (debug): an acquire attempt found the lease held by
	// another instance.
	EventHeldByOther = "lease_held_by_other"
)

func attrEvent(name string) slog.Attr { return slog.String(keyEvent, name) }

// attrDur writes a duration as Go writes it ("1.2s"), the form the rest of
// the monitor's log lines and the config use.
func attrDur(key string, d time.Duration) slog.Attr {
	return slog.String(key, d.Round(time.Millisecond).String())
}

// attrTime writes a wall-clock instant without its monotonic reading.
func attrTime(key string, t time.Time) slog.Attr {
	return slog.String(key, t.Round(0).UTC().Format(time.RFC3339Nano))
}

func attrErr(err error) slog.Attr { return slog.String(keyErr, err.Error()) }
