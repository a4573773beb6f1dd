package history

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// Store is the durable state of orchestration instances: their histories, their status,
// and two peek-lock queues. The orchestrator queue holds the messages that trigger turns
// and is fetched as one locked batch per instance; the worker queue holds activity
// executions. Timers are orchestrator messages invisible until they are due.
//
// A store holds no orchestration logic: the runtime decides, the store records each turn
// atomically. Every method is safe for concurrent use by many runtimes and clients,
// in one process or several.
//
// Errors: ErrNotFound, ErrAlreadyExists and ErrLockLost name the expected failures; any
// other error is a store failure, wrapped in a *StoreError that says whether retrying
// may help.
type Store interface {
	// CreateInstance records a new instance (status Running) and queues its start
	// message, atomically. The instance exists when it returns, so messages sent to it
	// before its first turn are kept. An instance id already in use gives ErrAlreadyExists
	// and changes nothing.
	CreateInstance(ctx context.Context, start Message) error
	// SendMessage queues an event, queue message or cancel for an instance. An id never
	// created gives ErrNotFound and stores nothing; on an instance whose current
	// execution has completed or failed the message is dropped and the call returns nil.
	SendMessage(ctx context.Context, msg Message) error
	// InstanceState reads an instance's metadata and current status; ErrNotFound if unknown.
	InstanceState(ctx context.Context, instance string) (InstanceState, error)
	// ReadHistory reads the events of one execution (0 means the current one), in order.
	// An unknown instance gives ErrNotFound.
	ReadHistory(ctx context.Context, instance string, executionID uint64) ([]Event, error)
	// GetKV reads a key of an instance's KV store, current execution included.
	GetKV(ctx context.Context, instance, key string) (value string, ok bool, err error)
	// GetAllKV reads the whole KV store of an instance, current execution included.
	GetAllKV(ctx context.Context, instance string) (map[string]string, error)

	// FetchOrchestration locks the instance owning the oldest visible orchestrator
	// message and returns every visible message of that instance with the instance's
	// current history. It returns nil, nil when no instance has visible work. Each fetch
	// counts one delivery attempt on every message of the batch. Messages for an
	// instance that has no row (it was deleted) come back with a zero State; committing
	// an empty Commit discards them.
	FetchOrchestration(ctx context.Context, req FetchOrchestrationRequest) (*OrchestrationLease, error)
	// CommitOrchestration records a turn atomically: it appends the delta to the
	// execution's history, updates the instance (status, custom status, KV), removes the
	// fetched batch, queues the new messages and activities, withdraws cancelled
	// activities, and releases the instance lock. A lost or expired lock gives ErrLockLost
	// and records nothing.
	CommitOrchestration(ctx context.Context, lockToken string, c Commit) (CommitResult, error)
	// AbandonOrchestration releases the lock without recording anything; the batch becomes
	// visible again after delay. With ignoreAttempt the fetch does not count as an attempt.
	AbandonOrchestration(ctx context.Context, lockToken string, delay time.Duration, ignoreAttempt bool) error
	// RenewOrchestrationLock extends a held lock; ErrLockLost if it expired or was released.
	RenewOrchestrationLock(ctx context.Context, lockToken string, extend time.Duration) error

	// FetchActivity locks the oldest visible activity; nil, nil when there is none.
	FetchActivity(ctx context.Context, req FetchActivityRequest) (*ActivityLease, error)
	// CompleteActivity removes a locked activity and queues its completion (nil: none,
	// for a cancelled activity), atomically. ErrLockLost when the activity was withdrawn
	// (cancelled) or its lock expired: the completion is then not recorded.
	CompleteActivity(ctx context.Context, lockToken string, completion *Message) error
	// AbandonActivity unlocks an activity; it becomes visible again after delay.
	AbandonActivity(ctx context.Context, lockToken string, delay time.Duration, ignoreAttempt bool) error
	// RenewActivityLock extends an activity's lock; ErrLockLost when it was withdrawn
	// (the activity is cancelled) or expired.
	RenewActivityLock(ctx context.Context, lockToken string, extend time.Duration) error

	// RenewSessionLocks extends, to extend from now, the locks of the live sessions owned
	// by any of owners whose last activity is more recent than idleTimeout, and returns
	// how many it extended. Idle sessions are left to expire, which frees them for any
	// worker.
	RenewSessionLocks(ctx context.Context, owners []string, extend, idleTimeout time.Duration) (int, error)
	// CleanupSessions removes the expired sessions that no queued activity refers to and
	// returns how many it removed.
	CleanupSessions(ctx context.Context) (int, error)

	// Close releases the store's resources.
	Close() error
}

// Notifier is implemented by stores that can tell waiting dispatchers and clients that
// something changed, so that they react at once instead of at their next poll. The
// channels are coalescing: one receive may stand for several changes, and a change may
// be signalled that turns out not to concern the receiver.
type Notifier interface {
	// OrchestratorWork signals that orchestrator messages may have been queued.
	OrchestratorWork() <-chan struct{}
	// WorkerWork signals that activities may have been queued.
	WorkerWork() <-chan struct{}
	// WatchInstance signals changes to one instance's status or custom status until
	// stop is called.
	WatchInstance(instance string) (changed <-chan struct{}, stop func())
}

// CrossProcessWatcher is implemented by Notifiers whose WatchInstance also signals the
// changes other processes make to an instance's status (completion, failure) and custom
// status, as PostgreSQL's LISTEN/NOTIFY does. Waiters on such stores need a poll only as
// a safety net.
type CrossProcessWatcher interface {
	// WatchesAcrossProcesses reports whether WatchInstance covers other processes.
	WatchesAcrossProcesses() bool
}

// Store errors.
var (
	// ErrNotFound: the instance (or execution) does not exist.
	ErrNotFound = errors.New("not found")
	// ErrAlreadyExists: an instance with that id exists.
	ErrAlreadyExists = errors.New("already exists")
	// ErrLockLost: the lock token is unknown, expired, or its item was withdrawn.
	ErrLockLost = errors.New("lock lost")
)

// StoreError is a failure of the store itself: the database, the connection, a
// corrupted row. Retryable says whether trying again may succeed.
type StoreError struct {
	Op        string
	Err       error
	Retryable bool
}

// Error renders "store <op>: <cause>".
func (e *StoreError) Error() string { return fmt.Sprintf("store %s: %v", e.Op, e.Err) }

// Unwrap gives the cause.
func (e *StoreError) Unwrap() error { return e.Err }

// IsRetryable reports whether err is a store failure worth retrying.
func IsRetryable(err error) bool {
	var se *StoreError
	return errors.As(err, &se) && se.Retryable
}

// ExecStatus is the status of an execution.
type ExecStatus string

// The execution statuses.
const (
	StatusRunning        ExecStatus = "Running"
	StatusCompleted      ExecStatus = "Completed"
	StatusFailed         ExecStatus = "Failed"
	StatusContinuedAsNew ExecStatus = "ContinuedAsNew"
)

// IsTerminal reports whether the instance is over (completed or failed).
func (s ExecStatus) IsTerminal() bool { return s == StatusCompleted || s == StatusFailed }

// InstanceState is an instance's metadata and the status of its current execution.
type InstanceState struct {
	Instance string
	// Name and Version of the orchestration; Version is empty until the first turn
	// resolves it.
	Name    string
	Version string
	// ExecutionID is the current execution.
	ExecutionID uint64
	Status      ExecStatus
	// Output of a completed execution, or the next input of one continued as new.
	Output json.RawMessage
	// Error of a failed execution.
	Error               *ErrorDetails
	CustomStatus        *string
	CustomStatusVersion uint64
	ParentInstance      string
	CreatedAtMs         int64
	UpdatedAtMs         int64
}

// KVEntry is one key of an instance's KV store with the time it was last written.
type KVEntry struct {
	Value       string
	UpdatedAtMs int64
}

// FetchOrchestrationRequest says how to lock a batch.
type FetchOrchestrationRequest struct {
	// LockTimeout is how long the instance stays locked without renewal.
	LockTimeout time.Duration
	// HistoryAfter, when set, is asked which events of the picked instance's current
	// execution the caller already holds (the last event id it has, 0 for none); the
	// lease then carries only the events after that id. A runtime keeping instances in a
	// cache reads only what is new.
	HistoryAfter func(instance string, executionID uint64) uint64
}

// OrchestrationLease is a locked batch of orchestrator messages for one instance.
type OrchestrationLease struct {
	LockToken string
	Instance  string
	// Attempt is the highest delivery count among the batch's messages (1 on first fetch).
	Attempt int
	// State is the instance's row; State.ExecutionID is the current execution.
	State InstanceState
	// HistoryAfter is the event id the history starts after (what HistoryAfter answered).
	HistoryAfter uint64
	// History holds the current execution's events after HistoryAfter.
	History []Event
	// HistoryErr is set when a history row could not be decoded; History is then empty.
	HistoryErr error
	// Messages are the batch, oldest first.
	Messages []Message
	// KV is the instance's KV store as of the end of its previous execution.
	KV map[string]KVEntry
	// Drained is a hint: the store saw no visible message of any other unlocked
	// instance when it took this one, so the caller need not fetch again right away.
	// False means there may be more (or the store does not tell).
	Drained bool
}

// Commit is one turn's result as the store records it.
type Commit struct {
	// ExecutionID is the execution the turn ran (a new one after continue-as-new).
	ExecutionID uint64
	// Delta is appended to that execution's history. An OrchestrationStarted in it gives
	// the instance its name, version and parent; CustomStatusUpdated and KV events update
	// the instance's custom status and KV store.
	Delta []Event
	// Status of the execution after the turn; Output and Error go with it.
	Status ExecStatus
	Output json.RawMessage
	Error  *ErrorDetails
	// Messages for orchestrator queues, each routed to its Instance; a TimerFired is
	// visible from FireAtMs. A StartOrchestration creates its instance's row.
	Messages []Message
	// Activities to queue for workers.
	Activities []ActivityWork
	// CancelledActivities are withdrawn from the worker queue.
	CancelledActivities []ActivityRef
	// LeaseActivities, when set, asks the commit to queue some of Activities already
	// locked for the committing runtime and to return their leases, so that its idle
	// workers run them without fetching them first.
	LeaseActivities *ActivityLeaseRequest
}

// ActivityLeaseRequest says which of a commit's activities to queue already locked. The
// store takes, in order, the first Max activities that Eligible accepts and that the
// same commit does not withdraw (CancelledActivities), and queues each locked with a
// fresh lock token for LockTimeout, with one delivery attempt counted, as FetchActivity
// would have locked it. Eligible must be a pure function: a store may call it more than
// once per activity (a retried transaction).
type ActivityLeaseRequest struct {
	// Max is the most activities to lease.
	Max int
	// LockTimeout is how long a leased activity stays locked without renewal.
	LockTimeout time.Duration
	// Eligible says whether the runtime's workers may run an activity (its tag, its
	// name, no session). Nil accepts every activity.
	Eligible func(ActivityWork) bool
}

// LeasedActivities says, for each of c.Activities, whether the commit queues it locked
// (see ActivityLeaseRequest); nil when it leases none. Stores call it once per attempt
// of the commit's transaction.
func (c Commit) LeasedActivities() []bool {
	r := c.LeaseActivities
	if r == nil || r.Max <= 0 || len(c.Activities) == 0 {
		return nil
	}
	withdrawn := make(map[ActivityRef]bool, len(c.CancelledActivities))
	for _, a := range c.CancelledActivities {
		withdrawn[a] = true
	}
	var mask []bool
	n := 0
	for i, w := range c.Activities {
		if n == r.Max {
			break
		}
		if withdrawn[ActivityRef{Instance: w.Instance, ExecutionID: w.ExecutionID, ID: w.ID}] || (r.Eligible != nil && !r.Eligible(w)) {
			continue
		}
		if mask == nil {
			mask = make([]bool, len(c.Activities))
		}
		mask[i] = true
		n++
	}
	return mask
}

// Started is the delta's OrchestrationStarted, if the turn began an execution.
func (c Commit) Started() *Event {
	for i := range c.Delta {
		if c.Delta[i].Kind == OrchestrationStarted {
			return &c.Delta[i]
		}
	}
	return nil
}

// CustomStatusUpdate is the delta's last CustomStatusUpdated: the custom status the
// instance has after the turn (nil when the turn did not change it).
func (c Commit) CustomStatusUpdate() *Event {
	for i := len(c.Delta) - 1; i >= 0; i-- {
		if c.Delta[i].Kind == CustomStatusUpdated {
			return &c.Delta[i]
		}
	}
	return nil
}

// CommitResult reports what a commit could not do as asked.
type CommitResult struct {
	// Rejected lists start messages whose instance id was already in use. For a child
	// (a start with a parent), the store queued ChildStartRejected(start) to the parent in
	// the same commit; a detached start is simply skipped.
	Rejected []Message
	// Leases are the activities the commit queued locked (Commit.LeaseActivities), in
	// the order of Commit.Activities, each with Attempt 1.
	Leases []ActivityLease
}

// ChildStartRejected is the message a store queues to a parent, in the commit that
// tried to start it, when a child's instance id is already in use.
func ChildStartRejected(start Message) Message {
	return Message{
		Kind: MsgSubOrchFailed, Instance: start.ParentInstance, ExecutionID: start.ParentExecutionID, ID: start.ParentEventID,
		Error: Application(KindOrchestrationFailed, fmt.Sprintf("sub-orchestration %q cannot start: instance id %q is already in use", start.Name, start.Instance)),
	}
}

// FetchActivityRequest says how to lock an activity.
type FetchActivityRequest struct {
	// LockTimeout is how long the activity stays locked without renewal.
	LockTimeout time.Duration
	// Tags selects the activities this worker takes by their tag; the zero value takes
	// untagged activities only. With NoTags the store returns nil, nil at once.
	Tags TagFilter
	// Session, when set, lets the fetch take activities scheduled on a session: those of
	// sessions the owner holds, and those of sessions nobody holds (claiming the session
	// for the owner). When nil, only activities outside any session are taken.
	Session *SessionFetch
}

// SessionFetch names the worker node fetching session activities. A session belongs to
// one owner at a time; its activities go only to that owner until the session lock
// expires (the owner stopped renewing it, or it was idle), and then to whichever owner
// fetches next.
type SessionFetch struct {
	// Owner is the worker node id; every fetcher with the same id shares its sessions.
	Owner string
	// LockTimeout is how long a session claimed or used by this fetch stays owned
	// without renewal.
	LockTimeout time.Duration
}

// ActivityLease is a locked activity.
type ActivityLease struct {
	LockToken string
	Work      ActivityWork
	// Attempt is the delivery count (1 on first fetch).
	Attempt int
	// WorkErr is set when the stored activity cannot be decoded (a corrupt row). Work
	// then holds only the Instance, ExecutionID and ID of the row, the lock is held as for
	// any lease, and the runtime completes the activity with a failure, so the corrupt
	// row fails its orchestration instead of blocking it.
	WorkErr error
}
