package history

import (
	"errors"
	"fmt"
)

// Category groups failures by who must act on them.
type Category string

// The error categories.
const (
	// CategoryApplication: the orchestration or an activity failed, or it was cancelled.
	// Orchestration code sees these as errors it can handle.
	CategoryApplication Category = "application"
	// CategoryInfrastructure: the store or the runtime failed.
	CategoryInfrastructure Category = "infrastructure"
	// CategoryConfiguration: the code does not match its history (nondeterminism) or the
	// history is corrupt.
	CategoryConfiguration Category = "configuration"
	// CategoryPoison: a message failed too many times.
	CategoryPoison Category = "poison"
)

// Sentinel errors, one per category (and nondeterminism, the configuration error every
// user meets); an *ErrorDetails unwraps to the one of its category, so errors.Is works.
var (
	ErrApplication    = errors.New("application error")
	ErrInfrastructure = errors.New("infrastructure error")
	ErrConfiguration  = errors.New("configuration error")
	ErrNondeterminism = fmt.Errorf("nondeterminism: %w", ErrConfiguration)
	ErrPoison         = errors.New("poison message")
	ErrCorruptHistory = fmt.Errorf("corrupted history: %w", ErrConfiguration)
)

// Kinds within a category (ErrorDetails.Kind).
const (
	KindActivityFailed      = "activity_failed"
	KindOrchestrationFailed = "orchestration_failed"
	KindPanicked            = "panicked"
	KindCancelled           = "cancelled"
	KindNondeterminism      = "nondeterminism"
	KindCorruptHistory      = "corrupt_history"
	KindPoisonOrchestration = "orchestration"
	KindPoisonActivity      = "activity"
	KindPoisonDecode        = "failed_deserialization"
	// KindStuckCode: orchestration code neither yielded nor returned in time
	// (infrastructure category; Stack holds the stuck coroutine's stack).
	KindStuckCode = "stuck_code"
)

// ErrorDetails describes a failure recorded in history: why an activity, a child or an
// execution failed. It is an error itself.
type ErrorDetails struct {
	Category Category `json:"category"`
	// Kind refines the category (the Kind* constants).
	Kind    string `json:"kind,omitempty"`
	Message string `json:"message,omitempty"`
	// Reason of a cancellation (Kind cancelled).
	Reason string `json:"reason,omitempty"`
	// Operation that failed (infrastructure).
	Operation string `json:"operation,omitempty"`
	Retryable bool   `json:"retryable,omitempty"`
	// NonRetryable marks an activity failure that a retry policy must not retry.
	NonRetryable bool `json:"non_retryable,omitempty"`
	// Stack of a panic or a stuck coroutine, when known.
	Stack string `json:"stack,omitempty"`
	// Poison details: attempts made, the limit, and what was poisoned.
	AttemptCount int    `json:"attempts,omitempty"`
	MaxAttempts  int    `json:"max_attempts,omitempty"`
	Instance     string `json:"instance,omitempty"`
	ActivityName string `json:"activity_name,omitempty"`
	ActivityID   uint64 `json:"activity_id,omitempty"`
}

// Application builds application failure details of the given kind.
func Application(kind, message string) *ErrorDetails {
	return &ErrorDetails{Category: CategoryApplication, Kind: kind, Message: message}
}

// Cancelled builds the details of a cancelled execution.
func Cancelled(reason string) *ErrorDetails {
	return &ErrorDetails{Category: CategoryApplication, Kind: KindCancelled, Reason: reason}
}

// Nondeterminism builds the details of a replay mismatch.
func Nondeterminism(message string) *ErrorDetails {
	return &ErrorDetails{Category: CategoryConfiguration, Kind: KindNondeterminism, Message: message}
}

// CorruptHistory builds the details of a history that cannot be replayed.
func CorruptHistory(message string) *ErrorDetails {
	return &ErrorDetails{Category: CategoryConfiguration, Kind: KindCorruptHistory, Message: message}
}

// Infrastructure builds infrastructure failure details.
func Infrastructure(operation, message string, retryable bool) *ErrorDetails {
	return &ErrorDetails{Category: CategoryInfrastructure, Operation: operation, Message: message, Retryable: retryable}
}

// DisplayMessage is the text orchestration code and clients see for the failure.
func (d *ErrorDetails) DisplayMessage() string {
	switch d.Category {
	case CategoryInfrastructure:
		return fmt.Sprintf("infrastructure:%s: %s", d.Operation, d.Message)
	case CategoryConfiguration:
		if d.Kind == KindCorruptHistory {
			return "corrupted history: " + d.Message
		}
		return "nondeterministic: " + d.Message
	case CategoryPoison:
		switch d.Kind {
		case KindPoisonActivity:
			return fmt.Sprintf("poison: activity %s#%d exceeded %d attempts (max %d)", d.ActivityName, d.ActivityID, d.AttemptCount, d.MaxAttempts)
		case KindPoisonDecode:
			return fmt.Sprintf("poison: orchestration %s history deserialization failed after %d attempts (max %d): %s", d.Instance, d.AttemptCount, d.MaxAttempts, d.Message)
		default:
			return fmt.Sprintf("poison: orchestration %s exceeded %d attempts (max %d)", d.Instance, d.AttemptCount, d.MaxAttempts)
		}
	}
	switch d.Kind {
	case KindCancelled:
		return "canceled: " + d.Reason
	case KindPanicked:
		return "orchestration panicked: " + d.Message
	}
	return d.Message
}

// Error implements error with DisplayMessage.
func (d *ErrorDetails) Error() string { return d.DisplayMessage() }

// Unwrap gives the category sentinel (ErrNondeterminism for replay mismatches).
func (d *ErrorDetails) Unwrap() error {
	switch d.Category {
	case CategoryInfrastructure:
		return ErrInfrastructure
	case CategoryConfiguration:
		if d.Kind == KindNondeterminism {
			return ErrNondeterminism
		}
		if d.Kind == KindCorruptHistory {
			return ErrCorruptHistory
		}
		return ErrConfiguration
	case CategoryPoison:
		return ErrPoison
	}
	return ErrApplication
}

// IsSystem reports whether the failure is not the application's: such failures never
// reach orchestration code and fail every ancestor with the same details.
func (d *ErrorDetails) IsSystem() bool {
	return d.Category != CategoryApplication
}
