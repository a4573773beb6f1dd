package integration_test

import (
	"strconv"
	"testing"
	"time"

	"github.com/duroxide-go/duroxide"
	"github.com/duroxide-go/duroxide/yield"
)

// Ports of the Python SDK's tests/test_sessions.py (python-sdk.md §3.7): activity session
// affinity. The Python tests only check results and ActivityContext.session_id; so do these.

// test_sessions.py::test_session_activity_basic
func TestSessions_SessionActivityBasic(t *testing.T) {
	eachStore(t, func(t *testing.T, s *scenario) {
		setup := func(rt *duroxide.Runtime) {
			activity(t, rt, "Echo", func(ctx *duroxide.ActivityContext, in yield.Value) (any, error) {
				return "echo:" + in.String(), nil
			})
			orchestration(t, rt, "SessionBasicOrch", func(ctx *yield.Ctx, in yield.Value) (any, error) {
				r1, err := ctx.Yield(ctx.ScheduleActivityOnSession("Echo", "hello", "my-session-1"))
				if err != nil {
					return nil, err
				}
				r2, err := ctx.Yield(ctx.ScheduleActivityOnSession("Echo", "world", "my-session-1"))
				if err != nil {
					return nil, err
				}
				return r1.String() + "|" + r2.String(), nil
			})
		}
		result := cRunOrchestration(s, "SessionBasicOrch", nil, setup, 10*time.Second, duroxide.RuntimeOptions{})
		equal(t, "output", mustComplete[string](t, result), "echo:hello|echo:world")
	})
}

// test_sessions.py::test_session_fan_out
func TestSessions_SessionFanOut(t *testing.T) {
	eachStore(t, func(t *testing.T, s *scenario) {
		setup := func(rt *duroxide.Runtime) {
			activity(t, rt, "Append", func(ctx *duroxide.ActivityContext, in yield.Value) (any, error) {
				return in.String() + "!", nil
			})
			orchestration(t, rt, "SessionFanOutOrch", func(ctx *yield.Ctx, in yield.Value) (any, error) {
				results := []string{}
				for i := range 3 {
					r, err := ctx.Yield(ctx.ScheduleActivityOnSession("Append", "item"+strconv.Itoa(i), "fan-session"))
					if err != nil {
						return nil, err
					}
					results = append(results, r.String())
				}
				return results, nil
			})
		}
		result := cRunOrchestration(s, "SessionFanOutOrch", nil, setup, 10*time.Second, duroxide.RuntimeOptions{})
		equal(t, "output", mustComplete[[]string](t, result), []string{"item0!", "item1!", "item2!"})
	})
}

// test_sessions.py::test_session_multiple
func TestSessions_SessionMultiple(t *testing.T) {
	eachStore(t, func(t *testing.T, s *scenario) {
		setup := func(rt *duroxide.Runtime) {
			activity(t, rt, "Tag", func(ctx *duroxide.ActivityContext, in yield.Value) (any, error) {
				return "tagged:" + in.String(), nil
			})
			orchestration(t, rt, "MultiSessionOrch", func(ctx *yield.Ctx, in yield.Value) (any, error) {
				r1, err := ctx.Yield(ctx.ScheduleActivityOnSession("Tag", "a", "session-A"))
				if err != nil {
					return nil, err
				}
				r2, err := ctx.Yield(ctx.ScheduleActivityOnSession("Tag", "b", "session-B"))
				if err != nil {
					return nil, err
				}
				r3, err := ctx.Yield(ctx.ScheduleActivityOnSession("Tag", "c", "session-A"))
				if err != nil {
					return nil, err
				}
				return r1.String() + "|" + r2.String() + "|" + r3.String(), nil
			})
		}
		result := cRunOrchestration(s, "MultiSessionOrch", nil, setup, 10*time.Second, duroxide.RuntimeOptions{})
		equal(t, "output", mustComplete[string](t, result), "tagged:a|tagged:b|tagged:c")
	})
}

// test_sessions.py::test_session_id_visible_in_context
func TestSessions_SessionIDVisibleInContext(t *testing.T) {
	eachStore(t, func(t *testing.T, s *scenario) {
		setup := func(rt *duroxide.Runtime) {
			activity(t, rt, "CheckSession", func(ctx *duroxide.ActivityContext, in yield.Value) (any, error) {
				return map[string]any{"session_id": cSessionOrNil(ctx), "input": in}, nil
			})
			orchestration(t, rt, "CheckSessionOrch", func(ctx *yield.Ctx, in yield.Value) (any, error) {
				return ctx.Yield(ctx.ScheduleActivityOnSession("CheckSession", "test", "visible-session"))
			})
		}
		result := cRunOrchestration(s, "CheckSessionOrch", nil, setup, 10*time.Second, duroxide.RuntimeOptions{})
		out := mustComplete[map[string]any](t, result)
		equal(t, "output session_id", out["session_id"], any("visible-session"))
		equal(t, "output input", out["input"], any("test"))
	})
}

// test_sessions.py::test_mixed_session_and_regular
func TestSessions_MixedSessionAndRegular(t *testing.T) {
	eachStore(t, func(t *testing.T, s *scenario) {
		setup := func(rt *duroxide.Runtime) {
			activity(t, rt, "Work", func(ctx *duroxide.ActivityContext, in yield.Value) (any, error) {
				kind := "R"
				if sid, _ := ctx.SessionID(); sid != "" {
					kind = "S"
				}
				return kind + ":" + in.String(), nil
			})
			orchestration(t, rt, "MixedOrch", func(ctx *yield.Ctx, in yield.Value) (any, error) {
				r1, err := ctx.Yield(ctx.ScheduleActivity("Work", "a"))
				if err != nil {
					return nil, err
				}
				r2, err := ctx.Yield(ctx.ScheduleActivityOnSession("Work", "b", "mixed-sess"))
				if err != nil {
					return nil, err
				}
				r3, err := ctx.Yield(ctx.ScheduleActivity("Work", "c"))
				if err != nil {
					return nil, err
				}
				return r1.String() + "|" + r2.String() + "|" + r3.String(), nil
			})
		}
		result := cRunOrchestration(s, "MixedOrch", nil, setup, 10*time.Second, duroxide.RuntimeOptions{})
		equal(t, "output", mustComplete[string](t, result), "R:a|S:b|R:c")
	})
}

// test_sessions.py::test_session_via_keyword_arg
func TestSessions_SessionViaKeywordArg(t *testing.T) {
	eachStore(t, func(t *testing.T, s *scenario) {
		setup := func(rt *duroxide.Runtime) {
			activity(t, rt, "Echo", func(ctx *duroxide.ActivityContext, in yield.Value) (any, error) {
				return map[string]any{"value": in, "session": cSessionOrNil(ctx)}, nil
			})
			orchestration(t, rt, "KeywordSessionOrch", func(ctx *yield.Ctx, in yield.Value) (any, error) {
				// Python: ctx.schedule_activity("Echo", "kw-test", session_id="kw-session");
				// Go has no keyword arguments, ScheduleActivityOnSession is that call.
				return ctx.Yield(ctx.ScheduleActivityOnSession("Echo", "kw-test", "kw-session"))
			})
		}
		result := cRunOrchestration(s, "KeywordSessionOrch", nil, setup, 10*time.Second, duroxide.RuntimeOptions{})
		out := mustComplete[map[string]any](t, result)
		equal(t, "output session", out["session"], any("kw-session"))
		equal(t, "output value", out["value"], any("kw-test"))
	})
}

// test_sessions.py::test_no_session_id_is_none
func TestSessions_NoSessionIDIsNone(t *testing.T) {
	eachStore(t, func(t *testing.T, s *scenario) {
		setup := func(rt *duroxide.Runtime) {
			activity(t, rt, "CheckNone", func(ctx *duroxide.ActivityContext, in yield.Value) (any, error) {
				_, has := ctx.SessionID()
				return map[string]any{"has_session": has}, nil
			})
			orchestration(t, rt, "NoSessionOrch", func(ctx *yield.Ctx, in yield.Value) (any, error) {
				return ctx.Yield(ctx.ScheduleActivity("CheckNone", "test"))
			})
		}
		result := cRunOrchestration(s, "NoSessionOrch", nil, setup, 10*time.Second, duroxide.RuntimeOptions{})
		out := mustComplete[map[string]any](t, result)
		equal(t, "output has_session", out["has_session"], any(false))
	})
}

// test_sessions.py::test_session_with_runtime_options
func TestSessions_SessionWithRuntimeOptions(t *testing.T) {
	eachStore(t, func(t *testing.T, s *scenario) {
		setup := func(rt *duroxide.Runtime) {
			activity(t, rt, "Echo", func(ctx *duroxide.ActivityContext, in yield.Value) (any, error) {
				return in, nil
			})
			orchestration(t, rt, "SessionOptsOrch", func(ctx *yield.Ctx, in yield.Value) (any, error) {
				return ctx.Yield(ctx.ScheduleActivityOnSession("Echo", "opts-test", "opts-session"))
			})
		}
		opts := duroxide.RuntimeOptions{
			DispatcherPollInterval: 50 * time.Millisecond,
			MaxSessionsPerRuntime:  5,
			SessionIdleTimeout:     60 * time.Second,
		}
		result := cRunOrchestration(s, "SessionOptsOrch", nil, setup, 10*time.Second, opts)
		equal(t, "output", mustComplete[string](t, result), "opts-test")
	})
}

// test_sessions.py::test_session_with_worker_node_id
func TestSessions_SessionWithWorkerNodeID(t *testing.T) {
	eachStore(t, func(t *testing.T, s *scenario) {
		setup := func(rt *duroxide.Runtime) {
			activity(t, rt, "Work", func(ctx *duroxide.ActivityContext, in yield.Value) (any, error) {
				return "done:" + in.String(), nil
			})
			orchestration(t, rt, "SessionNodeIdOrch", func(ctx *yield.Ctx, in yield.Value) (any, error) {
				r1, err := ctx.Yield(ctx.ScheduleActivityOnSession("Work", "a", "stable-sess"))
				if err != nil {
					return nil, err
				}
				r2, err := ctx.Yield(ctx.ScheduleActivityOnSession("Work", "b", "stable-sess"))
				if err != nil {
					return nil, err
				}
				return r1.String() + "|" + r2.String(), nil
			})
		}
		opts := duroxide.RuntimeOptions{
			DispatcherPollInterval: 50 * time.Millisecond,
			WorkerNodeID:           "test-pod-1",
		}
		result := cRunOrchestration(s, "SessionNodeIdOrch", nil, setup, 10*time.Second, opts)
		equal(t, "output", mustComplete[string](t, result), "done:a|done:b")
	})
}

// test_sessions.py::test_sqlite_session_smoketest
func TestSessions_SqliteSessionSmoketest(t *testing.T) {
	eachStore(t, func(t *testing.T, s *scenario) {
		rt := s.runtime(duroxide.RuntimeOptions{DispatcherPollInterval: 50 * time.Millisecond})
		activity(t, rt, "Echo", func(ctx *duroxide.ActivityContext, in yield.Value) (any, error) {
			return map[string]any{"value": in, "session": cSessionOrNil(ctx)}, nil
		})
		orchestration(t, rt, "SqliteSessionTest", func(ctx *yield.Ctx, in yield.Value) (any, error) {
			return ctx.Yield(ctx.ScheduleActivityOnSession("Echo", in, "sqlite-sess"))
		})
		s.start(rt)
		defer s.shutdown(rt)
		id := uid("sqlite-session")
		s.startOrch(id, "SqliteSessionTest", "hello")
		out := mustComplete[map[string]any](t, s.wait(id, 5*time.Second))
		equal(t, "output value", out["value"], any("hello"))
		equal(t, "output session", out["session"], any("sqlite-sess"))
	})
}

// test_sessions.py::test_session_fan_out_mixed_with_regular
func TestSessions_SessionFanOutMixedWithRegular(t *testing.T) {
	eachStore(t, func(t *testing.T, s *scenario) {
		setup := func(rt *duroxide.Runtime) {
			activity(t, rt, "SessionWork", func(ctx *duroxide.ActivityContext, in yield.Value) (any, error) {
				return "sess:" + in.String(), nil
			})
			activity(t, rt, "RegularWork", func(ctx *duroxide.ActivityContext, in yield.Value) (any, error) {
				return "reg:" + in.String(), nil
			})
			orchestration(t, rt, "MixedFanOutOrch", func(ctx *yield.Ctx, in yield.Value) (any, error) {
				results, err := ctx.Yield(ctx.All(
					ctx.ScheduleActivityOnSession("SessionWork", "a", "s1"),
					ctx.ScheduleActivity("RegularWork", "b"),
					ctx.ScheduleActivityOnSession("SessionWork", "c", "s2"),
					ctx.ScheduleActivity("RegularWork", "d"),
				))
				if err != nil {
					return nil, err
				}
				return cOkOrErr(results)
			})
		}
		result := cRunOrchestration(s, "MixedFanOutOrch", nil, setup, 10*time.Second, duroxide.RuntimeOptions{})
		equal(t, "output", mustComplete[[]string](t, result), []string{"sess:a", "reg:b", "sess:c", "reg:d"})
	})
}

// test_sessions.py::test_fan_out_multiple_per_session_mixed
func TestSessions_FanOutMultiplePerSessionMixed(t *testing.T) {
	eachStore(t, func(t *testing.T, s *scenario) {
		setup := func(rt *duroxide.Runtime) {
			activity(t, rt, "Tag", func(ctx *duroxide.ActivityContext, in yield.Value) (any, error) {
				return "tag:" + in.String(), nil
			})
			orchestration(t, rt, "MultiPerSessionOrch", func(ctx *yield.Ctx, in yield.Value) (any, error) {
				results, err := ctx.Yield(ctx.All(
					ctx.ScheduleActivityOnSession("Tag", "a", "session-1"),
					ctx.ScheduleActivityOnSession("Tag", "b", "session-1"),
					ctx.ScheduleActivityOnSession("Tag", "c", "session-2"),
					ctx.ScheduleActivityOnSession("Tag", "d", "session-2"),
					ctx.ScheduleActivity("Tag", "e"),
					ctx.ScheduleActivity("Tag", "f"),
				))
				if err != nil {
					return nil, err
				}
				return cOkOrErr(results)
			})
		}
		opts := duroxide.RuntimeOptions{
			DispatcherPollInterval: 50 * time.Millisecond,
			WorkerNodeID:           "test-multi-sess",
		}
		result := cRunOrchestration(s, "MultiPerSessionOrch", nil, setup, 10*time.Second, opts)
		equal(t, "output", mustComplete[[]string](t, result), []string{"tag:a", "tag:b", "tag:c", "tag:d", "tag:e", "tag:f"})
	})
}

// test_sessions.py::test_session_survives_continue_as_new
func TestSessions_SessionSurvivesContinueAsNew(t *testing.T) {
	eachStore(t, func(t *testing.T, s *scenario) {
		setup := func(rt *duroxide.Runtime) {
			activity(t, rt, "Track", func(ctx *duroxide.ActivityContext, in yield.Value) (any, error) {
				return "tracked:" + in.String(), nil
			})
			orchestration(t, rt, "SessionCANOrch", func(ctx *yield.Ctx, in yield.Value) (any, error) {
				// Python: int(input) if isinstance(input, str) else (input or 0).
				iteration := 0
				var text string
				if in.Decode(&text) == nil {
					n, err := strconv.Atoi(text)
					if err != nil {
						return nil, err
					}
					iteration = n
				} else if !in.IsNull() {
					if err := in.Decode(&iteration); err != nil {
						return nil, err
					}
				}
				result, err := ctx.Yield(ctx.ScheduleActivityOnSession("Track", "iter-"+strconv.Itoa(iteration), "can-session"))
				if err != nil {
					return nil, err
				}
				if iteration == 0 {
					return ctx.Yield(ctx.ContinueAsNew("1"))
				}
				return result, nil
			})
		}
		result := cRunOrchestration(s, "SessionCANOrch", "0", setup, 15*time.Second, duroxide.RuntimeOptions{})
		equal(t, "output", mustComplete[string](t, result), "tracked:iter-1")
	})
}

// test_sessions.py::test_session_can_versioned_upgrade
func TestSessions_SessionCanVersionedUpgrade(t *testing.T) {
	eachStore(t, func(t *testing.T, s *scenario) {
		rt := s.runtime(duroxide.RuntimeOptions{DispatcherPollInterval: 50 * time.Millisecond})
		activity(t, rt, "Work", func(ctx *duroxide.ActivityContext, in yield.Value) (any, error) {
			return "done:" + in.String(), nil
		})
		if err := rt.RegisterOrchestrationVersioned("SessionVerOrch", "1.0.0", func(ctx *yield.Ctx, in yield.Value) (any, error) {
			result, err := ctx.Yield(ctx.ScheduleActivityOnSession("Work", "from-v1", "ver-session"))
			if err != nil {
				return nil, err
			}
			return ctx.Yield(ctx.ContinueAsNewVersioned(result, "2.0.0"))
		}); err != nil {
			t.Fatal(err)
		}
		if err := rt.RegisterOrchestrationVersioned("SessionVerOrch", "2.0.0", func(ctx *yield.Ctx, in yield.Value) (any, error) {
			result, err := ctx.Yield(ctx.ScheduleActivityOnSession("Work", "from-v2", "ver-session"))
			if err != nil {
				return nil, err
			}
			return in.String() + "+" + result.String(), nil
		}); err != nil {
			t.Fatal(err)
		}
		s.start(rt)
		defer s.shutdown(rt)
		id := uid("SessionVerOrch")
		if err := s.client.StartOrchestrationVersioned(s.ctx, id, "SessionVerOrch", nil, "1.0.0"); err != nil {
			t.Fatal(err)
		}
		result := s.wait(id, 15*time.Second)
		equal(t, "output", mustComplete[string](t, result), "done:from-v1+done:from-v2")
	})
}
