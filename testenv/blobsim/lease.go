package blobsim

import (
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Lease states as Get Blob reports them in x-ms-lease-state.
const (
	stateAvailable = "available"
	stateLeased    = "leased"
	stateExpired   = "expired"
	stateBreaking  = "breaking"
	stateBroken    = "broken"
)

// Limits of Lease Blob (https://learn.microsoft.com/rest/api/storageservices/lease-blob):
// a fixed lease lasts 15 to 60 seconds, -1 is infinite; a break period is
// 0 to 60 seconds.
const (
	minLease       = 15
	maxLease       = 60
	maxBreakPeriod = 60
)

// leaseState is a blob's lease. The stored state is one of the five above;
// settle moves leased to expired and breaking to broken once their time has
// come, so nothing runs in the background.
type leaseState struct {
	state    string // "" means available
	id       string
	infinite bool
	dur      time.Duration
	expiry   time.Time // fixed lease: when it expires
	breakAt  time.Time // breaking: when it is broken
}

// settle brings the stored state up to now. Expiry is at the instant, as in
// Azure: a lease acquired at t for 15 s is free at t+15s.
func (l *leaseState) settle(now time.Time) {
	switch l.state {
	case "":
		l.state = stateAvailable
	case stateLeased:
		if !l.infinite && !now.Before(l.expiry) {
			l.state = stateExpired
		}
	case stateBreaking:
		if !now.Before(l.breakAt) {
			l.state = stateBroken
			l.breakAt = time.Time{}
		}
	}
}

// locked reports whether writes need the lease ID: leased or breaking
// (x-ms-lease-status: locked).
func (l *leaseState) locked() bool { return l.state == stateLeased || l.state == stateBreaking }

func (l *leaseState) status() string {
	if l.locked() {
		return "locked"
	}
	return "unlocked"
}

func (l *leaseState) clear() { *l = leaseState{state: stateAvailable} }

func (l *leaseState) holds(id string) bool { return l.id != "" && strings.EqualFold(l.id, id) }

// Lease operation errors (https://learn.microsoft.com/rest/api/storageservices/blob-service-error-codes).
var (
	errLeaseAlreadyPresent  = newError(http.StatusConflict, "LeaseAlreadyPresent", "There is already a lease present.")
	errLeaseIDMismatch      = newError(http.StatusConflict, "LeaseIdMismatchWithLeaseOperation", "The lease ID specified did not match the lease ID for the blob.")
	errLeaseNotPresent      = newError(http.StatusConflict, "LeaseNotPresentWithLeaseOperation", "There is currently no lease on the blob.")
	errLeaseBreakingAcquire = newError(http.StatusConflict, "LeaseIsBreakingAndCannotBeAcquired", "There is already a breaking lease present; it cannot be acquired.")
	errLeaseBreakingChange  = newError(http.StatusConflict, "LeaseIsBreakingAndCannotBeChanged", "The lease ID matched, but the lease is currently in breaking state and cannot be changed.")
	errLeaseBrokenRenew     = newError(http.StatusConflict, "LeaseIsBrokenAndCannotBeRenewed", "The lease ID matched, but the lease has been broken explicitly and cannot be renewed.")
	errBlobLeaseIDMissing   = newError(http.StatusPreconditionFailed, "LeaseIdMissing", "There is currently a lease on the blob and no lease ID was specified in the request.")
	errBlobLeaseIDMismatch  = newError(http.StatusPreconditionFailed, "LeaseIdMismatchWithBlobOperation", "The lease ID specified did not match the lease ID for the blob.")
	errBlobLeaseNotPresent  = newError(http.StatusPreconditionFailed, "LeaseNotPresentWithBlobOperation", "There is currently no lease on the blob.")
	errBlobLeaseLost        = newError(http.StatusPreconditionFailed, "LeaseLost", "A lease ID was specified, but the lease for the blob has expired.")
	errMissingLeaseID       = missingHeader("x-ms-lease-id")
	errMissingProposedID    = missingHeader("x-ms-proposed-lease-id")
	errMissingLeaseDuration = missingHeader("x-ms-lease-duration")
	errMissingLeaseAction   = missingHeader("x-ms-lease-action")
	errInvalidLeaseAction   = invalidHeader("x-ms-lease-action", "acquire, renew, change, release or break")
	errInvalidLeaseDuration = invalidHeader("x-ms-lease-duration", "15 to 60 seconds, or -1 for infinite")
	errInvalidBreakPeriod   = invalidHeader("x-ms-lease-break-period", "0 to 60 seconds")
	errInvalidLeaseID       = invalidHeader("x-ms-lease-id", "a GUID")
	errInvalidProposedID    = invalidHeader("x-ms-proposed-lease-id", "a GUID")
)

func missingHeader(name string) *apiError {
	return newError(http.StatusBadRequest, "MissingRequiredHeader", "An HTTP header that's mandatory for this request is not specified: "+name+".")
}

func invalidHeader(name, want string) *apiError {
	return newError(http.StatusBadRequest, "InvalidHeaderValue", "The value for header "+name+" is invalid: want "+want+".")
}

// Lease Blob: https://learn.microsoft.com/rest/api/storageservices/lease-blob
// The outcomes follow that page's table "Outcomes of lease operations on
// blobs by lease state"; where it only says "Fails (409)" the error code is
// the one https://learn.microsoft.com/rest/api/storageservices/blob-service-error-codes
// describes for the situation.
func (s *Server) leaseBlob(r *http.Request, c *containerState, name string, now time.Time, resp *response) *apiError {
	action := strings.ToLower(r.Header.Get("x-ms-lease-action"))
	if action == "" {
		return errMissingLeaseAction
	}
	leaseID := r.Header.Get("x-ms-lease-id")
	if leaseID != "" && !isGUID(leaseID) {
		return errInvalidLeaseID
	}
	proposed := r.Header.Get("x-ms-proposed-lease-id")
	if proposed != "" && !isGUID(proposed) {
		return errInvalidProposedID
	}
	// Header validation comes before the blob's existence, as in Azure: a
	// malformed request is a 400 whatever the blob.
	var dur int
	var breakPeriod *int
	switch action {
	case "acquire":
		v := r.Header.Get("x-ms-lease-duration")
		if v == "" {
			return errMissingLeaseDuration
		}
		d, err := strconv.Atoi(v)
		if err != nil || (d != -1 && (d < minLease || d > maxLease)) {
			return errInvalidLeaseDuration
		}
		dur = d
	case "renew", "release":
		if leaseID == "" {
			return errMissingLeaseID
		}
	case "change":
		if leaseID == "" {
			return errMissingLeaseID
		}
		if proposed == "" {
			return errMissingProposedID
		}
	case "break":
		if v := r.Header.Get("x-ms-lease-break-period"); v != "" {
			p, err := strconv.Atoi(v)
			if err != nil || p < 0 || p > maxBreakPeriod {
				return errInvalidBreakPeriod
			}
			breakPeriod = &p
		}
	default:
		return errInvalidLeaseAction
	}
	b := c.blobs[name]
	if b == nil {
		return errBlobNotFound
	}
	l := &b.lease
	l.settle(now)
	var err *apiError
	status := http.StatusOK
	switch action {
	case "acquire":
		status = http.StatusCreated
		if proposed == "" {
			proposed = s.newID()
		}
		err = l.acquire(now, dur, proposed)
	case "renew":
		err = l.renew(now, leaseID)
	case "change":
		err = l.change(leaseID, proposed)
	case "release":
		err = l.release(leaseID)
	case "break":
		status = http.StatusAccepted
		err = l.breakLease(now, breakPeriod)
	}
	if err != nil {
		return err
	}
	// A lease operation does not modify the blob: ETag and Last-Modified
	// stay.
	resp.status = status
	resp.header.Set("ETag", b.etag)
	resp.header.Set("Last-Modified", httpDate(b.modified))
	switch action {
	case "acquire", "renew", "change":
		resp.header.Set("x-ms-lease-id", l.id)
	case "break":
		left := 0
		if l.state == stateBreaking {
			left = int(math.Ceil(l.breakAt.Sub(now).Seconds()))
		}
		resp.header.Set("x-ms-lease-time", strconv.Itoa(left))
	}
	return nil
}

// acquire: available, expired and broken leases are taken (by any ID); a
// leased one only by its own ID, which restarts it with the new duration.
func (l *leaseState) acquire(now time.Time, seconds int, id string) *apiError {
	switch l.state {
	case stateLeased:
		if !l.holds(id) {
			return errLeaseAlreadyPresent
		}
	case stateBreaking:
		// The table says "Fails (409)" for any ID. Azurite answers
		// LeaseIsBreakingAndCannotBeAcquired to the holder's ID and
		// LeaseAlreadyPresent to another; so do we.
		if l.holds(id) {
			return errLeaseBreakingAcquire
		}
		return errLeaseAlreadyPresent
	}
	*l = leaseState{state: stateLeased, id: id}
	if seconds == -1 {
		l.infinite = true
	} else {
		l.dur = time.Duration(seconds) * time.Second
		l.expiry = now.Add(l.dur)
	}
	return nil
}

// renew: only the holder's ID, on a leased lease or an expired one (Azure
// keeps an expired lease's ID until the blob is written or leased again,
// and renewing it then succeeds). A breaking or broken lease cannot be
// renewed.
func (l *leaseState) renew(now time.Time, id string) *apiError {
	switch l.state {
	case stateAvailable:
		// Azurite answers LeaseIdMismatchWithLeaseOperation here; the
		// documented meaning is "there is currently no lease".
		return errLeaseNotPresent
	case stateLeased, stateExpired:
		if !l.holds(id) {
			// Azurite renews an expired lease whatever ID is sent; the
			// table says Renew (B) on Expired (A) fails.
			return errLeaseIDMismatch
		}
		l.state = stateLeased
		if !l.infinite {
			l.expiry = now.Add(l.dur)
		}
		return nil
	default: // breaking, broken
		if !l.holds(id) {
			return errLeaseIDMismatch
		}
		return errLeaseBrokenRenew
	}
}

// change: only on a leased lease, when either ID matches the current one
// (so a repeated change succeeds); the expiry does not move.
func (l *leaseState) change(id, proposed string) *apiError {
	switch l.state {
	case stateLeased:
		if !l.holds(id) && !l.holds(proposed) {
			return errLeaseIDMismatch
		}
		l.id = proposed
		return nil
	case stateBreaking:
		if !l.holds(id) {
			return errLeaseIDMismatch
		}
		return errLeaseBreakingChange
	default: // available, expired, broken
		return errLeaseNotPresent
	}
}

// release: the holder's ID frees the lease in every state but available.
func (l *leaseState) release(id string) *apiError {
	if l.state == stateAvailable {
		// Azurite: LeaseIdMismatchWithLeaseOperation (see renew).
		return errLeaseNotPresent
	}
	if !l.holds(id) {
		return errLeaseIDMismatch
	}
	l.clear()
	return nil
}

// breakLease: anyone may break. A period of 0 breaks at once; without a
// period a fixed lease breaks when it would have expired and an infinite one
// at once; otherwise after min(period, time left). Breaking again can only
// shorten the wait; an expired or broken lease becomes broken.
func (l *leaseState) breakLease(now time.Time, period *int) *apiError {
	var at time.Time
	switch l.state {
	case stateAvailable:
		return errLeaseNotPresent
	case stateLeased:
		switch {
		case period == nil && l.infinite:
			at = now
		case period == nil:
			at = l.expiry
		default:
			at = now.Add(time.Duration(*period) * time.Second)
			if !l.infinite && l.expiry.Before(at) {
				at = l.expiry
			}
		}
	case stateBreaking:
		at = l.breakAt
		if period != nil {
			if p := now.Add(time.Duration(*period) * time.Second); p.Before(at) {
				at = p
			}
		}
	default: // expired, broken
		at = now
	}
	id := l.id
	*l = leaseState{id: id, state: stateBreaking, breakAt: at}
	l.settle(now)
	return nil
}

// checkWrite applies the lease rules of a write or delete that sent
// leaseID ("" for none) to an existing blob
// (https://learn.microsoft.com/rest/api/storageservices/put-blob#remarks,
// https://learn.microsoft.com/rest/api/storageservices/delete-blob#remarks).
func (l *leaseState) checkWrite(now time.Time, leaseID string) *apiError {
	l.settle(now)
	switch {
	case l.locked() && leaseID == "":
		return errBlobLeaseIDMissing
	case l.locked() && !l.holds(leaseID):
		return errBlobLeaseIDMismatch
	case l.locked():
		return nil
	case leaseID == "":
		return nil
	case l.state == stateAvailable:
		// Azurite answers LeaseLost here too.
		return errBlobLeaseNotPresent
	default: // expired or broken: the ID was valid once
		return errBlobLeaseLost
	}
}

// checkRead applies the lease rules of a read that sent leaseID: none
// unless an ID is sent, which must then be the active lease's.
func (l *leaseState) checkRead(now time.Time, leaseID string) *apiError {
	if leaseID == "" {
		l.settle(now)
		return nil
	}
	return l.checkWrite(now, leaseID)
}

// isGUID reports whether s is a GUID in the 8-4-4-4-12 hex form, with or
// without braces (the forms azblob and Azure use).
func isGUID(s string) bool {
	s = strings.TrimSuffix(strings.TrimPrefix(s, "{"), "}")
	if len(s) != 36 {
		return false
	}
	for i, r := range s {
		switch i {
		case 8, 13, 18, 23:
			if r != '-' {
				return false
			}
		default:
			if !strings.ContainsRune("0123456789abcdefABCDEF", r) {
				return false
			}
		}
	}
	return true
}
