package storetest

import (
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"sync"
	"time"

	"github.com/duroxide-go/duroxide/history"
)

func testFetchEmpty(e *env) {
	e.noFetch()
	e.noActivity()
}

func testFetchBatch(e *env) {
	sa := e.create("a")
	sb := e.create("b")
	a1, b1, a2 := raised("a", "e1", `1`), raised("b", "f1", `2`), raised("a", "e2", `3`)
	e.send(a1)
	e.send(b1)
	e.send(a2)
	l := e.fetch("a")
	e.diff("batch of a", []history.Message{sa, a1, a2}, l.Messages)
	if l.Attempt != 1 {
		e.t.Errorf("Attempt = %d, want 1", l.Attempt)
	}
	if len(l.History) != 0 || l.HistoryErr != nil || l.HistoryAfter != 0 || len(l.KV) != 0 {
		e.t.Errorf("lease of a new instance: history %v (err %v, after %d), KV %v; want empty", l.History, l.HistoryErr, l.HistoryAfter, l.KV)
	}
	lb := e.fetch("b")
	e.diff("batch of b", []history.Message{sb, b1}, lb.Messages)
	if lb.LockToken == l.LockToken {
		e.t.Errorf("two leases share the lock token %q", l.LockToken)
	}
	e.noFetch()
}

func testMessagesDuringTurn(e *env) {
	e.create("a")
	l := e.fetch("a")
	late1, late2 := raised("a", "late", `"x"`), raised("a", "later", `"y"`)
	e.send(late1)
	e.send(late2)
	e.noFetch() // a is locked
	e.commit(l, history.Commit{ExecutionID: 1, Delta: []history.Event{startedEv(1)}, Status: history.StatusRunning})
	l2 := e.fetch("a")
	e.diff("next batch", []history.Message{late1, late2}, l2.Messages)
	if l2.Attempt != 1 {
		e.t.Errorf("Attempt = %d, want 1", l2.Attempt)
	}
	e.diff("history in the lease", []history.Event{startedEv(1)}, l2.History)
	e.commit(l2, history.Commit{ExecutionID: 1, Status: history.StatusRunning})
	e.noFetch()
}

func testConcurrentFetchers(e *env) {
	const (
		instances = 12
		initial   = 3 // messages per instance before the fetchers start
		later     = 3 // messages per instance sent while they run
		fetchers  = 8
	)
	total := instances * (1 + initial + later) // + the start
	seq := map[string]int{}
	send := func(inst string) {
		seq[inst]++
		e.send(raised(inst, "n", strconv.Itoa(seq[inst])))
	}
	for i := range instances {
		inst := fmt.Sprintf("i%02d", i)
		e.create(inst)
		for range initial {
			send(inst)
		}
	}

	var (
		mu        sync.Mutex
		held      = map[string]bool{}
		delivered = 0
		last      = map[string]int{} // last sequence number seen per instance
		failed    = false
	)
	fail := func(format string, args ...any) {
		mu.Lock()
		failed = true
		mu.Unlock()
		e.t.Errorf(format, args...)
	}
	done := func() bool {
		mu.Lock()
		defer mu.Unlock()
		return failed || delivered == total
	}
	deadline := time.Now().Add(waitFor)
	var wg sync.WaitGroup
	for range fetchers {
		wg.Go(func() {
			for !done() {
				if time.Now().After(deadline) {
					mu.Lock()
					n := delivered
					mu.Unlock()
					fail("timed out: %d of %d messages delivered", n, total)
					return
				}
				l, err := e.s.FetchOrchestration(e.ctx, history.FetchOrchestrationRequest{LockTimeout: longLock})
				if err != nil {
					if history.IsRetryable(err) {
						continue
					}
					fail("FetchOrchestration: %v", err)
					return
				}
				if l == nil {
					time.Sleep(time.Millisecond)
					continue
				}
				mu.Lock()
				if held[l.Instance] {
					mu.Unlock()
					fail("instance %q fetched while another fetcher holds it", l.Instance)
					return
				}
				held[l.Instance] = true
				for _, m := range l.Messages {
					delivered++
					if m.Kind != history.MsgExternalRaised {
						continue
					}
					n, _ := strconv.Atoi(string(m.Data))
					if n != last[l.Instance]+1 {
						mu.Unlock()
						fail("instance %q: message %d after %d (lost, duplicated or reordered)", l.Instance, n, last[l.Instance])
						return
					}
					last[l.Instance] = n
				}
				mu.Unlock()
				time.Sleep(time.Duration(rand.IntN(500)) * time.Microsecond) // the "turn"
				mu.Lock()
				delete(held, l.Instance)
				mu.Unlock()
				if _, err := e.s.CommitOrchestration(e.ctx, l.LockToken, history.Commit{ExecutionID: l.State.ExecutionID, Status: history.StatusRunning}); err != nil {
					fail("CommitOrchestration(%q): %v", l.Instance, err)
					return
				}
			}
		})
	}
	// More messages while the fetchers run, in a random instance order.
	var sendErr error
	order := rand.Perm(instances * later)
	for _, k := range order {
		inst := fmt.Sprintf("i%02d", k%instances)
		seq[inst]++
		if err := e.s.SendMessage(e.ctx, raised(inst, "n", strconv.Itoa(seq[inst]))); err != nil {
			sendErr = err
			break
		}
	}
	if sendErr != nil {
		fail("SendMessage: %v", sendErr)
	}
	wg.Wait()
	if e.t.Failed() {
		return
	}
	if delivered != total {
		e.t.Fatalf("%d messages delivered, want %d", delivered, total)
	}
	e.noFetch()
}

func testNoHeadOfLineBlocking(e *env) {
	e.create("a")
	e.create("b")
	e.create("c")
	e.create("d")
	la := e.fetch("a")               // a stays locked
	lb := e.fetch("b")               // b cannot be processed:
	e.send(raised("a", "more", `1`)) // a has more work, behind its lock
	if err := e.s.AbandonOrchestration(e.ctx, lb.LockToken, time.Hour, false); err != nil {
		e.t.Fatalf("AbandonOrchestration: %v", err)
	}
	e.fetch("c")
	e.fetch("d")
	e.noFetch()
	e.commit(la, history.Commit{ExecutionID: 1, Delta: []history.Event{startedEv(1)}, Status: history.StatusRunning})
	l := e.fetch("a")
	if len(l.Messages) != 1 || l.Messages[0].Name != "more" {
		e.t.Errorf("a's next batch = %v, want the message sent while it was locked", kinds(l.Messages))
	}
	e.noFetch()
}

func testMessagesForMissingInstance(e *env) {
	e.create("p")
	e.turn("p", history.Commit{ExecutionID: 1, Delta: []history.Event{startedEv(1)}, Status: history.StatusRunning,
		Messages: []history.Message{raised("ghost", "ev", `1`), {Kind: history.MsgCancelInstance, Instance: "ghost", Reason: "r"}}})
	e.create("z")
	var sawZ bool
	for range 3 {
		l := e.tryFetch(longLock)
		if l == nil {
			break
		}
		switch l.Instance {
		case "z":
			sawZ = true
			e.commit(l, history.Commit{ExecutionID: 1, Delta: []history.Event{startedEv(1)}, Status: history.StatusRunning})
		case "ghost":
			if l.State.ExecutionID != 0 || l.State.Name != "" || l.State.Status != "" {
				e.t.Errorf("lease State for an instance without a row = %+v, want zero", l.State)
			}
			if len(l.History) != 0 {
				e.t.Errorf("lease History for an instance without a row = %v", l.History)
			}
			e.commit(l, history.Commit{})
		default:
			e.t.Fatalf("unexpected lease for %q", l.Instance)
		}
	}
	if !sawZ {
		e.t.Errorf("messages for a missing instance kept another instance from being fetched")
	}
	e.noFetch()
	if _, err := e.s.InstanceState(e.ctx, "ghost"); !errors.Is(err, history.ErrNotFound) {
		e.t.Errorf("InstanceState(ghost) after an empty commit: %v, want ErrNotFound", err)
	}
}

func testCommitAtomicity(e *env) {
	start := e.create("p")
	l := e.fetchFor("p", shortLock)
	bad := history.Commit{
		ExecutionID: 1,
		Delta: []history.Event{startedEv(1), activityEv(2, "A"), customEv(3, strp("cs")), kvSet(4, "k", "v"),
			activityEv(4, "duplicate id")},
		Status:     history.StatusCompleted,
		Output:     json.RawMessage(`"out"`),
		Activities: []history.ActivityWork{work("p", 1, 2, "A")},
		Messages:   []history.Message{childStart("p", "p::child", 5), raised("other", "ev", `1`)},
	}
	e.create("other")
	if _, err := e.s.CommitOrchestration(e.ctx, l.LockToken, bad); err == nil {
		e.t.Fatal("commit with a duplicate event id succeeded")
	} else if errors.Is(err, history.ErrLockLost) {
		e.t.Fatalf("commit with a duplicate event id: %v, want a store error, not ErrLockLost", err)
	}
	if h := e.history("p", 0); len(h) != 0 {
		e.t.Errorf("history after a failed commit = %v, want empty", h)
	}
	st := e.state("p")
	if st.Status != history.StatusRunning || st.CustomStatus != nil || st.CustomStatusVersion != 0 || st.Output != nil {
		e.t.Errorf("instance after a failed commit = %+v, want unchanged", st)
	}
	if _, err := e.s.InstanceState(e.ctx, "p::child"); !errors.Is(err, history.ErrNotFound) {
		e.t.Errorf("child of a failed commit: %v, want ErrNotFound", err)
	}
	if _, ok, _ := e.s.GetKV(e.ctx, "p", "k"); ok {
		e.t.Errorf("KV of a failed commit is visible")
	}
	e.noActivity()
	// Only other's start is queued, not the failed commit's message.
	lo := e.fetch("other")
	if len(lo.Messages) != 1 || lo.Messages[0].Kind != history.MsgStartOrchestration {
		e.t.Errorf("other's batch = %v, want only its start", kinds(lo.Messages))
	}
	// The batch is still there once the lock is released (or has expired).
	if err := e.s.AbandonOrchestration(e.ctx, l.LockToken, 0, false); err != nil && !errors.Is(err, history.ErrLockLost) {
		e.t.Fatalf("AbandonOrchestration after a failed commit: %v", err)
	}
	l2 := e.waitFetch("p", longLock)
	e.diff("batch after a failed commit", []history.Message{start}, l2.Messages)
	if l2.Attempt != 2 {
		e.t.Errorf("Attempt = %d, want 2", l2.Attempt)
	}
	good := bad
	good.Delta = bad.Delta[:4]
	e.commit(l2, good)
	if h := e.history("p", 1); len(h) != 4 {
		e.t.Errorf("history after the good commit has %d events, want 4", len(h))
	}
}

func testCommitLockLost(e *env) {
	c := history.Commit{ExecutionID: 1, Delta: []history.Event{startedEv(1)}, Status: history.StatusRunning,
		Messages: []history.Message{raised("b", "ev", `1`)}}
	e.create("a")
	e.create("b")
	_, err := e.s.CommitOrchestration(e.ctx, "no-such-token", c)
	e.wantErr("commit with an unknown token", err, history.ErrLockLost)

	// After abandon.
	l := e.fetch("a")
	if err := e.s.AbandonOrchestration(e.ctx, l.LockToken, 0, false); err != nil {
		e.t.Fatal(err)
	}
	_, err = e.s.CommitOrchestration(e.ctx, l.LockToken, c)
	e.wantErr("commit after abandon", err, history.ErrLockLost)
	if h := e.history("a", 0); len(h) != 0 {
		e.t.Fatalf("commit after abandon recorded history %v", h)
	}

	// Twice.
	l = e.fetch("a")
	e.commit(l, c)
	_, err = e.s.CommitOrchestration(e.ctx, l.LockToken, history.Commit{ExecutionID: 1, Delta: []history.Event{activityEv(2, "X")}})
	e.wantErr("second commit", err, history.ErrLockLost)
	if h := e.history("a", 0); len(h) != 1 {
		e.t.Fatalf("second commit recorded history: %v", h)
	}

	// After the lock expired and another fetch took the instance.
	lb := e.fetchFor("b", shortLock)
	lb2 := e.waitFetch("b", longLock)
	if lb2.Attempt != 2 {
		e.t.Errorf("Attempt after expiry = %d, want 2", lb2.Attempt)
	}
	_, err = e.s.CommitOrchestration(e.ctx, lb.LockToken, history.Commit{ExecutionID: 1, Delta: []history.Event{startedEv(1)},
		Status: history.StatusCompleted, Activities: []history.ActivityWork{work("b", 1, 2, "A")}})
	e.wantErr("commit with an expired, taken lock", err, history.ErrLockLost)
	if h := e.history("b", 0); len(h) != 0 {
		e.t.Errorf("expired commit recorded history %v", h)
	}
	if st := e.state("b"); st.Status != history.StatusRunning {
		e.t.Errorf("expired commit recorded status %s", st.Status)
	}
	e.noActivity()
	e.diff("batch of the new lease", 2, len(lb2.Messages))
	e.commit(lb2, history.Commit{ExecutionID: 1, Delta: []history.Event{startedEv(1)}, Status: history.StatusRunning})
	e.noFetch()
}

func testEmptyCommit(e *env) {
	e.startTurn("a", activityEv(2, "A"))
	before := e.state("a")
	e.send(raised("a", "ev", `1`))
	e.turn("a", history.Commit{ExecutionID: 1})
	after := e.state("a")
	if after.Status != before.Status || after.ExecutionID != before.ExecutionID || after.CustomStatusVersion != before.CustomStatusVersion {
		e.t.Errorf("empty commit changed the instance: %+v -> %+v", before, after)
	}
	if h := e.history("a", 0); len(h) != 2 {
		e.t.Errorf("history after an empty commit has %d events, want 2", len(h))
	}
	e.noFetch()
	e.send(raised("a", "ev2", `2`))
	e.fetch("a") // the lock was released
}

func testLockExpiry(e *env) {
	start := e.create("a")
	l := e.fetchFor("a", shortLock)
	e.noFetch()
	l2 := e.waitFetch("a", longLock)
	if l2.Attempt != 2 {
		e.t.Errorf("Attempt = %d, want 2", l2.Attempt)
	}
	e.diff("batch after expiry", []history.Message{start}, l2.Messages)
	if l2.LockToken == l.LockToken {
		e.t.Fatal("the new lease reuses the expired lock token")
	}
	e.wantErr("renew of the expired lock", e.s.RenewOrchestrationLock(e.ctx, l.LockToken, longLock), history.ErrLockLost)
	e.wantErr("abandon of the expired lock", e.s.AbandonOrchestration(e.ctx, l.LockToken, 0, false), history.ErrLockLost)
	e.noFetch() // the new lock still holds
	e.commit(l2, history.Commit{ExecutionID: 1, Delta: []history.Event{startedEv(1)}, Status: history.StatusRunning})
}

func testRenewExtends(e *env) {
	e.create("a")
	e.create("b")
	la := e.fetchFor("a", shortLock)
	if err := e.s.RenewOrchestrationLock(e.ctx, la.LockToken, longLock); err != nil {
		e.t.Fatalf("RenewOrchestrationLock: %v", err)
	}
	e.fetchFor("b", shortLock) // b's lock expires after a's first timeout would have
	// a's message is older: had its lock expired, the next fetch would return a.
	e.waitFetch("b", longLock)
	e.noFetch()
	e.commit(la, history.Commit{ExecutionID: 1, Delta: []history.Event{startedEv(1)}, Status: history.StatusRunning})
	e.wantErr("renew after commit", e.s.RenewOrchestrationLock(e.ctx, la.LockToken, longLock), history.ErrLockLost)
	e.wantErr("renew of an unknown token", e.s.RenewOrchestrationLock(e.ctx, "no-such-token", longLock), history.ErrLockLost)
}

func testAbandonDelayAndAttempts(e *env) {
	start := e.create("a")
	l := e.fetch("a")
	if l.Attempt != 1 {
		e.t.Fatalf("Attempt = %d, want 1", l.Attempt)
	}
	abandon := func(l *history.OrchestrationLease, delay time.Duration, ignore bool) {
		e.t.Helper()
		if err := e.s.AbandonOrchestration(e.ctx, l.LockToken, delay, ignore); err != nil {
			e.t.Fatalf("AbandonOrchestration: %v", err)
		}
	}
	abandon(l, 0, false)
	l = e.fetch("a")
	if l.Attempt != 2 {
		e.t.Fatalf("Attempt after abandon = %d, want 2", l.Attempt)
	}
	abandon(l, 0, true)
	l = e.fetch("a")
	if l.Attempt != 2 {
		e.t.Fatalf("Attempt after abandon with ignoreAttempt = %d, want 2", l.Attempt)
	}
	e.diff("batch", []history.Message{start}, l.Messages)
	abandon(l, 0, false)
	e.wantErr("abandon of a released lock", e.s.AbandonOrchestration(e.ctx, l.LockToken, 0, false), history.ErrLockLost)
	e.wantErr("abandon of an unknown token", e.s.AbandonOrchestration(e.ctx, "no-such-token", 0, false), history.ErrLockLost)

	// Delay.
	l = e.fetch("a") // attempt 3
	const delay = 300 * time.Millisecond
	abandonedAt := time.Now()
	abandon(l, delay, false)
	e.noFetch()
	l = e.waitFetch("a", longLock)
	if waited := time.Since(abandonedAt); waited < delay-20*time.Millisecond {
		e.t.Errorf("abandoned batch visible again after %v, want %v", waited, delay)
	}
	if l.Attempt != 4 {
		e.t.Errorf("Attempt = %d, want 4", l.Attempt)
	}
	// Attempt is the batch maximum.
	abandon(l, 0, false)
	e.send(raised("a", "new", `1`))
	l = e.fetch("a")
	if len(l.Messages) != 2 || l.Attempt != 5 {
		e.t.Errorf("batch %v with Attempt %d, want the start (attempt 5) and the new message (attempt 1): Attempt 5", kinds(l.Messages), l.Attempt)
	}
}

func testTimers(e *env) {
	e.startTurn("b")
	e.create("a")
	fireAt := time.Now().Add(300 * time.Millisecond).UnixMilli()
	timer := history.Message{Kind: history.MsgTimerFired, Instance: "a", ExecutionID: 1, ID: 2, FireAtMs: fireAt}
	past := history.Message{Kind: history.MsgTimerFired, Instance: "b", ExecutionID: 1, ID: 2, FireAtMs: time.Now().Add(-time.Hour).UnixMilli()}
	e.turn("a", history.Commit{ExecutionID: 1, Delta: []history.Event{startedEv(1), ev(2, history.TimerCreated)},
		Status: history.StatusRunning, Messages: []history.Message{timer, past}})
	lb := e.fetch("b")
	e.diff("past timer", []history.Message{past}, lb.Messages)
	e.noFetch()
	// A message arriving before the timer is due is fetched without it.
	ping := raised("a", "ping", `1`)
	e.send(ping)
	la := e.fetch("a")
	e.diff("batch before the timer is due", []history.Message{ping}, la.Messages)
	e.commit(la, history.Commit{ExecutionID: 1, Status: history.StatusRunning})
	l := e.waitFetch("a", longLock)
	if now := time.Now().UnixMilli(); now < fireAt {
		e.t.Errorf("timer delivered at %d, before its FireAtMs %d", now, fireAt)
	}
	e.diff("timer batch", []history.Message{timer}, l.Messages)
}

func testOrphanQueueMessagesDropped(e *env) {
	for _, v := range []string{`"v1"`, `"v2"`} {
		m := history.Message{Kind: history.MsgQueueMessage, Instance: "orphan", Name: "ConfigUpdate", Data: json.RawMessage(v)}
		e.wantErr("SendMessage(QueueMessage to an unknown instance)", e.s.SendMessage(e.ctx, m), history.ErrNotFound)
	}
	e.noFetch() // nothing was stored
	e.startTurn("existing")
	m := history.Message{Kind: history.MsgQueueMessage, Instance: "existing", Name: "ConfigUpdate", Data: json.RawMessage(`"v3"`)}
	e.send(m)
	l := e.fetch("existing")
	e.diff("batch", []history.Message{m}, l.Messages)
	e.commit(l, history.Commit{ExecutionID: 1, Status: history.StatusRunning})
	e.noFetch()
}
