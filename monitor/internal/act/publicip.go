package act

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/network/armnetwork/v7"

	"github.com/hanva/hanva/monitor/internal/azure"
)

// pipView is a managed public IP as read.
type pipView struct {
	m        managed
	address  string
	attached string  // ipConfiguration ID of the back-reference; "" when detached
	nicID    string  // the NIC part of attached; "" when not a NIC ipconfig
	ipconfig string  // the ipconfig name
	owner    *nicRef // the NVA NIC it is on; nil when detached or not on an NVA NIC
	v6       bool    // publicIPAddressVersion IPv6
}

// splitIPConfigID splits ".../networkInterfaces/nic/ipConfigurations/ipc".
func splitIPConfigID(id string) (nicID, ipconfig string, ok bool) {
	l := strings.ToLower(id)
	i := strings.LastIndex(l, "/ipconfigurations/")
	if i < 0 || !strings.Contains(l[:i], "/providers/microsoft.network/networkinterfaces/") {
		return "", "", false
	}
	return id[:i], id[i+len("/ipconfigurations/"):], true
}

func (e *Engine) readPublicIP(ctx context.Context, m managed) (pipView, error) {
	pip, err := e.getPublicIP(ctx, m.res)
	if err != nil {
		return pipView{}, err
	}
	v := pipView{m: m}
	if p := pip.Properties; p != nil {
		v.address = deref(p.IPAddress)
		v.v6 = p.PublicIPAddressVersion != nil && strings.EqualFold(string(*p.PublicIPAddressVersion), string(armnetwork.IPVersionIPv6))
		if p.IPConfiguration != nil {
			v.attached = deref(p.IPConfiguration.ID)
		}
	}
	if v.attached == "" {
		return v, nil
	}
	if nicID, ipc, ok := splitIPConfigID(v.attached); ok {
		v.nicID, v.ipconfig = nicID, ipc
		if ref, ok := e.x.nics[idKey(nicID)]; ok {
			v.owner = &ref
		}
	}
	return v, nil
}

// pipStep is what one public IP needs to be on the target.
type pipStep struct {
	view   pipView
	detach *nicRef // detach from this NVA NIC first; nil when detached
	attach nicRef  // then attach to this NIC's ipconfig chosen by pipTarget
	done   bool    // already on the target's NIC
}

func (e *Engine) stepFor(v pipView, target string) (pipStep, error) {
	to, _ := e.x.nic(target, v.m.via)
	switch {
	case v.attached == "":
		return pipStep{view: v, attach: to}, nil
	case v.owner == nil:
		return pipStep{}, permanent(fmt.Errorf("public IP %q is attached to %s, which is not a NIC of any NVA: leaving it alone", v.m.res.name, v.attached))
	case v.owner.res.key() == to.res.key():
		return pipStep{view: v, done: true}, nil
	}
	return pipStep{view: v, detach: v.owner, attach: to}, nil
}

// detach removes the given public IPs from whichever ipconfigs of nic hold
// them, in one PUT, leaving everything else of the NIC as read.
func (e *Engine) detach(ctx context.Context, nic nicRef, pips []managed) (attempts int, accepted bool, err error) {
	attempts, err = e.retry(ctx, nic.res.name, func(ctx context.Context) error {
		unlock, err := e.lockNIC(ctx, nic.res)
		if err != nil {
			return err
		}
		defer unlock()
		for {
			n, err := e.getNIC(ctx, nic.res)
			if err != nil {
				return err
			}
			changed := false
			if n.Properties != nil {
				for _, ipc := range n.Properties.IPConfigurations {
					if ipc == nil || ipc.Properties == nil || ipc.Properties.PublicIPAddress == nil {
						continue
					}
					for _, p := range pips {
						if sameID(deref(ipc.Properties.PublicIPAddress.ID), p.res.id) {
							ipc.Properties.PublicIPAddress = nil
							changed = true
							break
						}
					}
				}
			}
			if !changed {
				if n.Properties != nil && !terminal(n.Properties.ProvisioningState) {
					if err := sleep(ctx, e.opts.PollInterval); err != nil {
						return err
					}
					continue
				}
				return nil
			}
			ok, err := e.putNIC(ctx, nic.res, n)
			accepted = accepted || ok
			return err
		}
	})
	return attempts, accepted, err
}

// pipTarget chooses the ipconfig of the target NIC that takes a public IP
// of IP version v6 that was on ipconfig from ("" when detached): the
// ipconfig of the same name if it is of that version, else the primary
// ipconfig of that version (Azure refuses a public IP on an ipconfig of the
// other version, docs/azure-behaviour.md#ipv6). nil when there is none.
func pipTarget(ipcs []ipconfig, from string, v6 bool) *ipconfig {
	if c := named(ipcs, from); from != "" && c != nil && c.v6 == v6 {
		return c
	}
	return primaryOf(ipcs, v6)
}

// attach puts pip on the ipconfig of nic chosen by pipTarget as {id} only,
// leaving everything else of the NIC as read.
func (e *Engine) attach(ctx context.Context, nic nicRef, pip managed, v pipView) (attempts int, accepted bool, err error) {
	attempts, err = e.retry(ctx, nic.res.name, func(ctx context.Context) error {
		unlock, err := e.lockNIC(ctx, nic.res)
		if err != nil {
			return err
		}
		defer unlock()
		for {
			n, err := e.getNIC(ctx, nic.res)
			if err != nil {
				return err
			}
			want := pipTarget(readIPConfigs(&n), v.ipconfig, v.v6)
			if want == nil {
				return permanent(fmt.Errorf("attach public IP %q: nic %q has no %s ipconfig", pip.res.name, nic.res.name, version(v.v6)))
			}
			var ipc *armnetwork.InterfaceIPConfiguration
			for _, c := range n.Properties.IPConfigurations {
				if c != nil && c.Properties != nil && strings.EqualFold(deref(c.Name), want.name) {
					ipc = c
				}
			}
			if ipc == nil {
				return permanent(fmt.Errorf("attach public IP %q: nic %q has no ipconfig %q", pip.res.name, nic.res.name, want.name))
			}
			if cur := ipc.Properties.PublicIPAddress; cur != nil && deref(cur.ID) != "" {
				if !sameID(deref(cur.ID), pip.res.id) {
					return permanent(fmt.Errorf("attach public IP %q: ipconfig %s/%s already holds public IP %s: leaving it alone",
						pip.res.name, nic.res.name, deref(ipc.Name), deref(cur.ID)))
				}
				if n.Properties != nil && !terminal(n.Properties.ProvisioningState) {
					if err := sleep(ctx, e.opts.PollInterval); err != nil {
						return err
					}
					continue
				}
				return nil
			}
			id := pip.res.id
			ipc.Properties.PublicIPAddress = &armnetwork.PublicIPAddress{ID: &id}
			ok, err := e.putNIC(ctx, nic.res, n)
			accepted = accepted || ok
			return err
		}
	})
	return attempts, accepted, err
}

// convergePublicIPs moves every managed public IP to the target's NIC of its
// role: detach from the old NIC, then attach to the new one
// (docs/azure-behaviour.md#public-ip-move: two sequential NIC PUTs). Detaches
// are grouped so that each NIC gets one PUT, and the attaches to one NIC (an
// IPv4 and an IPv6 public IP) run one after the other (concurrent writes to
// one NIC fail with 409 AnotherOperationInProgress); different NICs are
// written in parallel. An
// attach refused with 400 PublicIPAddressInUse sends the public IP back to
// a fresh read and detach. A fenced NIC write stops the rest of the
// Converge through stop.
func (e *Engine) convergePublicIPs(ctx context.Context, target string, start time.Time, stop context.CancelCauseFunc) []ResourceResult {
	pips := e.x.pips
	results := make([]ResourceResult, len(pips))
	for i, m := range pips {
		results[i] = ResourceResult{Kind: KindPublicIP, ID: m.res.id, Attempts: 1}
	}
	if len(pips) == 0 {
		return results
	}
	ctx, cancel := context.WithTimeout(ctx, e.opts.OperationTimeout)
	defer cancel()

	var mu sync.Mutex // guards results from the phase goroutines
	finish := func(i int) {
		e.finishMove(ctx, &results[i], moved{key: keyPublicIP, value: pips[i].res.name,
			label: fmt.Sprintf("public IP %q", pips[i].res.name), event: EventPublicIPMoved}, target, start, stop)
	}

	e.moveRounds(ctx, results, finish, func(pending []int) []int {
		// Read every pending public IP and decide.
		steps := make([]pipStep, len(pips))
		var wg sync.WaitGroup
		for _, i := range pending {
			wg.Go(func() {
				m := pips[i]
				n, err := e.retry(ctx, m.res.name, func(ctx context.Context) error {
					v, err := e.readPublicIP(ctx, m)
					if err != nil {
						return err
					}
					steps[i], err = e.stepFor(v, target)
					return err
				})
				mu.Lock()
				results[i].Attempts += n - 1
				results[i].Err = err
				mu.Unlock()
			})
		}
		wg.Wait()
		var detaching, attaching, next []int
		for _, i := range pending {
			switch s := steps[i]; {
			case results[i].Err != nil, s.done:
				finish(i)
			case s.detach != nil:
				detaching = append(detaching, i)
			default:
				attaching = append(attaching, i)
			}
		}

		// Detach: one PUT per old NIC, NICs in parallel.
		attaching = append(attaching, e.detachGroups(groupBy(detaching, func(i int) string { return steps[i].detach.res.key() }),
			results, &mu, finish,
			func(group []int) (int, bool, error) {
				ms := make([]managed, len(group))
				for j, i := range group {
					ms[j] = pips[i]
				}
				return e.detach(ctx, *steps[group[0]].detach, ms)
			},
			func(i int) {
				nic := steps[i].detach
				e.log.LogAttrs(ctx, slog.LevelInfo, EventPublicIPDetached, attrEvent(EventPublicIPDetached),
					attrStr(keyPublicIP, pips[i].res.name), attrStr(keyNVA, nic.nva),
					attrStr("nic", nic.res.name), attrDur(keyDuration, e.now().Sub(start)))
			})...)

		// Attach: one goroutine per NIC, NICs in parallel; the public IPs of
		// one NIC (at most an IPv4 and an IPv6 one: checked by New) one
		// after the other, as concurrent writes to one NIC fail with 409.
		attachOne := func(i int) {
			n, accepted, err := e.attach(ctx, steps[i].attach, pips[i], steps[i].view)
			mu.Lock()
			defer mu.Unlock()
			r := &results[i]
			r.Attempts += n - 1
			r.Changed = r.Changed || accepted
			if errInUse(err) && ctx.Err() == nil {
				// Still referenced somewhere (re-attached by someone, or
				// our detach not visible yet): read again, detach again.
				e.log.LogAttrs(ctx, levelRetry, EventRetry, attrEvent(EventRetry),
					attrStr("resource", pips[i].res.name), attrErr(err), attrInt(keyAttempt, r.Attempts))
				r.Err = err
				next = append(next, i)
				return
			}
			r.Err = err
			finish(i)
		}
		for _, group := range groupBy(attaching, func(i int) string { return steps[i].attach.res.key() }) {
			wg.Go(func() {
				for _, i := range group {
					attachOne(i)
				}
			})
		}
		wg.Wait()
		return next
	})
	return results
}

// errInUse tells whether err is ARM refusing an attach because the public IP
// is still referenced elsewhere (docs/azure-behaviour.md#nic-validation).
func errInUse(err error) bool {
	return errors.Is(err, azure.ErrBadRequest) && strings.EqualFold(azure.Code(err), azure.CodePublicIPAddressInUse)
}
