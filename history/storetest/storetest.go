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

		// Ports of the Rust provider validation tests (see the package doc).
		{"AtomicityFailureRollback", testAtomicityFailureRollback},
		{"MultiOperationAtomicAck", testMultiOperationAtomicAck},
		{"LockReleasedOnlyOnSuccessfulAck", testLockReleasedOnlyOnSuccessfulAck},
		{"ConcurrentAckPrevention", testConcurrentAckPrevention},
		{"LockExpirationDuringAck", testLockExpirationDuringAck},
		{"InstanceCreationViaMetadata", testInstanceCreationViaMetadata},
		{"NullVersionHandling", testNullVersionHandling},
		{"SubOrchestrationInstanceCreation", testSubOrchestrationInstanceCreation},
		{"LockTokenUniqueness", testLockTokenUniqueness},
		{"InvalidLockTokenRejection", testInvalidLockTokenRejection},
		{"ConcurrentInstanceFetching", testConcurrentInstanceFetching},
		{"CompletionsArrivingDuringLockBlocked", testCompletionsArrivingDuringLockBlocked},
		{"CrossInstanceLockIsolation", testCrossInstanceLockIsolation},
		{"MultiThreadedLockContention", testMultiThreadedLockContention},
		{"MultiThreadedNoDuplicateProcessing", testMultiThreadedNoDuplicateProcessing},
		{"ConcurrentLockAttemptsRespectExpiration", testConcurrentLockAttemptsRespectExpiration},
		{"WorkerLockRenewalSuccess", testWorkerLockRenewalSuccess},
		{"WorkerLockRenewalAfterExpiration", testWorkerLockRenewalAfterExpiration},
		{"WorkerLockRenewalExtendsTimeout", testWorkerLockRenewalExtendsTimeout},
		{"WorkerLockRenewalAfterAck", testWorkerLockRenewalAfterAck},
		{"AbandonWorkItemReleasesLock", testAbandonWorkItemReleasesLock},
		{"WorkerAckFailsAfterLockExpiry", testWorkerAckFailsAfterLockExpiry},
		{"OrchestrationLockRenewalAfterExpiration", testOrchestrationLockRenewalAfterExpiration},
		{"ExecutionHistoryPersistence", testExecutionHistoryPersistence},
		{"WorkerQueueFifoOrdering", testWorkerQueueFifoOrdering},
		{"WorkerDelayedVisibilitySkipsFutureItems", testWorkerDelayedVisibilitySkipsFutureItems},
		{"OrphanQueueMessagesDropped", testOrphanQueueMessagesDropped},
		{"AttemptCountIsPerMessage", testAttemptCountIsPerMessage},
		{"IgnoreAttemptNeverGoesNegative", testIgnoreAttemptNeverGoesNegative},
		{"FetchReturnsTerminalStateWhenOrchestrationCompleted", testFetchReturnsTerminalStateWhenOrchestrationCompleted},
		{"FetchReturnsTerminalStateWhenOrchestrationFailed", testFetchReturnsTerminalStateWhenOrchestrationFailed},
		{"FetchReturnsTerminalStateWhenOrchestrationContinuedAsNew", testFetchReturnsTerminalStateWhenOrchestrationContinuedAsNew},
		{"FetchReturnsMissingStateWhenInstanceDeleted", testFetchReturnsMissingStateWhenInstanceDeleted},
		{"RenewReturnsTerminalWhenOrchestrationCompleted", testRenewReturnsTerminalWhenOrchestrationCompleted},
		{"RenewReturnsMissingWhenInstanceDeleted", testRenewReturnsMissingWhenInstanceDeleted},
		{"CancelledActivitiesDeletedFromWorkerQueue", testCancelledActivitiesDeletedFromWorkerQueue},
		{"BatchCancellationDeletesMultipleActivities", testBatchCancellationDeletesMultipleActivities},
		{"KvSnapshotAfterClearAll", testKvSnapshotAfterClearAll},
		{"KvCrossExecutionOverwrite", testKvCrossExecutionOverwrite},
		{"KvCrossExecutionRemoveReadd", testKvCrossExecutionRemoveReadd},
		{"KvInstanceIsolation", testKvInstanceIsolation},
		{"KvClearNonexistentKey", testKvClearNonexistentKey},
		{"KvSpecialCharsInKey", testKvSpecialCharsInKey},
		{"KvClearIsolation", testKvClearIsolation},
		{"KvDeltaClientReadsMerged", testKvDeltaClientReadsMerged},
		{"KvDeltaTombstoneOverridesStore", testKvDeltaTombstoneOverridesStore},

		// Ports of the Rust tag_filtering module (tags.go).
		{"DefaultOnlyFetchesUntagged", testDefaultOnlyFetchesUntagged},
		{"TagsFetchesOnlyMatching", testTagsFetchesOnlyMatching},
		{"DefaultAndFetchesUntaggedAndMatching", testDefaultAndFetchesUntaggedAndMatching},
		{"NoneFilterReturnsNothing", testNoneFilterReturnsNothing},
		{"MultiTagFilter", testMultiTagFilter},
		{"TagRoundTripPreservation", testTagRoundTripPreservation},
		{"AnyFilterFetchesEverything", testAnyFilterFetchesEverything},
		{"TagSurvivesAbandonAndRefetch", testTagSurvivesAbandonAndRefetch},
		{"MultiRuntimeTagIsolation", testMultiRuntimeTagIsolation},
		{"TagPreservedThroughAckOrchestrationItem", testTagPreservedThroughAckOrchestrationItem},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.fn(newEnv(t, newStore))
		})
	}
	runAdmin(t, newStore)
}
