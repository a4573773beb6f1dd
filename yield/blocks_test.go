package yield

import (
	"errors"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/duroxide-go/duroxide/history"
)

// Tests of composition (blocks inside All and Race, nesting, scheduling order) and of
// coroutine hygiene (unwinding, panics, misuse of ctx, stranded goroutines).

// blkLog records what orchestration code did, across coroutine goroutines.
type blkLog struct {
	mu    sync.Mutex
	items []string
}

func (l *blkLog) add(s string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.items = append(l.items, s)
}

func (l *blkLog) take() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := l.items
	l.items = nil
	return out
}

func (l *blkLog) all() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.items)
}

// blkSteps is a multi-step branch: activity <p>1, a timer, then activity <p>2 with the
// first result as input. It returns "r1>r2".
func blkSteps(p string) func(ctx *Ctx) (any, error) {
	return func(ctx *Ctx) (any, error) {
		a, err := ctx.Yield(ctx.ScheduleActivity(p+"1", nil))
		if err != nil {
			return nil, err
		}
		if _, err := ctx.Yield(ctx.ScheduleTimer(time.Second)); err != nil {
			return nil, err
		}
		b, err := ctx.Yield(ctx.ScheduleActivity(p+"2", a))
		if err != nil {
			return nil, err
		}
		return a.String() + ">" + b.String(), nil
	}
}

// blkDirect starts an Execution by hand (for tests that inspect it between turns).
func blkDirect(fn Orchestration, grace time.Duration, trace func(TraceRecord)) (*Execution, TurnResult) {
	ex := NewExecution(fn, Options{InstanceID: testInstance, AbandonGrace: grace, Trace: trace})
	res := ex.Turn(TurnInput{Messages: []history.Message{startMsg("Direct", nil)}, NowMs: 1_001_000})
	return ex, res
}

// ---- composition ----

func TestBlkMultiStepBlocksInAll(t *testing.T) {
	fn := protoYieldValue(func(ctx *Ctx) Task {
		return ctx.All(ctx.Block(blkSteps("A")), ctx.Block(blkSteps("B")))
	})
	bothModes(t, fn, Options{}, func(h *harness) {
		r := h.turn(startMsg("Blocks", nil))
		protoDelta(t, r, "1:OrchestrationStarted 2:ActivityScheduled(A1) 3:ActivityScheduled(B1)")
		r = h.turn(actDone(3, "b1"), actDone(2, "a1"))
		protoDelta(t, r, "4:ActivityCompleted(src=3) 5:ActivityCompleted(src=2) 6:TimerCreated 7:TimerCreated")
		r = h.turn(timerFired(7), timerFired(6))
		protoDelta(t, r, "8:TimerFired(src=7) 9:TimerFired(src=6) 10:ActivityScheduled(A2) 11:ActivityScheduled(B2)")
		if len(r.Activities) != 2 || string(r.Activities[0].Input) != `"a1"` || string(r.Activities[1].Input) != `"b1"` {
			t.Fatalf("activities %+v", r.Activities)
		}
		h.turn(actDone(11, "b2"))
		r = h.turn(actDone(10, "a2"))
		mustOutput(t, r, `[{"ok":"a1>a2"},{"ok":"b1>b2"}]`)
	})
}

func TestBlkRaceLoserBlockIsReaped(t *testing.T) {
	var log blkLog
	fn := protoYieldValue(func(ctx *Ctx) Task {
		loser := ctx.Block(func(ctx *Ctx) (any, error) {
			defer log.add("A deferred")
			a, err := ctx.Yield(ctx.ScheduleActivity("A1", nil))
			if err != nil {
				return nil, err
			}
			log.add("A got " + a.String())
			_, err = ctx.Yield(ctx.ScheduleActivity("A2", nil))
			log.add("A after A2")
			return "A", err
		})
		return ctx.Race(loser, ctx.Block(blkSteps("B")))
	})
	bothModes(t, fn, Options{}, func(h *harness) {
		r := h.turn(startMsg("Race", nil))
		protoDelta(t, r, "1:OrchestrationStarted 2:ActivityScheduled(A1) 3:ActivityScheduled(B1)")
		r = h.turn(actDone(2, "a1"), actDone(3, "b1"))
		protoDelta(t, r, "4:ActivityCompleted(src=2) 5:ActivityCompleted(src=3) 6:ActivityScheduled(A2) 7:TimerCreated")
		r = h.turn(timerFired(7))
		protoDelta(t, r, "8:TimerFired(src=7) 9:ActivityScheduled(B2)")
		log.take()
		r = h.turn(actDone(9, "b2"))
		mustOutput(t, r, `{"index":1,"value":"b1>b2"}`)
		protoDelta(t, r, "10:ActivityCompleted(src=9) 11:ActivityCancelRequested(src=6) 12:OrchestrationCompleted")
		want := []history.ActivityRef{{Instance: testInstance, ExecutionID: 1, ID: 6}}
		if fmt.Sprint(r.CancelledActivities) != fmt.Sprint(want) {
			t.Fatalf("cancelled activities %+v, want %+v", r.CancelledActivities, want)
		}
		got := log.take()
		if len(got) == 0 || got[len(got)-1] != "A deferred" || slices.Index(got, "A deferred") != len(got)-1 {
			t.Fatalf("the loser's deferred call must run exactly once, last; log %q", got)
		}
	})
	if slices.Contains(log.all(), "A after A2") {
		t.Fatal("code after the loser's Yield ran")
	}
}

func TestBlkNestedSchedulingOrder(t *testing.T) {
	// Leaves of a yielded task are recorded when it is yielded, in depth-first argument
	// order; then the blocks run one at a time in depth-first argument order, each until
	// it waits (Block1 at [0], its child Block11 at [0 1], then Block2 at [2 0]).
	fn := protoYieldValue(func(ctx *Ctx) Task {
		block1 := ctx.Block(func(ctx *Ctx) (any, error) {
			block11 := ctx.Block(func(ctx *Ctx) (any, error) {
				return ctx.Yield(ctx.ScheduleActivity("b11", nil))
			})
			return ctx.Yield(ctx.All(ctx.ScheduleActivity("b1a", nil), block11))
		})
		block2 := ctx.Block(func(ctx *Ctx) (any, error) {
			return ctx.Yield(ctx.ScheduleActivity("b2", nil))
		})
		return ctx.All(block1, ctx.ScheduleActivity("x", nil), ctx.Race(block2, ctx.ScheduleActivity("y", nil)))
	})
	bothModes(t, fn, Options{}, func(h *harness) {
		r := h.turn(startMsg("Nested", nil))
		protoDelta(t, r, "1:OrchestrationStarted 2:ActivityScheduled(x) 3:ActivityScheduled(y) 4:ActivityScheduled(b1a) 5:ActivityScheduled(b11) 6:ActivityScheduled(b2)")
		r = h.turn(actDone(6, "b2"))
		protoDelta(t, r, "7:ActivityCompleted(src=6) 8:ActivityCancelRequested(src=3)")
		if len(r.CancelledActivities) != 1 || r.CancelledActivities[0].ID != 3 {
			t.Fatalf("cancelled %+v", r.CancelledActivities)
		}
		r = h.turn(actDone(5, "b11"), actDone(4, "b1a"), actDone(2, "x"))
		mustOutput(t, r, `[{"ok":[{"ok":"b1a"},{"ok":"b11"}]},{"ok":"x"},{"ok":{"index":0,"value":"b2"}}]`)
		protoDelta(t, r, "9:ActivityCompleted(src=5) 10:ActivityCompleted(src=4) 11:ActivityCompleted(src=2) 12:OrchestrationCompleted")
	})
}

func TestBlkAllInsideRaceInsideAll(t *testing.T) {
	fn := protoYieldValue(func(ctx *Ctx) Task {
		inner := ctx.All(ctx.ScheduleActivity("A", nil), ctx.ScheduleActivity("B", nil))
		return ctx.All(ctx.Race(inner, ctx.ScheduleTimer(time.Minute)), ctx.ScheduleActivity("C", nil))
	})
	const sched = "1:OrchestrationStarted 2:ActivityScheduled(A) 3:ActivityScheduled(B) 4:TimerCreated 5:ActivityScheduled(C)"
	t.Run("inner all wins", func(t *testing.T) {
		bothModes(t, fn, Options{}, func(h *harness) {
			protoDelta(t, h.turn(startMsg("Nest", nil)), sched)
			r := h.turn(actDone(3, "b"), actDone(2, "a"))
			protoDelta(t, r, "6:ActivityCompleted(src=3) 7:ActivityCompleted(src=2)")
			r = h.turn(actDone(5, "c"))
			mustOutput(t, r, `[{"ok":{"index":0,"value":[{"ok":"a"},{"ok":"b"}]}},{"ok":"c"}]`)
		})
	})
	t.Run("timer wins", func(t *testing.T) {
		bothModes(t, fn, Options{}, func(h *harness) {
			h.turn(startMsg("Nest", nil))
			r := h.turn(actDone(2, "a"), timerFired(4), actDone(5, "c"))
			mustOutput(t, r, `[{"ok":{"index":1,"value":null}},{"ok":"c"}]`)
			protoDelta(t, r, "6:ActivityCompleted(src=2) 7:TimerFired(src=4) 8:ActivityCompleted(src=5) 9:ActivityCancelRequested(src=3) 10:OrchestrationCompleted")
			if len(r.CancelledActivities) != 1 || r.CancelledActivities[0].ID != 3 {
				t.Fatalf("cancelled %+v", r.CancelledActivities)
			}
		})
	})
}

func TestBlkBlockErrorIsAValue(t *testing.T) {
	sentinel := errors.New("sentinel")
	fn := func(ctx *Ctx, _ Value) (any, error) {
		fail := func(ctx *Ctx) (any, error) { return nil, errors.New("blk failed") }
		all, err := ctx.Yield(ctx.All(ctx.Block(fail), ctx.Block(func(*Ctx) (any, error) { return map[string]int{"k": 1}, nil })))
		if err != nil {
			return nil, err
		}
		race, err := ctx.Yield(ctx.Race(ctx.Block(fail), ctx.ScheduleTimer(time.Second)))
		if err != nil {
			return nil, err
		}
		_, direct := ctx.Yield(ctx.Block(func(*Ctx) (any, error) { return nil, fmt.Errorf("wrapped: %w", sentinel) }))
		return []any{all, race, errors.Is(direct, sentinel), direct.Error()}, nil
	}
	bothModes(t, fn, Options{}, func(h *harness) {
		r := h.turn(startMsg("Errs", nil))
		mustOutput(t, r, `[[{"err":"blk failed"},{"ok":{"k":1}}],{"index":0,"value":"blk failed"},true,"wrapped: sentinel"]`)
		// The timer lost in the turn it was created: it is not sent.
		protoDelta(t, r, "1:OrchestrationStarted 2:TimerCreated 3:OrchestrationCompleted")
		if len(r.Messages) != 0 {
			t.Fatalf("messages %s", protoMessageKinds(r))
		}
	})
}

// ---- misuse ----

func TestBlkPanicInBlockFailsOrchestration(t *testing.T) {
	t.Run("at once", func(t *testing.T) {
		fn := protoYieldValue(func(ctx *Ctx) Task {
			return ctx.All(ctx.Block(func(*Ctx) (any, error) { panic("kaboom") }), ctx.ScheduleActivity("A", nil))
		})
		bothModes(t, fn, Options{}, func(h *harness) {
			r := h.turn(startMsg("Panic", nil))
			mustFail(t, r, "orchestration panicked: kaboom")
			if r.Error.Kind != history.KindPanicked || !strings.Contains(r.Error.Stack, "blocks_test.go") {
				t.Fatalf("error details kind %q, stack:\n%s", r.Error.Kind, r.Error.Stack)
			}
			protoNoActivities(t, r)
		})
	})
	t.Run("after a step, inside a race", func(t *testing.T) {
		fn := protoYieldValue(func(ctx *Ctx) Task {
			return ctx.Race(ctx.Block(func(ctx *Ctx) (any, error) {
				if _, err := ctx.Yield(ctx.ScheduleActivity("X", nil)); err != nil {
					return nil, err
				}
				panic(errors.New("late boom"))
			}), ctx.ScheduleTimer(time.Hour))
		})
		bothModes(t, fn, Options{}, func(h *harness) {
			h.turn(startMsg("Panic", nil))
			r := h.turn(actDone(3, nil))
			mustFail(t, r, "orchestration panicked: late boom")
			if r.Error.Stack == "" {
				t.Fatal("no stack in the error details")
			}
		})
	})
}

func TestBlkOuterCtxInBlock(t *testing.T) {
	fn := func(ctx *Ctx, _ Value) (any, error) {
		_, err := ctx.Yield(ctx.Block(func(inner *Ctx) (any, error) {
			_, err := ctx.Yield(ctx.ScheduleActivity("X", nil)) // the outer ctx: wrong
			return nil, err
		}))
		if errors.Is(err, ErrWrongCtx) {
			return nil, fmt.Errorf("reported: %w", err)
		}
		return "not detected", err
	}
	bothModes(t, fn, Options{}, func(h *harness) {
		r := h.turn(startMsg("Outer", nil))
		mustFail(t, r, "reported: "+ErrWrongCtx.Error())
		protoDelta(t, r, "1:OrchestrationStarted 2:OrchestrationFailed")
	})
}

func TestBlkContinueAsNewInsideComposition(t *testing.T) {
	fn := func(ctx *Ctx, _ Value) (any, error) {
		var errs []error
		_, err := ctx.Yield(ctx.All(ctx.ContinueAsNew(1), ctx.ScheduleActivity("A", nil)))
		errs = append(errs, err)
		_, err = ctx.Yield(ctx.Race(ctx.ScheduleTimer(time.Second), ctx.ContinueAsNew(2)))
		errs = append(errs, err)
		_, err = ctx.Yield(ctx.All(ctx.Race(ctx.ScheduleTimer(time.Second), ctx.ContinueAsNew(3))))
		errs = append(errs, err)
		_, err = ctx.Yield(ctx.Block(func(ctx *Ctx) (any, error) {
			_, err := ctx.Yield(ctx.ContinueAsNew(4))
			return nil, err
		}))
		errs = append(errs, err)
		var out []string
		for _, e := range errs {
			out = append(out, fmt.Sprintf("%v|%v", errors.Is(e, ErrInvalidTask), e))
		}
		return out, nil
	}
	bothModes(t, fn, Options{}, func(h *harness) {
		r := h.turn(startMsg("CAN", nil))
		mustOutcome(t, r, OutcomeCompleted)
		protoDelta(t, r, "1:OrchestrationStarted 2:OrchestrationCompleted")
		var out []string
		if err := r.Output.Decode(&out); err != nil || len(out) != 4 {
			t.Fatalf("output %s: %v", r.Output.Raw(), err)
		}
		for i, o := range out {
			if !strings.HasPrefix(o, "true|") || !strings.Contains(o, "ContinueAsNew cannot be used inside All, Race or a block") {
				t.Errorf("case %d: %s", i, o)
			}
		}
	})
}

func TestBlkInvalidTasks(t *testing.T) {
	fn := func(ctx *Ctx, _ Value) (any, error) {
		var out []string
		for _, task := range []Task{
			{},
			ctx.ScheduleTimer(time.Second).WithTag("gpu"),
			ctx.ScheduleActivity("Send", make(chan int)),
			ctx.All(ctx.ScheduleActivity("Ok", nil), Task{}),
		} {
			_, err := ctx.Yield(task)
			out = append(out, fmt.Sprintf("%v|%v", errors.Is(err, ErrInvalidTask), err))
		}
		return out, nil
	}
	bothModes(t, fn, Options{}, func(h *harness) {
		r := h.turn(startMsg("Invalid", nil))
		mustOutcome(t, r, OutcomeCompleted)
		protoDelta(t, r, "1:OrchestrationStarted 2:OrchestrationCompleted")
		var out []string
		if err := r.Output.Decode(&out); err != nil || len(out) != 4 {
			t.Fatalf("output %s: %v", r.Output.Raw(), err)
		}
		wants := [][]string{{"zero Task"}, {"WithTag", "timer"}, {`"Send"`, "chan int"}, {"zero Task"}}
		for i, o := range out {
			if !strings.HasPrefix(o, "true|") {
				t.Errorf("case %d does not wrap ErrInvalidTask: %s", i, o)
			}
			for _, w := range wants[i] {
				if !strings.Contains(o, w) {
					t.Errorf("case %d: %s does not mention %s", i, o, w)
				}
			}
		}
	})
}

func TestBlkMainPanics(t *testing.T) {
	cases := []struct {
		name  string
		fn    Orchestration
		turns []history.Message
		want  string
	}{
		{"string", func(*Ctx, Value) (any, error) { panic("oops") }, nil, "orchestration panicked: oops"},
		{"error", func(*Ctx, Value) (any, error) { panic(fmt.Errorf("bad %s", "thing")) }, nil, "orchestration panicked: bad thing"},
		{"after an awaited activity", func(ctx *Ctx, _ Value) (any, error) {
			v, err := ctx.Yield(ctx.ScheduleActivity("A", nil))
			if err != nil {
				return nil, err
			}
			panic("after " + v.String())
		}, []history.Message{actDone(2, "a")}, "orchestration panicked: after a"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			bothModes(t, c.fn, Options{}, func(h *harness) {
				r := h.turn(startMsg("Panic", nil))
				for _, m := range c.turns {
					mustOutcome(t, r, OutcomeContinue)
					r = h.turn(m)
				}
				mustFail(t, r, c.want)
				if r.Error.Kind != history.KindPanicked || r.Error.Stack == "" {
					t.Fatalf("details %+v", r.Error)
				}
				if last := r.Delta[len(r.Delta)-1]; last.Kind != history.OrchestrationFailed {
					t.Fatalf("last event %s", last.Kind)
				}
			})
		})
	}
}

// ---- unwinding ----

func TestBlkRecoverCannotStopUnwind(t *testing.T) {
	t.Run("orchestration closed while parked", func(t *testing.T) {
		base := runtime.NumGoroutine()
		var log blkLog
		fn := func(ctx *Ctx, _ Value) (any, error) {
			defer func() { log.add(fmt.Sprintf("deferred recover=%v", recover())) }()
			log.add("before")
			_, err := ctx.Yield(ctx.ScheduleActivity("A", nil))
			log.add("after")
			return nil, err
		}
		ex, r := blkDirect(fn, 2*time.Second, nil)
		mustOutcome(t, r, OutcomeContinue)
		ex.Close()
		if got := log.all(); !slices.Equal(got, []string{"before", "deferred recover=<nil>"}) {
			t.Fatalf("log %q", got)
		}
		if ex.Stranded() != 0 {
			t.Fatalf("stranded %d", ex.Stranded())
		}
		waitGoroutines(t, base)
	})
	t.Run("race loser block", func(t *testing.T) {
		var log blkLog
		fn := protoYieldValue(func(ctx *Ctx) Task {
			return ctx.Race(ctx.Block(func(ctx *Ctx) (any, error) {
				defer func() {
					recover()
					log.add("loser deferred")
				}()
				_, err := ctx.Yield(ctx.ScheduleActivity("A", nil))
				log.add("loser after yield")
				return "loser", err
			}), ctx.ScheduleTimer(time.Second))
		})
		bothModes(t, fn, Options{}, func(h *harness) {
			h.turn(startMsg("Race", nil))
			r := h.turn(timerFired(2))
			mustOutput(t, r, `{"index":1,"value":null}`)
			protoDelta(t, r, "4:TimerFired(src=2) 5:ActivityCancelRequested(src=3) 6:OrchestrationCompleted")
		})
		got := log.all()
		if slices.Contains(got, "loser after yield") || !slices.Contains(got, "loser deferred") {
			t.Fatalf("log %q", got)
		}
	})
}

func TestBlkDeferredCtxCallsDuringUnwindAreNoops(t *testing.T) {
	t.Run("orchestration closed while parked", func(t *testing.T) {
		base := runtime.NumGoroutine()
		var log blkLog
		var traces []TraceRecord
		fn := func(ctx *Ctx, _ Value) (any, error) {
			defer func() {
				ctx.TraceInfo("in defer")
				ctx.SetKVValue("k", "v")
				ctx.SetCustomStatus("unwinding")
				log.add("defer before yield")
				_, err := ctx.Yield(ctx.ScheduleActivity("Z", nil))
				log.add(fmt.Sprintf("defer after yield: %v", err))
			}()
			_, err := ctx.Yield(ctx.ScheduleActivity("A", nil))
			log.add("after")
			return nil, err
		}
		ex, r := blkDirect(fn, 2*time.Second, func(tr TraceRecord) { traces = append(traces, tr) })
		mustOutcome(t, r, OutcomeContinue)
		n := ex.HistoryLen()
		ex.Close()
		if got := log.all(); !slices.Equal(got, []string{"defer before yield"}) {
			t.Fatalf("log %q", got)
		}
		if ex.HistoryLen() != n {
			t.Fatalf("the unwinding code recorded events: %d -> %d", n, ex.HistoryLen())
		}
		if len(traces) != 0 {
			t.Fatalf("traces written while unwinding: %+v", traces)
		}
		if ex.Stranded() != 0 {
			t.Fatalf("stranded %d", ex.Stranded())
		}
		waitGoroutines(t, base)
	})
	t.Run("race loser block", func(t *testing.T) {
		var log blkLog
		fn := protoYieldValue(func(ctx *Ctx) Task {
			return ctx.Race(ctx.Block(func(ctx *Ctx) (any, error) {
				defer func() {
					ctx.TraceInfo("loser defer")
					ctx.SetKVValue("k", "v")
					_, _ = ctx.Yield(ctx.ScheduleActivity("Z", nil))
					log.add("loser defer after yield")
				}()
				_, err := ctx.Yield(ctx.ScheduleActivity("A", nil))
				return nil, err
			}), ctx.ScheduleTimer(time.Second))
		})
		h := bothModes(t, fn, Options{}, func(h *harness) {
			h.turn(startMsg("Race", nil))
			r := h.turn(timerFired(2))
			mustOutput(t, r, `{"index":1,"value":null}`)
			protoDelta(t, r, "4:TimerFired(src=2) 5:ActivityCancelRequested(src=3) 6:OrchestrationCompleted")
		})
		if len(h.traces) != 0 {
			t.Fatalf("traces %+v", h.traces)
		}
		if got := log.all(); len(got) != 0 {
			t.Fatalf("code after a Yield in a deferred call ran: %q", got)
		}
	})
}

func TestBlkStrandedDeferredCall(t *testing.T) {
	const grace = 50 * time.Millisecond
	t.Run("orchestration", func(t *testing.T) {
		base := runtime.NumGoroutine()
		release := make(chan struct{})
		fn := func(ctx *Ctx, _ Value) (any, error) {
			defer func() { <-release }()
			return ctx.Yield(ctx.ScheduleActivity("A", nil))
		}
		ex, r := blkDirect(fn, grace, nil)
		mustOutcome(t, r, OutcomeContinue)
		ex.Close()
		if ex.Stranded() != 1 {
			t.Fatalf("stranded = %d, want 1", ex.Stranded())
		}
		close(release)
		waitGoroutines(t, base)
	})
	t.Run("race loser block", func(t *testing.T) {
		base := runtime.NumGoroutine()
		release := make(chan struct{})
		fn := protoYieldValue(func(ctx *Ctx) Task {
			return ctx.Race(ctx.Block(func(ctx *Ctx) (any, error) {
				defer func() { <-release }()
				return ctx.Yield(ctx.ScheduleActivity("A", nil))
			}), ctx.ScheduleTimer(time.Second))
		})
		ex, r := blkDirect(fn, grace, nil)
		protoDelta(t, r, "1:OrchestrationStarted 2:TimerCreated 3:ActivityScheduled(A)")
		r = ex.Turn(TurnInput{Messages: []history.Message{timerFired(2)}, NowMs: 1_002_000})
		mustOutput(t, r, `{"index":1,"value":null}`)
		if ex.Stranded() != 1 {
			t.Fatalf("stranded = %d, want 1", ex.Stranded())
		}
		ex.Close()
		close(release)
		waitGoroutines(t, base)
	})
}

func TestBlkContinueAsNewNeverReturns(t *testing.T) {
	var log blkLog
	fn := func(ctx *Ctx, in Value) (any, error) {
		var n int
		if err := in.Decode(&n); err != nil {
			return nil, err
		}
		if _, err := ctx.Yield(ctx.ScheduleActivity("A", n)); err != nil {
			return nil, err
		}
		log.add("before")
		_, err := ctx.Yield(ctx.ContinueAsNew(n + 1))
		log.add(fmt.Sprintf("after: %v", err))
		return "unreachable", err
	}
	bothModes(t, fn, Options{}, func(h *harness) {
		r := h.turn(startMsg("CAN", 1))
		protoDelta(t, r, "1:OrchestrationStarted 2:ActivityScheduled(A)")
		r = h.turn(actDone(2, nil))
		mustOutcome(t, r, OutcomeContinuedAsNew)
		if string(r.Output.Raw()) != "2" {
			t.Fatalf("next input %s", r.Output.Raw())
		}
		protoDelta(t, r, "3:ActivityCompleted(src=2) 4:OrchestrationContinuedAsNew")
		if got := protoMessageKinds(r); got != "ContinueAsNew->inst" || string(r.Messages[0].Input) != "2" {
			t.Fatalf("messages %s %+v", got, r.Messages)
		}
	})
	got := log.all()
	if !slices.Contains(got, "before") {
		t.Fatalf("log %q", got)
	}
	for _, s := range got {
		if strings.HasPrefix(s, "after") {
			t.Fatalf("Yield(ContinueAsNew) returned: %q", got)
		}
	}
}
