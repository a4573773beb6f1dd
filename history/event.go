// Package history holds the durable record of an orchestration: the events of each
// execution, the messages that drive it, the error categories that end it, and the
// versioned JSON codec that stores them. It imports nothing else of this module, so
// stores and the replay engine can both depend on it.
package history

import (
	"encoding/json"
	"fmt"
)

// EventKind names the kind of a history event. The values are the serialized "type" tags.
type EventKind string

// The event kinds. "Scheduling" kinds record a decision of orchestration code and are
// matched one to one, in order, against what the code asks for on replay; "completion"
// kinds carry SourceEventID, the id of the scheduling event they resolve.
const (
	// OrchestrationStarted is always the first event of an execution (lifecycle).
	OrchestrationStarted EventKind = "OrchestrationStarted"
	// OrchestrationCompleted ends an execution with Output (terminal).
	OrchestrationCompleted EventKind = "OrchestrationCompleted"
	// OrchestrationFailed ends an execution with Error, including cancellation (terminal).
	OrchestrationFailed EventKind = "OrchestrationFailed"
	// OrchestrationContinuedAsNew ends an execution; a new one starts with Input (terminal).
	OrchestrationContinuedAsNew EventKind = "OrchestrationContinuedAsNew"
	// OrchestrationCancelRequested records a CancelInstance message; at most one per execution.
	OrchestrationCancelRequested EventKind = "OrchestrationCancelRequested"

	// ActivityScheduled records an activity call (scheduling).
	ActivityScheduled EventKind = "ActivityScheduled"
	// ActivityCompleted carries an activity's Result (completion).
	ActivityCompleted EventKind = "ActivityCompleted"
	// ActivityFailed carries an activity's Error (completion).
	ActivityFailed EventKind = "ActivityFailed"
	// ActivityCancelRequested records that the code no longer needs an activity (scheduling breadcrumb).
	ActivityCancelRequested EventKind = "ActivityCancelRequested"

	// TimerCreated records a durable timer due at FireAtMs (scheduling).
	TimerCreated EventKind = "TimerCreated"
	// TimerFired resolves a timer (completion).
	TimerFired EventKind = "TimerFired"

	// ExternalSubscribed records a WaitForEvent on Name (scheduling).
	ExternalSubscribed EventKind = "ExternalSubscribed"
	// ExternalEvent records the arrival of a raised event Name with Data (arrival).
	ExternalEvent EventKind = "ExternalEvent"
	// ExternalSubscribedCancelled records that a wait was dropped (scheduling breadcrumb).
	ExternalSubscribedCancelled EventKind = "ExternalSubscribedCancelled"

	// QueueSubscribed records a DequeueEvent on queue Name (scheduling).
	QueueSubscribed EventKind = "QueueSubscribed"
	// QueueEventDelivered records a message enqueued on queue Name with Data (arrival).
	QueueEventDelivered EventKind = "QueueEventDelivered"
	// QueueSubscriptionCancelled records that a dequeue was dropped (scheduling breadcrumb).
	QueueSubscriptionCancelled EventKind = "QueueSubscriptionCancelled"

	// SubOrchestrationScheduled records a child orchestration start (scheduling).
	SubOrchestrationScheduled EventKind = "SubOrchestrationScheduled"
	// SubOrchestrationCompleted carries a child's Result (completion).
	SubOrchestrationCompleted EventKind = "SubOrchestrationCompleted"
	// SubOrchestrationFailed carries a child's Error (completion).
	SubOrchestrationFailed EventKind = "SubOrchestrationFailed"
	// SubOrchestrationCancelRequested records that the code dropped a child (scheduling breadcrumb).
	SubOrchestrationCancelRequested EventKind = "SubOrchestrationCancelRequested"

	// OrchestrationChained records a detached start of another instance (scheduling).
	OrchestrationChained EventKind = "OrchestrationChained"

	// CustomStatusUpdated records a set (Status non-nil) or reset (nil) of the custom status (scheduling).
	CustomStatusUpdated EventKind = "CustomStatusUpdated"
	// KeyValueSet records a KV write (scheduling).
	KeyValueSet EventKind = "KeyValueSet"
	// KeyValueCleared records the removal of one key (scheduling).
	KeyValueCleared EventKind = "KeyValueCleared"
	// KeyValuesCleared records the removal of every key (scheduling).
	KeyValuesCleared EventKind = "KeyValuesCleared"

	// SystemCall records the value of a deterministic system call (UtcNow, NewGUID) so
	// replay returns the same value (scheduling; resolves at once).
	SystemCall EventKind = "SystemCall"
)

// Names of the system calls recorded in SystemCall events.
const (
	SysUtcNow  = "utc_now"
	SysNewGUID = "new_guid"
)

// Reasons recorded in cancel breadcrumbs.
const (
	ReasonDroppedFuture          = "dropped_future"
	ReasonTerminal               = "orchestration_terminal"
	ReasonTerminalCompleted      = "orchestration_terminal_completed"
	ReasonTerminalFailed         = "orchestration_terminal_failed"
	ReasonTerminalContinuedAsNew = "orchestration_terminal_continued_as_new"
	ReasonParentCancelled        = "parent canceled"
	ReasonParentDroppedChild     = "parent dropped sub-orchestration future"
)

// IsTerminal reports whether the kind ends an execution.
func (k EventKind) IsTerminal() bool {
	return k == OrchestrationCompleted || k == OrchestrationFailed || k == OrchestrationContinuedAsNew
}

// IsScheduling reports whether the kind records a decision of orchestration code, which
// replay matches against what the code asks for, in order.
func (k EventKind) IsScheduling() bool {
	switch k {
	case ActivityScheduled, TimerCreated, ExternalSubscribed, QueueSubscribed,
		SubOrchestrationScheduled, OrchestrationChained,
		CustomStatusUpdated, KeyValueSet, KeyValueCleared, KeyValuesCleared, SystemCall,
		ActivityCancelRequested, ExternalSubscribedCancelled, QueueSubscriptionCancelled,
		SubOrchestrationCancelRequested:
		return true
	}
	return false
}

// IsCompletion reports whether the kind resolves a scheduling event named by SourceEventID.
func (k EventKind) IsCompletion() bool {
	switch k {
	case ActivityCompleted, ActivityFailed, TimerFired, SubOrchestrationCompleted, SubOrchestrationFailed:
		return true
	}
	return false
}

// Valid reports whether k is one of the known kinds.
func (k EventKind) Valid() bool {
	switch k {
	case OrchestrationStarted, OrchestrationCompleted, OrchestrationFailed, OrchestrationContinuedAsNew,
		OrchestrationCancelRequested, ExternalEvent, QueueEventDelivered:
		return true
	}
	return k.IsScheduling() || k.IsCompletion()
}

// CarriedEvent is an unconsumed event or queue message carried from one execution to the
// next on continue-as-new, oldest first.
type CarriedEvent struct {
	// Queue is true for a queue message (DequeueEvent), false for a raised event (WaitForEvent).
	Queue bool            `json:"queue,omitempty"`
	Name  string          `json:"name"`
	Data  json.RawMessage `json:"data,omitempty"`
}

// Event is one entry of an execution's history. It is a flat record: Kind says which of
// the optional fields are meaningful (see the field comments). Payload fields hold raw
// JSON exactly as recorded, so replay compares them byte for byte.
type Event struct {
	// EventID is the position of the event in its execution; OrchestrationStarted is 1.
	EventID uint64 `json:"id"`
	// SourceEventID is, for completions and cancel breadcrumbs, the id of the scheduling
	// event they refer to; 0 otherwise.
	SourceEventID uint64 `json:"src,omitempty"`
	InstanceID    string `json:"instance,omitempty"`
	ExecutionID   uint64 `json:"execution,omitempty"`
	// TimestampMs is the time of the turn that recorded the event, in Unix milliseconds.
	TimestampMs int64     `json:"ts"`
	Kind        EventKind `json:"type"`

	// Name: orchestration (Started, Chained, SubOrchestrationScheduled), activity,
	// event or queue name, or system call name.
	Name string `json:"name,omitempty"`
	// Version: the resolved orchestration version (Started), the requested version
	// (SubOrchestrationScheduled, Chained, ContinuedAsNew; empty means latest).
	Version string `json:"version,omitempty"`
	// Input: orchestration, activity or child input, or the next execution's input (ContinuedAsNew).
	Input json.RawMessage `json:"input,omitempty"`
	// Output: the result of OrchestrationCompleted.
	Output json.RawMessage `json:"output,omitempty"`
	// Result: ActivityCompleted, SubOrchestrationCompleted and SystemCall results.
	Result json.RawMessage `json:"result,omitempty"`
	// Data: the payload of ExternalEvent and QueueEventDelivered.
	Data json.RawMessage `json:"data,omitempty"`
	// Error: OrchestrationFailed, ActivityFailed, SubOrchestrationFailed.
	Error *ErrorDetails `json:"error,omitempty"`
	// Reason: cancel requests and breadcrumbs.
	Reason string `json:"reason,omitempty"`
	// Instance: the full child instance id (SubOrchestrationScheduled) or the started
	// instance id (OrchestrationChained).
	Instance string `json:"child,omitempty"`
	// FireAtMs: when a timer is due (TimerCreated, TimerFired), Unix milliseconds.
	FireAtMs int64 `json:"fire_at,omitempty"`
	// SessionID and Tag route an activity (ActivityScheduled).
	SessionID string `json:"session,omitempty"`
	Tag       string `json:"tag,omitempty"`

	// Parent link of a child execution (OrchestrationStarted).
	ParentInstance    string `json:"parent_instance,omitempty"`
	ParentExecutionID uint64 `json:"parent_execution,omitempty"`
	ParentEventID     uint64 `json:"parent_event,omitempty"`
	// CarryForward: events carried from the previous execution (OrchestrationStarted), for audit.
	CarryForward []CarriedEvent `json:"carry_forward,omitempty"`
	// InitialCustomStatus seeds the custom status of a continued execution (OrchestrationStarted).
	InitialCustomStatus *string `json:"initial_custom_status,omitempty"`

	// Status: the new custom status; nil means reset (CustomStatusUpdated).
	Status *string `json:"status,omitempty"`
	// Key and Value of a KV write (KeyValueSet, KeyValueCleared).
	Key   string `json:"key,omitempty"`
	Value string `json:"value,omitempty"`
}

// String gives a short human description used in error messages, e.g.
// `ActivityScheduled(name="A", input="x") at event 5`.
func (e Event) String() string {
	return fmt.Sprintf("%s at event %d", e.Describe(), e.EventID)
}

// Describe renders the kind and the fields that identify the event, without its id.
func (e Event) Describe() string {
	switch e.Kind {
	case ActivityScheduled:
		s := fmt.Sprintf("%s(name=%q, input=%s", e.Kind, e.Name, short(e.Input))
		if e.SessionID != "" {
			s += fmt.Sprintf(", session=%q", e.SessionID)
		}
		if e.Tag != "" {
			s += fmt.Sprintf(", tag=%q", e.Tag)
		}
		return s + ")"
	case SubOrchestrationScheduled, OrchestrationChained:
		return fmt.Sprintf("%s(name=%q, instance=%q, input=%s)", e.Kind, e.Name, e.Instance, short(e.Input))
	case ExternalSubscribed, QueueSubscribed:
		return fmt.Sprintf("%s(name=%q)", e.Kind, e.Name)
	case ExternalEvent, QueueEventDelivered:
		return fmt.Sprintf("%s(name=%q, data=%s)", e.Kind, e.Name, short(e.Data))
	case TimerCreated, TimerFired:
		return fmt.Sprintf("%s(fire_at=%d)", e.Kind, e.FireAtMs)
	case KeyValueSet:
		return fmt.Sprintf("%s(key=%q, value=%q)", e.Kind, e.Key, shortString(e.Value))
	case KeyValueCleared:
		return fmt.Sprintf("%s(key=%q)", e.Kind, e.Key)
	case SystemCall:
		return fmt.Sprintf("%s(%s)", e.Kind, e.Name)
	case ActivityCancelRequested, ExternalSubscribedCancelled, QueueSubscriptionCancelled, SubOrchestrationCancelRequested:
		return fmt.Sprintf("%s(source=%d, reason=%q)", e.Kind, e.SourceEventID, e.Reason)
	case ActivityCompleted, SubOrchestrationCompleted:
		return fmt.Sprintf("%s(source=%d)", e.Kind, e.SourceEventID)
	case ActivityFailed, SubOrchestrationFailed:
		return fmt.Sprintf("%s(source=%d)", e.Kind, e.SourceEventID)
	case OrchestrationStarted:
		return fmt.Sprintf("%s(name=%q, version=%q)", e.Kind, e.Name, e.Version)
	}
	return string(e.Kind)
}

func short(raw json.RawMessage) string {
	if len(raw) == 0 {
		return "null"
	}
	return shortString(string(raw))
}

func shortString(s string) string {
	const max = 80
	if len(s) > max {
		return s[:max] + "…"
	}
	return s
}
