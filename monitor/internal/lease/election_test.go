package lease

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/lease"
)

func TestTwoCampaignersOnOneBlobElectExactlyOneLeader(t *testing.T) {
	onEveryBackend(t, twoCampaignersOnOneBlobElectExactlyOneLeader)
}

func twoCampaignersOnOneBlobElectExactlyOneLeader(t *testing.T) {
	c := sharedContainer(t)
	a, b := newMember(t, c, "mon-a"), newMember(t, c, "mon-b")
	a.start()
	b.start()

	leader, others := leaderOf(t, a, b)
	follower := others[0]
	leader.expectEdge(t, true)
	// Over a renew period, never both, never neither.
	until := time.Now().Add(testDuration/3 + time.Second)
	for time.Now().Before(until) {
		if la, lb := a.leads(), b.leads(); la == lb {
			t.Fatalf("mon-a leads=%v, mon-b leads=%v: want exactly one", la, lb)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err := follower.Check(); !errors.Is(err, ErrNotLeader) {
		t.Errorf("follower Check() = %v, want ErrNotLeader", err)
	}
	if !follower.Deadline().IsZero() {
		t.Errorf("follower Deadline() = %v, want zero", follower.Deadline())
	}
	if dl := leader.Deadline(); !dl.After(time.Now()) || dl.After(time.Now().Add(testDuration-Margin(testDuration))) {
		t.Errorf("leader Deadline() = %v, want within the next %s", dl, testDuration-Margin(testDuration))
	}
	if len(follower.logs.events(EventHeldByOther)) == 0 {
		t.Errorf("follower logged no %s", EventHeldByOther)
	}
	if len(leader.logs.events(EventAcquired)) != 1 {
		t.Errorf("leader logged %d %s, want 1", len(leader.logs.events(EventAcquired)), EventAcquired)
	}
	if leader.renewOK.Load() < 1 || leader.renewKO.Load() != 0 {
		t.Errorf("leader renews ok=%d failed=%d, want at least one ok and none failed", leader.renewOK.Load(), leader.renewKO.Load())
	}
	select {
	case v := <-follower.Leadership():
		t.Errorf("follower got leadership edge %v, want none", v)
	default:
	}
}

func TestCancellingTheLeaderReleasesTheLeaseAndTheOtherTakesOverWithinARetryPeriod(t *testing.T) {
	onEveryBackend(t, cancellingTheLeaderReleasesTheLeaseAndTheOtherTakesOverWithinARetryPeriod)
}

func cancellingTheLeaderReleasesTheLeaseAndTheOtherTakesOverWithinARetryPeriod(t *testing.T) {
	c := sharedContainer(t)
	a, b := newMember(t, c, "mon-a"), newMember(t, c, "mon-b")
	a.start()
	b.start()
	leader, others := leaderOf(t, a, b)
	follower := others[0]
	leader.expectEdge(t, true)

	if err := leader.stop(); !errors.Is(err, context.Canceled) {
		t.Fatalf("Run returned %v, want context.Canceled", err)
	}
	released := time.Now()
	if err := leader.Check(); !errors.Is(err, ErrNotLeader) {
		t.Errorf("stopped leader Check() = %v, want ErrNotLeader", err)
	}
	leader.expectEdge(t, false)
	if ev := leader.logs.events(EventReleased); len(ev) != 1 || ev[0]["reason"] != "shutdown" || ev[0]["err"] != nil {
		t.Errorf("leader %s events = %v, want one with reason shutdown and no err", EventReleased, ev)
	}

	follower.expectEdge(t, true)
	took := time.Since(released)
	if !follower.leads() {
		t.Fatal("follower got true but Check fails")
	}
	// Released, not expired: the follower's next attempt (every RetryPeriod)
	// succeeds; waiting for expiry would take the whole lease duration.
	if took >= testDuration {
		t.Errorf("takeover took %s, as long as an expiry (%s): the lease was not released", took, testDuration)
	}
	t.Logf("takeover after release: %s", took)
}

func TestResignReleasesAtOnceAndTheOtherTakesOver(t *testing.T) {
	onEveryBackend(t, resignReleasesAtOnceAndTheOtherTakesOver)
}

func resignReleasesAtOnceAndTheOtherTakesOver(t *testing.T) {
	c := sharedContainer(t)
	a, b := newMember(t, c, "mon-a"), newMember(t, c, "mon-b")
	a.start()
	b.start()
	leader, others := leaderOf(t, a, b)
	follower := others[0]
	leader.expectEdge(t, true)

	resigned := time.Now()
	leader.Resign()
	if err := leader.Check(); !errors.Is(err, ErrNotLeader) {
		t.Fatalf("Check() right after Resign = %v, want ErrNotLeader", err)
	}
	leader.expectEdge(t, false)
	follower.expectEdge(t, true)
	if took := time.Since(resigned); took >= testDuration {
		t.Errorf("takeover took %s, as long as an expiry: Resign did not release", took)
	}
	eventually(t, "the resigner logs lease_released", func() bool { return len(leader.logs.events(EventReleased)) == 1 })
	if ev := leader.logs.events(EventReleased)[0]; ev["reason"] != "resign" {
		t.Errorf("lease_released reason = %v, want resign", ev["reason"])
	}
}

func TestResignHoldsOffCampaigningForOneDuration(t *testing.T) {
	onEveryBackend(t, resignHoldsOffCampaigningForOneDuration)
}

func resignHoldsOffCampaigningForOneDuration(t *testing.T) {
	c := sharedContainer(t)
	clk := &clock{}
	m := newMember(t, c, "mon-a", func(o *BlobOptions) { o.Now = clk.Now })
	m.start()
	m.expectEdge(t, true)

	m.Resign()
	m.expectEdge(t, false)
	eventually(t, "the lease is released", func() bool {
		info, err := m.Info(ctxT(t))
		return err == nil && info.LeaseState == "available"
	})
	// Alone, and the lease free: it still does not campaign for a while.
	time.Sleep(3 * m.o.RetryPeriod)
	if m.leads() {
		t.Fatal("the resigned monitor acquired again within its hold-off")
	}
	select {
	case v := <-m.Leadership():
		t.Fatalf("leadership edge %v during the hold-off", v)
	default:
	}
	// One Duration later (by its clock) it campaigns again.
	clk.Jump(testDuration)
	m.expectEdge(t, true)
	if !m.leads() {
		t.Fatal("Check fails after re-acquiring")
	}
}

func TestAClockJumpPastTheDeadlineFailsCheckAtOnceThenTheLoopNoticesAndReacquires(t *testing.T) {
	onEveryBackend(t, aClockJumpPastTheDeadlineFailsCheckAtOnceThenTheLoopNoticesAndReacquires)
}

func aClockJumpPastTheDeadlineFailsCheckAtOnceThenTheLoopNoticesAndReacquires(t *testing.T) {
	c := sharedContainer(t)
	clk := &clock{}
	m := newMember(t, c, "mon-a", func(o *BlobOptions) { o.Now = clk.Now })
	m.start()
	m.expectEdge(t, true)
	if err := m.Check(); err != nil {
		t.Fatalf("Check() = %v after acquiring", err)
	}

	// The process "slept" (SIGSTOP) past its deadline: no timer has fired
	// yet, but Check compares the clock itself.
	clk.Jump(testDuration)
	err := m.Check()
	if !errors.Is(err, ErrNotLeader) || !contains(err.Error(), "deadline") {
		t.Fatalf("Check() right after the jump = %v, want ErrNotLeader about the deadline", err)
	}
	if err := m.WriteState(ctxT(t), State{Leader: "mon-a", Epoch: 1}); !errors.Is(err, ErrNotLeader) {
		t.Fatalf("WriteState after the jump = %v, want ErrNotLeader", err)
	}

	// The renew loop sees the deadline passed, says so, and campaigns again;
	// storage still has the lease under the same ID, so it gets it back.
	m.expectEdge(t, false)
	if ev := m.logs.events(EventLost); len(ev) != 1 || ev[0]["level"] != "ERROR" {
		t.Errorf("%s events = %v, want one at level ERROR", EventLost, ev)
	}
	m.expectEdge(t, true)
	if err := m.Check(); err != nil {
		t.Errorf("Check() after re-acquiring = %v", err)
	}
}

func TestARenewAnsweredWithAConflictLosesTheLeaseAtOnce(t *testing.T) {
	onEveryBackend(t, aRenewAnsweredWithAConflictLosesTheLeaseAtOnce)
}

func aRenewAnsweredWithAConflictLosesTheLeaseAtOnce(t *testing.T) {
	c := sharedContainer(t)
	m := newMember(t, c, "mon-a")
	m.start()
	m.expectEdge(t, true)

	// An operator (or a stuck-lease runbook) breaks the lease.
	breaker, err := lease.NewBlobClient(c.NewBlockBlobClient(testBlob), nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := breaker.BreakLease(ctxT(t), &lease.BlobBreakOptions{BreakPeriod: ptr(int32(0))}); err != nil {
		t.Fatal(err)
	}
	deadline := m.Deadline()
	// The next renew (within Duration/3) gets 409 LeaseIsBrokenAndCannotBeRenewed:
	// lost before the deadline, without retrying.
	lost := m.expectEdge(t, false)
	if !lost.Before(deadline) {
		t.Errorf("lost at %s, not before the deadline %s", lost, deadline)
	}
	ev := m.logs.events(EventLost)
	if len(ev) != 1 || !contains(ev[0]["reason"].(string), "LeaseIsBrokenAndCannotBeRenewed") {
		t.Errorf("%s events = %v, want one naming LeaseIsBrokenAndCannotBeRenewed", EventLost, ev)
	}
	if n := len(m.logs.events(EventRenewFailed)); n != 0 {
		t.Errorf("%d %s events: a conflict is not retried", n, EventRenewFailed)
	}
	// A broken lease can be acquired: the monitor campaigns and leads again.
	m.expectEdge(t, true)
}

// TestSlowRenewFailuresEndLeadershipByTheDeadlineAndLeadershipReturns waits
// for a lease deadline (about 12 s; on blobsim in virtual time) while
// storage is down: Azurite stopped (connections refused), blobsim answering
// 503 ServerBusy.
func TestSlowRenewFailuresEndLeadershipByTheDeadlineAndLeadershipReturns(t *testing.T) {
	onEveryBackend(t, slowRenewFailuresEndLeadershipByTheDeadlineAndLeadershipReturns)
}

func slowRenewFailuresEndLeadershipByTheDeadlineAndLeadershipReturns(t *testing.T) {
	if testing.Short() {
		t.Skip("slow: waits for the lease deadline")
	}
	c, az := stoppableStorage(t)
	m := newMember(t, c, "mon-a")
	m.start()
	m.expectEdge(t, true)

	if err := az.Stop(); err != nil {
		t.Fatal(err)
	}
	// No renew can succeed from here: the deadline is final.
	deadline := m.Deadline()
	if deadline.IsZero() {
		t.Fatal("lost the lease before storage went down")
	}
	var lostAt time.Time
	for lostAt.IsZero() {
		leads := m.leads()
		now := time.Now()
		if leads && !now.Before(deadline) {
			t.Fatalf("Check passes at %s, past the deadline %s", now, deadline)
		}
		select {
		case v := <-m.Leadership():
			if v {
				t.Fatal("leadership edge true while storage is down")
			}
			lostAt = time.Now()
		case <-time.After(20 * time.Millisecond):
		}
		if time.Since(deadline) > wait {
			t.Fatal("no false edge long after the deadline")
		}
	}
	if err := m.Check(); !errors.Is(err, ErrNotLeader) {
		t.Errorf("Check() after the false edge = %v", err)
	}
	// The false edge comes from the loop's own timer at the deadline; allow
	// for scheduling on a loaded machine, not for another renew period.
	if late := lostAt.Sub(deadline); late > 2*time.Second {
		t.Errorf("false edge %s after the deadline, want at most 2s", late)
	}
	if m.renewKO.Load() < 2 {
		t.Errorf("%d failed renews, want retries until the deadline (at least 2)", m.renewKO.Load())
	}
	if len(m.logs.events(EventRenewFailed)) == 0 || len(m.logs.events(EventLost)) != 1 {
		t.Errorf("want %s events and one %s", EventRenewFailed, EventLost)
	}

	if err := az.Restart(); err != nil {
		t.Fatal(err)
	}
	m.expectEdge(t, true)
	if err := m.Check(); err != nil {
		t.Errorf("Check() after storage came back = %v", err)
	}
}

func TestRunRefusesToRunTwiceAtOnce(t *testing.T) { onEveryBackend(t, runRefusesToRunTwiceAtOnce) }

func runRefusesToRunTwiceAtOnce(t *testing.T) {
	c := sharedContainer(t)
	m := newMember(t, c, "mon-a")
	m.start()
	m.expectEdge(t, true)
	if err := m.Run(context.Background()); err == nil || !contains(err.Error(), "already running") {
		t.Fatalf("second Run = %v, want already running", err)
	}
	if err := m.stop(); !errors.Is(err, context.Canceled) {
		t.Fatalf("Run = %v, want context.Canceled", err)
	}
	m.expectEdge(t, false) // the release on stop
	// And it can be run again after it returned.
	m.start()
	m.expectEdge(t, true)
}
