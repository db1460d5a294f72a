package drill

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/hanva/hanva/testenv/lab"
)

// progress prints one line a second until the returned stop is called:
// who leads, each NVA's health as the leader (or another monitor) sees it,
// and where Azure points.
func (r *runner) progress() (stop func()) {
	ctx, cancel := context.WithCancel(r.ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				line := r.progressLine(ctx)
				if ctx.Err() == nil { // not cut short by stop
					fmt.Fprintln(r.out, line)
				}
			}
		}
	}()
	return func() {
		cancel()
		<-done
	}
}

func (r *runner) progressLine(ctx context.Context) string {
	var b strings.Builder
	fmt.Fprintf(&b, "    %6s", r.offset(time.Now()))
	leaders := r.env.Leaders(ctx)
	var view *lab.Monitor
	switch len(leaders) {
	case 0:
		b.WriteString("  leader: none  ")
	case 1:
		view = leaders[0]
		fmt.Fprintf(&b, "  leader: %s  ", leaders[0].Name)
	default:
		var names []string
		for _, m := range leaders {
			names = append(names, m.Name)
		}
		fmt.Fprintf(&b, "  leaders: %s (!)  ", strings.Join(names, "+"))
		view = leaders[0]
	}
	var notes []string
	for _, m := range r.env.Monitors {
		switch {
		case !m.Running():
			notes = append(notes, m.Name+" dead")
		case m.Paused():
			notes = append(notes, m.Name+" paused")
		case view == nil:
			view = m
		}
	}
	if view != nil {
		if st, err := view.Status(ctx); err == nil {
			var hs []string
			names := make([]string, 0, len(st.NVAs))
			for n := range st.NVAs {
				names = append(names, n)
			}
			sort.Strings(names)
			for _, n := range names {
				h := st.NVAs[n]
				s := n + " " + h.Health
				if !h.LastProbeOK && h.LastFailure != "" {
					s += " (" + h.LastFailure + ")"
				}
				hs = append(hs, s)
			}
			fmt.Fprintf(&b, "health[%s]: %s  ", view.Name, strings.Join(hs, ", "))
		}
	}
	if p, err := r.env.Placement(); err == nil {
		if on, ok := p.On(); ok {
			fmt.Fprintf(&b, "azure: all on %s", on)
		} else {
			fmt.Fprintf(&b, "azure: %s", describePlacement(r.env, p))
		}
	}
	if n := inFlight(r.env.Sim.Events(0)); n > 0 {
		fmt.Fprintf(&b, " (%d write(s) in flight)", n)
	}
	if len(notes) > 0 {
		fmt.Fprintf(&b, "  [%s]", strings.Join(notes, ", "))
	}
	return b.String()
}
