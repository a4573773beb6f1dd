package storetest

import (
	"fmt"
	"sync"
	"time"

	"github.com/duroxide-go/duroxide/history"
)

// Ports of the Rust provider validation module sessions: activities scheduled on a
// session go to the worker node that owns the session. Activity ids are event ids, so
// the first queued activity is id 2 (id 1 is OrchestrationStarted).

// queueSession creates instance and queues one activity per session ("" is none), ids 2,
// 3, ... in order, named "A<id>".
func (e *env) queueSession(instance string, sessions ...string) {
	e.t.Helper()
	evs := []history.Event{startedEv(1)}
	var works []history.ActivityWork
	for i, session := range sessions {
		id := uint64(i + 2)
		name := fmt.Sprintf("A%d", id)
		ev := activityEv(id, name)
		ev.SessionID = session
		evs = append(evs, ev)
		w := work(instance, 1, id, name)
		w.SessionID = session
		works = append(works, w)
	}
	e.create(instance)
	e.turn(instance, history.Commit{ExecutionID: 1, Delta: evs, Status: history.StatusRunning, Activities: works})
}

// fetchAs fetches one activity for owner, with a long activity lock and the given session
// lock; nil when there is none it may take.
func (e *env) fetchAs(owner string, sessionLock time.Duration) *history.ActivityLease {
	e.t.Helper()
	return e.fetchAsLocked(owner, longLock, sessionLock)
}

func (e *env) fetchAsLocked(owner string, activityLock, sessionLock time.Duration) *history.ActivityLease {
	e.t.Helper()
	l, err := e.s.FetchActivity(e.ctx, history.FetchActivityRequest{
		LockTimeout: activityLock, Tags: history.AnyTag(),
		Session: &history.SessionFetch{Owner: owner, LockTimeout: sessionLock},
	})
	if err != nil {
		e.t.Fatalf("FetchActivity(owner %q): %v", owner, err)
	}
	return l
}

// mustFetchAs fetches for owner and checks it got activity id.
func (e *env) mustFetchAs(owner string, sessionLock time.Duration, id uint64) *history.ActivityLease {
	e.t.Helper()
	l := e.fetchAs(owner, sessionLock)
	e.wantLease(owner, l, id)
	return l
}

func (e *env) wantLease(owner string, l *history.ActivityLease, id uint64) {
	e.t.Helper()
	if l == nil {
		e.t.Fatalf("owner %q fetched nothing, want activity %d", owner, id)
	}
	if l.Work.ID != id {
		e.t.Fatalf("owner %q fetched activity %d (session %q), want %d", owner, l.Work.ID, l.Work.SessionID, id)
	}
}

func (e *env) noneFor(owner string) {
	e.t.Helper()
	if l := e.fetchAs(owner, longLock); l != nil {
		e.t.Fatalf("owner %q fetched activity %d (session %q), want none", owner, l.Work.ID, l.Work.SessionID)
	}
}

// fetchNoSession fetches as a worker that takes no session activities.
func (e *env) fetchNoSession() *history.ActivityLease {
	e.t.Helper()
	l, err := e.s.FetchActivity(e.ctx, history.FetchActivityRequest{LockTimeout: longLock, Tags: history.AnyTag()})
	if err != nil {
		e.t.Fatalf("FetchActivity(no session): %v", err)
	}
	return l
}

func (e *env) renewSessions(owners []string, extend, idle time.Duration) int {
	e.t.Helper()
	n, err := e.s.RenewSessionLocks(e.ctx, owners, extend, idle)
	if err != nil {
		e.t.Fatalf("RenewSessionLocks(%v): %v", owners, err)
	}
	return n
}

func (e *env) cleanupSessions() int {
	e.t.Helper()
	n, err := e.s.CleanupSessions(e.ctx)
	if err != nil {
		e.t.Fatalf("CleanupSessions: %v", err)
	}
	return n
}

func (e *env) wantCount(what string, got, want int) {
	e.t.Helper()
	if got != want {
		e.t.Fatalf("%s = %d, want %d", what, got, want)
	}
}

// ack completes an activity without a completion message.
func (e *env) ack(l *history.ActivityLease) { e.t.Helper(); e.completeActivity(l, nil) }

// outlive sleeps past a lock of duration d.
func outlive(d time.Duration) { time.Sleep(d + d/2 + 20*time.Millisecond) }

func testNonSessionItemsFetchableByAnyWorker(e *env) {
	e.queueSession("i", "")
	l := e.mustFetchAs("w1", longLock, 2)
	if l.Work.SessionID != "" {
		e.t.Fatalf("session %q, want none", l.Work.SessionID)
	}
}

func testSessionItemClaimableWhenNoSession(e *env) {
	e.queueSession("i", "s1")
	l := e.mustFetchAs("w1", longLock, 2)
	if l.Work.SessionID != "s1" {
		e.t.Fatalf("session %q, want s1", l.Work.SessionID)
	}
}

func testSessionAffinitySameWorker(e *env) {
	e.queueSession("i", "s1", "s1")
	e.ack(e.mustFetchAs("w1", longLock, 2))
	e.mustFetchAs("w1", longLock, 3)
}

func testSessionAffinityBlocksOtherWorker(e *env) {
	e.queueSession("i", "s1", "s1")
	e.ack(e.mustFetchAs("w1", longLock, 2))
	e.noneFor("w2")
	e.mustFetchAs("w1", longLock, 3)
}

func testDifferentSessionsDifferentWorkers(e *env) {
	e.queueSession("i", "s1", "s2")
	e.ack(e.mustFetchAs("w1", longLock, 2))
	e.ack(e.mustFetchAs("w2", longLock, 3))
	e.queueSession("j", "s1", "s2")
	e.mustFetchAs("w2", longLock, 3) // j's s2 activity; s1's is w1's
	e.noneFor("w2")
	e.mustFetchAs("w1", longLock, 2)
}

func testMixedSessionAndNonSessionItems(e *env) {
	e.queueSession("i", "s1", "", "s1")
	e.mustFetchAs("w1", longLock, 2)
	e.mustFetchAs("w2", longLock, 3)
	e.noneFor("w2")
}

func testSessionClaimableAfterLockExpiry(e *env) {
	e.queueSession("i", "s1", "s1")
	e.ack(e.mustFetchAs("w1", shortLock, 2))
	e.noneFor("w2")
	outlive(shortLock)
	e.mustFetchAs("w2", longLock, 3)
}

func testNoneSessionSkipsSessionItems(e *env) {
	e.queueSession("i", "s1", "")
	l := e.fetchNoSession()
	if l == nil || l.Work.ID != 3 {
		e.t.Fatalf("fetch without session: %+v, want activity 3", l)
	}
	if l := e.fetchNoSession(); l != nil {
		e.t.Fatalf("fetch without session: activity %d, want none", l.Work.ID)
	}
	e.mustFetchAs("w1", longLock, 2)
}

func testSomeSessionReturnsAllItems(e *env) {
	e.queueSession("i", "s1", "s2", "s3", "")
	for id := uint64(2); id <= 5; id++ {
		e.mustFetchAs("w1", longLock, id)
	}
	e.noneFor("w1")
}

func testRenewSessionLockActive(e *env) {
	e.queueSession("i", "s1", "s2")
	e.mustFetchAs("w1", longLock, 2)
	e.wantCount("renewed", e.renewSessions([]string{"w1"}, longLock, time.Minute), 1)
	e.mustFetchAs("w1", longLock, 3)
	e.wantCount("renewed", e.renewSessions([]string{"w1"}, longLock, time.Minute), 2)
	e.wantCount("renewed for another owner", e.renewSessions([]string{"w2"}, longLock, time.Minute), 0)
}

func testRenewSessionLockSkipsIdle(e *env) {
	e.queueSession("i", "s1")
	e.mustFetchAs("w1", longLock, 2)
	e.wantCount("renewed with no idle time allowed", e.renewSessions([]string{"w1"}, longLock, 0), 0)
}

func testRenewSessionLockNoSessions(e *env) {
	e.wantCount("renewed", e.renewSessions([]string{"w1"}, longLock, time.Minute), 0)
	e.wantCount("renewed for no owner", e.renewSessions(nil, longLock, time.Minute), 0)
}

func testCleanupRemovesExpiredNoItems(e *env) {
	e.queueSession("i", "s1")
	e.ack(e.mustFetchAs("w1", shortLock, 2))
	outlive(shortLock)
	e.wantCount("cleaned up", e.cleanupSessions(), 1)
	e.wantCount("cleaned up again", e.cleanupSessions(), 0)
}

func testCleanupKeepsSessionsWithPendingItems(e *env) {
	e.queueSession("i", "s1", "s1")
	e.ack(e.mustFetchAs("w1", shortLock, 2))
	outlive(shortLock)
	e.wantCount("cleaned up", e.cleanupSessions(), 0)
}

func testCleanupKeepsActiveSessions(e *env) {
	e.queueSession("i", "s1")
	e.ack(e.mustFetchAs("w1", longLock, 2))
	e.wantCount("cleaned up", e.cleanupSessions(), 0)
}

// idleProbe is the idle window of the last-activity tests: they wait past it, act, and
// check that a renewal with that window then counts the session as active.
const idleProbe = time.Second

func testAckUpdatesSessionLastActivity(e *env) {
	e.queueSession("i", "s1")
	l := e.mustFetchAs("w1", longLock, 2)
	outlive(idleProbe)
	e.wantCount("renewed while idle", e.renewSessions([]string{"w1"}, longLock, idleProbe), 0)
	e.ack(l)
	e.wantCount("renewed after ack", e.renewSessions([]string{"w1"}, longLock, idleProbe), 1)
}

func testRenewWorkItemUpdatesSessionLastActivity(e *env) {
	e.queueSession("i", "s1")
	l := e.mustFetchAs("w1", longLock, 2)
	outlive(idleProbe)
	e.wantCount("renewed while idle", e.renewSessions([]string{"w1"}, longLock, idleProbe), 0)
	if err := e.s.RenewActivityLock(e.ctx, l.LockToken, longLock); err != nil {
		e.t.Fatalf("RenewActivityLock: %v", err)
	}
	e.wantCount("renewed after activity renewal", e.renewSessions([]string{"w1"}, longLock, idleProbe), 1)
}

func testSessionItemsProcessedInOrder(e *env) {
	e.queueSession("i", "s1", "s1", "s1")
	for id := uint64(2); id <= 4; id++ {
		e.mustFetchAs("w1", longLock, id)
	}
}

func testNonSessionItemsReturnedWithSessionConfig(e *env) {
	e.queueSession("i", "", "")
	e.mustFetchAs("w1", longLock, 2)
	e.mustFetchAs("w1", longLock, 3)
}

func testSharedWorkerIDAnyCallerCanFetchOwnedSession(e *env) {
	e.queueSession("i", "s1", "s1", "s1")
	e.mustFetchAs("node-a", longLock, 2)
	e.mustFetchAs("node-a", longLock, 3) // another slot of the same node
	e.noneFor("node-b")
}

func testConcurrentSessionClaimOnlyOneWins(e *env) {
	e.queueSession("i", "s1", "s1", "s1", "s1")
	var (
		mu     sync.Mutex
		owners = map[string]int{}
		wg     sync.WaitGroup
	)
	for w := range 8 {
		wg.Go(func() {
			owner := fmt.Sprintf("w%d", w)
			l, err := e.s.FetchActivity(e.ctx, history.FetchActivityRequest{
				LockTimeout: longLock, Tags: history.AnyTag(),
				Session: &history.SessionFetch{Owner: owner, LockTimeout: longLock},
			})
			if err != nil {
				e.t.Errorf("FetchActivity(%s): %v", owner, err)
				return
			}
			if l != nil {
				mu.Lock()
				owners[owner]++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if len(owners) != 1 {
		e.t.Fatalf("owners that fetched session activities: %v, want exactly one", owners)
	}
}

func testSessionTakeoverAfterLockExpiry(e *env) {
	e.queueSession("i", "s1", "s1", "s1")
	e.ack(e.mustFetchAs("a", shortLock, 2))
	outlive(shortLock)
	e.ack(e.mustFetchAs("b", longLock, 3))
	e.noneFor("a")
	e.mustFetchAs("b", longLock, 4)
}

func testCleanupThenNewItemRecreatesSession(e *env) {
	e.queueSession("i", "s1")
	e.ack(e.mustFetchAs("a", shortLock, 2))
	outlive(shortLock)
	e.wantCount("cleaned up", e.cleanupSessions(), 1)
	e.queueSession("j", "s1")
	e.mustFetchAs("b", longLock, 2)
	e.wantCount("renewed", e.renewSessions([]string{"b"}, longLock, time.Minute), 1)
	e.noneFor("a")
}

func testAbandonedSessionItemRetryable(e *env) {
	e.queueSession("i", "s1")
	l := e.mustFetchAs("w1", longLock, 2)
	if err := e.s.AbandonActivity(e.ctx, l.LockToken, 0, false); err != nil {
		e.t.Fatalf("AbandonActivity: %v", err)
	}
	l = e.mustFetchAs("w1", longLock, 2)
	if l.Attempt != 2 {
		e.t.Fatalf("attempt %d, want 2", l.Attempt)
	}
	e.ack(l)
	e.noneFor("w1")
}

func testAbandonedSessionItemIgnoreAttempt(e *env) {
	e.queueSession("i", "s1")
	l := e.mustFetchAs("w1", longLock, 2)
	if err := e.s.AbandonActivity(e.ctx, l.LockToken, 0, true); err != nil {
		e.t.Fatalf("AbandonActivity: %v", err)
	}
	if l = e.mustFetchAs("w1", longLock, 2); l.Attempt != 1 {
		e.t.Fatalf("attempt %d, want 1", l.Attempt)
	}
}

func testRenewSessionLockAfterExpiryReturnsZero(e *env) {
	e.queueSession("i", "s1")
	e.mustFetchAs("w1", shortLock, 2)
	outlive(shortLock)
	e.wantCount("renewed after expiry", e.renewSessions([]string{"w1"}, longLock, time.Minute), 0)
}

func testOriginalWorkerReclaimsExpiredSession(e *env) {
	e.queueSession("i", "s1", "s1")
	e.ack(e.mustFetchAs("a", shortLock, 2))
	outlive(shortLock)
	e.mustFetchAs("a", longLock, 3)
	e.noneFor("b")
}

func testActivityLockExpiresSessionLockValidSameWorkerRefetches(e *env) {
	e.queueSession("i", "s1")
	e.wantLease("a", e.fetchAsLocked("a", shortLock, longLock), 2)
	outlive(shortLock)
	e.noneFor("b")
	if l := e.mustFetchAs("a", longLock, 2); l.Attempt != 2 {
		e.t.Fatalf("attempt %d, want 2", l.Attempt)
	}
}

func testSessionLockExpiresNewOwnerGetsRedelivery(e *env) {
	e.queueSession("i", "s1")
	l := e.mustFetchAs("a", shortLock, 2)
	if err := e.s.AbandonActivity(e.ctx, l.LockToken, 0, false); err != nil {
		e.t.Fatalf("AbandonActivity: %v", err)
	}
	outlive(shortLock)
	if l := e.mustFetchAs("b", longLock, 2); l.Attempt != 2 {
		e.t.Fatalf("attempt %d, want 2", l.Attempt)
	}
	e.wantCount("b's sessions renewed", e.renewSessions([]string{"b"}, longLock, time.Minute), 1)
}

func testSessionLockExpiresSameWorkerReacquires(e *env) {
	e.queueSession("i", "s1")
	l := e.mustFetchAs("a", shortLock, 2)
	if err := e.s.AbandonActivity(e.ctx, l.LockToken, 0, false); err != nil {
		e.t.Fatalf("AbandonActivity: %v", err)
	}
	outlive(shortLock)
	if l := e.mustFetchAs("a", longLock, 2); l.Attempt != 2 {
		e.t.Fatalf("attempt %d, want 2", l.Attempt)
	}
}

func testBothLocksExpireDifferentWorkerClaims(e *env) {
	e.queueSession("i", "s1", "s1")
	e.wantLease("a", e.fetchAsLocked("a", shortLock, shortLock), 2)
	outlive(shortLock)
	if l := e.mustFetchAs("b", longLock, 2); l.Attempt != 2 {
		e.t.Fatalf("attempt %d, want 2", l.Attempt)
	}
	e.noneFor("a")
	e.mustFetchAs("b", longLock, 3)
}

func testSessionLockExpiresActivityLockValidAckSucceeds(e *env) {
	e.queueSession("i", "s1")
	l := e.mustFetchAs("a", shortLock, 2)
	outlive(shortLock)
	e.completeActivity(l, completed("i", 1, 2, `"done"`))
}

func testSessionLockRenewalExtendsPastOriginalTimeout(e *env) {
	const lock = time.Second
	e.queueSession("i", "s1", "s1")
	e.ack(e.mustFetchAs("a", lock, 2))
	e.wantCount("renewed", e.renewSessions([]string{"a"}, longLock, time.Minute), 1)
	outlive(lock)
	e.noneFor("b")
	e.mustFetchAs("a", longLock, 3)
}
