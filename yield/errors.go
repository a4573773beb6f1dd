package yield

import (
	"errors"
	"fmt"

	"github.com/duroxide-go/duroxide/history"
)

// TaskErrorKind says what failed behind a *TaskError.
type TaskErrorKind string

// The kinds of task failure orchestration code can see.
const (
	TaskErrActivity         TaskErrorKind = "activity"
	TaskErrSubOrchestration TaskErrorKind = "sub-orchestration"
	TaskErrTimeout          TaskErrorKind = "timeout"
	TaskErrCancelled        TaskErrorKind = "cancelled"
)

// TaskError is the error Yield returns for a failed activity or child orchestration, or a
// retry policy that ran out of time. Error() is the original failure message.
type TaskError struct {
	Kind    TaskErrorKind
	Message string
	// NonRetryable is set when the activity marked its error as not worth retrying.
	NonRetryable bool
	// Details are the recorded failure details, when the failure came from history.
	Details *history.ErrorDetails
}

// Error returns the failure message.
func (e *TaskError) Error() string { return e.Message }

func taskErrorFrom(kind TaskErrorKind, d *history.ErrorDetails) *TaskError {
	if d == nil {
		return &TaskError{Kind: kind, Message: string(kind) + " failed"}
	}
	if kind == TaskErrSubOrchestration && d.Kind == history.KindCancelled {
		kind = TaskErrCancelled
	}
	return &TaskError{Kind: kind, Message: d.DisplayMessage(), NonRetryable: d.NonRetryable, Details: d}
}

// ErrWrongCtx is returned by Yield when a block's code yields on a ctx that is not its
// own (typically the outer ctx captured by the block's closure).
var ErrWrongCtx = errors.New("yield: ctx used outside its own coroutine: inside a Block use the ctx the block receives")

// ErrForeignGoroutine is returned by Yield called from a goroutine other than the
// orchestration's own (one the code started); the execution then fails with it.
// Orchestration code must not yield from goroutines it starts: use All, Race or Block.
var ErrForeignGoroutine = errors.New("yield: Yield called from a goroutine the orchestration started; orchestration code may only yield on its own goroutine (use All, Race or Block for concurrency)")

// ErrAborted is returned by Yield when the execution is already failing (for example
// after a nondeterminism error in the same turn); the coroutine is about to be unwound.
var ErrAborted = errors.New("yield: execution aborted")

func invalidTask(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalidTask, fmt.Sprintf(format, args...))
}
