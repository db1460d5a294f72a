package blobsim

import (
	"net/http"
	"testing"
	"time"
)

func TestWritesFollowTheLease(t *testing.T) {
	put := func(id string) hdr {
		h := hdr{"x-ms-blob-type": "BlockBlob"}
		if id != "" {
			h["x-ms-lease-id"] = id
		}
		return h
	}
	del := func(id string) hdr {
		if id == "" {
			return nil
		}
		return hdr{"x-ms-lease-id": id}
	}
	for _, tc := range []struct {
		name   string
		state  string
		id     string
		status int
		code   string
	}{
		{"a write to a leased blob without the lease ID is refused", stateLeased, "", 412, "LeaseIdMissing"},
		{"a write to a leased blob with another ID is refused", stateLeased, idB, 412, "LeaseIdMismatchWithBlobOperation"},
		{"a write to a leased blob with its ID succeeds", stateLeased, idA, 0, ""},
		{"a write with an ID to a blob without a lease is refused", stateAvailable, idA, 412, "LeaseNotPresentWithBlobOperation"},
		{"a write with the ID of an expired lease is refused", stateExpired, idA, 412, "LeaseLost"},
		{"a write with the ID of a broken lease is refused", stateBroken, idA, 412, "LeaseLost"},
		{"a write without an ID to an expired lease succeeds", stateExpired, "", 0, ""},
		{"a write without an ID to a broken lease succeeds", stateBroken, "", 0, ""},
		{"a write without an ID to a blob without a lease succeeds", stateAvailable, "", 0, ""},
	} {
		for _, method := range []string{"PUT", "DELETE"} {
			t.Run(method+": "+tc.name, func(t *testing.T) {
				clk := newFakeClock()
				srv := newServer(t, clk)
				leaseSetups[tc.state](t, srv, clk)
				var resp *http.Response
				status := tc.status
				if method == "PUT" {
					resp = do(t, srv, "PUT", "/c/b", put(tc.id), "new")
					if status == 0 {
						status = 201
					}
				} else {
					resp = do(t, srv, "DELETE", "/c/b", del(tc.id), "")
					if status == 0 {
						status = 202
					}
				}
				expect(t, method, resp, status, tc.code)
				st, ok := srv.Blob("c", "b")
				switch {
				case tc.code != "" && (!ok || string(st.Data) != "hello"):
					t.Fatalf("a refused %s changed the blob: %q, exists %v", method, st.Data, ok)
				case tc.code == "" && method == "DELETE" && ok:
					t.Fatal("the blob survived its delete")
				case tc.code == "" && method == "PUT" && string(st.Data) != "new":
					t.Fatalf("content %q after the write, want new", st.Data)
				}
				// Writing ends an expired or broken lease's claim; a held
				// lease stays.
				if tc.code == "" && method == "PUT" {
					want := stateAvailable
					if tc.state == stateLeased {
						want = stateLeased
					}
					if st.LeaseState != want {
						t.Errorf("lease %s after the write, want %s", st.LeaseState, want)
					}
				}
			})
		}
	}
	t.Run("creating a blob with a lease ID is refused", func(t *testing.T) {
		srv := newServer(t, newFakeClock())
		expect(t, "put", do(t, srv, "PUT", "/c/new", put(idA), "x"), 412, "LeaseNotPresentWithBlobOperation")
		if _, ok := srv.Blob("c", "new"); ok {
			t.Fatal("the blob was created")
		}
	})
}

func TestConditionalRequests(t *testing.T) {
	clk := newFakeClock()
	srv := newServer(t, clk)
	st, _ := srv.Blob("c", "b")
	blockBlob := func(h hdr) hdr { h["x-ms-blob-type"] = "BlockBlob"; return h }
	for _, tc := range []struct {
		name   string
		method string
		path   string
		h      hdr
		status int
		code   string
	}{
		{"If-None-Match: * on an existing blob", "PUT", "/c/b", blockBlob(hdr{"If-None-Match": "*"}), 409, "BlobAlreadyExists"},
		{"If-None-Match: * on a new blob", "PUT", "/c/fresh", blockBlob(hdr{"If-None-Match": "*"}), 201, ""},
		{"If-Match with another ETag", "PUT", "/c/b", blockBlob(hdr{"If-Match": `"0x1"`}), 412, "ConditionNotMet"},
		{"If-Match on a missing blob", "PUT", "/c/missing", blockBlob(hdr{"If-Match": st.ETag}), 412, "ConditionNotMet"},
		{"If-None-Match with the current ETag", "PUT", "/c/b", blockBlob(hdr{"If-None-Match": st.ETag}), 412, "ConditionNotMet"},
		{"unsupported If-Unmodified-Since", "PUT", "/c/b", blockBlob(hdr{"If-Unmodified-Since": "Sun, 22 Nov 2026 10:00:00 GMT"}), 400, "UnsupportedHeader"},
		{"delete If-Match with another ETag", "DELETE", "/c/b", hdr{"If-Match": `"0x1"`}, 412, "ConditionNotMet"},
		{"delete of a missing blob", "DELETE", "/c/missing", hdr{"If-Match": st.ETag}, 404, "BlobNotFound"},
		{"get with If-None-Match on the current ETag", "GET", "/c/b", hdr{"If-None-Match": st.ETag}, 304, ""},
		{"get with If-Match on another ETag", "GET", "/c/b", hdr{"If-Match": `"0x1"`}, 412, "ConditionNotMet"},
		{"get of a missing blob", "GET", "/c/missing", nil, 404, "BlobNotFound"},
		{"get in a missing container", "GET", "/nope/b", nil, 404, "ContainerNotFound"},
		{"a page blob", "PUT", "/c/pb", hdr{"x-ms-blob-type": "PageBlob"}, 400, "UnsupportedHeader"},
		{"a second Create Container", "PUT", "/c?restype=container", nil, 409, "ContainerAlreadyExists"},
		{"If-Match with the current ETag, unquoted", "PUT", "/c/b", blockBlob(hdr{"If-Match": st.ETag[1 : len(st.ETag)-1]}), 201, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			expect(t, tc.name, do(t, srv, tc.method, tc.path, tc.h, "x"), tc.status, tc.code)
		})
	}
	t.Run("delete with the current ETag", func(t *testing.T) {
		cur, _ := srv.Blob("c", "b")
		expect(t, "delete", do(t, srv, "DELETE", "/c/b", hdr{"If-Match": cur.ETag}, ""), 202, "")
		if _, ok := srv.Blob("c", "b"); ok {
			t.Fatal("blob still there")
		}
	})
}

// TestDateAndLastModifiedAreStoragesClockInWholeSeconds: callers compute a
// blob's age as Date − Last-Modified.
func TestDateAndLastModifiedAreStoragesClockInWholeSeconds(t *testing.T) {
	clk := newFakeClock()
	clk.Advance(900 * time.Millisecond) // 10:00:00.9
	srv := newServer(t, clk)
	clk.Advance(200 * time.Millisecond) // 10:00:01.1
	resp := do(t, srv, "GET", "/c/b", nil, "")
	expect(t, "get", resp, 200, "")
	date, err1 := time.Parse(time.RFC1123, resp.Header.Get("Date"))
	lm, err2 := time.Parse(time.RFC1123, resp.Header.Get("Last-Modified"))
	if err1 != nil || err2 != nil {
		t.Fatalf("Date %q, Last-Modified %q: not RFC 1123 (%v, %v)", resp.Header.Get("Date"), resp.Header.Get("Last-Modified"), err1, err2)
	}
	if want := "Sun, 22 Nov 2026 10:00:01 GMT"; resp.Header.Get("Date") != want {
		t.Errorf("Date %q, want %q", resp.Header.Get("Date"), want)
	}
	if want := "Sun, 22 Nov 2026 10:00:00 GMT"; resp.Header.Get("Last-Modified") != want {
		t.Errorf("Last-Modified %q, want %q", resp.Header.Get("Last-Modified"), want)
	}
	// 0.2 s old, measured as 1 s: whole seconds err by less than one.
	if age := date.Sub(lm); age != time.Second {
		t.Errorf("age %s, want 1s", age)
	}
	clk.Advance(30 * time.Second)
	resp = do(t, srv, "HEAD", "/c/b", nil, "")
	headBody := expect(t, "head", resp, 200, "")
	date, _ = time.Parse(time.RFC1123, resp.Header.Get("Date"))
	if age := date.Sub(lm); age != 31*time.Second {
		t.Errorf("age after 30s more %s, want 31s", age)
	}
	if resp.Header.Get("Content-Length") != "5" || resp.Header.Get("x-ms-blob-type") != "BlockBlob" || resp.Header.Get("x-ms-lease-state") != "available" ||
		resp.Header.Get("x-ms-lease-status") != "unlocked" || resp.Header.Get("x-ms-request-id") == "" || resp.Header.Get("x-ms-version") == "" {
		t.Errorf("HEAD headers %v lack Content-Length 5, BlockBlob, available, unlocked, a request id or version", resp.Header)
	}
	if len(headBody) != 0 {
		t.Errorf("HEAD returned a body %q", headBody)
	}
}

func TestRangedGet(t *testing.T) {
	srv := newServer(t, newFakeClock())
	resp := do(t, srv, "GET", "/c/b", hdr{"x-ms-range": "bytes=1-3"}, "")
	if b := expect(t, "ranged get", resp, 206, ""); string(b) != "ell" || resp.Header.Get("Content-Range") != "bytes 1-3/5" {
		t.Fatalf("got %q, Content-Range %q; want ell, bytes 1-3/5", b, resp.Header.Get("Content-Range"))
	}
	expect(t, "range past the end", do(t, srv, "GET", "/c/b", hdr{"x-ms-range": "bytes=9-"}, ""), 416, "InvalidRange")
}

func TestHooks(t *testing.T) {
	clk := newFakeClock()
	srv := newServer(t, clk)
	acquire(t, srv, idA, "15")
	before, _ := srv.Blob("c", "b")

	srv.SetDown(true)
	expect(t, "get while down", do(t, srv, "GET", "/c/b", nil, ""), 503, "ServerBusy")
	expect(t, "release while down", do(t, srv, "PUT", "/c/b?comp=lease", hdr{"x-ms-lease-action": "release", "x-ms-lease-id": idA}, ""), 503, "ServerBusy")
	srv.SetDown(false)
	if st, _ := srv.Blob("c", "b"); st.LeaseState != stateLeased {
		t.Fatalf("a request refused while down changed the lease to %s", st.LeaseState)
	}

	clk.Advance(2 * time.Second)
	srv.Put("c", "b", []byte("garbage"))
	st, ok := srv.Blob("c", "b")
	if !ok || string(st.Data) != "garbage" || st.ETag == before.ETag || !st.LastModified.Equal(clk.Now()) {
		t.Fatalf("after Put: %+v", st)
	}
	if st.LeaseState != stateLeased || st.LeaseID != idA || !st.LeaseExpiry.Equal(before.LeaseExpiry) {
		t.Fatalf("Put changed the lease: %+v, was %+v", st, before)
	}
	srv.Put("other", "x/y", []byte("1"))
	if names := srv.Names("other"); len(names) != 1 || names[0] != "x/y" {
		t.Fatalf("Names(other) = %v", names)
	}
	if !srv.Delete("c", "b") || srv.Delete("c", "b") {
		t.Fatal("Delete did not report existence")
	}
	expect(t, "get after Delete", do(t, srv, "GET", "/c/b", nil, ""), 404, "BlobNotFound")
}
