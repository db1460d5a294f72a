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
// until the leading monitor has carried it out or refused it.
func requestFailover(ctx context.Context, cfg *config.Config, to string, force bool, stdout, stderr io.Writer) error {
	sh, err := daemon.NewShared(cfg, slogText(stderr))
	if err != nil {
		return err
	}
	id := newID()
	req := lease.Request{ID: id, To: to, By: cfg.Instance + "/cli", Force: force, At: time.Now().UTC()}
	if err := sh.PutRequest(ctx, req); err != nil {
		return fmt.Errorf("hand the failover request to the leader: %w", err)
	}
	fmt.Fprintf(stdout, "Requested failover to %s (request %s); waiting for the leading monitor...\n", to, id)
	wait := cfg.OperationTimeout.D() + 2*cfg.Lease.Duration.D()
	deadline := time.Now().Add(wait)
	for time.Now().Before(deadline) {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(500 * time.Millisecond):
		}
		st, err := sh.ReadState(ctx)
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
	// Nobody took it: withdraw it so it does not fire later by surprise.
	if r, err := sh.TakeRequest(ctx); err == nil && r != nil && r.ID != id {
		_ = sh.PutRequest(ctx, *r) // someone else's request: put it back
	}
	return fmt.Errorf("no leading monitor carried out the request within %s (is a daemon running and holding the lease? see nva-monitor status); the request was withdrawn", wait)
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
