package yield

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/duroxide-go/duroxide/history"
)

// Tests of the Python protocol shapes (All, Race, result encoding), type preservation,
// the Value API, the typed helpers and TaskError, end to end through the engine.

// protoDescribe lists events as "id:Kind(name)" / "id:Kind(src=n)" for exact assertions.
func protoDescribe(evs []history.Event) string {
	var b strings.Builder
	for i, e := range evs {
		if i > 0 {
			b.WriteByte(' ')
		}
		fmt.Fprintf(&b, "%d:%s", e.EventID, e.Kind)
		switch {
		case e.SourceEventID != 0:
			fmt.Fprintf(&b, "(src=%d)", e.SourceEventID)
		case e.Name != "" && e.Kind != history.OrchestrationStarted:
			fmt.Fprintf(&b, "(%s)", e.Name)
		}
	}
	return b.String()
}

// protoDelta fails unless the turn's delta is exactly want (see protoDescribe).
func protoDelta(t *testing.T, res TurnResult, want string) {
	t.Helper()
	if got := protoDescribe(res.Delta); got != want {
		t.Fatalf("delta\n got: %s\nwant: %s", got, want)
	}
}

// protoEvent returns the event of the delta with id, failing when absent.
func protoEvent(t *testing.T, res TurnResult, id uint64) history.Event {
	t.Helper()
	for _, e := range res.Delta {
		if e.EventID == id {
			return e
		}
	}
	t.Fatalf("no event %d in delta %s", id, protoDescribe(res.Delta))
	return history.Event{}
}

func protoNoActivities(t *testing.T, res TurnResult) {
	t.Helper()
	if len(res.Activities) != 0 {
		t.Fatalf("activities = %+v, want none", res.Activities)
	}
}

func protoNoCancelled(t *testing.T, res TurnResult) {
	t.Helper()
	if len(res.CancelledActivities) != 0 {
		t.Fatalf("cancelled activities = %+v, want none", res.CancelledActivities)
	}
}

// protoMessageKinds lists the kinds and targets of the turn's messages.
func protoMessageKinds(res TurnResult) string {
	var parts []string
	for _, m := range res.Messages {
		parts = append(parts, fmt.Sprintf("%s->%s", m.Kind, m.Instance))
	}
	return strings.Join(parts, " ")
}

// protoYieldValue is an orchestration that yields the task built by mk and returns its
// raw result (or its error).
func protoYieldValue(mk func(ctx *Ctx) Task) Orchestration {
	return func(ctx *Ctx, _ Value) (any, error) {
		return ctx.Yield(mk(ctx))
	}
}

// ---- All ----

func TestProtoAllArgumentOrder(t *testing.T) {
	fn := protoYieldValue(func(ctx *Ctx) Task {
		return ctx.All(ctx.ScheduleActivity("A", 1), ctx.ScheduleActivity("B", 2), ctx.ScheduleTimer(time.Second), ctx.WaitForEvent("ev"))
	})
	const want = `[{"ok":"a"},{"err":"b failed"},{"ok":null},{"ok":{"x":1}}]`
	t.Run("separate turns, reverse order", func(t *testing.T) {
		bothModes(t, fn, Options{}, func(h *harness) {
			r := h.turn(startMsg("All", nil))
			protoDelta(t, r, "1:OrchestrationStarted 2:ActivityScheduled(A) 3:ActivityScheduled(B) 4:TimerCreated 5:ExternalSubscribed(ev)")
			r = h.turn(actFailed(3, "b failed"))
			mustOutcome(t, r, OutcomeContinue)
			r = h.turn(raised("ev", map[string]any{"x": 1}))
			mustOutcome(t, r, OutcomeContinue)
			r = h.turn(timerFired(4))
			mustOutcome(t, r, OutcomeContinue)
			r = h.turn(actDone(2, "a"))
			mustOutput(t, r, want)
			protoDelta(t, r, "9:ActivityCompleted(src=2) 10:OrchestrationCompleted")
		})
	})
	t.Run("one batch, reverse order", func(t *testing.T) {
		bothModes(t, fn, Options{}, func(h *harness) {
			h.turn(startMsg("All", nil))
			r := h.turn(raised("ev", map[string]any{"x": 1}), timerFired(4), actFailed(3, "b failed"), actDone(2, "a"))
			mustOutput(t, r, want)
		})
	})
}

func TestProtoAllEmpty(t *testing.T) {
	fn := func(ctx *Ctx, _ Value) (any, error) {
		v, err := ctx.Yield(ctx.All())
		if err != nil {
			return nil, err
		}
		rs, err := AwaitAll(ctx)
		if err != nil {
			return nil, err
		}
		return []any{v, len(rs)}, nil
	}
	bothModes(t, fn, Options{}, func(h *harness) {
		r := h.turn(startMsg("Empty", nil))
		mustOutput(t, r, `[[],0]`)
		protoDelta(t, r, "1:OrchestrationStarted 2:OrchestrationCompleted")
	})
}

func TestProtoAllDetachedStartResolvesAtOnce(t *testing.T) {
	t.Run("with an activity", func(t *testing.T) {
		fn := protoYieldValue(func(ctx *Ctx) Task {
			return ctx.All(ctx.StartOrchestration("Bg", "bg-1", map[string]int{"k": 1}), ctx.ScheduleActivity("A", nil))
		})
		bothModes(t, fn, Options{}, func(h *harness) {
			r := h.turn(startMsg("Detached", nil))
			mustOutcome(t, r, OutcomeContinue)
			protoDelta(t, r, "1:OrchestrationStarted 2:OrchestrationChained(Bg) 3:ActivityScheduled(A)")
			if got := protoMessageKinds(r); got != "StartOrchestration->bg-1" {
				t.Fatalf("messages %s", got)
			}
			if string(r.Messages[0].Input) != `{"k":1}` || r.Messages[0].Name != "Bg" {
				t.Fatalf("start message %+v", r.Messages[0])
			}
			if len(r.Activities) != 1 || r.Activities[0].ID != 3 {
				t.Fatalf("activities %+v", r.Activities)
			}
			r = h.turn(actDone(3, "a"))
			mustOutput(t, r, `[{"ok":null},{"ok":"a"}]`)
		})
	})
	t.Run("alone", func(t *testing.T) {
		fn := func(ctx *Ctx, _ Value) (any, error) {
			one, err := ctx.Yield(ctx.StartOrchestration("Bg", "bg-1", nil))
			if err != nil {
				return nil, err
			}
			all, err := ctx.Yield(ctx.All(ctx.StartOrchestration("Bg", "bg-2", nil)))
			if err != nil {
				return nil, err
			}
			return []Value{one, all}, nil
		}
		bothModes(t, fn, Options{}, func(h *harness) {
			r := h.turn(startMsg("Detached", nil))
			mustOutput(t, r, `[null,[{"ok":null}]]`)
			protoDelta(t, r, "1:OrchestrationStarted 2:OrchestrationChained(Bg) 3:OrchestrationChained(Bg) 4:OrchestrationCompleted")
		})
	})
}

// ---- Race ----

func TestProtoRaceWinnerAndLoserFromEarlierTurn(t *testing.T) {
	fn := protoYieldValue(func(ctx *Ctx) Task {
		return ctx.Race(ctx.ScheduleActivity("A", nil), ctx.ScheduleActivity("B", nil))
	})
	bothModes(t, fn, Options{}, func(h *harness) {
		r := h.turn(startMsg("Race", nil))
		protoDelta(t, r, "1:OrchestrationStarted 2:ActivityScheduled(A) 3:ActivityScheduled(B)")
		r = h.turn(actDone(3, map[string]int{"v": 2}))
		mustOutput(t, r, `{"index":1,"value":{"v":2}}`)
		protoDelta(t, r, "4:ActivityCompleted(src=3) 5:ActivityCancelRequested(src=2) 6:OrchestrationCompleted")
		if e := protoEvent(t, r, 5); e.Reason != history.ReasonDroppedFuture {
			t.Fatalf("breadcrumb reason %q", e.Reason)
		}
		want := []history.ActivityRef{{Instance: testInstance, ExecutionID: 1, ID: 2}}
		if fmt.Sprint(r.CancelledActivities) != fmt.Sprint(want) {
			t.Fatalf("cancelled activities %+v, want %+v", r.CancelledActivities, want)
		}
		protoNoActivities(t, r)
	})
}

func TestProtoRaceFailedWinnerValueIsMessage(t *testing.T) {
	fn := func(ctx *Ctx, _ Value) (any, error) {
		v, err := ctx.Yield(ctx.Race(ctx.ScheduleActivity("A", nil), ctx.ScheduleTimer(time.Minute)))
		if err != nil {
			return nil, fmt.Errorf("race returned an error: %w", err)
		}
		return v, nil
	}
	bothModes(t, fn, Options{}, func(h *harness) {
		h.turn(startMsg("Race", nil))
		r := h.turn(actFailed(2, "a exploded"))
		mustOutput(t, r, `{"index":0,"value":"a exploded"}`)
		protoDelta(t, r, "4:ActivityFailed(src=2) 5:OrchestrationCompleted")
	})
}

func TestProtoRaceLoserScheduledInSameTurn(t *testing.T) {
	fn := protoYieldValue(func(ctx *Ctx) Task {
		return ctx.Race(ctx.StartOrchestration("Bg", "bg-1", nil), ctx.ScheduleActivity("A", nil))
	})
	bothModes(t, fn, Options{}, func(h *harness) {
		r := h.turn(startMsg("Race", nil))
		mustOutput(t, r, `{"index":0,"value":null}`)
		protoDelta(t, r, "1:OrchestrationStarted 2:OrchestrationChained(Bg) 3:ActivityScheduled(A) 4:ActivityCancelRequested(src=3) 5:OrchestrationCompleted")
		protoNoActivities(t, r)
		protoNoCancelled(t, r)
		if got := protoMessageKinds(r); got != "StartOrchestration->bg-1" {
			t.Fatalf("messages %s", got)
		}
	})
}

func TestProtoRaceLoserEventInStartBatch(t *testing.T) {
	// The event raised with the start is applied after the race was yielded: it wins,
	// and the activity scheduled in this same turn is withdrawn before it is sent.
	fn := protoYieldValue(func(ctx *Ctx) Task {
		return ctx.Race(ctx.WaitForEvent("go"), ctx.ScheduleActivity("A", nil))
	})
	bothModes(t, fn, Options{}, func(h *harness) {
		r := h.turn(startMsg("Race", nil), raised("go", 5))
		mustOutput(t, r, `{"index":0,"value":5}`)
		protoDelta(t, r, "1:OrchestrationStarted 2:ExternalEvent(go) 3:ExternalSubscribed(go) 4:ActivityScheduled(A) 5:ActivityCancelRequested(src=4) 6:OrchestrationCompleted")
		protoNoActivities(t, r)
		protoNoCancelled(t, r)
	})
}

func TestProtoRaceLosingChildIsCancelled(t *testing.T) {
	fn := protoYieldValue(func(ctx *Ctx) Task {
		return ctx.Race(ctx.ScheduleSubOrchestration("Child", 7), ctx.ScheduleTimer(time.Second))
	})
	bothModes(t, fn, Options{}, func(h *harness) {
		r := h.turn(startMsg("Race", nil))
		protoDelta(t, r, "1:OrchestrationStarted 2:SubOrchestrationScheduled(Child) 3:TimerCreated")
		if got := protoMessageKinds(r); got != "StartOrchestration->inst::sub::2 TimerFired->inst" {
			t.Fatalf("messages %s", got)
		}
		r = h.turn(timerFired(3))
		mustOutput(t, r, `{"index":1,"value":null}`)
		protoDelta(t, r, "4:TimerFired(src=3) 5:SubOrchestrationCancelRequested(src=2) 6:OrchestrationCompleted")
		if e := protoEvent(t, r, 5); e.Reason != history.ReasonDroppedFuture {
			t.Fatalf("breadcrumb reason %q", e.Reason)
		}
		if got := protoMessageKinds(r); got != "CancelInstance->inst::sub::2" {
			t.Fatalf("messages %s", got)
		}
		if r.Messages[0].Reason != history.ReasonParentDroppedChild {
			t.Fatalf("cancel reason %q", r.Messages[0].Reason)
		}
	})
}

func TestProtoRaceLosingWaitConsumesNothing(t *testing.T) {
	fn := func(ctx *Ctx, _ Value) (any, error) {
		r, err := ctx.Yield(ctx.Race(ctx.WaitForEvent("A"), ctx.ScheduleTimer(time.Second)))
		if err != nil {
			return nil, err
		}
		next, err := ctx.Yield(ctx.WaitForEvent("A"))
		if err != nil {
			return nil, err
		}
		return []Value{r, next}, nil
	}
	bothModes(t, fn, Options{}, func(h *harness) {
		r := h.turn(startMsg("Race", nil))
		protoDelta(t, r, "1:OrchestrationStarted 2:ExternalSubscribed(A) 3:TimerCreated")
		// The event arrives in the batch right after the timer: the race has already
		// dropped its wait, so the next wait gets it.
		r = h.turn(timerFired(3), raised("A", "first"))
		mustOutput(t, r, `[{"index":1,"value":null},"first"]`)
		protoDelta(t, r, "4:TimerFired(src=3) 5:ExternalEvent(A) 6:ExternalSubscribedCancelled(src=2) 7:ExternalSubscribed(A) 8:OrchestrationCompleted")
		if e := protoEvent(t, r, 6); e.Reason != history.ReasonDroppedFuture {
			t.Fatalf("breadcrumb reason %q", e.Reason)
		}
	})
}

// DECISIONS 7: race ordering.

// protoRaceThenWait races two tasks, then waits for event "A" and returns both results.
func protoRaceThenWait(before func(ctx *Ctx) error, a, b func(ctx *Ctx) Task) Orchestration {
	return func(ctx *Ctx, _ Value) (any, error) {
		if before != nil {
			if err := before(ctx); err != nil {
				return nil, err
			}
		}
		r, err := ctx.Yield(ctx.Race(a(ctx), b(ctx)))
		if err != nil {
			return nil, err
		}
		next, err := ctx.Yield(ctx.WaitForEvent("A"))
		if err != nil {
			return nil, err
		}
		return []Value{r, next}, nil
	}
}

func protoWait(name string) func(ctx *Ctx) Task {
	return func(ctx *Ctx) Task { return ctx.WaitForEvent(name) }
}

func TestProtoRaceEventsRaisedFirstWins(t *testing.T) {
	t.Run("raised with the start", func(t *testing.T) {
		fn := protoRaceThenWait(nil, protoWait("A"), protoWait("B"))
		bothModes(t, fn, Options{}, func(h *harness) {
			r := h.turn(startMsg("Race", nil), raised("B", "b"), raised("A", "a"))
			mustOutput(t, r, `[{"index":1,"value":"b"},"a"]`)
			protoDelta(t, r, "1:OrchestrationStarted 2:ExternalEvent(B) 3:ExternalEvent(A) 4:ExternalSubscribed(A) 5:ExternalSubscribed(B) "+
				"6:ExternalSubscribedCancelled(src=4) 7:ExternalSubscribed(A) 8:OrchestrationCompleted")
		})
	})
	t.Run("buffered before the race", func(t *testing.T) {
		before := func(ctx *Ctx) error { _, err := ctx.Yield(ctx.ScheduleActivity("X", nil)); return err }
		fn := protoRaceThenWait(before, protoWait("A"), protoWait("B"))
		bothModes(t, fn, Options{}, func(h *harness) {
			h.turn(startMsg("Race", nil))
			r := h.turn(raised("B", "b"), raised("A", "a"))
			mustOutcome(t, r, OutcomeContinue)
			protoDelta(t, r, "3:ExternalEvent(B) 4:ExternalEvent(A)")
			r = h.turn(actDone(2, nil))
			// B was raised first, so B wins; A's wait consumes nothing and the next wait
			// on A gets A's event.
			mustOutput(t, r, `[{"index":1,"value":"b"},"a"]`)
		})
	})
}

func TestProtoRaceBufferedLoserWaitIsMarkedCancelled(t *testing.T) {
	// The losing wait of a race whose completions were both buffered is dropped like any
	// losing wait: its subscription gets an ExternalSubscribedCancelled breadcrumb, so the
	// history says the subscription consumed nothing (DECISIONS 6: dropped subscriptions
	// are marked).
	before := func(ctx *Ctx) error { _, err := ctx.Yield(ctx.ScheduleActivity("X", nil)); return err }
	fn := protoRaceThenWait(before, protoWait("A"), protoWait("B"))
	bothModes(t, fn, Options{}, func(h *harness) {
		h.turn(startMsg("Race", nil))
		h.turn(raised("B", "b"), raised("A", "a"))
		r := h.turn(actDone(2, nil))
		mustOutput(t, r, `[{"index":1,"value":"b"},"a"]`)
		protoDelta(t, r, "5:ActivityCompleted(src=2) 6:ExternalSubscribed(A) 7:ExternalSubscribed(B) "+
			"8:ExternalSubscribedCancelled(src=6) 9:ExternalSubscribed(A) 10:OrchestrationCompleted")
	})
}

func TestProtoRaceTiesGoToFirstArgument(t *testing.T) {
	cases := []struct {
		name string
		a, b func(ctx *Ctx) Task
		want string
	}{
		{"utcnow vs detached", func(ctx *Ctx) Task { return ctx.UtcNow() },
			func(ctx *Ctx) Task { return ctx.StartOrchestration("Bg", "bg-1", nil) }, `{"index":0,"value":1001000}`},
		{"detached vs utcnow", func(ctx *Ctx) Task { return ctx.StartOrchestration("Bg", "bg-1", nil) },
			func(ctx *Ctx) Task { return ctx.UtcNow() }, `{"index":0,"value":null}`},
		{"block vs block", func(ctx *Ctx) Task { return ctx.Block(func(*Ctx) (any, error) { return "a", nil }) },
			func(ctx *Ctx) Task { return ctx.Block(func(*Ctx) (any, error) { return "b", nil }) }, `{"index":0,"value":"a"}`},
		{"empty all vs empty all", func(ctx *Ctx) Task { return ctx.All() },
			func(ctx *Ctx) Task { return ctx.All(ctx.StartOrchestration("Bg", "bg-1", nil)) }, `{"index":0,"value":[]}`},
		{"block vs detached", func(ctx *Ctx) Task { return ctx.Block(func(*Ctx) (any, error) { return "a", nil }) },
			func(ctx *Ctx) Task { return ctx.StartOrchestration("Bg", "bg-1", nil) }, `{"index":0,"value":"a"}`},
		{"block vs utcnow", func(ctx *Ctx) Task { return ctx.Block(func(*Ctx) (any, error) { return "a", nil }) },
			func(ctx *Ctx) Task { return ctx.UtcNow() }, `{"index":0,"value":"a"}`},
		{"block with event-less steps vs detached", func(ctx *Ctx) Task {
			return ctx.Block(func(ctx *Ctx) (any, error) {
				if _, err := ctx.Yield(ctx.UtcNow()); err != nil {
					return nil, err
				}
				return ctx.Yield(ctx.NewGUID())
			})
		}, func(ctx *Ctx) Task { return ctx.StartOrchestration("Bg", "bg-1", nil) }, `{"index":0,"value":"00000000-0000-4000-8000-000000000001"}`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			bothModes(t, protoYieldValue(func(ctx *Ctx) Task { return ctx.Race(c.a(ctx), c.b(ctx)) }), Options{}, func(h *harness) {
				mustOutput(t, h.turn(startMsg("Tie", nil)), c.want)
			})
		})
	}
}

func TestProtoRaceEventlessBeatsLaterEvent(t *testing.T) {
	quick := func(ctx *Ctx) Task { return ctx.Block(func(*Ctx) (any, error) { return "quick", nil }) }
	t.Run("wait then block", func(t *testing.T) {
		fn := protoRaceThenWait(nil, protoWait("A"), quick)
		bothModes(t, fn, Options{}, func(h *harness) {
			// A is in the start batch, but it is applied after the race started.
			r := h.turn(startMsg("Race", nil), raised("A", "a"))
			mustOutput(t, r, `[{"index":1,"value":"quick"},"a"]`)
			protoDelta(t, r, "1:OrchestrationStarted 2:ExternalEvent(A) 3:ExternalSubscribed(A) 4:ExternalSubscribedCancelled(src=3) 5:ExternalSubscribed(A) 6:OrchestrationCompleted")
		})
	})
	t.Run("block then wait", func(t *testing.T) {
		fn := protoRaceThenWait(nil, quick, protoWait("A"))
		bothModes(t, fn, Options{}, func(h *harness) {
			r := h.turn(startMsg("Race", nil), raised("A", "a"))
			mustOutput(t, r, `[{"index":0,"value":"quick"},"a"]`)
		})
	})
	t.Run("activity then detached", func(t *testing.T) {
		fn := protoYieldValue(func(ctx *Ctx) Task {
			return ctx.Race(ctx.ScheduleActivity("A", nil), ctx.StartOrchestration("Bg", "bg-1", nil))
		})
		bothModes(t, fn, Options{}, func(h *harness) {
			r := h.turn(startMsg("Race", nil))
			mustOutput(t, r, `{"index":1,"value":null}`)
			protoDelta(t, r, "1:OrchestrationStarted 2:ActivityScheduled(A) 3:OrchestrationChained(Bg) 4:ActivityCancelRequested(src=2) 5:OrchestrationCompleted")
			protoNoActivities(t, r)
		})
	})
	t.Run("waiting block vs detached", func(t *testing.T) {
		fn := protoYieldValue(func(ctx *Ctx) Task {
			return ctx.Race(ctx.Block(func(ctx *Ctx) (any, error) { return ctx.Yield(ctx.WaitForEvent("A")) }), ctx.StartOrchestration("Bg", "bg-1", nil))
		})
		bothModes(t, fn, Options{}, func(h *harness) {
			r := h.turn(startMsg("Race", nil))
			mustOutput(t, r, `{"index":1,"value":null}`)
			protoDelta(t, r, "1:OrchestrationStarted 2:OrchestrationChained(Bg) 3:ExternalSubscribed(A) 4:ExternalSubscribedCancelled(src=3) 5:OrchestrationCompleted")
		})
	})
	t.Run("buffered wait beats block", func(t *testing.T) {
		// A buffered event's completing event is earlier in history than the race's start.
		before := func(ctx *Ctx) error { _, err := ctx.Yield(ctx.ScheduleActivity("X", nil)); return err }
		fn := func(ctx *Ctx, in Value) (any, error) {
			if err := before(ctx); err != nil {
				return nil, err
			}
			return ctx.Yield(ctx.Race(quick(ctx), ctx.WaitForEvent("A")))
		}
		bothModes(t, fn, Options{}, func(h *harness) {
			h.turn(startMsg("Race", nil))
			h.turn(raised("A", "a"))
			r := h.turn(actDone(2, nil))
			mustOutput(t, r, `{"index":1,"value":"a"}`)
		})
	})
}

// ---- type preservation ----

var protoPayloads = []struct{ name, json string }{
	{"string", `"héllo <&> \"q\" \u00e9"`},
	{"empty string", `""`},
	{"big int", `9007199254740993`},
	{"negative int", `-12`},
	{"float", `1.5`},
	{"float one", `1.0`},
	{"exponent", `1e3`},
	{"object key order", `{"z":1,"a":{"y":null,"b":true},"m":[1,2]}`},
	{"object with spaces", `{"b": 1,  "a" : [1, 2]}`},
	{"empty object", `{}`},
	{"array", `[1,"two",3.0,null,false,{"k":"v"}]`},
	{"empty array", `[]`},
	{"null", `null`},
	{"true", `true`},
	{"false", `false`},
}

func TestProtoTypePreservation(t *testing.T) {
	fn := func(ctx *Ctx, _ Value) (any, error) {
		a, err := ctx.Yield(ctx.ScheduleActivity("A", nil))
		if err != nil {
			return nil, err
		}
		e, err := ctx.Yield(ctx.WaitForEvent("E"))
		if err != nil {
			return nil, err
		}
		all, err := ctx.Yield(ctx.All(ctx.ScheduleActivity("B", nil), ctx.WaitForEvent("F")))
		if err != nil {
			return nil, err
		}
		race, err := ctx.Yield(ctx.Race(ctx.ScheduleActivity("C", nil), ctx.ScheduleTimer(time.Hour)))
		if err != nil {
			return nil, err
		}
		// Join the raw texts by hand: returning a Value passes it through unchanged.
		parts := [][]byte{a.Raw(), e.Raw(), all.Raw(), race.Raw()}
		return RawValue(append(append([]byte("["), bytes.Join(parts, []byte(","))...), ']')), nil
	}
	for _, p := range protoPayloads {
		t.Run(p.name, func(t *testing.T) {
			payload := json.RawMessage(p.json)
			bothModes(t, fn, Options{}, func(h *harness) {
				h.turn(startMsg("Types", nil))
				h.turn(actDone(2, payload))
				h.turn(raised("E", payload))
				r := h.turn(actDone(6, payload), raised("F", payload))
				protoDelta(t, r, "8:ActivityCompleted(src=6) 9:ExternalEvent(F) 10:ActivityScheduled(C) 11:TimerCreated")
				r = h.turn(actDone(10, payload))
				P := p.json
				mustOutput(t, r, `[`+P+`,`+P+`,[{"ok":`+P+`},{"ok":`+P+`}],{"index":0,"value":`+P+`}]`)
			})
		})
	}
}

func TestProtoDecodeKeepsNumbersExact(t *testing.T) {
	fn := func(ctx *Ctx, _ Value) (any, error) {
		v, err := ctx.Yield(ctx.ScheduleActivity("A", nil))
		if err != nil {
			return nil, err
		}
		var out []string
		var x any
		if err := v.Field("big").Decode(&x); err != nil {
			return nil, err
		}
		out = append(out, fmt.Sprintf("%T:%v", x, x))
		var m map[string]any
		if err := v.Decode(&m); err != nil {
			return nil, err
		}
		out = append(out, fmt.Sprintf("%T:%v", m["f"], m["f"]))
		arr, _ := m["arr"].([]any)
		for _, a := range arr {
			out = append(out, fmt.Sprintf("%T:%v", a, a))
		}
		n, err := Await[int64](ctx, ctx.ScheduleActivity("B", nil))
		if err != nil {
			return nil, err
		}
		out = append(out, fmt.Sprint(n))
		y, err := Await[any](ctx, ctx.ScheduleActivity("C", nil))
		if err != nil {
			return nil, err
		}
		out = append(out, fmt.Sprintf("%T:%v", y, y))
		return strings.Join(out, " "), nil
	}
	bothModes(t, fn, Options{}, func(h *harness) {
		h.turn(startMsg("Numbers", nil))
		h.turn(actDone(2, json.RawMessage(`{"big":9007199254740993,"f":1.0,"arr":[1.5,2,-0.0]}`)))
		h.turn(actDone(4, json.RawMessage(`9007199254740993`)))
		r := h.turn(actDone(6, json.RawMessage(`9007199254740993`)))
		mustOutput(t, r, `"json.Number:9007199254740993 json.Number:1.0 json.Number:1.5 json.Number:2 json.Number:-0.0 9007199254740993 json.Number:9007199254740993"`)
	})
}

// ---- Value API ----

func TestProtoValueOf(t *testing.T) {
	cases := []struct {
		name string
		in   any
		want string
	}{
		{"nil", nil, `null`},
		{"html not escaped", "<a href=\"x\">&</a>", `"<a href=\"x\">&</a>"`},
		{"map sorted keys", map[string]int{"b": 2, "a": 1}, `{"a":1,"b":2}`},
		{"struct field order", struct {
			Z int    `json:"z"`
			A string `json:"a"`
		}{1, "x"}, `{"z":1,"a":"x"}`},
		{"raw message passthrough", json.RawMessage(`{"b": 1,  "a":1.0}`), `{"b": 1,  "a":1.0}`},
		{"empty raw message", json.RawMessage(nil), `null`},
		{"value passthrough", RawValue(json.RawMessage(`[1, 2]`)), `[1, 2]`},
		{"pointer to value", func() *Value { v := RawValue(json.RawMessage(`{"p":1}`)); return &v }(), `{"p":1}`},
		{"nil pointer to value", (*Value)(nil), `null`},
		{"float one", 1.0, `1`},
		{"int64 max", int64(9223372036854775807), `9223372036854775807`},
		{"bytes base64", []byte("hi"), `"aGk="`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			v, err := ValueOf(c.in)
			if err != nil {
				t.Fatal(err)
			}
			if got := string(v.Raw()); got != c.want {
				t.Fatalf("ValueOf(%#v) = %s, want %s", c.in, got, c.want)
			}
		})
	}
	t.Run("invalid raw message", func(t *testing.T) {
		_, err := ValueOf(json.RawMessage(`{"a":`))
		if err == nil || !strings.Contains(err.Error(), "not valid JSON") {
			t.Fatalf("err = %v, want a not-valid-JSON error", err)
		}
	})
	t.Run("unencodable", func(t *testing.T) {
		_, err := ValueOf(make(chan int))
		if err == nil || !strings.Contains(err.Error(), "chan int") {
			t.Fatalf("err = %v, want an encode error naming chan int", err)
		}
		if _, err := ValueOf(map[string]any{"f": func() {}}); err == nil {
			t.Fatal("a func encoded")
		}
	})
}

func TestProtoValueDecode(t *testing.T) {
	v := RawValue(json.RawMessage(`{"n":9007199254740993,"f":1.0,"s":"x","l":[1,{"d":2.5}],"o":null}`))
	var anyv any
	if err := v.Decode(&anyv); err != nil {
		t.Fatal(err)
	}
	m := anyv.(map[string]any)
	if n, ok := m["n"].(json.Number); !ok || n.String() != "9007199254740993" {
		t.Fatalf("n = %T %v", m["n"], m["n"])
	}
	if f, ok := m["f"].(json.Number); !ok || f.String() != "1.0" {
		t.Fatalf("f = %T %v", m["f"], m["f"])
	}
	inner := m["l"].([]any)[1].(map[string]any)
	if d, ok := inner["d"].(json.Number); !ok || d.String() != "2.5" {
		t.Fatalf("nested d = %T %v", inner["d"], inner["d"])
	}
	if m["o"] != nil {
		t.Fatalf("o = %v", m["o"])
	}

	var typed struct {
		N int64          `json:"n"`
		F float64        `json:"f"`
		S string         `json:"s"`
		L []any          `json:"l"`
		M map[string]any `json:"-"`
	}
	if err := v.Decode(&typed); err != nil {
		t.Fatal(err)
	}
	if typed.N != 9007199254740993 || typed.F != 1.0 || typed.S != "x" {
		t.Fatalf("typed = %+v", typed)
	}
	if n, ok := typed.L[0].(json.Number); !ok || n.String() != "1" {
		t.Fatalf("typed.L[0] = %T %v", typed.L[0], typed.L[0])
	}

	var exact struct {
		N int64 `json:"n"`
	}
	if err := v.Decode(&exact); err != nil || exact.N != 9007199254740993 {
		t.Fatalf("exact = %+v, %v", exact, err)
	}

	var into Value
	if err := v.Decode(&into); err != nil || !into.Equal(v) {
		t.Fatalf("decode into Value = %s, %v", into.Raw(), err)
	}

	var bad int
	err := RawValue(json.RawMessage(`"x"`)).Decode(&bad)
	if err == nil || !strings.Contains(err.Error(), "yield: decode") {
		t.Fatalf("decode string into int: %v", err)
	}

	var zero any = "untouched"
	if err := (Value{}).Decode(&zero); err != nil || zero != nil {
		t.Fatalf("decode zero Value into any: %v, %v", zero, err)
	}
}

func TestProtoValueFieldIndexLen(t *testing.T) {
	obj := RawValue(json.RawMessage(`{"a":1,"b":{"c":[10,"x",null]},"n":null}`))
	arr := RawValue(json.RawMessage(`[true, {"k":"v"}, 3]`))
	scalar := RawValue(json.RawMessage(`"text"`))

	check := func(name string, got Value, want string) {
		t.Helper()
		if string(got.Raw()) != want {
			t.Errorf("%s = %s, want %s", name, got.Raw(), want)
		}
	}
	check("obj.a", obj.Field("a"), `1`)
	check("obj.b.c[1]", obj.Field("b").Field("c").Index(1), `"x"`)
	check("obj.b.c[2]", obj.Field("b").Field("c").Index(2), `null`)
	check("obj.missing", obj.Field("missing"), `null`)
	check("obj.n", obj.Field("n"), `null`)
	check("arr.field", arr.Field("a"), `null`)
	check("scalar.field", scalar.Field("a"), `null`)
	check("zero.field", Value{}.Field("a"), `null`)
	check("arr[1]", arr.Index(1), `{"k":"v"}`)
	check("arr[1].k", arr.Index(1).Field("k"), `"v"`)
	check("arr[3]", arr.Index(3), `null`)
	check("arr[-1]", arr.Index(-1), `null`)
	check("obj[0]", obj.Index(0), `null`)
	check("scalar[0]", scalar.Index(0), `null`)
	check("missing chain", obj.Field("x").Field("y").Index(4), `null`)
	if !obj.Field("missing").IsNull() || !arr.Index(9).IsNull() {
		t.Error("missing member or element is not null")
	}

	for _, c := range []struct {
		v    Value
		want int
	}{{obj, 3}, {arr, 3}, {scalar, 0}, {Value{}, 0}, {RawValue(json.RawMessage(`[]`)), 0}, {RawValue(json.RawMessage(`{}`)), 0}, {RawValue(json.RawMessage(`12`)), 0}, {obj.Field("b").Field("c"), 3}} {
		if got := c.v.Len(); got != c.want {
			t.Errorf("Len(%s) = %d, want %d", c.v.Raw(), got, c.want)
		}
	}
}

func TestProtoValueStringNullEqual(t *testing.T) {
	for _, c := range []struct{ raw, want string }{
		{`"plain"`, "plain"},
		{`"esc \"q\" \u00e9 \n"`, "esc \"q\" é \n"},
		{`""`, ""},
		{`42`, "42"},
		{`1.0`, "1.0"},
		{`{"a": 1}`, `{"a": 1}`},
		{`[1,2]`, `[1,2]`},
		{`null`, "null"},
		{`true`, "true"},
	} {
		if got := RawValue(json.RawMessage(c.raw)).String(); got != c.want {
			t.Errorf("String(%s) = %q, want %q", c.raw, got, c.want)
		}
	}
	if got := (Value{}).String(); got != "null" {
		t.Errorf("zero String = %q", got)
	}
	if got := fmt.Sprint(RawValue(json.RawMessage(`"s"`))); got != "s" {
		t.Errorf("fmt.Sprint = %q", got)
	}

	for _, c := range []struct {
		v    Value
		want bool
	}{
		{Value{}, true},
		{RawValue(json.RawMessage(`null`)), true},
		{RawValue(json.RawMessage(` null `)), true},
		{RawValue(json.RawMessage(`"null"`)), false},
		{RawValue(json.RawMessage(`0`)), false},
		{RawValue(json.RawMessage(`{}`)), false},
		{RawValue(json.RawMessage(`false`)), false},
	} {
		if got := c.v.IsNull(); got != c.want {
			t.Errorf("IsNull(%s) = %v, want %v", c.v.Raw(), got, c.want)
		}
	}

	nullV, _ := ValueOf(nil)
	if !(Value{}).Equal(nullV) || !(Value{}).Equal(RawValue(json.RawMessage(`null`))) {
		t.Error("zero Value does not equal null")
	}
	a := RawValue(json.RawMessage(`{"a":1}`))
	if !a.Equal(RawValue(json.RawMessage(`{"a":1}`))) {
		t.Error("identical text not equal")
	}
	if a.Equal(RawValue(json.RawMessage(`{"a": 1}`))) {
		t.Error("Equal ignores whitespace; it must compare bytes")
	}
	if RawValue(json.RawMessage(`1.0`)).Equal(RawValue(json.RawMessage(`1`))) {
		t.Error("1.0 equals 1")
	}
}

func TestProtoValueJSONRoundTripInStruct(t *testing.T) {
	type wrapper struct {
		Name  string  `json:"name"`
		V     Value   `json:"v"`
		Zero  Value   `json:"zero"`
		List  []Value `json:"list"`
		Inner *Value  `json:"inner,omitempty"`
	}
	in := wrapper{
		Name: "w",
		V:    RawValue(json.RawMessage(`{"z":1,"a":[1.0,9007199254740993]}`)),
		List: []Value{RawValue(json.RawMessage(`"x"`)), {}, RawValue(json.RawMessage(`true`))},
	}
	b, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	const want = `{"name":"w","v":{"z":1,"a":[1.0,9007199254740993]},"zero":null,"list":["x",null,true]}`
	if string(b) != want {
		t.Fatalf("marshal = %s\nwant      %s", b, want)
	}
	var out wrapper
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	if !out.V.Equal(in.V) || !out.Zero.IsNull() || len(out.List) != 3 || !out.List[0].Equal(in.List[0]) || !out.List[1].IsNull() {
		t.Fatalf("round trip = %+v", out)
	}
	again, err := json.Marshal(out)
	if err != nil || string(again) != want {
		t.Fatalf("second marshal = %s, %v", again, err)
	}
	// UnmarshalJSON keeps a copy: changing the source bytes does not change the Value.
	src := []byte(`{"v":[1,2]}`)
	var w wrapper
	if err := json.Unmarshal(src, &w); err != nil {
		t.Fatal(err)
	}
	copy(src, bytes.Repeat([]byte{'x'}, len(src)))
	if string(w.V.Raw()) != `[1,2]` {
		t.Fatalf("value aliases its source: %s", w.V.Raw())
	}
	// Through ValueOf, a struct holding Values re-emits them unchanged.
	v, err := ValueOf(in)
	if err != nil || string(v.Raw()) != want {
		t.Fatalf("ValueOf(struct) = %s, %v", v.Raw(), err)
	}
}

// ---- typed helpers ----

type protoPoint struct {
	X    int               `json:"x"`
	Y    float64           `json:"y"`
	Tags []string          `json:"tags"`
	Meta map[string]string `json:"meta"`
}

func TestProtoTypedAwait(t *testing.T) {
	fn := func(ctx *Ctx, _ Value) (any, error) {
		i, err := Await[int](ctx, ctx.ScheduleActivity("I", nil))
		if err != nil {
			return nil, err
		}
		s, err := Await[string](ctx, ctx.ScheduleActivity("S", nil))
		if err != nil {
			return nil, err
		}
		p, err := Await[protoPoint](ctx, ctx.ScheduleActivity("P", nil))
		if err != nil {
			return nil, err
		}
		v, err := Await[Value](ctx, ctx.ScheduleActivity("V", nil))
		if err != nil {
			return nil, err
		}
		_, decodeErr := Await[int](ctx, ctx.ScheduleActivity("Bad", nil))
		_, failErr := Await[string](ctx, ctx.ScheduleActivity("Fail", nil))
		var te *TaskError
		return fmt.Sprintf("%d|%s|%+v|%s|%v|%v", i, s, p, v.Raw(),
			decodeErr != nil && strings.Contains(decodeErr.Error(), "yield: decode"),
			errors.As(failErr, &te) && te.Message == "nope"), nil
	}
	bothModes(t, fn, Options{}, func(h *harness) {
		h.turn(startMsg("Typed", nil))
		h.turn(actDone(2, 42))
		h.turn(actDone(4, "hello"))
		h.turn(actDone(6, json.RawMessage(`{"x":3,"y":1.5,"tags":["a","b"],"meta":{"k":"v"}}`)))
		h.turn(actDone(8, json.RawMessage(`{"keep": 1.0}`)))
		h.turn(actDone(10, "not a number"))
		r := h.turn(actFailed(12, "nope"))
		mustOutput(t, r, `"42|hello|{X:3 Y:1.5 Tags:[a b] Meta:map[k:v]}|{\"keep\": 1.0}|true|true"`)
	})
}

func TestProtoTypedAwaitAll(t *testing.T) {
	fn := func(ctx *Ctx, _ Value) (any, error) {
		rs, err := AwaitAll(ctx, ctx.ScheduleActivity("A", nil), ctx.ScheduleActivity("B", nil), ctx.ScheduleTimer(time.Second))
		if err != nil {
			return nil, err
		}
		var out []string
		for i, r := range rs {
			var te *TaskError
			switch {
			case r.Err == nil:
				out = append(out, fmt.Sprintf("%d ok %s", i, r.Value.Raw()))
			case errors.As(r.Err, &te):
				out = append(out, fmt.Sprintf("%d err kind=%s msg=%s text=%s", i, te.Kind, te.Message, r.Err))
			default:
				out = append(out, fmt.Sprintf("%d untyped error %T %v", i, r.Err, r.Err))
			}
		}
		return out, nil
	}
	bothModes(t, fn, Options{}, func(h *harness) {
		h.turn(startMsg("Typed", nil))
		r := h.turn(actFailed(3, "boom"), timerFired(4), actDone(2, "a"))
		mustOutput(t, r, `["0 ok \"a\"","1 err kind=activity msg=boom text=boom","2 ok null"]`)
	})
}

func TestProtoTypedAwaitRace(t *testing.T) {
	fn := func(ctx *Ctx, _ Value) (any, error) {
		var out []string
		i, v, err := AwaitRace(ctx, ctx.ScheduleActivity("A", nil), ctx.ScheduleActivity("B", nil))
		var te *TaskError
		out = append(out, fmt.Sprintf("%d %s %v kind=%v", i, v.Raw(), err, errors.As(err, &te) && te.Kind == TaskErrActivity))
		i, v, err = AwaitRace(ctx, ctx.ScheduleActivity("C", nil), ctx.ScheduleTimer(time.Minute))
		out = append(out, fmt.Sprintf("%d %s %v", i, v.Raw(), err))
		i, v, err = AwaitRace(ctx, ctx.ScheduleActivity("D", nil), ctx.ScheduleTimer(time.Minute))
		out = append(out, fmt.Sprintf("%d %s %v", i, v.Raw(), err))
		return out, nil
	}
	bothModes(t, fn, Options{}, func(h *harness) {
		h.turn(startMsg("Typed", nil))
		r := h.turn(actFailed(3, "b broke"))
		protoDelta(t, r, "4:ActivityFailed(src=3) 5:ActivityCancelRequested(src=2) 6:ActivityScheduled(C) 7:TimerCreated")
		r = h.turn(actDone(6, map[string]int{"c": 1}))
		protoDelta(t, r, "8:ActivityCompleted(src=6) 9:ActivityScheduled(D) 10:TimerCreated")
		r = h.turn(timerFired(10))
		mustOutput(t, r, `["1 null b broke kind=true","0 {\"c\":1} <nil>","1 null <nil>"]`)
	})
}

func TestProtoTypedNow(t *testing.T) {
	fn := func(ctx *Ctx, _ Value) (any, error) {
		t1, err := Now(ctx)
		if err != nil {
			return nil, err
		}
		if _, err := ctx.Yield(ctx.ScheduleActivity("A", nil)); err != nil {
			return nil, err
		}
		t2, err := Now(ctx)
		if err != nil {
			return nil, err
		}
		raw, err := ctx.Yield(ctx.UtcNow())
		if err != nil {
			return nil, err
		}
		return []any{t1.UnixMilli(), t2.UnixMilli(), t1.Location().String(), raw}, nil
	}
	bothModes(t, fn, Options{}, func(h *harness) {
		r := h.turn(startMsg("Now", nil)) // NowMs 1_001_000
		protoDelta(t, r, "1:OrchestrationStarted 2:SystemCall(utc_now) 3:ActivityScheduled(A)")
		if got := string(protoEvent(t, r, 2).Result); got != "1001000" {
			t.Fatalf("recorded utc_now = %s", got)
		}
		r = h.turn(actDone(3, nil)) // NowMs 1_002_000; the first Now replays its recorded value
		mustOutput(t, r, `[1001000,1002000,"UTC",1002000]`)
		if got := string(protoEvent(t, r, 5).Result); got != "1002000" {
			t.Fatalf("recorded utc_now = %s", got)
		}
	})
}

// ---- TaskError ----

func TestProtoTaskErrorKinds(t *testing.T) {
	describe := func(err error) string {
		var te *TaskError
		if !errors.As(fmt.Errorf("wrapped: %w", err), &te) {
			return fmt.Sprintf("not a TaskError: %T %v", err, err)
		}
		return fmt.Sprintf("%s|%s|%s", te.Kind, te.Message, err.Error())
	}
	fn := func(ctx *Ctx, _ Value) (any, error) {
		_, e1 := ctx.Yield(ctx.ScheduleActivity("A", nil))
		_, e2 := ctx.Yield(ctx.ScheduleSubOrchestration("C", nil))
		_, e3 := ctx.Yield(ctx.ScheduleSubOrchestration("D", nil))
		return []string{describe(e1), describe(e2), describe(e3)}, nil
	}
	bothModes(t, fn, Options{}, func(h *harness) {
		h.turn(startMsg("Errors", nil))
		r := h.turn(actFailed(2, "act went wrong: disk full"))
		protoDelta(t, r, "3:ActivityFailed(src=2) 4:SubOrchestrationScheduled(C)")
		r = h.turn(childFailed(4, history.Application(history.KindOrchestrationFailed, "child went wrong")))
		protoDelta(t, r, "5:SubOrchestrationFailed(src=4) 6:SubOrchestrationScheduled(D)")
		r = h.turn(childFailed(6, history.Cancelled("parent canceled")))
		mustOutput(t, r, `["activity|act went wrong: disk full|act went wrong: disk full",`+
			`"sub-orchestration|child went wrong|child went wrong",`+
			`"cancelled|canceled: parent canceled|canceled: parent canceled"]`)
	})
}
