package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"text/tabwriter"
	"time"

	"github.com/hanva/hanva/monitor/config"
	"github.com/hanva/hanva/monitor/daemon"
	"github.com/hanva/hanva/monitor/internal/lease"
)

// requestFailover writes a failover request to the shared state and waits
// up to timeout until the leading monitor has carried it out or refused it.
// If no answer comes in time (or the wait is interrupted) it withdraws the
// request and says whether that worked. The request carries timeout as its
// TTL, so a leader that takes it later, if the withdrawal failed, refuses it.
func requestFailover(ctx context.Context, cfg *config.Config, to string, force bool, timeout time.Duration, stdout, stderr io.Writer) error {
	sh, err := daemon.NewShared(cfg, slogText(stderr))
	if err != nil {
		return err
	}
	id := newID()
	req := lease.Request{ID: id, To: to, By: cfg.Instance + "/cli", Force: force, At: time.Now().UTC(), TTL: timeout}
	etag, err := sh.PutRequest(ctx, req)
	if err != nil {
		return fmt.Errorf("hand the failover request to the leader: %w", err)
	}
	// The wait starts once storage has stored the request, as the request's
	// age (storage's clock, from its Last-Modified) does.
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	fmt.Fprintf(stdout, "Requested failover to %s (request %s); waiting up to %s for the leading monitor...\n", to, id, timeout)
	poll := time.NewTicker(min(500*time.Millisecond, timeout))
	defer poll.Stop()
	for {
		select {
		case <-ctx.Done():
			return withdraw(ctx, sh, etag, "interrupted before the leading monitor answered", timeout)
		case <-deadline.C:
			return withdraw(ctx, sh, etag, fmt.Sprintf("no leading monitor answered within %s (--timeout; is a daemon running and holding the lease? see nva-monitor status)", timeout), timeout)
		case <-poll.C:
		}
		rctx, cancel := context.WithTimeout(ctx, storageWait)
		st, err := sh.ReadState(rctx)
		cancel()
		if err != nil || len(st.LastFailover) == 0 {
			continue
		}
		var rec daemon.FailoverRecord
		if json.Unmarshal(st.LastFailover, &rec) != nil || rec.RequestID != id {
			continue
		}
		if rec.Timeline.Completed.IsZero() && rec.Error == "" {
			continue // recorded as started, not finished yet
		}
		if rec.Error != "" {
			return fmt.Errorf("the leader (%s, epoch %d) did not fail over to %s: %s", st.Leader, st.Epoch, to, rec.Error)
		}
		fmt.Fprintf(stdout, "The leader (%s, epoch %d) moved every managed resource to %s in %s.\n", st.Leader, st.Epoch, to, rec.Timeline.Total)
		return nil
	}
}

// failoverWait is the default of `failover --timeout`: long enough for a
// leader to take over (up to two lease durations when the last one has just
// died) and converge a resource (operationTimeout).
func failoverWait(cfg *config.Config) time.Duration {
	return cfg.OperationTimeout.D() + 2*cfg.Lease.Duration.D()
}

// storageWait bounds one storage call of the failover command.
const storageWait = 10 * time.Second

// withdraw deletes this command's own request (by its ETag, so a newer
// request someone else wrote stays) and returns the error that tells the
// operator what happened and whether the request may still be carried out.
// It runs after ctx may have been cancelled (Ctrl-C), so it does not use
// ctx's cancellation, only its values.
func withdraw(ctx context.Context, sh daemon.SharedState, etag, what string, ttl time.Duration) error {
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), storageWait)
	defer cancel()
	withdrawn, err := sh.WithdrawRequest(wctx, etag)
	switch {
	case err != nil:
		return fmt.Errorf("%s; the request could not be withdrawn (%w): a leader that takes it within %s of its writing may still carry it out, later it refuses it: check `nva-monitor status`", what, err, ttl)
	case withdrawn:
		return fmt.Errorf("%s; withdrawn: it will not be carried out", what)
	default:
		return fmt.Errorf("%s; the leader took the request before it could be withdrawn; it may still be carried out: check `nva-monitor status`", what)
	}
}

func newID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// sharedStatus is the cluster part of `status`.
type sharedStatus struct {
	LeaseState  string       `json:"leaseState"`
	LeaseStatus string       `json:"leaseStatus"`
	Leader      string       `json:"leader"`
	Epoch       int64        `json:"epoch"`
	Desired     string       `json:"desired"`
	Views       []lease.View `json:"views"`
	Error       string       `json:"error,omitempty"`
}

func readShared(ctx context.Context, cfg *config.Config, stderr io.Writer) *sharedStatus {
	sh, err := daemon.NewShared(cfg, slogText(stderr))
	if err != nil {
		return &sharedStatus{Error: err.Error()}
	}
	if sh == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	out := &sharedStatus{}
	info, err := sh.Info(ctx)
	if err != nil {
		out.Error = err.Error()
		return out
	}
	out.LeaseState, out.LeaseStatus, out.Leader, out.Epoch, out.Desired = info.LeaseState, info.LeaseStatus, info.Leader, info.Epoch, info.Desired
	views, err := sh.Views(ctx)
	if err != nil {
		out.Error = err.Error()
	}
	sort.Slice(views, func(i, j int) bool { return views[i].Instance < views[j].Instance })
	out.Views = views
	return out
}

func printShared(w io.Writer, s *sharedStatus, nvas []string, viewInterval time.Duration) {
	fmt.Fprintln(w)
	if s.Error != "" && s.LeaseState == "" {
		fmt.Fprintf(w, "Shared state: cannot read it: %s\n", s.Error)
		return
	}
	fmt.Fprintf(w, "Leader: %s (epoch %d, lease %s/%s), desired active NVA: %s\n", orDash(s.Leader), s.Epoch, s.LeaseState, s.LeaseStatus, orDash(s.Desired))
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	header := "MONITOR\tAGE\tLEADS\tACTIVE"
	for _, n := range nvas {
		header += "\t" + n
	}
	fmt.Fprintln(tw, header)
	for _, v := range s.Views {
		age := time.Since(v.At).Round(time.Second)
		stale := ""
		if age > 3*viewInterval {
			stale = " (stale)"
		}
		line := fmt.Sprintf("%s\t%s%s\t%v\t%s", v.Instance, age, stale, v.Leader, orDash(v.Active))
		for _, n := range nvas {
			line += "\t" + orDash(v.Health[n])
		}
		fmt.Fprintln(tw, line)
	}
	_ = tw.Flush()
}
