package integration_test

// Ports of the Python SDK's tests/test_races.py (All and Race with mixed task types,
// cooperative cancellation, type preservation), in the Python file's order.
// MAPPING_A.md lists every test and each deviation with its reason.

import (
	"encoding/json"
	"sync/atomic"
	"testing"
	"time"

	"github.com/duroxide-go/duroxide"
	"github.com/duroxide-go/duroxide/yield"
)

// aOK returns results[i]["ok"], failing the test when the slot has no "ok" key (the
// Python KeyError).
func aOK(t *testing.T, results []map[string]any, i int) any {
	t.Helper()
	v, found := results[i]["ok"]
	if !found {
		t.Fatalf("result %d has no ok key: %v", i, results[i])
	}
	return v
}

// ─── ctx.all() with mixed task types ─────────────────────────────

// test_races.py::TestAllMixedTypes::test_joins_activity_and_timer
func TestRaces_AllMixedTypes_JoinsActivityAndTimer(t *testing.T) {
	eachStore(t, func(t *testing.T, s *scenario) {
		setup := func(rt *duroxide.Runtime) {
			activity(t, rt, "Slow", func(_ *duroxide.ActivityContext, in yield.Value) (any, error) {
				return "done-" + in.String(), nil
			})
			orchestration(t, rt, "AllActivityTimer", func(ctx *yield.Ctx, in yield.Value) (any, error) {
				return ctx.Yield(ctx.All(
					ctx.ScheduleActivity("Slow", "work"),
					ctx.ScheduleTimer(50*time.Millisecond),
				))
			})
		}
		res := s.aRunOrchestration("AllActivityTimer", nil, setup, 10*time.Second)
		out := mustComplete[[]map[string]any](t, res)
		equal(t, "len(output)", len(out), 2)
		equal(t, "output[0].ok", aOK(t, out, 0), any("done-work"))
		equal(t, "output[1].ok", aOK(t, out, 1), nil)
	})
}

// test_races.py::TestAllMixedTypes::test_joins_activity_and_wait_event
func TestRaces_AllMixedTypes_JoinsActivityAndWaitEvent(t *testing.T) {
	eachStore(t, func(t *testing.T, s *scenario) {
		id := uid("all-wait")
		rt := s.runtime(duroxide.RuntimeOptions{})
		activity(t, rt, "Quick", func(_ *duroxide.ActivityContext, in yield.Value) (any, error) {
			return "quick-" + in.String(), nil
		})
		orchestration(t, rt, "AllActivityWait", func(ctx *yield.Ctx, in yield.Value) (any, error) {
			return ctx.Yield(ctx.All(
				ctx.ScheduleActivity("Quick", "go"),
				ctx.WaitForEvent("signal"),
			))
		})
		s.start(rt)
		defer s.shutdown(rt)
		s.startOrch(id, "AllActivityWait", nil)
		// Python sleeps 0.5 s first; events are buffered (DECISIONS 1), so raise at once.
		s.raise(id, "signal", map[string]any{"msg": "hi"})
		out := mustComplete[[]map[string]any](t, s.wait(id, 10*time.Second))
		equal(t, "len(output)", len(out), 2)
		equal(t, "output[0].ok", aOK(t, out, 0), any("quick-go"))
		equal(t, "output[1].ok", aOK(t, out, 1), any(map[string]any{"msg": "hi"}))
	})
}

// test_races.py::TestAllMixedTypes::test_joins_multiple_timers
func TestRaces_AllMixedTypes_JoinsMultipleTimers(t *testing.T) {
	eachStore(t, func(t *testing.T, s *scenario) {
		setup := func(rt *duroxide.Runtime) {
			orchestration(t, rt, "AllTimers", func(ctx *yield.Ctx, in yield.Value) (any, error) {
				return ctx.Yield(ctx.All(
					ctx.ScheduleTimer(50*time.Millisecond),
					ctx.ScheduleTimer(100*time.Millisecond),
				))
			})
		}
		res := s.aRunOrchestration("AllTimers", nil, setup, 10*time.Second)
		out := mustComplete[[]map[string]any](t, res)
		equal(t, "len(output)", len(out), 2)
		equal(t, "output[0].ok", aOK(t, out, 0), nil)
		equal(t, "output[1].ok", aOK(t, out, 1), nil)
	})
}

// test_races.py::TestAllMixedTypes::test_joins_activity_and_dequeue_event
func TestRaces_AllMixedTypes_JoinsActivityAndDequeueEvent(t *testing.T) {
	eachStore(t, func(t *testing.T, s *scenario) {
		id := uid("all-deq")
		rt := s.runtime(duroxide.RuntimeOptions{})
		activity(t, rt, "Quick", func(_ *duroxide.ActivityContext, in yield.Value) (any, error) {
			return "quick-" + in.String(), nil
		})
		orchestration(t, rt, "AllActivityDequeue", func(ctx *yield.Ctx, in yield.Value) (any, error) {
			return ctx.Yield(ctx.All(
				ctx.ScheduleActivity("Quick", "go"),
				ctx.DequeueEvent("inbox"),
			))
		})
		s.start(rt)
		defer s.shutdown(rt)
		s.startOrch(id, "AllActivityDequeue", nil)
		// Python sleeps 0.5 s first; queue messages are buffered (DECISIONS 2).
		s.enqueue(id, "inbox", map[string]any{"prompt": "HELLO"})
		out := mustComplete[[]map[string]any](t, s.wait(id, 10*time.Second))
		equal(t, "len(output)", len(out), 2)
		equal(t, "output[0].ok", aOK(t, out, 0), any("quick-go"))
		// Verify dequeue value is properly structured, not double-serialized
		val, isMap := aOK(t, out, 1).(map[string]any)
		if !isMap {
			t.Fatalf("all() dequeue value should be an object, not %T", aOK(t, out, 1))
		}
		equal(t, "output[1].ok", val, map[string]any{"prompt": "HELLO"})
	})
}

// ─── ctx.race() with mixed task types ────────────────────────────

// test_races.py::TestRaceMixedTypes::test_races_activity_vs_timer_activity_wins
func TestRaces_RaceMixedTypes_RacesActivityVsTimerActivityWins(t *testing.T) {
	eachStore(t, func(t *testing.T, s *scenario) {
		setup := func(rt *duroxide.Runtime) {
			activity(t, rt, "Fast", func(_ *duroxide.ActivityContext, in yield.Value) (any, error) {
				return "fast-" + in.String(), nil
			})
			orchestration(t, rt, "RaceActTimer", func(ctx *yield.Ctx, in yield.Value) (any, error) {
				return ctx.Yield(ctx.Race(
					ctx.ScheduleActivity("Fast", "go"),
					ctx.ScheduleTimer(60*time.Second),
				))
			})
		}
		res := s.aRunOrchestration("RaceActTimer", nil, setup, 10*time.Second)
		out := mustComplete[map[string]any](t, res)
		equal(t, "index", out["index"], any(json.Number("0")))
		equal(t, "value", out["value"], any("fast-go"))
	})
}

// test_races.py::TestRaceMixedTypes::test_races_timer_vs_activity_timer_wins_cooperative_cancel
func TestRaces_RaceMixedTypes_RacesTimerVsActivityTimerWinsCooperativeCancel(t *testing.T) {
	eachStore(t, func(t *testing.T, s *scenario) {
		id := uid("race-timer-act")
		rt := s.runtime(duroxide.RuntimeOptions{WorkerLockTimeout: 2 * time.Second})
		var activityCancelled atomic.Bool
		activity(t, rt, "Glacial", func(ctx *duroxide.ActivityContext, in yield.Value) (any, error) {
			// Cooperative cancellation: poll IsCancelled() instead of sleeping forever
			for range 200 {
				if ctx.IsCancelled() {
					activityCancelled.Store(true)
					return "cancelled", nil
				}
				time.Sleep(50 * time.Millisecond)
			}
			return "timeout", nil
		})
		orchestration(t, rt, "RaceTimerAct", func(ctx *yield.Ctx, in yield.Value) (any, error) {
			return ctx.Yield(ctx.Race(
				ctx.ScheduleTimer(50*time.Millisecond),
				ctx.ScheduleActivity("Glacial", "x"),
			))
		})
		s.start(rt)
		defer s.shutdown(rt)
		s.startOrch(id, "RaceTimerAct", nil)
		out := mustComplete[map[string]any](t, s.wait(id, 15*time.Second))
		completed := time.Now()
		equal(t, "index", out["index"], any(json.Number("0")))
		value, found := out["value"]
		if !found || value != nil {
			t.Fatalf("value = %v (present %v), want null", value, found)
		}

		// Wait for the cancellation signal to propagate (Python: 60 polls of 0.1 s).
		deadline := completed.Add(6 * time.Second)
		for !activityCancelled.Load() && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
		if !activityCancelled.Load() {
			t.Fatal("activity should have seen IsCancelled()")
		}
		t.Logf("activity saw the cancellation %s after the orchestration completed", time.Since(completed).Round(time.Millisecond))
	})
}

// test_races.py::TestRaceMixedTypes::test_races_wait_event_vs_timer_event_wins
func TestRaces_RaceMixedTypes_RacesWaitEventVsTimerEventWins(t *testing.T) {
	eachStore(t, func(t *testing.T, s *scenario) {
		id := uid("race-wait")
		rt := s.runtime(duroxide.RuntimeOptions{})
		orchestration(t, rt, "RaceWaitTimer", func(ctx *yield.Ctx, in yield.Value) (any, error) {
			return ctx.Yield(ctx.Race(
				ctx.WaitForEvent("approval"),
				ctx.ScheduleTimer(60*time.Second),
			))
		})
		s.start(rt)
		defer s.shutdown(rt)
		s.startOrch(id, "RaceWaitTimer", nil)
		// Python sleeps 0.3 s first; events are buffered (DECISIONS 1), so raise at once.
		s.raise(id, "approval", map[string]any{"ok": true})
		out := mustComplete[map[string]any](t, s.wait(id, 10*time.Second))
		equal(t, "index", out["index"], any(json.Number("0")))
		equal(t, "value", out["value"], any(map[string]any{"ok": true}))
	})
}

// test_races.py::TestRaceMixedTypes::test_races_two_timers_shorter_wins
func TestRaces_RaceMixedTypes_RacesTwoTimersShorterWins(t *testing.T) {
	eachStore(t, func(t *testing.T, s *scenario) {
		setup := func(rt *duroxide.Runtime) {
			orchestration(t, rt, "RaceTwoTimers", func(ctx *yield.Ctx, in yield.Value) (any, error) {
				return ctx.Yield(ctx.Race(
					ctx.ScheduleTimer(50*time.Millisecond),
					ctx.ScheduleTimer(60*time.Second),
				))
			})
		}
		res := s.aRunOrchestration("RaceTwoTimers", nil, setup, 10*time.Second)
		out := mustComplete[map[string]any](t, res)
		equal(t, "index", out["index"], any(json.Number("0")))
	})
}

// test_races.py::TestRaceMixedTypes::test_race_dequeue_event_not_double_serialized
func TestRaces_RaceMixedTypes_RaceDequeueEventNotDoubleSerialized(t *testing.T) {
	eachStore(t, func(t *testing.T, s *scenario) {
		id := uid("race-deq")
		rt := s.runtime(duroxide.RuntimeOptions{})
		orchestration(t, rt, "RaceDequeue", func(ctx *yield.Ctx, in yield.Value) (any, error) {
			return ctx.Yield(ctx.Race(
				ctx.ScheduleTimer(60*time.Second),
				ctx.DequeueEvent("messages"),
			))
		})
		s.start(rt)
		defer s.shutdown(rt)
		s.startOrch(id, "RaceDequeue", nil)
		// Python sleeps 0.5 s first; queue messages are buffered (DECISIONS 2).
		// Pass object directly — EnqueueEvent marshals it.
		s.enqueue(id, "messages", map[string]any{"prompt": "HELLO"})
		out := mustComplete[map[string]any](t, s.wait(id, 10*time.Second))
		equal(t, "index", out["index"], any(json.Number("1")))

		// A double-serialized value would be a string holding JSON text.
		val, isMap := out["value"].(map[string]any)
		if !isMap {
			t.Fatalf("race dequeue value should be an object, not %T", out["value"])
		}
		equal(t, "value", val, map[string]any{"prompt": "HELLO"})
	})
}

// ─── Type preservation through all() and race() ─────────────────

// test_races.py::TestTypePreservation::test_all_preserves_all_value_types
func TestRaces_TypePreservation_AllPreservesAllValueTypes(t *testing.T) {
	eachStore(t, func(t *testing.T, s *scenario) {
		setup := func(rt *duroxide.Runtime) {
			activity(t, rt, "ReturnString", func(*duroxide.ActivityContext, yield.Value) (any, error) { return "hello", nil })
			activity(t, rt, "ReturnNumber", func(*duroxide.ActivityContext, yield.Value) (any, error) { return 42, nil })
			activity(t, rt, "ReturnObject", func(*duroxide.ActivityContext, yield.Value) (any, error) {
				return map[string]any{"key": "val"}, nil
			})
			activity(t, rt, "ReturnArray", func(*duroxide.ActivityContext, yield.Value) (any, error) { return []int{1, 2, 3}, nil })
			activity(t, rt, "ReturnNull", func(*duroxide.ActivityContext, yield.Value) (any, error) { return nil, nil })
			activity(t, rt, "ReturnBool", func(*duroxide.ActivityContext, yield.Value) (any, error) { return true, nil })
			orchestration(t, rt, "AllTypes", func(ctx *yield.Ctx, in yield.Value) (any, error) {
				return ctx.Yield(ctx.All(
					ctx.ScheduleActivity("ReturnString", nil),
					ctx.ScheduleActivity("ReturnNumber", nil),
					ctx.ScheduleActivity("ReturnObject", nil),
					ctx.ScheduleActivity("ReturnArray", nil),
					ctx.ScheduleActivity("ReturnNull", nil),
					ctx.ScheduleActivity("ReturnBool", nil),
				))
			})
		}
		res := s.aRunOrchestration("AllTypes", nil, setup, 10*time.Second)
		out := mustComplete[[]map[string]any](t, res)
		vals := make([]any, len(out))
		for i := range out {
			vals[i] = aOK(t, out, i)
		}
		equal(t, "len(vals)", len(vals), 6)

		// Decoding keeps numbers as json.Number, so an int is a Number without a fraction.
		str, ok := vals[0].(string)
		if !ok || str != "hello" {
			t.Errorf("vals[0] = %#v, want the string hello", vals[0])
		}
		num, ok := vals[1].(json.Number)
		if n, err := num.Int64(); !ok || err != nil || n != 42 || num.String() != "42" {
			t.Errorf("vals[1] = %#v, want the integer 42", vals[1])
		}
		obj, ok := vals[2].(map[string]any)
		if !ok {
			t.Errorf("vals[2] = %#v, want an object", vals[2])
		}
		equal(t, "vals[2]", obj, map[string]any{"key": "val"})
		arr, ok := vals[3].([]any)
		if !ok {
			t.Errorf("vals[3] = %#v, want an array", vals[3])
		}
		equal(t, "vals[3]", arr, []any{json.Number("1"), json.Number("2"), json.Number("3")})
		if vals[4] != nil {
			t.Errorf("vals[4] = %#v, want null", vals[4])
		}
		if b, ok := vals[5].(bool); !ok || !b {
			t.Errorf("vals[5] = %#v, want true", vals[5])
		}
	})
}

// test_races.py::TestTypePreservation::test_race_preserves_all_value_types
func TestRaces_TypePreservation_RacePreservesAllValueTypes(t *testing.T) {
	eachStore(t, func(t *testing.T, s *scenario) {
		// setupRace registers activity act returning v and orchestration name racing it
		// against a 60 s timer.
		setupRace := func(act, name string, v any) func(rt *duroxide.Runtime) {
			return func(rt *duroxide.Runtime) {
				activity(t, rt, act, func(*duroxide.ActivityContext, yield.Value) (any, error) { return v, nil })
				orchestration(t, rt, name, func(ctx *yield.Ctx, in yield.Value) (any, error) {
					return ctx.Yield(ctx.Race(
						ctx.ScheduleActivity(act, nil),
						ctx.ScheduleTimer(60*time.Second),
					))
				})
			}
		}

		// Test string
		r1 := mustComplete[map[string]any](t, s.aRunOrchestration("RaceString", nil, setupRace("FastStr", "RaceString", "hello"), 10*time.Second))
		if v, ok := r1["value"].(string); !ok || v != "hello" {
			t.Errorf("RaceString value = %#v, want the string hello", r1["value"])
		}

		// Test number
		r2 := mustComplete[map[string]any](t, s.aRunOrchestration("RaceNumber", nil, setupRace("FastNum", "RaceNumber", 42), 10*time.Second))
		if v, ok := r2["value"].(json.Number); !ok || v.String() != "42" {
			t.Errorf("RaceNumber value = %#v, want the integer 42", r2["value"])
		}

		// Test object
		r3 := mustComplete[map[string]any](t, s.aRunOrchestration("RaceObject", nil, setupRace("FastObj", "RaceObject", map[string]any{"key": "val"}), 10*time.Second))
		if v, ok := r3["value"].(map[string]any); !ok {
			t.Errorf("RaceObject value = %#v, want an object", r3["value"])
		} else {
			equal(t, "RaceObject value", v, map[string]any{"key": "val"})
		}
	})
}
