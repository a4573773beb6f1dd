package storetest

import (
	"time"

	"github.com/duroxide-go/duroxide/history"
)

func testActivityRoundTrip(e *env) {
	w2, w3 := work("p", 1, 2, "A"), work("p", 1, 3, "B")
	w3.SessionID, w3.Tag = "s1", "gpu"
	e.create("p")
	e.turn("p", history.Commit{ExecutionID: 1, Delta: []history.Event{startedEv(1), activityEv(2, "A"), activityEv(3, "B")},
		Status: history.StatusRunning, Activities: []history.ActivityWork{w2, w3}})
	a := e.fetchActivity(2)
	if a.Attempt != 1 {
		e.t.Errorf("Attempt = %d, want 1", a.Attempt)
	}
	e.diff("first activity", w2, a.Work)
	b := e.fetchActivity(3)
	e.diff("second activity", w3, b.Work)
	e.noActivity()

	done := completed("p", 1, 2, `"r"`)
	if err := e.s.CompleteActivity(e.ctx, a.LockToken, done); err != nil {
		e.t.Fatalf("CompleteActivity: %v", err)
	}
	e.wantErr("second CompleteActivity", e.s.CompleteActivity(e.ctx, a.LockToken, done), history.ErrLockLost)
	l := e.fetch("p")
	e.diff("completion", []history.Message{*done}, l.Messages)
	e.commit(l, history.Commit{ExecutionID: 1, Status: history.StatusRunning})

	// Abandon redelivers; ignoreAttempt keeps the count.
	if err := e.s.RenewActivityLock(e.ctx, b.LockToken, longLock); err != nil {
		e.t.Fatalf("RenewActivityLock: %v", err)
	}
	if err := e.s.AbandonActivity(e.ctx, b.LockToken, 0, false); err != nil {
		e.t.Fatalf("AbandonActivity: %v", err)
	}
	e.wantErr("renew after abandon", e.s.RenewActivityLock(e.ctx, b.LockToken, longLock), history.ErrLockLost)
	b = e.fetchActivity(3)
	if b.Attempt != 2 {
		e.t.Errorf("Attempt after abandon = %d, want 2", b.Attempt)
	}
	if err := e.s.AbandonActivity(e.ctx, b.LockToken, 0, true); err != nil {
		e.t.Fatalf("AbandonActivity: %v", err)
	}
	b = e.fetchActivity(3)
	if b.Attempt != 2 {
		e.t.Errorf("Attempt after abandon with ignoreAttempt = %d, want 2", b.Attempt)
	}
	// Abandon with a delay hides it until then.
	const delay = 200 * time.Millisecond
	abandonedAt := time.Now()
	if err := e.s.AbandonActivity(e.ctx, b.LockToken, delay, false); err != nil {
		e.t.Fatalf("AbandonActivity: %v", err)
	}
	e.noActivity()
	b = eventually(e.t, "the abandoned activity", func() (*history.ActivityLease, bool) {
		l := e.tryFetchActivity(longLock)
		return l, l != nil
	})
	if waited := time.Since(abandonedAt); waited < delay-20*time.Millisecond {
		e.t.Errorf("abandoned activity visible after %v, want %v", waited, delay)
	}
	if b.Work.ID != 3 || b.Attempt != 3 {
		e.t.Errorf("got activity %d attempt %d, want 3 attempt 3", b.Work.ID, b.Attempt)
	}
	// A nil completion (a cancelled activity) queues nothing.
	if err := e.s.CompleteActivity(e.ctx, b.LockToken, nil); err != nil {
		e.t.Fatalf("CompleteActivity(nil): %v", err)
	}
	e.noFetch()
	e.noActivity()
	e.wantErr("complete of an unknown token", e.s.CompleteActivity(e.ctx, "no-such-token", done), history.ErrLockLost)
	e.wantErr("renew of an unknown token", e.s.RenewActivityLock(e.ctx, "no-such-token", longLock), history.ErrLockLost)
	e.wantErr("abandon of an unknown token", e.s.AbandonActivity(e.ctx, "no-such-token", 0, false), history.ErrLockLost)
	e.noFetch()
}

func testActivityCancel(e *env) {
	e.create("p")
	e.turn("p", history.Commit{ExecutionID: 1, Delta: []history.Event{startedEv(1), activityEv(2, "A"), activityEv(3, "B")},
		Status: history.StatusRunning, Activities: []history.ActivityWork{work("p", 1, 2, "A"), work("p", 1, 3, "B")}})
	a := e.fetchActivity(2) // in flight; 3 stays queued
	e.send(raised("p", "cancel both", `1`))
	cancel := func(id uint64) history.Event {
		c := ev(id+2, history.ActivityCancelRequested)
		c.SourceEventID, c.Reason = id, history.ReasonDroppedFuture
		return c
	}
	e.turn("p", history.Commit{ExecutionID: 1, Delta: []history.Event{cancel(2), cancel(3)}, Status: history.StatusRunning,
		CancelledActivities: []history.ActivityRef{{Instance: "p", ExecutionID: 1, ID: 2}, {Instance: "p", ExecutionID: 1, ID: 3},
			{Instance: "p", ExecutionID: 1, ID: 99}}})
	e.wantErr("renew of a cancelled activity", e.s.RenewActivityLock(e.ctx, a.LockToken, longLock), history.ErrLockLost)
	e.wantErr("complete of a cancelled activity", e.s.CompleteActivity(e.ctx, a.LockToken, completed("p", 1, 2, `1`)), history.ErrLockLost)
	e.wantErr("abandon of a cancelled activity", e.s.AbandonActivity(e.ctx, a.LockToken, 0, false), history.ErrLockLost)
	e.noFetch()
	e.noActivity()
}

func testActivityScheduleAndCancel(e *env) {
	e.create("p")
	e.create("q")
	e.turn("p", history.Commit{ExecutionID: 1, Delta: []history.Event{startedEv(1), activityEv(2, "A")}, Status: history.StatusRunning,
		Activities:          []history.ActivityWork{work("p", 1, 2, "A"), work("p", 1, 3, "B")},
		CancelledActivities: []history.ActivityRef{{Instance: "p", ExecutionID: 1, ID: 2}}})
	// Same id, other execution and other instance are not cancelled.
	e.turn("q", history.Commit{ExecutionID: 1, Delta: []history.Event{startedEv(1), activityEv(2, "A")}, Status: history.StatusRunning,
		Activities:          []history.ActivityWork{work("q", 1, 2, "A")},
		CancelledActivities: []history.ActivityRef{{Instance: "q", ExecutionID: 2, ID: 2}, {Instance: "p", ExecutionID: 1, ID: 2}}})
	b := e.fetchActivity(3)
	e.diff("remaining activity of p", work("p", 1, 3, "B"), b.Work)
	q := e.fetchActivity(2)
	if q.Work.Instance != "q" {
		e.t.Errorf("got activity of %q, want q", q.Work.Instance)
	}
	e.noActivity()
}

func testActivityLockExpiry(e *env) {
	e.create("p")
	e.turn("p", history.Commit{ExecutionID: 1, Delta: []history.Event{startedEv(1), activityEv(2, "A")}, Status: history.StatusRunning,
		Activities: []history.ActivityWork{work("p", 1, 2, "A")}})
	first, err := e.s.FetchActivity(e.ctx, history.FetchActivityRequest{LockTimeout: shortLock})
	if err != nil || first == nil {
		e.t.Fatalf("FetchActivity = %v, %v", first, err)
	}
	e.noActivity()
	second := eventually(e.t, "redelivery", func() (*history.ActivityLease, bool) {
		l := e.tryFetchActivity(longLock)
		return l, l != nil
	})
	if second.Attempt != 2 || second.Work.ID != 2 {
		e.t.Errorf("redelivered activity %d attempt %d, want 2 attempt 2", second.Work.ID, second.Attempt)
	}
	if second.LockToken == first.LockToken {
		e.t.Fatal("the redelivery reuses the expired lock token")
	}
	e.wantErr("complete with the expired lock", e.s.CompleteActivity(e.ctx, first.LockToken, completed("p", 1, 2, `1`)), history.ErrLockLost)
	e.wantErr("renew of the expired lock", e.s.RenewActivityLock(e.ctx, first.LockToken, longLock), history.ErrLockLost)
	e.wantErr("abandon of the expired lock", e.s.AbandonActivity(e.ctx, first.LockToken, 0, false), history.ErrLockLost)
	e.noFetch()
	done := completed("p", 1, 2, `2`)
	if err := e.s.CompleteActivity(e.ctx, second.LockToken, done); err != nil {
		e.t.Fatalf("CompleteActivity: %v", err)
	}
	l := e.fetch("p")
	e.diff("completion", []history.Message{*done}, l.Messages)
}

// A commit with LeaseActivities queues the first Max eligible activities already locked
// and returns their leases; the rest are queued for fetching as usual.
func testCommitLeasesActivities(e *env) {
	wA, wB, wC, wD := work("p", 1, 2, "A"), work("p", 1, 3, "B"), work("p", 1, 4, "C"), work("p", 1, 5, "D")
	wB.Tag = "gpu"
	e.create("p")
	_, res := e.turn("p", history.Commit{ExecutionID: 1,
		Delta:      []history.Event{startedEv(1), activityEv(2, "A"), activityEv(3, "B"), activityEv(4, "C"), activityEv(5, "D")},
		Status:     history.StatusRunning,
		Activities: []history.ActivityWork{wA, wB, wC, wD},
		// C is withdrawn in the same commit: neither queued nor leased.
		CancelledActivities: []history.ActivityRef{{Instance: "p", ExecutionID: 1, ID: 4}},
		LeaseActivities: &history.ActivityLeaseRequest{Max: 2, LockTimeout: longLock,
			Eligible: func(w history.ActivityWork) bool { return w.Tag == "" }},
	})
	if len(res.Leases) != 2 {
		e.t.Fatalf("%d leases, want 2 (A and D)", len(res.Leases))
	}
	a, d := res.Leases[0], res.Leases[1]
	e.diff("first lease", wA, a.Work)
	e.diff("second lease", wD, d.Work)
	if a.Attempt != 1 || d.Attempt != 1 || a.LockToken == "" || a.LockToken == d.LockToken {
		e.t.Errorf("leases: attempts %d, %d; tokens %q, %q: want attempt 1 and distinct tokens", a.Attempt, d.Attempt, a.LockToken, d.LockToken)
	}
	// Only B is left to fetch: the leased ones are locked, C is gone.
	got := e.fetchActivity(3)
	e.diff("fetched activity", wB, got.Work)
	e.noActivity()

	// A lease is a lock like a fetched one: renew, complete, abandon.
	if err := e.s.RenewActivityLock(e.ctx, a.LockToken, longLock); err != nil {
		e.t.Fatalf("RenewActivityLock of a lease: %v", err)
	}
	done := completed("p", 1, 2, `"a"`)
	if err := e.s.CompleteActivity(e.ctx, a.LockToken, done); err != nil {
		e.t.Fatalf("CompleteActivity of a lease: %v", err)
	}
	l := e.fetch("p")
	e.diff("completion of the leased activity", []history.Message{*done}, l.Messages)
	e.commit(l, history.Commit{ExecutionID: 1, Status: history.StatusRunning})
	if err := e.s.AbandonActivity(e.ctx, d.LockToken, 0, true); err != nil {
		e.t.Fatalf("AbandonActivity of a lease: %v", err)
	}
	again := e.fetchActivity(5)
	if again.Attempt != 1 {
		e.t.Errorf("attempt after abandoning a lease with ignoreAttempt: %d, want 1", again.Attempt)
	}
}

// A leased activity whose lock expires (its runtime died) is fetched again, one attempt
// more, and the expired lease can no longer complete it.
func testCommitLeaseExpires(e *env) {
	e.create("p")
	_, res := e.turn("p", history.Commit{ExecutionID: 1, Delta: []history.Event{startedEv(1), activityEv(2, "A")},
		Status: history.StatusRunning, Activities: []history.ActivityWork{work("p", 1, 2, "A")},
		LeaseActivities: &history.ActivityLeaseRequest{Max: 8, LockTimeout: shortLock}})
	if len(res.Leases) != 1 {
		e.t.Fatalf("%d leases, want 1", len(res.Leases))
	}
	e.noActivity()
	second := eventually(e.t, "redelivery of an expired lease", func() (*history.ActivityLease, bool) {
		l := e.tryFetchActivity(longLock)
		return l, l != nil
	})
	if second.Attempt != 2 || second.Work.ID != 2 {
		e.t.Errorf("redelivered activity %d attempt %d, want 2 attempt 2", second.Work.ID, second.Attempt)
	}
	e.wantErr("complete with the expired lease", e.s.CompleteActivity(e.ctx, res.Leases[0].LockToken, completed("p", 1, 2, `1`)), history.ErrLockLost)
	// Max 0 or no request leases nothing.
	e.create("q")
	_, res = e.turn("q", history.Commit{ExecutionID: 1, Delta: []history.Event{startedEv(1), activityEv(2, "A")},
		Status: history.StatusRunning, Activities: []history.ActivityWork{work("q", 1, 2, "A")},
		LeaseActivities: &history.ActivityLeaseRequest{Max: 0, LockTimeout: longLock}})
	if len(res.Leases) != 0 {
		e.t.Errorf("Max 0 leased %d activities", len(res.Leases))
	}
	if l := e.fetchActivity(2); l.Work.Instance != "q" {
		e.t.Errorf("fetched %q's activity, want q's", l.Work.Instance)
	}
}
