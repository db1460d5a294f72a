package blobsim

import (
	"bytes"
	"crypto/md5"
	"encoding/base64"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// unsupportedConditions refuses the conditional headers blobsim does not
// emulate rather than ignoring them: a twin that silently skipped a
// condition would pass tests Azure fails.
func unsupportedConditions(r *http.Request) *apiError {
	for _, h := range []string{"If-Modified-Since", "If-Unmodified-Since", "x-ms-if-tags"} {
		if r.Header.Get(h) != "" {
			return newError(http.StatusBadRequest, "UnsupportedHeader", "blobsim does not emulate the conditional header "+h+".")
		}
	}
	return nil
}

// etagMatches compares ETags the way Azure does for If-Match and
// If-None-Match: "*" matches any existing blob; quotes are optional.
func etagMatches(cond, etag string) bool {
	cond = strings.TrimSpace(cond)
	return cond == "*" || strings.Trim(cond, `"`) == strings.Trim(etag, `"`)
}

// checkWriteConditions evaluates If-Match and If-None-Match for a write or
// delete of b (nil when the blob does not exist)
// (https://learn.microsoft.com/rest/api/storageservices/specifying-conditional-headers-for-blob-service-operations).
// If-None-Match: * on an existing blob is Put Blob's own rule (409
// BlobAlreadyExists), applied by putBlob.
func checkWriteConditions(r *http.Request, b *blobState) *apiError {
	ifMatch, ifNoneMatch := r.Header.Get("If-Match"), r.Header.Get("If-None-Match")
	if b == nil {
		if ifMatch != "" {
			return errConditionNotMet
		}
		return nil
	}
	if ifMatch != "" && !etagMatches(ifMatch, b.etag) {
		return errConditionNotMet
	}
	if ifNoneMatch != "" && strings.TrimSpace(ifNoneMatch) != "*" && etagMatches(ifNoneMatch, b.etag) {
		return errConditionNotMet
	}
	return nil
}

// Put Blob: https://learn.microsoft.com/rest/api/storageservices/put-blob
// Block blobs only. Order of checks (as Azurite, which follows Azure here):
// container, conditional headers, If-None-Match: * on an existing blob,
// then the lease.
func (s *Server) putBlob(r *http.Request, body []byte, c *containerState, name string, now time.Time, resp *response) *apiError {
	switch t := r.Header.Get("x-ms-blob-type"); t {
	case "BlockBlob":
	case "":
		return missingHeader("x-ms-blob-type")
	default:
		return newError(http.StatusBadRequest, "UnsupportedHeader", "blobsim emulates block blobs only, not x-ms-blob-type "+t+".")
	}
	if c == nil {
		return errContainerNotFound
	}
	b := c.blobs[name]
	if err := checkWriteConditions(r, b); err != nil {
		return err
	}
	if b != nil && strings.TrimSpace(r.Header.Get("If-None-Match")) == "*" {
		return newError(http.StatusConflict, "BlobAlreadyExists", "The specified blob already exists.")
	}
	leaseID := r.Header.Get("x-ms-lease-id")
	if b == nil {
		if leaseID != "" {
			// Azurite creates the blob and ignores the ID; Azure refuses
			// a lease ID for a blob that has no lease.
			return errBlobLeaseNotPresent
		}
		b = &blobState{created: now}
		c.blobs[name] = b
	} else {
		if err := b.lease.checkWrite(now, leaseID); err != nil {
			return err
		}
		if !b.lease.locked() {
			// Writing ends an expired or broken lease's claim to its ID.
			b.lease.clear()
		}
	}
	b.data = bytes.Clone(body)
	b.contentType = r.Header.Get("x-ms-blob-content-type")
	if b.contentType == "" {
		b.contentType = "application/octet-stream"
	}
	b.modified = now
	b.etag = s.newETag()
	sum := md5.Sum(b.data)
	resp.status = http.StatusCreated
	resp.header.Set("ETag", b.etag)
	resp.header.Set("Last-Modified", httpDate(b.modified))
	resp.header.Set("Content-MD5", base64.StdEncoding.EncodeToString(sum[:]))
	resp.header.Set("x-ms-request-server-encrypted", "true")
	return nil
}

// Get Blob and Get Blob Properties:
// https://learn.microsoft.com/rest/api/storageservices/get-blob,
// https://learn.microsoft.com/rest/api/storageservices/get-blob-properties
func getBlob(r *http.Request, c *containerState, name string, now time.Time, resp *response) *apiError {
	b := c.blobs[name]
	if b == nil {
		return errBlobNotFound
	}
	if err := b.lease.checkRead(now, r.Header.Get("x-ms-lease-id")); err != nil {
		return err
	}
	if im := r.Header.Get("If-Match"); im != "" && !etagMatches(im, b.etag) {
		return errConditionNotMet
	}
	h := resp.header
	h.Set("ETag", b.etag)
	h.Set("Last-Modified", httpDate(b.modified))
	if inm := r.Header.Get("If-None-Match"); inm != "" && etagMatches(inm, b.etag) {
		resp.status = http.StatusNotModified
		return nil
	}
	h.Set("Content-Type", b.contentType)
	h.Set("x-ms-creation-time", httpDate(b.created))
	h.Set("x-ms-blob-type", "BlockBlob")
	h.Set("x-ms-lease-state", b.lease.state)
	h.Set("x-ms-lease-status", b.lease.status())
	if b.lease.state == stateLeased {
		if b.lease.infinite {
			h.Set("x-ms-lease-duration", "infinite")
		} else {
			h.Set("x-ms-lease-duration", "fixed")
		}
	}
	h.Set("x-ms-server-encrypted", "true")
	h.Set("Accept-Ranges", "bytes")
	data := b.data
	rng := r.Header.Get("x-ms-range")
	if rng == "" {
		rng = r.Header.Get("Range")
	}
	if rng != "" && r.Method == http.MethodGet {
		first, last, err := parseRange(rng, len(data))
		if err != nil {
			return err
		}
		resp.status = http.StatusPartialContent
		h.Set("Content-Range", fmt.Sprintf("bytes %d-%d/%d", first, last, len(data)))
		data = data[first : last+1]
	} else {
		sum := md5.Sum(data)
		h.Set("Content-MD5", base64.StdEncoding.EncodeToString(sum[:]))
	}
	h.Set("Content-Length", strconv.Itoa(len(data)))
	resp.body = bytes.Clone(data)
	return nil
}

// parseRange parses "bytes=first-[last]" against a blob of size n
// (https://learn.microsoft.com/rest/api/storageservices/specifying-the-range-header-for-blob-service-operations).
func parseRange(v string, n int) (first, last int, err *apiError) {
	invalid := newError(http.StatusRequestedRangeNotSatisfiable, "InvalidRange", "The range specified is invalid for the current size of the resource.")
	spec, ok := strings.CutPrefix(strings.TrimSpace(v), "bytes=")
	if !ok {
		return 0, 0, invalidHeader("x-ms-range", "bytes=first-[last]")
	}
	a, b, ok := strings.Cut(spec, "-")
	if !ok {
		return 0, 0, invalidHeader("x-ms-range", "bytes=first-[last]")
	}
	f, err1 := strconv.Atoi(a)
	l, err2 := f, error(nil)
	if b != "" {
		l, err2 = strconv.Atoi(b)
	}
	if err1 != nil || err2 != nil || f < 0 || l < f {
		return 0, 0, invalidHeader("x-ms-range", "bytes=first-[last]")
	}
	if f >= n {
		return 0, 0, invalid
	}
	if b == "" {
		l = n - 1
	}
	return f, min(l, n-1), nil
}

// Delete Blob: https://learn.microsoft.com/rest/api/storageservices/delete-blob
// A leased blob is deleted only with its active lease ID.
func deleteBlob(r *http.Request, c *containerState, name string, now time.Time, resp *response) *apiError {
	b := c.blobs[name]
	if b == nil {
		return errBlobNotFound
	}
	if err := checkWriteConditions(r, b); err != nil {
		return err
	}
	if err := b.lease.checkWrite(now, r.Header.Get("x-ms-lease-id")); err != nil {
		return err
	}
	delete(c.blobs, name)
	resp.status = http.StatusAccepted
	resp.header.Set("x-ms-delete-type-permanent", "true")
	return nil
}
