package history

import "encoding/json"

// MessageKind names the kind of an orchestrator-queue message.
type MessageKind string

// The orchestrator-queue message kinds. Each is addressed to one instance (Instance).
const (
	// MsgStartOrchestration creates an instance and starts its first execution.
	MsgStartOrchestration MessageKind = "StartOrchestration"
	// MsgContinueAsNew starts the next execution of an instance.
	MsgContinueAsNew MessageKind = "ContinueAsNew"
	// MsgActivityCompleted and MsgActivityFailed report an activity outcome.
	MsgActivityCompleted MessageKind = "ActivityCompleted"
	MsgActivityFailed    MessageKind = "ActivityFailed"
	// MsgTimerFired reports that a timer is due; it is visible from FireAtMs on.
	MsgTimerFired MessageKind = "TimerFired"
	// MsgExternalRaised delivers a raised event (WaitForEvent).
	MsgExternalRaised MessageKind = "ExternalRaised"
	// MsgQueueMessage delivers a queue message (DequeueEvent).
	MsgQueueMessage MessageKind = "QueueMessage"
	// MsgSubOrchCompleted and MsgSubOrchFailed report a child's outcome to its parent.
	MsgSubOrchCompleted MessageKind = "SubOrchCompleted"
	MsgSubOrchFailed    MessageKind = "SubOrchFailed"
	// MsgCancelInstance asks an instance to cancel itself.
	MsgCancelInstance MessageKind = "CancelInstance"
	// MsgContinue asks for another turn with no new input: the previous turn stopped at
	// its step budget with work left to do.
	MsgContinue MessageKind = "Continue"
)

// Message is an item of the orchestrator queue. Kind says which fields are meaningful.
type Message struct {
	Kind MessageKind `json:"type"`
	// Instance is the addressed instance.
	Instance string `json:"instance"`
	// ExecutionID is the execution a completion belongs to (activity, timer), the first
	// execution (1) for a start, or the previous execution for ContinueAsNew. For child
	// completions it is the parent's execution id.
	ExecutionID uint64 `json:"execution,omitempty"`
	// ID is the scheduling event id a completion resolves (activity, timer, child).
	ID uint64 `json:"id,omitempty"`

	// Name and Version of the orchestration to start (Start, ContinueAsNew; empty version
	// means the latest registered), or the event / queue name (ExternalRaised, QueueMessage).
	Name    string `json:"name,omitempty"`
	Version string `json:"version,omitempty"`
	// Input of a start; Result of a completion; Data of an event or queue message.
	Input  json.RawMessage `json:"input,omitempty"`
	Result json.RawMessage `json:"result,omitempty"`
	Data   json.RawMessage `json:"data,omitempty"`
	// Error of a failed activity or child.
	Error *ErrorDetails `json:"error,omitempty"`
	// Reason of a cancel.
	Reason string `json:"reason,omitempty"`
	// FireAtMs of a timer, Unix milliseconds; the store keeps it invisible until then.
	FireAtMs int64 `json:"fire_at,omitempty"`

	// Parent link of a child start (and of a child's ContinueAsNew).
	ParentInstance    string `json:"parent_instance,omitempty"`
	ParentExecutionID uint64 `json:"parent_execution,omitempty"`
	ParentEventID     uint64 `json:"parent_event,omitempty"`
	// CarryForward and InitialCustomStatus travel with ContinueAsNew.
	CarryForward        []CarriedEvent `json:"carry_forward,omitempty"`
	InitialCustomStatus *string        `json:"initial_custom_status,omitempty"`
}

// IsStart reports whether the message starts an execution.
func (m Message) IsStart() bool {
	return m.Kind == MsgStartOrchestration || m.Kind == MsgContinueAsNew
}

// ActivityWork is an item of the worker queue: one activity execution.
type ActivityWork struct {
	Instance    string `json:"instance"`
	ExecutionID uint64 `json:"execution"`
	// ID is the ActivityScheduled event id; the completion echoes it.
	ID        uint64          `json:"id"`
	Name      string          `json:"name"`
	Input     json.RawMessage `json:"input,omitempty"`
	SessionID string          `json:"session,omitempty"`
	Tag       string          `json:"tag,omitempty"`
	// OrchestrationName and OrchestrationVersion describe the caller, for ActivityContext.
	OrchestrationName    string `json:"orchestration_name,omitempty"`
	OrchestrationVersion string `json:"orchestration_version,omitempty"`
}

// ActivityRef names one scheduled activity of one execution.
type ActivityRef struct {
	Instance    string `json:"instance"`
	ExecutionID uint64 `json:"execution"`
	ID          uint64 `json:"id"`
}
