// Package storetest is a conformance suite for history.Store implementations. A store
// package runs it from its own tests:
//
//	func TestConformance(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) history.Store { return newTestStore(t) })
//	}
//
// Every test runs as a parallel subtest on a fresh store from newStore, which Run closes
// when the subtest ends. Run has 119 subtests: the 32 listed below, written for this
// contract, and 87 ports of the Rust provider validation tests, listed in "Ports of the
// Rust provider validation suite" below. 31 of the ports (admin.go: management,
// deletion, bulk_deletion, prune, and the KV tests that prune or delete) call the
// optional history.Admin interface and are skipped when the store does not implement it.
//
// The store's clock must be the wall clock (timers and lock expiry are checked against
// time.Now). Lock-expiry tests use 200ms locks and wait on conditions with a 10s
// deadline; where nothing may take an expired lock over (its token must fail by expiry
// alone), they wait out the lock's 200ms plus 25ms. No subtest takes much over 0.3s, and
// the suite a few seconds.
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
//     next fetch, together and in order; a commit deletes only the fetched batch.
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
//   - CommitLeasesActivities: a commit with LeaseActivities queues the first Max
//     eligible activities locked and returns their leases (attempt 1, distinct tokens);
//     one withdrawn in the same commit is not leased; the others are fetched as usual;
//     a lease renews, completes and abandons like a fetched lock.
//   - CommitLeaseExpires: an expired lease is fetched again with attempt 2 and can no
//     longer complete; Max 0 leases nothing.
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
//
// # Ports of the Rust provider validation suite
//
// The reference is §7 of provider-spec.md (microsoft/duroxide src/provider_validation).
// Every test of the modules this contract keeps is either ported as a subtest named
// after it (CamelCase, without "test_"), covered by an existing subtest, or dropped
// with a reason. The ports follow this contract (DECISIONS.md 3): CreateInstance
// creates the row, so the Rust fetch-before-the-row-exists cases become a fetch before
// the first turn; SendMessage to an unknown instance gives ErrNotFound and stores
// nothing; a message to a completed or failed instance is dropped, so where a Rust
// test completes an execution and then pokes the instance, the port ends the execution
// with a continue-as-new, which merges the KV store the same way. "ack" is
// CommitOrchestration or CompleteActivity, "renew" RenewOrchestrationLock or
// RenewActivityLock; activities are queued by a commit (there is no
// enqueue_for_worker), and an activity of a deleted instance is one queued for an
// instance that has no row. Every lock or token failure is ErrLockLost.
//
// Of the 155 tests of the modules kept, 87 are ported and 68 are covered by existing
// subtests. Entries read "port: Subtest" or "covered: Subtest".
//
// atomicity (4: 4 ported)
//
//	test_atomicity_failure_rollback         port: AtomicityFailureRollback (a commit reusing
//	                                        event id 1 fails without ErrLockLost and records
//	                                        nothing; the lock is still held and abandon works)
//	test_multi_operation_atomic_ack         port: MultiOperationAtomicAck (5 events, 3
//	                                        activities FIFO, past timer + event in order)
//	test_lock_released_only_on_successful_ack
//	                                        port: LockReleasedOnlyOnSuccessfulAck
//	test_concurrent_ack_prevention          port: ConcurrentAckPrevention (exactly one of two
//	                                        concurrent commits wins, the other ErrLockLost)
//
// error_handling (5: 1 ported, 4 covered)
//
//	test_invalid_lock_token_on_ack          covered: CommitLockLost (ErrLockLost instead of
//	                                        a message text), InvalidLockTokenRejection
//	test_duplicate_event_id_rejection       covered: AtomicityFailureRollback (event id 1
//	                                        reused; history stays the one OrchestrationStarted)
//	test_missing_instance_metadata          covered: UnknownInstance (ReadHistory gives
//	                                        ErrNotFound instead of an empty history)
//	test_corrupted_serialization_data       covered: FetchEmpty (the Rust test only fetches
//	                                        from an empty store; corrupt rows cannot be made
//	                                        through the contract, the store packages' own
//	                                        tests write them)
//	test_lock_expiration_during_ack         port: LockExpirationDuringAck (expired, nobody
//	                                        took it over: ErrLockLost, nothing recorded)
//
// instance_creation (4: 3 ported, 1 covered)
//
//	test_instance_creation_via_metadata     port: InstanceCreationViaMetadata (the row comes
//	                                        from CreateInstance; the first turn's
//	                                        OrchestrationStarted sets version 2.0.0)
//	test_no_instance_creation_on_enqueue    covered: UnknownInstance (SendMessage before
//	                                        CreateInstance: ErrNotFound, nothing queued),
//	                                        CreateInstance (fetch before the first turn)
//	test_null_version_handling              port: NullVersionHandling (a start without a
//	                                        version; the first turn sets 3.0.0)
//	test_sub_orchestration_instance_creation
//	                                        port: SubOrchestrationInstanceCreation (the row
//	                                        comes from the parent's commit, DECISIONS 4; the
//	                                        child's first turn sets 1.5.0)
//
// instance_locking (11: 7 ported, 4 covered)
//
//	test_exclusive_instance_lock            covered: LockExpiry
//	test_lock_token_uniqueness              port: LockTokenUniqueness
//	test_invalid_lock_token_rejection       port: InvalidLockTokenRejection
//	test_concurrent_instance_fetching       port: ConcurrentInstanceFetching (10 fetchers
//	                                        started together, no stagger: each gets one)
//	test_completions_arriving_during_lock_blocked
//	                                        port: CompletionsArrivingDuringLockBlocked (the
//	                                        completions come from CompleteActivity)
//	test_cross_instance_lock_isolation      port: CrossInstanceLockIsolation
//	test_message_tagging_during_lock        covered: MessagesDuringTurn
//	test_ack_only_affects_locked_messages   covered: MessagesDuringTurn
//	test_multi_threaded_lock_contention     port: MultiThreadedLockContention
//	test_multi_threaded_no_duplicate_processing
//	                                        port: MultiThreadedNoDuplicateProcessing (and
//	                                        what the fetchers left is fetched once after)
//	test_multi_threaded_lock_expiration_recovery
//	                                        covered: LockExpiry
//
// lock_expiration (13: 8 ported, 5 covered)
//
//	test_lock_expires_after_timeout         covered: LockExpiry, CommitLockLost (the old
//	                                        token's commit after a takeover)
//	test_abandon_releases_lock_immediately  covered: AbandonDelayAndAttempts
//	test_lock_renewal_on_ack                covered: MessagesDuringTurn
//	test_concurrent_lock_attempts_respect_expiration
//	                                        port: ConcurrentLockAttemptsRespectExpiration
//	                                        (staggered pollers: one wins, not before expiry)
//	test_worker_lock_renewal_success        port: WorkerLockRenewalSuccess
//	test_worker_lock_renewal_invalid_token  covered: ActivityRoundTrip
//	test_worker_lock_renewal_after_expiration
//	                                        port: WorkerLockRenewalAfterExpiration
//	test_worker_lock_renewal_extends_timeout
//	                                        port: WorkerLockRenewalExtendsTimeout (a later
//	                                        activity's lock expiring shows the renewed one
//	                                        still holds; no fixed sleep)
//	test_worker_lock_renewal_after_ack      port: WorkerLockRenewalAfterAck
//	test_abandon_work_item_releases_lock    port: AbandonWorkItemReleasesLock
//	test_abandon_work_item_with_delay       covered: ActivityRoundTrip
//	test_worker_ack_fails_after_lock_expiry port: WorkerAckFailsAfterLockExpiry
//	test_orchestration_lock_renewal_after_expiration
//	                                        port: OrchestrationLockRenewalAfterExpiration
//
// multi_execution (5: 1 ported, 4 covered; executions change by continue-as-new)
//
//	test_execution_isolation                covered: MultiExecution
//	test_latest_execution_detection         covered: MultiExecution
//	test_execution_id_sequencing            covered: MultiExecution (lease State.ExecutionID)
//	test_continue_as_new_creates_new_execution
//	                                        covered: MultiExecution
//	test_execution_history_persistence      port: ExecutionHistoryPersistence
//
// queue_semantics (8: 3 ported, 5 covered)
//
//	test_worker_queue_fifo_ordering         port: WorkerQueueFifoOrdering (across commits)
//	test_worker_peek_lock_semantics         covered: ActivityRoundTrip
//	test_worker_ack_atomicity               covered: ActivityRoundTrip
//	test_timer_delayed_visibility           covered: Timers (a TimerFired is queued by a
//	                                        commit with its FireAtMs; SendMessage has no delay)
//	test_lost_lock_token_handling           covered: ActivityLockExpiry
//	test_worker_item_immediate_visibility   covered: ActivityRoundTrip
//	test_worker_delayed_visibility_skips_future_items
//	                                        port: WorkerDelayedVisibilitySkipsFutureItems
//	test_orphan_queue_messages_dropped      port: OrphanQueueMessagesDropped (for an unknown
//	                                        instance SendMessage gives ErrNotFound and stores
//	                                        nothing, instead of a fetch dropping them)
//
// poison_message (9: 2 ported, 7 covered)
//
//	orchestration_attempt_count_starts_at_one
//	                                        covered: FetchBatch
//	orchestration_attempt_count_increments_on_refetch
//	                                        covered: AbandonDelayAndAttempts
//	worker_attempt_count_starts_at_one      covered: ActivityRoundTrip
//	worker_attempt_count_increments_on_lock_expiry
//	                                        covered: ActivityLockExpiry
//	attempt_count_is_per_message            port: AttemptCountIsPerMessage
//	abandon_work_item_ignore_attempt_decrements
//	                                        covered: ActivityRoundTrip
//	abandon_orchestration_item_ignore_attempt_decrements
//	                                        covered: AbandonDelayAndAttempts
//	ignore_attempt_never_goes_negative      port: IgnoreAttemptNeverGoesNegative (activities
//	                                        and orchestrations; as in Rust, every abandon
//	                                        follows a fetch, so the count stays at 1)
//	max_attempt_count_across_message_batch  covered: AbandonDelayAndAttempts
//
// cancellation (16: 8 ported, 8 covered; the Rust names speak of returned
// execution states that the API no longer has: the tests check delivery and renewal)
//
//	test_fetch_returns_running_state_for_active_orchestration
//	                                        covered: ActivityRoundTrip
//	test_fetch_returns_terminal_state_when_orchestration_completed
//	                                        port: FetchReturnsTerminalStateWhenOrchestrationCompleted
//	test_fetch_returns_terminal_state_when_orchestration_failed
//	                                        port: FetchReturnsTerminalStateWhenOrchestrationFailed
//	test_fetch_returns_terminal_state_when_orchestration_continued_as_new
//	                                        port: FetchReturnsTerminalStateWhenOrchestrationContinuedAsNew
//	test_fetch_returns_missing_state_when_instance_deleted
//	                                        port: FetchReturnsMissingStateWhenInstanceDeleted
//	                                        (an activity of an instance without a row; its
//	                                        completion comes back with a zero State)
//	test_renew_returns_running_when_orchestration_active
//	                                        covered: ActivityRoundTrip
//	test_renew_returns_terminal_when_orchestration_completed
//	                                        port: RenewReturnsTerminalWhenOrchestrationCompleted
//	test_renew_returns_missing_when_instance_deleted
//	                                        port: RenewReturnsMissingWhenInstanceDeleted
//	test_ack_work_item_none_deletes_without_enqueue
//	                                        covered: ActivityRoundTrip
//	test_cancelled_activities_deleted_from_worker_queue
//	                                        port: CancelledActivitiesDeletedFromWorkerQueue
//	test_ack_work_item_fails_when_entry_deleted
//	                                        covered: ActivityRoundTrip, ActivityCancel
//	                                        (ErrLockLost, which is not retryable)
//	test_renew_fails_when_entry_deleted     covered: ActivityCancel
//	test_cancelling_nonexistent_activities_is_idempotent
//	                                        covered: ActivityCancel
//	test_batch_cancellation_deletes_multiple_activities
//	                                        port: BatchCancellationDeletesMultipleActivities
//	test_same_activity_in_worker_items_and_cancelled_is_noop
//	                                        covered: ActivityScheduleAndCancel
//	test_orphan_activity_after_instance_force_deletion
//	                                        covered: StaleActivityAfterDeleteRecreate (a
//	                                        force delete withdraws the instance's activities:
//	                                        a leftover lock's ack gives ErrLockLost; an
//	                                        activity outliving its instance is
//	                                        FetchReturnsMissingStateWhenInstanceDeleted)
//
// custom_status (7: 7 covered; there is no get_custom_status(last_seen): InstanceState
// carries the status and its version, and the "changed since" test is the client's)
//
//	test_custom_status_set                  covered: CustomStatus
//	test_custom_status_clear                covered: CustomStatus
//	test_custom_status_none_preserves       covered: CustomStatus
//	test_custom_status_version_increments   covered: CustomStatus (one increment per
//	                                        commit that updates it)
//	test_custom_status_polling_no_change    covered: CustomStatus (the version stays put
//	                                        without updates)
//	test_custom_status_nonexistent_instance covered: UnknownInstance
//	test_custom_status_default_on_new_instance
//	                                        covered: CreateInstance, CustomStatus
//
// kv_store (35: 13 ported, 22 covered)
//
//	test_kv_set_and_get                     covered: KV
//	test_kv_overwrite                       covered: KV
//	test_kv_clear_single                    covered: KV
//	test_kv_clear_all                       covered: KV
//	test_kv_get_nonexistent                 covered: KV
//	test_kv_snapshot_in_fetch               covered: KV (snapshot after continue-as-new)
//	test_kv_snapshot_after_clear_single     covered: KV
//	test_kv_snapshot_after_clear_all        port: KvSnapshotAfterClearAll (cleared in
//	                                        execution 2, gone from execution 3's snapshot)
//	test_kv_execution_id_tracking           covered: KvCrossExecutionOverwrite (the
//	                                        overwrite), KvPrunePreservesAllKeys (pruning)
//	test_kv_cross_execution_overwrite       port: KvCrossExecutionOverwrite
//	test_kv_cross_execution_remove_readd    port: KvCrossExecutionRemoveReadd
//	test_kv_prune_preserves_overwritten     covered: KvPrunePreservesAllKeys (the KV store
//	                                        keeps merged values, not executions; prune
//	                                        deletes executions and histories only)
//	test_kv_prune_preserves_all_keys        port: KvPrunePreservesAllKeys
//	test_kv_instance_isolation              port: KvInstanceIsolation
//	test_kv_delete_instance_cascades        port: KvDeleteInstanceCascades
//	test_kv_clear_nonexistent_key           port: KvClearNonexistentKey
//	test_kv_get_unknown_instance            covered: UnknownInstance
//	test_kv_set_after_clear                 covered: KV
//	test_kv_empty_value                     covered: KV
//	test_kv_large_value                     covered: KV (64 KiB)
//	test_kv_special_chars_in_key            port: KvSpecialCharsInKey
//	test_kv_snapshot_empty                  covered: FetchBatch, KV
//	test_kv_snapshot_cross_execution        covered: KV
//	test_kv_prune_current_execution_protected
//	                                        port: KvPruneCurrentExecutionProtected
//	test_kv_delete_instance_with_children   port: KvDeleteInstanceWithChildren
//	test_kv_clear_isolation                 port: KvClearIsolation
//	test_kv_delta_snapshot_excludes_current_execution
//	                                        covered: KV
//	test_kv_delta_snapshot_includes_completed_execution
//	                                        covered: KV
//	test_kv_delta_client_reads_merged       port: KvDeltaClientReadsMerged
//	test_kv_delta_tombstone_overrides_store port: KvDeltaTombstoneOverridesStore
//	test_kv_delta_clear_all_tombstones_store
//	                                        covered: KV
//	test_kv_delta_merged_on_completion      covered: KV
//	test_kv_delta_merged_on_can             covered: KV
//	test_kv_delta_delete_instance_cascades  covered: KvDeleteInstanceCascades (it deletes
//	                                        merged keys and current-execution changes)
//	test_kv_delta_prune_untouched_key_survives
//	                                        covered: KvPrunePreservesAllKeys (keys of the
//	                                        pruned execution survive), KvDeltaClientReadsMerged
//
// tag_filtering (10: 10 ported; tags.go. FetchActivityRequest.Tags is the filter; the
// activity ids are event ids, so the Rust ids 1, 2, 3, ... are 2, 3, 4, ... here)
//
//	test_default_only_fetches_untagged      port: DefaultOnlyFetchesUntagged
//	test_tags_fetches_only_matching         port: TagsFetchesOnlyMatching
//	test_default_and_fetches_untagged_and_matching
//	                                        port: DefaultAndFetchesUntaggedAndMatching
//	test_none_filter_returns_nothing        port: NoneFilterReturnsNothing
//	test_multi_tag_filter                   port: MultiTagFilter
//	test_tag_round_trip_preservation        port: TagRoundTripPreservation
//	test_any_filter_fetches_everything      port: AnyFilterFetchesEverything
//	test_tag_survives_abandon_and_refetch   port: TagSurvivesAbandonAndRefetch
//	test_multi_runtime_tag_isolation        port: MultiRuntimeTagIsolation (disjoint,
//	                                        overlapping and Any filters, one store)
//	test_tag_preserved_through_ack_orchestration_item
//	                                        port: TagPreservedThroughAckOrchestrationItem
//
// management (7: 7 ported; admin.go, history.Admin. Instance info is InstanceState)
//
//	test_list_instances                     port: ListInstances
//	test_list_instances_by_status           port: ListInstancesByStatus
//	test_list_executions                    port: ListExecutions (unknown: empty)
//	test_get_instance_info                  port: GetInstanceInfo (through InstanceState)
//	test_get_execution_info                 port: GetExecutionInfo (unknown: ErrNotFound)
//	test_get_system_metrics                 port: GetSystemMetrics
//	test_get_queue_depths                   port: GetQueueDepths
//
// deletion (13: 12 ported, 1 covered; the store deletes a given set of ids, the
// client's DeleteInstance adds the root check and the tree, see admin_test.go)
//
//	test_delete_terminal_instances          port: DeleteTerminalInstances
//	test_delete_running_rejected_force_succeeds
//	                                        port: DeleteRunningRejectedForceSucceeds
//	                                        (ErrStillRunning)
//	test_delete_nonexistent_instance        port: DeleteNonexistentInstance (the store
//	                                        ignores unknown ids; the client gives ErrNotFound)
//	test_delete_cleans_queues_and_locks     port: DeleteCleansQueuesAndLocks
//	test_cascade_delete_hierarchy           port: CascadeDeleteHierarchy (part of a tree:
//	                                        ErrHasChildren; the whole 4-level tree at once)
//	test_force_delete_prevents_ack_recreation
//	                                        port: ForceDeletePreventsAckRecreation
//	test_list_children                      port: ListChildren
//	test_delete_get_parent_id               port: DeleteGetParentId (InstanceState.ParentInstance)
//	test_delete_get_instance_tree           covered: ListChildren (the tree is the client's
//	                                        GetInstanceTree, breadth-first over Children)
//	test_delete_instances_atomic            port: DeleteInstancesAtomic
//	test_delete_instances_atomic_force      port: DeleteInstancesAtomicForce
//	test_delete_instances_atomic_orphan_detection
//	                                        port: DeleteInstancesAtomicOrphanDetection
//	test_stale_activity_after_delete_recreate
//	                                        port: StaleActivityAfterDeleteRecreate
//
// bulk_deletion (4: 4 ported)
//
//	test_delete_instance_bulk_filter_combinations
//	                                        port: DeleteInstanceBulkFilterCombinations
//	test_delete_instance_bulk_safety_and_limits
//	                                        port: DeleteInstanceBulkSafetyAndLimits
//	test_delete_instance_bulk_completed_before_filter
//	                                        port: DeleteInstanceBulkCompletedBeforeFilter
//	test_delete_instance_bulk_cascades_to_children
//	                                        port: DeleteInstanceBulkCascadesToChildren
//
// prune (4: 4 ported)
//
//	test_prune_options_combinations         port: PruneOptionsCombinations (and
//	                                        CompletedBeforeMs)
//	test_prune_safety                       port: PruneSafety
//	test_prune_bulk                         port: PruneBulk
//	test_prune_bulk_includes_running_instances
//	                                        port: PruneBulkIncludesRunningInstances
//
// sessions (33: 33 ported; sessions.go). A session belongs to a worker node id
// (history.SessionFetch.Owner) rather than to a worker slot; the concurrent-claim
// test races eight owners instead of two.
//
//	test_non_session_items_fetchable_by_any_worker
//	                                        port: NonSessionItemsFetchableByAnyWorker
//	test_session_item_claimable_when_no_session
//	                                        port: SessionItemClaimableWhenNoSession
//	test_session_affinity_same_worker       port: SessionAffinitySameWorker
//	test_session_affinity_blocks_other_worker
//	                                        port: SessionAffinityBlocksOtherWorker
//	test_different_sessions_different_workers
//	                                        port: DifferentSessionsDifferentWorkers
//	test_mixed_session_and_non_session_items
//	                                        port: MixedSessionAndNonSessionItems
//	test_session_claimable_after_lock_expiry
//	                                        port: SessionClaimableAfterLockExpiry
//	test_none_session_skips_session_items   port: NoneSessionSkipsSessionItems
//	test_some_session_returns_all_items     port: SomeSessionReturnsAllItems
//	test_renew_session_lock_active          port: RenewSessionLockActive
//	test_renew_session_lock_skips_idle      port: RenewSessionLockSkipsIdle
//	test_renew_session_lock_no_sessions     port: RenewSessionLockNoSessions
//	test_cleanup_removes_expired_no_items   port: CleanupRemovesExpiredNoItems
//	test_cleanup_keeps_sessions_with_pending_items
//	                                        port: CleanupKeepsSessionsWithPendingItems
//	test_cleanup_keeps_active_sessions      port: CleanupKeepsActiveSessions
//	test_ack_updates_session_last_activity  port: AckUpdatesSessionLastActivity
//	test_renew_work_item_updates_session_last_activity
//	                                        port: RenewWorkItemUpdatesSessionLastActivity
//	test_session_items_processed_in_order   port: SessionItemsProcessedInOrder
//	test_non_session_items_returned_with_session_config
//	                                        port: NonSessionItemsReturnedWithSessionConfig
//	test_shared_worker_id_any_caller_can_fetch_owned_session
//	                                        port: SharedWorkerIDAnyCallerCanFetchOwnedSession
//	test_concurrent_session_claim_only_one_wins
//	                                        port: ConcurrentSessionClaimOnlyOneWins
//	test_session_takeover_after_lock_expiry
//	                                        port: SessionTakeoverAfterLockExpiry
//	test_cleanup_then_new_item_recreates_session
//	                                        port: CleanupThenNewItemRecreatesSession
//	test_abandoned_session_item_retryable   port: AbandonedSessionItemRetryable
//	test_abandoned_session_item_ignore_attempt
//	                                        port: AbandonedSessionItemIgnoreAttempt
//	test_renew_session_lock_after_expiry_returns_zero
//	                                        port: RenewSessionLockAfterExpiryReturnsZero
//	test_original_worker_reclaims_expired_session
//	                                        port: OriginalWorkerReclaimsExpiredSession
//	test_activity_lock_expires_session_lock_valid_same_worker_refetches
//	                                        port: ActivityLockExpiresSessionLockValidSameWorkerRefetches
//	test_session_lock_expires_new_owner_gets_redelivery
//	                                        port: SessionLockExpiresNewOwnerGetsRedelivery
//	test_session_lock_expires_same_worker_reacquires
//	                                        port: SessionLockExpiresSameWorkerReacquires
//	test_both_locks_expire_different_worker_claims
//	                                        port: BothLocksExpireDifferentWorkerClaims
//	test_session_lock_expires_activity_lock_valid_ack_succeeds
//	                                        port: SessionLockExpiresActivityLockValidAckSucceeds
//	test_session_lock_renewal_extends_past_original_timeout
//	                                        port: SessionLockRenewalExtendsPastOriginalTimeout
//
// The other modules of §7 are not ported:
//
//   - capability_filtering (20): dropped, the contract has no replay-version pinning.
//   - long_polling (5): dropped, the stores short-poll and signal new work through
//     history.Notifier instead (the Notifier* subtests).
package storetest
