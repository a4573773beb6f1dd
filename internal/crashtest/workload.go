// Package crashtest is the SIGKILL crash harness: a mixed workload of orchestrations
// (workload.go), a worker program that runs it until it is killed (worker/), and a test
// that kills and restarts that program many times and then checks that nothing was lost
// or recorded twice (crash_test.go). See README.md.
package crashtest

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/duroxide-go/duroxide"
	"github.com/duroxide-go/duroxide/yield"
)

// Names of the workload's orchestrations and activities.
const (
	// RootOrchestration is what the harness starts, once per instance.
	RootOrchestration = "CrashRoot"
	// ChildOrchestration is the sub-orchestration of every root, run inside an All.
	ChildOrchestration = "CrashChild"
	// RaiserOrchestration is started detached by every fourth root; its activity raises
	// the root's event.
	RaiserOrchestration = "CrashRaiser"

	// AddActivity returns the sum of its two inputs.
	AddActivity = "CrashAdd"
	// MulActivity returns the product of its two inputs.
	MulActivity = "CrashMul"
	// RaiseActivity raises event EventName to the root instance it is given.
	RaiseActivity = "CrashRaise"

	// EventName is the external event every root waits for (raced against a long timer).
	EventName = "go"
	// LongTimer is the timer the event races against: far longer than any run, so the
	// event always wins and the output is known in advance.
	LongTimer = time.Hour
)

// RootInput is the input of RootOrchestration (round 0) and of its continued execution
// (round 1).
type RootInput struct {
	I     int `json:"i"`
	Round int `json:"round"`
	Acc   int `json:"acc"`
}

// RootOutput is the output of RootOrchestration.
type RootOutput struct {
	I     int `json:"i"`
	Total int `json:"total"`
}

// RootID is the instance id of root i.
func RootID(i int) string { return fmt.Sprintf("crash-%04d", i) }

// RaiserID is the instance id of the detached orchestration that root i starts when
// RaisedByOrchestration(i).
func RaiserID(i int) string { return fmt.Sprintf("crash-raiser-%04d", i) }

// RaisedByOrchestration says whether root i's event is raised by a detached orchestration
// (every fourth root) rather than by the harness.
func RaisedByOrchestration(i int) bool { return i%4 == 0 }

// EventData is the payload of root i's event.
func EventData(i int) int { return 3*i + 5 }

// timerFor is the short durable timer of root i: 10 to 50 ms.
func timerFor(i int) time.Duration { return time.Duration(10+10*(i%5)) * time.Millisecond }

// Markers records every activity execution as one line appended to a file, so the
// harness can count how often each activity ran (at least once; more after a crash).
// A line is written with a single write on a file opened with O_APPEND, so lines of
// concurrent activities and of successive worker processes never interleave.
type Markers struct {
	f    *os.File
	proc string
}

// OpenMarkers opens (creating it when missing) the marker file at path for appending;
// proc names this process in every line (unique per process, even if the operating
// system reuses its id).
func OpenMarkers(path, proc string) (*Markers, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("crashtest: open marker file: %w", err)
	}
	return &Markers{f: f, proc: proc}, nil
}

// Close closes the marker file.
func (m *Markers) Close() error { return m.f.Close() }

// MarkerKey identifies one scheduled activity: the same key in several lines of the
// marker file means the activity ran several times.
func MarkerKey(instance string, execution, activityID uint64, name string) string {
	return fmt.Sprintf("%s|%d|%d|%s", instance, execution, activityID, name)
}

func (m *Markers) mark(a *duroxide.ActivityContext) error {
	line := fmt.Sprintf("executed %s proc=%s\n", MarkerKey(a.InstanceID(), a.ExecutionID(), a.ActivityID(), a.ActivityName()), m.proc)
	if _, err := m.f.WriteString(line); err != nil {
		return fmt.Errorf("crashtest: write marker: %w", err)
	}
	return nil
}

// ParseMarkers reads the content of a marker file: for each MarkerKey, the processes
// of its executions, in order. A torn last line (a process killed in the middle of a
// write) is ignored.
func ParseMarkers(content string) map[string][]string {
	runs := make(map[string][]string)
	for line := range strings.Lines(content) {
		rest, ok := strings.CutPrefix(line, "executed ")
		if !ok || !strings.HasSuffix(rest, "\n") {
			continue
		}
		key, proc, ok := strings.Cut(strings.TrimSuffix(rest, "\n"), " proc=")
		if !ok || proc == "" {
			continue
		}
		runs[key] = append(runs[key], proc)
	}
	return runs
}

// Jitter makes activities take a random 0 to max time, so that kills often land while
// activities run. It is safe for concurrent use.
type Jitter struct {
	mu  sync.Mutex
	rnd *rand.Rand
	max time.Duration
}

// NewJitter returns a Jitter seeded with seed; max <= 0 means no delay.
func NewJitter(seed uint64, max time.Duration) *Jitter {
	return &Jitter{rnd: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)), max: max}
}

func (j *Jitter) sleep(a *duroxide.ActivityContext) {
	if j == nil || j.max <= 0 {
		return
	}
	j.mu.Lock()
	d := time.Duration(j.rnd.Int64N(int64(j.max)))
	j.mu.Unlock()
	select {
	case <-time.After(d):
	case <-a.Context().Done():
	}
}

// Registrar is what Register needs of a Runtime.
type Registrar interface {
	RegisterActivity(name string, fn duroxide.Activity) error
	RegisterOrchestration(name string, fn yield.Orchestration) error
}

// Register registers the workload on rt: every activity marks its execution in markers
// (nil: not recorded) after sleeping as jitter says (nil: no delay).
func Register(rt Registrar, markers *Markers, jitter *Jitter) error {
	pair := func(in yield.Value) (int, int, error) {
		var p [2]int
		if err := in.Decode(&p); err != nil {
			return 0, 0, duroxide.NonRetryable(fmt.Errorf("crashtest: input %s: %w", in, err))
		}
		return p[0], p[1], nil
	}
	begin := func(a *duroxide.ActivityContext) error {
		jitter.sleep(a)
		if markers == nil {
			return nil
		}
		return markers.mark(a)
	}
	arith := func(op func(x, y int) int) duroxide.Activity {
		return func(a *duroxide.ActivityContext, in yield.Value) (any, error) {
			x, y, err := pair(in)
			if err != nil {
				return nil, err
			}
			if err := begin(a); err != nil {
				return nil, err
			}
			return op(x, y), nil
		}
	}
	raise := func(a *duroxide.ActivityContext, in yield.Value) (any, error) {
		var i int
		if err := in.Decode(&i); err != nil {
			return nil, duroxide.NonRetryable(fmt.Errorf("crashtest: input %s: %w", in, err))
		}
		if err := begin(a); err != nil {
			return nil, err
		}
		if err := a.Client().RaiseEvent(a.Context(), RootID(i), EventName, EventData(i)); err != nil {
			return nil, fmt.Errorf("crashtest: raise %s to %s: %w", EventName, RootID(i), err)
		}
		return i, nil
	}
	regs := []error{
		rt.RegisterActivity(AddActivity, arith(func(x, y int) int { return x + y })),
		rt.RegisterActivity(MulActivity, arith(func(x, y int) int { return x * y })),
		rt.RegisterActivity(RaiseActivity, raise),
	}
	for name, fn := range Orchestrations() {
		regs = append(regs, rt.RegisterOrchestration(name, fn))
	}
	if err := errors.Join(regs...); err != nil {
		return fmt.Errorf("crashtest: register: %w", err)
	}
	return nil
}

// Orchestrations are the workload's orchestrations by name (for registration and replay).
func Orchestrations() map[string]yield.Orchestration {
	return map[string]yield.Orchestration{
		RootOrchestration:   root,
		ChildOrchestration:  child,
		RaiserOrchestration: raiser,
	}
}

// root, round 0: an activity, a timer, a detached start (every fourth root), an All of
// two activities and a child, a race of the event against a long timer, then continue
// as new; round 1: an activity under a retry policy, a timer, and the output.
func root(ctx *yield.Ctx, in yield.Value) (any, error) {
	var p RootInput
	if err := in.Decode(&p); err != nil {
		return nil, fmt.Errorf("root input %s: %w", in, err)
	}
	i := p.I
	if p.Round == 1 {
		b, err := yield.Await[int](ctx, ctx.ScheduleActivityWithRetry(AddActivity, [2]int{p.Acc, i},
			yield.RetryPolicy{MaxAttempts: 3, Backoff: yield.BackoffFixed, BaseDelay: 10 * time.Millisecond}))
		if err != nil {
			return nil, err
		}
		if _, err := ctx.Yield(ctx.ScheduleTimer(timerFor(i + 1))); err != nil {
			return nil, err
		}
		return RootOutput{I: i, Total: b}, nil
	}
	a, err := yield.Await[int](ctx, ctx.ScheduleActivity(AddActivity, [2]int{i, 1}))
	if err != nil {
		return nil, err
	}
	if _, err := ctx.Yield(ctx.ScheduleTimer(timerFor(i))); err != nil {
		return nil, err
	}
	if RaisedByOrchestration(i) {
		if _, err := ctx.Yield(ctx.StartOrchestration(RaiserOrchestration, RaiserID(i), i)); err != nil {
			return nil, err
		}
	}
	fan, err := yield.AwaitAllOf[int](ctx,
		ctx.ScheduleActivity(MulActivity, [2]int{i, 2}),
		ctx.ScheduleActivity(MulActivity, [2]int{i, 3}),
		ctx.ScheduleSubOrchestration(ChildOrchestration, i))
	if err != nil {
		return nil, err
	}
	idx, v, err := yield.AwaitRace(ctx, ctx.WaitForEvent(EventName), ctx.ScheduleTimer(LongTimer))
	if err != nil {
		return nil, err
	}
	if idx != 0 {
		return nil, fmt.Errorf("root %d: the %s timer won the race against event %q", i, LongTimer, EventName)
	}
	var ev int
	if err := v.Decode(&ev); err != nil {
		return nil, fmt.Errorf("root %d: event data %s: %w", i, v, err)
	}
	return ctx.Yield(ctx.ContinueAsNew(RootInput{I: i, Round: 1, Acc: a + fan[0] + fan[1] + fan[2] + ev}))
}

// child: an activity, a timer, and twice the activity's result.
func child(ctx *yield.Ctx, in yield.Value) (any, error) {
	var i int
	if err := in.Decode(&i); err != nil {
		return nil, fmt.Errorf("child input %s: %w", in, err)
	}
	c, err := yield.Await[int](ctx, ctx.ScheduleActivity(AddActivity, [2]int{i, 100}))
	if err != nil {
		return nil, err
	}
	if _, err := ctx.Yield(ctx.ScheduleTimer(timerFor(i + 2))); err != nil {
		return nil, err
	}
	return 2 * c, nil
}

// raiser: one activity that raises the root's event.
func raiser(ctx *yield.Ctx, in yield.Value) (any, error) {
	return ctx.Yield(ctx.ScheduleActivity(RaiseActivity, in))
}
