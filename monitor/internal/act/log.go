package act

import (
	"log/slog"
	"time"
)

// Log attribute keys (the same names as monitor/internal/report).
const (
	keyEvent      = "event"
	keyNVA        = "nva"
	keyRouteTable = "route_table"
	keyPublicIP   = "public_ip"
	keyFloatingIP = "floating_ip"
	keyReason     = "reason"
	keyDuration   = "duration"
	keyErr        = "err"
	keyAttempt    = "attempt"
	keyEpoch      = "epoch"
	keyDNSRecord  = "dns_record"
)

// Event names, one per kind of line.
const (
	EventRouteTableConverged = "route_table_converged"
	EventPublicIPDetached    = "pip_detached"
	EventPublicIPMoved       = "pip_moved"
	EventFloatingIPDetached  = "floating_ip_detached"
	EventFloatingIPMoved     = "floating_ip_moved"
	EventRetry               = "arm_retry"
	EventConvergeFailed      = "converge_failed"
	EventEpochTagInvalid     = "epoch_tag_invalid"
	// EventRouteUnmatched is a route left alone: its next hop is an NVA
	// address with no counterpart on the target (see Unmatched).
	EventRouteUnmatched = "route_unmatched"
	// EventDNSRecordConverged is a Private DNS record set converged.
	EventDNSRecordConverged = "dns_record_converged"
)

// Backend pools (pool.go).
const (
	// EventBackendPoolConverged is a backend pool converged.
	EventBackendPoolConverged = "backend_pool_converged"
	keyBackendPool            = "backend_pool"
	keyLoadBalancer           = "load_balancer"
)

const levelRetry = slog.LevelWarn

func attrEvent(name string) slog.Attr     { return slog.String(keyEvent, name) }
func attrStr(key, v string) slog.Attr     { return slog.String(key, v) }
func attrInt(key string, v int) slog.Attr { return slog.Int(key, v) }

// attrDur writes a duration as Go writes it ("308.8ms"), the same form as
// the daemon's log lines and the config file, not slog's JSON nanoseconds.
func attrDur(key string, d time.Duration) slog.Attr {
	return slog.String(key, d.Round(time.Microsecond).String())
}
func attrErr(err error) slog.Attr { return slog.String(keyErr, err.Error()) }
