package yield

import (
	"crypto/rand"
	"fmt"
	"slices"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/duroxide-go/duroxide/history"
)

// Options configure an Execution.
type Options struct {
	// InstanceID is the instance the execution belongs to. Required.
	InstanceID string
	// Version is the resolved orchestration version written to OrchestrationStarted of a
	// new execution; empty takes the start message's version.
	Version string
	// KV is the instance's KV store as of the end of the previous execution.
	KV map[string]KVEntry
	// MaxHistoryEvents caps the events of one execution; 0 means 50,000.
	MaxHistoryEvents int
	// MaxPayloadBytes caps a task input and the orchestration output; 0 means 16 MiB.
	// A larger input fails the Yield (ErrInvalidTask), a larger output the orchestration.
	MaxPayloadBytes int
	// StepBudget caps the new scheduling events one turn records; past it the turn ends
	// with HasMoreWork so the runtime commits and continues in a fresh turn. 0 means 10,000.
	StepBudget int
	// AbandonGrace bounds how long deferred calls of an abandoned coroutine may run;
	// 0 means 5 s.
	AbandonGrace time.Duration
	// StuckTimeout bounds how long orchestration code may run between two yields; code
	// that neither yields nor returns in time fails the execution (infrastructure
	// category, kind stuck_code, with the coroutine's stack) and its goroutine is
	// abandoned (Stuck counts it). 0 means no bound.
	StuckTimeout time.Duration
	// NewGUID makes GUIDs for NewGUID; nil means random version-4 UUIDs.
	NewGUID func() string
	// Trace receives the trace lines of orchestration code written while not replaying.
	Trace func(TraceRecord)
}

// KVEntry is one key of an instance's KV store with the time it was last written.
type KVEntry = history.KVEntry

// TurnInput is what one turn consumes.
type TurnInput struct {
	// History holds persisted events the Execution has not seen: the whole history of the
	// execution for a new Execution, nothing for one kept from the previous turn.
	History []history.Event
	// Messages are the new orchestrator-queue messages for the instance, in queue order.
	Messages []history.Message
	// NowMs is the turn's time in Unix milliseconds. The engine reads no clock: this is
	// the time recorded in the new events, and the base of new timers.
	NowMs int64
	// Fail, when set, fails the execution with these details without running its code
	// or recording the messages (a start message still creates the history): the runtime
	// uses it for poison batches. In-flight work is cancelled and the parent told.
	Fail *history.ErrorDetails
}

// Outcome is how a turn left the execution.
type Outcome int

// The turn outcomes.
const (
	// OutcomeContinue: the execution waits for more messages.
	OutcomeContinue Outcome = iota
	// OutcomeCompleted: the orchestration returned; Output holds its result.
	OutcomeCompleted
	// OutcomeFailed: the orchestration failed; Error holds why.
	OutcomeFailed
	// OutcomeContinuedAsNew: a new execution starts with Output as input.
	OutcomeContinuedAsNew
	// OutcomeCancelled: the instance was cancelled; Error holds the Cancelled details.
	OutcomeCancelled
)

func (o Outcome) String() string {
	switch o {
	case OutcomeContinue:
		return "Continue"
	case OutcomeCompleted:
		return "Completed"
	case OutcomeFailed:
		return "Failed"
	case OutcomeContinuedAsNew:
		return "ContinuedAsNew"
	case OutcomeCancelled:
		return "Cancelled"
	}
	return "Outcome(" + strconv.Itoa(int(o)) + ")"
}

// IsTerminal reports whether the outcome ends the execution.
func (o Outcome) IsTerminal() bool { return o != OutcomeContinue }

// TurnResult is what one turn produces. The runtime commits it atomically: append Delta,
// send Messages, queue Activities, withdraw CancelledActivities.
type TurnResult struct {
	Outcome Outcome
	// Delta are the events to append to the execution's history, in order.
	Delta []history.Event
	// Output is the orchestration's output (Completed) or the next input (ContinuedAsNew).
	Output Value
	// Error says why the execution failed or was cancelled.
	Error *history.ErrorDetails
	// Messages for orchestrator queues: timers (due at FireAtMs), child and detached
	// starts, cancels of children, the report to a parent, ContinueAsNew, Continue.
	Messages []history.Message
	// Activities to queue for workers.
	Activities []history.ActivityWork
	// CancelledActivities are queued or running activities the execution no longer needs.
	CancelledActivities []history.ActivityRef
	// CustomStatus is the custom status after the turn; CustomStatusChanged says whether
	// the turn recorded a change.
	CustomStatus        *string
	CustomStatusChanged bool
	// HasMoreWork: the turn stopped at its step budget with code still runnable; a
	// Continue message to the instance is among Messages.
	HasMoreWork bool
}

// Execution replays and runs one execution of one orchestration instance. A runtime may
// keep it between turns and feed it only new messages, or build a new one each turn from
// the persisted history; both give the same results. Close it when dropping it.
type Execution struct {
	fn   Orchestration
	opts Options

	instanceID  string
	executionID uint64
	name        string
	version     string
	started     *history.Event // a copy of OrchestrationStarted

	events      []history.Event
	schedIdx    []int // indices of scheduling events in history order
	nextSched   int   // scheduling events matched by code so far
	schedSeen   int   // scheduling events passed by the apply loop
	lastMatched int   // index of the last scheduling event matched
	cursor      int   // index of the next event to apply
	persisted   int   // events persisted before this turn
	nextID      uint64
	byID        map[uint64]*schedule

	main     *routine
	live     []*routine
	runnable []*routine
	current  atomic.Pointer[routine] // the routine holding control; atomic as foreign goroutines read it
	foreign  atomic.Bool             // a goroutine the code started called Yield
	races    []*node                 // races with a finished child, waiting for their branches to settle

	mail         map[mailKey]*mailbox
	kv           map[string]KVEntry
	customStatus *string

	nowMs     int64
	clockMs   int64
	replaying bool

	returned bool
	retValue Value
	retErr   error
	can      *Task
	cancel   *string // the cancel request reached by the apply loop
	cancelAt *string // the cancel request recorded in this execution, applied or not
	abort    *history.ErrorDetails
	finished bool

	turnScheds []*schedule // schedules created this turn (their newInTurn is set)
	newSched   int
	paused     bool
	out        turnOut
	stranded   int
	stuck      int
}

// schedule tracks one scheduling event that can complete or be cancelled.
type schedule struct {
	index       int
	kind        history.EventKind
	node        *node
	completions int  // completion events recorded in history
	cancelled   bool // a cancel breadcrumb is recorded
	delivered   bool // a completion was applied
	newInTurn   int  // index+1 into turnOut lists when created this turn, else 0
}

type turnOut struct {
	messages   []history.Message
	activities []history.ActivityWork
	cancelled  []history.ActivityRef
	dropped    map[int]bool // indices of messages withdrawn in the same turn
	droppedAct map[int]bool
}

// NewExecution prepares an execution of fn. Nothing runs until the first Turn.
func NewExecution(fn Orchestration, opts Options) *Execution {
	ex := &Execution{
		fn:          fn,
		opts:        opts,
		instanceID:  opts.InstanceID,
		byID:        make(map[uint64]*schedule),
		mail:        make(map[mailKey]*mailbox),
		kv:          make(map[string]KVEntry, len(opts.KV)),
		nextID:      1,
		lastMatched: -1,
	}
	for k, e := range opts.KV {
		ex.kv[k] = e
	}
	return ex
}

func (ex *Execution) maxHistory() int {
	if ex.opts.MaxHistoryEvents > 0 {
		return ex.opts.MaxHistoryEvents
	}
	return DefaultMaxHistory
}

func (ex *Execution) maxPayload() int {
	if ex.opts.MaxPayloadBytes > 0 {
		return ex.opts.MaxPayloadBytes
	}
	return DefaultMaxPayloadBytes
}

func (ex *Execution) stepBudget() int {
	if ex.opts.StepBudget > 0 {
		return ex.opts.StepBudget
	}
	return 10_000
}

// Finished reports whether the execution reached a terminal outcome; later turns are no-ops.
func (ex *Execution) Finished() bool { return ex.finished }

// HistoryLen is the number of events the Execution holds (persisted plus the last delta).
func (ex *Execution) HistoryLen() int { return len(ex.events) }

// LastEventID is the id of the last event the Execution holds, 0 when empty. A runtime
// keeping the Execution between turns compares it with the store's to detect staleness.
func (ex *Execution) LastEventID() uint64 {
	if len(ex.events) == 0 {
		return 0
	}
	return ex.events[len(ex.events)-1].EventID
}

// ExecutionID is the execution's number, known once its first event is seen.
func (ex *Execution) ExecutionID() uint64 { return ex.executionID }

// Stranded counts coroutines that did not unwind within AbandonGrace (their goroutines
// leaked because a deferred call blocked).
func (ex *Execution) Stranded() int { return ex.stranded }

// Stuck counts coroutines abandoned because they neither yielded nor returned within
// Options.StuckTimeout; their goroutines keep running until the code yields or returns.
func (ex *Execution) Stuck() int { return ex.stuck }

// Close unwinds every coroutine of the execution. Deferred calls in orchestration code
// run; the Execution must not be used afterwards.
func (ex *Execution) Close() {
	ex.abandonAll()
	ex.finished = true
}

// Turn runs one turn: it records the new messages as events, replays and runs the code
// until every coroutine waits, and returns the delta, the work to send and the outcome.
func (ex *Execution) Turn(in TurnInput) TurnResult {
	ex.out = turnOut{dropped: map[int]bool{}, droppedAct: map[int]bool{}}
	for _, s := range ex.turnScheds {
		s.newInTurn = 0
	}
	ex.turnScheds = ex.turnScheds[:0]
	ex.nowMs = in.NowMs
	ex.newSched = 0
	ex.paused = false
	ex.events = slices.Grow(ex.events, len(in.History)+2*len(in.Messages)+8)
	for _, e := range in.History {
		ex.appendEvent(e)
		if e.Kind.IsTerminal() {
			ex.finished = true
		}
	}
	ex.persisted = len(ex.events)
	if ex.finished {
		ex.finished = true
		return TurnResult{Outcome: OutcomeContinue, CustomStatus: ex.customStatus}
	}
	if in.Fail != nil {
		if len(ex.events) == 0 {
			for _, m := range in.Messages {
				if m.IsStart() {
					ex.startEvent(m)
					break
				}
			}
		}
		ex.fail(in.Fail)
		return ex.finish()
	}
	ex.prep(in.Messages)
	if ex.abort == nil {
		ex.validateStart()
	}
	if ex.abort == nil {
		ex.run()
	}
	return ex.finish()
}

func (ex *Execution) validateStart() {
	switch {
	case len(ex.events) == 0:
		ex.fail(history.CorruptHistory("empty"))
	case ex.events[0].Kind != history.OrchestrationStarted:
		ex.fail(history.CorruptHistory("first event must be OrchestrationStarted, found " + ex.events[0].String()))
	}
}

// appendEvent adds an event to the working history and indexes it.
func (ex *Execution) appendEvent(e history.Event) int {
	idx := len(ex.events)
	ex.events = append(ex.events, e)
	if e.EventID >= ex.nextID {
		ex.nextID = e.EventID + 1
	}
	switch e.Kind {
	case history.OrchestrationCancelRequested:
		if ex.cancelAt == nil {
			r := e.Reason
			ex.cancelAt = &r
		}
	case history.OrchestrationStarted:
		if ex.started == nil {
			started := e
			ex.started = &started
			ex.executionID = e.ExecutionID
			ex.name, ex.version = e.Name, e.Version
			if ex.instanceID == "" {
				ex.instanceID = e.InstanceID
			}
		}
	case history.ActivityScheduled, history.TimerCreated, history.SubOrchestrationScheduled,
		history.ExternalSubscribed, history.QueueSubscribed:
		ex.byID[e.EventID] = &schedule{index: idx, kind: e.Kind}
	case history.ActivityCompleted, history.ActivityFailed, history.TimerFired,
		history.SubOrchestrationCompleted, history.SubOrchestrationFailed:
		if s := ex.byID[e.SourceEventID]; s != nil {
			s.completions++
		}
	case history.ActivityCancelRequested, history.SubOrchestrationCancelRequested,
		history.ExternalSubscribedCancelled, history.QueueSubscriptionCancelled:
		if s := ex.byID[e.SourceEventID]; s != nil {
			s.cancelled = true
		}
	}
	if e.Kind.IsScheduling() {
		ex.schedIdx = append(ex.schedIdx, idx)
	}
	return idx
}

// newEvent stamps and appends an event created in this turn.
func (ex *Execution) newEvent(e history.Event) int {
	e.EventID = ex.nextID
	e.InstanceID = ex.instanceID
	e.ExecutionID = ex.executionID
	e.TimestampMs = ex.nowMs
	return ex.appendEvent(e)
}

// fail aborts the turn with details; the first failure wins.
func (ex *Execution) fail(d *history.ErrorDetails) {
	if ex.abort == nil {
		ex.abort = d
	}
}

func (ex *Execution) nondeterminism(format string, args ...any) {
	ex.fail(history.Nondeterminism(fmt.Sprintf(format, args...)))
}

func (ex *Execution) failLimit(msg string) {
	ex.fail(history.Application(history.KindOrchestrationFailed, msg))
}

// prep turns the batch's messages into events (stage 1 of a turn).
func (ex *Execution) prep(msgs []history.Message) {
	if len(ex.events) == 0 {
		for _, m := range msgs {
			if m.IsStart() {
				ex.startEvent(m)
				break
			}
		}
		if len(ex.events) == 0 {
			return // validateStart reports the empty history
		}
	}
	for _, m := range msgs {
		switch m.Kind {
		case history.MsgActivityCompleted, history.MsgActivityFailed:
			ex.prepCompletion(m, history.ActivityScheduled, "activity")
		case history.MsgTimerFired:
			ex.prepCompletion(m, history.TimerCreated, "timer")
		case history.MsgSubOrchCompleted, history.MsgSubOrchFailed:
			ex.prepCompletion(m, history.SubOrchestrationScheduled, "suborchestration")
		case history.MsgExternalRaised:
			ex.newEvent(history.Event{Kind: history.ExternalEvent, Name: m.Name, Data: m.Data})
		case history.MsgQueueMessage:
			ex.newEvent(history.Event{Kind: history.QueueEventDelivered, Name: m.Name, Data: m.Data})
		case history.MsgCancelInstance:
			if ex.cancelAt == nil {
				ex.newEvent(history.Event{Kind: history.OrchestrationCancelRequested, Reason: m.Reason})
			}
		}
	}
}

func (ex *Execution) startEvent(m history.Message) {
	ex.executionID = 1
	if m.Kind == history.MsgContinueAsNew {
		ex.executionID = m.ExecutionID + 1
	}
	if ex.instanceID == "" {
		ex.instanceID = m.Instance
	}
	version := ex.opts.Version
	if version == "" {
		version = m.Version
	}
	ex.newEvent(history.Event{
		Kind: history.OrchestrationStarted, Name: m.Name, Version: version, Input: m.Input,
		ParentInstance: m.ParentInstance, ParentExecutionID: m.ParentExecutionID, ParentEventID: m.ParentEventID,
		CarryForward: m.CarryForward, InitialCustomStatus: m.InitialCustomStatus,
	})
	for _, c := range m.CarryForward {
		kind := history.ExternalEvent
		if c.Queue {
			kind = history.QueueEventDelivered
		}
		ex.newEvent(history.Event{Kind: kind, Name: c.Name, Data: c.Data})
	}
}

// prepCompletion records a completion message unless it is stale or a duplicate, and
// checks that it answers a schedule of the right kind.
func (ex *Execution) prepCompletion(m history.Message, want history.EventKind, what string) {
	if m.ExecutionID != ex.executionID {
		return // for another execution of this instance: stale, dropped
	}
	s := ex.byID[m.ID]
	if s == nil {
		if what == "activity" {
			ex.nondeterminism("no matching schedule for completion id=%d", m.ID)
		} else {
			ex.nondeterminism("no matching schedule for %s id=%d", what, m.ID)
		}
		return
	}
	if s.kind != want {
		ex.nondeterminism("completion kind mismatch for id=%d, expected '%s', got '%s'", m.ID, scheduleWhat(s.kind), what)
		return
	}
	if s.completions > 0 {
		return // duplicate delivery (at-least-once activities): recorded once
	}
	e := history.Event{SourceEventID: m.ID}
	switch m.Kind {
	case history.MsgActivityCompleted:
		e.Kind, e.Result = history.ActivityCompleted, m.Result
	case history.MsgActivityFailed:
		e.Kind, e.Error = history.ActivityFailed, m.Error
	case history.MsgTimerFired:
		e.Kind, e.FireAtMs = history.TimerFired, m.FireAtMs
	case history.MsgSubOrchCompleted:
		e.Kind, e.Result = history.SubOrchestrationCompleted, m.Result
	case history.MsgSubOrchFailed:
		e.Kind, e.Error = history.SubOrchestrationFailed, m.Error
	}
	ex.newEvent(e)
	if e.Error != nil && e.Error.IsSystem() {
		ex.fail(e.Error) // a system failure below cascades up unchanged
	}
}

func scheduleWhat(k history.EventKind) string {
	switch k {
	case history.ActivityScheduled:
		return "activity"
	case history.TimerCreated:
		return "timer"
	case history.SubOrchestrationScheduled:
		return "suborchestration"
	}
	return string(k)
}

// run applies the history from the cursor on, running the code to quiescence after
// each event (stage 2 of a turn).
func (ex *Execution) run() {
	ex.runToQuiescence()
	for ex.cursor < len(ex.events) && !ex.stopped() {
		i := ex.cursor
		ex.cursor++
		ex.apply(i)
		ex.runToQuiescence()
	}
}

// stopped reports whether no more events should be applied.
func (ex *Execution) stopped() bool {
	return ex.abort != nil || ex.cancel != nil || ex.can != nil || ex.returned || ex.paused
}

func (ex *Execution) apply(i int) {
	e := &ex.events[i]
	ex.clockMs = e.TimestampMs
	switch k := e.Kind; {
	case k == history.OrchestrationStarted:
		if i != 0 {
			ex.fail(history.CorruptHistory(fmt.Sprintf("OrchestrationStarted at event %d is not the first event", e.EventID)))
			return
		}
		if e.InitialCustomStatus != nil {
			s := *e.InitialCustomStatus
			ex.customStatus = &s
		}
		ex.startMain(e.Input)
	case k.IsScheduling():
		ord := ex.schedSeen
		ex.schedSeen++
		if ord >= ex.nextSched {
			ex.nondeterminism("history has %s but the orchestration did not schedule it (step %d)", e, ord+1)
		}
	case k.IsCompletion():
		ex.deliver(i, e)
	case k == history.ExternalEvent:
		ex.mailbox(false, e.Name).arrive(ex, arrival{pos: i, data: RawValue(e.Data)})
	case k == history.QueueEventDelivered:
		ex.mailbox(true, e.Name).arrive(ex, arrival{pos: i, data: RawValue(e.Data)})
	case k == history.OrchestrationCancelRequested:
		r := e.Reason
		ex.cancel = &r
	}
}

// deliver applies a completion event to the task awaiting it.
func (ex *Execution) deliver(i int, e *history.Event) {
	s := ex.byID[e.SourceEventID]
	if s == nil || s.index > i || s.delivered {
		ex.nondeterminism("completion without open schedule: %s", e)
		return
	}
	if scheduleWhat(s.kind) != completionWhat(e.Kind) {
		ex.nondeterminism("completion kind mismatch for id=%d, expected '%s', got '%s'", e.SourceEventID, scheduleWhat(s.kind), completionWhat(e.Kind))
		return
	}
	s.delivered = true
	n := s.node
	if n == nil {
		ex.nondeterminism("completion %s for a schedule the orchestration did not make", e)
		return
	}
	if n.state != statePending {
		return // the task was dropped: a late completion is recorded and ignored
	}
	switch e.Kind {
	case history.ActivityCompleted, history.SubOrchestrationCompleted:
		ex.complete(n, RawValue(e.Result), nil, i)
	case history.TimerFired:
		ex.complete(n, Value{}, nil, i)
	case history.ActivityFailed, history.SubOrchestrationFailed:
		if e.Error != nil && e.Error.IsSystem() {
			ex.fail(e.Error)
			return
		}
		kind := TaskErrActivity
		if e.Kind == history.SubOrchestrationFailed {
			kind = TaskErrSubOrchestration
		}
		ex.complete(n, Value{}, taskErrorFrom(kind, e.Error), i)
	}
}

func completionWhat(k history.EventKind) string {
	switch k {
	case history.ActivityCompleted, history.ActivityFailed:
		return "activity"
	case history.TimerFired:
		return "timer"
	}
	return "suborchestration"
}

// record matches an event the code asks for against the next scheduling event of the
// history, or appends it as new when the history has no more. It returns the index of
// the event in history and false when the execution is failing.
func (ex *Execution) record(e history.Event) (int, bool) {
	if ex.abort != nil {
		return 0, false
	}
	step := ex.nextSched + 1
	if ex.nextSched < len(ex.schedIdx) {
		idx := ex.schedIdx[ex.nextSched]
		h := &ex.events[idx]
		if !matches(e, h) {
			ex.nondeterminism("step %d: orchestration %s %s, history has %s", step, verbOf(e.Kind), e.Describe(), h)
			return 0, false
		}
		ex.nextSched++
		ex.lastMatched = idx
		return idx, true
	}
	if len(ex.events) >= ex.maxHistory() {
		ex.failLimit(fmt.Sprintf("history size limit exceeded: execution %d of %q reached %d events; use ContinueAsNew", ex.executionID, ex.instanceID, ex.maxHistory()))
		return 0, false
	}
	if e.Kind == history.SubOrchestrationScheduled && e.Instance == "" {
		if ex.executionID <= 1 {
			e.Instance = fmt.Sprintf("%s::sub::%d", ex.instanceID, ex.nextID)
		} else {
			e.Instance = fmt.Sprintf("%s::sub::%d.%d", ex.instanceID, ex.executionID, ex.nextID)
		}
	}
	idx := ex.newEvent(e)
	ex.nextSched++
	ex.lastMatched = idx
	ex.newSched++
	return idx, true
}

// isNew reports whether the event at idx was created in this turn.
func (ex *Execution) isNew(idx int) bool { return idx >= ex.persisted }

// matches compares what the code asks for with a recorded scheduling event.
func matches(want history.Event, got *history.Event) bool {
	if want.Kind != got.Kind {
		return false
	}
	switch want.Kind {
	case history.ActivityScheduled:
		return want.Name == got.Name && samePayload(want.Input, got.Input) && want.SessionID == got.SessionID && want.Tag == got.Tag
	case history.ExternalSubscribed, history.QueueSubscribed, history.SystemCall:
		return want.Name == got.Name
	case history.SubOrchestrationScheduled:
		return want.Name == got.Name && samePayload(want.Input, got.Input) && (want.Instance == "" || want.Instance == got.Instance)
	case history.OrchestrationChained:
		return want.Name == got.Name && want.Instance == got.Instance && samePayload(want.Input, got.Input)
	case history.KeyValueSet:
		return want.Key == got.Key && want.Value == got.Value
	case history.KeyValueCleared:
		return want.Key == got.Key
	case history.ActivityCancelRequested, history.SubOrchestrationCancelRequested,
		history.ExternalSubscribedCancelled, history.QueueSubscriptionCancelled:
		return want.SourceEventID == got.SourceEventID
	}
	// TimerCreated matches by position (its due time depends on the clock);
	// CustomStatusUpdated and KeyValuesCleared by kind.
	return true
}

func samePayload(a, b []byte) bool {
	return RawValue(a).Equal(RawValue(b))
}

func verbOf(k history.EventKind) string {
	switch k {
	case history.ActivityCancelRequested, history.SubOrchestrationCancelRequested,
		history.ExternalSubscribedCancelled, history.QueueSubscriptionCancelled:
		return "cancelled"
	case history.CustomStatusUpdated, history.KeyValueSet, history.KeyValueCleared, history.KeyValuesCleared:
		return "recorded"
	}
	return "scheduled"
}

// finish decides the outcome and builds the turn's result.
func (ex *Execution) finish() TurnResult {
	res := TurnResult{}
	ex.foreignYield()
	switch {
	case ex.abort != nil:
		res.Outcome, res.Error = OutcomeFailed, ex.abort
	case ex.cancelAt != nil: // a recorded cancel wins even if the code returned first
		res.Outcome, res.Error = OutcomeCancelled, history.Cancelled(*ex.cancelAt)
	case ex.can != nil:
		res.Outcome, res.Output = OutcomeContinuedAsNew, ex.can.d.input
	case ex.returned && ex.retErr != nil:
		res.Outcome, res.Error = OutcomeFailed, history.Application(history.KindOrchestrationFailed, ex.retErr.Error())
	case ex.returned:
		res.Outcome, res.Output = OutcomeCompleted, ex.retValue
	default:
		res.Outcome = OutcomeContinue
	}
	if res.Outcome.IsTerminal() {
		ex.terminate(&res)
	} else if ex.paused {
		res.HasMoreWork = true
		ex.out.messages = append(ex.out.messages, history.Message{Kind: history.MsgContinue, Instance: ex.instanceID, ExecutionID: ex.executionID})
	}
	res.Delta = slices.Clone(ex.events[ex.persisted:])
	for i, m := range ex.out.messages {
		if !ex.out.dropped[i] {
			res.Messages = append(res.Messages, m)
		}
	}
	for i, a := range ex.out.activities {
		if !ex.out.droppedAct[i] {
			res.Activities = append(res.Activities, a)
		}
	}
	res.CancelledActivities = ex.out.cancelled
	res.CustomStatus = ex.customStatus
	res.CustomStatusChanged = ex.deltaHas(history.CustomStatusUpdated)
	ex.persisted = len(ex.events)
	return res
}

func (ex *Execution) deltaHas(k history.EventKind) bool {
	for i := ex.persisted; i < len(ex.events); i++ {
		if ex.events[i].Kind == k {
			return true
		}
	}
	return false
}

// terminate appends the breadcrumbs and the terminal event, reports to the parent and
// unwinds the coroutines.
func (ex *Execution) terminate(res *TurnResult) {
	ex.finished = true
	ex.abandonAll()
	if len(ex.events) == 0 || ex.started == nil {
		return // nothing to record on: the history was empty or corrupt from the start
	}
	actReason, childReason := history.ReasonTerminalCompleted, history.ReasonParentDroppedChild
	switch res.Outcome {
	case OutcomeFailed:
		actReason = history.ReasonTerminalFailed
	case OutcomeCancelled:
		actReason, childReason = history.ReasonTerminalFailed, history.ReasonParentCancelled
	case OutcomeContinuedAsNew:
		actReason = history.ReasonTerminalContinuedAsNew
	}
	ex.cancelInFlight(actReason, childReason)

	switch res.Outcome {
	case OutcomeCompleted:
		ex.newEvent(history.Event{Kind: history.OrchestrationCompleted, Output: res.Output.payload()})
	case OutcomeContinuedAsNew:
		ex.newEvent(history.Event{Kind: history.OrchestrationContinuedAsNew, Input: res.Output.payload(), Version: ex.can.d.version})
		ex.out.messages = append(ex.out.messages, history.Message{
			Kind: history.MsgContinueAsNew, Instance: ex.instanceID, ExecutionID: ex.executionID,
			Name: ex.name, Version: ex.can.d.version, Input: res.Output.payload(),
			ParentInstance: ex.started.ParentInstance, ParentExecutionID: ex.started.ParentExecutionID, ParentEventID: ex.started.ParentEventID,
			CarryForward: ex.carryForward(), InitialCustomStatus: ex.customStatus,
		})
	default:
		ex.newEvent(history.Event{Kind: history.OrchestrationFailed, Error: res.Error})
	}
	if p := ex.started; p.ParentInstance != "" && res.Outcome != OutcomeContinuedAsNew {
		m := history.Message{Instance: p.ParentInstance, ExecutionID: p.ParentExecutionID, ID: p.ParentEventID}
		if res.Outcome == OutcomeCompleted {
			m.Kind, m.Result = history.MsgSubOrchCompleted, res.Output.payload()
		} else {
			m.Kind, m.Error = history.MsgSubOrchFailed, res.Error
		}
		ex.out.messages = append(ex.out.messages, m)
	}
}

// cancelInFlight records a cancel for every activity and child still running and every
// wait still open, in event order, and sends the cancellations.
func (ex *Execution) cancelInFlight(actReason, childReason string) {
	ids := make([]uint64, 0, len(ex.byID))
	for id, s := range ex.byID {
		if s.completions == 0 && !s.cancelled {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	for _, id := range ids {
		s := ex.byID[id]
		switch s.kind {
		case history.ActivityScheduled:
			ex.newEvent(history.Event{Kind: history.ActivityCancelRequested, SourceEventID: id, Reason: actReason})
			ex.withdrawActivity(s, id)
		case history.SubOrchestrationScheduled:
			ex.newEvent(history.Event{Kind: history.SubOrchestrationCancelRequested, SourceEventID: id, Reason: actReason})
			ex.withdrawChild(s, ex.events[s.index].Instance, childReason)
		case history.ExternalSubscribed, history.QueueSubscribed:
			if s.node != nil && s.node.state == statePending {
				kind := history.ExternalSubscribedCancelled
				if s.kind == history.QueueSubscribed {
					kind = history.QueueSubscriptionCancelled
				}
				ex.newEvent(history.Event{Kind: kind, SourceEventID: id, Reason: history.ReasonTerminal})
			}
		case history.TimerCreated:
			if s.newInTurn > 0 {
				ex.out.dropped[s.newInTurn-1] = true
			}
		}
		s.cancelled = true
	}
}

// withdrawActivity stops an activity: one queued in this same turn is simply not sent;
// an earlier one is withdrawn from the worker queue (a running one sees cancellation).
func (ex *Execution) withdrawActivity(s *schedule, id uint64) {
	if s.newInTurn > 0 {
		ex.out.droppedAct[s.newInTurn-1] = true
		return
	}
	ex.out.cancelled = append(ex.out.cancelled, history.ActivityRef{Instance: ex.instanceID, ExecutionID: ex.executionID, ID: id})
}

// withdrawChild stops a child: one started in this same turn is simply not started.
func (ex *Execution) withdrawChild(s *schedule, child, reason string) {
	if s.newInTurn > 0 {
		ex.out.dropped[s.newInTurn-1] = true
		return
	}
	ex.out.messages = append(ex.out.messages, history.Message{Kind: history.MsgCancelInstance, Instance: child, Reason: reason})
}

// carryForward lists the unconsumed events and queue messages, oldest first: those
// waiting in mailboxes and those recorded after the point where the code continued as new.
func (ex *Execution) carryForward() []history.CarriedEvent {
	type item struct {
		pos int
		ev  history.CarriedEvent
	}
	var items []item
	for key, mb := range ex.mail {
		for _, a := range mb.arrivals {
			items = append(items, item{a.pos, history.CarriedEvent{Queue: key.queue, Name: key.name, Data: a.data.payload()}})
		}
	}
	for i := ex.cursor; i < len(ex.events); i++ {
		if e := &ex.events[i]; e.Kind == history.ExternalEvent || e.Kind == history.QueueEventDelivered {
			items = append(items, item{i, history.CarriedEvent{Queue: e.Kind == history.QueueEventDelivered, Name: e.Name, Data: e.Data}})
		}
	}
	slices.SortFunc(items, func(a, b item) int { return a.pos - b.pos })
	out := make([]history.CarriedEvent, len(items))
	for i, it := range items {
		out[i] = it.ev
	}
	return out
}

// newGUID makes a GUID for a NewGUID recorded in this turn.
func (ex *Execution) newGUID() string {
	if ex.opts.NewGUID != nil {
		return ex.opts.NewGUID()
	}
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails on supported platforms
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}
