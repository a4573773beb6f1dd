package duroxide

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/duroxide-go/duroxide/history"
)

// Management errors.
var (
	// ErrManagementNotAvailable: the store does not implement history.Admin.
	ErrManagementNotAvailable = errors.New("management features not available for this store")
	// ErrIsSubOrchestration: a sub-orchestration cannot be deleted directly; delete its root.
	ErrIsSubOrchestration = errors.New("cannot delete a sub-orchestration directly; delete the root instance")
	// ErrStillRunning: a delete without force met a running instance.
	ErrStillRunning = history.ErrStillRunning
	// ErrHasChildren: a delete would orphan a sub-orchestration.
	ErrHasChildren = history.ErrHasChildren
)

// Admin types, as the store reports them.
type (
	// ExecutionInfo describes one execution of an instance.
	ExecutionInfo = history.ExecutionInfo
	// DeleteInstanceResult counts what a delete removed.
	DeleteInstanceResult = history.DeleteResult
	// InstanceFilter selects instances for the bulk calls.
	InstanceFilter = history.InstanceFilter
	// PruneOptions says which old executions to prune.
	PruneOptions = history.PruneOptions
	// PruneResult counts what a prune removed.
	PruneResult = history.PruneResult
	// SystemMetrics counts the store's instances, executions and events.
	SystemMetrics = history.SystemMetrics
	// QueueDepths counts unlocked queue messages.
	QueueDepths = history.QueueDepths
	// SystemStats measures one instance.
	SystemStats = history.InstanceStats
	// Event is one history event.
	Event = history.Event
)

// InstanceInfo is an instance's metadata and current status.
type InstanceInfo struct {
	InstanceID           string
	OrchestrationName    string
	OrchestrationVersion string
	CurrentExecutionID   uint64
	// Status of the current execution: Running, Completed, Failed or ContinuedAsNew.
	Status string
	// Output is the raw JSON output of a completed instance (nil otherwise).
	Output json.RawMessage
	// Error is the error message of a failed instance ("" otherwise).
	Error       string
	CreatedAtMs int64
	UpdatedAtMs int64
	// ParentInstanceID is "" for a root instance.
	ParentInstanceID string
}

// InstanceTree is an instance and all its descendants.
type InstanceTree struct {
	RootID string
	// AllIDs holds the root and its descendants, breadth-first.
	AllIDs []string
}

// Size is the number of instances in the tree.
func (t InstanceTree) Size() int { return len(t.AllIDs) }

// IsRootOnly reports whether the instance has no descendants.
func (t InstanceTree) IsRootOnly() bool { return len(t.AllIDs) == 1 }

func (c *Client) admin() (history.Admin, error) {
	a, ok := c.store.(history.Admin)
	if !ok {
		return nil, fmt.Errorf("%w (%T)", ErrManagementNotAvailable, c.store)
	}
	return a, nil
}

// ListAllInstances lists every instance id, newest first.
func (c *Client) ListAllInstances(ctx context.Context) ([]string, error) {
	return c.ListInstancesByStatus(ctx, "")
}

// ListInstancesByStatus lists the ids of the instances whose current status is status
// ("Running", "Completed", "Failed", "ContinuedAsNew"; "" for all), newest first.
func (c *Client) ListInstancesByStatus(ctx context.Context, status string) ([]string, error) {
	a, err := c.admin()
	if err != nil {
		return nil, err
	}
	return a.ListInstances(ctx, history.ExecStatus(status))
}

// GetInstanceInfo reads an instance's metadata; ErrNotFound for an unknown instance.
func (c *Client) GetInstanceInfo(ctx context.Context, instanceID string) (InstanceInfo, error) {
	if _, err := c.admin(); err != nil {
		return InstanceInfo{}, err
	}
	st, err := c.store.InstanceState(ctx, instanceID)
	if err != nil {
		return InstanceInfo{}, fmt.Errorf("instance %q: %w", instanceID, err)
	}
	info := InstanceInfo{
		InstanceID: st.Instance, OrchestrationName: st.Name, OrchestrationVersion: st.Version,
		CurrentExecutionID: st.ExecutionID, Status: string(st.Status), Output: st.Output,
		CreatedAtMs: st.CreatedAtMs, UpdatedAtMs: st.UpdatedAtMs, ParentInstanceID: st.ParentInstance,
	}
	if st.Error != nil {
		info.Error = st.Error.Message
	}
	return info, nil
}

// GetExecutionInfo describes one execution; ErrNotFound if it does not exist.
func (c *Client) GetExecutionInfo(ctx context.Context, instanceID string, executionID uint64) (ExecutionInfo, error) {
	a, err := c.admin()
	if err != nil {
		return ExecutionInfo{}, err
	}
	return a.ExecutionInfo(ctx, instanceID, executionID)
}

// ListExecutions lists an instance's execution ids, ascending (empty for an unknown
// instance).
func (c *Client) ListExecutions(ctx context.Context, instanceID string) ([]uint64, error) {
	a, err := c.admin()
	if err != nil {
		return nil, err
	}
	return a.ListExecutions(ctx, instanceID)
}

// ReadExecutionHistory reads the events of one execution (0: the current one).
func (c *Client) ReadExecutionHistory(ctx context.Context, instanceID string, executionID uint64) ([]Event, error) {
	if _, err := c.admin(); err != nil {
		return nil, err
	}
	return c.store.ReadHistory(ctx, instanceID, executionID)
}

// GetInstanceTree returns the instance and its descendants, breadth-first.
func (c *Client) GetInstanceTree(ctx context.Context, instanceID string) (InstanceTree, error) {
	a, err := c.admin()
	if err != nil {
		return InstanceTree{}, err
	}
	return instanceTree(ctx, a, instanceID)
}

func instanceTree(ctx context.Context, a history.Admin, root string) (InstanceTree, error) {
	t := InstanceTree{RootID: root, AllIDs: []string{root}}
	seen := map[string]bool{root: true}
	for i := 0; i < len(t.AllIDs); i++ {
		kids, err := a.Children(ctx, t.AllIDs[i])
		if err != nil {
			return InstanceTree{}, err
		}
		for _, k := range kids {
			if !seen[k] {
				seen[k] = true
				t.AllIDs = append(t.AllIDs, k)
			}
		}
	}
	return t, nil
}

// DeleteInstance deletes a root instance with all its sub-orchestrations. Without force,
// a running instance in the tree gives ErrStillRunning. A sub-orchestration gives
// ErrIsSubOrchestration, an unknown instance ErrNotFound. Force does not stop code that
// runs: its next commit fails and the runtime drops it.
func (c *Client) DeleteInstance(ctx context.Context, instanceID string, force bool) (DeleteInstanceResult, error) {
	a, err := c.admin()
	if err != nil {
		return DeleteInstanceResult{}, err
	}
	st, err := c.store.InstanceState(ctx, instanceID)
	if err != nil {
		return DeleteInstanceResult{}, fmt.Errorf("delete %q: %w", instanceID, err)
	}
	if st.ParentInstance != "" {
		return DeleteInstanceResult{}, fmt.Errorf("delete %q (parent %q): %w", instanceID, st.ParentInstance, ErrIsSubOrchestration)
	}
	tree, err := instanceTree(ctx, a, instanceID)
	if err != nil {
		return DeleteInstanceResult{}, fmt.Errorf("delete %q: %w", instanceID, err)
	}
	res, err := a.DeleteInstances(ctx, tree.AllIDs, force)
	if err != nil {
		return DeleteInstanceResult{}, fmt.Errorf("delete %q: %w", instanceID, err)
	}
	return res, nil
}

// DeleteInstanceBulk deletes the terminal root instances matching filter, each with its
// sub-orchestrations; running instances are skipped.
func (c *Client) DeleteInstanceBulk(ctx context.Context, filter InstanceFilter) (DeleteInstanceResult, error) {
	a, err := c.admin()
	if err != nil {
		return DeleteInstanceResult{}, err
	}
	return a.DeleteInstancesBulk(ctx, filter)
}

// PruneExecutions deletes an instance's old executions (never the current one nor a
// running one); ErrNotFound for an unknown instance.
func (c *Client) PruneExecutions(ctx context.Context, instanceID string, opts PruneOptions) (PruneResult, error) {
	a, err := c.admin()
	if err != nil {
		return PruneResult{}, err
	}
	return a.PruneExecutions(ctx, instanceID, opts)
}

// PruneExecutionsBulk prunes every instance matching filter, running ones included.
func (c *Client) PruneExecutionsBulk(ctx context.Context, filter InstanceFilter, opts PruneOptions) (PruneResult, error) {
	a, err := c.admin()
	if err != nil {
		return PruneResult{}, err
	}
	return a.PruneExecutionsBulk(ctx, filter, opts)
}

// GetSystemMetrics counts the store's instances, executions and events.
func (c *Client) GetSystemMetrics(ctx context.Context) (SystemMetrics, error) {
	a, err := c.admin()
	if err != nil {
		return SystemMetrics{}, err
	}
	return a.SystemMetrics(ctx)
}

// GetQueueDepths counts the queues' unlocked messages.
func (c *Client) GetQueueDepths(ctx context.Context) (QueueDepths, error) {
	a, err := c.admin()
	if err != nil {
		return QueueDepths{}, err
	}
	return a.QueueDepths(ctx)
}

// GetOrchestrationStats measures one instance; ErrNotFound for an unknown instance.
func (c *Client) GetOrchestrationStats(ctx context.Context, instanceID string) (SystemStats, error) {
	a, err := c.admin()
	if err != nil {
		return SystemStats{}, err
	}
	return a.InstanceStats(ctx, instanceID)
}
