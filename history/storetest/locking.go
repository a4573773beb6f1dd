package storetest

import (
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/duroxide-go/duroxide/history"
)

// Ports of the Rust provider validation modules atomicity, error_handling,
// instance_locking and lock_expiration (orchestrator side).

// fetchAll has n goroutines fetch once each, all starting together, with the given
// lock timeout. A retryable store error is retried until waitFor; any other error
// fails the test.
func (e *env) fetchAll(n int, timeout time.Duration) []*history.OrchestrationLease {
	e.t.Helper()
	leases := make([]*history.OrchestrationLease, n)
	errs := make([]error, n)
	start := make(chan struct{})
	deadline := time.Now().Add(waitFor)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			<-start
			for {
				l, err := e.s.FetchOrchestration(e.ctx, history.FetchOrchestrationRequest{LockTimeout: timeout})
				if err != nil && history.IsRetryable(err) && time.Now().Before(deadline) {
					time.Sleep(pollEvery)
					continue
				}
				leases[i], errs[i] = l, err
				return
			}
		})
	}
	close(start)
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		e.t.Fatalf("concurrent FetchOrchestration: %v", err)
	}
	return leases
}

func testAtomicityFailureRollback(e *env) {
	e.startTurn("a")
	ping := raised("a", "ping", `1`)
	e.send(ping)
	l := e.fetch("a")
	e.create("b")
	bad := history.Commit{ExecutionID: 1, Status: history.StatusCompleted, Output: json.RawMessage(`1`),
		Delta:      []history.Event{customEv(2, strp("cs")), kvSet(3, "k", "v"), activityEv(1, "reuses event id 1")},
		Activities: []history.ActivityWork{work("a", 1, 1, "A")},
		Messages:   []history.Message{raised("b", "from a", `1`)}}
	_, err := e.s.CommitOrchestration(e.ctx, l.LockToken, bad)
	if err == nil {
		e.t.Fatal("a commit reusing event id 1 succeeded")
	}
	if errors.Is(err, history.ErrLockLost) {
		e.t.Fatalf("a commit reusing event id 1: %v, want a store error, not ErrLockLost", err)
	}
	e.diff("history after the failed commit", []history.Event{startedEv(1)}, e.history("a", 0))
	if st := e.state("a"); st.Status != history.StatusRunning || st.CustomStatus != nil || st.Output != nil {
		e.t.Errorf("instance after the failed commit = %+v, want it unchanged", st)
	}
	e.wantKV("a", "k", nil)
	e.noActivity()
	lb := e.fetch("b")
	if len(lb.Messages) != 1 || lb.Messages[0].Kind != history.MsgStartOrchestration {
		e.t.Errorf("b's batch = %v, want only its start", kinds(lb.Messages))
	}
	// The lock is still held: the runtime abandons the batch with it.
	e.noFetch()
	if err := e.s.AbandonOrchestration(e.ctx, l.LockToken, 0, false); err != nil {
		e.t.Fatalf("AbandonOrchestration after the failed commit: %v", err)
	}
	l2 := e.fetch("a")
	e.diff("batch after the failed commit", []history.Message{ping}, l2.Messages)
	if l2.Attempt != 2 {
		e.t.Errorf("Attempt = %d, want 2", l2.Attempt)
	}
}

func testMultiOperationAtomicAck(e *env) {
	e.create("a")
	l := e.fetch("a")
	delta := []history.Event{startedEv(1), activityEv(2, "A1"), activityEv(3, "A2"), activityEv(4, "A3"), ev(5, history.TimerCreated)}
	works := []history.ActivityWork{work("a", 1, 2, "A1"), work("a", 1, 3, "A2"), work("a", 1, 4, "A3")}
	timer := history.Message{Kind: history.MsgTimerFired, Instance: "a", ExecutionID: 1, ID: 5, FireAtMs: time.Now().Add(-time.Second).UnixMilli()}
	event := raised("a", "TestEvent", `"test-data"`)
	e.commit(l, history.Commit{ExecutionID: 1, Delta: delta, Status: history.StatusRunning, Activities: works,
		Messages: []history.Message{timer, event}})
	e.diff("history", delta, e.history("a", 0))
	for _, w := range works {
		e.diff("activity", w, e.fetchActivity(w.ID).Work)
	}
	e.noActivity()
	l2 := e.fetch("a")
	e.diff("batch", []history.Message{timer, event}, l2.Messages)
	e.diff("lease history", delta, l2.History)
}

func testLockReleasedOnlyOnSuccessfulAck(e *env) {
	start := e.create("a")
	l := e.fetchFor("a", shortLock)
	e.noFetch()
	_, err := e.s.CommitOrchestration(e.ctx, "no-such-token", history.Commit{ExecutionID: 1,
		Delta: []history.Event{startedEv(1)}, Status: history.StatusRunning})
	e.wantErr("commit with an unknown token", err, history.ErrLockLost)
	e.noFetch() // the real lock still holds
	if h := e.history("a", 0); len(h) != 0 {
		e.t.Errorf("a commit with an unknown token recorded %v", h)
	}
	l2 := e.waitFetch("a", longLock) // once it expires
	if l2.LockToken == l.LockToken || l2.Attempt != 2 {
		e.t.Errorf("lease after expiry: token reused %v, Attempt %d; want a new token, Attempt 2", l2.LockToken == l.LockToken, l2.Attempt)
	}
	e.diff("batch after expiry", []history.Message{start}, l2.Messages)
}

func testConcurrentAckPrevention(e *env) {
	e.create("a")
	l := e.fetch("a")
	c := history.Commit{ExecutionID: 1, Delta: []history.Event{startedEv(1), activityEv(2, "A")}, Status: history.StatusRunning,
		Activities: []history.ActivityWork{work("a", 1, 2, "A")}}
	var errs [2]error
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range errs {
		wg.Go(func() {
			<-start
			_, errs[i] = e.s.CommitOrchestration(e.ctx, l.LockToken, c)
		})
	}
	close(start)
	wg.Wait()
	ok := 0
	for _, err := range errs {
		switch {
		case err == nil:
			ok++
		case !errors.Is(err, history.ErrLockLost):
			e.t.Errorf("the losing commit: %v, want ErrLockLost", err)
		}
	}
	if ok != 1 {
		e.t.Fatalf("%d of two concurrent commits with one token succeeded, want exactly 1 (%v)", ok, errs)
	}
	e.diff("history", c.Delta, e.history("a", 0))
	e.fetchActivity(2)
	e.noActivity()
	e.noFetch()
}

func testLockExpirationDuringAck(e *env) {
	start := e.create("a")
	l, at := e.fetchLockedAt("a", shortLock)
	waitOut(at, shortLock) // nobody takes the instance over
	_, err := e.s.CommitOrchestration(e.ctx, l.LockToken, history.Commit{ExecutionID: 1, Delta: []history.Event{startedEv(1)},
		Status: history.StatusCompleted, Activities: []history.ActivityWork{work("a", 1, 2, "A")}})
	e.wantErr("commit after the lock expired", err, history.ErrLockLost)
	if h := e.history("a", 0); len(h) != 0 {
		e.t.Errorf("a commit after expiry recorded %v", h)
	}
	if st := e.state("a"); st.Status != history.StatusRunning {
		e.t.Errorf("a commit after expiry recorded status %s", st.Status)
	}
	e.noActivity()
	l2 := e.fetch("a")
	e.diff("batch after expiry", []history.Message{start}, l2.Messages)
	if l2.Attempt != 2 {
		e.t.Errorf("Attempt = %d, want 2", l2.Attempt)
	}
}

func testOrchestrationLockRenewalAfterExpiration(e *env) {
	e.create("a")
	l, at := e.fetchLockedAt("a", shortLock)
	waitOut(at, shortLock) // nobody takes the instance over
	e.wantErr("renew after the lock expired", e.s.RenewOrchestrationLock(e.ctx, l.LockToken, longLock), history.ErrLockLost)
	// The renewal did not revive the lock.
	if l2 := e.fetch("a"); l2.Attempt != 2 {
		e.t.Errorf("Attempt = %d, want 2", l2.Attempt)
	}
}

func testLockTokenUniqueness(e *env) {
	const n = 5
	for i := range n {
		e.create(fmt.Sprintf("i%d", i))
	}
	tokens := map[string]string{}
	for i := range n {
		l := e.fetch(fmt.Sprintf("i%d", i))
		if other, dup := tokens[l.LockToken]; dup {
			e.t.Errorf("instances %s and %s got the same lock token %q", other, l.Instance, l.LockToken)
		}
		tokens[l.LockToken] = l.Instance
	}
	e.noFetch()
}

func testInvalidLockTokenRejection(e *env) {
	e.create("a")
	l := e.fetch("a")
	_, err := e.s.CommitOrchestration(e.ctx, "no-such-token", history.Commit{})
	e.wantErr("commit with an unknown token", err, history.ErrLockLost)
	e.wantErr("abandon with an unknown token", e.s.AbandonOrchestration(e.ctx, "no-such-token", 0, false), history.ErrLockLost)
	e.wantErr("renew with an unknown token", e.s.RenewOrchestrationLock(e.ctx, "no-such-token", longLock), history.ErrLockLost)
	e.noFetch() // the real lock is untouched
	e.commit(l, history.Commit{ExecutionID: 1, Delta: []history.Event{startedEv(1)}, Status: history.StatusRunning})
	e.diff("history", []history.Event{startedEv(1)}, e.history("a", 0))
}

func testConcurrentInstanceFetching(e *env) {
	const n = 10
	for i := range n {
		e.create(fmt.Sprintf("i%02d", i))
	}
	got := map[string]bool{}
	for _, l := range e.fetchAll(n, longLock) {
		switch {
		case l == nil:
			e.t.Errorf("a concurrent fetch found no work while instances were waiting")
		case got[l.Instance]:
			e.t.Errorf("instance %s fetched twice", l.Instance)
		default:
			got[l.Instance] = true
		}
	}
	if len(got) != n {
		e.t.Errorf("%d instances fetched, want %d", len(got), n)
	}
	e.noFetch()
}

func testCompletionsArrivingDuringLockBlocked(e *env) {
	e.scheduled("a", 2, 3, 4)
	var acts []*history.ActivityLease
	for _, id := range []uint64{2, 3, 4} {
		acts = append(acts, e.fetchActivity(id))
	}
	trigger := raised("a", "trigger", `1`)
	e.send(trigger)
	e.fetchFor("a", shortLock)
	want := []history.Message{trigger}
	for _, a := range acts {
		done := completed("a", 1, a.Work.ID, fmt.Sprintf(`"result-%d"`, a.Work.ID))
		e.completeActivity(a, done)
		want = append(want, *done)
	}
	e.noFetch() // the completions wait behind the lock
	l := e.waitFetch("a", longLock)
	e.diff("batch after the lock expired", want, l.Messages)
	if l.Attempt != 2 {
		e.t.Errorf("Attempt = %d, want 2 (the trigger's second delivery)", l.Attempt)
	}
}

func testCrossInstanceLockIsolation(e *env) {
	e.startTurn("a")
	e.startTurn("b")
	e.poke("a")
	e.poke("b")
	la := e.fetch("a")
	lb := e.fetch("b")
	e.commit(lb, history.Commit{ExecutionID: 1, Status: history.StatusRunning})
	again := raised("b", "again", `2`)
	e.send(again)
	lb = e.fetch("b") // a is still locked
	e.diff("b's second batch", []history.Message{again}, lb.Messages)
	e.commit(lb, history.Commit{ExecutionID: 1, Status: history.StatusRunning})
	e.noFetch()
	e.commit(la, history.Commit{ExecutionID: 1, Status: history.StatusRunning})
}

func testMultiThreadedLockContention(e *env) {
	e.create("a")
	var won []*history.OrchestrationLease
	for _, l := range e.fetchAll(10, longLock) {
		if l != nil {
			won = append(won, l)
		}
	}
	if len(won) != 1 || won[0].Instance != "a" {
		e.t.Fatalf("%d of 10 concurrent fetches of one instance got it, want exactly 1", len(won))
	}
	e.noFetch()
}

func testMultiThreadedNoDuplicateProcessing(e *env) {
	const instances = 20
	for i := range instances {
		e.create(fmt.Sprintf("i%02d", i))
	}
	got := map[string]bool{}
	for _, l := range e.fetchAll(2*instances, longLock) {
		if l == nil {
			continue
		}
		if got[l.Instance] {
			e.t.Errorf("instance %s fetched twice", l.Instance)
		}
		got[l.Instance] = true
	}
	// Whatever the concurrent fetches left is still there, once.
	for {
		l := e.tryFetch(longLock)
		if l == nil {
			break
		}
		if got[l.Instance] {
			e.t.Fatalf("instance %s fetched again while locked", l.Instance)
		}
		got[l.Instance] = true
	}
	if len(got) != instances {
		e.t.Errorf("%d instances fetched, want %d", len(got), instances)
	}
}

func testConcurrentLockAttemptsRespectExpiration(e *env) {
	start := e.create("a")
	before := time.Now()
	l := e.fetchFor("a", shortLock)
	const fetchers = 5
	type result struct {
		lease *history.OrchestrationLease
		at    time.Time
		err   error
	}
	results := make([]result, fetchers)
	var won atomic.Bool
	deadline := time.Now().Add(waitFor)
	var wg sync.WaitGroup
	for i := range fetchers {
		wg.Go(func() {
			time.Sleep(time.Duration(i) * shortLock / fetchers / 2) // staggered
			for !won.Load() && time.Now().Before(deadline) {
				got, err := e.s.FetchOrchestration(e.ctx, history.FetchOrchestrationRequest{LockTimeout: longLock})
				if err != nil && !history.IsRetryable(err) {
					results[i].err = err
					return
				}
				if got != nil {
					results[i] = result{lease: got, at: time.Now()}
					won.Store(true)
					return
				}
				time.Sleep(pollEvery)
			}
		})
	}
	wg.Wait()
	var winners []result
	for _, r := range results {
		if r.err != nil {
			e.t.Fatalf("FetchOrchestration: %v", r.err)
		}
		if r.lease != nil {
			winners = append(winners, r)
		}
	}
	if len(winners) != 1 {
		e.t.Fatalf("%d fetchers took the instance, want exactly 1", len(winners))
	}
	w := winners[0]
	// The stores count in milliseconds: allow for the rounding.
	if early := before.Add(shortLock).Sub(w.at); early > 5*time.Millisecond {
		e.t.Errorf("the instance was taken %v before its lock expired", early)
	}
	if w.lease.LockToken == l.LockToken || w.lease.Attempt != 2 {
		e.t.Errorf("lease after expiry: token reused %v, Attempt %d; want a new token, Attempt 2", w.lease.LockToken == l.LockToken, w.lease.Attempt)
	}
	e.diff("batch after expiry", []history.Message{start}, w.lease.Messages)
	e.noFetch()
}
