// Package lease elects one leader among several nva-monitors through an
// Azure Storage blob lease, and keeps the state they share beside it: the
// shared State in the leased blob (written only with the lease ID), each
// monitor's View of NVA health, and a pending manual failover Request.
//
// Blob is the real thing; None is the twin for a monitor that runs alone
// (always the leader, state in memory). Both have the same methods, so the
// daemon holds either behind its own small interface.
//
// # Election
//
// Run campaigns until its context ends. A follower tries to acquire the
// lease every RetryPeriod (1 s), creating the leader blob if it is missing
// (If-None-Match: *, so two monitors never overwrite each other's). A 409
// LeaseAlreadyPresent means another monitor leads. The leader renews every
// Duration/3, retries a failed renew about every second, and each request
// is cut after Duration/6, so no request is ever waited for past the
// deadline.
//
// The deadline is the monotonic instant
//
//	start of the last successful acquire or renew request + Duration - Margin
//
// with Margin = max(2s, Duration/5) (3 s of a 15 s lease). Storage ends the
// lease Duration after it handled the request, so the deadline is earlier
// than storage's expiry by the request's latency plus the margin, which
// absorbs a local clock running slower than storage's (up to 25% for 15 s)
// and the time between a Check and the write it guards. When the deadline
// passes without a successful renew, or storage answers a renew with 409 or
// a write with 412 (lease broken, expired and taken, released), the lease is
// lost: Leadership gets false, the event lease_lost is logged at error
// level, and Run campaigns again.
//
// Check compares the clock (Now, monotonic) with the deadline itself; it
// does not trust the renew loop's timers. A process that was paused
// (SIGSTOP, VM freeze) past its deadline fails its first Check after waking,
// before any timer of the loop has fired.
//
// When Run's context is cancelled it releases the lease (the caller has
// stopped its writes first), so another monitor takes over within about a
// RetryPeriod instead of waiting for the lease to expire. Resign releases
// at once too, and keeps this monitor from campaigning for one Duration.
//
// # Safety argument, and the gap it leaves
//
//   - The shared state is fenced exactly: WriteState uploads with the lease
//     ID as access condition, so storage itself refuses a writer whose lease
//     expired or was taken (412). A refused write ends leadership at once.
//   - ARM writes cannot carry the lease ID. The leader therefore calls Check
//     right before every ARM write, so it never starts one after its
//     deadline, which comes Margin before storage can hand the lease to
//     anyone else.
//   - Check narrows but cannot close the gap
//     (docs/azure-behaviour.md#lease-fencing): a
//     write checked just before the deadline may reach ARM after it, if the
//     process is paused or the request is slow, while a new leader acts. So
//     every new leader raises the epoch in the shared state (only possible
//     while it holds the lease) and stamps it in the hanva-epoch tag of each
//     resource it writes, inside the same If-Match guarded PUT; a monitor
//     that reads a higher epoch than its own on a resource does not write and
//     resigns. A stale leader's late PUT then either fails its If-Match (the
//     new leader wrote since its read) or lands before the new leader's read,
//     which sees it and converges over it. What stays open: a late write to
//     a resource the new leader has not touched yet is visible until the new
//     leader's next convergence pass; and nothing here defends against clock
//     RATE errors beyond the margin (client-go states the same limit).
//   - Fail-static: losing the lease never changes routes; only a monitor
//     whose Check passes acts.
//
// The Leadership channel holds one edge; an unread edge is replaced by the
// newer one, so Run never blocks. A true received while already leading
// means the lease was lost and acquired again in between: treat it as a new
// term (read the state again, raise the epoch).
//
// # Storage layout
//
//	<Blob>                          the leader blob: State as JSON (empty until first written), leased
//	<Blob>.views/<instance>.json    each monitor's View, no lease
//	<Blob>.request.json             the pending manual Request, no lease; TakeRequest (the leader) or WithdrawRequest (the CLI that put it) deletes it (If-Match)
//
// # Logs
//
// Attribute "event": lease_acquired (info), lease_renewed (debug),
// lease_renew_failed (warn), lease_lost (error), lease_released (info; warn
// when the release request failed), lease_acquire_failed (warn, debug while
// the same error repeats), lease_held_by_other (debug). Other keys: instance,
// epoch (the last epoch this instance read or wrote), deadline (wall clock),
// duration (request latency, or for lost/released how long it led), reason,
// err.
//
// # Usage
//
//	c, name, err := azure.BlobContainer(cfg.Lease, cfg.Instance, version.Version)
//	...
//	l, err := lease.NewBlob(lease.BlobOptions{
//		Container: c, Blob: name, Instance: cfg.Instance,
//		Duration: cfg.Lease.Duration.D(), Logger: log, OnRenew: metrics.LeaseRenew,
//	})
//	...
//	go l.Run(ctx) // cancel ctx only after leader work has stopped
//	for leading := range l.Leadership() {
//		if !leading {
//			stopLeaderWork() // cancel and wait
//			continue
//		}
//		st, err := l.ReadState(ctx)   // finish what the previous leader started
//		st.Epoch++; st.Leader = cfg.Instance
//		err = l.WriteState(ctx, st)   // fails with ErrNotLeader unless the lease is ours
//		startLeaderWork(st)           // every ARM write: if l.Check() != nil { stop }
//	}
package lease
