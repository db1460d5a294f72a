package blobsim

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"testing"
	"testing/synctest"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/streaming"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blockblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/container"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/lease"
)

// newClient returns a container client on a new server with container
// "hanva" created through the API.
func newClient(t *testing.T) (*Server, *container.Client) {
	t.Helper()
	srv := New(Options{})
	c, err := NewContainerClient(srv, testHost+"/hanva", nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Create(context.Background(), nil); err != nil {
		t.Fatalf("Create() = %v", err)
	}
	return srv, c
}

func upload(ctx context.Context, c *container.Client, name, data string, o *blockblob.UploadOptions) (blockblob.UploadResponse, error) {
	return c.NewBlockBlobClient(name).Upload(ctx, streaming.NopCloser(bytes.NewReader([]byte(data))), o)
}

func errorCode(err error) string {
	var re *azcore.ResponseError
	if errors.As(err, &re) {
		return fmt.Sprintf("%d %s", re.StatusCode, re.ErrorCode)
	}
	return fmt.Sprintf("not a ResponseError: %v", err)
}

// TestAzblobAgainstTheTwinUnderSynctest drives the twin with the real
// azblob client inside a synctest bubble: virtual time runs the lease out.
func TestAzblobAgainstTheTwinUnderSynctest(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		srv, c := newClient(t)
		start := time.Now()
		up, err := upload(ctx, c, "leader", `{"epoch":1}`, &blockblob.UploadOptions{HTTPHeaders: &blob.HTTPHeaders{BlobContentType: ptr("application/json")}})
		if err != nil || up.ETag == nil || up.LastModified == nil || !up.LastModified.Equal(start) {
			t.Fatalf("Upload() = %+v, %v; want an ETag and Last-Modified %s", up, err, start)
		}

		lc, err := lease.NewBlobClient(c.NewBlockBlobClient("leader"), nil)
		if err != nil {
			t.Fatal(err)
		}
		acq, err := lc.AcquireLease(ctx, 15, nil)
		if err != nil || acq.LeaseID == nil || *acq.LeaseID != *lc.LeaseID() {
			t.Fatalf("AcquireLease() = %+v, %v; want our proposed ID %s", acq, err, *lc.LeaseID())
		}
		other, _ := lease.NewBlobClient(c.NewBlockBlobClient("leader"), nil)
		if _, err := other.AcquireLease(ctx, 15, nil); errorCode(err) != "409 LeaseAlreadyPresent" {
			t.Fatalf("second AcquireLease() = %v, want 409 LeaseAlreadyPresent", err)
		}
		if _, err := upload(ctx, c, "leader", "{}", nil); errorCode(err) != "412 LeaseIdMissing" {
			t.Fatalf("Upload() without the lease = %v, want 412 LeaseIdMissing", err)
		}

		time.Sleep(10 * time.Second)
		dl, err := c.NewBlockBlobClient("leader").DownloadStream(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		data, _ := io.ReadAll(dl.Body)
		dl.Body.Close()
		if string(data) != `{"epoch":1}` || *dl.ContentType != "application/json" || *dl.LeaseState != "leased" || *dl.LeaseStatus != "locked" ||
			*dl.LeaseDuration != "fixed" || *dl.ETag != *up.ETag {
			t.Fatalf("DownloadStream() = %q %+v", data, dl.DownloadResponse)
		}
		if age := dl.Date.Sub(*dl.LastModified); age != 10*time.Second {
			t.Errorf("Date − Last-Modified = %s, want 10s", age)
		}

		time.Sleep(5 * time.Second) // 15 s after the acquire: expired
		props, err := c.NewBlockBlobClient("leader").GetProperties(ctx, nil)
		if err != nil || *props.LeaseState != "expired" || *props.LeaseStatus != "unlocked" {
			t.Fatalf("GetProperties() = %v, %v; want an expired lease", props.LeaseState, err)
		}
		if _, err := other.AcquireLease(ctx, 15, nil); err != nil {
			t.Fatalf("AcquireLease() after expiry = %v", err)
		}
		if _, err := lc.RenewLease(ctx, nil); errorCode(err) != "409 LeaseIdMismatchWithLeaseOperation" {
			t.Fatalf("RenewLease() of the expired, retaken lease = %v, want 409 LeaseIdMismatchWithLeaseOperation", err)
		}
		if _, err := c.NewBlockBlobClient("missing").GetProperties(ctx, nil); errorCode(err) != "404 BlobNotFound" {
			t.Fatalf("GetProperties() of a missing blob = %v, want 404 BlobNotFound (from the header: HEAD has no body)", err)
		}

		srv.SetDown(true)
		if _, err := c.NewBlockBlobClient("leader").GetProperties(ctx, nil); errorCode(err) != "503 ServerBusy" {
			t.Fatalf("GetProperties() while down = %v, want 503 ServerBusy after the retries", err)
		}
		srv.SetDown(false)
	})
}

func TestListBlobsPagesThroughAPrefix(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		srv, c := newClient(t)
		for _, name := range []string{"v/a.json", "v/b.json", "v/c.json", "v/d.json", "v/e.json", "w/x.json", "leader"} {
			if _, err := upload(ctx, c, name, name, nil); err != nil {
				t.Fatal(err)
			}
			time.Sleep(time.Second)
		}
		lc, _ := lease.NewBlobClient(c.NewBlockBlobClient("v/b.json"), nil)
		if _, err := lc.AcquireLease(ctx, -1, nil); err != nil {
			t.Fatal(err)
		}
		pager := c.NewListBlobsFlatPager(&container.ListBlobsFlatOptions{Prefix: ptr("v/"), MaxResults: ptr(int32(2))})
		var names []string
		pages := 0
		for pager.More() {
			page, err := pager.NextPage(ctx)
			if err != nil {
				t.Fatal(err)
			}
			pages++
			for _, it := range page.Segment.BlobItems {
				names = append(names, *it.Name)
				st, _ := srv.Blob("hanva", *it.Name)
				p := it.Properties
				if !p.LastModified.Equal(st.LastModified.Truncate(time.Second)) || string(*p.ETag) != st.ETag || *p.ContentLength != int64(len(st.Data)) {
					t.Errorf("%s: listed %v %v %v, stored %v %v %v", *it.Name, p.LastModified, *p.ETag, *p.ContentLength, st.LastModified, st.ETag, len(st.Data))
				}
				wantState := "available"
				if *it.Name == "v/b.json" {
					wantState = "leased"
				}
				if string(*p.LeaseState) != wantState {
					t.Errorf("%s: lease state %s, want %s", *it.Name, *p.LeaseState, wantState)
				}
			}
		}
		if want := "[v/a.json v/b.json v/c.json v/d.json v/e.json]"; fmt.Sprint(names) != want || pages != 3 {
			t.Fatalf("listed %v in %d pages, want %s in 3", names, pages, want)
		}
		empty := c.NewListBlobsFlatPager(&container.ListBlobsFlatOptions{Prefix: ptr("nothing/")})
		page, err := empty.NextPage(ctx)
		if err != nil || page.Segment == nil || len(page.Segment.BlobItems) != 0 || empty.More() {
			t.Fatalf("empty listing = %+v, %v; want an empty segment and no more pages", page.Segment, err)
		}
	})
}

func TestTransport(t *testing.T) {
	var seen *http.Request
	tr := Transport{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen = r
		w.WriteHeader(http.StatusTeapot)
	})}
	req, _ := http.NewRequest("GET", testHost+"/c/b?comp=x", nil)
	resp, err := tr.Do(req)
	if err != nil || resp.StatusCode != http.StatusTeapot || resp.Request != req {
		t.Fatalf("Do() = %v, %v; want 418 with Request set to the request sent", resp, err)
	}
	if seen.Body != http.NoBody || seen.TLS == nil || seen.Host != "simstore.blob.core.windows.net" || seen.RequestURI != "/c/b?comp=x" {
		t.Fatalf("handler saw Body %v, TLS %v, Host %q, RequestURI %q", seen.Body, seen.TLS, seen.Host, seen.RequestURI)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	seen = nil
	if _, err := tr.Do(req.WithContext(ctx)); !errors.Is(err, context.Canceled) || seen != nil {
		t.Fatalf("Do() with a cancelled context = %v (handler called: %v), want context.Canceled, not sent", err, seen != nil)
	}
}

func ptr[T any](v T) *T { return &v }
