package yield

// Acceptance cases of replay-spec §15 (reference/replay-spec.md), ported to this engine.
// Every scenario runs through bothModes (cached Execution and full replay, compared with
// go-cmp, goroutine leak check). Histories "given" by a case are hand-built
// []history.Event placed in h.persisted before the first turn.
//
// General adaptation (all cases): our engine writes the terminal event itself, so the
// delta of a terminal turn ends with OrchestrationCompleted / OrchestrationFailed /
// OrchestrationContinuedAsNew, and the in-flight cancel breadcrumbs of a terminal turn
// come before it (Rust's dispatcher adds them after). "Cancelled" is its own Outcome
// (recorded as OrchestrationFailed with Cancelled details).
//
// case -> test -> status
//  1 -> TestAcceptance01_ReturnAtOnce                -> adapted: delta is [2:OrchestrationCompleted] (engine writes the terminal event)
//  2 -> TestAcceptance02_ScheduleActivity            -> as in Rust (pending action = TurnResult.Activities)
//  3 -> TestAcceptance03_ActivityInputMismatch       -> adapted: our nondeterminism wording ("step 1: orchestration scheduled …, history has …"); activity 2 withdrawn by the terminal turn
//  4 -> TestAcceptance04_KindMismatch                -> adapted: our wording, both directions
//  5 -> TestAcceptance05_ReturnIgnoresRestOfHistory  -> adapted: the unfinished activity gets an orchestration_terminal_completed breadcrumb before the terminal event
//  6 -> TestAcceptance06_HistoryHasExtraSchedule     -> adapted: our wording ("history has … but the orchestration did not schedule it (step 2)")
//  7 -> TestAcceptance07_CompletionForUnknownID      -> adapted: delta is only the terminal event
//  8 -> TestAcceptance08_CompletionKindMismatch      -> as in Rust (+ terminal event)
//  9 -> TestAcceptance09_DuplicateCompletions        -> adapted: dedup across completion kinds too (docs/engine.md, spec [GO] note)
// 10 -> TestAcceptance10_CompletionOfOtherExecution  -> as in Rust
// 11 -> TestAcceptance11_IDsContinueAfterGaps        -> as in Rust
// 12 -> TestAcceptance12_NonMonotonicIDs             -> as in Rust (+ terminal event, id = max+1 / 1 for [0:Started])
// 13 -> TestAcceptance13_CompletionBeforeSchedule    -> adapted: our wording
// 14 -> TestAcceptance14_SecondCompletionInHistory   -> adapted: our wording; B recorded then withdrawn by the failing turn
// 15 -> TestAcceptance15_TerminalHistoryIsNoOp       -> as in Rust (the engine itself ignores the messages)
// 16 -> TestAcceptance16_CorruptHistory              -> as in Rust (wording "corrupted history: …")
// 17 -> TestAcceptance17_RaceTimerWins               -> as in Rust (Race = select2; result {"index":1,…})
// 18 -> TestAcceptance18_RaceActivityWins            -> as in Rust
// 19 -> TestAcceptance19_Race3TimerWins              -> adapted: select3 = nested Race(Race(a1,a2),timer)
// 20 -> TestAcceptance20_RaceHistoryOrder            -> as in Rust; plus the losing A event stays for the next wait (DECISIONS 1)
// 21 -> TestAcceptance21_RaceBufferedCompletions     -> adapted: tasks are descriptors (DECISIONS 10), so "already complete" = events raised before the race; DECISIONS 7: the earlier event wins, not the first argument, and the losing wait gives its event back (breadcrumb recorded); true ties (no event) go to the first argument
// 22 -> TestAcceptance22_AllArgumentOrder            -> as in Rust (All = join, {"ok"}/{"err"} items)
// 23 -> TestAcceptance23_CancelBreadcrumbMatching    -> adapted: breadcrumbs are matched strictly in order like scheduling events (no subset check): nondeterminism with our wording, both for a missing and an added cancel
// 24 -> TestAcceptance24_LateCompletionOfRaceLoser   -> as in Rust
// 25 -> TestAcceptance25_DroppedTask                 -> adapted (DECISIONS 10): no explicit drop; a task never yielded leaves no trace; a race loser is cancelled in the turn it loses (withdrawn before dispatch when scheduled in that turn)
// 26 -> TestAcceptance26_Cancel                      -> as in Rust (Outcome Cancelled, recorded as OrchestrationFailed "canceled: r"); also wins over a return / continue-as-new made on an earlier event of the same batch
// 27 -> TestAcceptance27_CancelIdempotentAndAtStart  -> as in Rust
// 28 -> TestAcceptance28_Panic                       -> as in Rust
// 29 -> TestAcceptance29_SystemActivityFailure       -> as in Rust
// 30 -> TestAcceptance30_ChildFailure                -> as in Rust
// 31 -> TestAcceptance31_IsReplaying                 -> adapted (docs/engine.md): a first run with only OrchestrationStarted persisted sees false
// 32 -> TestAcceptance32_ChildIDs                    -> adapted: the event stores the full child id "inst::sub::2" (Rust stores the suffix)
// 33 -> TestAcceptance33_EventInStartBatch           -> adapted (DECISIONS 1): the event is delivered
// 34 -> TestAcceptance34_TwoEventsOneWait            -> adapted (DECISIONS 1): the second event is kept for the next wait
// 35 -> TestAcceptance35_WaitLosesRace               -> as in Rust; plus the same-batch variant is delivered (DECISIONS 1)
// 36 -> TestAcceptance36_SequentialWaits             -> as in Rust
// 37 -> TestAcceptance37_QueueFIFO                   -> as in Rust
// 38 -> TestAcceptance38_QueueMessageBeforeStart     -> adapted (DECISIONS 3): kept and delivered with the start's batch (the store part is the runtime's)
// 39 -> TestAcceptance39_CarryForwardAll             -> adapted (DECISIONS 1, 2): no cap of 20; every unconsumed queue message and event is carried, oldest first, including those recorded after the point where the code continued as new
// 40 -> TestAcceptance40_ContinueAsNew               -> adapted (DECISIONS 10): ContinueAsNew takes effect only when yielded; KV seeded through Options.KV as the runtime does
// 41 -> TestAcceptance41_VersionPinning              -> adapted: engine part only (version recorded / pinned from history, CAN version passed on); registry resolution is the runtime's
// 42 -> TestAcceptance42_KVDeterminism               -> adapted: our wording; prune uses the recorded timestamps (DECISIONS 6)
// 43 -> TestAcceptance43_RetryPolicy                 -> as in Rust (RetryPolicy.Timeout = per attempt)
// 44 -> TestAcceptance44_PoisonActivityFailure       -> adapted: engine part only (a Poison ActivityFailed fails the instance with those details and reports them to the parent); unregistered orchestration/activity backoff and poison counting: dropped, they belong to the runtime
// 45 -> TestAcceptance45_Limits                      -> adapted (DECISIONS 12): KV 150 keys / 64 KiB, counted over all live keys across turns; custom status 256 KiB
// 46 -> TestAcceptance46_StepBudget                  -> adapted: the step budget replaces the quiescence cap: HasMoreWork + a Continue message, no failure

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/duroxide-go/duroxide/history"
	"github.com/google/go-cmp/cmp"
)

// ---- helpers ---------------------------------------------------------------------------

const accTS int64 = 500_000 // time of hand-built events (before the harness's turns)

// accEv stamps a hand-built event with the fields the runtime would have written.
func accEv(id uint64, e history.Event) history.Event {
	e.EventID = id
	e.InstanceID = testInstance
	if e.ExecutionID == 0 {
		e.ExecutionID = 1
	}
	if e.TimestampMs == 0 {
		e.TimestampMs = accTS
	}
	return e
}

func accStarted(id uint64) history.Event {
	return accEv(id, history.Event{Kind: history.OrchestrationStarted, Name: "Orch", Version: "1.0.0", Input: raw("in")})
}

func accActSched(id uint64, name string, input any) history.Event {
	return accEv(id, history.Event{Kind: history.ActivityScheduled, Name: name, Input: raw(input)})
}

func accActDone(id, src uint64, result any) history.Event {
	return accEv(id, history.Event{Kind: history.ActivityCompleted, SourceEventID: src, Result: raw(result), TimestampMs: accTS + 1000})
}

func accTimerCreated(id uint64) history.Event {
	return accEv(id, history.Event{Kind: history.TimerCreated, FireAtMs: accTS + 60_000})
}

func accTimerFired(id, src uint64) history.Event {
	return accEv(id, history.Event{Kind: history.TimerFired, SourceEventID: src, FireAtMs: accTS + 60_000, TimestampMs: accTS + 60_000})
}

func accMsgExec(m history.Message, exec uint64) history.Message {
	m.ExecutionID = exec
	return m
}

func accDelta(t *testing.T, r TurnResult, want string) {
	t.Helper()
	if got := kinds(r.Delta); got != want {
		var b strings.Builder
		for _, e := range r.Delta {
			fmt.Fprintf(&b, "\n  %d %s src=%d", e.EventID, e.Describe(), e.SourceEventID)
		}
		t.Fatalf("delta = %s\nwant    %s%s", got, want, b.String())
	}
}

func accFind(t *testing.T, evs []history.Event, id uint64) history.Event {
	t.Helper()
	for _, e := range evs {
		if e.EventID == id {
			return e
		}
	}
	t.Fatalf("no event %d in %s", id, kinds(evs))
	return history.Event{}
}

func accCount(evs []history.Event, k history.EventKind) int {
	n := 0
	for _, e := range evs {
		if e.Kind == k {
			n++
		}
	}
	return n
}

func accActIDs(r TurnResult) []uint64 {
	var ids []uint64
	for _, a := range r.Activities {
		ids = append(ids, a.ID)
	}
	return ids
}

func accCancelledIDs(r TurnResult) []uint64 {
	var ids []uint64
	for _, a := range r.CancelledActivities {
		if a.Instance != testInstance {
			ids = append(ids, 1<<63) // wrong instance: never equal to an expected id
			continue
		}
		ids = append(ids, a.ID)
	}
	return ids
}

func accIDs(t *testing.T, what string, got, want []uint64) {
	t.Helper()
	if !slices.Equal(got, want) {
		t.Fatalf("%s = %v, want %v", what, got, want)
	}
}

// accBreadcrumb checks that event id of the delta is a cancel breadcrumb of kind for src.
func accBreadcrumb(t *testing.T, r TurnResult, id uint64, kind history.EventKind, src uint64, reason string) {
	t.Helper()
	e := accFind(t, r.Delta, id)
	if e.Kind != kind || e.SourceEventID != src || e.Reason != reason {
		t.Fatalf("event %d = %s(src %d, reason %q), want %s(src %d, reason %q)", id, e.Kind, e.SourceEventID, e.Reason, kind, src, reason)
	}
}

// accNextExecution makes the harness start a new execution of the instance, as the
// runtime does after a continue-as-new: empty history, no cached Execution.
func accNextExecution(h *harness) {
	if h.cached != nil {
		h.cached.Close()
		h.cached = nil
	}
	h.persisted = nil
}

// ---- cases ------------------------------------------------------------------------------

func TestAcceptance01_ReturnAtOnce(t *testing.T) {
	fn := func(ctx *Ctx, _ Value) (any, error) { return "x", nil }
	bothModes(t, fn, Options{}, func(h *harness) {
		h.persisted = []history.Event{accStarted(1)}
		r := h.turn()
		mustOutput(t, r, `"x"`)
		accDelta(t, r, "2:OrchestrationCompleted")
		if out := accFind(t, r.Delta, 2).Output; string(out) != `"x"` {
			t.Fatalf("OrchestrationCompleted output %s", out)
		}
		if len(r.Activities)+len(r.Messages)+len(r.CancelledActivities) != 0 {
			t.Fatalf("work sent: %+v %+v %+v", r.Activities, r.Messages, r.CancelledActivities)
		}
	})
}

func TestAcceptance02_ScheduleActivity(t *testing.T) {
	fn := func(ctx *Ctx, in Value) (any, error) { return ctx.Yield(ctx.ScheduleActivity("A", in)) }
	bothModes(t, fn, Options{}, func(h *harness) {
		h.persisted = []history.Event{accStarted(1)}
		r := h.turn()
		mustOutcome(t, r, OutcomeContinue)
		accDelta(t, r, "2:ActivityScheduled")
		if e := r.Delta[0]; e.Name != "A" || string(e.Input) != `"in"` || e.InstanceID != testInstance || e.ExecutionID != 1 {
			t.Fatalf("event %+v", e)
		}
		want := []history.ActivityWork{{Instance: testInstance, ExecutionID: 1, ID: 2, Name: "A", Input: raw("in"), OrchestrationName: "Orch", OrchestrationVersion: "1.0.0"}}
		if diff := cmp.Diff(want, r.Activities, resultCmp...); diff != "" {
			t.Fatalf("activities (-want +got):\n%s", diff)
		}
		if len(r.Messages) != 0 {
			t.Fatalf("messages %+v", r.Messages)
		}
	})
}

func TestAcceptance03_ActivityInputMismatch(t *testing.T) {
	fn := func(ctx *Ctx, _ Value) (any, error) { return ctx.Yield(ctx.ScheduleActivity("A", "y")) }
	bothModes(t, fn, Options{}, func(h *harness) {
		h.persisted = []history.Event{accStarted(1), accActSched(2, "A", "x")}
		r := h.turn()
		mustFail(t, r, `nondeterministic: step 1: orchestration scheduled ActivityScheduled(name="A", input="y"), history has ActivityScheduled(name="A", input="x") at event 2`)
		if r.Error.Category != history.CategoryConfiguration || r.Error.Kind != history.KindNondeterminism {
			t.Fatalf("error %+v", r.Error)
		}
		// The recorded activity 2 is still in flight: the failing turn withdraws it.
		accDelta(t, r, "3:ActivityCancelRequested 4:OrchestrationFailed")
		accBreadcrumb(t, r, 3, history.ActivityCancelRequested, 2, history.ReasonTerminalFailed)
		accIDs(t, "cancelled activities", accCancelledIDs(r), []uint64{2})
		if len(r.Activities) != 0 {
			t.Fatalf("activities %+v", r.Activities)
		}
	})
}

func TestAcceptance04_KindMismatch(t *testing.T) {
	t.Run("history activity, code timer", func(t *testing.T) {
		fn := func(ctx *Ctx, _ Value) (any, error) { return ctx.Yield(ctx.ScheduleTimer(5 * time.Second)) }
		bothModes(t, fn, Options{}, func(h *harness) {
			h.persisted = []history.Event{accStarted(1), accActSched(2, "A", "x")}
			r := h.turn()
			// The turn's time is 1_001_000: the timer would be due at 1_006_000.
			mustFail(t, r, `step 1: orchestration scheduled TimerCreated(fire_at=1006000), history has ActivityScheduled(name="A", input="x") at event 2`)
			if len(r.Messages) != 0 {
				t.Fatalf("timer sent: %+v", r.Messages)
			}
		})
	})
	t.Run("history timer, code activity", func(t *testing.T) {
		fn := func(ctx *Ctx, _ Value) (any, error) { return ctx.Yield(ctx.ScheduleActivity("A", "x")) }
		bothModes(t, fn, Options{}, func(h *harness) {
			h.persisted = []history.Event{accStarted(1), accTimerCreated(2)}
			r := h.turn()
			mustFail(t, r, `step 1: orchestration scheduled ActivityScheduled(name="A", input="x"), history has TimerCreated(fire_at=560000) at event 2`)
			accDelta(t, r, "3:OrchestrationFailed")
			if len(r.Activities) != 0 {
				t.Fatalf("activity sent: %+v", r.Activities)
			}
		})
	})
}

func TestAcceptance05_ReturnIgnoresRestOfHistory(t *testing.T) {
	fn := func(ctx *Ctx, _ Value) (any, error) { return "early", nil }
	bothModes(t, fn, Options{}, func(h *harness) {
		h.persisted = []history.Event{accStarted(1), accActSched(2, "A", "x")}
		r := h.turn()
		mustOutput(t, r, `"early"`)
		accDelta(t, r, "3:ActivityCancelRequested 4:OrchestrationCompleted")
		accBreadcrumb(t, r, 3, history.ActivityCancelRequested, 2, history.ReasonTerminalCompleted)
		accIDs(t, "cancelled activities", accCancelledIDs(r), []uint64{2})
	})
}

func TestAcceptance06_HistoryHasExtraSchedule(t *testing.T) {
	fn := func(ctx *Ctx, _ Value) (any, error) { return ctx.Yield(ctx.ScheduleActivity("A", "x")) }
	bothModes(t, fn, Options{}, func(h *harness) {
		h.persisted = []history.Event{accStarted(1), accActSched(2, "A", "x"), accActSched(3, "A", "x")}
		r := h.turn()
		mustFail(t, r, `history has ActivityScheduled(name="A", input="x") at event 3 but the orchestration did not schedule it (step 2)`)
		if !errors.Is(r.Error, history.ErrNondeterminism) {
			t.Fatalf("error %v is not nondeterminism", r.Error)
		}
		if last := r.Delta[len(r.Delta)-1]; last.Kind != history.OrchestrationFailed {
			t.Fatalf("delta %s does not end with OrchestrationFailed", kinds(r.Delta))
		}
		if accCount(r.Delta, history.ActivityScheduled) != 0 || len(r.Activities) != 0 {
			t.Fatalf("new activity: delta %s activities %+v", kinds(r.Delta), r.Activities)
		}
	})
}

func TestAcceptance07_CompletionForUnknownID(t *testing.T) {
	runs := 0
	fn := func(ctx *Ctx, _ Value) (any, error) {
		runs++
		return ctx.Yield(ctx.ScheduleTimer(time.Hour))
	}
	bothModes(t, fn, Options{}, func(h *harness) {
		h.persisted = []history.Event{accStarted(1)}
		r := h.turn(actDone(999, "r"))
		mustFail(t, r, "nondeterministic: no matching schedule for completion id=999")
		accDelta(t, r, "2:OrchestrationFailed")
	})
	if runs != 0 {
		t.Fatalf("the handler ran %d times", runs)
	}
}

func TestAcceptance08_CompletionKindMismatch(t *testing.T) {
	fn := func(ctx *Ctx, _ Value) (any, error) { return ctx.Yield(ctx.ScheduleTimer(time.Minute)) }
	bothModes(t, fn, Options{}, func(h *harness) {
		h.persisted = []history.Event{accStarted(1), accTimerCreated(2)}
		r := h.turn(actDone(2, "r"))
		mustFail(t, r, "completion kind mismatch for id=2, expected 'timer', got 'activity'")
		accDelta(t, r, "3:OrchestrationFailed")
	})
}

func TestAcceptance09_DuplicateCompletions(t *testing.T) {
	fn := func(ctx *Ctx, in Value) (any, error) {
		a, err := ctx.Yield(ctx.ScheduleActivity("A", in))
		if err != nil {
			return nil, err
		}
		return ctx.Yield(ctx.ScheduleActivity("B", a))
	}
	t.Run("already in history", func(t *testing.T) {
		bothModes(t, fn, Options{}, func(h *harness) {
			h.persisted = []history.Event{accStarted(1), accActSched(2, "A", "in"), accActDone(3, 2, "ra"), accActSched(4, "B", "ra")}
			// A second completion, and a failure, for the completed activity 2: both dropped.
			r := h.turn(actDone(2, "dup"), actFailed(2, "late failure"))
			mustOutcome(t, r, OutcomeContinue)
			accDelta(t, r, "")
			if len(r.Activities)+len(r.Messages) != 0 {
				t.Fatalf("work sent: %+v %+v", r.Activities, r.Messages)
			}
			r = h.turn(actDone(4, "rb"))
			mustOutput(t, r, `"rb"`)
			accDelta(t, r, "5:ActivityCompleted 6:OrchestrationCompleted")
		})
	})
	t.Run("twice in one batch", func(t *testing.T) {
		bothModes(t, fn, Options{}, func(h *harness) {
			h.turn(startMsg("Orch", "in"))
			r := h.turn(actDone(2, "first"), actDone(2, "second"))
			mustOutcome(t, r, OutcomeContinue)
			accDelta(t, r, "3:ActivityCompleted 4:ActivityScheduled")
			if string(r.Delta[0].Result) != `"first"` {
				t.Fatalf("recorded %s", r.Delta[0].Result)
			}
			if len(r.Activities) != 1 || string(r.Activities[0].Input) != `"first"` {
				t.Fatalf("activities %+v", r.Activities)
			}
		})
	})
}

func TestAcceptance10_CompletionOfOtherExecution(t *testing.T) {
	fn := func(ctx *Ctx, _ Value) (any, error) { return ctx.Yield(ctx.ScheduleActivity("A", 1)) }
	bothModes(t, fn, Options{}, func(h *harness) {
		h.turn(startMsg("Orch", nil))
		r := h.turn(accMsgExec(actDone(2, "stale"), 999))
		mustOutcome(t, r, OutcomeContinue)
		accDelta(t, r, "")
		r = h.turn(actDone(2, "real"))
		mustOutput(t, r, `"real"`)
		accDelta(t, r, "3:ActivityCompleted 4:OrchestrationCompleted")
	})
}

func TestAcceptance11_IDsContinueAfterGaps(t *testing.T) {
	fn := func(ctx *Ctx, _ Value) (any, error) {
		v, err := ctx.Yield(ctx.ScheduleActivity("Task", 1))
		if err != nil {
			return nil, err
		}
		return ctx.Yield(ctx.ScheduleActivity("Next", v))
	}
	bothModes(t, fn, Options{}, func(h *harness) {
		h.persisted = []history.Event{accStarted(1), accActSched(5, "Task", 1)}
		r := h.turn(actDone(5, "t"))
		mustOutcome(t, r, OutcomeContinue)
		accDelta(t, r, "6:ActivityCompleted 7:ActivityScheduled")
		if r.Delta[0].SourceEventID != 5 {
			t.Fatalf("completion source %d", r.Delta[0].SourceEventID)
		}
		accIDs(t, "activities", accActIDs(r), []uint64{7})
	})
}

func TestAcceptance12_NonMonotonicIDs(t *testing.T) {
	t.Run("completion id below its schedule", func(t *testing.T) {
		fn := func(ctx *Ctx, _ Value) (any, error) { return ctx.Yield(ctx.ScheduleActivity("A", 1)) }
		bothModes(t, fn, Options{}, func(h *harness) {
			h.persisted = []history.Event{accStarted(1), accActSched(5, "A", 1), accActDone(3, 5, "ok")}
			r := h.turn()
			mustOutput(t, r, `"ok"`)
			accDelta(t, r, "6:OrchestrationCompleted")
		})
	})
	t.Run("started with id 0", func(t *testing.T) {
		fn := func(ctx *Ctx, _ Value) (any, error) { return "zero", nil }
		bothModes(t, fn, Options{}, func(h *harness) {
			h.persisted = []history.Event{accStarted(0)}
			r := h.turn()
			mustOutput(t, r, `"zero"`)
			accDelta(t, r, "1:OrchestrationCompleted")
		})
	})
}

func TestAcceptance13_CompletionBeforeSchedule(t *testing.T) {
	fn := func(ctx *Ctx, _ Value) (any, error) { return ctx.Yield(ctx.ScheduleTimer(time.Minute)) }
	bothModes(t, fn, Options{}, func(h *harness) {
		h.persisted = []history.Event{accStarted(1), accTimerFired(2, 3), accTimerCreated(3)}
		r := h.turn()
		mustFail(t, r, "nondeterministic: completion without open schedule: TimerFired(fire_at=560000) at event 2")
		accDelta(t, r, "4:OrchestrationFailed")
	})
}

func TestAcceptance14_SecondCompletionInHistory(t *testing.T) {
	fn := func(ctx *Ctx, _ Value) (any, error) {
		if _, err := ctx.Yield(ctx.ScheduleActivity("A", 1)); err != nil {
			return nil, err
		}
		return ctx.Yield(ctx.ScheduleActivity("B", 2)) // never completes
	}
	bothModes(t, fn, Options{}, func(h *harness) {
		h.persisted = []history.Event{accStarted(1), accActSched(2, "A", 1), accActDone(3, 2, "a"), accActDone(4, 2, "again")}
		r := h.turn()
		mustFail(t, r, "nondeterministic: completion without open schedule: ActivityCompleted(source=2) at event 4")
		// B was recorded when the code asked for it (event 5); the failing turn withdraws it
		// before it is ever dispatched.
		accDelta(t, r, "5:ActivityScheduled 6:ActivityCancelRequested 7:OrchestrationFailed")
		accBreadcrumb(t, r, 6, history.ActivityCancelRequested, 5, history.ReasonTerminalFailed)
		if len(r.Activities) != 0 || len(r.CancelledActivities) != 0 {
			t.Fatalf("activities %+v cancelled %+v", r.Activities, r.CancelledActivities)
		}
	})
}

func TestAcceptance15_TerminalHistoryIsNoOp(t *testing.T) {
	t.Run("hand-built completed history", func(t *testing.T) {
		runs := 0
		fn := func(ctx *Ctx, _ Value) (any, error) {
			runs++
			return "again", nil
		}
		bothModes(t, fn, Options{}, func(h *harness) {
			h.persisted = []history.Event{accStarted(1), accEv(2, history.Event{Kind: history.OrchestrationCompleted, Output: raw("done")})}
			r := h.turn(raised("E", 1), enqueued("q", 2), actDone(2, "x"), cancelMsg("late"))
			mustOutcome(t, r, OutcomeContinue)
			accDelta(t, r, "")
			if len(r.Messages)+len(r.Activities)+len(r.CancelledActivities) != 0 || r.HasMoreWork || r.Error != nil {
				t.Fatalf("no-op turn produced %+v", r)
			}
		})
		if runs != 0 {
			t.Fatalf("the handler ran %d times", runs)
		}
	})
	t.Run("cancel after completion", func(t *testing.T) {
		fn := func(ctx *Ctx, _ Value) (any, error) { return "x", nil }
		bothModes(t, fn, Options{}, func(h *harness) {
			r := h.turn(startMsg("Orch", nil))
			mustOutput(t, r, `"x"`)
			accDelta(t, r, "1:OrchestrationStarted 2:OrchestrationCompleted")
			r = h.turn(cancelMsg("too late"))
			mustOutcome(t, r, OutcomeContinue)
			accDelta(t, r, "")
		})
	})
}

func TestAcceptance16_CorruptHistory(t *testing.T) {
	fn := func(ctx *Ctx, _ Value) (any, error) { return "x", nil }
	t.Run("empty", func(t *testing.T) {
		bothModes(t, fn, Options{}, func(h *harness) {
			r := h.turn()
			mustFail(t, r, "corrupted history: empty")
			if !errors.Is(r.Error, history.ErrCorruptHistory) {
				t.Fatalf("error %v", r.Error)
			}
			accDelta(t, r, "")
		})
	})
	t.Run("messages without a start", func(t *testing.T) {
		bothModes(t, fn, Options{}, func(h *harness) {
			r := h.turn(raised("E", 1), enqueued("q", 2))
			mustFail(t, r, "corrupted history: empty")
			accDelta(t, r, "")
		})
	})
	t.Run("first event not Started", func(t *testing.T) {
		bothModes(t, fn, Options{}, func(h *harness) {
			h.persisted = []history.Event{accActSched(1, "A", 1), accStarted(2)}
			r := h.turn()
			mustFail(t, r, "corrupted history: first event must be OrchestrationStarted")
			if !errors.Is(r.Error, history.ErrCorruptHistory) {
				t.Fatalf("error %v", r.Error)
			}
			if n := len(r.Delta); n > 0 && r.Delta[n-1].Kind != history.OrchestrationFailed {
				t.Fatalf("delta %s", kinds(r.Delta))
			}
		})
	})
}

// raceNext races A against a timer and, after the race, runs Next.
func accRaceNext(ctx *Ctx, _ Value) (any, error) {
	w, err := ctx.Yield(ctx.Race(ctx.ScheduleActivity("A", 1), ctx.ScheduleTimer(time.Minute)))
	if err != nil {
		return nil, err
	}
	n, err := ctx.Yield(ctx.ScheduleActivity("Next", w))
	if err != nil {
		return nil, err
	}
	return []Value{w, n}, nil
}

func TestAcceptance17_RaceTimerWins(t *testing.T) {
	bothModes(t, accRaceNext, Options{}, func(h *harness) {
		h.persisted = []history.Event{accStarted(1), accActSched(2, "A", 1), accTimerCreated(3)}
		r := h.turn(timerFired(3))
		mustOutcome(t, r, OutcomeContinue)
		accDelta(t, r, "4:TimerFired 5:ActivityCancelRequested 6:ActivityScheduled")
		accBreadcrumb(t, r, 5, history.ActivityCancelRequested, 2, history.ReasonDroppedFuture)
		accIDs(t, "cancelled activities", accCancelledIDs(r), []uint64{2})
		accIDs(t, "activities", accActIDs(r), []uint64{6})
		if in := string(r.Activities[0].Input); in != `{"index":1,"value":null}` {
			t.Fatalf("Next input %s", in)
		}
		if accCount(r.Delta, history.ExternalSubscribedCancelled)+accCount(r.Delta, history.QueueSubscriptionCancelled) != 0 {
			t.Fatalf("breadcrumb for the timer: %s", kinds(r.Delta))
		}
		r = h.turn(actDone(6, "n"))
		mustOutput(t, r, `[{"index":1,"value":null},"n"]`)
	})
}

func TestAcceptance18_RaceActivityWins(t *testing.T) {
	bothModes(t, accRaceNext, Options{}, func(h *harness) {
		h.persisted = []history.Event{accStarted(1), accActSched(2, "A", 1), accTimerCreated(3)}
		r := h.turn(actDone(2, "a"))
		mustOutcome(t, r, OutcomeContinue)
		accDelta(t, r, "4:ActivityCompleted 5:ActivityScheduled")
		if len(r.CancelledActivities) != 0 || len(r.Messages) != 0 {
			t.Fatalf("cancelled %+v messages %+v", r.CancelledActivities, r.Messages)
		}
		accIDs(t, "activities", accActIDs(r), []uint64{5})
		// The dropped timer fires later: recorded, harmless.
		r = h.turn(timerFired(3))
		mustOutcome(t, r, OutcomeContinue)
		accDelta(t, r, "6:TimerFired")
		r = h.turn(actDone(5, "n"))
		mustOutput(t, r, `[{"index":0,"value":"a"},"n"]`)
	})
}

func TestAcceptance19_Race3TimerWins(t *testing.T) {
	fn := func(ctx *Ctx, _ Value) (any, error) {
		return ctx.Yield(ctx.Race(ctx.Race(ctx.ScheduleActivity("A1", 1), ctx.ScheduleActivity("A2", 2)), ctx.ScheduleTimer(time.Minute)))
	}
	bothModes(t, fn, Options{}, func(h *harness) {
		h.persisted = []history.Event{accStarted(1), accActSched(2, "A1", 1), accActSched(3, "A2", 2), accTimerCreated(4)}
		r := h.turn(timerFired(4))
		mustOutput(t, r, `{"index":1,"value":null}`)
		accDelta(t, r, "5:TimerFired 6:ActivityCancelRequested 7:ActivityCancelRequested 8:OrchestrationCompleted")
		accBreadcrumb(t, r, 6, history.ActivityCancelRequested, 2, history.ReasonDroppedFuture)
		accBreadcrumb(t, r, 7, history.ActivityCancelRequested, 3, history.ReasonDroppedFuture)
		accIDs(t, "cancelled activities", accCancelledIDs(r), []uint64{2, 3})
	})
}

func TestAcceptance20_RaceHistoryOrder(t *testing.T) {
	fn := func(ctx *Ctx, _ Value) (any, error) {
		w, err := ctx.Yield(ctx.Race(ctx.WaitForEvent("A"), ctx.WaitForEvent("B")))
		if err != nil {
			return nil, err
		}
		a, err := ctx.Yield(ctx.WaitForEvent("A")) // the losing branch's event was not consumed
		if err != nil {
			return nil, err
		}
		return []Value{w, a}, nil
	}
	bothModes(t, fn, Options{}, func(h *harness) {
		r := h.turn(startMsg("Orch", nil))
		accDelta(t, r, "1:OrchestrationStarted 2:ExternalSubscribed 3:ExternalSubscribed")
		r = h.turn(raised("B", "b"), raised("A", "a"))
		mustOutput(t, r, `[{"index":1,"value":"b"},"a"]`)
		accDelta(t, r, "4:ExternalEvent 5:ExternalEvent 6:ExternalSubscribedCancelled 7:ExternalSubscribed 8:OrchestrationCompleted")
		accBreadcrumb(t, r, 6, history.ExternalSubscribedCancelled, 2, history.ReasonDroppedFuture)
	})
}

func TestAcceptance21_RaceBufferedCompletions(t *testing.T) {
	t.Run("earlier event wins over first argument", func(t *testing.T) {
		fn := func(ctx *Ctx, _ Value) (any, error) {
			if _, err := ctx.Yield(ctx.ScheduleActivity("C", 0)); err != nil {
				return nil, err
			}
			w, err := ctx.Yield(ctx.Race(ctx.WaitForEvent("A"), ctx.WaitForEvent("B")))
			if err != nil {
				return nil, err
			}
			a, err := ctx.Yield(ctx.WaitForEvent("A"))
			if err != nil {
				return nil, err
			}
			return []Value{w, a}, nil
		}
		bothModes(t, fn, Options{}, func(h *harness) {
			h.turn(startMsg("Orch", nil))
			r := h.turn(raised("B", "b"), raised("A", "a")) // both buffered while the code waits on C
			mustOutcome(t, r, OutcomeContinue)
			accDelta(t, r, "3:ExternalEvent 4:ExternalEvent")
			r = h.turn(actDone(2, "c"))
			mustOutput(t, r, `[{"index":1,"value":"b"},"a"]`)
			// A's wait had taken its (later) event: the wait is dropped (breadcrumb) and the
			// event given back, so the next wait on A receives it.
			accDelta(t, r, "5:ActivityCompleted 6:ExternalSubscribed 7:ExternalSubscribed 8:ExternalSubscribedCancelled 9:ExternalSubscribed 10:OrchestrationCompleted")
			accBreadcrumb(t, r, 8, history.ExternalSubscribedCancelled, 6, history.ReasonDroppedFuture)
		})
	})
	t.Run("tie goes to the first argument", func(t *testing.T) {
		fn := func(ctx *Ctx, _ Value) (any, error) {
			return ctx.Yield(ctx.Race(
				ctx.Block(func(ctx *Ctx) (any, error) { return "first", nil }),
				ctx.Block(func(ctx *Ctx) (any, error) { return "second", nil })))
		}
		bothModes(t, fn, Options{}, func(h *harness) {
			r := h.turn(startMsg("Orch", nil))
			mustOutput(t, r, `{"index":0,"value":"first"}`)
			accDelta(t, r, "1:OrchestrationStarted 2:OrchestrationCompleted")
		})
	})
}

func TestAcceptance22_AllArgumentOrder(t *testing.T) {
	fn := func(ctx *Ctx, _ Value) (any, error) {
		return ctx.Yield(ctx.All(ctx.ScheduleActivity("A", 1), ctx.ScheduleActivity("B", 2)))
	}
	t.Run("B first", func(t *testing.T) {
		bothModes(t, fn, Options{}, func(h *harness) {
			r := h.turn(startMsg("Orch", nil))
			accDelta(t, r, "1:OrchestrationStarted 2:ActivityScheduled 3:ActivityScheduled")
			r = h.turn(actDone(3, "rb"))
			mustOutcome(t, r, OutcomeContinue)
			accDelta(t, r, "4:ActivityCompleted")
			r = h.turn(actDone(2, "ra"))
			mustOutput(t, r, `[{"ok":"ra"},{"ok":"rb"}]`)
		})
	})
	t.Run("B fails, All still waits for A", func(t *testing.T) {
		bothModes(t, fn, Options{}, func(h *harness) {
			h.turn(startMsg("Orch", nil))
			r := h.turn(actFailed(3, "boom"))
			mustOutcome(t, r, OutcomeContinue)
			accDelta(t, r, "4:ActivityFailed")
			r = h.turn(actDone(2, "ra"))
			mustOutput(t, r, `[{"ok":"ra"},{"err":"boom"}]`)
		})
	})
}

func TestAcceptance23_CancelBreadcrumbMatching(t *testing.T) {
	t.Run("history has a cancel the code does not make", func(t *testing.T) {
		fn := func(ctx *Ctx, _ Value) (any, error) { return ctx.Yield(ctx.ScheduleActivity("A", 1)) }
		bothModes(t, fn, Options{}, func(h *harness) {
			h.persisted = []history.Event{
				accStarted(1), accActSched(2, "A", 1),
				accEv(3, history.Event{Kind: history.ActivityCancelRequested, SourceEventID: 2, Reason: history.ReasonDroppedFuture}),
				accActDone(4, 2, "late"),
			}
			r := h.turn()
			mustFail(t, r, `nondeterministic: history has ActivityCancelRequested(source=2, reason="dropped_future") at event 3 but the orchestration did not schedule it (step 2)`)
			accDelta(t, r, "5:OrchestrationFailed")
		})
	})
	t.Run("code makes a cancel the history does not have", func(t *testing.T) {
		bothModes(t, accRaceNext, Options{}, func(h *harness) {
			// Recorded by a version of the code that awaited A alone and then ran Next.
			h.persisted = []history.Event{
				accStarted(1), accActSched(2, "A", 1), accTimerCreated(3), accTimerFired(4, 3),
				accActSched(5, "Next", map[string]any{"index": 1, "value": nil}),
			}
			r := h.turn()
			mustFail(t, r, `nondeterministic: step 3: orchestration cancelled ActivityCancelRequested(source=2, reason="dropped_future"), history has ActivityScheduled(name="Next", input={"index":1,"value":null}) at event 5`)
		})
	})
}

func TestAcceptance24_LateCompletionOfRaceLoser(t *testing.T) {
	bothModes(t, accRaceNext, Options{}, func(h *harness) {
		h.turn(startMsg("Orch", nil))
		r := h.turn(timerFired(3))
		accDelta(t, r, "4:TimerFired 5:ActivityCancelRequested 6:ActivityScheduled")
		r = h.turn(actDone(2, "late")) // the loser's completion after its cancel breadcrumb
		mustOutcome(t, r, OutcomeContinue)
		accDelta(t, r, "7:ActivityCompleted")
		r = h.turn(actDone(6, "n"))
		mustOutput(t, r, `[{"index":1,"value":null},"n"]`)
		accDelta(t, r, "8:ActivityCompleted 9:OrchestrationCompleted")
	})
}

func TestAcceptance25_DroppedTask(t *testing.T) {
	t.Run("never yielded leaves no trace", func(t *testing.T) {
		fn := func(ctx *Ctx, _ Value) (any, error) {
			_ = ctx.ScheduleActivity("X", 1) // built, never yielded: nothing to drop
			return ctx.Yield(ctx.ScheduleTimer(time.Hour))
		}
		bothModes(t, fn, Options{}, func(h *harness) {
			r := h.turn(startMsg("Orch", nil))
			mustOutcome(t, r, OutcomeContinue)
			accDelta(t, r, "1:OrchestrationStarted 2:TimerCreated")
			if len(r.Activities) != 0 || len(r.CancelledActivities) != 0 {
				t.Fatalf("activities %+v cancelled %+v", r.Activities, r.CancelledActivities)
			}
		})
	})
	t.Run("race loser cancelled in the same turn", func(t *testing.T) {
		fn := func(ctx *Ctx, _ Value) (any, error) {
			// The block returns at once and wins; X loses in the turn it was scheduled.
			if _, err := ctx.Yield(ctx.Race(ctx.ScheduleActivity("X", 1), ctx.Block(func(ctx *Ctx) (any, error) { return "now", nil }))); err != nil {
				return nil, err
			}
			return ctx.Yield(ctx.ScheduleTimer(time.Hour))
		}
		bothModes(t, fn, Options{}, func(h *harness) {
			r := h.turn(startMsg("Orch", nil))
			mustOutcome(t, r, OutcomeContinue)
			accDelta(t, r, "1:OrchestrationStarted 2:ActivityScheduled 3:ActivityCancelRequested 4:TimerCreated")
			accBreadcrumb(t, r, 3, history.ActivityCancelRequested, 2, history.ReasonDroppedFuture)
			// Withdrawn before dispatch: never queued, so nothing to steal either.
			if len(r.Activities) != 0 || len(r.CancelledActivities) != 0 {
				t.Fatalf("activities %+v cancelled %+v", r.Activities, r.CancelledActivities)
			}
			if len(r.Messages) != 1 || r.Messages[0].Kind != history.MsgTimerFired || r.Messages[0].ID != 4 {
				t.Fatalf("messages %+v", r.Messages)
			}
		})
	})
	t.Run("race loser cancelled in a later turn", func(t *testing.T) {
		fn := func(ctx *Ctx, _ Value) (any, error) {
			if _, err := ctx.Yield(ctx.Race(ctx.ScheduleActivity("X", 1), ctx.ScheduleTimer(time.Second))); err != nil {
				return nil, err
			}
			return ctx.Yield(ctx.ScheduleTimer(time.Hour)) // unfired
		}
		bothModes(t, fn, Options{}, func(h *harness) {
			h.turn(startMsg("Orch", nil))
			r := h.turn(timerFired(3))
			mustOutcome(t, r, OutcomeContinue)
			accDelta(t, r, "4:TimerFired 5:ActivityCancelRequested 6:TimerCreated")
			accIDs(t, "cancelled activities", accCancelledIDs(r), []uint64{2})
		})
	})
	t.Run("yielded twice is scheduled twice", func(t *testing.T) {
		fn := func(ctx *Ctx, _ Value) (any, error) {
			x := ctx.ScheduleActivity("X", 1)
			return ctx.Yield(ctx.All(x, x))
		}
		bothModes(t, fn, Options{}, func(h *harness) {
			r := h.turn(startMsg("Orch", nil))
			accDelta(t, r, "1:OrchestrationStarted 2:ActivityScheduled 3:ActivityScheduled")
			accIDs(t, "activities", accActIDs(r), []uint64{2, 3})
			r = h.turn(actDone(3, "b"), actDone(2, "a"))
			mustOutput(t, r, `[{"ok":"a"},{"ok":"b"}]`)
		})
	})
}

func TestAcceptance26_Cancel(t *testing.T) {
	t.Run("handler would return at once", func(t *testing.T) {
		fn := func(ctx *Ctx, _ Value) (any, error) { return "ok", nil }
		bothModes(t, fn, Options{}, func(h *harness) {
			h.persisted = []history.Event{accStarted(1)}
			r := h.turn(cancelMsg("r"))
			mustOutcome(t, r, OutcomeCancelled)
			if got := r.Error.DisplayMessage(); got != "canceled: r" {
				t.Fatalf("error %q", got)
			}
			accDelta(t, r, "2:OrchestrationCancelRequested 3:OrchestrationFailed")
			if diff := cmp.Diff(history.Cancelled("r"), accFind(t, r.Delta, 3).Error, resultCmp...); diff != "" {
				t.Fatalf("OrchestrationFailed details (-want +got):\n%s", diff)
			}
		})
	})
	// Cancellation wins over a return value and over continue-as-new (docs/engine.md
	// precedence; spec §2.3 finalize), also when the cancel arrives in the batch of the
	// completion the code ends on.
	for _, end := range []string{"return", "continue-as-new"} {
		t.Run("cancel with the completion the code "+end+"s on", func(t *testing.T) {
			fn := func(ctx *Ctx, _ Value) (any, error) {
				if _, err := ctx.Yield(ctx.ScheduleActivity("A", 1)); err != nil {
					return nil, err
				}
				if end == "return" {
					return "done", nil
				}
				return ctx.Yield(ctx.ContinueAsNew("next"))
			}
			bothModes(t, fn, Options{}, func(h *harness) {
				h.turn(startMsg("Orch", nil))
				r := h.turn(actDone(2, "a"), cancelMsg("r"))
				mustOutcome(t, r, OutcomeCancelled)
				if got := r.Error.DisplayMessage(); got != "canceled: r" {
					t.Fatalf("error %q", got)
				}
				accDelta(t, r, "3:ActivityCompleted 4:OrchestrationCancelRequested 5:OrchestrationFailed")
				if len(r.Messages) != 0 {
					t.Fatalf("messages %+v", r.Messages)
				}
			})
		})
	}
	t.Run("pending activity is withdrawn", func(t *testing.T) {
		fn := func(ctx *Ctx, _ Value) (any, error) { return ctx.Yield(ctx.ScheduleActivity("A", 1)) }
		bothModes(t, fn, Options{}, func(h *harness) {
			h.turn(startMsg("Orch", nil))
			r := h.turn(cancelMsg("r"))
			mustOutcome(t, r, OutcomeCancelled)
			if r.Error.Category != history.CategoryApplication || r.Error.Kind != history.KindCancelled || r.Error.Reason != "r" {
				t.Fatalf("error %+v", r.Error)
			}
			accDelta(t, r, "3:OrchestrationCancelRequested 4:ActivityCancelRequested 5:OrchestrationFailed")
			accBreadcrumb(t, r, 4, history.ActivityCancelRequested, 2, history.ReasonTerminalFailed)
			accIDs(t, "cancelled activities", accCancelledIDs(r), []uint64{2})
			if e := accFind(t, r.Delta, 5); e.Error == nil || e.Error.DisplayMessage() != "canceled: r" {
				t.Fatalf("terminal event %+v", e)
			}
		})
	})
}

func TestAcceptance27_CancelIdempotentAndAtStart(t *testing.T) {
	fn := func(ctx *Ctx, _ Value) (any, error) { return ctx.Yield(ctx.ScheduleActivity("A", 1)) }
	t.Run("cancel already recorded", func(t *testing.T) {
		bothModes(t, fn, Options{}, func(h *harness) {
			h.persisted = []history.Event{accStarted(1), accEv(2, history.Event{Kind: history.OrchestrationCancelRequested, Reason: "r"})}
			r := h.turn(cancelMsg("again"))
			mustOutcome(t, r, OutcomeCancelled)
			if r.Error.Reason != "r" {
				t.Fatalf("reason %q", r.Error.Reason)
			}
			if n := accCount(r.Delta, history.OrchestrationCancelRequested); n != 0 {
				t.Fatalf("a second cancel request was recorded: %s", kinds(r.Delta))
			}
		})
	})
	t.Run("two cancels in one batch", func(t *testing.T) {
		bothModes(t, fn, Options{}, func(h *harness) {
			h.turn(startMsg("Orch", nil))
			r := h.turn(cancelMsg("r1"), cancelMsg("r2"))
			mustOutcome(t, r, OutcomeCancelled)
			if got := r.Error.DisplayMessage(); got != "canceled: r1" {
				t.Fatalf("error %q", got)
			}
			accDelta(t, r, "3:OrchestrationCancelRequested 4:ActivityCancelRequested 5:OrchestrationFailed")
		})
	})
	t.Run("start and cancel in one batch", func(t *testing.T) {
		bothModes(t, fn, Options{}, func(h *harness) {
			r := h.turn(startMsg("Orch", nil), cancelMsg("r"))
			mustOutcome(t, r, OutcomeCancelled)
			accDelta(t, r, "1:OrchestrationStarted 2:OrchestrationCancelRequested 3:ActivityScheduled 4:ActivityCancelRequested 5:OrchestrationFailed")
			if len(r.Activities) != 0 || len(r.CancelledActivities) != 0 {
				t.Fatalf("activities %+v cancelled %+v", r.Activities, r.CancelledActivities)
			}
		})
	})
}

func TestAcceptance28_Panic(t *testing.T) {
	check := func(t *testing.T, r TurnResult) {
		t.Helper()
		mustFail(t, r, "orchestration panicked: oops")
		if r.Error.Category != history.CategoryApplication || r.Error.Kind != history.KindPanicked || r.Error.Message != "oops" {
			t.Fatalf("error %+v", r.Error)
		}
		if !strings.Contains(r.Error.Stack, "goroutine") {
			t.Fatalf("no stack in the details: %q", r.Error.Stack)
		}
	}
	t.Run("at once", func(t *testing.T) {
		fn := func(ctx *Ctx, _ Value) (any, error) { panic("oops") }
		bothModes(t, fn, Options{}, func(h *harness) {
			r := h.turn(startMsg("Orch", nil))
			check(t, r)
			accDelta(t, r, "1:OrchestrationStarted 2:OrchestrationFailed")
		})
	})
	t.Run("after an activity", func(t *testing.T) {
		fn := func(ctx *Ctx, _ Value) (any, error) {
			if _, err := ctx.Yield(ctx.ScheduleActivity("A", 1)); err != nil {
				return nil, err
			}
			panic("oops")
		}
		bothModes(t, fn, Options{}, func(h *harness) {
			h.turn(startMsg("Orch", nil))
			r := h.turn(actDone(2, "a"))
			check(t, r)
			accDelta(t, r, "3:ActivityCompleted 4:OrchestrationFailed")
		})
	})
}

func TestAcceptance29_SystemActivityFailure(t *testing.T) {
	system := map[string]*history.ErrorDetails{
		"infrastructure": history.Infrastructure("store", "disk full", true),
		"configuration":  history.Nondeterminism("worker saw a different activity"),
		"poison": {Category: history.CategoryPoison, Kind: history.KindPoisonActivity, AttemptCount: 11, MaxAttempts: 10,
			Instance: testInstance, ActivityName: "A", ActivityID: 2},
	}
	for name, d := range system {
		t.Run(name, func(t *testing.T) {
			afterAwait := 0
			fn := func(ctx *Ctx, _ Value) (any, error) {
				_, err := ctx.Yield(ctx.ScheduleActivity("A", 1))
				afterAwait++
				if err != nil {
					return "handled: " + err.Error(), nil
				}
				return "ok", nil
			}
			bothModes(t, fn, Options{}, func(h *harness) {
				h.turn(startMsg("Orch", nil))
				m := actFailed(2, "")
				m.Error = d
				r := h.turn(m)
				mustOutcome(t, r, OutcomeFailed)
				if diff := cmp.Diff(d, r.Error, resultCmp...); diff != "" {
					t.Fatalf("error details (-want +got):\n%s", diff)
				}
				accDelta(t, r, "3:ActivityFailed 4:OrchestrationFailed")
				if diff := cmp.Diff(d, accFind(t, r.Delta, 3).Error, resultCmp...); diff != "" {
					t.Fatalf("recorded ActivityFailed details (-want +got):\n%s", diff)
				}
			})
			if afterAwait != 0 {
				t.Fatalf("the code saw the system failure %d times", afterAwait)
			}
		})
	}
	t.Run("application", func(t *testing.T) {
		fn := func(ctx *Ctx, _ Value) (any, error) {
			_, err := ctx.Yield(ctx.ScheduleActivity("A", 1))
			var te *TaskError
			if !errors.As(err, &te) {
				return nil, fmt.Errorf("want a *TaskError, got %v", err)
			}
			return fmt.Sprintf("%s|%s", te.Kind, te.Message), nil
		}
		bothModes(t, fn, Options{}, func(h *harness) {
			h.turn(startMsg("Orch", nil))
			r := h.turn(actFailed(2, "boom"))
			mustOutput(t, r, `"activity|boom"`)
		})
	})
}

func TestAcceptance30_ChildFailure(t *testing.T) {
	fn := func(ctx *Ctx, _ Value) (any, error) {
		_, err := ctx.Yield(ctx.ScheduleSubOrchestration("Child", 1))
		var te *TaskError
		if errors.As(err, &te) {
			return fmt.Sprintf("handled %s: %s", te.Kind, te.Message), nil
		}
		return "no error", err
	}
	t.Run("configuration cascades", func(t *testing.T) {
		d := history.Nondeterminism("step 1: child diverged")
		bothModes(t, fn, Options{}, func(h *harness) {
			h.turn(startMsg("Orch", nil))
			r := h.turn(childFailed(2, d))
			mustFail(t, r, "nondeterministic: step 1: child diverged")
			if diff := cmp.Diff(d, r.Error, resultCmp...); diff != "" {
				t.Fatalf("details (-want +got):\n%s", diff)
			}
			accDelta(t, r, "3:SubOrchestrationFailed 4:OrchestrationFailed")
		})
	})
	t.Run("application error is handled", func(t *testing.T) {
		bothModes(t, fn, Options{}, func(h *harness) {
			h.turn(startMsg("Orch", nil))
			r := h.turn(childFailed(2, history.Application(history.KindOrchestrationFailed, "child boom")))
			mustOutput(t, r, `"handled sub-orchestration: child boom"`)
		})
	})
}

func TestAcceptance31_IsReplaying(t *testing.T) {
	var seen []bool
	fn := func(ctx *Ctx, _ Value) (any, error) {
		seen = append(seen, ctx.IsReplaying())
		ctx.TraceInfo("before A")
		a, err := ctx.Yield(ctx.ScheduleActivity("A", 1))
		if err != nil {
			return nil, err
		}
		seen = append(seen, ctx.IsReplaying())
		ctx.TraceInfo("after A")
		b, err := ctx.Yield(ctx.ScheduleActivity("B", a))
		if err != nil {
			return nil, err
		}
		seen = append(seen, ctx.IsReplaying())
		ctx.TraceInfo("after B")
		return b, nil
	}
	traces := func(h *harness) []string {
		var s []string
		for _, r := range h.traces {
			s = append(s, r.Message)
		}
		return s
	}
	cases := []struct {
		name       string
		persisted  func() []history.Event
		msgs       []history.Message
		wantSeen   []bool
		wantTraces []string
	}{
		{"fresh start", func() []history.Event { return nil }, []history.Message{startMsg("Orch", nil)}, []bool{false}, []string{"before A"}},
		// Rust sees true here; docs/engine.md: nothing the code does then was recorded.
		{"only Started persisted", func() []history.Event { return []history.Event{accStarted(1)} }, nil, []bool{false}, []string{"before A"}},
		{"completion is the last persisted event", func() []history.Event {
			return []history.Event{accStarted(1), accActSched(2, "A", 1), accActDone(3, 2, "a")}
		}, nil, []bool{true, false}, []string{"after A"}},
		{"new completion after persisted history", func() []history.Event {
			return []history.Event{accStarted(1), accActSched(2, "A", 1), accActDone(3, 2, "a"), accActSched(4, "B", "a")}
		}, []history.Message{actDone(4, "b")}, []bool{true, true, false}, []string{"after B"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			bothModes(t, fn, Options{}, func(h *harness) {
				seen = nil
				h.persisted = c.persisted()
				h.turn(c.msgs...)
				if !slices.Equal(seen, c.wantSeen) {
					t.Fatalf("IsReplaying %v, want %v", seen, c.wantSeen)
				}
				if got := traces(h); !slices.Equal(got, c.wantTraces) {
					t.Fatalf("traces %q, want %q", got, c.wantTraces)
				}
			})
		})
	}
}

func TestAcceptance32_ChildIDs(t *testing.T) {
	t.Run("automatic id", func(t *testing.T) {
		fn := func(ctx *Ctx, _ Value) (any, error) { return ctx.Yield(ctx.ScheduleSubOrchestration("Child", 7)) }
		bothModes(t, fn, Options{}, func(h *harness) {
			r := h.turn(startMsg("Orch", nil))
			accDelta(t, r, "1:OrchestrationStarted 2:SubOrchestrationScheduled")
			if e := r.Delta[1]; e.Instance != "inst::sub::2" || e.Name != "Child" || string(e.Input) != "7" {
				t.Fatalf("event %+v", e)
			}
			want := []history.Message{{Kind: history.MsgStartOrchestration, Instance: "inst::sub::2", ExecutionID: 1, Name: "Child", Input: raw(7),
				ParentInstance: testInstance, ParentExecutionID: 1, ParentEventID: 2}}
			if diff := cmp.Diff(want, r.Messages, resultCmp...); diff != "" {
				t.Fatalf("messages (-want +got):\n%s", diff)
			}
			r = h.turn(childDone(2, "c"))
			mustOutput(t, r, `"c"`)
		})
	})
	t.Run("explicit id", func(t *testing.T) {
		fn := func(ctx *Ctx, _ Value) (any, error) {
			return ctx.Yield(ctx.ScheduleSubOrchestrationWithID("Child", "my-id", 7))
		}
		bothModes(t, fn, Options{}, func(h *harness) {
			r := h.turn(startMsg("Orch", nil))
			if e := r.Delta[1]; e.Kind != history.SubOrchestrationScheduled || e.Instance != "my-id" {
				t.Fatalf("event %+v", e)
			}
			if len(r.Messages) != 1 || r.Messages[0].Instance != "my-id" || r.Messages[0].ParentEventID != 2 {
				t.Fatalf("messages %+v", r.Messages)
			}
		})
	})
	t.Run("replay binds the id from history", func(t *testing.T) {
		fn := func(ctx *Ctx, _ Value) (any, error) {
			return ctx.Yield(ctx.Race(ctx.ScheduleSubOrchestration("Child", 7), ctx.ScheduleTimer(time.Minute)))
		}
		bothModes(t, fn, Options{}, func(h *harness) {
			h.persisted = []history.Event{
				accStarted(1),
				// An id written under another scheme: replay keeps it rather than recompute one.
				accEv(2, history.Event{Kind: history.SubOrchestrationScheduled, Name: "Child", Instance: "inst::sub::legacy-2", Input: raw(7)}),
				accTimerCreated(3),
			}
			r := h.turn(timerFired(3))
			mustOutput(t, r, `{"index":1,"value":null}`)
			accDelta(t, r, "4:TimerFired 5:SubOrchestrationCancelRequested 6:OrchestrationCompleted")
			accBreadcrumb(t, r, 5, history.SubOrchestrationCancelRequested, 2, history.ReasonDroppedFuture)
			want := []history.Message{{Kind: history.MsgCancelInstance, Instance: "inst::sub::legacy-2", Reason: history.ReasonParentDroppedChild}}
			if diff := cmp.Diff(want, r.Messages, resultCmp...); diff != "" {
				t.Fatalf("messages (-want +got):\n%s", diff)
			}
		})
	})
}

func TestAcceptance33_EventInStartBatch(t *testing.T) {
	fn := func(ctx *Ctx, _ Value) (any, error) {
		return ctx.Yield(ctx.Race(ctx.WaitForEvent("E"), ctx.ScheduleTimer(time.Hour)))
	}
	bothModes(t, fn, Options{}, func(h *harness) {
		r := h.turn(startMsg("Orch", nil), raised("E", "early"))
		mustOutput(t, r, `{"index":0,"value":"early"}`)
		accDelta(t, r, "1:OrchestrationStarted 2:ExternalEvent 3:ExternalSubscribed 4:TimerCreated 5:OrchestrationCompleted")
		if len(r.Messages) != 0 {
			t.Fatalf("the losing timer was sent: %+v", r.Messages)
		}
	})
}

func TestAcceptance34_TwoEventsOneWait(t *testing.T) {
	fn := func(ctx *Ctx, _ Value) (any, error) {
		e1, err := ctx.Yield(ctx.WaitForEvent("E"))
		if err != nil {
			return nil, err
		}
		if _, err := ctx.Yield(ctx.ScheduleActivity("Work", e1)); err != nil {
			return nil, err
		}
		e2, err := ctx.Yield(ctx.WaitForEvent("E"))
		if err != nil {
			return nil, err
		}
		return []Value{e1, e2}, nil
	}
	bothModes(t, fn, Options{}, func(h *harness) {
		r := h.turn(startMsg("Orch", nil))
		accDelta(t, r, "1:OrchestrationStarted 2:ExternalSubscribed")
		r = h.turn(raised("E", "one"), raised("E", "two"))
		mustOutcome(t, r, OutcomeContinue)
		accDelta(t, r, "3:ExternalEvent 4:ExternalEvent 5:ActivityScheduled")
		r = h.turn(actDone(5, nil))
		mustOutput(t, r, `["one","two"]`)
		accDelta(t, r, "6:ActivityCompleted 7:ExternalSubscribed 8:OrchestrationCompleted")
	})
}

func TestAcceptance35_WaitLosesRace(t *testing.T) {
	fn := func(ctx *Ctx, _ Value) (any, error) {
		if _, err := ctx.Yield(ctx.Race(ctx.WaitForEvent("Signal"), ctx.ScheduleTimer(time.Second))); err != nil {
			return nil, err
		}
		return ctx.Yield(ctx.WaitForEvent("Signal"))
	}
	t.Run("raised in a later turn", func(t *testing.T) {
		bothModes(t, fn, Options{}, func(h *harness) {
			r := h.turn(startMsg("Orch", nil))
			accDelta(t, r, "1:OrchestrationStarted 2:ExternalSubscribed 3:TimerCreated")
			r = h.turn(timerFired(3))
			mustOutcome(t, r, OutcomeContinue)
			accDelta(t, r, "4:TimerFired 5:ExternalSubscribedCancelled 6:ExternalSubscribed")
			accBreadcrumb(t, r, 5, history.ExternalSubscribedCancelled, 2, history.ReasonDroppedFuture)
			r = h.turn(raised("Signal", "hello"))
			mustOutput(t, r, `"hello"`)
			accDelta(t, r, "7:ExternalEvent 8:OrchestrationCompleted")
		})
	})
	t.Run("raised in the batch the timer fires in", func(t *testing.T) {
		bothModes(t, fn, Options{}, func(h *harness) {
			h.turn(startMsg("Orch", nil))
			r := h.turn(timerFired(3), raised("Signal", "hello"))
			mustOutput(t, r, `"hello"`)
			accDelta(t, r, "4:TimerFired 5:ExternalEvent 6:ExternalSubscribedCancelled 7:ExternalSubscribed 8:OrchestrationCompleted")
		})
	})
}

func TestAcceptance36_SequentialWaits(t *testing.T) {
	fn := func(ctx *Ctx, _ Value) (any, error) {
		a, err := ctx.Yield(ctx.WaitForEvent("Data"))
		if err != nil {
			return nil, err
		}
		b, err := ctx.Yield(ctx.WaitForEvent("Data"))
		if err != nil {
			return nil, err
		}
		return a.String() + "," + b.String(), nil
	}
	for _, c := range []struct{ first, second, want string }{{"first", "second", `"first,second"`}, {"same", "same", `"same,same"`}} {
		t.Run(c.first+"/"+c.second, func(t *testing.T) {
			bothModes(t, fn, Options{}, func(h *harness) {
				h.turn(startMsg("Orch", nil))
				r := h.turn(raised("Data", c.first))
				mustOutcome(t, r, OutcomeContinue)
				accDelta(t, r, "3:ExternalEvent 4:ExternalSubscribed")
				r = h.turn(raised("Data", c.second))
				mustOutput(t, r, c.want)
				accDelta(t, r, "5:ExternalEvent 6:OrchestrationCompleted")
			})
		})
	}
}

func TestAcceptance37_QueueFIFO(t *testing.T) {
	t.Run("buffered before the dequeues, FIFO", func(t *testing.T) {
		fn := func(ctx *Ctx, _ Value) (any, error) {
			if _, err := ctx.Yield(ctx.ScheduleActivity("A", 1)); err != nil {
				return nil, err
			}
			m1, err := ctx.Yield(ctx.DequeueEvent("q"))
			if err != nil {
				return nil, err
			}
			m2, err := ctx.Yield(ctx.DequeueEvent("q"))
			if err != nil {
				return nil, err
			}
			return []Value{m1, m2}, nil
		}
		bothModes(t, fn, Options{}, func(h *harness) {
			h.turn(startMsg("Orch", nil))
			r := h.turn(enqueued("q", "m1"), enqueued("q", "m2"))
			mustOutcome(t, r, OutcomeContinue)
			accDelta(t, r, "3:QueueEventDelivered 4:QueueEventDelivered")
			r = h.turn(actDone(2, nil))
			mustOutput(t, r, `["m1","m2"]`)
			accDelta(t, r, "5:ActivityCompleted 6:QueueSubscribed 7:QueueSubscribed 8:OrchestrationCompleted")
		})
	})
	t.Run("a dequeue that loses a race consumes nothing", func(t *testing.T) {
		fn := func(ctx *Ctx, _ Value) (any, error) {
			w, err := ctx.Yield(ctx.Race(ctx.DequeueEvent("q"), ctx.ScheduleTimer(time.Second)))
			if err != nil {
				return nil, err
			}
			m, err := ctx.Yield(ctx.DequeueEvent("q"))
			if err != nil {
				return nil, err
			}
			return []Value{w, m}, nil
		}
		bothModes(t, fn, Options{}, func(h *harness) {
			r := h.turn(startMsg("Orch", nil))
			accDelta(t, r, "1:OrchestrationStarted 2:QueueSubscribed 3:TimerCreated")
			r = h.turn(timerFired(3), enqueued("q", "m"))
			mustOutput(t, r, `[{"index":1,"value":null},"m"]`)
			accDelta(t, r, "4:TimerFired 5:QueueEventDelivered 6:QueueSubscriptionCancelled 7:QueueSubscribed 8:OrchestrationCompleted")
			accBreadcrumb(t, r, 6, history.QueueSubscriptionCancelled, 2, history.ReasonDroppedFuture)
		})
	})
}

func TestAcceptance38_QueueMessageBeforeStart(t *testing.T) {
	fn := func(ctx *Ctx, _ Value) (any, error) { return ctx.Yield(ctx.DequeueEvent("q")) }
	bothModes(t, fn, Options{}, func(h *harness) {
		// The store kept the message sent before the start (DECISIONS 3); it comes first
		// in the batch, and the engine still records the start first.
		r := h.turn(enqueued("q", "early"), startMsg("Orch", nil))
		mustOutput(t, r, `"early"`)
		accDelta(t, r, "1:OrchestrationStarted 2:QueueEventDelivered 3:QueueSubscribed 4:OrchestrationCompleted")
	})
}

func TestAcceptance39_CarryForwardAll(t *testing.T) {
	fn := func(ctx *Ctx, in Value) (any, error) {
		if in.String() == "first" {
			if _, err := ctx.Yield(ctx.ScheduleActivity("A", 1)); err != nil {
				return nil, err
			}
			return ctx.Yield(ctx.ContinueAsNew("second"))
		}
		var got []string
		for i := 0; i < 27; i++ {
			v, err := ctx.Yield(ctx.DequeueEvent("q"))
			if err != nil {
				return nil, err
			}
			got = append(got, v.String())
		}
		e, err := ctx.Yield(ctx.WaitForEvent("E"))
		if err != nil {
			return nil, err
		}
		return strings.Join(got, ",") + "|" + e.String(), nil
	}
	var batch []history.Message
	var want []history.CarriedEvent
	for i := 0; i < 25; i++ {
		batch = append(batch, enqueued("q", fmt.Sprintf("m%02d", i)))
		want = append(want, history.CarriedEvent{Queue: true, Name: "q", Data: raw(fmt.Sprintf("m%02d", i))})
		if i == 12 {
			batch = append(batch, raised("E", "e1"))
			want = append(want, history.CarriedEvent{Name: "E", Data: raw("e1")})
		}
	}
	// A message arriving in the batch whose completion makes the code continue as new is
	// recorded after the point where it stopped, and carried too.
	want = append(want, history.CarriedEvent{Queue: true, Name: "q", Data: raw("m25")})
	bothModes(t, fn, Options{}, func(h *harness) {
		h.turn(startMsg("Orch", "first"))
		r := h.turn(batch...)
		mustOutcome(t, r, OutcomeContinue)
		if len(r.Delta) != 26 {
			t.Fatalf("delta %s", kinds(r.Delta))
		}
		r = h.turn(actDone(2, nil), enqueued("q", "m25"))
		mustOutcome(t, r, OutcomeContinuedAsNew)
		accDelta(t, r, "29:ActivityCompleted 30:QueueEventDelivered 31:OrchestrationContinuedAsNew")
		if len(r.Messages) != 1 || r.Messages[0].Kind != history.MsgContinueAsNew {
			t.Fatalf("messages %+v", r.Messages)
		}
		can := r.Messages[0]
		if can.Instance != testInstance || can.ExecutionID != 1 || string(can.Input) != `"second"` || can.Name != "Orch" {
			t.Fatalf("ContinueAsNew message %+v", can)
		}
		if diff := cmp.Diff(want, can.CarryForward, resultCmp...); diff != "" {
			t.Fatalf("carried (-want +got):\n%s", diff)
		}

		accNextExecution(h)
		r = h.turn(can, enqueued("q", "new"))
		mustOutput(t, r, `"m00,m01,m02,m03,m04,m05,m06,m07,m08,m09,m10,m11,m12,m13,m14,m15,m16,m17,m18,m19,m20,m21,m22,m23,m24,m25,new|e1"`)
		started := r.Delta[0]
		if started.Kind != history.OrchestrationStarted || started.ExecutionID != 2 || len(started.CarryForward) != 27 {
			t.Fatalf("started %+v", started)
		}
		// The carried messages come right after Started (ids 2..28), oldest first, ahead of
		// the message that came with the ContinueAsNew.
		for i, c := range want {
			e := r.Delta[i+1]
			kind := history.ExternalEvent
			if c.Queue {
				kind = history.QueueEventDelivered
			}
			if e.EventID != uint64(i+2) || e.Kind != kind || e.Name != c.Name || string(e.Data) != string(c.Data) || e.ExecutionID != 2 {
				t.Fatalf("event %d = %+v, want %+v", i+2, e, c)
			}
		}
		if e := r.Delta[28]; e.EventID != 29 || e.Kind != history.QueueEventDelivered || string(e.Data) != `"new"` {
			t.Fatalf("event 29 = %+v", e)
		}
	})
}

func TestAcceptance40_ContinueAsNew(t *testing.T) {
	t.Run("chain of executions", func(t *testing.T) {
		fn := func(ctx *Ctx, in Value) (any, error) {
			var n int
			if err := in.Decode(&n); err != nil {
				return nil, err
			}
			switch n {
			case 1:
				ctx.SetCustomStatus("s1")
				ctx.SetKVValue("k", "v1")
				if _, err := ctx.Yield(ctx.ScheduleActivity("A", 1)); err != nil {
					return nil, err
				}
				return ctx.Yield(ctx.ContinueAsNew(2))
			case 2:
				if _, err := ctx.Yield(ctx.ScheduleActivity("B", 2)); err != nil {
					return nil, err
				}
				return ctx.Yield(ctx.ContinueAsNew(3))
			}
			status, _ := ctx.GetCustomStatus()
			kv, _ := ctx.GetKVValue("k")
			return fmt.Sprintf("exec=%d status=%s kv=%s", ctx.ExecutionID(), status, kv), nil
		}
		bothModes(t, fn, Options{}, func(h *harness) {
			h.opts.KV = nil
			h.turn(startMsg("Orch", 1))
			r := h.turn(actDone(4, nil))
			mustOutcome(t, r, OutcomeContinuedAsNew)
			if string(r.Output.Raw()) != "2" {
				t.Fatalf("output %s", r.Output.Raw())
			}
			accDelta(t, r, "5:ActivityCompleted 6:OrchestrationContinuedAsNew")
			can := r.Messages[0]
			if can.Kind != history.MsgContinueAsNew || can.InitialCustomStatus == nil || *can.InitialCustomStatus != "s1" {
				t.Fatalf("ContinueAsNew message %+v", can)
			}
			// The runtime merges the execution's KV writes into the instance's store and
			// seeds the next execution with it.
			h.opts.KV = map[string]KVEntry{"k": {Value: "v1", UpdatedAtMs: 1_001_000}}

			accNextExecution(h)
			r = h.turn(can)
			mustOutcome(t, r, OutcomeContinue)
			accDelta(t, r, "1:OrchestrationStarted 2:ActivityScheduled")
			if r.Delta[0].ExecutionID != 2 || r.Activities[0].ExecutionID != 2 {
				t.Fatalf("execution ids: %+v %+v", r.Delta[0], r.Activities[0])
			}
			// A late completion of execution 1's activity (id 4 there, 2 would collide
			// here) is filtered by execution id.
			r = h.turn(accMsgExec(actDone(2, "from exec 1"), 1))
			mustOutcome(t, r, OutcomeContinue)
			accDelta(t, r, "")
			r = h.turn(accMsgExec(actDone(2, nil), 2))
			mustOutcome(t, r, OutcomeContinuedAsNew)
			can = r.Messages[0]
			if can.ExecutionID != 2 || can.InitialCustomStatus == nil || *can.InitialCustomStatus != "s1" {
				t.Fatalf("ContinueAsNew message %+v", can)
			}

			accNextExecution(h)
			r = h.turn(can)
			mustOutput(t, r, `"exec=3 status=s1 kv=v1"`)
			for _, e := range r.Delta {
				if e.ExecutionID != 3 {
					t.Fatalf("event %+v not in execution 3", e)
				}
			}
		})
	})
	t.Run("not yielded has no effect", func(t *testing.T) {
		fn := func(ctx *Ctx, _ Value) (any, error) {
			_ = ctx.ContinueAsNew("x")
			return "done", nil
		}
		bothModes(t, fn, Options{}, func(h *harness) {
			r := h.turn(startMsg("Orch", nil))
			mustOutput(t, r, `"done"`)
			accDelta(t, r, "1:OrchestrationStarted 2:OrchestrationCompleted")
			if len(r.Messages) != 0 {
				t.Fatalf("messages %+v", r.Messages)
			}
		})
	})
	t.Run("inside All fails the yield", func(t *testing.T) {
		fn := func(ctx *Ctx, _ Value) (any, error) {
			_, err := ctx.Yield(ctx.All(ctx.ContinueAsNew("x")))
			if !errors.Is(err, ErrInvalidTask) {
				return nil, fmt.Errorf("want ErrInvalidTask, got %v", err)
			}
			return "rejected", nil
		}
		bothModes(t, fn, Options{}, func(h *harness) {
			r := h.turn(startMsg("Orch", nil))
			mustOutput(t, r, `"rejected"`)
		})
	})
}

func TestAcceptance41_VersionPinning(t *testing.T) {
	fn := func(ctx *Ctx, in Value) (any, error) {
		if in.String() == "upgrade" {
			return ctx.Yield(ctx.ContinueAsNewVersioned("v2 input", "2.0.0"))
		}
		if in.String() == "latest" {
			return ctx.Yield(ctx.ContinueAsNew("next"))
		}
		if _, err := ctx.Yield(ctx.ScheduleActivity("A", 1)); err != nil {
			return nil, err
		}
		return ctx.OrchestrationVersion(), nil
	}
	t.Run("completion-only batch keeps the recorded version", func(t *testing.T) {
		bothModes(t, fn, Options{Version: "1.0.3"}, func(h *harness) {
			st := accStarted(1)
			st.Version = "1.0.2"
			h.persisted = []history.Event{st, accActSched(2, "A", 1)}
			r := h.turn(actDone(2, nil))
			mustOutput(t, r, `"1.0.2"`)
		})
	})
	t.Run("new execution records the resolved version", func(t *testing.T) {
		bothModes(t, fn, Options{Version: "1.0.3"}, func(h *harness) {
			r := h.turn(startMsg("Orch", nil))
			if v := r.Delta[0].Version; v != "1.0.3" {
				t.Fatalf("Started version %q", v)
			}
			r = h.turn(actDone(2, nil))
			mustOutput(t, r, `"1.0.3"`)
		})
	})
	t.Run("continue-as-new passes the version on", func(t *testing.T) {
		bothModes(t, fn, Options{}, func(h *harness) {
			r := h.turn(startMsg("Orch", "upgrade"))
			mustOutcome(t, r, OutcomeContinuedAsNew)
			if e := accFind(t, r.Delta, 2); e.Kind != history.OrchestrationContinuedAsNew || e.Version != "2.0.0" {
				t.Fatalf("terminal event %+v", e)
			}
			if m := r.Messages[0]; m.Kind != history.MsgContinueAsNew || m.Version != "2.0.0" {
				t.Fatalf("message %+v", m)
			}
		})
		bothModes(t, fn, Options{}, func(h *harness) {
			r := h.turn(startMsg("Orch", "latest"))
			mustOutcome(t, r, OutcomeContinuedAsNew)
			if m := r.Messages[0]; m.Kind != history.MsgContinueAsNew || m.Version != "" {
				t.Fatalf("message %+v (an empty version lets the runtime pick the latest)", m)
			}
		})
	})
}

func TestAcceptance42_KVDeterminism(t *testing.T) {
	t.Run("read-modify-write across turns", func(t *testing.T) {
		fn := func(ctx *Ctx, _ Value) (any, error) {
			for i := 0; i < 3; i++ {
				v, _ := ctx.GetKVValue("count")
				n, _ := strconv.Atoi(v)
				ctx.SetKVValue("count", strconv.Itoa(n+1))
				if _, err := ctx.Yield(ctx.ScheduleActivity("Work", i)); err != nil {
					return nil, err
				}
			}
			v, _ := ctx.GetKVValue("count")
			return v, nil
		}
		bothModes(t, fn, Options{}, func(h *harness) {
			r := h.turn(startMsg("Orch", nil))
			accDelta(t, r, "1:OrchestrationStarted 2:KeyValueSet 3:ActivityScheduled")
			r = h.turn(actDone(3, nil))
			accDelta(t, r, "4:ActivityCompleted 5:KeyValueSet 6:ActivityScheduled")
			r = h.turn(actDone(6, nil))
			accDelta(t, r, "7:ActivityCompleted 8:KeyValueSet 9:ActivityScheduled")
			r = h.turn(actDone(9, nil))
			mustOutput(t, r, `"3"`)
			var vals []string
			for _, e := range h.persisted {
				if e.Kind == history.KeyValueSet {
					vals = append(vals, e.Value)
				}
			}
			if !slices.Equal(vals, []string{"1", "2", "3"}) {
				t.Fatalf("KV writes %q", vals)
			}
		})
	})
	t.Run("value mismatch", func(t *testing.T) {
		fn := func(ctx *Ctx, _ Value) (any, error) {
			ctx.SetKVValue("k", "new")
			return ctx.Yield(ctx.ScheduleActivity("A", 1))
		}
		bothModes(t, fn, Options{}, func(h *harness) {
			h.persisted = []history.Event{accStarted(1), accEv(2, history.Event{Kind: history.KeyValueSet, Key: "k", Value: "old"}), accActSched(3, "A", 1)}
			r := h.turn()
			mustFail(t, r, `nondeterministic: step 1: orchestration recorded KeyValueSet(key="k", value="new"), history has KeyValueSet(key="k", value="old") at event 2`)
		})
	})
	t.Run("timestamps come from history", func(t *testing.T) {
		fn := func(ctx *Ctx, _ Value) (any, error) {
			ctx.SetKVValue("k", "v")
			if _, err := ctx.Yield(ctx.ScheduleActivity("A", 1)); err != nil {
				return nil, err
			}
			// The key was written at 500_000 (recorded), the turn runs at 1_001_000.
			return ctx.PruneKVValuesUpdatedBefore(accTS + 50_000), nil
		}
		bothModes(t, fn, Options{}, func(h *harness) {
			h.persisted = []history.Event{accStarted(1), accEv(2, history.Event{Kind: history.KeyValueSet, Key: "k", Value: "v"}), accActSched(3, "A", 1)}
			r := h.turn(actDone(3, nil))
			mustOutput(t, r, "1")
			accDelta(t, r, "4:ActivityCompleted 5:KeyValueCleared 6:OrchestrationCompleted")
		})
	})
}

func TestAcceptance43_RetryPolicy(t *testing.T) {
	outcome := func(ctx *Ctx, task Task) (any, error) {
		v, err := ctx.Yield(task)
		var te *TaskError
		if errors.As(err, &te) {
			return fmt.Sprintf("%s|%s", te.Kind, te.Message), nil
		}
		return v, err
	}
	t.Run("per-attempt timeout is not retried", func(t *testing.T) {
		fn := func(ctx *Ctx, _ Value) (any, error) {
			return outcome(ctx, ctx.ScheduleActivityWithRetry("A", "x", RetryPolicy{MaxAttempts: 3, Timeout: time.Second}))
		}
		bothModes(t, fn, Options{}, func(h *harness) {
			r := h.turn(startMsg("Orch", nil))
			accDelta(t, r, "1:OrchestrationStarted 2:ActivityScheduled 3:TimerCreated")
			if len(r.Messages) != 1 || r.Messages[0].FireAtMs != 1_002_000 {
				t.Fatalf("timer %+v", r.Messages)
			}
			r = h.turn(timerFired(3))
			mustOutput(t, r, `"timeout|timeout: activity timed out"`)
			accDelta(t, r, "4:TimerFired 5:ActivityCancelRequested 6:OrchestrationCompleted")
			accIDs(t, "cancelled activities", accCancelledIDs(r), []uint64{2})
			if n := accCount(h.persisted, history.ActivityScheduled); n != 1 {
				t.Fatalf("%d attempts", n)
			}
		})
	})
	t.Run("two failures then success with fixed backoff", func(t *testing.T) {
		fn := func(ctx *Ctx, _ Value) (any, error) {
			return outcome(ctx, ctx.ScheduleActivityWithRetry("A", "x", RetryPolicy{MaxAttempts: 3, Backoff: BackoffFixed}))
		}
		bothModes(t, fn, Options{}, func(h *harness) {
			r := h.turn(startMsg("Orch", nil))
			accDelta(t, r, "1:OrchestrationStarted 2:ActivityScheduled")
			r = h.turn(actFailed(2, "e1"))
			accDelta(t, r, "3:ActivityFailed 4:TimerCreated")
			if len(r.Messages) != 1 || r.Messages[0].FireAtMs != h.now+1000 {
				t.Fatalf("backoff timer %+v (now %d)", r.Messages, h.now)
			}
			r = h.turn(timerFired(4))
			accDelta(t, r, "5:TimerFired 6:ActivityScheduled")
			r = h.turn(actFailed(6, "e2"))
			accDelta(t, r, "7:ActivityFailed 8:TimerCreated")
			r = h.turn(timerFired(8))
			accDelta(t, r, "9:TimerFired 10:ActivityScheduled")
			r = h.turn(actDone(10, "ok"))
			mustOutput(t, r, `"ok"`)
			if a, tm := accCount(h.persisted, history.ActivityScheduled), accCount(h.persisted, history.TimerCreated); a != 3 || tm != 2 {
				t.Fatalf("%d attempts, %d back-off timers", a, tm)
			}
			var warns []string
			for _, tr := range h.traces {
				warns = append(warns, tr.Level+": "+tr.Message)
			}
			want := []string{"warn: Activity 'A' attempt 1/3 failed: e1. Retrying...", "warn: Activity 'A' attempt 2/3 failed: e2. Retrying..."}
			if !slices.Equal(warns, want) {
				t.Fatalf("traces %q", warns)
			}
		})
	})
}

func TestAcceptance44_PoisonActivityFailure(t *testing.T) {
	// Unregistered orchestrations/activities and poison counting are the runtime's; here:
	// a poisoned activity fails its orchestration with those details, reported to the parent.
	d := &history.ErrorDetails{Category: history.CategoryPoison, Kind: history.KindPoisonActivity, AttemptCount: 4, MaxAttempts: 3,
		Instance: testInstance, ActivityName: "Unknown", ActivityID: 2}
	fn := func(ctx *Ctx, _ Value) (any, error) { return ctx.Yield(ctx.ScheduleActivity("Unknown", 1)) }
	bothModes(t, fn, Options{}, func(h *harness) {
		st := accStarted(1)
		st.ParentInstance, st.ParentExecutionID, st.ParentEventID = "parent", 3, 7
		h.persisted = []history.Event{st, accActSched(2, "Unknown", 1)}
		m := actFailed(2, "")
		m.Error = d
		r := h.turn(m)
		mustFail(t, r, "poison: activity Unknown#2 exceeded 4 attempts (max 3)")
		accDelta(t, r, "3:ActivityFailed 4:OrchestrationFailed")
		want := []history.Message{{Kind: history.MsgSubOrchFailed, Instance: "parent", ExecutionID: 3, ID: 7, Error: d}}
		if diff := cmp.Diff(want, r.Messages, resultCmp...); diff != "" {
			t.Fatalf("messages (-want +got):\n%s", diff)
		}
	})
}

func TestAcceptance45_Limits(t *testing.T) {
	status := func(n int) Orchestration {
		return func(ctx *Ctx, _ Value) (any, error) {
			ctx.SetCustomStatus(strings.Repeat("s", n))
			return "ok", nil
		}
	}
	t.Run("custom status at the limit", func(t *testing.T) {
		bothModes(t, status(MaxCustomStatusBytes), Options{}, func(h *harness) {
			r := h.turn(startMsg("Orch", nil))
			mustOutput(t, r, `"ok"`)
			if !r.CustomStatusChanged || r.CustomStatus == nil || len(*r.CustomStatus) != 262144 {
				t.Fatalf("custom status not recorded")
			}
		})
	})
	t.Run("custom status over the limit", func(t *testing.T) {
		bothModes(t, status(MaxCustomStatusBytes+1), Options{}, func(h *harness) {
			r := h.turn(startMsg("Orch", nil))
			mustFail(t, r, "Custom status size (262145 bytes) exceeds limit (262144 bytes)")
			if r.Error.Category != history.CategoryApplication {
				t.Fatalf("error %+v", r.Error)
			}
			accDelta(t, r, "1:OrchestrationStarted 2:OrchestrationFailed")
		})
	})
	value := func(n int) Orchestration {
		return func(ctx *Ctx, _ Value) (any, error) {
			ctx.SetKVValue("big", strings.Repeat("v", n))
			return "ok", nil
		}
	}
	t.Run("KV value at the limit", func(t *testing.T) {
		bothModes(t, value(64*1024), Options{}, func(h *harness) {
			mustOutput(t, h.turn(startMsg("Orch", nil)), `"ok"`)
		})
	})
	t.Run("KV value over the limit", func(t *testing.T) {
		bothModes(t, value(64*1024+1), Options{}, func(h *harness) {
			mustFail(t, h.turn(startMsg("Orch", nil)), "KV value for key 'big' (65537 bytes) exceeds limit (65536 bytes)")
		})
	})
	t.Run("KV keys counted across turns", func(t *testing.T) {
		fn := func(ctx *Ctx, _ Value) (any, error) {
			for i := 0; i < 100; i++ {
				ctx.SetKVValue(fmt.Sprintf("k%03d", i), "v")
			}
			if _, err := ctx.Yield(ctx.ScheduleActivity("A", 1)); err != nil {
				return nil, err
			}
			for i := 100; i < 150; i++ {
				ctx.SetKVValue(fmt.Sprintf("k%03d", i), "v")
			}
			ctx.SetKVValue("k000", "overwrite") // an existing key does not count again
			if _, err := ctx.Yield(ctx.ScheduleActivity("B", 2)); err != nil {
				return nil, err
			}
			ctx.SetKVValue("one-too-many", "v")
			return ctx.GetKVLength(), nil
		}
		bothModes(t, fn, Options{}, func(h *harness) {
			r := h.turn(startMsg("Orch", nil))
			mustOutcome(t, r, OutcomeContinue)
			r = h.turn(actDone(102, nil))
			mustOutcome(t, r, OutcomeContinue)
			if n := accCount(r.Delta, history.KeyValueSet); n != 51 {
				t.Fatalf("%d KV writes", n)
			}
			r = h.turn(actDone(155, nil))
			mustFail(t, r, "KV key count (151) exceeds limit (150)")
			if n := accCount(r.Delta, history.KeyValueSet); n != 0 {
				t.Fatalf("the key over the limit was recorded: %s", kinds(r.Delta))
			}
		})
	})
}

func TestAcceptance46_StepBudget(t *testing.T) {
	fn := func(ctx *Ctx, _ Value) (any, error) {
		var got []string
		for i := 0; i < 30; i++ {
			v, err := ctx.Yield(ctx.DequeueEvent("q"))
			if err != nil {
				return nil, err
			}
			got = append(got, v.String())
		}
		return strings.Join(got, ","), nil
	}
	batch := []history.Message{startMsg("Orch", nil)}
	var want []string
	for i := 0; i < 30; i++ {
		batch = append(batch, enqueued("q", fmt.Sprintf("m%02d", i)))
		want = append(want, fmt.Sprintf("m%02d", i))
	}
	wantOut := `"` + strings.Join(want, ",") + `"`
	t.Run("budget 10", func(t *testing.T) {
		bothModes(t, fn, Options{StepBudget: 10}, func(h *harness) {
			r := h.turn(batch...)
			turns, subs := 1, 0
			for r.Outcome == OutcomeContinue {
				n := accCount(r.Delta, history.QueueSubscribed)
				subs += n
				if n > 10 || (turns == 1 && n != 10) {
					t.Fatalf("turn %d recorded %d scheduling events (budget 10)", turns, n)
				}
				if !r.HasMoreWork {
					t.Fatalf("turn %d stopped without HasMoreWork", turns)
				}
				want := []history.Message{{Kind: history.MsgContinue, Instance: testInstance, ExecutionID: 1}}
				if diff := cmp.Diff(want, r.Messages, resultCmp...); diff != "" {
					t.Fatalf("turn %d messages (-want +got):\n%s", turns, diff)
				}
				if turns > 10 {
					t.Fatalf("no progress after %d turns", turns)
				}
				r = h.turn(r.Messages[0])
				turns++
			}
			subs += accCount(r.Delta, history.QueueSubscribed)
			mustOutput(t, r, wantOut)
			if r.HasMoreWork || turns < 3 || subs != 30 {
				t.Fatalf("finished in %d turns with %d subscriptions, HasMoreWork %v", turns, subs, r.HasMoreWork)
			}
		})
	})
	t.Run("default budget", func(t *testing.T) {
		bothModes(t, fn, Options{}, func(h *harness) {
			r := h.turn(batch...)
			mustOutput(t, r, wantOut)
			if r.HasMoreWork {
				t.Fatal("HasMoreWork on a finished turn")
			}
		})
	})
}
