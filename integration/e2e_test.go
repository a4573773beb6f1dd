package integration_test

// Ports of the Python SDK's tests/test_e2e.py, one Go test per Python test, in the
// Python file's order. MAPPING_A.md lists every test and each deviation with its reason.

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/duroxide-go/duroxide"
	"github.com/duroxide-go/duroxide/history"
	"github.com/duroxide-go/duroxide/yield"
)

// test_e2e.py::test_hello_world
func TestE2E_HelloWorld(t *testing.T) {
	eachStore(t, func(t *testing.T, s *scenario) {
		setup := func(rt *duroxide.Runtime) {
			activity(t, rt, "Hello", func(ctx *duroxide.ActivityContext, in yield.Value) (any, error) {
				ctx.TraceInfo(fmt.Sprintf("greeting %s", in.String()))
				return fmt.Sprintf("Hello, %s!", in.String()), nil
			})
			orchestration(t, rt, "HelloWorld", func(ctx *yield.Ctx, in yield.Value) (any, error) {
				r1, err := ctx.Yield(ctx.ScheduleActivity("Hello", "Rust"))
				if err != nil {
					return nil, err
				}
				ctx.TraceInfo(fmt.Sprintf("first greeting: %s", r1.String()))
				return ctx.Yield(ctx.ScheduleActivity("Hello", in))
			})
		}
		res := s.aRunOrchestration("HelloWorld", "World", setup, 10*time.Second)
		equal(t, "output", mustComplete[string](t, res), "Hello, World!")
	})
}

// test_e2e.py::test_control_flow
func TestE2E_ControlFlow(t *testing.T) {
	eachStore(t, func(t *testing.T, s *scenario) {
		setup := func(rt *duroxide.Runtime) {
			activity(t, rt, "GetFlag", func(*duroxide.ActivityContext, yield.Value) (any, error) { return "yes", nil })
			activity(t, rt, "SayYes", func(*duroxide.ActivityContext, yield.Value) (any, error) { return "picked_yes", nil })
			activity(t, rt, "SayNo", func(*duroxide.ActivityContext, yield.Value) (any, error) { return "picked_no", nil })
			orchestration(t, rt, "ControlFlow", func(ctx *yield.Ctx, in yield.Value) (any, error) {
				flag, err := ctx.Yield(ctx.ScheduleActivity("GetFlag", ""))
				if err != nil {
					return nil, err
				}
				if flag.String() == "yes" {
					return ctx.Yield(ctx.ScheduleActivity("SayYes", ""))
				}
				return ctx.Yield(ctx.ScheduleActivity("SayNo", ""))
			})
		}
		res := s.aRunOrchestration("ControlFlow", nil, setup, 10*time.Second)
		equal(t, "output", mustComplete[string](t, res), "picked_yes")
	})
}

// test_e2e.py::test_loop
func TestE2E_Loop(t *testing.T) {
	eachStore(t, func(t *testing.T, s *scenario) {
		setup := func(rt *duroxide.Runtime) {
			activity(t, rt, "Append", func(ctx *duroxide.ActivityContext, in yield.Value) (any, error) {
				ctx.TraceInfo(fmt.Sprintf("appending to %q", in.String()))
				return in.String() + "x", nil
			})
			orchestration(t, rt, "LoopOrchestration", func(ctx *yield.Ctx, in yield.Value) (any, error) {
				acc := "start"
				for i := range 3 {
					v, err := ctx.Yield(ctx.ScheduleActivity("Append", acc))
					if err != nil {
						return nil, err
					}
					acc = v.String()
					ctx.TraceInfo(fmt.Sprintf("iteration %d: %s", i, acc))
				}
				return acc, nil
			})
		}
		res := s.aRunOrchestration("LoopOrchestration", nil, setup, 10*time.Second)
		equal(t, "output", mustComplete[string](t, res), "startxxx")
	})
}

// test_e2e.py::test_error_handling
func TestE2E_ErrorHandling(t *testing.T) {
	eachStore(t, func(t *testing.T, s *scenario) {
		setup := func(rt *duroxide.Runtime) {
			activity(t, rt, "Fragile", func(ctx *duroxide.ActivityContext, in yield.Value) (any, error) {
				ctx.TraceWarn(fmt.Sprintf("fragile called with %q", in.String()))
				if in.String() == "bad" {
					return nil, errors.New("boom")
				}
				return "ok", nil
			})
			activity(t, rt, "Recover", func(*duroxide.ActivityContext, yield.Value) (any, error) { return "recovered", nil })
			orchestration(t, rt, "ErrorHandling", func(ctx *yield.Ctx, in yield.Value) (any, error) {
				v, err := ctx.Yield(ctx.ScheduleActivity("Fragile", "bad"))
				if err == nil {
					return v, nil
				}
				ctx.TraceWarn(fmt.Sprintf("fragile failed: %v", err))
				return ctx.Yield(ctx.ScheduleActivity("Recover", ""))
			})
		}
		res := s.aRunOrchestration("ErrorHandling", nil, setup, 10*time.Second)
		equal(t, "output", mustComplete[string](t, res), "recovered")
	})
}

// test_e2e.py::test_timer
func TestE2E_Timer(t *testing.T) {
	eachStore(t, func(t *testing.T, s *scenario) {
		setup := func(rt *duroxide.Runtime) {
			activity(t, rt, "AfterTimer", func(*duroxide.ActivityContext, yield.Value) (any, error) { return "done", nil })
			orchestration(t, rt, "TimerSample", func(ctx *yield.Ctx, in yield.Value) (any, error) {
				if _, err := ctx.Yield(ctx.ScheduleTimer(100 * time.Millisecond)); err != nil {
					return nil, err
				}
				return ctx.Yield(ctx.ScheduleActivity("AfterTimer", ""))
			})
		}
		res := s.aRunOrchestration("TimerSample", nil, setup, 10*time.Second)
		equal(t, "output", mustComplete[string](t, res), "done")
	})
}

// test_e2e.py::test_fan_out_fan_in
func TestE2E_FanOutFanIn(t *testing.T) {
	eachStore(t, func(t *testing.T, s *scenario) {
		setup := func(rt *duroxide.Runtime) {
			activity(t, rt, "Greetings", func(ctx *duroxide.ActivityContext, in yield.Value) (any, error) {
				ctx.TraceInfo(fmt.Sprintf("building greeting for %s", in.String()))
				return fmt.Sprintf("Hello, %s!", in.String()), nil
			})
			orchestration(t, rt, "FanOut", func(ctx *yield.Ctx, in yield.Value) (any, error) {
				a := ctx.ScheduleActivity("Greetings", "Gabbar")
				b := ctx.ScheduleActivity("Greetings", "Samba")
				results, err := aAll(ctx, a, b)
				if err != nil {
					return nil, err
				}
				vals := make([]string, 0, len(results))
				for _, r := range results {
					vals = append(vals, r.okOrErr().String())
				}
				slices.Sort(vals)
				return fmt.Sprintf("%s, %s", vals[0], vals[1]), nil
			})
		}
		res := s.aRunOrchestration("FanOut", nil, setup, 10*time.Second)
		equal(t, "output", mustComplete[string](t, res), "Hello, Gabbar!, Hello, Samba!")
	})
}

// test_e2e.py::test_system_activities
func TestE2E_SystemActivities(t *testing.T) {
	eachStore(t, func(t *testing.T, s *scenario) {
		setup := func(rt *duroxide.Runtime) {
			orchestration(t, rt, "SystemActivities", func(ctx *yield.Ctx, in yield.Value) (any, error) {
				now, err := ctx.Yield(ctx.UtcNow())
				if err != nil {
					return nil, err
				}
				guid, err := ctx.Yield(ctx.NewGUID())
				if err != nil {
					return nil, err
				}
				ctx.TraceInfo(fmt.Sprintf("now=%s, guid=%s", now.String(), guid.String()))
				return map[string]any{"now": now, "guid": guid}, nil
			})
		}
		res := s.aRunOrchestration("SystemActivities", nil, setup, 10*time.Second)
		out := mustComplete[struct {
			Now  int64  `json:"now"`
			GUID string `json:"guid"`
		}](t, res)
		if out.Now <= 0 {
			t.Fatalf("now = %d, want > 0", out.Now)
		}
		equal(t, "len(guid)", len(out.GUID), 36)
	})
}

// test_e2e.py::test_status_polling
func TestE2E_StatusPolling(t *testing.T) {
	eachStore(t, func(t *testing.T, s *scenario) {
		rt := s.runtime(duroxide.RuntimeOptions{})
		orchestration(t, rt, "StatusSample", func(ctx *yield.Ctx, in yield.Value) (any, error) {
			if _, err := ctx.Yield(ctx.ScheduleTimer(50 * time.Millisecond)); err != nil {
				return nil, err
			}
			return "done", nil
		})
		s.start(rt)
		defer s.shutdown(rt)
		id := uid("status")
		s.startOrch(id, "StatusSample", nil)
		early, err := s.client.GetStatus(s.ctx, id)
		if err != nil {
			t.Fatalf("GetStatus: %v", err)
		}
		if early.Status != duroxide.StatusRunning && early.Status != duroxide.StatusNotFound {
			t.Fatalf("early status %s, want Running or NotFound", early.Status)
		}
		final := s.wait(id, 5*time.Second)
		equal(t, "output", mustComplete[string](t, final), "done")
	})
}

// test_e2e.py::test_sub_orchestration_basic
func TestE2E_SubOrchestrationBasic(t *testing.T) {
	eachStore(t, func(t *testing.T, s *scenario) {
		setup := func(rt *duroxide.Runtime) {
			activity(t, rt, "Upper", func(_ *duroxide.ActivityContext, in yield.Value) (any, error) {
				return strings.ToUpper(in.String()), nil
			})
			orchestration(t, rt, "ChildUpper", func(ctx *yield.Ctx, in yield.Value) (any, error) {
				return ctx.Yield(ctx.ScheduleActivity("Upper", in))
			})
			orchestration(t, rt, "Parent", func(ctx *yield.Ctx, in yield.Value) (any, error) {
				r, err := ctx.Yield(ctx.ScheduleSubOrchestration("ChildUpper", in))
				if err != nil {
					return nil, err
				}
				return "parent:" + r.String(), nil
			})
		}
		res := s.aRunOrchestration("Parent", "hi", setup, 10*time.Second)
		equal(t, "output", mustComplete[string](t, res), "parent:HI")
	})
}

// test_e2e.py::test_sub_orchestration_fan_out
func TestE2E_SubOrchestrationFanOut(t *testing.T) {
	eachStore(t, func(t *testing.T, s *scenario) {
		setup := func(rt *duroxide.Runtime) {
			activity(t, rt, "Add", func(_ *duroxide.ActivityContext, in yield.Value) (any, error) {
				a, b, _ := strings.Cut(in.String(), ",")
				x, err := strconv.Atoi(a)
				if err != nil {
					return nil, err
				}
				y, err := strconv.Atoi(b)
				if err != nil {
					return nil, err
				}
				return x + y, nil
			})
			orchestration(t, rt, "ChildSum", func(ctx *yield.Ctx, in yield.Value) (any, error) {
				return ctx.Yield(ctx.ScheduleActivity("Add", in))
			})
			orchestration(t, rt, "ParentFan", func(ctx *yield.Ctx, in yield.Value) (any, error) {
				a := ctx.ScheduleSubOrchestration("ChildSum", "1,2")
				b := ctx.ScheduleSubOrchestration("ChildSum", "3,4")
				results, err := aAll(ctx, a, b)
				if err != nil {
					return nil, err
				}
				total := 0
				for _, r := range results {
					// Python: a string result is int()-ed; String() gives a number's text.
					v, err := strconv.Atoi(r.okOrErr().String())
					if err != nil {
						return nil, err
					}
					total += v
				}
				return fmt.Sprintf("total=%d", total), nil
			})
		}
		res := s.aRunOrchestration("ParentFan", nil, setup, 10*time.Second)
		equal(t, "output", mustComplete[string](t, res), "total=10")
	})
}

// test_e2e.py::test_sub_orchestration_chained
func TestE2E_SubOrchestrationChained(t *testing.T) {
	eachStore(t, func(t *testing.T, s *scenario) {
		setup := func(rt *duroxide.Runtime) {
			activity(t, rt, "AppendX", func(_ *duroxide.ActivityContext, in yield.Value) (any, error) {
				return in.String() + "x", nil
			})
			orchestration(t, rt, "Leaf", func(ctx *yield.Ctx, in yield.Value) (any, error) {
				return ctx.Yield(ctx.ScheduleActivity("AppendX", in))
			})
			orchestration(t, rt, "Mid", func(ctx *yield.Ctx, in yield.Value) (any, error) {
				r, err := ctx.Yield(ctx.ScheduleSubOrchestration("Leaf", in))
				if err != nil {
					return nil, err
				}
				return r.String() + "-mid", nil
			})
			orchestration(t, rt, "Root", func(ctx *yield.Ctx, in yield.Value) (any, error) {
				r, err := ctx.Yield(ctx.ScheduleSubOrchestration("Mid", in))
				if err != nil {
					return nil, err
				}
				return "root:" + r.String(), nil
			})
		}
		res := s.aRunOrchestration("Root", "a", setup, 10*time.Second)
		equal(t, "output", mustComplete[string](t, res), "root:ax-mid")
	})
}

// test_e2e.py::test_external_event
func TestE2E_ExternalEvent(t *testing.T) {
	eachStore(t, func(t *testing.T, s *scenario) {
		rt := s.runtime(duroxide.RuntimeOptions{})
		orchestration(t, rt, "WaitForApproval", func(ctx *yield.Ctx, in yield.Value) (any, error) {
			ctx.TraceInfo("Waiting for approval...")
			event, err := ctx.Yield(ctx.WaitForEvent("approval"))
			if err != nil {
				return nil, err
			}
			return map[string]any{"approved": event}, nil
		})
		s.start(rt)
		defer s.shutdown(rt)
		id := uid("event")
		s.startOrch(id, "WaitForApproval", nil)
		// Python sleeps 0.5 s first; events are buffered (DECISIONS 1), so raise at once.
		s.raise(id, "approval", map[string]any{"status": "yes"})
		res := s.wait(id, 10*time.Second)
		equal(t, "output", mustComplete[map[string]any](t, res),
			map[string]any{"approved": map[string]any{"status": "yes"}})
	})
}

// test_e2e.py::test_continue_as_new
func TestE2E_ContinueAsNew(t *testing.T) {
	eachStore(t, func(t *testing.T, s *scenario) {
		setup := func(rt *duroxide.Runtime) {
			orchestration(t, rt, "CanSample", func(ctx *yield.Ctx, in yield.Value) (any, error) {
				n, err := aDecode[int](in)
				if err != nil {
					return nil, err
				}
				if n < 3 {
					ctx.TraceInfo(fmt.Sprintf("CAN sample n=%d -> continue", n))
					return ctx.Yield(ctx.ContinueAsNew(n + 1))
				}
				return fmt.Sprintf("final:%d", n), nil
			})
		}
		res := s.aRunOrchestration("CanSample", 0, setup, 10*time.Second)
		equal(t, "output", mustComplete[string](t, res), "final:3")
	})
}

// test_e2e.py::test_cancellation
func TestE2E_Cancellation(t *testing.T) {
	eachStore(t, func(t *testing.T, s *scenario) {
		rt := s.runtime(duroxide.RuntimeOptions{})
		orchestration(t, rt, "LongRunning", func(ctx *yield.Ctx, in yield.Value) (any, error) {
			if _, err := ctx.Yield(ctx.WaitForEvent("never_arrives")); err != nil {
				return nil, err
			}
			return "should not reach", nil
		})
		s.start(rt)
		defer s.shutdown(rt)
		id := uid("cancel")
		s.startOrch(id, "LongRunning", nil)
		// Python sleeps 0.5 s so the instance is waiting; wait for that condition instead.
		eventually(t, "the instance to wait for never_arrives", func() bool {
			return s.aHistoryHas(id, history.ExternalSubscribed)
		})
		if err := s.client.CancelInstance(s.ctx, id, "user_request"); err != nil {
			t.Fatalf("CancelInstance: %v", err)
		}
		res := s.wait(id, 10*time.Second)
		if msg := mustFail(t, res); msg == "" {
			t.Fatalf("cancelled instance has no error text")
		}
	})
}

// test_e2e.py::test_conditional_logic
func TestE2E_ConditionalLogic(t *testing.T) {
	eachStore(t, func(t *testing.T, s *scenario) {
		setup := func(rt *duroxide.Runtime) {
			activity(t, rt, "ProcessHigh", func(*duroxide.ActivityContext, yield.Value) (any, error) { return "high", nil })
			activity(t, rt, "ProcessLow", func(*duroxide.ActivityContext, yield.Value) (any, error) { return "low", nil })
			orchestration(t, rt, "Conditional", func(ctx *yield.Ctx, in yield.Value) (any, error) {
				value, err := aDecode[float64](in.Field("value"))
				if err != nil {
					return nil, err
				}
				threshold, err := aDecode[float64](in.Field("threshold"))
				if err != nil {
					return nil, err
				}
				if value > threshold {
					return ctx.Yield(ctx.ScheduleActivity("ProcessHigh", in.Field("value")))
				}
				return ctx.Yield(ctx.ScheduleActivity("ProcessLow", in.Field("value")))
			})
		}
		res := s.aRunOrchestration("Conditional", map[string]any{"threshold": 50, "value": 75}, setup, 10*time.Second)
		equal(t, "output", mustComplete[string](t, res), "high")
	})
}

// test_e2e.py::test_activity_chain
func TestE2E_ActivityChain(t *testing.T) {
	eachStore(t, func(t *testing.T, s *scenario) {
		setup := func(rt *duroxide.Runtime) {
			activity(t, rt, "AddOne", func(_ *duroxide.ActivityContext, in yield.Value) (any, error) {
				n, err := aDecode[int](in)
				return n + 1, err
			})
			orchestration(t, rt, "Chain", func(ctx *yield.Ctx, in yield.Value) (any, error) {
				value := in
				for range 3 {
					v, err := ctx.Yield(ctx.ScheduleActivity("AddOne", value))
					if err != nil {
						return nil, err
					}
					value = v
				}
				return value, nil
			})
		}
		res := s.aRunOrchestration("Chain", 1, setup, 10*time.Second)
		equal(t, "output", mustComplete[json.Number](t, res), json.Number("4"))
	})
}

// test_e2e.py::test_retry_policy
func TestE2E_RetryPolicy(t *testing.T) {
	eachStore(t, func(t *testing.T, s *scenario) {
		var attempts atomic.Int64
		setup := func(rt *duroxide.Runtime) {
			activity(t, rt, "Flaky", func(*duroxide.ActivityContext, yield.Value) (any, error) {
				n := attempts.Add(1)
				if n < 3 {
					return nil, fmt.Errorf("attempt %d failed", n)
				}
				return "success", nil
			})
			orchestration(t, rt, "RetryTest", func(ctx *yield.Ctx, in yield.Value) (any, error) {
				return ctx.Yield(ctx.ScheduleActivityWithRetry("Flaky", nil,
					yield.RetryPolicy{MaxAttempts: 5, Backoff: yield.BackoffLinear}))
			})
		}
		res := s.aRunOrchestration("RetryTest", nil, setup, 10*time.Second)
		equal(t, "output", mustComplete[string](t, res), "success")
		if n := attempts.Load(); n < 3 {
			t.Fatalf("%d attempts, want at least 3", n)
		}
	})
}

// test_e2e.py::test_race_activity_vs_timer
func TestE2E_RaceActivityVsTimer(t *testing.T) {
	eachStore(t, func(t *testing.T, s *scenario) {
		setup := func(rt *duroxide.Runtime) {
			activity(t, rt, "QuickWork", func(*duroxide.ActivityContext, yield.Value) (any, error) { return "quick_result", nil })
			orchestration(t, rt, "RaceTest", func(ctx *yield.Ctx, in yield.Value) (any, error) {
				return ctx.Yield(ctx.Race(
					ctx.ScheduleActivity("QuickWork", nil),
					ctx.ScheduleTimer(60*time.Second),
				))
			})
		}
		res := s.aRunOrchestration("RaceTest", nil, setup, 10*time.Second)
		out := mustComplete[aWinner](t, res)
		equal(t, "index", out.Index, 0) // activity wins
	})
}

// test_e2e.py::test_versioned_orchestration
func TestE2E_VersionedOrchestration(t *testing.T) {
	eachStore(t, func(t *testing.T, s *scenario) {
		rt := s.runtime(duroxide.RuntimeOptions{})
		activity(t, rt, "Work", func(*duroxide.ActivityContext, yield.Value) (any, error) { return "done", nil })
		aVersioned(t, rt, "VersionedOrch", "1.0.0", func(ctx *yield.Ctx, in yield.Value) (any, error) {
			return "v1", nil
		})
		aVersioned(t, rt, "VersionedOrch", "1.0.1", func(ctx *yield.Ctx, in yield.Value) (any, error) {
			result, err := ctx.Yield(ctx.ScheduleActivity("Work", nil))
			if err != nil {
				return nil, err
			}
			return "v2:" + result.String(), nil
		})
		s.start(rt)
		defer s.shutdown(rt)

		// Start with v1.0.0
		idV1 := uid("ver-v1")
		if err := s.client.StartOrchestrationVersioned(s.ctx, idV1, "VersionedOrch", nil, "1.0.0"); err != nil {
			t.Fatalf("StartOrchestrationVersioned: %v", err)
		}
		equal(t, "v1 output", mustComplete[string](t, s.wait(idV1, 10*time.Second)), "v1")

		// Start with v1.0.1
		idV2 := uid("ver-v2")
		if err := s.client.StartOrchestrationVersioned(s.ctx, idV2, "VersionedOrch", nil, "1.0.1"); err != nil {
			t.Fatalf("StartOrchestrationVersioned: %v", err)
		}
		equal(t, "v2 output", mustComplete[string](t, s.wait(idV2, 10*time.Second)), "v2:done")
	})
}

// test_e2e.py::test_join_with_timer
func TestE2E_JoinWithTimer(t *testing.T) {
	eachStore(t, func(t *testing.T, s *scenario) {
		setup := func(rt *duroxide.Runtime) {
			activity(t, rt, "QuickTask", func(*duroxide.ActivityContext, yield.Value) (any, error) { return "task_done", nil })
			orchestration(t, rt, "JoinTimer", func(ctx *yield.Ctx, in yield.Value) (any, error) {
				results, err := aAll(ctx,
					ctx.ScheduleActivity("QuickTask", nil),
					ctx.ScheduleTimer(100*time.Millisecond),
				)
				if err != nil {
					return nil, err
				}
				// First result is activity (ok/err), second is timer (ok: null)
				return map[string]any{
					"activity": results[0].get(),
					"timer":    results[1].get(),
				}, nil
			})
		}
		res := s.aRunOrchestration("JoinTimer", nil, setup, 10*time.Second)
		out := mustComplete[map[string]any](t, res)
		equal(t, "output", out, map[string]any{"activity": "task_done", "timer": nil})
	})
}

// test_e2e.py::test_stop_and_resume
func TestE2E_StopAndResume(t *testing.T) {
	eachStore(t, func(t *testing.T, s *scenario) {
		register := func(rt *duroxide.Runtime) {
			activity(t, rt, "Tick", func(*duroxide.ActivityContext, yield.Value) (any, error) { return "ticked", nil })
			orchestration(t, rt, "StopResume", func(ctx *yield.Ctx, in yield.Value) (any, error) {
				r, err := ctx.Yield(ctx.ScheduleActivity("Tick", nil))
				if err != nil {
					return nil, err
				}
				return "done:" + r.String(), nil
			})
		}

		// Phase 1: start and immediately shutdown
		rt1 := s.runtime(duroxide.RuntimeOptions{})
		register(rt1)
		s.start(rt1)
		id := uid("stop-resume")
		s.startOrch(id, "StopResume", nil)
		s.shutdown(rt1)

		// Phase 2: new runtime picks up the instance
		rt2 := s.runtime(duroxide.RuntimeOptions{})
		register(rt2)
		s.start(rt2)
		defer s.shutdown(rt2)
		equal(t, "output", mustComplete[string](t, s.wait(id, 10*time.Second)), "done:ticked")
	})
}

// test_e2e.py::test_sqlite_smoketest
func TestE2E_SqliteSmoketest(t *testing.T) {
	eachStore(t, func(t *testing.T, s *scenario) {
		rt := s.runtime(duroxide.RuntimeOptions{})
		activity(t, rt, "Echo", func(_ *duroxide.ActivityContext, in yield.Value) (any, error) { return in, nil })
		orchestration(t, rt, "SqliteSmoketest", func(ctx *yield.Ctx, in yield.Value) (any, error) {
			return ctx.Yield(ctx.ScheduleActivity("Echo", in))
		})
		s.start(rt)
		defer s.shutdown(rt)
		id := uid("sqlite-smoke")
		s.startOrch(id, "SqliteSmoketest", "hello-sqlite")
		equal(t, "output", mustComplete[string](t, s.wait(id, 5*time.Second)), "hello-sqlite")
	})
}

// test_e2e.py::test_retry_exhaustion
func TestE2E_RetryExhaustion(t *testing.T) {
	eachStore(t, func(t *testing.T, s *scenario) {
		rt := s.runtime(duroxide.RuntimeOptions{})
		activity(t, rt, "AlwaysFails", func(*duroxide.ActivityContext, yield.Value) (any, error) {
			return nil, errors.New("permanent failure")
		})
		orchestration(t, rt, "RetryExhaust", func(ctx *yield.Ctx, in yield.Value) (any, error) {
			_, err := ctx.Yield(ctx.ScheduleActivityWithRetry("AlwaysFails", nil,
				yield.RetryPolicy{MaxAttempts: 2, Backoff: yield.BackoffFixed}))
			if err != nil {
				return fmt.Sprintf("caught: %v", err), nil
			}
			return "should not reach", nil
		})
		s.start(rt)
		defer s.shutdown(rt)
		id := uid("retry-exhaust")
		s.startOrch(id, "RetryExhaust", nil)
		out := mustComplete[string](t, s.wait(id, 10*time.Second))
		if !strings.HasPrefix(out, "caught:") {
			t.Fatalf("expected caught error, got: %s", out)
		}
	})
}

// test_e2e.py::test_continue_as_new_version_upgrade
func TestE2E_ContinueAsNewVersionUpgrade(t *testing.T) {
	eachStore(t, func(t *testing.T, s *scenario) {
		rt := s.runtime(duroxide.RuntimeOptions{})
		activity(t, rt, "Echo", func(_ *duroxide.ActivityContext, in yield.Value) (any, error) { return in, nil })
		orchestration(t, rt, "UpgradingWorkflow", func(ctx *yield.Ctx, in yield.Value) (any, error) {
			ctx.TraceInfo("[v1.0.0] will upgrade")
			return ctx.Yield(ctx.ContinueAsNew(map[string]any{"fromVersion": "1.0.0"}))
		})
		aVersioned(t, rt, "UpgradingWorkflow", "1.0.1", func(ctx *yield.Ctx, in yield.Value) (any, error) {
			ctx.TraceInfo("[v1.0.1] upgraded")
			return map[string]any{"version": "1.0.1", "previousVersion": in.Field("fromVersion")}, nil
		})
		s.start(rt)
		defer s.shutdown(rt)
		id := uid("ver-can")
		if err := s.client.StartOrchestrationVersioned(s.ctx, id, "UpgradingWorkflow", map[string]any{}, "1.0.0"); err != nil {
			t.Fatalf("StartOrchestrationVersioned: %v", err)
		}
		out := mustComplete[map[string]any](t, s.wait(id, 10*time.Second))
		equal(t, "version", out["version"], any("1.0.1"))
		equal(t, "previousVersion", out["previousVersion"], any("1.0.0"))
	})
}

// test_e2e.py::test_version_routing
func TestE2E_VersionRouting(t *testing.T) {
	eachStore(t, func(t *testing.T, s *scenario) {
		rt := s.runtime(duroxide.RuntimeOptions{})
		activity(t, rt, "Work", func(_ *duroxide.ActivityContext, in yield.Value) (any, error) {
			return "done-" + in.String(), nil
		})
		orchestration(t, rt, "MultiVerWorkflow", func(ctx *yield.Ctx, in yield.Value) (any, error) {
			return "v1-simple", nil
		})
		aVersioned(t, rt, "MultiVerWorkflow", "1.0.1", func(ctx *yield.Ctx, in yield.Value) (any, error) {
			validated, err := ctx.Yield(ctx.ScheduleActivity("Work", "validated"))
			if err != nil {
				return nil, err
			}
			return "v1.0.1-" + validated.String(), nil
		})
		s.start(rt)
		defer s.shutdown(rt)
		idV1 := uid("multiver-v1")
		idV101 := uid("multiver-v101")
		if err := s.client.StartOrchestrationVersioned(s.ctx, idV1, "MultiVerWorkflow", nil, "1.0.0"); err != nil {
			t.Fatalf("StartOrchestrationVersioned: %v", err)
		}
		s.startOrch(idV101, "MultiVerWorkflow", nil)
		r1 := s.wait(idV1, 10*time.Second)
		r2 := s.wait(idV101, 10*time.Second)
		equal(t, "v1 output", mustComplete[string](t, r1), "v1-simple")
		equal(t, "latest output", mustComplete[string](t, r2), "v1.0.1-done-validated")
	})
}

// test_e2e.py::test_activity_get_client
func TestE2E_ActivityGetClient(t *testing.T) {
	eachStore(t, func(t *testing.T, s *scenario) {
		rt := s.runtime(duroxide.RuntimeOptions{})
		activity(t, rt, "SpawnChild", func(ctx *duroxide.ActivityContext, in yield.Value) (any, error) {
			childClient := ctx.Client()
			childID := "child-" + ctx.InstanceID()
			if err := childClient.StartOrchestration(ctx.Context(), childID, "SimpleChild", in); err != nil {
				return nil, err
			}
			childResult, err := childClient.WaitForOrchestration(ctx.Context(), childID, 10*time.Second)
			if err != nil {
				return nil, err
			}
			return childResult.Output, nil
		})
		orchestration(t, rt, "SimpleChild", func(ctx *yield.Ctx, in yield.Value) (any, error) {
			return "child-got-" + in.String(), nil
		})
		orchestration(t, rt, "ClientFromActivity", func(ctx *yield.Ctx, in yield.Value) (any, error) {
			return ctx.Yield(ctx.ScheduleActivity("SpawnChild", in))
		})
		s.start(rt)
		defer s.shutdown(rt)
		id := uid("cfa")
		s.startOrch(id, "ClientFromActivity", "trigger")
		equal(t, "output", mustComplete[string](t, s.wait(id, 10*time.Second)), "child-got-trigger")
	})
}

// test_e2e.py::test_custom_status_get_reflects_set_across_turns
func TestE2E_CustomStatusGetReflectsSetAcrossTurns(t *testing.T) {
	eachStore(t, func(t *testing.T, s *scenario) {
		rt := s.runtime(duroxide.RuntimeOptions{})
		activity(t, rt, "Echo", func(_ *duroxide.ActivityContext, in yield.Value) (any, error) { return in, nil })
		orchestration(t, rt, "GetterTest", func(ctx *yield.Ctx, in yield.Value) (any, error) {
			// Before any set, should be None
			_, ok := ctx.GetCustomStatus()
			if err := aCheck(!ok, "initial should be None"); err != nil {
				return nil, err
			}

			ctx.SetCustomStatus("step-1")
			cs, _ := ctx.GetCustomStatus()
			if err := aCheck(cs == "step-1", "should reflect set immediately"); err != nil {
				return nil, err
			}

			// Cross a turn boundary
			if _, err := ctx.Yield(ctx.ScheduleActivity("Echo", "ping")); err != nil {
				return nil, err
			}

			// After replay, should still return "step-1"
			cs, _ = ctx.GetCustomStatus()
			if err := aCheck(cs == "step-1", "should survive replay across turns"); err != nil {
				return nil, err
			}

			ctx.SetCustomStatus("step-2")
			cs, _ = ctx.GetCustomStatus()
			if err := aCheck(cs == "step-2", "should reflect second set"); err != nil {
				return nil, err
			}
			return "done", nil
		})
		s.start(rt)
		defer s.shutdown(rt)
		id := uid("cs-getter")
		s.startOrch(id, "GetterTest", "")
		res := s.wait(id, 10*time.Second)
		equal(t, "output", mustComplete[string](t, res), "done")
		if res.CustomStatus == nil || *res.CustomStatus != "step-2" {
			t.Fatalf("custom status %v, want step-2", res.CustomStatus)
		}
	})
}

// test_e2e.py::test_custom_status_persists_across_continue_as_new
func TestE2E_CustomStatusPersistsAcrossContinueAsNew(t *testing.T) {
	eachStore(t, func(t *testing.T, s *scenario) {
		rt := s.runtime(duroxide.RuntimeOptions{})
		activity(t, rt, "Echo", func(_ *duroxide.ActivityContext, in yield.Value) (any, error) { return in, nil })
		orchestration(t, rt, "StatusCanTest", func(ctx *yield.Ctx, in yield.Value) (any, error) {
			generation := 1
			if g := in.Field("generation"); !g.IsNull() {
				n, err := aDecode[int](g)
				if err != nil {
					return nil, err
				}
				generation = n
			}
			switch generation {
			case 1:
				// First generation: set status, verify, then CAN
				_, ok := ctx.GetCustomStatus()
				if err := aCheck(!ok, "gen1: initial should be None"); err != nil {
					return nil, err
				}
				ctx.SetCustomStatus("gen1-active")
				cs, _ := ctx.GetCustomStatus()
				if err := aCheck(cs == "gen1-active", "gen1: should reflect set"); err != nil {
					return nil, err
				}

				// Cross a turn boundary to ensure persistence
				if _, err := ctx.Yield(ctx.ScheduleActivity("Echo", "ping")); err != nil {
					return nil, err
				}
				cs, _ = ctx.GetCustomStatus()
				if err := aCheck(cs == "gen1-active", "gen1: should survive turn"); err != nil {
					return nil, err
				}

				// CAN — runtime carries forward custom status automatically
				return ctx.Yield(ctx.ContinueAsNew(map[string]any{"generation": 2}))
			case 2:
				// Second generation: status should be carried forward from gen1
				cs, ok := ctx.GetCustomStatus()
				if err := aCheck(ok && cs == "gen1-active", "gen2: should inherit from gen1"); err != nil {
					return nil, err
				}

				// Update status in gen2
				ctx.SetCustomStatus("gen2-updated")
				cs, _ = ctx.GetCustomStatus()
				if err := aCheck(cs == "gen2-updated", "gen2: should reflect new set"); err != nil {
					return nil, err
				}

				// Now reset it
				ctx.ResetCustomStatus()
				_, ok = ctx.GetCustomStatus()
				if err := aCheck(!ok, "gen2: should be None after reset"); err != nil {
					return nil, err
				}

				// CAN again with no status
				return ctx.Yield(ctx.ContinueAsNew(map[string]any{"generation": 3}))
			default:
				// Third generation: status should be None (was reset before CAN)
				_, ok := ctx.GetCustomStatus()
				if err := aCheck(!ok, "gen3: should be None after reset+CAN"); err != nil {
					return nil, err
				}
				ctx.SetCustomStatus("gen3-final")
				return "done", nil
			}
		})
		s.start(rt)
		defer s.shutdown(rt)
		id := uid("cs-can")
		s.startOrch(id, "StatusCanTest", map[string]any{"generation": 1})
		res := s.wait(id, 15*time.Second)
		equal(t, "output", mustComplete[string](t, res), "done")
		if res.CustomStatus == nil || *res.CustomStatus != "gen3-final" {
			t.Fatalf("custom status %v, want gen3-final", res.CustomStatus)
		}
	})
}

// test_e2e.py::test_metrics_snapshot
func TestE2E_MetricsSnapshot(t *testing.T) {
	eachStore(t, func(t *testing.T, s *scenario) {
		rt := s.runtime(duroxide.RuntimeOptions{})
		activity(t, rt, "Echo", func(_ *duroxide.ActivityContext, in yield.Value) (any, error) { return in, nil })
		orchestration(t, rt, "MetricsTest", func(ctx *yield.Ctx, in yield.Value) (any, error) {
			return ctx.Yield(ctx.ScheduleActivity("Echo", in))
		})
		s.start(rt)
		defer s.shutdown(rt)
		id := uid("metrics")
		s.startOrch(id, "MetricsTest", "hello")
		s.wait(id, 10*time.Second)
		// The runtime counts after its commit, which the client may see first: wait for
		// the counters instead of reading them once.
		eventually(t, "the metrics to count the run", func() bool {
			snap := rt.MetricsSnapshot()
			return snap.OrchStarts >= 1 && snap.OrchCompletions >= 1 && snap.ActivitySuccess >= 1
		})
	})
}

// test_e2e.py::test_detached_orchestration_scheduling
func TestE2E_DetachedOrchestrationScheduling(t *testing.T) {
	eachStore(t, func(t *testing.T, s *scenario) {
		rt := s.runtime(duroxide.RuntimeOptions{})
		activity(t, rt, "Echo", func(_ *duroxide.ActivityContext, in yield.Value) (any, error) { return in, nil })
		orchestration(t, rt, "Chained", func(ctx *yield.Ctx, in yield.Value) (any, error) {
			if _, err := ctx.Yield(ctx.ScheduleTimer(5 * time.Millisecond)); err != nil {
				return nil, err
			}
			return ctx.Yield(ctx.ScheduleActivity("Echo", in))
		})
		orchestration(t, rt, "Coordinator", func(ctx *yield.Ctx, in yield.Value) (any, error) {
			if _, err := ctx.Yield(ctx.StartOrchestration("Chained", uid("W1"), "A")); err != nil {
				return nil, err
			}
			if _, err := ctx.Yield(ctx.StartOrchestration("Chained", uid("W2"), "B")); err != nil {
				return nil, err
			}
			return "scheduled", nil
		})
		s.start(rt)
		defer s.shutdown(rt)
		coordID := uid("Coordinator")
		s.startOrch(coordID, "Coordinator", nil)
		equal(t, "coordinator output", mustComplete[string](t, s.wait(coordID, 10*time.Second)), "scheduled")

		r1 := s.wait(uid("W1"), 10*time.Second)
		r2 := s.wait(uid("W2"), 10*time.Second)
		equal(t, "W1 output", mustComplete[string](t, r1), "A")
		equal(t, "W2 output", mustComplete[string](t, r2), "B")
	})
}

// test_e2e.py::test_detached_then_activity
func TestE2E_DetachedThenActivity(t *testing.T) {
	eachStore(t, func(t *testing.T, s *scenario) {
		rt := s.runtime(duroxide.RuntimeOptions{})
		activity(t, rt, "EchoDT", func(_ *duroxide.ActivityContext, in yield.Value) (any, error) { return in, nil })
		orchestration(t, rt, "DetachedChild", func(ctx *yield.Ctx, in yield.Value) (any, error) {
			if _, err := ctx.Yield(ctx.ScheduleTimer(5 * time.Millisecond)); err != nil {
				return nil, err
			}
			return "child-" + in.String(), nil
		})
		orchestration(t, rt, "DetachedParent", func(ctx *yield.Ctx, in yield.Value) (any, error) {
			if _, err := ctx.Yield(ctx.StartOrchestration("DetachedChild", uid("detached-child"), "payload")); err != nil {
				return nil, err
			}
			return ctx.Yield(ctx.ScheduleActivity("EchoDT", "hello"))
		})
		s.start(rt)
		defer s.shutdown(rt)
		parentID := uid("DetachedParent")
		s.startOrch(parentID, "DetachedParent", nil)
		equal(t, "parent output", mustComplete[string](t, s.wait(parentID, 10*time.Second)), "hello")

		child := s.wait(uid("detached-child"), 10*time.Second)
		equal(t, "child output", mustComplete[string](t, child), "child-payload")
	})
}

// test_e2e.py::test_self_pruning_eternal_orchestration
func TestE2E_SelfPruningEternalOrchestration(t *testing.T) {
	eachStore(t, func(t *testing.T, s *scenario) {
		rt := s.runtime(duroxide.RuntimeOptions{})
		activity(t, rt, "ProcessBatch", func(_ *duroxide.ActivityContext, in yield.Value) (any, error) {
			return "Processed batch " + in.String(), nil
		})
		activity(t, rt, "PruneSelf", func(ctx *duroxide.ActivityContext, in yield.Value) (any, error) {
			c := ctx.Client()
			if _, err := c.PruneExecutions(ctx.Context(), ctx.InstanceID(), duroxide.PruneOptions{KeepLast: 1}); err != nil {
				return nil, err
			}
			return "pruned", nil
		})
		type batchState struct {
			BatchNum     int `json:"batchNum"`
			TotalBatches int `json:"totalBatches"`
		}
		orchestration(t, rt, "EternalPruner", func(ctx *yield.Ctx, in yield.Value) (any, error) {
			// Python: state = json.loads(input) if isinstance(input, str) else input
			raw := in
			var text string
			if in.Decode(&text) == nil {
				raw = yield.RawValue(json.RawMessage(text))
			}
			state, err := aDecode[batchState](raw)
			if err != nil {
				return nil, err
			}
			batchNum, total := state.BatchNum, state.TotalBatches

			result, err := ctx.Yield(ctx.ScheduleActivity("ProcessBatch", batchNum))
			if err != nil {
				return nil, err
			}
			if _, err := ctx.Yield(ctx.ScheduleActivity("PruneSelf", nil)); err != nil {
				return nil, err
			}
			if batchNum+1 < total {
				next, err := json.Marshal(batchState{BatchNum: batchNum + 1, TotalBatches: total})
				if err != nil {
					return nil, err
				}
				return ctx.Yield(ctx.ContinueAsNew(string(next)))
			}
			return result, nil
		})
		s.start(rt)
		defer s.shutdown(rt)
		id := uid("EternalPruner")
		s.startOrch(id, "EternalPruner", `{"batchNum": 0, "totalBatches": 5}`)
		equal(t, "output", mustComplete[string](t, s.wait(id, 30*time.Second)), "Processed batch 4")
	})
}

// test_e2e.py::test_config_hot_reload_persistent_events
func TestE2E_ConfigHotReloadPersistentEvents(t *testing.T) {
	eachStore(t, func(t *testing.T, s *scenario) {
		rt := s.runtime(duroxide.RuntimeOptions{})
		activity(t, rt, "ApplyConfig", func(_ *duroxide.ActivityContext, in yield.Value) (any, error) {
			return "applied:" + in.String(), nil
		})
		orchestration(t, rt, "ConfigHotReload", func(ctx *yield.Ctx, in yield.Value) (any, error) {
			var log []string
			// Drain loop: race dequeue vs short timer
			drain := func() error {
				for {
					winner, err := aRace(ctx, ctx.DequeueEvent("ConfigUpdate"), ctx.ScheduleTimer(50*time.Millisecond))
					if err != nil {
						return err
					}
					if winner.Index != 0 {
						return nil
					}
					log = append(log, winner.Value.String())
				}
			}
			for cycle := range 3 {
				if err := drain(); err != nil {
					return nil, err
				}
				log = append(log, fmt.Sprintf("cycle:%d", cycle))
				if _, err := ctx.Yield(ctx.ScheduleTimer(100 * time.Millisecond)); err != nil {
					return nil, err
				}
				if _, err := ctx.Yield(ctx.ScheduleActivity("ApplyConfig", fmt.Sprintf("c%d", cycle))); err != nil {
					return nil, err
				}
			}
			// Final drain
			if err := drain(); err != nil {
				return nil, err
			}
			return strings.Join(log, ","), nil
		})
		s.start(rt)
		defer s.shutdown(rt)
		id := uid("ConfigHotReload")
		s.startOrch(id, "ConfigHotReload", nil)
		// Enqueue v1 and v2 immediately after start (before first drain completes)
		s.enqueue(id, "ConfigUpdate", "v1")
		s.enqueue(id, "ConfigUpdate", "v2")

		// Python sleeps 0.3 s so v3 arrives mid-run; wait until the first cycle's
		// ApplyConfig is scheduled instead.
		eventually(t, "the first cycle to apply its config", func() bool {
			return s.aHistoryHas(id, history.ActivityScheduled)
		})
		s.enqueue(id, "ConfigUpdate", "v3")

		output := mustComplete[string](t, s.wait(id, 30*time.Second))
		// v1 and v2 should appear before cycle:0
		v1, v2, cycle0 := strings.Index(output, "v1"), strings.Index(output, "v2"), strings.Index(output, "cycle:0")
		if v1 < 0 || v2 < 0 || cycle0 < 0 || v1 > cycle0 || v2 > cycle0 {
			t.Fatalf("v1 and v2 should be before cycle:0, got: %s", output)
		}
		// v3 should appear somewhere in the output
		contains(t, "output", output, "v3")
	})
}

// test_e2e.py::test_typed_activity_round_trip
func TestE2E_TypedActivityRoundTrip(t *testing.T) {
	type data struct {
		Name  string `json:"name"`
		Count int    `json:"count"`
	}
	type processed struct {
		Processed bool   `json:"processed"`
		Name      string `json:"name"`
		Count     int    `json:"count"`
	}
	eachStore(t, func(t *testing.T, s *scenario) {
		setup := func(rt *duroxide.Runtime) {
			err := duroxide.RegisterActivityTyped(rt, "ProcessData", func(_ *duroxide.ActivityContext, in data) (processed, error) {
				return processed{Processed: true, Name: in.Name, Count: in.Count * 2}, nil
			})
			if err != nil {
				t.Fatalf("RegisterActivityTyped: %v", err)
			}
			orchestration(t, rt, "TypedActivityRoundTrip", func(ctx *yield.Ctx, in yield.Value) (any, error) {
				return yield.Await[processed](ctx, ctx.ScheduleActivity("ProcessData", data{Name: "test", Count: 5}))
			})
		}
		res := s.aRunOrchestration("TypedActivityRoundTrip", nil, setup, 10*time.Second)
		equal(t, "output", mustComplete[map[string]any](t, res),
			map[string]any{"processed": true, "name": "test", "count": json.Number("10")})
	})
}

// test_e2e.py::test_typed_all_returns_parsed
func TestE2E_TypedAllReturnsParsed(t *testing.T) {
	type item struct {
		ID     int    `json:"id"`
		Status string `json:"status"`
	}
	eachStore(t, func(t *testing.T, s *scenario) {
		setup := func(rt *duroxide.Runtime) {
			err := duroxide.RegisterActivityTyped(rt, "MakeItem", func(_ *duroxide.ActivityContext, in int) (item, error) {
				return item{ID: in, Status: "created"}, nil
			})
			if err != nil {
				t.Fatalf("RegisterActivityTyped: %v", err)
			}
			orchestration(t, rt, "TypedAllTest", func(ctx *yield.Ctx, in yield.Value) (any, error) {
				tasks := make([]yield.Task, 0, 3)
				for i := range 3 {
					tasks = append(tasks, ctx.ScheduleActivity("MakeItem", i))
				}
				results, err := yield.AwaitAll(ctx, tasks...)
				if err != nil {
					return nil, err
				}
				// all_typed unwraps each {"ok": v} to v.
				out := make([]yield.Value, len(results))
				for i, r := range results {
					if r.Err != nil {
						return nil, r.Err
					}
					out[i] = r.Value
				}
				return out, nil
			})
		}
		res := s.aRunOrchestration("TypedAllTest", nil, setup, 10*time.Second)
		output := mustComplete[[]item](t, res)
		equal(t, "len(output)", len(output), 3)
		ids := make([]int, 0, len(output))
		for _, it := range output {
			ids = append(ids, it.ID)
			equal(t, "status", it.Status, "created")
		}
		slices.Sort(ids)
		equal(t, "ids", ids, []int{0, 1, 2})
	})
}

// test_e2e.py::test_typed_race_returns_parsed
func TestE2E_TypedRaceReturnsParsed(t *testing.T) {
	type fast struct {
		Winner bool   `json:"winner"`
		Data   string `json:"data"`
	}
	eachStore(t, func(t *testing.T, s *scenario) {
		setup := func(rt *duroxide.Runtime) {
			err := duroxide.RegisterActivityTyped(rt, "FastWork", func(_ *duroxide.ActivityContext, in string) (fast, error) {
				return fast{Winner: true, Data: in}, nil
			})
			if err != nil {
				t.Fatalf("RegisterActivityTyped: %v", err)
			}
			orchestration(t, rt, "TypedRaceTest", func(ctx *yield.Ctx, in yield.Value) (any, error) {
				index, v, err := yield.AwaitRace(ctx,
					ctx.ScheduleActivity("FastWork", "speedy"),
					ctx.ScheduleTimer(60*time.Second),
				)
				if err != nil {
					return nil, err
				}
				return map[string]any{"index": index, "value": v}, nil
			})
		}
		res := s.aRunOrchestration("TypedRaceTest", nil, setup, 10*time.Second)
		out := mustComplete[map[string]any](t, res)
		equal(t, "index", out["index"], any(json.Number("0")))
		equal(t, "value", out["value"], any(map[string]any{"winner": true, "data": "speedy"}))
	})
}

// test_e2e.py::test_typed_sub_orchestration_round_trip
func TestE2E_TypedSubOrchestrationRoundTrip(t *testing.T) {
	type key struct {
		Key string `json:"key"`
	}
	type result struct {
		Result string `json:"result"`
	}
	eachStore(t, func(t *testing.T, s *scenario) {
		setup := func(rt *duroxide.Runtime) {
			err := duroxide.RegisterActivityTyped(rt, "SubWork", func(_ *duroxide.ActivityContext, in key) (result, error) {
				return result{Result: "processed-" + in.Key}, nil
			})
			if err != nil {
				t.Fatalf("RegisterActivityTyped: %v", err)
			}
			err = duroxide.RegisterOrchestrationTyped(rt, "TypedSubChild", func(ctx *yield.Ctx, in key) (result, error) {
				return yield.Await[result](ctx, ctx.ScheduleActivity("SubWork", in))
			})
			if err != nil {
				t.Fatalf("RegisterOrchestrationTyped: %v", err)
			}
			orchestration(t, rt, "TypedSubParent", func(ctx *yield.Ctx, in yield.Value) (any, error) {
				return yield.Await[result](ctx, ctx.ScheduleSubOrchestration("TypedSubChild", key{Key: "alpha"}))
			})
		}
		res := s.aRunOrchestration("TypedSubParent", nil, setup, 10*time.Second)
		equal(t, "output", mustComplete[map[string]any](t, res), map[string]any{"result": "processed-alpha"})
	})
}

// test_e2e.py::test_all_with_dynamic_fan_out
func TestE2E_AllWithDynamicFanOut(t *testing.T) {
	eachStore(t, func(t *testing.T, s *scenario) {
		setup := func(rt *duroxide.Runtime) {
			activity(t, rt, "Square", func(_ *duroxide.ActivityContext, in yield.Value) (any, error) {
				n, err := aDecode[int](in)
				return n * n, err
			})
			orchestration(t, rt, "AllDynamic", func(ctx *yield.Ctx, in yield.Value) (any, error) {
				ns, err := aDecode[[]yield.Value](in)
				if err != nil {
					return nil, err
				}
				tasks := make([]yield.Task, 0, len(ns))
				for _, n := range ns {
					tasks = append(tasks, ctx.ScheduleActivity("Square", n))
				}
				results, err := aAll(ctx, tasks...)
				if err != nil {
					return nil, err
				}
				out := make([]yield.Value, len(results))
				for i, r := range results {
					out[i] = r.get()
				}
				return out, nil
			})
		}
		res := s.aRunOrchestration("AllDynamic", []int{2, 3, 5}, setup, 10*time.Second)
		equal(t, "output", mustComplete[[]int](t, res), []int{4, 9, 25})
	})
}

// test_e2e.py::test_init_tracing_is_callable
func TestE2E_InitTracingIsCallable(t *testing.T) {
	// Go has no callable() check: NewLogger, the init_tracing equivalent, is called with
	// the defaults (stderr, info) and must give a working logger.
	logger, closer, err := duroxide.NewLogger(duroxide.LogConfig{})
	if err != nil {
		t.Fatalf("NewLogger: %v", err)
	}
	defer closer.Close()
	if logger == nil {
		t.Fatal("NewLogger returned a nil logger")
	}
}

// test_e2e.py::test_init_tracing_writes_to_file
func TestE2E_InitTracingWritesToFile(t *testing.T) {
	logFile := filepath.Join(t.TempDir(), "test.log")
	logger, closer, err := duroxide.NewLogger(duroxide.LogConfig{File: logFile, Level: "info"})
	if err != nil {
		t.Fatalf("NewLogger: %v", err)
	}
	// Python tolerates "Failed to init tracing" (its subscriber is process-global); a Go
	// logger is a value, so it always succeeds, and the test checks the file is written.
	logger.Info().Str("instance_id", "x").Msg("hello from init tracing")
	if err := closer.Close(); err != nil {
		t.Fatalf("closing log file: %v", err)
	}
	b, err := os.ReadFile(logFile)
	if err != nil {
		t.Fatalf("reading log file: %v", err)
	}
	contains(t, "log file", string(b), "hello from init tracing")
}

// test_e2e.py::test_init_tracing_invalid_path
func TestE2E_InitTracingInvalidPath(t *testing.T) {
	// NewLogger creates missing folders, and the tests may run as root, so the Python
	// path /nonexistent-dir/sub/test.log could be created: a path below a regular file
	// can never be.
	file := filepath.Join(t.TempDir(), "not-a-dir")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	_, _, err := duroxide.NewLogger(duroxide.LogConfig{File: filepath.Join(file, "sub", "test.log")})
	if err == nil {
		t.Fatal("NewLogger on an impossible path succeeded")
	}
	contains(t, "error", err.Error(), "failed to open log file")
}

// test_e2e.py::test_sample_orchestration_stats
func TestE2E_SampleOrchestrationStats(t *testing.T) {
	eachStore(t, func(t *testing.T, s *scenario) {
		rt := s.runtime(duroxide.RuntimeOptions{})
		orchestration(t, rt, "DataPipeline", func(ctx *yield.Ctx, in yield.Value) (any, error) {
			// Python passes json.dumps(url), a string holding JSON text, as the input.
			result, err := ctx.Yield(ctx.ScheduleActivity("FetchData", `"https://api.example.com"`))
			if err != nil {
				return nil, err
			}
			ctx.SetKVValue("last_fetch", result.String())
			ctx.SetKVValue("status", "complete")
			return result, nil
		})
		activity(t, rt, "FetchData", func(_ *duroxide.ActivityContext, url yield.Value) (any, error) {
			return "data from " + url.String(), nil
		})
		s.start(rt)
		defer s.shutdown(rt)

		// Missing instance returns None (Go: ErrNotFound)
		if _, err := s.client.GetOrchestrationStats(s.ctx, uid("missing-stats-e2e")); !errors.Is(err, duroxide.ErrNotFound) {
			t.Fatalf("stats of a missing instance: err = %v, want ErrNotFound", err)
		}

		id := uid("stats-e2e")
		s.startOrch(id, "DataPipeline", "")
		s.wait(id, 10*time.Second)

		stats, err := s.client.GetOrchestrationStats(s.ctx, id)
		if err != nil {
			t.Fatalf("GetOrchestrationStats: %v", err)
		}
		if stats.HistoryEventCount < 4 {
			t.Errorf("history_event_count = %d, want >= 4", stats.HistoryEventCount)
		}
		if stats.HistorySizeBytes <= 0 {
			t.Errorf("history_size_bytes = %d, want > 0", stats.HistorySizeBytes)
		}
		if stats.KVUserKeyCount != 2 {
			t.Errorf("kv_user_key_count = %d, want 2", stats.KVUserKeyCount)
		}
		if stats.KVTotalValueBytes <= 0 {
			t.Errorf("kv_total_value_bytes = %d, want > 0", stats.KVTotalValueBytes)
		}
		if stats.QueuePendingCount != 0 {
			t.Errorf("queue_pending_count = %d, want 0", stats.QueuePendingCount)
		}
	})
}
