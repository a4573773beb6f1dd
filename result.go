package duroxide

import (
	"fmt"

	"github.com/duroxide-go/duroxide/history"
	"github.com/duroxide-go/duroxide/yield"
)

// Status is the client-visible state of an orchestration instance.
type Status string

// The instance statuses.
const (
	StatusNotFound  Status = "NotFound"
	StatusRunning   Status = "Running"
	StatusCompleted Status = "Completed"
	StatusFailed    Status = "Failed"
)

// ErrorKind says why a failed instance failed.
type ErrorKind string

// The kinds of instance failure.
const (
	ErrorKindApplication    ErrorKind = "application"
	ErrorKindCancelled      ErrorKind = "cancelled"
	ErrorKindNondeterminism ErrorKind = "nondeterminism"
	ErrorKindPoison         ErrorKind = "poison"
	ErrorKindInfrastructure ErrorKind = "infrastructure"
)

// OrchestrationResult is the status of an instance as a client sees it.
type OrchestrationResult struct {
	// InstanceID is the instance this result describes.
	InstanceID string
	Status     Status
	// Output is the orchestration's output when Status is Completed.
	Output yield.Value
	// Error is the failure message when Status is Failed, and ErrorKind its category.
	Error     string
	ErrorKind ErrorKind
	// Details are the recorded failure details when Status is Failed.
	Details *history.ErrorDetails
	// CustomStatus is the last custom status the orchestration set (nil when none), and
	// CustomStatusVersion counts the turns that changed it.
	CustomStatus        *string
	CustomStatusVersion uint64
	// ExecutionID is the current execution.
	ExecutionID uint64
	// Name and Version of the orchestration.
	OrchestrationName    string
	OrchestrationVersion string
}

// IsTerminal reports whether the instance has completed or failed.
func (r OrchestrationResult) IsTerminal() bool {
	return r.Status == StatusCompleted || r.Status == StatusFailed
}

func resultFromState(st history.InstanceState) OrchestrationResult {
	r := OrchestrationResult{
		InstanceID: st.Instance, Status: StatusRunning,
		CustomStatus: st.CustomStatus, CustomStatusVersion: st.CustomStatusVersion,
		ExecutionID: st.ExecutionID, OrchestrationName: st.Name, OrchestrationVersion: st.Version,
	}
	switch st.Status {
	case history.StatusCompleted:
		r.Status, r.Output = StatusCompleted, yield.RawValue(st.Output)
	case history.StatusFailed:
		r.Status, r.Details = StatusFailed, st.Error
		if st.Error != nil {
			r.Error, r.ErrorKind = st.Error.DisplayMessage(), errorKindOf(st.Error)
		}
	}
	return r
}

func errorKindOf(d *history.ErrorDetails) ErrorKind {
	switch d.Category {
	case history.CategoryInfrastructure:
		return ErrorKindInfrastructure
	case history.CategoryConfiguration:
		return ErrorKindNondeterminism
	case history.CategoryPoison:
		return ErrorKindPoison
	}
	if d.Kind == history.KindCancelled {
		return ErrorKindCancelled
	}
	return ErrorKindApplication
}

// OutputAs decodes a completed instance's output into a T. A result that is not
// Completed gives an error carrying its status and failure message.
func OutputAs[T any](res OrchestrationResult) (T, error) {
	var out T
	if res.Status != StatusCompleted {
		if res.Status == StatusFailed {
			return out, fmt.Errorf("instance %q failed: %s", res.InstanceID, res.Error)
		}
		return out, fmt.Errorf("instance %q is %s, not Completed", res.InstanceID, res.Status)
	}
	if err := res.Output.Decode(&out); err != nil {
		return out, err
	}
	return out, nil
}
