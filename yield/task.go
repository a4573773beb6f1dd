package yield

import (
	"errors"
	"fmt"
	"time"

	"github.com/duroxide-go/duroxide/history"
)

// SysGetKVActivity is the reserved activity name behind GetKVValueFromInstance; the
// runtime serves it, and user activities cannot take a name with the reserved prefix.
const (
	ReservedPrefix   = "__duroxide_syscall:"
	SysGetKVActivity = ReservedPrefix + "get_kv_value"
)

type taskKind uint8

const (
	kindActivity taskKind = iota + 1
	kindTimer
	kindWaitEvent
	kindDequeue
	kindSubOrchestration
	kindDetached
	kindUtcNow
	kindNewGUID
	kindContinueAsNew
	kindAll
	kindRace
	kindBlock
)

func (k taskKind) String() string {
	switch k {
	case kindActivity:
		return "activity"
	case kindTimer:
		return "timer"
	case kindWaitEvent:
		return "wait for event"
	case kindDequeue:
		return "dequeue event"
	case kindSubOrchestration:
		return "sub-orchestration"
	case kindDetached:
		return "detached orchestration start"
	case kindUtcNow:
		return "utc now"
	case kindNewGUID:
		return "new guid"
	case kindContinueAsNew:
		return "continue as new"
	case kindAll:
		return "all"
	case kindRace:
		return "race"
	case kindBlock:
		return "block"
	}
	return "invalid task"
}

// taskDesc is what a Task describes. It is immutable once built: WithTag copies it.
type taskDesc struct {
	kind      taskKind
	name      string // activity, event, queue or orchestration name
	input     Value
	version   string // requested orchestration version; empty means latest
	instance  string // explicit child or detached instance id
	sessionID string
	tag       string
	delay     time.Duration
	retry     *RetryPolicy // activities with a retry policy run as a block
	children  []Task
	block     func(ctx *Ctx) (any, error)
	err       error // a construction error, reported when the task is yielded
}

// Task describes durable work: an activity, a timer, a wait, a child orchestration, a
// composition of tasks, or a block of orchestration code. Building a Task does nothing;
// the work is scheduled when the Task is yielded, alone or inside All or Race. Yielding
// the same Task twice schedules the work twice. The zero Task is invalid.
type Task struct {
	d *taskDesc
}

// WithTag routes an activity to workers that accept tag. It returns a new Task and applies
// only to activities (with or without retry: every attempt keeps the tag); on any other
// task, yielding it fails. A tag longer than history.MaxTagBytes (256 bytes) is invalid
// too: yielding the task fails with an error wrapping ErrInvalidTask, "Activity '<name>'
// tag size (<n> bytes) exceeds limit (256 bytes)", and schedules nothing, so orchestration
// code sees the mistake where it made it (returning the error fails the orchestration with
// that message). An empty tag leaves the activity untagged.
func (t Task) WithTag(tag string) Task {
	if t.d == nil {
		return t
	}
	d := *t.d
	if d.kind != kindActivity && !(d.kind == kindBlock && d.retry != nil) {
		d.err = fmt.Errorf("yield: WithTag(%q) on a %s task: only activities take a tag", tag, d.kind)
	} else if len(tag) > history.MaxTagBytes {
		if d.err == nil {
			d.err = fmt.Errorf("Activity '%s' tag size (%d bytes) exceeds limit (%d bytes)", d.name, len(tag), history.MaxTagBytes)
		}
	} else {
		d.tag = tag
	}
	return Task{d: &d}
}

// Kind names what the task does ("activity", "timer", "all", ...), for logs and errors.
func (t Task) Kind() string {
	if t.d == nil {
		return "nil task"
	}
	return t.d.kind.String()
}

// IsZero reports whether t is the zero Task.
func (t Task) IsZero() bool { return t.d == nil }

// ErrInvalidTask is wrapped by Yield errors for tasks that cannot be scheduled as built:
// a nil task, an input that does not encode, ContinueAsNew inside All or Race, and so on.
var ErrInvalidTask = errors.New("yield: invalid task")

func newTask(d taskDesc) Task { return Task{d: &d} }

func inputTask(kind taskKind, name string, input any, d taskDesc) Task {
	d.kind = kind
	d.name = name
	v, err := ValueOf(input)
	if err != nil {
		d.err = fmt.Errorf("%s %q: input: %w", kind, name, err)
	}
	d.input = v
	return newTask(d)
}

// ScheduleActivity describes a call of the activity name with input.
func (c *Ctx) ScheduleActivity(name string, input any) Task {
	return inputTask(kindActivity, name, input, taskDesc{})
}

// ScheduleActivityOnSession describes an activity call routed to the worker that owns session.
func (c *Ctx) ScheduleActivityOnSession(name string, input any, session string) Task {
	t := inputTask(kindActivity, name, input, taskDesc{sessionID: session})
	if session == "" && t.d.err == nil {
		t.d.err = fmt.Errorf("activity %q: empty session id", name)
	}
	return t
}

// ScheduleActivityWithRetry describes an activity call retried under policy. Every
// attempt and back-off wait is recorded in history like any activity and timer.
func (c *Ctx) ScheduleActivityWithRetry(name string, input any, policy RetryPolicy) Task {
	return c.retryTask(name, input, policy, "")
}

// ScheduleActivityWithRetryOnSession is ScheduleActivityWithRetry with every attempt
// routed to the worker that owns session.
func (c *Ctx) ScheduleActivityWithRetryOnSession(name string, input any, policy RetryPolicy, session string) Task {
	t := c.retryTask(name, input, policy, session)
	if session == "" && t.d.err == nil {
		t.d.err = fmt.Errorf("activity %q: empty session id", name)
	}
	return t
}

func (c *Ctx) retryTask(name string, input any, policy RetryPolicy, session string) Task {
	p := policy
	t := inputTask(kindBlock, name, input, taskDesc{sessionID: session, retry: &p})
	if err := policy.validate(); err != nil && t.d.err == nil {
		t.d.err = fmt.Errorf("activity %q: %w", name, err)
	}
	return t
}

// ScheduleTimer describes a durable timer that fires after d (0 or less fires at once,
// still through the store). Its result is null.
func (c *Ctx) ScheduleTimer(d time.Duration) Task {
	if d < 0 {
		d = 0
	}
	return newTask(taskDesc{kind: kindTimer, delay: d})
}

// WaitForEvent describes a wait for the next event raised with name. Events are kept
// in arrival order: the k-th active wait on a name receives the k-th event of that
// name, also when it arrived before the wait.
func (c *Ctx) WaitForEvent(name string) Task {
	return newTask(taskDesc{kind: kindWaitEvent, name: name})
}

// DequeueEvent describes taking the oldest message of the queue name (FIFO). Unconsumed
// messages are carried across ContinueAsNew.
func (c *Ctx) DequeueEvent(queue string) Task {
	return newTask(taskDesc{kind: kindDequeue, name: queue})
}

// ScheduleSubOrchestration describes a child orchestration with an automatic instance id
// (<parent>::sub::<event id>); its result is the child's output.
func (c *Ctx) ScheduleSubOrchestration(name string, input any) Task {
	return inputTask(kindSubOrchestration, name, input, taskDesc{})
}

// ScheduleSubOrchestrationWithID describes a child orchestration with the instance id id.
func (c *Ctx) ScheduleSubOrchestrationWithID(name, id string, input any) Task {
	return childTask(name, "", id, input)
}

// ScheduleSubOrchestrationVersioned describes a child orchestration pinned to version.
func (c *Ctx) ScheduleSubOrchestrationVersioned(name, version string, input any) Task {
	return inputTask(kindSubOrchestration, name, input, taskDesc{version: version})
}

// ScheduleSubOrchestrationVersionedWithID describes a child pinned to version with instance id id.
func (c *Ctx) ScheduleSubOrchestrationVersionedWithID(name, version, id string, input any) Task {
	return childTask(name, version, id, input)
}

func childTask(name, version, id string, input any) Task {
	t := inputTask(kindSubOrchestration, name, input, taskDesc{version: version, instance: id})
	if id == "" && t.d.err == nil {
		t.d.err = fmt.Errorf("sub-orchestration %q: empty instance id", name)
	}
	return t
}

// StartOrchestration describes a detached (fire-and-forget) start of instance id. It
// resolves at once to null; the started instance has no parent.
func (c *Ctx) StartOrchestration(name, id string, input any) Task {
	return c.StartOrchestrationVersioned(name, "", id, input)
}

// StartOrchestrationVersioned is StartOrchestration pinned to version.
func (c *Ctx) StartOrchestrationVersioned(name, version, id string, input any) Task {
	t := inputTask(kindDetached, name, input, taskDesc{version: version, instance: id})
	if id == "" && t.d.err == nil {
		t.d.err = fmt.Errorf("start orchestration %q: empty instance id", name)
	}
	return t
}

// UtcNow describes reading the orchestration's deterministic clock: an integer of Unix
// milliseconds, recorded in history so replay returns the same value.
func (c *Ctx) UtcNow() Task { return newTask(taskDesc{kind: kindUtcNow}) }

// NewGUID describes making a new 36-character GUID string, recorded in history.
func (c *Ctx) NewGUID() Task { return newTask(taskDesc{kind: kindNewGUID}) }

// ContinueAsNew describes ending this execution and starting a fresh one with input
// (and the latest registered version). Yielding it never returns. It cannot be used
// inside All, Race or a block.
func (c *Ctx) ContinueAsNew(input any) Task {
	return c.ContinueAsNewVersioned(input, "")
}

// ContinueAsNewVersioned is ContinueAsNew pinned to version; empty means latest.
func (c *Ctx) ContinueAsNewVersioned(input any, version string) Task {
	return inputTask(kindContinueAsNew, "", input, taskDesc{version: version})
}

// All describes waiting for every task. Its result is a JSON array in argument order,
// one {"ok": value} or {"err": "message"} per task; it fails only for a structural
// problem. All() with no tasks gives [].
func (c *Ctx) All(tasks ...Task) Task {
	return newTask(taskDesc{kind: kindAll, children: append([]Task(nil), tasks...)})
}

// Race describes waiting for the first of a and b. Its result is
// {"index": 0|1, "value": winner's value}, where a failed winner's value is its error
// message. The loser is cancelled with everything it started.
func (c *Ctx) Race(a, b Task) Task {
	return newTask(taskDesc{kind: kindRace, children: []Task{a, b}})
}

// Block describes a multi-step branch of orchestration code, run on its own coroutine
// with its own ctx (use that ctx, not the outer one, inside fn). Its result is fn's
// return value; an error fails the task. Blocks nest inside All and Race.
func (c *Ctx) Block(fn func(ctx *Ctx) (any, error)) Task {
	if fn == nil {
		return newTask(taskDesc{kind: kindBlock, err: errors.New("block: nil function")})
	}
	return newTask(taskDesc{kind: kindBlock, block: fn})
}

// GetKVValueFromInstance describes reading key from the KV store of another instance. Its
// result is the value as a JSON string, or null when absent; replay returns the value
// read the first time.
func (c *Ctx) GetKVValueFromInstance(instanceID, key string) Task {
	return inputTask(kindActivity, SysGetKVActivity, map[string]string{"instance_id": instanceID, "key": key}, taskDesc{})
}
