package lease

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/streaming"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blockblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/container"
)

// State is the shared state kept in the leader blob. Only the lease holder
// writes it (WriteState); anyone reads it.
type State struct {
	Leader       string          `json:"leader"`                 // instance that last wrote it
	Epoch        int64           `json:"epoch"`                  // raised on every acquisition and every failover
	Desired      string          `json:"desired"`                // desired active NVA ("" unknown)
	LastFailover json.RawMessage `json:"lastFailover,omitempty"` // the daemon's failover record, opaque here
	UpdatedAt    time.Time       `json:"updatedAt"`
	// SinceFailover is how long before this write the last failover was
	// decided, by the writer's own clock (0: none known). With Age it gives
	// the failover's age without comparing two hosts' wall clocks: a new
	// leader inherits the anti-flap interval from it.
	SinceFailover Millis `json:"sinceFailoverMs,omitempty"`

	// Age is how long ago the state was written, by the storage service's
	// clock (the response's Date minus the blob's Last-Modified, to the
	// second); filled in by ReadState, never stored.
	Age time.Duration `json:"-"`
}

// Millis is a duration stored as whole milliseconds.
type Millis int64

// D is m as a time.Duration.
func (m Millis) D() time.Duration { return time.Duration(m) * time.Millisecond }

// MillisOf is d in whole milliseconds.
func MillisOf(d time.Duration) Millis { return Millis(d / time.Millisecond) }

// View is one monitor's own view of NVA health, published by every monitor,
// leader or not.
type View struct {
	Instance string            `json:"instance"`
	At       time.Time         `json:"at"`     // wall clock of the publisher
	Active   string            `json:"active"` // the NVA this monitor believes active
	Health   map[string]string `json:"health"` // NVA -> "up" | "down" | "unknown"
	Leader   bool              `json:"leader"`
	Epoch    int64             `json:"epoch"`
	// Age is how old the view blob was when Views read it, by the storage
	// service's clock alone (see Views); not stored. Judge a view's
	// freshness by Age, not by At: At is the publisher's wall clock, which
	// may run ahead of or behind this monitor's.
	Age time.Duration `json:"-"`
}

// Request is a manual failover request, written by `nva-monitor failover`
// and carried out by the leader.
//
// A request is valid for TTL after it was stored, and the leader judges that
// with storage's clock alone: Age is the Date of the response that brought
// the request to the leader minus the blob's Last-Modified, both stamped by
// storage, so neither the CLI's nor the leader's wall clock takes part. Both
// headers have one-second resolution, so Age is right to within a second.
type Request struct {
	ID    string        `json:"id"`
	To    string        `json:"to"`
	By    string        `json:"by"`
	Force bool          `json:"force"`
	At    time.Time     `json:"at"`            // the CLI's wall clock; shown, never compared
	TTL   time.Duration `json:"ttl,omitempty"` // how long the CLI waits for an answer (nanoseconds in JSON); 0 from a CLI older than TTL
	Age   time.Duration `json:"-"`             // set by TakeRequest: how long the request had been stored when it was taken
}

// DefaultRequestTTL is the validity of a request without a TTL, written by a
// CLI older than TTL. Such a CLI waited operationTimeout + 2 x the lease
// duration, 5m30s with the defaults; a request it gave up on is refused half
// a minute later instead of being carried out whenever a leader next appears.
// (With longer settings it may be refused while that CLI still waits; the
// CLI then reports the refusal.)
const DefaultRequestTTL = 6 * time.Minute

// Expired reports whether the request is older than its TTL (or than
// DefaultRequestTTL when it has none): the CLI that wrote it has given up
// waiting, so carrying it out now would surprise the operator.
func (r Request) Expired() bool {
	ttl := r.TTL
	if ttl <= 0 {
		ttl = DefaultRequestTTL
	}
	return r.Age > ttl
}

// Info is what `status` shows of the lease and the shared state.
type Info struct {
	LeaseState  string // storage's lease state: available, leased, expired, breaking, broken; "" when the blob does not exist
	LeaseStatus string // locked | unlocked; "" when the blob does not exist
	Leader      string // State.Leader: the instance that last wrote the state
	Epoch       int64
	Desired     string
}

// ErrUndecodable is wrapped by ReadState's error when the state blob holds
// something that is not a State (a hand edit, another version's format):
// the caller must rebuild the state rather than give up leading.
var ErrUndecodable = errors.New("cannot decode the shared state")

// maxBlobSize bounds what is read of a state, view or request blob.
const maxBlobSize = 1 << 20

// viewsPrefix and requestName place the views and requests beside the
// leader blob.
func (b *Blob) viewsPrefix() string { return b.o.Blob + ".views/" }
func (b *Blob) requestName() string { return b.o.Blob + ".request.json" }

// ReadState returns the shared state; a missing or empty leader blob is the
// zero State. Anyone may read it; no lease is needed.
func (b *Blob) ReadState(ctx context.Context) (State, error) {
	s, _, err := b.readState(ctx)
	return s, err
}

func (b *Blob) readState(ctx context.Context) (State, blob.DownloadResponse, error) {
	data, resp, err := download(ctx, b.client)
	if isCode(err, http.StatusNotFound, "BlobNotFound") {
		return State{}, resp, nil
	}
	if err != nil {
		return State{}, resp, fmt.Errorf("read shared state %s: %w", b.o.Blob, err)
	}
	var s State
	if len(bytes.TrimSpace(data)) > 0 {
		if err := json.Unmarshal(data, &s); err != nil {
			return State{}, resp, fmt.Errorf("read shared state %s: %w: %w", b.o.Blob, ErrUndecodable, err)
		}
	}
	s.Age = storageAge(resp)
	b.mu.Lock()
	b.epoch = max(b.epoch, s.Epoch)
	b.mu.Unlock()
	return s, resp, nil
}

// WriteState replaces the shared state. It calls Check right before the
// upload and uploads with the lease ID as access condition, so storage
// refuses it unless this instance's lease is current. An error wraps
// ErrNotLeader when Check failed or storage refused the lease ID (the lease
// is then considered lost at once).
func (b *Blob) WriteState(ctx context.Context, s State) error {
	data, err := json.Marshal(s)
	if err != nil {
		return fmt.Errorf("write shared state: encode: %w", err)
	}
	if err := b.Check(); err != nil {
		return fmt.Errorf("write shared state %s: %w", b.o.Blob, err)
	}
	// The upload cannot outlive the deadline: storage would refuse it anyway
	// once another instance holds the lease, but a write the caller believes
	// in flight past the deadline helps no one.
	wctx, cancel := context.WithTimeout(ctx, max(b.untilDeadline(), 0))
	defer cancel()
	_, err = b.client.Upload(wctx, streaming.NopCloser(bytes.NewReader(data)), &blockblob.UploadOptions{
		HTTPHeaders: &blob.HTTPHeaders{BlobContentType: ptr("application/json")},
		AccessConditions: &blob.AccessConditions{
			LeaseAccessConditions: &blob.LeaseAccessConditions{LeaseID: b.leaser.LeaseID()},
		},
	})
	if err != nil {
		if leaseGone(err) {
			err = fmt.Errorf("storage refused the lease ID: %w", err)
			b.markLost(err)
			return fmt.Errorf("write shared state %s: %w: %w", b.o.Blob, ErrNotLeader, err)
		}
		return fmt.Errorf("write shared state %s: %w", b.o.Blob, err)
	}
	b.mu.Lock()
	b.epoch = max(b.epoch, s.Epoch)
	b.mu.Unlock()
	return nil
}

// PublishView stores v as this monitor's view ("<Blob>.views/<instance>.json").
// No lease is needed; v.Instance is set to this instance.
func (b *Blob) PublishView(ctx context.Context, v View) error {
	v.Instance = b.o.Instance
	name := b.viewsPrefix() + b.o.Instance + ".json"
	if err := upload(ctx, b.o.Container.NewBlockBlobClient(name), v); err != nil {
		return fmt.Errorf("publish view %s: %w", name, err)
	}
	return nil
}

// Views returns every monitor's published view, ordered by instance, each
// with its Age by storage's clock (see viewAge). A view blob that cannot be
// decoded or vanished while listing is skipped (logged): to the caller that
// monitor has no view.
func (b *Blob) Views(ctx context.Context) ([]View, error) {
	prefix := b.viewsPrefix()
	pager := b.o.Container.NewListBlobsFlatPager(&container.ListBlobsFlatOptions{Prefix: &prefix})
	var views []View
	for pager.More() {
		page, err := pager.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("list views %s*: %w", prefix, err)
		}
		for _, item := range page.Segment.BlobItems {
			if item.Name == nil || !strings.HasSuffix(*item.Name, ".json") || strings.Contains(strings.TrimPrefix(*item.Name, prefix), "/") {
				continue
			}
			data, resp, err := download(ctx, b.o.Container.NewBlockBlobClient(*item.Name))
			if isCode(err, http.StatusNotFound, "") {
				continue
			}
			if err != nil {
				return nil, fmt.Errorf("read view %s: %w", *item.Name, err)
			}
			var v View
			if err := json.Unmarshal(data, &v); err != nil {
				b.log.Warn("skipping a view that cannot be decoded", slog.String("blob", *item.Name), attrErr(err))
				continue
			}
			v.Age = viewAge(resp)
			views = append(views, v)
		}
	}
	sort.Slice(views, func(i, j int) bool { return views[i].Instance < views[j].Instance })
	return views, nil
}

// viewAge is a view blob's age by the storage service's clock: the Date of
// the response that brought it minus its Last-Modified, both stamped by
// storage, so no monitor's wall clock takes part (a monitor whose clock runs
// 20 s behind would otherwise see every other view 20 s older). Both headers
// have whole-second resolution: the age is never negative and is within a
// second of the truth. Without a Date (Azure always sends one) it falls
// back to time.Since(Last-Modified), by this host's wall clock (not
// BlobOptions.Now, which measures the lease and need not be a wall clock),
// and is then only as right as the two clocks agree; without a
// Last-Modified it is 0.
func viewAge(resp blob.DownloadResponse) time.Duration {
	if resp.LastModified == nil {
		return 0
	}
	if resp.Date == nil {
		return time.Since(*resp.LastModified)
	}
	return max(resp.Date.Sub(*resp.LastModified), 0)
}

// PutRequest stores r as the pending manual request ("<Blob>.request.json"),
// replacing one not yet taken, and returns the ETag of what it stored, which
// WithdrawRequest takes. No lease is needed.
func (b *Blob) PutRequest(ctx context.Context, r Request) (etag string, err error) {
	data, err := json.Marshal(r)
	if err != nil {
		return "", fmt.Errorf("put request %s: encode: %w", b.requestName(), err)
	}
	resp, err := b.o.Container.NewBlockBlobClient(b.requestName()).Upload(ctx, streaming.NopCloser(bytes.NewReader(data)), &blockblob.UploadOptions{
		HTTPHeaders: &blob.HTTPHeaders{BlobContentType: ptr("application/json")},
	})
	if err != nil {
		return "", fmt.Errorf("put request %s: %w", b.requestName(), err)
	}
	if resp.ETag == nil {
		return "", fmt.Errorf("put request %s: storage returned no ETag", b.requestName())
	}
	return string(*resp.ETag), nil
}

// WithdrawRequest deletes the pending request if it is still the one stored
// with etag (If-Match). withdrawn is false, with no error, when it is not:
// the leader has taken it (it may be carried out) or a newer request has
// replaced it (that one is left alone). No lease is needed.
func (b *Blob) WithdrawRequest(ctx context.Context, etag string) (withdrawn bool, err error) {
	_, err = b.o.Container.NewBlockBlobClient(b.requestName()).Delete(ctx, &blob.DeleteOptions{AccessConditions: &blob.AccessConditions{
		ModifiedAccessConditions: &blob.ModifiedAccessConditions{IfMatch: ptr(azcore.ETag(etag))},
	}})
	switch {
	case err == nil:
		return true, nil
	case isCode(err, http.StatusNotFound, ""), isCode(err, http.StatusPreconditionFailed, ""):
		return false, nil
	default:
		return false, fmt.Errorf("withdraw request %s: %w", b.requestName(), err)
	}
}

// TakeRequest returns the pending request and deletes it (only if it was not
// replaced meanwhile: If-Match on its ETag), or nil when there is none. Only
// the leader takes requests: it fails with ErrNotLeader otherwise, so a
// request is never consumed by a monitor that cannot carry it out.
func (b *Blob) TakeRequest(ctx context.Context) (*Request, error) {
	if err := b.Check(); err != nil {
		return nil, fmt.Errorf("take request: %w", err)
	}
	c := b.o.Container.NewBlockBlobClient(b.requestName())
	for attempt := 0; attempt < 3; attempt++ {
		data, resp, err := download(ctx, c)
		if isCode(err, http.StatusNotFound, "") {
			return nil, nil
		}
		if err != nil {
			return nil, fmt.Errorf("take request %s: %w", b.requestName(), err)
		}
		_, err = c.Delete(ctx, &blob.DeleteOptions{AccessConditions: &blob.AccessConditions{
			ModifiedAccessConditions: &blob.ModifiedAccessConditions{IfMatch: resp.ETag},
		}})
		switch {
		case isCode(err, http.StatusPreconditionFailed, ""):
			continue // replaced by a newer request: take that one
		case isCode(err, http.StatusNotFound, ""):
			return nil, nil // someone else took it
		case err != nil:
			return nil, fmt.Errorf("take request %s: delete: %w", b.requestName(), err)
		}
		var r Request
		if err := json.Unmarshal(data, &r); err != nil {
			return nil, fmt.Errorf("take request %s: decode (the request was deleted): %w", b.requestName(), err)
		}
		r.Age = storageAge(resp)
		return &r, nil
	}
	return nil, fmt.Errorf("take request %s: replaced while being taken 3 times in a row", b.requestName())
}

// storageAge is how long a blob had existed in its downloaded form when it
// was downloaded, by storage's clock alone: the response's Date minus the
// blob's Last-Modified (both whole seconds). Without either header (Azure
// always sends both) the age is taken as 0: the request is not refused for
// an age nobody measured.
func storageAge(resp blob.DownloadResponse) time.Duration {
	if resp.Date == nil || resp.LastModified == nil {
		return 0
	}
	return max(resp.Date.Sub(*resp.LastModified), 0)
}

// Info returns the lease state and status of the leader blob and the shared
// state's leader, epoch and desired NVA, from one download.
func (b *Blob) Info(ctx context.Context) (Info, error) {
	s, resp, err := b.readState(ctx)
	if err != nil {
		return Info{}, err
	}
	info := Info{Leader: s.Leader, Epoch: s.Epoch, Desired: s.Desired}
	if resp.LeaseState != nil {
		info.LeaseState = string(*resp.LeaseState)
	}
	if resp.LeaseStatus != nil {
		info.LeaseStatus = string(*resp.LeaseStatus)
	}
	return info, nil
}

// create makes the leader blob, empty, unless it exists (If-None-Match: *,
// so two monitors creating it at once do not overwrite each other; "already
// exists" and "leased" answers are success).
func (b *Blob) create(ctx context.Context) error {
	rctx, cancel := context.WithTimeout(ctx, b.timeout)
	defer cancel()
	_, err := b.client.Upload(rctx, streaming.NopCloser(bytes.NewReader(nil)), &blockblob.UploadOptions{
		HTTPHeaders: &blob.HTTPHeaders{BlobContentType: ptr("application/json")},
		AccessConditions: &blob.AccessConditions{
			ModifiedAccessConditions: &blob.ModifiedAccessConditions{IfNoneMatch: ptr(azcore.ETagAny)},
		},
	})
	if err == nil || isCode(err, http.StatusConflict, "") || isCode(err, http.StatusPreconditionFailed, "") {
		if err == nil {
			b.log.Info("created the leader blob", slog.String("blob", b.o.Blob))
		}
		return nil
	}
	return fmt.Errorf("create leader blob %s: %w", b.o.Blob, err)
}

// download reads a whole (small) blob.
func download(ctx context.Context, c *blockblob.Client) ([]byte, blob.DownloadResponse, error) {
	resp, err := c.DownloadStream(ctx, nil)
	if err != nil {
		return nil, blob.DownloadResponse{}, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxBlobSize+1))
	if err != nil {
		return nil, resp.DownloadResponse, fmt.Errorf("read body: %w", err)
	}
	if len(data) > maxBlobSize {
		return nil, resp.DownloadResponse, fmt.Errorf("blob is larger than %d bytes", maxBlobSize)
	}
	return data, resp.DownloadResponse, nil
}

// upload writes v as JSON, replacing the blob.
func upload(ctx context.Context, c *blockblob.Client, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode: %w", err)
	}
	_, err = c.Upload(ctx, streaming.NopCloser(bytes.NewReader(data)), &blockblob.UploadOptions{
		HTTPHeaders: &blob.HTTPHeaders{BlobContentType: ptr("application/json")},
	})
	return err
}

func ptr[T any](v T) *T { return &v }
