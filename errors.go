package duroxide

import (
	"errors"
	"fmt"

	"github.com/duroxide-go/duroxide/history"
)

// Sentinel errors for the categories callers act on. Errors returned by this package
// wrap them, so errors.Is works.
var (
	// ErrNotFound: the instance does not exist.
	ErrNotFound = history.ErrNotFound
	// ErrAlreadyExists: an instance with that id exists.
	ErrAlreadyExists = history.ErrAlreadyExists
	// ErrTimeout: a wait ended at its timeout.
	ErrTimeout = errors.New("timeout")
	// ErrInvalidInput: a name, id, version or payload was rejected.
	ErrInvalidInput = errors.New("invalid input")
	// ErrNondeterminism: orchestration code no longer matches its history.
	ErrNondeterminism = history.ErrNondeterminism
	// ErrRuntimeStopped: the runtime was already shut down (or never started).
	ErrRuntimeStopped = errors.New("runtime stopped")
	// ErrRuntimeStarted: the call is only allowed before Start.
	ErrRuntimeStarted = errors.New("runtime already started")
)

// nonRetryable marks an activity error that retry policies must not retry.
type nonRetryable struct{ err error }

func (e *nonRetryable) Error() string { return e.err.Error() }
func (e *nonRetryable) Unwrap() error { return e.err }

// NonRetryable wraps an activity's error so that a retry policy stops at once instead of
// trying again. A nil err gives nil.
func NonRetryable(err error) error {
	if err == nil {
		return nil
	}
	return &nonRetryable{err: err}
}

// IsNonRetryable reports whether err was marked with NonRetryable.
func IsNonRetryable(err error) bool {
	var nr *nonRetryable
	return errors.As(err, &nr)
}

func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalidInput, fmt.Sprintf(format, args...))
}
