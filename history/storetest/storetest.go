// Package storetest is a conformance suite for history.Store implementations. A store
// package runs it from its own tests:
//
//	func TestConformance(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) history.Store { return newTestStore(t) })
//	}
//
// Every test runs as a parallel subtest on a fresh store from newStore, which Run closes
// when the subtest ends. The store's clock must be the wall clock (timers and lock
// expiry are checked against time.Now); lock-expiry tests use 200ms locks and wait on
// conditions with a 10s deadline, so the suite takes a few seconds at most.
//
// The tests (subtest names):
//
// Instances and client calls:
//   - CreateInstance: the row exists at once (Running, execution 1, name and version of
//     the start), its history is empty, its start message is queued.
//   - CreateDuplicate: a taken id gives ErrAlreadyExists and changes nothing.
//   - UnknownInstance: InstanceState, ReadHistory and SendMessage give ErrNotFound;
//     nothing is queued; GetKV/GetAllKV are empty.
//   - SendToTerminal: messages to a completed or failed instance are dropped (nil).
//   - PayloadBytes: message, event, output and activity payloads come back byte for byte.
//
// Orchestrator queue, batching and locking:
//   - FetchEmpty: no work gives nil, nil.
//   - FetchBatch: one fetch returns every visible message of one instance, oldest first,
//     and nothing of other instances; first delivery has Attempt 1.
//   - MessagesDuringTurn: messages arriving while an instance is locked stay for the
//     next fetch; a commit deletes only the fetched batch.
//   - ConcurrentFetchers: many goroutines fetching and committing while messages keep
//     arriving never hold one instance twice at a time, deliver every message exactly
//     once and keep each instance's messages in order.
//   - NoHeadOfLineBlocking: a locked instance, or one abandoned with a long delay,
//     never keeps other instances from being fetched.
//   - MessagesForMissingInstance: messages routed to an instance without a row do not
//     block others and come back with a zero State; an empty commit discards them.
//   - CommitAtomicity: a commit with a duplicate event id fails, records nothing (no
//     history, status, custom status, KV, activities, messages or child rows) and keeps
//     the batch for a later fetch.
//   - CommitLockLost: unknown token, commit after abandon, a second commit, and a commit
//     after the lock expired and was taken by another fetch give ErrLockLost and record
//     nothing.
//   - EmptyCommit: an empty commit removes the batch, releases the lock, changes nothing.
//   - LockExpiry: an expired lock lets another fetch take the instance (Attempt 2);
//     renewing or abandoning the old token then gives ErrLockLost.
//   - RenewExtends: a renewed lock outlives its first timeout; renew after commit fails.
//   - AbandonDelayAndAttempts: abandon with a delay hides the batch until then; each
//     fetch counts an attempt, ignoreAttempt does not; Attempt is the batch maximum;
//     abandon of an unknown token gives ErrLockLost.
//   - Timers: a TimerFired is invisible until FireAtMs (a message arriving before then
//     is fetched without it); a past one is visible at once.
//
// Histories and executions:
//   - HistoryAfter: the lease carries only the events after what HistoryAfter answers.
//   - MultiExecution: continue-as-new (a commit with a higher ExecutionID) moves the
//     current execution; ReadHistory reads each execution; unknown executions give
//     ErrNotFound; Completed and Failed record output and error.
//   - ChildStart: a StartOrchestration in a commit creates the child row with its parent.
//   - ChildStartTaken: a child start onto a taken id is rejected and the parent gets
//     ChildStartRejected; the taken instance is untouched.
//   - DetachedStartTaken: a detached start onto a taken id is rejected and skipped.
//
// Activities:
//   - ActivityRoundTrip: activities queued by a commit are fetched FIFO; completing one
//     queues its completion for the orchestrator; abandon redelivers (ignoreAttempt
//     keeps the count); a nil completion queues nothing.
//   - ActivityCancel: a cancelled activity makes Complete and Renew of its lock give
//     ErrLockLost, and nothing is queued; an unfetched one is withdrawn.
//   - ActivityScheduleAndCancel: scheduled and cancelled in one commit leaves nothing.
//   - ActivityLockExpiry: an expired activity lock redelivers with Attempt 2; the old
//     token can no longer complete, renew or abandon.
//
// Custom status and KV:
//   - CustomStatus: set, reset and version counting once per commit, in InstanceState
//     and the lease State; it survives continue-as-new.
//   - KV: set, clear and clear-all are visible through GetKV/GetAllKV at once; the
//     lease KV snapshot only holds what a terminal commit merged, with its timestamps.
//
// Notifications (when the store implements history.Notifier):
//   - NotifierOrchestratorWork: a waiter on OrchestratorWork wakes after SendMessage and
//     after CreateInstance.
//   - NotifierWorkerWork: WorkerWork signals after a commit that queues activities.
//   - NotifierWatchInstance: WatchInstance signals after a commit changing the status or
//     the custom status; stop may be called twice.
package storetest

import (
	"testing"

	"github.com/duroxide-go/duroxide/history"
)

// Run runs the conformance suite against stores made by newStore.
func Run(t *testing.T, newStore func(t *testing.T) history.Store) {
	tests := []struct {
		name string
		fn   func(e *env)
	}{
		{"CreateInstance", testCreateInstance},
		{"CreateDuplicate", testCreateDuplicate},
		{"UnknownInstance", testUnknownInstance},
		{"SendToTerminal", testSendToTerminal},
		{"PayloadBytes", testPayloadBytes},
		{"FetchEmpty", testFetchEmpty},
		{"FetchBatch", testFetchBatch},
		{"MessagesDuringTurn", testMessagesDuringTurn},
		{"ConcurrentFetchers", testConcurrentFetchers},
		{"NoHeadOfLineBlocking", testNoHeadOfLineBlocking},
		{"MessagesForMissingInstance", testMessagesForMissingInstance},
		{"CommitAtomicity", testCommitAtomicity},
		{"CommitLockLost", testCommitLockLost},
		{"EmptyCommit", testEmptyCommit},
		{"LockExpiry", testLockExpiry},
		{"RenewExtends", testRenewExtends},
		{"AbandonDelayAndAttempts", testAbandonDelayAndAttempts},
		{"Timers", testTimers},
		{"HistoryAfter", testHistoryAfter},
		{"MultiExecution", testMultiExecution},
		{"ChildStart", testChildStart},
		{"ChildStartTaken", testChildStartTaken},
		{"DetachedStartTaken", testDetachedStartTaken},
		{"ActivityRoundTrip", testActivityRoundTrip},
		{"ActivityCancel", testActivityCancel},
		{"ActivityScheduleAndCancel", testActivityScheduleAndCancel},
		{"ActivityLockExpiry", testActivityLockExpiry},
		{"CustomStatus", testCustomStatus},
		{"KV", testKV},
		{"NotifierOrchestratorWork", testNotifierOrchestratorWork},
		{"NotifierWorkerWork", testNotifierWorkerWork},
		{"NotifierWatchInstance", testNotifierWatchInstance},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.fn(newEnv(t, newStore))
		})
	}
}
