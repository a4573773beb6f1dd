package integration_test

// Ports of tests/test_advanced_features.py of the Python SDK (python-sdk.md §3.4).

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/duroxide-go/duroxide"
	"github.com/duroxide-go/duroxide/history"
	"github.com/duroxide-go/duroxide/yield"
)

// advancedTimeout is run_orchestration's default wait in the Python file.
const advancedTimeout = 10 * time.Second

// advancedConst returns an activity that ignores its input and returns v (the Python
// `lambda ctx, inp: v`).
func advancedConst(v any) duroxide.Activity {
	return func(*duroxide.ActivityContext, yield.Value) (any, error) { return v, nil }
}

// advancedFail returns an activity that always fails with msg (the Python
// `raise Exception(msg)`).
func advancedFail(msg string) duroxide.Activity {
	return func(*duroxide.ActivityContext, yield.Value) (any, error) { return nil, fmt.Errorf("%s", msg) }
}

// advancedTyped registers a typed activity, failing the test on error.
func advancedTyped(t *testing.T, rt *duroxide.Runtime, name string, fn func(*duroxide.ActivityContext, int) (int, error)) {
	t.Helper()
	if err := duroxide.RegisterActivityTyped(rt, name, fn); err != nil {
		t.Fatalf("RegisterActivityTyped(%q): %v", name, err)
	}
}

// ─── Typed registration (1-3) ───

// test_advanced_features.py::test_typed_registration_round_trip
func TestAdvanced_TypedRegistrationRoundTrip(t *testing.T) {
	eachStore(t, func(t *testing.T, s *scenario) {
		res := s.bRunOrchestration("TypedRegRT", "21", func(rt *duroxide.Runtime) {
			advancedTyped(t, rt, "Double", func(_ *duroxide.ActivityContext, n int) (int, error) { return n * 2, nil })
			if err := duroxide.RegisterOrchestrationTyped(rt, "TypedRegRT", func(ctx *yield.Ctx, n string) (int, error) {
				// Python's schedule_activity_typed sends a str input verbatim as JSON; in Go
				// a pre-encoded input is an explicit yield.RawValue.
				return yield.Await[int](ctx, ctx.ScheduleActivity("Double", yield.RawValue(json.RawMessage(n))))
			}); err != nil {
				t.Fatalf("RegisterOrchestrationTyped: %v", err)
			}
		}, advancedTimeout, "typed-rt-1")
		equal(t, "output", mustComplete[int](t, res), 42)
	})
}

// test_advanced_features.py::test_typed_registration_fan_out
func TestAdvanced_TypedRegistrationFanOut(t *testing.T) {
	eachStore(t, func(t *testing.T, s *scenario) {
		res := s.bRunOrchestration("TypedFanOut", "5", func(rt *duroxide.Runtime) {
			advancedTyped(t, rt, "AddTen", func(_ *duroxide.ActivityContext, n int) (int, error) { return n + 10, nil })
			advancedTyped(t, rt, "MulThree", func(_ *duroxide.ActivityContext, n int) (int, error) { return n * 3, nil })
			orchestration(t, rt, "TypedFanOut", func(ctx *yield.Ctx, in yield.Value) (any, error) {
				n, err := strconv.Atoi(in.String())
				if err != nil {
					return nil, err
				}
				// AwaitAll is all_typed: one value per task instead of {"ok": value}.
				results, err := yield.AwaitAll(ctx,
					ctx.ScheduleActivity("AddTen", n),
					ctx.ScheduleActivity("MulThree", n),
				)
				if err != nil {
					return nil, err
				}
				total := 0
				for _, r := range results {
					if r.Err != nil {
						return nil, r.Err
					}
					var v int
					if err := r.Value.Decode(&v); err != nil {
						return nil, err
					}
					total += v
				}
				return strconv.Itoa(total), nil
			})
		}, advancedTimeout, "typed-fan-1")
		equal(t, "output", mustComplete[string](t, res), "30")
	})
}

// test_advanced_features.py::test_typed_registration_race_wins
func TestAdvanced_TypedRegistrationRaceWins(t *testing.T) {
	eachStore(t, func(t *testing.T, s *scenario) {
		res := s.bRunOrchestration("TypedRace", "21", func(rt *duroxide.Runtime) {
			advancedTyped(t, rt, "QuickCalc", func(_ *duroxide.ActivityContext, n int) (int, error) { return n * 2, nil })
			orchestration(t, rt, "TypedRace", func(ctx *yield.Ctx, in yield.Value) (any, error) {
				n, err := strconv.Atoi(in.String())
				if err != nil {
					return nil, err
				}
				winner, err := bRace(ctx,
					ctx.ScheduleActivity("QuickCalc", n),
					ctx.ScheduleTimer(2000*time.Millisecond),
				)
				if err != nil {
					return nil, err
				}
				return winner.Value.String(), nil
			})
		}, advancedTimeout, "typed-race-1")
		equal(t, "output", mustComplete[string](t, res), "42")
	})
}

// ─── Retry (4-5) ───

// test_advanced_features.py::test_retry_succeeds_after_failures
func TestAdvanced_RetrySucceedsAfterFailures(t *testing.T) {
	eachStore(t, func(t *testing.T, s *scenario) {
		var counter atomic.Int64
		res := s.bRunOrchestration("RetrySuccess", "go", func(rt *duroxide.Runtime) {
			activity(t, rt, "Flaky", func(*duroxide.ActivityContext, yield.Value) (any, error) {
				n := counter.Add(1)
				if n < 3 {
					return nil, fmt.Errorf("transient")
				}
				return fmt.Sprintf("success-on-%d", n), nil
			})
			orchestration(t, rt, "RetrySuccess", func(ctx *yield.Ctx, in yield.Value) (any, error) {
				return ctx.Yield(ctx.ScheduleActivityWithRetry("Flaky", "go",
					yield.RetryPolicy{MaxAttempts: 5, Backoff: yield.BackoffFixed}))
			})
		}, advancedTimeout, "retry-ok-1")
		contains(t, "output", string(mustComplete[yield.Value](t, res).Raw()), "success")
	})
}

// test_advanced_features.py::test_retry_exhaustion_compensation
func TestAdvanced_RetryExhaustionCompensation(t *testing.T) {
	eachStore(t, func(t *testing.T, s *scenario) {
		res := s.bRunOrchestration("RetryComp", "go", func(rt *duroxide.Runtime) {
			activity(t, rt, "AlwaysFails", advancedFail("permanent"))
			activity(t, rt, "Compensate", advancedConst("compensated"))
			orchestration(t, rt, "RetryComp", func(ctx *yield.Ctx, in yield.Value) (any, error) {
				if _, err := ctx.Yield(ctx.ScheduleActivityWithRetry("AlwaysFails", "go",
					yield.RetryPolicy{MaxAttempts: 2, Backoff: yield.BackoffFixed})); err != nil {
					return ctx.Yield(ctx.ScheduleActivity("Compensate", "fix"))
				}
				return nil, nil
			})
		}, advancedTimeout, "retry-comp-1")
		equal(t, "output", mustComplete[string](t, res), "compensated")
	})
}

// ─── Cancellation (6-8) ───

// test_advanced_features.py::test_cancel_propagates_to_sub_orchestration
func TestAdvanced_CancelPropagatesToSubOrchestration(t *testing.T) {
	eachStore(t, func(t *testing.T, s *scenario) {
		rt := s.runtime(duroxide.RuntimeOptions{})
		orchestration(t, rt, "LongChild", func(ctx *yield.Ctx, in yield.Value) (any, error) {
			if _, err := ctx.Yield(ctx.WaitForEvent("never_comes")); err != nil {
				return nil, err
			}
			return "should-not-reach", nil
		})
		orchestration(t, rt, "CancelParent", func(ctx *yield.Ctx, in yield.Value) (any, error) {
			return ctx.Yield(ctx.ScheduleSubOrchestration("LongChild", "child"))
		})
		s.start(rt)
		defer s.shutdown(rt)

		iid := uid("cancel-prop-1")
		s.startOrch(iid, "CancelParent", "go")
		// Python sleeps 2 s; here: until the child runs and waits for its event.
		var childID string
		eventually(t, "the child waiting for its event", func() bool {
			tree, err := s.client.GetInstanceTree(s.ctx, iid)
			if err != nil || tree.Size() < 2 {
				return false
			}
			childID = tree.AllIDs[1]
			return s.bHistoryHas(childID, history.ExternalSubscribed)
		})
		if err := s.client.CancelInstance(s.ctx, iid, "test-cancel"); err != nil {
			t.Fatalf("CancelInstance: %v", err)
		}
		res := s.wait(iid, 10*time.Second)
		equal(t, "parent status", res.Status, duroxide.StatusFailed)
		// Beyond the Python assertions: the cancel reached the child.
		child := s.wait(childID, 10*time.Second)
		equal(t, "child status", child.Status, duroxide.StatusFailed)
		equal(t, "child error kind", child.ErrorKind, duroxide.ErrorKindCancelled)
	})
}

// test_advanced_features.py::test_cancel_completed_is_noop
func TestAdvanced_CancelCompletedIsNoop(t *testing.T) {
	eachStore(t, func(t *testing.T, s *scenario) {
		rt := s.runtime(duroxide.RuntimeOptions{})
		activity(t, rt, "Echo", func(_ *duroxide.ActivityContext, in yield.Value) (any, error) { return in, nil })
		orchestration(t, rt, "QuickOrch", func(ctx *yield.Ctx, in yield.Value) (any, error) {
			return ctx.Yield(ctx.ScheduleActivity("Echo", "hello"))
		})
		s.start(rt)
		defer s.shutdown(rt)

		iid := uid("cancel-noop-1")
		s.startOrch(iid, "QuickOrch", "go")
		mustComplete[string](t, s.wait(iid, 10*time.Second))
		if err := s.client.CancelInstance(s.ctx, iid, "too-late"); err != nil {
			t.Fatalf("CancelInstance on a completed instance: %v", err)
		}
		status, err := s.client.GetStatus(s.ctx, iid)
		if err != nil {
			t.Fatalf("GetStatus: %v", err)
		}
		equal(t, "status", status.Status, duroxide.StatusCompleted)
	})
}

// test_advanced_features.py::test_race_sub_orchestration_wins
func TestAdvanced_RaceSubOrchestrationWins(t *testing.T) {
	eachStore(t, func(t *testing.T, s *scenario) {
		res := s.bRunOrchestration("RaceParent", "go", func(rt *duroxide.Runtime) {
			activity(t, rt, "Work", advancedConst("work-done"))
			orchestration(t, rt, "FastChild", func(ctx *yield.Ctx, in yield.Value) (any, error) {
				return ctx.Yield(ctx.ScheduleActivity("Work", "go"))
			})
			orchestration(t, rt, "SlowChild", func(ctx *yield.Ctx, in yield.Value) (any, error) {
				if _, err := ctx.Yield(ctx.WaitForEvent("never")); err != nil {
					return nil, err
				}
				return "slow", nil
			})
			orchestration(t, rt, "RaceParent", func(ctx *yield.Ctx, in yield.Value) (any, error) {
				return ctx.Yield(ctx.Race(
					ctx.ScheduleSubOrchestration("FastChild", "a"),
					ctx.ScheduleSubOrchestration("SlowChild", "b"),
				))
			})
		}, advancedTimeout, "race-sub-1")
		contains(t, "output", string(mustComplete[yield.Value](t, res).Raw()), "work-done")
	})
}

// ─── Timers (9-10) ───

// test_advanced_features.py::test_timer_activity_interleave
func TestAdvanced_TimerActivityInterleave(t *testing.T) {
	eachStore(t, func(t *testing.T, s *scenario) {
		res := s.bRunOrchestration("TimerInterleave", "go", func(rt *duroxide.Runtime) {
			activity(t, rt, "Step", func(_ *duroxide.ActivityContext, in yield.Value) (any, error) {
				return "step:" + in.String(), nil
			})
			orchestration(t, rt, "TimerInterleave", func(ctx *yield.Ctx, in yield.Value) (any, error) {
				if _, err := ctx.Yield(ctx.ScheduleTimer(50 * time.Millisecond)); err != nil {
					return nil, err
				}
				r1, err := ctx.Yield(ctx.ScheduleActivity("Step", "1"))
				if err != nil {
					return nil, err
				}
				if _, err := ctx.Yield(ctx.ScheduleTimer(50 * time.Millisecond)); err != nil {
					return nil, err
				}
				r2, err := ctx.Yield(ctx.ScheduleActivity("Step", "2"))
				if err != nil {
					return nil, err
				}
				return r1.String() + "," + r2.String(), nil
			})
		}, advancedTimeout, "timer-interl-1")
		equal(t, "output", mustComplete[string](t, res), "step:1,step:2")
	})
}

// test_advanced_features.py::test_zero_duration_timer
func TestAdvanced_ZeroDurationTimer(t *testing.T) {
	eachStore(t, func(t *testing.T, s *scenario) {
		res := s.bRunOrchestration("ZeroTimer", "go", func(rt *duroxide.Runtime) {
			activity(t, rt, "After", advancedConst("after-timer"))
			orchestration(t, rt, "ZeroTimer", func(ctx *yield.Ctx, in yield.Value) (any, error) {
				if _, err := ctx.Yield(ctx.ScheduleTimer(0)); err != nil {
					return nil, err
				}
				return ctx.Yield(ctx.ScheduleActivity("After", "go"))
			})
		}, advancedTimeout, "zero-timer-1")
		equal(t, "output", mustComplete[string](t, res), "after-timer")
	})
}

// ─── Custom status (11-12) ───

// test_advanced_features.py::test_custom_status_multi_turn_lifecycle
func TestAdvanced_CustomStatusMultiTurnLifecycle(t *testing.T) {
	eachStore(t, func(t *testing.T, s *scenario) {
		res := s.bRunOrchestration("StatusLifecycle", "go", func(rt *duroxide.Runtime) {
			activity(t, rt, "Noop", advancedConst("ok"))
			orchestration(t, rt, "StatusLifecycle", func(ctx *yield.Ctx, in yield.Value) (any, error) {
				ctx.SetCustomStatus("phase1")
				if _, err := ctx.Yield(ctx.ScheduleActivity("Noop", "a")); err != nil {
					return nil, err
				}
				s1, _ := ctx.GetCustomStatus()
				ctx.SetCustomStatus("phase2")
				if _, err := ctx.Yield(ctx.ScheduleActivity("Noop", "b")); err != nil {
					return nil, err
				}
				s2, _ := ctx.GetCustomStatus()
				ctx.ResetCustomStatus()
				if _, err := ctx.Yield(ctx.ScheduleActivity("Noop", "c")); err != nil {
					return nil, err
				}
				s3, ok := ctx.GetCustomStatus()
				if !ok || s3 == "" {
					s3 = "none"
				}
				return s1 + "," + s2 + "," + s3, nil
			})
		}, advancedTimeout, "status-lc-1")
		equal(t, "output", mustComplete[string](t, res), "phase1,phase2,none")
	})
}

// test_advanced_features.py::test_custom_status_visible_from_client
func TestAdvanced_CustomStatusVisibleFromClient(t *testing.T) {
	eachStore(t, func(t *testing.T, s *scenario) {
		rt := s.runtime(duroxide.RuntimeOptions{})
		orchestration(t, rt, "StatusVisible", func(ctx *yield.Ctx, in yield.Value) (any, error) {
			ctx.SetCustomStatus("processing")
			if _, err := ctx.Yield(ctx.WaitForEvent("proceed")); err != nil {
				return nil, err
			}
			return "done", nil
		})
		s.start(rt)
		defer s.shutdown(rt)

		iid := uid("status-vis-1")
		s.startOrch(iid, "StatusVisible", "go")
		// Python sleeps 2 s, then reads the status once; here: until the first turn commits.
		var status duroxide.OrchestrationResult
		eventually(t, "the first turn's custom status", func() bool {
			var err error
			status, err = s.client.GetStatus(s.ctx, iid)
			return err == nil && status.CustomStatus != nil
		})
		equal(t, "custom status", *status.CustomStatus, "processing")
		s.raise(iid, "proceed", "go")
		mustComplete[string](t, s.wait(iid, 10*time.Second))
	})
}

// ─── Event queues (13-14) ───

// test_advanced_features.py::test_event_queue_fifo_ordering
func TestAdvanced_EventQueueFIFOOrdering(t *testing.T) {
	eachStore(t, func(t *testing.T, s *scenario) {
		rt := s.runtime(duroxide.RuntimeOptions{})
		orchestration(t, rt, "QueueFIFO", func(ctx *yield.Ctx, in yield.Value) (any, error) {
			var msgs []string
			for range 3 {
				m, err := ctx.Yield(ctx.DequeueEvent("work"))
				if err != nil {
					return nil, err
				}
				msgs = append(msgs, m.String())
			}
			return strings.Join(msgs, ","), nil
		})
		s.start(rt)
		defer s.shutdown(rt)

		iid := uid("queue-fifo-1")
		s.startOrch(iid, "QueueFIFO", "go")
		// Python sleeps 0.5 s first; queue messages are kept until dequeued (DECISIONS 2).
		s.enqueue(iid, "work", "first")
		s.enqueue(iid, "work", "second")
		s.enqueue(iid, "work", "third")
		equal(t, "output", mustComplete[string](t, s.wait(iid, 10*time.Second)), "first,second,third")
	})
}

// test_advanced_features.py::test_event_queue_multi_queue_isolation
func TestAdvanced_EventQueueMultiQueueIsolation(t *testing.T) {
	eachStore(t, func(t *testing.T, s *scenario) {
		rt := s.runtime(duroxide.RuntimeOptions{})
		orchestration(t, rt, "MultiQueue", func(ctx *yield.Ctx, in yield.Value) (any, error) {
			a1, err := ctx.Yield(ctx.DequeueEvent("alpha"))
			if err != nil {
				return nil, err
			}
			b1, err := ctx.Yield(ctx.DequeueEvent("beta"))
			if err != nil {
				return nil, err
			}
			a2, err := ctx.Yield(ctx.DequeueEvent("alpha"))
			if err != nil {
				return nil, err
			}
			return fmt.Sprintf("a:%s+%s,b:%s", a1.String(), a2.String(), b1.String()), nil
		})
		s.start(rt)
		defer s.shutdown(rt)

		iid := uid("multi-queue-1")
		s.startOrch(iid, "MultiQueue", "go")
		// Python sleeps 0.5 s first; queue messages are kept until dequeued (DECISIONS 2).
		s.enqueue(iid, "alpha", "a-first")
		s.enqueue(iid, "beta", "b-first")
		s.enqueue(iid, "alpha", "a-second")
		equal(t, "output", mustComplete[string](t, s.wait(iid, 10*time.Second)), "a:a-first+a-second,b:b-first")
	})
}

// ─── Continue-as-new (15) ───

// test_advanced_features.py::test_continue_as_new_with_activity
func TestAdvanced_ContinueAsNewWithActivity(t *testing.T) {
	eachStore(t, func(t *testing.T, s *scenario) {
		res := s.bRunOrchestration("CanCounter", "3", func(rt *duroxide.Runtime) {
			activity(t, rt, "Record", func(_ *duroxide.ActivityContext, in yield.Value) (any, error) {
				return "recorded:" + in.String(), nil
			})
			orchestration(t, rt, "CanCounter", func(ctx *yield.Ctx, in yield.Value) (any, error) {
				n, err := strconv.Atoi(in.String())
				if err != nil {
					return nil, err
				}
				r, err := ctx.Yield(ctx.ScheduleActivity("Record", strconv.Itoa(n)))
				if err != nil {
					return nil, err
				}
				if n > 1 {
					return ctx.Yield(ctx.ContinueAsNew(strconv.Itoa(n - 1)))
				}
				return r, nil
			})
		}, 15*time.Second, "can-counter-1")
		equal(t, "output", mustComplete[string](t, res), "recorded:1")
	})
}

// ─── Versioning (16) ───

// test_advanced_features.py::test_versioned_sub_orchestration_explicit_pin
func TestAdvanced_VersionedSubOrchestrationExplicitPin(t *testing.T) {
	eachStore(t, func(t *testing.T, s *scenario) {
		res := s.bRunOrchestration("VersionParent", "go", func(rt *duroxide.Runtime) {
			bVersioned(t, rt, "VChild", "1.0.0", func(ctx *yield.Ctx, in yield.Value) (any, error) {
				if _, err := ctx.Yield(ctx.ScheduleTimer(0)); err != nil {
					return nil, err
				}
				return "v1-result", nil
			})
			bVersioned(t, rt, "VChild", "1.0.1", func(ctx *yield.Ctx, in yield.Value) (any, error) {
				if _, err := ctx.Yield(ctx.ScheduleTimer(0)); err != nil {
					return nil, err
				}
				return "v2-result", nil
			})
			orchestration(t, rt, "VersionParent", func(ctx *yield.Ctx, in yield.Value) (any, error) {
				return ctx.Yield(ctx.ScheduleSubOrchestrationVersioned("VChild", "1.0.0", "go"))
			})
		}, advancedTimeout, "version-pin-1")
		equal(t, "output", mustComplete[string](t, res), "v1-result")
	})
}

// ─── Error handling (17-18) ───

// test_advanced_features.py::test_error_sub_orchestration_propagates
func TestAdvanced_ErrorSubOrchestrationPropagates(t *testing.T) {
	eachStore(t, func(t *testing.T, s *scenario) {
		res := s.bRunOrchestration("ErrorParent", "go", func(rt *duroxide.Runtime) {
			activity(t, rt, "FailAct", advancedFail("child-error"))
			orchestration(t, rt, "FailChild", func(ctx *yield.Ctx, in yield.Value) (any, error) {
				return ctx.Yield(ctx.ScheduleActivity("FailAct", "go"))
			})
			orchestration(t, rt, "ErrorParent", func(ctx *yield.Ctx, in yield.Value) (any, error) {
				if _, err := ctx.Yield(ctx.ScheduleSubOrchestration("FailChild", "go")); err != nil {
					return "caught:" + err.Error(), nil
				}
				return nil, nil
			})
		}, advancedTimeout, "err-prop-1")
		out := mustComplete[string](t, res)
		contains(t, "output", out, "caught")
		// Beyond the Python assertion: the child's original message survives.
		contains(t, "output", out, "child-error")
	})
}

// test_advanced_features.py::test_error_compensation_debit_ship_refund
func TestAdvanced_ErrorCompensationDebitShipRefund(t *testing.T) {
	eachStore(t, func(t *testing.T, s *scenario) {
		res := s.bRunOrchestration("Saga", "order", func(rt *duroxide.Runtime) {
			activity(t, rt, "Debit", advancedConst("debited"))
			activity(t, rt, "Ship", advancedFail("ship-failed"))
			activity(t, rt, "Refund", advancedConst("refunded"))
			orchestration(t, rt, "Saga", func(ctx *yield.Ctx, in yield.Value) (any, error) {
				debit, err := ctx.Yield(ctx.ScheduleActivity("Debit", "order"))
				if err != nil {
					return nil, err
				}
				if _, err := ctx.Yield(ctx.ScheduleActivity("Ship", "order")); err != nil {
					refund, err := ctx.Yield(ctx.ScheduleActivity("Refund", "order"))
					if err != nil {
						return nil, err
					}
					return "compensated:" + debit.String() + ":" + refund.String(), nil
				}
				return nil, nil
			})
		}, advancedTimeout, "saga-comp-1")
		equal(t, "output", mustComplete[string](t, res), "compensated:debited:refunded")
	})
}

// ─── Nondeterminism (19-20) ───

// advancedNondeterminism runs phase 1 (v1 on a first runtime until it waits for
// "proceed"), stops that runtime, then runs the changed code v2 on a second runtime and
// raises "proceed": the instance must fail as nondeterministic.
func advancedNondeterminism(t *testing.T, s *scenario, iid, name string, v1, v2 yield.Orchestration) {
	t.Helper()
	register := func(rt *duroxide.Runtime, fn yield.Orchestration) {
		activity(t, rt, "Work", advancedConst("done"))
		activity(t, rt, "Extra", advancedConst("extra"))
		orchestration(t, rt, name, fn)
	}

	runtime1 := s.runtime(duroxide.RuntimeOptions{})
	register(runtime1, v1)
	s.start(runtime1)
	s.startOrch(iid, name, "go")
	// Python sleeps 2 s; here: until v1 has run its activity and waits for the event.
	eventually(t, "v1 waiting for proceed", func() bool { return s.bHistoryHas(iid, history.ExternalSubscribed) })
	s.shutdown(runtime1)

	runtime2 := s.runtime(duroxide.RuntimeOptions{})
	register(runtime2, v2)
	s.start(runtime2)
	defer s.shutdown(runtime2)
	s.raise(iid, "proceed", "go")
	res := s.wait(iid, 10*time.Second)
	equal(t, "status", res.Status, duroxide.StatusFailed)
	// Beyond the Python assertion: the failure is categorised.
	equal(t, "error kind", res.ErrorKind, duroxide.ErrorKindNondeterminism)
}

// test_advanced_features.py::test_nondeterminism_command_type_swap
func TestAdvanced_NondeterminismCommandTypeSwap(t *testing.T) {
	eachStore(t, func(t *testing.T, s *scenario) {
		advancedNondeterminism(t, s, uid("nondet-swap-1"), "NondetSwap",
			// Phase 1: activity then wait for the event.
			func(ctx *yield.Ctx, in yield.Value) (any, error) {
				if _, err := ctx.Yield(ctx.ScheduleActivity("Work", "go")); err != nil {
					return nil, err
				}
				if _, err := ctx.Yield(ctx.WaitForEvent("proceed")); err != nil {
					return nil, err
				}
				return "v1", nil
			},
			// Phase 2: timer then wait for the event (swapped command type).
			func(ctx *yield.Ctx, in yield.Value) (any, error) {
				if _, err := ctx.Yield(ctx.ScheduleTimer(100 * time.Millisecond)); err != nil {
					return nil, err
				}
				if _, err := ctx.Yield(ctx.WaitForEvent("proceed")); err != nil {
					return nil, err
				}
				return "v2", nil
			})
	})
}

// test_advanced_features.py::test_nondeterminism_extra_activity
func TestAdvanced_NondeterminismExtraActivity(t *testing.T) {
	eachStore(t, func(t *testing.T, s *scenario) {
		advancedNondeterminism(t, s, uid("nondet-extra-1"), "NondetExtra",
			// Phase 1: one activity then wait.
			func(ctx *yield.Ctx, in yield.Value) (any, error) {
				if _, err := ctx.Yield(ctx.ScheduleActivity("Work", "go")); err != nil {
					return nil, err
				}
				if _, err := ctx.Yield(ctx.WaitForEvent("proceed")); err != nil {
					return nil, err
				}
				return "v1", nil
			},
			// Phase 2: two activities then wait (an extra activity inserted).
			func(ctx *yield.Ctx, in yield.Value) (any, error) {
				if _, err := ctx.Yield(ctx.ScheduleActivity("Work", "go")); err != nil {
					return nil, err
				}
				if _, err := ctx.Yield(ctx.ScheduleActivity("Extra", "go")); err != nil {
					return nil, err
				}
				if _, err := ctx.Yield(ctx.WaitForEvent("proceed")); err != nil {
					return nil, err
				}
				return "v2", nil
			})
	})
}
