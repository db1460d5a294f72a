package daemon

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/hanva/hanva/monitor/config"
	"github.com/hanva/hanva/monitor/internal/azure"
	"github.com/hanva/hanva/monitor/internal/lease"
	"github.com/hanva/hanva/monitor/internal/version"
)

// Leader is the leader election and the shared state the daemon needs:
// lease.Blob when several monitors share the NVAs, lease.None for one.
type Leader interface {
	Run(ctx context.Context) error
	Check() error
	// Term is the lease's term while this monitor leads, 0 otherwise: the
	// truth that Leadership's edges only hint at.
	Term() uint64
	// Remaining is Check plus the time left before the deadline: the ARM
	// write gate bounds every write by it.
	Remaining() (time.Duration, error)
	Leadership() <-chan bool
	Resign()
	ReadState(ctx context.Context) (lease.State, error)
	WriteState(ctx context.Context, s lease.State) error
	PublishView(ctx context.Context, v lease.View) error
	Views(ctx context.Context) ([]lease.View, error)
	TakeRequest(ctx context.Context) (*lease.Request, error)
}

// SharedState is what the one-shot commands need of the shared state.
type SharedState interface {
	ReadState(ctx context.Context) (lease.State, error)
	Views(ctx context.Context) ([]lease.View, error)
	PutRequest(ctx context.Context, r lease.Request) (etag string, err error)
	WithdrawRequest(ctx context.Context, etag string) (withdrawn bool, err error)
	Info(ctx context.Context) (lease.Info, error)
}

// storageTimeout bounds one blob operation made from the run loop.
const storageTimeout = 3 * time.Second

// NewLeader builds the leader election the config asks for.
func NewLeader(cfg *config.Config, log *slog.Logger, onRenew func(ok bool)) (Leader, error) {
	if cfg.Lease.Kind != config.LeaseBlob {
		return lease.NewNone(cfg.Instance), nil
	}
	b, err := newBlob(cfg, log, onRenew)
	if err != nil {
		return nil, err
	}
	return b, nil
}

// NewShared opens the shared state of a blob-lease cluster for a one-shot
// command; nil when the config has no blob lease.
func NewShared(cfg *config.Config, log *slog.Logger) (SharedState, error) {
	if cfg.Lease.Kind != config.LeaseBlob {
		return nil, nil
	}
	return newBlob(cfg, log, nil)
}

func newBlob(cfg *config.Config, log *slog.Logger, onRenew func(ok bool)) (*lease.Blob, error) {
	c, name, err := azure.BlobContainer(cfg.Lease, cfg.Instance, version.Version)
	if err != nil {
		return nil, fmt.Errorf("set up the lease blob client: %w", err)
	}
	return lease.NewBlob(lease.BlobOptions{
		Container: c,
		Blob:      name,
		Instance:  cfg.Instance,
		Duration:  cfg.Lease.Duration.D(),
		Logger:    log,
		OnRenew:   onRenew,
	})
}
