package storetest

import (
	"encoding/json"
	"time"

	"github.com/duroxide-go/duroxide/history"
)

// Ports of the worker-queue tests of the Rust provider validation modules
// lock_expiration, queue_semantics, poison_message and cancellation.

func testWorkerLockRenewalSuccess(e *env) {
	e.scheduled("p", 2)
	a := e.fetchActivityFor("p", 2, shortLock)
	e.noActivity()
	if err := e.s.RenewActivityLock(e.ctx, a.LockToken, longLock); err != nil {
		e.t.Fatalf("RenewActivityLock: %v", err)
	}
	e.noActivity() // still locked
	e.completeActivity(a, completed("p", 1, 2, `"done"`))
}

func testWorkerLockRenewalAfterExpiration(e *env) {
	e.scheduled("p", 2)
	a := e.fetchActivityFor("p", 2, shortLock)
	waitOut(time.Now(), shortLock) // nobody takes the activity over
	e.wantErr("renew after the lock expired", e.s.RenewActivityLock(e.ctx, a.LockToken, longLock), history.ErrLockLost)
	b := e.fetchActivity(2) // the renewal did not revive the lock
	if b.Attempt != 2 {
		e.t.Errorf("Attempt = %d, want 2", b.Attempt)
	}
}

func testWorkerLockRenewalExtendsTimeout(e *env) {
	e.scheduled("p", 2, 3)
	a := e.fetchActivityFor("p", 2, shortLock)
	if err := e.s.RenewActivityLock(e.ctx, a.LockToken, longLock); err != nil {
		e.t.Fatalf("RenewActivityLock: %v", err)
	}
	e.fetchActivityFor("p", 3, shortLock) // its lock expires after a's first one would have
	// 2 is older: had its lock expired, it would be redelivered first.
	e.waitActivity("p", 3)
	e.noActivity()
	e.completeActivity(a, completed("p", 1, 2, `"done"`))
}

func testWorkerLockRenewalAfterAck(e *env) {
	e.scheduled("p", 2)
	a := e.fetchActivity(2)
	e.completeActivity(a, completed("p", 1, 2, `"done"`))
	e.wantErr("renew after complete", e.s.RenewActivityLock(e.ctx, a.LockToken, longLock), history.ErrLockLost)
	e.wantErr("abandon after complete", e.s.AbandonActivity(e.ctx, a.LockToken, 0, false), history.ErrLockLost)
	e.noActivity()
}

func testAbandonWorkItemReleasesLock(e *env) {
	e.scheduled("p", 2)
	a := e.fetchActivity(2)
	e.noActivity()
	if err := e.s.AbandonActivity(e.ctx, a.LockToken, 0, false); err != nil {
		e.t.Fatalf("AbandonActivity: %v", err)
	}
	b := e.fetchActivity(2) // at once
	if b.LockToken == a.LockToken {
		e.t.Errorf("the refetched activity reuses the abandoned lock token")
	}
	e.wantErr("complete with the abandoned token", e.s.CompleteActivity(e.ctx, a.LockToken, completed("p", 1, 2, `1`)), history.ErrLockLost)
	e.completeActivity(b, completed("p", 1, 2, `2`))
}

func testWorkerAckFailsAfterLockExpiry(e *env) {
	e.scheduled("p", 2)
	a := e.fetchActivityFor("p", 2, shortLock)
	waitOut(time.Now(), shortLock) // nobody takes the activity over
	e.wantErr("complete after the lock expired", e.s.CompleteActivity(e.ctx, a.LockToken, completed("p", 1, 2, `1`)), history.ErrLockLost)
	e.noFetch() // the completion was not queued
	b := e.fetchActivity(2)
	if b.Attempt != 2 {
		e.t.Errorf("Attempt = %d, want 2", b.Attempt)
	}
}

func testWorkerQueueFifoOrdering(e *env) {
	e.scheduled("p", 2, 3, 4)
	e.scheduled("q", 2, 3)
	for _, want := range []struct {
		instance string
		id       uint64
	}{{"p", 2}, {"p", 3}, {"p", 4}, {"q", 2}, {"q", 3}} {
		e.fetchActivityFor(want.instance, want.id, longLock)
	}
	e.noActivity()
}

func testWorkerDelayedVisibilitySkipsFutureItems(e *env) {
	e.scheduled("p", 2, 3)
	a := e.fetchActivity(2)
	const delay = 300 * time.Millisecond
	abandonedAt := time.Now()
	if err := e.s.AbandonActivity(e.ctx, a.LockToken, delay, false); err != nil {
		e.t.Fatalf("AbandonActivity: %v", err)
	}
	b := e.fetchActivity(3) // 2 is unlocked but not visible yet
	e.noActivity()
	a = e.waitActivity("p", 2)
	if waited := time.Since(abandonedAt); waited < delay-20*time.Millisecond {
		e.t.Errorf("the delayed activity was visible after %v, want %v", waited, delay)
	}
	if a.Attempt != 2 {
		e.t.Errorf("Attempt = %d, want 2", a.Attempt)
	}
	e.completeActivity(b, completed("p", 1, 3, `3`))
	e.completeActivity(a, completed("p", 1, 2, `2`))
}

func testAttemptCountIsPerMessage(e *env) {
	e.scheduled("a", 2)
	e.scheduled("b", 2)
	first := e.fetchActivityFor("a", 2, longLock)
	if err := e.s.AbandonActivity(e.ctx, first.LockToken, 0, false); err != nil {
		e.t.Fatalf("AbandonActivity: %v", err)
	}
	if again := e.fetchActivityFor("a", 2, longLock); again.Attempt != 2 {
		e.t.Errorf("a's second delivery: Attempt %d, want 2", again.Attempt)
	}
	if other := e.fetchActivityFor("b", 2, longLock); other.Attempt != 1 {
		e.t.Errorf("b's first delivery: Attempt %d, want 1", other.Attempt)
	}
}

func testIgnoreAttemptNeverGoesNegative(e *env) {
	e.scheduled("p", 2)
	for range 3 {
		a := e.fetchActivity(2)
		if a.Attempt != 1 {
			e.t.Fatalf("activity Attempt = %d, want 1 after abandons with ignoreAttempt", a.Attempt)
		}
		if err := e.s.AbandonActivity(e.ctx, a.LockToken, 0, true); err != nil {
			e.t.Fatalf("AbandonActivity: %v", err)
		}
	}
	e.create("o")
	for range 3 {
		l := e.fetch("o")
		if l.Attempt != 1 {
			e.t.Fatalf("orchestration Attempt = %d, want 1 after abandons with ignoreAttempt", l.Attempt)
		}
		if err := e.s.AbandonOrchestration(e.ctx, l.LockToken, 0, true); err != nil {
			e.t.Fatalf("AbandonOrchestration: %v", err)
		}
	}
}

// activityOutlivesEnd ends instance p in the turn that schedules its activity; the
// activity is still delivered, renewed and completed: the store never filters
// activities by the state of their orchestration.
func activityOutlivesEnd(e *env, status history.ExecStatus, last history.Event, c history.Commit) {
	e.create("p")
	c.ExecutionID, c.Status = 1, status
	c.Delta = []history.Event{startedEv(1), activityEv(2, "A2"), last}
	c.Activities = []history.ActivityWork{work("p", 1, 2, "A2")}
	e.turn("p", c)
	if st := e.state("p"); st.Status != status {
		e.t.Fatalf("status = %s, want %s", st.Status, status)
	}
	a := e.fetchActivity(2)
	if err := e.s.RenewActivityLock(e.ctx, a.LockToken, longLock); err != nil {
		e.t.Errorf("RenewActivityLock: %v", err)
	}
	e.completeActivity(a, completed("p", 1, 2, `"late"`))
	e.noActivity()
}

func testFetchReturnsTerminalStateWhenOrchestrationCompleted(e *env) {
	activityOutlivesEnd(e, history.StatusCompleted, ev(3, history.OrchestrationCompleted), history.Commit{Output: json.RawMessage(`"done"`)})
}

func testFetchReturnsTerminalStateWhenOrchestrationFailed(e *env) {
	failed := ev(3, history.OrchestrationFailed)
	failed.Error = history.Application(history.KindOrchestrationFailed, "boom")
	activityOutlivesEnd(e, history.StatusFailed, failed, history.Commit{Error: failed.Error})
}

func testFetchReturnsTerminalStateWhenOrchestrationContinuedAsNew(e *env) {
	can := ev(3, history.OrchestrationContinuedAsNew)
	can.Input = json.RawMessage(`"new-input"`)
	activityOutlivesEnd(e, history.StatusContinuedAsNew, can, history.Commit{Output: can.Input,
		Messages: []history.Message{{Kind: history.MsgContinueAsNew, Instance: "p", ExecutionID: 1, Name: "Orch", Input: can.Input}}})
}

// orphanActivity queues, in a turn of p, an activity of an instance that has no row
// (as one whose instance was deleted) and fetches it.
func orphanActivity(e *env) *history.ActivityLease {
	e.create("p")
	e.turn("p", history.Commit{ExecutionID: 1, Delta: []history.Event{startedEv(1)}, Status: history.StatusRunning,
		Activities: []history.ActivityWork{work("ghost", 1, 1, "A")}})
	return e.fetchActivityFor("ghost", 1, longLock)
}

func testFetchReturnsMissingStateWhenInstanceDeleted(e *env) {
	a := orphanActivity(e)
	done := completed("ghost", 1, 1, `"orphan-result"`)
	e.completeActivity(a, done)
	e.noActivity()
	// The completion is a message for an instance without a row: it comes back with a
	// zero State, and an empty commit discards it.
	l := e.fetch("ghost")
	e.diff("orphan batch", []history.Message{*done}, l.Messages)
	if l.State.ExecutionID != 0 || l.State.Status != "" {
		e.t.Errorf("lease State for an instance without a row = %+v, want zero", l.State)
	}
	e.commit(l, history.Commit{})
	e.noFetch()
}

func testRenewReturnsTerminalWhenOrchestrationCompleted(e *env) {
	e.scheduled("p", 2)
	a := e.fetchActivity(2)
	e.poke("p")
	e.turn("p", history.Commit{ExecutionID: 1, Delta: []history.Event{ev(3, history.OrchestrationCompleted)},
		Status: history.StatusCompleted, Output: json.RawMessage(`"done"`)})
	if err := e.s.RenewActivityLock(e.ctx, a.LockToken, longLock); err != nil {
		e.t.Errorf("RenewActivityLock after the orchestration completed: %v", err)
	}
	e.completeActivity(a, completed("p", 1, 2, `"late"`))
}

func testRenewReturnsMissingWhenInstanceDeleted(e *env) {
	a := orphanActivity(e)
	if err := e.s.RenewActivityLock(e.ctx, a.LockToken, longLock); err != nil {
		e.t.Errorf("RenewActivityLock of an activity without an instance: %v", err)
	}
	e.completeActivity(a, nil)
	e.noActivity()
	e.noFetch()
}

// cancelTurn pokes p and commits a turn cancelling the activities with the given ids.
func (e *env) cancelTurn(ids ...uint64) {
	e.t.Helper()
	var refs []history.ActivityRef
	for _, id := range ids {
		refs = append(refs, history.ActivityRef{Instance: "p", ExecutionID: 1, ID: id})
	}
	e.poke("p")
	e.turn("p", history.Commit{ExecutionID: 1, Status: history.StatusRunning, CancelledActivities: refs})
}

func testCancelledActivitiesDeletedFromWorkerQueue(e *env) {
	e.scheduled("p", 2, 3, 4)
	a := e.fetchActivity(2)
	if err := e.s.AbandonActivity(e.ctx, a.LockToken, 0, false); err != nil {
		e.t.Fatalf("AbandonActivity: %v", err)
	}
	e.cancelTurn(2, 3)
	e.fetchActivity(4)
	e.noActivity()
}

func testBatchCancellationDeletesMultipleActivities(e *env) {
	ids := []uint64{2, 3, 4, 5, 6}
	e.scheduled("p", ids...)
	inFlight := e.fetchActivity(2)
	e.cancelTurn(ids...)
	e.noActivity()
	e.wantErr("renew of a cancelled activity", e.s.RenewActivityLock(e.ctx, inFlight.LockToken, longLock), history.ErrLockLost)
	e.wantErr("complete of a cancelled activity",
		e.s.CompleteActivity(e.ctx, inFlight.LockToken, completed("p", 1, 2, `2`)), history.ErrLockLost)
	e.noFetch()
}
