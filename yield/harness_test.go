package yield

import (
	"encoding/json"
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/duroxide-go/duroxide/history"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// The harness plays the runtime's part for engine tests: it keeps the persisted history,
// feeds each turn its messages, and appends the delta. In "incremental" mode it keeps one
// Execution across turns (the runtime's instance cache); in "replay" mode it builds a new
// Execution from the persisted history every turn (a cache miss). Every scenario runs in
// both modes and the turn results must be identical.

const testInstance = "inst"

type harness struct {
	t           *testing.T
	fn          Orchestration
	opts        Options
	incremental bool
	persisted   []history.Event
	cached      *Execution
	now         int64
	results     []TurnResult
	traces      []TraceRecord
}

func newHarness(t *testing.T, fn Orchestration, incremental bool, opts Options) *harness {
	h := &harness{t: t, fn: fn, opts: opts, incremental: incremental, now: 1_000_000}
	if h.opts.InstanceID == "" {
		h.opts.InstanceID = testInstance
	}
	if h.opts.NewGUID == nil {
		n := 0
		h.opts.NewGUID = func() string {
			n++
			return fmt.Sprintf("00000000-0000-4000-8000-%012d", n)
		}
	}
	h.opts.Trace = func(r TraceRecord) { h.traces = append(h.traces, r) }
	if h.opts.AbandonGrace == 0 {
		h.opts.AbandonGrace = 2 * time.Second
	}
	return h
}

// turn runs one turn with msgs and returns its result.
func (h *harness) turn(msgs ...history.Message) TurnResult {
	h.t.Helper()
	h.now += 1000
	in := TurnInput{Messages: msgs, NowMs: h.now}
	var res TurnResult
	if h.incremental {
		if h.cached == nil {
			h.cached = NewExecution(h.fn, h.opts)
			in.History = h.persisted
		}
		res = h.cached.Turn(in)
		if res.Outcome.IsTerminal() {
			h.cached.Close()
		}
	} else {
		ex := NewExecution(h.fn, h.opts)
		in.History = h.persisted
		res = ex.Turn(in)
		ex.Close()
	}
	h.persisted = append(h.persisted, res.Delta...)
	h.results = append(h.results, res)
	return res
}

func (h *harness) close() {
	if h.cached != nil {
		h.cached.Close()
	}
}

// bothModes runs script in incremental and in replay mode, checks that every turn gave
// the same result, that traces agree, and that no goroutine survives. It returns the
// incremental run's harness for further assertions.
func bothModes(t *testing.T, fn Orchestration, opts Options, script func(h *harness)) *harness {
	t.Helper()
	base := runtime.NumGoroutine()
	inc := newHarness(t, fn, true, opts)
	script(inc)
	inc.close()
	rep := newHarness(t, fn, false, opts)
	script(rep)
	rep.close()
	if diff := cmp.Diff(inc.results, rep.results, resultCmp...); diff != "" {
		t.Fatalf("incremental and full replay differ (-incremental +replay):\n%s", diff)
	}
	if diff := cmp.Diff(inc.traces, rep.traces); diff != "" {
		t.Fatalf("traces differ between incremental and full replay (-incremental +replay):\n%s", diff)
	}
	waitGoroutines(t, base)
	return inc
}

var resultCmp = []cmp.Option{
	cmp.Comparer(func(a, b Value) bool { return a.Equal(b) }),
	cmp.Comparer(func(a, b json.RawMessage) bool { return RawValue(a).Equal(RawValue(b)) }),
	cmpopts.IgnoreFields(history.ErrorDetails{}, "Stack"),
}

// waitGoroutines waits until the goroutine count is back to base.
func waitGoroutines(t *testing.T, base int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > base {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<16)
			n := runtime.Stack(buf, true)
			t.Fatalf("goroutines leaked: %d > %d\n%s", runtime.NumGoroutine(), base, buf[:n])
		}
		time.Sleep(time.Millisecond)
	}
}

// Message builders.

func startMsg(name string, input any) history.Message {
	return history.Message{Kind: history.MsgStartOrchestration, Instance: testInstance, Name: name, Version: "1.0.0", Input: raw(input), ExecutionID: 1}
}

func actDone(id uint64, result any) history.Message {
	return history.Message{Kind: history.MsgActivityCompleted, Instance: testInstance, ExecutionID: 1, ID: id, Result: raw(result)}
}

func actFailed(id uint64, msg string) history.Message {
	return history.Message{Kind: history.MsgActivityFailed, Instance: testInstance, ExecutionID: 1, ID: id, Error: history.Application(history.KindActivityFailed, msg)}
}

func timerFired(id uint64) history.Message {
	return history.Message{Kind: history.MsgTimerFired, Instance: testInstance, ExecutionID: 1, ID: id}
}

func raised(name string, data any) history.Message {
	return history.Message{Kind: history.MsgExternalRaised, Instance: testInstance, Name: name, Data: raw(data)}
}

func enqueued(name string, data any) history.Message {
	return history.Message{Kind: history.MsgQueueMessage, Instance: testInstance, Name: name, Data: raw(data)}
}

func childDone(id uint64, result any) history.Message {
	return history.Message{Kind: history.MsgSubOrchCompleted, Instance: testInstance, ExecutionID: 1, ID: id, Result: raw(result)}
}

func childFailed(id uint64, d *history.ErrorDetails) history.Message {
	return history.Message{Kind: history.MsgSubOrchFailed, Instance: testInstance, ExecutionID: 1, ID: id, Error: d}
}

func cancelMsg(reason string) history.Message {
	return history.Message{Kind: history.MsgCancelInstance, Instance: testInstance, Reason: reason}
}

func raw(v any) json.RawMessage {
	if v == nil {
		return nil
	}
	val, err := ValueOf(v)
	if err != nil {
		panic(err)
	}
	return val.payload()
}

// kinds lists the kinds of events, for compact assertions.
func kinds(evs []history.Event) string {
	var b strings.Builder
	for i, e := range evs {
		if i > 0 {
			b.WriteString(" ")
		}
		fmt.Fprintf(&b, "%d:%s", e.EventID, e.Kind)
	}
	return b.String()
}

// mustOutcome fails unless res has outcome o.
func mustOutcome(t *testing.T, res TurnResult, o Outcome) {
	t.Helper()
	if res.Outcome != o {
		msg := ""
		if res.Error != nil {
			msg = res.Error.DisplayMessage()
		}
		t.Fatalf("outcome = %v (%s), want %v; delta %s", res.Outcome, msg, o, kinds(res.Delta))
	}
}

// mustFail fails unless res failed with a message containing want.
func mustFail(t *testing.T, res TurnResult, want string) {
	t.Helper()
	mustOutcome(t, res, OutcomeFailed)
	if got := res.Error.DisplayMessage(); !strings.Contains(got, want) {
		t.Fatalf("failure %q does not contain %q", got, want)
	}
}

// mustOutput fails unless res completed with output JSON want.
func mustOutput(t *testing.T, res TurnResult, want string) {
	t.Helper()
	mustOutcome(t, res, OutcomeCompleted)
	if got := string(res.Output.Raw()); got != want {
		t.Fatalf("output = %s, want %s", got, want)
	}
}
