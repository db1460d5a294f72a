package blobsim

import (
	"net/http"
	"testing"
	"time"
)

// leaseSetups bring blob c/b into each lease state, holder idA.
var leaseSetups = map[string]func(t *testing.T, srv *Server, clk *fakeClock){
	stateAvailable: func(*testing.T, *Server, *fakeClock) {},
	stateLeased: func(t *testing.T, srv *Server, clk *fakeClock) {
		acquire(t, srv, idA, "15")
	},
	stateExpired: func(t *testing.T, srv *Server, clk *fakeClock) {
		acquire(t, srv, idA, "15")
		clk.Advance(15 * time.Second) // free at exactly the duration
	},
	stateBreaking: func(t *testing.T, srv *Server, clk *fakeClock) {
		acquire(t, srv, idA, "60")
		expect(t, "break", do(t, srv, "PUT", "/c/b?comp=lease", hdr{"x-ms-lease-action": "break", "x-ms-lease-break-period": "10"}, ""), http.StatusAccepted, "")
	},
	stateBroken: func(t *testing.T, srv *Server, clk *fakeClock) {
		acquire(t, srv, idA, "60")
		expect(t, "break", do(t, srv, "PUT", "/c/b?comp=lease", hdr{"x-ms-lease-action": "break", "x-ms-lease-break-period": "0"}, ""), http.StatusAccepted, "")
	},
}

func acquire(t *testing.T, srv *Server, id, seconds string) {
	t.Helper()
	resp := do(t, srv, "PUT", "/c/b?comp=lease", hdr{"x-ms-lease-action": "acquire", "x-ms-lease-duration": seconds, "x-ms-proposed-lease-id": id}, "")
	expect(t, "acquire "+id, resp, http.StatusCreated, "")
	if got := resp.Header.Get("x-ms-lease-id"); got != id {
		t.Fatalf("acquire returned lease id %q, want %q", got, id)
	}
}

// TestLeaseOperationsFollowMicrosoftsStateTable checks every row of "Outcomes
// of lease operations on blobs by lease state"
// (https://learn.microsoft.com/rest/api/storageservices/lease-blob#remarks),
// with the error codes of "Blob service error codes".
func TestLeaseOperationsFollowMicrosoftsStateTable(t *testing.T) {
	type op struct {
		name string
		h    hdr
	}
	acq := func(id string) op {
		return op{"acquire " + id, hdr{"x-ms-lease-action": "acquire", "x-ms-lease-duration": "15", "x-ms-proposed-lease-id": id}}
	}
	acqNoID := op{"acquire without an ID", hdr{"x-ms-lease-action": "acquire", "x-ms-lease-duration": "15"}}
	brk := func(p string) op {
		return op{"break " + p + "s", hdr{"x-ms-lease-action": "break", "x-ms-lease-break-period": p}}
	}
	chg := func(from, to string) op {
		return op{"change " + from[:1] + " to " + to[:1], hdr{"x-ms-lease-action": "change", "x-ms-lease-id": from, "x-ms-proposed-lease-id": to}}
	}
	with := func(action, id string) op {
		return op{action + " " + id[:1], hdr{"x-ms-lease-action": action, "x-ms-lease-id": id}}
	}
	const (
		conflict    = http.StatusConflict
		notPresent  = "LeaseNotPresentWithLeaseOperation"
		mismatch    = "LeaseIdMismatchWithLeaseOperation"
		present     = "LeaseAlreadyPresent"
		brokenRenew = "LeaseIsBrokenAndCannotBeRenewed"
		anyID       = "*" // a generated lease ID
	)
	for _, tc := range []struct {
		state     string
		op        op
		status    int
		code      string
		wantState string
		wantID    string
	}{
		{stateAvailable, acqNoID, 201, "", stateLeased, anyID},
		{stateAvailable, acq(idA), 201, "", stateLeased, idA},
		{stateAvailable, brk("0"), conflict, notPresent, stateAvailable, ""},
		{stateAvailable, brk("5"), conflict, notPresent, stateAvailable, ""},
		{stateAvailable, chg(idA, idB), conflict, notPresent, stateAvailable, ""},
		{stateAvailable, with("renew", idA), conflict, notPresent, stateAvailable, ""},
		{stateAvailable, with("release", idA), conflict, notPresent, stateAvailable, ""},

		{stateLeased, acqNoID, conflict, present, stateLeased, idA},
		{stateLeased, acq(idA), 201, "", stateLeased, idA},
		{stateLeased, acq(idB), conflict, present, stateLeased, idA},
		{stateLeased, brk("0"), 202, "", stateBroken, idA},
		{stateLeased, brk("5"), 202, "", stateBreaking, idA},
		{stateLeased, chg(idA, idB), 200, "", stateLeased, idB},
		{stateLeased, chg(idB, idA), 200, "", stateLeased, idA},
		{stateLeased, chg(idB, idC), conflict, mismatch, stateLeased, idA},
		{stateLeased, with("renew", idA), 200, "", stateLeased, idA},
		{stateLeased, with("renew", idB), conflict, mismatch, stateLeased, idA},
		{stateLeased, with("release", idA), 200, "", stateAvailable, ""},
		{stateLeased, with("release", idB), conflict, mismatch, stateLeased, idA},

		{stateBreaking, acq(idA), conflict, "LeaseIsBreakingAndCannotBeAcquired", stateBreaking, idA},
		{stateBreaking, acq(idB), conflict, present, stateBreaking, idA},
		{stateBreaking, brk("0"), 202, "", stateBroken, idA},
		{stateBreaking, brk("5"), 202, "", stateBreaking, idA},
		{stateBreaking, chg(idA, idB), conflict, "LeaseIsBreakingAndCannotBeChanged", stateBreaking, idA},
		{stateBreaking, with("renew", idA), conflict, brokenRenew, stateBreaking, idA},
		{stateBreaking, with("renew", idB), conflict, mismatch, stateBreaking, idA},
		{stateBreaking, with("release", idA), 200, "", stateAvailable, ""},
		{stateBreaking, with("release", idB), conflict, mismatch, stateBreaking, idA},

		{stateBroken, acq(idA), 201, "", stateLeased, idA},
		{stateBroken, acq(idB), 201, "", stateLeased, idB},
		{stateBroken, brk("0"), 202, "", stateBroken, idA},
		{stateBroken, brk("5"), 202, "", stateBroken, idA},
		{stateBroken, chg(idA, idB), conflict, notPresent, stateBroken, idA},
		{stateBroken, with("renew", idA), conflict, brokenRenew, stateBroken, idA},
		{stateBroken, with("release", idA), 200, "", stateAvailable, ""},
		{stateBroken, with("release", idB), conflict, mismatch, stateBroken, idA},

		{stateExpired, acq(idA), 201, "", stateLeased, idA},
		{stateExpired, acq(idB), 201, "", stateLeased, idB},
		{stateExpired, brk("0"), 202, "", stateBroken, idA},
		{stateExpired, brk("5"), 202, "", stateBroken, idA},
		{stateExpired, chg(idA, idB), conflict, notPresent, stateExpired, idA},
		{stateExpired, with("renew", idA), 200, "", stateLeased, idA},
		{stateExpired, with("renew", idB), conflict, mismatch, stateExpired, idA},
		{stateExpired, with("release", idA), 200, "", stateAvailable, ""},
		{stateExpired, with("release", idB), conflict, mismatch, stateExpired, idA},
	} {
		t.Run(tc.op.name+" on a "+tc.state+" lease", func(t *testing.T) {
			clk := newFakeClock()
			srv := newServer(t, clk)
			leaseSetups[tc.state](t, srv, clk)
			before, _ := srv.Blob("c", "b")
			if before.LeaseState != tc.state {
				t.Fatalf("set-up left the lease %s, want %s", before.LeaseState, tc.state)
			}
			expect(t, tc.op.name, do(t, srv, "PUT", "/c/b?comp=lease", tc.op.h, ""), tc.status, tc.code)
			after, _ := srv.Blob("c", "b")
			if after.LeaseState != tc.wantState {
				t.Errorf("lease state %s, want %s", after.LeaseState, tc.wantState)
			}
			if tc.wantID == anyID {
				if !isGUID(after.LeaseID) {
					t.Errorf("lease id %q, want a generated GUID", after.LeaseID)
				}
			} else if after.LeaseID != tc.wantID {
				t.Errorf("lease id %q, want %q", after.LeaseID, tc.wantID)
			}
			if after.ETag != before.ETag || !after.LastModified.Equal(before.LastModified) {
				t.Errorf("a lease operation changed the blob's ETag or Last-Modified")
			}
		})
	}
}

func TestLeaseTimes(t *testing.T) {
	t.Run("a fixed lease expires exactly after its duration and a renew restarts it", func(t *testing.T) {
		clk := newFakeClock()
		srv := newServer(t, clk)
		acquire(t, srv, idA, "15")
		clk.Advance(10 * time.Second)
		expect(t, "renew", do(t, srv, "PUT", "/c/b?comp=lease", hdr{"x-ms-lease-action": "renew", "x-ms-lease-id": idA}, ""), 200, "")
		clk.Advance(15*time.Second - time.Nanosecond)
		if st, _ := srv.Blob("c", "b"); st.LeaseState != stateLeased || !st.LeaseExpiry.Equal(clk.Now().Add(time.Nanosecond)) {
			t.Fatalf("1ns before expiry: %s until %s, want leased until %s", st.LeaseState, st.LeaseExpiry, clk.Now().Add(time.Nanosecond))
		}
		clk.Advance(time.Nanosecond)
		if st, _ := srv.Blob("c", "b"); st.LeaseState != stateExpired || st.LeaseID != idA {
			t.Fatalf("at expiry: %s %q, want expired, keeping %s", st.LeaseState, st.LeaseID, idA)
		}
		acquire(t, srv, idB, "15")
	})
	t.Run("an infinite lease never expires and breaks at once without a period", func(t *testing.T) {
		clk := newFakeClock()
		srv := newServer(t, clk)
		acquire(t, srv, idA, "-1")
		clk.Advance(24 * time.Hour)
		resp := do(t, srv, "GET", "/c/b", nil, "")
		expect(t, "get", resp, 200, "")
		if resp.Header.Get("x-ms-lease-state") != "leased" || resp.Header.Get("x-ms-lease-duration") != "infinite" || resp.Header.Get("x-ms-lease-status") != "locked" {
			t.Fatalf("lease headers %v, want leased, infinite, locked", resp.Header)
		}
		resp = do(t, srv, "PUT", "/c/b?comp=lease", hdr{"x-ms-lease-action": "break"}, "")
		expect(t, "break", resp, 202, "")
		if st, _ := srv.Blob("c", "b"); st.LeaseState != stateBroken || resp.Header.Get("x-ms-lease-time") != "0" {
			t.Fatalf("after break: %s, x-ms-lease-time %q; want broken, 0", st.LeaseState, resp.Header.Get("x-ms-lease-time"))
		}
	})
	t.Run("a break without a period waits for the fixed lease's end; a break period shorter than that wins", func(t *testing.T) {
		clk := newFakeClock()
		srv := newServer(t, clk)
		acquire(t, srv, idA, "60")
		clk.Advance(20 * time.Second)
		resp := do(t, srv, "PUT", "/c/b?comp=lease", hdr{"x-ms-lease-action": "break"}, "")
		expect(t, "break", resp, 202, "")
		if got := resp.Header.Get("x-ms-lease-time"); got != "40" {
			t.Fatalf("x-ms-lease-time %q, want 40", got)
		}
		resp = do(t, srv, "PUT", "/c/b?comp=lease", hdr{"x-ms-lease-action": "break", "x-ms-lease-break-period": "5"}, "")
		expect(t, "second break", resp, 202, "")
		if got := resp.Header.Get("x-ms-lease-time"); got != "5" {
			t.Fatalf("second break: x-ms-lease-time %q, want 5", got)
		}
		// Writes still need the lease while it breaks.
		expect(t, "write while breaking", do(t, srv, "PUT", "/c/b", hdr{"x-ms-blob-type": "BlockBlob"}, "x"), 412, "LeaseIdMissing")
		expect(t, "write while breaking with the ID", do(t, srv, "PUT", "/c/b", hdr{"x-ms-blob-type": "BlockBlob", "x-ms-lease-id": idA}, "x"), 201, "")
		clk.Advance(5 * time.Second)
		if st, _ := srv.Blob("c", "b"); st.LeaseState != stateBroken {
			t.Fatalf("after the break period: %s, want broken", st.LeaseState)
		}
	})
	t.Run("bad lease requests are 400 whatever the state", func(t *testing.T) {
		clk := newFakeClock()
		srv := newServer(t, clk)
		for _, tc := range []struct {
			h    hdr
			code string
		}{
			{hdr{"x-ms-lease-action": "acquire", "x-ms-lease-duration": "14"}, "InvalidHeaderValue"},
			{hdr{"x-ms-lease-action": "acquire", "x-ms-lease-duration": "61"}, "InvalidHeaderValue"},
			{hdr{"x-ms-lease-action": "acquire"}, "MissingRequiredHeader"},
			{hdr{"x-ms-lease-action": "acquire", "x-ms-lease-duration": "15", "x-ms-proposed-lease-id": "not-a-guid"}, "InvalidHeaderValue"},
			{hdr{"x-ms-lease-action": "renew"}, "MissingRequiredHeader"},
			{hdr{"x-ms-lease-action": "change", "x-ms-lease-id": idA}, "MissingRequiredHeader"},
			{hdr{"x-ms-lease-action": "break", "x-ms-lease-break-period": "61"}, "InvalidHeaderValue"},
			{hdr{"x-ms-lease-action": "steal"}, "InvalidHeaderValue"},
			{hdr{}, "MissingRequiredHeader"},
		} {
			expect(t, "lease "+tc.h["x-ms-lease-action"], do(t, srv, "PUT", "/c/b?comp=lease", tc.h, ""), 400, tc.code)
		}
		expect(t, "acquire a missing blob", do(t, srv, "PUT", "/c/nope?comp=lease", hdr{"x-ms-lease-action": "acquire", "x-ms-lease-duration": "15"}, ""), 404, "BlobNotFound")
		expect(t, "acquire in a missing container", do(t, srv, "PUT", "/nope/b?comp=lease", hdr{"x-ms-lease-action": "acquire", "x-ms-lease-duration": "15"}, ""), 404, "ContainerNotFound")
	})
}
