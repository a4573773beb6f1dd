package history

import (
	"context"
	"encoding/json"
	"errors"
)

// Admin is implemented by stores that offer management calls: listing and inspecting
// instances and executions, deleting instances, pruning old executions, and reading
// metrics. It is optional; clients type-assert a Store to it, as they do for Notifier.
//
// Unknown instances give ErrNotFound where a call needs the instance to exist; the
// listing calls return an empty result instead.
type Admin interface {
	// ListInstances returns the ids of the instances whose current status is status
	// ("" for all), newest first.
	ListInstances(ctx context.Context, status ExecStatus) ([]string, error)
	// ListExecutions returns an instance's execution ids in ascending order; an unknown
	// instance gives an empty list.
	ListExecutions(ctx context.Context, instance string) ([]uint64, error)
	// ExecutionInfo describes one execution; ErrNotFound if the instance or execution
	// does not exist.
	ExecutionInfo(ctx context.Context, instance string, executionID uint64) (ExecutionInfo, error)
	// Children returns the ids of the instances whose parent is instance (direct children
	// only); an unknown instance gives an empty list.
	Children(ctx context.Context, instance string) ([]string, error)
	// DeleteInstances deletes the instances ids, atomically: their histories,
	// executions, queued orchestrator and worker messages, locks, KV stores and rows.
	// Without force, an instance that is not over (its status is neither Completed nor
	// Failed: one between two executions counts as running) makes it fail with
	// ErrStillRunning; an instance whose parent is among ids but which is not itself
	// among ids makes it fail with ErrHasChildren. Either way nothing is deleted.
	// Deleting an instance's lock makes an in-flight commit of it fail with ErrLockLost.
	// Unknown ids are ignored.
	DeleteInstances(ctx context.Context, ids []string, force bool) (DeleteResult, error)
	// DeleteInstancesBulk deletes the root instances matching filter whose current
	// status is terminal (Completed or Failed), each with its whole tree of
	// sub-orchestrations. Running instances are skipped.
	DeleteInstancesBulk(ctx context.Context, filter InstanceFilter) (DeleteResult, error)
	// PruneExecutions deletes old executions of an instance and their histories: never
	// the current execution, never a running one, only those outside the KeepLast newest
	// and completed before CompletedBeforeMs when set. The KV store is untouched.
	// ErrNotFound for an unknown instance.
	PruneExecutions(ctx context.Context, instance string, opts PruneOptions) (PruneResult, error)
	// PruneExecutionsBulk prunes every instance matching filter, whatever its status.
	PruneExecutionsBulk(ctx context.Context, filter InstanceFilter, opts PruneOptions) (PruneResult, error)
	// SystemMetrics counts instances, executions and events.
	SystemMetrics(ctx context.Context) (SystemMetrics, error)
	// QueueDepths counts the unlocked messages of each queue.
	QueueDepths(ctx context.Context) (QueueDepths, error)
	// InstanceStats measures one instance; ErrNotFound if it does not exist.
	InstanceStats(ctx context.Context, instance string) (InstanceStats, error)
}

// Admin errors.
var (
	// ErrStillRunning: a delete without force met a running instance.
	ErrStillRunning = errors.New("instance is still running")
	// ErrHasChildren: a delete would orphan a sub-orchestration (delete the whole tree).
	ErrHasChildren = errors.New("instance has children outside the deletion")
)

// DefaultFilterLimit is the number of instances a bulk call handles when
// InstanceFilter.Limit is 0.
const DefaultFilterLimit = 1000

// ExecutionInfo describes one execution of an instance.
type ExecutionInfo struct {
	ExecutionID uint64
	Status      ExecStatus
	// Output of a completed execution (or the next input of one continued as new).
	Output json.RawMessage
	// Error of a failed execution.
	Error       *ErrorDetails
	StartedAtMs int64
	// CompletedAtMs is 0 while the execution runs.
	CompletedAtMs int64
	// EventCount is the number of events in the execution's history.
	EventCount int
}

// DeleteResult counts what a delete removed.
type DeleteResult struct {
	InstancesDeleted     int
	ExecutionsDeleted    int
	EventsDeleted        int
	QueueMessagesDeleted int
}

// Add returns the sum of r and o.
func (r DeleteResult) Add(o DeleteResult) DeleteResult {
	return DeleteResult{
		InstancesDeleted:     r.InstancesDeleted + o.InstancesDeleted,
		ExecutionsDeleted:    r.ExecutionsDeleted + o.ExecutionsDeleted,
		EventsDeleted:        r.EventsDeleted + o.EventsDeleted,
		QueueMessagesDeleted: r.QueueMessagesDeleted + o.QueueMessagesDeleted,
	}
}

// InstanceFilter selects instances for the bulk calls; the conditions combine.
type InstanceFilter struct {
	// InstanceIDs, when not nil, restricts the selection to these ids (an empty, non-nil
	// list selects nothing).
	InstanceIDs []string
	// CompletedBeforeMs, when set, selects instances whose current execution completed
	// before it.
	CompletedBeforeMs int64
	// Limit bounds the number of instances selected (0: DefaultFilterLimit).
	Limit int
}

// EffectiveLimit is Limit, or DefaultFilterLimit when Limit is not positive.
func (f InstanceFilter) EffectiveLimit() int {
	if f.Limit <= 0 {
		return DefaultFilterLimit
	}
	return f.Limit
}

// PruneOptions says which old executions to prune.
type PruneOptions struct {
	// KeepLast keeps the KeepLast newest executions (0 and 1 both keep only the current one).
	KeepLast int
	// CompletedBeforeMs, when set, prunes only executions completed before it.
	CompletedBeforeMs int64
}

// PruneResult counts what a prune removed.
type PruneResult struct {
	InstancesProcessed int
	ExecutionsDeleted  int
	EventsDeleted      int
}

// SystemMetrics counts the store's contents; the instance statuses are those of the
// current executions.
type SystemMetrics struct {
	TotalInstances     int
	TotalExecutions    int
	RunningInstances   int
	CompletedInstances int
	FailedInstances    int
	TotalEvents        int
}

// QueueDepths counts unlocked queue messages.
type QueueDepths struct {
	// OrchestratorQueue counts visible orchestrator messages.
	OrchestratorQueue int
	// WorkerQueue counts queued activities.
	WorkerQueue int
	// TimerQueue counts orchestrator messages not yet visible (pending timers).
	TimerQueue int
}

// InstanceStats measures one instance.
type InstanceStats struct {
	// HistoryEventCount and HistorySizeBytes measure the current execution's history.
	HistoryEventCount int
	HistorySizeBytes  int64
	// QueuePendingCount counts the instance's orchestrator messages.
	QueuePendingCount int
	// KVUserKeyCount and KVTotalValueBytes measure the KV store, current execution included.
	KVUserKeyCount    int
	KVTotalValueBytes int64
}
