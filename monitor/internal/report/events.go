package report

// Log attribute keys, defined once so every line uses the same names.
const (
	KeyEvent      = "event"
	KeyNVA        = "nva"
	KeyFrom       = "from"
	KeyTo         = "to"
	KeyRouteTable = "route_table"
	KeyPublicIP   = "public_ip"
	KeyFloatingIP = "floating_ip"
	KeyPool       = "backend_pool"
	KeyDNSRecord  = "dns_record"
	KeyReason     = "reason"
	KeyDuration   = "duration"
	KeyErr        = "err"
	KeyAttempt    = "attempt"
	KeyFailure    = "failure"
	KeyInstance   = "instance"
	KeyEpoch      = "epoch"
	KeyRequest    = "request"
)

// Event names: one per kind of log line, the value of the "event" attribute.
const (
	EventStarting          = "starting"
	EventProbeFailed       = "probe_failed"
	EventProbeRecovered    = "probe_recovered"
	EventHealthChanged     = "health_changed"
	EventActiveDiscovered  = "active_discovered"
	EventSplitRepair       = "split_state_repair"
	EventActiveAdopted     = "active_changed_externally"
	EventFailoverHeld      = "failover_held"
	EventAllDown           = "all_nvas_down"
	EventFailoverStarted   = "failover_started"
	EventFailoverCompleted = "failover_completed"
	EventFailoverFailed    = "failover_failed"
	EventTimeline          = "failover_timeline"
	EventReconcile         = "reconcile_drift"
	// EventReconcileLengthened: at start, the reconcile interval is longer
	// than configured, for the read budget of many managed resources.
	EventReconcileLengthened = "reconcile_interval_lengthened"
	EventStopping            = "stopping"
	EventLeaderElected       = "leader_elected"
	EventLeaderLost          = "leader_lost"
	EventFenced              = "fenced"
	EventNotLeader           = "follower_hold"
	EventQuorumHold          = "no_quorum"
	EventManualRequest       = "manual_request"
	EventStateWriteFailed    = "state_write_failed"
	EventStateRebuilt        = "shared_state_rebuilt"
	EventUnreadable          = "resource_unreadable"
	EventViewStale           = "view_stale"
	EventTakeover            = "takeover_started"
	EventRoundStale          = "probe_round_stale"
)
